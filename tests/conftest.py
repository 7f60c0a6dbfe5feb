"""Shared fixtures: the real third-party data in ../shared/data (skips cleanly when absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_path(*parts: str) -> Path:
    """Path below ../shared/data; skips the calling test when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture
def shared_data() -> Path:
    if not DATA.exists():
        pytest.skip(f"real test data not found: {DATA} (a checkout outside the nps-id team)")
    return DATA


@pytest.fixture(scope="session")
def swgdrug_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SWGDRUG 3.4 as an nps-id HDF5 library with its search indexes, as ``nps-id library build``
    makes it; built once per session and shared, so tests must copy it before changing it."""
    source = data_path("swgdrug", "SWGDRUG-3.4.msp.gz")
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    out = tmp_path_factory.mktemp("swgdrug-library") / "swgdrug.h5"
    build_library([source], out, name="SWGDRUG", release="3.4", index_builder=build_indexes)
    return out

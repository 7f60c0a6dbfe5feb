"""Fixtures the command tests share."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import data_path


@pytest.fixture(scope="session")
def ms2_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MS/MS library: the 200 MassBank MS2 analogue queries."""
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    out = tmp_path_factory.mktemp("ms2-library") / "ms2.h5"
    build_library([data_path("massbank", "ms2-queries-analog.msp.gz")], out, name="MassBank MS2 sample",
                  release="1", index_builder=build_indexes)
    return out

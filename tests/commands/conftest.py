"""Fixtures the command tests share."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import built_once, data_path


@pytest.fixture(scope="session")
def ms2_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MS/MS library: the 200 MassBank MS2 analogue queries (built once per run: ``built_once``)."""
    source = data_path("massbank", "ms2-queries-analog.msp.gz")

    def build(folder: Path) -> Path:
        from nps_id.library import build_library
        from nps_id.search.index import build_indexes

        build_library([source], folder / "ms2.h5", name="MassBank MS2 sample", release="1",
                      index_builder=build_indexes)
        return folder / "ms2.h5"

    return built_once(tmp_path_factory, "ms2-library", build)

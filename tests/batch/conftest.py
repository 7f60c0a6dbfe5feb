"""Fixtures for the batch tests: an input folder as a laboratory would hand it over."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.batch._inputs import build_swgdrug, make_inputs


@pytest.fixture
def batch_inputs(tmp_path: Path) -> Path:
    return make_inputs(tmp_path / "sequence")


@pytest.fixture(scope="session")
def swgdrug_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_swgdrug(tmp_path_factory.mktemp("library"))

"""Fixtures for the batch tests: an input folder as a laboratory would hand it over."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import data_path  # noqa: F401  (re-exported for the test modules)

LRCFS_RUNS = ["220223001", "220223002", "220223008", "220223010", "220223016", "220223030"]


def make_inputs(folder: Path) -> Path:
    """The six LRCFS runs (symlinked), a truncated mzML and a chromatogram-only ANDI file."""
    folder.mkdir(parents=True, exist_ok=True)
    lrcfs = data_path("gcms", "lrcfs")
    for run in LRCFS_RUNS:
        (folder / f"{run}.mzML").symlink_to(lrcfs / f"{run}.mzML")
    whole = (lrcfs / "220223002.mzML").read_bytes()
    (folder / "corrupt.mzML").write_bytes(whole[: len(whole) // 2])
    (folder / "agilent-gcms-tic.cdf").symlink_to(data_path("gcms", "andi", "agilent-gcms-tic.cdf"))
    (folder / "notes.csv").write_text("sample,weight\nFL22/009-2,12 mg\n")
    return folder


@pytest.fixture
def batch_inputs(tmp_path: Path) -> Path:
    return make_inputs(tmp_path / "sequence")

"""Real inputs for the batch tests: a laboratory's sequence folder (the library is the
session-wide ``swgdrug_library`` fixture of tests/conftest.py).

Kept out of conftest.py so that tests/commands can import them too.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import data_path

LRCFS_RUNS = ["220223001", "220223002", "220223008", "220223010", "220223016", "220223030"]
#: Two LRCFS runs for the resume tests: a calibrant (etizolam) and the seized card.
TWO_RUNS = ["220223002.mzML", "220223030.mzML"]


def two_runs(folder: Path) -> Path:
    """A folder of :data:`TWO_RUNS` (symlinked)."""
    folder.mkdir()
    for run in TWO_RUNS:
        (folder / run).symlink_to(data_path("gcms", "lrcfs", run))
    return folder


def make_inputs(folder: Path) -> Path:
    """The six LRCFS runs (symlinked), a truncated mzML, a chromatogram-only ANDI file and a
    CSV of notes (not a run)."""
    folder.mkdir(parents=True, exist_ok=True)
    lrcfs = data_path("gcms", "lrcfs")
    for run in LRCFS_RUNS:
        (folder / f"{run}.mzML").symlink_to(lrcfs / f"{run}.mzML")
    whole = (lrcfs / "220223002.mzML").read_bytes()
    (folder / "corrupt.mzML").write_bytes(whole[: len(whole) // 2])
    (folder / "agilent-gcms-tic.cdf").symlink_to(data_path("gcms", "andi", "agilent-gcms-tic.cdf"))
    (folder / "notes.csv").write_text("sample,weight\nFL22/009-2,12 mg\n")
    return folder


# Fixtures, imported by the test modules that use them (a tests/batch/conftest.py would shadow
# the top-level ``conftest`` module other test folders import ``data_path`` from).
@pytest.fixture
def batch_inputs(tmp_path: Path) -> Path:
    return make_inputs(tmp_path / "sequence")


#: How the batch tests of :data:`TWO_RUNS` run ``nps-id batch`` (after ``batch INPUTS -l LIBRARY -o OUT``).
TWO_RUNS_OPTIONS = ("--workers", "2", "--progress", "json")


def done_before(two_runs_batch: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """(inputs, out): the inputs of the session's ``two_runs_batch`` (tests/conftest.py) and a copy of its
    output folder (the files' times too) in ``tmp_path``, as that batch left it: the next batch into
    ``out`` is this test's own."""
    inputs, done = two_runs_batch
    return inputs, Path(shutil.copytree(done, tmp_path / "out", symlinks=True))

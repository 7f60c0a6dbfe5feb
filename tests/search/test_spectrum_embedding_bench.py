"""The spectrum embedding's input (benchmarks/bench_spectrum_embedding.py, measured, not shipped):
spectra of one compound at different precursors share their neutral-loss columns, so the
embedding can read a loss however the precursor moved."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_spectrum_embedding import LOSS_BINS, MZ_BINS, binned  # noqa: E402


def test_a_neutral_loss_lands_in_one_column_whatever_the_precursor_and_rows_are_unit_length():
    # spectrum 0: precursor 300.1, fragment 282.09 (loss of water); spectrum 1: precursor 314.1,
    # fragment 296.09 (the same loss); spectrum 2: no precursor, so no loss columns
    offsets = np.array([0, 1, 2, 3])
    mz = np.array([282.09, 296.09, 282.09])
    x = binned(offsets, mz, np.array([100.0, 50.0, 100.0], dtype=np.float32), np.array([300.1, 314.1, np.nan]))
    losses = x[:, MZ_BINS:MZ_BINS + LOSS_BINS].toarray()
    assert losses[0].nonzero()[0].tolist() == losses[1].nonzero()[0].tolist() == [18]
    assert not losses[2].any()
    assert np.allclose(np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel()), 1.0)
    assert (x[0] @ x[1].T).toarray()[0, 0] > 0  # the shared loss makes different fragments alike

"""The analogue-confidence training script's measurements (benchmarks/train_analogue_confidence.py):
the candidate re-choice names the best-predicted compound and fragment rarity weighs rare ions up,
so the numbers benchmarks/README.md reports mean what it says."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from train_analogue_confidence import FragmentRarity, rechosen  # noqa: E402


def test_rechoice_names_the_best_predicted_candidate_of_each_query_with_its_prediction():
    # query 0: candidates predicted 0.2, 0.7, 0.4 -> the second (true Tanimoto 0.9)
    # query 1: one candidate; query 2: the first candidate is the best predicted
    predicted = np.array([0.2, 0.7, 0.4, 0.5, 0.8, 0.1])
    tk = np.array([0.1, 0.9, 0.3, 0.6, 0.2, 0.95])
    query = np.array([0, 0, 0, 1, 2, 2])
    confidence, label = rechosen(predicted, tk, query, 3)
    assert confidence.tolist() == [0.7, 0.5, 0.8]
    assert label.tolist() == [0.9, 0.6, 0.2]


def test_a_fragment_every_library_spectrum_holds_counts_for_nothing_an_unseen_one_most():
    spectra = [np.array([91.05, 120.08]), np.array([91.06, 150.1]), np.array([91.04, 200.2])]
    reference = SimpleNamespace(columns={"ms_level": np.full(3, 2)},
                                peaks=SimpleNamespace(row=lambda r: (spectra[r], np.ones(spectra[r].size))))
    idf = FragmentRarity(reference).idf(np.array([91.05, 150.1, 333.3]), ei=False)
    assert idf[0] < idf[1] < idf[2]
    assert np.isclose(idf[0], np.log(4 / 4)) and np.isclose(idf[2], np.log(4))

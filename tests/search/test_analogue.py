"""The analogue mass-difference prior: which differences are named, how the score moves, and that
on real MS/MS analogues the prior names real modifications and never re-ranks identity search."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.io import read
from nps_id.search.analogue import ANALOGUE_SHIFTS, analogue_score, match_shift, shift_name
from nps_id.search.engine import SearchSettings, search
from nps_id.search.index import load_indexes, recorded_precision
from nps_id.search.reference import Reference
from tests.conftest import data_path


def test_listed_differences_match_both_signs_within_tolerance_only():
    ch2 = dict(ANALOGUE_SHIFTS)["CH2"]
    codes = match_shift(np.array([ch2, -ch2, ch2 + 0.009, ch2 + 0.02, 7.0]), 0.01)
    assert [shift_name(int(c)) for c in codes] == ["CH2", "CH2", "CH2", None, None]
    # A record written to one decimal widens its own window.
    assert shift_name(int(match_shift(np.array([ch2 + 0.04]), np.array([0.06]))[0])) == "CH2"


def test_nearest_listed_difference_names_close_pairs():
    # Methoxy-for-H (30.0106) and methylenedioxy-for-H2 (29.9742) are 0.036 Da apart.
    codes = match_shift(np.array([30.0106, 29.9742]), 0.01)
    assert [shift_name(int(c)) for c in codes] == ["CH2O (methoxy for H)", "CH2O2 for H2 (methylenedioxy)"]


def test_nominal_masses_name_every_listed_difference_of_that_mass():
    codes = match_shift(np.array([16.0, 14.0, 15.0, 3.0]), 0.0, nominal=True)
    names = [shift_name(int(c), nominal=True) for c in codes]
    assert names[0] == "Cl for F | S for O | O"
    assert names[1] == "CH2" and names[2] == "NH" and names[3] is None


def test_analogue_score_adds_bonus_subtracts_distance_and_stays_on_0_1():
    similarity = np.array([0.5, 0.5, 0.99, 0.001, 0.5])
    delta = np.array([14.0157, 14.5, 0.0, 900.0, np.nan])
    listed = match_shift(delta, 0.01)
    score = analogue_score(similarity, delta, listed)
    assert score[0] > similarity[0] > score[1]  # listed CH2 up; an unlisted difference down
    assert 0.99 < score[2] < 1.0 and score[3] == 0.0  # on 0-1; never negative
    assert score[4] == pytest.approx(0.5 / 1.05)  # unknown difference: no bonus, no penalty
    # Near the top the order of the similarities is kept (no clipping at 1).
    top = analogue_score(np.array([0.99, 0.98]), np.array([0.0, 0.0]), np.array([0, 0]))
    assert 1.0 >= top[0] > top[1]


@pytest.fixture(scope="module")
def ms2_split():
    spectra = list(read(data_path("massbank", "ms2-queries-analog.msp.gz")))
    ref = Reference.from_spectra(spectra[60:])
    return spectra[:60], ref, load_indexes(ref, use_cache=False)


def test_ms2_analogue_names_the_listed_shift_and_ranks_by_the_analogue_score(ms2_split):
    queries, ref, indexes = ms2_split
    hits = search(queries, ref, SearchSettings(mode="analog", top_k=5), indexes)
    plain = search(queries, ref, SearchSettings(mode="analog", top_k=5, mass_prior=False), indexes)
    named = hits.delta_shift >= 0
    assert named.any() and (~named).any()
    prec = np.array([q.precursor_mz for q in queries])
    slack = recorded_precision(prec)[hits.query] + recorded_precision(ref.columns["precursor_mz"])[hits.row]
    for delta, code, extra in zip(hits.delta_mass[named], hits.delta_shift[named], slack[named]):
        assert abs(abs(delta) - ANALOGUE_SHIFTS[code][1]) <= 0.01 + extra + 1e-9
    np.testing.assert_allclose(hits.score, analogue_score(hits.similarity, hits.delta_mass, hits.delta_shift))
    for q in np.unique(hits.query):  # ranked by the analogue score, not the similarity
        assert np.all(np.diff(hits.score[hits.query == q]) <= 0)
    # Without the prior the score is the modified cosine itself (shifts are still named).
    np.testing.assert_array_equal(plain.score, plain.similarity)
    assert not np.array_equal(hits.row, plain.row)


def test_identity_search_is_untouched_by_the_prior(ms2_split):
    queries, ref, indexes = ms2_split
    a = search(queries, ref, SearchSettings(top_k=3), indexes)
    b = search(queries, ref, SearchSettings(top_k=3, mass_prior=False), indexes)
    np.testing.assert_array_equal(a.row, b.row)
    np.testing.assert_array_equal(a.score, a.similarity)
    assert np.all(a.delta_shift == -1)


def test_the_module_examples_run():
    # same_mass_reading: an EI pair of one molecular mass reads "isomer", not "N for CH" (stop 34)
    import doctest

    from nps_id.search import analogue

    assert doctest.testmod(analogue).failed == 0


def test_the_listed_nominal_masses_are_numpys_distinct_values():
    """Made without np.unique (it imports numpy.ma, ~6 ms of a one-spectrum search): its values and type."""
    from nps_id.search import analogue

    expected = np.unique(analogue._NOMINAL_DA)
    assert analogue.LISTED_NOMINAL_MASSES.dtype == expected.dtype
    assert np.array_equal(analogue.LISTED_NOMINAL_MASSES, expected) and expected.size > 10

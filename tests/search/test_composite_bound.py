"""The EI identity search's early stop on real spectra: the bound it stops by is never below a
candidate's true composite MF, a row is never given up at a floor its MF reaches, and the hits of
the search with the early stop equal those of one that scores every candidate."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.io import read
from nps_id.search.ei import _query_nominal
from nps_id.search.engine import Hits, PreparedLibrary, SearchSettings, search
from nps_id.search.index import NominalIndex
from nps_id.search.kernels import (composite_parts_many_w, composite_query_weights, composite_reference_weights,
                                   composite_row_w, nominal_scatter_add, row_scratch)
from nps_id.search.reference import Reference
from nps_id.search.scores.composite import UPPER_SLACK, composite_upper, ratio_deficit_limit
from nps_id.spectrum import Spectrum
from tests.conftest import data_path

#: As `nps-id search` asks (the verdict columns' 20 hits, the default prefilter).
SETTINGS = SearchSettings(top_k=20, prefilter=200)


def _library(source: str) -> PreparedLibrary:
    return PreparedLibrary(Reference.from_spectra(read(data_path(*source.split("/")))), SETTINGS)


@pytest.fixture(scope="module")
def massbank_ei() -> tuple[PreparedLibrary, list[Spectrum]]:
    return _library("massbank/ei-library.msp.gz"), list(read(data_path("massbank", "ei-queries-identity.msp.gz")))


@pytest.fixture(scope="module")
def swgdrug() -> tuple[PreparedLibrary, list[Spectrum]]:
    library = _library("swgdrug/SWGDRUG-3.4.msp.gz")
    records = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[::10]
    # Remeasured records: their own spectrum scores below 1, so the floors are not all at the top.
    rng = np.random.default_rng(39)
    return library, [s.replace(intensity=s.intensity * rng.uniform(0.7, 1.3, len(s))) for s in records]


def _bounds(index: NominalIndex, query: Spectrum) -> tuple[np.ndarray, ...]:
    """Every library spectrum sharing a nominal m/z with ``query``: positions, the index's bound
    on the MF (F_R = 1) and matched-peak count as the search computes them, and the query's peaks."""
    nominal, weight = _query_nominal([query], index)
    acc, count = np.zeros(index.n), np.zeros(index.n, dtype=np.float32)
    touched = np.empty(index.n, dtype=np.int64)
    no_dense = np.full(index.bin_offsets.size - 1, -1, dtype=np.int64)
    n = nominal_scatter_add(nominal.mz, weight.astype(np.float64), 0, nominal.mz.size, index.bin_offsets,
                            index.peak_position, index.peak_weight, no_dense, np.empty((0, index.n), np.float32),
                            acc, count, touched)
    positions = touched[:n]
    n_u = nominal.mz.size
    upper = np.array([composite_upper(c * c, n_u, m) for c, m in zip(acc[positions], count[positions].astype(float))])
    return positions, upper + UPPER_SLACK, count[positions].astype(float), nominal, n_u


@pytest.mark.parametrize("data", ["massbank_ei", "swgdrug"])
def test_the_bound_is_never_below_the_true_mf_and_no_row_is_given_up_at_a_floor_it_reaches(data, request):
    library, queries = request.getfixturevalue(data)
    index = library.indexes["ei"]
    a, b = index.mz_power, index.intensity_power
    ref_w, ref_norm2 = composite_reference_weights(index.spec_offsets, index.spec_mz, index.spec_intensity, a, b)
    common = row_scratch(index.spec_offsets, np.arange(index.n))
    row = np.empty(7)
    checked = given_up = 0
    for query in queries[::7]:
        positions, upper, n_m, nominal, n_u = _bounds(index, query)
        q_mz, q_int = nominal.row(0)
        mf = composite_parts_many_w(q_mz, q_int, index.spec_offsets, index.spec_mz, ref_w, ref_norm2, positions,
                                    a, b)[:, 0]
        assert np.all(mf <= upper), f"{query.name}: a bound below the true MF"
        q_w, q_norm2, n_q = composite_query_weights(q_mz, q_int, a, b)
        # The rows the search would reach (the best bounds): at a floor equal to the row's own MF
        # it must be scored to the end, with the same numbers; 0.05 above it, often given up.
        for k in np.argsort(-upper)[:200]:
            lo, hi = index.spec_offsets[positions[k]], index.spec_offsets[positions[k] + 1]
            for floor, must_finish in ((mf[k], True), (mf[k] + 0.05, False)):
                give_up = ratio_deficit_limit(upper[k], floor, n_u, n_m[k])
                finished = composite_row_w(q_w, q_norm2, n_q, index.spec_mz[lo:hi], ref_w[lo:hi],
                                           ref_norm2[positions[k]], row, give_up, common)
                if must_finish:
                    assert finished and row[0] == mf[k], f"{query.name}: row {positions[k]} given up at its own MF"
                    checked += 1
                else:
                    given_up += not finished
    assert checked > 5_000
    assert given_up > checked / 4  # the bound has teeth: most rows well below a floor stop early


@pytest.mark.parametrize("data", ["massbank_ei", "swgdrug"])
def test_the_early_stop_gives_the_hits_of_scoring_every_candidate(data, request):
    # With top_k equal to the prefilter every candidate is scored (the stop needs top_k scored
    # first): its first 20 hits, with gaps and isomer alerts over all 200, are the reference.
    library, queries = request.getfixturevalue(data)
    stopped = search(queries, library, SETTINGS)
    every = search(queries, library, SearchSettings(top_k=SETTINGS.prefilter, prefilter=SETTINGS.prefilter)).top(20)
    assert len(stopped) == len(every) > 15 * len(queries)
    for name in Hits.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(stopped, name), getattr(every, name), err_msg=name)

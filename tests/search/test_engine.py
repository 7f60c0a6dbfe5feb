"""The engine on real libraries: the prefilter never changes the top-k, ties are deterministic,
hit confidence (gap, isomer alert) is right, MS/MS windows and analogue shifts are honoured."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.io import read
from nps_id.search.engine import Hits, SearchSettings, search
from nps_id.search.index import load_indexes, recorded_precision
from nps_id.search.reference import Reference
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance
from tests.conftest import data_path

TOP = 5


@pytest.fixture(scope="module")
def swgdrug_spectra() -> list[Spectrum]:
    return list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))


@pytest.fixture(scope="module")
def swgdrug(swgdrug_spectra) -> tuple[Reference, dict]:
    ref = Reference.from_spectra(swgdrug_spectra)
    return ref, load_indexes(ref, use_cache=False)


def _top(hits, query: int) -> list[tuple[int, float]]:
    m = hits.query == query
    return list(zip(hits.row[m].tolist(), np.round(hits.score[m], 12).tolist()))


def _same_as_brute_force(queries, ref, indexes) -> None:
    fast = search(queries, ref, SearchSettings(top_k=TOP), indexes)
    brute = search(queries, ref, SearchSettings(top_k=TOP, prefilter=ref.n_spectra), indexes)
    assert len(fast) == len(brute) == TOP * len(queries)
    np.testing.assert_array_equal(fast.row, brute.row)
    np.testing.assert_allclose(fast.score, brute.score, rtol=0, atol=1e-12)


def test_prefilter_keeps_the_brute_force_top_k_swgdrug_self_search(swgdrug, swgdrug_spectra):
    ref, indexes = swgdrug
    _same_as_brute_force(swgdrug_spectra[::15], ref, indexes)


def test_prefilter_keeps_the_brute_force_top_k_massbank_ei_dev_queries():
    library = Reference.from_spectra(read(data_path("massbank", "ei-library.msp.gz")))
    queries = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[::12]
    _same_as_brute_force(queries, library, load_indexes(library, use_cache=False))


def test_dense_bin_columns_give_the_same_hits_bit_for_bit(swgdrug_spectra, monkeypatch):
    # Crowded bins are added as dense columns; scattering every bin must give identical numbers.
    from nps_id.search.scores import composite

    ref = Reference.from_spectra(swgdrug_spectra)
    rng = np.random.default_rng(1)
    queries = [s.replace(intensity=s.intensity * rng.uniform(0.7, 1.3, len(s))) for s in swgdrug_spectra[::9]]
    # Every candidate of a small prefilter is listed (margin 1: no early stop), so any change to
    # the indexed cosine or peak count would show in the hits.
    settings = SearchSettings(top_k=8, prefilter=8, isomer_margin=1.0)
    dense = search(queries, ref, settings, load_indexes(ref, use_cache=False))
    assert composite.DenseBins.of(load_indexes(ref, use_cache=False)["ei"]).dense.shape[0] > 20
    monkeypatch.setattr(composite, "DENSE_SHARE", 2.0)  # no bin holds more than every spectrum
    fresh = load_indexes(ref, use_cache=False)
    assert composite.DenseBins.of(fresh["ei"]).dense.shape[0] == 0
    sparse = search(queries, ref, settings, fresh)
    for name in ("row", "score", "mf", "rmf", "gap", "isomer_alert"):
        np.testing.assert_array_equal(getattr(dense, name), getattr(sparse, name))


def test_common_peaks_from_bit_sets_give_the_hits_of_scanning_every_peak(swgdrug_spectra, monkeypatch):
    # The batch kernel finds a candidate's common peaks in the library's m/z bit sets and stops a row
    # where it gives up; scanning every peak of every row (the fallback) must give the same hits, bit
    # for bit -- with the default top 20 most rows scored are given up part-way.
    from nps_id.search import ei, kernels

    ref = Reference.from_spectra(swgdrug_spectra)
    rng = np.random.default_rng(2)
    queries = [s.replace(intensity=s.intensity * rng.uniform(0.6, 1.4, len(s))) for s in swgdrug_spectra[::7]]
    settings = SearchSettings(top_k=20)
    with_bits = search(queries, ref, settings, load_indexes(ref, use_cache=False))
    first, offsets, *_ = kernels.common_peak_bits(*(lambda w: (w.offsets, w.nominal_int.astype(float), w.ref_w))(
        ei.EIWeights.of(load_indexes(ref, use_cache=False)["ei"])))
    assert offsets.size == ref.n_spectra + 1  # the bits are used, not the fallback

    def no_bits(offsets, mz, weights):
        first, _, valid, every, rank = kernels.common_peak_bits(offsets, mz, weights)
        return first, np.zeros(0, dtype=np.int64), valid[:0], every[:0], rank[:0]
    monkeypatch.setattr(ei, "common_peak_bits", no_bits)
    scanned = search(queries, ref, settings, load_indexes(ref, use_cache=False))
    assert len(with_bits) == 20 * len(queries)
    for name in ("row", "score", "mf", "rmf", "gap", "isomer_alert"):
        assert getattr(with_bits, name).tobytes() == getattr(scanned, name).tobytes(), name


def test_common_peak_bits_refuse_m_z_they_cannot_hold():
    # A row's bits need unique ascending integer m/z in [1, MAX_MZ]: anything else leaves the scan to do it.
    from nps_id.search.kernels import common_peak_bits

    offsets = np.array([0, 3, 5])
    weights = np.ones(5)
    for mz in ([40.0, 41.0, 43.0, 50.0, 200.0], [40.0, 41.0, 41.0, 50.0, 200.0], [40.0, 39.0, 43.0, 50.0, 200.0],
               [40.0, 41.5, 43.0, 50.0, 200.0], [0.0, 41.0, 43.0, 50.0, 200.0], [40.0, 41.0, 43.0, 50.0, 1e6],
               [40.0, 41.0, np.nan, 50.0, 200.0], [40.0, 41.0, 43.0, 50.0, np.inf]):
        _, words, *_ = common_peak_bits(offsets, np.array(mz), weights)
        assert (words.size == 3) == (mz == [40.0, 41.0, 43.0, 50.0, 200.0]), mz
    first, words, valid, every, rank = common_peak_bits(offsets, np.array([40.0, 41.0, 127.0, 50.0, 200.0]),
                                                        np.array([1.0, 0.0, 1.0, 1.0, 1.0]))
    assert first.tolist() == [0, 0] and words.tolist() == [0, 2, 6]
    assert every[0] == (1 << 40) | (1 << 41) and every[1] == 1 << 63 and valid[0] == 1 << 40  # a 0 weight: no common peak
    assert rank.tolist() == [0, 2, 0, 1, 1, 1]


def test_runs_of_dense_bins_add_the_same_bits_as_one_bin_at_a_time(swgdrug, swgdrug_spectra):
    # Up to four consecutive dense query bins are added in one pass over the spectra, and their
    # peaks counted by popcounts of 64 bins a word: every spectrum's cosine and peak count must
    # be the bits of adding the bins one by one.
    from nps_id.search.ei import _query_nominal
    from nps_id.search.kernels import dense_peak_counts, nominal_scatter_add
    from nps_id.search.scores.composite import DenseBins

    index = swgdrug[1]["ei"]
    dense = DenseBins.of(index)
    assert dense.present.shape[0] >= 2  # more than 64 dense bins: several words of bits
    nominal, weight = _query_nominal(swgdrug_spectra[::7], index)
    weight = weight.astype(np.float64)
    one_at_a_time = np.full_like(dense.dense_column, -1)  # every bin scattered
    no_touch = np.empty(0, dtype=np.int64)
    runs = set()
    for q in range(nominal.n_spectra):
        lo, hi = nominal.offsets[q], nominal.offsets[q + 1]
        is_dense = (dense.dense_column[nominal.mz[lo:hi].astype(np.int64)] >= 0).astype(np.int8)
        edges = np.flatnonzero(np.diff(np.r_[0, is_dense, 0]))
        runs.update((edges[1::2] - edges[::2]).tolist())
        sums = []
        for columns in (dense.dense_column, one_at_a_time):
            acc, count = np.zeros(index.n), np.zeros(index.n, dtype=np.float32)
            nominal_scatter_add(nominal.mz, weight, lo, hi, index.bin_offsets, index.peak_position,
                                index.peak_weight, columns, dense.dense, acc, count, no_touch)
            dense_peak_counts(nominal.mz, lo, hi, columns, dense.present, count)
            sums.append((acc, count))
        assert sums[0][0].tobytes() == sums[1][0].tobytes() and sums[0][1].tobytes() == sums[1][1].tobytes()
    assert {1, 2, 3, 4} <= runs and max(runs) > 4  # every grouping, and a run longer than one group


def test_every_swgdrug_spectrum_finds_itself_at_rank_one(swgdrug, swgdrug_spectra):
    ref, indexes = swgdrug
    hits = search(swgdrug_spectra, ref, SearchSettings(top_k=3), indexes)
    first = hits.rank == 1
    assert first.sum() == len(swgdrug_spectra)
    np.testing.assert_allclose(hits.score[first], 1.0, atol=1e-9)
    np.testing.assert_array_equal(hits.mf[first] * 999 > 998.5, True)
    # The query itself is among the perfect hits (a duplicate spectrum may share rank 1).
    for q in range(0, len(swgdrug_spectra), 37):
        perfect = [row for row, score in _top(hits, q) if score >= 1 - 1e-9]
        assert q in perfect


def test_ties_break_by_library_row_and_batches_do_not_matter(swgdrug_spectra):
    # The same spectrum twice in the library: equal scores, the lower row ranks first.
    lib = swgdrug_spectra[:50] + [swgdrug_spectra[10]]
    ref = Reference.from_spectra(lib)
    indexes = load_indexes(ref, use_cache=False)
    hits = search([swgdrug_spectra[10]], ref, SearchSettings(top_k=2), indexes)
    assert hits.row.tolist() == [10, 50]
    assert hits.score[0] == hits.score[1]
    queries = swgdrug_spectra[:40]
    one = search(queries, ref, SearchSettings(batch_size=256), indexes)
    many = search(queries, ref, SearchSettings(batch_size=7), indexes)
    np.testing.assert_array_equal(one.row, many.row)
    np.testing.assert_array_equal(one.score, many.score)


def test_gap_and_isomer_alert_for_methoxytryptamine_positional_isomers(swgdrug, swgdrug_spectra):
    ref, indexes = swgdrug
    names = [s.name for s in swgdrug_spectra]
    query = swgdrug_spectra[names.index("6-Methoxytryptamine")]
    isomer = names.index("5-Methoxytryptamine")  # same formula C11H14N2O, another compound
    hits = search([query], ref, SearchSettings(top_k=3), indexes)
    assert hits.row[0] == names.index("6-Methoxytryptamine") and hits.row[1] == isomer
    assert hits.gap[0] == pytest.approx(hits.score[0] - hits.score[1])
    assert 0.02 < hits.gap[0] < 0.1
    assert not hits.isomer_alert[0]  # the default margin (0.02) is narrower than this gap
    wide = search([query], ref, SearchSettings(top_k=3, isomer_margin=0.1), indexes)
    assert wide.isomer_alert[0] and wide.isomer_alert[1]


def test_query_without_peaks_gets_no_hits(swgdrug, swgdrug_spectra):
    ref, indexes = swgdrug
    empty = Spectrum([], [], {"name": "blank"})
    hits = search([empty, swgdrug_spectra[3]], ref, SearchSettings(top_k=2), indexes)
    assert hits.query.tolist() == [1, 1]
    # Past jit.FEW_QUERIES: the compiled batch (whose step 2 divides by the query's peak count
    # for every spectrum, numpy's division) gives a blank nothing and the others their hits.
    others = swgdrug_spectra[3:20]
    alone = search(others, ref, SearchSettings(top_k=2), indexes)
    hits = search([empty, *others, empty], ref, SearchSettings(top_k=2), indexes)
    np.testing.assert_array_equal(hits.query, alone.query + 1)
    for name in ("row", "score", "mf", "rmf", "gap"):
        np.testing.assert_array_equal(getattr(hits, name), getattr(alone, name))


@pytest.fixture(scope="module")
def ms2_analog() -> list[Spectrum]:
    return list(read(data_path("massbank", "ms2-queries-analog.msp.gz")))


def test_ms2_identity_respects_precursor_window_and_ion_mode(ms2_analog):
    ref = Reference.from_spectra(ms2_analog)
    indexes = load_indexes(ref, use_cache=False)
    rng = np.random.default_rng(0)
    jittered = [s.replace(mz=s.mz + rng.normal(0, 0.002, len(s))) for s in ms2_analog]
    settings = SearchSettings(top_k=3, precursor_tolerance=Tolerance(10, "ppm"), tolerance=Tolerance(0.01, "Da"))
    hits = search(jittered, ref, settings, indexes)
    prec = ref.columns["precursor_mz"]
    mode = ref.columns["ion_mode"]
    slack = recorded_precision(prec)  # half the last recorded decimal of rounded precursors
    for q, row in zip(hits.query, hits.row):
        assert abs(prec[row] - prec[q]) <= 10e-6 * prec[q] + slack[q] + slack[row] + 1e-9
        assert mode[row] == mode[q]
    first = hits.rank == 1
    found = hits.query[first]
    # A jittered spectrum finds its own record first (unless it had no fragments left to score).
    assert np.mean(hits.row[first] == found) > 0.95
    assert len(found) >= 180


def test_ms2_analog_reports_precursor_mass_difference(ms2_analog):
    ref = Reference.from_spectra(ms2_analog[50:])
    indexes = load_indexes(ref, use_cache=False)
    queries = ms2_analog[:50]
    hits = search(queries, ref, SearchSettings(mode="analog", top_k=3), indexes)
    assert len(hits) > 0
    prec = ref.columns["precursor_mz"]
    for q, row, delta in zip(hits.query, hits.row, hits.delta_mass):
        assert delta == pytest.approx(queries[q].precursor_mz - prec[row])
    assert np.all((hits.score >= 0) & (hits.score <= 1))
    assert np.all(np.isnan(hits.mf))  # no EI match factor for MS/MS


def test_threads_give_the_same_hits_bit_for_bit(swgdrug, swgdrug_spectra):
    ref, indexes = swgdrug
    queries = swgdrug_spectra[::25]
    for mode in ("identity", "analog"):
        one = search(queries, ref, SearchSettings(mode=mode, batch_size=16), indexes)
        two = search(queries, ref, SearchSettings(mode=mode, batch_size=16, threads=2), indexes)
        for name in Hits.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(one, name), getattr(two, name), err_msg=f"{mode} {name}")
    with pytest.raises(ValueError, match="threads"):
        SearchSettings(threads=0)


def test_ms2_identity_batches_run_on_the_threads_with_the_same_hits(ms2_analog, monkeypatch):
    # MS/MS identity batches (array steps and one compiled, GIL-free call for the scores) share the
    # search's threads as EI batches do; analogue batches (a per-query Python prefilter) do not.
    import threading

    from nps_id.search import engine

    ref = Reference.from_spectra(ms2_analog)
    indexes = load_indexes(ref, use_cache=False)
    queries = [s.replace(intensity=s.intensity * 0.9) for s in ms2_analog]
    one = search(queries, ref, SearchSettings(batch_size=16), indexes)
    ran_on: dict[str, set[int]] = {"identity": set(), "analog": set()}
    mode = "identity"

    def recorded(*args):
        ran_on[mode].add(threading.get_ident())
        return engine.search_ms2(*args)

    monkeypatch.setitem(engine._JOBS, "ms2", recorded)
    two = search(queries, ref, SearchSettings(batch_size=16, threads=2), indexes)
    mode = "analog"
    search(queries[:40], ref, SearchSettings(mode="analog", batch_size=16, threads=2), indexes)
    assert threading.get_ident() not in ran_on["identity"]  # the pool's threads
    assert ran_on["analog"] == {threading.get_ident()}
    assert len(one) > 100
    for name in Hits.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name), err_msg=name)


def test_formula_codes_are_equal_exactly_for_equal_formulas():
    """The isomer alert compares formula codes: equal codes for equal formulas, -1 for none."""
    from nps_id.search.prepared import PreparedLibrary

    formulas = ["C10H15N", "", "C9H13NO", "C10H15N", "", "C9H13NO", "C17H19NO3"]
    spectra = [Spectrum([50.0, 91.0], [10, 100], {"formula": f, "name": f"c{i}"} if f else {"name": f"c{i}"})
               for i, f in enumerate(formulas)]
    codes = PreparedLibrary(Reference.from_spectra(spectra)).formula.tolist()
    assert [c < 0 for c in codes] == [not f for f in formulas]
    assert all((codes[i] == codes[j]) == (formulas[i] == formulas[j])
               for i in range(len(formulas)) for j in range(len(formulas)) if formulas[i] and formulas[j])


def test_a_runner_up_that_matched_nothing_gives_no_gap():
    # An MS/MS record of another compound in the precursor window that shares no fragment scores 0:
    # it is no runner-up, so no gap (as `match` has it) -- not "gap = the hit's own score"
    query = next(s for s in read(data_path("massbank", "ms2-queries-identity.msp.gz")) if len(s) >= 8)
    decoy = query.replace(mz=query.mz + 0.37, name="decoy", inchikey="AAAAAAAAAAAAAA-BBBBBBBBBB-N", formula="C99")
    hits = search([query], Reference.from_spectra([query, decoy]), SearchSettings(top_k=5))
    assert hits.score[0] > 0.99 and np.isclose(hits.score[-1], 0.0)
    assert np.isnan(hits.gap[0])


def test_the_rows_whose_formulas_are_coded_alone_are_numpys_distinct_rows():
    """``PreparedLibrary.formula_of`` takes the distinct rows without np.unique (numpy.ma's import): the
    codes of 400 SWGDRUG rows asked with repeats and in any order are those np.unique's rows give, equal
    where the formulas are, -1 elsewhere."""
    from nps_id.search.engine import PreparedLibrary
    from nps_id.search.prepared import formula_codes

    reference = Reference.from_spectra(list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[:600])
    prepared = PreparedLibrary(reference, SearchSettings())
    rows = np.random.default_rng(3).integers(0, 600, 400)
    codes = prepared.formula_of(rows)
    wanted = np.unique(rows)
    expected = np.full(reference.n_spectra, -1, dtype=np.int64)
    expected[wanted] = formula_codes(reference.column_rows("formula", wanted))
    assert codes.dtype == expected.dtype and np.array_equal(codes, expected)
    assert (codes >= 0).sum() == wanted.size < 400 and "formula" not in prepared.__dict__


def test_common_peaks_from_bits_are_the_scans_at_word_edges_fractional_and_zero_weight_peaks():
    # attack51b: the bit kernel against the peak scan row by row, on what the library and query sets do not hold --
    # peaks at m/z 1, 63 / 64 / 127 / 128 (word edges), a reference reaching 2,000, a zero-intensity reference peak
    # (no common peak), query m/z written with decimals (rounded as the scan rounds them), repeated query m/z, one
    # query bit set reused by a longer and a shorter query -- the same 7 values and the same give-ups, bit for bit
    from nps_id.search import kernels

    rng = np.random.default_rng(51)
    offsets, mz, intensity = [0], [], []
    for _ in range(60):
        top = int(rng.choice([64, 128, 700, 2000]))
        row = rng.choice(np.arange(1, top + 1), size=min(int(rng.integers(1, 40)), top), replace=False)
        row = np.unique(np.r_[rng.choice([1, 63, 64, 127, 128], size=2), row])  # unique, ascending
        mz += row.tolist()
        intensity += np.where(rng.random(len(row)) < 0.1, 0.0, rng.uniform(1, 999, len(row))).tolist()
        offsets.append(len(mz))
    offsets, mz, intensity = np.array(offsets), np.array(mz, dtype=float), np.array(intensity)
    ref_w, ref_norm2 = kernels.composite_reference_weights(offsets, mz, intensity, 1.0, 0.6)
    first, words, valid, every, rank = kernels.common_peak_bits(offsets, mz, ref_w)
    assert words.size == offsets.size  # the bits are used
    common = kernels.row_scratch(offsets, np.arange(offsets.size - 1))
    q_bits = np.zeros(1, dtype=np.uint64)
    compared = given_up = 0
    for top in (2100, 64, 700, 128, 2100, 1):
        q_mz = rng.integers(1, top + 1, size=int(rng.integers(1, 60))) + rng.choice([0.0, 0.3, -0.4], size=1)
        q_w, q_norm2, n_q = kernels.composite_query_weights(np.clip(q_mz, 1, None), rng.uniform(0, 999, q_mz.size),
                                                            1.0, 0.6)
        q_bits = kernels.query_bits(q_w, q_bits)
        for r in range(offsets.size - 1):
            lo, hi = offsets[r], offsets[r + 1]
            for give_up in (np.inf, 0.5, 2.0):
                scan, bits = np.zeros(7), np.zeros(7)
                scanned = kernels.composite_row_w(q_w, q_norm2, n_q, mz[lo:hi], ref_w[lo:hi], ref_norm2[r], scan, give_up,
                                                  common)
                from_bits = kernels.composite_row_bits(q_w, q_bits, q_norm2, n_q, first[r], words[r], words[r + 1], valid,
                                                       every, rank, ref_w[lo:hi], ref_norm2[r], bits, give_up)
                assert scanned == from_bits and scan.tobytes() == bits.tobytes(), (top, r, give_up)
                compared += 1
                given_up += not scanned
    assert given_up and compared - given_up > given_up // 4  # both outcomes were compared

"""A search of a few queries runs NumPy kernels (nps_id.search.few) and never imports numba; its
hits equal the compiled kernels' bit for bit, query by query, on real spectra."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nps_id.io import read
from nps_id.search import few, jit
from nps_id.search.engine import Hits, PreparedLibrary, SearchSettings, search
from nps_id.search.index import load_indexes
from nps_id.search.reference import Reference
from nps_id.spectrum import Spectrum
from tests.conftest import data_path

#: As nps-id search asks: the verdict columns' 20 hits, the command's prefilter.
SETTINGS = SearchSettings(top_k=20, prefilter=200)


def _chunks(n: int) -> list[range]:
    """Searches of 1, 2 and 4 queries in turn (one spectrum, and a few in one CSR batch)."""
    out, start, sizes = [], 0, (1, 2, 4)
    while start < n:
        size = sizes[len(out) % 3]
        out.append(range(start, min(start + size, n)))
        start += size
    return out


def _assert_same_rows(queries: list[Spectrum], library: PreparedLibrary, settings: SearchSettings,
                      monkeypatch: pytest.MonkeyPatch) -> Hits:
    """The compiled path on all ``queries`` in one search against the NumPy path a few at a time:
    every query's rows equal, every column bit for bit."""
    monkeypatch.setattr(jit, "few_queries", lambda n, mode="identity": False)
    compiled = search(queries, library, settings)
    monkeypatch.setattr(jit, "few_queries", lambda n, mode="identity": True)
    for chunk in _chunks(len(queries)):
        hits = search([queries[i] for i in chunk], library, settings)
        want = np.isin(compiled.query, list(chunk))
        for name in Hits.__dataclass_fields__:
            got, expected = getattr(hits, name), getattr(compiled, name)[want]
            if name == "query":
                got = np.asarray(chunk)[got]
            np.testing.assert_array_equal(got, expected, err_msg=f"queries {chunk}: {name}")
    return compiled


@pytest.fixture(scope="module")
def massbank_ei(massbank_ei_build) -> PreparedLibrary:
    from nps_id.library import open_verified

    with open_verified(massbank_ei_build[1]) as lib:
        reference = Reference.from_library(lib)
    return PreparedLibrary(reference, SETTINGS)


def test_ei_dev_queries_give_the_same_rows_in_numpy_and_compiled(massbank_ei, monkeypatch):
    queries = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[::4]
    hits = _assert_same_rows(queries, massbank_ei, SETTINGS, monkeypatch)
    assert len(set(hits.query.tolist())) == len(queries)  # every query has hits: the comparison is not empty


def test_a_few_queries_are_ranked_with_their_candidates_formulas_alone(massbank_ei, monkeypatch):
    """A search of one or a few queries codes the formulas of its candidates only (a one-spectrum
    search coded all 69,220 of MassBank MS/MS), with the isomer alerts and gaps of every row's codes."""
    queries = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[2::12]
    monkeypatch.setattr(jit, "few_queries", lambda n, mode="identity": True)
    fresh = PreparedLibrary(massbank_ei.reference, SETTINGS, massbank_ei.indexes)
    alone = [search(queries[i : i + 2], fresh, SETTINGS) for i in range(0, len(queries), 2)]
    assert "formula" not in fresh.__dict__  # every row's codes never made
    assert massbank_ei.formula.size == massbank_ei.reference.n_spectra  # every row's codes, as the compiled path has
    for i, hits in zip(range(0, len(queries), 2), alone):
        whole = search(queries[i : i + 2], massbank_ei, SETTINGS)
        for name in Hits.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(hits, name), getattr(whole, name), err_msg=name)
    assert any(np.any(hits.isomer_alert) for hits in alone)  # the codes were compared


@pytest.mark.parametrize("score", ["cosine", "reverse", "dot"])  # the per-query loop: prefilter, composite parts
def test_ei_dev_queries_by_another_score_give_the_same_rows_in_numpy_and_compiled(massbank_ei, score, monkeypatch):
    queries = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[2::12]
    settings = SearchSettings(top_k=20, prefilter=200, score=score)
    hits = _assert_same_rows(queries, massbank_ei, settings, monkeypatch)
    assert len(set(hits.query.tolist())) == len(queries) and np.any(hits.isomer_alert)


def test_ei_analogue_queries_give_the_same_rows_in_numpy_and_compiled(massbank_ei, monkeypatch):
    """The analogue loop (prefilter with the mass prior's listed differences, composite parts, the
    modified cosine of ~1,000 candidates a query, the analogue score's ranking)."""
    queries = list(read(data_path("massbank", "ei-queries-analog.msp.gz")))[::25]
    settings = SearchSettings(mode="analog", top_k=20, prefilter=200)
    hits = _assert_same_rows(queries, massbank_ei, settings, monkeypatch)
    assert len(set(hits.query.tolist())) == len(queries) and np.any(hits.delta_shift >= 0)
    assert np.any(hits.score != hits.similarity)  # the mass prior moved scores: the analogue ranking ran


def test_the_ei_prefilter_reaches_the_same_spectra_in_the_same_order_with_the_same_cosines(massbank_ei):
    """few.nominal_scatter against the compiled scatter-add: the order matters (the prefilter's cut
    keeps ties by it), each cosine bit for bit."""
    from nps_id.search.ei import _Scatter, _query_nominal

    index = massbank_ei.indexes["ei"]
    queries = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[5::40]
    nominal, weight = _query_nominal(queries, index)
    scatter, q_weight = _Scatter(index), weight.astype(np.float64)
    for i in range(len(queries)):
        lo, hi = nominal.offsets[i], nominal.offsets[i + 1]
        positions, cosine = few.nominal_scatter(nominal.mz, q_weight, lo, hi, index.bin_offsets, index.peak_position,
                                                index.peak_weight, index.n)
        want_positions, want_cosine = scatter(nominal.mz, q_weight, lo, hi)
        assert positions.size > 1000 and not np.all(np.diff(positions) > 0)  # first reached, not ascending
        np.testing.assert_array_equal(positions, want_positions)
        np.testing.assert_array_equal(cosine, want_cosine)


def test_swgdrug_records_give_the_same_rows_in_numpy_and_compiled(swgdrug_library, monkeypatch):
    from nps_id.library import open_verified

    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
        records = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[::40]
    rng = np.random.default_rng(29)  # the records themselves, their intensities off by up to 30 %
    queries = [s.replace(intensity=s.intensity * rng.uniform(0.7, 1.3, len(s))) for s in records]
    ei = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[1::24]
    hits = _assert_same_rows(queries + ei, PreparedLibrary(reference, SETTINGS), SETTINGS, monkeypatch)
    assert np.any(hits.isomer_alert) and np.any(hits.gap > 0)


@pytest.fixture(scope="module")
def ms2_around_the_queries(massbank_ms2_spectra) -> tuple[list[Spectrum], PreparedLibrary]:
    """The MS/MS dev queries, and every MassBank MS/MS record within 1 Da of one's precursor m/z
    (all of each query's identity candidates, a tenth of the library to index)."""
    queries = list(read(data_path("massbank", "ms2-queries-identity.msp.gz")))
    near = np.sort([q.precursor_mz for q in queries])
    records = [s for s in massbank_ms2_spectra if s.precursor_mz is not None and np.isfinite(s.precursor_mz)]
    prec = np.array([s.precursor_mz for s in records])
    at = np.clip(np.searchsorted(near, prec), 1, near.size - 1)
    keep = np.minimum(np.abs(near[at] - prec), np.abs(near[at - 1] - prec)) <= 1.0
    reference = Reference.from_spectra([s for s, k in zip(records, keep) if k])
    return queries, PreparedLibrary(reference, SETTINGS, load_indexes(reference, use_cache=False))


def test_ms2_analogue_queries_give_the_same_rows_in_numpy_and_compiled(massbank_ms2_spectra, monkeypatch):
    """The MS/MS analogue search (fragment and loss prefilter, the modified cosine) against a third
    of MassBank MS/MS."""
    queries = list(read(data_path("massbank", "ms2-queries-analog.msp.gz")))[::30]
    reference = Reference.from_spectra(massbank_ms2_spectra[::3])
    settings = SearchSettings(mode="analog", top_k=20, prefilter=200)
    library = PreparedLibrary(reference, settings, load_indexes(reference, use_cache=False))
    hits = _assert_same_rows(queries, library, settings, monkeypatch)
    assert len(set(hits.query.tolist())) > 0.8 * len(queries) and np.any(hits.delta_shift >= 0)


@pytest.mark.parametrize("score", ["cosine", "modified_cosine"])  # the latter: pairs at the precursor shift too
def test_ms2_dev_queries_give_the_same_rows_in_numpy_and_compiled(ms2_around_the_queries, score, monkeypatch):
    queries, library = ms2_around_the_queries
    settings = SearchSettings(score=score, top_k=20, prefilter=200)
    hits = _assert_same_rows(queries[::2], library, settings, monkeypatch)
    assert len(set(hits.query.tolist())) > 0.8 * len(queries[::2])


def test_numpy_kernels_keep_the_compiled_constants():
    from nps_id.search.scores import composite

    assert few.PROXY_BUCKETS == composite._PROXY_BUCKETS


def test_peak_weights_are_libm_pow_as_the_compiled_kernels_take_it():
    """The library's composite weights of MassBank EI, every peak, as numba computes them."""
    from nps_id.search import kernels

    library = Reference.from_spectra(read(data_path("massbank", "ei-library.msp.gz")))
    index = load_indexes(library, use_cache=False)["ei"]
    ref_w, ref_norm2 = kernels.composite_reference_weights(index.spec_offsets, index.spec_mz, index.spec_intensity,
                                                           1.0, 0.5)
    mz = np.rint(index.spec_mz)
    np.testing.assert_array_equal(few.peak_weights(mz, index.spec_intensity, 1.0, 0.5), ref_w)
    for a, b in ((3.0, 0.6), (0.0, 0.53)):  # Stein & Scott's optimum; the MS/MS weight
        want = kernels.composite_reference_weights(index.spec_offsets, index.spec_mz, index.spec_intensity, a, b)[0]
        np.testing.assert_array_equal(few.peak_weights(mz, index.spec_intensity, a, b), want)
    rows = np.arange(0, index.n, 97)
    sums = [few.sequential_sum(ref_w[index.spec_offsets[r]:index.spec_offsets[r + 1]] ** 2) for r in rows]
    np.testing.assert_array_equal(sums, ref_norm2[rows])


_SEARCH_AND_SAY_WHAT_LOADED = """
import sys
from nps_id.cli import main
sys.argv = ['nps-id', 'search', *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print('LOADED', sorted(m for m in ('numba', 'scipy.linalg') if m in sys.modules))
"""


def _search_process(*args: str, **env: str) -> tuple[str, str]:
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _SEARCH_AND_SAY_WHAT_LOADED, *args], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(root), **env}, timeout=600).stdout
    rows, loaded = out.split("LOADED ")
    return rows, loaded.strip()


def test_a_search_of_a_few_spectra_does_not_import_numba_and_a_larger_one_does(swgdrug_library, tmp_path):
    from nps_id.io import write

    records = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[100:100 + jit.FEW_QUERIES + 1]
    few_file, more_file = tmp_path / "few.msp", tmp_path / "more.msp"
    write(records[: jit.FEW_QUERIES], few_file)
    write(records, more_file)
    cache = {"NPS_ID_CACHE": str(tmp_path / "cache")}
    few_rows, few_loaded = _search_process(str(few_file), "-l", str(swgdrug_library), "--format", "jsonl", **cache)
    more_rows, more_loaded = _search_process(str(more_file), "-l", str(swgdrug_library), "--format", "jsonl", **cache)
    assert (few_loaded, more_loaded) == ("[]", "['numba']")  # numba's array maths without scipy.linalg
    assert more_rows.startswith(few_rows) and len(more_rows) > len(few_rows)  # the same rows for the same queries
    # ... and by another score (the per-query loop)
    by_cosine = [_search_process(str(file), "-l", str(swgdrug_library), "--format", "jsonl", "--score", "cosine", **cache)
                 for file in (few_file, more_file)]
    assert [loaded for _, loaded in by_cosine] == ["[]", "['numba']"]
    assert by_cosine[1][0].startswith(by_cosine[0][0]) and by_cosine[0][0] != few_rows


def test_an_analogue_search_of_a_few_spectra_does_not_import_numba_and_a_larger_one_does(swgdrug_library, tmp_path):
    """The first `match` after an install searched a card's unknowns in analogue mode: numba compiled
    its kernels then (~10-30 s on an empty cache). A few analogue queries now run in NumPy."""
    from nps_id.io import write

    records = list(read(data_path("massbank", "ei-queries-analog.msp.gz")))[:jit.FEW_ANALOGUE_QUERIES + 1]
    few_file, more_file = tmp_path / "few.msp", tmp_path / "more.msp"
    write(records[: jit.FEW_ANALOGUE_QUERIES], few_file)
    write(records, more_file)
    cache = {"NPS_ID_CACHE": str(tmp_path / "cache")}
    args = ("-l", str(swgdrug_library), "--mode", "analog", "--format", "jsonl")
    few_rows, few_loaded = _search_process(str(few_file), *args, **cache)
    more_rows, more_loaded = _search_process(str(more_file), *args, **cache)
    assert (few_loaded, more_loaded) == ("[]", "['numba']")
    assert more_rows.startswith(few_rows) and len(more_rows) > len(few_rows)  # the same rows for the same queries

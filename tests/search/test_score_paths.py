"""One test per registered score: the public class with its default parameters, the engine, and
``nps-id search --score NAME`` give the same value for the same pair of real spectra, for every
spectrum kind the score serves -- and the same as matchms / ms_entropy where those compute it.
Also: the docs table lists exactly the registry's scores, and the 0-999 rounding is one rule.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.io import read, write
from nps_id.search import scores
from nps_id.search.engine import SearchSettings, search
from nps_id.search.reference import Reference
from nps_id.search.scores.base import search_peaks
from nps_id.spectrum import Spectrum, to_matchms
from tests.conftest import data_path
from tests.search.test_scores_reference import SHIFTED_PAIRS

#: SWGDRUG records: two related EI spectra (cathinones sharing the base peak).
EI_POOL = 300


def _same_precursor_pair(ms2: list[Spectrum]) -> tuple[Spectrum, Spectrum]:
    """Two spectra of one ion mode within 5 ppm of each other's precursor with cosine > 0.3 (the
    same compound from two laboratories): an MS/MS identity pair."""
    order = sorted((s for s in ms2 if s.precursor_mz), key=lambda s: s.precursor_mz)
    cosine = scores.Cosine()
    return next((a, b) for a, b in zip(order, order[1:])
                if abs(a.precursor_mz - b.precursor_mz) <= 5e-6 * a.precursor_mz
                and a.get("ion_mode") == b.get("ion_mode") and cosine.pair(a, b).score > 0.3)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> dict[tuple[str, str], tuple[Spectrum, Spectrum, Path, Path]]:
    """Per (kind, mode): (query, reference, query file, one-spectrum library file with indexes)."""
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    ms2 = list(read(data_path("massbank", "ms2-queries-identity.msp.gz")))
    ei = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[:EI_POOL]
    # The EI reference: the pool spectrum most like the first one, other than itself.
    cosine = scores.Cosine()
    best = max(range(1, EI_POOL), key=lambda j: cosine.pair(ei[0], ei[j]).score)
    ei_pair = (ei[0], ei[best].replace(ms_level=1))
    out = {}
    folder = tmp_path_factory.mktemp("score-paths")
    ei_pair = (ei_pair[0].replace(ms_level=1), ei_pair[1])
    # An analogue pair (different precursors) that every MS/MS analogue score finds similar.
    ms2_analog = next((ms2[i], ms2[j]) for i, j in SHIFTED_PAIRS
                      if all(scores.get(n)().pair(ms2[i], ms2[j]).score > 0.1 for n in scores.names("ms2", "analog")))
    for (kind, mode), (query, ref) in (
        (("ei", "identity"), ei_pair), (("ei", "analog"), ei_pair),
        (("ms2", "identity"), _same_precursor_pair(ms2)), (("ms2", "analog"), ms2_analog),
    ):
        stem = folder / f"{kind}-{mode}"
        query_file, library_source, library = (stem.with_suffix(s) for s in (".query.msp", ".msp", ".h5"))
        write([query], query_file)
        write([ref], library_source)
        build_library([library_source], library, name=kind, release="test", index_builder=build_indexes)
        out[kind, mode] = (query, ref, query_file, library)
    return out


def _engine(query: Spectrum, ref: Spectrum, name: str, mode: str) -> float:
    hits = search([query], Reference.from_spectra([ref]), SearchSettings(mode=mode, score=name, top_k=1))
    assert len(hits) == 1, "the engine found no candidate"
    return float(hits.similarity[0])


def _cli(query_file: Path, library: Path, name: str, mode: str, tmp_path: Path) -> float:
    result = CliRunner().invoke(cli, ["search", str(query_file), "-l", str(library), "--score", name, "--mode", mode,
                                      "--format", "jsonl", "--top", "1"],
                                env={"NPS_ID_CACHE": str(tmp_path)})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[0])["similarity"]


def _reference_value(name: str, kind: str, query: Spectrum, ref: Spectrum) -> float | None:
    """matchms / ms_entropy on the same prepared peaks, where they compute the same thing."""
    from matchms.similarity import CosineGreedy, ModifiedCosineGreedy

    if name in ("cosine", "modified_cosine", "dot"):
        prepared = [s.replace(mz=mz, intensity=i) for s in (query, ref) for mz, i in [search_peaks(s, kind)]]
        a, b = (to_matchms(s) for s in prepared)
        if name == "modified_cosine":
            if kind == "ei":
                return None  # the search's EI mass is an estimated molecular ion matchms does not know
            return float(ModifiedCosineGreedy(tolerance=0.2, intensity_power=0.5).pair(a, b)["score"])
        mz_power = 1.0 if kind == "ei" else 0.0
        cos = float(CosineGreedy(tolerance=0.2, mz_power=mz_power, intensity_power=0.5).pair(a, b)["score"])
        return cos**2 if name == "dot" else cos
    if name == "entropy":
        import ms_entropy

        cleaned = [ms_entropy.clean_spectrum(np.c_[s.mz, s.intensity].astype(np.float32), max_mz=s.precursor_mz - 1.6,
                                             noise_threshold=0.01, min_ms2_difference_in_da=0.04)
                   for s in (query, ref)]
        return float(ms_entropy.calculate_entropy_similarity(*cleaned, ms2_tolerance_in_da=0.02, clean_spectra=False))
    return None  # composite, reverse: NIST only; hybrid entropy: Flash parity in test_scores_reference.py


@pytest.mark.parametrize("name", list(scores.REGISTRY))
def test_class_engine_and_cli_agree(name, pairs, tmp_path):
    score_class = scores.get(name)
    compared = 0
    for kind, mode in score_class.serves:
        query, ref, query_file, library = pairs[kind, mode]
        value = score_class().pair(query, ref).score
        assert value > 0.05, (kind, mode)  # a pair that exercises peak matching
        assert _engine(query, ref, name, mode) == pytest.approx(value, abs=1e-6), (kind, mode)
        assert _cli(query_file, library, name, mode, tmp_path) == pytest.approx(value, abs=5e-5), (kind, mode)
        expected = _reference_value(name, kind, query, ref)
        if expected is not None:
            assert value == pytest.approx(expected, abs=1e-6), (kind, mode)
            compared += 1
    assert compared or name in ("composite", "reverse", "hybrid_entropy")


def test_docs_table_lists_exactly_the_registry():
    text = (Path(__file__).parents[2] / "docs" / "scores.md").read_text(encoding="utf-8")
    table = text.split("<!-- registry table -->")[1].split("<!-- end of registry table -->")[0]
    listed = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)
    assert listed == list(scores.REGISTRY)


def test_registry_defaults_and_settings_validation():
    assert scores.default("ei", "identity") == "composite"
    assert scores.default("ms2", "identity") == "cosine"
    assert scores.default("ei", "analog") == scores.default("ms2", "analog") == "modified_cosine"
    assert SearchSettings(score="entropy").score_for("ms2").name == "entropy"
    assert SearchSettings(score="entropy").score_for("ei").name == "composite"  # EI gets its default
    with pytest.raises(ValueError, match="not available in identity mode"):
        SearchSettings(score="no_such_score")


def test_documented_class_defaults_are_the_search_defaults():
    """CompositeMatchFactor() is the MF the CLI prints (it used to weigh m/z**3 * I**0.6)."""
    settings = SearchSettings()
    composite = scores.CompositeMatchFactor()
    assert (composite.mz_power, composite.intensity_power) == (settings.mz_power, settings.intensity_power)
    assert scores.Cosine().intensity_power == settings.ms2_intensity_power


@pytest.mark.parametrize("value, points", [(798.5 / 999, 799), (0.5 / 999, 1), (1.0, 999), (0.0, 0)])
def test_999_scale_rounds_half_up(value, points):
    assert scores.to_999(value) == points
    assert scores.to_999(float("nan")) is None
    # the column form (search output, match hits) is the same rounding, float32 columns included
    assert scores.to_999_column(np.array([value, np.nan, value])) == [points, None, points]
    assert scores.to_999_column(np.array([value], dtype=np.float32)) == [scores.to_999(np.float32(value))]


@pytest.mark.parametrize("name", ["cosine", "modified_cosine"])
def test_compiled_batch_of_pairs_equals_the_score_query_by_query(name):
    """``exact_batch`` (all of a batch's MS/MS pairs in one compiled call) gives the bits that
    ``exact``, one query at a time, gives -- on real MassBank queries, shifted or not."""
    from nps_id.peaks import CSRPeaks
    from nps_id.search.index import recorded_precision, trim_ms2_csr
    from nps_id.search.kernels import cosine_greedy
    from nps_id.search.ms2 import _precursor_windows
    from nps_id.search.prepared import PreparedLibrary
    from nps_id.tolerance import Tolerance

    queries = list(read(data_path("massbank", "ms2-queries-identity.msp.gz")))[:300]
    index = PreparedLibrary(Reference.from_spectra(queries[::2]), SearchSettings()).indexes["ms2"]
    prec = np.array([q.precursor_mz or np.nan for q in queries])
    trimmed = trim_ms2_csr(CSRPeaks.from_spectra(queries), prec, index.noise, index.precursor_margin_da)
    searched = np.flatnonzero(np.diff(trimmed.offsets) > 0)
    mode = np.zeros(len(queries), dtype=np.int64)
    pair_query, cand = _precursor_windows(searched, prec, recorded_precision(prec), mode, index,
                                          Tolerance(0.5, "Da"))
    delta = prec[pair_query] - index.precursor_mz[cand]
    score = scores.get(name)().for_search("ms2", SearchSettings())
    compiled = score.exact_batch(None, index, trimmed, queries, pair_query, cand, delta)
    one_by_one = scores.Score.exact_batch(score, None, index, trimmed, queries, pair_query, cand, delta)
    assert np.unique(pair_query).size > 100 and (compiled > 0.5).sum() > 100
    assert compiled.tobytes() == one_by_one.tobytes()
    # and the kernel of one pair, which weighs both spectra itself (the batch weighs each once)
    lib, tol, shift = index.spectra, score.tolerance, score.shift(delta)

    def f64(peaks):  # as exact_batch passes them
        return [np.asarray(a, np.float64) for a in peaks]

    per_pair = np.array([min(cosine_greedy(*f64(trimmed.row(q)), *f64(lib.row(c)), float(tol.value), tol.unit == "ppm",
                                           float(s), float(score.mz_power), float(score.intensity_power))[0], 1.0)
                         for q, c, s in zip(pair_query.tolist(), cand.tolist(), shift.tolist())])
    assert compiled.tobytes() == per_pair.tobytes()


@pytest.mark.parametrize("name", ["cosine", "modified_cosine"])
@pytest.mark.parametrize("tolerance", [0.5, 8.0])
def test_library_weights_kept_across_batches_give_the_bits_of_the_score_query_by_query(name, tolerance):
    """The library spectra's peak weights made by one batch and read by the next (``Cosine.prepare``'s
    :class:`LibraryWeights`, what every batch of a search shares) give the bits ``exact`` gives one
    query at a time -- with pairs of few peak pairs (their own sort) and, at 8 Da, of more than the
    kernel's arrays hold (the general kernel), on real MassBank queries."""
    from nps_id.peaks import CSRPeaks
    from nps_id.search.index import recorded_precision, trim_ms2_csr
    from nps_id.search.kernels import peak_pairs
    from nps_id.search.ms2 import _precursor_windows
    from nps_id.search.prepared import PreparedLibrary
    from nps_id.search.scores.cosine import _FEW_PAIRS, LibraryWeights
    from nps_id.tolerance import Tolerance

    queries = list(read(data_path("massbank", "ms2-queries-identity.msp.gz")))[:300]
    index = PreparedLibrary(Reference.from_spectra(queries[::2]), SearchSettings()).indexes["ms2"]
    prec = np.array([q.precursor_mz or np.nan for q in queries])
    trimmed = trim_ms2_csr(CSRPeaks.from_spectra(queries), prec, index.noise, index.precursor_margin_da)
    searched = np.flatnonzero(np.diff(trimmed.offsets) > 0)
    pair_query, cand = _precursor_windows(searched, prec, recorded_precision(prec), np.zeros(len(queries), np.int64),
                                          index, Tolerance(0.5, "Da"))
    delta = prec[pair_query] - index.precursor_mz[cand]
    score = replace(scores.get(name)().for_search("ms2", SearchSettings()), tolerance=Tolerance(tolerance, "Da"))
    weights = score.prepare(index, None)
    assert isinstance(weights, LibraryWeights)
    half = int(np.searchsorted(pair_query, pair_query[pair_query.size // 2]))  # whole queries in each batch
    batches = [score.exact_batch(weights, index, trimmed, queries, pair_query[s], cand[s], delta[s])
               for s in (slice(half, None), slice(0, None))]  # the second batch meets rows the first weighed
    one_by_one = scores.Score.exact_batch(score, None, index, trimmed, queries, pair_query, cand, delta)
    assert batches[1].tobytes() == one_by_one.tobytes()
    assert batches[0].tobytes() == one_by_one[half:].tobytes()
    direct = np.array([peak_pairs(trimmed.row(q)[0].astype(np.float64), index.spectra.row(c)[0].astype(np.float64),
                                  tolerance, False, 0.0)[0].size for q, c in zip(pair_query.tolist(), cand.tolist())])
    assert ((direct > 0) & (direct <= _FEW_PAIRS // 2)).sum() > 100  # both paths met (shifted pairs at most double them)
    assert (direct > _FEW_PAIRS).sum() > (20 if tolerance > 1 else -1)  # the general kernel met at 8 Da
    assert (one_by_one > 0.5).sum() > 100


@pytest.mark.parametrize("made_for", ["another index", "other powers"])
def test_library_weights_made_for_another_index_or_score_are_not_read(made_for):
    """A library API caller passing ``exact_batch`` what ``prepare`` made for another index (a smaller
    library, whose kept weights cover other spectra) or for the score with other powers gets the
    bits of a call without it. They were read as this index's: a ValueError (weights written past
    the end of the smaller library's arrays), or wrong scores (1,535 of 1,708 MassBank MS/MS library
    pairs against a 20-spectrum library's weights)."""
    from nps_id.peaks import CSRPeaks
    from nps_id.search.index import recorded_precision, trim_ms2_csr
    from nps_id.search.ms2 import _precursor_windows
    from nps_id.search.prepared import PreparedLibrary
    from nps_id.tolerance import Tolerance

    spectra = [s for s in read(data_path("massbank", "ms2-queries-identity.msp.gz")) if s.precursor_mz][:600]
    small = PreparedLibrary(Reference.from_spectra(spectra[:20]), SearchSettings()).indexes["ms2"]
    big = PreparedLibrary(Reference.from_spectra(spectra), SearchSettings()).indexes["ms2"]
    score = scores.get("cosine")().for_search("ms2", SearchSettings())
    queries = spectra[::3]
    prec = np.array([q.precursor_mz for q in queries])
    trimmed = trim_ms2_csr(CSRPeaks.from_spectra(queries), prec, big.noise, big.precursor_margin_da)

    def pairs(index):
        pair_query, cand = _precursor_windows(np.arange(len(queries)), prec, recorded_precision(prec),
                                              np.zeros(len(queries), np.int64), index, Tolerance(0.5, "Da"))
        return pair_query, cand, prec[pair_query] - index.precursor_mz[cand]

    if made_for == "another index":
        weights = score.prepare(small, None)
        score.exact_batch(weights, small, trimmed, queries, *pairs(small))  # filled, as the small index's
    else:
        other = replace(score, intensity_power=1.0)
        weights = other.prepare(big, None)
        other.exact_batch(weights, big, trimmed, queries, *pairs(big))  # filled with intensity_power 1
    got = score.exact_batch(weights, big, trimmed, queries, *pairs(big))
    alone = score.exact_batch(None, big, trimmed, queries, *pairs(big))
    assert pairs(big)[1].size > 300 and (alone > 0.5).sum() > 50  # (real pairs, many alike)
    assert got.tobytes() == alone.tobytes()

"""The search engine: rank a reference library for many query spectra, fast and exactly.

How a batch of queries is searched
----------------------------------
1. Queries are preprocessed exactly like the index (nominal mass for EI; precursor and noise
   removal for MS/MS).
2. A cheap indexed score picks candidates: EI -- the binned query's bin columns scatter-added
   into per-spectrum weighted cosines and matched-peak counts (one compiled loop per batch),
   ranked by a proxy of the composite MF; MS/MS identity -- the precursor window (one ``searchsorted``) and ion mode; MS/MS analogue
   -- fragment and neutral-loss matches gathered from the sorted peak columns, scatter-added
   with ``np.bincount``.
3. The exact score (EI: composite match factor and RMF; MS/MS: cosine or modified cosine) is
   computed for those candidates only, then the top ``k`` are kept (score descending, library
   row ascending on ties).
4. Hit confidence: the gap to the best hit of a *different* compound, and an isomer alert when a
   different compound with the same formula scores within ``isomer_margin``.

Entry points
------------
- :class:`SearchSettings` -- every parameter, with the defaults chosen on the development queries
  (``docs/search.md``).
- :func:`search` -- ``(queries, reference, settings) -> Hits``.
- :class:`Hits` -- one row per (query, rank), as named columns.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
from numba import njit

from nps_id.peaks import CSRPeaks
from nps_id.search.analogue import LISTED_MASSES, LISTED_NOMINAL_MASSES, analogue_score, match_shift
from nps_id.search.index import (
    FragmentIndex,
    NominalIndex,
    clean_ms2_csr,
    ion_mode_codes,
    load_indexes,
    nominal_csr,
    recorded_precision,
    split_rows,
    weigh,
)
from nps_id.search.kernels import (
    composite_mf_many_w,
    composite_query_weights,
    composite_reference_weights,
    composite_row_w,
    cosine_greedy,
)
from nps_id.search.reference import Reference
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance

MODES = ("identity", "analog")
#: MS/MS analogue: a mass difference is a listed modification within this (plus the recorded
#: precision of both precursors).
_LISTED_SHIFT_DA = 0.01
#: Nominal-mass peaks match when equal; any tolerance below 0.5 Da says so.
_NOMINAL_TOLERANCE = Tolerance(0.25, "Da")
#: Score names accepted per spectrum kind; the first is the default.
EI_SCORES = {"identity": ("composite", "reverse", "cosine"), "analog": ("modified_cosine", "cosine", "composite")}
MS2_SCORES = {"identity": ("cosine", "modified_cosine"), "analog": ("modified_cosine", "cosine")}


@dataclass(frozen=True)
class SearchSettings:
    """Parameters of a search (defaults tuned on the development queries only).

    Attributes
    ----------
    mode : {"identity", "analog"}
        Identity: the same compound. Analogue: structurally related compounds, scored with
        fragments matched directly or shifted by the precursor (EI: molecular-ion) mass difference.
    score : str or None
        Exact score; None = the default for the mode and spectrum kind (``EI_SCORES``,
        ``MS2_SCORES``).
    top_k : int
        Hits kept per query.
    prefilter : int
        Candidates per query the cheap indexed score passes to the exact score (EI identity).
    analog_prefilter : int
        The same for analogue search (EI and MS/MS), where the cheap score is a poorer guide.
    tolerance : Tolerance
        MS/MS fragment tolerance (Da or ppm).
    precursor_tolerance : Tolerance
        MS/MS identity precursor window, half-width (Da or ppm).
    mz_power, intensity_power : float
        EI peak weight ``mz**a * intensity**b``.
    min_mz : float
        EI low-mass cut-off (nominal m/z) applied to query and library alike; 0 = none.
    ei_noise : float
        EI nominal bins below this fraction of the spectrum's largest bin are dropped (query and
        library alike); 0 = none. The default 0.01 raised EI top-1 on the development queries
        from 0.764 to 0.781 and makes the search ~1.4x faster (docs/search.md).
    ms2_intensity_power : float
        MS/MS cosine peak weight ``intensity**p``.
    noise : float
        MS/MS peaks below this fraction of the base peak are dropped (query and library).
    isomer_margin : float
        A different compound with the same formula within this score difference (0-1 scale)
        raises the isomer alert.
    mass_prior : bool
        Analogue mode: rank by the analogue score (spectral similarity plus a bonus when the
        mass difference is a common NPS modification, minus a little per 100 Da;
        :mod:`nps_id.search.analogue`). False: rank by the spectral similarity alone.
    batch_size : int
        Queries per vectorised batch (bounds memory: batch x library scores at once).
    threads : int
        EI batches searched at once (the compiled batch loop releases the GIL; 1.85x with 2
        threads on the EI development queries). MS/MS batches run one at a time: their per-query
        Python loop holds the GIL, so threads only slowed them. Queries are independent, so the
        hits are the same, bit for bit, for any number of threads (tested).
    """

    mode: str = "identity"
    score: str | None = None
    top_k: int = 5
    prefilter: int = 200
    analog_prefilter: int = 1000
    tolerance: Tolerance = field(default_factory=lambda: Tolerance(0.2, "Da"))
    precursor_tolerance: Tolerance = field(default_factory=lambda: Tolerance(20.0, "ppm"))
    mz_power: float = 1.0
    intensity_power: float = 0.5
    min_mz: float = 0.0
    ei_noise: float = 0.01
    ms2_intensity_power: float = 0.5
    noise: float = 0.01
    isomer_margin: float = 0.02
    mass_prior: bool = True
    batch_size: int = 256
    threads: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if min(self.top_k, self.prefilter, self.analog_prefilter, self.batch_size, self.threads) < 1:
            raise ValueError("top_k, prefilter, analog_prefilter, batch_size and threads must be positive")
        known = set(EI_SCORES[self.mode]) | set(MS2_SCORES[self.mode])
        if self.score is not None and self.score not in known:
            raise ValueError(f"score {self.score!r} is not available in {self.mode} mode; choose from {sorted(known)}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tolerance"] = str(self.tolerance)
        out["precursor_tolerance"] = str(self.precursor_tolerance)
        return out


@dataclass(frozen=True)
class Hits:
    """Search results, one row per (query, rank), as columns of equal length.

    Attributes
    ----------
    query : int64 -- 0-based position of the query in the input.
    rank : int64 -- 1-based rank.
    row : int64 -- library row of the hit.
    score : float64 -- the exact score, 0-1.
    mf, rmf : float64 -- EI composite match factor and reverse match factor, 0-1 (NaN for MS/MS).
    delta_mass : float64 -- query minus hit precursor (EI: molecular-ion) mass, Da (NaN if unknown).
    similarity : float64 -- the spectral score alone, 0-1: equal to ``score`` except in analogue
        mode with ``mass_prior``, where ``score`` is the analogue score built on it.
    delta_shift : int64 -- analogue mode: index into
        :data:`~nps_id.search.analogue.ANALOGUE_SHIFTS` of the listed modification ``delta_mass``
        matches (-1: none, or not analogue mode).
    gap : float64 -- score minus the best score of a different compound (NaN when none scored).
    isomer_alert : bool -- a different compound with the same formula scored within the margin.
    """

    query: np.ndarray
    rank: np.ndarray
    row: np.ndarray
    score: np.ndarray
    mf: np.ndarray
    rmf: np.ndarray
    delta_mass: np.ndarray
    similarity: np.ndarray
    delta_shift: np.ndarray
    gap: np.ndarray
    isomer_alert: np.ndarray

    def __len__(self) -> int:
        return int(self.query.size)


# -- public entry point -------------------------------------------------------------------------


def search(
    queries: Sequence[Spectrum],
    reference: Reference,
    settings: SearchSettings | None = None,
    indexes: dict[str, Any] | None = None,
) -> Hits:
    """Search every query against ``reference``.

    Parameters
    ----------
    queries
        Query spectra. MS/MS (``ms_level`` 2 with a precursor m/z) go to the MS/MS index; MS/MS
        without a precursor m/z are not searched (:func:`unsearchable` counts them); all others
        go to the EI index. A query whose index the library lacks gets no hits.
    reference
        The library (:class:`~nps_id.search.reference.Reference`).
    settings
        :class:`SearchSettings`; defaults if None.
    indexes
        Prebuilt indexes (from :func:`~nps_id.search.index.load_indexes`); loaded if None.

    Returns
    -------
    Hits
        Sorted by query, then rank.
    """
    settings = settings or SearchSettings()
    if indexes is None:
        indexes = load_indexes(
            reference,
            ei={"mz_power": settings.mz_power, "intensity_power": settings.intensity_power,
                "min_mz": settings.min_mz, "noise": settings.ei_noise},
            ms2={"noise": settings.noise},
        )
    context = _Context(reference, settings)
    is_ei, is_ms2 = _query_kinds(queries)
    jobs = []
    for kind, mask in (("ei", is_ei), ("ms2", is_ms2)):
        positions = np.flatnonzero(mask)
        index = indexes.get(kind)
        if positions.size == 0 or index is None:
            continue
        # With several threads, EI batches small enough that every thread gets one.
        threads = settings.threads if kind == "ei" else 1
        size = min(settings.batch_size, -(-positions.size // threads))
        for start in range(0, positions.size, size):
            batch = positions[start : start + size]
            jobs.append((_search_ei if kind == "ei" else _search_ms2, [queries[i] for i in batch], batch, index))

    def run(job: tuple) -> list[dict[str, np.ndarray]]:
        func, spectra, batch, index = job
        return func(spectra, batch, index, context)

    ei_jobs = [job for job in jobs if job[0] is _search_ei]
    if settings.threads > 1 and len(ei_jobs) > 1:
        _warm(ei_jobs[0][3])  # per-index caches made once, not raced for by the threads
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=settings.threads) as pool:
            results = list(pool.map(run, ei_jobs)) + [run(job) for job in jobs if job[0] is not _search_ei]
    else:
        results = [run(job) for job in jobs]
    return _assemble([part for result in results for part in result])


def unsearchable(queries: Sequence[Spectrum], reference: Reference) -> dict[str, int]:
    """Queries :func:`search` cannot give hits, by reason (only reasons that occur): MS/MS
    without a precursor m/z, or a spectrum kind the library holds none of."""
    ei_rows, ms2_rows = split_rows(reference.columns, reference.n_spectra)
    is_ei, is_ms2 = _query_kinds(queries)
    counts = {
        "MS/MS spectra have no precursor m/z": int(np.sum(~is_ei & ~is_ms2)),
        "EI / full-scan spectra, and the library holds none": int(is_ei.sum()) if ei_rows.size == 0 else 0,
        "MS/MS spectra, and the library holds none with a precursor m/z": int(is_ms2.sum()) if ms2_rows.size == 0 else 0,
    }
    return {reason: n for reason, n in counts.items() if n}


def _query_kinds(queries: Sequence[Spectrum]) -> tuple[np.ndarray, np.ndarray]:
    """(EI, MS/MS) masks of the queries, by the rule of :func:`~nps_id.search.index.split_rows`:
    MS/MS = ``ms_level`` 2 with a precursor m/z, EI = any other level; an MS/MS spectrum without
    a precursor is neither."""
    is_ei = np.array([q.ms_level != 2 for q in queries], dtype=bool)
    return is_ei, np.array([_is_ms2(q) for q in queries], dtype=bool)


def _is_ms2(spectrum: Spectrum) -> bool:
    prec = spectrum.precursor_mz
    return spectrum.ms_level == 2 and prec is not None and np.isfinite(prec)


class _Context:
    """Per-search values derived from the reference: compound codes, formulas, masses."""

    def __init__(self, reference: Reference, settings: SearchSettings) -> None:
        self.settings = settings
        self.compound, self.formula = _compound_codes(reference)
        self.precursor_mz = np.asarray(reference.columns["precursor_mz"], dtype=np.float64)
        self.exact_mass = np.asarray(reference.columns["exact_mass"], dtype=np.float64)
        self.peaks = reference.peaks


def _compound_codes(reference: Reference) -> tuple[np.ndarray, np.ndarray]:
    """Compound code (:mod:`nps_id.compound`: stereo-aware) and formula code (-1: none) of
    every library row; made once per reference (these string operations took ~25 ms of every
    search of the 11,051-spectrum MassBank EI library)."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        compound = reference.compound()
        formula = np.asarray(reference.columns["formula"], dtype=str)
        _, codes = np.unique(formula, return_inverse=True)
        return compound, np.where(formula == "", -1, codes)

    return _memo(reference, "_codes_cache", make)


def _memo(obj: Any, name: str, make: Any) -> Any:
    """``make()`` computed once and kept on ``obj`` (a frozen dataclass) as attribute ``name``:
    the per-reference and per-index values every search reuses."""
    cached = getattr(obj, name, None)
    if cached is None:
        cached = make()
        object.__setattr__(obj, name, cached)
    return cached


# -- EI ----------------------------------------------------------------------------------------


def _query_nominal(spectra: Sequence[Spectrum], index: NominalIndex) -> tuple[CSRPeaks, np.ndarray]:
    nominal = nominal_csr(CSRPeaks.from_spectra(spectra), index.min_mz, index.noise)
    return nominal, weigh(nominal, index.mz_power, index.intensity_power)


@njit(cache=True, nogil=True)
def _nominal_accumulate(q_bin, q_weight, bin_offsets, peak_position, peak_weight, acc, count, touched):
    """Weighted cosine and matched-peak count of one query with every library spectrum it shares
    a nominal m/z with: each query bin's slice of the index is scatter-added into dense
    accumulators (the Flash-entropy layout; a sequential loop, so repeated positions add up).

    Returns ``(positions, cosine, n_matched)`` for the touched spectra and leaves the work arrays
    ``acc`` and ``count`` zeroed for the next query.
    """
    n_bins = bin_offsets.shape[0] - 1
    nt = 0
    for p in range(q_bin.shape[0]):
        m = int(q_bin[p])
        if m >= n_bins:
            continue  # above the library's highest m/z: matches nothing
        w = q_weight[p]
        for j in range(bin_offsets[m], bin_offsets[m + 1]):
            pos = peak_position[j]
            if count[pos] == 0:
                touched[nt] = pos
                nt += 1
            acc[pos] += w * peak_weight[j]
            count[pos] += 1
    positions = touched[:nt].copy()
    cosine = np.empty(nt)
    n_matched = np.empty(nt)
    for t in range(nt):
        pos = positions[t]
        cosine[t] = acc[pos]
        n_matched[t] = count[pos]
        acc[pos] = 0.0
        count[pos] = 0
    return positions, cosine, n_matched


class _Accumulator:
    """Work arrays of :func:`_nominal_accumulate`, allocated once per batch."""

    def __init__(self, n: int) -> None:
        self.acc = np.zeros(n)
        self.count = np.zeros(n, dtype=np.int32)
        self.touched = np.empty(n, dtype=np.int64)

    def __call__(self, q_mz: np.ndarray, q_weight: np.ndarray, index: NominalIndex):
        return _nominal_accumulate(q_mz, q_weight, index.bin_offsets, index.peak_position, index.peak_weight,
                                   self.acc, self.count, self.touched)


def _top_indices(values: np.ndarray, size: int) -> np.ndarray:
    """Indices of the ``size`` largest ``values`` (all if fewer), by ``argpartition``."""
    if values.size <= size:
        return np.arange(values.size)
    return np.argpartition(-values, size - 1)[:size]


def _search_ei(
    spectra: Sequence[Spectrum], batch: np.ndarray, index: NominalIndex, ctx: _Context
) -> list[dict[str, np.ndarray]]:
    s = ctx.settings
    score_name = s.score if s.score in EI_SCORES[s.mode] else EI_SCORES[s.mode][0]
    nominal, weight = _query_nominal(spectra, index)
    lib = index.spectra
    ref_w, ref_norm2 = _reference_weights(index)
    out = []
    if s.mode == "analog":
        q_mass = _molecular_ion(nominal)
        lib_mass = _library_molecular_ion(index)
    if s.mode == "identity" and score_name == "composite":
        # The main path runs in one compiled loop over the batch (no per-query Python).
        offsets, cand, mf, rmf = _ei_composite_batch(
            nominal.offsets, nominal.mz, nominal.intensity, weight.astype(np.float64), index.bin_offsets,
            index.peak_position, index.peak_weight, *_dense_bins(index), lib.offsets, _nominal_int(index),
            ref_w, ref_norm2, index.mz_power, index.intensity_power, s.prefilter, ctx.compound[index.rows],
            s.top_k, s.isomer_margin,
        )
        rows = index.rows[cand]
        return [_rank_batch(batch, offsets, rows, mf, mf, rmf, np.full(rows.size, np.nan), _not_listed(rows.size), ctx)]
    accumulate = _Accumulator(index.n)
    for i in range(len(batch)):
        q_mz, q_int = nominal.row(i)
        lo, hi = nominal.offsets[i], nominal.offsets[i + 1]
        positions, cosine, n_matched = accumulate(q_mz, weight[lo:hi].astype(np.float64), index)
        if positions.size == 0:
            continue

        def exact(cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return composite_mf_many_w(q_mz, q_int, lib.offsets, lib.mz, ref_w, ref_norm2, cand,
                                       index.mz_power, index.intensity_power)

        if s.mode == "analog":
            cand = positions[_top_indices(cosine, s.analog_prefilter)]
            if s.mass_prior:
                # As for MS/MS: spectra at a listed modification's mass difference join the
                # candidates (the best half-prefilter of them by cosine; all of them cost 30 %
                # more time for no gain on the development queries), since the prior favours them.
                at_listed = np.flatnonzero(np.isin(np.abs(q_mass[i] - lib_mass[positions]), LISTED_NOMINAL_MASSES))
                at_listed = at_listed[_top_indices(cosine[at_listed], s.analog_prefilter // 2)]
                cand = np.union1d(cand, positions[at_listed])
            mf, rmf = exact(cand)
            delta = q_mass[i] - lib_mass[cand]
            shift = np.nan_to_num(delta) if score_name == "modified_cosine" else np.zeros(cand.size)
            score = mf if score_name == "composite" else _cosine_scores(
                q_mz, q_int, lib, cand, _NOMINAL_TOLERANCE, s.intensity_power, index.mz_power, shift)
            listed = match_shift(delta, 0.0, nominal=True)
        else:
            top = _top_indices(cosine, s.prefilter)
            cand = positions[top]
            mf, rmf = exact(cand)
            score = rmf if score_name == "reverse" else np.minimum(cosine[top], 1.0)
            delta = np.full(cand.size, np.nan)
            listed = _not_listed(cand.size)
        out.append((i, index.rows[cand], score, mf, rmf, delta, listed))
    return [_rank_candidates(batch, out, ctx)]


#: Proxy histogram resolution for the candidate cut of :func:`_ei_composite_batch`.
_PROXY_BUCKETS = 4096


@njit(cache=True, nogil=True)
def _ei_composite_batch(q_offsets, q_mz, q_int, q_weight, bin_offsets, peak_position, peak_weight,
                        dense_column, dense, lib_offsets, lib_mz, ref_w, ref_norm2, a, b, size, compound,
                        top_k, margin):
    """Composite MF and RMF of the likeliest ``size`` candidates of every query in a batch.

    Step 1: each query bin's slice of the index is scatter-added into a dense weighted-cosine
    accumulator and a matched-peak counter (a sequential loop, so repeated positions add up).
    Bins that hold a large share of the library (``dense_column[m] >= 0``) are instead added as
    a whole column of ``dense`` (one weight per position, -1 = no peak there): a contiguous loop
    over all positions is cheaper than scattering most of them. Adding ``w * 0.0`` leaves a sum
    unchanged, and every position still receives its terms in ascending m/z, so the cosines are
    the same, bit for bit, as with scattering alone.
    Step 2: candidates are ranked by a proxy of the composite MF --
    ``MF = (N_U F_D + N_m F_R) / (N_U + N_m)`` with ``F_D = cosine**2`` and the ratio term F_R
    unknown, so the proxy averages its extremes F_R = cosine**2 and F_R = 1 (on the development
    data every brute-force top-5 hit ranks within the first 160; cosine alone needs 1,920). The
    cut is found with a histogram of the proxy (O(n), no sort); in the bucket at the cut, lower
    positions go first. Low-mass bins hold nearly every spectrum, so scanning all ``n`` spectra
    costs less than tracking which ones were touched. Step 3: the exact score
    (:func:`~nps_id.search.kernels.composite_row_w`) of those candidates, one at a time, in
    order of decreasing upper bound ``(N_U cosine**2 + N_m) / (N_U + N_m)`` (F_R <= 1); it stops
    as soon as the next bound is below both the k-th best MF minus ``margin`` and the best MF of
    a compound other than the top hit's: no candidate left could then enter the top ``top_k``,
    change a gap or raise an isomer alert. Only scored candidates are returned.

    Returns CSR-like ``(offsets, candidate positions, mf, rmf)``; ``compound`` is the compound
    code of every position.
    """
    nq = q_offsets.shape[0] - 1
    n = compound.shape[0]
    n_bins = bin_offsets.shape[0] - 1
    out_offsets = np.zeros(nq + 1, dtype=np.int64)
    cand_all = np.empty(nq * size, dtype=np.int64)
    mf_all = np.empty(nq * size)
    rmf_all = np.empty(nq * size)
    acc = np.zeros(n)  # weighted cosine
    count = np.zeros(n, dtype=np.float32)  # matched peaks (exact integers; half the bytes)
    hist = np.zeros(_PROXY_BUCKETS + 1, dtype=np.int64)
    bucket = np.zeros(n, dtype=np.int32)
    upper = np.zeros(n)
    row = np.empty(7)
    best_k = np.empty(top_k)
    total = 0
    for q in range(nq):
        lo, hi = q_offsets[q], q_offsets[q + 1]
        # Step 1
        for p in range(lo, hi):
            m = int(q_mz[p])
            if m >= n_bins:
                continue  # above the library's highest m/z: matches nothing
            w = q_weight[p]
            column = dense_column[m]
            if column >= 0:
                weights = dense[column]
                for r in range(n):
                    h = weights[r]
                    acc[r] += w * max(h, np.float32(0.0))
                    count[r] += np.float32(1.0) if h >= 0 else np.float32(0.0)
                continue
            for j in range(bin_offsets[m], bin_offsets[m + 1]):
                pos = peak_position[j]
                acc[pos] += w * peak_weight[j]
                count[pos] += np.float32(1.0)
        # Step 2
        n_u = hi - lo
        hist[:] = 0
        n_touched = 0
        for r in range(n):
            bucket[r] = -1
            n_m = count[r]
            if n_m > 0:
                c2 = acc[r] * acc[r]
                # One division serves both: 0.5 * x / y == 0.5 * (x / y) exactly (x >= 1).
                bound = (n_u * c2 + n_m) / (n_u + n_m)
                proxy = 0.5 * c2 + 0.5 * bound
                bucket[r] = min(int(proxy * _PROXY_BUCKETS), _PROXY_BUCKETS)
                upper[r] = bound + 1e-6  # float32 index weights
                hist[bucket[r]] += 1
                n_touched += 1
            acc[r] = 0.0
            count[r] = np.float32(0.0)
        cut = 0
        if n_touched > size:
            seen = 0
            for h in range(_PROXY_BUCKETS, -1, -1):
                seen += hist[h]
                if seen >= size:
                    cut = h
                    break
        cand = np.empty(min(size, n_touched), dtype=np.int64)
        k = 0
        for r in range(n):  # strictly above the cut bucket first, then the cut bucket
            if bucket[r] > cut:
                cand[k] = r
                k += 1
        for r in range(n):
            if k < cand.shape[0] and bucket[r] == cut:
                cand[k] = r
                k += 1
        # Step 3
        m = cand.shape[0]
        cand_upper = np.empty(m)
        for c in range(m):
            cand_upper[c] = upper[cand[c]]
        # Any order of equal bounds gives the same hits (the stop rule holds for all of them).
        cand = cand[np.argsort(-cand_upper)]
        q_w, q_norm2, n_q = composite_query_weights(q_mz[lo:hi], q_int[lo:hi], a, b)
        best_k[:] = -1.0  # the top_k best MFs so far, descending
        top_score = -1.0  # best MF so far and its compound
        top_compound = -1
        other = -1.0  # best MF of a compound other than top_compound
        done = 0
        while done < m:
            r = cand[done]
            if done >= top_k and upper[r] < min(best_k[top_k - 1] - margin, other):
                break
            s_lo, s_hi = lib_offsets[r], lib_offsets[r + 1]
            composite_row_w(q_w, q_norm2, n_q, lib_mz[s_lo:s_hi], ref_w[s_lo:s_hi], ref_norm2[r], row)
            score = row[0]
            cand_all[total + done] = r
            mf_all[total + done] = score
            rmf_all[total + done] = row[1]
            done += 1
            i = top_k - 1
            if score > best_k[i]:
                while i > 0 and best_k[i - 1] < score:
                    best_k[i] = best_k[i - 1]
                    i -= 1
                best_k[i] = score
            if score > top_score:
                if compound[r] != top_compound:
                    other = top_score
                top_score = score
                top_compound = compound[r]
            elif compound[r] != top_compound and score > other:
                other = score
        total += done
        out_offsets[q + 1] = total
    return out_offsets, cand_all[:total], mf_all[:total], rmf_all[:total]


def _molecular_ion(nominal: CSRPeaks, floor: float = 0.02) -> np.ndarray:
    """Estimated molecular-ion m/z per spectrum: the highest m/z at >= ``floor`` of the base peak.

    EI spectra often lack the molecular ion; this estimate is consistent between query and
    library, which is what a mass *difference* needs.
    """
    spec = np.repeat(np.arange(nominal.n_spectra), nominal.counts)
    base = np.zeros(nominal.n_spectra, dtype=np.float64)
    np.maximum.at(base, spec, nominal.intensity)
    ok = nominal.intensity >= floor * base[spec]
    out = np.full(nominal.n_spectra, np.nan)
    np.fmax.at(out, spec[ok], nominal.mz[ok])
    return out


def _reference_weights(index: NominalIndex) -> tuple[np.ndarray, np.ndarray]:
    """Composite peak weights of the library, computed once per loaded index (no ``pow`` per
    candidate peak at search time)."""
    return _memo(index, "_weights_cache", lambda: composite_reference_weights(
        index.spec_offsets, index.spec_mz, index.spec_intensity, index.mz_power, index.intensity_power))


#: A nominal bin holding peaks of more than this share of the library spectra is added as a
#: dense column in :func:`_ei_composite_batch` (measured on the MassBank EI library: 0.1-0.2
#: equally fast, ~1.4x faster than scattering every bin).
_DENSE_SHARE = 0.15


def _dense_bins(index: NominalIndex) -> tuple[np.ndarray, np.ndarray]:
    """``(dense_column, dense)`` for :func:`_ei_composite_batch`, made once per loaded index:
    ``dense_column[m]`` is the row of ``dense`` holding bin ``m`` (-1: scattered), ``dense`` a
    float32 ``(columns, n)`` array of the index weights, -1 where a spectrum has no peak.
    Memory: 4 bytes x spectra per dense bin (about 120 bins on MassBank EI)."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        sizes = np.diff(index.bin_offsets)
        bins = np.flatnonzero(sizes > _DENSE_SHARE * index.n)
        dense_column = np.full(sizes.size, -1, dtype=np.int64)
        dense_column[bins] = np.arange(bins.size)
        dense = np.full((bins.size, index.n), -1.0, dtype=np.float32)
        for column, m in enumerate(bins):
            peaks = slice(index.bin_offsets[m], index.bin_offsets[m + 1])
            dense[column, index.peak_position[peaks]] = index.peak_weight[peaks]
        return dense_column, dense

    return _memo(index, "_dense_cache", make)


def _nominal_int(index: NominalIndex) -> np.ndarray:
    """The library's nominal m/z as int32 (half the bytes of float64 to fetch per candidate; the
    composite kernel rounds either to the same integer)."""
    return _memo(index, "_nominal_int_cache", lambda: index.spec_mz.astype(np.int32))


def _library_molecular_ion(index: NominalIndex) -> np.ndarray:
    return _memo(index, "_molecular_ion_cache", lambda: _molecular_ion(index.spectra))


def _warm(index: NominalIndex) -> None:
    """Make the EI index's per-search caches before threads share it."""
    _reference_weights(index)
    _dense_bins(index)
    _nominal_int(index)
    _library_molecular_ion(index)


# -- MS/MS -------------------------------------------------------------------------------------


def _query_ms2(spectra: Sequence[Spectrum], noise: float, margin: float) -> tuple[CSRPeaks, np.ndarray, np.ndarray]:
    prec = np.array([q.precursor_mz for q in spectra], dtype=np.float64)
    mode = ion_mode_codes(np.array([q.get("ion_mode") or "" for q in spectra], dtype=object))
    return clean_ms2_csr(CSRPeaks.from_spectra(spectra), prec, noise, margin), prec, mode


def _search_ms2(
    spectra: Sequence[Spectrum], batch: np.ndarray, index: FragmentIndex, ctx: _Context
) -> list[dict[str, np.ndarray]]:
    s = ctx.settings
    score_name = s.score if s.score in MS2_SCORES[s.mode] else MS2_SCORES[s.mode][0]
    clean, prec, mode = _query_ms2(spectra, index.noise, index.precursor_margin_da)
    q_precision = recorded_precision(prec)
    lib = index.spectra
    out = []
    for i in range(len(batch)):
        q_mz, q_int = clean.row(i)
        if q_mz.size == 0:
            continue
        if s.mode == "identity":
            half = float(s.precursor_tolerance.window_da(prec[i])) + q_precision[i]
            cand = index.window(prec[i], half)
            if mode[i] != 0:
                cand = cand[(index.ion_mode[cand] == mode[i]) | (index.ion_mode[cand] == 0)]
        else:
            cand = _prefilter_analog(q_mz, q_int, prec[i], q_precision[i], mode[i], index, s)
        if cand.size == 0:
            continue
        delta = prec[i] - index.precursor_mz[cand]
        shift = delta if score_name == "modified_cosine" else np.zeros(cand.size)
        score = _cosine_scores(q_mz, q_int, lib, cand, s.tolerance, s.ms2_intensity_power, 0.0, shift)
        nan = np.full(cand.size, np.nan)
        if s.mode == "analog":
            # Precursors written to 0-1 decimals widen the window by their recorded precision.
            window = _LISTED_SHIFT_DA + q_precision[i] + index.precursor_precision[cand]
            listed = match_shift(delta, window)
        else:
            listed = _not_listed(cand.size)
        out.append((i, index.rows[cand], score, nan, nan, delta, listed))
    return [_rank_candidates(batch, out, ctx)]


def _gather(sorted_mz: np.ndarray, targets: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (target, peak) pairs with ``|sorted_mz[peak] - target| <= half``: two searchsorted calls
    and one vectorised expansion of the slices."""
    lo = np.searchsorted(sorted_mz, targets - half, "left")
    hi = np.searchsorted(sorted_mz, targets + half, "right")
    counts = hi - lo
    which = np.repeat(np.arange(targets.size), counts)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return which, starts + np.arange(counts.sum())


def _prefilter_analog(
    q_mz: np.ndarray, q_int: np.ndarray, q_prec: float, q_precision: float, q_mode: int, index: FragmentIndex,
    s: SearchSettings,
) -> np.ndarray:
    """Candidates for an analogue: fragments matched directly plus neutral losses matched (the
    hybrid idea of Flash entropy search), summed per library spectrum with ``np.bincount``; the
    best ``analog_prefilter`` of them, and with the mass prior also every spectrum sharing a
    fragment or loss whose precursor is a listed modification away (the prior favours those)."""
    share = q_int.astype(np.float64) / q_int.sum()
    half = np.asarray(s.tolerance.window_da(q_mz), dtype=np.float64) * np.ones(q_mz.size)
    score = np.zeros(index.n)
    for sorted_mz, intensity, position, targets in (
        (index.frag_mz, index.frag_intensity, index.frag_position, q_mz),
        (index.loss_mz, index.loss_intensity, index.loss_position, q_prec - q_mz),
    ):
        which, peaks = _gather(sorted_mz, targets, half)
        # bincount sums repeated positions (fancy-index += would keep one of them).
        score += np.bincount(position[peaks], weights=share[which] * intensity[peaks], minlength=index.n)
    if q_mode != 0:
        score[(index.ion_mode != q_mode) & (index.ion_mode != 0)] = 0.0
    hit = np.flatnonzero(score > 0)
    chosen = hit[_top_indices(score[hit], s.analog_prefilter)]
    if not s.mass_prior:
        return chosen
    half = _LISTED_SHIFT_DA + q_precision
    listed = np.concatenate([index.window(q_prec - sign * mass, half)
                             for mass in LISTED_MASSES for sign in ((1.0,) if mass == 0 else (1.0, -1.0))])
    return np.union1d(chosen, listed[score[listed] > 0])


@njit(cache=True, nogil=True)
def _cosine_many(q_mz, q_int, offsets, r_mz, r_int, cand, tol, ppm, shift, mz_power, intensity_power):
    """:func:`~nps_id.search.kernels.cosine_greedy` of one query against candidates ``cand`` of a
    CSR library (``shift[k] != 0``: modified cosine at that precursor difference)."""
    out = np.zeros(cand.shape[0])
    for k in range(cand.shape[0]):
        lo, hi = offsets[cand[k]], offsets[cand[k] + 1]
        out[k] = min(cosine_greedy(q_mz, q_int, r_mz[lo:hi], r_int[lo:hi], tol, ppm, shift[k],
                                   mz_power, intensity_power)[0], 1.0)
    return out


def _cosine_scores(q_mz, q_int, lib: CSRPeaks, cand, tolerance: Tolerance, intensity_power, mz_power, shift) -> np.ndarray:
    return _cosine_many(
        np.asarray(q_mz, np.float64), np.asarray(q_int, np.float64), lib.offsets, lib.mz, lib.intensity,
        np.asarray(cand, np.int64), float(tolerance.value), tolerance.unit == "ppm",
        np.asarray(shift, np.float64), float(mz_power), float(intensity_power),
    )


# -- ranking and confidence ----------------------------------------------------------------------


def _not_listed(size: int) -> np.ndarray:
    return np.full(size, -1, dtype=np.int64)


def _rank_candidates(batch: np.ndarray, found: list[tuple], ctx: _Context) -> dict[str, np.ndarray]:
    """:func:`_rank_batch` of per-query candidate tuples
    ``(slot, rows, similarity, mf, rmf, delta, listed_shift)``."""
    offsets = np.zeros(len(batch) + 1, dtype=np.int64)
    for slot, rows, *_ in found:
        offsets[slot + 1] = rows.size
    np.cumsum(offsets, out=offsets)
    columns = [np.concatenate([f[c] for f in found]) if found else np.empty(0) for c in range(1, 7)]
    rows = columns[0].astype(np.int64)
    return _rank_batch(batch, offsets, rows, *columns[1:5], columns[5].astype(np.int64), ctx)


def _rank_batch(
    batch: np.ndarray, offsets: np.ndarray, rows: np.ndarray, similarity: np.ndarray, mf: np.ndarray,
    rmf: np.ndarray, delta: np.ndarray, listed: np.ndarray, ctx: _Context,
) -> dict[str, np.ndarray]:
    """Top-k of every query's exactly scored candidates (CSR by query slot), with gap and alert.
    The ranking score is the similarity, or in analogue mode with the mass prior the analogue
    score built on it."""
    s = ctx.settings
    score = similarity
    if s.mode == "analog" and s.mass_prior:
        score = analogue_score(similarity, delta, listed)
    pick, slot, rank, gap, alert = _rank_kernel(offsets, rows, score, ctx.compound, ctx.formula,
                                                s.top_k, s.isomer_margin)
    return {
        "query": np.asarray(batch, dtype=np.int64)[slot],
        "rank": rank,
        "row": rows[pick],
        "score": score[pick],
        "mf": mf[pick],
        "rmf": rmf[pick],
        "delta_mass": delta[pick],
        "similarity": similarity[pick],
        "delta_shift": listed[pick],
        "gap": gap,
        "isomer_alert": alert,
    }


@njit(cache=True, nogil=True)
def _rank_kernel(offsets, rows, score, compound, formula, top_k, margin):
    """Per query: candidates sorted by score descending, then library row ascending (two stable
    sorts); for each of the first ``top_k``, the gap to the best candidate of another compound
    and whether another compound with the same formula scores within ``margin``.

    Returns ``(pick, slot, rank, gap, alert)``: indices into the candidate arrays, query slot,
    1-based rank, gap (NaN when no other compound was scored) and isomer alert.
    """
    nq = offsets.shape[0] - 1
    n_out = 0
    for q in range(nq):
        n_out += min(top_k, offsets[q + 1] - offsets[q])
    pick = np.empty(n_out, dtype=np.int64)
    slot = np.empty(n_out, dtype=np.int64)
    rank = np.empty(n_out, dtype=np.int64)
    gap = np.full(n_out, np.nan)
    alert = np.zeros(n_out, dtype=np.bool_)
    o = 0
    for q in range(nq):
        lo, hi = offsets[q], offsets[q + 1]
        m = hi - lo
        if m == 0:
            continue
        by_row = lo + np.argsort(rows[lo:hi], kind="mergesort")
        order = by_row[np.argsort(-score[by_row], kind="mergesort")]
        for r in range(min(top_k, m)):
            i = order[r]
            c = compound[rows[i]]
            f = formula[rows[i]]
            for t in range(m):
                j = order[t]
                if compound[rows[j]] != c:
                    gap[o] = score[i] - score[j]  # the first other compound is the best one
                    break
            if f >= 0:
                for t in range(m):
                    j = order[t]
                    if compound[rows[j]] != c and formula[rows[j]] == f and abs(score[j] - score[i]) <= margin:
                        alert[o] = True
                        break
            pick[o] = i
            slot[o] = q
            rank[o] = r + 1
            o += 1
    return pick, slot, rank, gap, alert


def _assemble(parts: list[dict[str, np.ndarray]]) -> Hits:
    names = [f for f in Hits.__dataclass_fields__]
    if not parts:
        empty = {"query": np.int64, "rank": np.int64, "row": np.int64, "delta_shift": np.int64, "isomer_alert": bool}
        return Hits(**{n: np.empty(0, dtype=empty.get(n, np.float64)) for n in names})
    cols = {n: np.concatenate([p[n] for p in parts]) for n in names}
    order = np.lexsort((cols["rank"], cols["query"]))
    return Hits(**{n: v[order] for n, v in cols.items()})

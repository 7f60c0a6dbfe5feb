"""The search engine: rank a reference library for many query spectra, fast and exactly.

How a batch of queries is searched
----------------------------------
1. Queries are preprocessed exactly like the index (nominal mass for EI; precursor and noise
   removal for MS/MS).
2. A cheap indexed score picks candidates for all queries of the batch at once: EI -- a sparse
   matrix product of the binned queries with the library's bin columns (weighted cosine);
   MS/MS identity -- the precursor window (one ``searchsorted``) and ion mode; MS/MS analogue
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
from nps_id.search.index import (
    FragmentIndex,
    NominalIndex,
    clean_ms2_csr,
    ion_mode_codes,
    load_indexes,
    nominal_csr,
    recorded_precision,
    weigh,
)
from nps_id.search.kernels import composite_mf_many
from nps_id.search.reference import Reference, compound_keys
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance

MODES = ("identity", "analog")
#: Score names accepted per spectrum kind; the first is the default.
EI_SCORES = {"identity": ("composite", "reverse", "cosine"), "analog": ("modified_cosine", "cosine")}
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
        Candidates per query the cheap indexed score passes to the exact score (EI, MS/MS analogue).
    tolerance : Tolerance
        MS/MS fragment tolerance (Da or ppm).
    precursor_tolerance : Tolerance
        MS/MS identity precursor window, half-width (Da or ppm).
    mz_power, intensity_power : float
        EI peak weight ``mz**a * intensity**b``.
    min_mz : float
        EI low-mass cut-off (nominal m/z) applied to query and library alike; 0 = none.
    ms2_intensity_power : float
        MS/MS cosine peak weight ``intensity**p``.
    noise : float
        MS/MS peaks below this fraction of the base peak are dropped (query and library).
    isomer_margin : float
        A different compound with the same formula within this score difference (0-1 scale)
        raises the isomer alert.
    batch_size : int
        Queries per vectorised batch (bounds memory: batch x library scores at once).
    """

    mode: str = "identity"
    score: str | None = None
    top_k: int = 5
    prefilter: int = 100
    tolerance: Tolerance = field(default_factory=lambda: Tolerance(0.01, "Da"))
    precursor_tolerance: Tolerance = field(default_factory=lambda: Tolerance(20.0, "ppm"))
    mz_power: float = 1.0
    intensity_power: float = 0.5
    min_mz: float = 0.0
    ms2_intensity_power: float = 0.5
    noise: float = 0.01
    isomer_margin: float = 0.02
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.top_k < 1 or self.prefilter < 1 or self.batch_size < 1:
            raise ValueError("top_k, prefilter and batch_size must be positive")
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
        Query spectra. MS/MS (``ms_level`` 2 with a precursor m/z) go to the MS/MS index; all
        others to the EI index. A query whose index the library lacks gets no hits.
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
            ei={"mz_power": settings.mz_power, "intensity_power": settings.intensity_power, "min_mz": settings.min_mz},
            ms2={"noise": settings.noise},
        )
    context = _Context(reference, settings)
    is_ms2 = np.array([_is_ms2(q) for q in queries], dtype=bool)
    parts: list[dict[str, np.ndarray]] = []
    for kind, mask in (("ei", ~is_ms2), ("ms2", is_ms2)):
        positions = np.flatnonzero(mask)
        index = indexes.get(kind)
        if positions.size == 0 or index is None:
            continue
        for start in range(0, positions.size, settings.batch_size):
            batch = positions[start : start + settings.batch_size]
            spectra = [queries[i] for i in batch]
            if kind == "ei":
                parts.extend(_search_ei(spectra, batch, index, context))
            else:
                parts.extend(_search_ms2(spectra, batch, index, context))
    return _assemble(parts)


def _is_ms2(spectrum: Spectrum) -> bool:
    prec = spectrum.precursor_mz
    return spectrum.ms_level == 2 and prec is not None and np.isfinite(prec)


class _Context:
    """Per-search values derived once from the reference: compound codes, formulas, masses."""

    def __init__(self, reference: Reference, settings: SearchSettings) -> None:
        self.settings = settings
        self.compound = compound_keys(reference.columns["inchikey"], reference.columns["name"])
        formula = reference.columns["formula"]
        _, self.formula = np.unique(np.asarray(formula, dtype=str), return_inverse=True)
        self.formula = np.where(np.asarray(formula, dtype=str) == "", -1, self.formula)
        self.precursor_mz = np.asarray(reference.columns["precursor_mz"], dtype=np.float64)
        self.exact_mass = np.asarray(reference.columns["exact_mass"], dtype=np.float64)
        self.peaks = reference.peaks


# -- EI ----------------------------------------------------------------------------------------


def _query_nominal(spectra: Sequence[Spectrum], index: NominalIndex) -> tuple[CSRPeaks, np.ndarray]:
    nominal = nominal_csr(CSRPeaks.from_spectra(spectra), index.min_mz)
    return nominal, weigh(nominal, index.mz_power, index.intensity_power)


@njit(cache=True)
def _nominal_prefilter(q_offsets, q_bin, q_weight, bin_offsets, peak_position, peak_weight, n, size):
    """Top-``size`` library positions per query by weighted cosine, from the bin columns.

    For each query: every query bin's slice of the index is scatter-added into one dense
    accumulator (the Flash-entropy layout; a sequential loop, so repeated positions add up),
    then the ``size`` best positions are kept -- ties at the cut broken by lower position.
    Returns CSR-like ``(offsets, positions)``, positions ascending within a query.
    """
    nq = q_offsets.shape[0] - 1
    n_bins = bin_offsets.shape[0] - 1
    acc = np.zeros(n)
    seen = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int64)
    out_offsets = np.zeros(nq + 1, dtype=np.int64)
    out = np.empty(nq * size, dtype=np.int64)
    total = 0
    for q in range(nq):
        nt = 0
        for p in range(q_offsets[q], q_offsets[q + 1]):
            m = int(q_bin[p])
            if m >= n_bins:
                continue  # above the library's highest m/z: matches nothing
            w = q_weight[p]
            for j in range(bin_offsets[m], bin_offsets[m + 1]):
                pos = peak_position[j]
                if not seen[pos]:
                    seen[pos] = True
                    touched[nt] = pos
                    nt += 1
                acc[pos] += w * peak_weight[j]
        if nt > size:
            # Selection in O(nt): the size-th best value is the cut; everything above it is
            # kept, and positions exactly at the cut fill the rest, lowest first.
            vals = acc[touched[:nt]]
            cut = -np.partition(-vals, size - 1)[size - 1]
            above = touched[:nt][vals > cut]
            at_cut = np.sort(touched[:nt][vals == cut])[: size - above.shape[0]]
            chosen = np.sort(np.concatenate((above, at_cut)))
        else:
            chosen = np.sort(touched[:nt])
        for c in range(chosen.shape[0]):
            out[total + c] = chosen[c]
        total += chosen.shape[0]
        out_offsets[q + 1] = total
        for t in range(nt):
            acc[touched[t]] = 0.0
            seen[touched[t]] = False
    return out_offsets, out[:total]


def _prefilter_ei(nominal: CSRPeaks, weight: np.ndarray, index: NominalIndex, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate positions per query (see :func:`_nominal_prefilter`)."""
    return _nominal_prefilter(
        nominal.offsets, nominal.mz, weight.astype(np.float64), index.bin_offsets,
        index.peak_position, index.peak_weight, index.n, int(size),
    )


def _top_candidates(row_scores: np.ndarray, row_positions: np.ndarray, size: int) -> np.ndarray:
    """Positions of the ``size`` best prefilter scores (all if fewer), ascending position."""
    if row_positions.size > size:
        keep = np.argpartition(-row_scores, size - 1)[:size]
        row_positions = row_positions[keep]
    return np.sort(row_positions)


def _search_ei(
    spectra: Sequence[Spectrum], batch: np.ndarray, index: NominalIndex, ctx: _Context
) -> list[dict[str, np.ndarray]]:
    s = ctx.settings
    score_name = s.score if s.score in EI_SCORES[s.mode] else EI_SCORES[s.mode][0]
    nominal, weight = _query_nominal(spectra, index)
    cand_offsets, cand_positions = _prefilter_ei(nominal, weight, index, s.prefilter)
    lib = index.spectra
    out = []
    if s.mode == "analog":
        q_mass = _molecular_ion(nominal)
        lib_mass = _library_molecular_ion(index, ctx)
    for i, query in enumerate(batch):
        cand = cand_positions[cand_offsets[i] : cand_offsets[i + 1]]
        q_mz, q_int = nominal.row(i)
        if cand.size == 0 or q_mz.size == 0:
            continue
        mf, rmf = composite_mf_many(
            q_mz, q_int, lib.offsets, lib.mz, lib.intensity, cand, index.mz_power, index.intensity_power
        )
        delta = np.full(cand.size, np.nan)
        if s.mode == "analog":
            delta = q_mass[i] - lib_mass[cand]
            score = _cosine_scores(q_mz, q_int, lib, cand, 0.5, 0.0, s.intensity_power, index.mz_power,
                                   np.nan_to_num(delta) if score_name == "modified_cosine" else np.zeros(cand.size))
        elif score_name == "composite":
            score = mf
        elif score_name == "reverse":
            score = rmf
        else:
            score = _cosine_scores(q_mz, q_int, lib, cand, 0.5, 0.0, s.intensity_power, index.mz_power,
                                   np.zeros(cand.size))
        out.append(_rank(query, index.rows[cand], score, mf, rmf, delta, ctx))
    return out


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


def _library_molecular_ion(index: NominalIndex, ctx: _Context) -> np.ndarray:
    cached = getattr(index, "_molecular_ion_cache", None)
    if cached is None:
        cached = _molecular_ion(index.spectra)
        object.__setattr__(index, "_molecular_ion_cache", cached)
    return cached


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
    tol_da, tol_ppm = (s.tolerance.value, 0.0) if s.tolerance.unit == "Da" else (0.0, s.tolerance.value)
    out = []
    for i, query in enumerate(batch):
        q_mz, q_int = clean.row(i)
        if q_mz.size == 0:
            continue
        if s.mode == "identity":
            half = float(s.precursor_tolerance.window_da(prec[i])) + q_precision[i]
            cand = index.window(prec[i], half)
            if mode[i] != 0:
                cand = cand[(index.ion_mode[cand] == mode[i]) | (index.ion_mode[cand] == 0)]
        else:
            cand = _prefilter_analog(q_mz, q_int, prec[i], mode[i], index, s)
        if cand.size == 0:
            continue
        delta = prec[i] - index.precursor_mz[cand]
        shift = delta if score_name == "modified_cosine" else np.zeros(cand.size)
        score = _cosine_scores(q_mz, q_int, lib, cand, tol_da, tol_ppm, s.ms2_intensity_power, 0.0, shift)
        nan = np.full(cand.size, np.nan)
        out.append(_rank(query, index.rows[cand], score, nan, nan, delta, ctx))
    return out


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
    q_mz: np.ndarray, q_int: np.ndarray, q_prec: float, q_mode: int, index: FragmentIndex, s: SearchSettings
) -> np.ndarray:
    """Candidates for an analogue: fragments matched directly plus neutral losses matched (the
    hybrid idea of Flash entropy search), summed per library spectrum with ``np.bincount``."""
    share = q_int.astype(np.float64) / q_int.sum()
    half = np.asarray(s.tolerance.window_da(q_mz), dtype=np.float64) * np.ones(q_mz.size)
    which, peaks = _gather(index.frag_mz, q_mz, half)
    score = np.bincount(index.frag_position[peaks], weights=share[which] * index.frag_intensity[peaks], minlength=index.n)
    which, peaks = _gather(index.loss_mz, q_prec - q_mz, half)
    score += np.bincount(index.loss_position[peaks], weights=share[which] * index.loss_intensity[peaks], minlength=index.n)
    if q_mode != 0:
        score[(index.ion_mode != q_mode) & (index.ion_mode != 0)] = 0.0
    hit = np.flatnonzero(score > 0)
    return _top_candidates(score[hit], hit, s.prefilter)


@njit(cache=True)
def _cosine_kernel(q_mz, q_int, offsets, r_mz, r_int, cand, tol_da, tol_ppm, int_power, mz_power, shift):
    """Greedy cosine (``shift[k] != 0``: modified cosine) of one query against candidates.

    Pairs (i, j) with ``|q_mz[i] - r_mz[j]| <= tol`` -- or ``|q_mz[i] - r_mz[j] - shift[k]| <= tol``
    -- are taken in order of decreasing weight product, each peak used once (matchms' greedy
    assignment). Weight = ``intensity**int_power * mz**mz_power``.
    """
    nq = q_mz.shape[0]
    wq = np.empty(nq)
    nq2 = 0.0
    for i in range(nq):
        wq[i] = q_int[i] ** int_power * q_mz[i] ** mz_power
        nq2 += wq[i] * wq[i]
    out = np.zeros(cand.shape[0])
    for k in range(cand.shape[0]):
        lo, hi = offsets[cand[k]], offsets[cand[k] + 1]
        nr = hi - lo
        wr = np.empty(nr)
        nr2 = 0.0
        for j in range(nr):
            wr[j] = r_int[lo + j] ** int_power * r_mz[lo + j] ** mz_power
            nr2 += wr[j] * wr[j]
        if nr == 0 or nq2 == 0.0 or nr2 == 0.0:
            continue
        pi = []
        pj = []
        pw = []
        n_pass = 2 if shift[k] != 0.0 else 1
        for p in range(n_pass):
            d = 0.0 if p == 0 else shift[k]
            start = 0
            for i in range(nq):
                tol = tol_da + tol_ppm * 1e-6 * q_mz[i]
                while start < nr and r_mz[lo + start] + d < q_mz[i] - tol:
                    start += 1
                j = start
                while j < nr and r_mz[lo + j] + d <= q_mz[i] + tol:
                    pi.append(i)
                    pj.append(j)
                    pw.append(wq[i] * wr[j])
                    j += 1
        if len(pw) == 0:
            continue
        order = np.argsort(-np.array(pw), kind="mergesort")
        used_q = np.zeros(nq, dtype=np.bool_)
        used_r = np.zeros(nr, dtype=np.bool_)
        total = 0.0
        for o in order:
            i = pi[o]
            j = pj[o]
            if not used_q[i] and not used_r[j]:
                used_q[i] = True
                used_r[j] = True
                total += pw[o]
        out[k] = min(total / np.sqrt(nq2 * nr2), 1.0)
    return out


def _cosine_scores(q_mz, q_int, lib: CSRPeaks, cand, tol_da, tol_ppm, int_power, mz_power, shift) -> np.ndarray:
    return _cosine_kernel(
        np.asarray(q_mz, np.float64), np.asarray(q_int, np.float64), lib.offsets, lib.mz, lib.intensity,
        np.asarray(cand, np.int64), float(tol_da), float(tol_ppm), float(int_power), float(mz_power),
        np.asarray(shift, np.float64),
    )


# -- ranking and confidence ----------------------------------------------------------------------


def _rank(
    query: int, rows: np.ndarray, score: np.ndarray, mf: np.ndarray, rmf: np.ndarray,
    delta: np.ndarray, ctx: _Context,
) -> dict[str, np.ndarray]:
    """Top-k of one query's exactly scored candidates, with gap and isomer alert."""
    s = ctx.settings
    # Score descending, then library row ascending: lexsort's last key is the primary one.
    order = np.lexsort((rows, -score))
    rows, score, mf, rmf, delta = rows[order], score[order], mf[order], rmf[order], delta[order]
    k = min(s.top_k, rows.size)
    compound = ctx.compound[rows]
    formula = ctx.formula[rows]
    gap = np.full(k, np.nan)
    alert = np.zeros(k, dtype=bool)
    for r in range(k):
        other = compound != compound[r]
        if other.any():
            gap[r] = score[r] - score[np.argmax(other)]  # first other = best other (sorted)
        if formula[r] >= 0:
            alert[r] = bool((other & (formula == formula[r]) & (np.abs(score - score[r]) <= s.isomer_margin)).any())
    return {
        "query": np.full(k, query, dtype=np.int64),
        "rank": np.arange(1, k + 1, dtype=np.int64),
        "row": rows[:k],
        "score": score[:k],
        "mf": mf[:k],
        "rmf": rmf[:k],
        "delta_mass": delta[:k],
        "gap": gap,
        "isomer_alert": alert,
    }


def _assemble(parts: list[dict[str, np.ndarray]]) -> Hits:
    names = [f for f in Hits.__dataclass_fields__]
    if not parts:
        empty = {"query": np.int64, "rank": np.int64, "row": np.int64, "isomer_alert": bool}
        return Hits(**{n: np.empty(0, dtype=empty.get(n, np.float64)) for n in names})
    cols = {n: np.concatenate([p[n] for p in parts]) for n in names}
    order = np.lexsort((cols["rank"], cols["query"]))
    return Hits(**{n: v[order] for n, v in cols.items()})

"""MS/MS search of one batch: trimmed queries, the candidate step, the exact score.

Candidates: identity -- the precursor window (``searchsorted`` for the whole batch, widened by
the recorded precision of both precursors) and ion mode; analogue -- fragments matched directly plus neutral
losses matched (the hybrid idea of Flash entropy search), summed per library spectrum with
``np.bincount``, the best ``analog_prefilter`` of them plus, with the mass prior, those at a
listed modification's mass difference. The score object's exact step then scores every
(query, candidate) pair of the batch at once
(:meth:`~nps_id.search.scores.base.Score.exact_batch`: one compiled call for the cosines).

Entry points
------------
- :func:`search_ms2` -- one batch -> hit columns (the engine's MS/MS job).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from nps_id.peaks import CSRPeaks
from nps_id.search.analogue import LISTED_MASSES, match_shift
from nps_id.search.index import FragmentIndex, expand_ranges, ion_mode_codes, recorded_precision, trim_ms2_csr
from nps_id.search.prepared import SearchContext
from nps_id.search.ranking import not_listed, rank_batch, top_indices
from nps_id.search.settings import Hits, SearchSettings
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance

#: Analogue: a mass difference is a listed modification within this (plus the recorded
#: precision of both precursors).
LISTED_SHIFT_DA = 0.01


def _query_ms2(spectra: Sequence[Spectrum], noise: float, margin: float) -> tuple[CSRPeaks, np.ndarray, np.ndarray]:
    prec = np.array([q.precursor_mz for q in spectra], dtype=np.float64)
    mode = ion_mode_codes(np.array([q.get("ion_mode") or "" for q in spectra], dtype=object))
    return trim_ms2_csr(CSRPeaks.from_spectra(spectra), prec, noise, margin), prec, mode


def search_ms2(spectra: Sequence[Spectrum], batch: np.ndarray, index: FragmentIndex,
               ctx: SearchContext) -> list[Hits]:
    s = ctx.settings
    score = ctx.score("ms2")
    prepared = ctx.library.for_score("ms2", score)
    trimmed, prec, mode = _query_ms2(spectra, index.noise, index.precursor_margin_da)
    q_precision = recorded_precision(prec)
    searched = np.flatnonzero(np.diff(trimmed.offsets) > 0)
    # Every (query, candidate) pair of the batch, grouped by query, candidates ascending.
    if s.mode == "identity":
        pair_query, cand = _precursor_windows(searched, prec, q_precision, mode, index, s.precursor_tolerance)
    else:
        found = [_prefilter_analog(*trimmed.row(i), prec[i], q_precision[i], mode[i], index, s, score.tolerance)
                 for i in searched.tolist()]
        cand = np.concatenate(found).astype(np.int64) if found else np.empty(0, np.int64)
        pair_query = np.repeat(searched, [c.size for c in found]).astype(np.int64)
    delta = prec[pair_query] - index.precursor_mz[cand]
    similarity = score.exact_batch(prepared, index, trimmed, spectra, pair_query, cand, delta)
    if s.mode == "analog":
        # Precursors written to 0-1 decimals widen the window by their recorded precision.
        listed = match_shift(delta, LISTED_SHIFT_DA + q_precision[pair_query] + index.precursor_precision[cand])
    else:
        listed = not_listed(cand.size)
    offsets = np.zeros(len(batch) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pair_query, minlength=len(batch)), out=offsets[1:])
    nan = np.full(cand.size, np.nan)
    return [rank_batch(batch, offsets, index.rows[cand].astype(np.int64), similarity, nan, nan, delta,
                       listed.astype(np.int64), ctx)]


def _precursor_windows(searched: np.ndarray, prec: np.ndarray, q_precision: np.ndarray, mode: np.ndarray,
                       index: FragmentIndex, tolerance: Tolerance) -> tuple[np.ndarray, np.ndarray]:
    """(query, position) of every library spectrum in the identity window of each ``searched``
    query (:meth:`FragmentIndex.windows`) of the query's ion mode (or of none)."""
    p = prec[searched]
    which, pos = index.windows(p, np.asarray(tolerance.window_da(p), dtype=np.float64) + q_precision[searched])
    q_mode = mode[searched][which]
    keep = (q_mode == 0) | (index.ion_mode[pos] == q_mode) | (index.ion_mode[pos] == 0)
    return searched[which[keep]].astype(np.int64), pos[keep].astype(np.int64)


def _gather(sorted_mz: np.ndarray, targets: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (target, peak) pairs with ``|sorted_mz[peak] - target| <= half``: two searchsorted calls
    and one vectorised expansion of the slices."""
    return expand_ranges(np.searchsorted(sorted_mz, targets - half, "left"),
                         np.searchsorted(sorted_mz, targets + half, "right"))


def _prefilter_analog(
    q_mz: np.ndarray, q_int: np.ndarray, q_prec: float, q_precision: float, q_mode: int, index: FragmentIndex,
    s: SearchSettings, tolerance: Tolerance,
) -> np.ndarray:
    """Candidates for an analogue: fragments matched directly plus neutral losses matched within
    ``tolerance``, summed per library spectrum with ``np.bincount``; the best ``analog_prefilter``
    of them, and with the mass prior also every spectrum sharing a fragment or loss whose
    precursor is a listed modification away (the prior favours those)."""
    share = q_int.astype(np.float64) / q_int.sum()
    half = np.asarray(tolerance.window_da(q_mz), dtype=np.float64) * np.ones(q_mz.size)
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
    chosen = hit[top_indices(score[hit], s.analog_prefilter)]
    if not s.mass_prior:
        return chosen
    half = LISTED_SHIFT_DA + q_precision
    targets = np.array([q_prec - sign * mass
                        for mass in LISTED_MASSES for sign in ((1.0,) if mass == 0 else (1.0, -1.0))])
    listed = index.windows(targets, np.full(targets.size, half))[1]
    return np.union1d(chosen, listed[score[listed] > 0])

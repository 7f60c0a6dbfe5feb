"""Cosine similarity (the matchms pattern), for EI and MS/MS, identity and analogue search.

``score = sum over paired peaks of w_a * w_b / (||w_a|| * ||w_b||)`` with peak weights
``w = mz**mz_power * intensity**intensity_power``; each peak is paired at most once, peaks pair
when ``|mz_a - mz_b| <= tolerance``. Kernels: :func:`~nps_id.search.kernels.cosine_greedy`,
:func:`~nps_id.search.kernels.cosine_hungarian`.

Entry points
------------
- :class:`Cosine` -- the score.
- :func:`cosine_many` -- one query against candidate rows of a CSR library (the engine's step).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from nps_id.search import jit
from nps_id.search.jit import njit  # numba on first use
from nps_id.search import few, kernels
from nps_id.peaks import CSRPeaks
from nps_id.search.index import DEFAULT_EI
from nps_id.search.scores.base import Candidates, Score, ScoreResult, search_peaks
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance

#: Nominal-mass (EI) peaks match when equal; any tolerance below 0.5 Da says so.
NOMINAL_TOLERANCE = Tolerance(0.25, "Da")


@njit(cache=True, nogil=True)
def _cosine_many(q_mz, q_int, offsets, r_mz, r_int, cand, tol, ppm, shift, mz_power, intensity_power):
    out = np.zeros(cand.shape[0])
    q_w = kernels._peak_weights(q_mz, q_int, mz_power, intensity_power)
    q_norm = kernels.weight_norm(q_w)
    for k in range(cand.shape[0]):
        lo, hi = offsets[cand[k]], offsets[cand[k] + 1]
        r_w = kernels._peak_weights(r_mz[lo:hi], r_int[lo:hi], mz_power, intensity_power)
        out[k] = min(kernels.cosine_greedy_weighted(q_mz, q_w, q_norm, r_mz[lo:hi], r_w, kernels.weight_norm(r_w),
                                                    tol, ppm, shift[k])[0], 1.0)
    return out


#: Peak pairs of one (query, library spectrum) pair that :func:`_cosine_pairs` orders in its own arrays
#: (by insertion); a pair of spectra with more is scored by :func:`~nps_id.search.kernels.cosine_greedy_weighted`.
#: MassBank MS/MS queries: ~17 peaks a library spectrum, a handful of pairs.
_FEW_PAIRS = 32


@njit(cache=True, nogil=True)
def _weigh_rows(cand, offsets, r_mz, r_int, mz_power, intensity_power, r_w, r_norm):
    """The peak weights (into ``r_w``) and norm (``r_norm``) of every library spectrum of ``cand``
    not weighed yet (a norm below 0)."""
    for k in range(cand.shape[0]):
        c = cand[k]
        if r_norm[c] < 0.0:
            lo, hi = offsets[c], offsets[c + 1]
            r_w[lo:hi] = kernels._peak_weights(r_mz[lo:hi], r_int[lo:hi], mz_power, intensity_power)
            r_norm[c] = kernels.weight_norm(r_w[lo:hi])


@njit(cache=True, nogil=True)
def _few_pairs(mz_a, mz_b, tol, ppm, shift, ia, ib):
    """:func:`~nps_id.search.kernels._all_pairs` (direct pairs, then those at ``shift``) written into
    ``ia``, ``ib``: their number, or -1 when there are more than the arrays hold."""
    n = kernels.pairs_into(mz_a, mz_b, tol, ppm, 0.0, ia, ib, 0)
    if shift == 0.0 or n < 0:
        return n
    return kernels.pairs_into(mz_a, mz_b, tol, ppm, shift, ia, ib, n)


@njit(cache=True, nogil=True)
def _greedy_few(n, ia, ib, prod, order, used_a, used_b):
    """The greedy sum of :func:`~nps_id.search.kernels.cosine_greedy_weighted` over the ``n``
    products ``prod`` of pairs ``ia``, ``ib`` (no NaN): taken by decreasing product, equal ones in
    reverse input order (its reversed stable argsort), by an insertion sort; the same sum in the
    same order, so the same bits. ``used_a`` and ``used_b`` are all False before and after."""
    for t in range(n):
        p = prod[t]
        u = t
        while u > 0 and prod[order[u - 1]] <= p:
            order[u] = order[u - 1]
            u -= 1
        order[u] = t
    total = 0.0
    for t in range(n):
        m = order[t]
        if not used_a[ia[m]] and not used_b[ib[m]]:
            total += prod[m]
            used_a[ia[m]] = True
            used_b[ib[m]] = True
    for t in range(n):
        used_a[ia[t]] = False
        used_b[ib[t]] = False
    return total


@njit(cache=True, nogil=True)
def _cosine_pairs(q_offsets, q_mz, q_int, pair_query, offsets, r_mz, r_w, r_norm, cand, tol, ppm, shift, mz_power,
                  intensity_power):
    out = np.zeros(cand.shape[0])
    # Peak weights (two pow per peak) and their norms once per query, on first use (a norm of -1:
    # not weighed yet); the library's come weighed (:class:`LibraryWeights`).
    q_w = np.empty(q_mz.shape[0])
    q_norm = np.full(q_offsets.shape[0] - 1, -1.0)
    # one set of work arrays for every pair (kernels.cosine_greedy_weighted allocates seven a pair)
    longest_a = longest_b = 0
    for k in range(cand.shape[0]):
        longest_a = max(longest_a, q_offsets[pair_query[k] + 1] - q_offsets[pair_query[k]])
        longest_b = max(longest_b, offsets[cand[k] + 1] - offsets[cand[k]])
    used_a, used_b = np.zeros(longest_a, np.bool_), np.zeros(longest_b, np.bool_)
    ia, ib = np.empty(_FEW_PAIRS, np.int64), np.empty(_FEW_PAIRS, np.int64)
    prod, order = np.empty(_FEW_PAIRS), np.empty(_FEW_PAIRS, np.int64)
    for k in range(cand.shape[0]):
        q, c = pair_query[k], cand[k]
        q_lo, q_hi = q_offsets[q], q_offsets[q + 1]
        lo, hi = offsets[c], offsets[c + 1]
        if q_norm[q] < 0.0:
            q_w[q_lo:q_hi] = kernels._peak_weights(q_mz[q_lo:q_hi], q_int[q_lo:q_hi], mz_power, intensity_power)
            q_norm[q] = kernels.weight_norm(q_w[q_lo:q_hi])
        n = _few_pairs(q_mz[q_lo:q_hi], r_mz[lo:hi], tol, ppm, shift[k], ia, ib)
        nan = False
        for t in range(max(n, 0)):
            prod[t] = q_w[q_lo + ia[t]] * r_w[lo + ib[t]]
            nan = nan or prod[t] != prod[t]
        if n < 0 or nan:  # many pairs, or a NaN product (its place in the sort): the general kernel
            out[k] = min(kernels.cosine_greedy_weighted(q_mz[q_lo:q_hi], q_w[q_lo:q_hi], q_norm[q], r_mz[lo:hi],
                                                        r_w[lo:hi], r_norm[c], tol, ppm, shift[k])[0], 1.0)
            continue
        norm = q_norm[q] * r_norm[c]
        if n > 0 and norm != 0.0:  # (cosine_greedy_weighted's 0 for no pair, or a norm of 0)
            out[k] = min(_greedy_few(n, ia, ib, prod, order, used_a, used_b) / norm, 1.0)
    return out


class LibraryWeights:
    """The peak weights and norms of an index's library spectra for :func:`_cosine_pairs`, each
    spectrum weighed when a batch first scores it and kept for the process's later batches (and
    the workers it forks): each batch weighed its candidates again (MassBank MS/MS x10 queries:
    ~6.1 million peaks for 1.4 million in the library). Made by :meth:`Cosine.prepare` (once per
    index and score, before the search's threads start) for the index whose CSR offsets are
    ``offsets``; its arrays are filled under a lock."""

    def __init__(self, offsets: np.ndarray, mz_power: float, intensity_power: float) -> None:
        self.offsets = offsets
        self.powers = (mz_power, intensity_power)
        self._lock = threading.Lock()
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def of(self, lib: CSRPeaks, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weights, norms) of ``lib``'s spectra, those of ``cand`` weighed: kept when ``lib`` is the
        index's peaks; any other (a part of them, :meth:`~nps_id.search.index.FragmentIndex.peaks_of`:
        a few queries' candidates; another index's, passed by a caller) weighed for this call alone."""
        if lib.offsets is not self.offsets:
            return _weighed(lib, cand, *self.powers, _unweighed(lib))
        with self._lock:
            if self._arrays is None:
                self._arrays = _unweighed(lib)
            return _weighed(lib, cand, *self.powers, self._arrays)


def _unweighed(lib: CSRPeaks) -> tuple[np.ndarray, np.ndarray]:
    return np.empty(lib.mz.shape[0]), np.full(lib.offsets.shape[0] - 1, -1.0)


def _weighed(lib: CSRPeaks, cand: np.ndarray, mz_power: float, intensity_power: float,
             arrays: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    _weigh_rows(cand, lib.offsets, lib.mz, lib.intensity, mz_power, intensity_power, *arrays)
    return arrays


def cosine_many(q_mz: np.ndarray, q_int: np.ndarray, offsets: np.ndarray, r_mz: np.ndarray, r_int: np.ndarray,
                cand: np.ndarray, score: "Cosine", shift: np.ndarray) -> np.ndarray:
    """Greedy cosine (at most 1) of one query against rows ``cand`` of a CSR library;
    ``shift[k] != 0`` pairs peaks also at that precursor difference (modified cosine). The
    analogue search of a few queries (:func:`~nps_id.search.jit.few_queries`) runs it in NumPy
    (:func:`nps_id.search.few.cosine_many`)."""
    tol = score.tolerance
    kernel = few.cosine_many if jit.few_queries(1, "analog") else _cosine_many
    return kernel(
        np.asarray(q_mz, np.float64), np.asarray(q_int, np.float64), offsets, r_mz, r_int,
        np.asarray(cand, np.int64), float(tol.value), tol.unit == "ppm", np.asarray(shift, np.float64),
        float(score.mz_power), float(score.intensity_power),
    )


@dataclass(frozen=True)
class Cosine(Score):
    """Cosine similarity of peak weights ``mz**mz_power * intensity**intensity_power``.

    Pairing ``"greedy"`` takes pairs by decreasing product (matchms ``CosineGreedy``, what the
    search runs); ``"hungarian"`` finds the pairing with the largest sum (``CosineHungarian``).
    With ``clean`` both spectra are first prepared as the search prepares them
    (:func:`~nps_id.search.scores.base.search_peaks`: EI nominal mass and noise floor; MS/MS
    precursor window and noise removed); ``clean=False`` scores the peaks as given (matchms).

    Parameters
    ----------
    tolerance : Tolerance or str, default "0.2 Da"
        Peak matching half-width (Da, or ppm of ``a``'s peak); EI nominal peaks match when equal.
    mz_power : float or None, default None
        None: the search's weight for the spectrum kind, 1.0 for EI (as the composite), 0.0 for
        MS/MS (as matchms).
    intensity_power : float, default 0.5
    pairing : {"greedy", "hungarian"}, default "greedy"
    clean : bool, default True

    Examples
    --------
    >>> a = Spectrum([100.0, 150.0, 200.0], [0.7, 0.2, 0.1], {"ms_level": 2})
    >>> b = Spectrum([100.0, 140.0, 190.0], [0.4, 0.2, 0.1], {"ms_level": 2})
    >>> r = Cosine(intensity_power=1.0).pair(a, b)
    >>> round(r.score, 2), r.matched_peaks
    (0.83, 1)
    """

    tolerance: Tolerance | str = "0.2 Da"
    mz_power: float | None = None
    intensity_power: float = 0.5
    pairing: str = "greedy"
    clean: bool = True

    name = "cosine"
    serves = (("ei", "identity"), ("ei", "analog"), ("ms2", "identity"), ("ms2", "analog"))
    default_for = (("ms2", "identity"),)
    describes = "cosine of peak weights"
    reference = "matchms `CosineGreedy` / `CosineHungarian`"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tolerance", Tolerance.parse(self.tolerance))
        if self.pairing not in ("greedy", "hungarian"):
            raise ValueError(f"pairing must be 'greedy' or 'hungarian', got {self.pairing!r}")

    def for_kind(self, kind: str) -> "Cosine":
        """These parameters with ``mz_power`` None resolved for ``kind``."""
        if self.mz_power is not None:
            return self
        return replace(self, mz_power=DEFAULT_EI["mz_power"] if kind == "ei" else 0.0)

    def for_search(self, kind: str, settings: Any) -> "Cosine":
        if kind == "ei":
            return replace(self, tolerance=NOMINAL_TOLERANCE, mz_power=settings.mz_power,
                           intensity_power=settings.intensity_power)
        return replace(self.for_kind(kind), tolerance=settings.tolerance or self.tolerance,
                       intensity_power=settings.ms2_intensity_power)

    def shift(self, delta: np.ndarray) -> np.ndarray:
        """Mass shift of each candidate's peaks (``delta``: query minus candidate precursor m/z):
        none for the plain cosine."""
        return np.zeros(delta.size)

    def exact(self, prepared: Any, index: Any, query: Candidates) -> np.ndarray:
        if query.prefilter is not None:
            # EI identity: the index's weighted cosine is this cosine (float32 index weights).
            return np.minimum(query.prefilter, 1.0)
        lib, positions = index.peaks_of(query.positions)
        return cosine_many(query.mz, query.intensity, lib.offsets, lib.mz, lib.intensity, positions,
                           self, self.shift(query.delta))

    def prepare(self, index: Any, reference: Any) -> LibraryWeights:
        """The library spectra's peak weights, kept across batches (:class:`LibraryWeights`)."""
        return LibraryWeights(index.spec_offsets, float(self.mz_power), float(self.intensity_power))

    def exact_batch(self, prepared: Any, index: Any, queries: CSRPeaks, spectra: Sequence[Spectrum],
                    pair_query: np.ndarray, positions: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """All pairs in one compiled call (per pair the same kernel and arguments as :meth:`exact`);
        a few queries in NumPy (:func:`nps_id.search.few.cosine_pairs`). ``prepared``: what
        :meth:`prepare` made for ``index`` (None: the library's weights made for this call)."""
        (lib, positions), tol = index.peaks_of(np.asarray(positions, np.int64)), self.tolerance
        query_peaks = (queries.offsets, np.asarray(queries.mz, np.float64), np.asarray(queries.intensity, np.float64),
                       np.asarray(pair_query, np.int64))
        rest = (float(tol.value), tol.unit == "ppm", np.asarray(self.shift(delta), np.float64), float(self.mz_power),
                float(self.intensity_power))
        if jit.few_queries(queries.offsets.size - 1):
            return few.cosine_pairs(*query_peaks, lib.offsets, lib.mz, lib.intensity, positions, *rest)
        mine = isinstance(prepared, LibraryWeights) and prepared.powers == rest[3:]  # (a caller's, of other powers)
        r_w, r_norm = (prepared if mine else self.prepare(index, None)).of(lib, positions)
        return _cosine_pairs(*query_peaks, lib.offsets, lib.mz, r_w, r_norm, positions, *rest)

    def pair_shift(self, kind: str, a: Spectrum, b: Spectrum, peaks_a: tuple, peaks_b: tuple) -> float:
        """Mass shift of ``b``'s peaks in ``pair``: none for the plain cosine."""
        return 0.0

    def pair_peaks(self, kind: str, a: Spectrum, b: Spectrum) -> ScoreResult:
        peaks_a, peaks_b = ((search_peaks(s, kind) if self.clean else (s.mz, s.intensity)) for s in (a, b))
        (mz_a, int_a), (mz_b, int_b) = peaks_a, peaks_b
        score = self.for_kind(kind)
        shift = self.pair_shift(kind, a, b, peaks_a, peaks_b)
        tol = score.tolerance
        func = kernels.cosine_greedy if self.pairing == "greedy" else kernels.cosine_hungarian
        value, n = func(np.asarray(mz_a, np.float64), np.asarray(int_a, np.float64), np.asarray(mz_b, np.float64),
                        np.asarray(int_b, np.float64), float(tol.value), tol.unit == "ppm", float(shift),
                        float(score.mz_power), float(self.intensity_power))
        parts = {"mass_shift": float(shift)} if shift else {}
        return ScoreResult(min(float(value), 1.0), int(n), parts)

"""Spectral entropy similarity (Li et al. 2021, Nat Methods 18:1524), as ms_entropy, for MS/MS.

Both spectra are cleaned as ms_entropy cleans them (:func:`~nps_id.search.preprocess.clean_ms2`:
precursor window, merging of peaks closer than twice the tolerance, noise, intensities summing to
1), then ``S = sum over matched peaks of f(a + b) - f(a) - f(b), halved``, ``f(x) = x log2 x``
(entropy-weighted intensities when ``weighted``). Kernel:
:func:`~nps_id.search.kernels.entropy_similarity`.

Entry points
------------
- :class:`EntropySimilarity` (``entropy``).
- :class:`CleanedPeaks` -- a library index's spectra cleaned for the entropy scores (their
  prepared index).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nps_id.search.jit import njit  # numba on first use
from nps_id.peaks import CSRPeaks
from nps_id.search import kernels
from nps_id.search.preprocess import clean_ms2_peaks
from nps_id.search.scores.base import Candidates, Score, ScoreResult
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance


@njit(cache=True, nogil=True)
def _entropy_many(q_mz, q_int, offsets, r_mz, r_int, cand, tol, ppm, weighted):
    out = np.zeros(cand.shape[0])
    for k in range(cand.shape[0]):
        lo, hi = offsets[cand[k]], offsets[cand[k] + 1]
        out[k] = kernels.entropy_similarity(q_mz, q_int, r_mz[lo:hi], r_int[lo:hi], tol, ppm, weighted)[0]
    return out


@dataclass(frozen=True)
class CleanedPeaks:
    """The spectra of a :class:`~nps_id.search.index.FragmentIndex`, in its position order, cleaned
    by :meth:`EntropySimilarity.clean` (m/z float64, intensity float32, CSR)."""

    peaks: CSRPeaks


@dataclass(frozen=True)
class EntropySimilarity(Score):
    """Spectral entropy similarity, weighted or not (as ms_entropy).

    Parameters
    ----------
    tolerance : Tolerance or str, default "0.02 Da"
        ms_entropy's default ``ms2_tolerance_in_da``.
    weighted : bool, default True
    clean : bool, default True
        False only for spectra already cleaned with the same settings.
    noise_threshold : float or None, default 0.01
    max_peaks : int or None, default None
    precursor_removal_da : float or None, default 1.6
        Peaks at or above the precursor m/z minus this are removed first, as ms_entropy's library
        search and nps-id's MS/MS index do; None keeps them (``calculate_entropy_similarity``).
    min_peak_distance : Tolerance or str or None, default None
        Peaks closer than this are merged when cleaning; None means twice the tolerance.
    """

    tolerance: Tolerance | str = "0.02 Da"
    weighted: bool = True
    clean: bool = True
    noise_threshold: float | None = 0.01
    max_peaks: int | None = None
    precursor_removal_da: float | None = 1.6
    min_peak_distance: Tolerance | str | None = None

    name = "entropy"
    serves = (("ms2", "identity"), ("ms2", "analog"))
    describes = "entropy similarity"
    reference = "ms_entropy `calculate_(unweighted_)entropy_similarity`, Flash `open_search`"

    def __post_init__(self) -> None:
        tol = Tolerance.parse(self.tolerance)
        object.__setattr__(self, "tolerance", tol)
        distance = self.min_peak_distance
        distance = Tolerance(2 * tol.value, tol.unit) if distance is None else Tolerance.parse(distance)
        object.__setattr__(self, "min_peak_distance", distance)

    def for_search(self, kind: str, settings: Any) -> "EntropySimilarity":
        if settings.tolerance is None:
            return self
        return replace(self, tolerance=settings.tolerance, min_peak_distance=None)

    def clean_peaks(self, mz: np.ndarray, intensity: np.ndarray, precursor_mz: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Peaks as this score sees them: cleaned when ``clean``; m/z float64, intensity float32."""
        if self.clean:
            mz, intensity = clean_ms2_peaks(
                mz, intensity, precursor_mz, min_distance=self.min_peak_distance,
                precursor_removal_da=self.precursor_removal_da, noise_threshold=self.noise_threshold,
                max_peaks=self.max_peaks,
            )
        return np.asarray(mz, np.float64), np.asarray(intensity, np.float32)

    def prepare(self, index: Any, reference: Any) -> CleanedPeaks:
        cleaned = []
        for position, row in enumerate(index.rows):
            lo, hi = reference.peaks.offsets[row], reference.peaks.offsets[row + 1]
            cleaned.append(self.clean_peaks(reference.peaks.mz[lo:hi], reference.peaks.intensity[lo:hi],
                                            float(index.precursor_mz[position])))
        offsets = np.zeros(len(cleaned) + 1, dtype=np.int64)
        np.cumsum([mz.size for mz, _ in cleaned], out=offsets[1:])
        mz = np.concatenate([m for m, _ in cleaned]) if cleaned else np.empty(0)
        intensity = np.concatenate([i for _, i in cleaned]) if cleaned else np.empty(0, np.float32)
        return CleanedPeaks(CSRPeaks(offsets, mz, intensity))

    def _tol(self) -> tuple[float, bool]:
        return float(self.tolerance.value), self.tolerance.unit == "ppm"

    def exact(self, prepared: CleanedPeaks, index: Any, query: Candidates) -> np.ndarray:
        q = query.spectrum
        q_mz, q_int = self.clean_peaks(q.mz, q.intensity, q.precursor_mz)
        lib = prepared.peaks
        return _entropy_many(q_mz, q_int, lib.offsets, lib.mz, lib.intensity, query.positions, *self._tol(),
                             bool(self.weighted))

    def pair_peaks(self, kind: str, a: Spectrum, b: Spectrum) -> ScoreResult:
        (mz_a, int_a), (mz_b, int_b) = (self.clean_peaks(s.mz, s.intensity, s.precursor_mz) for s in (a, b))
        score, n = kernels.entropy_similarity(mz_a, int_a, mz_b, int_b, *self._tol(), bool(self.weighted))
        return ScoreResult(float(score), int(n), {})

"""Hybrid entropy similarity: entropy similarity over direct and neutral-loss peak matches, as
ms_entropy's hybrid search (Li & Fiehn 2023), for MS/MS analogues.

A query peak pairs a reference peak directly (``|mz_a - mz_b| <= tolerance``) or by neutral loss
(``|(M_a - mz_a) - (M_b - mz_b)| <= tolerance``, a fragment shifted by ``M_a - M_b``); a
neutral-loss pair counts only if neither peak has a direct partner. ``M`` is the precursor m/z.
Kernel: :func:`~nps_id.search.kernels.hybrid_entropy_similarity`.

Entry points
------------
- :class:`HybridEntropy` (``hybrid_entropy``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_id.search.jit import njit  # numba on first use
from nps_id.search import kernels
from nps_id.search.scores.base import Candidates, ScoreResult, required_mass
from nps_id.search.scores.entropy import CleanedPeaks, EntropySimilarity
from nps_id.spectrum import Spectrum


@njit(cache=True, nogil=True)
def _hybrid_many(q_mz, q_int, q_prec, offsets, r_mz, r_int, r_prec, cand, tol, ppm, weighted):
    out = np.zeros(cand.shape[0])
    for k in range(cand.shape[0]):
        lo, hi = offsets[cand[k]], offsets[cand[k] + 1]
        out[k] = kernels.hybrid_entropy_similarity(q_mz, q_int, q_prec, r_mz[lo:hi], r_int[lo:hi], r_prec[cand[k]],
                                                   tol, ppm, weighted)[0]
    return out


@dataclass(frozen=True)
class HybridEntropy(EntropySimilarity):
    """Entropy similarity over direct and neutral-loss matches. Parameters as
    :class:`~nps_id.search.scores.entropy.EntropySimilarity` plus ``mass_key`` (metadata key of
    ``M`` in ``pair``, default ``"precursor_mz"``; the search uses the precursor m/z)."""

    mass_key: str = "precursor_mz"

    name = "hybrid_entropy"
    serves = (("ms2", "identity"), ("ms2", "analog"))
    describes = "hybrid entropy similarity (direct and neutral-loss matches)"
    reference = "ms_entropy `FlashEntropySearch.hybrid_search`"

    def exact(self, prepared: CleanedPeaks, index: Any, query: Candidates) -> np.ndarray:
        q = query.spectrum
        q_mz, q_int = self.clean_peaks(q.mz, q.intensity, q.precursor_mz)
        lib = prepared.peaks
        return _hybrid_many(q_mz, q_int, float(q.precursor_mz), lib.offsets, lib.mz, lib.intensity,
                            index.precursor_mz, query.positions, *self._tol(), bool(self.weighted))

    def pair_peaks(self, kind: str, a: Spectrum, b: Spectrum) -> ScoreResult:
        mass_a, mass_b = required_mass(a, self.mass_key), required_mass(b, self.mass_key)
        (mz_a, int_a), (mz_b, int_b) = (self.clean_peaks(s.mz, s.intensity, s.precursor_mz) for s in (a, b))
        score, n = kernels.hybrid_entropy_similarity(mz_a, int_a, mass_a, mz_b, int_b, mass_b, *self._tol(),
                                                     bool(self.weighted))
        return ScoreResult(float(score), int(n), {})

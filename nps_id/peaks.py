"""Many spectra's peaks in compressed-sparse-row (CSR) form: the shape shared by the HDF5
library, the search index and chromatographic runs.

Entry points: :class:`CSRPeaks`, :meth:`CSRPeaks.from_spectra`, :meth:`CSRPeaks.row`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from nps_id.spectrum import INTENSITY_DTYPE, MZ_DTYPE, Spectrum


@dataclass(frozen=True)
class CSRPeaks:
    """Peaks of ``n`` spectra: spectrum ``i`` owns ``mz[offsets[i]:offsets[i+1]]``.

    Attributes
    ----------
    offsets : int64 array, shape (n + 1,), ``offsets[0] == 0``, non-decreasing
    mz : float64 array, ascending within each spectrum
    intensity : float32 array, same length as ``mz``
    """

    offsets: np.ndarray
    mz: np.ndarray
    intensity: np.ndarray

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or self.offsets.size < 1 or self.offsets[0] != 0:
            raise ValueError("offsets must be a 1-D array starting at 0")
        if self.mz.shape != self.intensity.shape or self.offsets[-1] != self.mz.size:
            raise ValueError("offsets[-1] must equal the number of peaks in mz and intensity")

    @property
    def n_spectra(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def counts(self) -> np.ndarray:
        """Number of peaks per spectrum."""
        return np.diff(self.offsets)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(mz, intensity) views of spectrum ``i``."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.mz[lo:hi], self.intensity[lo:hi]

    def spectrum_index(self) -> np.ndarray:
        """For every peak, the index of the spectrum it belongs to (int64)."""
        return np.repeat(np.arange(self.n_spectra, dtype=np.int64), self.counts)

    @classmethod
    def from_spectra(cls, spectra: Iterable[Spectrum]) -> "CSRPeaks":
        mzs, ints, counts = [], [], []
        for s in spectra:
            mzs.append(s.mz)
            ints.append(s.intensity)
            counts.append(len(s))
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        mz = np.concatenate(mzs).astype(MZ_DTYPE, copy=False) if mzs else np.empty(0, MZ_DTYPE)
        inten = np.concatenate(ints).astype(INTENSITY_DTYPE, copy=False) if ints else np.empty(0, INTENSITY_DTYPE)
        return cls(offsets, mz, inten)

"""Spectrum preprocessing before scoring: EI nominal-mass binning and MS/MS cleaning.

Every function returns a new :class:`~nps_id.spectrum.Spectrum` (or new arrays); nothing is
changed in place. Query and reference must go through the same function with the same
parameters, or scores are not comparable.

Entry points
------------
EI (unit mass):

- :func:`nominal_mass` -- m/z to integer nominal mass, correct for raw instrument centroids.
- :func:`bin_nominal` -- arrays onto the nominal axis, summing intensities in the same bin.
- :func:`preprocess_ei` -- bin, low-mass cut-off, normalise to a base peak of 999, noise floor.
  Keeps the molecular ion: no precursor-window removal for EI.
"""
from __future__ import annotations

import numpy as np

from nps_id.spectrum import INTENSITY_DTYPE, MZ_DTYPE, Spectrum

#: Default fractional part at which a centroid rounds up to the next nominal mass.
#: Nominal mass ``n`` collects m/z in ``[n - 0.3, n + 0.7)``: mass defects from -0.3 Da
#: (a few Br/I atoms) to +0.7 Da (hydrogen-rich ions well beyond m/z 500; an n-alkane
#: C36H74 at m/z 506 is +0.58). See docs/scores.md, "Nominal mass".
NOMINAL_SPLIT = 0.7


def nominal_mass(mz: np.ndarray, split: float = NOMINAL_SPLIT) -> np.ndarray:
    """Integer nominal mass of each m/z: ``floor(mz + 1 - split)``.

    Parameters
    ----------
    mz : array of float
        Centroid m/z values.
    split : float, default 0.7
        Fractional part (0 < split <= 1) from which a centroid belongs to the next integer.
        Plain rounding (0.5) would put a hydrogen-rich ion at m/z 300.6 into bin 301.

    Returns
    -------
    int64 array of the same shape.

    Examples
    --------
    >>> nominal_mass(np.array([42.1, 49.9, 91.05, 500.45, 78.92])).tolist()
    [42, 50, 91, 500, 79]
    """
    if not 0.0 < split <= 1.0:
        raise ValueError(f"split must be in (0, 1], got {split}")
    return np.floor(np.asarray(mz, dtype=np.float64) + (1.0 - split)).astype(np.int64)


def bin_nominal(
    mz: np.ndarray, intensity: np.ndarray, split: float = NOMINAL_SPLIT
) -> tuple[np.ndarray, np.ndarray]:
    """Put peaks on the nominal-mass axis, summing intensities that share a bin.

    Returns
    -------
    (mz, intensity) : float64 integer-valued m/z (unique, ascending) and float32 intensities.
    Bins whose summed intensity is zero are dropped.
    """
    nominal = nominal_mass(mz, split)
    if nominal.size == 0:
        return np.empty(0, MZ_DTYPE), np.empty(0, INTENSITY_DTYPE)
    bins, inverse = np.unique(nominal, return_inverse=True)
    # np.bincount sums every member of a bin; fancy-index += would keep only one of them.
    summed = np.bincount(inverse, weights=np.asarray(intensity, dtype=np.float64), minlength=bins.size)
    keep = summed > 0
    return bins[keep].astype(MZ_DTYPE), summed[keep].astype(INTENSITY_DTYPE)


def preprocess_ei(
    spectrum: Spectrum,
    *,
    min_mz: float | None = None,
    max_mz: float | None = None,
    noise_floor: float = 0.0,
    split: float = NOMINAL_SPLIT,
    scale: float = 999.0,
) -> Spectrum:
    """EI spectrum ready for the composite match factor.

    Steps: (1) bin to nominal mass (:func:`bin_nominal`); (2) keep nominal m/z in
    ``[min_mz, max_mz]`` -- the instrument's scan range, applied to query and reference alike
    so that a reference is not penalised for ions the query's instrument never scanned;
    (3) scale the base peak to ``scale``; (4) drop peaks below ``noise_floor * scale``.
    The molecular ion is kept (no precursor-window removal).

    Parameters
    ----------
    spectrum : Spectrum
        Centroided EI spectrum, any m/z precision.
    min_mz, max_mz : float or None
        Low-mass cut-off and high-mass limit (m/z, inclusive, on the nominal axis); None = no limit.
    noise_floor : float, default 0.0
        Fraction of the base peak (0-1) below which peaks are removed after scaling.
    split : float, default 0.7
        See :func:`nominal_mass`.
    scale : float, default 999.0
        Intensity given to the base peak.

    Returns
    -------
    Spectrum
        Same metadata, integer-valued m/z, intensities with maximum ``scale`` (or no peaks).

    Examples
    --------
    >>> s = Spectrum([39.0, 42.1, 42.2, 49.9, 91.0], [50, 10, 30, 20, 200])
    >>> p = preprocess_ei(s, min_mz=40)
    >>> p.mz.tolist(), [round(float(x), 1) for x in p.intensity]
    ([42.0, 50.0, 91.0], [199.8, 99.9, 999.0])
    """
    if not 0.0 <= noise_floor < 1.0:
        raise ValueError(f"noise_floor is a fraction of the base peak in [0, 1), got {noise_floor}")
    # Step 1
    mz, intensity = bin_nominal(spectrum.mz, spectrum.intensity, split)
    # Step 2
    keep = np.ones(mz.size, dtype=bool)
    if min_mz is not None:
        keep &= mz >= min_mz
    if max_mz is not None:
        keep &= mz <= max_mz
    mz, intensity = mz[keep], intensity[keep].astype(np.float64)
    # Step 3
    if intensity.size:
        intensity *= scale / intensity.max()
    # Step 4
    if noise_floor > 0.0:
        keep = intensity >= noise_floor * scale
        mz, intensity = mz[keep], intensity[keep]
    return spectrum.replace(mz=mz, intensity=intensity)

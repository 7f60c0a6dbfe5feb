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

MS/MS:

- :func:`clean_ms2` -- ms_entropy's ``clean_spectrum`` (drop empty peaks, m/z range, optional
  precursor-window removal, merge peaks closer than a minimum distance, noise threshold,
  top-n peaks, intensities summing to 1), returning a Spectrum; :func:`clean_ms2_peaks` the same
  on bare arrays. (The index's :func:`~nps_id.search.index.trim_ms2_csr` only removes the
  precursor window and noise: the cosine scores' preparation.)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nps_id.search.kernels import clean_peaks_f32
from nps_id.spectrum import INTENSITY_DTYPE, MZ_DTYPE, Spectrum
from nps_id.tolerance import Tolerance

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


def clean_ms2(spectrum: Spectrum, **options: Any) -> Spectrum:
    """MS/MS spectrum cleaned exactly as ms_entropy's ``clean_spectrum`` (intensities sum to 1).

    Steps (:func:`~nps_id.search.kernels.clean_peaks_f32`): (1) drop zero-intensity peaks and
    keep ``min_mz < m/z < max_mz``; with ``precursor_removal_da`` also ``m/z < precursor_mz -
    precursor_removal_da`` (ms_entropy's search uses 1.6 Da); (2) merge peaks closer than
    ``min_distance`` into intensity-weighted centroids, most intense first, until every gap is at
    least ``min_distance``; (3) drop peaks below ``noise_threshold`` times the base peak;
    (4) keep the ``max_peaks`` most intense; (5) scale intensities to sum 1. Runs in float32,
    as ms_entropy does, so that peak merging and matching decisions agree with it exactly; the
    m/z values are therefore rounded to float32 (about 3e-5 Da at m/z 500).

    Options are keyword-only, those of :func:`clean_ms2_peaks`.

    Parameters
    ----------
    spectrum : Spectrum
        Centroided MS/MS spectrum.
    min_distance : Tolerance or str, default "0.05 Da"
        Peaks closer than this are merged. Entropy similarity at tolerance ``t`` needs at
        least ``2 t`` (:class:`~nps_id.search.scores.EntropySimilarity` sets it so).
    min_mz, max_mz : float or None
        Exclusive m/z limits; None = no limit.
    precursor_removal_da : float or None
        Remove peaks at or above ``precursor_mz - precursor_removal_da`` (Da); None keeps them.
        Ignored when the spectrum has no precursor m/z.
    noise_threshold : float or None, default 0.01
        Fraction of the base peak below which peaks are dropped.
    max_peaks : int or None
        Keep only this many most intense peaks.

    Returns
    -------
    Spectrum
        Same metadata; intensities summing to 1 (no peaks if nothing survives).

    Examples
    --------
    >>> s = Spectrum([50.0, 50.01, 80.0, 99.5, 100.0], [10, 30, 60, 0.1, 50], {"precursor_mz": 100.0})
    >>> c = clean_ms2(s, precursor_removal_da=1.6)
    >>> [round(float(x), 4) for x in c.mz], [round(float(x), 3) for x in c.intensity]
    ([50.0075, 80.0], [0.4, 0.6])
    """
    mz, intensity = clean_ms2_peaks(spectrum.mz, spectrum.intensity, spectrum.precursor_mz, **options)
    return spectrum.replace(mz=mz, intensity=intensity)


def clean_ms2_peaks(
    mz: np.ndarray,
    intensity: np.ndarray,
    precursor_mz: float | None,
    *,
    min_distance: Tolerance | str = "0.05 Da",
    min_mz: float | None = None,
    max_mz: float | None = None,
    precursor_removal_da: float | None = None,
    noise_threshold: float | None = 0.01,
    max_peaks: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`clean_ms2` on bare arrays (``precursor_mz`` None: no precursor removal); returns
    float32 ``(mz, intensity)``."""
    tol = Tolerance.parse(min_distance)
    upper = -1.0 if max_mz is None else float(max_mz)
    if precursor_removal_da is not None and precursor_mz is not None:
        cut = precursor_mz - precursor_removal_da
        upper = cut if upper <= 0 else min(upper, cut)
    return clean_peaks_f32(
        mz, intensity,
        np.float32(0.0 if min_mz is None else max(min_mz, 0.0)), np.float32(upper),
        np.float32(-1.0 if noise_threshold is None else noise_threshold),
        np.float32(tol.value), tol.unit == "ppm", -1 if max_peaks is None else int(max_peaks),
    )

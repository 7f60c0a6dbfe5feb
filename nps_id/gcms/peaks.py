"""Chromatographic peak detection on the TIC and on ion chromatograms.

Entry points
------------
- :func:`baseline` -- drift-robust baseline of one chromatogram or of every column of a matrix
  (moving-minimum "opening" followed by a moving average).
- :func:`noise_level` -- robust noise estimate (MAD of first differences).
- :func:`detect_peaks` -- peaks of a baseline-corrected chromatogram with S/N, height, area and
  retention-time limits, as :class:`ChromPeak` records.
- :class:`PeakParameters` -- the user-visible limits and their defaults.

Why a morphological baseline: a moving minimum followed by a moving maximum of the same width
(a grey-scale "opening", :mod:`scipy.ndimage`) removes every feature narrower than the window
while following the slow column-bleed rise of a temperature-programmed GC run; the moving average
afterwards smooths the staircase the opening leaves. It works on a whole scan x m/z matrix at once,
which asymmetric-least-squares baselines (one sparse solve per ion) do not.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage, signal

# 1.4826 * MAD estimates a Gaussian sigma; first differences of white noise have sigma * sqrt(2).
_MAD_TO_SIGMA = 1.4826 / np.sqrt(2.0)


@dataclass(frozen=True)
class PeakParameters:
    """Limits for peak detection (defaults suit capillary GC-EI full-scan runs).

    Attributes
    ----------
    min_snr : float
        Minimum apex height over the noise level (baseline-corrected TIC).
    min_height : float
        Minimum baseline-corrected apex height, in detector counts.
    min_area : float
        Minimum peak area, in counts x seconds.
    rt_min_minutes, rt_max_minutes : float or None
        Only peaks whose apex lies in this retention-time window (minutes).
    baseline_window_seconds : float
        Width of the moving-minimum baseline window; must exceed the widest peak.
    """

    min_snr: float = 10.0
    min_height: float = 0.0
    min_area: float = 0.0
    rt_min_minutes: float | None = None
    rt_max_minutes: float | None = None
    baseline_window_seconds: float = 30.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ChromPeak:
    """One chromatographic peak (scan indices are inclusive bounds into the run)."""

    apex: int
    left: int
    right: int
    rt_seconds: float
    height: float
    area: float
    snr: float


def window_scans(rt_seconds: np.ndarray, seconds: float) -> int:
    """Odd number of scans spanning ``seconds`` at the run's median scan interval (at least 3)."""
    if rt_seconds.size < 2:
        return 3
    step = float(np.median(np.diff(rt_seconds)))
    n = int(round(seconds / step)) if step > 0 else 3
    return max(3, n | 1)


def baseline(values: np.ndarray, width_scans: int) -> np.ndarray:
    """Baseline of a chromatogram (1-D) or of every column of a scans x ions matrix (2-D).

    Parameters
    ----------
    values
        Intensities; axis 0 is the scan axis.
    width_scans
        Window of the moving minimum/maximum in scans; features narrower than this are
        treated as peaks, wider ones as baseline.

    Returns
    -------
    numpy.ndarray
        Same shape as ``values``, never above it.
    """
    opened = ndimage.minimum_filter1d(values, width_scans, axis=0, mode="nearest")
    opened = ndimage.maximum_filter1d(opened, width_scans, axis=0, mode="nearest")
    smooth = ndimage.uniform_filter1d(opened, width_scans, axis=0, mode="nearest")
    return np.minimum(smooth, values)


def noise_level(corrected: np.ndarray, axis: int = 0) -> np.ndarray | float:
    """Robust noise (sigma) of baseline-corrected chromatograms along ``axis``.

    The median absolute first difference ignores the few scans that belong to peaks. Centroided
    runs with a detector threshold have many exact zeros; the estimate then falls back to the
    median of the non-zero differences so it never reports a noise of zero for a noisy trace.
    """
    diff = np.abs(np.diff(corrected, axis=axis))
    sigma = np.median(diff, axis=axis) * _MAD_TO_SIGMA
    if np.ndim(sigma) == 0:
        if sigma <= 0:
            nonzero = diff[diff > 0]
            sigma = float(np.median(nonzero)) * _MAD_TO_SIGMA if nonzero.size else 0.0
        return float(sigma)
    masked = np.where(diff > 0, diff, np.nan)
    with warnings.catch_warnings():  # an all-zero trace (ion never seen) has no fallback: 0
        warnings.simplefilter("ignore", RuntimeWarning)
        fallback = np.nanmedian(masked, axis=axis) * _MAD_TO_SIGMA if masked.size else sigma
    return np.where(sigma > 0, sigma, np.nan_to_num(fallback))


def peak_bounds(trace: np.ndarray, apex: int, max_half_width: int, floor_fraction: float = 0.02) -> tuple[int, int]:
    """Inclusive scan bounds of the peak at ``apex``: walk out while the trace keeps falling.

    Stops at a valley (the trace rises again), below ``floor_fraction`` of the apex height,
    or after ``max_half_width`` scans.
    """
    top = trace[apex]
    floor = top * floor_fraction
    left = apex
    lo = max(0, apex - max_half_width)
    while left > lo and trace[left - 1] <= trace[left] and trace[left] > floor:
        left -= 1
    right = apex
    hi = min(trace.size - 1, apex + max_half_width)
    while right < hi and trace[right + 1] <= trace[right] and trace[right] > floor:
        right += 1
    return left, right


def detect_peaks(
    corrected: np.ndarray,
    rt_seconds: np.ndarray,
    params: PeakParameters = PeakParameters(),
    *,
    noise: float | None = None,
    max_half_width_seconds: float = 6.0,
) -> list[ChromPeak]:
    """Peaks of a baseline-corrected chromatogram.

    Parameters
    ----------
    corrected
        Chromatogram minus :func:`baseline` (1-D, one value per scan).
    rt_seconds
        Scan retention times, seconds.
    params
        S/N, height, area and RT limits.
    noise
        Noise sigma; default :func:`noise_level` of ``corrected``.
    max_half_width_seconds
        Peak bounds never extend further than this from the apex.

    Returns
    -------
    list of ChromPeak
        In retention-time order.
    """
    sigma = noise_level(corrected) if noise is None else noise
    floor = max(params.min_height, params.min_snr * sigma)
    apexes, _ = signal.find_peaks(corrected, height=floor, prominence=max(floor / 2, 1e-12))
    half = window_scans(rt_seconds, max_half_width_seconds) // 2
    peaks: list[ChromPeak] = []
    for apex in apexes:
        rt = float(rt_seconds[apex])
        if not _in_window(rt, params):
            continue
        left, right = peak_bounds(corrected, int(apex), half)
        area = float(np.trapezoid(corrected[left : right + 1], rt_seconds[left : right + 1])) if right > left else 0.0
        if area < params.min_area:
            continue
        height = float(corrected[apex])
        peaks.append(ChromPeak(int(apex), left, right, rt, height, area, height / sigma if sigma > 0 else float("inf")))
    return peaks


def _in_window(rt_seconds: float, params: PeakParameters) -> bool:
    minutes = rt_seconds / 60.0
    if params.rt_min_minutes is not None and minutes < params.rt_min_minutes:
        return False
    return params.rt_max_minutes is None or minutes <= params.rt_max_minutes

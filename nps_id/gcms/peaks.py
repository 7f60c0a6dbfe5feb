"""Chromatographic peak detection on the TIC and on ion chromatograms.

Entry points
------------
- :func:`baseline` -- drift-robust baseline of one chromatogram or of every column of a matrix
  (moving-minimum "opening" followed by a moving average).
- :func:`noise_level` -- robust noise estimate (MAD of first differences).
- :func:`detect_peaks` -- peaks of a baseline-corrected chromatogram with S/N, height, area and
  retention-time limits, as :class:`ChromPeak` records.
- :class:`PeakParameters` -- the user-visible limits and their defaults.
- :func:`valley_ratio` -- how far a chromatogram falls between two apexes (one peak or two).
- :func:`find_apexes` -- local maxima with a height and prominence floor (the subset of
  ``scipy.signal.find_peaks`` this module needs).

Why a morphological baseline: a moving minimum followed by a moving maximum of the same width
(a grey-scale "opening", :mod:`scipy.ndimage`) removes every feature narrower than the window
while following the slow column-bleed rise of a temperature-programmed GC run; the moving average
afterwards smooths the staircase the opening leaves. It works on a whole scan x m/z matrix at once,
which asymmetric-least-squares baselines (one sparse solve per ion) do not.

Why not ``scipy.signal.find_peaks``: importing :mod:`scipy.signal` pulls in :mod:`scipy.stats`
and costs ~1 s, more than the whole analysis of a run (``nps-id match`` has a 3 s budget per
run); :func:`find_apexes` computes the same local maxima and prominences (scipy's definition,
with a search window) in a few lines of NumPy, and the tests check it against scipy.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

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
        Only peaks whose apex (LC-MS/MS: scan groups whose median time) lies in this
        retention-time window (minutes). An infinite bound is stored as None (no bound): ``-inf``
        to ``inf`` is the whole run, which keeps LC-MS/MS scan groups without a time (any real
        window leaves them out), and the results JSON holds no ``Infinity``.
    baseline_window_seconds : float
        Width of the moving-minimum baseline window; must exceed the widest peak.
    """

    min_snr: float = 10.0
    min_height: float = 0.0
    min_area: float = 0.0
    rt_min_minutes: float | None = None
    rt_max_minutes: float | None = None
    baseline_window_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.rt_min_minutes == -math.inf:
            object.__setattr__(self, "rt_min_minutes", None)
        if self.rt_max_minutes == math.inf:
            object.__setattr__(self, "rt_max_minutes", None)

    def to_dict(self) -> dict:
        return asdict(self)

    def in_rt_window(self, rt_seconds: float) -> bool:
        """Whether a peak (or an LC-MS/MS scan group) at ``rt_seconds`` lies in the RT window."""
        minutes = rt_seconds / 60.0
        if self.rt_min_minutes is not None and minutes < self.rt_min_minutes:
            return False
        return self.rt_max_minutes is None or minutes <= self.rt_max_minutes


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
    half = window_scans(rt_seconds, max_half_width_seconds) // 2
    apexes = find_apexes(corrected, height=floor, prominence=floor / 2, window=4 * half + 1)
    peaks: list[ChromPeak] = []
    for apex in apexes:
        rt = float(rt_seconds[apex])
        if not params.in_rt_window(rt):
            continue
        left, right = peak_bounds(corrected, int(apex), half)
        area = float(np.trapezoid(corrected[left : right + 1], rt_seconds[left : right + 1])) if right > left else 0.0
        if area < params.min_area:
            continue
        height = float(corrected[apex])
        peaks.append(ChromPeak(int(apex), left, right, rt, height, area, height / sigma if sigma > 0 else float("inf")))
    return peaks


def valley_ratio(trace: np.ndarray, apex_a: int, apex_b: int) -> float:
    """The lowest point of ``trace`` between two apexes over the lower apex (0 to 1).

    1.0: the trace never dips between them -- one side is a shoulder, a tail or the split top of
    one peak (an overloaded column); near 0: two baseline-separated peaks. Two Gaussians of equal
    height give ~0.64 at a resolution of 0.75 and ~0.27 at a resolution of 1.
    """
    lo, hi = sorted((int(apex_a), int(apex_b)))
    lower = min(float(trace[apex_a]), float(trace[apex_b]))
    if lower <= 0:
        return 0.0
    return max(0.0, min(1.0, float(trace[lo : hi + 1].min()) / lower))


def find_apexes(values: np.ndarray, height: float, prominence: float, window: int) -> np.ndarray:
    """Indices of local maxima at least ``height`` high and ``prominence`` prominent.

    Prominence follows ``scipy.signal.find_peaks`` with ``wlen=window``: from the apex, walk
    each way (at most ``window // 2`` samples) until a higher sample; the higher of the two
    lowest points passed is the peak's base. A flat top counts once, at its middle (as scipy).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size < 3:
        return np.empty(0, dtype=np.int64)
    rising = np.diff(x) > 0
    falling = np.diff(x) < 0
    # Plateaus: carry "last strict change was a rise" forward across equal samples.
    change = np.where(rising, 1, np.where(falling, -1, 0))
    idx = np.where(change != 0, np.arange(change.size), 0)
    np.maximum.accumulate(idx, out=idx)
    last = change[idx]
    candidates = np.flatnonzero((last[:-1] == 1) & (change[1:] == -1)) + 1
    # A plateau is reported at its middle (rounded down): walk back to its left edge.
    starts = candidates.copy()
    while True:
        flat = (starts > 0) & (x[starts - 1] == x[starts])
        if not flat.any():
            break
        starts[flat] -= 1
    candidates = (starts + candidates) // 2
    candidates = candidates[x[candidates] >= height]
    half = max(1, window // 2)
    keep = [p for p in candidates if _prominence(x, int(p), half) >= prominence]
    return np.asarray(keep, dtype=np.int64)


def _prominence(x: np.ndarray, peak: int, half: int) -> float:
    top = x[peak]
    left = x[max(0, peak - half) : peak][::-1]
    higher = np.flatnonzero(left > top)
    left_min = left[: higher[0]].min(initial=top) if higher.size else left.min(initial=top)
    right = x[peak + 1 : peak + 1 + half]
    higher = np.flatnonzero(right > top)
    right_min = right[: higher[0]].min(initial=top) if higher.size else right.min(initial=top)
    return float(top - max(left_min, right_min))

"""Component extraction from a GC-MS run, in the spirit of AMDIS model-peak deconvolution.

A *component* is one compound eluting from the column: the ions whose chromatograms rise and
fall together. Co-eluting compounds and column bleed (m/z 73, 207, 281, ...) share scans with it
but not its chromatographic shape, so they are left out of its spectrum.

Entry points
------------
- :func:`extract_components` -- a :class:`~nps_id.gcms.run.Run` -> list of :class:`Component`.
- :func:`subtract_blank` -- drop components that a blank run (same method) also shows
  (:class:`BlankMatch` says which blank component explained each).
- :class:`DeconvolutionParameters` -- shape/apex limits and their defaults.

Algorithm (numbered steps match ``# Step n`` comments in :func:`extract_components`):

1. Baseline-correct every ion chromatogram (:func:`nps_id.gcms.peaks.baseline`: a moving-minimum
   background from the neighbourhood of each peak) and smooth it over three scans.
2. Estimate each ion's noise, and the noise of the corrected TIC.
3. Seeds: peaks of the corrected TIC, plus peaks of the *apex signal* -- at every scan, the summed
   abundance of the ions that have a local maximum there. The apex signal separates compounds
   whose TIC peaks merge, because each compound's ions peak at its own scan.
4. For each seed, the *model ion*: of the ions peaking within one scan of the seed, the one with
   the largest abundance x sharpness (sharpness = relative drop two scans either side of the
   apex; bleed and co-eluting shoulders are flat there). Its chromatogram is the model peak.
5. Peak window: walk out from the model apex while the model trace falls.
6. Each ion in the window is kept when its chromatogram correlates with the model peak
   (Pearson r >= ``min_shape_correlation``) and peaks within ``max_apex_shift_scans`` of it; its
   abundance is the least-squares scale of the model peak to the ion trace. (An ion shared with
   a co-eluting compound follows neither model alone; step 8 splits it.)
7. Components with fewer than ``min_ions`` ions, or below the S/N, height, area or RT limits,
   are dropped; two seeds that found the same model apex give one component.
8. Components whose windows overlap are re-extracted together: each ion trace is fitted as a
   non-negative sum of their model peaks, so an ion shared by co-eluting compounds is split
   between them by shape (the AMDIS idea). An ion is kept where the fit follows the trace
   (r >= ``min_shape_correlation``) and the trace minus the neighbours' parts still peaks at
   the component's apex (so a neighbour's tail is not taken for a compound).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Collection, NamedTuple

import numpy as np
from scipy import ndimage

from nps_id.gcms.peaks import ChromPeak, PeakParameters, baseline, detect_peaks, noise_level, peak_bounds, window_scans
from nps_id.gcms.run import Run
from nps_id.spectrum import Spectrum


@dataclass(frozen=True)
class DeconvolutionParameters:
    """Limits of component extraction.

    Attributes
    ----------
    min_shape_correlation : float
        Minimum Pearson correlation between an ion chromatogram and the model peak.
    max_apex_shift_scans : int
        An ion must peak within this many scans of the model peak.
    min_ions : int
        Components with fewer ions are dropped.
    ion_snr : float
        An ion's abundance must exceed this multiple of its own noise.
    max_half_width_seconds : float
        A component spans at most this far either side of its apex.
    split_peak_min_valley : float
        Two components with the same best hit are one peak (a split top, shoulder or tail of an
        overloaded or tailing peak) when the baseline-corrected TIC between their apexes never
        falls below this fraction of the lower apex (:func:`nps_id.gcms.peaks.valley_ratio`).
    """

    min_shape_correlation: float = 0.8
    max_apex_shift_scans: int = 2
    min_ions: int = 4
    ion_snr: float = 3.0
    max_half_width_seconds: float = 6.0
    split_peak_min_valley: float = 0.8

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Component(ChromPeak):
    """One deconvoluted compound: a :class:`~nps_id.gcms.peaks.ChromPeak` plus its spectrum.

    Attributes
    ----------
    apex, left, right : int
        Scan indices of the model-peak apex and the inclusive window.
    rt_seconds : float
        Retention time of the apex, seconds.
    height : float
        Summed abundance of the component's ions at the apex (counts).
    area : float
        Summed area of the component's ions, counts x seconds.
    snr : float
        ``height`` over the noise of the baseline-corrected TIC.
    model_mz : int
        Nominal m/z of the model ion.
    mz, intensity : arrays
        The extracted spectrum (nominal m/z, abundance).
    """

    model_mz: int
    mz: np.ndarray
    intensity: np.ndarray

    @property
    def rt_minutes(self) -> float:
        return self.rt_seconds / 60.0

    def spectrum(self, **metadata) -> Spectrum:
        """The extracted spectrum as a :class:`Spectrum` (retention time attached)."""
        return Spectrum(self.mz, self.intensity, {"retention_time": self.rt_seconds, "ms_level": 1, **metadata})

    def summary(self) -> dict:
        """JSON-ready summary (no spectrum)."""
        return {
            "rt_min": round(self.rt_minutes, 4),
            "scan": self.apex,
            "scan_range": [self.left, self.right],
            "height": round(self.height, 1),
            "area": round(self.area, 1),
            "snr": round(self.snr, 1),
            "model_mz": self.model_mz,
            "n_ions": int(self.mz.size),
        }


def extract_components(
    run: Run,
    peak_params: PeakParameters = PeakParameters(),
    params: DeconvolutionParameters = DeconvolutionParameters(),
) -> list[Component]:
    """Deconvolute ``run`` into components, in retention-time order.

    Parameters
    ----------
    run
        The run (scans x nominal m/z).
    peak_params
        S/N, height, area, RT window and baseline width.
    params
        Shape and apex limits of deconvolution.
    """
    rt = run.rt_seconds
    if run.n_scans < 5:
        return []
    # Step 1: baseline-corrected, lightly smoothed ion chromatograms.
    width = window_scans(rt, peak_params.baseline_window_seconds)
    corrected = run.intensity - baseline(run.intensity, width)
    smooth = ndimage.uniform_filter1d(corrected, 3, axis=0, mode="nearest")
    # Step 2: noise per ion and of the corrected TIC.
    ion_noise = np.maximum(noise_level(corrected, axis=0), 1e-6)
    tic = corrected.sum(axis=1, dtype=np.float64)
    tic_noise = max(float(noise_level(tic)), 1e-6)
    # Step 3: seeds from the TIC and from the apex signal.
    apex_mask = _ion_apexes(smooth, ion_noise * params.ion_snr)
    apex_signal = np.where(apex_mask, smooth, 0.0).sum(axis=1, dtype=np.float64)
    apex_signal = ndimage.uniform_filter1d(apex_signal, 3, mode="nearest") * 3.0
    seed_params = PeakParameters(min_snr=peak_params.min_snr, rt_min_minutes=peak_params.rt_min_minutes,
                                 rt_max_minutes=peak_params.rt_max_minutes)
    seeds = {p.apex for p in detect_peaks(tic, rt, seed_params, noise=tic_noise)}
    seeds |= {p.apex for p in detect_peaks(apex_signal, rt, seed_params, noise=tic_noise)}
    half = window_scans(rt, params.max_half_width_seconds) // 2
    mz_axis = run.mz_axis
    found: dict[int, Component] = {}
    for seed in sorted(seeds):
        component = _component_at(seed, smooth, apex_mask, ion_noise, rt, mz_axis, half, params, tic_noise)
        if component is None or not _passes(component, peak_params, params):
            continue
        kept = found.get(component.apex)
        if kept is None or component.height > kept.height:
            found[component.apex] = component
    components = [found[k] for k in sorted(found)]
    # Step 8: overlapping components share their ions by a joint fit of their model peaks.
    split: list[Component] = []
    for cluster in _overlapping(components):
        if 1 < len(cluster) <= _MAX_JOINT:
            cluster = _joint_fit(cluster, smooth, ion_noise, rt, mz_axis, run.mz_min, params, tic_noise)
        split.extend(c for c in cluster if _passes(c, peak_params, params))
    return split


#: Largest number of overlapping components fitted jointly (all 2**k - 1 subsets are tried).
_MAX_JOINT = 4


def _overlapping(components: list[Component]) -> list[list[Component]]:
    """Group components (in RT order) whose scan windows overlap, transitively."""
    clusters: list[list[Component]] = []
    for component in components:
        if clusters and component.left <= max(c.right for c in clusters[-1]):
            clusters[-1].append(component)
        else:
            clusters.append([component])
    return clusters


def _joint_fit(cluster, smooth, ion_noise, rt, mz_axis, mz_min, params, tic_noise) -> list[Component]:
    """Re-extract overlapping components together: every ion trace is fitted as a non-negative
    sum of the components' model peaks (exact NNLS by trying every subset of the few models),
    so an ion shared by co-eluting compounds is split between them by its shape."""
    lo, hi = min(c.left for c in cluster), max(c.right for c in cluster)
    n, k = hi - lo + 1, len(cluster)
    models = np.zeros((n, k))
    for i, c in enumerate(cluster):
        # Each model peak runs as far as its model ion keeps falling inside the cluster, not
        # just over its own window: a neighbour's tail must be fitted by the neighbour.
        column = smooth[:, c.model_mz - mz_min]
        left, right = peak_bounds(column, c.apex, n)
        left, right = max(lo, min(left, c.left)), min(hi, max(right, c.right))
        trace = column[left : right + 1]
        models[left - lo : right - lo + 1, i] = trace / max(float(column[c.apex]), 1e-12)
    observed = smooth[lo : hi + 1].astype(np.float64)
    coef = np.zeros((k, observed.shape[1]))
    best = np.full(observed.shape[1], np.inf)
    for mask in range(1, 2**k):
        subset = [i for i in range(k) if mask >> i & 1]
        fit, *_ = np.linalg.lstsq(models[:, subset], observed, rcond=None)
        residual = ((observed - models[:, subset] @ fit) ** 2).sum(axis=0)
        better = (fit >= 0).all(axis=0) & (residual < best)
        best[better] = residual[better]
        coef[:, better] = 0.0
        coef[np.ix_(subset, np.flatnonzero(better))] = fit[:, better]
    fitted = models @ coef
    corr = _column_correlation(observed, fitted)
    out = []
    for i, c in enumerate(cluster):
        # What is left of each trace once the other components' parts are removed must still
        # peak at this component's apex, above both ends of its window: the tail of a
        # neighbour, which a truncated model peak fits badly, decreases through it instead.
        own = (observed - fitted + np.outer(models[:, i], coef[i]))[c.left - lo : c.right - lo + 1]
        own_apex = np.argmax(own, axis=0) + c.left
        rises_and_falls = own[c.apex - c.left] > np.maximum(own[0], own[-1]) + ion_noise
        keep = (coef[i] > params.ion_snr * ion_noise) & (corr >= params.min_shape_correlation)
        keep &= (np.abs(own_apex - c.apex) <= params.max_apex_shift_scans) & rises_and_falls
        keep[c.model_mz - mz_min] = True
        idx = np.flatnonzero(keep)
        intensity = coef[i, idx].astype(np.float32)
        height = float(intensity.sum())
        area = float(coef[i, idx].sum()) * float(np.trapezoid(models[:, i], rt[lo : hi + 1]))
        out.append(Component(c.apex, c.left, c.right, c.rt_seconds, height, area, height / tic_noise,
                             c.model_mz, mz_axis[idx].astype(np.float64), intensity))
    return out


def _column_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``a`` with the same column of ``b`` (0 if flat)."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denom = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=0) / denom, 0.0)


def _ion_apexes(smooth: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Boolean scans x ions mask: a local maximum (ties to the left) above ``threshold``."""
    mask = np.zeros(smooth.shape, dtype=bool)
    inner = smooth[1:-1]
    mask[1:-1] = (inner > smooth[:-2]) & (inner >= smooth[2:]) & (inner > threshold)
    return mask


def _component_at(seed, smooth, apex_mask, ion_noise, rt, mz_axis, half, params, tic_noise) -> Component | None:
    n_scans = smooth.shape[0]
    shift = params.max_apex_shift_scans
    # Step 4: model ion -- abundant and sharp, peaking within one scan of the seed.
    lo, hi = max(1, seed - 1), min(n_scans - 1, seed + 2)
    scans, ions = np.nonzero(apex_mask[lo:hi])
    if ions.size == 0:
        return None
    scans = scans + lo
    top = smooth[scans, ions]
    side = np.maximum(smooth[np.clip(scans - 2, 0, n_scans - 1), ions], smooth[np.clip(scans + 2, 0, n_scans - 1), ions])
    sharpness = np.clip((top - side) / np.maximum(top, 1e-12), 0.0, 1.0)
    best = int(np.argmax(top * sharpness**2))
    apex, model_ion = int(scans[best]), int(ions[best])
    # Step 5: the window of the model peak (at least +-3 scans so correlations mean something).
    left, right = peak_bounds(smooth[:, model_ion], apex, half)
    left, right = max(0, min(left, apex - 3)), min(n_scans - 1, max(right, apex + 3))
    window = smooth[left : right + 1]
    model = window[:, model_ion]
    # Step 6: ions that share the model's shape and apex; abundance = least-squares scale.
    centred = window - window.mean(axis=0)
    model_c = model - model.mean()
    denom = np.sqrt((centred**2).sum(axis=0) * float((model_c**2).sum()))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denom > 0, (centred * model_c[:, None]).sum(axis=0) / denom, 0.0)
    scale = window.T @ model / float(model @ model)
    abundance = scale * model[apex - left]
    ion_apex = np.argmax(window, axis=0) + left
    keep = (corr >= params.min_shape_correlation) & (np.abs(ion_apex - apex) <= shift)
    keep &= abundance > params.ion_snr * ion_noise
    keep[model_ion] = True
    idx = np.flatnonzero(keep)
    intensity = abundance[idx].astype(np.float32)
    height = float(intensity.sum())
    model_area = float(np.trapezoid(model, rt[left : right + 1]))
    area = float(scale[idx].sum()) * model_area
    return Component(apex, left, right, float(rt[apex]), height, area, height / tic_noise,
                     int(mz_axis[model_ion]), mz_axis[idx].astype(np.float64), intensity)


def _passes(component: Component, peak_params: PeakParameters, params: DeconvolutionParameters) -> bool:
    return (
        component.mz.size >= params.min_ions
        and component.snr >= peak_params.min_snr
        and component.height >= peak_params.min_height
        and component.area >= peak_params.min_area
        and peak_params.in_rt_window(component.rt_seconds)
    )


class BlankMatch(NamedTuple):
    """A sample component attributed to the blank: the blank component that explains it and the
    cosine similarity of their spectra."""

    component: Component
    blank: Component
    similarity: float


def subtract_blank(
    components: list[Component],
    blank: list[Component],
    *,
    rt_tolerance_seconds: float = 6.0,
    min_similarity: float = 0.9,
    min_ratio: float = 3.0,
    protected: Collection[int] = (),
) -> tuple[list[Component], list[BlankMatch]]:
    """Remove components that the blank run shows too.

    A sample component is attributed to the blank when a blank component elutes within
    ``rt_tolerance_seconds``, has a spectrum with cosine similarity >= ``min_similarity``, and the
    sample component is less than ``min_ratio`` times as high (a real analyte well above the
    carry-over level is kept). Components whose index is in ``protected`` are never removed:
    an internal standard is in the blank on purpose.

    Returns
    -------
    (kept, removed)
        ``kept`` in the input order; ``removed`` says which blank component explained each
        dropped one.
    """
    kept: list[Component] = []
    removed: list[BlankMatch] = []
    for i, component in enumerate(components):
        match = None
        if i not in protected:
            match = next(
                (
                    BlankMatch(component, b, similarity)
                    for b in blank
                    if abs(b.rt_seconds - component.rt_seconds) <= rt_tolerance_seconds
                    and (similarity := _cosine(component, b)) >= min_similarity
                    and component.height < min_ratio * b.height
                ),
                None,
            )
        if match is None:
            kept.append(component)
        else:
            removed.append(match)
    return kept, removed


def _cosine(a: Component, b: Component) -> float:
    """Plain cosine of two nominal-mass spectra (sqrt intensities)."""
    size = int(max(a.mz.max(), b.mz.max())) + 1
    va, vb = np.zeros(size), np.zeros(size)
    va[a.mz.astype(int)] = np.sqrt(a.intensity)
    vb[b.mz.astype(int)] = np.sqrt(b.intensity)
    norm = np.linalg.norm(va) * np.linalg.norm(vb)
    return float(va @ vb / norm) if norm > 0 else 0.0

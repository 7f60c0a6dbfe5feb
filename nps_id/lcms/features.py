"""LC-HRMS MS1 evidence: adducts, exact-mass ion chromatograms, precursor peaks, isotope patterns.

An MS/MS spectrum names a compound; the survey (MS1) scans say whether its precursor is a real
chromatographic peak, how far its exact mass is from the candidate's ion, and whether its isotope
pattern fits the candidate's formula.

Entry points
------------
- :data:`ADDUCTS`, :func:`adduct_named` -- ion types ([M+H]+, [M+Na]+, in-source losses, ...) and
  their mass shifts; :func:`ion_mz` -- the m/z of a neutral mass as one of them.
- :func:`xic` -- exact-mass extracted-ion chromatogram from a run's centroids.
- :func:`ms1_feature` -- the XIC peak a precursor was fragmented on (:class:`Feature`: apex RT,
  bounds, area, FWHM, measured m/z).
- :func:`isotope_pattern` -- measured M+1/M+2 against the formula's (Cl/Br clusters included).
- :func:`ppm_error` -- exact-mass error in ppm; :func:`formula_mass` -- monoisotopic mass of a formula.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from nps_id.chem.formula import element_counts, monoisotopic_mass
from nps_id.peaks import CSRPeaks

PROTON = 1.007276
_H2O, _NH3 = 18.010565, 17.026549
#: Isotope spacings (Da, singly charged): 13C - 12C, and 37Cl - 35Cl / 81Br - 79Br.
C13_SPACING, CL_BR_SPACING = 1.003355, 1.99705


@dataclass(frozen=True)
class Adduct:
    """An ion type: ``mz = (n_molecules * M + shift) / |charge|``; ``atoms`` are those the ion
    adds to the formula (for its isotope pattern)."""

    name: str
    shift: float
    charge: int
    atoms: str = ""
    in_source_loss: bool = False


#: The ion types recognised for LC-ESI precursors (shifts from the electron-corrected atomic masses).
ADDUCTS: tuple[Adduct, ...] = (
    Adduct("[M+H]+", PROTON, 1, "H"),
    Adduct("[M+Na]+", 22.989218, 1, "Na"),
    Adduct("[M+NH4]+", 18.033823, 1, "NH4"),
    Adduct("[M+K]+", 38.963158, 1, "K"),
    Adduct("[M+H-H2O]+", PROTON - _H2O, 1, "", True),
    Adduct("[M+H-NH3]+", PROTON - _NH3, 1, "", True),
    Adduct("[M]+", -0.000549, 1),
    Adduct("[M-H]-", -PROTON, -1),
    Adduct("[M+HCOO]-", 44.998201, -1, "CHO2"),
    Adduct("[M-H-H2O]-", -PROTON - _H2O, -1, "", True),
)
_BY_NAME = {a.name.replace(" ", ""): a for a in ADDUCTS}


def adduct_named(label: str | None) -> Adduct | None:
    """The :class:`Adduct` of a library ``precursor_type`` label ("[M+H]+", "M+H", "[M+Na]+"), or None."""
    text = (label or "").replace(" ", "")
    if not text:
        return None
    if not text.startswith("["):
        text = f"[{text}]" + ("-" if text.endswith("-") else "+")
        text = text.replace("-]-", "]-").replace("+]+", "]+")
    return _BY_NAME.get(text)


def adducts_for(polarity: str) -> tuple[Adduct, ...]:
    """The ion types of one polarity ("positive" / "negative")."""
    sign = -1 if polarity.startswith("neg") else 1
    return tuple(a for a in ADDUCTS if a.charge * sign > 0)


def ion_mz(neutral_mass: float, adduct: Adduct) -> float:
    return (neutral_mass + adduct.shift) / abs(adduct.charge)


def ppm_error(measured: float, theoretical: float) -> float:
    return (measured - theoretical) / theoretical * 1e6


def formula_mass(formula: str | None) -> float | None:
    """:func:`nps_id.chem.formula.monoisotopic_mass` of a candidate's formula. Library
    ``exact_mass`` fields are not always monoisotopic (a MassBank butyryl carnitine record gives
    the average mass, -624 ppm): the formula is the check."""
    return monoisotopic_mass(formula)


def xic(centroids: CSRPeaks, mz: float, tolerance_ppm: float) -> tuple[np.ndarray, np.ndarray]:
    """Per scan: the summed intensity of centroids within ``tolerance_ppm`` of ``mz``, and their
    intensity-weighted m/z (NaN where none)."""
    half = mz * tolerance_ppm * 1e-6
    inside = np.abs(centroids.mz - mz) <= half
    # the scans of the few peaks inside (not a run-sized scan index rebuilt on every call)
    scan = np.searchsorted(centroids.offsets, np.flatnonzero(inside), side="right") - 1
    weight = centroids.intensity[inside].astype(np.float64)
    n = centroids.n_spectra
    total = np.bincount(scan, weights=weight, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_mz = np.bincount(scan, weights=weight * centroids.mz[inside], minlength=n) / total
    return total, np.where(total > 0, mean_mz, np.nan)


@dataclass(frozen=True)
class Feature:
    """The MS1 peak of a precursor: where it elutes and how it was measured.

    ``mz`` is the intensity-weighted m/z over the peak's flanks (scans at or below half its
    height; the whole peak when it has none): a saturated TOF detector shifts the apex mass
    (TripleTOF slice: +19 ppm at a fenamiphos apex, < 1 ppm on its flanks);
    ``n_points`` the MS1 scans with signal between the bounds; ``fwhm_seconds`` the width at half
    height (a tailing or truncated peak shows as few points or a wide peak)."""

    mz: float
    apex_rt_seconds: float
    left_rt_seconds: float
    right_rt_seconds: float
    height: float
    area: float
    fwhm_seconds: float
    n_points: int
    apex_scan: int
    #: The XIC around the peak (bounds widened by half the peak's span each side) for a plot:
    #: (RT seconds, intensity) per MS1 scan.
    xic: tuple[tuple[float, ...], tuple[float, ...]] = field(default=((), ()), compare=False, repr=False)

    def overlaps(self, other: "Feature") -> bool:
        """One chromatographic peak: either apex lies within the other's bounds."""
        return (other.left_rt_seconds <= self.apex_rt_seconds <= other.right_rt_seconds
                or self.left_rt_seconds <= other.apex_rt_seconds <= self.right_rt_seconds)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "xic"}
        out = {k: round(v, 5 if k == "mz" else 1) if isinstance(v, float) else v for k, v in out.items()}
        return {**out, "apex_rt_min": round(self.apex_rt_seconds / 60, 4)}

    def xic_dict(self, tolerance_ppm: float) -> dict[str, Any]:
        """The plotted XIC: ``{"rt_min": [...], "intensity": [...], "tolerance_ppm": ...}``."""
        rts, heights = self.xic
        return {"rt_min": [round(t / 60, 4) for t in rts], "intensity": [round(h, 1) for h in heights],
                "tolerance_ppm": tolerance_ppm}


#: MS1 scans with signal a chromatographic peak needs (fewer: noise, or a run too short to show one).
MIN_PEAK_POINTS = 3


def ms1_feature(centroids: CSRPeaks, rt_seconds: np.ndarray, mz: float, at_rt_seconds: float,
                tolerance_ppm: float = 10.0, min_points: int = MIN_PEAK_POINTS, edge: float = 0.05) -> Feature | None:
    """The XIC peak of ``mz`` that holds ``at_rt_seconds`` (an MS2 trigger), or None.

    The peak's apex is the highest point of the run of scans with signal around the trigger (the
    nearest scan, or one of its neighbours when the trigger fell between two MS1 scans); its
    bounds are where the trace falls below ``edge`` of the apex or to zero. Fewer than
    ``min_points`` scans with signal is no feature (noise, or a precursor below the MS1 floor).
    """
    trace, trace_mz = xic(centroids, mz, tolerance_ppm)
    if trace.size < min_points or not trace.any():  # e.g. a run with one MS1 scan: no peak to see
        return None
    k = int(np.clip(np.searchsorted(rt_seconds, at_rt_seconds), 0, trace.size - 1))
    near = [j for j in (k, k - 1, k + 1, k - 2, k + 2) if 0 <= j < trace.size and trace[j] > 0]
    if not near:
        return None
    apex = near[0]
    while True:  # climb to the local apex
        step = max((j for j in (apex - 1, apex + 1) if 0 <= j < trace.size), key=lambda j: trace[j])
        if trace[step] <= trace[apex]:
            break
        apex = step
    floor = edge * trace[apex]
    left = apex
    while left > 0 and trace[left - 1] > floor and trace[left - 1] <= trace[left] * 1.5:
        left -= 1
    right = apex
    while right < trace.size - 1 and trace[right + 1] > floor and trace[right + 1] <= trace[right] * 1.5:
        right += 1
    points = np.arange(left, right + 1)
    if int((trace[points] > 0).sum()) < min_points:
        return None
    top = points[trace[points] >= 0.5 * trace[apex]]
    signal = points[(trace[points] > 0) & (trace[points] <= 0.5 * trace[apex])]
    signal = signal if signal.size else points[trace[points] > 0]
    measured = float(np.average(trace_mz[signal], weights=trace[signal]))
    rts = rt_seconds[points]
    area = float(np.trapezoid(trace[points], rts)) if points.size > 1 else 0.0
    margin = max((right - left) // 2, 2)
    shown = slice(max(left - margin, 0), min(right + margin + 1, trace.size))
    return Feature(measured, float(rt_seconds[apex]), float(rts[0]), float(rts[-1]), float(trace[apex]), area,
                   float(rt_seconds[top[-1]] - rt_seconds[top[0]]), int((trace[points] > 0).sum()), apex,
                   (tuple(float(t) for t in rt_seconds[shown]), tuple(float(h) for h in trace[shown])))


#: Heavy-isotope abundance relative to the lightest, per atom: (+1, +2) mass units.
_HEAVY = {"C": (0.01082, 0.0), "H": (0.000115, 0.0), "N": (0.00366, 0.0), "O": (0.00038, 0.00205),
          "S": (0.0080, 0.0452), "Si": (0.0508, 0.0335), "Cl": (0.0, 0.3199), "Br": (0.0, 0.9728),
          "K": (0.0, 0.0722)}


def isotope_pattern(centroids: CSRPeaks, feature: Feature, formula: str | None, adduct: Adduct,
                    tolerance_ppm: float = 10.0) -> dict[str, Any] | None:
    """M+1 and M+2 of the precursor ion, measured (summed over the feature's top scans) against
    those its formula predicts; ``halogens`` names a Cl/Br cluster the formula implies. None when
    the formula is unknown or not a plain formula."""
    counts = element_counts(formula)
    if counts is None:
        return None
    for element, number in (element_counts(adduct.atoms) or {}).items():
        counts[element] = counts.get(element, 0) + number
    m1 = sum(n * _HEAVY.get(e, (0.0, 0.0))[0] for e, n in counts.items())
    m2 = sum(n * _HEAVY.get(e, (0.0, 0.0))[1] for e, n in counts.items()) + m1 ** 2 / 2
    spacing = C13_SPACING / abs(adduct.charge)
    # only the peaks of the apex scan and its neighbours (not three run-wide XICs per finding)
    first, last = max(feature.apex_scan - 1, 0), min(feature.apex_scan + 2, centroids.n_spectra)
    lo, hi = centroids.offsets[first], centroids.offsets[last]
    mz, intensity = centroids.mz[lo:hi], centroids.intensity[lo:hi].astype(np.float64)

    def summed(target: float) -> float:
        return float(intensity[np.abs(mz - target) <= target * tolerance_ppm * 1e-6].sum())

    mono = summed(feature.mz)
    plus_two = CL_BR_SPACING if counts.get("Cl") or counts.get("Br") else 2 * spacing  # 37Cl/81Br spacing
    measured = [summed(feature.mz + d) / mono if mono > 0 else None for d in (spacing, plus_two)]
    halogens = "".join(f"{e}{counts[e] if counts[e] > 1 else ''}" for e in ("Cl", "Br") if counts.get(e))
    return {"m1_expected": round(m1, 3), "m1_measured": None if measured[0] is None else round(measured[0], 3),
            "m2_expected": round(m2, 3), "m2_measured": None if measured[1] is None else round(measured[1], 3),
            "halogens": halogens or None}

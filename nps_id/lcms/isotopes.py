"""DDA precursors that are another precursor's 13C isotope peak (M+1), not a second compound.

A data-dependent run fragments the most intense MS1 ions; an abundant compound's M+1 (one 13C
atom) is often picked as well, a moment before or after its monoisotopic ion. Searched on its own,
it is a second "compound" 1 Da heavier (pesticide slice: a phosphocholine at 542.32 and its M+1 at
543.33, 0.9 s apart, were two suspected new substances). A careful chemist reads such a precursor
as the isotope peak of the co-eluting one when all of these hold:

1. both precursors have an MS1 peak, the heavier one at +1.00336/z of the lighter one's measured
   m/z within the run's precursor tolerance;
2. their apexes are within :data:`APEX_SECONDS`, or a quarter of the lighter one's FWHM when that
   is more (one elution; a broad HILIC peak's flat top moves its apex: betaine's M+1 at 6.8 s
   on a 131-s-wide peak);
3. the heavier one's MS1 signal, summed over the lighter one's peak, is below the lighter one's and
   no more than a molecule of that mass could carry in 13C (:func:`max_c13_ratio`);
4. its MS/MS shares a fragment (>= :data:`FRAGMENT_LEVEL` of base on both sides) with the lighter
   one's, at the same m/z or 1.00336 heavier (the fragment that kept the 13C) -- two co-eluting
   compounds 1 Da apart with unrelated MS/MS stay two compounds.

Entry points: :func:`isotope_precursors` (groups and their MS1 features -> {M+1 group:
:class:`IsotopePrecursor`}), :func:`max_c13_ratio`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from nps_id.lcms.features import C13_SPACING, Feature, xic
from nps_id.lcms.groups import MS2Group
from nps_id.peaks import CSRPeaks
from nps_id.tolerance import Tolerance

#: Largest apex-to-apex distance (s) of an isotope peak and its monoisotopic ion: the same elution
#: (a few MS1 cycles; TripleTOF slice 0.9 s per cycle, Q Exactive run 0.4 s).
APEX_SECONDS = 3.0
#: 13C abundance relative to 12C, per carbon atom.
C13_PER_CARBON = 0.01082
#: Headroom over the all-carbon bound for measurement error on small isotope peaks.
RATIO_MARGIN = 1.3
#: Share of its spectrum's base peak a fragment needs to count as shared.
FRAGMENT_LEVEL = 0.05


@dataclass(frozen=True)
class IsotopePrecursor:
    """An MS/MS group whose precursor is the M+1 of group ``monoisotopic`` (indices into the groups)."""

    component: int
    monoisotopic: int
    mz: float  #: measured m/z of the M+1 (its MS1 peak)
    mass_error_ppm: float  #: against the monoisotopic's measured m/z + 1.00336/z
    apex_delta_seconds: float
    ms1_ratio: float  #: M+1 / M, summed over the monoisotopic's MS1 peak
    max_ratio: float  #: :func:`max_c13_ratio` of the monoisotopic ion
    shared_fragments: tuple[float, ...]  #: the M+1's fragments also in the monoisotopic's MS/MS

    def to_dict(self, rt_min: float | None, n_scans: int) -> dict[str, Any]:
        """The ``isotope_precursors[]`` entry of a finding (docs/match.md)."""
        return {"component": self.component, "monoisotopic_component": self.monoisotopic,
                "ion": "isotope M+1 (13C)", "precursor_mz": round(self.mz, 5),
                "rt_min": rt_min, "n_scans": n_scans, "mass_error_ppm": round(self.mass_error_ppm, 2),
                "apex_delta_seconds": round(self.apex_delta_seconds, 1), "ms1_ratio": round(self.ms1_ratio, 3),
                "max_ratio": round(self.max_ratio, 3),
                "shared_fragments": [round(m, 4) for m in self.shared_fragments],
                "ms2": "set aside: its 13C fragments sit 1 Da off the monoisotopic's; not merged"}


def max_c13_ratio(ion_mass: float) -> float:
    """The largest M+1/M a singly 13C-labelled ion of ``ion_mass`` (Da, the whole ion) can show: a
    molecule of carbon alone (ion_mass / 12 atoms), times :data:`RATIO_MARGIN`."""
    return C13_PER_CARBON * ion_mass / 12.0 * RATIO_MARGIN


def isotope_precursors(groups: list[MS2Group], features: list[Feature | None], centroids: CSRPeaks,
                       rt_seconds: np.ndarray, tolerance: Tolerance, fragment_tolerance: Sequence[Tolerance],
                       xic_ppm: float) -> dict[int, IsotopePrecursor]:
    """The groups whose precursor is another group's M+1 (steps 1-4 of the module docstring), each
    read against the most abundant co-eluting group it fits. A group that is itself some group's
    M+1 is never taken as a monoisotopic ion (no chains: M+2 is not folded). ``fragment_tolerance``:
    each group's (a unit-resolution group's is its nominal ion's: step 4 compares two groups at the wider
    of theirs)."""
    found: dict[int, IsotopePrecursor] = {}
    for j, heavy in enumerate(features):
        if heavy is None:
            continue
        z = abs(int(groups[j].spectrum.get("precursor_charge") or 1)) or 1
        fits = []
        for i, light in enumerate(features):
            if light is None or i == j:
                continue
            expected = light.mz + C13_SPACING / z
            # Step 1, 2: the +1.00336/z mass and one elution
            if abs(heavy.mz - expected) > tolerance.window_da(heavy.mz):
                continue
            delta = heavy.apex_rt_seconds - light.apex_rt_seconds
            if abs(delta) > max(APEX_SECONDS, light.fwhm_seconds / 4):
                continue
            # Step 3: an M+1/M a 13C peak can have
            ratio = _ms1_ratio(centroids, rt_seconds, light, heavy.mz, xic_ppm)
            limit = min(max_c13_ratio(light.mz * z), 1.0)
            if not 0 < ratio < limit:
                continue
            # Step 4: the same compound's MS/MS
            wider = max(fragment_tolerance[j], fragment_tolerance[i], key=lambda t: t.window_da(groups[i].precursor_mz))
            shared = _shared_fragments(groups[j], groups[i], wider, z)
            if shared:
                fits.append(IsotopePrecursor(j, i, heavy.mz, (heavy.mz - expected) / expected * 1e6, delta, ratio,
                                             limit, shared))
        if fits:
            found[j] = max(fits, key=lambda f: features[f.monoisotopic].area)
    return {j: f for j, f in found.items() if f.monoisotopic not in found}


def _ms1_ratio(centroids: CSRPeaks, rt_seconds: np.ndarray, light: Feature, heavy_mz: float, xic_ppm: float) -> float:
    """The heavier ion's MS1 signal over the lighter one's, both summed over the lighter one's peak."""
    inside = (rt_seconds >= light.left_rt_seconds) & (rt_seconds <= light.right_rt_seconds)
    mono = float(xic(centroids, light.mz, xic_ppm)[0][inside].sum())
    plus_one = float(xic(centroids, heavy_mz, xic_ppm)[0][inside].sum())
    return plus_one / mono if mono > 0 else float("inf")


def _shared_fragments(heavy: MS2Group, light: MS2Group, tolerance: Tolerance, z: int) -> tuple[float, ...]:
    """The heavier group's fragments (>= :data:`FRAGMENT_LEVEL` of base, below the lighter
    precursor) that the lighter group's MS/MS holds at the same m/z or 1.00336/z lower."""
    def strong(group: MS2Group) -> np.ndarray:
        s = group.spectrum
        if not len(s):
            return np.empty(0)
        keep = (s.intensity >= FRAGMENT_LEVEL * s.intensity.max()) & (
            s.mz < light.precursor_mz - tolerance.window_da(light.precursor_mz))
        return s.mz[keep]

    theirs = strong(light)
    if not theirs.size:
        return ()
    return tuple(float(m) for m in strong(heavy)
                 if np.any(np.abs(theirs - m) <= tolerance.window_da(m))
                 or np.any(np.abs(theirs - (m - C13_SPACING / z)) <= tolerance.window_da(m)))

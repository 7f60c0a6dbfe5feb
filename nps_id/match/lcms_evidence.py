"""LC-MS/MS findings: one compound, one finding, with the MS1 evidence behind it.

Consensus MS2 groups (:mod:`nps_id.lcms.groups`) are judged per group; this module decides which
groups are one compound and what the survey scans say about each:

- :func:`group_evidence` -- a group's MS1 feature (:func:`nps_id.lcms.features.ms1_feature`), the
  candidate's ion type, its exact-mass error and isotope pattern, and the reference fragments the
  spectrum holds (the HRMS criteria of :mod:`nps_id.match.verdict`).
- :func:`elutions` -- groups with the same best compound cut into elutions: overlapping or
  adjacent MS1 peaks (or, without MS1, MS2 triggers within the RT tolerance) are one elution.
- :func:`compound_ions`, :func:`explains` -- whether a group's precursor is another ion of a
  found compound at the same RT: an adduct ([M+Na]+ beside [M+H]+), an in-source loss (H2O,
  NH3), an isotope peak the DDA picked (M+1, M+2), an in-source fragment, or a cluster ion that
  fragments to the finding's ion.
- :func:`confirm_with_standard` -- the SANTE/11312/2021 identification against a reference standard
  run of the same method (RT, exact mass, product ions, ion ratios), which a library spectrum
  recorded on another instrument or collision energy cannot give (:func:`ion_ratio_check`).
- :func:`supported` -- why an identity group is *not* a finding (no MS1 peak, precursor outside the
  exact-mass window), or None; :func:`analogue_accepted` -- the one place an analogue group becomes
  a finding or an unassigned feature.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from nps_id.lcms.features import (C13_SPACING, CL_BR_SPACING, MIN_PEAK_POINTS, Adduct, Feature, adduct_named,
                                  adducts_for, formula_mass, ion_mz, isotope_pattern, ms1_feature, ppm_error)
from nps_id.match.verdict import IDENTIFIED, INCONCLUSIVE, PRODUCT_IONS_FOR_IDENTITY, TENTATIVE, RuleId, Verdict

if TYPE_CHECKING:  # a search imports this module for candidate_mass, never an LC-MS group
    from nps_id.lcms.groups import MS2Group

#: MS1 XIC half-width (ppm) around a precursor: wide enough for a precursor stored only as the
#: isolation-window target and for a TOF apex shifted by detector saturation (TripleTOF slice:
#: +19 ppm at the apex); the peak-wide mean m/z is then the measured mass, and its error reported.
XIC_PPM = 50.0
#: Share of the finding's base peak an MS2 ion needs for a co-eluting precursor to be read as its
#: in-source fragment.
IN_SOURCE_FRAGMENT_LEVEL = 0.05
#: SANTE/11312/2021 (table 4): each product-ion ratio within +/-30 % (relative) of the reference
#: standard's, measured in the same sequence; the standard's most intense product ions compared.
ION_RATIO_TOLERANCE = 0.30
DIAGNOSTIC_IONS = 3
#: A reference standard run confirms an MS/MS identity only when at least this many product ions
#: (>= ``VerdictThresholds.major_ion_level`` of the standard's base peak) are matched between the
#: sample and the standard (SWGDRUG recommendations; ANSI/ASB Standard 036: product ions compared,
#: the precursor not counted).
MIN_STANDARD_PRODUCT_IONS = 2
#: A product ion is lighter than its precursor by at least a neutral loss (H2, 2.016 Da): the
#: precursor's own isotope peaks and ions co-isolated within the ~1-Da window are not product ions
#: (betaine's 119.09, its M+1; L-histidine's 156.04 beside its 156.08 precursor).
MIN_NEUTRAL_LOSS_DA = 1.5
#: Library-match criteria a reference standard run of the same method supersedes: the standard is
#: the reference (Schymanski level 1), whatever a library record from another instrument scores.
SUPERSEDED_BY_STANDARD = ("score >=", "gap to next different compound", "isomers not excluded", PRODUCT_IONS_FOR_IDENTITY)
#: Isotope peaks a DDA run may fragment: (label, m/z above the monoisotopic ion, singly charged).
ISOTOPE_PEAKS = (("isotope M+1", C13_SPACING), ("isotope M+2 (37Cl/81Br)", CL_BR_SPACING),
                 ("isotope M+2", 2 * C13_SPACING))


@dataclass(frozen=True)
class GroupEvidence:
    """What the MS1 scans and the reference say about one group's candidate."""

    feature: Feature | None
    adduct: Adduct | None
    theoretical_mz: float | None
    precursor_ppm: float | None
    #: (held, expected); None when no reference compound's fragments were compared (an analogue)
    matched_fragments: tuple[int, int] | None
    fragment_error_mda: float | None
    isotopes: dict[str, Any] | None

    def fields(self) -> dict[str, Any]:
        """The ``ms1`` object of an LC finding (docs/match.md)."""
        return {
            "feature": None if self.feature is None else self.feature.to_dict(),
            "adduct": None if self.adduct is None else self.adduct.name,
            "theoretical_mz": None if self.theoretical_mz is None else round(self.theoretical_mz, 5),
            "mass_error_ppm": None if self.precursor_ppm is None else round(self.precursor_ppm, 2),
            # null, not "0 of 0", where nothing was compared (stop 34: reports read "0 of 0" as a count)
            "matched_fragments": None if self.matched_fragments is None else self.matched_fragments[0],
            "reference_fragments": None if self.matched_fragments is None else self.matched_fragments[1],
            "fragment_error_mda": None if self.fragment_error_mda is None else round(self.fragment_error_mda, 2),
            "isotopes": self.isotopes,
            "xic": None if self.feature is None else self.feature.xic_dict(XIC_PPM),
        }


def candidate_mass(columns: dict, row: int, formula: str | None = None) -> float:
    """The neutral monoisotopic mass of library row ``row``: from its formula (``formula``, else
    read from ``columns``) when plain, else its ``exact_mass`` (NaN when neither)."""
    from_formula = formula_mass(str(columns["formula"][row]) if formula is None else formula)
    return from_formula if from_formula is not None else float(columns["exact_mass"][row])


def shows_peaks(run) -> bool:
    """Whether the run's MS1 scans can show a precursor's chromatographic peak at all (enough of
    them); otherwise the MS1 criteria are not evaluated rather than failed."""
    return run is not None and run.centroids is not None and run.centroids.n_spectra >= MIN_PEAK_POINTS


def find_feature(run, group: MS2Group) -> Feature | None:
    """The group's MS1 peak, or None (no survey scans, no peak at its RT, or its RT unknown)."""
    if run is None or run.centroids is None or group.rt_seconds is None:
        return None
    return ms1_feature(run.centroids, run.rt_seconds, group.precursor_mz, group.rt_seconds, XIC_PPM)


def group_evidence(run, group: MS2Group, feature: Feature | None, columns: dict, peaks, row: int | None,
                   fragment_tolerance, major_level: float) -> GroupEvidence:
    """MS1 and fragment evidence of library row ``row`` as the candidate of ``group``; with no
    row (an analogue: another compound), only the MS1 feature."""
    if row is None:
        return GroupEvidence(feature, None, None, None, None, None, None)
    adduct = adduct_named(str(columns["precursor_type"][row]))
    mass = candidate_mass(columns, row)
    library_mz = float(columns["precursor_mz"][row])
    theoretical = ion_mz(mass, adduct) if adduct is not None and np.isfinite(mass) else (
        library_mz if np.isfinite(library_mz) else None)
    measured = feature.mz if feature is not None else None
    ppm = None if measured is None or theoretical is None else ppm_error(measured, theoretical)
    isotopes = (isotope_pattern(run.centroids, feature, str(columns["formula"][row]), adduct, XIC_PPM)
                if feature is not None and adduct is not None else None)
    held, error = matched_fragments(group.spectrum.mz, *peaks.row(row), fragment_tolerance, major_level,
                                 group.precursor_mz)
    return GroupEvidence(feature, adduct, theoretical, ppm, held, error, isotopes)


def matched_fragments(mz: np.ndarray, ref_mz: np.ndarray, ref_intensity: np.ndarray, tolerance, level: float,
                      precursor_mz: float) -> tuple[tuple[int, int], float | None]:
    """((held, expected), median |error| in mDa) of the reference's fragments at >= ``level`` of its base peak
    (the precursor itself excluded) that the spectrum holds within ``tolerance``."""
    if ref_intensity.size == 0 or mz.size == 0:
        return (0, 0), None
    major = (ref_intensity >= level * ref_intensity.max()) & (
        np.abs(ref_mz - precursor_mz) > tolerance.window_da(precursor_mz))
    errors = []
    for target in ref_mz[major]:
        j = int(np.argmin(np.abs(mz - target)))
        if abs(mz[j] - target) <= tolerance.window_da(target):
            errors.append(abs(mz[j] - target) * 1000)
    return (len(errors), int(major.sum())), (float(np.median(errors)) if errors else None)


def same_elution(a: tuple[MS2Group, Feature | None], b: tuple[MS2Group, Feature | None],
                 rt_tolerance_seconds: float) -> bool:
    """One elution: MS1 peaks that overlap or touch (one MS1 scan apart at most); without an MS1
    peak on either side, MS2 triggers within ``rt_tolerance_seconds``, or a trigger whose time is
    unknown (no time sets it apart: one compound's scans are reported once)."""
    (ga, fa), (gb, fb) = a, b
    if ga.rt_seconds is None or gb.rt_seconds is None:
        return True
    if fa is not None and fb is not None:
        if fa.overlaps(fb):
            return True
        cycle = max(fa.fwhm_seconds, fb.fwhm_seconds, 1.0) / 2
        gap = max(fa.left_rt_seconds, fb.left_rt_seconds) - min(fa.right_rt_seconds, fb.right_rt_seconds)
        return gap <= cycle
    return abs(ga.rt_seconds - gb.rt_seconds) <= rt_tolerance_seconds


def elutions(members: list[int], groups: list[MS2Group], features: list[Feature | None],
             rt_tolerance_seconds: float) -> list[list[int]]:
    """``members`` (group indices of one compound) cut into elutions (single linkage by RT)."""
    order = sorted(members, key=lambda i: (groups[i].rt_seconds is None, groups[i].rt_seconds or 0.0))
    out: list[list[int]] = []
    for i in order:
        for elution in out:
            if any(same_elution((groups[i], features[i]), (groups[j], features[j]), rt_tolerance_seconds)
                   for j in elution):
                elution.append(i)
                break
        else:
            out.append([i])
    return out


@dataclass(frozen=True)
class CompoundIons:
    """The ions a found compound may show at its RT besides its precursor, computed once per
    finding: ``ions`` (label, m/z) -- its adducts and in-source losses, its precursor's isotope
    peaks -- and ``fragments``, the strong (>= :data:`IN_SOURCE_FRAGMENT_LEVEL` of base) fragment
    m/z of its MS/MS spectrum and of every library spectrum of the compound."""

    precursor_mz: float
    ions: tuple[tuple[str, float], ...]
    fragments: np.ndarray


def compound_ions(finding_group: MS2Group, neutral_mass: float | None, polarity: str,
                  references: list[tuple[np.ndarray, np.ndarray]] = ()) -> CompoundIons:
    """The :class:`CompoundIons` of a finding (``references``: the compound's library spectra)."""
    lead = finding_group.precursor_mz
    ions = [(a.name, ion_mz(neutral_mass, a)) for a in adducts_for(polarity)] \
        if neutral_mass is not None and np.isfinite(neutral_mass) else []
    ions += [(label, lead + spacing) for label, spacing in ISOTOPE_PEAKS]
    spectra = [(finding_group.spectrum.mz, finding_group.spectrum.intensity), *references]
    strong = [mz[intensity >= IN_SOURCE_FRAGMENT_LEVEL * intensity.max()]
              for mz, intensity in spectra if len(intensity)]
    fragments = np.unique(np.concatenate(strong)) if strong else np.empty(0)
    return CompoundIons(lead, tuple(ions), fragments)


def explains(group: MS2Group, feature: Feature | None, finding_group: MS2Group, finding_feature: Feature | None,
             compound: CompoundIons, precursor_tolerance, rt_tolerance_seconds: float) -> str | None:
    """How ``group``'s precursor is another ion of the compound of a finding at the same RT, or None:
    an adduct or in-source loss of its neutral mass ("[M+Na]+", "[M+H-H2O]+"); an isotope peak of
    the finding's precursor ("isotope M+2 (37Cl/81Br)"); a strong fragment of the finding's MS/MS
    spectrum or of one of the compound's library spectra -- an "in-source fragment" (a TOF at high
    collision energy may fragment that ion further, while the source keeps it: azinphos-methyl's
    160.05); or a heavier ion whose own MS/MS spectrum holds the finding's precursor ("cluster
    ion": it falls apart into the finding's ion). An ion whose time is unknown is not known to
    co-elute: None."""
    if group.rt_seconds is None or finding_group.rt_seconds is None:
        return None
    if not same_elution((group, feature), (finding_group, finding_feature), rt_tolerance_seconds):
        return None
    mz, lead_mz = group.precursor_mz, compound.precursor_mz
    window = precursor_tolerance.window_da(mz)
    for label, target in compound.ions:
        if abs(mz - target) <= window:
            return label
    if mz < lead_mz - 1.0 and np.any(np.abs(compound.fragments - mz) <= window + 0.005):
        return "in-source fragment"
    own = group.spectrum
    if mz > lead_mz + 1.0 and len(own):
        strong = own.mz[own.intensity >= IN_SOURCE_FRAGMENT_LEVEL * own.intensity.max()]
        if np.any(np.abs(strong - lead_mz) <= precursor_tolerance.window_da(lead_mz)):
            return "cluster ion (its MS/MS holds the finding's precursor)"
    return None


def supported(evidence: GroupEvidence, has_ms1: bool, window_ppm: float) -> str | None:
    """Why an identity group of a run with MS1 scans is no finding, or None when its precursor has
    an MS1 peak within ``window_ppm`` of the candidate's ion (docs/match.md: every LC finding rests
    on one). Without MS1 scans that can show a peak (:func:`shows_peaks`) nothing can be checked
    (the HRMS criteria are then not evaluated)."""
    if not has_ms1:
        return None
    if evidence.feature is None:
        return "no MS1 peak of the precursor at the MS/MS scans' RT"
    if evidence.precursor_ppm is not None and abs(evidence.precursor_ppm) > window_ppm:
        return (f"precursor mass error {evidence.precursor_ppm:+.1f} ppm outside +/-{window_ppm:g} ppm of the "
                f"candidate's {evidence.adduct.name if evidence.adduct else 'ion'}")
    return None


def analogue_accepted(verdict: Verdict, assessment: Mapping[str, Any], feature: Feature | None) -> str | None:
    """The one place an LC analogue group is accepted as a finding (None) or turned into an
    unassigned feature (the reason): a new substance with a suspected group, or an analogue whose
    precursor has an MS1 peak and whose verdict passes the close-analogue rule
    (:mod:`nps_id.match.verdict`; an analogue confidence added there acts here too)."""
    if assessment.get("new_substance") and assessment.get("suspected_group"):
        return None
    if feature is None:
        return "analogue hit without an MS1 peak of its precursor"
    if verdict.verdict == INCONCLUSIVE:
        return f"analogue hit that does not pass the close-analogue rule ({verdict.rule})"
    return None


def product_ions(mz: np.ndarray, precursor_mz: float) -> np.ndarray:
    """Mask of the peaks that can be product ions of ``precursor_mz`` (:data:`MIN_NEUTRAL_LOSS_DA`)."""
    return np.asarray(mz, float) < precursor_mz - MIN_NEUTRAL_LOSS_DA


def _ion_text(standard_mz: np.ndarray, precursor_mz: float, decimals: int) -> Callable[[float], str]:
    """How a criterion writes the reference standard run's product-ion m/z: as written when the standard is a
    unit-resolution run's (:func:`~nps_id.lcms.groups.unit_resolution`; "42.1", "107": trailing zeros are not
    read), else to ``decimals``. Until attack49b a unit run's comparison read "42.1000, 77.1000" and
    "107.00/91.20", digits nobody wrote (newuser49), as words48 found of a precursor."""
    from nps_id.lcms.groups import unit_resolution  # LC-MS only: a search imports this module without it

    if unit_resolution(standard_mz[product_ions(standard_mz, precursor_mz)]):
        return lambda m: f"{m:.4f}".rstrip("0").rstrip(".")
    return lambda m: f"{m:.{decimals}f}"


def standard_product_ions(mz: np.ndarray, standard_mz: np.ndarray, standard_intensity: np.ndarray, tolerance,
                          precursor_mz: float, level: float) -> tuple[str, bool | None]:
    """(criterion text, passed) of the standard's product ions at >= ``level`` of its base peak that the
    finding's spectrum ``mz`` holds within ``tolerance``: passed with >= :data:`MIN_STANDARD_PRODUCT_IONS`;
    None (not evaluated) when the standard has fewer such ions to compare -- then it cannot confirm."""
    standard_mz, standard_intensity = np.asarray(standard_mz, float), np.asarray(standard_intensity, float)
    if standard_intensity.size == 0:
        major = np.zeros(0, bool)
    else:
        major = product_ions(standard_mz, precursor_mz) & (standard_intensity >= level * standard_intensity.max())
    ions, mz = standard_mz[major], np.asarray(mz, float)
    name = f"product ions matched against the reference standard run >= {MIN_STANDARD_PRODUCT_IONS}"
    if ions.size < MIN_STANDARD_PRODUCT_IONS:
        return (f"{name}: not compared (the standard's spectrum has {ions.size} product ion"
                f"{'' if ions.size == 1 else 's'} >= {level:.0%} of its base peak)"), None
    held = [m for m in ions if mz.size and np.min(np.abs(mz - m)) <= tolerance.window_da(m)]
    written = _ion_text(standard_mz, precursor_mz, 4)
    listed = ", ".join(written(m) for m in held)
    return (f"{name} ({len(held)} of {ions.size}{': ' + listed if listed else ''})",
            len(held) >= MIN_STANDARD_PRODUCT_IONS)


def ion_ratio_check(mz: np.ndarray, intensity: np.ndarray, standard_mz: np.ndarray, standard_intensity: np.ndarray,
                    tolerance, precursor_mz: float) -> tuple[str, bool]:
    """(criterion text, passed): the standard's :data:`DIAGNOSTIC_IONS` most intense product ions
    (:func:`product_ions`: the precursor and its isotope peaks excluded), each as a ratio to the most
    intense of them, against the same ratios in the finding's spectrum; all within
    :data:`ION_RATIO_TOLERANCE` (relative), and at least two product ions (SANTE/11312/2021: >= 2
    diagnostic ions)."""
    standard_mz, standard_intensity = np.asarray(standard_mz, float), np.asarray(standard_intensity, float)
    product = product_ions(standard_mz, precursor_mz)
    order = np.argsort(-standard_intensity[product], kind="stable")[:DIAGNOSTIC_IONS]
    ions, heights = standard_mz[product][order], standard_intensity[product][order]

    def found(target: float) -> float:
        near = np.abs(np.asarray(mz) - target) <= tolerance.window_da(target)
        return float(np.asarray(intensity)[near].max()) if near.any() else 0.0

    if ions.size < 2:
        return "ion ratios against the reference standard run (it has < 2 product ions)", False
    measured = np.array([found(m) for m in ions])
    if measured[0] <= 0:
        written = _ion_text(standard_mz, precursor_mz, 4)
        return f"ion ratios against the reference standard run (its base product ion {written(ions[0])} absent)", False
    expected, seen = heights[1:] / heights[0], measured[1:] / measured[0]
    deviation = np.abs(seen - expected) / expected
    written = _ion_text(standard_mz, precursor_mz, 2)
    pairs = ", ".join(f"{written(m)}/{written(ions[0])} {s:.2f} vs {e:.2f}" for m, s, e in zip(ions[1:], seen, expected))
    passed = bool(np.all(deviation <= ION_RATIO_TOLERANCE))
    return (f"ion ratios within +/-{ION_RATIO_TOLERANCE:.0%} of the reference standard run's ({pairs})", passed)


def confirm_with_standard(verdict: Verdict, standard: dict, ion_ratios: tuple[str, bool],
                          products: tuple[str, bool | None]) -> Verdict:
    """An LC finding whose reference standard run (same method) elutes within the RT window, shares
    >= 2 product ions with it (``products``, :func:`standard_product_ions`) and gives the same ion
    ratios is identified by SANTE/11312/2021 -- provided the HRMS criteria (MS1 peak, exact mass)
    hold and nothing but library-match criteria (:data:`SUPERSEDED_BY_STANDARD`) failed; those are
    kept, marked superseded. Ion ratios unlike the standard's make an ``identified`` library match
    ``tentative``; otherwise the verdict is kept, with both criteria added (the product ions under
    ``criteria_not_evaluated`` when the standard has fewer than 2 to compare: no confirmation)."""
    text, passed = ion_ratios
    product_text, products_held = products
    met, failed, unknown = verdict.criteria_met, verdict.criteria_failed, verdict.criteria_not_evaluated
    met, failed, unknown = (met + [product_text] if products_held else met,
                            failed + [product_text] if products_held is False else failed,
                            unknown + [product_text] if products_held is None else unknown)
    if not passed or products_held is False:
        if verdict.verdict == IDENTIFIED:
            unlike = "ion ratios" if not passed else "product ions"
            return Verdict(TENTATIVE, f"{unlike} unlike the reference standard run's (SANTE/11312/2021): the "
                           "library match passes, the standard of the same method disagrees",
                           met + [text] if passed else met, failed[len(verdict.criteria_failed):] + ([] if passed else [text]), unknown,
                           rule_id=RuleId.ION_RATIOS_DISAGREE if not passed else RuleId.PRODUCT_IONS_DISAGREE)
        return replace(verdict, criteria_met=met + [text] if passed else met,
                       criteria_failed=failed + ([] if passed else [text]), criteria_not_evaluated=unknown)
    superseded = [c for c in failed if c.startswith(SUPERSEDED_BY_STANDARD)]
    if not standard["within"] or not products_held or len(superseded) != len(failed):
        return replace(verdict, criteria_met=met + [text], criteria_failed=failed, criteria_not_evaluated=unknown)
    rt = (f"RT within {standard['window_min']:g} min of the reference standard run {standard['run']} "
          f"(dRT {standard['delta_rt_min']:+.3f})")
    return Verdict(IDENTIFIED, "identity confirmed against a reference standard run of the same method "
                   "(SANTE/11312/2021: RT, exact mass, product ions, ion ratios)",
                   met + [rt, text] + [f"{c} -- library criterion, superseded by the reference standard run"
                                       for c in superseded], [], unknown, rule_id=RuleId.STANDARD_CONFIRMED)

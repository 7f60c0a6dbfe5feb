"""The LC-MS/MS path of a match (:func:`match_ms2`): a run's MS2 scan groups -> identity and
analogue search -> one finding per compound and elution, the other ions of a found compound
(adducts, 13C isotope precursors, in-source losses) placed under it, and every other group an
unassigned feature with the reason.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from nps_id.gcms.run import Run
from nps_id.lcms.groups import MS2Group, unit_resolution
from nps_id.lcms.isotopes import IsotopePrecursor, isotope_precursors
from nps_id.match.assess import assess
from nps_id.match.findings_build import as_ranked, build_finding, close_analogue_hit, search_hits
from nps_id.match.lcms_evidence import (XIC_PPM, analogue_accepted, candidate_mass, compound_ions, elutions,
                                        explains, find_feature, group_evidence, shows_peaks, supported)
from nps_id.match.parameters import MatchParameters
from nps_id.match.reference_library import ReferenceLibrary
from nps_id.match.results import Elutions, Finding, Hit, MatchMode, MS2Component, MS2Precursor
from nps_id.tolerance import Tolerance


def match_ms2(groups: list[MS2Group], library: ReferenceLibrary, params: MatchParameters,
              run: Run | None) -> tuple[list[Finding], list[MS2Component], list[dict]]:
    """Findings, per-group summaries and unassigned features of an LC-MS/MS run.

    Groups whose best identity hits are one compound merge into one finding per elution
    (:func:`~nps_id.match.lcms_evidence.elutions`); the compound is reported once, at its best
    elution, the others named in ``other_elutions``. An identity group is a finding only when its
    precursor has an MS1 peak at the candidate's exact mass (:func:`~nps_id.match.lcms_evidence.supported`).
    A group that is another ion of a found compound at its RT (adduct, isotope, in-source loss,
    fragment or cluster) supports that finding. Analogue findings must pass
    :func:`~nps_id.match.lcms_evidence.analogue_accepted`; every other group is an unassigned feature
    with the reason. A unit-resolution group is scored at its own fragment tolerance (:func:`unit_groups`).
    """
    spectra = [g.spectrum for g in groups]
    unit = unit_groups(groups, params)
    identity = _searched(list(range(len(groups))), spectra, unit, library, params, "identity")
    t = params.verdict
    features = [find_feature(run, g) for g in groups]
    has_ms1 = shows_peaks(run)
    # a precursor that is another's 13C peak is that compound, never a compound of its own
    isotopes = isotope_precursors(groups, features, run.centroids, run.rt_seconds, params.precursor_tolerance,
                                  [_fragment_tolerance(i in unit, params) for i in range(len(groups))],
                                  XIC_PPM) if has_ms1 else {}
    need = [i for i in range(len(groups)) if params.analogue and i not in isotopes
            and (not identity.get(i) or identity[i][0].score < t.tentative_score)]
    analogue_hits = _searched(need, spectra, unit, library, params, "analog")
    chosen: dict[int, tuple[list[Hit], MatchMode]] = {}
    evidence: dict[int, Any] = {}
    why_not: dict[int, str] = {}  # group -> why it is no finding
    for i in sorted(set(range(len(groups))) - set(isotopes)):
        hits = identity.get(i, [])
        if hits and hits[0].score >= t.report_score:
            evidence[i] = group_evidence(run, groups[i], features[i], library.columns, library.reference.peaks,
                                         hits[0].row, _fragment_tolerance(i in unit, params), t.major_ion_level)
            chosen[i] = (hits, MatchMode.IDENTITY)
            reason = supported(evidence[i], has_ms1, _precursor_window_ppm(i, groups[i], unit, params))
            if reason is not None:  # still an elution of its compound, never the finding's lead
                why_not[i] = f"{reason} (best hit {hits[0].record.name}, score {hits[0].score})"
        elif analogue_hits.get(i) and close_analogue_hit(analogue_hits[i][0], library, t):
            chosen[i] = (analogue_hits[i], MatchMode.ANALOGUE)
    summaries = [MS2Component(index=i, rt_min=g.rt_min, precursor_mz=round(g.precursor_mz, 5),
                              n_scans=len(g.scan_indices), n_ions=len(g.spectrum),
                              ms1_feature=None if features[i] is None else features[i].to_dict())
                 for i, g in enumerate(groups)]
    findings: list[Finding] = []
    placed: dict[int, int] = {}  # group -> finding
    context = (groups, features, chosen, evidence, why_not, library, params, run, findings, placed, unit)
    identity_groups = [i for i, (_, mode) in chosen.items() if mode == MatchMode.IDENTITY]
    _add_compound_findings(identity_groups, lambda i: library.compound[chosen[i][0][0].row], context)
    # each found compound's other possible ions, from all its library spectra of that polarity
    # (collision energies and instruments differ; a negative-mode fragment is another ion)
    modes = library.columns["ion_mode"]

    def spectra_of(row: int) -> list[tuple[np.ndarray, np.ndarray]]:
        rows = np.flatnonzero(library.compound == library.compound[row])
        return [library.reference.peaks.row(r) for r in rows if modes[r] in (modes[row], "")]

    ions = [compound_ions(groups[f.component], candidate_mass(library.columns, f.library_row),
                          _polarity(groups[f.component]), spectra_of(f.library_row)) for f in findings]
    for i in sorted(set(range(len(groups))) - set(placed) - set(isotopes)):  # other ions of a found compound
        for f_index, finding in enumerate(findings):
            lead = finding.component
            ion = explains(groups[i], features[i], groups[lead], features[lead], ions[f_index],
                           params.precursor_tolerance, params.ms2_rt_tolerance_seconds)
            if ion is not None:
                placed[i] = f_index
                finding.precursor.related_ions.append({"component": i, "ion": ion,
                                                       "precursor_mz": round(groups[i].precursor_mz, 5),
                                                       "rt_min": groups[i].rt_min,
                                                       "n_scans": len(groups[i].scan_indices)})
                summaries[i].ion_of = {"finding": f_index, "ion": ion}
                break
    # An analogue is one unknown per precursor and closest compound, merged over its elutions like
    # a compound, and a finding only when analogue_accepted says so (docs/match.md).
    analogues = [i for i, (_, mode) in chosen.items() if mode == MatchMode.ANALOGUE and i not in placed]

    def accepted(finding: Finding, members: list[int]) -> bool:
        reason = analogue_accepted(finding.verdict, finding.assessment, features[finding.component])
        why_not.update({i: reason for i in members if reason is not None})
        return reason is None

    _add_compound_findings(analogues, lambda i: (library.compound[chosen[i][0][0].row],
                                                 round(groups[i].precursor_mz, 2)), context, keep=accepted)
    _fold_isotope_precursors(isotopes, groups, findings, placed, summaries, why_not)
    # Findings in retention-time order, as a GC run's: they were made compound by compound, the
    # analogues after the identities. A finding's number is its position: renumber what refers to it.
    order = sorted(range(len(findings)), key=lambda k: (groups[findings[k].component].rt_seconds is None,
                                                        groups[findings[k].component].rt_seconds or 0.0, k))
    number = {old: new for new, old in enumerate(order)}
    findings[:] = [findings[k] for k in order]
    placed = {i: number[k] for i, k in placed.items()}
    for summary in summaries:
        if summary.ion_of is not None:
            summary.ion_of["finding"] = number[summary.ion_of["finding"]]
    unassigned = []
    for i in range(len(groups)):
        if i in placed:
            summaries[i].finding = placed[i]
        else:
            weak = (f"no identity hit scoring >= {t.report_score} and no analogue hit of similarity "
                    f">= {t.analogue_score}")
            unassigned.append(_unassigned(i, groups[i], features[i], identity.get(i) or analogue_hits.get(i) or [],
                                          why_not.get(i, weak)))
    return findings, summaries, unassigned


def unit_groups(groups: list[MS2Group], params: MatchParameters) -> frozenset[int]:
    """The groups whose product ions are a unit-resolution instrument's (every one written to at most one
    decimal: :func:`~nps_id.lcms.groups.unit_resolution`, judged on the product ions, not the precursor),
    scored at ``params.unit_fragment_tolerance``: at the default 0.01 Da a triple quadrupole's "120.1"
    matches no library ion of 120.0813, and such a run had no finding, silently (stop 47 newuser47).
    With that tolerance None (an explicit ``--fragment-tolerance``: one for every scan) they are still these
    groups, whose fragments meet no HRMS criterion: "0.5 Da" given, or stop 47's advised "0.2 Da", let
    unit-resolution MassBank records be ``identified`` on "reference fragments matched" (attack48)."""
    return frozenset(i for i, group in enumerate(groups) if unit_resolution(group.spectrum.mz))


def _fragment_tolerance(unit: bool, params: MatchParameters) -> Tolerance:
    """The fragment tolerance a group is scored at, ``unit``: one of :func:`unit_groups`."""
    return params.unit_fragment_tolerance if unit and params.unit_fragment_tolerance else params.fragment_tolerance


def compared_at(params: MatchParameters, *mz: np.ndarray) -> Tolerance:
    """The fragment tolerance spectra of product-ion m/z ``mz`` are compared at (a finding's and its
    reference standard run's): a unit-resolution one's (:func:`~nps_id.lcms.groups.unit_resolution`) when
    either is, as it was searched (:func:`unit_groups`) -- at 0.01 Da a standard written "120.1" held none
    of an accurate unknown's ions, nor of a unit one's reading "120.2" (stop 49) -- else ``params.fragment_tolerance``."""
    return _fragment_tolerance(any(unit_resolution(m) for m in mz), params)


def _precursor_window_ppm(i: int, group: MS2Group, unit: frozenset[int], params: MatchParameters) -> float:
    """The MS1 exact-mass window (ppm) a group's finding rests on (:func:`~nps_id.match.lcms_evidence.supported`):
    ``precursor_ppm``; for a unit-resolution group (:func:`unit_groups`) at least its fragment tolerance, the
    nominal ion -- its instrument's MS1 m/z is no exact mass (a synthetic run of mecamylamine's "168" record:
    -1038.7 ppm, no finding; stop 47 attack47). Its HRMS exact-mass criterion still reads ``precursor_ppm``."""
    if i not in unit or not group.precursor_mz:
        return params.verdict.precursor_ppm
    mz = group.precursor_mz
    return max(params.verdict.precursor_ppm, float(_fragment_tolerance(True, params).window_da(mz)) / mz * 1e6)


def _searched(indices: list[int], spectra: list, unit: frozenset[int], library: ReferenceLibrary,
              params: MatchParameters, mode: str) -> dict[int, list[Hit]]:
    """:func:`~nps_id.match.findings_build.search_hits` of the groups at ``indices`` (by group), each at its
    own fragment tolerance: the unit-resolution ones in a search of their own (an accurate run: one search,
    as before)."""
    out: dict[int, list[Hit]] = {}
    for unit_ones in (False, True):
        chosen = [i for i in indices if (i in unit) == unit_ones]
        if not chosen:
            continue
        settings = replace(params, fragment_tolerance=_fragment_tolerance(unit_ones, params))
        hits = search_hits([spectra[i] for i in chosen], library, settings, mode)
        out.update({chosen[q]: found for q, found in hits.items()})
    return out


def _fold_isotope_precursors(isotopes: dict[int, IsotopePrecursor], groups: list[MS2Group], findings: list[Finding],
                             placed: dict[int, int], summaries: list[MS2Component], why_not: dict[int, str]) -> None:
    """Each 13C isotope precursor (:func:`~nps_id.lcms.isotopes.isotope_precursors`) joins the finding
    of its monoisotopic group, listed under ``isotope_precursors``; its MS/MS is set aside (its
    13C-bearing fragments sit 1 Da off, so merging it would blur the consensus spectrum). When the
    monoisotopic group is no finding, neither is its isotope peak: an unassigned feature saying so."""
    for j, isotope in isotopes.items():
        mono = isotope.monoisotopic
        if mono in placed:
            placed[j] = placed[mono]
            findings[placed[mono]].precursor.isotope_precursors.append(
                isotope.to_dict(groups[j].rt_min, len(groups[j].scan_indices)))
            summaries[j].ion_of = {"finding": placed[mono], "ion": "isotope M+1 (13C)"}
        else:
            why_not[j] = (f"13C isotope peak (M+1) of component {mono}'s precursor {groups[mono].precursor_mz:.4f} "
                          f"(MS1 ratio {isotope.ms1_ratio:.3f}, shared fragments "
                          f"{', '.join(f'{m:.4f}' for m in isotope.shared_fragments)}), which is no finding")


def _add_compound_findings(members, key, context, keep=lambda finding, members: True) -> None:
    """One finding per ``key`` (a compound): its groups cut into elutions; the strongest elution
    (best score, then MS1 area) is the finding with every scan of that elution, the others are
    named in ``other_elutions`` and count against "best hit at no other retention time". A group
    in ``why_not`` (no MS1 support) counts as an elution but never leads; a compound with no
    supported group is no finding. ``keep`` (finding, its groups) may turn it down."""
    groups, features, chosen, evidence, why_not, library, params, run, findings, placed, unit = context
    by_key: dict[Any, list[int]] = {}
    for i in members:
        by_key.setdefault(key(i), []).append(i)
    for same in by_key.values():
        def strength(elution: list[int]) -> tuple[int, float]:
            return (max(chosen[i][0][0].score for i in elution),
                    sum(features[i].area for i in elution if features[i] is not None))
        ranked = sorted(elutions(same, groups, features, params.ms2_rt_tolerance_seconds), key=strength, reverse=True)
        main = next((el for el in ranked if any(i not in why_not for i in el)), None)
        if main is None:
            continue
        others = [el for el in ranked if el is not main]
        lead = max((i for i in main if i not in why_not), key=lambda i: chosen[i][0][0].score)
        finding = _ms2_finding(lead, groups, features, chosen[lead], evidence.get(lead), library, params, run,
                               same_hit_elsewhere=len(others), unit=lead in unit)
        if not keep(finding, same):
            continue
        finding.precursor.n_scans = sum(len(groups[i].scan_indices) for i in main)
        finding.elutions = Elutions(
            merged_components=sorted(main),
            other_elutions=[{"components": sorted(el), "rt_min": groups[min(el)].rt_min,
                             "score": max(chosen[i][0][0].score for i in el)} for el in others],
            elution_note=None if not others else (
                f"also the best hit at {', '.join(f'{groups[min(el)].rt_minutes:.2f}' for el in others)} min "
                "(separate MS1 peaks): isomers the library cannot tell apart, or carry-over; reported once, at "
                "its best-matching elution"))
        for i in main + [j for el in others for j in el]:
            placed[i] = len(findings)
        findings.append(finding)


def _polarity(group: MS2Group) -> str:
    return str(group.spectrum.get("ion_mode") or "positive").lower()


def _ms2_finding(i, groups, features, choice, evidence, library, params, run, same_hit_elsewhere: int = 0,
                 unit: bool = False) -> Finding:
    """One group's finding: its hits judged with the HRMS criteria of its MS1 ``evidence`` (an
    identity group's, from :func:`group_evidence`; computed here for an analogue's). ``unit``: a
    unit-resolution group (:func:`unit_groups`), whose fragments meet no HRMS criterion."""
    hits, mode = choice
    group, top, t = groups[i], hits[0], params.verdict
    as_analogue = mode == MatchMode.ANALOGUE  # an analogue hit never passes as the identity of the compound
    spectrum = group.spectrum
    if evidence is None:  # an analogue's: its MS1 feature (no reference fragments are compared)
        evidence = group_evidence(run, group, features[i], library.columns, library.reference.peaks, None,
                                  _fragment_tolerance(unit, params), t.major_ion_level)
    hrms = {} if as_analogue else {
        "ms1_feature": features[i] is not None if shows_peaks(run) else None,
        "precursor_ppm": evidence.precursor_ppm, "matched_fragments": evidence.matched_fragments,
        "unit_fragments": str(_fragment_tolerance(True, params)) if unit else None}
    assessment = assess(
        spectrum.mz, spectrum.intensity, "ms2", [as_ranked(h, as_analogue) for h in hits], library.facts,
        gap=None if as_analogue else top.gap, isomer_alert=not as_analogue and top.isomer_alert, thresholds=t,
        identity=not as_analogue, precursor=(group.precursor_mz, _polarity(group)),
        analogue_score=top.similarity if as_analogue else None,
        analogue_confidence=top.analogue_confidence if as_analogue else None,
        analogue_delta_mass=top.delta_mass if as_analogue else None,
        analogue_query_mass=top.query_mass if as_analogue else None,
        same_hit_elsewhere=same_hit_elsewhere, without_rt=group.rt_min is None, **hrms,
    )
    finding = build_finding(group.rt_minutes, top, hits, assessment, library, params.top_k, mode=mode, ri=None, lib_ri=None,
                       delta_ri=None, spectrum=(spectrum.mz, spectrum.intensity),
                       precursor=MS2Precursor(precursor_mz=round(group.precursor_mz, 5),
                                              n_scans=len(group.scan_indices),
                                              adduct=None if evidence.adduct is None else evidence.adduct.name,
                                              ms1=evidence.fields()))
    finding.component = i
    return finding


def _unassigned(i: int, group: MS2Group, feature, hits: list[Hit], reason: str) -> dict:
    """A row of the unassigned-features table: a precursor with no finding, why, and its best hits."""
    return {"component": i, "reason": reason, "precursor_mz": round(group.precursor_mz, 5),
            "rt_min": group.rt_min,
            "n_scans": len(group.scan_indices), "area": None if feature is None else round(feature.area, 1),
            "apex_rt_min": None if feature is None else round(feature.apex_rt_seconds / 60, 4),
            "best_hits": [{"name": h.record.name, "library_row": h.row, "score": h.score, "similarity": h.similarity}
                          for h in hits[:3]]}


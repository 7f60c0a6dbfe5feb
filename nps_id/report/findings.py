"""One finding of the report document, its hits and limitations, and the chromatogram's components.

Entry points
------------
- :func:`report_finding` -- a results finding (+ library entry, sample details) -> report finding.
- :func:`report_chromatogram` -- the TIC and every extracted component, each with why it gave
  the finding it gave (or none).
- :func:`finding_label` -- how a finding is named wherever a person reads it; :func:`shown_number` -- how
  it is numbered there (from 1, "#3"), :func:`component_number` how a component is ("C4").
- :func:`isomers_excluded_by` -- what excluded a finding's inseparable isomers, if anything did;
  :func:`injector_relatives` -- which of them are GC injector relatives (nothing at the hit's RT excludes those).
- :func:`is_analogue`, :func:`is_ewa_reportable`, :func:`is_new_substance_lead`, :func:`is_new_substance`,
  :func:`is_unknown_compound` -- the rules every output applies to a finding.
- :func:`monoisotopic_mass`, :func:`systematic_name` -- identifiers derived for the report.
- :func:`absent_isomer` -- what an isomer or injector relative the library lacks would be;
  :func:`rule_text` -- the verdict's rule worded so.
- :func:`held_by_of` -- what holds an "isomer not excluded" finding besides the hit (older results: by its rule text).
- :func:`separate_standard` -- whether a finding was compared with a standard of a separate injection.
- :func:`lc_evidence` -- an LC-MS/MS finding's precursor evidence (ion, mass error, fragments, XIC).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from nps_id._paths import printable
from nps_id.chem.ewa_groups import classify, normalise_name
from nps_id.chem.formula import monoisotopic_mass as formula_monoisotopic_mass
from nps_id.match.isomer_rule import injector_direction, is_injector_relative
from nps_id.match.verdict import (HELD_BY, HELD_HEAVIER, HELD_HOMOLOGUE, HELD_OTHER_FORMULA, IDENTIFIED, ISOMER_CRITERIA,
                                  NEW_ISOMER, TENTATIVE, UNLISTED_ISOMER, absent_isomer_words, held_by_in_rule, may_be)

def report_finding(index, f, internal, refs_run, entries, overrides, technique, confirmations) -> dict[str, Any]:
    """One finding of the report. ``internal`` and ``refs_run`` hold names (or InChIKeys) already
    passed through :func:`normalise_name`; ``refs_run`` is None when the sample information is silent."""
    entry = entries.get(f.get("library_row"), {})
    ewa = classify(f.get("name"), entry.get("synonyms", ()), smiles=f.get("smiles") or entry.get("smiles"),
                   inchi=f.get("inchi") or entry.get("inchi"), inchikey=f.get("inchikey"),
                   overrides=overrides).to_dict()
    if ewa["nps"] is None:
        ewa = _class_of_injector_relative(f.get("isomers_not_excluded") or [], overrides) or ewa
    # an internal standard may be named by its name or by its InChIKey
    is_internal = any(normalise_name(v) in internal for v in (f.get("name"), f.get("inchikey")) if v) \
        or f.get("role") == "internal_standard"  # labelled so by `match --internal-standard`
    spectrum = f.get("spectrum") or {"mz": [], "intensity": []}
    reference = f.get("reference_spectrum") or entry.get("spectrum")
    iupac, iupac_source = (f.get("iupac_name"), "results") if f.get("iupac_name") else \
        systematic_name(entry.get("synonyms", ()))
    other = next((confirmations[normalise_name(v)] for v in (f.get("name"), f.get("inchikey"))
                  if v and normalise_name(v) in confirmations), [])
    apex = f.get("apex_spectrum")
    out = {
        "index": index,
        "acquisition": 0,
        "name": f.get("name") or "(unnamed)",
        "formula": f.get("formula"),
        "inchikey": f.get("inchikey"),
        "cas": _cas(f.get("cas")),
        "iupac_name": iupac,
        "iupac_name_source": iupac_source,
        "library_comment": entry.get("comments") or None,
        # the library compound's structure, drawn in the reports with where it came from
        "smiles": f.get("smiles") or entry.get("smiles") or None,
        "structure_source": f.get("structure_source") or entry.get("structure_source") or None,
        "structure_status": f.get("structure_status") or entry.get("structure_status") or None,
        "stereo_note": f.get("stereo_note"),
        "compound_names": list(f.get("compound_names") or []) or None,  # the library's names of this compound
        "monoisotopic_mass": monoisotopic_mass(f.get("formula")),
        "ewa": ewa,
        "verdict": f.get("verdict", "inconclusive"),
        "rule": rule_text(f.get("rule"), ewa, f.get("isomers_not_excluded") or []),
        "rule_id": f.get("rule_id"),  # absent from results written before rule ids
        "held_by": held_by_of(f),
        "criteria_met": list(f.get("criteria_met") or []),
        "criteria_failed": list(f.get("criteria_failed") or []),
        "criteria_not_evaluated": list(f.get("criteria_not_evaluated") or []),
        "match_mode": f.get("match_mode"),
        "mf": f.get("mf"), "rmf": f.get("rmf"), "score": f.get("score"), "gap": f.get("gap"),
        "rt_min": f.get("rt_min"), "ri": f.get("ri"), "library_ri": f.get("library_ri"),
        "delta_ri": f.get("delta_ri"),
        "isomer_alert": bool(f.get("isomer_alert")),
        "delta_mass": f.get("delta_mass"),
        "delta_mass_match": f.get("delta_mass_match"),
        "similarity": f.get("similarity"),
        "library_id": f.get("library_id"), "library_row": f.get("library_row"),
        "runner_up": _hit(f["runner_up"]) if f.get("runner_up") else None,
        "top_hits": [_hit(h) for h in f.get("top_hits") or []],
        "internal_standard": is_internal,
        # a standard of this substance that `match` compared the finding with was run, whatever the TOML says
        # -- not the sample run named as its own standard (`same_run`): that is no separate injection, so
        # "no" even where the TOML lists it (the card named as its own standard read "yes" in the EWA export)
        "reference_standard_run": _reference_run(f, refs_run),
        "reference_standard": f.get("reference_standard"),
        "spectrum": {"mz": list(spectrum.get("mz", [])), "intensity": list(spectrum.get("intensity", []))},
        "reference_spectrum": reference,
        # the raw scan at the apex, to check the deconvolution against (GC-MS results only)
        "apex_spectrum": {"mz": list(apex["mz"]), "intensity": list(apex["intensity"])} if apex else None,
        "deconvolution": {k: f.get(k) for k in ("scan", "scan_range", "model_mz", "purity", "area", "n_ions")},
        "other_techniques": other,
        # new-substance evidence (docs/match.md "New substances"); absent from older results
        "new_substance": f.get("new_substance") is True,
        "suspected_group": f.get("suspected_group"),
        # the group model's probability (results since stop 42): absent from older results, never "null"
        # there -- null says no model named the group
        **({"suspected_group_probability": f["suspected_group_probability"]}
           if "suspected_group_probability" in f else {}),
        "estimated_mass": f.get("estimated_mass"),
        # GC: the weak column-bleed ions the run's background explains, set aside in estimated_mass
        # (results since stop 34); only when there are any, as in the results
        **({"background_ions": list(f["background_ions"])} if f.get("background_ions") else {}),
        "isomers_not_excluded": list(f.get("isomers_not_excluded") or []),
        "closest_compounds": list(f.get("closest_compounds") or []),
        "core_smiles": f.get("core_smiles"),
        "lc": lc_evidence(f),
    }
    out["limitations"] = _limitations(out, technique)
    return out


def held_by_of(f: Mapping[str, Any]) -> list[str]:
    """What holds a finding (results or report) at "isomer not excluded" besides the hit
    (:attr:`~nps_id.match.verdict.Verdict.held_by`), each word once in its order: a hand-edited list of
    300,000 repeats was carried into the report JSON, and two repeats read "an isomer or a heavier compound"
    (attack48); nothing for an identified one. A finding written before stop 48 has none: its rule text says it
    (:func:`~nps_id.match.verdict.held_by_in_rule`), as stop 47's reports read it."""
    if f.get("verdict") == IDENTIFIED:
        return []
    held = f.get("held_by")
    if held is None:
        return held_by_in_rule(f.get("rule") or "")
    return [kind for kind in HELD_BY if kind in held]


def lc_evidence(f: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the MS1 scans say about an LC-MS/MS finding's precursor (its results ``ms1``, docs/match.md):
    ion type, measured and theoretical m/z, mass error, matched reference fragments, isotopes, the
    MS1 peak and its XIC, the other ions of the compound and the precursors that were its 13C
    isotope peak. None for a GC-MS finding."""
    ms1 = f.get("ms1")
    if not ms1:
        return None
    feature = ms1.get("feature")
    return {
        "precursor_mz": f.get("precursor_mz"),
        "measured_mz": None if feature is None else feature.get("mz"),
        **{k: ms1.get(k) for k in ("adduct", "theoretical_mz", "mass_error_ppm", "matched_fragments",
                                   "reference_fragments", "fragment_error_mda", "isotopes", "feature", "xic")},
        "related_ions": [{k: r.get(k) for k in ("ion", "precursor_mz", "rt_min")} for r in f.get("related_ions") or []],
        "isotope_precursors": [{k: r.get(k) for k in ("precursor_mz", "rt_min", "ms1_ratio", "shared_fragments")}
                               for r in f.get("isotope_precursors") or []],
    }


def _hit(h: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("rank", "name", "library_id", "library_row", "inchikey", "formula", "cas", "mf", "rmf", "score",
            "delta_mass", "delta_mass_match", "similarity", "smiles", "structure_source")
    out = {k: h.get(k) for k in keys}
    out["name"] = out["name"] or "(unnamed)"
    out["cas"] = _cas(out["cas"])
    return out


def _cas(value: Any) -> str | None:
    """CAS with dashes; SWGDRUG writes it without (``CASNO: 481298`` -> ``481-29-8``)."""
    if value in (None, "", 0, "0"):
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{5,10}", text):
        text = f"{text[:-3]}-{text[-3:-1]}-{text[-1]}"
    return text


def separate_standard(f: Mapping[str, Any]) -> bool:
    """Whether a reference standard run of a separate injection was compared with the finding (a
    run named as its own standard is marked ``same_run`` by ``match`` and confirms nothing)."""
    standard = f.get("reference_standard")
    return bool(standard) and not standard.get("same_run")


def _reference_run(f: Mapping[str, Any], refs_run: set[str] | None) -> str:
    if separate_standard(f):
        return "yes"
    if (f.get("reference_standard") or {}).get("same_run"):
        return "no"
    name = f.get("name")
    if refs_run is None or not name:
        return "unknown"
    return "yes" if normalise_name(name) in refs_run else "no"


def _limitations(f: Mapping[str, Any], technique: str) -> list[str]:
    """Plain statements of what this finding does not establish (derived, never free text)."""
    notes = [f"Library-search result from one {technique} acquisition; a second, uncorrelated "
             "technique is needed for a full identification (SWGDRUG)."]
    if is_analogue(f):
        notes.append("Analogue-mode match: the substance is similar to, not the same as, the library entry.")
    if f["isomer_alert"]:
        notes.append("Isomer alert: library spectra of other compounds are nearly identical.")
    # a suspected new substance is not its closest hit, so neither are the hit's isomers (the
    # card's 5.17 min ester, MF 621 to methyl palmitate, read "Isomers not excluded (1 ...): their
    # spectra cannot be told from this one"); present.isomers_open leaves them out likewise
    isomers, relatives = ([], []) if f["new_substance"] else injector_relatives(f["isomers_not_excluded"])
    # LC has no retention index: what tells isomers apart there is a reference standard's retention time on the
    # same method ("No retention index measured" named the wrong missing evidence for LC-MS/MS, newuser47)
    lc = technique.startswith("LC")
    excluder = "a reference standard run on the same method" if lc else "a retention index or a reference standard"
    if isomers:
        counts = f"({len(isomers)}; {sum(not i.get('in_library') for i in isomers)} not in the library)"
        excluded = isomers_excluded_by(f)
        notes.append(f"Isomers whose spectra cannot be told from this one {counts} are {excluded}." if excluded else
                     f"Isomers not excluded {counts}: their spectra cannot be told from this one; the substance may "
                     f"be one of them, or {absent_isomer(f)}, unless {excluder} excludes them.")
    # what holds it that is no isomer (Verdict.held_by): mecamylamine's note counted its isomers only (newuser47)
    held = [] if f["new_substance"] or isomers_excluded_by(f) else f.get("held_by") or []
    if HELD_HEAVIER in held:
        notes.append("A heavier compound not excluded: the spectrum shows no ion at the hit's mass, and a heavier "
                     f"compound's fragments can give it; {excluder} excludes it.")
    if HELD_HOMOLOGUE in held:
        # stop 51's rule named it in the rule text and the short forms, but the limitations said nothing of it (attack51b)
        notes.append("A homologue not excluded: the spectrum shows no molecular ion, and a chain one or two CH2 longer "
                     f"or shorter fragments into the same ions; {excluder} excludes it.")
    if HELD_OTHER_FORMULA in held:
        notes.append("A compound of another formula within the precision of the precursor m/z not excluded: the "
                     "precursor m/z, written to fewer than 3 decimals, does not establish the hit's formula; an "
                     f"accurate precursor m/z or {excluder} excludes it.")
    if relatives:
        notes.append(f"GC injector relatives not excluded ({relatives_text(relatives)}): the hot injector turns one "
                     "into the other, so they elute and fragment as the hit does; neither a retention index nor a "
                     "reference standard run excludes them -- derivatisation or LC-MS does.")
    if f["new_substance"] and f.get("suspected_group"):
        notes.append(f"Suspected new substance: no library compound explains the spectrum; the evidence points to "
                     f"{f['suspected_group']}; it is reported under that group, never under the names of the "
                     "closest known compounds.")
    elif f["new_substance"]:
        notes.append("Unknown compound: no library compound explains the spectrum and nothing indicates an NPS group "
                     "(a compound the library lacks, not necessarily a psychoactive one); it is reported as an "
                     "unknown compound, never under the names of the closest known compounds.")
    if f.get("stereo_note"):
        notes.append(f"Stereoisomers: {f['stereo_note']}.")
    if lc and not separate_standard(f):
        notes.append("No retention time of a reference standard on the same method compared: isomers with similar "
                     "spectra are separated only by it (LC has no retention index).")
    elif not lc and f["ri"] is None and not isomers_excluded_by(f):
        # a same-method standard (or the verdict) excluded them: no gap left open (etizolam on the card, newuser48)
        notes.append("No retention index measured: isomers with similar spectra are not separated by RI.")
    if (f.get("reference_standard") or {}).get("same_run"):
        notes.append("No separate reference standard of this substance was run: the run named as its standard "
                     "is this run itself.")
    elif f["reference_standard_run"] == "no":
        notes.append("No reference standard of this substance was run in the batch.")
    if f["internal_standard"]:
        notes.append("Internal standard added by the laboratory: not a constituent of the item.")
    return notes


def _class_of_injector_relative(isomers: list[Mapping[str, Any]], overrides) -> dict[str, Any] | None:
    """The EWA class of an NPS the finding cannot be told from because the GC injector turns one
    into the other (4-phenyl-2-pyrrolidinone, which the taxonomy cannot place, for phenibut), when
    the taxonomy cannot place the hit itself: without it the finding would not be exported and the
    early warning would miss the phenibut. Its ``rule`` names the relative."""
    for relative in injector_relatives(isomers)[1]:
        if relative.get("name"):
            found = classify(relative["name"], (), smiles=relative.get("smiles") or None, overrides=overrides)
            if found.nps is True:
                via = injector_direction(str(relative.get("move")))
                return {**found.to_dict(), "rule": f"{found.rule} (as {relative['name']}, a compound the GC "
                                                   f"injector {via} the hit: they elute as one)"}
    return None


def injector_relatives(isomers: list[Mapping[str, Any]]) -> tuple[list, list]:
    """(isomers, GC injector relatives) of a finding's ``isomers_not_excluded``: a relative (phenibut
    for its lactam) elutes as the hit, so a standard at the same RT or an RI excludes only the isomers."""
    relatives = [i for i in isomers if is_injector_relative(i.get("move"))]
    return [i for i in isomers if i not in relatives], relatives


def relatives_text(relatives: list[Mapping[str, Any]]) -> str:
    """'NCC(CC(=O)O)c1ccccc1, not in the library' -- each relative by name, else by its structure."""
    return "; ".join(f"{r.get('name') or r['smiles']}, {'in' if r.get('in_library') else 'not in'} the library"
                     for r in relatives[:3])


def isomers_excluded_by(f: Mapping[str, Any]) -> str | None:
    """What excluded a report finding's spectrally inseparable isomers, in words ("excluded by ..."),
    or None when nothing did: a reference standard at the same RT, or a criterion of the verdict (the
    internal standard at its expected RT, a retention index) -- never while the verdict's isomer criterion
    still fails but for a GC injector relative (which elutes as the hit: the standard excludes the isomers
    only), every output must agree."""
    relatives = injector_relatives(f.get("isomers_not_excluded") or [])[1]
    if not relatives and any(c.startswith(ISOMER_CRITERIA) for c in f.get("criteria_failed") or ()):
        # the verdict did not take the standard: results before stop 49 (a weak match's standard at the same RT
        # left its isomer criterion failed; the report said "excluded", newuser49). With an injector relative the
        # verdict keeps it failed, and the standard excludes the isomers only (said beside the relatives)
        return None
    standard = f.get("reference_standard") or {}
    if standard.get("within") and separate_standard(f):  # the run as its own standard excludes nothing
        return f"excluded by the reference standard run {standard.get('run')} at the same retention time"
    return next((c.removeprefix("isomers ") for c in f["criteria_met"] if c.startswith("isomers excluded by")), None)


def report_chromatogram(results: Mapping[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    tic = results.get("tic")
    report_score = ((results.get("parameters") or {}).get("verdict") or {}).get("report_score")
    # LC-MS/MS: why a precursor gave no finding
    why_not = {u.get("component"): u.get("reason") for u in results.get("unassigned_features") or []}
    components = []
    for c in results.get("components") or []:
        finding = c.get("finding")
        label = finding_label(findings[finding]) if finding is not None and finding < len(findings) else None
        best = c.get("best_hit")
        # LC-MS/MS: the precursor m/z is what tells components apart (no model ion), and the
        # area is its MS1 peak's, as the finding's "MS1 peak of the precursor" gives it
        feature = c.get("ms1_feature") or {}
        components.append({
            "index": int(c.get("index", len(components))),
            "rt_min": None if c["rt_min"] is None else float(c["rt_min"]),
            "height": c.get("height", feature.get("height")),
            "area": c.get("area", feature.get("area")),
            "model_mz": c.get("model_mz"),
            "precursor_mz": c.get("precursor_mz"),
            "n_ions": c.get("n_ions"),
            "top_ions": c.get("top_ions"),
            "best_hit": {"name": best.get("name") or "(unnamed)", "mf": best.get("mf")} if best else None,
            "finding": finding,
            "label": label,
            "note": _component_note(c, label, report_score, why_not.get(c.get("index"))),
        })
    blank = results.get("blank") or {}
    removed = [float(c["rt_min"]) for c in results.get("blank_subtracted") or []]
    # the blank's TIC is drawn beside the sample's, with where it removed components
    return {"acquisition": 0, "tic": tic, "components": components,
            "blank": {"file": printable(blank["file"]), "tic": blank["tic"], "removed_rt_min": removed} if blank.get("tic") else None}


def _component_note(c: Mapping[str, Any], label: str | None, report_score: int | None,
                    unassigned_reason: str | None = None) -> str:
    """Why a component gave the finding it gave, or none, in words (LC-MS/MS: another ion of a
    finding's compound, or the unassigned feature's reason)."""
    ion = c.get("ion_of")
    if ion is not None:
        return f"{ion['ion']} of finding #{shown_number(ion['finding'])}" + (f" ({label})" if label else "")
    if unassigned_reason:
        return f"no finding: {unassigned_reason}"
    if c.get("finding") is not None:
        return f"finding #{shown_number(c['finding'])}" + (f" ({label})" if label else "")
    if c.get("duplicate_of") is not None:
        return f"same peak as component {component_number(c['duplicate_of'])} (shoulder or tail, same best hit): reported there"
    best = c.get("best_hit")
    if best is None:
        return "no finding: no library hit" if "best_hit" in c else "no finding (best hit not recorded in the results)"
    floor = f" {report_score}" if report_score is not None else ""
    return f"no finding: MF {best.get('mf')} below the reporting score{floor}"


def monoisotopic_mass(formula: str | None) -> float | None:
    """Monoisotopic mass (Da) of a neutral formula such as ``C16H12BrFN2O``, to 4 decimals
    (:func:`nps_id.chem.formula.monoisotopic_mass`); None if unparsable.

    >>> monoisotopic_mass("C16H12BrFN2O")
    346.0117
    """
    value = formula_monoisotopic_mass(formula)
    return None if value is None else round(value, 4)



_LOCANT = re.compile(r"(^|[^A-Za-z])(\d+[a-z]?'?(,\d+[a-z]?'?)*|N(,N)?|[NOS]\d?)-[\[(a-zA-Z]")


def systematic_name(synonyms) -> tuple[str | None, str | None]:
    """(name, source): a systematic (IUPAC-style) name from the library entry's synonyms, for
    libraries such as SWGDRUG that have no IUPAC field: the longest synonym with locants
    (``1-(4-fluorophenyl)-...``, ``N,N-dimethyl-...``). The source says it is a library synonym,
    not a name checked against IUPAC rules."""
    systematic = [s for s in synonyms if len(s) >= 12 and _LOCANT.search(s)]
    if not systematic:
        return None, None
    return max(systematic, key=len), "library synonym (systematic form; not checked against IUPAC rules)"


def is_ewa_reportable(finding: Mapping[str, Any]) -> bool:
    """The one rule for the EWA export: an identified or tentative NPS that is not an internal
    standard, not found in the blank run itself (``blank_run``: what the blank holds is carry-over or
    contamination, not an item's substance) and was matched in identity mode. ``ewa.nps`` is False for established
    drugs/medicines/adulterants and None when the taxonomy cannot tell; neither is exported. An
    analogue-mode finding is a substance related to the library entry, not the entry itself, so
    exporting the entry's name would report a substance that was not found."""
    return (finding["verdict"] in (IDENTIFIED, TENTATIVE) and not finding["internal_standard"]
            and not finding.get("blank_run") and not is_analogue(finding) and finding["ewa"]["nps"] is True)


def is_new_substance_lead(finding: Mapping[str, Any]) -> bool:
    """The one rule for a suspected new substance in the EWA export: one with a substance group
    (named by it), whatever its library search's verdict -- ``inconclusive`` or ``tentative``, both
    say the identity evidence is insufficient (issue 18; the export's ``identification_level`` says
    "not identified"). Without a group it is an unknown to examine -- often a background compound
    the library lacks -- not an early-warning lead; nor is one in the blank run itself."""
    return bool(finding.get("new_substance") and finding.get("suspected_group") and not finding["internal_standard"]
                and not finding.get("blank_run"))


def is_new_substance(finding: Mapping[str, Any]) -> bool:
    """The one rule for what the reports list in their "not in the library" section (and ``nps-id
    batch``'s summary as one of its rows): a finding no library compound explains, whatever its
    verdict or group -- an ``inconclusive`` unknown of no group is an early warning to examine too.
    It is a suspected new substance when a group is indicated, else :func:`is_unknown_compound`."""
    return bool(finding.get("new_substance"))


def absent_isomer(finding: Mapping[str, Any], isomers_absent: bool = True,
                  relatives: list[Mapping[str, Any]] = ()) -> str:
    """What an isomer or GC injector relative of a named finding that the library lacks would be: "a
    new substance" -- the early-warning word -- only when the taxonomy places it as an NPS; else "a
    compound not in the library". An isomer (``isomers_absent``: one is not in the library) is placed
    by the hit's class (``ewa.nps`` true; a hit known not to be one, benzocaine, or that no NPS rule
    places, a pesticide: Azinphos methyl on the PestMix slice read "possibly a new substance" until
    stop 35); an injector relative not in the library by its own structure
    (:func:`~nps_id.chem.ewa_groups.structure_is_nps`): it is another compound, and phenibut, the open
    form of an unplaced lactam hit, read "possibly a compound not in the library" until stop 36. The
    match layer words its results so by the library's class of the hit
    (:func:`nps_id.match.isomer_evidence.absent_isomer`); this, by the report's (a laboratory's overrides
    too); both in the words of :func:`~nps_id.match.verdict.absent_isomer_words`."""
    hit_nps = (finding.get("ewa") or {}).get("nps") is True
    return absent_isomer_words(isomers_absent and hit_nps,
                               ((r.get("name"), r.get("smiles")) for r in relatives if not r.get("in_library")))


def rule_text(rule: str | None, ewa: Mapping[str, Any], isomers: list[Mapping[str, Any]]) -> str | None:
    """The verdict's rule as the reports show it: the isomer rules' "it may be ..." worded by what an
    isomer the library lacks would be (:func:`absent_isomer`) by the report's class of the hit -- the
    results word it by the library's (:func:`~nps_id.match.verdict.may_be`), and a results file of
    before stop 37 says "a new substance" whatever the hit: for benzocaine's isomers, "it may be a
    compound not in the library"."""
    if not rule or not any(f"it may be {what}" in rule for what in (NEW_ISOMER, UNLISTED_ISOMER)):
        return rule  # no isomer rule: its relatives are not classified
    return may_be(rule, absent_isomer({"ewa": ewa}, True, injector_relatives(isomers)[1]))


def is_unknown_compound(finding: Mapping[str, Any]) -> bool:
    """The one rule for a finding no library compound explains and no NPS group is indicated for
    (``new_substance`` true, ``suspected_group`` empty): every output calls it an unknown compound,
    never a suspected new (psychoactive) substance -- the PestMix slice's unknowns, whose closest hits
    are phospholipids and pesticides, read "suspected new substance" until stop 35. ``new_substance``
    itself stays as the results write it."""
    return bool(finding.get("new_substance") and not finding.get("suspected_group"))


#: What a suspected new substance (a group is indicated) is called wherever a person reads it, in
#: place of a compound name.
NEW_SUBSTANCE = "suspected new substance"
#: What a finding of :func:`is_unknown_compound` is called wherever a person reads it.
UNKNOWN_COMPOUND = "unknown compound"
#: What :data:`UNKNOWN_COMPOUND` means, beside it in a label.
UNKNOWN_COMPOUND_NOTE = "not in the library; no NPS group indicated"


def finding_number(index: int) -> int:
    """A finding's or component's number wherever a person reads it: counted from 1, as a chemist
    counts ("#0" read as a mistake). The documents' ``index`` (and the LIMS and EWA ``finding``)
    keep counting from 0: a contract (docs/report-schema.md); ``finding_number`` fields carry this."""
    return index + 1


def shown_number(index: int) -> str:
    """:func:`finding_number` as the reports print it."""
    return str(finding_number(index))


def component_number(index: int) -> str:
    """A component's number wherever a person reads it: ``C`` and :func:`finding_number` ("C4").
    Findings are "#N" and count only the components that gave one, so a bare "3" beside the TIC's
    "#3 Bupivacaine" named another peak (component 3 at 5.744 min of card 220223030, bupivacaine
    component 4): the letter keeps the two numberings apart (stop 32)."""
    return f"C{finding_number(index)}"


def finding_label(finding: Mapping[str, Any]) -> str:
    """How a finding is named wherever a person reads it: a suspected new substance by its group,
    never by the library compounds it resembles, and one of no group as an unknown compound (not a
    suspected new psychoactive substance: nothing points to an NPS); an analogue-mode finding is
    "analogue of X" -- the substance is related to the library entry X, not X -- as in ``nps-id
    match``'s table."""
    name = finding["name"]
    if is_unknown_compound(finding):
        return f"{UNKNOWN_COMPOUND} ({UNKNOWN_COMPOUND_NOTE})"
    if finding.get("new_substance"):
        return f"{NEW_SUBSTANCE} ({finding['suspected_group']})"
    return f"analogue of {name}" if is_analogue(finding) else name


def is_analogue(finding: Mapping[str, Any]) -> bool:
    """True for an analogue-mode finding: a substance related to the library entry, not the entry."""
    return finding.get("match_mode") == "analogue"

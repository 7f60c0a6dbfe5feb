"""What a reader sees, whatever the format (HTML, PDF, LIMS, EWA, the command line): the words,
labels and table cells every renderer takes from a report document, so they read the same everywhere.

Entry points: :func:`finding_label` (from ``findings``, which names components too), :func:`isomers_open`,
:func:`conclusion`, :func:`verdict_badge`, :func:`summary_line`, the group model's probability
(:func:`group_probability_text`, :func:`group_band_rate`, short :func:`group_band_short`),
the ``*_fields`` functions ((label, value) pairs in reading order; :func:`lc_evidence_fields` for
LC-MS/MS findings, with :func:`shown_precursor_mz` and :func:`fragments_text`; :func:`new_substance_fields`
with :func:`estimated_mass_text`),
the "Suspected new substances" section (:func:`new_substances`, :data:`NEW_SUBSTANCES_NOTE`, :func:`new_substance_heading`,
:data:`CLOSEST_HEADERS` / :func:`closest_rows`, :func:`core_caption`), :func:`scores_note` (the scale of
each score column a table shows),
:func:`component_rows` (:func:`component_model_header`), :func:`check_lines`, :func:`reference_standard_text`
and :func:`reference_standard_field` (the checks a reviewer repeats by hand),
:func:`ewa_basis`, :func:`tic_heading`, :func:`counted` (from ``nps_id._words``), :func:`display_number`,
:func:`clipped` and :data:`DASH` / :data:`RT_DIGITS`.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable, Mapping

from nps_id._words import counted  # one plural rule for every layer; renderers read it from here
from nps_id.chem.ewa_groups import UNCLASSIFIED_GROUP
from nps_id.chem.formula import nominal_mass
from nps_id.match.standards import SAME_RUN_BASIS
from nps_id.match.verdict import IDENTIFIED, NOT_ISOMER_WORDS, TENTATIVE, RuleId, held_words
from nps_id.report.findings import (UNKNOWN_COMPOUND, UNKNOWN_COMPOUND_NOTE, absent_isomer, component_number,
                                    finding_label, held_by_of, injector_relatives, is_analogue, is_new_substance,
                                    is_new_substance_lead, is_unknown_compound, isomers_excluded_by, relatives_text,
                                    shown_number)

DASH = "\u2014"
#: Retention times are shown with this many decimals everywhere (tables and finding pages).
RT_DIGITS = 3
#: Above the Components table (HTML and PDF): how its numbers relate to the TIC's labels and the findings'.
COMPONENTS_INTRO = ("Every component extracted from the run, with or without a finding: CN is the component's "
                    "number (grey on the TIC), #N the finding it gave (labelled on the TIC and in Findings).")


#: What each score column of a table means and its scale, keyed by the column's header (:func:`scores_note`).
_SCORE_COLUMNS = {
    "MF": "MF / RMF: EI match factor and reverse match factor, 0\u2013999 (999: identical spectra; "
          "\u2014 for LC-MS/MS)",
    "Gap": "Gap: the hit's score minus that of the best different compound, on the same 0\u2013999 scale "
           "(\u2014 when none scored)",
    "Score": "Score: the ranking score, 0\u2013999 (EI: the match factor; LC-MS/MS: the MS/MS score \u00d7 999; "
             "analogue mode: the similarity plus the NPS mass prior)",
    "Similarity": "Similarity: the spectral score alone, 0\u2013999",
    "\u0394mass": "\u0394mass: the unknown's mass minus the entry's, Da (analogue mode and LC-MS/MS)",
}


def scores_note(headers: Iterable[str]) -> str:
    """The line under a table that says what its score columns are and on which scale (a reviewer
    must not guess whether 846 is out of 1,000 or a Similarity of 0.62 out of 1)."""
    return "; ".join(_SCORE_COLUMNS[h] for h in headers if h in _SCORE_COLUMNS) + "."


#: Shown with an analogue-mode finding's identifiers, which are the library entry's.
ANALOGUE_IDENTIFIERS_NOTE = ("formula, mass, InChIKey, CAS and EWA group below are those of the library entry; "
                             "the substance found is an unidentified analogue of it")


def structure_caption(finding: Mapping[str, Any]) -> str:
    """The small text under a drawn structure: whose structure it is and where it came from."""
    source = finding.get("structure_source") or "source not recorded"
    status = finding.get("structure_status")
    checked = {"verified": "InChIKey verified against the record", "unverified": "NOT verified against the record"}
    return "Structure of the library entry; from " + source + (f", {checked[status]}" if status in checked else "")


def identifier_caveats(finding: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) pairs to show before a finding's identifiers: whose they are when they are not
    the substance's (a suspected new substance, an analogue), or none."""
    if finding.get("new_substance"):
        return [("Unknown compound" if is_unknown_compound(finding) else "Suspected new substance",
                 f"formula, mass, InChIKey, CAS and EWA group below are those of the closest library entry, "
                 f"{finding['name']}; no library compound explains the spectrum")]
    return [("Analogue", ANALOGUE_IDENTIFIERS_NOTE)] if is_analogue(finding) else []


def isomers_open(finding: Mapping[str, Any]) -> str | None:
    """For a named identified/tentative finding whose spectrally inseparable isomers nothing excludes,
    that the substance is the hit or one of them -- a new substance when the library lacks it (issue
    18: say both), as ``nps-id match`` flags "[isomer not excluded]"; a GC injector relative (not an
    isomer, and not excluded by a standard at the same RT) is named as such; else None."""
    isomers, relatives = injector_relatives(finding.get("isomers_not_excluded") or [])
    # none enumerated: no verified structure, or a molecule too small for EI to tell its isomers apart; or held
    # by what is no isomer under another rule (unit-resolution phenylethylamine's "HRMS criteria not met")
    unlisted = finding.get("rule_id") == RuleId.ISOMER_NOT_EXCLUDED or bool(not_isomers(held_by_of(finding)))
    if (not (isomers or relatives or unlisted) or finding.get("new_substance")
            or finding["verdict"] not in (IDENTIFIED, TENTATIVE)):
        return None
    if isomers_excluded_by(finding) is not None:  # a standard at the same RT: the isomers, not a relative
        isomers, unlisted = [], False
    # no isomer held it, or not only one: a heavier compound (EI), another formula at a unit precursor (MS/MS)
    held = held_by_of(finding)  # a report JSON written before stop 48 has none: its rule text says it
    parts = []
    if isomers:
        counted = f"{len(isomers)} isomer" + ("s" if len(isomers) > 1 else "")  # "(2, 2 not in ...)" read as a code
        parts.append(f"an isomer the evidence does not exclude ({counted}, "
                     f"{sum(not i.get('in_library') for i in isomers)} not in the library)")
        parts += not_isomers(held)
    elif unlisted and not relatives:
        return f"{finding['name']} or {held_words(held) or 'an isomer'} the evidence does not exclude"
    if relatives:
        ways = {r["move"].split(":")[0] for r in relatives}
        how = " or ".join(w for m, w in (("thermal_precursor", "turns into it"), ("thermal_product", "makes of it"))
                          if m in ways)
        parts.append(f"a compound the GC injector {how} ({relatives_text(relatives)})")
    if not parts:
        return None
    absent = any(not i.get("in_library") for i in isomers + relatives)
    what = absent_isomer(finding, any(not i.get("in_library") for i in isomers), relatives)
    return f"{finding['name']} or " + " or ".join(parts) + (f", possibly {what}" if absent else "")


def not_isomers(held: list[str]) -> list[str]:
    """The words of what holds a finding that is no isomer and no injector relative (a heavier compound, a
    compound of another formula: :attr:`~nps_id.match.verdict.Verdict.held_by`), in its order."""
    return [NOT_ISOMER_WORDS[k] for k in held if k in NOT_ISOMER_WORDS]


def technique_of(doc: Mapping[str, Any], finding: Mapping[str, Any]) -> str:
    """The technique of the acquisition a finding comes from, e.g. ``GC-EI-MS``."""
    return doc["acquisitions"][finding.get("acquisition", 0)]["technique"]


def verdict_badge(doc: Mapping[str, Any], finding: Mapping[str, Any]) -> str:
    """The words on a finding's verdict badge: an ``identified`` library match reads as meeting the
    library-match criteria on one technique, unless another technique is recorded for it."""
    if finding["verdict"] == "identified" and not finding.get("other_techniques"):
        return f"meets library-match criteria ({technique_of(doc, finding)} only)"
    return finding["verdict"]


def conclusion(doc: Mapping[str, Any], finding: Mapping[str, Any]) -> str:
    """The conclusion of one finding in words, as a chemist writes it under the data."""
    technique = technique_of(doc, finding)
    category = doc["acquisitions"][finding.get("acquisition", 0)]["swgdrug_category"]
    other = finding.get("other_techniques") or []
    if finding.get("internal_standard"):
        return "Internal standard added by the laboratory; not a constituent of the item."
    if is_analogue(finding):
        return (f"{technique} analogue search: the substance is related to {finding['name']} but is not "
                f"{finding['name']}; it is not identified.")
    if finding.get("new_substance"):
        # the subject is the unknown, never the library compound it resembles ("no conclusion about
        # Methyl Palmitate" read as if methyl palmitate had been looked for)
        closest = f"not identified; closest library entry, for orientation only: {finding['name']}."
        if is_unknown_compound(finding):  # nothing points to an NPS: no "new substance" (stop 35)
            return f"{technique}: an {UNKNOWN_COMPOUND} ({UNKNOWN_COMPOUND_NOTE}: an unknown to examine), {closest}"
        lead = (f"{finding['suspected_group']}: an early-warning lead" if is_new_substance_lead(finding)
                else f"{finding['suspected_group']}, found in the blank: not an early-warning lead")
        return f"{technique}: a suspected new substance ({lead}), {closest}"
    if finding["verdict"] == "identified":
        if other:
            return (f"{technique} library match meets the laboratory's criteria, and {', '.join(other)} is "
                    f"recorded for this substance: two or more independent techniques (SWGDRUG category "
                    f"{category} plus another) support the identification.")
        return (f"{technique} library match meets the laboratory's criteria; a second, independent technique "
                f"is required for identification (SWGDRUG category {category}).")
    if finding["verdict"] == "tentative":
        # the criteria are named as requirements: "(a heavier compound excluded (not possible ...))" alone read as
        # the finding that it was excluded (stop 48, newuser48)
        failed = "not met: " + "; ".join(finding["criteria_failed"]) if finding["criteria_failed"] else (
            "not every criterion met")
        return (f"{technique} library match below the laboratory's identification criteria ({failed}): "
                "a tentative indication, not an identification.")
    return (f"{technique} library hit does not meet the laboratory's criteria: no conclusion about "
            f"{finding['name']}.")


def laboratory_line(doc: Mapping[str, Any]) -> str:
    """The laboratory as the header names it: ``Name (GB)``, or that it was not given."""
    lab = doc["laboratory"]
    if not lab.get("name") and not lab.get("country"):
        return "laboratory not given"
    return " ".join(p for p in (lab.get("name") or "laboratory name not given",
                                f"({lab['country']})" if lab.get("country") else "") if p)


def ewa_label(finding: Mapping[str, Any]) -> str:
    """EWA group (and subclass) as a reader sees it, e.g. ``Other substances \u2013 Benzodiazepines``;
    a substance the taxonomy knows is not an NPS says so. The taxonomy classifies the library hit:
    for a suspected new substance or an analogue -- not the hit -- the label says it is the closest
    hit's ("closest hit: Other substances (the hit is not an NPS)"), so that no reader takes the
    new substance for one known not to be an NPS. A closest hit the taxonomy leaves unclassified
    reads "closest hit: not classified": "closest hit: Unknown (not classified)" read as a hit named
    Unknown."""
    ewa = finding["ewa"]
    label = ewa["group_label"] + (f" \u2013 {ewa['subclass_label']}" if ewa.get("subclass_label") else "")
    if finding.get("new_substance") or is_analogue(finding):
        if ewa["group"] == UNCLASSIFIED_GROUP:
            return "closest hit: not classified"
        return f"closest hit: {label}" + (" (the hit is not an NPS)" if ewa["nps"] is False else "")
    return label + (" (not an NPS)" if ewa["nps"] is False else "")


def ewa_basis(finding: Mapping[str, Any], *, rule: bool) -> str:
    """What placed the finding's EWA group: the HTML's "decided by" cell with the taxonomy rule
    (``rule``: "name (not_nps list)"), else the PDF's "by name"; a hit no rule places says so in
    words -- "decided by none (-)" and "(by none)" read as if someone had decided on no group."""
    ewa = finding["ewa"]
    if ewa["source"] == "none":
        return "no taxonomy rule (name or structure) places it"
    return f"{ewa['source']} ({ewa.get('rule') or '-'})" if rule else f"by {ewa['source']}"


def tic_heading(chromatogram: Mapping[str, Any]) -> str:
    """The heading over a run's TIC (and its blank's, drawn below it when there is one)."""
    return "Total ion chromatogram" + (" and the blank's" if chromatogram.get("blank") else "")


def summary_line(doc: Mapping[str, Any]) -> str:
    """The counts of a report in one sentence.

    >>> summary_line({"summary": {"identified": 2, "tentative": 1, "inconclusive": 0, "nps_reportable": 1}})
    '2 identified, 1 tentative, 0 inconclusive; 1 NPS for the early-warning export.'
    >>> lead = {"new_substance": True, "suspected_group": "Synthetic cathinones", "internal_standard": False}
    >>> summary_line({"summary": {"identified": 0, "tentative": 0, "inconclusive": 1, "nps_reportable": 1},
    ...               "findings": [lead]})
    '0 identified, 0 tentative, 1 inconclusive; 1 for the early-warning export: 0 NPS, 1 suspected new substance (not identified).'
    """
    s = doc["summary"]
    counts = f"{s['identified']} identified, {s['tentative']} tentative, {s['inconclusive']} inconclusive; "
    # a suspected new substance is exported by its group, not identified: not counted as an NPS found
    new = sum(bool(is_new_substance_lead(f)) for f in doc.get("findings") or [])
    if not new:
        return counts + f"{s['nps_reportable']} NPS for the early-warning export."
    return (counts + f"{s['nps_reportable']} for the early-warning export: {s['nps_reportable'] - new} NPS, "
            f"{counted(new, 'suspected new substance')} (not identified).")


def item_fields(doc: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of the item, in reading order; None where the sample information is silent."""
    item = doc["item"]
    refs = item.get("reference_standards_run")
    return [
        ("Laboratory sample id", item.get("lab_sample_id")),
        ("Case id", item.get("case_id")),
        ("Nature of the sample", item.get("nature")),
        ("Description", item.get("description")),
        ("Physical form", item.get("physical_form")),
        ("Date received", item.get("date_received")),
        ("Date seized", item.get("date_seized")),
        ("Country of seizure", item.get("country_of_seizure")),
        ("Internal standard(s)", ", ".join(item.get("internal_standards") or []) or None),
        # None: not stated; []: stated that none was run
        ("Reference standards run", None if refs is None else ", ".join(refs) or "none"),
        ("Other techniques applied", ", ".join(item.get("other_techniques") or []) or None),
    ]


def responsibility_fields(doc: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of who is responsible for the report, and its status."""
    return [("Analyst", doc["analyst"].get("name")), ("Analyst signed at", doc["analyst"].get("signed_at")),
            ("Reviewer", doc["reviewer"].get("name")),
            ("Reviewed/signed at", doc["reviewer"].get("signed_at")), ("Status", doc["status"])]


def draft_mark(doc: Mapping[str, Any]) -> str | None:
    """The mark every page of a draft carries (None for a signed report)."""
    return "DRAFT – not reviewed, not for release" if doc["status"] == "draft" else None


def library_entry_fields(finding: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of the library entry behind a finding: its own comment, CAS, systematic name."""
    source = finding.get("iupac_name_source")
    return [("Library entry comment", finding.get("library_comment")), ("CAS", finding.get("cas")),
            ("IUPAC name" + (f" ({source})" if source else ""), finding.get("iupac_name"))]


def deconvolution_fields(finding: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of what the deconvolution of a finding's component used (GC-MS results)."""
    d = finding.get("deconvolution") or {}
    scans = d.get("scan_range")
    purity = d.get("purity")
    return [("Model ion (m/z)", d.get("model_mz")), ("Apex scan", d.get("scan")),
            ("Scan range", f"{scans[0]}–{scans[1]}" if scans else None),
            ("Purity (share of the TIC at the apex)", None if purity is None else f"{100 * purity:.0f} %"),
            ("Area (counts·s)", d.get("area")), ("Ions in the extracted spectrum", d.get("n_ions"))]


def new_substance_fields(finding: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of a suspected new substance: its mass, group and whether it is an EWA lead."""
    return [("Estimated nominal mass", estimated_mass_text(finding)),
            ("Suspected group", finding.get("suspected_group")),
            ("Group model's probability (0-1)", group_probability_text(finding)),
            ("Early-warning lead", "yes (exported to the EWA)" if is_new_substance_lead(finding)
             else "no (found in the blank run: carry-over or contamination)" if finding.get("blank_run")
             else "no (no NPS group indicated: an unknown compound to examine)")]


def group_probability_text(finding: Mapping[str, Any]) -> str:
    """How sure the learned group model was of a suspected group, with how often a group of that band
    was right on the development data for the finding's technique (:func:`group_band_rate`): a group at
    0.51 and one at 0.99 read the same until stop 42. A group no model named -- the closest compounds'
    group or vote, a diagnostic-ion rule -- has no probability, and says so; results older than the
    field say that.

    >>> group_probability_text({"suspected_group": "Synthetic cathinones", "suspected_group_probability": 0.912})
    '0.912 (GC-EI-MS, SWGDRUG compounds left out of the library: a group at 0.9-1 was right for 724 of 763)'
    >>> group_probability_text({"suspected_group": "Fentanyl analogues", "suspected_group_probability": None})
    "none: not the model's group (the closest compounds' group or vote, or a diagnostic-ion rule)"
    >>> group_probability_text({"suspected_group": "Fentanyl analogues"})
    'not recorded (results written before nps-id recorded it)'
    """
    if finding.get("suspected_group") is None:
        return DASH
    if "suspected_group_probability" not in finding:
        return "not recorded (results written before nps-id recorded it)"
    probability = finding["suspected_group_probability"]
    if probability is None:
        return "none: not the model's group (the closest compounds' group or vote, or a diagnostic-ion rule)"
    # an LC-MS/MS finding has its precursor evidence, if empty ({}: a hand-edited document read GC-EI-MS)
    return f"{probability:.3f} ({group_band_rate(probability, finding.get('lc') is not None)})"


#: How often the EI group model's group was the compound's own, per probability band (low, high, right,
#: named): SWGDRUG 3.4 compounds left out of the library, fold models that never saw the compound
#: (benchmarks/bench_novelty.py --details; stop 44's models, trees' share 0.6 and threshold 0.56:
#: benchmarks/README.md "Stop 44 (branch group44)"; stop 43's, 0.52: 40 of 66 ... 687 of 721).
EI_GROUP_BANDS = ((0.56, 0.6, 24, 41), (0.6, 0.7, 48, 70), (0.7, 0.8, 69, 92), (0.8, 0.9, 161, 189),
                  (0.9, 1.0, 724, 763))
#: The MS/MS group model's groups on the development data (MassBank MS/MS compounds left out and absent,
#: fold models, at 0.6-1): right, named -- too few to rate by band, and the EI bands do not apply to them.
MS2_GROUPS_RIGHT = (5, 8)
#: The MS/MS group model names a group from this probability (the EI model from the first band's low end).
MS2_GROUP_FLOOR = 0.6


def group_band_rate(probability: float, ms2: bool) -> str:
    """How often a group the model named at ``probability`` was right on the development data, for the
    finding's technique (``ms2``: LC-MS/MS): EI by band (:data:`EI_GROUP_BANDS`); MS/MS its few groups
    in all (:data:`MS2_GROUPS_RIGHT`), said so -- the EI bands were printed for MS/MS findings until stop 43;
    below the model's floor (a results file neither model wrote) none: 0.3 read "0.52-0.6 ... 40 of 66".

    >>> group_band_rate(0.57, ms2=False)
    'GC-EI-MS, SWGDRUG compounds left out of the library: a group at 0.56-0.6 was right for 24 of 41'
    >>> group_band_rate(0.95, ms2=True)[:74]
    'LC-MS/MS: too few groups on the development data to rate by band -- 5 of 8'
    >>> group_band_rate(0.55, ms2=True)
    'below 0.6, where the model names no group: no rate measured on the development data'
    """
    band = group_band(probability, ms2)
    if band is None:  # a results file the models never wrote: no band measured it
        return f"below {group_floor(ms2):g}, where the model names no group: no rate measured on the development data"
    if ms2:
        right, named = MS2_GROUPS_RIGHT
        return (f"LC-MS/MS: too few groups on the development data to rate by band -- {right} of {named} right "
                f"at 0.6-1, MassBank MS/MS compounds left out of the library or absent from it; the GC-EI-MS rates "
                f"do not apply")
    low, high, right, named = band
    return (f"GC-EI-MS, SWGDRUG compounds left out of the library: a group at {low:g}-{high:g} was right "
            f"for {right} of {named}")


def group_band_short(probability: float, ms2: bool) -> str:
    """:func:`group_band_rate` in a table cell's few words (``match``'s terminal table, the batch summary).

    >>> group_band_short(0.58, ms2=False)
    'at 0.56-0.6 right 24 of 41 in the EI tests'
    """
    band = group_band(probability, ms2)
    if band is None:  # below the model's floor: a results file it never wrote
        return f"below {group_floor(ms2):g}: no rate measured"
    if ms2:
        return "LC-MS/MS: too few groups in the tests to rate, {} of {} right".format(*band[2:])
    return "at {:g}-{:g} right {} of {} in the EI tests".format(*band)


def group_floor(ms2: bool) -> float:
    """The probability from which the technique's group model names a group."""
    return MS2_GROUP_FLOOR if ms2 else EI_GROUP_BANDS[0][0]


def group_band(probability: float, ms2: bool) -> tuple[float, float, int, int] | None:
    """The measured band (low, high, right, named) of ``probability`` -- for MS/MS its groups in all, (0.6, 1,
    right, named) --, None outside the named range (below the model's floor, or not 0-1)."""
    if not group_floor(ms2) <= probability <= 1:
        return None
    if ms2:
        return (MS2_GROUP_FLOOR, 1.0, *MS2_GROUPS_RIGHT)
    return next((band for band in EI_GROUP_BANDS if probability < band[1]), EI_GROUP_BANDS[-1])


def estimated_mass_text(finding: Mapping[str, Any]) -> str:
    """A suspected new substance's estimated nominal mass with what it was read from where a reader
    could not tell: an LC-MS/MS precursor is read as [M+H]+ / [M-H]- whatever its ion type (the
    PestMix slice's 7.51 min unknown: "542" beside "ion type unknown, m/z 543.32527"), and a GC
    component's bleed ions the run's background explains are set aside (ELEY 20.66 min: 218, with
    207 in its spectrum).

    >>> estimated_mass_text({"estimated_mass": 218, "background_ions": [207]})
    "218 (m/z 207 set aside: column bleed, at most 2x the run's background around the component)"
    >>> estimated_mass_text({"estimated_mass": 542, "lc": {"precursor_mz": 543.32527, "measured_mz": None}})
    '542 (the precursor, m/z 543.32527, read as [M+H]+ whatever its ion type)'
    """
    mass = finding.get("estimated_mass")
    lc = finding.get("lc")
    if mass is None:
        return DASH
    if lc and shown_precursor_mz(lc) is not None:
        precursor = shown_precursor_mz(lc)
        ion = "[M+H]+" if float(precursor) > mass else "[M-H]-"  # docs/search.md, EstimatedMass
        return f"{mass} (the precursor, m/z {precursor}, read as {ion} whatever its ion type)"
    if finding.get("background_ions"):
        ions = ", ".join(str(m) for m in finding["background_ions"])
        return f"{mass} (m/z {ions} set aside: column bleed, at most 2x the run's background around the component)"
    return str(mass)


#: The paragraph that opens the section of findings no library compound explains (:func:`new_substances_title`).
#: It says what the estimated mass and the suspected group rest on and how often they were right on the
#: development data (docs/report-schema.md, "Suspected new substances"): until stop 41 both read as facts.
#: It ends with what checks such a lead (stop 44: "a lead to check" did not say how; the words of ``match --help``).
NEW_SUBSTANCES_NOTE = (
    "No library compound explains the spectra of these components. Those for which an NPS group is indicated "
    "are suspected new substances, early-warning leads exported to the EWA under that group; the others are "
    "unknown compounds (no NPS group indicated, not necessarily psychoactive) to examine. None is reported under "
    "a library compound's name. The estimated nominal mass is inferred, not measured: GC-EI-MS from the "
    "spectrum's ions and its closest library spectra, the best candidate masses re-read by a learned model (on "
    "the development data the compound's own mass for 79 % of SWGDRUG compounds left out of the library, 64-69 % "
    "of MassBank EI ones); LC-MS/MS the precursor read as [M+H]+ / [M-H]-. The suspected group is a learned "
    "model's reading of the spectrum and the closest known compounds (LC-MS/MS: their vote first), named only "
    "when probable: where it named one for a SWGDRUG compound left out, it was the compound's own group 87 % of "
    "the time (another group 6 %, a compound of no group 7 %). The group model's probability beside a group is "
    "the model's confidence, not a measured rate: for GC-EI-MS a group it gave 0.56-0.6 was right three times "
    "in five, one at 0.9-1 nineteen in twenty; for LC-MS/MS the development data hold too few of its groups to "
    "rate by band (5 of 8 right), and the GC-EI-MS rates do not apply. A lead to check, not an identification: "
    "what checks it is a reference standard of a candidate, once one is obtained, run by the same method "
    "(--reference-standard), a second technique such as LC-MS/MS, and on GC the retention index against an "
    "n-alkane ladder (--alkanes).")


def new_substances_title(found: Iterable[Mapping[str, Any]]) -> str:
    """The heading of the section of findings no library compound explains: it names suspected new
    substances only when one has a group ("Suspected new substances" over the PestMix slice's three
    phospholipid-like unknowns of no group read as three possible NPS until stop 35)."""
    unknown = [is_unknown_compound(f) for f in found]
    if all(unknown):
        return "Unknown compounds (not in the library)"
    return "Suspected new substances" + (" and unknown compounds" if any(unknown) else "")
#: The columns of a suspected new substance's closest known compounds (:func:`closest_rows`).
CLOSEST_HEADERS = ("Closest known compound", "Similarity (0\u20131)", "\u0394 nominal mass", "\u0394 mass reads as")


def new_substances(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The findings of the "Suspected new substances" section (:func:`new_substances_title`): those no
    library compound explains."""
    return [f for f in doc["findings"] if is_new_substance(f)]


def new_substance_heading(finding: Mapping[str, Any]) -> str:
    """'#3 at 8.104 min: suspected new substance (Synthetic cathinones)'."""
    return f"#{shown_number(finding['index'])} at {display_number(finding.get('rt_min'), RT_DIGITS)} min: {finding_label(finding)}"


def closest_rows(finding: Mapping[str, Any]) -> list[list[str]]:
    """A suspected new substance's closest known compounds as table cells (:data:`CLOSEST_HEADERS`)."""
    return [[c.get("name") or DASH, display_number(c.get("similarity"), 3), display_number(c.get("delta_mass")),
             c.get("delta_mass_match") or DASH] for c in finding.get("closest_compounds") or []]


def core_caption(finding: Mapping[str, Any]) -> str:
    """The caption of the core structure drawn for a suspected new substance; it says so when the
    core's atoms alone outweigh the unknown's estimated mass (the two cannot both hold)."""
    core = finding.get("core_smiles")
    caption = f"Core structure the closest compounds share (maximum common substructure): {core}"
    weight, estimated = core_atoms_mass(core), finding.get("estimated_mass")
    if weight is not None and estimated is not None and weight > estimated:
        caption += (f" -- its atoms alone weigh {weight} u, more than the estimated nominal mass {estimated}:"
                    " either the molecular ion is missing from the spectrum (the estimate is too low) or the"
                    " unknown does not share this whole core")
    return caption


def core_atoms_mass(smiles: str | None) -> int | None:
    """Nominal mass of a core's heavy atoms alone (no hydrogen): the least any molecule holding the
    core weighs. None when the SMILES does not parse or names an element without a nominal mass."""
    if not smiles:
        return None
    from rdkit import Chem  # only a report with a drawn core needs RDKit

    # unsanitised: a core read back from an FMCS SMARTS need not kekulise, and only its atoms count
    core = Chem.MolFromSmiles(smiles, sanitize=False)
    if core is None:
        return None
    counts = Counter(atom.GetSymbol() for atom in core.GetAtoms() if atom.GetSymbol() != "*")
    return nominal_mass("".join(f"{element}{n}" for element, n in sorted(counts.items()))) if counts else None


def shown_precursor_mz(lc: Mapping[str, Any]) -> Any:
    """The precursor m/z a reader is shown: the MS1 peak's measured m/z, else the MS/MS spectrum's."""
    return lc.get("measured_mz") or lc.get("precursor_mz")


def fragments_compared(finding: Mapping[str, Any]) -> bool:
    """Whether an LC-MS/MS finding's reference fragments were compared: not for an analogue, whose
    library hit is not its identity (results before stop 34 wrote "0 of 0" for it)."""
    lc = finding.get("lc") or {}
    return lc.get("reference_fragments") is not None and not is_analogue(finding)


def fragments_text(finding: Mapping[str, Any]) -> str:
    """The "Matched fragments" of an LC-MS/MS finding, never a count where nothing was compared.

    >>> fragments_text({"lc": {"matched_fragments": 5, "reference_fragments": 6}, "match_mode": "identity"})
    '5 of 6 reference fragments'
    >>> fragments_text({"lc": {"matched_fragments": None, "reference_fragments": None}, "match_mode": "analogue"})
    'not compared (analogue: the closest library compound is not its identity)'
    """
    lc = finding.get("lc") or {}
    if not fragments_compared(finding):
        return "not compared (analogue: the closest library compound is not its identity)"
    if lc["reference_fragments"] == 0:
        return "none to compare (the reference spectrum has no major fragment besides its precursor)"
    return f"{lc['matched_fragments']} of {lc['reference_fragments']} reference fragments"


def lc_evidence_fields(finding: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of an LC-MS/MS finding's precursor evidence (none for GC-MS)."""
    lc = finding.get("lc")
    if not lc:
        return []
    feature = lc.get("feature") or {}
    ppm, frag_error, iso = lc.get("mass_error_ppm"), lc.get("fragment_error_mda"), lc.get("isotopes") or {}
    matched = fragments_text(finding)
    if frag_error is not None:
        matched += f" (median error {frag_error:.1f} mDa)"
    peak = (f"apex {feature['apex_rt_min']:.{RT_DIGITS}f} min, area {feature['area']:.3g}, FWHM "
            f"{feature['fwhm_seconds']:g} s, {feature['n_points']} MS1 scans") if feature else "none found"
    isotopes = ("; ".join(f"M+{n} {iso.get(f'm{n}_measured')} (expected {iso.get(f'm{n}_expected')})" for n in (1, 2))
                + (f"; {iso['halogens']} cluster" if iso.get("halogens") else "")) if iso else None
    others = "; ".join(f"{r['ion']} {r['precursor_mz']}" for r in lc.get("related_ions") or [])
    # a 13C peak the DDA also fragmented: one compound, its MS/MS set aside (docs/match.md)
    heavy = "; ".join(f"m/z {r['precursor_mz']} at {r['rt_min']} min (M+1/M {r['ms1_ratio']}, shared fragments "
                      f"{', '.join(str(m) for m in r['shared_fragments'])}): its MS/MS set aside"
                      for r in lc.get("isotope_precursors") or [])
    return [("Precursor ion", f"{lc.get('adduct') or 'ion type unknown'}, m/z {shown_precursor_mz(lc)}"
                              f" measured, {lc.get('theoretical_mz') or DASH} theoretical"),
            ("Precursor mass error", DASH if ppm is None else f"{ppm:+.1f} ppm"),
            ("Matched fragments", matched), ("MS1 peak of the precursor", peak), ("Isotopes (share of M)", isotopes),
            ("Other ions of the compound", others or None), ("13C isotope precursor (M+1)", heavy or None)]


def component_model_header(doc: Mapping[str, Any], short: bool = False) -> str:
    """Header of the Components table's fourth column: the GC model ion, or for LC-MS/MS components
    (which have none) the precursor m/z that tells them apart."""
    if any(c.get("precursor_mz") is not None for chrom in doc["chromatograms"] for c in chrom["components"]):
        return "Precursor" if short else "Precursor m/z"
    return "Model" if short else "Model ion"


def component_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    """Every extracted component as table cells: number (C1, ...), RT, area, model ion (LC-MS/MS:
    precursor m/z), top ions, best hit, why."""
    rows = []
    for chrom in doc["chromatograms"]:
        for c in chrom["components"]:
            best = c.get("best_hit")
            model = (display_number(c.get("model_mz")) if c.get("precursor_mz") is None
                     else display_number(c["precursor_mz"], 4))
            rows.append([component_number(c["index"]), display_number(c["rt_min"], RT_DIGITS), display_number(c.get("area")),
                         model, " ".join(str(m) for m in c.get("top_ions") or []) or DASH,
                         f"{best['name']} (MF {display_number(best.get('mf'))})" if best else DASH,
                         c.get("note") or (f"finding #{shown_number(c['finding'])}" if c.get("finding") is not None else DASH)])
    return rows


def check_lines(doc: Mapping[str, Any]) -> list[str]:
    """The checks a reviewer repeats by hand, one sentence each: every internal standard against its
    expected RT, what the blank removed and why, every reference standard run and each finding
    compared with it (RT and RI, the window used). Empty when the run had none of them."""
    checks = doc["acquisitions"][0].get("checks") or {}
    lines = []
    for c in checks.get("internal_standards") or []:
        if not c.get("found"):
            lines.append(f"Internal standard {c.get('name')}: NOT FOUND")
            continue
        expected = "" if c.get("expected_rt_min") is None else (
            f", expected {display_number(c['expected_rt_min'], RT_DIGITS)} min "
            f"(\u0394 {_signed(c.get('delta_rt_min'))} min, window \u00b1{display_number(c.get('rt_window_min'), 2)} min: "
            f"{'within' if c.get('within') else 'OUTSIDE'})")
        lines.append(f"Internal standard {c.get('name')}: found at {display_number(c.get('rt_min'), RT_DIGITS)} min, "
                     f"area {display_number(c.get('area'))}{expected}; verdict {c.get('verdict')}")
    if checks.get("blank_itself"):
        lines.append("This run is the blank (--blank): matched without blank subtraction; its findings are what "
                     "the blank holds (carry-over, contamination), not an item's")
    blank = checks.get("blank")
    if blank:
        in_blank = "" if blank.get("n_components") is None else \
            f" ({counted(blank['n_components'], 'component')} in the blank)"
        kept = "; an internal standard is never removed" if checks.get("internal_standards") else ""
        lines.append(f"Blank {blank.get('file')}: {counted(blank.get('n_removed') or 0, 'component')} of the run "
                     f"removed{in_blank}{kept}")
        lines += [f"Removed by the blank at {display_number(c.get('rt_min'), RT_DIGITS)} min "
                  f"({c.get('best_hit') or 'no library hit'}): {c.get('reason')}" for c in checks.get("blank_subtracted") or []]
    for r in checks.get("reference_standards") or []:
        # what the standard settles, not its own spectrum's library verdict (a standard's spectrum
        # is as "tentative" as the sample's: its isomers match alike; its identity is the laboratory's)
        name = r.get("library_name") or r.get("name")
        seen = (f"its {name} at {display_number(r.get('rt_min'), RT_DIGITS)} min, RI {display_number(r.get('ri'))}: "
                f"a finding of {name} at this retention time is {name}, not an isomer its spectrum cannot tell "
                "from it") if r.get("found") else "substance not found in it: it settles nothing"
        if r.get("same_run"):  # the sample run named as its own standard settles nothing either
            basis = SAME_RUN_BASIS[r.get("same_run_by") or "sha256"]  # (results before stop 36's end: SHA-256)
            seen = (f"this run itself ({basis}), not a separate injection: its findings are compared with "
                    "themselves, and it settles nothing")
        lines.append(f"Reference standard {r.get('name')}: run {r.get('run')}, {seen}")
    for f in doc["findings"]:
        text = reference_standard_text(f)
        if text:
            lines.append(f"Finding #{shown_number(f['index'])} {finding_label(f)}: {text}")
    return lines


def reference_standard_text(finding: Mapping[str, Any]) -> str | None:
    """A finding's RT (and RI) against its reference standard run, and the window used; None
    when no standard of its substance was run (or the run did not show it)."""
    s = finding.get("reference_standard")
    if not s:
        return None
    if s.get("same_run"):
        return f"not compared: {s.get('not_used')}"
    ri = (f"; RI {display_number(finding.get('ri'))} against {display_number(s.get('ri'))} "
          f"(\u0394 {_signed(s.get('delta_ri'), 1)})" if s.get("ri") is not None or finding.get("ri") is not None
          else "; no RI (no alkane ladder)")
    return (f"RT {display_number(finding.get('rt_min'), RT_DIGITS)} min against "
            f"{display_number(s.get('rt_min'), RT_DIGITS)} min in standard run {s.get('run')} "
            f"(\u0394 {_signed(s.get('delta_rt_min'))} min, window \u00b1{display_number(s.get('window_min'), 2)} min: "
            f"{'within' if s.get('within') else 'OUTSIDE'}){ri}")


#: How a finding's ``reference_standard_run`` "unknown" reads where the sample information names no
#: reference standard run at all (no ``--sample-info``, or one without ``reference_standards_run``:
#: the document's ``item.reference_standards_run`` null, "not stated"): "unknown" read as if the
#: laboratory's record had been looked at and left the question open (stop 37). The field keeps its
#: value (yes / no / unknown: a contract of the EWA and LIMS exports).
NOT_GIVEN = "not given (the sample information names no reference standard run)"


def reference_standard_field(finding: Mapping[str, Any], stated: bool = True) -> str:
    """The "Reference standard run" line of a finding: yes / no / unknown -- :data:`NOT_GIVEN` when
    the sample information names none (``stated`` False: ``item.reference_standards_run`` null) --
    and the comparison when ``nps-id match`` made one; without one, for a finding whose inseparable
    isomers nothing excludes, what a standard run would settle (not a GC injector relative: it
    elutes as the hit)."""
    value = finding["reference_standard_run"]
    value = NOT_GIVEN if value == "unknown" and not stated else value
    text = reference_standard_text(finding) or _what_a_standard_settles(finding)
    return value + (f": {text}" if text else "")


def _what_a_standard_settles(finding: Mapping[str, Any]) -> str | None:
    """"one run at this RT would exclude the 8 isomers" (a standard of the finding's substance) -- for
    a finding held at "isomer not excluded" by isomers (not injector relatives); short: the PDF
    finding page's plots shrink for every line its text grows."""
    isomers, relatives = injector_relatives(finding.get("isomers_not_excluded") or [])
    if (finding.get("rule_id") != RuleId.ISOMER_NOT_EXCLUDED or finding.get("new_substance")
            or finding.get("reference_standard") or (relatives and not isomers)):
        return None
    which = f"the {counted(len(isomers), 'isomer')}" if isomers else "the isomers"
    held = held_by_of(finding)
    other = held_words(held)
    if other:  # "the isomers" read as triacetin's being one of 1,3-diacetin's (stop 47, newuser47)
        which = " and ".join([which, *not_isomers(held)]) if isomers else other
    if finding.get("rt_min") is None:  # an LC run whose scans carry no time: "this RT" named none (newuser47)
        return f"one run on the same method would exclude {which} by its retention time, which this finding lacks"
    return f"one run at this RT would exclude {which}"


def clipped(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters, visibly (an ellipsis last): a name cut silently to a
    column or a heading reads as a whole, different name."""
    return text if len(text) <= most else text[:most - 1] + "\u2026"


def clipped_apart(text: str, other: str | None, most: int) -> str:
    """:func:`clipped`, unless ``text`` and ``other`` would then read alike: MassBank's "Butyryl
    carnitine (isomer of 920)" and "... (isomer of 919)" both cut to "Butyryl carnitine (isomer
    o…" (stop 39, a new user); then the start and the end are kept and the middle cut."""
    if len(text) <= most or not other or text == other or text[:most - 1] != other[:most - 1]:
        return clipped(text, most)
    tail = max(most // 2, 1)
    return text[:most - 1 - tail] + "\u2026" + text[-tail:]


def _signed(value: Any, digits: int = RT_DIGITS) -> str:
    return DASH if value is None else f"{float(value):+.{digits}f}"


def provenance_fields(doc: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of the provenance, as text (libraries and parameters are shown apart)."""
    p = doc["provenance"]
    return [
        ("Software", f"{p['software']['name']} {p['software']['version']}"),
        ("Git commit", p["software"].get("git_commit")),
        ("Match run by nps-id", p["software"].get("match_version")),
        ("Match command line", p.get("match_command_line")),
        ("Report command line", p.get("command_line")),
        ("Results file", p.get("results_file")),
        ("Results SHA-256", p["results_sha256"]),
        ("Results created", p["timestamps"].get("results_created")),
        ("Report built", p["timestamps"].get("report_built")),
        ("Reference spectra", p.get("reference_spectra")),
        ("EWA taxonomy version", p["ewa_taxonomy_version"]),
        ("EWA overrides", json.dumps(p["ewa_overrides"], sort_keys=True) if p.get("ewa_overrides") else None),
        ("Report schema", f"{doc['schema']} {doc['schema_version']}"),
    ]


def display_number(value: Any, digits: int = 0) -> str:
    """A number for a reader: an em dash when missing, whole numbers without decimals.

    A value that rounds to zero is shown unsigned (a hit of the query's own formula: Δmass
    -0.00001 Da read "-0.0000", as if the hit were heavier).

    >>> display_number(None), display_number(947.0), display_number(6.5123, 3), display_number(-0.00001, 4)
    ('\u2014', '947', '6.512', '0.0000')
    """
    if value is None:
        return DASH
    if digits == 0 and float(value).is_integer():
        return str(int(value))
    text = f"{float(value):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text

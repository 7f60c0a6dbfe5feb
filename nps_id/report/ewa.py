"""Export of identified and tentative NPS and suspected new substances, prepared for the UNODC Early
Warning Advisory (EWA).

UNODC publishes no machine-readable submission format; this export carries the facts the EWA
(and the national/EU early-warning systems that ask for the same) request, one row per
substance (several peaks of one substance give one row), as CSV and as JSON.
:data:`EWA_FIELDS` is the ONE place that maps the report document onto the export columns --
``docs/report-schema.md`` documents the same table (a test keeps the two equal).

Which findings are exported (:func:`nps_id.report.findings.is_ewa_reportable`): verdict
``identified`` or ``tentative``, not an internal standard of the sample, not found in the ``--blank``
run itself (``blank_run``: its export lists nothing, every finding under ``excluded``), matched in identity mode
(an analogue-mode finding is a relative of the library entry, not the entry), and an NPS
according to the EWA taxonomy (``ewa.nps`` is True). Established drugs, medicines, adulterants and
unclassified substances, and unknown compounds (``new_substance`` with no group: not in the library,
no NPS group indicated -- unknowns to examine, not leads, and never called suspected new substances:
:func:`nps_id.report.findings.is_unknown_compound`), are listed in the JSON under ``excluded``, each
with its reason. Besides
them, every suspected new substance with a group (:func:`nps_id.report.findings.is_new_substance_lead`:
``new_substance``, whatever the library search's verdict -- issue 18: "when identity evidence is
insufficient and analogue evidence points to a known family"), named by its group only and marked
``suspected_new_substance`` true, ``identification_level`` "not identified: ...". Nothing else: a
finding with a ``suspected_group`` that is not new (a same-mass hit may be the compound) is not
exported. ``summary.nps_reportable`` counts exactly these findings.

Entry points: :func:`ewa_rows`, :func:`render_ewa_csv`, :func:`render_ewa_json`.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable, Mapping

from nps_id.chem.ewa_groups import effect_label_of, placed
from nps_id.compound import compound_identity, normalise_name, record_relation, skeleton
from nps_id.match.verdict import IDENTIFIED, TENTATIVE
from nps_id.report.findings import finding_number, is_analogue, is_ewa_reportable, is_new_substance_lead
from nps_id.report.present import (EI_GROUP_BANDS, MS2_GROUPS_RIGHT, finding_label, fragments_compared, group_floor,
                                   isomers_open, shown_precursor_mz)

PREPARED_FOR = "Prepared for the UNODC Early Warning Advisory (EWA) on NPS; not an official UNODC format."
EXPORT_VERSION = "1.0"


def _date(doc: Mapping[str, Any]) -> str | None:
    item = doc["item"]
    return item.get("date_seized") or item.get("date_received")


def _year(doc: Mapping[str, Any]) -> int | None:
    date = _date(doc)
    return int(str(date)[:4]) if date else None


def _techniques(doc: Mapping[str, Any], f: Mapping[str, Any]) -> str:
    """The techniques evaluated for this substance: its acquisition's and those recorded for it
    (``[confirmations]``) -- not every technique the item saw."""
    return "; ".join(dict.fromkeys([doc["acquisitions"][f["acquisition"]]["technique"],
                                    *(f.get("other_techniques") or [])]))


def identification_level(f: Mapping[str, Any]) -> str:
    """What the evidence for the substance is, in words: one technique unless a second one is
    recorded for this substance; and, while nothing excludes the isomers the spectrum cannot tell
    from it, that the substance may be one of them -- a new substance (issue 18: say both). A
    suspected new substance is not identified at all: no library compound matches it, and its
    library search's verdict says how close the nearest came (:func:`_new_substance_level`)."""
    if f.get("new_substance"):
        return _new_substance_level(f)
    match = "library match" if f["verdict"] == "identified" else "tentative library match"
    other = f.get("other_techniques") or []
    level = f"{match} and {', '.join(other)}: {1 + len(other)} techniques" if other else f"{match}, one technique"
    isomers = isomers_open(f)
    return f"{level}: {isomers}" if isomers else level


def _status(doc: Mapping[str, Any]) -> str:
    """A draft is marked as such on every row: nobody has reviewed it."""
    return "DRAFT" if doc["status"] == "draft" else doc["status"]


def _contact(doc: Mapping[str, Any]) -> str | None:
    lab = doc["laboratory"]
    parts = [p for p in (lab.get("name"), lab.get("contact")) if p]
    return ", ".join(parts) or None


#: Export column -> (meaning, value from (report document, finding)). The single field mapping.
EWA_FIELDS: dict[str, tuple[str, Callable[[Mapping[str, Any], Mapping[str, Any]], Any]]] = {
    "substance": ("name of the substance as in the reference library", lambda d, f: f["name"]),
    "iupac_name": ("IUPAC-style systematic name (see iupac_name_source)", lambda d, f: f.get("iupac_name")),
    "iupac_name_source": ("where iupac_name comes from: the results, or a library synonym of systematic form",
                          lambda d, f: f.get("iupac_name_source")),
    "cas": ("CAS registry number", lambda d, f: f["cas"]),
    "formula": ("molecular formula", lambda d, f: f["formula"]),
    "inchikey": ("InChIKey", lambda d, f: f["inchikey"]),
    "molecular_mass": ("monoisotopic mass of the neutral molecule, Da (from the formula)",
                       lambda d, f: f["monoisotopic_mass"]),
    "ewa_group": ("UNODC EWA substance group", lambda d, f: f["ewa"]["group_label"]),
    "ewa_subclass": ("subclass of 'Other substances' (fentanyl analogues, nitazenes, other opioids, "
                     "benzodiazepines)", lambda d, f: f["ewa"].get("subclass_label")),
    "ewa_effect_group": ("UNODC EWA effect group (stimulant, sedative/hypnotic, synthetic opioid, ...); a suspected "
                         "new substance: its suspected group's, empty where the group's members differ "
                         "(phenethylamines) or the EWA gives none (plant-based substances)",
                         lambda d, f: f["ewa"].get("effect_label")),
    "verdict": ("nps-id verdict: identified or tentative; for a suspected new substance its library search's "
                "(tentative: it resembles a relative; inconclusive: nothing matches it)", lambda d, f: f["verdict"]),
    "identification_level": ("what the evidence is: library match, one technique -- unless another technique "
                             "is recorded for this substance; and the isomers nothing excludes (the substance "
                             "may be one of them, a new substance); a suspected new substance: 'not identified' "
                             "and why", lambda d, f: identification_level(f)),
    "country": ("country of seizure (ISO 3166-1 alpha-2), else the laboratory's country",
                lambda d, f: d["item"].get("country_of_seizure") or d["laboratory"].get("country")),
    "year": ("year of seizure, else of receipt", lambda d, f: _year(d)),
    "date": ("date of seizure, else of receipt (YYYY-MM-DD)", lambda d, f: _date(d)),
    "sample_nature": ("seizure / collected sample / biological / other", lambda d, f: d["item"].get("nature")),
    "physical_form": ("physical form of the item", lambda d, f: d["item"].get("physical_form")),
    "techniques": ("analytical techniques evaluated for this substance", lambda d, f: _techniques(d, f)),
    "reference_standard_run": ("yes / no / unknown (from the sample information)",
                               lambda d, f: f.get("reference_standard_run", "unknown")),
    "reference_standard_same_run": ("true: the reference standard run named for this substance is this run "
                                    "itself (same SHA-256, or the same scans in another file), not a separate "
                                    "injection: not used as confirmation",
                                    lambda d, f: bool((f.get("reference_standard") or {}).get("same_run"))),
    "laboratory": ("laboratory name", lambda d, f: d["laboratory"].get("name")),
    "laboratory_contact": ("laboratory contact", lambda d, f: _contact(d)),
    "lab_sample_id": ("laboratory sample id", lambda d, f: d["item"].get("lab_sample_id")),
    "report_id": ("nps-id report id (UUID)", lambda d, f: d["report_id"]),
    "report_status": ("DRAFT / reviewed / authorized / amended", lambda d, f: _status(d)),
    "taxonomy_version": ("version of the nps-id EWA taxonomy", lambda d, f: f["ewa"]["taxonomy_version"]),
    "suspected_new_substance": ("true: not in the library; a suspected new substance of ewa_group (and ewa_subclass), named only by "
                                "its group (its identifiers are empty, never those of the closest compounds)",
                                lambda d, f: bool(f.get("new_substance"))),
    "estimated_nominal_mass": ("suspected new substance: nominal molecular mass estimated from the spectrum (GC: "
                               "weak column-bleed ions the run's background explains set aside; LC-MS/MS: the "
                               "precursor read as [M+H]+ / [M-H]-, whatever its ion type)",
                               lambda d, f: f.get("estimated_mass") if f.get("new_substance") else None),
    "closest_known_compounds": ("suspected new substance: the closest library compounds and how the mass "
                                "difference reads (CH2, F for H, ...)",
                                lambda d, f: "; ".join(_closest(c) for c in f.get("closest_compounds") or []) or None),
    # LC-MS/MS evidence (empty for GC-MS): what the MS1 scans and the fragments say about the precursor
    "precursor_ion": ("LC-MS/MS: the precursor's ion type and measured m/z, e.g. [M+H]+ 318.0124",
                      lambda d, f: _lc(f, lambda lc: f"{lc['adduct'] or '?'} {shown_precursor_mz(lc)}")),
    "precursor_mass_error_ppm": ("LC-MS/MS: exact-mass error of the precursor's MS1 peak against that ion, ppm",
                                 lambda d, f: _lc(f, lambda lc: lc["mass_error_ppm"])),
    "matched_fragments": ("LC-MS/MS: reference fragments the MS/MS spectrum holds, e.g. '5 of 6'",
                          # empty where nothing was compared (an analogue), never "0 of 0"
                          lambda d, f: _lc(f, lambda lc: f"{lc['matched_fragments']} of {lc['reference_fragments']}"
                                           if fragments_compared(f) else None)),
    "precursor_xic": ("LC-MS/MS: the precursor's extracted-ion chromatogram, 'RT min:intensity' per MS1 scan",
                      lambda d, f: _lc(f, lambda lc: ";".join(f"{t:g}:{h:g}" for t, h in
                                                            zip(lc["xic"]["rt_min"], lc["xic"]["intensity"]))
                                       if lc.get("xic") else None)),
    "also_found_as": ("other names under which this substance was found in the item (the library's names of one "
                      "compound: a racemate and its enantiomer, which mass spectra do not distinguish)",
                      lambda d, f: "; ".join(f.get("also_found_as") or []) or None),
    # the figures from the measured bands themselves (a retrain re-measures them in one place)
    "suspected_group_probability": ("suspected new substance: the learned group model's probability of ewa_group / "
                                    "ewa_subclass, 0-1 (named from {:g} EI, {:g} MS/MS; the model's confidence, not a "
                                    "measured rate: on the development data a GC-EI-MS group at {:g}-{:g} was right {} "
                                    "times in {}, at {:g}-{:g} {} in {}; LC-MS/MS groups were too few to rate by band, "
                                    "{} of {} right, and the GC-EI-MS rates do not apply to them); empty when the group "
                                    "is not the model's (the closest compounds' vote or a diagnostic-ion rule)".format(
                                        group_floor(False), group_floor(True), *EI_GROUP_BANDS[0], *EI_GROUP_BANDS[-1],
                                        *MS2_GROUPS_RIGHT),
                                    lambda d, f: f.get("suspected_group_probability") if f.get("new_substance") else None),
}


def _lc(f: Mapping[str, Any], value: Callable[[Mapping[str, Any]], Any]) -> Any:
    """An LC-MS/MS evidence cell; None for a GC-MS finding."""
    return value(f["lc"]) if f.get("lc") else None


def _closest(c: Mapping[str, Any]) -> str:
    reading = c.get("delta_mass_match") or (f"{c['delta_mass']:+d} Da" if c.get("delta_mass") is not None else "?")
    return f"{c.get('name')} ({reading})"


def _new_substance_level(f: Mapping[str, Any]) -> str:
    """'not identified: suspected new substance of Synthetic cathinones -- no library compound matches
    it (library search inconclusive: below the tentative floor); group inferred from its spectrum and
    closest known compounds, a lead to check, one technique' (EI: a learned model; MS/MS: the closest
    compounds' vote first; "from its closest known compounds and ions" until stop 41). The verdict is
    the library search's, never a match of the substance: ``tentative`` here is a relative's (close
    analogue, weak match of another mass)."""
    search = f"library search {f['verdict']}" + (f": {f['rule'].split(':')[0]}" if f.get("rule") else "")
    how = "no library compound matches it" if f["verdict"] != TENTATIVE else "it resembles library compounds it is not"
    return (f"not identified: suspected new substance of {f.get('suspected_group')} -- {how} ({search}); "
            "group inferred from its spectrum and closest known compounds, a lead to check, one technique")


def _as_new_substance(f: Mapping[str, Any]) -> dict[str, Any]:
    """A suspected new substance as the export names it: by its group, with the library entry's
    identifiers removed (they are a relative's, not the substance's), and the effect group of its
    suspected group -- not the closest hit's, which may be of another group (until stop 35 it was
    always empty: a suspected new barbiturate's row had no "Sedatives/hypnotics")."""
    group = f.get("suspected_group")
    where = placed(group)
    return {**f, "name": f"suspected new substance ({group})", "iupac_name": None, "iupac_name_source": None,
            "cas": None, "formula": None, "inchikey": None, "monoisotopic_mass": None,
            "ewa": {**f["ewa"], "group_label": where["group_label"], "subclass_label": where["subclass_label"],
                    "effect_label": effect_label_of(group)}}


def ewa_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per exported substance, keys in :data:`EWA_FIELDS` order.

    The EWA counts substances, not chromatographic peaks: several findings of one substance
    (one compound by :mod:`nps_id.compound`: enantiomers are one, diastereomers two) give one
    row, from its strongest verdict.
    """
    reportable = [f for f in doc["findings"] if is_ewa_reportable(f) and not f.get("new_substance")]
    new = [_as_new_substance(f) for f in doc["findings"] if is_new_substance_lead(f)]
    best: dict[int, Mapping[str, Any]] = {}
    names: dict[int, list[str]] = {}
    for key, f in zip(substance_codes(reportable), reportable):
        if key not in best or (f["verdict"] == "identified" and best[key]["verdict"] != "identified"):
            best[key] = f
        names.setdefault(key, []).append(f["name"])
    rows = [{**f, "also_found_as": [n for n in dict.fromkeys(names[key]) if n != f["name"]]} for key, f in best.items()]
    return [{column: getter(doc, f) for column, (_, getter) in EWA_FIELDS.items()} for f in [*rows, *new]]


def substance_codes(findings: list[Mapping[str, Any]]) -> list[int]:
    """One code per finding, equal for one substance: one compound by :mod:`nps_id.compound` on
    the findings' own identifiers, or named among another's ``compound_names`` (the library's
    names of one compound: its synonyms join a racemate and its enantiomer, Atropine and
    Hyoscyamine, which a finding does not carry)."""
    codes = compound_identity([f.get("inchikey") or "" for f in findings], [f["name"] for f in findings],
                              [f.get("smiles") or "" for f in findings],
                              [f.get("structure_status") or "" for f in findings]).codes.tolist()
    root = {code: code for code in codes}

    def find(code: int) -> int:
        while root[code] != code:
            code = root[code]
        return code

    by_name = {normalise_name(f["name"]): i for i, f in enumerate(findings)}
    for i, f in enumerate(findings):
        for name in f.get("compound_names") or []:
            j = by_name.get(normalise_name(name))
            if j is not None and not _told_apart(f, findings[j]):
                root[find(codes[j])] = find(codes[i])
    return [find(code) for code in codes]


def _told_apart(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two findings' own identifiers say they are different compounds whatever names they
    list: other skeletons, or diastereomers (a hand-edited ``compound_names`` of Etizolam that
    named Flubromazepam made one EWA row of the two)."""
    skeletons = skeleton(a.get("inchikey")), skeleton(b.get("inchikey"))
    return (all(skeletons) and skeletons[0] != skeletons[1]) or record_relation(a, b) == "diastereomer"


def excluded(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Identified/tentative findings that are not exported, and why (for the audit trail): one entry
    per substance, as the export's rows are (p-cymene's seven peaks on the ANDI run made seven
    entries), with each of its findings; an unknown of no group is one entry per finding (two
    unknowns are not known to be one substance)."""
    entries: dict[Any, list[Mapping[str, Any]]] = {}
    listed = [f for f in doc["findings"]
              if (f["verdict"] in (IDENTIFIED, TENTATIVE) or (f.get("blank_run") and f.get("suspected_group")))
              and not is_new_substance_lead(f) and not (is_ewa_reportable(f) and not f.get("new_substance"))]
    for code, f in zip(substance_codes(listed), listed):
        key = ("finding", f["index"]) if f.get("new_substance") else ("substance", code, finding_label(f))
        entries.setdefault(key, []).append(f)
    out = []
    for findings in entries.values():
        f = next((f for f in findings if f["verdict"] == IDENTIFIED), findings[0])
        # finding and RT: several "unknown compound (not in the library; no NPS group indicated)" read alike
        out.append({"substance": finding_label(f), "verdict": f["verdict"], "reason": _excluded_reason(f),
                    "finding": f["index"], "finding_number": finding_number(f["index"]), "rt_min": f.get("rt_min"),
                    "findings": [{"finding": g["index"], "finding_number": finding_number(g["index"]),
                                  "rt_min": g.get("rt_min"), "verdict": g["verdict"]}
                                 for g in findings]})
    return out


def _excluded_reason(f: Mapping[str, Any]) -> str:
    """Why an identified/tentative finding is not exported, as a sentence naming it."""
    name = finding_label(f)
    if f["internal_standard"]:
        return f"{name} is not exported: it is the internal standard added by the laboratory."
    if f.get("blank_run"):
        return (f"{name} is not exported: it was found in the blank run itself (--blank), which shows what the "
                "blank holds (carry-over, contamination), not an item's substances.")
    if f.get("new_substance"):
        # without a group it is an unknown to examine (often a background compound the library lacks)
        return (f"{name} is not exported: nothing indicates an NPS group, so it is an unknown compound to examine, "
                "not an early-warning lead.")
    if is_analogue(f):
        return (f"{name} is not exported: the substance is related to {f['name']}, not {f['name']} itself; "
                "export it once it is identified.")
    if f["ewa"]["nps"] is False:
        why = (f["ewa"].get("not_nps_reason") or "established substance").removesuffix(", not an NPS")
        return f"{name} is not exported: it is not a new psychoactive substance ({why})."
    # hexane, toluene, p-cymene: "add an override to export it" read as advice to report a solvent
    return (f"{name} is not exported: the EWA taxonomy gives it no NPS group (if it is an NPS, a laboratory "
            "override, --ewa-overrides, exports it).")


def render_ewa_csv(doc: Mapping[str, Any]) -> str:
    """CSV text: a header row of :data:`EWA_FIELDS` columns, one row per exported NPS."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EWA_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in ewa_rows(doc):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def render_ewa_json(doc: Mapping[str, Any]) -> str:
    """JSON text: the rows, the excluded findings with reasons, the EWA taxonomy version and the
    field definitions."""
    payload = {
        "format": "nps-id/ewa-export",
        "format_version": EXPORT_VERSION,
        "prepared_for": PREPARED_FOR,
        "report_id": doc["report_id"],
        "report_status": _status(doc),
        "issued_at": doc["issued_at"],
        # per row too, but an export of no rows must still say which taxonomy found nothing
        "taxonomy_version": doc["provenance"]["ewa_taxonomy_version"],
        "fields": {column: meaning for column, (meaning, _) in EWA_FIELDS.items()},
        "substances": ewa_rows(doc),
        "excluded": excluded(doc),
    }
    return json.dumps(payload, indent=1, ensure_ascii=False) + "\n"

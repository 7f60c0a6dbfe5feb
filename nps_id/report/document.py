"""The report document: built once from a ``nps-id match`` results dict, rendered many ways.

Every output (HTML, PDF, EWA export, LIMS CSV) is rendered from this one JSON document, which
is validated against the versioned JSON Schema ``schema/report-v1.json`` (described in
``docs/report-schema.md``) whenever it is built or written. Rendering never adds information
of its own -- no clock, no random id -- so a report re-rendered from its JSON is byte-identical.

Entry points
------------
- :func:`build_report` -- results dict + sample information -> report document (validated).
- :func:`check_sign_off` -- the 17025 rules of a signed status.

The pieces: each finding and the chromatogram come from :mod:`nps_id.report.findings`; what the
report reads (files, TOML, library) from :mod:`nps_id.report.inputs`; schema, bytes and hashes
from :mod:`nps_id.report.jsondoc`; the words a reader sees from :mod:`nps_id.report.present`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import re
import uuid
from pathlib import Path
from typing import Any, Mapping

from nps_id import __version__
from nps_id._paths import printable
from nps_id.chem.ewa_groups import Override, normalise_name, taxonomy_version
from nps_id.errors import InputError
from nps_id.match.results import is_blank_run
from nps_id.match.verdict import LEVELS
from nps_id.report.findings import is_ewa_reportable, is_new_substance_lead, report_chromatogram, report_finding
from nps_id.report.inputs import git_commit, library_entries, merge_sample_info, reference_standard_names
from nps_id.report.jsondoc import (REPORT_SCHEMA, REPORT_SCHEMA_VERSION, canonical_json, parameters_sha256,
                                    validate_report)

STATUSES = ("draft", "reviewed", "authorized", "amended")
NATURES = ("seizure", "collected sample", "biological", "other")

#: ISO/IEC 17025:2017 clause 7.8.2.1 (k): the statement every test report carries.
STATEMENT_17025 = (
    "The results relate only to the items tested, as received. This report shall not be "
    "reproduced except in full without the written approval of the laboratory."
)

#: SWGDRUG Recommendations, Part III B: categories of analytical techniques.
SWGDRUG_CATEGORY = {"GC-EI-MS": "A", "GC-MS": "A", "LC-MS/MS": "A", "LC-MS": "A", "IR": "A", "NMR": "A",
                    "Raman": "A", "GC": "B", "LC": "B", "TLC": "B", "UV": "C", "colour test": "C"}

TECHNIQUE_STATEMENT = (
    "{technique} is a SWGDRUG category {category} technique. Under the SWGDRUG recommendations a "
    "full identification needs, in addition, at least one other technique that is not correlated "
    "with it (a second category A technique, or a category B or C technique as the recommendations "
    "allow); this report alone is a library-search result for the items tested."
)

#: Statuses a person signs: they need a named analyst and reviewer, each with a signing time.
SIGNED_STATUSES = ("reviewed", "authorized")
#: Where the report id is derived from (the same results and sample details: the same id).
_REPORT_ID_NAMESPACE = uuid.UUID("5b0f2a4e-6f7d-4c55-9a53-3c1e2f6d7a10")


def _checks(results: Mapping[str, Any]) -> dict[str, Any]:
    """What a reviewer checks by hand beside the findings: the internal standard(s) per run, what
    the blank removed and why, and the reference standard runs (as ``nps-id match`` recorded them;
    empty for results without them)."""
    blank = results.get("blank")
    return {
        "internal_standards": list(results.get("internal_standards") or []),
        "blank": None if not blank else {k: blank.get(k) for k in ("file", "sha256", "n_components", "n_removed")},
        "blank_subtracted": [{k: c.get(k) for k in ("rt_min", "best_hit", "reason")}
                             for c in results.get("blank_subtracted") or []],
        "reference_standards": list(results.get("reference_standards") or []),
        # the --blank among the runs: its report must not read as a sample's
        "blank_itself": is_blank_run(results),  # the findings' blank_run too
    }


def _run_notes(results: Mapping[str, Any]) -> list[str]:
    """What ``nps-id match`` said about the run beside its findings (its ``notes``: scans not matched,
    product ions scored at a unit-resolution tolerance, the blank): printed on the terminal only until
    stop 48, so a report's reader could not see that a run was scored at 0.5 Da or that scans were left
    out. Empty for results without notes."""
    return [printable(note) for note in results.get("notes") or []]


def build_report(
    results: Mapping[str, Any],
    sample_info: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    results_bytes: bytes | None = None,
    results_file: str | None = None,
    library_path: str | Path | None = None,
    overrides: Mapping[str, Override] | None = None,
    overrides_info: Mapping[str, Any] | None = None,
    command_line: str | None = None,
    now: _dt.datetime | None = None,
) -> dict[str, Any]:
    """Build and validate the report document of one ``nps-id match`` results dict.

    Parameters
    ----------
    results
        The results dict of one run (``docs/match.md``).
    sample_info
        Tables ``laboratory``, ``analyst``, ``reviewer``, ``item``, ``report`` (see
        :data:`SAMPLE_INFO_KEYS`); anything absent stays ``null`` in the report -- never invented.
    results_bytes
        The results file as read, for ``provenance.results_sha256`` (default: canonical JSON).
    results_file
        Name of the results file, for the provenance.
    library_path
        Library for the mirror-plot reference spectra; default the path recorded in the results.
        Its content SHA-256 must equal the one in the results.
    overrides, overrides_info
        Laboratory EWA-group overrides (:func:`~nps_id.chem.ewa_groups.load_overrides`) and
        what to record about them (file name and SHA-256).
    command_line
        The command that built the report, for the provenance.
    now
        Build time (UTC); ``issued_at`` defaults to it. Tests pass a fixed value.
    """
    info = merge_sample_info(sample_info)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    report_meta = info["report"]
    status = report_meta.get("status", "draft")
    if status not in STATUSES:
        raise InputError(f"report status must be one of {', '.join(STATUSES)} (got {status!r})")
    if status == "amended" and not report_meta.get("amends"):
        raise InputError("an amended report must name the report it amends ([report] amends = \"<report id>\")")
    analyst = {"name": info["analyst"].get("name"),
               "signed_at": _timestamp(info["analyst"].get("signed_at"), "analyst signed_at")}
    reviewer = {"name": info["reviewer"].get("name"),
                "signed_at": _timestamp(info["reviewer"].get("signed_at"), "reviewer signed_at")}
    check_sign_off(status, analyst, reviewer, results.get("created"))
    item = _item(info["item"])
    run = results.get("run", {})
    technique = run.get("technique") or "GC-EI-MS"
    internal = {normalise_name(n) for n in item["internal_standards"]}
    refs_run = item["reference_standards_run"]
    refs_run = None if refs_run is None else {normalise_name(n) for n in refs_run}
    confirmations = _confirmations(info.get("confirmations") or {}, results.get("findings") or [])
    entries, reference_source = library_entries(results, library_path)
    findings = [
        report_finding(i, f, internal, refs_run, entries, overrides, technique, confirmations)
        for i, f in enumerate(results.get("findings", []))
    ]
    # the --blank among the runs: what it holds is carry-over or contamination, never an early-warning lead
    blank_itself = is_blank_run(results)
    for finding in findings:
        finding["blank_run"] = blank_itself
    summary = {level: sum(f["verdict"] == level for f in findings)
               for level in LEVELS}
    # the findings the EWA export lists: a suspected new substance by its group, never as the
    # library NPS it resembles (a hydrocarbon like 5-APDI was counted as an NPS)
    summary["nps_reportable"] = sum(is_new_substance_lead(f) if f.get("new_substance") else is_ewa_reportable(f)
                                    for f in findings)
    category = SWGDRUG_CATEGORY.get(technique, "A")
    params = results.get("parameters", {})
    acquisition_info = info.get("acquisition") or {}
    doc = {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_SCHEMA_VERSION,
        "report_id": _report_id(report_meta.get("report_id"), results, info),
        "status": status,
        "amends": report_meta.get("amends"),
        "amendment_reason": report_meta.get("amendment_reason"),
        "issued_at": _timestamp(report_meta.get("issued_at")) or now.isoformat(timespec="seconds"),
        "laboratory": _laboratory(info["laboratory"]),
        "analyst": analyst,
        "reviewer": reviewer,
        "statement": STATEMENT_17025,
        "item": item,
        "acquisitions": [{
            "file": printable(run.get("file", "")),
            "sha256": run.get("sha256", ""),
            "technique": technique,
            "swgdrug_category": category,
            # what the run file says, else what the sample information says
            "instrument": run.get("instrument") or acquisition_info.get("instrument"),
            "method": run.get("method") or acquisition_info.get("method"),
            "format": run.get("format"),
            "n_scans": run.get("n_scans"),
            "rt_range_min": run.get("rt_range_min"),
            "checks": _checks(results),
            "notes": _run_notes(results),
        }],
        "technique_statement": TECHNIQUE_STATEMENT.format(technique=technique, category=category),
        "findings": findings,
        "chromatograms": [report_chromatogram(results, findings)],
        "summary": summary,
        "provenance": {
            "software": {"name": "nps-id", "version": __version__, "git_commit": git_commit(),
                         "match_version": (results.get("software") or {}).get("version")},
            "parameters": params,
            "parameters_sha256": parameters_sha256(params),
            "libraries": [_library_info(results.get("library", {}))],
            "command_line": None if command_line is None else printable(command_line),
            "match_command_line": None if results.get("command_line") is None else printable(results["command_line"]),
            "timestamps": {"results_created": results.get("created"),
                           "report_built": now.isoformat(timespec="seconds")},
            "results_file": None if results_file is None else printable(results_file),
            "results_sha256": hashlib.sha256(results_bytes if results_bytes is not None
                                             else canonical_json(results)).hexdigest(),
            "ewa_taxonomy_version": taxonomy_version(),
            "ewa_overrides": dict(overrides_info) if overrides_info else None,
            "reference_spectra": reference_source,
        },
    }
    # Name the results file: what fails here came from it (or from the sample information).
    validate_report(doc, source=f"report built from {results_file}" if results_file else "report")
    return doc


def _laboratory(values: Mapping[str, Any]) -> dict[str, Any]:
    lab = {k: values.get(k) for k in ("name", "country", "address", "contact", "accreditation")}
    if lab["country"] is not None:
        lab["country"] = _country(lab["country"], "laboratory country")
    return lab


def _report_id(value: str | None, results: Mapping[str, Any], info: Mapping[str, Any]) -> str:
    """The given id, else one derived from the results' content and the sample details: every
    output built from the same analysis (HTML, PDF, EWA, LIMS, built at any time) carries the same
    id. Status and signatures are left out, so signing a draft keeps its id; an amendment names
    the report it amends, so it gets its own."""
    if value is None:
        basis = {"results": hashlib.sha256(canonical_json(results)).hexdigest(), "laboratory": info["laboratory"],
                 "item": info["item"], "acquisition": info.get("acquisition") or {},
                 "confirmations": info.get("confirmations") or {}, "amends": info["report"].get("amends")}
        return str(uuid.uuid5(_REPORT_ID_NAMESPACE, hashlib.sha256(canonical_json(basis)).hexdigest()))
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InputError(f"report_id must be a UUID (got {value!r})") from None


def check_sign_off(status: str, analyst: Mapping[str, Any], reviewer: Mapping[str, Any],
                   analysed_at: str | None) -> None:
    """Refuse (:class:`InputError`, exit 3) a signed status that a 17025 report cannot have: a
    reviewed or authorized report names its analyst and reviewer, each with a signing time, and
    nobody signs before the analysis (``analysed_at``: when ``nps-id match`` made the results) nor
    the reviewer before the analyst."""
    if status not in SIGNED_STATUSES:
        return
    missing = [what for what, value in (("analyst", analyst["name"]), ("analyst signed_at", analyst["signed_at"]),
                                        ("reviewer", reviewer["name"]), ("reviewer signed_at", reviewer["signed_at"]))
               if not value]
    if missing:
        raise InputError(f"a {status} report needs {', '.join(missing)} (options --analyst --analyst-signed-at "
                         "--reviewer --reviewer-signed-at, or [analyst]/[reviewer] in --sample-info)")
    analysed = _dt.datetime.fromisoformat(analysed_at) if analysed_at else None
    for who, person in (("analyst", analyst), ("reviewer", reviewer)):
        signed = _dt.datetime.fromisoformat(person["signed_at"])
        if analysed is not None and analysed.tzinfo is not None and signed < analysed:
            raise InputError(f"{who} signed_at {person['signed_at']} is before the analysis ({analysed_at}, "
                             "when the results were made)")
    if _dt.datetime.fromisoformat(reviewer["signed_at"]) < _dt.datetime.fromisoformat(analyst["signed_at"]):
        raise InputError(f"reviewer signed_at {reviewer['signed_at']} is before the analyst's "
                         f"({analyst['signed_at']})")


def _timestamp(value: Any, what: str = "issued_at") -> str | None:
    """An ISO 8601 date-time with a time zone (TOML's own date-times included), or None."""
    if value is None:
        return None
    try:
        stamp = value if isinstance(value, _dt.datetime) else _dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{what} must be an ISO 8601 date-time (got {value!r})") from None
    if stamp.tzinfo is None:
        raise InputError(f"{what} needs a time zone, e.g. 2026-01-31T09:00:00+00:00 (got {value!r})")
    return stamp.isoformat(timespec="seconds")


def _item(values: Mapping[str, Any]) -> dict[str, Any]:
    nature = values.get("nature")
    if nature is not None and nature not in NATURES:
        raise InputError(f"item nature must be one of {', '.join(NATURES)} (got {nature!r})")
    item = {key: values.get(key) for key in ("lab_sample_id", "case_id", "nature", "description",
                                               "date_received", "date_seized", "country_of_seizure",
                                               "physical_form")}
    for key in ("date_received", "date_seized"):
        if item[key] is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(item[key])):
            raise InputError(f"item {key} must be a date YYYY-MM-DD (got {item[key]!r})")
    if item["country_of_seizure"] is not None:
        item["country_of_seizure"] = _country(item["country_of_seizure"], "item country_of_seizure")
    item["internal_standards"] = _names(values.get("internal_standards") or [])
    refs = values.get("reference_standards_run")
    item["reference_standards_run"] = None if refs is None else reference_standard_names(refs)
    item["other_techniques"] = _names(values.get("other_techniques") or [])
    return item


def _names(value: Any) -> list[str]:
    """A list of names; one name written as a plain string is that one name, not its letters."""
    return [value] if isinstance(value, str) else [str(n) for n in value]


def _country(value: Any, what: str) -> str:
    text = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise InputError(f"{what} must be an ISO 3166-1 alpha-2 code such as GB or DE (got {value!r})")
    return text


def _confirmations(table: Mapping[str, Any], findings: list[Mapping[str, Any]]) -> dict[str, list[str]]:
    """``[confirmations]`` of the sample information: {normalised substance name or InChIKey:
    [technique, ...]}. A substance that no finding names is refused: a typo must not leave an
    identification standing on one technique without anyone noticing."""
    known = {normalise_name(v) for f in findings for v in (f.get("name"), f.get("inchikey")) if v}
    out = {}
    for name, techniques in table.items():
        key = normalise_name(name)
        if key not in known:
            raise InputError(f"[confirmations]: {name!r} is not a substance of these results; "
                             "name it as the finding does (or by its InChIKey)")
        out[key] = _names(techniques)
    return out


def _library_info(library: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": str(library.get("name", "")), "release": str(library.get("release", "")),
            "sha256": str(library.get("sha256", "")), "n_spectra": library.get("n_spectra"),
            "path": library.get("path")}

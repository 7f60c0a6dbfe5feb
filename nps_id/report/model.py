"""The report document: built once from a ``nps-id match`` results dict, rendered many ways.

Every output (HTML, PDF, EWA export, LIMS CSV) is rendered from this one JSON document, which
is validated against the versioned JSON Schema ``schema/report-v1.json`` (described in
``docs/report-schema.md``) whenever it is built or written. Rendering never adds information
of its own -- no clock, no random id -- so a report re-rendered from its JSON is byte-identical.

Entry points
------------
- :func:`build_report` -- results dict + sample information -> report document (validated).
- :func:`load_sample_info` -- the small TOML file of ``--sample-info`` (never guessed).
- :func:`parameters_sha256` / :func:`canonical_json` -- the parameter hash quoted in reports.
- :func:`validate_report`, :func:`report_json_bytes`, :func:`load_document` / :func:`read_document`.
"""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any, Mapping

from nps_id import __version__
from nps_id._paths import printable
from nps_id.errors import InputError, LibraryError
from nps_id.chem.ewa_groups import Override, classify, normalise_name, taxonomy_version

SCHEMA_PATH = Path(__file__).with_name("schema") / "report-v1.json"
#: What a results file must hold for a report to be built from it (a subset of docs/match.md).
RESULTS_SCHEMA_PATH = Path(__file__).with_name("schema") / "match-results-v1.json"
REPORT_SCHEMA = "nps-id/report"
REPORT_SCHEMA_VERSION = "1.1"
#: Report documents of these versions re-render; 1.0 lacks the fields 1.1 added (read with defaults).
READABLE_SCHEMA_VERSIONS = ("1.0", "1.1")
RESULTS_SCHEMA = "nps-id/match-results"
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

# The keys --sample-info may hold, by table; anything else is a typo and is refused.
SAMPLE_INFO_KEYS = {
    "laboratory": {"name", "country", "address", "contact", "accreditation"},
    "analyst": {"name", "signed_at"},
    "reviewer": {"name", "signed_at"},
    "item": {"lab_sample_id", "case_id", "nature", "description", "date_received", "date_seized",
             "country_of_seizure", "physical_form", "internal_standards", "reference_standards_run",
             "other_techniques"},
    "report": {"status", "report_id", "issued_at", "amends", "amendment_reason"},
    "acquisition": {"instrument", "method"},
    # substance name (or InChIKey) -> the other techniques that confirmed it, e.g. ["FTIR-ATR"]
    "confirmations": None,
}
#: Statuses a person signs: they need a named analyst and reviewer, each with a signing time.
SIGNED_STATUSES = ("reviewed", "authorized")
#: Where the report id is derived from (the same results and sample details: the same id).
_REPORT_ID_NAMESPACE = uuid.UUID("5b0f2a4e-6f7d-4c55-9a53-3c1e2f6d7a10")


# -- hashing ------------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no whitespace: the same data always gives the same bytes.

    Floats use Python's shortest round-trip repr, so 0.1 and 0.10000000000000001 hash the same
    and 0.1 and 0.2 do not.
    """
    # surrogateescape: a non-UTF-8 file name (decoded by Python as lone surrogates) hashes as its bytes
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8", "surrogateescape")


def parameters_sha256(parameters: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a parameters dict.

    >>> parameters_sha256({"a": 1}) == parameters_sha256({"a": 1.0})
    False
    """
    return hashlib.sha256(canonical_json(parameters)).hexdigest()


# -- inputs -------------------------------------------------------------------------------------


def load_document(path: str | Path) -> dict[str, Any]:
    """Read a results or report JSON file; raises :class:`InputError` naming the file."""
    return read_document(path)[0]


def read_document(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """:func:`load_document`, and the file's bytes as read (what ``provenance.results_sha256``
    hashes: the file is read once, so the hash is of the very bytes the report was built from)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); expected a JSON file") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    kind = data.get("schema") if isinstance(data, dict) else None
    if kind not in (RESULTS_SCHEMA, REPORT_SCHEMA):
        raise InputError(
            f"{path}: expected a 'nps-id match' results JSON or an nps-id report JSON "
            f"(schema {RESULTS_SCHEMA!r} or {REPORT_SCHEMA!r}), got schema {kind!r}"
        )
    if kind == RESULTS_SCHEMA:
        _check_results(data, path)
    return data, raw


def _check_results(data: Mapping[str, Any], path: Path) -> None:
    """Refuse a results file a report cannot be built from faithfully (hand-edited, truncated by
    hand, another version): :class:`InputError` with the JSON paths of what is wrong."""
    _raise_schema_errors(_validator(RESULTS_SCHEMA_PATH), data, f"{path}: not a usable 'nps-id match' results file")
    tic = data.get("tic")
    if tic is not None and len(tic["rt_min"]) != len(tic["intensity"]):
        raise InputError(f"{path}: not a usable 'nps-id match' results file: /tic has {len(tic['rt_min'])} "
                         f"times but {len(tic['intensity'])} intensities")


def load_sample_info(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read the ``--sample-info`` TOML file (tables laboratory, analyst, reviewer, item, report).

    Unknown tables or keys raise :class:`InputError` (a typo must not silently drop a field).
    Dates may be TOML dates or ``YYYY-MM-DD`` strings.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (pyproject marker)
        import tomli as tomllib

    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    for table, values in data.items():
        if table not in SAMPLE_INFO_KEYS or not isinstance(values, dict):
            raise InputError(f"{path}: unknown table [{table}]; expected {sorted(SAMPLE_INFO_KEYS)}")
        if SAMPLE_INFO_KEYS[table] is None:  # [confirmations]: substance = [techniques]
            continue
        unknown = set(values) - SAMPLE_INFO_KEYS[table]
        if unknown:
            raise InputError(f"{path}: [{table}]: unknown key(s) {sorted(unknown)}; "
                             f"expected some of {sorted(SAMPLE_INFO_KEYS[table])}")
    return {table: {k: _plain(v) for k, v in values.items()} for table, values in data.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value


def merge_sample_info(*layers: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Later layers win key by key (command-line options over the TOML file); None is skipped."""
    merged: dict[str, dict[str, Any]] = {table: {} for table in SAMPLE_INFO_KEYS}
    for layer in layers:
        for table, values in (layer or {}).items():
            merged.setdefault(table, {}).update({k: v for k, v in values.items() if v not in (None, (), [])})
    return merged


# -- building -----------------------------------------------------------------------------------


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
    entries, reference_source = _library_entries(results, library_path)
    findings = [
        _finding(i, f, internal, refs_run, entries, overrides, technique, confirmations)
        for i, f in enumerate(results.get("findings", []))
    ]
    summary = {level: sum(f["verdict"] == level for f in findings)
               for level in ("identified", "tentative", "inconclusive")}
    summary["nps_reportable"] = sum(is_ewa_reportable(f) for f in findings)
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
        }],
        "technique_statement": TECHNIQUE_STATEMENT.format(technique=technique, category=category),
        "findings": findings,
        "chromatograms": [_chromatogram(results, findings)],
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
    item["reference_standards_run"] = None if refs is None else _names(refs)
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


def _finding(index, f, internal, refs_run, entries, overrides, technique, confirmations) -> dict[str, Any]:
    """One finding of the report. ``internal`` and ``refs_run`` hold names (or InChIKeys) already
    passed through :func:`normalise_name`; ``refs_run`` is None when the sample information is silent."""
    entry = entries.get(f.get("library_row"), {})
    ewa = classify(f.get("name"), entry.get("synonyms", ()), smiles=f.get("smiles") or entry.get("smiles"),
                   inchi=f.get("inchi") or entry.get("inchi"), inchikey=f.get("inchikey"),
                   overrides=overrides).to_dict()
    # an internal standard may be named by its name or by its InChIKey
    is_internal = any(normalise_name(v) in internal for v in (f.get("name"), f.get("inchikey")) if v) \
        or f.get("internal_standard") is True  # labelled so by `match --internal-standard`
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
        "monoisotopic_mass": monoisotopic_mass(f.get("formula")),
        "ewa": ewa,
        "verdict": f.get("verdict", "inconclusive"),
        "rule": f.get("rule"),
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
        "reference_standard_run": _reference_run(f.get("name"), refs_run),
        "spectrum": {"mz": list(spectrum.get("mz", [])), "intensity": list(spectrum.get("intensity", []))},
        "reference_spectrum": reference,
        # the raw scan at the apex, to check the deconvolution against (GC-MS results only)
        "apex_spectrum": {"mz": list(apex["mz"]), "intensity": list(apex["intensity"])} if apex else None,
        "deconvolution": {k: f.get(k) for k in ("scan", "scan_range", "model_mz", "purity", "area", "n_ions")},
        "other_techniques": other,
    }
    out["limitations"] = _limitations(out, technique)
    return out


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


def _reference_run(name: str | None, refs_run: set[str] | None) -> str:
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
    if f.get("stereo_note"):
        notes.append(f"Stereoisomers: {f['stereo_note']}.")
    if f["ri"] is None:
        notes.append("No retention index measured: isomers with similar spectra are not separated by RI.")
    if f["reference_standard_run"] == "no":
        notes.append("No reference standard of this substance was run in the batch.")
    if f["internal_standard"]:
        notes.append("Internal standard added by the laboratory: not a constituent of the item.")
    return notes


def _chromatogram(results: Mapping[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    tic = results.get("tic")
    report_score = ((results.get("parameters") or {}).get("verdict") or {}).get("report_score")
    components = []
    for c in results.get("components") or []:
        finding = c.get("finding")
        label = findings[finding]["name"] if finding is not None and finding < len(findings) else None
        best = c.get("best_hit")
        components.append({
            "index": int(c.get("index", len(components))),
            "rt_min": float(c["rt_min"]),
            "height": c.get("height"),
            "area": c.get("area"),
            "model_mz": c.get("model_mz"),
            "n_ions": c.get("n_ions"),
            "top_ions": c.get("top_ions"),
            "best_hit": {"name": best.get("name") or "(unnamed)", "mf": best.get("mf")} if best else None,
            "finding": finding,
            "label": label,
            "note": _component_note(c, label, report_score),
        })
    return {"acquisition": 0, "tic": tic, "components": components}


def _component_note(c: Mapping[str, Any], label: str | None, report_score: int | None) -> str:
    """Why a component gave the finding it gave, or none, in words."""
    if c.get("finding") is not None:
        return f"finding #{c['finding']}" + (f" ({label})" if label else "")
    if c.get("duplicate_of") is not None:
        return f"same peak as component {c['duplicate_of']} (shoulder or tail, same best hit): reported there"
    best = c.get("best_hit")
    if best is None:
        return "no finding: no library hit" if "best_hit" in c else "no finding (best hit not recorded in the results)"
    floor = f" {report_score}" if report_score is not None else ""
    return f"no finding: MF {best.get('mf')} below the reporting score{floor}"


def monoisotopic_mass(formula: str | None) -> float | None:
    """Monoisotopic mass (Da) of a neutral formula such as ``C16H12BrFN2O``; None if unparsable.

    >>> monoisotopic_mass("C16H12BrFN2O")
    346.0117
    """
    if not formula:
        return None
    from pyteomics import mass  # lazy: only reports need it
    from pyteomics.auxiliary import PyteomicsError

    try:
        return round(mass.calculate_mass(formula=formula.replace(" ", "")), 4)
    except (PyteomicsError, KeyError, ValueError):  # an element pyteomics does not know
        return None


def _library_entries(results: Mapping[str, Any], library_path: str | Path | None):
    """The library entries the findings name: {library_row: {spectrum, synonyms, smiles, inchi}},
    and a note on where the mirror-plot reference spectra come from.

    The library named by the results (or ``library_path``) is opened and its content SHA-256
    checked, so a plot never shows a spectrum from another library version. The synonyms and
    structure feed the EWA classification. Without the library, reference spectra embedded in
    the results (``reference_spectrum`` per finding) are used, or the plot says there is none.
    """
    findings = results.get("findings") or []
    rows = sorted({int(f["library_row"]) for f in findings if f.get("library_row") is not None})
    embedded = bool(findings) and all(f.get("reference_spectrum") for f in findings)
    library = results.get("library") or {}
    path = Path(library_path) if library_path else (Path(library["path"]) if library.get("path") else None)
    if library_path and not path.is_file():  # named on purpose: a typo must not drop the reference spectra
        raise LibraryError(f"{path}: no such library file")
    if not rows or path is None or not path.exists():
        if embedded or not findings:
            return {}, "results file" if findings else "none needed"
        # A report without the reference spectra cannot be reviewed: stop, as the help says.
        raise LibraryError(f"{printable(str(path))}: library named by the results not found (moved?); "
                           "pass the same library with --library PATH")
    from nps_id.library import open_verified

    with open_verified(path) as lib:
        if library.get("sha256") and lib.sha256 != library["sha256"]:
            raise LibraryError(
                f"{path}: content SHA-256 {lib.sha256[:12]}... differs from the library the results were "
                f"matched against ({str(library['sha256'])[:12]}...); pass that library with --library"
            )
        if rows[-1] >= lib.n_spectra:
            raise InputError(f"a finding names library row {rows[-1]}, but {path.name} has {lib.n_spectra} "
                             "spectra: the results file was edited or belongs to another library")
        out = {}
        for row in rows:
            spectrum = lib.spectrum(row)
            meta = spectrum.metadata
            out[row] = {
                "spectrum": {"mz": [float(m) for m in spectrum.mz],
                             "intensity": [float(v) for v in spectrum.intensity]},
                "synonyms": list(meta.get("synonyms", ())),
                "comments": meta.get("comments"),
                "smiles": meta.get("smiles"),
                "inchi": meta.get("inchi"),
                "structure_source": meta.get("structure_source"),
                "structure_status": meta.get("structure_status"),
            }
    source = "results file" if embedded else f"library {path.name} (sha256 {lib.sha256[:12]}..., checked)"
    return out, source


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
    standard and was matched in identity mode. ``ewa.nps`` is False for established
    drugs/medicines/adulterants and None when the taxonomy cannot tell; neither is exported. An
    analogue-mode finding is a substance related to the library entry, not the entry itself, so
    exporting the entry's name would report a substance that was not found."""
    return (finding["verdict"] in ("identified", "tentative") and not finding["internal_standard"]
            and not is_analogue(finding) and finding["ewa"]["nps"] is True)


# -- what a reader sees, whatever the format (HTML, PDF, LIMS, EWA, the command line) -------------

DASH = "\u2014"
#: Retention times are shown with this many decimals everywhere (tables and finding pages).
RT_DIGITS = 3


def is_analogue(finding: Mapping[str, Any]) -> bool:
    """True for an analogue-mode finding: a substance related to the library entry, not the entry."""
    return finding.get("match_mode") == "analogue"


def finding_label(finding: Mapping[str, Any]) -> str:
    """How a finding is named wherever a person reads it: an analogue-mode finding is "analogue of
    X" -- the substance is related to the library entry X, not X -- as in ``nps-id match``'s table."""
    name = finding["name"]
    return f"analogue of {name}" if is_analogue(finding) else name


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
    """(label, text) pairs to show before a finding's identifiers: the analogue note, or none."""
    return [("Analogue", ANALOGUE_IDENTIFIERS_NOTE)] if is_analogue(finding) else []


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
    if finding["verdict"] == "identified":
        if other:
            return (f"{technique} library match meets the laboratory's criteria, and {', '.join(other)} is "
                    f"recorded for this substance: two or more independent techniques (SWGDRUG category "
                    f"{category} plus another) support the identification.")
        return (f"{technique} library match meets the laboratory's criteria; a second, independent technique "
                f"is required for identification (SWGDRUG category {category}).")
    if finding["verdict"] == "tentative":
        failed = "; ".join(finding["criteria_failed"]) or "not every criterion met"
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
    a substance the taxonomy knows is not an NPS says so."""
    ewa = finding["ewa"]
    label = ewa["group_label"] + (f" \u2013 {ewa['subclass_label']}" if ewa.get("subclass_label") else "")
    return label + (" (not an NPS)" if ewa["nps"] is False else "")


def summary_line(doc: Mapping[str, Any]) -> str:
    """The counts of a report in one sentence.

    >>> summary_line({"summary": {"identified": 2, "tentative": 1, "inconclusive": 0, "nps_reportable": 1}})
    '2 identified, 1 tentative, 0 inconclusive; 1 NPS for the early-warning export.'
    """
    s = doc["summary"]
    return (f"{s['identified']} identified, {s['tentative']} tentative, {s['inconclusive']} inconclusive; "
            f"{s['nps_reportable']} NPS for the early-warning export.")


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


def component_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    """Every extracted component as table cells: #, RT, area, model ion, top ions, best hit, why."""
    rows = []
    for chrom in doc["chromatograms"]:
        for c in chrom["components"]:
            best = c.get("best_hit")
            rows.append([str(c["index"]), display_number(c["rt_min"], RT_DIGITS), display_number(c.get("area")),
                         display_number(c.get("model_mz")), " ".join(str(m) for m in c.get("top_ions") or []) or DASH,
                         f"{best['name']} (MF {display_number(best.get('mf'))})" if best else DASH,
                         c.get("note") or (f"finding #{c['finding']}" if c.get("finding") is not None else DASH)])
    return rows


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

    >>> display_number(None), display_number(947.0), display_number(6.5123, 3)
    ('\u2014', '947', '6.512')
    """
    if value is None:
        return DASH
    if digits == 0 and float(value).is_integer():
        return str(int(value))
    return f"{float(value):.{digits}f}"


# -- validation and output ----------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _validator(schema_path: Path = SCHEMA_PATH):
    import jsonschema

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def validate_report(doc: Mapping[str, Any], source: str = "report") -> None:
    """Raise :class:`InputError` listing (up to five) schema violations with their JSON paths."""
    _raise_schema_errors(_validator(), doc, f"{source}: does not match {SCHEMA_PATH.name}")


def _raise_schema_errors(validator: Any, doc: Mapping[str, Any], what: str) -> None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors[:5]]
        raise InputError(f"{what}: " + "; ".join(lines))


def report_json_bytes(doc: Mapping[str, Any]) -> bytes:
    """The report as written to disk: indented, sorted keys, UTF-8, trailing newline."""
    # A file name that is not UTF-8 (surrogate escapes) is written as a JSON \udcXX escape: valid
    # JSON text that reads back to the same name.
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
            + "\n").encode("utf-8", "backslashreplace")


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The git commit of the nps-id source tree, when it runs from a checkout (else None)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None


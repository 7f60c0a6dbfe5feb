"""Flat export for a laboratory information management system (LIMS): one row per finding.

Entry point: :func:`render_lims` (report document, delimiter ``","`` or ``"\\t"`` -> text).
Columns are :data:`LIMS_COLUMNS`, in that order; empty cells for unknown values. Every finding
is a row, including inconclusive ones and the internal standard (flagged), because a LIMS keeps
the whole result, not only what is reported.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Callable, Mapping

from nps_id.chem.ewa_groups import placed
from nps_id.report.findings import finding_number
from nps_id.report.present import finding_label, group_band_rate

#: Column -> value from (report document, finding).
LIMS_COLUMNS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], Any]] = {
    "report_id": lambda d, f: d["report_id"],
    "report_status": lambda d, f: d["status"],
    "lab_sample_id": lambda d, f: d["item"].get("lab_sample_id"),
    "case_id": lambda d, f: d["item"].get("case_id"),
    "run_file": lambda d, f: d["acquisitions"][f["acquisition"]]["file"],
    "run_sha256": lambda d, f: d["acquisitions"][f["acquisition"]]["sha256"],
    "technique": lambda d, f: d["acquisitions"][f["acquisition"]]["technique"],
    "finding": lambda d, f: f["index"],
    "substance": lambda d, f: finding_label(f),
    "verdict": lambda d, f: f["verdict"],
    "match_mode": lambda d, f: f.get("match_mode"),
    "rule": lambda d, f: f.get("rule"),
    "criteria_met": lambda d, f: ";".join(f["criteria_met"]),
    "criteria_failed": lambda d, f: ";".join(f["criteria_failed"]),
    "internal_standard": lambda d, f: "yes" if f["internal_standard"] else "no",
    "rt_min": lambda d, f: f["rt_min"],
    "ri": lambda d, f: f["ri"],
    "delta_ri": lambda d, f: f.get("delta_ri"),
    "mf": lambda d, f: f["mf"],
    "rmf": lambda d, f: f["rmf"],
    "score": lambda d, f: f["score"],
    "gap": lambda d, f: f["gap"],
    "isomer_alert": lambda d, f: "yes" if f["isomer_alert"] else "no",
    "runner_up": lambda d, f: (f.get("runner_up") or {}).get("name"),
    "formula": lambda d, f: _own(f, "formula"),
    "monoisotopic_mass": lambda d, f: _own(f, "monoisotopic_mass"),
    "inchikey": lambda d, f: _own(f, "inchikey"),
    "cas": lambda d, f: _own(f, "cas"),
    # a suspected new substance is filed under the group its evidence points to, as in the EWA
    # export -- the hit's group is a relative's -- by the ids the other rows use (stop 40: its label)
    "ewa_group": lambda d, f: placed(f.get("suspected_group"))["group"] if f.get("new_substance") else f["ewa"]["group"],
    "ewa_subclass": lambda d, f: (placed(f.get("suspected_group"))["subclass"] if f.get("new_substance")
                                  else f["ewa"].get("subclass")),
    # the library hit's status; a suspected new substance's own is unknown
    "nps": lambda d, f: "unknown" if f.get("new_substance") else {True: "yes", False: "no", None: "unknown"}[
        f["ewa"]["nps"]],
    "library": lambda d, f: d["provenance"]["libraries"][0]["name"],
    "library_release": lambda d, f: d["provenance"]["libraries"][0]["release"],
    "library_id": lambda d, f: f.get("library_id"),
    "parameters_sha256": lambda d, f: d["provenance"]["parameters_sha256"],
    # issue 18, at the end (existing columns keep their places)
    "new_substance": lambda d, f: "yes" if f.get("new_substance") else "no",
    "suspected_group": lambda d, f: f.get("suspected_group"),
    "estimated_mass": lambda d, f: f.get("estimated_mass"),
    "library_entry": lambda d, f: f["name"],
    # the reports' "#1" (``finding`` is the 0-based index, kept for existing imports)
    "finding_number": lambda d, f: finding_number(f["index"]),
    # stop 44, at the end: how sure the learned group model was of ``suspected_group`` (0-1; empty when no model
    # named it), and how often a group of its band was right in the tests, for the finding's technique
    "suspected_group_probability": lambda d, f: _group_probability(f),
    "suspected_group_band_rate": lambda d, f: (None if _group_probability(f) is None
                                               else group_band_rate(f["suspected_group_probability"], f.get("lc") is not None)),
}


def _group_probability(f: Mapping[str, Any]) -> float | None:
    return f.get("suspected_group_probability") if f.get("new_substance") else None


def _own(f: Mapping[str, Any], key: str) -> Any:
    """An identifier of the substance: empty for a suspected new substance, whose library entry is
    only its closest known compound (named in ``library_entry``), as in the EWA export."""
    return None if f.get("new_substance") else f[key]


def render_lims(doc: Mapping[str, Any], delimiter: str = ",") -> str:
    """CSV (``delimiter=","``) or TSV (``"\\t"``) text with a header row."""
    if delimiter not in (",", "\t"):
        raise ValueError(f"delimiter must be ',' or a tab (got {delimiter!r})")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(LIMS_COLUMNS)
    for f in doc["findings"]:
        writer.writerow(["" if (v := get(doc, f)) is None else v for get in LIMS_COLUMNS.values()])
    return buffer.getvalue()

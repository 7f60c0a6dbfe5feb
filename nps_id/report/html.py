"""The analyst report as one self-contained HTML file (inline CSS and SVG, no external resource).

Entry point: :func:`render_html` (report document -> HTML text). Layout, top to bottom: header
(laboratory, report id, status, issue date), the ISO/IEC 17025 statement, the item, the
acquisition and its SWGDRUG category (and the run's notes: what match said about the run), the summary table of findings (score, MF, RMF, gap, RI, EWA
group, verdict; a line under it gives each score's scale), the TIC with components marked, one section per finding (structure of the
library compound, verdict and criteria, mirror plot with difference trace, hit table,
limitations), signatures, and the provenance.

Everything shown comes from the report document; the renderer adds no clock and no randomness,
so the same document always gives the same bytes.
"""
from __future__ import annotations

import json
from html import escape
from typing import Any, Iterable, Mapping, Sequence

from nps_id.report.present import (CLOSEST_HEADERS, COMPONENTS_INTRO, DASH, NEW_SUBSTANCES_NOTE, RT_DIGITS,
                                   check_lines, closest_rows,
                                   component_model_header, component_rows, conclusion, core_caption, deconvolution_fields,
                                   display_number as _num, draft_mark, ewa_basis, ewa_label, finding_label, identifier_caveats,
                                   isomers_open, item_fields, laboratory_line, lc_evidence_fields, library_entry_fields,
                                   new_substance_fields, new_substance_heading, new_substances, new_substances_title,
                                   provenance_fields,
                                   reference_standard_field, responsibility_fields, scores_note, shown_number,
                                   structure_caption, summary_line, tic_heading, verdict_badge)
from nps_id.report.plots import (VERDICT_COLOURS, apex_figure, figure_svg, mirror_figure, structure_svg, tic_figure,
                                 xic_figure)
from nps_id.report.run_notes import NOTES_HEADING, run_notes

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:13px;color:#1a1a1a;max-width:1000px;
margin:24px auto;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;border-bottom:1px solid #999;padding-bottom:2px;margin-top:28px}
h3{font-size:14px;margin:18px 0 6px}table{border-collapse:collapse;margin:6px 0 10px}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-weight:bold;padding:1px 6px;border-radius:3px;color:#fff}
.identified{background:#1b7837}.tentative{background:#b35806}.inconclusive{background:#6a6a6a}
.statement{border:1px solid #888;background:#f6f6f6;padding:6px 10px}
.status{font-weight:bold;text-transform:uppercase}.muted{color:#666}
td code{word-break:break-all}figure{margin:6px 0}figure svg{max-width:100%;height:auto}
figure.structure{float:right;margin:0 0 6px 12px;width:280px}figure.structure figcaption{font-size:10px;color:#666;overflow-wrap:anywhere}
pre{background:#f6f6f6;border:1px solid #ddd;padding:6px;font-size:11px;white-space:pre-wrap;word-break:break-all}
section.finding{page-break-inside:avoid}
.conclusion{font-weight:bold;border-left:4px solid #888;padding:2px 8px}
.draft-mark{position:fixed;top:40%;left:0;right:0;text-align:center;font-size:64px;font-weight:bold;
color:rgba(200,0,0,.13);transform:rotate(-30deg);pointer-events:none;z-index:10}
.draft-banner{background:#fde0e0;border:2px solid #c00;color:#900;font-weight:bold;padding:4px 10px}
.signature td{height:34px;min-width:220px}.end{text-align:center;margin:30px 0;font-weight:bold}
"""
# printed: every page says whose it is and "page x of y" (the report id is a UUID: safe in CSS)
_PAGE_CSS = ('@page{{size:A4;margin:16mm 12mm 18mm;@bottom-center{{content:"Report {report_id} \\b7  page " '
             'counter(page) " of " counter(pages);font-size:9px;color:#666}}}}')


def _e(value: Any) -> str:
    """Escaped text; missing values as an em dash."""
    if value is None or value == "":
        return DASH
    return escape(str(value))


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "") -> str:
    """Rows are already-escaped HTML cells."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _td(text: str, numeric: bool = False) -> str:
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"


def _kv(pairs: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)
    return f"<table>{rows}</table>"


def _verdict(verdict: str, text: str | None = None) -> str:
    return f'<span class="verdict {escape(verdict)}">{escape(text or verdict)}</span>'


def render_html(doc: Mapping[str, Any]) -> str:
    """The report document as a self-contained HTML page (UTF-8 text)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>nps-id report {_e(doc['item'].get('lab_sample_id') or doc['report_id'])}</title>",
        f"<style>{_CSS}{_PAGE_CSS.format(report_id=escape(doc['report_id']))}</style></head><body>",
        _draft(doc),
        _header(doc),
        _item(doc),
        _acquisitions(doc),
        _checks(doc),
        _summary(doc),
        _chromatograms(doc),
        _components(doc),
        _new_substances(doc),
        *(_finding(doc, f) for f in doc["findings"]),
        _signatures(doc),
        _provenance(doc),
        '<p class="end" id="end-of-report">\u2014 End of report \u2014</p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _draft(doc) -> str:
    """A draft says so at the top and, printed, on every page (a fixed element repeats per page)."""
    mark = draft_mark(doc)
    if mark is None:
        return ""
    return (f'<div class="draft-mark" aria-hidden="true">DRAFT</div>'
            f'<p class="draft-banner" id="draft">{_e(mark)}</p>')


def _header(doc) -> str:
    lab = doc["laboratory"]
    status = doc["status"]
    amend = ""
    if doc.get("amends"):
        amend = f"<p>Amends report {_e(doc['amends'])}: {_e(doc.get('amendment_reason'))}</p>"
    accreditation = " \u2013 " + _e(lab["accreditation"]) if lab.get("accreditation") else ""
    return (
        f"<header><h1>Analytical report \u2013 new psychoactive substances</h1>"
        f"<p><strong>{_e(laboratory_line(doc))}</strong>{accreditation}<br>"
        f"Report <code id=\"report-id\">{_e(doc['report_id'])}</code> \u00b7 status "
        f'<span class="status" id="status">{_e(status)}</span> \u00b7 issued {_e(doc["issued_at"])}</p>'
        f"{amend}"
        f'<p class="statement" id="statement">{_e(doc["statement"])}</p></header>'
    )


def _item(doc) -> str:
    return "<h2>Item</h2>" + _kv(item_fields(doc))


def _acquisitions(doc) -> str:
    rows = [
        [_td(_e(a["technique"])), _td(_e(a["swgdrug_category"])), _td(_e(a["instrument"])), _td(_e(a["method"])),
         _td(_e(a["file"])), _td(f"<code>{_e(a['sha256'])}</code>"), _td(_num(a.get("n_scans")), True)]
        for a in doc["acquisitions"]
    ]
    return ("<h2>Acquisition</h2>"
            + _table(["Technique", "SWGDRUG category", "Instrument", "Method", "File", "SHA-256", "Scans"], rows)
            + f'<p id="technique-statement">{_e(doc["technique_statement"])}</p>' + _run_notes(doc))


def _run_notes(doc) -> str:
    """What match said about the run beside its findings; nothing (not even a heading) when it said nothing."""
    notes = run_notes(doc)
    if not notes:
        return ""
    return (f'<h3 id="run-notes">{_e(NOTES_HEADING)}</h3><ul class="run-notes">'
            + "".join(f"<li>{_e(note)}</li>" for note in notes) + "</ul>")


def _checks(doc) -> str:
    """Internal standard, blank and reference standards: the checks a reviewer repeats by hand."""
    lines = check_lines(doc)
    if not lines:
        return ""
    return ('<h2 id="checks">Internal standard, blank and reference standards</h2><ul>'
            + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>")


def _summary(doc) -> str:
    rows = []
    for f in doc["findings"]:
        rows.append([
            _td(f'<a href="#finding-{f["index"]}">{shown_number(f["index"])}</a>'), _td(_e(finding_label(f))),
            _td(_verdict(f["verdict"], verdict_badge(doc, f))), _td(_num(f["rt_min"], RT_DIGITS), True),
            _td(_num(f["ri"], 0), True), _td(_num(f["score"]), True),
            _td(_num(f["mf"]), True), _td(_num(f["rmf"]), True), _td(_num(f["gap"]), True),
            _td(_e(ewa_label(f))), _td("internal standard" if f["internal_standard"] else _e(isomers_open(f) or "")),
        ])
    counts = f"<p>{_e(summary_line(doc))}</p>"
    # Score: an LC-MS/MS finding has no MF or RMF, and its row showed no score at all
    headers = ["#", "Substance", "Verdict", "RT (min)", "RI", "Score", "MF", "RMF", "Gap", "EWA group", "Note"]
    return ("<h2>Findings</h2>" + counts + _table(headers, rows, cls="hits")
            + f'<p class="muted">{_e(scores_note(headers))}</p>' if rows else "<h2>Findings</h2><p>No finding.</p>")


def _chromatograms(doc) -> str:
    out = []
    for chrom in doc["chromatograms"]:
        if not chrom.get("tic"):
            continue
        acq = doc["acquisitions"][chrom["acquisition"]]
        svg = figure_svg(tic_figure(chrom, doc["findings"]))
        out.append(f'<h2>{tic_heading(chrom)}</h2><figure class="tic">{svg}<figcaption>TIC of '
                   f"{_e(acq['file'])}; \u25bc marks each extracted component: one that gave a finding is "
                   "labelled with the finding's number and name (#N, as in the Findings table; colour = "
                   "verdict), any other with its component number (grey CN, as in the Components table). Where "
                   "labels would overlap, a component's is left off and a finding's is cut to its number (#N); "
                   "the count is given under the plot." + _blank_caption(chrom) + "</figcaption></figure>")
    return "".join(out)


def _blank_caption(chrom) -> str:
    blank = chrom.get("blank")
    if not blank:
        return ""
    return (f" Below: the blank {_e(blank['file'])} on the same scale (\u00d7: where it removed a component of "
            "the sample).")


def _components(doc) -> str:
    rows = component_rows(doc)
    if not rows:
        return ""
    cells = [[_td(_e(c), numeric=i in (0, 1, 2, 3)) for i, c in enumerate(row)] for row in rows]
    return ('<h2 id="components">Components</h2><p>' + _e(COMPONENTS_INTRO) + "</p>" + _table(["CN", "RT (min)", "Area", component_model_header(doc), "Top ions (m/z)", "Best library hit",
                                     "Finding, or why none"], cells, cls="components"))


def _new_substances(doc) -> str:
    """The early warning: findings that are no library compound, with the closest known ones."""
    found = new_substances(doc)
    if not found:
        return ""
    out = [f'<h2 id="new-substances">{_e(new_substances_title(found))}</h2>'
           f'<p>{escape(NEW_SUBSTANCES_NOTE, quote=False)}</p>']
    for f in found:
        closest = _table(CLOSEST_HEADERS, [[_td(_e(cell), numeric=i in (1, 2)) for i, cell in enumerate(row)]
                                           for row in closest_rows(f)], cls="hits")
        drawing = structure_svg(f.get("core_smiles"))
        core = (f'<figure class="structure">{drawing}<figcaption>{_e(core_caption(f))}</figcaption></figure>'
                if drawing else "")
        out.append(f"<h3>{_e(new_substance_heading(f))}</h3>" + _kv(new_substance_fields(f)) + core + closest)
    return "".join(out)


def _finding(doc, f) -> str:
    colour = VERDICT_COLOURS.get(f["verdict"], "#444")
    criteria = _kv([
        ("Rule", f.get("rule")),
        ("Criteria met", ", ".join(f["criteria_met"]) or "none"),
        ("Criteria failed", ", ".join(f["criteria_failed"]) or "none"),
        ("Not evaluated", ", ".join(f.get("criteria_not_evaluated") or []) or "none"),
        ("Match mode", f.get("match_mode")),
    ])
    identity = _kv(identifier_caveats(f) + [
        ("Formula", f["formula"]), ("Monoisotopic mass (Da)", _num(f["monoisotopic_mass"], 4)),
        ("InChIKey", f["inchikey"]), *library_entry_fields(f), ("EWA group", ewa_label(f)),
        ("EWA group decided by", ewa_basis(f, rule=True)),
        ("Library id", f.get("library_id")),
        ("RT (min) / RI / library RI / \u0394RI", " / ".join(_num(f.get(k), 1 if k != "rt_min" else RT_DIGITS)
                                                           for k in ("rt_min", "ri", "library_ri", "delta_ri"))),
        ("Isomer alert", "yes" if f["isomer_alert"] else "no"),
        ("Reference standard run", reference_standard_field(f, doc["item"]["reference_standards_run"] is not None)),
    ])
    hit_headers = ["Rank", "Library entry", "MF", "RMF", "Score", "Similarity", "\u0394mass", "\u0394mass is", "Formula"]
    hits = _table(
        hit_headers,
        [[_td(_num(h.get("rank")), True), _td(_e(h["name"])), _td(_num(h.get("mf")), True),
          _td(_num(h.get("rmf")), True), _td(_num(h.get("score")), True), _td(_num(h.get("similarity")), True),
          _td(_num(h.get("delta_mass"), 4), True), _td(_e(h.get("delta_mass_match"))), _td(_e(h.get("formula")))]
         for h in f["top_hits"]],
        cls="top-hits",
    ) + f'<p class="muted">{_e(scores_note(hit_headers))}</p>'
    svg = figure_svg(mirror_figure(f))
    apex = ""
    if f.get("apex_spectrum"):
        apex = (f'<h3>Deconvolution</h3>{_kv(deconvolution_fields(f))}<figure class="apex">'
                f"{figure_svg(apex_figure(f))}<figcaption>Left: the raw scan at the apex; right: the spectrum "
                "the deconvolution extracted from it (dotted: model ion).</figcaption></figure>")
    lc = ""
    if f.get("lc"):  # LC-MS/MS: the precursor's exact mass, fragments and XIC
        lc = (f"<h3>LC-HRMS evidence</h3>{_kv(lc_evidence_fields(f))}<figure class=\"xic\">"
              f"{figure_svg(xic_figure(f))}<figcaption>Extracted-ion chromatogram of the precursor in the MS1 "
              "scans: the peak the MS/MS spectrum was taken on (shaded) and its RT (dashed).</figcaption></figure>")
    drawing = structure_svg(f.get("smiles"))
    structure = (f'<figure class="structure">{drawing}<figcaption>{_e(structure_caption(f))}</figcaption></figure>'
                 if drawing else "")
    limits = "".join(f"<li>{_e(text)}</li>" for text in f["limitations"])
    return (
        f'<section class="finding" id="finding-{f["index"]}">'
        f'<h2 style="border-color:{colour}">#{shown_number(f["index"])} {_e(finding_label(f))} '
        f'{_verdict(f["verdict"], verdict_badge(doc, f))}'
        f"{' <span class=muted>(internal standard)</span>' if f['internal_standard'] else ''}</h2>"
        f'<p class="conclusion">{_e(conclusion(doc, f))}</p>'
        f"{structure}{identity}<h3>Verdict and criteria</h3>{criteria}"
        f'<h3>Extracted spectrum against the reference</h3><figure class="mirror">{svg}<figcaption>'
        "Up: spectrum extracted from the run; down: library reference; lower panel: difference "
        "(extracted \u2212 reference, % of base peak).</figcaption></figure>"
        f"{apex}{lc}"
        f"<h3>Library hits</h3>{hits}<h3>Limitations</h3><ul>{limits}</ul></section>"
    )


def _signatures(doc) -> str:
    lines = "".join(f"<tr><th>{who}</th><td>{_e(doc[key].get('name'))}</td><td></td><td>{_e(doc[key].get('signed_at'))}"
                    "</td></tr>" for who, key in (("Analyst", "analyst"), ("Reviewer", "reviewer")))
    return ("<h2>Responsibility</h2>" + _kv(responsibility_fields(doc))
            + '<table class="signature" id="signatures"><thead><tr><th></th><th>Name</th><th>Signature</th>'
              f"<th>Date</th></tr></thead><tbody>{lines}</tbody></table>")


def _provenance(doc) -> str:
    p = doc["provenance"]
    libs = _table(["Library", "Release", "SHA-256", "Spectra"],
                  [[_td(_e(lib["name"])), _td(_e(lib["release"])), _td(f"<code>{_e(lib['sha256'])}</code>"),
                    _td(_num(lib.get("n_spectra")), True)] for lib in p["libraries"]])
    params = json.dumps(p["parameters"], indent=1, sort_keys=True, ensure_ascii=False)
    return (
        '<h2 id="provenance">Provenance</h2>'
        + _kv(provenance_fields(doc))
        + libs
        + f'<h3>Parameters (SHA-256 <code id="parameters-sha256">{_e(p["parameters_sha256"])}</code>)</h3>'
        + f"<pre>{escape(params)}</pre>"
    )

"""The analyst report as PDF, drawn directly with matplotlib's PdfPages (A4 portrait).

Entry point: :func:`render_pdf` (report document -> PDF bytes). Pages: (1) header, 17025
statement, item, acquisition with its SWGDRUG category, findings table; (2) the TIC; (3..n) one
page per finding -- identity and structure, verdict and criteria, mirror plot with difference trace, hit table,
limitations; (last) signatures and provenance. Same content as :mod:`nps_id.report.html`.

Drawn directly rather than printed from the HTML by a browser so that it needs nothing outside
Python and is deterministic: no creation date, same bytes for the same document.
"""
from __future__ import annotations

import io
import json
import textwrap
from typing import Any, Mapping, Sequence

from nps_id.report.model import (DASH, display_number as _num, ewa_label, finding_label, identifier_caveats,
                                 item_fields, provenance_fields, responsibility_fields, structure_caption,
                                 summary_line)
from nps_id.report.plots import VERDICT_COLOURS, _rc, draw_mirror, draw_structure, draw_tic

A4_IN = (8.27, 11.69)
_WRAP = 110  # characters per line at 8 pt on A4 with 0.6 in margins


class _Page:
    """A text cursor on one A4 figure (y in figure fraction, top down)."""

    def __init__(self, fig) -> None:
        self.fig = fig
        self.y = 0.955

    def line(self, text: str, *, size: float = 8, weight: str = "normal", colour: str = "#1a1a1a",
             indent: float = 0.0, gap: float = 1.45) -> None:
        for chunk in textwrap.wrap(text, _WRAP - int(indent * 100)) or [""]:
            self.fig.text(0.07 + indent, self.y, chunk, fontsize=size, weight=weight, color=colour, va="top")
            self.y -= gap * size / 72.0 / A4_IN[1]

    def heading(self, text: str) -> None:
        self.y -= 0.008
        self.line(text, size=11, weight="bold")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
        """A plain text table (monospace columns would not fit names; fixed column positions do)."""
        x = [0.07]
        for w in widths[:-1]:
            x.append(x[-1] + w)
        for row, weight in [(headers, "bold")] + [(r, "normal") for r in rows]:
            for xi, w, cell in zip(x, widths, row):
                limit = max(int(w * 150), 4)
                text = cell if len(cell) <= limit else cell[: limit - 1] + "\u2026"
                self.fig.text(xi, self.y, text, fontsize=7, weight=weight, va="top")
            self.y -= 1.45 * 7 / 72.0 / A4_IN[1]

    def pairs(self, items: Sequence[tuple[str, Any]]) -> None:
        for key, value in items:
            self.line(f"{key}: {DASH if value in (None, '') else value}")


def render_pdf(doc: Mapping[str, Any]) -> bytes:
    """The report document as PDF bytes."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    with matplotlib.rc_context(_rc()), PdfPages(buffer, metadata={"CreationDate": None, "Creator": None,
                                                                  "Title": f"nps-id report {doc['report_id']}"}) as pdf:
        pages = [_first_page, _tic_page] + [lambda fig, d, f=f: _finding_page(fig, d, f) for f in doc["findings"]]
        pages.append(_provenance_page)
        for number, draw in enumerate(pages, start=1):
            fig = Figure(figsize=A4_IN)
            if draw(fig, doc) is False:
                continue
            fig.text(0.5, 0.02, f"Report {doc['report_id']} \u00b7 {doc['status']} \u00b7 page {number}",
                     ha="center", fontsize=6, color="#666666")
            pdf.savefig(fig)
    return buffer.getvalue()


def _first_page(fig, doc) -> None:
    page = _Page(fig)
    lab = doc["laboratory"]
    page.line("Analytical report \u2013 new psychoactive substances", size=14, weight="bold")
    page.line(f"{lab.get('name') or DASH} ({lab.get('country') or DASH})")
    page.line(f"Report {doc['report_id']} \u00b7 status {doc['status'].upper()} \u00b7 issued {doc['issued_at']}")
    if doc.get("amends"):
        page.line(f"Amends report {doc['amends']}: {doc.get('amendment_reason') or ''}")
    page.line(doc["statement"], weight="bold")
    page.heading("Item")
    page.pairs(item_fields(doc))
    page.heading("Acquisition")
    for a in doc["acquisitions"]:
        page.pairs([("Technique", f"{a['technique']} (SWGDRUG category {a['swgdrug_category']})"),
                    ("Instrument", a.get("instrument")), ("Method", a.get("method")), ("File", a["file"]),
                    ("SHA-256", a["sha256"])])
    page.line(doc["technique_statement"])
    page.heading("Findings")
    page.line(summary_line(doc))
    rows = [[str(f["index"]), finding_label(f), f["verdict"], _num(f["rt_min"], 3), _num(f["ri"]), _num(f["mf"]),
             _num(f["rmf"]), _num(f["gap"]), ewa_label(f) + (" [IS]" if f["internal_standard"] else "")]
            for f in doc["findings"]]
    page.table(["#", "Substance", "Verdict", "RT min", "RI", "MF", "RMF", "Gap", "EWA group"], rows,
               [0.03, 0.2, 0.09, 0.07, 0.05, 0.05, 0.05, 0.05, 0.27])


def _tic_page(fig, doc):
    chroms = [c for c in doc["chromatograms"] if c.get("tic")]
    if not chroms:
        return False
    fig.text(0.07, 0.955, "Total ion chromatogram", fontsize=11, weight="bold", va="top")
    sub = fig.subfigures(2, 1, height_ratios=[1, 1.4])[0]
    draw_tic(sub, chroms[0], doc["findings"])
    return None


def _finding_page(fig, doc, f) -> None:
    # Text is placed on the page itself (y in page fractions); the mirror plot gets the middle
    # part as a subfigure: page 1.00-0.75 text, 0.75-0.35 plot, 0.35-0.03 table and limitations.
    _, middle, _ = fig.subfigures(3, 1, height_ratios=[0.25, 0.40, 0.35])
    page = _Page(fig)
    tag = " (internal standard)" if f["internal_standard"] else ""
    page.line(f"#{f['index']} {finding_label(f)} \u2013 {f['verdict']}{tag}", size=12, weight="bold",
              colour=VERDICT_COLOURS.get(f["verdict"], "#1a1a1a"), gap=1.3)
    page.pairs(identifier_caveats(f) + [
        ("Formula / monoisotopic mass", f"{f['formula'] or DASH} / {_num(f['monoisotopic_mass'], 4)} Da"),
        ("InChIKey / CAS", f"{f['inchikey'] or DASH} / {f['cas'] or DASH}"),
        ("EWA group", f"{ewa_label(f)} (by {f['ewa']['source']})"),
        ("RT / RI / library RI / \u0394RI",
         " / ".join(_num(f.get(k), 1) for k in ("rt_min", "ri", "library_ri", "delta_ri"))),
        ("MF / RMF / gap", f"{_num(f['mf'])} / {_num(f['rmf'])} / {_num(f['gap'])}; isomer alert: "
                           f"{'yes' if f['isomer_alert'] else 'no'}"),
        ("Rule", f.get("rule")),
        ("Criteria met", ", ".join(f["criteria_met"]) or "none"),
        ("Criteria failed", ", ".join(f["criteria_failed"]) or "none"),
    ])
    # the library compound's structure, top right, with its source in small text
    if draw_structure(fig, f.get("smiles"), [0.72, 0.79, 0.23, 0.15]):
        fig.text(0.835, 0.785, structure_caption(f), fontsize=5, color="#666666", ha="center", va="top",
                 wrap=True)
    draw_mirror(middle, f)
    page.y = 0.34
    page.table(["Rank", "Library entry", "MF", "RMF", "Score", "Formula"],
               [[_num(h.get("rank")), h["name"], _num(h.get("mf")), _num(h.get("rmf")), _num(h.get("score")),
                 h.get("formula") or DASH] for h in f["top_hits"]],
               [0.05, 0.4, 0.07, 0.07, 0.07, 0.2])
    page.line("Limitations:", weight="bold")
    for text in f["limitations"]:
        page.line("\u2022 " + text, indent=0.01)


def _provenance_page(fig, doc) -> None:
    page = _Page(fig)
    page.heading("Responsibility")
    page.pairs(responsibility_fields(doc))
    page.heading("Provenance")
    page.pairs(provenance_fields(doc))
    p = doc["provenance"]
    for lib in p["libraries"]:
        page.line(f"Library: {lib['name']} {lib['release']}, {lib.get('n_spectra')} spectra, SHA-256 {lib['sha256']}")
    page.line(f"Parameters SHA-256: {p['parameters_sha256']}", weight="bold")
    params = json.dumps(p["parameters"], sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    page.line(params, size=6.5)

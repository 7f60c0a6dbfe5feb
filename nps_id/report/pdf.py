"""The analyst report as PDF, drawn directly with matplotlib's PdfPages (A4 portrait).

Entry point: :func:`render_pdf` (report document -> PDF bytes); a finding page's title and lines:
:func:`finding_heading` (a long name clipped there) and :func:`finding_fields`. Pages: (1) header, 17025
statement, item, acquisition with its SWGDRUG category and the run's notes, the checks (internal standard, blank,
reference standards; notes and checks on pages of their own when they do not fit), findings table (continued on
the next pages when long); (2) the TIC, with the blank's below it, and the table of every
component (continued on further pages when long); the suspected new substances (group,
estimated mass, closest known compounds, the core structure they share, drawn), on pages of their
own when there are any (the section's note on the first, the others titled "(continued)"); then one page per finding --
conclusion, identity and structure, verdict and criteria, mirror plot with difference trace, raw
apex scan beside the deconvoluted spectrum, hit table, limitations -- its text going on over
continuation pages ("(continued)") when it does not fit above the plots, never cut; (last) signatures, provenance
and the end-of-report mark. Every page: "page x of y", and DRAFT across it for a draft. Same
content as :mod:`nps_id.report.html`.

Drawn directly rather than printed from the HTML by a browser so that it needs nothing outside
Python and is deterministic: no creation date, same bytes for the same document.
"""
from __future__ import annotations

import functools
import io
import json
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from nps_id.report.present import (CLOSEST_HEADERS, COMPONENTS_INTRO, DASH, NEW_SUBSTANCES_NOTE, RT_DIGITS,
                                   check_lines, clipped, closest_rows, counted,
                                   component_model_header, component_rows, conclusion, core_caption, deconvolution_fields,
                                   display_number as _num, draft_mark, ewa_basis, ewa_label, finding_label, identifier_caveats,
                                   isomers_open, item_fields, laboratory_line, lc_evidence_fields, library_entry_fields,
                                   new_substance_fields, new_substance_heading, new_substances, new_substances_title,
                                   provenance_fields,
                                   reference_standard_field, responsibility_fields, scores_note, structure_caption,
                                   shown_number, summary_line, tic_heading, verdict_badge)
from nps_id.report.plots import (MIRROR_MARGINS_IN, PANEL_MARGINS_IN, VERDICT_COLOURS, _rc, draw_apex, draw_mirror,
                                 draw_structure, draw_tic, draw_xic)
from nps_id.report.run_notes import NOTES_HEADING, PDF_NOTE_CHARACTERS, run_notes

A4_IN = (8.27, 11.69)
_WRAP = 110  # characters per line at 8 pt on A4 with 0.6 in margins
_TOP = 0.955  # page fraction where the text of a page starts
_TABLE_LINE = 1.45 * 7 / 72.0 / A4_IN[1]  # one line of a table (7 pt), page fraction
#: Lines a table cell may take (840 characters in the findings' Substance column; real names
#: take a few): a taller row would run off its page under the footer, and the rest be lost unmarked.
_MAX_CELL_LINES = 30
#: The same for the hit table of a finding's page, which shares the page with the text and plots
#: (240 characters in its Library entry column; real names take one or two lines).
_MAX_HIT_CELL_LINES = 4


@dataclass(frozen=True)
class _Paragraph:
    """A text paragraph and how it is set: point size, weight, colour, indent (page fraction),
    line gap (times the size) and width (characters at 8 pt)."""

    text: str
    size: float = 8
    weight: str = "normal"
    colour: str = "#1a1a1a"
    indent: float = 0.0
    gap: float = 1.45
    width: int = _WRAP

    @property
    def height(self) -> float:
        """One line, page fraction."""
        return self.gap * self.size / 72.0 / A4_IN[1]

    def lines(self) -> list[str]:
        return textwrap.wrap(self.text, int((self.width - self.indent * 100) * 8 / self.size)) or [""]


class _Page:
    """A text cursor on one A4 figure (y in figure fraction, top down)."""

    def __init__(self, fig) -> None:
        self.fig = fig
        self.y = _TOP

    def line(self, text: str, *, size: float = 8, weight: str = "normal", colour: str = "#1a1a1a",
             indent: float = 0.0, gap: float = 1.45, width: int = _WRAP) -> None:
        paragraph = _Paragraph(text, size, weight, colour, indent, gap, width)
        self._draw(paragraph, paragraph.lines())

    def set_lines(self, wrapped: Sequence[tuple[_Paragraph, list[str]]]) -> None:
        """Draw already wrapped paragraphs (:func:`_fit` decides which lines go on this page)."""
        for paragraph, lines in wrapped:
            self._draw(paragraph, lines)

    def continued(self) -> None:
        """The mark at the foot of a finding's text that goes on over the page."""
        self.line("(continued on the next page)", size=7, colour="#666666")

    def _draw(self, paragraph: _Paragraph, lines: Sequence[str]) -> None:
        p = paragraph
        for text in lines:
            self.fig.text(0.07 + p.indent, self.y, text, fontsize=p.size, weight=p.weight, color=p.colour, va="top")
            self.y -= p.height

    def heading(self, text: str) -> None:
        self.y -= 0.008
        self.line(text, size=11, weight="bold")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
              max_lines: int = _MAX_CELL_LINES) -> None:
        """A plain text table (monospace columns would not fit names; fixed column positions do)."""
        self.row(headers, widths, weight="bold")
        for row in rows:
            self.row(row, widths, max_lines=max_lines)

    def row(self, cells: Sequence[str], widths: Sequence[float], *, weight: str = "normal",
            max_lines: int = _MAX_CELL_LINES) -> None:
        """One table row at fixed column positions; a cell longer than its column wraps onto
        further lines of the row (a cut name or group would hide what was found)."""
        x = 0.07
        lines = 1
        for w, cell in zip(widths, cells):
            # The row's own lines only: a line break in a name would overprint the next row.
            chunks = textwrap.wrap(" ".join(cell.split()), max(int(w * 150), 4)) or [""]
            if len(chunks) > max_lines:  # taller than its page has room for: cut, visibly
                chunks = chunks[:max_lines - 1] + ["\u2026"]
            for k, chunk in enumerate(chunks):
                self.fig.text(x, self.y - k * _TABLE_LINE, chunk, fontsize=7, weight=weight, va="top")
            x += w
            lines = max(lines, len(chunks))
        self.y -= lines * _TABLE_LINE

    def pairs(self, items: Sequence[tuple[str, Any]], width: int = _WRAP) -> None:
        for key, value in items:
            self.line(_pair(key, value), width=width)


def _pair(key: str, value: Any) -> str:
    return f"{key}: {DASH if value in (None, '') else value}"


def render_pdf(doc: Mapping[str, Any]) -> bytes:
    """The report document as PDF bytes."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    pages = _pages(doc)
    buffer = io.BytesIO()
    mark = draft_mark(doc)
    with matplotlib.rc_context(_rc()), PdfPages(buffer, metadata={"CreationDate": None, "Creator": None,
                                                                  "Title": f"nps-id report {doc['report_id']}"}) as pdf:
        for number, draw in enumerate(pages, start=1):
            fig = Figure(figsize=A4_IN)
            draw(fig)
            if mark:  # on every page, across it, so no page of a draft can pass for a signed one
                fig.text(0.5, 0.5, "DRAFT", fontsize=110, weight="bold", color="#cc0000", alpha=0.12,
                         ha="center", va="center", rotation=35)
                fig.text(0.93, 0.985, mark, fontsize=7, weight="bold", color="#cc0000", ha="right", va="top")
            fig.text(0.5, 0.02, f"Report {doc['report_id']} \u00b7 {doc['status']} \u00b7 page {number} of {len(pages)}",
                     ha="center", fontsize=6, color="#666666")
            pdf.savefig(fig)
    return buffer.getvalue()


def _pages(doc: Mapping[str, Any]) -> list[Callable[[Any], None]]:
    """One drawing function per page, so the page count is known before the first is drawn."""
    # The checks go on page 1, between the acquisition and the findings, as in the HTML; when
    # they and the findings table do not both fit, on pages of their own after the table. A table
    # longer than page 1 continues on the next pages (its rows wrap: their height is measured).
    # The run's notes (what match said about it) go under the acquisition, and move with the checks.
    checks, moved = check_lines(doc), []
    notes, moved_notes = [clipped(note, PDF_NOTE_CHARACTERS) for note in run_notes(doc)], []
    items = _findings_items(doc)
    heading = functools.partial(_findings_heading, doc=doc)
    findings = _paginate(items, heading, _findings_item, top=_header(_Page(_blank_page()), doc, checks, notes))
    if (checks or notes) and (len(findings) > 1 or _first_page(_blank_page(), doc, checks, items, notes) < _BOTTOM):
        checks, moved, moved_notes = [], checks, notes
        # page 1 still says there are notes, and where (a reader of the acquisition would miss them)
        notes = [f"{counted(len(moved_notes), 'note')}: after the findings table"] if moved_notes else []
        findings = _paginate(items, heading, _findings_item, top=_header(_Page(_blank_page()), doc, [], notes))
    pages: list[Callable[[Any], None]] = [lambda fig: _first_page(fig, doc, checks, findings[0] if findings else [],
                                                                  notes)]
    pages += [lambda fig, part=part: _findings_section(_Page(fig), doc, part) for part in findings[1:]]
    pages += [lambda fig, part=part: _notes_section(_Page(fig), part)
              for part in _paginate(moved_notes, _notes_heading, _check_line)]
    pages += [lambda fig, part=part: _checks_section(_Page(fig), part)
              for part in _paginate(moved, _checks_heading, _check_line)]
    chroms = [c for c in doc["chromatograms"] if c.get("tic")]
    chrom = chroms[0] if chroms else None
    # Rows wrap, so the components are paginated by the height they take, the first part below the TIC.
    model = component_model_header(doc, short=True)
    parts = _paginate(component_rows(doc), lambda page: _components_heading(page, model), _component_row,
                      top=_tic_bottom(chrom))
    if chrom is not None or parts:
        pages.append(lambda fig, first=parts[0] if parts else []: _tic_page(fig, doc, chrom, first))
    pages += [lambda fig, part=part: _components_table(_Page(fig), part, model) for part in parts[1:]]
    found = new_substances(doc)
    title = new_substances_title(found)  # the whole section's, on each of its pages
    # the section's note once, on its first page; the pages after it go on under the title "(continued)"
    sections = _paginate(found, lambda page: _new_substances_heading(page, title), _new_substance,
                         later=lambda page: _new_substances_heading(page, title, continued=True))
    pages += [lambda fig, part=part, k=k: _new_substances_section(_Page(fig), part, title, continued=k > 0)
              for k, part in enumerate(sections)]
    for f in doc["findings"]:
        layout = _finding_layout(doc, f)
        pages.append(lambda fig, f=f, layout=layout: _finding_page(fig, doc, f, layout))
        pages += [lambda fig, f=f, part=part, more=k < len(layout.continued) - 1: _finding_continued(fig, doc, f, part, more)
                  for k, part in enumerate(layout.continued)]
    pages.append(lambda fig: _provenance_page(fig, doc))
    return pages


_BOTTOM = 0.05  # page fraction: the footer is below


def _blank_page():
    from matplotlib.figure import Figure

    return Figure(figsize=A4_IN)


def _checks_section(page: _Page, lines: Sequence[str]) -> None:
    _checks_heading(page)
    for text in lines:
        _check_line(page, text)


def _checks_heading(page: _Page) -> None:
    page.heading("Internal standard, blank and reference standards")


def _check_line(page: _Page, text: str) -> None:
    page.line("\u2022 " + text, indent=0.01)


def _notes_section(page: _Page, notes: Sequence[str]) -> None:
    _notes_heading(page)
    for text in notes:
        _check_line(page, text)


def _notes_heading(page: _Page) -> None:
    page.heading(NOTES_HEADING)


def _paginate(items: Sequence[Any], heading: Callable[[_Page], None],
              draw: Callable[[_Page, Any], None], top: float = _TOP,
              later: Callable[[_Page], None] | None = None) -> list[list[Any]]:
    """``items`` in page-sized parts, each page opening with ``heading`` (a dirty blank can remove
    dozens of components; a run can hold many suspected new substances); no part when no item.
    The first page's text starts at ``top`` (page fraction; lower when a plot is above it); the pages
    after it open with ``later`` when given (a section whose introduction is said once)."""
    parts: list[list[Any]] = []
    probe = None
    for item in items:
        if probe is not None:
            draw(probe, item)
        if probe is None or (probe.y < _BOTTOM and parts[-1]):
            parts.append([])
            probe = _Page(_blank_page())
            probe.y = top if len(parts) == 1 else _TOP
            (heading if len(parts) == 1 or later is None else later)(probe)
            draw(probe, item)
        parts[-1].append(item)
    return parts


#: Height (page fraction) of the core structure drawn for a suspected new substance.
_CORE_HEIGHT = 0.12


def _new_substances_section(page: _Page, found: Sequence[Mapping[str, Any]], title: str, continued: bool) -> None:
    _new_substances_heading(page, title, continued)
    for f in found:
        _new_substance(page, f)


def _new_substances_heading(page: _Page, title: str, continued: bool = False) -> None:
    """The section's title, with its note on its first page only (stop 44: each page repeated it)."""
    if continued:
        page.heading(title + _CONTINUED_TITLE)
        return
    page.heading(title)
    page.line(NEW_SUBSTANCES_NOTE)


def _new_substance(page: _Page, f: Mapping[str, Any]) -> None:
    """One suspected new substance, as in the HTML: heading, fields, core structure, closest compounds."""
    page.y -= 0.006
    page.line(new_substance_heading(f), size=9.5, weight="bold")
    page.pairs(new_substance_fields(f))
    if draw_structure(page.fig, f.get("core_smiles"), [0.07, page.y - _CORE_HEIGHT, 0.2, _CORE_HEIGHT]):
        page.y -= _CORE_HEIGHT + 0.004
        page.line(core_caption(f))
    page.table(CLOSEST_HEADERS, closest_rows(f), [0.35, 0.1, 0.12, 0.2])


def _first_page(fig, doc, checks: Sequence[str], findings: Sequence[tuple[str, Any]],
                notes: Sequence[str] = ()) -> float:
    """Header, item, acquisition, the run's notes and the checks (when given) and the findings table's
    first part (:func:`_findings_items`); returns where the text ended (page fraction from the bottom)."""
    page = _Page(fig)
    _header(page, doc, checks, notes)
    _findings_section(page, doc, findings)
    return page.y


def _header(page: _Page, doc, checks: Sequence[str], notes: Sequence[str] = ()) -> float:
    """Page 1 above the findings: header, item, acquisition, the run's notes, the checks; returns where
    it ended (page fraction from the bottom)."""
    page.line("Analytical report \u2013 new psychoactive substances", size=14, weight="bold")
    page.line(laboratory_line(doc))
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
    if notes:
        _notes_section(page, notes)
    if checks:
        _checks_section(page, checks)
    return page.y


_FINDING_WIDTHS = (0.03, 0.19, 0.18, 0.06, 0.04, 0.04, 0.04, 0.04, 0.04, 0.21)


_FINDING_HEADERS = ["#", "Substance", "Verdict", "RT min", "RI", "Score", "MF", "RMF", "Gap", "EWA group"]


def _findings_items(doc) -> list[tuple[str, Any]]:
    """The findings table as items to paginate: ("row", its cells) per finding, then ("note",
    text) for each whose isomers are open -- what the cells are too narrow for (HTML: its Note
    column) -- and last the scales of its score columns and of the finding pages' hit tables."""
    rows = [("row", [shown_number(f["index"]), finding_label(f), verdict_badge(doc, f), _num(f["rt_min"], RT_DIGITS),
                     _num(f["ri"]), _num(f["score"]), _num(f["mf"]), _num(f["rmf"]), _num(f["gap"]),
                     ewa_label(f) + (" [IS]" if f["internal_standard"] else "")]) for f in doc["findings"]]
    notes = [("note", f"#{shown_number(f['index'])}: {isomers_open(f)}.") for f in doc["findings"] if isomers_open(f)]
    # its Score is the finding pages' hit tables' too: a note on each page would shrink its plots
    return rows + notes + ([("note", scores_note(_FINDING_HEADERS))] if rows else [])


def _findings_section(page: _Page, doc, items: Sequence[tuple[str, Any]]) -> None:
    _findings_heading(page, doc)
    for item in items:
        _findings_item(page, item)


def _findings_heading(page: _Page, doc: Mapping[str, Any]) -> None:
    page.heading("Findings")
    page.line(summary_line(doc))
    page.row(_FINDING_HEADERS, _FINDING_WIDTHS, weight="bold")


def _findings_item(page: _Page, item: tuple[str, Any]) -> None:
    kind, content = item
    if kind == "row":
        page.row(content, _FINDING_WIDTHS)
    else:
        page.line(content)


def _tic_page(fig, doc, chrom, rows) -> None:
    """The TIC in the top third (heading above its axes; with a blank, the blank's TIC below it and
    the plot down to mid-page), the component table below it."""
    page = _Page(fig)
    if chrom is not None:
        page.heading(tic_heading(chrom))
        draw_tic(_band(fig, page.y - 0.01, _tic_bottom(chrom) + 0.03), chrom, doc["findings"])
        page.y = _tic_bottom(chrom)
    _components_table(page, rows, component_model_header(doc, short=True))


def _tic_bottom(chrom: Mapping[str, Any] | None) -> float:
    """Where the text below the TIC (and the blank's) starts: page fraction, top when no TIC."""
    if chrom is None:
        return _TOP
    return (0.47 if chrom.get("blank") else 0.6) - 0.03


def _band(fig, top: float, bottom: float):
    """A full-width subfigure between ``top`` and ``bottom`` (page fractions) to draw a plot in."""
    return fig.subfigures(3, 1, height_ratios=[1 - top, top - bottom, bottom])[1]


_COMPONENT_WIDTHS = (0.03, 0.06, 0.06, 0.07, 0.13, 0.22, 0.33)


def _components_table(page: _Page, rows, model: str) -> None:
    _components_heading(page, model)
    for row in rows:
        _component_row(page, row)


def _components_heading(page: _Page, model: str) -> None:
    page.heading("Components")
    page.line(COMPONENTS_INTRO)
    page.row(["CN", "RT min", "Area", model, "Top ions", "Best library hit", "Finding, or why none"],
             _COMPONENT_WIDTHS, weight="bold")


def _component_row(page: _Page, row: Sequence[str]) -> None:
    page.row(row, _COMPONENT_WIDTHS)


@dataclass(frozen=True)
class _FindingLayout:
    """A finding's text laid out before its pages are drawn (so the page count is known): the
    lines on its own page above the plots, and the rest in continuation pages' parts."""

    first: list[tuple[_Paragraph, list[str]]]
    continued: list[list[tuple[_Paragraph, list[str]]]]
    hits_height: float  #: the hit table and limitations, page fraction
    lowest_top: float  #: the lowest the plots may start, page fraction


#: Height of the "(continued on the next page)" mark (7 pt), page fraction.
_CONTINUED = 1.45 * 7 / 72.0 / A4_IN[1]


def _fit(wrapped: Sequence[tuple[_Paragraph, list[str]]], top: float, bottom: float) -> tuple[list, list]:
    """(the lines that fit between ``top`` and ``bottom``, the lines that go on over the page),
    whole lines, a paragraph split between pages where it must; room kept for the continued mark."""
    if sum(len(lines) * p.height for p, lines in wrapped) <= top - bottom:
        return list(wrapped), []
    here: list[tuple[_Paragraph, list[str]]] = []
    rest: list[tuple[_Paragraph, list[str]]] = []
    y = top - _CONTINUED
    for paragraph, lines in wrapped:
        n = 0 if rest else min(len(lines), max(int((y - bottom) / paragraph.height + 1e-9), 0))
        if n:
            here.append((paragraph, lines[:n]))
            y -= n * paragraph.height
        if n < len(lines):
            rest.append((paragraph, lines[n:]))
    return here, rest


def _heading_paragraph(doc, f, width: int, suffix: str = "") -> _Paragraph:
    # the title whole (its name is clipped already): cut with the rest, it lost the verdict badge
    return _Paragraph(finding_heading(doc, f) + suffix, size=12, weight="bold",
                      colour=VERDICT_COLOURS.get(f["verdict"], "#1a1a1a"), gap=1.3, width=width)


def _finding_layout(doc, f) -> _FindingLayout:
    """Where a finding's text goes: its page keeps room for the plots (their axes shrink to
    :data:`_MIN_PLOT_SCALE` at most; their margins keep their size) and for the hit table and
    limitations above the footer; text that does not fit there goes on over continuation pages,
    never cut (an LC analogue's rule and criteria ended in "..." where the HTML gave them whole)."""
    width = _finding_width(f)
    probe = _Page(_blank_page())
    _hits_and_limitations(probe, f)
    fixed, axes, gap = _plot_parts(f)
    lowest_top = _BOTTOM + (_TOP - probe.y) + 0.005 + gap + sum(fixed) + sum(axes) * _MIN_PLOT_SCALE
    heading = _heading_paragraph(doc, f, width)
    wrapped = [(p, p.lines()) for p in (_Paragraph(conclusion(doc, f), weight="bold", width=width),
                                        *(_Paragraph(_pair(k, v), width=width)
                                          for k, v in finding_fields(f, doc["item"]["reference_standards_run"] is not None)))]
    first, rest = _fit(wrapped, _TOP - len(heading.lines()) * heading.height, lowest_top + 0.01)
    parts = []
    top = _TOP - len(_heading_paragraph(doc, f, _WRAP, _CONTINUED_TITLE).lines()) * heading.height
    while rest:
        part, rest = _fit(rest, top, _BOTTOM + 0.01)
        parts.append(part)
    return _FindingLayout(first, parts, _TOP - probe.y, lowest_top)


_CONTINUED_TITLE = " (continued)"


def _finding_width(f) -> int:
    return _WRAP - 45 if f.get("smiles") else _WRAP  # leave room for the structure, top right


def _plot_parts(f) -> tuple[tuple[float, float], tuple[float, float], float]:
    """(margins, axes) of the mirror plot and the plot below it, and the gap between, page fractions.
    GC: the raw apex scan under the mirror; LC-MS/MS: the precursor's XIC in its place."""
    second = bool(f.get("apex_spectrum") or f.get("lc"))
    return ((_MIRROR[0], _PANEL[0] if second else 0.0), (_MIRROR[1], _PANEL[1] if second else 0.0),
            _PLOT_GAP if second else 0.0)


def _finding_continued(fig, doc, f, part, more: bool) -> None:
    """A continuation page of a finding's text: its title marked "(continued)", the next lines."""
    page = _Page(fig)
    heading = _heading_paragraph(doc, f, _WRAP, _CONTINUED_TITLE)
    page.set_lines([(heading, heading.lines()), *part])
    if more:
        page.continued()


def _finding_page(fig, doc, f, layout: _FindingLayout) -> None:
    # Page fractions, top down: text 1.00-0.64, mirror plot 0.64-0.36, apex vs deconvoluted
    # 0.36-0.22 (GC-MS), hit table and limitations below (the plots lower and smaller when the
    # text is long; text that does not fit above them goes on over the next page).
    page = _Page(fig)
    heading = _heading_paragraph(doc, f, _finding_width(f))
    page.set_lines([(heading, heading.lines()), *layout.first])
    if layout.continued:
        page.continued()
    fixed, axes, gap = _plot_parts(f)
    second = bool(gap)
    lowest_top = layout.lowest_top
    # the library compound's structure, top right, with its source in small text
    if draw_structure(fig, f.get("smiles"), [0.7, 0.8, 0.25, 0.14]):
        fig.text(0.825, 0.795, "\n".join(textwrap.wrap(structure_caption(f), 60)), fontsize=5, color="#666666",
                 ha="center", va="top")
    top = min(page.y - 0.01, max(0.64, lowest_top))  # higher than usual only for a tall hit table
    room = top - _BOTTOM - layout.hits_height - 0.005 - gap - sum(fixed)
    scale = min(1.0, max(_MIN_PLOT_SCALE, room / sum(axes)))
    mirror, panel = (margins + height * scale for margins, height in zip(fixed, axes))
    draw_mirror(_band(fig, top, top - mirror), f)
    bottom = top - mirror
    if second:
        draw = draw_apex if f.get("apex_spectrum") else draw_xic
        bottom -= gap
        draw(_band(fig, bottom, bottom - panel), f)
        bottom -= panel
    page.y = bottom - 0.005
    _hits_and_limitations(page, f)


#: Page fraction between the mirror plot and the plot below it: their margins are fractions of
#: their height, so at half size the mirror's m/z tick labels ran into the next plot's title
#: (the card's suspected new substance, page 5: "raw scan at100 the apex").
_PLOT_GAP = 0.008


def _plot_heights(height: float, margins_in: tuple[float, float]) -> tuple[float, float]:
    """A plot of ``height`` (page fraction, at full size) as (its margins, its axes), page fractions."""
    margins = sum(margins_in) / A4_IN[1]
    return margins, height - margins


_MIRROR = _plot_heights(0.25, MIRROR_MARGINS_IN)
_PANEL = _plot_heights(0.13, PANEL_MARGINS_IN)
#: The least a plot's axes shrink to, the margins kept: the plots take no more of a full page than
#: they did at half size when their margins shrank with them, so the text keeps its room.
_MIN_PLOT_SCALE = 0.3


#: Characters of a name in a finding page's heading (two lines at 12 pt); a longer one ends in an
#: ellipsis there and is given whole in the "Name" line below (a 6,000-character name took 40 lines).
_HEADING_NAME = 150


def finding_heading(doc: Mapping[str, Any], f: Mapping[str, Any]) -> str:
    """A finding page's title: number, name (clipped to :data:`_HEADING_NAME`), verdict badge."""
    tag = " (internal standard)" if f["internal_standard"] else ""
    return f"#{shown_number(f['index'])} {clipped(finding_label(f), _HEADING_NAME)} \u2013 {verdict_badge(doc, f)}{tag}"


def finding_fields(f: Mapping[str, Any], stated: bool = True) -> list[tuple[str, Any]]:
    """The (label, value) lines under a finding page's title; "Name" first when the title clips it
    (``stated``: the sample information names reference standard runs, :func:`reference_standard_field`)."""
    decon = dict(deconvolution_fields(f))
    label = finding_label(f)
    fields = [("Name", label)] if len(label) > _HEADING_NAME else []
    fields += identifier_caveats(f) + [
        ("Formula / monoisotopic mass", f"{f['formula'] or DASH} / {_num(f['monoisotopic_mass'], 4)} Da"),
        ("InChIKey", f["inchikey"]),
        *library_entry_fields(f),
        ("EWA group", f"{ewa_label(f)} ({ewa_basis(f, rule=False)})"),
        ("RT min / RI / library RI / \u0394RI",
         " / ".join(_num(f.get(k), RT_DIGITS if k == "rt_min" else 1) for k in ("rt_min", "ri", "library_ri", "delta_ri"))),
        ("MF / RMF / gap", f"{_num(f['mf'])} / {_num(f['rmf'])} / {_num(f['gap'])}; isomer alert: "
                           f"{'yes' if f['isomer_alert'] else 'no'}"),
        ("Reference standard run", reference_standard_field(f, stated)),
        ("Rule", f.get("rule")),
        ("Criteria met", ", ".join(f["criteria_met"]) or "none"),
        ("Criteria failed", ", ".join(f["criteria_failed"]) or "none"),
        *lc_evidence_fields(f),
    ]
    if f.get("apex_spectrum"):
        fields.append(("Deconvolution", "; ".join(f"{k} {v}" for k, v in decon.items() if v is not None)))
    return fields


def _hits_and_limitations(page: _Page, f) -> None:
    page.table(["Rank", "Library entry", "MF", "RMF", "Score", "Formula"],
               [[_num(h.get("rank")), h["name"], _num(h.get("mf")), _num(h.get("rmf")), _num(h.get("score")),
                 h.get("formula") or DASH] for h in f["top_hits"]],
               [0.05, 0.4, 0.07, 0.07, 0.07, 0.2], max_lines=_MAX_HIT_CELL_LINES)
    page.line("Limitations:", weight="bold")
    for text in f["limitations"]:
        page.line("\u2022 " + text, indent=0.01)


def _provenance_page(fig, doc) -> None:
    page = _Page(fig)
    page.heading("Responsibility")
    page.pairs(responsibility_fields(doc))
    for who, key in (("Analyst", "analyst"), ("Reviewer", "reviewer")):
        page.y -= 0.025
        person = doc[key]
        page.line(f"{who}: {person.get('name') or '_' * 30}    Signature: {'_' * 34}    "
                  f"Date: {person.get('signed_at') or '_' * 20}")
    page.heading("Provenance")
    page.pairs(provenance_fields(doc))
    p = doc["provenance"]
    for lib in p["libraries"]:
        page.line(f"Library: {lib['name']} {lib['release']}, {lib.get('n_spectra')} spectra, SHA-256 {lib['sha256']}")
    page.line(f"Parameters SHA-256: {p['parameters_sha256']}", weight="bold")
    params = json.dumps(p["parameters"], sort_keys=True, separators=(", ", ": "), ensure_ascii=False)
    page.line(params, size=6.5)
    page.y -= 0.02
    fig.text(0.5, page.y, "\u2014 End of report \u2014", ha="center", va="top", fontsize=9, weight="bold")

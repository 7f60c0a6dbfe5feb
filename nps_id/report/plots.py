"""Report figures drawn with matplotlib (imported lazily): the TIC, the mirror plots, structures.

Entry points
------------
- :func:`tic_figure` -- the total ion chromatogram with every component marked and the findings
  labelled; with a blank, the blank's TIC below it on the same scales.
- :func:`mirror_figure` -- extracted spectrum (up) against the library reference (down), with
  the difference trace in a panel below.
- :func:`apex_figure` -- the raw scan at a component's apex beside its deconvoluted spectrum.
- :func:`xic_figure` -- an LC-MS/MS finding's precursor XIC, its MS1 peak shaded, the MS/MS RT marked.
- :func:`draw_tic`, :func:`draw_mirror`, :func:`draw_apex`, :func:`draw_xic` -- the same, drawn into a given
  Figure/SubFigure (PDF pages).
- :func:`structure_svg` / :func:`draw_structure` -- a library compound's structure (RDKit
  rdMolDraw2D) as inline SVG (HTML) or drawn into a figure (PDF page).
- :func:`figure_svg` -- a figure as an SVG string that is identical for identical input (no date,
  fixed id salt, text kept as text).

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot global state), so the
HTML and PDF writers can share them and tests can run in parallel.
"""
from __future__ import annotations

import functools
import io
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from nps_id.report.findings import component_number, finding_label, shown_number
from nps_id.report.present import clipped, counted

VERDICT_COLOURS = {"identified": "#1b7837", "tentative": "#b35806", "inconclusive": "#6a6a6a"}
_LABEL_TOP_IONS = 6


def _rc() -> dict[str, Any]:
    # Fixed settings so the SVG is byte-identical from run to run: no random ids, no font
    # embedding that depends on the machine, DejaVu Sans (shipped with matplotlib).
    return {"svg.hashsalt": "nps-id-report", "svg.fonttype": "none", "font.family": "DejaVu Sans",
            "font.size": 8, "axes.titlesize": 9, "axes.spines.top": False, "axes.spines.right": False,
            "pdf.fonttype": 3,  # Type 3 subsets: a third faster to write than TrueType (42)
            "text.parse_math": False}  # names from library files are text: "$...$" is no mathtext


#: Margins (top, bottom) around a plot's axes, in inches: the legend or title above, the tick labels
#: and "m/z" below keep their size when a PDF page shrinks the plot. As fractions of the plot they
#: shrank with it, and the apex plot's "m/z" ran into the hit table's header below it (the card
#: 220223030, PDF pages 5 and 7).
MIRROR_MARGINS_IN = (0.28, 0.38)
PANEL_MARGINS_IN = (0.24, 0.38)  # the apex scans' and the LC XIC's, drawn below the mirror


#: Height (inches) of axes under which a plot has short y labels (and the mirror three ticks, not five).
_SMALL_AXES_IN = 1.2


def _adjust(target, margins_in: tuple[float, float], **kwargs: float) -> None:
    """``subplots_adjust`` with the top and bottom margins in inches (:data:`MIRROR_MARGINS_IN`)."""
    height_in = target.bbox.height / target.dpi
    target.subplots_adjust(top=1 - margins_in[0] / height_in, bottom=margins_in[1] / height_in, **kwargs)


def _figure(width_in: float, height_in: float):
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: savefig picks the svg/pdf backend itself

    with matplotlib.rc_context(_rc()):
        # Fixed margins rather than constrained layout: half the drawing time, and the layout
        # cannot shift with the text of a label.
        return Figure(figsize=(width_in, height_in), dpi=100)


def figure_svg(fig) -> str:
    """The figure as SVG text (no XML declaration, no DOCTYPE), deterministic."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_rc()):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    start = text.find("<svg")
    return text[start:].strip() if start >= 0 else text


def tic_figure(chromatogram: Mapping[str, Any], findings: Sequence[Mapping[str, Any]], *,
               width_in: float = 9.0, height_in: float = 3.2):
    """TIC (relative intensity, %) against retention time (min), components marked.

    Components with a finding get a coloured marker (colour = verdict) and the finding's label ``#N
    name`` (the number and name every report gives it: :func:`~nps_id.report.findings.finding_label`);
    other components a small grey tick with their component number ``CN`` (the Components table's,
    never a bare number a reader would take for finding #N); those without a retention time (LC scans that
    carry none) are counted in a corner, not drawn. With a blank, its TIC is drawn below the
    sample's on the same scales (the figure grows by 60 %).
    """
    fig = _figure(width_in, height_in * (1.6 if chromatogram.get("blank") else 1.0))
    draw_tic(fig, chromatogram, findings)
    return fig


def draw_tic(target, chromatogram: Mapping[str, Any], findings: Sequence[Mapping[str, Any]]) -> None:
    """Draw the TIC of :func:`tic_figure` into a Figure or SubFigure (and the blank's below it)."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        blank = chromatogram.get("blank")
        rt, y = _trace(chromatogram.get("tic"))
        blank_rt, blank_y = _trace(blank["tic"] if blank else None)
        # One scale for both: a blank peak as tall as a sample peak looks as tall.
        scale = max([float(v.max()) for v in (y, blank_y) if v.size] + [0.0]) or 1.0
        if blank:
            ax, blank_ax = target.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
            target.subplots_adjust(left=0.08, right=0.98, top=0.97, bottom=0.09, hspace=0.08)
        else:
            ax = target.add_subplot()
            target.subplots_adjust(left=0.08, right=0.98, top=0.97, bottom=0.14)
        if rt.size:
            ax.plot(rt, 100.0 * y / scale, color="#222222", linewidth=0.7)
        by_index = {f["index"]: f for f in findings}
        components = chromatogram.get("components") or []
        # an LC scan without a retention time has no place on the time axis: counted, not drawn
        untimed = sum(comp["rt_min"] is None for comp in components)
        if untimed:
            ax.text(0.995, 0.97, f"{untimed} component{'s' if untimed > 1 else ''} without a retention time "
                    f"{'are' if untimed > 1 else 'is'} not marked", transform=ax.transAxes, ha="right", va="top",
                    fontsize=7, color="#7a7a7a")
        # the axes' limits first: the labels are placed where they land on the page
        ax.set_ylim(0, 150)
        if rt.size:
            ax.set_xlim(float(rt[0]), float(rt[-1]))
        labels = []
        # an LC finding spans several components (its MS/MS scans of one elution): its name once, at the
        # component nearest its RT, the others its number (the PestMix slice named Azinphos methyl 7 times)
        named = {}
        for comp in components:
            if comp.get("finding") in by_index and comp["rt_min"] is not None:
                when = by_index[comp["finding"]].get("rt_min")
                gap = abs(comp["rt_min"] - when) if when is not None else 0.0
                if comp["finding"] not in named or gap < named[comp["finding"]][0]:
                    named[comp["finding"]] = (gap, comp["index"])
        for comp in components:
            if comp["rt_min"] is None:
                continue
            apex = _tic_at(rt, y, comp["rt_min"]) / scale * 100.0 if rt.size else 0.0
            finding = by_index.get(comp.get("finding")) if comp.get("finding") is not None else None
            if finding is None:
                ax.plot([comp["rt_min"]], [apex], marker="v", color="#9a9a9a", markersize=3, linestyle="none")
                labels.append(_Label(component_number(comp["index"]), (comp["rt_min"], apex), 4,
                                     {"ha": "center", "fontsize": 6, "color": "#7a7a7a"}, finding=False))
                continue
            colour = VERDICT_COLOURS.get(finding["verdict"], "#444444")
            ax.plot([comp["rt_min"]], [apex], marker="v", color=colour, markersize=6, linestyle="none")
            number = f"#{shown_number(finding['index'])}"
            text = f"{number} {finding_label(finding)}" if named[finding["index"]][1] == comp["index"] else number
            labels.append(_Label(text, (comp["rt_min"], apex), 7,
                                 {"ha": "left", "va": "bottom", "rotation": 35, "fontsize": 7, "color": colour},
                                 finding=True, short=number))
        left_off, shortened = _place_labels(ax, labels)
        if left_off or shortened:
            # said under the plot, on the x label's line at the left (the x label is centred): a reader
            # counts what is missing
            target.text(0.01, 0.005, _crowded_note(left_off, shortened), ha="left", va="bottom", fontsize=6.5,
                        color="#7a7a7a")
        ax.set_ylabel("TIC (% of largest)")
        ax.set_yticks([0, 25, 50, 75, 100])
        if blank:
            _draw_blank(blank_ax, blank, blank_rt, blank_y, scale)
        (blank_ax if blank else ax).set_xlabel("Retention time (min)")


class _Label(NamedTuple):
    """A TIC label: its text, the (RT, %) point it marks, how far above it (points), its text style,
    whether it names a finding (placed before the components' labels, which move out of its way) and,
    for a finding, the short text ("#4") it is drawn with where the whole one finds no clear place."""

    text: str
    xy: tuple[float, float]
    raise_pt: float
    style: dict[str, Any]
    finding: bool
    short: str | None = None


def _crowded_note(left_off: int, shortened: int) -> str:
    """'crowded: 22 component labels left off, 3 finding labels cut to #N' -- short enough to sit left of
    the centred x label on an A4 page."""
    parts = ([f"{counted(left_off, 'component label')} left off"] if left_off else []) + (
        [f"{counted(shortened, 'finding label')} cut to #N"] if shortened else [])
    return "crowded: " + ", ".join(parts)


#: Points kept between two labels; at most this many raises (then a label takes the raise that met the
#: fewest labels: the axes top is ~50 % above the tallest peak).
_LABEL_GAP_PT = 1.0
_MAX_RAISES = 8


def _place_labels(ax, labels: Sequence[_Label]) -> tuple[int, int]:
    """Annotate the labels that find a clear place, each raised in steps of its own height (plus 2 pt)
    until it is :data:`_LABEL_GAP_PT` clear of every label placed before it: the findings' first, then
    the components', each in RT order. Returns (component labels left off, finding labels cut to their
    number).

    Two components 0.1 min apart had their labels printed over each other (C7 and C8 of the card
    220223030); in a crowded run (the PestMix LC slice: 144 components in 40 s) the least crowded of
    the raises still overlapped others, 103 pairs of label boxes (stop 34). Now a component label with
    no clear place is left off (its marker stays; the Components table lists it), and a finding's label
    with none is drawn as its number alone ("#6", the Findings table names it), clear where that is
    possible, else where it meets the fewest. A finding's label that would run off the figure's top at
    its marker is cut (ellipsis) to fit. A label clear of the others is drawn where it always was, a
    raised one with a thin line down to its point, and the labels are drawn in their given order (the
    SVG keeps its element order)."""
    from matplotlib.path import Path

    scale = ax.figure.dpi / 72.0  # points -> pixels
    top = ax.figure.bbox.y1  # the figure's top edge, pixels: text raised above it is not drawn
    placed: list[Path] = []
    extents = np.empty((len(labels), 4))  # of the placed outlines: x0, y0, x1, y1, to test only those near
    drawn: dict[int, tuple[str, float]] = {}  # label -> (its text as drawn, lift)
    left_off = shortened = 0

    def place(text: str, label: _Label) -> tuple[int, float, Any, np.ndarray, np.ndarray]:
        """(labels met, lift, outline, low, high) of ``text`` at the least crowded raise tried."""
        corners, height = _label_corners(text, label.style)
        anchor = ax.transData.transform(label.xy)
        best = None
        for raises in range(_MAX_RAISES + 1):
            # outlines are widened by half the gap each: a raise of height + gap would only touch
            lift = label.raise_pt + raises * (height + 2 * _LABEL_GAP_PT)
            vertices = anchor + (corners + (0.0, lift)) * scale
            low, high = vertices.min(axis=0), vertices.max(axis=0)
            if raises and high[1] > top:  # raised off the page, a label is cut away (PestMix: #4 Fenamiphos)
                break
            box = extents[:len(placed)]
            near = np.flatnonzero((box[:, 0] <= high[0]) & (box[:, 2] >= low[0]) & (box[:, 1] <= high[1])
                                  & (box[:, 3] >= low[1]))
            outline = Path(vertices)
            met = sum(outline.intersects_path(placed[j], filled=True) for j in near)
            if best is None or met < best[0]:
                best = (met, lift, outline, low, high)
            if not met:
                break
        return best

    for i in sorted(range(len(labels)), key=lambda i: (not labels[i].finding, labels[i].xy[0])):
        label = labels[i]
        text = _fitting(label, ax, top, scale) if label.finding else label.text
        met, lift, outline, low, high = place(text, label)
        if met and not label.finding:
            left_off += 1
            continue
        if met and label.short and text != label.short:
            shortened += 1
            text = label.short
            met, lift, outline, low, high = place(text, label)
        drawn[i] = (text, lift)
        extents[len(placed)] = (*low, *high)
        placed.append(outline)
    for i, label in enumerate(labels):
        if i not in drawn:
            continue
        text, lift = drawn[i]
        # a raised label keeps a thin line down to its marker, so it is not read as a higher peak's
        # (from where the text starts: the lower corner of a rotated one, the middle of a level one's foot)
        start = (0.5, 0.0) if label.style["ha"] == "center" else (0.0, 0.0)
        leader = {"arrowprops": {"arrowstyle": "-", "color": label.style["color"], "linewidth": 0.4, "shrinkA": 0,
                                 "shrinkB": 3, "relpos": start, "patchA": None}} if lift > label.raise_pt else {}
        ax.annotate(text, label.xy, xytext=(0, lift), textcoords="offset points", **label.style, **leader)
    return left_off, shortened


def _fitting(label: _Label, ax, top: float, scale: float) -> str:
    """``label.text``, cut (:func:`clipped`) so that at its marker it ends below the figure's top
    (``top``, pixels) and left of its right edge: a long rotated name at a tall peak ran off the top
    ("#6 suspected new substance (group not determined)" on the PestMix slice, 51 px over it) and one
    near the end of the run off the right ("#10 suspected new ..."), cut away by the page."""
    anchor = ax.transData.transform(label.xy)
    right = ax.figure.bbox.x1

    def fits(length: int) -> bool:
        corners, _ = _label_corners(clipped(label.text, length), label.style)
        high = anchor + (corners.max(axis=0) + (0.0, label.raise_pt)) * scale
        return bool(high[1] <= top and high[0] <= right)

    if fits(len(label.text)):
        return label.text
    # the longest cut that fits, by bisection: a shorter cut is never a larger box, and one character
    # at a time laid out a 6,000-character name 6,000 times (minutes; the hostile-name PDF test)
    low, high = len(label.short or ""), len(label.text)  # fits(high) is False
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return clipped(label.text, low) if low > len(label.short or "") else (label.short or clipped(label.text, max(low, 1)))


def _label_corners(text: str, style: Mapping[str, Any]) -> tuple[np.ndarray, float]:
    """The corners (points, from the anchor at no raise) of the box matplotlib lays out ``text`` in
    (a label's, drawn with ``style``),
    widened by half of :data:`_LABEL_GAP_PT` on every side, and its line height. As matplotlib's
    default rotation mode: ``ha`` and ``va`` align the rotated box's bounding box (``va="baseline"``,
    the default, is used unrotated only). Within a pixel of the boxes matplotlib draws (the card's TIC)."""
    width, height, descent = _text_size(text, style["fontsize"])
    # a line is at least as tall as "lp" (matplotlib's own minimum line box)
    _, lp_height, lp_descent = _text_size("lp", style["fontsize"])
    descent = max(descent, lp_descent)
    height = max(height - descent, lp_height - lp_descent) + descent
    pad = _LABEL_GAP_PT / 2
    box, widened = (np.array([(-p, -descent - p), (width + p, -descent - p), (width + p, height - descent + p),
                              (-p, height - descent + p)]) for p in (0.0, pad))
    angle = np.deg2rad(style.get("rotation", 0.0))
    turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    box, widened = box @ turn, widened @ turn
    low, high = box.min(axis=0), box.max(axis=0)  # matplotlib aligns the text's own box, not the widened one
    x_shift = {"left": -low[0], "center": -(low[0] + high[0]) / 2, "right": -high[0]}[style.get("ha", "left")]
    y_shift = {"bottom": -low[1], "baseline": 0.0}[style.get("va", "baseline")]
    return widened + (x_shift, y_shift), height


@functools.lru_cache(maxsize=4096)
def _text_size(text: str, fontsize: float) -> tuple[float, float, float]:
    """Width, height and descent (points) of one line of DejaVu Sans; kept, as a report draws its TIC
    twice (HTML and PDF) and FreeType's layout costs ~4 ms a line."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(family="DejaVu Sans", size=fontsize)
    return text_to_path.get_text_width_height_descent(text, prop, ismath=False)


def _trace(tic: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
    tic = tic or {}
    return (np.asarray(tic.get("rt_min") or [], dtype=float), np.asarray(tic.get("intensity") or [], dtype=float))


def _draw_blank(ax, blank: Mapping[str, Any], rt: np.ndarray, y: np.ndarray, scale: float) -> None:
    """The blank's TIC on the sample's scale, an x where it removed a component of the sample."""
    if rt.size:
        ax.plot(rt, 100.0 * y / scale, color="#2166ac", linewidth=0.7)
    for when in blank.get("removed_rt_min") or []:
        height = _tic_at(rt, y, when) / scale * 100.0 if rt.size else 0.0
        ax.plot([when], [height], marker="x", color="#b2182b", markersize=5, linestyle="none")
    removed = "; \u00d7 = a component of the sample it removed" if blank.get("removed_rt_min") else ""
    ax.text(0.005, 0.95, f"Blank {blank['file']} (same scale){removed}", transform=ax.transAxes, ha="left",
            va="top", fontsize=7, color="#2166ac")
    ax.set_ylabel("Blank (%)")
    ax.set_ylim(0, 120)
    ax.set_yticks([0, 50, 100])


def _tic_at(rt: np.ndarray, y: np.ndarray, when: float) -> float:
    i = int(np.clip(np.searchsorted(rt, when), 0, rt.size - 1))
    lo, hi = max(i - 2, 0), min(i + 3, rt.size)  # the apex within a couple of points
    return float(y[lo:hi].max())


def _unit_vector(peaks: Mapping[str, Sequence[float]] | None, accurate: bool) -> dict[float, float]:
    """m/z -> relative intensity (base peak 100), peaks sharing a bin summed.

    Bins are nominal m/z for unit-mass (EI) spectra and 0.01 m/z for accurate-mass (MS/MS)
    spectra, so that the extracted and the reference spectrum line up for the difference trace.
    """
    if not peaks or not peaks.get("mz"):
        return {}
    mz = np.asarray(peaks["mz"], dtype=float)
    keys = np.round(mz, 2) if accurate else np.rint(mz)
    inten = np.asarray(peaks["intensity"], dtype=float)
    uniq, where = np.unique(keys, return_inverse=True)
    summed = np.bincount(where, weights=inten)  # bincount adds duplicates; fancy-index += would not
    top = summed.max()
    if top <= 0:
        return {}
    return {float(k): float(100.0 * v / top) for k, v in zip(uniq, summed) if v > 0}


def _is_accurate(*spectra: Mapping[str, Sequence[float]] | None) -> bool:
    """True when any m/z is more than 0.01 from an integer (accurate-mass MS/MS data)."""
    for peaks in spectra:
        if peaks and peaks.get("mz"):
            mz = np.asarray(peaks["mz"], dtype=float)
            if np.any(np.abs(mz - np.rint(mz)) > 0.01):
                return True
    return False


def mirror_figure(finding: Mapping[str, Any], *, width_in: float = 7.5, height_in: float = 3.6):
    """Head-to-tail plot: extracted spectrum (up), reference (down), difference (lower panel).

    Intensities are relative to each spectrum's base peak (100 %); the difference is extracted
    minus reference at each nominal m/z, so ions the reference has and the extract lacks go
    negative.
    """
    fig = _figure(width_in, height_in)
    draw_mirror(fig, finding)
    return fig



def draw_mirror(target, finding: Mapping[str, Any]) -> None:
    """Draw the mirror plot of :func:`mirror_figure` into a Figure or SubFigure."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        top_ax, diff_ax = target.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        _adjust(target, MIRROR_MARGINS_IN, left=0.1, right=0.98, hspace=0.12)
        accurate = _is_accurate(finding.get("spectrum"), finding.get("reference_spectrum"))
        extracted = _unit_vector(finding.get("spectrum"), accurate)
        reference = _unit_vector(finding.get("reference_spectrum"), accurate)
        if extracted:
            mz = np.array(sorted(extracted))
            top_ax.vlines(mz, 0, [extracted[m] for m in mz], color="#2166ac", linewidth=0.9,
                          label="extracted from the run")
        if reference:
            mz = np.array(sorted(reference))
            top_ax.vlines(mz, 0, [-reference[m] for m in mz], color="#b2182b", linewidth=0.9,
                          label=f"library: {clipped(finding['name'], 100)}")  # a longer one ran off the page
        else:
            top_ax.text(0.5, 0.25, "reference spectrum not available", transform=top_ax.transAxes,
                        ha="center", color="#b2182b")
        top_ax.axhline(0, color="#444444", linewidth=0.6)
        top_ax.set_ylim(-125, 125)
        # a PDF page shrinks the axes: fewer ticks and shorter labels then, or they overprint
        small = top_ax.get_position().height * target.bbox.height / target.dpi < _SMALL_AXES_IN
        ticks = [-100, 0, 100] if small else [-100, -50, 0, 50, 100]
        top_ax.set_yticks(ticks)
        top_ax.set_yticklabels([str(abs(t)) for t in ticks])
        top_ax.set_ylabel("Rel. int. (%)" if small else "Rel. intensity (%)")
        top_ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, fontsize=7, frameon=False)
        all_mz = sorted(set(extracted) | set(reference))
        if all_mz:
            diff = np.array([extracted.get(m, 0.0) - reference.get(m, 0.0) for m in all_mz])
            diff_ax.vlines(all_mz, 0, diff, color="#5e3c99", linewidth=0.9)
            top_ax.set_xlim(min(all_mz) - 5, max(all_mz) + 10)
        _label_ions(top_ax, extracted, +1)
        _label_ions(top_ax, reference, -1)
        diff_ax.axhline(0, color="#444444", linewidth=0.6)
        diff_ax.set_ylim(-105, 105)
        diff_ax.set_yticks([0] if small else [-100, 0, 100])
        diff_ax.set_ylabel("Diff." if small else "Diff. (%)")
        diff_ax.set_xlabel("m/z")


def apex_figure(finding: Mapping[str, Any], *, width_in: float = 7.5, height_in: float = 2.0):
    """The raw scan at the component's apex (left) beside the deconvoluted spectrum (right)."""
    fig = _figure(width_in, height_in)
    draw_apex(fig, finding)
    return fig


def draw_apex(target, finding: Mapping[str, Any]) -> None:
    """Draw :func:`apex_figure` into a Figure or SubFigure: what the deconvolution kept of the scan."""
    import matplotlib

    with matplotlib.rc_context(_rc()):
        axes = target.subplots(1, 2, sharex=True, sharey=True)
        _adjust(target, PANEL_MARGINS_IN, left=0.1, right=0.98, wspace=0.08)
        model = (finding.get("deconvolution") or {}).get("model_mz")
        labels = []
        for ax, key, title, colour in ((axes[0], "apex_spectrum", "raw scan at the apex", "#444444"),
                                       (axes[1], "spectrum", "deconvoluted (extracted)", "#2166ac")):
            peaks = _unit_vector(finding.get(key), False)
            if peaks:
                mz = np.array(sorted(peaks))
                ax.vlines(mz, 0, [peaks[m] for m in mz], color=colour, linewidth=0.8)
                labels.append((ax, peaks))
            if model is not None:
                ax.axvline(model, color="#b35806", linewidth=0.6, linestyle=":")
            ax.set_title(title + (f"; model ion m/z {model}" if model is not None and key == "spectrum" else ""),
                         fontsize=7)
            ax.set_ylim(0, 115)
            ax.set_xlabel("m/z")
        for ax, peaks in labels:  # once both panels' data set the shared m/z axis
            _label_ions(ax, peaks, +1)
        small = axes[0].get_position().height * target.bbox.height / target.dpi < _SMALL_AXES_IN
        axes[0].set_ylabel("Rel. int. (%)" if small else "Rel. intensity (%)")  # longer than the axes: past their foot


def xic_figure(finding: Mapping[str, Any], *, width_in: float = 7.5, height_in: float = 1.8):
    """The precursor's extracted-ion chromatogram of an LC-MS/MS finding (report ``lc.xic``)."""
    fig = _figure(width_in, height_in)
    draw_xic(fig, finding)
    return fig


def draw_xic(target, finding: Mapping[str, Any]) -> None:
    """Draw :func:`xic_figure` into a Figure or SubFigure: the XIC, its peak's bounds shaded, the
    RT of the MS/MS spectrum dashed."""
    import matplotlib

    from nps_id.report.present import shown_precursor_mz

    lc = finding.get("lc") or {}
    xic, feature = lc.get("xic") or {"rt_min": [], "intensity": []}, lc.get("feature")
    with matplotlib.rc_context(_rc()):
        ax = target.subplots()
        _adjust(target, PANEL_MARGINS_IN, left=0.1, right=0.98)
        ax.plot(xic["rt_min"], xic["intensity"], color="#2166ac", linewidth=0.9, marker=".", markersize=3)
        if feature:
            ax.axvspan(feature["left_rt_seconds"] / 60, feature["right_rt_seconds"] / 60, color="#2166ac", alpha=0.12)
        if finding["rt_min"] is not None:  # an LC scan without a retention time: no line at "0"
            ax.axvline(finding["rt_min"], color="#b35806", linewidth=0.7, linestyle="--")
        mz, ppm = shown_precursor_mz(lc), xic.get("tolerance_ppm")
        width = f" \u00b1 {ppm:g} ppm" if ppm else ""
        ax.set_title(f"XIC m/z {mz}{width} (MS1 scans); shaded: the peak; dashed: the MS/MS spectrum", fontsize=7)
        ax.set_xlabel("RT (min)")
        ax.set_ylabel("Intensity")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 3))


#: Size (points) of an ion label, and the width of one of its characters (DejaVu Sans digits: 0.64 em).
_LABEL_PT = 6
_LABEL_CHAR_PT = 0.64 * _LABEL_PT


def _label_ions(ax, spectrum: Mapping[float, float], sign: int) -> None:
    """Label the :data:`_LABEL_TOP_IONS` most intense ions, skipping one whose label would overprint
    a label already placed (the card's flubromazepam: 303, 304, 305 and 306 printed on one
    another). Call it once the axes' limits are final: the spacing is measured in points."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    box = ax.get_window_extent()
    dpi = ax.figure.dpi
    pt_per_mz, pt_per_y = box.width * 72 / dpi / (x1 - x0), box.height * 72 / dpi / (y1 - y0)
    placed: list[tuple[float, float, float]] = []  # (centre x, foot y, half width), points
    for m in sorted(spectrum, key=lambda k: (-spectrum[k], k)):
        if len(placed) == _LABEL_TOP_IONS:
            break
        label = f"{m:.0f}" if float(m).is_integer() else f"{m:.2f}"
        x, y, half = m * pt_per_mz, spectrum[m] * pt_per_y, len(label) * _LABEL_CHAR_PT / 2
        if any(abs(x - px) < half + ph + 1 and abs(y - py) < _LABEL_PT + 1 for px, py, ph in placed):
            continue
        placed.append((x, y, half))
        ax.annotate(label, (m, sign * spectrum[m]), xytext=(0, 2 * sign), textcoords="offset points",
                    ha="center", va="bottom" if sign > 0 else "top", fontsize=_LABEL_PT)


# -- structures (RDKit, imported lazily) ---------------------------------------------------------


#: Heavy atoms of the largest structure drawn: the largest verified structures of SWGDRUG 3.4 and
#: MassBank EI have 96. A results file (hand-edited, or from a crafted library) whose finding
#: claimed a 2,000-atom SMILES kept ``report`` 35 s on one drawing (1 MB of SVG), 20,000 atoms
#: more than 5 minutes; a drawing that large is illegible anyway.
MAX_DRAWN_ATOMS = 200


def _depiction(smiles: str | None):
    """The molecule with 2D coordinates, or None when there is no structure, it does not parse or
    it is larger than :data:`MAX_DRAWN_ATOMS`."""
    if not smiles or len(smiles) > 20 * MAX_DRAWN_ATOMS:  # not even parsed: far too many atoms
        return None
    from rdkit import Chem, rdBase
    from rdkit.Chem import rdDepictor

    with rdBase.BlockLogs():  # an unparsable SMILES is simply not drawn, unsaid (this call only: stop 45)
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumHeavyAtoms() > MAX_DRAWN_ATOMS:
        return None
    rdDepictor.Compute2DCoords(mol)  # deterministic: the same drawing for the same SMILES
    return mol


def _draw(drawer, mol) -> str | bytes:
    drawer.drawOptions().clearBackground = False
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def structure_svg(smiles: str | None, *, width_px: int = 280, height_px: int = 200) -> str | None:
    """The structure as inline SVG (RDKit rdMolDraw2D; no XML declaration), None without one."""
    mol = _depiction(smiles)
    if mol is None:
        return None
    from rdkit.Chem.Draw import rdMolDraw2D

    text = _draw(rdMolDraw2D.MolDraw2DSVG(width_px, height_px), mol)
    return text[text.find("<svg"):].strip()


def draw_structure(fig, smiles: str | None, rect: Sequence[float]) -> bool:
    """Draw the structure into ``rect`` (left, bottom, width, height; figure fraction) as a
    raster image (RDKit's Cairo drawer: no system package needed). False when there is none."""
    mol = _depiction(smiles)
    if mol is None:
        return False
    import matplotlib.image
    from rdkit.Chem.Draw import rdMolDraw2D

    png = _draw(rdMolDraw2D.MolDraw2DCairo(560, 400), mol)
    ax = fig.add_axes(rect)
    ax.imshow(matplotlib.image.imread(io.BytesIO(png), format="png"), interpolation="antialiased")
    ax.set_axis_off()
    return True

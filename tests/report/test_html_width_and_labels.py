"""The card FL22/009-2 (LRCFS 220223030) report as a chemist sees it: the HTML fits a 1200 px
window (it scrolled sideways: a structure caption's 64-character table SHA-256 ran past the page),
and no two ion labels of a plot print on one another (flubromazepam's 303, 304, 305 and 306 did)."""
from __future__ import annotations

import html
import re
import shutil
import subprocess

import numpy as np
import pytest

from nps_id.report import render
from nps_id.report.document import build_report
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO

# After loading, write the page's widths into the DOM for --dump-dom to show.
_PROBE = ("<script>window.addEventListener('load',()=>{const e=document.documentElement,p=document.createElement('pre');"
          "p.id='widths';p.textContent=e.clientWidth+' '+e.scrollWidth;document.body.appendChild(p);});</script>")


@pytest.fixture
def card_doc(lrcfs_results):
    results, _ = lrcfs_results["220223030"]
    return build_report(results, SAMPLE_INFO, now=FIXED_NOW)


def test_the_card_report_does_not_scroll_sideways_at_1200_px(card_doc, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    page = render(card_doc, "html")[".html"].decode("utf-8")
    assert any(f.get("structure_source", "").startswith("table:") for f in card_doc["findings"])  # the long caption
    path = tmp_path / "report.html"
    path.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2000",
                          "--virtual-time-budget=5000", "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=90, check=True).stdout
    client, scroll = map(int, html.unescape(re.search(r'<pre id="widths">([^<]*)</pre>', dom).group(1)).split())
    assert scroll <= client, f"the page is {scroll} px wide in a {client} px window"


def test_no_two_ion_labels_of_a_card_plot_overprint(card_doc):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from nps_id.report.plots import apex_figure, mirror_figure

    checked = 0
    for finding in card_doc["findings"]:
        for make in (mirror_figure, apex_figure):
            fig = make(finding)
            renderer = FigureCanvasAgg(fig).get_renderer()
            for ax in fig.axes:
                boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text().isdigit()]
                checked += len(boxes)
                clashes = [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:]
                           if box_a.overlaps(box_b)]
                assert not clashes, f"{finding['name']} {make.__name__}: {clashes}"
    assert checked >= 5 * 3 * 4  # every finding's mirror (up and down) and apex panels are labelled


def _label_outline(text, renderer):
    """The outline (display pixels) of a TIC label as drawn: a level label's box is its bounding box; a
    label rotated by t degrees is the rectangle w x h inside its bounding box, whose sides
    are w cos t + h sin t and w sin t + h cos t. The text's own box: an annotation's includes its line."""
    from matplotlib.path import Path
    from matplotlib.text import Text

    text.update_positions(renderer)  # where the annotation stands, as its own get_window_extent does
    box = Text.get_window_extent(text, renderer)
    angle = np.deg2rad(text.get_rotation())
    if angle == 0:
        return Path([(box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1)])
    c, s = np.cos(angle), np.sin(angle)
    w, h = np.linalg.solve([[c, s], [s, c]], [box.width, box.height])
    return Path([(box.x0 + h * s, box.y0), (box.x1, box.y0 + w * s), (box.x1 - h * s, box.y1), (box.x0, box.y0 + h * c)])


def test_no_two_tic_labels_of_the_card_overprint(card_doc):
    # components C7 and C8 of the card (7.80 and 7.89 min) were printed over each other in the TIC of
    # the HTML and the PDF report; the findings' labels, rotated, are compared as the rectangles they are
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from nps_id.report.pdf import A4_IN
    from nps_id.report.plots import tic_figure

    (chromatogram,) = card_doc["chromatograms"]
    for width_in in (9.0, A4_IN[0]):  # the HTML report's figure, the PDF page's
        fig = tic_figure(chromatogram, card_doc["findings"], width_in=width_in)
        renderer = FigureCanvasAgg(fig).get_renderer()
        labels = [(t.get_text(), _label_outline(t, renderer)) for t in fig.axes[0].texts]
        assert {"C7", "C8", "#3 Bupivacaine", "#4 Flubromazepam"} <= {text for text, _ in labels}
        clashes = [(a, b) for i, (a, outline_a) in enumerate(labels) for b, outline_b in labels[i + 1:]
                   if outline_a.intersects_path(outline_b, filled=True)]
        assert not clashes, f"{width_in} in: {clashes}"

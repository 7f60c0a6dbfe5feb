"""The card FL22/009-2 (LRCFS 220223030) report as a chemist sees it: the HTML fits a 1200 px
window (it scrolled sideways: a structure caption's 64-character table SHA-256 ran past the page),
and no two ion labels of a plot print on one another (flubromazepam's 303, 304, 305 and 306 did)."""
from __future__ import annotations

import html
import re
import shutil
import subprocess

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

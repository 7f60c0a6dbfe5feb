"""A table cell taller than a page (a library name of thousands of characters): the PDF row used
to run off the page under its footer and the rest of the name was lost without a mark. The cell
is now cut at what a page holds, visibly (an ellipsis), and nothing is drawn below the footer.
(The finding's own page, whose title is the name: test_pdf_long_findings.py.)"""
from __future__ import annotations

import copy
import re

from nps_id.report import render
from nps_id.report.document import build_report
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO
from tests.report.test_pdf_tables import _pdf_pages

HOSTILE_NAME = "N-(1-amino-3,3-dimethyl-1-oxobutan-2-yl)" * 150  # 6,000 characters


def test_a_cell_taller_than_a_page_is_cut_visibly_and_stays_above_the_footer(lrcfs_results, tmp_path):
    results, _ = lrcfs_results["220223030"]
    results = copy.deepcopy(results)
    for f in results["findings"]:
        f["name"] = HOSTILE_NAME
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    pages = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    footer = re.compile(r"page \d+ of \d+")
    table_pages = [page for page in pages if "Findings" in page[:120] or "Analytical report" in page[:120]]
    assert table_pages
    for page in table_pages:
        found = list(footer.finditer(page))
        assert found and page[found[-1].end():].strip() == "", page[-300:]
    assert "\u2026" in pages[0]

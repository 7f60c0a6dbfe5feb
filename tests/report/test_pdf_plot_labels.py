"""The plots of a finding's PDF page keep their labels clear of the text around them (the card
FL22/009-2, LRCFS 220223030): shrunk to fit the page, the apex plot's "m/z" touched the hit
table's header below it (PDF pages 5 and 7), as the plots' margins shrank with them."""
from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest

from nps_id.report import render
from nps_id.report.document import build_report
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO


def _word_boxes(path) -> list[list[tuple[str, float, float, float, float]]]:
    """Per page, (word, x0, y0, x1, y1) in points (pdftotext -bbox; Debian poppler-utils)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    word = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [[(html.unescape(text), float(x0), float(y0), float(x1), float(y1))
             for x0, y0, x1, y1, text in re.findall(word, body)]
            for body in re.findall(r"<page [^>]*>(.*?)</page>", out, re.S)]


def _overlap(a, b) -> bool:
    """Whether two words' ink meets: pdftotext's boxes are about twice as tall as the glyphs (the
    font's whole ascent and descent), so only the middle 40 % of each box's height is compared."""
    def ink(word):
        pad = 0.3 * (word[4] - word[2])
        return word[1], word[2] + pad, word[3], word[4] - pad

    a, b = ink(a), ink(b)
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_axis_labels_of_the_card_finding_plots_touch_no_other_text(lrcfs_results, tmp_path):
    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    path = tmp_path / "report.pdf"
    path.write_bytes(render(doc, "pdf")[".pdf"])
    pages = _word_boxes(path)
    finding_pages = pages[len(pages) - 1 - len(doc["findings"]):-1]
    assert len(finding_pages) == len(doc["findings"]) >= 5
    for number, words in enumerate(finding_pages, start=len(pages) - len(doc["findings"])):
        labels = [w for w in words if w[0] == "m/z"]
        assert len(labels) >= 3, (number, labels)  # the mirror's and the two apex panels'
        text = [w for w in words if w[4] - w[2] < 40]  # not the DRAFT mark across the page
        clashes = [(label[0], other[0]) for label in labels for other in text
                   if other is not label and _overlap(label, other)]
        assert not clashes, f"page {number}: {clashes}"

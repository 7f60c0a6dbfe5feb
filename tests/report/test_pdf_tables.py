"""The PDF report's tables on a real run (the LRCFS seized card): a cell too long for its column
wraps onto further lines of its row; nothing is cut off."""
from __future__ import annotations

import copy
import shutil
import subprocess

import pytest

from nps_id.report import render
from nps_id.report.document import build_report
from nps_id.report.present import component_rows, ewa_label, finding_label, isomers_open
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO


def _pdf_pages(pdf: bytes, tmp_path) -> list[str]:
    """The text of each page (pdftotext; Debian poppler-utils), as words."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    return [" ".join(page.split()) for page in text.split("\f")]


def test_long_names_and_groups_wrap_in_the_tables_instead_of_being_cut(lrcfs_results, tmp_path):
    # the card's findings table read "suspected new substance (gr…" and "Other substances –
    # Benzodiazepin…"; its components table "N-formyl-di[1-(3,4-methylenediox…"
    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    pages = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    assert not any("\u2026" in page for page in pages)
    for f in doc["findings"]:
        _assert_shown(f"{finding_label(f)} {ewa_label(f)}", pages[0])
    long_cells = [cell for row in component_rows(doc) for cell in row[5:] if len(cell) > 33]
    assert long_cells  # the run has names longer than their column
    _assert_shown(" ".join(long_cells), " ".join(pages[1:]))


def _assert_shown(text: str, page: str) -> None:
    """Every word of ``text`` is on ``page``; a long word may be split after a hyphen there."""
    for word in text.split():
        for part in word.replace("-", "- ").split():
            assert part in page, (part, word)


def test_a_findings_table_longer_than_page_one_continues_on_the_next_page(lrcfs_results, tmp_path):
    # Wrapped rows take more room: a run with many findings (an LC-MS/MS metabolite run had 19)
    # pushed the last isomer notes of page 1 over its footer. Here: the card's five findings, x6.
    results, _ = lrcfs_results["220223030"]
    results = copy.deepcopy(results)
    results["findings"] = [copy.deepcopy(f) for _ in range(6) for f in results["findings"]]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    path = tmp_path / "report.pdf"
    path.write_bytes(render(doc, "pdf")[".pdf"])
    pages = _words_with_boxes(path)
    for number, words in enumerate(pages, start=1):
        in_footer = " ".join(word for word, bottom in words if bottom < 0.035)  # page fraction from the bottom
        assert in_footer == f"Report {doc['report_id']} \u00b7 {doc['status']} \u00b7 page {number} of {len(pages)}"
    text = " ".join(_pdf_pages(path.read_bytes(), tmp_path))
    notes = [f"#{f['index'] + 1}: {isomers_open(f)}." for f in doc["findings"] if isomers_open(f)]
    assert len(notes) > 15
    for note in notes:
        assert note.split(" or an isomer")[0] in text, note


def _words_with_boxes(path) -> list[list[tuple[str, float]]]:
    """Per page, (word, its bottom edge as a page fraction from the bottom) (pdftotext -bbox)."""
    import html
    import re

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    pages = []
    for height, body in re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', out, re.S):
        words = re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', body)
        pages.append([(html.unescape(text), 1 - float(y_max) / float(height)) for y_max, text in words])
    return pages


def test_an_isomer_doubt_without_listed_isomers_is_still_said(lrcfs_results):
    # A hit with no verified structure, or too small for EI to tell its isomers apart (five heavy
    # atoms), is "isomer not excluded" with no isomer listed: the report must still say the
    # substance may be an isomer, as `nps-id match` flags it, not show the bare name.
    results, _ = lrcfs_results["220223030"]
    results = copy.deepcopy(results)
    finding = next(f for f in results["findings"] if f["verdict"] == "tentative" and not f.get("new_substance"))
    finding.update(verdict="tentative", rule_id="isomer_not_excluded", isomers_not_excluded=[],
                   rule="isomer not excluded: the substance is the hit or an isomer the spectrum cannot tell from it")
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    shown = next(f for f in doc["findings"] if f["name"] == finding["name"])
    assert isomers_open(shown) == f"{finding['name']} or an isomer the evidence does not exclude"
    html = render(doc, "html")[".html"]
    assert f"{finding['name']} or an isomer the evidence does not exclude" in html.decode()

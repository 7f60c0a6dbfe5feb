"""The PDF report's tables on a real run (the LRCFS seized card): a cell too long for its column
wraps onto further lines of its row; nothing is cut off."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from nps_id.report import render
from nps_id.report.document import build_report
from nps_id.report.present import component_rows, ewa_label, finding_label
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

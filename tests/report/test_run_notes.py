"""The run's notes in the analyst report (stop 48): what ``nps-id match`` said about the run beside its findings
(scans not matched, MS/MS scans scored at a unit-resolution fragment tolerance, the blank) was printed on its
terminal only, so the report's reader could not see that a run was scored at 0.5 Da or that scans were left out.
The report document carries them (``acquisitions[].notes``) and the HTML and PDF show them under the acquisition;
a run without notes, and a report document or results file of before, renders as it did."""
from __future__ import annotations

import copy
import json
import re
from html import escape

import pytest

pytest.importorskip("rdkit")

from click.testing import CliRunner  # noqa: E402

from nps_id.cli import cli  # noqa: E402
from nps_id.report import render  # noqa: E402
from nps_id.report.document import build_report  # noqa: E402
from nps_id.report.jsondoc import validate_report  # noqa: E402
from nps_id.report.run_notes import NOTES_HEADING  # noqa: E402
from tests.lcms import test_unit_resolution_run as keio  # noqa: E402
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO  # noqa: E402
from tests.report.test_render import _pdf_pages  # noqa: E402


def _flat(text: str) -> str:
    """PDF text as one line: its wrapping is the page's, not the note's."""
    return " ".join(text.split())


def _run_cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


# the Keio unit-resolution MGF run and its library (tests/lcms/test_unit_resolution_run.py), as this module's fixtures
unit_library_path = keio.unit_library_path
unit_run = keio.unit_run


def test_a_unit_resolution_runs_note_is_in_the_report_json_html_and_pdf(unit_library_path, unit_run, tmp_path):
    # the Keio triple-quadrupole records as an MGF run: match scores them at 0.5 Da and says so -- until stop 48
    # on the terminal only
    results = tmp_path / "keio.match.json"
    _run_cli("match", str(unit_run), "-l", str(unit_library_path), "--json", str(results))
    notes = [n for n in json.loads(results.read_text("utf-8"))["notes"] if keio.UNIT_NOTE in n]
    assert len(notes) == 1
    html, pdf, doc = tmp_path / "keio.html", tmp_path / "keio.pdf", tmp_path / "keio.report.json"
    _run_cli("report", str(results), "-f", "html", "-o", str(html), "--json", str(doc))
    _run_cli("report", str(results), "-f", "pdf", "-o", str(pdf))
    assert json.loads(doc.read_text("utf-8"))["acquisitions"][0]["notes"] == notes
    # HTML: under the acquisition, before the findings
    page = html.read_text("utf-8")
    section = page.split('<h3 id="run-notes">')[1]
    assert page.index('id="technique-statement"') < page.index('id="run-notes"') < page.index("<h2>Findings</h2>")
    assert f"<li>{escape(notes[0])}</li>" in section.split("</ul>")[0]
    # PDF: on page 1, under the acquisition, whole
    texts, _ = _pdf_pages(pdf.read_bytes(), tmp_path)
    first = _flat(texts[0])
    assert NOTES_HEADING in first and _flat(notes[0]) in first
    assert first.index("Acquisition") < first.index(NOTES_HEADING) < first.index("Findings")


def _without_notes(lrcfs_results) -> dict:
    results, _ = lrcfs_results["220223030"]
    assert results["notes"] == []  # the card's run: match said nothing about it (its internal standard found)
    return copy.deepcopy(results)


def test_a_run_without_notes_renders_as_a_report_of_before(lrcfs_results, tmp_path):
    doc = build_report(_without_notes(lrcfs_results), SAMPLE_INFO, now=FIXED_NOW)
    assert doc["acquisitions"][0]["notes"] == []
    # the same document as built before stop 48 (no notes key): still valid, and rendered to the same bytes
    before = copy.deepcopy(doc)
    del before["acquisitions"][0]["notes"]
    validate_report(before)
    for fmt in ("html", "pdf"):
        assert render(doc, fmt) == render(before, fmt), fmt
    assert "run-notes" not in render(doc, "html")[".html"].decode("utf-8")
    texts, _ = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    assert not any("Notes of the analysis" in text for text in texts)


def test_results_files_of_before_build_a_report(lrcfs_results, tmp_path):
    # stop 47's results carry notes (empty for this run) and the report never read them; older ones have none
    results = _without_notes(lrcfs_results)
    del results["notes"]
    older = tmp_path / "older.match.json"
    older.write_text(json.dumps(results), encoding="utf-8")
    _run_cli("report", str(older), "-f", "json", "-o", str(tmp_path / "older.report.json"))
    assert json.loads((tmp_path / "older.report.json").read_text("utf-8"))["acquisitions"][0]["notes"] == []
    # a hand-edited notes that is no list of text: one line naming it, the documented exit code 3
    results["notes"] = "scored at 0.5 Da"
    older.write_text(json.dumps(results), encoding="utf-8")
    out = CliRunner().invoke(cli, ["report", str(older), "-f", "html", "-o", str(tmp_path / "bad.html")])
    assert out.exit_code == 3 and "/notes" in out.output and "Traceback" not in out.output, out.output
    assert len(out.output.strip().splitlines()) == 1 and not (tmp_path / "bad.html").exists()


def test_many_notes_continue_after_the_findings_table_in_the_pdf(lrcfs_results, tmp_path):
    results = _without_notes(lrcfs_results)
    # a run of many skipped scan kinds and blanks (real note wordings, numbered to tell them apart) and a
    # note made of a very long blank file name
    long_name = "b" * 3000 + ".mzML"
    results["notes"] = [f"{k} MS/MS scans have no precursor m/z (not matched)" for k in range(2, 72)] + [
        f"--blank {long_name}: not subtracted (blank subtraction works on GC-EI-MS components; LC-MS/MS findings "
        "are reported as found)"]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    plain = build_report(_without_notes(lrcfs_results), SAMPLE_INFO, now=FIXED_NOW)
    html = render(doc, "html")[".html"].decode("utf-8")
    assert html.split('<ul class="run-notes">')[1].split("</ul>")[0].count("<li>") == 71 and long_name in html
    (tmp_path / "many").mkdir()
    (tmp_path / "plain").mkdir()
    texts, _ = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path / "many")
    plain_texts, _ = _pdf_pages(render(plain, "pdf")[".pdf"], tmp_path / "plain")
    # page 1 says how many and where; the notes follow the findings table on pages of their own
    first = _flat(texts[0])
    assert "71 notes: after the findings table" in first and "have no precursor m/z" not in first
    rest = [_flat(t) for t in texts[1:]]
    pages = [p for p in rest if NOTES_HEADING in p]
    assert len(pages) >= 2 and rest[:len(pages)] == pages  # right after page 1 (the card's table fits there)
    shown = " ".join(pages)
    for k in range(2, 72):
        assert len(re.findall(rf"\b{k} MS/MS scans have no precursor m/z \(not matched\)", shown)) == 1, k
    # the long note clipped visibly, not run under the footer: every notes page ends with its footer
    assert "\u2026" in shown and long_name not in "".join(shown.split())
    assert all(re.search(r"page \d+ of \d+$", p) for p in pages)
    # the checks moved with them, onto a page of their own; the pages after are those of the report without notes
    checks = [p for p in rest[len(pages):] if "Internal standard, blank and reference standards" in p]
    assert checks and "Internal standard, blank and reference standards" in _flat(plain_texts[0])
    after = rest[len(pages) + len(checks):]
    assert [p[:80] for p in after] == [_flat(t)[:80] for t in plain_texts[1:]]

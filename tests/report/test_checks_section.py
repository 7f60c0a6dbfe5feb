"""The checks a reviewer repeats by hand -- the internal standard against its expected RT, what the
blank removed and why (and the blank's TIC beside the sample's), the reference standard run against
each finding -- in the HTML and the PDF (issue 15)."""
from __future__ import annotations

import copy
import shutil
import subprocess
from html import escape
import re

import pytest

from nps_id.match.parameters import MatchParameters
from nps_id.match.pipeline import match_files
from nps_id.match.standards import InternalStandard, ReferenceStandard
from nps_id.report import render
from nps_id.report.document import build_report
from tests.conftest import data_path
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO, make_results
from tests.report.test_render import _pdf_pages

REMOVED_REASON = "the blank shows it: 0.6 s away (<= 6 s), spectrum similarity 0.985 (>= 0.9), 1.20 x the blank's height (< 3)"


def with_checks(results: dict, n_removed: int = 1) -> dict:
    """The synthetic results as `match --blank --internal-standard Bupivacaine@6.5
    --reference-standard std.mzML Etizolam` would have them (invented numbers)."""
    results = copy.deepcopy(results)
    tic = results["tic"]
    # the blank: a small peak at 5.0 min (what it removed) and the internal standard at 6.512
    blank = [1.0e5 + 4.0e6 * 2.718281828 ** (-((rt - 6.512) / 0.02) ** 2) for rt in tic["rt_min"]]
    results["blank"] = {"file": "blank-run.mzML", "path": "/nonexistent/blank-run.mzML", "sha256": "ef" * 32,
                        "tic": {"rt_min": tic["rt_min"], "intensity": [round(v, 1) for v in blank]},
                        "n_components": 2, "n_removed": n_removed}
    results["blank_subtracted"] = [{"rt_min": round(5.5 + 0.1 * i, 4), "best_hit": "Dibutyl phthalate",
                                    "reason": REMOVED_REASON} for i in range(n_removed)]
    results["internal_standards"] = [{"name": "Bupivacaine", "expected_rt_min": 6.5, "rt_window_min": 0.1,
                                      "found": True, "finding": 0, "library_name": "Bupivacaine",
                                      "verdict": "identified", "rt_min": 6.512, "delta_rt_min": 0.012,
                                      "within": True, "height": 9.0e6, "area": 2.0e7}]
    results["reference_standards"] = [{"run": "std.mzML", "path": "/nonexistent/std.mzML", "sha256": "12" * 32,
                                       "name": "Etizolam", "found": True, "library_name": "Etizolam",
                                       "verdict": "identified", "rt_min": 10.141, "ri": None}]
    results["findings"][2]["reference_standard"] = {"run": "std.mzML", "name": "Etizolam", "rt_min": 10.141,
                                                    "delta_rt_min": 0.121, "ri": None, "delta_ri": None,
                                                    "window_min": 0.1, "within": False}
    return results


CHECKS = ["Internal standard Bupivacaine: found at 6.512 min, area 20000000, expected 6.500 min "
          "(\u0394 +0.012 min, window \u00b10.10 min: within); verdict identified",
          "Blank blank-run.mzML: 1 component of the run removed (2 components in the blank); "
          "an internal standard is never removed",
          f"Removed by the blank at 5.500 min (Dibutyl phthalate): {REMOVED_REASON}",
          "Reference standard Etizolam: run std.mzML, its Etizolam at 10.141 min, RI \u2014: a finding of Etizolam at "
          "this retention time is Etizolam, not an isomer its spectrum cannot tell from it",
          "Finding #3 Etizolam: RT 10.262 min against 10.141 min in standard run std.mzML "
          "(\u0394 +0.121 min, window \u00b10.10 min: OUTSIDE); no RI (no alkane ladder)"]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_html_and_pdf_show_the_same_checks_and_the_blank_tic(tmp_path):
    doc = build_report(with_checks(make_results()), SAMPLE_INFO, now=FIXED_NOW)
    html = render(doc, "html")[".html"].decode("utf-8")
    section = html.split('id="checks"')[1].split("<h2")[0]
    for line in CHECKS:
        assert f"<li>{escape(line)}</li>" in section, line
    assert html.index('id="checks"') < html.index("<h2>Findings</h2>")  # page 1, before the findings
    # the blank's TIC below the sample's, in the same figure (two axes, one x axis)
    tic = html.split('<figure class="tic">')[1].split("</figure>")[0]
    assert "Blank blank-run.mzML (same scale); \u00d7 = a component of the sample it removed" in tic
    assert tic.count('id="axes_') == 2
    assert "<h2>Total ion chromatogram and the blank's</h2>" in html
    assert "the blank blank-run.mzML on the same scale" in tic
    # the finding itself says how it compares with the standard
    finding = html[html.index('id="finding-2"'):html.index('id="finding-3"')]
    assert "yes: RT 10.262 min against 10.141 min in standard run std.mzML" in finding

    _in_chromium(html, tmp_path)
    texts, images = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    first = _flat(texts[0])
    for line in CHECKS:
        assert _flat(line) in first, line
    assert first.index("Internal standard, blank and reference standards") < first.index("Findings")
    second = texts[1]
    assert "Blank blank-run.mzML (same scale); \u00d7 = a component of the sample it removed" in second
    assert second.index("Total ion chromatogram and the blank's") < second.index("Components")
    # drawn, not just named: two axes, the blank's below the sample's -- left-axis ink (the y axis
    # line, x = 8 % of the width) runs down most of the band above the table
    grey = images[1].mean(axis=2) if images[1].ndim == 3 else images[1]
    column = grey[:, int(0.08 * grey.shape[1]) - 2:int(0.08 * grey.shape[1]) + 3].min(axis=1) < 0.6
    assert column[int(0.12 * len(column)):int(0.5 * len(column))].mean() > 0.8
    assert "OUTSIDE" in _flat(texts[4])  # finding #3's page: against its standard, outside the window


def _in_chromium(html: str, tmp_path) -> None:
    """The page as headless Chromium parses it: the checks list and both TIC axes survive."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    path = tmp_path / "checks.html"
    path.write_text(html, encoding="utf-8")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=90, check=True).stdout
    checks = dom.split('id="checks"')[1].split("</ul>")[0]
    assert checks.count("<li>") == len(CHECKS)
    assert dom.split('<figure class="tic">')[1].split("</figure>")[0].count('id="axes_') == 2


def test_many_blank_removals_move_the_checks_to_their_own_pdf_page(tmp_path):
    doc = build_report(with_checks(make_results(), n_removed=40), SAMPLE_INFO, now=FIXED_NOW)
    texts, images = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    assert len(texts) == len(doc["findings"]) + 5  # the checks on two pages of their own after page 1
    assert "Findings" in texts[0] and "Internal standard, blank" not in texts[0]
    checks = _flat(texts[1])
    assert "page 2 of 10" in checks and "Removed by the blank at 5.500 min" in checks
    assert "Removed by the blank at 9.400 min" in _flat(texts[2]) and "Findings" not in _flat(texts[2])


def test_real_card_with_blank_internal_and_reference_standard(swgdrug_library, tmp_path):
    card, blank, standard = (data_path("gcms", "lrcfs", f"{n}.mzML") for n in ("220223030", "220223001", "220223010"))
    params = MatchParameters(internal_standards=(InternalStandard("Bupivacaine", 6.51),))
    ((_, results),) = list(match_files([card], swgdrug_library, params, blank=blank,
                                       reference_standards=[ReferenceStandard(str(standard), "Etizolam")]))
    doc = build_report(results, None)
    html = render(doc, "html")[".html"].decode()
    section = html.split('id="checks"')[1].split("<h2")[0]
    assert "Internal standard Bupivacaine: found at 6.51" in section and "within" in section
    assert "expected 6.510 min" in section and "verdict identified" in section
    # The methanol blank holds only the internal standard, which is never subtracted.
    assert "Blank 220223001.mzML: 0 components of the run removed" in section
    assert "an internal standard is never removed" in section
    assert "Reference standard Etizolam: run 220223010.mzML, its Etizolam at 10.2" in section
    # what the standard settles, not its own spectrum's library verdict ("verdict tentative" read as
    # a doubtful standard: its spectrum is held at "isomer not excluded" like the sample's)
    standard_line = next(li for li in section.split("<li>") if li.startswith("Reference standard Etizolam"))
    assert "a finding of Etizolam at this retention time is Etizolam, not an isomer" in standard_line
    assert "verdict" not in standard_line
    # a tentative finding no standard was run for says what one would settle
    index = next(f["index"] for f in doc["findings"] if f["name"] == "Flubromazepam")
    page = html[html.index(f'id="finding-{index}"'):]
    # (no sample TOML: "not given", not "unknown", since stop 37)
    assert ("not given (the sample information names no reference standard run): one run at this RT would exclude "
            "the 8 isomers") in page[:page.index("Verdict and criteria")]
    assert re.search(r"Finding #\d Etizolam: RT 10\.2\d\d min against 10\.2\d\d min in standard run 220223010\.mzML "
                     r"\(\u0394 \+0\.0\d\d min, window \u00b10\.10 min: within\)", section)
    assert "Blank 220223001.mzML (same scale)" in html
    texts, _ = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    assert "Reference standard Etizolam: run 220223010.mzML" in _flat(texts[0])
    assert "Blank 220223001.mzML (same scale)" in texts[1]
    # every page ends above its footer: the finding pages' long criteria once pushed the
    # limitations off the page, under "page x of y"
    for number, text in enumerate(texts, start=1):
        assert f"page {number} of {len(texts)}" in text.strip().splitlines()[-1], number
    etizolam = next(t for t in texts if "Reference standard run: yes" in t)
    assert "are excluded by the reference standard run 220223010.mzML" in _flat(etizolam)

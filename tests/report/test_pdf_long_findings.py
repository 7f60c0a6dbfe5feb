"""A finding's own PDF page with very long names (the LRCFS seized card's results, names made
200 characters long, the rule naming three such isomers): the title, conclusion, rule and criteria
paragraphs ran down the page over the plots, and the hit table and limitations were drawn below
the footer, off the page. The paragraphs fill the room above the (at most shrunk) plots and go on
over continuation pages ("#N ... (continued)"), never cut (stop 35: they were cut behind "...");
everything stays above the footer."""
from __future__ import annotations

import copy
import re

import pytest

from nps_id.report import render
from nps_id.report.document import build_report
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO
from tests.report.test_pdf_tables import _pdf_pages, _words_with_boxes
from tests.report.test_pdf_tall_cells import HOSTILE_NAME

LONG_NAME = ("N-[1-(2-phenylethyl)piperidin-4-yl]-N-phenyl-2-(4-fluorophenyl)-3-methylbutanamide " * 3)[:200]


def _long_named(results: dict, name: str) -> dict:
    results = copy.deepcopy(results)
    for f in results["findings"]:
        f["name"] = name
        for hit in f["top_hits"] + ([f["runner_up"]] if f.get("runner_up") else []):
            hit["name"] = name
        f["rule"] = ("isomer not excluded: the substance is the hit or an isomer the spectrum cannot tell from it "
                     f"-- in the library: {', '.join([name] * 3)}; 8 not in the library (ring position)")
        if f["criteria_failed"]:  # an identified finding fails none (the schema holds it to that)
            f["criteria_failed"].append(f"isomers not excluded: {', '.join([name] * 3)}")
    return results


def _finding_pages(results: dict, tmp_path) -> tuple[dict, list[str], list[list[tuple[str, float]]]]:
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    path = tmp_path / "report.pdf"
    path.write_bytes(render(doc, "pdf")[".pdf"])
    texts, boxes = _pdf_pages(path.read_bytes(), tmp_path), _words_with_boxes(path)
    own = _own_pages(texts, len(doc["findings"]))
    return doc, [texts[k] for k in own], [boxes[k] for k in own]


def _own_pages(texts: list[str], n_findings: int) -> list[int]:
    """The findings' own pages: the last ``n_findings`` before the provenance page (pdftotext ends
    with a form feed) that are no continuation page ("#N ... (continued)")."""
    provenance = len(texts) - 2
    return [k for k in range(provenance) if "(continued)" not in texts[k][:400]][-n_findings:]


def _continuation_pages(texts: list[str]) -> list[str]:
    return [t for t in texts if "(continued)" in t[:400]]


@pytest.mark.parametrize("name", [LONG_NAME, HOSTILE_NAME], ids=["200 characters", "6000 characters"])
def test_long_names_on_a_finding_page_go_on_over_the_page_and_stay_above_the_footer(lrcfs_results, tmp_path, name):
    results, _ = lrcfs_results["220223030"]
    if name == HOSTILE_NAME:  # two pages of the five, each kind once: one failing criteria, the identified one
        # (all five pages of 6,000-character names took ~2 minutes; each page is checked alike)
        found = results["findings"]
        results = {**results, "findings": [next(f for f in found if f["criteria_failed"]),
                                           next(f for f in found if f["verdict"] == "identified")]}
    long_named = _long_named(results, name)
    doc, texts, boxes = _finding_pages(long_named, tmp_path)
    assert len(texts) == len(long_named["findings"])
    for f, text, words in zip(doc["findings"], texts, boxes):
        assert f"#{f['index'] + 1} " in text[:60], text[:100]
        assert "Limitations:" in text and "Rank Library entry" in text  # on the page, not below it
        assert "(continued on the next page)" in text  # the rule naming three such names goes on
        assert min(bottom for word, bottom in words) > 0.015  # nothing under the footer line
        footer = [word for word, bottom in words if bottom < 0.035]
        assert footer[0] == "Report" and footer[-2:-1] == ["of"], footer
    # the whole rule, read across the pages (its only "..." is the title's clipped name)
    pages = _pdf_pages((tmp_path / "report.pdf").read_bytes(), tmp_path)
    assert _continuation_pages(pages)
    if name == LONG_NAME:
        whole = " ".join(" ".join(re.sub(r"Report \S+ \u00b7 \S+ \u00b7 page \d+ of \d+ ", "", p).split())
                         for p in pages)
        for f in long_named["findings"]:
            assert f"Rule: {f['rule']}"[:120] in whole and f["rule"][-60:] in whole


def test_the_mirror_plot_legend_stays_on_the_page(lrcfs_results, tmp_path):
    """The legend 'library: <name>' above the mirror plot ran off the right edge of the page."""
    import subprocess

    results, _ = lrcfs_results["220223030"]
    doc, _, _ = _finding_pages(_long_named(results, LONG_NAME), tmp_path)  # skips without pdftotext
    path = tmp_path / "report.pdf"
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', out, re.S)
    shown = len(doc["findings"]) + len(_continuation_pages(_pdf_pages(path.read_bytes(), tmp_path)))
    for width, body in pages[len(pages) - 1 - shown:-1]:
        right = max(float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', body))
        assert right <= float(width), (right, width)


def test_real_names_on_finding_pages_are_not_cut(lrcfs_results, tmp_path):
    results, _ = lrcfs_results["220223030"]
    _, texts, _ = _finding_pages(results, tmp_path)
    assert texts and not any("\u2026" in text for text in texts)


def test_a_long_name_is_clipped_in_the_finding_heading_and_given_whole_below(lrcfs_results, tmp_path):
    # a 6,000-character name wrapped over 40 lines of heading (each finding page's title); the
    # heading now ends the name in an ellipsis on at most two lines, the page names it in full below
    from tests.report.test_pdf_tall_cells import HOSTILE_NAME

    results, _ = lrcfs_results["220223030"]
    doc = build_report(_long_named(results, HOSTILE_NAME), SAMPLE_INFO, now=FIXED_NOW)
    from nps_id.report.findings import finding_label
    from nps_id.report.pdf import finding_fields, finding_heading

    named = [f for f in doc["findings"] if HOSTILE_NAME in finding_label(f)]  # not the new-substance leads
    assert named
    for f in named:
        heading = finding_heading(doc, f)
        assert len(heading) < 250 and "\u2026" in heading and heading.startswith(f"#{f['index'] + 1} ")
        assert ("Name", finding_label(f)) in finding_fields(f)
    real, _ = lrcfs_results["220223030"]
    plain = build_report(real, SAMPLE_INFO, now=FIXED_NOW)
    for f in plain["findings"]:  # real names: the heading whole, no extra line
        assert "\u2026" not in finding_heading(plain, f) and not [k for k, _ in finding_fields(f) if k == "Name"]


def test_a_clipped_heading_keeps_its_verdict_on_the_page(lrcfs_results, tmp_path):
    """A 300-character name (a finding with a structure: the title is narrower) took the heading to
    four lines; the page cut every paragraph to three, and the title lost its verdict badge
    ("... record fo…" without "– tentative"). The title is bounded, so it is drawn whole."""
    from nps_id.report.findings import finding_label
    from nps_id.report.present import verdict_badge

    results, _ = lrcfs_results["220223030"]
    name = (LONG_NAME + " ") * 2
    doc, texts, _ = _finding_pages(_long_named(results, name), tmp_path)
    checked = [(f, text) for f, text in zip(doc["findings"], texts) if f.get("smiles") and name in finding_label(f)]
    assert checked
    for f, text in checked:
        assert f"\u2026 \u2013 {verdict_badge(doc, f)}" in " ".join(text.split()), text[:300]

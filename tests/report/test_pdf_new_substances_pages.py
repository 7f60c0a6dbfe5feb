"""The PDF's section of findings no library compound explains, over several pages (stop 44): its note was
drawn again at the top of every page (the ANDI run of the README's ``inspect`` example, 46 unknowns against
SWGDRUG 3.4: 18 times); now once, the pages after the first titled "... (continued)", no finding lost.

The test renders the run's first :data:`FIRST_FINDINGS` findings (17 unknowns, 4 pages of the section) with
the components up to the last of them, not all 64 (46 unknowns): the PDF took ~37 s of CPU, the slice ~12 s
(stop 48); what is asserted needs only a section over several pages."""
from __future__ import annotations

from nps_id.report import render
from nps_id.report.document import build_report
from nps_id.report.present import NEW_SUBSTANCES_NOTE, new_substance_heading, new_substances, new_substances_title
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO
from tests.report.test_pdf_tables import _pdf_pages

FIRST_FINDINGS = 20


def _first_findings(results: dict, n: int) -> dict:
    """The run's results as if it had ended after its ``n``-th finding: those findings and the components
    up to it (findings are in retention-time order, and a component names its finding by that order)."""
    findings = results["findings"][:n]
    components = [c for c in results["components"] if c["rt_min"] <= findings[-1]["rt_min"]]
    assert all(c.get("finding") is None or c["finding"] < n for c in components)
    return {**results, "findings": findings, "components": components}


def test_the_new_substances_note_is_said_once_and_the_section_goes_on_under_its_title(andi_results, tmp_path):
    doc = build_report(_first_findings(andi_results, FIRST_FINDINGS), SAMPLE_INFO, now=FIXED_NOW)
    found = new_substances(doc)
    title = new_substances_title(found)
    pages = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    section = [p for p in pages if p.startswith(title) or f" {title} " in p[:300]]
    assert len(section) >= 3, "the section no longer runs over several pages: the test needs another run"
    opening = " ".join(NEW_SUBSTANCES_NOTE.split()[:12])
    assert sum(opening in p for p in pages) == 1 and opening in section[0]
    assert f"{title} (continued)" not in section[0]
    assert all(f"{title} (continued)" in p for p in section[1:])
    text = " ".join(section)
    assert all(text.count(new_substance_heading(f) + " ") == 1 for f in found)  # each finding once, none lost

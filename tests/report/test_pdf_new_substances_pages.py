"""The PDF's section of findings no library compound explains, over several pages (stop 44): its note was
drawn again at the top of every page (the ANDI run of the README's ``inspect`` example, 46 unknowns against
SWGDRUG 3.4: 18 times); now once, the pages after the first titled "... (continued)", no finding lost."""
from __future__ import annotations

from nps_id.report import render
from nps_id.report.document import build_report
from nps_id.report.present import NEW_SUBSTANCES_NOTE, new_substance_heading, new_substances, new_substances_title
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO
from tests.report.test_pdf_tables import _pdf_pages


def test_the_new_substances_note_is_said_once_and_the_section_goes_on_under_its_title(andi_results, tmp_path):
    doc = build_report(andi_results, SAMPLE_INFO, now=FIXED_NOW)
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

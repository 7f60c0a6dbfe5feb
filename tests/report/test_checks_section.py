"""The checks a reviewer repeats by hand, on page 1 of the HTML report: the internal standard
against its expected RT, what the blank removed and why, the reference standard run (issue 15)."""
from __future__ import annotations

from nps_id.match.pipeline import MatchParameters, match_files
from nps_id.match.standards import InternalStandard, ReferenceStandard
from nps_id.report import render
from nps_id.report.document import build_report
from tests.conftest import data_path


def test_internal_standard_blank_and_reference_standard_are_shown(swgdrug_library):
    card, blank, standard = (data_path("gcms", "lrcfs", f"{n}.mzML") for n in ("220223030", "220223001", "220223010"))
    params = MatchParameters(internal_standards=(InternalStandard("Bupivacaine", 6.51),))
    ((_, results),) = list(match_files([card], swgdrug_library, params, blank=blank,
                                       reference_standards=[ReferenceStandard(str(standard), "Etizolam")]))
    html = render(build_report(results, None), "html")[".html"].decode()
    section = html.split('id="checks"')[1].split("<h2")[0]
    assert "Internal standard Bupivacaine: found at 6.51" in section and "within" in section
    assert "expected 6.510 min" in section and "verdict identified" in section
    # The methanol blank holds only the internal standard, which is never subtracted.
    assert "Blank 220223001.mzML: 0 component(s) removed" in section
    assert "Reference standard Etizolam: run 220223010.mzML, at 10.2" in section

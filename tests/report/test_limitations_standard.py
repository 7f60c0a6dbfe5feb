"""A GC finding whose isomers a reference standard run on the same method excluded (the LRCFS card 220223030
with its check standard 220223010 as etizolam's, README "Reports and early-warning export") lists no "No retention
index measured" limitation: beside "excluded by the reference standard" it read as a gap still open (newuser48).
A finding of the same run no standard was run for keeps it."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.match.parameters import MatchParameters  # noqa: E402
from nps_id.match.pipeline import match_files  # noqa: E402
from nps_id.match.standards import ReferenceStandard  # noqa: E402
from nps_id.report.document import build_report  # noqa: E402
from tests.conftest import data_path  # noqa: E402

NO_RI = "No retention index measured: isomers with similar spectra are not separated by RI."


def test_isomers_excluded_by_a_standard_leave_no_retention_index_gap(swgdrug_library):
    card, standard = (data_path("gcms", "lrcfs", f"{n}.mzML") for n in ("220223030", "220223010"))
    ((_, results),) = list(match_files([card], swgdrug_library, MatchParameters(),
                                       reference_standards=[ReferenceStandard(str(standard), "Etizolam")]))
    doc = build_report(results, None)
    shown = {f["name"]: f for f in doc["findings"]}
    etizolam, flubromazepam = shown["Etizolam"], shown["Flubromazepam"]
    assert etizolam["verdict"] == "identified" and etizolam["ri"] is None
    assert any("excluded by the reference standard run 220223010.mzML" in n for n in etizolam["limitations"])
    assert NO_RI not in etizolam["limitations"]
    # no standard of flubromazepam: its isomers are open, and no RI was measured
    assert flubromazepam["verdict"] == "tentative" and NO_RI in flubromazepam["limitations"]


def test_a_standard_the_verdict_did_not_take_is_not_said_to_exclude_the_isomers():
    # newuser49: results written before stop 49 (a weak match whose standard at the same RT left "isomers excluded
    # (not possible ...)" failed) -- the report said "excluded by the reference standard run" from the RT alone
    from nps_id.report.findings import isomers_excluded_by

    standard = {"run": "std40.mgf", "within": True, "delta_rt_min": -0.033, "window_min": 0.1}
    kept = {"reference_standard": standard, "criteria_met": ["score >= 700 (tentative floor)"],
            "criteria_failed": ["isomers excluded (not possible from the spectrum alone: ...)"]}
    assert isomers_excluded_by(kept) is None
    taken = {**kept, "criteria_met": ["isomers excluded by the reference standard run std40.mgf (dRT -0.033 min, "
                                      "window 0.1)"], "criteria_failed": []}
    assert isomers_excluded_by(taken) == "excluded by the reference standard run std40.mgf at the same retention time"

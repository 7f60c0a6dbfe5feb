"""`nps-id regress` expectations against findings (issue 18): a suspected new substance is not
the library compound it resembles."""
from __future__ import annotations

import pytest

from nps_id.match.results import Finding
from nps_id.regress import Case, Expectation, _run_case
from tests.conftest import data_path


@pytest.fixture(scope="module")
def card(swgdrug_library):
    from nps_id.match.pipeline import match_run
    from nps_id.match.reference_library import ReferenceLibrary

    path = data_path("gcms", "lrcfs", "220223030.mzML")
    return path, match_run(path, ReferenceLibrary(swgdrug_library))["findings"]


def test_an_expected_drug_is_not_found_by_a_suspected_new_substance_named_after_it(card):
    # a weak match to a relative of etizolam (new_substance) passed "Etizolam tentative": a lost
    # identification would not fail the suite
    path, raw = card
    case = Case("card", "run", path, "swgdrug", expect=(Expectation("Etizolam", "tentative"),))
    assert _run_case(case, [Finding.from_dict(f) for f in raw]).status == "pass"
    relative = [{**f, "new_substance": True, "rule": "weak match", "rule_id": "weak_match"}
                if f["name"] == "Etizolam" else f for f in raw]
    result = _run_case(case, [Finding.from_dict(f) for f in relative])
    assert result.status == "fail" and "expected Etizolam tentative" in result.detail
    assert "suspected new substance" in result.detail

"""Verdict rules: each criterion is recorded, and a hit is never called more than it is."""
from __future__ import annotations

import pytest

from nps_id.match.verdict import Evidence, VerdictThresholds, at_least, decide

GOOD = dict(kind="ei", score=945, mf=945, rmf=950, gap=135, isomer_alert=False, major_ions=(20, 21), n_ions=120)


def test_all_criteria_met_is_identified():
    v = decide(Evidence(**GOOD))
    assert v.verdict == "identified"
    assert v.criteria_failed == []
    assert any(c.startswith("mf >= 800") for c in v.criteria_met)
    # No retention index known: said so, not counted as met.
    assert any("RI" in c for c in v.criteria_not_evaluated)


@pytest.mark.parametrize(
    "change, rule",
    [
        ({"gap": 12}, "isomer ambiguity"),
        ({"isomer_alert": True}, "isomer ambiguity"),
        ({"same_hit_elsewhere": 2}, "isomer ambiguity"),
        ({"delta_ri": 55.0}, "retention index disagrees"),
        ({"mf": 760, "score": 760}, "weak match"),
        ({"n_ions": 4}, "weak match"),
        ({"major_ions": (10, 21)}, "weak match"),
    ],
)
def test_one_failed_criterion_gives_tentative(change, rule):
    v = decide(Evidence(**{**GOOD, **change}))
    assert v.verdict == "tentative"
    assert v.rule.startswith(rule)
    assert len(v.criteria_failed) >= 1


def test_ri_within_window_is_a_met_criterion():
    v = decide(Evidence(**{**GOOD, "delta_ri": -12.0}))
    assert v.verdict == "identified"
    assert any("dRI -12" in c for c in v.criteria_met)


def test_poor_match_is_inconclusive_unless_an_analogue_passes():
    poor = {**GOOD, "mf": 550, "rmf": 600, "score": 550}
    assert decide(Evidence(**poor)).verdict == "inconclusive"
    v = decide(Evidence(**poor, analogue_score=900))
    assert (v.verdict, v.rule.split(":")[0]) == ("tentative", "close analogue")


def test_ms2_uses_the_score_and_not_mf():
    v = decide(Evidence(kind="ms2", score=850, gap=100))
    assert v.verdict == "identified"
    assert decide(Evidence(kind="ms2", score=720, gap=100)).verdict == "tentative"
    assert decide(Evidence(kind="ms2", score=500, gap=100)).verdict == "inconclusive"


def test_thresholds_are_configurable():
    strict = VerdictThresholds(identified_mf=950)
    assert decide(Evidence(**GOOD), strict).verdict == "tentative"
    assert strict.to_dict()["identified_mf"] == 950


def test_levels_order():
    assert at_least("identified", "tentative") and at_least("tentative", "tentative")
    assert not at_least("inconclusive", "tentative") and not at_least("tentative", "identified")


MS2 = dict(kind="ms2", score=950, gap=200, ms1_feature=True, precursor_ppm=5.0, matched_fragments=(2, 4))


def test_hrms_criteria_exactly_on_threshold_pass():
    v = decide(Evidence(**MS2))
    assert v.verdict == "identified"
    assert "|precursor mass error| <= 5 ppm (+5.0 ppm)" in v.criteria_met
    assert "reference fragments matched >= 2 (2 of 4)" in v.criteria_met
    assert decide(Evidence(**{**MS2, "matched_fragments": (1, 1)})).verdict == "identified"


@pytest.mark.parametrize("change", [{"precursor_ppm": -5.01}, {"matched_fragments": (1, 4)}, {"ms1_feature": False}])
def test_hrms_criterion_failed_gives_tentative(change):
    v = decide(Evidence(**{**MS2, **change}))
    assert (v.verdict, v.rule.split(":")[0]) == ("tentative", "HRMS criteria not met")


def test_hrms_criteria_not_evaluated_without_ms1():
    v = decide(Evidence(kind="ms2", score=950, gap=200))
    assert v.verdict == "identified" and not any("precursor" in c for c in v.criteria_met + v.criteria_failed)

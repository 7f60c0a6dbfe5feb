"""The batch summary's rows: substances as the reports name them (issue 18)."""
from __future__ import annotations

from nps_id.batch.summary import _best_findings


def test_a_tentative_suspected_new_substance_is_no_row_under_its_closest_library_name():
    # a weak match to a relative (new_substance) and an analogue-mode finding were rows "Norephedrine"
    # and "SPHINGOMYELIN" in summary.csv: a known substance found in the run, to a reader
    findings = [
        {"name": "Norephedrine", "verdict": "tentative", "rt_min": 3.2, "mf": None, "match_mode": "identity",
         "new_substance": True, "suspected_group": "Phenethylamines"},
        {"name": "SPHINGOMYELIN", "verdict": "tentative", "rt_min": 7.5, "mf": None, "match_mode": "analogue",
         "new_substance": False, "suspected_group": None},
        {"name": "Etizolam", "verdict": "tentative", "rt_min": 10.3, "mf": 947, "match_mode": "identity",
         "new_substance": False, "suspected_group": "Benzodiazepines"},
    ]
    assert sorted(_best_findings({"findings": findings})) == [
        "Etizolam", "analogue of SPHINGOMYELIN", "suspected new substance (Phenethylamines)"]


def test_an_inconclusive_unknown_of_no_group_is_a_row_and_a_better_verdict_wins_the_cell():
    findings = [
        {"name": "Methyl Palmitate", "verdict": "inconclusive", "rt_min": 5.17, "mf": 621, "match_mode": "identity",
         "new_substance": True, "suspected_group": None},
        {"name": "Lauric Acid", "verdict": "tentative", "rt_min": 6.0, "mf": 600, "match_mode": "identity",
         "new_substance": True, "suspected_group": None},
        {"name": "Caffeine", "verdict": "inconclusive", "rt_min": 8.0, "mf": 650, "match_mode": "identity",
         "new_substance": False, "suspected_group": None},
    ]
    unknown = "suspected new substance (group not determined)"
    # the card's 5.17 min unknown alone in a run: its row was missing (stop 34)
    assert _best_findings({"findings": findings[:1]})[unknown].rt_min == 5.17
    best = _best_findings({"findings": findings})
    # an inconclusive library hit that is no new substance stays out, as in the reports
    assert list(best) == [unknown]
    assert best[unknown].verdict == "tentative"  # not the inconclusive one's higher MF

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

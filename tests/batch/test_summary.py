"""The batch summary's rows: substances as the reports name them (issue 18)."""
from __future__ import annotations

from nps_id.batch.summary import CARRY_OVER_RT_WINDOW, Cell, RunRow, _carry_over, _read_run, row_name


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
    assert sorted(_read_run({"findings": findings}).best) == [
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
    unknown = "unknown compound (not in the library; no NPS group indicated)"
    # the card's 5.17 min unknown alone in a run: its row was missing (stop 34)
    assert _read_run({"findings": findings[:1]}).best[unknown].rt_min == 5.17
    best = _read_run({"findings": findings}).best
    # an inconclusive library hit that is no new substance stays out, as in the reports
    assert list(best) == [unknown]
    assert best[unknown].verdict == "tentative"  # not the inconclusive one's higher MF
    # the same pass gives each unknown row's RTs (for carry-over hints) and the internal standards
    labelled = {"name": "Bupivacaine", "verdict": "identified", "rt_min": 6.51, "mf": 975, "match_mode": "identity",
                "new_substance": False, "suspected_group": None, "role": "internal_standard"}
    run = _read_run({"findings": [*findings, labelled]})
    assert run.unknown_rts == {unknown: [5.17, 6.0]}
    assert run.internal_standards == {"Bupivacaine"} and run.best["Bupivacaine"].verdict == "identified"


def test_two_unknowns_of_one_row_apart_are_no_carry_over_hint():
    # the card 220223030 (its 5.17 min unknown of no group, inconclusive) before the ANDI run as a blank
    # (its best unknown 9.18 min, tentative): "suspected new substance (group not determined) in blank
    # ... possible carry-over" once inconclusive unknowns became rows (stop 34, attack34); since stop 35
    # the row of unknowns of no group reads "unknown compound (...)"
    unknown = "unknown compound (not in the library; no NPS group indicated)"
    rows = [RunRow("seq/01-card.mzML", "01-card.mzML", "done", None, False, None),
            RunRow("seq/02-blank.cdf", "02-blank.cdf", "done", None, True, None)]
    found = {unknown: {"seq/01-card.mzML": Cell("inconclusive", 5.17, 621),
                       "seq/02-blank.cdf": Cell("tentative", 9.18, 832)},
             "Etizolam": {"seq/01-card.mzML": Cell("tentative", 10.27, 947),
                          "seq/02-blank.cdf": Cell("inconclusive", 10.3, 600)}}
    apart = {(unknown, "seq/01-card.mzML"): [5.17], (unknown, "seq/02-blank.cdf"): [9.18, 12.0]}
    assert [h.substance for h in _carry_over(rows, found, set(), apart)] == ["Etizolam"]
    # one of the blank's unknowns at the run's unknown's time (not the cell's best): a hint
    close = {**apart, (unknown, "seq/02-blank.cdf"): [9.18, 5.17 + CARRY_OVER_RT_WINDOW / 2]}
    assert sorted(h.substance for h in _carry_over(rows, found, set(), close)) == ["Etizolam", unknown]


def test_unknowns_of_another_estimated_mass_are_rows_of_their_own_and_not_read_as_identifications():
    # The LC PestMix slice against MassBank MS/MS (/work/libs/mbms2.h5): two unknowns of no group, 7.525 min
    # (estimated mass 541) and 7.769 min (493), were one row "unknown compound (...)" whose cell read
    # "tentative, 7.53 min" -- one compound, tentatively identified, to a reader (stop 36)
    findings = [{"name": "1-Palmitoyl-2-glutaryl-sn-glycero-3-phosphocholine", "verdict": "tentative", "rt_min": rt,
                 "mf": None, "match_mode": "identity", "new_substance": True, "suspected_group": None,
                 "estimated_mass": mass} for rt, mass in ((7.525, 541), (7.7689, 493))]
    best = _read_run({"findings": findings}).best
    unknown = "unknown compound (not in the library; no NPS group indicated)"
    assert sorted(best) == [f"{unknown}, estimated mass 493", f"{unknown}, estimated mass 541"]
    assert best[f"{unknown}, estimated mass 541"].text() == ("not identified (library search tentative), 7.53 min, "
                                                             "closest library hit 1-Palmitoyl-2-glutaryl-sn-glycero-3-phosphocholine")
    # a library compound's row and cell are as before; an unknown of unknown mass keeps its label alone
    assert row_name({**findings[0], "estimated_mass": None}) == unknown
    assert Cell("tentative", 10.27, 947).text() == "tentative, 10.27 min, MF 947"

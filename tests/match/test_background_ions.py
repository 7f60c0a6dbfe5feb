"""``match`` reads a GC component's column bleed from the run itself: a weak bleed ion that the scans
around the component hold as strongly is not its molecular ion (docs/match.md, "Column bleed is not
a molecular ion"); the search and its spectrum keep the ion."""
from __future__ import annotations

from nps_id.match.parameters import MatchParameters
from nps_id.match.pipeline import match_run
from nps_id.match.reference_library import ReferenceLibrary
from tests.conftest import data_path


def _finding(results: dict, rt_minutes: float) -> dict:
    (finding,) = [f for f in results["findings"] if abs(f["rt_min"] - rt_minutes) < 0.02]
    return finding


def test_the_andi_runs_c8_hydrocarbon_is_not_estimated_at_its_bleed_ion(massbank_ei_build):
    # 5.40 min, best hit octane (M 114): 207 at 3.8 % of its base peak was its estimated mass (main,
    # stop 33); the run's background around it explains 207 and its isotope 208
    results = match_run(data_path("gcms", "andi", "agilent-gcms.cdf"), ReferenceLibrary(massbank_ei_build[1]),
                        MatchParameters())
    c8 = _finding(results, 5.40)
    assert c8["name"] == "OCTANE" and c8["verdict"] != "identified"  # the estimate is the finding's own
    assert c8["background_ions"] == [207, 208]
    assert c8["estimated_mass"] == 114
    assert 207 in {round(mz) for mz in c8["spectrum"]["mz"]}  # the spectrum searched and shown is unchanged
    # a finding with no bleed the background explains writes no key (the results file as before)
    assert all("background_ions" not in f for f in results["findings"] if abs(f["rt_min"] - 5.40) >= 0.02)


def test_an_lrcfs_drug_with_bleed_ions_keeps_its_molecular_ion(swgdrug_library):
    # 220223002, etizolam (M 342) at 10.23 min, tentative (its estimate is its own): 207 / 208 under it
    # are the column's; its estimate stays its molecular ion
    etizolam = _finding(match_run(data_path("gcms", "lrcfs", "220223002.mzML"), ReferenceLibrary(swgdrug_library),
                                  MatchParameters()), 10.23)
    assert etizolam["name"] == "Etizolam" and etizolam["verdict"] != "identified"
    assert etizolam["background_ions"] == [207, 208]
    assert etizolam["estimated_mass"] == 342

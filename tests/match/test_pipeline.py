"""``match_run`` on a real run: which components become findings, and which do not.

220223030 (LRCFS seized card FL22/009-2, ../shared/data/README.md) holds the internal standard
bupivacaine (~6.51 min), flubromazepam (~7.42 min) and etizolam (~10.26 min), whose overloaded
peak tails: with the default settings the tail is a second component 7.7 s after the apex whose
best hit is etizolam again, at MF 423.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from nps_id.match.parameters import MatchParameters
from nps_id.match.pipeline import match_run
from nps_id.match.reference_library import ReferenceLibrary
from tests.conftest import data_path

DEFAULT = MatchParameters()


@pytest.fixture(scope="module")
def library(swgdrug_library) -> ReferenceLibrary:
    return ReferenceLibrary(swgdrug_library)


def _card(library: ReferenceLibrary, report_score: int = DEFAULT.verdict.report_score) -> dict:
    params = replace(DEFAULT, verdict=replace(DEFAULT.verdict, report_score=report_score))
    return match_run(data_path("gcms", "lrcfs", "220223030.mzML"), library, params)


def _elsewhere(finding: dict) -> str:
    return next(c for c in finding["criteria_met"] + finding["criteria_failed"] if "other retention time" in c)


def test_each_substance_of_the_card_is_one_finding_at_its_retention_time(library):
    results = _card(library)
    found = {f["name"]: f for f in results["findings"]}
    assert len(found) == len(results["findings"])  # no substance twice
    for name, rt_min in (("Bupivacaine", 6.51), ("Flubromazepam", 7.42), ("Etizolam", 10.26)):
        assert found[name]["rt_min"] == pytest.approx(rt_min, abs=0.02)
        assert found[name]["mf"] >= DEFAULT.verdict.identified_mf
    # a finding and its component name each other; every component is listed, finding or not
    components = results["components"]
    assert [c["index"] for c in components] == list(range(len(components)))
    for k, finding in enumerate(results["findings"]):
        assert components[finding["component"]]["finding"] == k


def test_a_hit_below_the_reporting_score_is_listed_but_not_found_nor_counted_elsewhere(library):
    results = _card(library)
    (tail,) = [c for c in results["components"] if c["best_hit"]["name"] == "Etizolam" and c["finding"] is None]
    assert tail["best_hit"]["mf"] < DEFAULT.verdict.report_score and "duplicate_of" not in tail
    (etizolam,) = [f for f in results["findings"] if f["name"] == "Etizolam"]
    assert _elsewhere(etizolam) in etizolam["criteria_met"]  # the tail's weak hit is not a second elution


def test_above_the_reporting_score_the_tail_is_a_duplicate_of_the_apex_not_a_second_elution(library):
    results = _card(library, report_score=400)
    (etizolam,) = [f for f in results["findings"] if f["name"] == "Etizolam"]
    (tail,) = [c for c in results["components"] if c["best_hit"]["name"] == "Etizolam" and c["finding"] is None]
    assert tail["duplicate_of"] == etizolam["component"]
    assert "one TIC peak" in tail["duplicate_reason"]
    assert _elsewhere(etizolam) in etizolam["criteria_met"]


def test_the_reporting_score_is_inclusive(library):
    # Flubromazepam's MF is exactly the reporting score: it is a finding; one point higher, it is not.
    flubromazepam = next(f for f in _card(library)["findings"] if f["name"] == "Flubromazepam")
    at = _card(library, report_score=flubromazepam["mf"])
    assert "Flubromazepam" in {f["name"] for f in at["findings"]}
    above = _card(library, report_score=flubromazepam["mf"] + 1)
    assert "Flubromazepam" not in {f["name"] for f in above["findings"]}
    assert len(above["components"]) == len(at["components"])  # still listed as a component
    assert all(f["mf"] > flubromazepam["mf"] for f in above["findings"])


def test_a_spectrum_without_a_molecular_ion_is_not_said_to_have_one_the_candidate_shows(library):
    # The card's fatty-acid methyl ester component (5.17 min, ions 74 87 55 43; estimated mass 130,
    # no ion there) listed "the spectrum's molecular ion (>= 1%, confirmed by its estimated mass) is
    # in the candidate's spectrum" among the criteria it met: a molecular ion it does not have.
    findings = _card(library)["findings"]
    text = "the spectrum's molecular ion"
    (ester,) = [f for f in findings if f.get("new_substance")]
    assert ester["estimated_mass"] not in {int(round(mz)) for mz in ester["spectrum"]["mz"]}
    assert not any(c.startswith(text) for c in ester["criteria_met"] + ester["criteria_failed"])
    # a spectrum showing its molecular ion keeps the criterion, met: etizolam's M+ 342
    etizolam = next(f for f in findings if f["name"] == "Etizolam")
    assert etizolam["estimated_mass"] == 342 and any(c.startswith(text) for c in etizolam["criteria_met"])


def test_a_blank_whose_components_have_no_height_says_why_it_removed_nothing(library):
    """A blank whose components were read with height 0 (a hostile file; attack40a): nothing can
    be subtracted (a sample is never "less than 3x" a height of 0), and the note says so -- the
    note's own cosine search found no pair and failed with a TypeError on None."""
    from dataclasses import replace

    from nps_id.match.pipeline import prepare_blank

    blank = prepare_blank(data_path("gcms", "andi", "agilent-gcms.cdf"), DEFAULT)
    flat = replace(blank, components=[replace(c, height=0.0) for c in blank.components])
    results = match_run(data_path("gcms", "lrcfs", "220223030.mzML"), library, DEFAULT, blank=flat)
    (note,) = [n for n in results["notes"] if n.startswith("--blank agilent-gcms.cdf:")]
    assert "none with a spectrum alike (no blank component of any height)" in note
    assert results["blank_subtracted"] == [] and {"Etizolam", "Flubromazepam"} <= {
        f["name"] for f in results["findings"]}

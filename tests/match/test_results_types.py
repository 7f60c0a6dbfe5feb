"""Typed results: every key a finding, hit or component writes is declared by the results schema,
the verdict levels are the schema's, and a real results file round-trips through the types byte
for byte (``from_dict`` then ``to_dict``, key order included)."""
from __future__ import annotations

import json

import pytest

from nps_id.errors import InputError
from nps_id.match.results import (Finding, GCComponent, GCPeak, Hit, LibraryRecord, MatchMode, MS2Component,
                                  RunnerUp, component_from_dict, json_keys)
from nps_id.match.verdict import LEVELS, Level, RuleId, Verdict
from nps_id.report.jsondoc import RESULTS_SCHEMA_PATH, validate_results
from tests.conftest import data_path

SCHEMA = json.loads(RESULTS_SCHEMA_PATH.read_text(encoding="utf-8"))
FINDING_SCHEMA = SCHEMA["properties"]["findings"]["items"]["properties"]
FINDING_KEYS = set(FINDING_SCHEMA)
COMPONENT_KEYS = set(SCHEMA["properties"]["components"]["items"]["properties"])
RECORD_KEYS = set(SCHEMA["$defs"]["record"]["properties"])
RECORD_ORDER = ["name", "library_id", "library_row", "inchikey", "formula", "cas", "smiles", "structure_source",
                "structure_status"]


def _declared(entry: dict) -> set[str]:
    """Keys an object schema declares, those of the records it includes by ``$ref`` too."""
    keys = set(entry.get("properties", {}))
    if any(ref.get("$ref") == "#/$defs/record" for ref in entry.get("allOf", [])):
        keys |= RECORD_KEYS
    return keys


def test_verdict_levels_are_the_schemas_and_write_as_their_strings():
    assert [level.value for level in Level] == FINDING_SCHEMA["verdict"]["enum"]
    assert LEVELS == (Level.IDENTIFIED, Level.TENTATIVE, Level.INCONCLUSIVE)
    assert json.dumps({Level.TENTATIVE: [Level.IDENTIFIED]}, indent=1) == '{\n "tentative": [\n  "identified"\n ]\n}'
    assert f"{Level.INCONCLUSIVE}" == "inconclusive"


def test_every_key_the_types_write_is_declared_by_the_results_schema():
    assert json_keys(Finding) <= FINDING_KEYS, json_keys(Finding) - FINDING_KEYS
    assert json_keys(GCComponent) | json_keys(MS2Component) <= COMPONENT_KEYS
    assert json_keys(Hit) <= _declared(FINDING_SCHEMA["top_hits"]["items"])
    assert json_keys(RunnerUp) <= _declared(FINDING_SCHEMA["runner_up"]["oneOf"][1])
    assert [mode.value for mode in MatchMode] == FINDING_SCHEMA["match_mode"]["enum"]
    assert [rule.value for rule in RuleId] == FINDING_SCHEMA["rule_id"]["enum"]


@pytest.fixture(scope="module")
def lrcfs_card(swgdrug_library):
    """The seized card 220223030 with the blank and the internal standard at its expected RT."""
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.pipeline import match_files
    from nps_id.match.standards import InternalStandard

    params = MatchParameters(internal_standards=(InternalStandard("Bupivacaine", 6.51),))
    runs = [data_path("gcms", "lrcfs", "220223030.mzML")]
    ((_, results),) = match_files(runs, swgdrug_library, params, blank=data_path("gcms", "lrcfs", "220223001.mzML"))
    return json.loads(json.dumps(results))  # as a report reads the file


def test_gc_results_round_trip_through_the_types(lrcfs_card):
    validate_results(lrcfs_card, "220223030")
    assert lrcfs_card["findings"] and lrcfs_card["components"]
    for raw in lrcfs_card["findings"]:
        assert set(raw) <= FINDING_KEYS, set(raw) - FINDING_KEYS  # the assessment's fields too
        finding = Finding.from_dict(raw)
        assert json.dumps(finding.to_dict()) == json.dumps(raw)
        assert isinstance(finding.verdict.verdict, Level) and isinstance(finding.match_mode, MatchMode)
        assert isinstance(finding.peak, GCPeak)
        assert finding.precursor is None and finding.elutions is None
        assert finding.top_hits[0].record.name == raw["top_hits"][0]["name"]
    for raw in lrcfs_card["components"]:
        component = component_from_dict(raw)
        assert isinstance(component, GCComponent)
        assert json.dumps(component.to_dict()) == json.dumps(raw)


def test_the_schema_refuses_a_hit_score_that_is_not_a_number(lrcfs_card):
    broken = json.loads(json.dumps(lrcfs_card))
    broken["findings"][0]["top_hits"][0]["mf"] = "high"
    with pytest.raises(InputError, match="top_hits"):
        validate_results(broken, "edited")


def _record(row: int) -> LibraryRecord:
    return LibraryRecord(name=f"compound {row}", library_id=str(row), library_row=row, inchikey=None, formula="C9H13N",
                         cas=None, smiles=None, structure_source=None, structure_status=None)


def test_a_gc_finding_writes_its_keys_in_the_order_of_the_results_file():
    """The key order of every results file written so far (without data: a hand-built finding)."""
    hit = Hit(rank=1, record=_record(7), mf=901, rmf=912, score=905, delta_mass=None, similarity=905,
              delta_mass_match=None, gap=40, isomer_alert=False)
    finding = Finding(
        record=hit.record, assessment={"new_substance": False, "suspected_group": None},
        verdict=Verdict(Level.IDENTIFIED, "identity: every evaluated criterion met", ["mf >= 800 (mf 901)"],
                        rule_id=RuleId.IDENTITY),
        match_mode=MatchMode.IDENTITY, rt_min=7.4213, mf=901, rmf=912, score=905, gap=40, isomer_alert=False,
        stereo_note=None, delta_mass=None, similarity=905, delta_mass_match=None,
        runner_up=RunnerUp.of(Hit(rank=2, record=_record(9), mf=861, rmf=870, score=865, delta_mass=None,
                                  similarity=865, delta_mass_match=None)),
        top_hits=[hit], spectrum={"mz": [91.0], "intensity": [999.0]}, component=3, role="analyte",
        peak=GCPeak(scan=1200, height=5.0e5, area=2.0e6, snr=80.0, n_ions=42, model_mz=91, scan_range=[1190, 1210],
                    purity=0.9, apex_spectrum={"mz": [91.0], "intensity": [1.0]}),
    )
    written = finding.to_dict()
    assert list(written) == [
        "name", "library_id", "library_row", "inchikey", "formula", "cas", "smiles", "structure_source",
        "structure_status", "new_substance", "suspected_group", "verdict", "rule", "rule_id", "criteria_met", "criteria_failed",
        "criteria_not_evaluated", "held_by", "match_mode", "rt_min", "ri", "library_ri", "delta_ri", "mf", "rmf", "score", "gap",
        "isomer_alert", "stereo_note", "delta_mass", "similarity", "delta_mass_match", "analogue_confidence", "runner_up", "top_hits", "scan",
        "height", "area", "snr", "n_ions", "model_mz", "scan_range", "purity", "apex_spectrum", "spectrum",
        "component", "role", "reference_standard"]
    assert list(written["runner_up"]) == [*RECORD_ORDER, "score", "mf", "rmf"]
    assert list(written["top_hits"][0]) == ["rank", *RECORD_ORDER, "mf", "rmf", "score", "delta_mass", "similarity",
                                            "delta_mass_match"]
    assert json.dumps(Finding.from_dict(written).to_dict()) == json.dumps(written)


def test_a_field_the_assessment_adds_round_trips_in_place(lrcfs_card):
    """A key this version does not type (an assessment field added later) is kept where it was."""
    raw = lrcfs_card["findings"][0]
    keys = list(raw)
    at = keys.index("core_smiles") + 1
    newer = dict([*raw.items()][:at] + [("a_later_field", 0.42)] + [*raw.items()][at:])
    finding = Finding.from_dict(newer)
    assert finding.assessment["a_later_field"] == 0.42
    assert json.dumps(finding.to_dict()) == json.dumps(newer)

"""Typed results: every key a finding, hit or component writes is declared by the results schema,
the verdict levels are the schema's, and a real results file round-trips through the types byte
for byte (``from_dict`` then ``to_dict``, key order included)."""
from __future__ import annotations

import json

import pytest

from nps_id.errors import InputError
from nps_id.match.results import (Finding, GCComponent, GCPeak, Hit, MS2Component, RunnerUp, component_from_dict,
                                  json_keys)
from nps_id.match.verdict import LEVELS, Level
from nps_id.report.jsondoc import RESULTS_SCHEMA_PATH, validate_results
from tests.conftest import data_path

SCHEMA = json.loads(RESULTS_SCHEMA_PATH.read_text(encoding="utf-8"))
FINDING_KEYS = set(SCHEMA["properties"]["findings"]["items"]["properties"])
COMPONENT_KEYS = set(SCHEMA["properties"]["components"]["items"]["properties"])
RECORD_KEYS = set(SCHEMA["$defs"]["record"]["properties"])


def _declared(entry: dict) -> set[str]:
    """Keys an object schema declares, those of the records it includes by ``$ref`` too."""
    keys = set(entry.get("properties", {}))
    if any(ref.get("$ref") == "#/$defs/record" for ref in entry.get("allOf", [])):
        keys |= RECORD_KEYS
    return keys


def test_verdict_levels_are_the_schemas_and_write_as_their_strings():
    assert [level.value for level in Level] == SCHEMA["properties"]["findings"]["items"]["properties"]["verdict"]["enum"]
    assert LEVELS == (Level.IDENTIFIED, Level.TENTATIVE, Level.INCONCLUSIVE)
    assert json.dumps({Level.TENTATIVE: [Level.IDENTIFIED]}, indent=1) == '{\n "tentative": [\n  "identified"\n ]\n}'
    assert f"{Level.INCONCLUSIVE}" == "inconclusive"


def test_every_key_the_types_write_is_declared_by_the_results_schema():
    properties = SCHEMA["properties"]["findings"]["items"]["properties"]
    assert json_keys(Finding) <= FINDING_KEYS, json_keys(Finding) - FINDING_KEYS
    assert json_keys(GCComponent) | json_keys(MS2Component) <= COMPONENT_KEYS
    assert json_keys(Hit) <= _declared(properties["top_hits"]["items"])
    assert json_keys(RunnerUp) <= _declared(properties["runner_up"]["oneOf"][1])


@pytest.fixture(scope="module")
def lrcfs_card(swgdrug_library):
    """The seized card 220223030 with the blank and the internal standard at its expected RT."""
    from nps_id.match.pipeline import MatchParameters, match_files
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
        assert isinstance(finding.verdict.verdict, Level) and isinstance(finding.peak, GCPeak)
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

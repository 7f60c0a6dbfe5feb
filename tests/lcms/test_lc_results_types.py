"""LC-MS/MS results round-trip through the typed findings and components byte for byte, and
every key they write (precursor, elutions, related ions, ``ion_of``) is declared by the schema."""
from __future__ import annotations

import json

import pytest

from nps_id.match.results import Elutions, Finding, MS2Component, MS2Precursor, component_from_dict
from nps_id.report.jsondoc import validate_results
from tests.lcms.conftest import PESTMIX, RAMS
from tests.match.test_results_types import COMPONENT_KEYS, FINDING_KEYS


@pytest.mark.parametrize("run", [PESTMIX, RAMS], ids=["pestmix", "rams"])
def test_lc_results_round_trip_through_the_types(run, request):
    matched = request.getfixturevalue("pestmix_results" if run == PESTMIX else "rams_results")
    results = json.loads(json.dumps(matched))
    validate_results(results, run[-1])
    assert results["findings"]
    for raw in results["findings"]:
        assert set(raw) <= FINDING_KEYS, set(raw) - FINDING_KEYS
        finding = Finding.from_dict(raw)
        assert json.dumps(finding.to_dict()) == json.dumps(raw)
        assert isinstance(finding.precursor, MS2Precursor) and isinstance(finding.elutions, Elutions)
        assert finding.peak is None
        assert (finding.elutions.elution_note is None) == (not raw["other_elutions"])
    for raw in results["components"]:
        assert set(raw) <= COMPONENT_KEYS
        component = component_from_dict(raw)
        assert isinstance(component, MS2Component)
        assert json.dumps(component.to_dict()) == json.dumps(raw)

"""LC-MS/MS matching on two real DDA runs: one finding per compound, MS1 evidence, adducts."""
from __future__ import annotations

import pytest

from tests.conftest import data_path
from tests.lcms.conftest import PESTMIX, RAMS
from nps_id.match.pipeline import ReferenceLibrary, match_run
from nps_id.match.verdict import VerdictThresholds


@pytest.fixture(scope="module")
def library(lcms_library):
    return ReferenceLibrary(lcms_library)


def _by_name(results):
    return {f["name"].lower(): f for f in results["findings"] if f["match_mode"] == "identity"}


def test_metabolite_run_reports_each_compound_once(library):
    results = match_run(data_path(*RAMS), library)
    keys = [f["inchikey"][:14] for f in results["findings"] if f["match_mode"] == "identity"]
    assert len(keys) == len(set(keys))
    unknowns = [(f["name"], round(f["precursor_mz"], 2)) for f in results["findings"] if f["match_mode"] == "analogue"]
    assert len(unknowns) == len(set(unknowns))
    proline = _by_name(results)["l-proline"]
    # Its other elution is named and counted, not a second finding.
    assert proline["other_elutions"] and "separate MS1 peaks" in proline["elution_note"]
    assert any(c.startswith("best hit at no other retention time (1 other)") for c in proline["criteria_failed"])
    assert proline["n_scans"] >= 21 and abs(proline["ms1"]["mass_error_ppm"]) <= 5


def test_pesticide_slice_isolation_window_precursors(library):
    results = match_run(data_path(*PESTMIX), library)
    found = _by_name(results)
    assert found["cyproconazole"]["verdict"] == found["myclobutanil"]["verdict"] == "identified"
    for name in ("fenamiphos", "fluopicolide"):
        assert found[name]["rule"].startswith("isomer not excluded")
    azinphos = found["azinphos methyl"]
    assert azinphos["adduct"] == "[M+H]+"
    sodium = [ion for ion in azinphos["related_ions"] if ion["ion"] == "[M+Na]+"]
    assert sodium and sodium[0]["precursor_mz"] == pytest.approx(339.996, abs=0.01)
    assert not any(abs(f["precursor_mz"] - 339.996) < 0.01 for f in results["findings"])
    for finding in results["findings"]:  # every finding rests on an MS1 peak of its precursor
        assert finding["ms1"]["feature"] is not None
        if finding["match_mode"] == "identity" and finding["verdict"] == "identified":
            assert abs(finding["ms1"]["mass_error_ppm"]) <= 5
    assert results["unassigned_features"] and all("best_hits" in u for u in results["unassigned_features"])
    # issue 17: an analogue finding passes the close-analogue rule (similarity and confidence)
    t = VerdictThresholds()
    for finding in results["findings"]:
        if finding["match_mode"] == "analogue":
            assert finding["rule"].startswith("close analogue") and finding["analogue_confidence"] >= t.analogue_confidence
        else:
            assert finding["analogue_confidence"] is None

"""A GC injector relative (phenibut for its lactam, 4-phenyl-2-pyrrolidinone) in the reports: the
report must say what the verdict says -- it elutes as the hit, so neither a reference standard
run nor a retention index excludes it -- and must not call it an isomer (it is not one)."""
from __future__ import annotations

from nps_id.report import render
from nps_id.report.document import build_report
from nps_id.report.present import isomers_open
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO, make_results

RULE = ("isomer not excluded: the substance is the hit or a compound the spectrum cannot tell from it -- not in the "
        "library, a compound the GC injector turns into the hit (lactam closure, -H2O): NCC(CC(=O)O)c1ccccc1 (elutes "
        "as the same compound: derivatisation or LC-MS tells them apart); it may be a new substance; derivatisation "
        "or LC-MS -- not a standard run or a retention index -- excludes them")


def _lactam_doc(standard_at_same_rt: bool) -> dict:
    results = make_results()
    finding = next(f for f in results["findings"] if f["verdict"] == "tentative")
    finding.update(name="4-Phenyl-2-Pyrrolidinone", rule=RULE, rule_id="isomer_not_excluded",
                   criteria_failed=["isomers not excluded: 0 in the library within the margin, 1 not in the library"],
                   isomers_not_excluded=[{"name": None, "smiles": "NCC(CC(=O)O)c1ccccc1", "in_library": False,
                                          "move": "thermal_precursor:lactam", "inseparable_rate": 1.0}])
    if standard_at_same_rt:  # the verdict stays tentative: the precursor elutes as its lactam
        finding["reference_standard"] = {"run": "std.mzML", "name": finding["name"], "rt_min": finding["rt_min"],
                                         "delta_rt_min": 0.0, "ri": None, "delta_ri": None, "window_min": 0.1,
                                         "within": True}
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    return next(f for f in doc["findings"] if f["name"] == "4-Phenyl-2-Pyrrolidinone"), doc


def test_a_standard_at_the_same_rt_is_not_said_to_exclude_an_injector_relative():
    shown, doc = _lactam_doc(standard_at_same_rt=True)
    assert not any("excluded by the reference standard" in note for note in shown["limitations"])
    assert any("neither a retention index nor a reference standard" in note for note in shown["limitations"])
    assert isomers_open(shown) == ("4-Phenyl-2-Pyrrolidinone or a compound the GC injector turns into it "
                                   "(NCC(CC(=O)O)c1ccccc1, not in the library), possibly a new substance")
    assert isomers_open(shown) in render(doc, "html")[".html"].decode()


def test_an_injector_relative_is_not_called_an_isomer_nor_left_to_a_standard():
    shown, _ = _lactam_doc(standard_at_same_rt=False)
    assert "isomer" not in isomers_open(shown)
    notes = " ".join(shown["limitations"])
    assert "unless a retention index or a reference standard excludes" not in notes
    assert "derivatisation or LC-MS" in notes

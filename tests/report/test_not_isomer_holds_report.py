"""Stop 47's two holds that are no isomers in the reports (attack47): a heavier compound (EI, no ion at the hit's
mass) and a compound of another formula (MS/MS, a precursor written to fewer than 3 decimals). The verdicts come
from real MassBank records (triacetin left out, matched to 1,3-diacetin; mecamylamine left out, its precursor
"168", matched to 2-azaspiro[4.5]decane-1,3-dione); the report note, the EWA level and "what a standard would
settle" must say what held them -- until attack47 they read "1,3-DIACETIN or an isomer the evidence does not
exclude" and "one run at this RT would exclude the isomers", which neither is."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.report import render  # noqa: E402
from nps_id.report.document import build_report  # noqa: E402
from nps_id.report.present import isomers_open, reference_standard_field  # noqa: E402
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO, make_results  # noqa: E402


def _shown(name: str, verdict, isomers: list[dict]) -> tuple[dict, dict]:
    """The report finding (and document) of a tentative finding named ``name`` carrying the real ``verdict``."""
    results = make_results()
    finding = next(f for f in results["findings"] if f["verdict"] == "tentative")
    finding.update(name=name, verdict=verdict.verdict, rule=verdict.rule, rule_id=verdict.rule_id,
                   criteria_met=list(verdict.criteria_met), criteria_failed=list(verdict.criteria_failed),
                   held_by=list(verdict.held_by), isomers_not_excluded=isomers)
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    return next(f for f in doc["findings"] if f["name"] == name), doc


@pytest.fixture(scope="module")
def triacetin_as_diacetin():
    from tests.match.test_heavier_compound import _found

    _, hit, found = _found("TRIACETIN", {"1,3-DIACETIN", "MONOACETIN"})
    assert hit == "1,3-DIACETIN" and found.isomers.heavier == 176 and not found.isomers.not_excluded
    return _shown(hit, found.verdict, [])


def test_a_heavier_compound_hold_is_not_called_an_isomer_in_the_reports(triacetin_as_diacetin):
    shown, doc = triacetin_as_diacetin
    assert isomers_open(shown) == "1,3-DIACETIN or a heavier compound the evidence does not exclude"
    assert "isomer" not in reference_standard_field(shown, stated=True)
    assert reference_standard_field(shown, stated=True).endswith("one run at this RT would exclude a heavier compound")
    assert isomers_open(shown) in render(doc, "html")[".html"].decode()


def test_a_unit_precursor_hold_names_a_compound_of_another_formula(massbank_ms2_spectra):
    from tests.match.test_ms2_unit_precursor import _query, _searched

    found, hit = _searched(massbank_ms2_spectra, _query("Mecamylamine"), left_out=True)
    assert hit == "2-Azaspiro[4.5]decane-1,3-dione" and found.isomers.unit_precursor == 168.0
    # the rule text: the compounds it names are of another formula (C9H13NO2 against C11H21N), no isomers
    assert ("the substance is the hit or a compound of another formula within the precision of the precursor m/z the "
            "spectrum cannot tell") in (
        found.verdict.rule)
    isomers = [{"name": None, "smiles": n.smiles, "in_library": False, "move": n.move, "inseparable_rate": n.rate}
               for n in found.isomers.absent]
    shown, _ = _shown(hit, found.verdict, isomers)
    note = isomers_open(shown)
    assert "the evidence does not exclude" in note and (
        "or a compound of another formula within the precision of the precursor m/z") in note


def test_a_heavier_compound_is_named_beside_the_isomers_that_also_hold_a_finding(triacetin_as_diacetin):
    # gentisic acid's search: its isomers are not excluded and it shows no ion at its mass -- both are said
    shown, _ = triacetin_as_diacetin
    with_isomer = {**shown, "isomers_not_excluded": [{"name": None, "smiles": "CC(=O)OCC(O)COC(C)=O", "in_library": False,
                                                      "move": "methyl_shift", "inseparable_rate": 0.2}]}
    note = isomers_open(with_isomer)
    assert note.startswith("1,3-DIACETIN or an isomer the evidence does not exclude (1 isomer, 1 not in the library) "
                           "or a heavier compound")
    assert reference_standard_field(with_isomer, stated=True).endswith(
        "one run at this RT would exclude the 1 isomer and a heavier compound")

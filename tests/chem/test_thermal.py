"""Injector relatives of a hit (nps_id.chem.thermal): what a GC-EI spectrum matching it cannot exclude."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.chem.thermal import thermal_relatives  # noqa: E402


def _relatives(smiles, ion=None):
    return {(r.smiles, r.move) for r in thermal_relatives(smiles, ion)}


def test_an_amino_acid_whose_reference_shows_its_lactam_has_the_lactam_not_excluded():
    # SWGDRUG's gabapentin (M 171) shows M+ 153: the lactam the injector makes
    assert _relatives("NCC1(CC(O)=O)CCCCC1", 153) == {("O=C1CC2(CCCCC2)CN1", "thermal_product:lactam")}


def test_an_acid_that_reaches_the_source_intact_has_no_product():
    assert _relatives("NCC1(CC(O)=O)CCCCC1", 171) == set()
    assert _relatives("OC(=O)c1ccccc1", 122) == set()


def test_a_hydroxy_acid_shown_as_its_lactone():
    assert _relatives("OCCCC(=O)O", 86) == {("O=C1CCCO1", "thermal_product:lactone")}


def test_precursors_of_a_lactam_and_of_a_cannabinoid_type_phenol_but_not_of_any_phenol():
    assert _relatives("O=C1CC(c2ccccc2)CN1") == {("NCC(CC(=O)O)c1ccccc1", "thermal_precursor:lactam")}
    thc = _relatives("CCCCCc1cc(O)c2c(c1)OC(C)(C)C1CC=C(C)CC21")
    assert {move for _, move in thc} == {"thermal_precursor:decarboxylation"}
    assert _relatives("Oc1cc(O)cc(O)c1") == set()  # phloroglucinol: no n-alkyl chain beside the free C-H
    assert _relatives("CCC1(CC)C(=O)NC(=O)NC1=O") == set()  # barbital: an imide, no lactam of an amino acid


def test_a_beta_amino_ester_whose_reference_shows_its_retro_mannich_ester():
    # SWGDRUG's 3,4-CTMP record (M 301) shows methyl (3,4-dichlorophenyl)acetate's M+ 218
    ctmp = "COC(=O)C(c1ccc(Cl)c(Cl)c1)C1CCCCN1"
    assert _relatives(ctmp, 218) == {("COC(=O)Cc1ccc(Cl)c(Cl)c1", "thermal_product:retro_mannich")}
    assert _relatives(ctmp, 84) == set()  # methylphenidate-type records showing the iminium ion only

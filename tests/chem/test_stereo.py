"""Diastereomer classes of a structure (nps_id.chem.stereo): the stereoisomers that are other
compounds, enantiomers counted once, bridgeheads held by their bridge (structure-level unit tests)."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.chem.stereo import diastereomer_classes, stereo_layers  # noqa: E402


@pytest.mark.parametrize("smiles, classes", [
    ("CC(C)=CC1CC(C)CCO1", 2),             # rose oxide: cis / trans (each a pair of enantiomers)
    ("CCCC=CCCO", 2),                      # 3-heptenol: E / Z
    ("CCOC(=O)C1CCCCC1C(=O)OCC", 2),       # diethyl cyclohexane-1,2-dicarboxylate: cis (meso) / trans
    ("CN[C@@H](C)[C@H](O)c1ccccc1", 2),    # ephedrine / pseudoephedrine, whatever the record's own
    ("CCC(C)O", 0),                        # one stereocentre: enantiomers only, one compound
    ("CC(=O)OCC(COC(C)=O)OC(C)=O", 0),     # triacetin: no stereo element
    ("CC1(C)C2CCC(=C)C1C2", 0),            # beta-pinene: its two bridgeheads are set by the bridge
    ("CC1(C)C2CCC1(C)C(O)C2", 2),          # borneol / isoborneol (the bridgeheads held)
    ("COC(=O)C1C(OC(=O)c2ccccc2)CC2CCC1N2C", 4),  # cocaine, pseudo-, allo-, pseudoallococaine
])
def test_diastereomer_classes(smiles, classes):
    found = diastereomer_classes(smiles)
    assert len(found) == classes
    keys = [k for c in found for k in c.inchikeys]
    assert len(keys) == len(set(keys))  # a configuration is in one class only


def test_a_class_holds_a_configuration_and_its_mirror_image():
    # cis-rose oxide (2S,4R) and its enantiomer (2R,4S) are one class; trans another
    cis, trans = "CZCBTSFUTPZVKJ-NXEZZACHSA", "CZCBTSFUTPZVKJ-ZJUUUORDSA"
    found = diastereomer_classes("CC(C)=C[C@@H]1C[C@H](C)CCO1")
    assert sorted(len(c.inchikeys) for c in found) == [2, 2]
    assert sum(cis in c.inchikeys for c in found) == 1 and sum(trans in c.inchikeys for c in found) == 1
    assert not any(cis in c.inchikeys and trans in c.inchikeys for c in found)


def test_unreadable_structure_and_key_layers():
    assert diastereomer_classes("not a smiles") is None
    assert stereo_layers("czcbtsfutpzvkj-nxezzachsa-n") == "CZCBTSFUTPZVKJ-NXEZZACHSA"

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
    ("OCC1OC(O)(CO)C(O)C1O", 4),           # a ketofuranose (fructose): its C2 anomers one, the 4 ketohexoses
    ("OCC1OC(O)C(O)C1O", 4),               # an aldofuranose: the 4 aldopentoses (ribose, arabinose, ...)
    ("CC1OC(CO)C(O)C(O)C1O", 16),          # a C-glycoside's C1 is no hemiacetal: a stereocentre as any
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


@pytest.mark.parametrize("smiles, key", [
    # cocaine without its stereocentres written (SWGDRUG's InChIKey): until attack36 each bridgehead was
    # given one tag, making the four classes trans-bridged tropanes that no record's key names
    ("COC(=O)C1C(OC(=O)c2ccccc2)CC2CCC1N2C", "ZPUCINDJVBIVPJ-LJISPDSOSA"),
    ("CN1C2CCC1C(C(C2)OC(=O)c1ccccc1)C(=O)OC", "ZPUCINDJVBIVPJ-LJISPDSOSA"),
    ("OC1CC2CCC1C2", "ZQTYQMYDIHMKQB-DSYKOEDSSA"),  # exo-norborneol (and endo: the other class)
])
def test_a_structure_without_stereo_has_the_real_configurations_among_its_classes(smiles, key):
    found = diastereomer_classes(smiles)
    assert any(key in c.inchikeys for c in found)


def test_a_large_bridged_structure_is_not_embedded_and_stays_quick():
    import time

    # six adamantanes in a chain (60 heavy atoms): one embedding took 15 s; over EMBED_MAX_HEAVY_ATOMS
    # the bridgeheads keep one tag, as before (InChI is the rest of the time: 64 keys of a 60-atom cage)
    from nps_id.chem.stereo import EMBED_MAX_HEAVY_ATOMS, _embedded_tags
    from rdkit import Chem

    chain = Chem.MolFromSmiles("C1C2CC3CC1CC(C2)C3" * 6)
    assert chain.GetNumHeavyAtoms() > EMBED_MAX_HEAVY_ATOMS
    start = time.perf_counter()
    assert _embedded_tags(chain) == {}
    assert time.perf_counter() - start < 1


def _massbank_ei_records(*accessions: str) -> dict[str, dict]:
    """The metadata of MassBank EI library records by accession (real records, ../shared/data)."""
    from nps_id.io import read
    from tests.conftest import data_path

    wanted, found = set(accessions), {}
    for spectrum in read(data_path("massbank", "ei-library.msp.gz")):
        if spectrum.metadata.get("source_id") in wanted:
            found[spectrum.metadata["source_id"]] = spectrum.metadata
    assert set(found) == wanted
    return found


def test_a_free_sugars_anomers_are_one_compound_a_glycosides_two():
    # alpha and beta D-glucose interconvert in solution (mutarotation): the library's "D-(+)-Glucose"
    # (anomeric carbon open) and "beta-D-(+)-Glucose" records are one class of the 8 aldohexoses; a
    # glycoside's anomeric carbon is an acetal, fixed: salicin's configurations are 16 classes
    records = _massbank_ei_records("MSBNK-RIKEN-PR010031", "MSBNK-RIKEN-PR010079", "MSBNK-Osaka_Univ-OUF00451")
    glucose, beta, salicin = (records[a] for a in ("MSBNK-RIKEN-PR010031", "MSBNK-RIKEN-PR010079",
                                                   "MSBNK-Osaka_Univ-OUF00451"))
    found = diastereomer_classes(beta["smiles"])
    assert len(found) == 8  # D/L-glucose, mannose, galactose, allose, altrose, gulose, idose, talose
    assert diastereomer_classes(glucose["smiles"]) == found  # the structure's own stereo is ignored
    held = [c for c in found if stereo_layers(glucose["inchikey"]) in c.inchikeys]
    assert len(held) == 1 and stereo_layers(beta["inchikey"]) in held[0].inchikeys
    from rdkit import Chem

    named = Chem.FindMolChiralCenters(Chem.MolFromSmiles(held[0].smiles), includeUnassigned=True)
    assert sorted(tag for _, tag in named).count("?") == 1  # named with C1 open, C2-C5 set
    assert len(diastereomer_classes(salicin["smiles"])) == 16


def test_a_structure_of_many_free_anomeric_carbons_stays_quick():
    # each held anomeric carbon doubles the keys of every isomer (2**k + 1 forms): six lactols took 11 s
    from nps_id.chem.stereo import MAX_FREE_ANOMERIC, _free_anomeric_carbons
    from rdkit import Chem
    import time

    smiles = "OC1CC(C2CC(C3CCC(O)O3)C(O)O2)C(C2CC(C3CCC(O)O3)C(O)O2)C(C2CCC(O)O2)O1"
    assert len(_free_anomeric_carbons(Chem.MolFromSmiles(smiles))) == 6 > MAX_FREE_ANOMERIC
    start = time.perf_counter()
    found = diastereomer_classes(smiles)
    assert time.perf_counter() - start < 3
    assert len(found) == 64 and all(len(c.inchikeys) <= 2 for c in found)  # enumerated as stereocentres

"""``structure_shape``: what the isomer rule reads of a hit's structure besides its isomers (heavy
atoms, C/N/O/S/P skeleton, fused PAH rings, hydrocarbon carbons), from one parse of the SMILES
(stop 47: a cold library-facts fill parsed every library structure three times)."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.match.isomer_rule import structure_shape  # noqa: E402


@pytest.mark.parametrize(("smiles", "shape"), [
    # anthracene: 14 carbons in three fused aromatic rings
    ("c1ccc2cc3ccccc3cc2c1", (14, 14, 3, 14)),
    # fluoranthene: its five-membered ring is sp2 but not aromatic to RDKit, still one system of four
    ("c1ccc2c(c1)-c1cccc3cccc-2c13", (16, 16, 4, 16)),
    # butane has a skeletal isomer (isobutane); propane (3 C, 8 H) has none, cyclopropane (6 H) has propene
    ("CCCC", (4, 4, 0, 4)),
    ("CCC", (3, 3, 0, 0)),
    ("C1CC1", (3, 3, 0, 3)),
    # butane-d10: explicit deuterium atoms are its hydrogens, still a hydrocarbon of 4 carbons
    ("[2H]C([2H])([2H])C([2H])([2H])C([2H])([2H])C([2H])([2H])[2H]", (4, 4, 0, 4)),
    # cocaine: N and O in the skeleton, not a hydrocarbon -> no PAH rings, no hydrocarbon size
    ("COC(=O)C1C(OC(=O)c2ccccc2)CC2CCC1N2C", (22, 22, 0, 0)),
    # dichloromethane: two chlorines are heavy atoms, not skeleton
    ("ClCCl", (3, 1, 0, 0)),
    ("C1CC(not smiles", (0, 0, 0, 0)),
])
def test_the_shape_of_a_structure(smiles: str, shape: tuple[int, int, int, int]) -> None:
    assert structure_shape(smiles) == shape


def test_without_pah_the_rings_are_not_counted_and_the_rest_is_the_same() -> None:
    assert structure_shape("c1ccc2cc3ccccc3cc2c1", pah=False) == (14, 14, 0, 14)


def test_each_structure_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from rdkit import Chem

    parsed: list[str] = []
    real = Chem.MolFromSmiles

    def counting(smiles: str, *args, **kwargs):
        parsed.append(smiles)
        return real(smiles, *args, **kwargs)

    monkeypatch.setattr(Chem, "MolFromSmiles", counting)
    structure_shape.__wrapped__("c1ccc2cc3ccccc3cc2c1")  # past the cache: a cold fill's first look
    assert parsed == ["c1ccc2cc3ccccc3cc2c1"]

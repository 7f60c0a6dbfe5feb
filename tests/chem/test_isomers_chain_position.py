"""A substituent moved along its open chain (``chain_position``, stop 49; stop 36's move, measured for EI
and not kept there): an acyclic hit had no isomer at all, so nothing about it was checked -- the left-out
4-methylmorpholine N-oxide was `identified` as 5-aminopentanoic acid, 2-hydroxyoctanoate as
8-hydroxyoctanoate (benchmarks/README.md "Stop 47 (branch cov47)")."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from rdkit import Chem  # noqa: E402

from nps_id.chem.isomers import enumerate_isomers  # noqa: E402


def _key(smiles: str) -> str:
    return Chem.MolToInchiKey(Chem.MolFromSmiles(smiles))[:14]


def _moves(smiles: str) -> dict[str, str]:
    return {i.inchikey[:14]: i.move for i in enumerate_isomers(smiles)}


def test_an_acyclic_amino_acid_and_hydroxy_acid_have_their_chain_isomers():
    found = _moves("NCCCCC(=O)O")  # 5-aminopentanoic acid
    for isomer in ("CCCC(N)C(=O)O", "CCC(N)CC(=O)O", "CC(N)CCC(=O)O"):  # norvaline, 3- and 4-aminopentanoic acid
        assert found[_key(isomer)] == "chain_position:N"
    assert found[_key("CC(CCN)C(=O)O")] == "chain_position:C"  # the carboxyl moved: 4-amino-2-methylbutanoic acid
    assert _moves("OCCCCCCCC(=O)O")[_key("CCCCCCC(O)C(=O)O")] == "chain_position:O"  # 8- / 2-hydroxyoctanoic acid


def test_a_chain_substituent_stays_off_heteroatom_carbons_and_rings():
    # 2-methoxyethanol: the hydroxyl would make a hemiacetal on the ether's carbon; the methyl is across the O
    assert not any(m.startswith("chain_position") for m in _moves("COCCO").values())
    # a ring's chlorine or an aromatic carbon's hydroxyl is the ring moves' (ring_position), not a chain's
    assert not any(m.startswith("chain_position") for m in _moves("Clc1ccc(CC)cc1").values())
    assert not any(m.startswith("chain_position") for m in _moves("Oc1ccccc1").values())

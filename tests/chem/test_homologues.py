"""Chain homologues (stop 51, :mod:`nps_id.chem.homologues`): the same molecule with an unbranched chain one or two
CH2 longer or shorter, what the EI homologue rule (docs/match.md "A homologue, EI") holds a hit back for."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from rdkit import Chem  # noqa: E402

from nps_id.chem.homologues import chains, homologues  # noqa: E402


def _key(smiles: str) -> str:
    return Chem.MolToInchiKey(Chem.MolFromSmiles(smiles))


def test_an_alkyl_bromide_has_its_chain_one_and_two_ch2_longer_and_shorter():
    found = {h.inchikey: h.ch2 for h in homologues("CCCCCCCCCCCCCCBr", 2, 8)}  # tetradecyl bromide
    assert found == {_key("C" * 15 + "Br"): 1, _key("C" * 13 + "Br"): -1, _key("C" * 16 + "Br"): 2, _key("C" * 12 + "Br"): -2}


def test_an_alkylene_between_two_groups_is_a_chain():
    # 10-undecenyl acetate: the nine CH2 between its C=C and the ester oxygen (the acetyl's CH3 is a chain of one)
    assert sorted(len(c) for c in chains(Chem.MolFromSmiles("C=CCCCCCCCCCOC(C)=O"))) == [1, 9]
    longer = {h.inchikey for h in homologues("C=CCCCCCCCCCOC(C)=O", 1, 8) if h.ch2 == 1}
    assert longer == {_key("C=CCCCCCCCCCCOC(C)=O")}  # 11-dodecenyl acetate


def test_a_chain_shorter_than_the_minimum_has_none_and_a_shorter_homologue_keeps_the_minimum():
    assert homologues("CCCCCn1cc(C(=O)c2cccc3ccccc23)c2ccccc21", 2, 8) == ()  # JWH-018's pentyl
    jwh = {h.inchikey: h.ch2 for h in homologues("CCCCCn1cc(C(=O)c2cccc3ccccc23)c2ccccc21", 2, 5)}
    assert jwh == {_key("CCCCCCn1cc(C(=O)c2cccc3ccccc23)c2ccccc21"): 1,  # JWH-019, hexyl
                   _key("CCCCCCCn1cc(C(=O)c2cccc3ccccc23)c2ccccc21"): 2}  # no butyl: 4 carbons < 5
    assert homologues("CC(N)Cc1ccccc1", 2, 2) == ()  # amphetamine: no chain of two


def test_branches_rings_and_unreadable_structures_are_no_chain():
    assert sorted(len(c) for c in chains(Chem.MolFromSmiles("CCCCC(C)CCCC"))) == [1, 4, 4]  # the branch point is no CH2
    assert chains(Chem.MolFromSmiles("C1CCCCCCCCC1")) == []  # ring CH2
    assert homologues("not a smiles") == () and homologues("") == ()

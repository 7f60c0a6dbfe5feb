"""The kind of an enumerated isomer depends on the structure, not on how its SMILES is written
(issue 18, stops 43-44): the isomer rule reads a rate per kind, so a library rebuilt with other SMILES
must not move a verdict."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from rdkit import Chem  # noqa: E402

from nps_id.chem.isomers import enumerate_isomers  # noqa: E402
from nps_id.library import Library  # noqa: E402

#: Every this-many-th verified SWGDRUG structure is spelled three ways (the whole library: ~2 min).
STRIDE = 6


def _spellings(smiles: str) -> list[str]:
    """The library's spelling, RDKit's canonical one and a randomised one (fixed seed)."""
    mol = Chem.MolFromSmiles(smiles)
    return [smiles, Chem.MolToSmiles(mol), Chem.MolToRandomSmilesVect(mol, 1, randomSeed=43)[0]]


def _named(smiles: str) -> set[tuple[str, str]] | None:
    isomers = enumerate_isomers(smiles)
    return None if isomers is None else {(i.inchikey[:14], i.move) for i in isomers}


def _verified(library: Library) -> list[tuple[str, str]]:
    names, smiles = library.column("name"), library.column("smiles")
    status = library.column("structure_status")
    return [(str(n), str(s)) for n, s, v in zip(names, smiles, status) if s and v == "verified"]


def test_an_isomer_two_moves_reach_is_named_alike_however_the_library_writes_the_hit(swgdrug_library) -> None:
    # 4'-F-alpha-PPP is 3'-F-alpha-PPP with its F moved or with its acyl branch moved: as SWGDRUG
    # writes 3'-F-alpha-PPP (FC=1C=C(...)...) the F was moved first, written from the carbonyl O the
    # branch -- ring_position:F or :branch, rates 0.087 / 0.039 at 970, identified or not
    with Library.open(swgdrug_library) as lib:
        stored = dict(_verified(lib))["3'-Fluoro-.alpha.-Pyrrolidinopropiophenone"]
    para = Chem.MolToInchiKey(Chem.MolFromSmiles("CC(N1CCCC1)C(=O)c1ccc(F)cc1"))[:14]
    kinds = {spelling: {i.inchikey[:14]: i.move for i in enumerate_isomers(spelling)}[para]
             for spelling in [*_spellings(stored), "O=C(c1cccc(F)c1)C(C)N1CCCC1"]}
    assert len(set(kinds.values())) == 1, kinds


def test_library_structures_give_one_isomer_set_in_three_spellings(swgdrug_library) -> None:
    with Library.open(swgdrug_library) as lib:
        sample = _verified(lib)[::STRIDE]
    assert len(sample) > 300
    differ = [name for name, smiles in sample
              if len({frozenset(found) if (found := _named(s)) is not None else None
                      for s in _spellings(smiles)}) > 1]
    assert differ == []

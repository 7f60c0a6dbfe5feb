"""Analytical derivatives: the reagent groups a laboratory puts on a drug before GC-MS.

Amines and hydroxyls are derivatized for gas chromatography: silylated (TMS from BSTFA, MSTFA or
BSA; TBDMS) or perfluoroacylated (TFA, PFPA, HFBA; TPC, the chiral N-trifluoroacetyl-prolyl
amide). The derivative is its drug, analysed so; its EI spectrum carries the reagent's own ion --
Si(CH3)3+ m/z 73 of a silyl group, CF3+ m/z 69 of a perfluoroacyl one -- in every derivative the
reagent makes, whatever the drug.

Entry points: :data:`DERIVATIZING_GROUPS`, :data:`SIGNATURE_IONS`, :func:`reagent_of`,
:func:`underivatized` (RDKit molecules; RDKit is imported when first needed).
"""
from __future__ import annotations

import functools
from typing import Any

#: (kind, SMARTS) of the groups a derivatization puts on a drug's N-H, O-H or S-H (the atom it is
#: bonded to is not matched: it stays), larger first. No drug, medicine or natural product of the
#: libraries carries them; acetyl and formyl are not here (melatonin, heroin and N-acetyl
#: precursors are compounds of their own).
DERIVATIZING_GROUPS = (
    ("silyl", "[Si;$([Si][#7,#8,#16])](C)(C)C(C)(C)C"),  # TBDMS
    ("silyl", "[Si;$([Si][#7,#8,#16])](C)(C)C"),  # TMS
    ("perfluoroacyl", "[CX3;$(C[#7])](=O)[CH1]1CCCN1C(=O)C(F)(F)F"),  # TPC
    ("perfluoroacyl", "[CX3;$(C[#7,#8])](=O)C(F)(F)C(F)(F)C(F)(F)F"),  # HFBA
    ("perfluoroacyl", "[CX3;$(C[#7,#8])](=O)C(F)(F)C(F)(F)F"),  # PFPA
    ("perfluoroacyl", "[CX3;$(C[#7,#8])](=O)C(F)(F)F"),  # TFA
)
#: Larger structures are no drug's derivative (the largest verified structures of SWGDRUG 3.4 and
#: MassBank EI have 96 heavy atoms; nps_id.chem.isomers enumerates up to the same bound): not
#: searched for groups, whose removal grows with the square of the size (a hand-edited SMILES of
#: 2,000 N-TMS units took 19 s of a report, 5,000 nearly 3 minutes).
MAX_HEAVY_ATOMS = 150
#: The EI ion every derivative of a kind shows (nominal m/z): Si(CH3)3+, CF3+.
SIGNATURE_IONS = {"silyl": 73, "perfluoroacyl": 69}


@functools.lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, Any]]:
    from rdkit import Chem

    return [(kind, Chem.MolFromSmarts(smarts)) for kind, smarts in DERIVATIZING_GROUPS]


def reagent_of(mol: Any) -> str | None:
    """The kind of derivatizing group (``"silyl"``, ``"perfluoroacyl"``) an RDKit molecule
    carries -- the first of :data:`DERIVATIZING_GROUPS` it matches --, None when none."""
    return next((kind for kind, pattern in _patterns() if mol.HasSubstructMatch(pattern)), None)


def underivatized(mol: Any) -> Any | None:
    """The drug a derivative was made of -- ``mol`` without its silyl and perfluoroacyl groups,
    each replaced by the hydrogen it took --, or None when ``mol`` carries none or has more than
    :data:`MAX_HEAVY_ATOMS` heavy atoms."""
    from rdkit import Chem

    if mol.GetNumHeavyAtoms() > MAX_HEAVY_ATOMS:
        return None

    doomed: set[int] = set()
    for _, pattern in _patterns():  # larger first: a TBDMS group is not also read as a TMS one
        for match in mol.GetSubstructMatches(pattern):
            if doomed.isdisjoint(match):
                doomed.update(match)
    if not doomed:
        return None
    parent = Chem.RWMol(mol)
    for index in doomed:
        for neighbour in mol.GetAtomWithIdx(index).GetNeighbors():
            if neighbour.GetIdx() not in doomed:
                # the hydrogen back, explicitly: an aromatic N (an indole's N-TMS) gets no implicit
                # one, and without it the ring cannot be kekulized (SWGDRUG's psilocin di-TMS)
                atom = parent.GetAtomWithIdx(neighbour.GetIdx())
                atom.SetNumExplicitHs(atom.GetNumExplicitHs() + 1)
    for index in sorted(doomed, reverse=True):
        parent.RemoveAtom(index)
    try:
        Chem.SanitizeMol(parent)
    except ValueError:  # RDKit's sanitize errors derive from ValueError
        return None
    return parent.GetMol()

"""Compounds a hot GC injector turns into one another: what an EI spectrum cannot tell apart.

Some compounds never reach the EI source intact: a carboxylic acid loses CO2 (the cannabinoid
acids: THCA -> THC, cannabigerorcinic acid -> cannabigerorcin), a gamma- or delta-amino acid closes
to its lactam and a hydroxy acid to its lactone, losing H2O (phenibut -> 4-phenyl-2-pyrrolidinone,
gabapentin -> its lactam, GHB -> GBL). The spectrum is then the product's, and nothing in it tells
the precursor from the product. This module names, for a hit's structure, the relatives a GC-EI
spectrum cannot exclude for that reason:

- ``thermal_product:<reaction>``: the hit's own reference spectrum is its product's (the reference's
  molecular ion is the product's nominal mass, not the hit's), so an unknown matching it may be the
  product -- besides the reactions above, a beta-amino ester or ketone's retro-Mannich cleavage
  into the carbonyl compound and an imine (SWGDRUG's 3,4-CTMP record shows methyl
  (3,4-dichlorophenyl)acetate, M 218, not 3,4-CTMP, M 301);
- ``thermal_precursor:<reaction>``: the hit is such a product, so an unknown matching it may be the
  precursor -- a lactam with N-H in a saturated 5- or 6-ring (its amino acid), or a phenol with a
  free position between its OH and an n-alkyl chain, para to a second oxygen (where the
  cannabinoid acids, which decarboxylate in the injector, carry their carboxyl: THCA, CBDA, CBGA).

Reactions: ``decarboxylation`` (-CO2), ``lactam`` and ``lactone`` (-H2O), ``retro_mannich``.

Entry point: :func:`thermal_relatives` -> tuple of :class:`~nps_id.chem.isomers.Isomer` (the move
names the direction and reaction).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterator

from rdkit import Chem, rdBase
from rdkit.Chem import rdMolDescriptors

from nps_id.chem.formula import nominal_mass
from nps_id.chem.isomer_type import Isomer

#: A carboxylic acid on carbon: (carbonyl C, its =O, its OH).
_ACID = Chem.MolFromSmarts("[CX3;$(C-[#6])](=[OX1])[OX2H1]")
#: An amine (not an amide) or an alcohol 3 or 4 sp3 carbons from an acid's carbonyl carbon: it
#: closes a 5- or 6-ring (gamma / delta lactam or lactone). Atom 0: N or O, last two: C and OH.
_CYCLISING = {
    reaction: [Chem.MolFromSmarts(f"{head}{'-[CX4]' * n}-[CX3](=O)[OX2H1]") for n in (3, 4)]
    for reaction, head in (("lactam", "[NX3;H1,H2;!$(N-C=O);!$(N-a)]"), ("lactone", "[OX2H1]"))
}
#: A beta-amino carbonyl (ester or ketone; the amine N-H): the alpha-C to amine-C bond, outside a
#: ring, breaks in the injector (retro-Mannich). Atoms: carbonyl C, its =O, alpha C, the C-N carbon.
_MANNICH = Chem.MolFromSmarts("[CX3](=[OX1])-[CX4;!H0]-!@[CX4]-[NX3;H1,H2;!$(N-C=O)]")
#: A free aromatic C-H between a phenolic OH and an n-alkyl chain, para to a second oxygen (OH or
#: ether): where the cannabinoid acids (olivetolic, divarinic, orsellinic acid type) carry the
#: carboxyl they lose. Wider (any resorcinol-type C-H) took phloroglucinol, fluorescein, HU-211 and
#: JWH-053 for decarboxylation products (development data, docs/match.md).
_RESORCYLIC = Chem.MolFromSmarts("[cH]1:c(-[OX2H1]):c:c(-[OX2]):c:c:1-[CX4;H2,H3]")
#: A lactam N-H in a 5- or 6-ring of sp3 carbons: (N, carbonyl C, =O, the ring's carbons).
_LACTAM = [Chem.MolFromSmarts("[NX3;H1;R]1-[CX3;R](=[OX1])" + "-[CX4;R]" * n + "-1") for n in (3, 4)]


def _fresh(rw: Chem.RWMol, *atoms: int) -> None:
    """Let RDKit recount the hydrogens of ``atoms`` after an edit."""
    for idx in atoms:
        rw.GetAtomWithIdx(idx).SetNoImplicit(False)
        rw.GetAtomWithIdx(idx).SetNumExplicitHs(0)


def _products(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """What the injector makes of ``mol`` (an acid's decarboxylation, a lactam's or lactone's ring closure)."""
    for carbon, _, _ in mol.GetSubstructMatches(_ACID):
        rw = Chem.RWMol(mol)
        anchor = next(n.GetIdx() for n in mol.GetAtomWithIdx(carbon).GetNeighbors() if n.GetSymbol() == "C")
        group = sorted([carbon] + [n.GetIdx() for n in mol.GetAtomWithIdx(carbon).GetNeighbors() if n.GetSymbol() == "O"],
                       reverse=True)
        rw.RemoveBond(anchor, carbon)
        for idx in group:
            rw.RemoveAtom(idx)
        new_anchor = anchor - sum(idx < anchor for idx in group)
        _fresh(rw, new_anchor)
        yield rw.GetMol(), "decarboxylation"
    for reaction, patterns in _CYCLISING.items():
        for pattern in patterns:
            for match in mol.GetSubstructMatches(pattern):
                head, carbonyl, hydroxyl = match[0], match[-3], match[-1]
                rw = Chem.RWMol(mol)
                rw.AddBond(head, carbonyl, Chem.BondType.SINGLE)
                rw.RemoveAtom(hydroxyl)
                _fresh(rw, head if head < hydroxyl else head - 1)
                yield rw.GetMol(), reaction
    for _, _, alpha, beta, _ in mol.GetSubstructMatches(_MANNICH):
        rw = Chem.RWMol(mol)
        rw.RemoveBond(alpha, beta)
        _fresh(rw, alpha)
        pieces = Chem.GetMolFrags(rw.GetMol(), asMols=True, frags=(frags := []))
        yield pieces[frags[alpha]], "retro_mannich"  # the carbonyl compound; the imine leaves


def _precursors(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """What the injector makes ``mol`` from (a lactam's amino acid, a resorcinol's beta-resorcylic acid)."""
    for pattern in _LACTAM:
        for nitrogen, carbonyl, *_ in mol.GetSubstructMatches(pattern):
            rw = Chem.RWMol(mol)
            rw.RemoveBond(nitrogen, carbonyl)
            oxygen = rw.AddAtom(Chem.Atom(8))
            rw.AddBond(carbonyl, oxygen, Chem.BondType.SINGLE)
            _fresh(rw, nitrogen, carbonyl)
            yield rw.GetMol(), "lactam"
    # an acid of the pattern is the precursor already, not a product of a diacid
    for match in () if mol.HasSubstructMatch(_ACID) else mol.GetSubstructMatches(_RESORCYLIC):
        rw = Chem.RWMol(mol)
        carbon = rw.AddAtom(Chem.Atom(6))
        rw.AddBond(match[0], carbon, Chem.BondType.SINGLE)
        for order in (Chem.BondType.DOUBLE, Chem.BondType.SINGLE):
            rw.AddBond(carbon, rw.AddAtom(Chem.Atom(8)), order)
        _fresh(rw, match[0])
        yield rw.GetMol(), "decarboxylation"


@lru_cache(maxsize=4096)
def thermal_relatives(smiles: str, reference_ion: int | None) -> tuple[Isomer, ...]:
    """The hit's (``smiles``) injector relatives an EI spectrum matching its reference cannot exclude.

    A product counts only when the hit's reference spectrum shows it: the reference's molecular
    ion ``reference_ion`` is the product's nominal mass (an acid that reaches the source intact,
    benzoic acid, has no product here). A precursor counts whenever the hit has its pattern.
    Stereo is ignored; the hit itself is never returned.
    """
    # an unreadable hit structure or an impossible product is expected: RDKit's log is blocked for
    # this call only, not disabled for a library user's whole process (stop 45)
    with rdBase.BlockLogs():
        return _relatives(smiles, reference_ion)


def _relatives(smiles: str, reference_ion: int | None) -> tuple[Isomer, ...]:
    """:func:`thermal_relatives`, RDKit's log blocked."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return ()
    Chem.RemoveStereochemistry(mol)
    own = Chem.MolToInchiKey(mol)[:14]
    found: dict[str, Isomer] = {}
    candidates = [(m, f"thermal_precursor:{r}") for m, r in _precursors(mol)]
    if reference_ion is not None:
        candidates += [(m, f"thermal_product:{r}") for m, r in _products(mol)]
    for candidate, move in candidates:
        try:
            Chem.SanitizeMol(candidate)
        except Exception:  # an impossible valence: no such compound
            continue
        if move.startswith("thermal_product") and nominal_mass(rdMolDescriptors.CalcMolFormula(candidate)) != reference_ion:
            continue  # the reference is the hit's own spectrum, not this product's
        key = Chem.MolToInchiKey(candidate)
        if key and key[:14] != own and key[:14] not in found:
            found[key[:14]] = Isomer(Chem.MolToSmiles(candidate), key, move)
    return tuple(found.values())

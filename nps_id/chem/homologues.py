"""A compound's chain homologues: the same molecule with an unbranched alkyl chain one or more CH2 longer or shorter.

EI spectra of long-chain homologues are near-identical: the chain fragments into the same CnH2n+1 / CnH2n-1 series
whatever its length, and without a molecular ion nothing in the spectrum tells tetradecyl from pentadecyl bromide
(stop 51, issue 18). :func:`homologues` is the entry point: the homologues of a structure one to ``max_ch2`` CH2
away, along every unbranched chain of at least ``min_chain`` carbons (:func:`chains`).

A chain is a connected run of open-chain (not ring, not aromatic) sp3 carbons that are each a CH2 bound to two heavy
atoms or a CH3 bound to one, joined by single bonds: a terminal n-alkyl (hexyl of JWH-019: CH3 and its five CH2) or an
alkylene between two groups (the nine CH2 of 10-undecenyl acetate between its C=C and its ester oxygen). Its length
counts its carbons; a shorter homologue keeps at least ``min_chain`` of them (a chain is made no shorter than the rule
reads chains at all).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # RDKit loads only when a structure is read (the library facts import this module's type)
    from rdkit import Chem


#: How many CH2 a homologue differs by at most: two -- the library's chains of 12 or more carbons match their homologue
#: two CH2 away (MF 900: 0.117 of pairs) about as often as one CH2 away (0.124; benchmarks/train_isomer_rates.py
#: --homologue prints the table).
MAX_CH2 = 2


@dataclass(frozen=True)
class Homologue:
    """One homologue: its structure, InChIKey, and ``ch2`` -- how many CH2 it has more (positive) or fewer (negative)
    than the compound; ``chain``: the carbons of the compound's chain it was made along."""
    smiles: str
    inchikey: str
    ch2: int
    chain: int


def chains(mol: Chem.Mol) -> list[list[int]]:
    """The unbranched chains of ``mol`` (atom indices, each chain's atoms in no particular order): connected runs of
    open-chain sp3 CH2 (two heavy neighbours) and CH3 (one) carbons joined by single bonds."""
    from rdkit import Chem

    member = {a.GetIdx() for a in mol.GetAtoms() if _chain_carbon(a)}
    out: list[list[int]] = []
    seen: set[int] = set()
    for start in sorted(member):
        if start in seen:
            continue
        run, todo = [], [start]
        seen.add(start)
        while todo:
            atom = todo.pop()
            run.append(atom)
            for bond in mol.GetAtomWithIdx(atom).GetBonds():
                other = bond.GetOtherAtomIdx(atom)
                if other in member and other not in seen and bond.GetBondType() == Chem.BondType.SINGLE:
                    seen.add(other)
                    todo.append(other)
        out.append(run)
    return out


def _chain_carbon(atom: Chem.Atom) -> bool:
    """A CH2 between two heavy atoms or a CH3 on one, sp3, in no ring, uncharged, not an isotope label."""
    from rdkit import Chem

    if atom.GetAtomicNum() != 6 or atom.IsInRing() or atom.GetIsAromatic() or atom.GetFormalCharge() or atom.GetIsotope():
        return False
    if atom.GetHybridization() != Chem.HybridizationType.SP3:
        return False
    degree, hydrogens = atom.GetDegree(), atom.GetTotalNumHs()
    return (degree, hydrogens) in ((2, 2), (1, 3))


@lru_cache(maxsize=4096)
def homologues(smiles: str, max_ch2: int = MAX_CH2, min_chain: int = 8) -> tuple[Homologue, ...]:
    """The homologues of ``smiles`` 1 to ``max_ch2`` CH2 longer or shorter along each chain of at least
    ``min_chain`` carbons (:func:`chains`), each compound once (by InChIKey first block; the nearest change first);
    () for an unreadable structure or one without such a chain. Stereo is ignored; the compound itself is never
    returned."""
    from rdkit import rdBase

    with rdBase.BlockLogs():  # an unreadable structure is expected: this call's log only
        return _homologues(smiles, max_ch2, min_chain)


def _homologues(smiles: str, max_ch2: int, min_chain: int) -> tuple[Homologue, ...]:
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        return ()
    Chem.RemoveStereochemistry(mol)
    own = Chem.MolToInchiKey(mol)[:14]
    found: dict[str, Homologue] = {}
    for chain in chains(mol):
        if len(chain) < min_chain:
            continue
        for steps in range(1, max_ch2 + 1):
            for ch2, made in ((steps, _longer(mol, chain, steps)),
                              (-steps, _shorter(mol, chain, steps) if len(chain) - steps >= min_chain else None)):
                if made is None:
                    continue
                key = Chem.MolToInchiKey(made)
                if key and key[:14] != own and key[:14] not in found:
                    found[key[:14]] = Homologue(Chem.MolToSmiles(made), key, ch2, len(chain))
    return tuple(sorted(found.values(), key=lambda h: (abs(h.ch2), h.ch2, h.inchikey)))


def _inner_bond(mol: Chem.Mol, chain: list[int]) -> tuple[int, int] | None:
    """A single bond from a chain CH2 to a chain neighbour or to what the chain is bound to (inserting a CH2 into
    any bond of an unbranched chain gives the same molecule)."""
    for atom in chain:
        carbon = mol.GetAtomWithIdx(atom)
        if carbon.GetDegree() == 2:
            bond = carbon.GetBonds()[0]
            return atom, bond.GetOtherAtomIdx(atom)
    # a chain of a CH3 alone (or ethane's two CH3s): the bond from the CH3
    carbon = mol.GetAtomWithIdx(chain[0])
    bonds = carbon.GetBonds()
    return (chain[0], bonds[0].GetOtherAtomIdx(chain[0])) if bonds else None


def _longer(mol: Chem.Mol, chain: list[int], steps: int) -> Chem.Mol | None:
    """``mol`` with ``steps`` CH2 inserted into ``chain``."""
    from rdkit import Chem

    bond = _inner_bond(mol, chain)
    if bond is None:
        return None
    rw = Chem.RWMol(mol)
    left, right = bond
    rw.RemoveBond(left, right)
    for _ in range(steps):
        carbon = rw.AddAtom(Chem.Atom(6))
        rw.AddBond(left, carbon, Chem.BondType.SINGLE)
        left = carbon
    rw.AddBond(left, right, Chem.BondType.SINGLE)
    return _sanitized(rw)


def _shorter(mol: Chem.Mol, chain: list[int], steps: int) -> Chem.Mol | None:
    """``mol`` with ``steps`` of ``chain``'s CH2 (bound to two heavy atoms) cut out, their neighbours joined."""
    from rdkit import Chem

    rw = Chem.RWMol(mol)
    removed: list[int] = []
    for _ in range(steps):
        ch2 = next((a for a in chain if a not in removed and rw.GetAtomWithIdx(a).GetDegree() == 2), None)
        if ch2 is None:
            return None
        left, right = (n.GetIdx() for n in rw.GetAtomWithIdx(ch2).GetNeighbors())
        rw.RemoveBond(ch2, left)
        rw.RemoveBond(ch2, right)
        rw.AddBond(left, right, Chem.BondType.SINGLE)
        removed.append(ch2)
    for atom in sorted(removed, reverse=True):
        rw.RemoveAtom(atom)
    return _sanitized(rw)


def _sanitized(rw: Chem.RWMol) -> Chem.Mol | None:
    """The edited molecule, sanitized (its hydrogens recounted), or None when RDKit refuses it."""
    from rdkit import Chem

    mol = rw.GetMol()
    try:
        Chem.SanitizeMol(mol)
    except Exception:  # an impossible valence: no such compound
        return None
    return mol

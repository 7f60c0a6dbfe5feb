"""Candidate structures for derivatives and labelled standards, built from a parent structure.

Forensic libraries hold many records that are a known compound plus a derivatisation
(``Methylone HFBA Derivative``, ``Ephedrine bis-TBDMS Derivative``, ``N-acetyl-MDEA``,
``Testosterone Acetate``) or a deuterated internal standard (``Diazepam-d5``). No name parser
builds those, but the parent's structure and the record's formula pin them down to a handful
of candidates; :mod:`nps_id.library.structures` keeps the one whose InChIKey is the record's.

Entry points
------------
- :func:`parse_derivative` -- ``(parent name, reagent)`` from a derivative's name, or None.
- :func:`parse_labelled` -- ``(parent name, number of deuterium atoms)``, or None.
- :func:`derivative_candidates` -- the parent with 1..3 of its N-H/O-H/S-H hydrogens replaced by
  the reagent's group, limited to the products whose formula is the record's.
- :func:`labelled_candidates` -- the parent with ``n`` hydrogens replaced by deuterium, placed
  on whole groups (a methyl, an aromatic ring's CH atoms, single carbons; up to three groups).
- :func:`mol_formula` -- element counts and charge of an RDKit molecule.
- :func:`keyable_mol` -- a SMILES's molecule, None beyond what an InChI describes
  (:data:`INCHI_MAX_ATOMS`).
- :func:`stereo_candidate` -- the stereoisomer of a structure that a check accepts (a structure
  without stereo, or the wrong stereo, made the record's exact stereoisomer).
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import combinations
from typing import Any, Callable

#: Group each reagent attaches to a heteroatom, as SMILES whose first atom bonds to it.
REAGENTS = {
    "tfa": "C(=O)C(F)(F)F", "trifluoroacetyl": "C(=O)C(F)(F)F", "trifluoracetyl": "C(=O)C(F)(F)F",
    "hfba": "C(=O)C(F)(F)C(F)(F)C(F)(F)F", "hfb": "C(=O)C(F)(F)C(F)(F)C(F)(F)F",
    "heptafluorobutyryl": "C(=O)C(F)(F)C(F)(F)C(F)(F)F",
    "pfpa": "C(=O)C(F)(F)C(F)(F)F", "pfp": "C(=O)C(F)(F)C(F)(F)F",
    "pentafluoropropionyl": "C(=O)C(F)(F)C(F)(F)F",
    "trichloroacetyl": "C(=O)C(Cl)(Cl)Cl",
    "ac": "C(=O)C", "acetyl": "C(=O)C", "acetylated": "C(=O)C", "acetate": "C(=O)C",
    "formyl": "C=O", "propionyl": "C(=O)CC", "propionate": "C(=O)CC",
    "butyrate": "C(=O)CCC", "isobutyrate": "C(=O)C(C)C", "valerate": "C(=O)CCCC",
    "caproate": "C(=O)CCCCC", "hexanoate": "C(=O)CCCCC", "isocaproate": "C(=O)CCC(C)C",
    "enanthate": "C(=O)CCCCCC", "heptanoate": "C(=O)CCCCCC", "cypionate": "C(=O)CCC1CCCC1",
    "decanoate": "C(=O)CCCCCCCCC", "undecanoate": "C(=O)CCCCCCCCCC",
    "undecylenate": "C(=O)CCCCCCCCC=C", "laurate": "C(=O)CCCCCCCCCCC",
    "dodecanoate": "C(=O)CCCCCCCCCCC", "phenylpropionate": "C(=O)CCc1ccccc1",
    "benzoate": "C(=O)c1ccccc1", "benzoyl": "C(=O)c1ccccc1",
    "tms": "[Si](C)(C)C", "bstfa": "[Si](C)(C)C", "tbdms": "[Si](C)(C)C(C)(C)C",
    "tpc": "C(=O)[C@@H]1CCCN1C(=O)C(F)(F)F",
}
_TOKENS = "|".join(sorted(REAGENTS, key=len, reverse=True))
_COUNT = r"(?:(?:N|O|N,O|O,N|N,N|O,O|\d+|\d+,\d+)-)?(?:mono|di|bis|tris|tri|\d)?-?"
_SUFFIX = re.compile(rf"^(?P<parent>.+?)[\s,.\-]+{_COUNT}(?P<reagent>{_TOKENS})"
                     r"(?:[\s-]+(?:derivative|deriv\.?))?$", re.IGNORECASE)
_PREFIX = re.compile(rf"^{_COUNT}(?P<reagent>acetyl|formyl|trifluoroacetyl|trichloroacetyl|"
                     r"heptafluorobutyryl|pentafluoropropionyl|propionyl|benzoyl)(?:ated)?"
                     r"[\s-]*(?P<parent>[^\s].+)$", re.IGNORECASE)
_LABEL = re.compile(r"^(?P<parent>.+?)[\s-]+[dD](?P<n>\d{1,2})\b")
_MAX_SITES = 3  # derivatised positions per molecule considered (tri-TMS is the most seen)
_MAX_UNITS = 3  # groups a deuterium label is spread over


def parse_derivative(name: str) -> tuple[str, str] | None:
    """``(parent name, reagent key of REAGENTS)`` for a derivative's name, else None.

    >>> parse_derivative("Methylone HFBA Derivative")
    ('Methylone', 'hfba')
    >>> parse_derivative("N,N-diacetylnorephedrine")
    ('norephedrine', 'acetyl')
    """
    for pattern in (_SUFFIX, _PREFIX):
        match = pattern.match(name.strip())
        if match and len(match.group("parent")) > 2:
            return match.group("parent").strip(" ,-"), match.group("reagent").lower()
    return None


def parse_labelled(name: str) -> tuple[str, int] | None:
    """``(parent name, deuterium count)`` for ``Diazepam-d5``-style names, else None.

    >>> parse_labelled("Amphetamine-D5 (ring)")
    ('Amphetamine', 5)
    """
    match = _LABEL.match(name.strip())
    if match and int(match.group("n")) > 0:
        return match.group("parent"), int(match.group("n"))
    return None


def _chem() -> Any:
    from rdkit import Chem

    return Chem


#: The most atoms a standard InChI describes: a larger molecule gets no InChIKey to verify it by,
#: and RDKit spends minutes on one (85 s on the InChI of a 100,000-atom chain, more on its SMILES).
INCHI_MAX_ATOMS = 1023


def keyable_mol(smiles: str) -> Any:
    """The RDKit molecule of ``smiles``; None when it does not read or has more than
    :data:`INCHI_MAX_ATOMS` atoms (no InChIKey could verify it or a variant of it)."""
    mol = _chem().MolFromSmiles(smiles)
    return mol if mol is not None and mol.GetNumAtoms() <= INCHI_MAX_ATOMS else None


def mol_formula(mol: Any) -> tuple[Counter, int]:
    """Element counts and net charge of an RDKit molecule; deuterium and tritium as D and T,
    other isotopes (13C, 15N) as their element."""
    counts: Counter = Counter()
    charge = 0
    for atom in mol.GetAtoms():
        symbol = atom.GetSymbol()
        if symbol == "H":
            symbol = {2: "D", 3: "T"}.get(atom.GetIsotope(), "H")
        counts[symbol] += 1
        counts["H"] += atom.GetTotalNumHs()
        charge += atom.GetFormalCharge()
    return counts, charge


def derivative_candidates(parent_smiles: str, reagent: str, formula: Counter) -> list[str]:
    """SMILES of the parent with 1..3 heteroatom hydrogens replaced by ``reagent``'s group,
    keeping only products whose element counts equal ``formula`` (hydrogen counted with
    deuterium)."""
    chem = _chem()
    parent, group = keyable_mol(parent_smiles), chem.MolFromSmiles(REAGENTS[reagent])
    if parent is None or group is None:
        return []
    sites = [a.GetIdx() for a in parent.GetAtoms()
             if a.GetSymbol() in ("N", "O", "S") and a.GetTotalNumHs() > 0]
    out = []
    for k in range(1, min(_MAX_SITES, len(sites)) + 1):
        products = [_attach(chem, parent, group, chosen) for chosen in combinations(sites, k)]
        products = [p for p in products if p is not None]
        # every product with k groups has one formula: check it once
        if products and +mol_formula(products[0])[0] == +formula:
            out += [chem.MolToSmiles(p) for p in products]
    return out


def _attach(chem: Any, parent: Any, group: Any, sites: tuple[int, ...]) -> Any:
    mol = chem.RWMol(parent)
    for site in sites:
        offset = mol.GetNumAtoms()
        mol.InsertMol(group)
        atom = mol.GetAtomWithIdx(site)
        if atom.GetNumExplicitHs():
            atom.SetNumExplicitHs(atom.GetNumExplicitHs() - 1)
        atom.SetNoImplicit(False)
        mol.AddBond(site, offset, chem.BondType.SINGLE)
    try:
        chem.SanitizeMol(mol)
    except ValueError:  # rdkit's sanitisation errors derive from ValueError
        return None
    return mol


def labelled_candidates(parent_smiles: str, n: int, accept: Callable[[str], bool],
                        limit: int = 4000) -> str | None:
    """The first SMILES of the parent with ``n`` deuterium atoms that ``accept`` takes.

    Deuterium replaces *all* hydrogens of up to three groups: single carbons and the CH atoms of
    each aromatic ring (``-d5`` phenyl, ``-d3`` methyl, ``-d8`` phenyl + methyl, ``-d5`` ethyl).
    The parent is tried as given, then without its stereo (a record whose InChIKey has no
    stereo layer); at most ``limit`` placements each.
    """
    chem = _chem()
    mol = keyable_mol(parent_smiles)
    if mol is None:
        return None
    flat = chem.Mol(mol)
    chem.RemoveStereochemistry(flat)
    for start in (mol, flat) if chem.MolToSmiles(flat) != chem.MolToSmiles(mol) else (mol,):
        found = _labelled(chem, start, n, accept, limit)
        if found:
            return found
    return None


def _labelled(chem: Any, mol: Any, n: int, accept: Callable[[str], bool], limit: int) -> str | None:
    hydrogens = {a.GetIdx(): a.GetTotalNumHs() for a in mol.GetAtoms()
                 if a.GetSymbol() == "C" and a.GetTotalNumHs()}
    units = [frozenset([i]) for i in hydrogens]
    for ring in mol.GetRingInfo().AtomRings():
        ch = frozenset(i for i in ring if i in hydrogens and mol.GetAtomWithIdx(i).GetIsAromatic())
        if len(ch) > 1:
            units.append(ch)
    tried = 0
    for k in range(1, _MAX_UNITS + 1):
        for chosen in combinations(units, k):
            atoms = frozenset().union(*chosen)
            if len(atoms) != sum(map(len, chosen)) or sum(hydrogens[i] for i in atoms) != n:
                continue
            tried += 1
            if tried > limit:
                return None
            smiles = _deuterate(chem, mol, atoms)
            if smiles and accept(smiles):
                return smiles
    return None


def _deuterate(chem: Any, mol: Any, atoms: frozenset[int]) -> str | None:
    rw = chem.RWMol(chem.AddHs(mol))
    for atom in rw.GetAtoms():
        if atom.GetSymbol() == "H" and atom.GetNeighbors()[0].GetIdx() in atoms:
            atom.SetIsotope(2)
    try:
        return chem.MolToSmiles(chem.RemoveHs(rw))
    except ValueError:
        return None


def stereo_candidate(smiles: str, accept: Callable[[str], bool], limit: int = 64) -> str | None:
    """The first stereoisomer of ``smiles`` that ``accept`` takes, or None.

    Tries the structure with its stereo removed (a record whose InChIKey has no stereo layer),
    then the unassigned centres and double bonds of the structure as given and of the flat
    one; at most ``limit`` isomers each.
    """
    from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions

    chem = _chem()
    mol = keyable_mol(smiles)
    if mol is None:
        return None
    flat = chem.Mol(mol)
    chem.RemoveStereochemistry(flat)
    if accept(chem.MolToSmiles(flat)):
        return chem.MolToSmiles(flat)
    options = StereoEnumerationOptions(onlyUnassigned=True, maxIsomers=limit, unique=True)
    for start in (mol, flat):
        for isomer in EnumerateStereoisomers(start, options=options):
            candidate = chem.MolToSmiles(isomer)
            if accept(candidate):
                return candidate
    return None


__all__ = [
    "REAGENTS",
    "INCHI_MAX_ATOMS",
    "keyable_mol",
    "stereo_candidate",
    "derivative_candidates",
    "labelled_candidates",
    "mol_formula",
    "parse_derivative",
    "parse_labelled",
]

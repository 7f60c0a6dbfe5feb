"""Isomers an NPS chemist would consider for a structure, by the kind of change that makes them.

EI (and often MS/MS) spectra of positional and chain isomers are near-identical: butyryl and
isobutyryl fentanyl match each other as well as two replicates of one compound do. To call a hit
``identified`` the evidence must exclude such isomers -- including the ones no library holds. This
module enumerates them from the hit's structure by the moves seen in NPS series:

- ``ring_position``: a substituent (or the bond to the rest of the molecule) moved to another
  position of the same aromatic ring (2-/3-/4-fluoro; 2-/3-furanyl; 5-/6-methoxy), refined by what
  moved (``ring_position:F``) and, on an analytical derivative, by its reagent
  (``ring_position:C:perfluoroacyl``, stop 38: 2- / 3-MPA TFA);
- ``methyl_shift``: a terminal methyl moved to a neighbouring carbon or nitrogen (butyryl <->
  isobutyryl, N-propyl <-> N-isopropyl, N-methyl-phenethylamine <-> amphetamine);
  ``methyl_shift:acyl`` when it branches an acyl chain (butyryl <-> isobutyryl: open-chain sp3
  carbons, one alpha to a carbonyl), whose pairs are inseparable far more often;
- ``chain_transfer``: a CH2 moved from one chain to another (N-ethyl/alpha-methyl <->
  N-methyl/alpha-ethyl; acetyl + methyl <-> propionyl);
- ``double_bond``: a chain C=C moved by one position (safrole <-> isosafrole, estragole <->
  anethole: allyl <-> propenyl); ``double_bond:conjugation`` when the move takes an all-chain C=C
  into or out of conjugation with an aromatic ring (allyl <-> propenyl), else ``double_bond:plain``
  (library pairs of other compounds: inseparable 0.60 against 0.11);
- ``ring_nitrogen``: a pyridine-type ring nitrogen moved to another C-H position of its aromatic
  ring system (quinoline <-> isoquinoline, benzo[f]quinoline <-> phenanthridine, 2-/3-/4-pyridyl
  seen from the ring): the ring fragments the same way (loss of HCN), wherever the N sits;
- ``ring_opening``: a (neutral, closed-shell) cyclopropyl or cyclobutyl group replaced by an alkenyl group of the same
  carbons (cyclopropyl <-> crotonyl fentanyl, cyclobutyl <-> senecioyl fentanyl: a small ring and
  a C=C carry the same unsaturation, and both lose the same acylium);
- ``oxygen_position`` (stop 27, tried last on a budget of its own): on a fused saturated ring
  system (steroids, bile acids), a hydroxyl or ring ketone's oxygen moved to another C-H carbon
  of the skeleton, or a ketone and a secondary hydroxyl trading places (androsterone <->
  dihydrotestosterone);
- ``sugar_linkage`` (stop 33, tried last on the late moves' budget): in a glycoside chain, the bond
  between two sugars moved to another hydroxyl of the inner sugar (rutinoside, rhamnose on glucose
  O-6 <-> neohesperidoside, on O-2: hesperidin <-> neohesperidin). CID of an O-diglycoside loses
  the terminal sugar or the disaccharide whole, wherever they are joined.

Stop 36 added two moves (issue 18: absent compounds called another that no move above reached),
tried last on the late moves' budget:

- ``ring_size``: a saturated carbocyclic ring of 5-7 atoms contracted by one, its CH2 left as a
  methyl on the neighbouring ring carbon, or a methyl on such a ring taken into it (cyclohexanone
  <-> 2-methylcyclopentanone, cyclohexane <-> methylcyclopentane);
- ``ring_chain_ch2``: a CH2 between an aromatic ring and the rest of a substituent taken out and
  put on the ring as a methyl, or a ring methyl put between the ring and a substituent
  (N,N-diethylphenylacetamide <-> DEET): homologues of one formula, the CH2 on either side of the ring.

(A ring C=C moved by one and a chain substituent moved along its chain were measured too and not
kept: benchmarks/README.md, "Stop 36 (branch moves36)".) Stop 49 put the second back for MS/MS hits only
(:data:`~nps_id.chem.isomer_type.MS2_ONLY_MOVES`: an EI hit's isomer check skips it), tried last on the late
moves' budget:

- ``chain_position``: a halogen, hydroxyl, amino, thiol or carboxyl group of an open chain moved to another
  open-chain sp3 carbon of that chain, never onto a carbon bonded to a heteroatom (2- / 8-hydroxyoctanoic
  acid, norvaline / 5-aminopentanoic acid); refined by the moved group's first atom (``chain_position:N``).
  An acyclic hit had no isomer at all before it, so nothing about it was checked.

Isotope labels are ignored (a deuterated internal standard has the isomers of its compound).

Each isomer carries the move that made it, so evidence about how far apart such isomers' spectra
are (:mod:`nps_id.match.isomer_rule`) can be kept per kind of move. An isomer two moves reach is named
by the first tried, in atom order: the structure is enumerated in RDKit's canonical atom order, so the
kind depends on the structure, not on how the library spells it (stop 44; until then 2-3.5 % of the
library isomers' ``ring_position`` sub-kinds changed with the spelling).

Entry points: :func:`enumerate_isomers` -> list of :class:`Isomer`; :func:`move_kinds`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterator

from rdkit import Chem, rdBase

from nps_id.chem.derivatives import reagent_of
from nps_id.chem.isomer_type import Isomer  # the record, kept where RDKit is not imported

#: Move kinds, in the order they are tried.
MOVES = ("ring_position", "methyl_shift", "chain_transfer", "double_bond", "ring_nitrogen", "ring_opening",
         "oxygen_position", "sugar_linkage", "ring_size", "ring_chain_ch2", "chain_position")
#: Moves added at stop 27 (oxygen positions on a fused saturated ring system), stop 33 (the
#: linkage between two sugars) and stop 36 (ring size, the CH2 beside an aromatic ring): tried
#: after the others, on a candidate budget of their own, so that they never turn a structure the
#: others enumerate into one "too large to enumerate".
LATE_MOVES = frozenset({"oxygen_position", "sugar_linkage", "ring_size", "ring_chain_ch2", "chain_position"})
#: The saturated carbocyclic ring sizes :func:`_ring_size` contracts (6, 7) and expands (5, 6): the
#: rings of cyclopentyl and cyclohexyl compounds; a 3- or 4-ring is ``ring_opening``'s.
RING_SIZES = (5, 6, 7)
#: Alkenyl groups (``*``: the attachment) with the carbons of a cyclopropyl (3) or cyclobutyl (4).
ALKENYLS = {
    3: ("*C=CC", "*CC=C", "*C(=C)C"),
    4: ("*C=CCC", "*CC=CC", "*CCC=C", "*C(=C)CC", "*C(C)=CC", "*C(C)C=C", "*C=C(C)C", "*CC(=C)C"),
}
#: Enumeration stops at this many isomers per structure (a large molecule has thousands; the
#: first few hundred are enough to know whether one is absent from the library).
MAX_ISOMERS = 400
#: Bounds on the work for one structure, beyond which it is not enumerated (None, so the isomer
#: rule says it could not look): the moves pair every methyl with every acceptor, so candidates
#: grow with the square of the size (a 121-atom dendrimer: 6,500 candidates, 28 s for one hit).
#: The largest verified structures of SWGDRUG 3.4 and MassBank EI have 96 heavy atoms and give
#: at most 384 candidates.
MAX_HEAVY_ATOMS = 150
MAX_CANDIDATES = 1000


def _substituent_label(mol: Chem.Mol, atom_idx: int, ring_atoms: set[int]) -> str:
    """A short label of what hangs off the ring at a bond: its first atom, or 'ring' when the
    bond joins the ring to the rest of a larger framework."""
    atom = mol.GetAtomWithIdx(atom_idx)
    if atom.IsInRing() or atom.GetDegree() > 2:
        return "ring" if atom.IsInRing() else "branch"
    return atom.GetSymbol()


def _ring_position(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """A substituent moved around its aromatic ring: ``ring_position:<what moved>``, and
    ``ring_position:<what moved>:<reagent>`` on an analytical derivative
    (:func:`~nps_id.chem.derivatives.reagent_of`: ``perfluoroacyl`` -- TFA, PFPA, HFBA --, ``silyl``),
    whose charge and fragments sit on the reagent's side (a TFA amide's iminium ion): such pairs
    are learned apart (a rates file without the kind reads ``ring_position:<what moved>``)."""
    reagent = reagent_of(mol)
    suffix = f":{reagent}" if reagent else ""
    info = mol.GetRingInfo()
    for ring in info.AtomRings():
        ring_set = set(ring)
        if not all(mol.GetAtomWithIdx(i).GetIsAromatic() for i in ring):
            continue
        for a in ring:
            atom_a = mol.GetAtomWithIdx(a)
            if atom_a.GetSymbol() != "C":
                continue
            for bond in atom_a.GetBonds():
                b = bond.GetOtherAtomIdx(a)
                if b in ring_set or bond.GetBondType() != Chem.BondType.SINGLE:
                    continue
                label = _substituent_label(mol, b, ring_set)
                for a2 in ring:
                    target = mol.GetAtomWithIdx(a2)
                    if a2 == a or target.GetSymbol() != "C" or target.GetTotalNumHs() < 1:
                        continue
                    yield _move_atom(mol, b, a, a2), f"ring_position:{label}{suffix}"


def _is_terminal_methyl(atom: Chem.Atom) -> bool:
    return atom.GetSymbol() == "C" and atom.GetDegree() == 1 and atom.GetTotalNumHs() == 3 and not atom.IsInRing()


def _can_take_methyl(atom: Chem.Atom) -> bool:
    return (atom.GetSymbol() in ("C", "N") and not atom.GetIsAromatic() and atom.GetTotalNumHs() >= 1
            and atom.GetHybridization() == Chem.HybridizationType.SP3)


def _move_atom(mol: Chem.Mol, t: int, old: int, new: int) -> Chem.Mol:
    """Atom ``t`` (with what hangs off it) bonded to ``new`` instead of ``old``; both re-count H."""
    rw = Chem.RWMol(mol)
    rw.RemoveBond(t, old)
    rw.AddBond(t, new, Chem.BondType.SINGLE)
    for idx in (old, new):
        rw.GetAtomWithIdx(idx).SetNoImplicit(False)
        rw.GetAtomWithIdx(idx).SetNumExplicitHs(0)
    return rw.GetMol()


def _methyl_shift(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """A terminal methyl moved from carbon x to its neighbour y; ``methyl_shift:acyl`` when the
    move branches an acyl chain -- x and y open-chain sp3 carbons, one of them alpha to a
    carbonyl (butyryl <-> isobutyryl: both give the same C3H7CO+ acylium and C3H7+) --, else
    ``methyl_shift`` (a methyl taken off the carbonyl carbon makes a ketone an aldehyde; a ring
    methyl is no acyl chain)."""
    for atom in mol.GetAtoms():
        if not _is_terminal_methyl(atom):
            continue
        t = atom.GetIdx()
        x = atom.GetNeighbors()[0]
        for y in x.GetNeighbors():
            if y.GetIdx() != t and _can_take_methyl(y):
                acyl = (all(a.GetHybridization() == Chem.HybridizationType.SP3 and not a.IsInRing() for a in (x, y))
                        and (_alpha_to_carbonyl(x) or _alpha_to_carbonyl(y)))
                yield _move_atom(mol, t, x.GetIdx(), y.GetIdx()), "methyl_shift:acyl" if acyl else "methyl_shift"


def _alpha_to_carbonyl(atom: Chem.Atom) -> bool:
    """An sp3 carbon bonded to a carbonyl carbon (C=O of a ketone, acid, ester or amide)."""
    return atom.GetSymbol() == "C" and not atom.GetIsAromatic() and any(
        n.GetSymbol() == "C" and any(b.GetBondType() == Chem.BondType.DOUBLE and b.GetOtherAtom(n).GetSymbol() == "O"
                                     for b in n.GetBonds())
        for n in atom.GetNeighbors())


def _chain_transfer(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """A terminal methyl leaves its chain and lengthens another chain (onto a terminal methyl)
    or methylates an N-H: the CH2 moves between chains, the formula stays."""
    dist = Chem.GetDistanceMatrix(mol)
    methyls = [a for a in mol.GetAtoms() if _is_terminal_methyl(a)]
    acceptors = [a for a in mol.GetAtoms()
                 if (_is_terminal_methyl(a) or (a.GetSymbol() == "N" and a.GetTotalNumHs() >= 1 and not a.GetIsAromatic()))]
    for atom in methyls:
        t = atom.GetIdx()
        x = atom.GetNeighbors()[0]
        if x.GetSymbol() != "C" or x.GetIsAromatic():
            continue
        for y in acceptors:
            yi = y.GetIdx()
            if yi in (t, x.GetIdx()) or dist[t][yi] < 3:
                continue
            yield _move_atom(mol, t, x.GetIdx(), yi), "chain_transfer"


def _double_bond(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """A non-ring C=C between a and b becomes b=c for an sp3 carbon c (with H) next to b."""
    for bond in mol.GetBonds():
        if bond.GetBondType() != Chem.BondType.DOUBLE or bond.IsInRing():
            continue
        for a, b in ((bond.GetBeginAtom(), bond.GetEndAtom()), (bond.GetEndAtom(), bond.GetBeginAtom())):
            if a.GetSymbol() != "C" or b.GetSymbol() != "C":
                continue
            for c in b.GetNeighbors():
                if c.GetIdx() == a.GetIdx() or c.GetSymbol() != "C" or c.GetIsAromatic() \
                        or c.GetHybridization() != Chem.HybridizationType.SP3 or c.GetTotalNumHs() < 1:
                    continue
                rw = Chem.RWMol(mol)
                rw.GetBondBetweenAtoms(a.GetIdx(), b.GetIdx()).SetBondType(Chem.BondType.SINGLE)
                rw.GetBondBetweenAtoms(b.GetIdx(), c.GetIdx()).SetBondType(Chem.BondType.DOUBLE)
                for idx in (a.GetIdx(), c.GetIdx()):
                    rw.GetAtomWithIdx(idx).SetNoImplicit(False)
                    rw.GetAtomWithIdx(idx).SetNumExplicitHs(0)
                # a chain C=C into or out of conjugation with an aromatic ring (estragole <->
                # anethole): a kind of its own (learned inseparable far more often than other
                # double-bond moves); an exocyclic C=C moved into a ring (loratadine) is not one
                chain = not any(x.IsInRing() for x in (a, b, c))
                moved = chain and _conjugated(a, b) != _conjugated(b, c)
                yield rw.GetMol(), "double_bond:conjugation" if moved else "double_bond:plain"


def _conjugated(*atoms: Chem.Atom) -> bool:
    return any(n.GetIsAromatic() for atom in atoms for n in atom.GetNeighbors())


def _ring_nitrogen(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """An aromatic N without H or substituent (pyridine-type) and an aromatic C-H of the same
    ring or a ring fused to it swap elements."""
    rings = [set(r) for r in mol.GetRingInfo().AtomRings()
             if all(mol.GetAtomWithIdx(i).GetIsAromatic() for i in r)]
    for n in mol.GetAtoms():
        if n.GetSymbol() != "N" or not n.GetIsAromatic() or n.GetDegree() != 2 or n.GetTotalNumHs():
            continue
        own = [r for r in rings if n.GetIdx() in r]
        system = set().union(*own, *(r for r in rings if any(len(r & o) >= 2 for o in own))) if own else set()
        for c in sorted(system):
            target = mol.GetAtomWithIdx(c)
            if target.GetSymbol() != "C" or target.GetDegree() != 2 or target.GetTotalNumHs() != 1:
                continue
            rw = Chem.RWMol(mol)
            rw.GetAtomWithIdx(n.GetIdx()).SetAtomicNum(6)
            rw.GetAtomWithIdx(n.GetIdx()).SetNoImplicit(False)
            rw.GetAtomWithIdx(c).SetAtomicNum(7)
            rw.GetAtomWithIdx(c).SetNoImplicit(True)
            for idx in (n.GetIdx(), c):
                rw.GetAtomWithIdx(idx).SetNumExplicitHs(0)
            yield rw.GetMol(), "ring_nitrogen"


def _ring_opening(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """A saturated all-carbon 3- or 4-ring hanging off the molecule by one single bond (its ring
    atoms carry nothing else) is replaced by each alkenyl group of :data:`ALKENYLS` of its size."""
    for ring in mol.GetRingInfo().AtomRings():
        if len(ring) not in ALKENYLS:
            continue
        ring_set = set(ring)
        atoms = [mol.GetAtomWithIdx(i) for i in ring]
        if any(a.GetSymbol() != "C" or a.GetIsAromatic() or a.GetFormalCharge() or a.GetNumRadicalElectrons()
               for a in atoms):
            continue  # a charged or radical carbon would open into another formula
        outside = [n.GetIdx() for a in atoms for n in a.GetNeighbors() if n.GetIdx() not in ring_set]
        if len(outside) != 1 or any(b.GetBondType() != Chem.BondType.SINGLE for a in atoms for b in a.GetBonds()):
            continue
        if any(mol.GetRingInfo().NumAtomRings(i) > 1 for i in ring):
            continue  # fused or spiro: not a pendant ring
        (anchor,) = outside
        for fragment in ALKENYLS[len(ring)]:
            yield _replace_group(mol, ring_set, anchor, fragment), "ring_opening"


def _replace_group(mol: Chem.Mol, group: set[int], anchor: int, fragment: str) -> Chem.Mol:
    """``mol`` with the atoms ``group`` removed and ``fragment`` (SMILES, ``*`` at its attachment)
    bonded to ``anchor`` instead."""
    rw = Chem.RWMol(mol)
    rw.GetAtomWithIdx(anchor).SetIntProp("anchor", 1)
    for idx in sorted(group, reverse=True):
        rw.RemoveAtom(idx)
    piece = Chem.MolFromSmiles(fragment)
    offset = rw.GetNumAtoms()
    combined = Chem.RWMol(Chem.CombineMols(rw.GetMol(), piece))
    star = next(a.GetIdx() for a in combined.GetAtoms() if a.GetAtomicNum() == 0 and a.GetIdx() >= offset)
    attach = combined.GetAtomWithIdx(star).GetNeighbors()[0].GetIdx()
    new_anchor = next(a.GetIdx() for a in combined.GetAtoms() if a.HasProp("anchor"))
    combined.AddBond(new_anchor, attach, Chem.BondType.SINGLE)
    combined.RemoveAtom(star)
    return combined.GetMol()


def _saturated_framework(mol: Chem.Mol, start: int) -> set[int]:
    """The sp3 ring carbons reachable from ring carbon ``start`` through single ring bonds
    between such carbons (a steroid's four rings, less a ring C=C): the skeleton a hydroxyl or
    keto group moves along."""
    seen, todo = {start}, [start]
    while todo:
        atom = mol.GetAtomWithIdx(todo.pop())
        for bond in atom.GetBonds():
            other = bond.GetOtherAtom(atom)
            if (other.GetIdx() in seen or other.GetSymbol() != "C" or other.GetIsAromatic() or not bond.IsInRing()
                    or bond.GetBondType() != Chem.BondType.SINGLE
                    or other.GetHybridization() != Chem.HybridizationType.SP3):
                continue
            seen.add(other.GetIdx())
            todo.append(other.GetIdx())
    return seen


def _only_carbon_neighbours(atom: Chem.Atom) -> bool:
    return all(n.GetSymbol() == "C" for n in atom.GetNeighbors())


def _fused_rings(mol: Chem.Mol, atom: int) -> int:
    """The rings of the ring system (rings sharing a bond) that ``atom`` belongs to."""
    rings = [set(r) for r in mol.GetRingInfo().BondRings()]
    bonds = {b.GetIdx() for b in mol.GetAtomWithIdx(atom).GetBonds()}
    system = {i for i, r in enumerate(rings) if r & bonds}
    todo = list(system)
    while todo:
        ring = rings[todo.pop()]
        for other, bonds_of in enumerate(rings):
            if other not in system and ring & bonds_of:
                system.add(other)
                todo.append(other)
    return len(system)


def _oxygen_position(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """A hydroxyl on a saturated ring carbon, or a ring ketone's oxygen, of a fused ring system
    (two or more rings sharing a bond: steroids, bile acids, terpenoids) moved to another carbon
    of its saturated skeleton (:func:`_saturated_framework`) that carries hydrogen and only
    carbon neighbours: 6- / 7-hydroxy bile acids, 11- / 17-keto steroids; and a ring ketone and a
    secondary hydroxyl of that skeleton trading places (:func:`_redox_swaps`). Such skeletons
    fragment by water losses and ring cleavages of the whole framework that mark little of where
    the oxygen sat; a monocyclic or open-chain alcohol is not moved (its neighbours steer the
    fragmentation)."""
    for oxygen in mol.GetAtoms():
        if oxygen.GetSymbol() != "O" or oxygen.GetDegree() != 1 or oxygen.GetFormalCharge():
            continue
        carbon = oxygen.GetNeighbors()[0]
        if carbon.GetSymbol() != "C" or carbon.GetIsAromatic() or not carbon.IsInRing():
            continue
        order = mol.GetBondBetweenAtoms(oxygen.GetIdx(), carbon.GetIdx()).GetBondType()
        others = [n for n in carbon.GetNeighbors() if n.GetIdx() != oxygen.GetIdx()]
        if not all(n.GetSymbol() == "C" for n in others) or _fused_rings(mol, carbon.GetIdx()) < 2:
            continue  # an acid, ester, amide, hemiacetal or sugar carbon, or a ring fused to none
        if (order == Chem.BondType.SINGLE and oxygen.GetTotalNumHs() == 1
                and carbon.GetHybridization() == Chem.HybridizationType.SP3):
            label, needs_h = "oxygen_position:ring_hydroxyl", 1
        elif order == Chem.BondType.DOUBLE and len(others) == 2:
            label, needs_h = "oxygen_position:ring_keto", 2
        else:
            continue
        for target in sorted(_saturated_framework(mol, carbon.GetIdx()) - {carbon.GetIdx()}):
            atom = mol.GetAtomWithIdx(target)
            if atom.GetTotalNumHs() < needs_h or not _only_carbon_neighbours(atom):
                continue
            rw = Chem.RWMol(mol)
            rw.RemoveBond(oxygen.GetIdx(), carbon.GetIdx())
            rw.AddBond(oxygen.GetIdx(), target, order)
            for idx in (carbon.GetIdx(), target):
                rw.GetAtomWithIdx(idx).SetNoImplicit(False)
                rw.GetAtomWithIdx(idx).SetNumExplicitHs(0)
            yield rw.GetMol(), label
        if label == "oxygen_position:ring_keto":
            yield from _redox_swaps(mol, oxygen, carbon)


def _redox_swaps(mol: Chem.Mol, keto: Chem.Atom, carbon: Chem.Atom) -> Iterator[tuple[Chem.Mol, str]]:
    """A ring ketone and a secondary hydroxyl of the same saturated ring system trade places
    (androsterone, 3-hydroxy-17-one <-> dihydrotestosterone, 17-hydroxy-3-one)."""
    framework = _saturated_framework(mol, carbon.GetIdx())
    for oxygen in mol.GetAtoms():
        if oxygen.GetSymbol() != "O" or oxygen.GetDegree() != 1 or oxygen.GetTotalNumHs() != 1 or oxygen.GetFormalCharge():
            continue
        other = oxygen.GetNeighbors()[0]
        if (other.GetIdx() not in framework or other.GetTotalNumHs() != 1 or other.GetDegree() != 3
                or not all(n.GetSymbol() == "C" for n in other.GetNeighbors() if n.GetIdx() != oxygen.GetIdx())):
            continue
        rw = Chem.RWMol(mol)
        rw.GetBondBetweenAtoms(keto.GetIdx(), carbon.GetIdx()).SetBondType(Chem.BondType.SINGLE)
        rw.GetBondBetweenAtoms(oxygen.GetIdx(), other.GetIdx()).SetBondType(Chem.BondType.DOUBLE)
        for idx in (keto.GetIdx(), carbon.GetIdx(), oxygen.GetIdx(), other.GetIdx()):
            rw.GetAtomWithIdx(idx).SetNoImplicit(False)
            rw.GetAtomWithIdx(idx).SetNumExplicitHs(0)
        yield rw.GetMol(), "oxygen_position:redox_swap"


def _sugar_rings(mol: Chem.Mol) -> list[set[int]]:
    """The sugar rings of ``mol``: saturated 5- or 6-membered rings of sp3 carbons and one oxygen
    (pyranoses, furanoses, as glycosides hold them)."""
    rings = []
    for ring in mol.GetRingInfo().AtomRings():
        atoms = [mol.GetAtomWithIdx(i) for i in ring]
        if len(ring) in (5, 6) and sum(a.GetSymbol() == "O" for a in atoms) == 1 and all(
                a.GetSymbol() == "O" or (a.GetSymbol() == "C" and a.GetHybridization() == Chem.HybridizationType.SP3)
                for a in atoms):
            rings.append(set(ring))
    return rings


def _is_anomeric(atom: Chem.Atom, ring: set[int]) -> bool:
    """Whether ``atom`` is a sugar ring's anomeric carbon: a ring carbon next to its ring oxygen."""
    return atom.GetSymbol() == "C" and any(n.GetSymbol() == "O" and n.GetIdx() in ring for n in atom.GetNeighbors())


def _has_aglycone(mol: Chem.Mol, sugars: list[set[int]]) -> bool:
    """Whether a sugar's anomeric carbon (a ring carbon next to its ring oxygen) is joined through an
    exocyclic oxygen to a carbon of no sugar (neither in a sugar ring nor hanging off one): a
    glycoside, not a free oligosaccharide (trehalose, maltose)."""
    in_sugar = set().union(*sugars)
    for ring in sugars:
        for idx in ring:
            atom = mol.GetAtomWithIdx(idx)
            if not _is_anomeric(atom, ring):
                continue
            for bridge in atom.GetNeighbors():
                if bridge.GetSymbol() != "O" or bridge.IsInRing() or bridge.GetDegree() != 2:
                    continue
                other = next(n for n in bridge.GetNeighbors() if n.GetIdx() != idx)
                exocyclic = not other.IsInRing() and any(n.GetIdx() in in_sugar for n in other.GetNeighbors())
                if other.GetIdx() not in in_sugar and not exocyclic:
                    return True
    return False


def _sugar_linkage(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """The glycosidic bond between two sugars moved to another hydroxyl of the inner sugar: an
    exocyclic oxygen joins the anomeric carbon of one sugar ring (the ring carbon next to its ring
    oxygen) to a carbon of another -- a ring carbon, or an exocyclic carbon on one (glucose C-6) --,
    and each free hydroxyl on a carbon of that inner sugar takes the outer sugar instead (the old
    linkage oxygen keeps its carbon as a hydroxyl): rutinoside (1->6) <-> neohesperidoside (1->2).
    Glycosides only (:func:`_has_aglycone`): not a free oligosaccharide's linkages (trehalose, maltose)."""
    sugars = _sugar_rings(mol)
    if len(sugars) < 2 or not _has_aglycone(mol, sugars):
        return

    def sugar_of(idx: int) -> int | None:
        atom = mol.GetAtomWithIdx(idx)
        for k, ring in enumerate(sugars):
            if idx in ring or (atom.GetSymbol() == "C" and not atom.IsInRing()
                               and any(n.GetIdx() in ring for n in atom.GetNeighbors())):
                return k
        return None

    hydroxyls = [a for a in mol.GetAtoms() if a.GetSymbol() == "O" and a.GetDegree() == 1 and a.GetTotalNumHs() == 1
                 and not a.GetFormalCharge()]
    for bridge in mol.GetAtoms():
        if bridge.GetSymbol() != "O" or bridge.GetDegree() != 2 or bridge.IsInRing():
            continue
        ends = [n.GetIdx() for n in bridge.GetNeighbors()]
        for anomeric, inner in (ends, ends[::-1]):
            outer, inner_sugar = sugar_of(anomeric), sugar_of(inner)
            if outer is None or inner_sugar is None or outer == inner_sugar or anomeric not in sugars[outer]:
                continue
            if not _is_anomeric(mol.GetAtomWithIdx(anomeric), sugars[outer]):
                continue
            for oh in hydroxyls:
                if sugar_of(oh.GetNeighbors()[0].GetIdx()) == inner_sugar:
                    yield _move_atom(mol, anomeric, bridge.GetIdx(), oh.GetIdx()), "sugar_linkage"


def _reset_h(rw: Chem.RWMol, *atoms: int) -> None:
    """Let RDKit count the hydrogens of ``atoms`` again after their bonds changed."""
    for idx in atoms:
        rw.GetAtomWithIdx(idx).SetNoImplicit(False)
        rw.GetAtomWithIdx(idx).SetNumExplicitHs(0)


def _plain_carbocycle(mol: Chem.Mol, ring: tuple[int, ...]) -> bool:
    """Whether ``ring`` is an isolated (in no fused or spiro system) carbocycle of
    :data:`RING_SIZES` atoms joined by single bonds (a ring ketone's carbon may be one)."""
    if len(ring) not in RING_SIZES:
        return False
    info = mol.GetRingInfo()
    bonds = [mol.GetBondBetweenAtoms(ring[i], ring[i - 1]) for i in range(len(ring))]
    return (all(mol.GetAtomWithIdx(i).GetSymbol() == "C" and info.NumAtomRings(i) == 1 for i in ring)
            and all(b.GetBondType() == Chem.BondType.SINGLE for b in bonds))


def _sp3_with_h(atom: Chem.Atom) -> bool:
    return atom.GetHybridization() == Chem.HybridizationType.SP3 and atom.GetTotalNumHs() >= 1


def _ring_size(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """Contraction: a ring CH2 ``b`` between ring carbons ``a`` (sp3, with H) and ``c`` leaves the
    ring (``b``-``c`` broken, ``a``-``c`` made) and stays on ``a`` as a methyl. Expansion: a methyl
    on sp3 ring carbon ``a`` is bonded to ``a``'s ring neighbour ``c`` instead of ``a``-``c``. Only
    in a plain carbocycle (:func:`_plain_carbocycle`), the result one of :data:`RING_SIZES` too: a
    fused ring system (steroids) or a heterocycle changes more than a ring size."""
    for ring in mol.GetRingInfo().AtomRings():
        if not _plain_carbocycle(mol, ring):
            continue
        ring_set = set(ring)
        for a in ring:
            atom_a = mol.GetAtomWithIdx(a)
            if atom_a.GetHybridization() != Chem.HybridizationType.SP3:
                continue
            ring_nbrs = [n.GetIdx() for n in atom_a.GetNeighbors() if n.GetIdx() in ring_set]
            if len(ring) > RING_SIZES[0] and atom_a.GetTotalNumHs() >= 1:
                for b in ring_nbrs:
                    atom_b = mol.GetAtomWithIdx(b)
                    if atom_b.GetDegree() != 2 or not _sp3_with_h(atom_b):
                        continue  # b carries a substituent or a C=O: it would leave as more than a methyl
                    c = next(n.GetIdx() for n in atom_b.GetNeighbors() if n.GetIdx() != a)
                    rw = Chem.RWMol(mol)
                    rw.RemoveBond(b, c)
                    rw.AddBond(a, c, Chem.BondType.SINGLE)
                    _reset_h(rw, a, b, c)
                    yield rw.GetMol(), "ring_size"
            if len(ring) < RING_SIZES[-1]:
                for m in atom_a.GetNeighbors():
                    if not _is_terminal_methyl(m):
                        continue
                    for c in ring_nbrs:
                        rw = Chem.RWMol(mol)
                        rw.RemoveBond(a, c)
                        rw.AddBond(m.GetIdx(), c, Chem.BondType.SINGLE)
                        _reset_h(rw, a, m.GetIdx(), c)
                        yield rw.GetMol(), "ring_size"


def _ring_chain_ch2(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """Out: an open-chain CH2 ``m`` joining aromatic ring carbon ``a`` to the rest ``b`` of a
    substituent leaves (``a``-``b`` bonded) and sits on an aromatic C-H carbon of that ring as a
    methyl. In: a methyl ``m`` on an aromatic ring carbon goes between another carbon ``a`` of the
    ring and the substituent ``b`` it carries."""
    rings = [set(r) for r in mol.GetRingInfo().AtomRings() if all(mol.GetAtomWithIdx(i).GetIsAromatic() for i in r)]
    for ring in rings:
        for a in sorted(ring):
            atom_a = mol.GetAtomWithIdx(a)
            if atom_a.GetSymbol() != "C":
                continue
            for m in atom_a.GetNeighbors():
                mi = m.GetIdx()
                if mi in ring:
                    continue
                if _is_terminal_methyl(m):  # in: between each other ring carbon and what it carries
                    for a2 in sorted(ring - {a}):
                        for b in mol.GetAtomWithIdx(a2).GetNeighbors():
                            if b.GetIdx() in ring or mol.GetBondBetweenAtoms(a2, b.GetIdx()).GetBondType() \
                                    != Chem.BondType.SINGLE:
                                continue
                            rw = Chem.RWMol(mol)
                            rw.RemoveBond(mi, a)
                            rw.RemoveBond(a2, b.GetIdx())
                            rw.AddBond(a2, mi, Chem.BondType.SINGLE)
                            rw.AddBond(mi, b.GetIdx(), Chem.BondType.SINGLE)
                            _reset_h(rw, a, mi, a2, b.GetIdx())
                            yield rw.GetMol(), "ring_chain_ch2"
                elif m.GetSymbol() == "C" and not m.IsInRing() and m.GetDegree() == 2 and m.GetTotalNumHs() == 2 \
                        and m.GetHybridization() == Chem.HybridizationType.SP3:
                    b = next(n.GetIdx() for n in m.GetNeighbors() if n.GetIdx() != a)  # out: onto the ring
                    for target in sorted(ring - {a}):
                        if mol.GetAtomWithIdx(target).GetSymbol() != "C" or mol.GetAtomWithIdx(target).GetTotalNumHs() < 1:
                            continue
                        rw = Chem.RWMol(mol)
                        rw.RemoveBond(mi, b)
                        rw.RemoveBond(mi, a)
                        rw.AddBond(a, b, Chem.BondType.SINGLE)
                        rw.AddBond(target, mi, Chem.BondType.SINGLE)
                        _reset_h(rw, a, mi, b, target)
                        yield rw.GetMol(), "ring_chain_ch2"


def _chain_carbon(atom: Chem.Atom) -> bool:
    return (atom.GetSymbol() == "C" and not atom.IsInRing() and not atom.GetIsAromatic()
            and atom.GetHybridization() == Chem.HybridizationType.SP3)


def _chain_substituent(atom: Chem.Atom) -> bool:
    """A group :func:`_chain_position` moves, by its first atom: a halogen; a hydroxyl, thiol or
    amino group (a terminal O, S or N with H); a carboxyl (a chain C with =O and -OH and nothing else)."""
    if atom.IsInRing() or atom.GetFormalCharge():
        return False
    symbol = atom.GetSymbol()
    if symbol in ("F", "Cl", "Br", "I"):
        return atom.GetDegree() == 1
    if symbol in ("O", "S", "N"):
        return atom.GetDegree() == 1 and atom.GetTotalNumHs() >= 1
    if symbol == "C" and atom.GetDegree() == 3 and not atom.GetTotalNumHs():
        ends = sorted((b.GetBondType() == Chem.BondType.DOUBLE, b.GetOtherAtom(atom).GetSymbol(),
                       b.GetOtherAtom(atom).GetTotalNumHs()) for b in atom.GetBonds() if b.GetOtherAtom(atom).GetDegree() == 1)
        return ends == [(False, "O", 1), (True, "O", 0)]
    return False


def _chain_position(mol: Chem.Mol) -> Iterator[tuple[Chem.Mol, str]]:
    """A substituent (:func:`_chain_substituent`) on an open-chain sp3 carbon ``x`` moved to each
    other open-chain sp3 carbon with H that a path of such carbons joins to ``x`` (its chain) and
    that has no other neighbour than carbon: not onto an ether or ester carbon (a hemiacetal, an
    alpha-chloro ether) nor beside another hydroxyl (a gem-diol)."""
    for group in mol.GetAtoms():
        if not _chain_substituent(group):
            continue
        for x in group.GetNeighbors():
            if not _chain_carbon(x) or mol.GetBondBetweenAtoms(group.GetIdx(), x.GetIdx()).GetBondType() \
                    != Chem.BondType.SINGLE:
                continue
            seen, todo = {x.GetIdx()}, [x]
            while todo:
                for y in todo.pop().GetNeighbors():
                    if y.GetIdx() in seen or not _chain_carbon(y):
                        continue
                    seen.add(y.GetIdx())
                    todo.append(y)
                    if y.GetTotalNumHs() >= 1 and _only_carbon_neighbours(y):
                        yield _move_atom(mol, group.GetIdx(), x.GetIdx(), y.GetIdx()), f"chain_position:{group.GetSymbol()}"


_MOVERS = {"ring_position": _ring_position, "methyl_shift": _methyl_shift, "chain_transfer": _chain_transfer,
           "double_bond": _double_bond, "ring_nitrogen": _ring_nitrogen, "ring_opening": _ring_opening,
           "oxygen_position": _oxygen_position, "sugar_linkage": _sugar_linkage, "ring_size": _ring_size,
           "ring_chain_ch2": _ring_chain_ch2, "chain_position": _chain_position}


def _without_isotopes(mol: Chem.Mol) -> Chem.Mol:
    """``mol`` with every isotope label dropped and the (then ordinary) explicit hydrogens folded
    in: a CD3 is a methyl to the moves."""
    if not any(a.GetIsotope() for a in mol.GetAtoms()):
        return mol
    rw = Chem.RWMol(mol)
    for atom in rw.GetAtoms():
        atom.SetIsotope(0)
    return Chem.RemoveHs(rw.GetMol())


@lru_cache(maxsize=4096)
def enumerate_isomers(smiles: str) -> tuple[Isomer, ...] | None:
    """Distinct isomers of ``smiles`` one move away (stereo ignored: the moves do not keep it).

    The input structure itself (by InChIKey first block) is never returned; candidates RDKit
    cannot sanitise are skipped. None when ``smiles`` cannot be enumerated: RDKit or InChI
    cannot read it, or it is too large (:data:`MAX_HEAVY_ATOMS`, :data:`MAX_CANDIDATES`) --
    "no isomer" must not stand for "not looked".
    """
    # RDKit's log silenced for this call only: candidates it cannot sanitise are expected and skipped;
    # a library user's own RDKit errors stay said (stop 45; it was disabled process-wide at import)
    with rdBase.BlockLogs():
        return _enumerate(smiles)


def _enumerate(smiles: str) -> tuple[Isomer, ...] | None:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumHeavyAtoms() > MAX_HEAVY_ATOMS:
        return None
    mol = _without_isotopes(mol)
    Chem.RemoveStereochemistry(mol)
    # RDKit's canonical atom order: an isomer two moves reach is named by the first move tried,
    # which follows atom order -- so by the structure, not by how the library spells it (stop 44)
    mol = Chem.MolFromSmiles(Chem.MolToSmiles(mol))
    own = Chem.MolToInchiKey(mol)[:14] if mol is not None else ""  # None: RDKit cannot read its own SMILES back
    if not own:
        return None
    seen = {own}
    out: list[Isomer] = []
    tried = extra = 0
    for move in MOVES:
        for candidate, label in _MOVERS[move](mol):
            if move in LATE_MOVES:  # their own budget: reaching it ends the enumeration, not voids it
                extra += 1
                if extra > MAX_CANDIDATES:
                    return tuple(out)
            else:
                tried += 1
                if tried > MAX_CANDIDATES:
                    return None
            try:
                Chem.SanitizeMol(candidate)
            except Exception:  # an impossible valence or aromaticity: not an isomer
                continue
            key = Chem.MolToInchiKey(candidate)
            if not key or key[:14] in seen:
                continue
            seen.add(key[:14])
            out.append(Isomer(Chem.MolToSmiles(candidate), key, label))
            if len(out) >= MAX_ISOMERS:
                return tuple(out)
    return tuple(out)


def move_kinds(isomers: tuple[Isomer, ...]) -> set[str]:
    return {iso.move for iso in isomers}

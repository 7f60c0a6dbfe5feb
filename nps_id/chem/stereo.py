"""Diastereomers of a structure: its stereoisomers that are other compounds.

docs/compound-identity.md counts enantiomers (and a racemate) as one compound and diastereomers
(cis / trans, E / Z, epimers) as different ones, which EI spectra rarely separate. The isomer
moves of :mod:`nps_id.chem.isomers` compare InChIKey skeletons, which stereoisomers share, so
they never produce one; this module does.

Entry points: :func:`diastereomer_classes` -- a structure -> its constitution's
:class:`StereoClass` es (a configuration and its mirror image each); :func:`stereo_layers` -- the
part of an InChIKey that tells configurations apart.

A free sugar's (any cyclic hemiacetal's) anomeric carbon is no stereo element here: its alpha and
beta anomers interconvert in solution (mutarotation), one compound a laboratory reports as such; a
glycoside's anomeric carbon (an acetal, OR) is fixed and counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from nps_id.compound import mirror_image

#: At most this many stereoisomers are enumerated (2**6: six stereo elements); a structure with
#: more has at least the classes listed, more than any library holds of one constitution.
MAX_STEREOISOMERS = 64
#: At most this many free anomeric carbons are held as one compound's (:func:`_anomer_keys`: 2**k + 1
#: forms of every isomer); a structure of more enumerates them as stereocentres. No record of the
#: MassBank libraries has more than 2 (4 of 19,131 structures); 4 took 2.2 s a row, 6 took 11 s (stop 37).
MAX_FREE_ANOMERIC = 2


@dataclass(frozen=True)
class StereoClass:
    """One diastereomer class: ``smiles`` one configuration, ``inchikeys`` its key and its mirror
    image's (one key when the configuration is its own mirror image: E/Z only, or meso); with a free
    anomeric carbon, those of each anomer and of the anomer left open (D-glucose: alpha, beta and
    "D-glucose" records name one class)."""

    smiles: str
    inchikeys: tuple[str, ...]


def diastereomer_classes(smiles: str, limit: int = MAX_STEREOISOMERS) -> tuple[StereoClass, ...] | None:
    """The diastereomer classes of ``smiles``'s constitution, enantiomers counted once; the
    structure's own configuration is among them, its stereochemistry ignored (a record with or
    without defined stereocentres names one of these classes).

    () when the constitution has at most one class (no stereo element, or one stereocentre, whose
    two configurations are enantiomers); None when RDKit cannot read it or InChI gives no key.
    Stereo elements InChI does not keep (RDKit candidates it ignores) give equal keys and count
    once; bridgeheads keep one configuration, the structure's own or a 3D embedding's
    (:func:`_bridgeheads`: camphor, fenchone and beta-pinene have one class, cocaine four, with or
    without its stereocentres written); a free anomeric carbon (:func:`_free_anomeric_carbons`) is not
    enumerated either, its anomers' keys joining one class (glucose: the 8 aldohexoses, not 16), where
    the structure has at most :data:`MAX_FREE_ANOMERIC`.
    Deterministic: the first ``limit`` stereoisomers in RDKit's enumeration order.
    """
    from rdkit import rdBase  # lazy: RDKit

    # an unreadable structure, InChI's warnings on odd isomers: expected, unsaid -- for this call
    # only, not for the rest of a library user's process (stop 45)
    with rdBase.BlockLogs():
        return _classes(smiles, limit)


def _classes(smiles: str, limit: int) -> tuple[StereoClass, ...] | None:
    """:func:`diastereomer_classes`, RDKit's log blocked."""
    from rdkit import Chem
    from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions

    given = Chem.MolFromSmiles(smiles)
    if given is None:
        return None
    mol = Chem.Mol(given)
    Chem.RemoveStereochemistry(mol)
    # a bridgehead's configuration is set by its bridge (norbornane's, the tropane's): inverting it
    # alone makes no molecule, so it is not enumerated -- the structure's own, else one a 3D
    # embedding of the structure shows (one tag picked per bridgehead, as until attack36, made
    # stereo-less cocaine's four classes trans-bridged tropanes that no record's key names)
    heads = _bridgeheads(mol)
    unset = [a for a in heads if given.GetAtomWithIdx(a).GetChiralTag() == Chem.ChiralType.CHI_UNSPECIFIED]
    built = _embedded_tags(given) if unset else {}  # the given bridgeheads kept: the others consistent with them
    for atom in heads:
        tag = given.GetAtomWithIdx(atom).GetChiralTag()
        mol.GetAtomWithIdx(atom).SetChiralTag(tag if tag != Chem.ChiralType.CHI_UNSPECIFIED
                                              else built.get(atom, Chem.ChiralType.CHI_TETRAHEDRAL_CW))
    anomeric = _free_anomeric_carbons(mol) - heads
    if len(anomeric) > MAX_FREE_ANOMERIC:  # enumerated as any stereocentre, within ``limit``
        anomeric = set()
    for atom in anomeric:  # held, not enumerated: its anomers are one compound (their keys: _anomer_keys)
        mol.GetAtomWithIdx(atom).SetChiralTag(Chem.ChiralType.CHI_TETRAHEDRAL_CW)
    options = StereoEnumerationOptions(onlyUnassigned=True, unique=True, tryEmbedding=False)
    classes: dict[tuple[str, ...], StereoClass] = {}
    for n, isomer in enumerate(EnumerateStereoisomers(mol, options=options)):
        if n >= limit:
            break
        keys = _anomer_keys(isomer, anomeric)
        if keys is None:
            return None
        for atom in anomeric:  # the class named with its anomeric carbon open, as the compound is
            isomer.GetAtomWithIdx(atom).SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
        classes.setdefault(keys, StereoClass(Chem.MolToSmiles(isomer), keys))
    return tuple(classes.values()) if len(classes) > 1 else ()


def _anomer_keys(isomer, anomeric: set[int]) -> tuple[str, ...] | None:
    """The stereo layers of ``isomer`` and its mirror image, each with every configuration of its
    ``anomeric`` carbons and with them left open (a record of "D-glucose" keys C1 as undefined);
    None when InChI gives no key."""
    from rdkit import Chem

    tags = (Chem.ChiralType.CHI_TETRAHEDRAL_CW, Chem.ChiralType.CHI_TETRAHEDRAL_CCW)
    forms = list(product(tags, repeat=len(anomeric)))  # [()] without one: the isomer as it is
    if anomeric:
        forms.append((Chem.ChiralType.CHI_UNSPECIFIED,) * len(anomeric))
    keys = set()
    for form in forms:
        mol = Chem.Mol(isomer)
        for atom, tag in zip(sorted(anomeric), form):
            mol.GetAtomWithIdx(atom).SetChiralTag(tag)
        for each in (mol, mirror_image(mol)):
            key = Chem.MolToInchiKey(each)
            if not key:
                return None
            keys.add(stereo_layers(key))
    return tuple(sorted(keys))


#: A free anomeric carbon: a ring carbon bonded in its ring to an ether oxygen and outside it to an
#: OH (a cyclic hemiacetal or hemiketal: an aldopyranose's C1, a ketofuranose's C2).
_HEMIACETAL = "[C;R;X4](@[O;R;X2;!H])-!@[O;X2;H1]"


def _free_anomeric_carbons(mol) -> set[int]:
    """The atoms of ``mol`` that are the anomeric carbon of a cyclic hemiacetal or hemiketal
    (:data:`_HEMIACETAL`): their alpha and beta anomers interconvert in solution (mutarotation)."""
    from rdkit import Chem

    return {match[0] for match in mol.GetSubstructMatches(Chem.MolFromSmarts(_HEMIACETAL))}


#: Seed and bounds of the one 3D embedding :func:`_embedded_tags` makes: deterministic, and bounded
#: in time -- a structure of more heavy atoms is not embedded (a chain of six adamantanes, 60 atoms,
#: took 15 s; cocaine 0.1 s), nor is one RDKit cannot embed: one tag per bridgehead is kept then.
EMBED_SEED = 0xF00D
EMBED_MAX_ITERATIONS = 200
EMBED_MAX_HEAVY_ATOMS = 40


def _embedded_tags(mol) -> dict:
    """Atom index -> chiral tag of every atom of one 3D embedding of ``mol`` (the configurations a
    bridged ring system allows); {} when RDKit finds no embedding or ``mol`` is too large
    (:data:`EMBED_MAX_HEAVY_ATOMS`)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    if mol.GetNumHeavyAtoms() > EMBED_MAX_HEAVY_ATOMS:
        return {}

    with_h = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = EMBED_SEED
    params.maxIterations = EMBED_MAX_ITERATIONS
    if AllChem.EmbedMolecule(with_h, params) < 0:
        return {}
    Chem.AssignStereochemistryFrom3D(with_h)
    return {atom.GetIdx(): atom.GetChiralTag() for atom in with_h.GetAtoms() if atom.GetIdx() < mol.GetNumAtoms()}


def _bridgeheads(mol) -> set[int]:
    """The bridgehead atoms of a molecule: where two rings sharing more than one bond (a bridged
    system, not a fused one) meet -- the shared atoms with three or more ring neighbours in them."""
    rings = [set(r) for r in mol.GetRingInfo().AtomRings()]
    heads: set[int] = set()
    for i, a in enumerate(rings):
        for b in rings[i + 1:]:
            shared, both = a & b, a | b
            if len(shared) < 3:
                continue  # fused (one bond) or spiro (one atom): no bridge
            for atom in shared:
                if sum(n.GetIdx() in both for n in mol.GetAtomWithIdx(atom).GetNeighbors()) >= 3:
                    heads.add(atom)
    return heads


def stereo_layers(inchikey: str) -> str:
    """The first two blocks of an InChIKey (skeleton; stereo and isotope layers), upper case: what
    tells one configuration from another (the third is the protonation flag)."""
    return "-".join(str(inchikey).upper().split("-")[:2])

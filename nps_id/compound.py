"""Compound identity: when two library records are "the same compound" for mass spectrometry.

One rule, used by the search (gap, isomer alert), ``nps-id match`` (runner-up, one finding per
compound) and the reports (EWA groups, names). Described in ``docs/compound-identity.md``.

- Records with InChIKeys of different skeletons (first block) are different compounds.
- Diastereomers are *different* compounds (ephedrine and pseudoephedrine; SWGDRUG gives both
  the same stereo-less InChIKey), and mass spectrometry rarely separates them: the search
  measures its gap and isomer alert against them, and :attr:`CompoundIdentity.notes` says so.
- Enantiomers (and a racemate and its enantiomers) are the *same* compound: EI and MS/MS spectra
  cannot tell them apart.
- Evidence, strongest first: verified structures of both records (RDKit: the stereocentres of
  one are mirrored and the InChIKeys compared); then the names (equal, or differing only in
  optical descriptors -- d-, l-, dl-, (+)-, (-)-, (R)-, (S)-, rac-, dextro-, levo-, es- -- or
  only in diastereomer words -- pseudo, epi, threo, erythro, cis, trans, 3alpha/3beta, several
  R/S centres); then the InChIKeys' second block (different stereo/isotope layers differ).
- Records without an InChIKey are compared by name. Names keep locants, Greek letters and stereo
  descriptors (alpha-PVP, beta-PVP and PVP are three compounds); only case, spacing, dashes and
  the spelling of Greek letters (``.alpha.``, ``alpha``, ``α``) are normalised.

Entry points
------------
- :func:`compound_identity` -- library columns -> :class:`CompoundIdentity` (int64 code per
  row, equal codes = same compound, and a stereo note per row).
- :func:`normalise_name` -- the one name normalisation (also used by the EWA groups).
- :func:`name_relation` -- "same", "enantiomer", "diastereomer" or "unrelated" for two names.
- :func:`structure_relation` -- the same question for two (verified) SMILES, by RDKit
  (:func:`mirror_image`: a molecule's stereocentres inverted).
- :func:`skeleton` -- the InChIKey first block (upper case), or ``""``.
- :meth:`CompoundIdentity.rows_of` -- the library rows of one compound (a finding names them all).
- :func:`record_relation` -- the relation of two records (a query and a library row) by the same
  evidence, pair by pair (the benchmarks judge a hit by it).

This module sits at the bottom of the package (numpy only; RDKit is imported when a structure is
first compared), so search, match and report all import it.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ω": "omega", "Δ": "delta"}
_DASHES = re.compile("[\u2010-\u2015\u2212\ufe63\uff0d]")  # hyphen, en/em dash, minus sign -> "-"
_DOTTED_GREEK = re.compile(r"\.(alpha|beta|gamma|delta|omega)\.")
#: Optical descriptors: stripped to compare enantiomers (one stereocentre or the sign of rotation).
_OPTICAL = re.compile(
    r"(?:(?<=^)|(?<=[\s,(\[-]))"
    r"(?:\((?:\+|-|\+/-|±|r|s|rs|r,s|r/s|sr|d|l|dl)\)|d|l|dl|d,l|d/l|rac|racemic|dextro|levo)"
    r"(?=[\s-]|$)[\s-]*"
)
#: Glued optical prefixes of trade names: dextrorphan/levorphan, escitalopram, dexamfetamine.
_OPTICAL_GLUED = re.compile(r"(?:(?<=^)|(?<=[\s,(\[-]))(?:dextro|levo|dex|lev|es)(?=[a-z]{4})")
#: Diastereomer words and descriptors (several R/S centres, E/Z, alpha/beta locants).
_DIASTEREO = re.compile(
    r"pseudo|epi|threo|erythro|allo|meso|cis|trans|endo|exo|(?<=\d)(?:alpha|beta)"
    r"|\(?\b(?:\d+[a-z]?[rsez]\*?,?)+\b\)?|\((?:e|z)\)"
)


#: Deuterium or tritium in a formula (``C23H25D5N2O``; not Dy, Ta, Te, Th, Ti, ...).
_LABEL_IN_FORMULA = re.compile(r"[DT](?![a-z])")
#: An isotope atom in a SMILES (``[2H]``, ``[13C]``, ``[15N]``).
_LABEL_IN_SMILES = re.compile(r"\[\d+[A-Z]")
#: A label as SWGDRUG and MassBank name one: ``-d5``, ``-D5 (ring)``, ``-[d8]``, ``-[5,6,8,9-d4]``,
#: ``(1,2-D2)``, ``(D3)METHYL``, ``TRIDEUTERIO...``, ``-[1-13C]``, ``-13C6``, ``(ALPHA-13C)``,
#: ``-15N2``, ``[3H]``, tritiated. Not one: ``Cer[AS] d34:1`` and ``Cer[NP] t36:0`` (sphingoid
#: bases), vitamin D3, T2 toxin, D-(+)-malic acid, 3-D1FLUORAMINO (a typo for DIFLUORAMINO).
#: Positions are bounded ({1,24}): unbounded, a name of many commas was rescanned from each comma.
_LABEL_IN_NAME = re.compile(r"(?i)[-\[(,]\s*(?:[\d,]{1,24}-)?[dt]\d{1,2}(?![\w:])|deuter|tritiat|\b1[35][CN]\d*\b|\[[23]H\]")


def is_labelled(name: str | None, formula: str | None, smiles: str | None) -> bool:
    """Whether a record is an isotope-labelled standard (deuterium, tritium, 13C, 15N): by its
    formula (SWGDRUG writes D), its SMILES (MassBank's ``[2H]``/``[13C]`` where it has one) or its
    name (MassBank keeps the parent's formula and often its structure: ``AA-[d8]``, ``Citric
    acid-[1-13C]``)."""
    return bool(_LABEL_IN_FORMULA.search(formula or "") or _LABEL_IN_SMILES.search(smiles or "")
                or _LABEL_IN_NAME.search(name or ""))


def normalise_name(name: str) -> str:
    """Lower-case, ``.alpha.``/Greek letters spelled out, dashes unified, whitespace collapsed.

    Nothing else: locants, Greek letters and stereo descriptors stay.

    >>> normalise_name(".alpha.-PVP")
    'alpha-pvp'
    >>> normalise_name("α-PHP  hydrochloride")
    'alpha-php hydrochloride'
    >>> normalise_name("(\u2212)-Ephedrine")
    '(-)-ephedrine'
    """
    text = name.strip()
    for greek, latin in _GREEK.items():
        text = text.replace(greek, latin)
    text = _DOTTED_GREEK.sub(r"\1", _DASHES.sub("-", text.lower()))
    return re.sub(r"\s+", " ", text)


def _optical_key(norm: str) -> str:
    """A normalised name without its optical descriptors: equal for enantiomers and racemates.
    A name made only of descriptors ("(+)", "D", "rac") keeps them: it names no compound to mirror
    (stripped, every such name was one compound)."""
    text = re.sub(r"\s+", " ", _OPTICAL_GLUED.sub("", _OPTICAL.sub("", norm))).strip(" -")
    return text or norm


def _mirror_descriptors(norm: str) -> str:
    """Every R/S descriptor inverted: ``(1r,2s)`` -> ``(1s,2r)`` (the enantiomer's name)."""
    return re.sub(r"(?<=\d)[rs](?=[,)\s*-])", lambda m: "s" if m.group() == "r" else "r", norm)


def name_relation(a: str, b: str) -> str:
    """How two substance names relate, judged from the names alone.

    Returns ``"same"`` (equal after :func:`normalise_name`), ``"enantiomer"`` (differ only in
    optical descriptors, or are mirror images by their R/S descriptors), ``"diastereomer"``
    (differ only in diastereomer words or descriptors) or ``"unrelated"``.

    >>> name_relation("d-Amphetamine", "Amphetamine")
    'enantiomer'
    >>> name_relation("Pseudoephedrine", "(-)-Ephedrine")
    'diastereomer'
    >>> name_relation(".alpha.-PVP", "β-PVP")
    'unrelated'
    >>> name_relation("alpha-PVP", "PVP")
    'unrelated'
    """
    (na, ka, ma, da), (nb, kb, _, db) = _name_keys(a), _name_keys(b)  # cached: a library compares each name with many
    if na == nb:
        return "same"
    if ka == kb or ma == kb:
        return "enantiomer"
    return "diastereomer" if da == db and da else "unrelated"


def skeleton(inchikey: str | None) -> str:
    """The InChIKey first block (connectivity), upper case; ``""`` when there is none."""
    return str(inchikey or "").strip().upper()[:14]


def _stereo_block(inchikey: str) -> str:
    """The InChIKey second block (stereo and isotope layers), ``""`` when absent."""
    parts = inchikey.strip().upper().split("-")
    return parts[1] if len(parts) > 1 else ""


_NO_STEREO = "UHFFFAOYSA"  # the second block of a key without stereo or isotope layers


def structure_relation(smiles_a: str, smiles_b: str) -> str | None:
    """``"same"``, ``"enantiomer"`` or ``"diastereomer"`` for two structures of one skeleton,
    or None when a structure does not parse or either leaves its stereochemistry undefined.

    The stereocentres of ``smiles_a`` are mirrored (chiral tags inverted) and the InChIKeys
    compared: equal to ``smiles_b``'s -> enantiomers (a molecule with no stereocentre is its own
    mirror image: ``"same"``).
    """
    from rdkit import rdBase

    # an unreadable structure gives None and InChI's stereo warnings are what this weighs, unsaid --
    # for this call only, not for a library user's whole process (stop 45)
    with rdBase.BlockLogs():
        return _structure_relation(smiles_a, smiles_b)


def _structure_relation(smiles_a: str, smiles_b: str) -> str | None:
    """:func:`structure_relation`, RDKit's log blocked."""
    from rdkit import Chem

    mol_a, mol_b = Chem.MolFromSmiles(smiles_a), Chem.MolFromSmiles(smiles_b)
    if mol_a is None or mol_b is None:
        return None
    key_a, key_b = Chem.MolToInchiKey(mol_a), Chem.MolToInchiKey(mol_b)
    centres = [Chem.FindMolChiralCenters(mol, includeUnassigned=True, useLegacyImplementation=False)
               for mol in (mol_a, mol_b)]
    if centres[0] and _NO_STEREO in (_stereo_block(key_a), _stereo_block(key_b)):
        return None  # a side says nothing about its stereochemistry (two stereo-less keys agree on nothing)
    if any(label == "?" for found in centres for _, label in found):
        return None  # a side leaves some centres open: it may be either diastereomer
    if key_a.split("-")[:2] == key_b.split("-")[:2]:
        return "same"
    mirrored = Chem.MolToInchiKey(mirror_image(mol_a))
    return "enantiomer" if mirrored.split("-")[:2] == key_b.split("-")[:2] else "diastereomer"


def mirror_image(mol: Any) -> Any:
    """An RDKit molecule with every tetrahedral centre inverted (double bonds kept): its mirror
    image, whose InChIKey equals the molecule's when it has no stereocentre (or is meso)."""
    from rdkit import Chem

    mirror = Chem.Mol(mol)
    for atom in mirror.GetAtoms():
        tag = atom.GetChiralTag()
        if tag == Chem.ChiralType.CHI_TETRAHEDRAL_CW:
            atom.SetChiralTag(Chem.ChiralType.CHI_TETRAHEDRAL_CCW)
        elif tag == Chem.ChiralType.CHI_TETRAHEDRAL_CCW:
            atom.SetChiralTag(Chem.ChiralType.CHI_TETRAHEDRAL_CW)
    return mirror


@dataclass(frozen=True)
class _Record:
    inchikey: str
    name: str
    smiles: str  # verified structures only; "" otherwise
    synonyms: tuple[str, ...] = ()


def _relation(a: _Record, b: _Record) -> str:
    """"same", "enantiomer", "diastereomer" (different compounds) or "neutral" (nothing tells
    them apart: the same compound unless that would join two distinguished stereoisomers)."""
    if a.smiles and b.smiles:
        by_structure = structure_relation(a.smiles, b.smiles)
        if by_structure is not None:
            return by_structure
    names = name_relation(a.name, b.name) if a.name and b.name else "unrelated"
    if not a.inchikey or not b.inchikey:
        return names if names in ("same", "enantiomer") else "different"
    if skeleton(a.inchikey) != skeleton(b.inchikey):
        return "different"
    if _stereo_block(a.inchikey) == _stereo_block(b.inchikey):
        return {"unrelated": "neutral"}.get(names, names)  # synonyms share a key
    if (_NO_STEREO in (_stereo_block(a.inchikey), _stereo_block(b.inchikey)) and names == "unrelated"
            and not is_labelled(a.name, None, a.smiles) and not is_labelled(b.name, None, b.smiles)):
        # a key without stereo or isotope layers says nothing about stereochemistry: MassBank files
        # one compound under both ("L-Proline" without stereo beside "L-Proline standard" with it)
        return "neutral"
    if names == "unrelated" and _synonym_names_enantiomer(a, b):
        return "enantiomer"
    # different stereo or isotope layers: only names that mark enantiomers join them
    return names if names in ("same", "enantiomer") else "different"


def record_relation(a: dict[str, Any], b: dict[str, Any]) -> str:
    """"same", "enantiomer", "diastereomer", "different" or "neutral" (nothing tells them apart)
    for two records given as their columns (``inchikey``, ``name``, ``smiles``,
    ``structure_status``, ``synonyms``: a string of newline-separated names, or a sequence): the
    evidence :func:`compound_identity` weighs, for one pair."""
    def record(r: dict[str, Any]) -> _Record:
        synonyms = r.get("synonyms") or ()
        synonyms = str(synonyms).split("\n") if isinstance(synonyms, str) else [str(s) for s in synonyms]
        smiles = str(r.get("smiles") or "") if r.get("structure_status") == "verified" else ""
        return _Record(str(r.get("inchikey") or "").strip(), str(r.get("name") or "").strip(), smiles,
                       tuple(sorted(s.strip() for s in synonyms if s.strip())))

    return _relation(record(a), record(b))


@functools.lru_cache(maxsize=65536)
def _name_keys(name: str) -> tuple[str, str, str, str]:
    """A name normalised; without its optical descriptors; that with its R/S descriptors inverted;
    and without diastereomer words too (a library repeats its names and synonyms)."""
    norm = normalise_name(name)
    optical = _optical_key(norm)
    return norm, optical, _mirror_descriptors(optical), _DIASTEREO.sub("", optical)


def _synonym_names_enantiomer(a: _Record, b: _Record) -> bool:
    """Whether one record's synonym is the other's name with an optical descriptor added or
    changed: SWGDRUG lists "Levo-atropine" among Hyoscyamine's synonyms (atropine is racemic
    hyoscyamine), which neither their names nor their partly defined structures tell. Synonyms are
    compared with the other record's name only, by optical descriptors only: not R/S mirrors
    (MassBank's synonyms of sugars and amino acids are IUPAC names of several centres), and a
    synonym equal to the other's name decides nothing (MassBank files one compound under several
    stereo keys, but also lists a relative's name as a synonym)."""
    for rec, other in ((a, b), (b, a)):
        if rec.synonyms and other.name:
            norm, optical = _name_keys(other.name)[:2]
            if _synonyms_by_optical_key(rec.synonyms).get(optical, frozenset()) - {norm}:
                return True
    return False


@functools.lru_cache(maxsize=65536)
def _synonyms_by_optical_key(synonyms: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """A record's normalised synonyms by their optical key, built once a record: comparing every
    synonym with every other record's name made a crafted library of 800 records of one skeleton
    with 40 synonyms each take 50 s more to open."""
    keys: dict[str, set[str]] = {}
    for synonym in synonyms:
        norm, optical = _name_keys(synonym)[:2]
        keys.setdefault(optical, set()).add(norm)
    return {optical: frozenset(norms) for optical, norms in keys.items()}


@dataclass(frozen=True)
class CompoundIdentity:
    """Compound identity of every row of a library.

    Attributes
    ----------
    codes : int64 array -- equal codes mean "the same compound" (enantiomers included).
    notes : object array of str -- per row, what a reader must know about stereoisomers: the
        library's diastereomers of this compound (other compounds, rarely separated by MS) and
        the enantiomers counted as this compound; ``""`` when none.
    """

    codes: np.ndarray
    notes: np.ndarray

    def rows_of(self, row: int) -> np.ndarray:
        """The rows counted as ``row``'s compound (``row`` among them)."""
        return np.flatnonzero(self.codes == self.codes[row])


def compound_identity(
    inchikey: Sequence[str],
    name: Sequence[str],
    smiles: Sequence[str] | None = None,
    structure_status: Sequence[str] | None = None,
    synonyms: Sequence[str] | None = None,
) -> CompoundIdentity:
    """Compound codes and stereo notes for library columns (``""`` for absent values).

    Only structures whose ``structure_status`` is ``"verified"`` are used: an unverified
    structure never decides identity. ``synonyms`` (the library column: one string a row,
    synonyms separated by newlines) only joins records of one skeleton that a synonym names as
    enantiomers (Hyoscyamine's "Levo-atropine" and Atropine). Rows with neither InChIKey nor
    name are compounds of their own.
    """
    n = len(inchikey)
    smiles = smiles if smiles is not None else [""] * n
    status = structure_status if structure_status is not None else [""] * n
    synonyms = synonyms if synonyms is not None else [""] * n
    bases = [(str(inchikey[i] or "").strip(), str(name[i] or "").strip(),
              str(smiles[i] or "") if str(status[i]) == "verified" else "") for i in range(n)]
    # the synonyms of all rows of one record, pooled: rows that differ only in their synonyms stay
    # one record (MassBank repeats a compound in hundreds of rows; pairs are compared once)
    pooled: dict[tuple[str, str, str], set[str]] = {}
    for base, text in zip(bases, synonyms):
        pooled.setdefault(base, set()).update(s.strip() for s in str(text or "").split("\n") if s.strip())
    records = [_Record(*base, tuple(sorted(pooled[base]))) for base in bases]
    # Step 1: rows that can only relate to each other (one skeleton; or no InChIKey, by name).
    groups: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        if rec.inchikey:
            key = "ik:" + skeleton(rec.inchikey)
        elif rec.name:
            key = "nm:" + _optical_key(normalise_name(rec.name))
        else:
            key = f"row:{i}"
        groups.setdefault(key, []).append(i)
    codes = np.empty(n, dtype=np.int64)
    notes = np.full(n, "", dtype=object)
    next_code = 0
    for rows in groups.values():
        # Step 2: group the rows into compounds inside the skeleton (identical records once).
        distinct: dict[_Record, list[int]] = {}
        for i in rows:
            distinct.setdefault(records[i], []).append(i)
        recs = list(distinct)
        if len(recs) == 1:  # most skeletons: nothing to compare
            codes[rows] = next_code
            next_code += 1
            continue
        if len(recs) > MAX_PAIRWISE:
            next_code = _by_key(recs, distinct, codes, notes, next_code)
            continue
        classes, relation = _partition(recs)
        for members in classes:
            for k in members:
                codes[distinct[recs[k]]] = next_code
            next_code += 1
        # Step 3: the notes, when the skeleton holds stereoisomers.
        if len(classes) > 1 or (relation == _ENANTIOMER).any():
            for members in classes:
                note = _note(recs, members, classes, relation)
                for k in members:
                    notes[distinct[recs[k]]] = note
    return CompoundIdentity(codes, notes)


#: Distinct records of one skeleton compared pair by pair at most (the real libraries hold at most
#: 18: MassBank MS/MS); a crafted library with more is grouped by full InChIKey (or name) instead
#: -- pairwise, 4,000 records of one skeleton took minutes to open.
MAX_PAIRWISE = 300
_RELATIONS = ("different", "same", "enantiomer", "diastereomer", "neutral")
_ENANTIOMER, _DIASTEREOMER = _RELATIONS.index("enantiomer"), _RELATIONS.index("diastereomer")


def _by_key(recs: list[_Record], distinct: dict[_Record, list[int]], codes: np.ndarray,
            notes: np.ndarray, next_code: int) -> int:
    """Compounds of a skeleton too large to compare pairwise: one per full InChIKey (upper case),
    or per normalised name without one; every row's note says so. Returns the next free code."""
    by_key: dict[str, int] = {}
    note = (f"{len(recs)} records of one skeleton in the library (more than {MAX_PAIRWISE}): "
            "compounds by full InChIKey, stereoisomers not compared")
    for rec in recs:
        key = rec.inchikey.upper() or normalise_name(rec.name)
        if key not in by_key:
            by_key[key] = next_code
            next_code += 1
        codes[distinct[rec]] = by_key[key]
        notes[distinct[rec]] = note
    return next_code


def _partition(recs: list[_Record]) -> tuple[list[list[int]], np.ndarray]:
    """Union the records that are one compound: definite links first, then "neutral" ones (a
    shared key and unrelated names, e.g. Ethylone / 3,4-methylenedioxyethylcathinone) unless
    that would put two records the evidence tells apart into one compound.

    Returns the classes (indices into ``recs``) and the relation matrix (codes of ``_RELATIONS``).
    Each class keeps the set of classes it must stay apart from, so a join is checked in one look
    (comparing every member of both classes made a skeleton of 400 records take 50 s)."""
    n = len(recs)
    relation = np.zeros((n, n), dtype=np.int8)
    for i in range(n):
        for j in range(i + 1, n):
            relation[i, j] = relation[j, i] = _RELATIONS.index(_relation(recs[i], recs[j]))
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    apart_codes = [_RELATIONS.index("different"), _DIASTEREOMER]
    is_apart = np.isin(relation, apart_codes) & ~np.eye(n, dtype=bool)
    apart: dict[int, set[int]] = {i: set(np.flatnonzero(is_apart[i]).tolist()) for i in range(n)}
    for wanted in (("same", "enantiomer"), ("neutral",)):
        wanted_codes = [_RELATIONS.index(w) for w in wanted]
        for i, j in zip(*np.nonzero(np.triu(np.isin(relation, wanted_codes), 1))):
            ri, rj = find(int(i)), find(int(j))
            if ri == rj or rj in apart[ri]:
                continue
            parent[rj] = ri
            for other in apart.pop(rj):
                apart[other].discard(rj)
                apart[other].add(ri)
                apart[ri].add(other)
    classes: dict[int, list[int]] = {}
    for i in range(n):
        classes.setdefault(find(i), []).append(i)
    return list(classes.values()), relation


def _names(recs: list[_Record]) -> str:
    seen: dict[str, str] = {}
    for rec in recs:
        seen.setdefault(normalise_name(rec.name), rec.name or rec.inchikey)
    return ", ".join(sorted(seen.values(), key=str.lower))


def _note(recs: list[_Record], members: list[int], classes: list[list[int]], relation: np.ndarray) -> str:
    parts = []
    others = [recs[k] for cls in classes if cls is not members for k in cls
              if (relation[k, members] == _DIASTEREOMER).any()]
    if others:
        parts.append(f"stereoisomers in the library that are different compounds (diastereomers): "
                     f"{_names(others)}; mass spectra rarely separate diastereomers -- retention time "
                     "or RI must tell them apart")
    mirrors = [recs[k] for k in members if (relation[k, members] == _ENANTIOMER).any()]
    if mirrors:
        parts.append(f"counted as one compound with its enantiomer or racemate ({_names(mirrors)}): "
                     "mass spectra do not distinguish enantiomers")
    return "; ".join(parts)

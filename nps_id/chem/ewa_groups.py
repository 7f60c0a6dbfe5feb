"""UNODC EWA substance groups: tag a substance (library entry or finding) with its group.

The groups are those of the UNODC Early Warning Advisory (EWA) on new psychoactive substances:
synthetic cannabinoids, synthetic cathinones, phenethylamines, piperazines, tryptamines,
aminoindanes, ketamine- and phencyclidine-type substances, plant-based substances and other
substances -- the last split into subclasses (fentanyl analogues, nitazenes, other opioids,
benzodiazepines) because "other" would hide what matters most in casework.

Entry points
------------
- :func:`classify` -- one substance -> :class:`EwaClass` (group, subclass, effect, NPS or not, why).
- :func:`decided_by_structure` -- whether a SMILES decides :func:`classify` (a rule matches it).
- :func:`structure_is_nps` -- whether a named structure (no library entry: a GC injector relative) is
  placed as an NPS.
- :func:`classify_structures` -- the SMARTS-based class of one bare SMILES or of a set of them
  (a new substance's "suspected group": the group all share, else that of their maximum common
  substructure).
- :func:`effect_label_of` -- the effect group of a group or subclass named by its label (a new
  substance's suspected group, which is such a label).
- :func:`load_taxonomy` -- the rules, from ``ewa_taxonomy.json`` beside this module (versioned).
- :func:`classify_library` -- every entry of an nps-id HDF5 library (tags for a library column).
- :func:`load_overrides` -- a laboratory's own CSV (``key,group,subclass,nps``; key = name or
  InChIKey) that wins over every rule.

Order of evidence (the first that decides wins):

1. the laboratory override (InChIKey, InChIKey first block, or normalised name/synonym);
2. structure: RDKit SMARTS rules on the SMILES or InChI, when the entry has one;
3. names: regular expressions on the normalised name and synonyms (SWGDRUG has no structures);
4. otherwise ``unknown``.

Independently, a list of established drugs, medicines and adulterants (``not_nps`` in the
taxonomy: amphetamine, diazepam, cocaine, bupivacaine, ...) marks a substance as *not* an NPS;
such a substance keeps its chemical group (the list may set one when no rule does) but is never
exported to the EWA. ``nps`` is ``None`` when the taxonomy cannot tell (``unknown`` or plain
"other substances").
"""
from __future__ import annotations

import csv
import functools
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from nps_id.chem.derivatives import MAX_HEAVY_ATOMS, underivatized
from nps_id.compound import normalise_name, skeleton
from nps_id.errors import InputError

TAXONOMY_PATH = Path(__file__).with_name("ewa_taxonomy.json")
#: The taxonomy's group of a substance no rule classifies ("Unknown (not classified)").
UNCLASSIFIED_GROUP = "unknown"
_INCHIKEY = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")


@dataclass(frozen=True)
class EwaClass:
    """The EWA group of one substance and how it was decided.

    Attributes
    ----------
    group, group_label : taxonomy id (e.g. ``"synthetic_cathinones"``) and its label.
    subclass, subclass_label : subclass of "other substances" (e.g. ``"benzodiazepines"``) or None.
    effect, effect_label : the EWA effect group (``"stimulant"``, ``"sedative_hypnotic"``,
        ``"synthetic_opioid"``, ``"classic_hallucinogen"``, ``"dissociative"``,
        ``"synthetic_cannabinoid_receptor_agonist"``) or None (not assigned, or it varies).
    nps : True (an NPS group), False (established drug/medicine/adulterant), None (cannot tell).
    source : ``"override"``, ``"structure"``, ``"name"`` or ``"none"``.
    rule : the rule id, pattern or override key that decided; ``not_nps_reason`` when nps is False.
    taxonomy_version : version of the taxonomy file used.
    """

    group: str
    group_label: str
    subclass: str | None
    subclass_label: str | None
    effect: str | None
    effect_label: str | None
    nps: bool | None
    source: str
    rule: str | None
    not_nps_reason: str | None
    taxonomy_version: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Override:
    """One row of a laboratory override CSV."""

    group: str
    subclass: str | None
    nps: bool | None
    key: str


@functools.lru_cache(maxsize=4)
def load_taxonomy(path: str | Path = TAXONOMY_PATH) -> dict[str, Any]:
    """Read and check the taxonomy JSON (rules, groups, subclasses, not-NPS list).

    Name patterns are compiled here; SMARTS only when a structure is first classified (RDKit is
    imported lazily so that name-only use stays fast).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the EWA taxonomy: {exc}") from exc
    for rule in data["structure_rules"] + data["name_rules"]:
        _check_group(data, rule["group"], rule.get("subclass"), where=f"{path}: rule {rule}")
    data["_name_rules"] = [
        (re.compile(r["pattern"]), r["group"], r.get("subclass"), r["id"]) for r in data["name_rules"]
    ]
    data["_rule_effect"] = {r["id"]: r["effect"] for r in data["structure_rules"] + data["name_rules"] if "effect" in r}
    not_nps: dict[str, dict[str, Any]] = {}
    for entry in data["not_nps"]:
        for name in entry["names"]:
            not_nps[normalise_name(name)] = entry
        for block in entry.get("inchikey_first_blocks", ()):
            not_nps[block] = entry
    data["_not_nps"] = not_nps
    return data


def _check_group(taxonomy: Mapping[str, Any], group: str, subclass: str | None, where: str) -> None:
    if group not in taxonomy["groups"]:
        raise InputError(f"{where}: unknown EWA group {group!r}; expected one of {sorted(taxonomy['groups'])}")
    if subclass is not None:
        sub = taxonomy["subclasses"].get(subclass)
        if sub is None or sub["group"] != group:
            raise InputError(
                f"{where}: unknown subclass {subclass!r} of group {group!r}; expected one of "
                f"{sorted(k for k, v in taxonomy['subclasses'].items() if v['group'] == group)}"
            )


@functools.lru_cache(maxsize=4)
def _compiled_smarts(path: str) -> list[tuple[Any, int, str, str | None, str]]:
    from rdkit import Chem  # lazy: rdkit takes ~0.3 s to import

    taxonomy = load_taxonomy(path)
    compiled = []
    for rule in taxonomy["structure_rules"]:
        pattern = Chem.MolFromSmarts(rule["smarts"])
        if pattern is None:
            raise InputError(f"{path}: structure rule {rule['id']!r} has an invalid SMARTS")
        compiled.append((pattern, rule["max_heavy_atoms"], rule["group"], rule.get("subclass"), rule["id"]))
    return compiled


#: A structure written in more characters is not read (classified by its names): no drug's is
#: near it (20 per heavy atom of :data:`~nps_id.chem.derivatives.MAX_HEAVY_ATOMS`), and RDKit
#: took 11 s to read a hand-edited SMILES of 30,000 characters (a report's; longer, minutes).
MAX_STRUCTURE_CHARS = 20 * MAX_HEAVY_ATOMS


def _mol(smiles: str | None, inchi: str | None):
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles) if smiles and len(smiles) <= MAX_STRUCTURE_CHARS else None
    if mol is None and inchi and len(inchi) <= MAX_STRUCTURE_CHARS:
        mol = Chem.MolFromInchi(inchi)
    return mol


#: Appended to the structure rule that classified a derivative's drug (``EwaClass.rule``).
DERIVATIVE = " (derivative)"


@functools.lru_cache(maxsize=1 << 14)  # a library's records repeat structures (MassBank EI: 9,005 in 11,050)
def _structure(smiles: str | None, inchi: str | None, path: str) -> tuple[tuple[str, str | None, str] | None, str | None]:
    """What a structure decides: the structure rule that matches it (or its drug's, when it is a
    derivative), and the InChIKey of the drug a derivative was made of (None: no derivative). The
    drug is found once (:func:`underivatized`) for both."""
    from rdkit import rdBase

    # an unparsable structure falls back to names, InChI's stereo warnings on the drug: unsaid -- for
    # this call only, not for a library user's whole process (stop 45)
    with rdBase.BlockLogs():
        return _decided(smiles, inchi, path)


def _decided(smiles: str | None, inchi: str | None, path: str) -> tuple[tuple[str, str | None, str] | None, str | None]:
    """:func:`_structure`, RDKit's log blocked."""
    mol = _mol(smiles, inchi)
    if mol is None:
        return None, None
    parent = underivatized(mol)
    found = _by_rules(mol, path)
    if found is None and parent is not None:
        # a TFA, HFBA, PFPA, TPC or silyl derivative is its drug, analysed after derivatization:
        # its group is the drug's (4-EMA TFA derivative: phenethylamines)
        found = _by_rules(parent, path)
        if found is not None:
            found = (found[0], found[1], found[2] + DERIVATIVE)
    if parent is None:
        return found, None
    from rdkit import Chem

    return found, Chem.MolToInchiKey(parent) or None


def _by_structure(smiles: str | None, inchi: str | None, path: str) -> tuple[str, str | None, str] | None:
    return _structure(smiles, inchi, path)[0]


def decided_by_structure(smiles: str, taxonomy_path: str | Path = TAXONOMY_PATH) -> bool:
    """Whether :func:`classify` given this SMILES goes by it: a structure rule matches it (or the
    drug of a derivative). When none does, the SMILES changes nothing and the names decide, so a
    caller need not verify it first (:meth:`nps_id.match.library_facts.LibraryFacts.group`)."""
    return _by_structure(smiles, None, str(taxonomy_path)) is not None


def _by_rules(mol: Any, path: str) -> tuple[str, str | None, str] | None:
    heavy = mol.GetNumHeavyAtoms()
    for pattern, max_heavy, group, subclass, rule_id in _compiled_smarts(path):
        # The size cap keeps big medicines that merely contain the motif (an aryl-ethyl-amine in
        # verapamil) out of the small-molecule NPS groups.
        if heavy <= max_heavy and mol.HasSubstructMatch(pattern):
            return group, subclass, rule_id
    return None


def _by_name(names: Iterable[str], taxonomy: Mapping[str, Any]) -> tuple[str, str | None, str] | None:
    for regex, group, subclass, rule_id in taxonomy["_name_rules"]:
        if any(regex.search(name) for name in names):
            return group, subclass, rule_id
    return None


def _not_nps_entry(
    names: Iterable[str], inchikey: str | None, taxonomy: Mapping[str, Any]
) -> dict[str, Any] | None:
    table = taxonomy["_not_nps"]
    if skeleton(inchikey) in table:
        return table[skeleton(inchikey)]
    for name in names:
        entry = table.get(name)
        if entry is None:
            # MassBank-style "3,4-Methylenedioxyamphetamine (MDA)": also try the part in brackets
            # and the part before it.
            match = re.fullmatch(r"(.*?)\s*\(([^()]+)\)", name)
            if match:
                entry = table.get(match.group(1)) or table.get(match.group(2))
        if entry is not None:
            return entry
    return None


def classify(
    name: str | None,
    synonyms: Iterable[str] = (),
    *,
    smiles: str | None = None,
    inchi: str | None = None,
    inchikey: str | None = None,
    overrides: Mapping[str, Override] | None = None,
    taxonomy_path: str | Path = TAXONOMY_PATH,
) -> EwaClass:
    """The EWA group of one substance.

    Parameters
    ----------
    name, synonyms : the names the library gives (any spelling: ``.alpha.-PVP``, ``α-PVP``).
    smiles, inchi : a structure, when known; structure rules are tried before names.
    inchikey : matched (full key or first block) against overrides and the not-NPS list.
    overrides : from :func:`load_overrides`; a match wins over every rule.
    taxonomy_path : the taxonomy JSON; default the one shipped with nps-id.

    Examples
    --------
    >>> c = classify("Flubromazepam")
    >>> (c.group, c.subclass, c.nps, c.source)
    ('other_substances', 'benzodiazepines', True, 'name')
    >>> classify("Bupivacaine").nps
    False
    """
    taxonomy = load_taxonomy(str(taxonomy_path))
    names = [normalise_name(n) for n in ([name] if name else []) + list(synonyms) if n]
    override = _find_override(overrides, names, inchikey)
    if override is not None:
        return _make(taxonomy, override.group, override.subclass, "override", override.key,
                     nps=override.nps, not_nps_reason=None)
    decided, parent_key = _structure(smiles, inchi, str(taxonomy_path)) if (smiles or inchi) else (None, None)
    source = "structure" if decided else "none"
    if decided is None:
        decided = _by_name(names, taxonomy)
        source = "name" if decided else "none"
    group, subclass, rule = decided if decided else (UNCLASSIFIED_GROUP, None, None)
    entry = _not_nps_entry(names, inchikey, taxonomy)
    if entry is None and parent_key is not None:
        # a derivative of an established drug is that drug (methyl ecgonine TMS: cocaine's chemistry)
        entry = _not_nps_entry((), parent_key, taxonomy)
    if entry is not None:
        if "group" in entry:  # the list knows better than a motif (e.g. dextromethorphan)
            group, subclass = entry["group"], entry.get("subclass")
            source, rule = ("name", "not_nps list") if source == "none" else (source, rule)
        return _make(taxonomy, group, subclass, source, rule, nps=False, not_nps_reason=entry["reason"])
    # a subclass of "other substances" says itself (fentanyl analogues: NPS; anabolic steroids: not)
    nps = taxonomy["subclasses"][subclass]["nps"] if subclass else taxonomy["groups"][group]["nps"]
    return _make(taxonomy, group, subclass, source, rule, nps=nps, not_nps_reason=None)


def _make(taxonomy, group, subclass, source, rule, *, nps, not_nps_reason) -> EwaClass:
    effect = _effect(taxonomy, group, subclass, rule)
    return EwaClass(
        group=group,
        group_label=taxonomy["groups"][group]["label"],
        subclass=subclass,
        subclass_label=taxonomy["subclasses"][subclass]["label"] if subclass else None,
        effect=effect,
        effect_label=taxonomy["effects"][effect]["label"] if effect else None,
        nps=nps,
        source=source,
        rule=rule,
        not_nps_reason=not_nps_reason,
        taxonomy_version=taxonomy["version"],
    )


def _effect(taxonomy, group: str, subclass: str | None, rule: str | None) -> str | None:
    """The rule's own effect, else the subclass's, else the group's."""
    rule = rule.removesuffix(DERIVATIVE) if rule else rule  # a derivative's rule is its drug's
    if rule in taxonomy["_rule_effect"]:
        return taxonomy["_rule_effect"][rule]
    return (taxonomy["subclasses"][subclass] if subclass else taxonomy["groups"][group]).get("effect")


def effect_label_of(label: str | None, taxonomy_path: str | Path = TAXONOMY_PATH) -> str | None:
    """The EWA effect group label of the subclass or group whose label is ``label`` -- a new
    substance's ``suspected_group`` ("Other sedatives/hypnotics (barbiturates, ...)" ->
    "Sedatives/hypnotics"), whose members all have it. None for a label the taxonomy does not know,
    for a class the EWA gives no effect (plant-based substances, which UNODC leaves out of its effect
    groups; plain "other substances"; anabolic steroids), and for one whose members a rule gives
    another effect: the group alone does not say which (phenethylamines: stimulants, but the
    2,5-dimethoxy ones classic hallucinogens). A subclass is looked up before a group."""
    taxonomy = load_taxonomy(str(taxonomy_path))
    found = _class_labelled(taxonomy, label)
    if found is None or not found[2].get("effect"):
        return None
    subclass, group, entry = found
    varies = any(rule["id"] in taxonomy["_rule_effect"] and taxonomy["_rule_effect"][rule["id"]] != entry["effect"]
                 and (rule.get("subclass") == subclass if subclass else
                      rule["group"] == group and not rule.get("subclass"))
                 for rule in taxonomy["structure_rules"] + taxonomy["name_rules"])
    return None if varies else taxonomy["effects"][entry["effect"]]["label"]


def _class_labelled(taxonomy: Mapping[str, Any], label: str | None) -> tuple[str | None, str, dict] | None:
    """(subclass id or None, group id, its entry) of the class whose label is ``label`` (labels are
    unique across subclasses and groups; a subclass is looked up first), or None."""
    for key, entry in taxonomy["subclasses"].items():
        if label and entry["label"] == label:
            return key, entry["group"], entry
    for key, entry in taxonomy["groups"].items():
        if label and entry["label"] == label:
            return None, key, entry
    return None


def placed(label: str | None, taxonomy_path: str | Path = TAXONOMY_PATH) -> dict[str, str | None]:
    """The group and subclass (ids ``group``, ``subclass``; labels ``group_label``, ``subclass_label``)
    of the class whose label is ``label``: a new substance's ``suspected_group`` names a subclass
    ("Benzodiazepines") or a group ("Synthetic cathinones"), and the reports file a subclass under
    its group ("Other substances"), as they file an identified etizolam -- an EWA row "Benzodiazepines"
    beside "Other substances / Benzodiazepines" split one class in two (stop 40). A label the taxonomy
    does not know (or None) is kept as the group label, with no ids."""
    taxonomy = load_taxonomy(str(taxonomy_path))
    subclass, group, _ = _class_labelled(taxonomy, label) or (None, None, None)
    return {"group": group, "group_label": taxonomy["groups"][group]["label"] if group else label,
            "subclass": subclass, "subclass_label": label if subclass else None}


def _find_override(overrides: Mapping[str, Override] | None, names: list[str], inchikey: str | None):
    if not overrides:
        return None
    if inchikey:
        key = inchikey.strip().upper()
        hit = overrides.get(key) or overrides.get(skeleton(key))
        if hit is not None:
            return hit
    for name in names:
        if name in overrides:
            return overrides[name]
    return None


def load_overrides(path: str | Path, taxonomy_path: str | Path = TAXONOMY_PATH) -> dict[str, Override]:
    """Read a laboratory override CSV: columns ``key,group`` and optionally ``subclass,nps``.

    ``key`` is an InChIKey (full, or its 14-letter first block) or a substance name (matched
    after :func:`normalise_name`). ``nps`` is ``yes``/``no``/empty (empty: the group decides).
    Raises :class:`InputError` naming the file and line of a bad row.
    """
    path = Path(path)
    taxonomy = load_taxonomy(str(taxonomy_path))
    table: dict[str, Override] = {}
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the EWA override file: {exc}") from exc
    try:  # -sig: Excel's "CSV UTF-8" starts with a byte order mark; its plain "CSV" is cp1252
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8; save the override "
                         "table as CSV UTF-8") from None
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"key", "group"} <= set(reader.fieldnames):
            raise InputError(f"{path}: line 1: expected a header with at least 'key,group' (got {reader.fieldnames})")
        for row in reader:
            line = reader.line_num
            key = (row.get("key") or "").strip()
            group = (row.get("group") or "").strip()
            subclass = (row.get("subclass") or "").strip() or None
            if not key or not group:
                raise InputError(f"{path}: line {line}: 'key' and 'group' must not be empty")
            _check_group(taxonomy, group, subclass, where=f"{path}: line {line}")
            nps = _parse_yes_no(row.get("nps"), f"{path}: line {line}")
            if nps is None and not (group == "other_substances" and subclass is None):
                nps = taxonomy["groups"][group]["nps"] if subclass is None else taxonomy["subclasses"][subclass]["nps"]
            is_key = _INCHIKEY.match(key.upper()) or re.fullmatch(r"[A-Z]{14}", key)
            norm = key.upper() if is_key else normalise_name(key)
            table[norm] = Override(group=group, subclass=subclass, nps=nps, key=key)
    return table


def _parse_yes_no(value: str | None, where: str) -> bool | None:
    text = (value or "").strip().lower()
    if text in ("", "unknown"):
        return None
    if text in ("yes", "true", "1"):
        return True
    if text in ("no", "false", "0"):
        return False
    raise InputError(f"{where}: 'nps' must be yes, no or empty (got {value!r})")


def structure_is_nps(name: str | None, smiles: str | None) -> bool:
    """Whether :func:`classify` places a structure as an NPS (``nps`` true) by its own name and
    SMILES, its InChIKey looked up in the not-NPS list as a library entry's is; False for a SMILES
    RDKit cannot read."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles or "")
    if mol is None:
        return False
    return classify(name, smiles=smiles, inchikey=Chem.MolToInchiKey(mol) or None).nps is True


def classify_structures(smiles: Iterable[str], taxonomy_path: str | Path = TAXONOMY_PATH) -> EwaClass:
    """The structure-rule class of one SMILES or of a set (no names, no not-NPS list).

    When the structures do not all fall into one class, their maximum common substructure (RDKit
    FMCS, ring bonds kept whole, 10 s at most) is classified instead; ``unknown`` when nothing
    matches.
    """
    taxonomy = load_taxonomy(str(taxonomy_path))
    smiles = [s for s in smiles if s]
    found = {_by_structure(s, None, str(taxonomy_path)) for s in smiles}
    if len(found) == 1 and None not in found:
        (decided,) = found
    else:
        decided = _by_structure(_common_substructure(smiles), None, str(taxonomy_path)) if len(smiles) > 1 else None
    group, subclass, rule = decided if decided else (UNCLASSIFIED_GROUP, None, None)
    nps = taxonomy["subclasses"][subclass]["nps"] if subclass else taxonomy["groups"][group]["nps"]
    return _make(taxonomy, group, subclass, "structure" if decided else "none", rule, nps=nps, not_nps_reason=None)


def _common_substructure(smiles: list[str]) -> str | None:
    """SMILES of the maximum common substructure of ``smiles`` (None when there is none)."""
    from rdkit import Chem, rdBase
    from rdkit.Chem import rdFMCS

    with rdBase.BlockLogs():  # unparsable structures left out, an MCS timeout: unsaid (this call only: stop 45)
        mols = [m for m in (_mol(s, None) for s in smiles) if m is not None]
        if len(mols) < 2:
            return None
        result = rdFMCS.FindMCS(mols, ringMatchesRingOnly=True, completeRingsOnly=True, timeout=10)
    if not result.numAtoms:
        return None
    # the MCS as a molecule: the first structure's atoms that it matches
    query = Chem.MolFromSmarts(result.smartsString)
    atoms = mols[0].GetSubstructMatch(query)
    return Chem.MolFragmentToSmiles(mols[0], atomsToUse=list(atoms)) if atoms else None


def taxonomy_version(taxonomy_path: str | Path = TAXONOMY_PATH) -> str:
    """The version string of the taxonomy (recorded in every report and EWA export)."""
    return load_taxonomy(str(taxonomy_path))["version"]


def classify_library(library, overrides: Mapping[str, Override] | None = None) -> list[EwaClass]:
    """EWA class of every entry of an open :class:`nps_id.library.Library`, in row order.

    Uses the ``smiles``/``inchi`` columns where the library has them (MassBank), else the
    ``name`` and ``synonyms`` columns (SWGDRUG); ``inchikey`` for overrides and the not-NPS list.
    """
    present = set(library.columns)

    def column(name: str) -> list[str]:
        return [str(v) for v in library.column(name)] if name in present else [""] * library.n_spectra

    names, synonyms = column("name"), column("synonyms")
    smiles, inchi, keys = column("smiles"), column("inchi"), column("inchikey")
    return [
        # string lists are joined with "\n" (docs/library-format.md, string-list-array)
        classify(names[i], [s for s in synonyms[i].split("\n") if s], smiles=smiles[i] or None,
                 inchi=inchi[i] or None, inchikey=keys[i] or None, overrides=overrides)
        for i in range(library.n_spectra)
    ]

"""Structures for library records: obtain candidates, verify each one, store only what agrees.

Entry points
------------
- :func:`resolve_structures` -- fill the ``smiles``, ``inchi``, ``structure_source`` and
  ``structure_status`` columns of a library being built; returns one :class:`StructureStep` per
  step (stored as the library's ``provenance/structures``).
- :func:`read_structure_table` -- a laboratory's table of structures (TSV or CSV with the columns
  ``inchikey`` and ``smiles`` or ``inchi``).
- :func:`default_tables` -- the tables shipped in ``libraries/`` that every build consults.
- :func:`name_variants` -- the spellings of one record name handed to OPSIN.
- :func:`java_path` -- the Java runtime OPSIN needs (None when there is none).
- :class:`Chemistry` -- InChIKey, InChI and formula of a SMILES or InChI (RDKit, cached).

Steps of :func:`resolve_structures` (``# Step n``); steps 2-8 look only at records that do not
yet have a structure whose *full* InChIKey agrees with theirs:

1. source -- the record's own SMILES or InChI (MassBank, MSP ``SMILES:``/``InChI:``, MGF, ...);
2. libraries -- another nps-id library's structure for the same full InChIKey;
3. tables -- a table's structure for the same full InChIKey;
4. stereo -- a library's or table's structure with the same first block, made the record's
   exact stereoisomer (kept only when the full InChIKey then agrees);
5. names -- OPSIN on every spelling of the record's name and synonyms, all in one Java call;
6. stereo -- first-block matches of step 5 made exact (they are the parents of step 7);
7. derived -- derivatives (TFA, HFBA, TMS, acetyl, esters, ...) and deuterium-labelled
   standards built from a parent's structure (:mod:`nps_id.library.structure_variants`);
8. stereo -- first-block matches of step 7 made the record's exact stereoisomer.

The verification rule (:meth:`_Resolver.grade`), the same for every step: RDKit computes the
candidate's InChIKey and formula. Full InChIKey equal to the record's: stored, ``verified``.
First block equal and formula equal: stored, ``verified`` (a full key is preferred when one is
found). Record without an InChIKey but formula equal: stored, ``unverified`` (never used for a
verdict); so is a record's *own* structure when the record has neither an InChIKey nor a
formula to check it against (steps 2-8 skip such records). Anything else is not stored; a candidate whose InChIKey contradicts the record's is
counted as rejected. Libraries and tables must match the full InChIKey. A record whose InChIKey
the build computed from its own structure (see ``build._read_source``) arrives ``unverified``
and is checked by formula only: its key is not independent evidence.
"""
from __future__ import annotations

import csv
import gzip
import re
import shutil
import tempfile
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from nps_id._hashing import sha256_path
from nps_id.chem.formula import parse_formula
from nps_id.errors import InputError
from nps_id.library.structure_variants import INCHI_MAX_ATOMS, keyable_mol, mol_formula

VERIFIED, UNVERIFIED = "verified", "unverified"
#: The columns this module adds to a library (besides ``smiles`` and ``inchi``).
STRUCTURE_COLUMNS = ("structure_source", "structure_status")
#: Candidate grades, best last.
_REJECT, _UNVERIFIED, _BLOCK, _FULL = -1, 1, 2, 3
_INCHIKEY = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")


@dataclass
class StructureStep:
    """What one step of :func:`resolve_structures` did (a ``provenance/structures`` record).

    ``tried`` counts records offered a candidate, ``improved`` those whose structure came from
    this step when it ran (a later step may still replace a first-block match with a full one),
    ``rejected`` the candidates refused (unreadable, or not agreeing with their record: for
    names that includes every synonym OPSIN read as another compound), ``skipped`` why the
    step did not run ("" when it ran).
    """

    step: str
    origin: str
    sha256: str = ""
    tried: int = 0
    improved: int = 0
    rejected: int = 0
    skipped: str = ""

    def provenance(self) -> dict[str, Any]:
        from nps_id.library.writer import utc_now

        return {"step": self.step, "origin": self.origin, "sha256": self.sha256,
                "tried": self.tried, "improved": self.improved, "rejected": self.rejected,
                "skipped": self.skipped, "added": utc_now()}


# -- chemistry (RDKit, imported on first use) ----------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """A structure as stored (SMILES, InChI) with what verification compares."""

    smiles: str
    inchi: str
    inchikey: str
    formula: tuple[Counter, int]


def formula_agrees(record: tuple[Counter, int], structure: tuple[Counter, int]) -> bool:
    """Same elements, counts and charge. Deuterium and tritium count as hydrogen unless the
    record's formula names them (MassBank writes a D3 compound's formula with H only; SWGDRUG
    writes D, and a non-labelled structure must not pass for a labelled record)."""
    (rec, rec_charge), (mol, mol_charge) = record, structure
    if rec_charge != mol_charge:
        return False
    if not (rec["D"] or rec["T"]):
        mol = Counter(mol)
        mol["H"] += mol.pop("D", 0) + mol.pop("T", 0)
    return +rec == +mol


class Chemistry:
    """InChIKey, InChI and formula of a SMILES or InChI, cached by text (RDKit loads on first use)."""

    def __init__(self) -> None:
        self._rdkit: Any = None
        self._block_logs: Any = None
        self._cache: dict[tuple[str, str], Identity | None] = {}

    def identity(self, smiles: str, inchi: str) -> Identity | None:
        """The identity of the SMILES (else of the InChI); None when neither reads.

        The SMILES is what a library stores and uses, so it is what is checked; a given InChI
        is kept only when its InChIKey is the SMILES's, else the computed one replaces it.
        """
        key = (smiles, inchi)
        if key not in self._cache:
            if self._rdkit is None:
                from rdkit import Chem, rdBase

                self._rdkit, self._block_logs = Chem, rdBase.BlockLogs
            # unparseable candidates are expected: counted, unsaid -- for this lookup only, not for a
            # library user's whole process (stop 45)
            with self._block_logs():
                self._cache[key] = self._lookup(smiles, inchi)
        return self._cache[key]

    def _lookup(self, smiles: str, inchi: str) -> Identity | None:
        found = self._compute(smiles, from_inchi=False) if smiles else None
        if found is None and inchi:
            return self._compute(inchi, from_inchi=True)
        if found is not None and inchi and self._rdkit.InchiToInchiKey(inchi) == found.inchikey:
            return Identity(found.smiles, inchi, found.inchikey, found.formula)
        return found

    def _compute(self, text: str, from_inchi: bool) -> Identity | None:
        chem = self._rdkit
        mol = chem.MolFromInchi(text) if from_inchi else keyable_mol(text)
        if mol is None or not 0 < mol.GetNumAtoms() <= INCHI_MAX_ATOMS:
            return None
        inchi = text if from_inchi else chem.MolToInchi(mol) or ""
        inchikey = (chem.InchiToInchiKey(inchi) or "") if inchi else ""
        if not inchikey:
            return None
        return Identity(chem.MolToSmiles(mol) if from_inchi else text, inchi, inchikey, mol_formula(mol))


# -- candidates from tables, libraries and names ------------------------------------------------
def default_tables() -> list[Path]:
    """The structure tables shipped in this checkout's ``libraries/`` (``structures-*.tsv*``)."""
    folder = Path(__file__).resolve().parents[2] / "libraries"
    return sorted(folder.glob("structures-*.tsv*"))


def read_structure_table(path: str | Path) -> dict[str, tuple[str, str]]:
    """Full InChIKey -> (SMILES, InChI) from a TSV or CSV table (``.gz`` allowed).

    The header must name ``inchikey`` and ``smiles`` or ``inchi`` (any case; other columns are
    ignored). The delimiter is a comma for ``.csv``, a tab otherwise. The first row of a key
    wins. The file is read as a stream, line by line (a gzip of blank lines costs no memory), a
    line at most :data:`_MAX_TABLE_LINE` bytes. Raises :class:`InputError` naming the file (and
    line) when it cannot be used.
    """
    from nps_id._paths import not_a_regular_file

    path = Path(path)
    special = not_a_regular_file(path)  # a FIFO would block the build forever
    if special:
        raise InputError(f"{path}: {special}")
    delimiter = "," if path.name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    try:
        with open(path, "rb") as raw, (gzip.GzipFile(fileobj=raw) if path.suffix.lower() == ".gz" else raw) as binary:
            rows = csv.reader(_table_lines(path, binary), delimiter=delimiter)
            try:
                return _table_rows(path, rows)
            except csv.Error as exc:  # a field over csv's 131,072 characters: no structure is so long
                raise InputError(f"{path}: line {rows.line_num}: {exc}") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read the structure table ({exc})") from None


#: Longest line of a structure table, bytes (a SMILES of a drug is a few hundred characters).
_MAX_TABLE_LINE = 1 << 20


def _table_lines(path: Path, binary: Any) -> Iterator[str]:
    """The table's lines as text (UTF-8, a byte-order mark dropped), each checked on its own so
    that an error names its line."""
    number = 0
    while line := binary.readline(_MAX_TABLE_LINE + 1):
        number += 1
        if len(line) > _MAX_TABLE_LINE:
            raise InputError(f"{path}: line {number}: longer than {_MAX_TABLE_LINE:,} bytes")
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: line {number}: not UTF-8") from None


def _table_rows(path: Path, rows: Iterator[list[str]]) -> dict[str, tuple[str, str]]:
    header = [h.strip().lower() for h in next(rows, [])]
    if "inchikey" not in header or not {"smiles", "inchi"} & set(header):
        raise InputError(f"{path}: line 1: a structure table needs the columns 'inchikey' and "
                         f"'smiles' or 'inchi' (found {', '.join(header) or 'nothing'})")
    where = {name: header.index(name) for name in ("inchikey", "smiles", "inchi") if name in header}
    table: dict[str, tuple[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: row[i].strip() if i < len(row) else "" for name, i in where.items()}
        key = cells["inchikey"].upper()
        if not _INCHIKEY.match(key):
            raise InputError(f"{path}: line {line}: {cells['inchikey']!r} is not an InChIKey")
        if cells.get("smiles") or cells.get("inchi"):
            table.setdefault(key, (cells.get("smiles", ""), cells.get("inchi", "")))
    return table


def _library_structures(path: Path) -> tuple[dict[str, tuple[str, str]], str]:
    """Full InChIKey -> (SMILES, InChI) of another nps-id library, and its content hash.

    Rows marked ``unverified`` are left out: their InChIKey came from their own structure. The
    library is checked as every command checks one it relies on (``open_verified``): the hash
    the provenance records must be the content the structures came from, so a donor whose
    content no longer meets its stored hash is refused (:class:`LibraryError`, exit code 4).
    """
    from nps_id.library.validate import open_verified

    with open_verified(path) as lib:
        keys, smiles, inchi = (lib.column(c) for c in ("inchikey", "smiles", "inchi"))
        status = (lib.column("structure_status") if "structure_status" in lib.columns
                  else np.full(lib.n_spectra, "", dtype=object))
        found = {}
        for key, s, i, st in zip(keys, smiles, inchi, status):
            if key and (s or i) and st != UNVERIFIED:
                found.setdefault(str(key), (str(s), str(i)))
        return found, lib.sha256


_GREEK = {"±": "+/-", "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ω": "omega", "Δ": "delta"}
_DOTTED_GREEK = re.compile(r"\.(alpha|beta|gamma|delta|omega)\.", re.IGNORECASE)
_SALT = re.compile(
    r"[\s,]*\b(?:mono|di|tri)?(?:hydrochloride|hydrobromide|HCl|HBr|hemisulfate|sulfate|sulphate|"
    r"citrate|tartrate|bitartrate|maleate|fumarate|oxalate|phosphate|mesylate|acetate salt|"
    r"hydrate|monohydrate|salt|free base|freebase|base)\b\.?\s*$", re.IGNORECASE)
_NOTE = re.compile(r"\s*\((?:not certified[^)]*|free ?base|racemic|racemate|[^()]*isomer unknown)\)\s*$",
                   re.IGNORECASE)
_STEREO_PREFIX = re.compile(
    r"^(?:\((?:[RS±+\-]|\+/-|RS|SR|R,S|S,R|RS/S|R\*,S\*|E|Z|\d[RS](?:,\d[RS])*)\)|dl|DL|rac|d|l|D|L|"
    r"\(\+-\)|\(\+/-\)|\(±\))-\s*")
_ESTER = re.compile(r"^(methyl|ethyl|propyl|isopropyl|butyl|phenyl|naphthalen-[12]-yl|"
                    r"quinolin-8-yl)-(?=.*ate$)", re.IGNORECASE)


#: Trivial parents OPSIN does not know, as substitutable systematic names ("4-Fluoro" +
#: "methamphetamine" -> "N-methyl-1-(4-fluorophenyl)propan-2-amine").
_SKELETONS = {
    "methamphetamine": "N-methyl-1-({}phenyl)propan-2-amine",
    "methamfetamine": "N-methyl-1-({}phenyl)propan-2-amine",
    "ethylamphetamine": "N-ethyl-1-({}phenyl)propan-2-amine",
    "amphetamine": "1-({}phenyl)propan-2-amine",
    "methcathinone": "2-(methylamino)-1-({}phenyl)propan-1-one",
    "ethcathinone": "2-(ethylamino)-1-({}phenyl)propan-1-one",
    "ethylcathinone": "2-(ethylamino)-1-({}phenyl)propan-1-one",
    "cathinone": "2-amino-1-({}phenyl)propan-1-one",
    "phenethylamine": "2-({}phenyl)ethan-1-amine",
    "n-methylcathinone": "2-(methylamino)-1-({}phenyl)propan-1-one",
    "n-ethylcathinone": "2-(ethylamino)-1-({}phenyl)propan-1-one",
    "n-propylcathinone": "2-(propylamino)-1-({}phenyl)propan-1-one",
    "n-butylcathinone": "2-(butylamino)-1-({}phenyl)propan-1-one",
    "n,n-dimethylcathinone": "2-(dimethylamino)-1-({}phenyl)propan-1-one",
    "n-ethylamphetamine": "N-ethyl-1-({}phenyl)propan-2-amine",
    "n-propylamphetamine": "N-propyl-1-({}phenyl)propan-2-amine",
}
_SUBSTITUENTS = re.compile(r"^[a-z(),\d\-]*$", re.IGNORECASE)
#: Aryl ketones ("4-Fluoro-alpha-pyrrolidinovalerophenone" ->
#: "1-(4-fluorophenyl)-2-(pyrrolidin-1-yl)pentan-1-one").
_PHENONE = re.compile(r"^(?P<subs>[a-z(),\d\-']*?)-?(?:alpha-)?(?P<amine>pyrrolidino|methylamino|"
                      r"ethylamino|amino)?(?P<chain>aceto|propio|butyro|butio|valero|pentio|hexano|"
                      r"heptano|octano)phenone$", re.IGNORECASE)
_CHAINS = {"aceto": "ethan", "propio": "propan", "butyro": "butan", "butio": "butan",
           "valero": "pentan", "pentio": "pentan", "hexano": "hexan", "heptano": "heptan",
           "octano": "octan"}
_AMINES = {"pyrrolidino": "pyrrolidin-1-yl", "methylamino": "methylamino", "ethylamino": "ethylamino",
           "amino": "amino"}


def _ascii(name: str) -> str:
    """Greek letters spelled out, typographic dashes and primes as ASCII, the rest dropped."""
    for letter, word in _GREEK.items():
        name = name.replace(letter, word)
    name = (name.replace("\u2032", "'").replace("\u2033", "''").replace("\u2019", "'")
            .replace("\u2010", "-").replace("\u2011", "-").replace("\u2013", "-").replace("\u2212", "-"))
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")


def name_variants(name: str) -> list[str]:
    """Spellings of ``name`` that OPSIN may parse, the closest to the original first."""
    return list(_spellings(name))


@lru_cache(maxsize=65536)  # a build asks for the spellings of each name several times
def _spellings(name: str) -> tuple[str, ...]:
    """:func:`name_variants`, cached.

    ``.alpha.`` -> ``alpha`` (and Greek letters), salts, ``(free base)`` and "not certified"
    notes dropped, stray spaces after locant commas removed, then variants without a leading
    stereo or optical prefix (``(±)-``, ``dl-``, ``(R)-``), with a trivial parent OPSIN does
    not know spelled systematically (``4-Fluoromethamphetamine`` ->
    ``N-methyl-1-(4-fluorophenyl)propan-2-amine``) and with an ester written as two words
    (``Methyl-(...)-L-valinate`` -> ``methyl N-(...)-L-valinate``).
    """
    text = _DOTTED_GREEK.sub(lambda m: m.group(1).lower(), _ascii(" ".join(name.split())))
    text = text.strip(" ,;")
    for _ in range(2):  # "X (free base) hydrochloride"
        text = _NOTE.sub("", _SALT.sub("", text)).strip(" ,;")
    text = re.sub(r"(\d'?),\s+(?=\d)", r"\1,", text)  # "3', 4', 5'-" -> "3',4',5'-"
    text = text.replace("(n)-", "").replace("(iso)", "iso")
    out = [text]
    bare = _STEREO_PREFIX.sub("", text)
    if bare != text:
        out.append(bare)
    for parent, systematic in _SKELETONS.items():  # every split: the check keeps the right one
        subs = bare[: len(bare) - len(parent)].lower()
        if bare.lower().endswith(parent) and _SUBSTITUENTS.match(subs) and not subs.startswith("n"):
            out.append(systematic.format(subs.rstrip("-")))
    phenone = _PHENONE.match(bare)
    if phenone:
        subs = phenone.group("subs").replace("'", "").lower().strip("-")
        amine = _AMINES.get((phenone.group("amine") or "").lower())
        out.append(f"1-({subs}phenyl)" + (f"-2-({amine})" if amine else "")
                   + f"{_CHAINS[phenone.group('chain').lower()]}-1-one")
    out += _balanced(bare)
    for wrong, right in _SLIPS:
        if wrong in bare:
            out.append(bare.replace(wrong, right))
    for base in list(out):
        if _ESTER.match(base):
            ester = _ESTER.sub(lambda m: m.group(1).lower() + " ", base)
            out.append(ester)
            if re.search(r"-carbonyl\)-[DL]-\w+ate$", ester):
                out.append(re.sub(r"^(\S+) \(", r"\1 N-(", ester))
    return tuple(v for v in dict.fromkeys(out) if v)


#: Slips seen in library synonyms: "1-(4-methoxybenzyl)methanimine" names the imine's aryl as
#: a benzyl (one CH2 too many); "triazo[4,3-a]" for "triazolo[4,3-a]".
_SLIPS = (("benzyl)methanimine", "phenyl)methanimine"), ("triazo[", "triazolo["),
          ("]-triazo", "]triazolo"), (", methyl ester", " methyl ester"), (", ethyl ester", " ethyl ester"))


def _balanced(name: str) -> list[str]:
    """Spellings of a name with one unmatched ``)`` or ``]`` given its opening bracket, placed
    after each dash before it (``cis-N-1-(2-fluorophenethyl)-3-methylpiperidin-4-yl)-N-...``)."""
    depth = 0
    for i, char in enumerate(name):
        depth += char in "([" and 1 or (char in ")]" and -1) or 0
        if depth < 0:
            opening = "(" if char == ")" else "["
            return [name[:j + 1] + opening + name[j + 1:] for j in range(i) if name[j] == "-"][:8]
    return []


def java_path() -> str | None:
    """The ``java`` executable OPSIN runs with, or None when there is none on PATH."""
    return shutil.which("java")


class OpsinUnavailable(Exception):
    """OPSIN could not run (no Java, py2opsin missing or failing); the message says which."""


def opsin_smiles(names: Sequence[str]) -> dict[str, str]:
    """SMILES of every name OPSIN parses, in one Java call (names it cannot parse are left out).

    Raises
    ------
    OpsinUnavailable
        No ``java``, no ``py2opsin``, or the call failed.
    """
    if not names:
        return {}
    if java_path() is None:
        raise OpsinUnavailable("no Java runtime ('java' not on PATH)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # py2opsin warns on every name OPSIN cannot parse
        try:
            from py2opsin import py2opsin
        except ImportError as exc:
            raise OpsinUnavailable(f"py2opsin is not installed ({exc})") from None
        with tempfile.TemporaryDirectory(prefix="nps-id-opsin-") as tmp:
            try:
                result = py2opsin(list(names), tmp_fpath=str(Path(tmp) / "names.txt"))
            except (OSError, ValueError, TypeError) as exc:
                raise OpsinUnavailable(f"OPSIN failed ({exc})") from None
    if not isinstance(result, list) or len(result) != len(names):
        raise OpsinUnavailable("OPSIN failed (no answer for every name)")
    return {name: smiles for name, smiles in zip(names, result) if smiles}


# -- the resolver --------------------------------------------------------------------------------
class _Resolver:
    """Per-record best structure so far, and the verification rule."""

    def __init__(self, columns: Mapping[str, np.ndarray], chemistry: Chemistry) -> None:
        n = len(columns["name"])
        self.chem = chemistry
        old_status = columns.get("structure_status", np.full(n, "", dtype=object))
        keys = [str(k).strip().upper() for k in columns["inchikey"]]
        # A key the build computed from the record's own structure proves nothing about it.
        self.keys = ["" if st == UNVERIFIED or not _INCHIKEY.match(k) else k
                     for k, st in zip(keys, old_status)]
        self.formulas = [parse_formula(str(f)) if f else None for f in columns["formula"]]
        self.smiles = np.full(n, "", dtype=object)
        self.inchi = np.full(n, "", dtype=object)
        self.source = np.full(n, "", dtype=object)
        self.grades = np.zeros(n, dtype=np.int8)
        self.isomers: dict[tuple[str, str], str | None] = {}  # (SMILES, InChIKey) -> exact isomer

    def grade(self, row: int, found: Identity | None) -> int:
        """How well ``found`` agrees with record ``row`` (one of the ``_`` grades)."""
        if found is None:
            return _REJECT
        key, formula = self.keys[row], self.formulas[row]
        if key:
            if found.inchikey == key:
                return _FULL
            if found.inchikey[:14] == key[:14] and formula and formula_agrees(formula, found.formula):
                return _BLOCK
            return _REJECT
        if formula is None:  # nothing to check against: only a record's own structure gets here
            return _UNVERIFIED
        return _UNVERIFIED if formula_agrees(formula, found.formula) else _REJECT

    def offer(self, row: int, smiles: str, inchi: str, source: str, step: StructureStep,
              full_only: bool = False) -> int:
        """Keep the candidate for ``row`` when it is verified and better than what it has."""
        found = self.chem.identity(smiles, inchi)
        grade = self.grade(row, found)
        if found is None or grade == _REJECT or (full_only and grade != _FULL):
            step.rejected += 1
            return _REJECT
        if grade > self.grades[row]:
            self.smiles[row], self.inchi[row], self.source[row] = found.smiles, found.inchi, source
            self.grades[row] = grade
            step.improved += 1
        return grade

    def open_rows(self, below: int = _FULL) -> np.ndarray:
        """Records whose structure is graded below ``below`` and that have a key or a formula
        to check a candidate against."""
        checkable = np.array([bool(k) or f is not None for k, f in zip(self.keys, self.formulas)],
                             dtype=bool)
        return np.flatnonzero((self.grades < below) & checkable)

    def write(self, columns: dict[str, np.ndarray]) -> None:
        columns["smiles"], columns["inchi"] = self.smiles, self.inchi
        columns["structure_source"] = self.source
        status = np.full(len(self.grades), "", dtype=object)
        status[self.grades >= _BLOCK] = VERIFIED
        status[self.grades == _UNVERIFIED] = UNVERIFIED
        columns["structure_status"] = status


def _offer_lookup(resolver: _Resolver, lookup: Mapping[str, tuple[str, str]], source: str,
                  step: StructureStep) -> None:
    """Steps 2 and 3: a candidate for every open record whose full InChIKey ``lookup`` holds."""
    for row in resolver.open_rows():
        hit = lookup.get(resolver.keys[row])
        if hit:
            step.tried += 1
            resolver.offer(row, hit[0], hit[1], source, step, full_only=True)


def _record_names(columns: Mapping[str, np.ndarray], row: int) -> list[str]:
    synonyms = str(columns["synonyms"][row]) if "synonyms" in columns else ""
    return [n for n in [str(columns["name"][row])] + synonyms.split("\n") if n.strip()]


def resolve_structures(
    columns: dict[str, np.ndarray],
    *,
    libraries: Iterable[str | Path] = (),
    tables: Iterable[str | Path] | None = None,
    names: bool = True,
    chemistry: Chemistry | None = None,
) -> list[StructureStep]:
    """Give every record the best verified structure found; change ``columns`` in place.

    Parameters
    ----------
    columns
        Library columns (:func:`nps_id.library.writer.columns_from_spectra`); needs ``name``,
        ``inchikey``, ``formula``, ``smiles``, ``inchi``; reads ``synonyms``,
        ``structure_source`` and ``structure_status`` when present. ``smiles``, ``inchi`` and
        the :data:`STRUCTURE_COLUMNS` are replaced; an InChIKey the build computed from a
        record's own structure is cleared when that structure fails the formula check.
    libraries
        Other nps-id libraries to copy structures from (full InChIKey agreement).
    tables
        Structure tables (:func:`read_structure_table`); None means :func:`default_tables`.
    names
        Run OPSIN on the records' names (skipped with a reason when Java is missing).
    chemistry
        A :class:`Chemistry` whose cache to reuse (the build's, which has read the sources).

    Returns
    -------
    list of StructureStep
        One per step that had something to look at, in order.
    """
    resolver = _Resolver(columns, chemistry or Chemistry())
    steps: list[StructureStep] = []
    # Step 1: the record's own structure (kept with its recorded origin on --append)
    step = StructureStep("source", "the records' own SMILES/InChI")
    origin = columns.get("structure_source", np.full(len(resolver.grades), "", dtype=object))
    derived_key = columns.get("structure_status", np.full(len(resolver.grades), "", dtype=object))
    for row, (smiles, inchi) in enumerate(zip(columns["smiles"], columns["inchi"])):
        if smiles or inchi:
            step.tried += 1
            grade = resolver.offer(row, str(smiles), str(inchi), str(origin[row]) or "source", step)
            if grade == _REJECT and derived_key[row] == UNVERIFIED:
                columns["inchikey"][row] = ""  # computed from a structure that is not the record's
    if step.tried:
        steps.append(step)
    lookups: list[tuple[Mapping[str, tuple[str, str]], str]] = []
    # Step 2: other libraries, by full InChIKey
    for path in libraries:
        lookup, sha = _library_structures(Path(path))
        step = StructureStep("library", Path(path).name, sha)
        lookups.append((lookup, f"library:{sha}"))
        _offer_lookup(resolver, lookup, f"library:{sha}", step)
        steps.append(step)
    # Step 3: structure tables, by full InChIKey
    for path in default_tables() if tables is None else tables:
        table = read_structure_table(path)  # first: it refuses a FIFO, which hashing would wait on
        sha = sha256_path(path).sha256
        step = StructureStep("table", Path(path).name, sha)
        lookups.append((table, f"table:{sha}"))
        _offer_lookup(resolver, lookups[-1][0], f"table:{sha}", step)
        steps.append(step)
    # Step 4: the exact stereoisomer of what libraries and tables hold for the first block
    steps.append(_resolve_stereo(resolver, lookups))
    # Steps 5-7: names, through OPSIN (one Java call for every spelling of every open record),
    # their first-block matches made exact (parents of step 7 need the exact stereo), then
    # derivatives and labelled standards of parents
    if names:
        steps += _resolve_names(resolver, columns)
    # Step 8: first-block matches of derivatives made the record's exact stereoisomer
    steps.append(_resolve_stereo(resolver, ()))
    resolver.write(columns)
    return steps


def _resolve_stereo(resolver: _Resolver,
                    lookups: Sequence[tuple[Mapping[str, tuple[str, str]], str]]) -> StructureStep:
    """Steps 4, 6 and 8: make a structure the record's exact stereoisomer (full InChIKey).

    Candidates: the record's first-block match, and the structures of libraries and tables
    whose InChIKey shares the record's first block (they differ in stereo only). Only a
    stereoisomer whose full InChIKey is the record's is kept; its source gains ``+stereo``.
    """
    from nps_id.library.structure_variants import stereo_candidate

    step = StructureStep("stereo", "stereoisomers of first-block matches (RDKit)")
    by_block: dict[str, list[tuple[str, str]]] = {}
    for lookup, origin in lookups:
        for key, (smiles, inchi) in lookup.items():
            smiles = smiles or getattr(resolver.chem.identity("", inchi), "smiles", "")
            by_block.setdefault(key[:14], []).append((smiles, origin))
    for row in [int(r) for r in resolver.open_rows()]:
        key = resolver.keys[row]
        if not key:
            continue
        # the record's own structure is kept as its source wrote it
        own = resolver.grades[row] and resolver.source[row] != "source"
        tries = [(str(resolver.smiles[row]), str(resolver.source[row]))] if own else []
        tries += by_block.get(key[:14], [])
        if not tries:
            continue
        step.tried += 1
        for smiles, origin in tries:
            if smiles and (smiles, key) not in resolver.isomers:
                resolver.isomers[smiles, key] = stereo_candidate(smiles, lambda s: getattr(
                    resolver.chem.identity(s, ""), "inchikey", None) == key)
            exact = resolver.isomers.get((smiles, key))
            if exact:
                resolver.offer(row, exact, "", f"{origin}+stereo", step)
                break
    return step


def _lookup_keys(name: str) -> list[str]:
    """A record name as dictionary keys: each spelling with case, spaces and dashes ignored."""
    return [re.sub(r"[\s\-]", "", v).casefold() for v in name_variants(name)]


def _resolve_names(resolver: _Resolver, columns: Mapping[str, np.ndarray]) -> list[StructureStep]:
    """Steps 5-7: OPSIN on the names, exact stereo, then derivatives and labelled standards."""
    from nps_id.library.structure_variants import parse_derivative, parse_labelled

    step = StructureStep("names", "OPSIN (py2opsin)")
    rows = [int(row) for row in resolver.open_rows(below=_BLOCK)]  # no verified structure yet
    names = {row: _record_names(columns, row) for row in rows}
    spellings = {row: [v for n in names[row] for v in name_variants(n)] for row in rows}
    # (parent name, reagent or deuterium count) per record, parsed before the one OPSIN call
    parents = {row: [p for p in (parse_derivative(v) or parse_labelled(v) for v in spellings[row]) if p]
               for row in rows}
    asked = {v for vs in spellings.values() for v in vs}
    asked |= {v for ps in parents.values() for parent, _ in ps for v in name_variants(parent)}
    try:
        parsed = opsin_smiles(sorted(asked))
    except OpsinUnavailable as exc:
        step.skipped = f"name-to-structure skipped: {exc}"
        parsed = {}
    for row in rows:
        offered = False
        for variant in spellings[row]:
            if variant in parsed:
                offered = True
                if resolver.offer(row, parsed[variant], "", f"opsin:{variant}", step) == _FULL:
                    break
        step.tried += offered
    return [step, _resolve_stereo(resolver, ()), _resolve_variants(resolver, columns, parents, parsed)]


def _resolve_variants(resolver: _Resolver, columns: Mapping[str, np.ndarray],
                      parents: Mapping[int, list[tuple[str, Any]]],
                      parsed: Mapping[str, str]) -> StructureStep:
    """Step 7: derivatives and deuterium-labelled records built from their parent's structure.

    A parent's structure is a verified one of a record named like it, else OPSIN's reading of
    the parent name; the record's source reads ``<parent's source>+<reagent or dN>``.
    """
    from nps_id.library.structure_variants import derivative_candidates, labelled_candidates

    step = StructureStep("derived", "derivatives and labelled standards of parent structures")
    known: dict[str, list[tuple[str, str]]] = {}
    for row in np.flatnonzero(resolver.grades >= _BLOCK):
        for name in _record_names(columns, int(row)):
            for key in _lookup_keys(name)[:1]:
                known.setdefault(key, []).append((str(resolver.smiles[row]), str(resolver.source[row])))
    for row in [int(r) for r in resolver.open_rows(below=_BLOCK)]:  # named like a verified record
        for key in {k for name in _record_names(columns, row) for k in _lookup_keys(name)}:
            for smiles, origin in known.get(key, []):
                step.tried += 1
                resolver.offer(row, smiles, "", origin, step)
    for row, wanted in parents.items():
        if resolver.grades[row] >= _BLOCK or not wanted or resolver.formulas[row] is None:
            continue
        step.tried += 1
        for parent, what in wanted:
            sources = [hit for key in _lookup_keys(parent) for hit in known.get(key, [])]
            sources += [(parsed[v], f"opsin:{v}") for v in name_variants(parent) if v in parsed]
            for smiles, origin in dict.fromkeys(sources):
                if isinstance(what, int):
                    label = f"{origin}+d{what}"
                    found = labelled_candidates(smiles, what, lambda s: resolver.grade(
                        row, resolver.chem.identity(s, "")) == _FULL)
                    candidates = [found] if found else []
                else:
                    label = f"{origin}+{what}"
                    candidates = derivative_candidates(smiles, what, resolver.formulas[row][0])
                for candidate in candidates:
                    if resolver.offer(row, candidate, "", label, step) == _FULL:
                        break
                if resolver.grades[row] == _FULL:
                    break
            if resolver.grades[row] == _FULL:
                break
    return step


_BUILT = re.compile(r"\+(stereo|d\d+|[a-z]+)$")


def source_kind(source: str) -> str:
    """The kind of a ``structure_source``: ``source``, ``library``, ``table`` or ``opsin``, with
    ``+derivative``, ``+labelled`` or ``+stereo`` when the structure was built from it."""
    from nps_id.library.structure_variants import REAGENTS

    kind, tags = source.split(":", 1)[0], []
    while (match := _BUILT.search(source)) and (match.group(1) in REAGENTS or match.group(1) == "stereo"
                                                or match.group(1)[0] == "d" and match.group(1)[1:].isdigit()):
        tag = match.group(1)
        tags.append("stereo" if tag == "stereo" else "derivative" if tag in REAGENTS else "labelled")
        source = source[: match.start()]
    return "+".join([kind] + [t for t in ("derivative", "labelled", "stereo") if t in tags])


def coverage(source: Sequence[str], status: Sequence[str]) -> dict[str, Any]:
    """Structure coverage of a library: counts by status and by :func:`source_kind`."""
    kinds = Counter(source_kind(str(s)) for s, st in zip(source, status) if st)
    states = Counter(str(st) for st in status if st)
    return {"n_spectra": len(status), "with_structure": int(sum(states.values())),
            VERIFIED: states[VERIFIED], UNVERIFIED: states[UNVERIFIED],
            "by_source": dict(kinds.most_common())}


__all__ = [
    "Chemistry",
    "Identity",
    "StructureStep",
    "STRUCTURE_COLUMNS",
    "VERIFIED",
    "UNVERIFIED",
    "coverage",
    "default_tables",
    "formula_agrees",
    "java_path",
    "name_variants",
    "opsin_smiles",
    "OpsinUnavailable",
    "parse_formula",
    "read_structure_table",
    "resolve_structures",
    "source_kind",
]

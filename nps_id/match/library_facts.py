"""The library's facts the verdict rules read, row by row, and the cache-folder files that keep them.

A search meets the same hit rows again and again; what a rule asks of a row (its verified
structure, EWA group, masses, InChIKey first block, the library's own MS/MS pairs) is computed once
per process and, where it is a small JSON value, kept for the library file across processes.

Entry points: :class:`LibraryFacts` (what the rules need from the library, optionally with
compounds left out for leave-compound-out tests), :func:`group_label` (the EWA label a compound's
class gives, or None); :class:`IsomerCache` keeps the RDKit isomer enumerations of hits across
processes, :class:`RowFactsCache` and :class:`Ms2PairsCache` :class:`LibraryFacts`' row values and MS/MS
pairs for a library file, in the cache folder (files of :class:`nps_id._json_cache.JsonCache`:
checked lazily, saved merged under a lock, keyed by the code that makes them -- this module's too).
"""
from __future__ import annotations

import functools
from dataclasses import replace
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from nps_id._json_cache import JsonCache
from nps_id.chem.derivatives import DERIVATIZING_GROUPS, reagent_of
from nps_id.chem.formula import nominal_mass
from nps_id.chem.homologues import MAX_CH2, Homologue, homologues
from nps_id.chem.isomer_type import Isomer
from nps_id.chem.stereo import StereoClass, diastereomer_classes
from nps_id.compound import is_labelled, skeleton
from nps_id.lcms.features import formula_mass
from nps_id.match.isomer_rule import context_of, has_product_ion, structure_shape
from nps_id.match.lcms_evidence import candidate_mass
from nps_id.match.molecular_mass import Neighbour, hit_losses, hit_losses_many, molecular_ion, nominal_spectra, nominal_spectrum
from nps_id.search.reference import Reference
from nps_id.search.scores.base import to_999_column
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance

#: A tert-butyldimethylsilyl on a drug's N-H, O-H or S-H (:data:`~nps_id.chem.derivatives.DERIVATIZING_GROUPS`' first).
TBDMS = DERIVATIZING_GROUPS[0][1]
#: A trihaloacetyl on a drug's N-H or O-H, its atoms matched carbonyl first: TFA (with TPC's trifluoroacetyl) of
#: :mod:`nps_id.chem.derivatives`, and the chloroacyls it does not hold (trichloroacetyl, chlorodifluoroacetyl,
#: dichlorofluoroacetyl; SWGDRUG 3.4 holds one such derivative, N-trichloroacetylmethamphetamine, MassBank EI none
#: -- its methyl trichloroacetate is no drug's derivative). Not PFPA or HFBA: set aside from their acyl's mass up
#: (147, 197), their derivatives keep too little to tell their group (dev data, benchmarks/README.md stop 43).
#: The acyl's O bonded to carbon: a trifluoroacetic acid or trifluoroacetate (a salt's counterion) is no derivative.
HALOACYL = "[CX3;$(C[#7]),$(C[OX2][#6])](=O)C([F,Cl])([F,Cl])[F,Cl]"
#: The trihaloacetyls :func:`reagent_names` names, by their number of Cl (index; the other halogens F).
HALOACYL_NAMES = ("COCF3", "COCClF2", "COCCl2F", "COCCl3")

#: Fragment tolerance of the library's own MS/MS pairs (:meth:`LibraryFacts.ms2_pairs`): two
#: compounds are alike only when their fragments agree at HRMS accuracy (the LC
#: ``--fragment-tolerance`` default); the search's 0.2 Da cosine took L-phenylalanine's C8H10N+
#: 120.081 for benzocaine's C7H6NO+ 120.044 (pair 935 at 0.02 Da, 451 at 0.01 Da).
PAIR_TOLERANCE = Tolerance(0.01, "Da")


def _code_key(files: Sequence[Path], *extra: str) -> str:
    """A cache key: the SHA-256 of ``files`` (the code and data that make a cached value), the
    RDKit version and ``extra``; any change to them makes a new cache file."""
    from nps_id._code_stamp import file_digests
    from nps_id._installed import package_version

    parts = file_digests(files) + [package_version("rdkit"), *extra]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _module_file(module: str) -> Path:
    from importlib.util import find_spec

    return Path(find_spec(module).origin)


def _taxonomy_file() -> Path:
    """:data:`nps_id.chem.ewa_groups.TAXONOMY_PATH`, without importing the module (its classes and
    regular expressions cost a one-spectrum search that classifies nothing ~1.5 % of its instructions)."""
    return _module_file("nps_id.chem.ewa_groups").with_name("ewa_taxonomy.json")


#: Rows whose formula :meth:`LibraryFacts.formula` reads alone before it reads the column whole
#: (as the library's lazy peaks do, :data:`nps_id.library.store.FEW_ROWS`).
_FORMULAS_ALONE = 16
#: Rows whose InChIKey first block :meth:`LibraryFacts.block` reads alone before it reads the column
#: whole: a one-spectrum search asks at most ~30 (40 MassBank MS/MS and EI queries), a batch thousands
#: (~20 us each against MassBank MS/MS; 100 MS/MS queries ask ~750-1,000, so the command reads the
#: column in its first range and the forked workers inherit it).
_BLOCKS_ALONE = 200

#: The largest int a cache value may hold (a mass, an ion, a count): what the rules' int64 arrays and sums hold.
_MAX_INT = 2**31 - 1


def _strings(value: Any, n: int) -> bool:
    """Whether ``value`` is a JSON list of ``n`` strings."""
    return isinstance(value, list) and len(value) == n and all(isinstance(t, str) for t in value)


def _inchikey(text: str) -> bool:
    """Whether ``text`` has an InChIKey's shape: 14, 10 and 1 upper-case letters joined by hyphens."""
    parts = text.split("-")
    return [len(p) for p in parts] == [14, 10, 1] and all(p.isascii() and p.isalpha() and p.isupper() for p in parts)


def _rounded(column: np.ndarray) -> list[int]:
    """An EI score column as 0-999 integers, no value (NaN) as 0."""
    return to_999_column(np.nan_to_num(np.asarray(column, dtype=float)))


class IsomerCache(JsonCache):
    """:func:`nps_id.chem.isomers.enumerate_isomers` by SMILES, kept in the cache folder across
    processes: RDKit takes milliseconds per structure (20 s for the hits of a SWGDRUG self-search)
    and a library's hits recur from one search to the next. Keyed by the enumerating code (the
    derivatizing groups too: they name a derivative's ring-position kinds) and the RDKit version."""

    label = "isomer cache"

    def _file_name(self) -> str:
        return f"isomers-{_code_key([_module_file(m) for m in ('nps_id.chem.isomers', 'nps_id.chem.derivatives')])}.json"

    def get(self, smiles: str) -> tuple | None:
        def enumerate_them() -> tuple | None:
            from nps_id.chem.isomers import enumerate_isomers  # lazy: RDKit

            return enumerate_isomers(smiles)

        return self.value(smiles, enumerate_them)

    def _decode_value(self, key: str, value: Any) -> tuple | None:
        # null: a structure enumerate_isomers refuses (too large, unreadable); else [SMILES, InChIKey, move]
        # each -- a dict's keys or [1, 2, 3] read as isomers (stop 37, attack37)
        if value is not None and not (isinstance(value, list) and all(_strings(fields, 3) for fields in value)):
            raise ValueError(f"{key!r} holds {value!r}")
        return None if value is None else tuple(Isomer(*fields) for fields in value)

    def _encode_value(self, value: Any) -> list | None:
        return None if value is None else [[i.smiles, i.inchikey, i.move] for i in value]


class RowFactsCache(JsonCache):
    """:class:`LibraryFacts`' values per library row (``"what:row"`` -> JSON value), kept for a
    library file (by its sha256) across processes: the verified structure (RDKit), the EWA group
    and context (SMARTS), masses. A search meets the same hit rows again and again, and they cost
    ~1 ms each (1 s of a 9,670-query EI search). Keyed by the code and data that make them."""

    label = "library facts cache"

    def __init__(self, sha256: str) -> None:
        super().__init__()
        self._sha256 = sha256

    def _folder(self) -> Path:
        """The library's cache folder: removed with its copies when the library is rebuilt or
        long unused (:mod:`nps_id.library.copies`)."""
        from nps_id._paths import library_cache_dir

        return library_cache_dir(self._sha256)

    def _file_name(self) -> str:
        files = [_module_file(m) for m in ("nps_id.match.library_facts", "nps_id.match.isomer_rule", "nps_id.chem.ewa_groups",
                                           "nps_id.chem.formula", "nps_id.match.molecular_mass", "nps_id.compound", "nps_id.chem.derivatives",
                                           "nps_id.chem.thermal", "nps_id.chem.stereo", "nps_id.chem.homologues",
                                           "nps_id.library.structure_variants")]  # keyable_mol: a structure verified
        return f"facts-{_code_key([*files, _taxonomy_file()], self._sha256)}.json"

    def _decode_value(self, key: str, value: Any) -> Any:
        # A value of another type would reach the rules (a str mass) and stop the search; an int beyond
        # what the rules' numpy arrays hold stopped it too (mass 10**30: OverflowError, stop 37).
        what = key.partition(":")[0]
        if not isinstance(value, self._TYPES.get(what, ())) or isinstance(value, bool):
            raise ValueError(f"{key!r} holds {value!r}")
        if isinstance(value, list) and not self._LISTS[what](value):
            raise ValueError(f"{key!r} holds {value!r}")
        least = 1 if what == "mass" else 0
        if isinstance(value, int) and not least <= value <= _MAX_INT or value not in self._VALUES.get(what, (value,)):
            raise ValueError(f"{key!r} holds {value!r}")
        if isinstance(value, float) and not (math.isfinite(value) and value > 0):  # a molecule mass (JSON reads Infinity)
            raise ValueError(f"{key!r} holds {value!r}")
        return value

    #: The JSON type of each persisted fact (None: not known for the row).
    _TYPES = {"structure": (str, type(None)), "group": (str, type(None)), "reagent": (str, type(None)), "context": str,
              "mass": (int, type(None)), "ion": (int, type(None)), "shape": list, "name_of": (str, type(None)),
              "thermal": list, "diastereomers": list, "nps": int, "molecule_mass": (float, type(None)), "reagents": list,
              "homologues": list}
    #: What a persisted list holds: a structure's shape four counts, its relatives [SMILES, InChIKey, move]
    #: each, its reagents' names (:func:`reagent_names`, sorted), its diastereomer classes [SMILES, [InChIKeys' first two blocks: one or two, up to six with a free
    #: anomeric carbon]] each, its chain homologues [SMILES, InChIKey, CH2 more (negative: fewer), the chain's carbons] each.
    _LISTS = {"shape": lambda v: len(v) == 4 and all(type(n) is int and 0 <= n <= _MAX_INT for n in v),
              "thermal": lambda v: all(_strings(r, 3) for r in v),
              "reagents": lambda v: all(n in ("TBDMS", *HALOACYL_NAMES) for n in v) and v == sorted(set(v)),
              "diastereomers": lambda v: all(isinstance(c, list) and len(c) == 2 and isinstance(c[0], str)
                                             and isinstance(c[1], list) and len(c[1]) >= 1
                                             and all(isinstance(k, str) for k in c[1]) for c in v),
              # an InChIKey (14-10-1 letters) and a step :func:`homologues` makes: an empty key or one 50 CH2 away held a
              # verdict at "isomer not excluded" from a damaged file (attack51b)
              "homologues": lambda v: all(isinstance(h, list) and len(h) == 4 and _strings(h[:2], 2) and _inchikey(h[1])
                                          and all(type(n) is int for n in h[2:]) and 0 < abs(h[2]) <= MAX_CH2
                                          and 0 < h[3] <= _MAX_INT for h in v)}
    #: The values a fact can take where they are few (``nps`` 0 / 1: 2 read as an NPS). An int is
    #: 0 to :data:`_MAX_INT`, a mass (a formula's) at least 1.
    _VALUES = {"context": ("drug", "other"), "reagent": (None, *{kind for kind, _ in DERIVATIZING_GROUPS}), "nps": (0, 1)}


class Ms2PairsCache(RowFactsCache):
    """:meth:`LibraryFacts.ms2_pairs` per compound and formula (``"ms2_pairs:BLOCK FORMULA"`` ->
    ``{block: [row, score]}``), and since stop 45 :meth:`~LibraryFacts.ei_pairs` (``"ei_pairs:BLOCK:RMF
    FORMULA"``, the MF; per process only they cost the EI x10 search ~1 s CPU, every process), of a
    library file, across processes: each is an identity search
    (~3 ms; 0.75 s of the 1,235 MassBank MS/MS queries' verdicts per process). Keyed like the row
    facts plus the search code (the pairs are its scores)."""

    label = "MS/MS library pairs cache"  # the name users have seen; it holds the EI pairs too since stop 45

    def __init__(self, sha256: str, facts: "LibraryFacts") -> None:
        super().__init__(sha256)
        self._facts = facts  # whose rows the pairs name

    def _checked_file(self) -> dict[str, Any]:
        self._facts._block  # every row's block at once: row by row, checking 1,032 entries took 0.3 s
        return super()._checked_file()

    # Named ms2pairs-KEY.json before stop 46, when it held the MS/MS pairs alone. Not read: the key covers this
    # module (through the row facts' name), so no file of that name can be of this code's key; tidied as stale.
    former_kinds = ("ms2pairs",)

    def _file_name(self) -> str:
        search = sorted(Path(_module_file("nps_id.search")).parent.rglob("*.py"))
        files = [*search, *(_module_file(m) for m in ("nps_id.spectrum", "nps_id.peaks", "nps_id.tolerance"))]
        return f"isomer-pairs-{_code_key(files, super()._file_name())}.json"

    def _decode_value(self, key: str, value: Any) -> dict[str, tuple[int, int]]:
        if not key.startswith(("ms2_pairs:", "ei_pairs:")) or not isinstance(value, dict):
            raise ValueError(f"{key!r} holds {value!r}")
        pairs = {block: tuple(pair) for block, pair in value.items()}
        # a row outside the library would stop the search (or, negative, name another row)
        if not all(len(pair) == 2 and all(type(v) is int for v in pair) and 0 <= pair[0] < self._facts.reference.n_spectra
                   and 0 < pair[1] <= 999 for pair in pairs.values()):
            raise ValueError(f"{key!r} holds {value!r}")
        # a row of another compound or formula would name its structure as the hit's isomer (stop 37)
        head, _, formula = key.partition(" ")
        if not all((self._facts.block(row), self._facts.formula(row)) == (block, formula) for block, (row, _) in pairs.items()):
            raise ValueError(f"{key!r} holds {value!r}: a row not of its block and formula")
        # the hit's own compound paired with itself, or an EI key's RMF floor no number: no key ei_pairs writes
        what, _, rest = head.partition(":")
        own, _, rmf = rest.partition(":") if what == "ei_pairs" else (rest, "", "0")
        if own in pairs or not rmf.lstrip("-").isdigit():
            raise ValueError(f"{key!r} holds {value!r}: not a pair of the library's")
        return pairs


def reagent_names(smiles: str | None) -> tuple[str, ...]:
    """The reagent groups a structure carries whose ions the group checks set aside
    (:mod:`nps_id.match.substance_group`), sorted: ``"TBDMS"`` (:data:`TBDMS`) and each trihaloacetyl
    (:data:`HALOACYL`) by its halogens (:data:`HALOACYL_NAMES`); () for none -- a TMS is not named (the silyl
    ions' own check), nor a PFPA or HFBA. :attr:`LibraryFacts.reagent` names only the kind, silyl or
    perfluoroacyl, and no chloroacyl.

    >>> reagent_names("CC(Cc1ccccc1)N(C)C(=O)C(Cl)(Cl)Cl"), reagent_names("CC(Cc1ccccc1)N[Si](C)(C)C")
    (('COCCl3',), ())
    """
    # no silyl, no CX3: RDKit not imported (~50 ms, warm caches)
    if not smiles or ("Si" not in smiles and smiles.count("F") + smiles.count("Cl") < 3):
        return ()
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return ()
    names = {"TBDMS"} if mol.HasSubstructMatch(_pattern(TBDMS)) else set()
    for match in mol.GetSubstructMatches(_pattern(HALOACYL)):  # every acyl: a TFA and a trichloroacetyl on one drug
        names.add(HALOACYL_NAMES[sum(mol.GetAtomWithIdx(i).GetSymbol() == "Cl" for i in match)])
    return tuple(sorted(names))


@functools.lru_cache(maxsize=4)
def _pattern(smarts: str) -> Any:
    from rdkit import Chem

    return Chem.MolFromSmarts(smarts)


class LibraryFacts:
    """What the rules need from a library, row by row (computed once, cached).

    ``excluding(blocks)`` gives a view that treats those InChIKey first blocks as absent from the
    library (the leave-compound-out benchmark) and shares this one's caches; hits of them must
    already be removed by the caller.
    """

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self.excluded: frozenset[str] = frozenset()
        self._formulas_read = self._blocks_read = 0
        self._cache: dict[tuple[str, int], Any] = {}
        # Row values of a library file outlive the process (in-memory spectra have no sha256).
        self._saved, self._saved_pairs = (None, None) if reference.sha256 is None else (
            RowFactsCache(reference.sha256),
            Ms2PairsCache(reference.sha256, self))
        self.isomer_cache = IsomerCache()

    def excluding(self, blocks: frozenset[str]) -> "LibraryFacts":
        view = object.__new__(LibraryFacts)
        view.__dict__.update(self.__dict__)
        view.excluded = frozenset(blocks)
        return view

    def _cached(self, what: str, row: int | str, make: Any, persist: bool = True, store: JsonCache | None = None) -> Any:
        """``make(row)`` once per process; ``persist``: also kept in the cache folder (small JSON
        values only -- a spectrum is cheaper to rebuild than to store, and JSON keys are strings),
        in ``store`` (default: the row facts' file)."""
        key = (what, row)
        try:
            return self._cache[key]  # the usual case (~200,000 calls a search): one look-up
        except KeyError:
            pass
        store = store or self._saved
        if store is None or not persist:
            self._cache[key] = make(row)
        else:
            self._cache[key] = store.value(f"{what}:{row}", lambda: make(row))
        return self._cache[key]

    def load_saved(self) -> None:
        """Take every row fact the cache folder holds into this process's cache at once: a command
        calls it before it forks its workers, which inherit them (copy-on-write) instead of each
        decoding again the values it asks (the forked EI x10 search: ~28,000 decodes fewer)."""
        if self._saved is None:
            return
        for key, value in self._saved.decoded_items():
            # the key _cached saves under, "what:row": a row number, else text (an InChIKey block);
            # a key no fact writes ("mass:x") is kept under a key no fact asks
            what, _, row = key.partition(":")
            number = row.isascii() and row.isdigit() and str(int(row)) == row
            self._cache.setdefault((what, int(row) if number else row), value)

    def save(self) -> None:
        """Keep what was computed for the next process (the cache folder)."""
        for store in (self._saved, self._saved_pairs):
            if store is not None:
                store.save()
        self.isomer_cache.save()

    @functools.cached_property
    def _status(self) -> np.ndarray | None:
        """Every row's structure status; read when a structure is first checked (a search whose
        rows' structures are in the cache folder never: ~0.02 s of a one-spectrum MS/MS search)."""
        return self.reference.columns.get("structure_status")

    @functools.cached_property
    def _block(self) -> list[str]:
        """Every row's InChIKey first block; read when a rule first asks (a query without hits never).
        From then on :meth:`block` is the list's own look-up (an instance attribute before the method):
        a search asks ~200,000 blocks, ~0.3 us each through the method."""
        blocks = list(map(skeleton, self.reference.columns["inchikey"]))
        self.block = blocks.__getitem__  # type: ignore[method-assign]
        return blocks

    @functools.cached_property
    def _by_precursor(self) -> tuple[np.ndarray, np.ndarray]:
        """(precursor m/z sorted, their rows): :meth:`rows_near_precursor`'s index, made on first use."""
        column = np.asarray(self.reference.columns["precursor_mz"], dtype=float)
        order = np.argsort(column, kind="stable")
        return column[order], order

    def rows_near_precursor(self, mz: float, window_da: float) -> np.ndarray:
        """The rows whose precursor m/z is within ``window_da`` of ``mz``, in row order: a binary search of
        the column sorted once (a scan of MassBank MS/MS's 69,220 took ~40 us a query, 5 % of the MS/MS x10
        search's CPU; stop 47)."""
        sorted_mz, order = self._by_precursor
        lo = int(np.searchsorted(sorted_mz, mz - window_da, side="left"))
        hi = int(np.searchsorted(sorted_mz, mz + window_da, side="right"))
        return np.sort(order[lo:hi])

    @functools.cached_property
    def n_compounds(self) -> int:
        """Distinct compounds (compound codes) the library file holds (a left-out view counts the same)."""
        return int(np.unique(self.reference.compound()).size)

    @functools.cached_property
    def _first_row(self) -> dict[str, int]:
        """InChIKey first block -> its first row (one dict made in C: a Python loop over every row
        cost a one-spectrum search 0.08 s, stop 30)."""
        n = len(self._block)
        return dict(zip(reversed(self._block), range(n - 1, -1, -1)))

    def block(self, row: int) -> str:
        """Row ``row``'s InChIKey first block: of the rows asked for only, until a rule needs every
        row's (``_block``; the whole column and a Python call per row cost a one-spectrum MS/MS
        search ~0.05 s against the 69,220 rows of MassBank MS/MS) or :data:`_BLOCKS_ALONE` rows
        were read alone (an MS/MS x10 search read ~14,600 rows one by one). Once the column is read,
        the list's own look-up stands before this method (``_block`` sets it)."""
        key = ("block", row)
        if key not in self._cache:
            self._blocks_read += 1
            if self._blocks_read > _BLOCKS_ALONE:
                return self._block[row]
            self._cache[key] = skeleton(self.reference.column_rows("inchikey", np.array([row]))[0])
        return self._cache[key]

    def name_of_block(self, block: str) -> str | None:
        """The name of the block's first row that is not isotope-labelled: the compound the library
        "holds" under that block (None: none, or left out). A labelled standard (butyryl
        fentanyl-d5) shares its parent's first block, but its ions are shifted, so an unknown's
        low score against it would exclude the parent when the parent is absent."""
        if not block or block in self.excluded:
            return None
        # kept in the cache folder by block: the answer needs every row's InChIKey, and a name,
        # formula and SMILES column (~0.03 s of a one-spectrum EI search, ~0.15 s against MS/MS)
        return self._cached("name_of", block, self._name_of_block)

    def _name_of_block(self, block: str) -> str | None:
        if block not in self._first_row:
            return None
        cols, n = self.reference.columns, len(self._block)
        rows = (r for r in range(self._first_row[block], n) if self._block[r] == block)
        named = next((r for r in rows if not is_labelled(cols["name"][r], cols["formula"][r] if "formula" in cols else None,
                                                         cols["smiles"][r] if "smiles" in cols else None)), None)
        return None if named is None else str(cols["name"][named])

    def name(self, row: int) -> str:
        return str(self.reference.columns["name"][row])

    def formula(self, row: int) -> str:
        """The row's formula: read for that row alone for the first :data:`_FORMULAS_ALONE` rows (a
        one-spectrum MS/MS search read all 69,220 of MassBank MS/MS for one), then the whole column
        (cheaper for the ~50 rows of a one-spectrum EI search's neighbours)."""
        return self._cached("formula", row, self._formula, persist=False)

    def _formula(self, row: int) -> str:
        self._formulas_read += 1
        if self._formulas_read > _FORMULAS_ALONE:
            return str(self.reference.columns["formula"][row])
        return str(self.reference.column_rows("formula", np.array([row]))[0])

    def structure(self, row: int) -> str | None:
        """The row's structure when verified against its InChIKey, else None."""
        return self._cached("structure", row, self._structure)

    def _claimed(self, row: int) -> str | None:
        """The row's SMILES when the file claims it is the row's compound (it has an InChIKey, and
        a status of ``verified`` where the file has statuses): what :meth:`structure` verifies."""
        smiles = str(self.reference.columns["smiles"][row] or "")
        if not smiles or not self._block[row]:
            return None
        if self._status is not None and any(self._status) and self._status[row] != "verified":
            return None
        return smiles

    def _structure(self, row: int) -> str | None:
        smiles = self._claimed(row)
        if smiles is None:
            return None
        # 'verified' is the file's claim: a structure that does not read, or is another compound's,
        # would enumerate no isomer and so exclude them all (an identification it did not earn).
        from rdkit import Chem, rdBase  # lazy: only when a rule needs a structure

        from nps_id.library.structure_variants import keyable_mol

        with rdBase.BlockLogs():  # an unreadable file structure is expected, unsaid (this call only: stop 45)
            mol = keyable_mol(smiles)  # one larger than any InChI held RDKit minutes per row, to give no key
            return smiles if mol is not None and Chem.MolToInchiKey(mol)[:14] == self._block[row] else None

    def reagent(self, row: int) -> str | None:
        """The derivatizing group the row's verified structure carries (``"silyl"``,
        ``"perfluoroacyl"``: :func:`~nps_id.chem.derivatives.reagent_of`), None when none or
        unknown (kept in the cache folder)."""
        return self._cached("reagent", row, self._reagent)

    def _reagent(self, row: int) -> str | None:
        smiles = self.structure(row)
        if smiles is None:
            return None
        from rdkit import Chem

        mol = Chem.MolFromSmiles(smiles)
        return None if mol is None else reagent_of(mol)

    def reagents(self, row: int) -> tuple[str, ...]:
        """:func:`reagent_names` of the row's verified structure (kept in the cache folder: a later process sets
        a derivative's reagent ions aside without parsing it, or importing RDKit)."""
        return tuple(self._cached("reagents", row, lambda r: list(reagent_names(self.structure(r)))))

    def shape(self, row: int) -> tuple[int, int, int, int]:
        """The row's verified structure's :func:`~nps_id.match.isomer_rule.structure_shape` (kept in
        the cache folder: a later process checks the row's isomers without parsing it, or importing RDKit)."""
        return tuple(self._cached("shape", row, lambda r: structure_shape(self.structure(r) or "")))

    def thermal_relatives(self, row: int) -> tuple[Isomer, ...]:
        """The GC injector relatives of the row's verified structure
        (:func:`nps_id.chem.thermal.thermal_relatives`, by the row's molecular ion; none without a
        structure), kept in the cache folder as its shape is."""
        def make(r: int) -> list[list[str]]:
            smiles = self.structure(r)
            if not smiles:
                return []
            from nps_id.chem.thermal import thermal_relatives  # lazy: RDKit

            return [[i.smiles, i.inchikey, i.move] for i in thermal_relatives(smiles, self.ion(r))]

        # the tuple too, once per process (a search asks again for every query the row tops)
        return self._cached("thermal_tuple", row, lambda r: tuple(Isomer(*fields) for fields in self._cached("thermal", r, make)),
                            persist=False)

    def diastereomer_classes(self, row: int) -> tuple[StereoClass, ...]:
        """The diastereomer classes of the row's verified structure's constitution
        (:func:`nps_id.chem.stereo.diastereomer_classes`; () without a structure, or with one
        class only), kept in the cache folder as its shape is."""
        def make(r: int) -> list[list[Any]]:
            smiles = self.structure(r)  # diastereomer_classes imports RDKit only when called
            return [[c.smiles, list(c.inchikeys)] for c in diastereomer_classes(smiles) or ()] if smiles else []

        return self._cached("diastereomer_tuple", row, lambda r: tuple(
            StereoClass(smiles, tuple(keys)) for smiles, keys in self._cached("diastereomers", r, make)), persist=False)

    def homologues(self, row: int, min_chain: int) -> tuple[Homologue, ...]:
        """The chain homologues of the row's verified structure (:func:`nps_id.chem.homologues.homologues`, chains of at
        least ``min_chain`` carbons; () without a structure), kept in the cache folder: RDKit is imported only for a row
        no process has asked of (each forked EI x10 worker imported it, ~0.1 s CPU)."""
        def make(r: int) -> list[list[Any]]:
            smiles = self.structure(r)  # homologues imports RDKit only when called
            return [[h.smiles, h.inchikey, h.ch2, h.chain] for h in homologues(smiles, min_chain=min_chain)] if smiles else []

        # kept under "homologues:<row>-<min_chain>": the chain minimum is a threshold a caller may change
        return self._cached("homologue_tuple", f"{row}-{min_chain}", lambda _: tuple(
            Homologue(*values) for values in self._cached("homologues", f"{row}-{min_chain}", lambda _: make(row))),
            persist=False)

    def of_row(self, what: str, row: int, make: Callable[[int], Any]) -> Any:
        """``make(row)``, a value the library (less this view's left-out compounds) fixes for the row,
        once per process and view: a search asks its hit rows' again query after query."""
        return self._cached(what, (row, self.excluded), lambda _: make(row), persist=False)

    @functools.cached_property
    def _rows_of_block(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for r, block in enumerate(self._block):
            rows.setdefault(block, []).append(r)
        return rows

    def rows_of_block(self, block: str) -> list[int]:
        """The library rows of an InChIKey first block ([] when left out, or none)."""
        return [] if not block or block in self.excluded else self._rows_of_block.get(block, [])

    def mass(self, row: int) -> int | None:
        return self._cached("mass", row, lambda r: nominal_mass(self.formula(r)))

    def nominal(self, row: int) -> dict[int, float]:
        """The row's :func:`~nps_id.match.molecular_mass.nominal_spectrum`."""
        return self._cached("nominal", row, lambda r: nominal_spectrum(*self.reference.peaks.row(r)), persist=False)

    def prime_nominal(self, rows: Sequence[int]) -> None:
        """:meth:`nominal` of the ``rows`` not known yet, all at once (:func:`nominal_spectra`)."""
        todo = [r for r in dict.fromkeys(rows) if ("nominal", r) not in self._cache]
        for row, relative in zip(todo, nominal_spectra([self.reference.peaks.row(r) for r in todo])):
            self._cache[("nominal", row)] = relative

    def molecule_mass(self, row: int) -> float | None:
        """The row's monoisotopic mass (:func:`nps_id.match.lcms_evidence.candidate_mass`: from its
        formula, else its exact_mass), else None."""
        def make(r: int) -> float | None:
            formula = self.formula(r)
            # the formula's mass once per formula (a search's hit rows share a few hundred), else the row's exact_mass
            mass = self._cached("formula_mass", formula, formula_mass, persist=False)
            value = float(mass if mass is not None else candidate_mass(self.reference.columns, r, formula))
            return value if math.isfinite(value) and value > 0 else None

        # kept in the cache folder (a float's JSON text is its repr: the same bits back): each forked worker
        # of a search took ~0.02 s making its hit rows' again, now the command's load_saved decodes them once
        return self._cached("molecule_mass", row, make)

    def neighbour(self, row: int) -> Neighbour:
        """The row as :func:`~nps_id.match.molecular_mass.estimate_mass` reads a close spectrum
        (similarity 0: the caller sets it), its neutral losses computed once."""
        def make(r: int) -> Neighbour:
            plain = Neighbour(self.mass(r), self.ion(r), self.nominal(r), 0.0, self.formula(r))
            return plain._replace(losses=hit_losses(plain))

        return self._cached("neighbour", row, make, persist=False)

    def prime_neighbours(self, rows: Sequence[int]) -> None:
        """:meth:`neighbour` of the ``rows`` not known yet, all at once (:meth:`prime_nominal`,
        :func:`~nps_id.match.molecular_mass.hit_losses_many`)."""
        todo = [r for r in dict.fromkeys(rows) if ("neighbour", r) not in self._cache]
        self.prime_nominal(todo)
        plain = [Neighbour(self.mass(r), self.ion(r), self.nominal(r), 0.0, self.formula(r)) for r in todo]
        for row, neighbour, losses in zip(todo, plain, hit_losses_many(plain)):
            self._cache[("neighbour", row)] = neighbour._replace(losses=losses)

    def ms2_pairs(self, row: int) -> dict[str, tuple[int, int]]:
        """The other compounds of the row's formula (InChIKey first block -> a row of it and the best
        score, 0-999) whose MS/MS records match a record of the row's compound, best pair: the
        library's own evidence of which compounds its MS/MS cannot tell apart. Computed once per
        compound (an identity search of its records among the formula's others) and kept in the
        cache folder for a library file (:class:`Ms2PairsCache`), left-out compounds included
        (:meth:`name_of_block` says which the library holds)."""
        key = ("ms2_pairs", self.block(row))
        if key not in self._cache:  # by compound, from the first row asked: a few have two formulas ("[C7H9N2O]+")
            self._cache[key] = self._cached("ms2_pairs", f"{key[1]} {self.formula(row)}", lambda _: self._ms2_pairs(row),
                                            store=self._saved_pairs)
        return self._cache[key]

    def ei_pairs(self, row: int, min_rmf: int) -> dict[str, tuple[int, int]]:
        """:meth:`ms2_pairs` for EI records: the other compounds of the row's formula whose EI records
        match a record of the row's compound, best MF (0-999) where the RMF reaches ``min_rmf`` (below
        it no identification is made). Kept in the cache folder beside the MS/MS pairs (:class:`Ms2PairsCache`).
        By compound and formula as the MS/MS pairs are, and by the RMF floor too: one facts object serves
        callers of other thresholds (--identified-rmf)."""
        return self._cached("ei_pairs", f"{self.block(row)}:{min_rmf} {self.formula(row)}",
                            lambda _: self._pairs(row, min_rmf), store=self._saved_pairs)

    def rows_of_formula(self, formula: str) -> list[int]:
        """The library rows of a formula, left-out compounds included."""
        return self._rows_of_formula.get(formula, [])

    def isomer_rows(self, row: int) -> list[int]:
        """The library rows of the row's formula that are another compound (another InChIKey first
        block; rows without one left out), left-out compounds included: the candidates of its
        :meth:`ms2_pairs` and of the water-loss isomers
        (:func:`nps_id.match.isomer_evidence._with_water_loss_isomers`)."""
        block = self.block(row)  # not the whole column where the rows asked are few (block())
        return [r for r in self.rows_of_formula(self.formula(row)) if self.block(r) not in ("", block)]

    def formula_records(self, formula: str, mode: str) -> list[tuple[str, str, int, list[float]]]:
        """The library's records of ``formula`` in ion mode ``mode`` (lower case) with an InChIKey, by
        full InChIKey in row order: (InChIKey, its first block, its first row, every row's precursor
        m/z) -- the water-loss isomers' candidates
        (:func:`nps_id.match.isomer_evidence._with_water_loss_isomers`). Made once per formula and
        mode (asked for every MS/MS query that could be identified: ~0.08 s of each forked worker's
        CPU in the MS/MS x10 search, stop 39); which compounds a left-out view holds
        (:meth:`name_of_block`) is the caller's to ask, per query."""
        return self._cached("formula_records", formula, self._formula_records, persist=False).get(mode, [])

    def _formula_records(self, formula: str) -> dict[str, list[tuple[str, str, int, list[float]]]]:
        """:meth:`formula_records` of every ion mode of ``formula`` at once (lower case -> records): one
        pass over its rows for both polarities."""
        cols, rows = self.reference.columns, self.rows_of_formula(formula)
        at = np.asarray(rows, dtype=np.int64)
        found: dict[str, dict[str, list[tuple[int, float]]]] = {}
        for r, ion_mode, inchikey, mz in zip(rows, cols["ion_mode"][at].tolist(), cols["inchikey"][at].tolist(),
                                             cols["precursor_mz"][at].tolist()):
            if self.block(r):  # the column's list look-up once it is read (``_block``)
                found.setdefault(str(ion_mode).lower(), {}).setdefault(str(inchikey), []).append((r, mz))
        return {mode: [(key, self.block(held[0][0]), held[0][0], [mz for _, mz in held]) for key, held in records.items()]
                for mode, records in found.items()}

    def record_has_product_ion(self, row: int, level: float, precursor: float = float("nan")) -> bool:
        """Whether the library record ``row`` holds a product ion at ``level`` of its base peak
        (:func:`~nps_id.match.isomer_rule.has_product_ion`) around its own precursor m/z, else (a
        record that states none) around ``precursor``, the unknown's. Once per record that states
        its precursor (~0.04 s of a forked MS/MS x10 worker asked it per query, stop 39)."""
        at = float(self.reference.columns["precursor_mz"][row])
        if not np.isfinite(at):  # the answer depends on the unknown's precursor: not kept
            return has_product_ion(*self.reference.peaks.row(row), precursor, level)
        return self._cached("record_product_ion", f"{level} {row}",
                            lambda _: has_product_ion(*self.reference.peaks.row(row), at, level), persist=False)

    @functools.cached_property
    def _rows_of_formula(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for r, formula in enumerate(self.reference.columns["formula"]):
            rows.setdefault(str(formula), []).append(r)  # str(): the key formula() gives a row
        return rows

    def _ms2_pairs(self, row: int) -> dict[str, tuple[int, int]]:
        return self._pairs(row, None)

    def _pairs(self, row: int, min_rmf: int | None) -> dict[str, tuple[int, int]]:
        """The row compound's best pair with each other compound of its formula: MS/MS (``min_rmf``
        None) by score at :data:`PAIR_TOLERANCE`, EI by MF where the RMF reaches ``min_rmf``."""
        from nps_id.search.engine import SearchSettings, search  # lazy: only for identities

        block = self._block[row]
        if not block:
            return {}
        # records without peaks pair with nothing, and the search of one as a query warns (stop 45 attack45)
        own = self._with_peaks(r for r in self.rows_of_formula(self.formula(row)) if self._block[r] == block)
        others = self._with_peaks(self.isomer_rows(row))
        if not own or not others:
            return {}
        settings = SearchSettings(top_k=len(others), threads=1)
        ei = min_rmf is not None
        hits = search([self._spectrum(r, ei) for r in own], Reference.from_spectra([self._spectrum(r, ei) for r in others]),
                      settings if ei else replace(settings, tolerance=PAIR_TOLERANCE))
        scores = to_999_column(hits.score) if not ei else np.where(
            np.asarray(_rounded(hits.rmf)) >= min_rmf, _rounded(hits.mf), 0).tolist()
        best: dict[str, tuple[int, int]] = {}
        for position, score in zip(hits.row.tolist(), scores):
            other = others[position]
            if score and score > best.get(self._block[other], (0, 0))[1]:
                best[self._block[other]] = (other, score)
        return best

    def _with_peaks(self, rows: Iterable[int]) -> list[int]:
        """The ``rows`` whose record holds a peak."""
        return [r for r in rows if len(self.reference.peaks.row(r)[0])]

    def _spectrum(self, row: int, ei: bool = False) -> Spectrum:
        """The row as a spectrum the search reads: MS/MS (peaks, precursor, polarity), or EI (peaks)."""
        cols = self.reference.columns
        if ei:
            return Spectrum(*self.reference.peaks.row(row), {"ms_level": 1})
        return Spectrum(*self.reference.peaks.row(row), {"ms_level": 2, "precursor_mz": cols["precursor_mz"][row],
                                                        "ion_mode": cols["ion_mode"][row]})

    def ion(self, row: int) -> int | None:
        return self._cached("ion", row, lambda r: molecular_ion(self.nominal(r)))

    def context(self, row: int) -> str:
        """"drug" or "other" (:func:`nps_id.match.isomer_rule.context_of`): the rates-file context of
        the row's compound."""
        return self._cached("context", row, lambda r: context_of(
            self.name(r), self.structure(r), str(self.reference.columns["inchikey"][r]) or None))

    def group(self, row: int) -> str | None:
        """EWA group or subclass label of the row's compound; None when unknown, or when it is a
        medicine, adulterant or established drug the taxonomy files under plain "other substances"
        (lidocaine, caffeine, cocaine: the EWA groups new substances only, these are in none)."""
        return self._cached("group", row, self._group)

    def _group(self, row: int) -> str | None:
        from nps_id.chem.ewa_groups import classify, decided_by_structure

        # The structure is verified (RDKit's InChIKey, ~0.2 ms a row) only when a rule names it:
        # otherwise the names decide with it or without it. The first look-up of a rare group
        # classifies most of the library (MassBank EI: 11,050 rows, stop 30).
        claimed = self._claimed(row)
        smiles = self.structure(row) if claimed and decided_by_structure(claimed) else None
        return group_label(classify(self.name(row), smiles=smiles,
                                    inchikey=str(self.reference.columns["inchikey"][row]) or None))

    def nps(self, row: int) -> bool:
        """Whether the taxonomy places the row's compound as a new psychoactive substance
        (:class:`~nps_id.chem.ewa_groups.EwaClass` ``nps`` true: not a medicine, an established drug,
        nor a compound no rule places), by its name, verified structure and InChIKey."""
        from nps_id.chem.ewa_groups import classify

        # kept in the cache folder as 0 / 1 (a JSON bool is no fact type): ~0.2 s CPU of the 967 MassBank
        # EI identity queries' search classified their 347 isomer-rule hits
        return bool(self._cached("nps", row, lambda r: int(classify(
            self.name(r), smiles=self.structure(r), inchikey=str(self.reference.columns["inchikey"][r]) or None
        ).nps is True)))

    def lightest(self, group: str) -> int | None:
        """The nominal mass of the lightest library compound of ``group`` (a :meth:`group` label),
        left-out compounds not counted; None when the library holds none. The rows are classified
        lightest first, only as far as the answer needs (all 11,050 MassBank EI rows, for a group it
        holds none of: ~4 s CPU the first time, ~8 s before stop 30 verified only the structures a
        rule names; each row's group is kept in the cache folder); what was read is kept for every
        later call and view."""
        scan = self._cached("lightest", -1, lambda _: _GroupScan(self), persist=False)
        return scan.lightest(group, self.excluded)


class _GroupScan:
    """The library's rows in order of nominal mass, classified into groups as far as asked."""

    def __init__(self, facts: LibraryFacts) -> None:
        masses = [(facts.mass(row), row) for row in range(facts.reference.n_spectra)]
        self.order = sorted((mass, row) for mass, row in masses if mass is not None)
        self.facts, self.done = facts, 0
        self.found: dict[str, list[tuple[int, str]]] = {}  # group -> (mass, InChIKey first block), lightest first

    def lightest(self, group: str, excluded: frozenset[str]) -> int | None:
        def first() -> int | None:
            return next((mass for mass, block in self.found.get(group, ()) if not block or block not in excluded), None)

        while first() is None and self.done < len(self.order):
            mass, row = self.order[self.done]
            self.done += 1
            label = self.facts.group(row)
            if label is not None:
                self.found.setdefault(label, []).append((mass, self.facts.block(row)))
        return first()


def group_label(found: Any) -> str | None:
    """The EWA group or subclass label of a :class:`~nps_id.chem.ewa_groups.EwaClass`, None for
    ``unknown`` and for a medicine, adulterant or established drug the taxonomy files under plain
    "other substances" (not NPS: the EWA groups new psychoactive substances only)."""
    if found.group == "unknown" or (found.group == "other_substances" and found.subclass is None
                                    and found.nps is False):
        return None
    return found.subclass_label or found.group_label

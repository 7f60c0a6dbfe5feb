"""One spectrum, its ranked library hits -> what it may be called, and what it probably is.

Shared by ``nps-id search`` (a verdict per query) and ``nps-id match`` (a verdict per
component), so a spectrum gets the same verdict wherever a rule applies to it. Besides the
verdict rules of :mod:`nps_id.match.verdict` it brings the chemistry the score alone lacks:

- isomers the spectrum cannot exclude (:mod:`nps_id.match.isomer_rule`), in the library or not;
  MS/MS adds the library's own pairs (:func:`_with_ms2_pairs`) and excludes rarely-inseparable
  absent isomers of a hit alone at its mass (:func:`alone_at_its_mass`) or of a hit of no drug
  series that a second record replicates (:func:`replicated_outside_drug_series`);
- molecular-ion consistency: a candidate lighter than ions of the spectrum is not the compound;
- an estimated nominal molecular mass (:mod:`nps_id.match.molecular_mass`);
- the new-substance call (:func:`unexplained`): no library compound explains the spectrum --
  ``new_substance``, with the ``suspected_group`` the closest library compounds agree on (else the
  one the spectrum's diagnostic ions point to, :mod:`nps_id.chem.diagnostic_ions`), the closest
  compounds with their mass differences and what those differences read as (``CH2``, ``F for H``).

Entry points: :class:`LibraryFacts` (what the rules need from the library, optionally with
compounds left out for leave-compound-out tests), :class:`RankedHit`, :func:`assess` ->
:class:`Assessment`, :func:`assess_search` (a search's hits), :func:`group_label` (the EWA
label a compound's class gives, or None); :class:`IsomerCache` keeps the
RDKit isomer enumerations of hits across processes, and :class:`LibraryFacts` its row values
(verified structure, EWA group, masses) for a library file, in the cache folder (files of
:class:`nps_id._json_cache.JsonCache`: checked lazily, saved merged under a lock).
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from nps_id._json_cache import JsonCache
from nps_id.chem.derivatives import DERIVATIZING_GROUPS, SIGNATURE_IONS, reagent_of
from nps_id.chem.diagnostic_ions import ACYLIUM_SETS, group_from_ions
from nps_id.chem.formula import nominal_mass
from nps_id.chem.isomer_type import Isomer
from nps_id.chem.stereo import StereoClass, diastereomer_classes, stereo_layers
from nps_id.compound import is_labelled, skeleton
from nps_id.lcms.features import ADDUCTS, PROTON, adduct_named, adducts_for, formula_mass, ion_mz
from nps_id.match.dominant_ion import one_ion_spectrum, rest_disagrees
from nps_id.match.group_model import VOTE_COMPOUNDS, GroupModel, distinct_compounds, shipped_group_model
from nps_id.match.isomer_rule import (DIASTEREOMER, LIBRARY_CLOSE, LIBRARY_PAIR, IsomerCheck, IsomerNote, check_isomers, context_of,
                                     has_product_ion, load_rates, rate_at, rate_of, rates_context, structure_shape)
from nps_id.match.lcms_evidence import candidate_mass
from nps_id.match.molecular_mass import Neighbour, hit_losses, hit_losses_many
from nps_id.match.molecular_mass import (
    HIT_VOTES, ION_FLOOR, KEEP_BLEED_IONS, confirmed_ion_above, estimate_mass, estimate_masses, ions_above,
    ions_missing, molecular_ions_disagree, without_column_bleed,
    molecular_ion, nominal_spectra, nominal_spectrum, unexplained_molecular_ion,
)
from nps_id.match.verdict import (
    IDENTIFIED, INCONCLUSIVE, MAY_BE_NEW, NEW_ISOMER, UNLISTED_ISOMER, Evidence, RuleId, Verdict, VerdictThresholds, decide,
    decide_level, may_be,
)
from nps_id.search.analogue import match_shift, shift_name
from nps_id.search.preprocess import nominal_mass as nominal_mz
from nps_id.search.reference import Reference
from nps_id.search.scores.base import kind_of, to_999, to_999_column
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance

#: Closest library hits below this spectral similarity (0-1) say nothing about the family.
FAMILY_MIN_SIMILARITY = 0.45
#: Share of the closest hits' similarity**4 weight one group needs to be the suspected group.
FAMILY_MIN_SHARE = 0.55
#: A group named by one library compound alone needs it at least this similar (0-1); below, two
#: distinct compounds of the group must agree. Development data (SWGDRUG left out, 2,712 flagged;
#: docs/match.md): floor 0.5 / share 0.5 / one compound enough named a wrong group for 351 and none
#: for 369; floor 0.45 / share 0.55 / this rule for 229 and 477, flagged with the right group
#: 0.667 -> 0.671 (0.674 and 468 with the diagnostic ions of this change; a cross-validated
#: logistic model on the vote's evidence: 0.677 with 226 wrong).
FAMILY_SOLO_SIMILARITY = 0.7
#: Hits per query the verdict fields read: the mass estimate's first HIT_VOTES, the group model's
#: VOTE_COMPOUNDS distinct compounds (a compound's several spectra between them). `nps-id search`
#: searches at least this many and prints --top: fewer hits changed them (--top 1 against 10 on the
#: MassBank EI analogue queries: 16 estimated masses, 30 groups, a verdict; 10 = 20 = 80).
EVIDENCE_HITS = 2 * max(HIT_VOTES, VOTE_COMPOUNDS)
#: An inconclusive spectrum's best hit with the spectrum's molecular mass and at least this
#: similarity (0-1, by spectrum kind) may be that compound measured elsewhere: the spectrum is not
#: called new. EI 0.7 (development data: 0.6 / 0.7 / 0.8 flag 0.87 / 0.91 / 0.91 of SWGDRUG
#: compounds left out and call 0.22 / 0.27 / 0.27 of present MassBank EI queries new; at 0.6 the
#: LRCFS etizolam peak against SWGDRUG without etizolam, same nominal mass as flutoprazepam at
#: similarity 0.61, was not flagged); MS/MS 0.6 (0.5 / 0.6 / 0.7 flag 0.84 / 0.87 / 0.91 of absent
#: compounds, against 0.21 / 0.25 / 0.31 of present ones called new).
SAME_MASS_SIMILARITY = {"ei": 0.7, "ms2": 0.6}
#: A "weak match" to a compound of the spectrum's molecular mass explains the spectrum only at
#: this similarity (0-1): below it the hit is a same-mass relative -- once the estimated mass was
#: right more often (stop 21), weak matches to an absent compound's library isomer went unflagged
#: (isobutyl nitrite -> N-butyl nitrite). Development data, 0.7 / 0.75 / 0.8: flagged SWGDRUG
#: left out 0.91 / 0.93 / 0.97, MassBank EI left out 0.78 / 0.85 / 0.91, absent 0.84 / 0.92 / 0.94,
#: MS/MS left out 0.89 / 0.91 / 0.92; present MassBank called new EI 0.21 / 0.24 / 0.31, MS/MS
#: 0.26 / 0.31 / 0.35 (docs/match.md). 0.76 since the far neutral losses (stop 24): a right mass
#: more often equals the absent compound's same-mass isomer; at 0.75 flags fell (SWGDRUG left
#: out 0.929 -> 0.927, MassBank EI 0.863 -> 0.859), at 0.76 they rise (0.932, 0.870; MassBank
#: EI present called new 0.248 -> 0.253).
WEAK_SAME_MASS_SIMILARITY = 0.76
#: Fragment tolerance of the library's own MS/MS pairs (:meth:`LibraryFacts.ms2_pairs`): two
#: compounds are alike only when their fragments agree at HRMS accuracy (the LC
#: ``--fragment-tolerance`` default); the search's 0.2 Da cosine took L-phenylalanine's C8H10N+
#: 120.081 for benzocaine's C7H6NO+ 120.044 (pair 935 at 0.02 Da, 451 at 0.01 Da).
PAIR_TOLERANCE = Tolerance(0.01, "Da")
#: H2O's monoisotopic mass, Da: the in-source loss of :func:`_with_water_loss_isomers`.
WATER_DA = float(formula_mass("H2O") or 0.0)
#: Closest distinct compounds listed for a new substance.
N_CLOSEST = 3
#: The EWA catch-all group: a family vote for it points to nothing an early warning can name.
_UNINFORMATIVE_GROUP = "Other substances"


class RankedHit(NamedTuple):
    """One library hit of a spectrum: its row, the score its verdict uses (0-999), MF/RMF (EI
    identity) and the spectral similarity (0-1). A named tuple: a search makes one per hit row
    (~240,000 for 9,670 EI queries), 2.5x faster than a frozen dataclass (0.36 -> 0.15 s CPU)."""

    row: int
    score: int
    mf: int | None = None
    rmf: int | None = None
    similarity: float = 0.0


def _code_key(files: Sequence[Path], *extra: str) -> str:
    """A cache key: the SHA-256 of ``files`` (the code and data that make a cached value), the
    RDKit version and ``extra``; any change to them makes a new cache file."""
    from nps_id._installed import package_version

    parts = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files] + [package_version("rdkit"), *extra]
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


class _RowFactsCache(JsonCache):
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
        files = [_module_file(m) for m in ("nps_id.match.assess", "nps_id.match.isomer_rule", "nps_id.chem.ewa_groups",
                                           "nps_id.chem.formula", "nps_id.match.molecular_mass", "nps_id.compound", "nps_id.chem.derivatives",
                                           "nps_id.chem.thermal", "nps_id.chem.stereo")]
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
        return value

    #: The JSON type of each persisted fact (None: not known for the row).
    _TYPES = {"structure": (str, type(None)), "group": (str, type(None)), "reagent": (str, type(None)), "context": str,
              "mass": (int, type(None)), "ion": (int, type(None)), "shape": list, "name_of": (str, type(None)),
              "thermal": list, "diastereomers": list, "nps": int}
    #: What a persisted list holds: a structure's shape three counts, its relatives [SMILES, InChIKey, move]
    #: each, its diastereomer classes [SMILES, [InChIKeys' first two blocks: one or two, up to six with a free
    #: anomeric carbon]] each.
    _LISTS = {"shape": lambda v: len(v) == 3 and all(type(n) is int and 0 <= n <= _MAX_INT for n in v),
              "thermal": lambda v: all(_strings(r, 3) for r in v),
              "diastereomers": lambda v: all(isinstance(c, list) and len(c) == 2 and isinstance(c[0], str)
                                             and isinstance(c[1], list) and len(c[1]) >= 1
                                             and all(isinstance(k, str) for k in c[1]) for c in v)}
    #: The values a fact can take where they are few (``nps`` 0 / 1: 2 read as an NPS). An int is
    #: 0 to :data:`_MAX_INT`, a mass (a formula's) at least 1.
    _VALUES = {"context": ("drug", "other"), "reagent": (None, *{kind for kind, _ in DERIVATIZING_GROUPS}), "nps": (0, 1)}


class _Ms2PairsCache(_RowFactsCache):
    """:meth:`LibraryFacts.ms2_pairs` per compound and formula (``"ms2_pairs:BLOCK FORMULA"`` ->
    ``{block: [row, score]}``) of a library file, across processes: each is an identity search
    (~3 ms; 0.75 s of the 1,235 MassBank MS/MS queries' verdicts per process). Keyed like the row
    facts plus the search code (the pairs are its scores)."""

    label = "MS/MS library pairs cache"

    def __init__(self, sha256: str, facts: "LibraryFacts") -> None:
        super().__init__(sha256)
        self._facts = facts  # whose rows the pairs name

    def _checked_file(self) -> dict[str, Any]:
        self._facts._block  # every row's block at once: row by row, checking 1,032 entries took 0.3 s
        return super()._checked_file()

    def _file_name(self) -> str:
        search = sorted(Path(_module_file("nps_id.search")).parent.rglob("*.py"))
        files = [*search, *(_module_file(m) for m in ("nps_id.spectrum", "nps_id.peaks", "nps_id.tolerance"))]
        return f"ms2pairs-{_code_key(files, super()._file_name())}.json"

    def _decode_value(self, key: str, value: Any) -> dict[str, tuple[int, int]]:
        if not key.startswith("ms2_pairs:") or not isinstance(value, dict):
            raise ValueError(f"{key!r} holds {value!r}")
        pairs = {block: tuple(pair) for block, pair in value.items()}
        # a row outside the library would stop the search (or, negative, name another row)
        if not all(len(pair) == 2 and all(type(v) is int for v in pair) and 0 <= pair[0] < self._facts.reference.n_spectra
                   and 0 < pair[1] <= 999 for pair in pairs.values()):
            raise ValueError(f"{key!r} holds {value!r}")
        # a row of another compound or formula would name its structure as the hit's isomer (stop 37)
        formula = key.partition(" ")[2]
        if not all((self._facts.block(row), self._facts.formula(row)) == (block, formula) for block, (row, _) in pairs.items()):
            raise ValueError(f"{key!r} holds {value!r}: a row not of its block and formula")
        return pairs


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
            _RowFactsCache(reference.sha256),
            _Ms2PairsCache(reference.sha256, self))
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
        """Every row's InChIKey first block; read when a rule first asks (a query without hits never)."""
        return list(map(skeleton, self.reference.columns["inchikey"]))

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
        were read alone (an MS/MS x10 search read ~14,600 rows one by one)."""
        if "_block" in self.__dict__:
            return self._block[row]
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
        from rdkit import Chem, RDLogger  # lazy: only when a rule needs a structure

        from nps_id.library.structure_variants import keyable_mol

        RDLogger.DisableLog("rdApp.*")
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

    def shape(self, row: int) -> tuple[int, int, int]:
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

        return tuple(Isomer(*fields) for fields in self._cached("thermal", row, make))

    def diastereomer_classes(self, row: int) -> tuple[StereoClass, ...]:
        """The diastereomer classes of the row's verified structure's constitution
        (:func:`nps_id.chem.stereo.diastereomer_classes`; () without a structure, or with one
        class only), kept in the cache folder as its shape is."""
        def make(r: int) -> list[list[Any]]:
            smiles = self.structure(r)  # diastereomer_classes imports RDKit only when called
            return [[c.smiles, list(c.inchikeys)] for c in diastereomer_classes(smiles) or ()] if smiles else []

        return tuple(StereoClass(smiles, tuple(keys)) for smiles, keys in self._cached("diastereomers", row, make))

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
            value = candidate_mass(self.reference.columns, r, self.formula(r))
            return value if np.isfinite(value) and value > 0 else None

        return self._cached("molecule_mass", row, make, persist=False)

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
        cache folder for a library file (:class:`_Ms2PairsCache`), left-out compounds included
        (:meth:`name_of_block` says which the library holds)."""
        key = ("ms2_pairs", self.block(row))
        if key not in self._cache:  # by compound, from the first row asked: a few have two formulas ("[C7H9N2O]+")
            self._cache[key] = self._cached("ms2_pairs", f"{key[1]} {self.formula(row)}", lambda _: self._ms2_pairs(row),
                                            store=self._saved_pairs)
        return self._cache[key]

    def rows_of_formula(self, formula: str) -> list[int]:
        """The library rows of a formula, left-out compounds included."""
        return self._rows_of_formula.get(formula, [])

    @functools.cached_property
    def _rows_of_formula(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = {}
        for r, formula in enumerate(self.reference.columns["formula"]):
            rows.setdefault(str(formula), []).append(r)  # str(): the key formula() gives a row
        return rows

    def _ms2_pairs(self, row: int) -> dict[str, tuple[int, int]]:
        from nps_id.search.engine import SearchSettings, search  # lazy: only for MS/MS identities

        block = self._block[row]
        rows = self._rows_of_formula.get(self.formula(row), []) if block else []
        own = [r for r in rows if self._block[r] == block]
        others = [r for r in rows if self._block[r] not in ("", block)]
        if not own or not others:
            return {}
        hits = search([self._spectrum(r) for r in own], Reference.from_spectra([self._spectrum(r) for r in others]),
                      SearchSettings(top_k=len(others), threads=1, tolerance=PAIR_TOLERANCE))
        best: dict[str, tuple[int, int]] = {}
        for position, score in zip(hits.row.tolist(), to_999_column(hits.score)):
            other = others[position]
            if score and score > best.get(self._block[other], (0, 0))[1]:
                best[self._block[other]] = (other, score)
        return best

    def _spectrum(self, row: int) -> Spectrum:
        """The row as an MS/MS spectrum the search reads (peaks, precursor, polarity)."""
        cols = self.reference.columns
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


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    new_substance: bool
    suspected_group: str | None
    estimated_mass: int | None
    isomers: IsomerCheck | None
    closest: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def fields(self) -> dict[str, Any]:
        """The per-spectrum fields of the search and match contracts."""
        return {
            "verdict": self.verdict.verdict,
            "verdict_rule": self.verdict.rule,
            "new_substance": self.new_substance,
            "suspected_group": self.suspected_group,
            "estimated_mass": self.estimated_mass,
        }


def assess(
    mz: np.ndarray,
    intensity: np.ndarray,
    kind: str,
    hits: Sequence[RankedHit],
    facts: LibraryFacts,
    *,
    gap: int | None,
    isomer_alert: bool,
    thresholds: VerdictThresholds = VerdictThresholds(),
    precursor: tuple[float, str] | None = None,
    precursor_type: str | None = None,
    identity: bool = True,
    acquired_max: float | None = None,
    fields_only: bool = False,
    estimated: tuple[dict[int, float], int | None] | None = None,
    group_model: GroupModel | None = None,
    library_ri: Callable[[int], float | None] | None = None,
    background: frozenset[int] = frozenset(),
    **evidence: Any,
) -> Assessment:
    """Verdict and new-substance evidence for one spectrum.

    Parameters
    ----------
    mz, intensity
        The spectrum (EI: as measured; the checks bin to nominal mass).
    kind
        ``"ei"`` or ``"ms2"``.
    hits
        Its library hits, best first (identity mode; analogue hits may follow for the family).
    gap, isomer_alert
        As the search computed them for the top hit.
    precursor
        MS/MS: (precursor m/z, ion mode) for the estimated mass.
    precursor_type
        MS/MS: the ion type the spectrum states its precursor is (a record's ``Precursor_type``);
        None: unknown (a run's scans), any ion type of the candidate then passes.
    acquired_max
        Highest m/z the instrument scanned (a run's range); None: the spectrum's own.
    identity
        False when ``hits`` come from an analogue search: they can support a close analogue or a
        new substance, never an identification.
    evidence
        Further :class:`~nps_id.match.verdict.Evidence` fields (``major_ions``, ``n_ions``,
        ``delta_ri``, ``same_hit_elsewhere``, ``analogue_score``, ``analogue_confidence``).
    fields_only
        Compute only what :meth:`Assessment.fields` needs (``nps-id search``): the same values,
        but the hit's isomers are enumerated (RDKit) only when they can change the verdict --
        when it is ``identified`` without them -- and ``closest`` is left empty.
    estimated
        EI: the spectrum's :func:`~nps_id.match.molecular_mass.nominal_spectrum` and estimated mass
        when the caller has them (:func:`assess_search` estimates all its queries at once).
    group_model
        The :class:`~nps_id.match.group_model.GroupModel` of ``kind`` naming the suspected group
        (None: the shipped one; a benchmark passes the fold model that never saw the query's compound).
    library_ri
        Library row -> its retention index (None: unknown): with ``delta_ri``, a diastereomer of the
        hit whose RI is outside the window of the unknown's is excluded (:func:`_with_diastereomers`).
    background
        EI, a GC run's component: its ions the run's background explains
        (:func:`nps_id.gcms.background.background_ions`), set aside in the estimated mass and the
        molecular-ion rules; empty (a library spectrum, a search): none.
    """
    if estimated is not None:
        relative, estimated = estimated
    else:
        relative = nominal_spectrum(mz, intensity) if kind == "ei" else {}
        # the run's background is the column's, never the compound's molecular ion
        estimated = _estimated_mass(without_column_bleed(relative, level=KEEP_BLEED_IONS, background=background),
                                    kind, hits, facts, precursor)
    if not hits:
        verdict = decide(Evidence(kind=kind, score=0, mf=0 if kind == "ei" else None,
                                  rmf=0 if kind == "ei" else None, gap=None), thresholds)
        # nothing in the library resembles it (MS/MS: no library precursor at its mass); a
        # spectrum without peaks is no substance at all
        group = _suspected_group(kind, mz, intensity, relative, hits, facts, precursor, group_model)
        return Assessment(verdict, bool(np.size(mz)), group, estimated, None)
    top = hits[0]

    def isomer_check() -> IsomerCheck:
        scores: dict[str, int] = {}  # here: the search asks for isomers only when they can change its verdict
        for hit in hits:
            scores.setdefault(facts.block(hit.row), hit.score)
        smiles = facts.structure(top.row)
        context = rates_context(facts.context(top.row), kind)
        margin = thresholds.isomer_ms2_margin if kind == "ms2" else thresholds.isomer_margin
        min_rate = thresholds.isomer_min_rate_ms2 if kind == "ms2" else thresholds.isomer_min_rate
        check = check_isomers(smiles, context, top.score, facts.name_of_block, scores,
                              min_rate=min_rate, margin=margin,
                              isomers=facts.isomer_cache.get(smiles) if smiles else None,
                              small_ring_atoms=thresholds.isomer_small_ms2_atoms if kind == "ms2" else 0,
                              small_atoms=thresholds.isomer_small_ei_atoms if kind == "ei" else 0,
                              pah_rings=thresholds.isomer_pah_rings if kind == "ei" else 0,
                              shape=facts.shape(top.row) if smiles else None)
        # the library's own MS/MS pairs matter only to a score that could be identified
        if kind == "ms2" and check.evaluated and top.score >= thresholds.identified_score:
            check = _with_ms2_pairs(check, top.row, facts, scores, thresholds.isomer_ms2_pair_score)
            check = _with_water_loss_isomers(check, top.row, facts, precursor, scores, thresholds.isomer_ms2_water_loss_da)
            check = alone_at_its_mass(check, hits, facts, gap, thresholds)
            check = replicated_outside_drug_series(check, hits, facts, thresholds)
        level = thresholds.isomer_ms2_product_ion_level
        if kind == "ms2" and level > 0 and precursor is not None and not has_product_ion(mz, intensity, precursor[0], level):
            check = replace(check, no_product_ion=level)  # the precursor alone: every compound of its mass
        if kind == "ms2" and check.evaluated:
            check = _with_record_precursor_alone(check, top.row, facts, precursor, thresholds)
        if kind == "ei" and check.evaluated:
            check = _with_thermal_relatives(check, top, facts, scores, margin, thresholds)
        if kind == "ei" and check.evaluated and thresholds.isomer_absent_diastereomer_rate > 0:
            check = _with_absent_diastereomers(check, top, facts, rates_context(facts.context(top.row), kind),
                                               thresholds.isomer_absent_diastereomer_rate)
        apart = _ri_apart(top.row, evidence.get("delta_ri"), library_ri, thresholds.ri_window)
        return _with_diastereomers(check, hits, facts, thresholds.isomer_diastereomer_ms2_margin if kind == "ms2"
                                   else thresholds.isomer_diastereomer_margin, apart)

    above = missing = lighter_ion = both_ions = one_ion = None
    top_mass = facts.mass(top.row) if kind == "ei" else None  # the hit row's facts, read once a query
    if top_mass is not None:
        formula, own_ion, reference = facts.formula(top.row), facts.ion(top.row), facts.nominal(top.row)
        # the unknown's ions as its molecular-ion evidence: weak column-bleed ions are the column's
        unbled = without_column_bleed(relative, thresholds.column_bleed_level, background)
        ion = molecular_ion(unbled)  # the unknown's, once for both rules below
        above = tuple(ions_above(unbled, formula, thresholds.ions_above_level, own_ion)
                      or confirmed_ion_above(unbled, estimated, formula, own_ion, own=ion,
                                             faint=thresholds.estimated_ion_level))
        missing = tuple(ions_missing(relative, reference, formula, thresholds.ions_above_level, acquired_max))
        lighter_ion = unexplained_molecular_ion(unbled, estimated, reference, top_mass,
                                                thresholds.molecular_ion_level, own=ion)
        lighter_ion = None if lighter_ion is None else tuple(lighter_ion)  # None: does not apply, silent
        both_ions = molecular_ions_disagree(relative, estimated, reference, top_mass,
                                            thresholds.candidate_ion_level, acquired_max, own_ion)
        both_ions = None if both_ions is None else tuple(both_ions)  # None: does not apply, silent
        base = one_ion_spectrum(reference, formula, top_mass, thresholds.one_ion_share, thresholds.molecular_ion_level)
        if base is not None:
            one_ion = (base, rest_disagrees(relative, reference, base, top_mass,
                                            thresholds.one_ion_rest_level, thresholds.one_ion_rest_factor))
    min_gap = thresholds.min_gap if kind == "ei" else thresholds.min_gap_ms2
    injector: list[dict[str, str]] = []

    def relatives() -> dict[str, str]:
        """The hit's injector relatives (EI), made when first asked (most queries never ask): a
        closure, not ``functools.cache`` -- whose wrapper cost ~20 us a query to make."""
        if not injector:
            injector.append(_injector_relatives(top, facts, thresholds) if kind == "ei" else {})
        return injector[0]
    close = (close_isomers(hits, facts, min_gap, relatives)
             if identity and (isomer_alert or (gap is not None and gap < min_gap)) else ())
    close_names = tuple(facts.name(hit.row) for hit in close)
    # the close compounds that are the hit's GC injector relatives (phenibut / its lactam): named as such
    moves = relatives() if any(facts.formula(hit.row) != facts.formula(top.row) for hit in close) else {}
    close_relatives = tuple((facts.name(hit.row), moves[facts.block(hit.row)]) for hit in close
                            if facts.block(hit.row) in moves)
    precursor_ion = record_precursor = None
    molecule = facts.molecule_mass(top.row) if kind == "ms2" else None
    if molecule is not None and precursor is not None and np.isfinite(precursor[0]):
        stated = precursor_type if thresholds.ms2_stated_precursor_type else None
        precursor_ion = (precursor[0], ion_type(precursor[0], precursor[1], molecule, stated))
    if kind == "ms2" and precursor is not None and np.isfinite(precursor[0]):
        record_mz = float(facts.reference.columns["precursor_mz"][top.row])
        if np.isfinite(record_mz):
            record_precursor = (record_mz, abs(precursor[0] - record_mz) <= PRECURSOR_ION_DA)
    # match: the close isomers join the enumerated ones (the findings' isomers_not_excluded, the EWA
    # export's count); the search's columns never read them
    isomers = None if fields_only else _with_close_isomers(isomer_check(), close, facts)
    if identity:
        # EI: the ions that carry the match, not the specks ``n_ions`` also counts
        significant = sum(1 for v in relative.values() if v >= thresholds.significant_ion_level) if kind == "ei" else None
        found = Evidence(kind=kind, score=top.score, mf=top.mf, rmf=top.rmf, gap=gap, isomer_alert=isomer_alert,
                         isomers=isomers, ions_above=above, ions_missing=missing, ion_unexplained=lighter_ion,
                         ions_disagree=both_ions, one_ion=one_ion,
                         precursor_ion=precursor_ion, record_precursor=record_precursor, close_isomers=close_names,
                         stated_ion=stated_ion(precursor_type) if thresholds.ms2_stated_precursor_type else None,
                         close_relatives=close_relatives,
                         significant_ions=significant, **evidence)
        if fields_only:
            verdict, isomers = decide_level(found, isomer_check, thresholds)
        else:
            verdict = decide(found, thresholds)
    else:  # analogue hits: the identity criteria are failed by construction, not evaluated
        verdict = decide(Evidence(kind=kind, score=0, mf=0 if kind == "ei" else None, rmf=0 if kind == "ei" else None,
                                  gap=gap, identity_hit=False, **evidence), thresholds)
    if verdict.verdict == IDENTIFIED or verdict.rule_id in (RuleId.ISOMER_NOT_EXCLUDED, RuleId.ISOMER_AMBIGUITY):
        # The hit, or an isomer of it the spectrum cannot tell apart: the hit's group either way.
        if MAY_BE_NEW in verdict.rule:  # decide's words, whatever the hit
            verdict = replace(verdict, rule=may_be(verdict.rule, absent_isomer(top.row, facts, isomers)))
        if verdict.verdict == IDENTIFIED and kind == "ei" and facts.mass(top.row) is not None:
            # the compound named is the spectrum's: its mass, not the estimate's (bupivacaine, no
            # M+ 288, estimated 197; an isomer-not-excluded hit may be a homologue: kept)
            estimated = facts.mass(top.row)
        return Assessment(verdict, False, facts.group(top.row), estimated, isomers)
    # the spectrum shares the candidate's one nitrogen-bearing ion but not the rest of its molecule
    # (nps_id.match.dominant_ion): a relative of the candidate, not the candidate -- a suspected new
    # substance; its amine part is the candidate's, so the candidate's series when the model names
    # none (the checks below that a group rests on more than a shared fragment apply to it as well)
    relative_hit = verdict.rule_id == RuleId.WEAK_MATCH and one_ion is not None and bool(one_ion[1])
    group = _suspected_group(kind, mz, intensity, relative, hits, facts, precursor, group_model)
    if group is None and relative_hit:
        group = facts.group(top.row)
    if group is not None and kind == "ei" and not (group_evidence(relative, top, facts, thresholds)
                                                   and beyond_molecular_ion(relative, group, hits, facts, thresholds)):
        group = None
    elif group is None and kind == "ei":
        group = derivative_group(relative, hits, facts, thresholds) or acylium_group(relative, thresholds)
    if group is not None and kind == "ei" and not beyond_silyl_ions(relative, group, hits, facts, thresholds):
        group = None
    if group is not None and kind == "ei" and below_series(group, estimated, facts, thresholds):
        group = None
    closest = () if fields_only else _closest(hits, facts, estimated, kind)
    ppm = evidence.get("precursor_ppm")
    formula_confirmed = ppm is not None and abs(ppm) <= thresholds.precursor_ppm
    return Assessment(verdict, relative_hit or unexplained(verdict, top, facts, estimated, kind, formula_confirmed), group,
                      estimated, isomers, closest)


def absent_isomer(row: int, facts: LibraryFacts, isomers: IsomerCheck | None) -> str:
    """What an isomer the library lacks of the hit at ``row`` would be (the isomer rules' "it may be
    ..."): :data:`~nps_id.match.verdict.NEW_ISOMER` when the taxonomy places the hit as an NPS, or a
    GC injector relative of it the library lacks by its own structure (phenibut, the lactam's open
    form); else :data:`~nps_id.match.verdict.UNLISTED_ISOMER` -- the MassBank EI identity queries' sugar
    and terpenoid diastereomers, the PestMix slice's cyproconazole, read "it may be a new substance"
    in ``nps-id search`` and the results until stop 37 (the reports worded it so since stop 35-36)."""
    from nps_id.chem.ewa_groups import structure_is_nps

    relatives = [n for n in isomers.thermal if n.name is None] if isomers is not None else []
    new = facts.nps(row) or any(structure_is_nps(None, n.smiles) for n in relatives)
    return NEW_ISOMER if new else UNLISTED_ISOMER


def close_isomers(hits: Sequence[RankedHit], facts: LibraryFacts, min_gap: int,
                  relatives: Callable[[], dict[str, str]] = dict) -> tuple[RankedHit, ...]:
    """The best hit of each other library compound (by name) scoring within ``min_gap`` of the top
    hit, when every one of them has the hit's formula (its isomers, which the gap cannot exclude)
    or is one of its GC injector ``relatives`` (InChIKey first block -> move, asked for only when
    a compound of another formula is that close: phenibut and its lactam give one EI spectrum);
    () when one is neither, or when ``hits`` end within the gap (a closer compound may be unlisted)."""
    top = hits[0]
    codes = facts.reference.compound()
    formula = facts.formula(top.row)
    close: dict[str, RankedHit] = {}
    for hit in hits[1:]:
        if top.score - hit.score >= min_gap:
            return tuple(close.values())
        if codes[hit.row] == codes[top.row]:
            continue
        if not formula or (facts.formula(hit.row) != formula and facts.block(hit.row) not in relatives()):
            return ()
        close.setdefault(facts.name(hit.row), hit)
    return ()


def _with_close_isomers(check: IsomerCheck, close: Sequence[RankedHit], facts: LibraryFacts) -> IsomerCheck:
    """``check`` with the :func:`close_isomers` its enumeration did not reach (another skeleton of
    the hit's formula) not excluded (move :data:`LIBRARY_CLOSE`, rate 1)."""
    return _also_not_excluded(check, [IsomerNote(facts.structure(hit.row) or "", facts.block(hit.row), LIBRARY_CLOSE,
                                                 1.0, facts.name(hit.row), hit.score) for hit in close])


def _with_ms2_pairs(check: IsomerCheck, row: int, facts: LibraryFacts, scores: dict[str, int],
                    min_score: int) -> IsomerCheck:
    """``check`` with the library compounds whose MS/MS matches the hit compound's at >= ``min_score``
    (:meth:`LibraryFacts.ms2_pairs`) not excluded: the unknown's lower score against them comes
    from records of other laboratories or collision energies, the library's own pair shows the two
    alike (move :data:`LIBRARY_PAIR`, rate 1)."""
    notes = []
    for block, (pair_row, pair_score) in facts.ms2_pairs(row).items():
        name = facts.name_of_block(block)
        if pair_score >= min_score and name is not None:
            notes.append(IsomerNote(facts.structure(pair_row) or "", block, LIBRARY_PAIR, 1.0, name,
                                    scores.get(block)))
    return _also_not_excluded(check, notes)


def _with_water_loss_isomers(check: IsomerCheck, row: int, facts: LibraryFacts, precursor: tuple[float, str] | None,
                            scores: dict[str, int], tolerance: float) -> IsomerCheck:
    """MS/MS: ``check`` with the library compounds of the hit's formula (another first block: not a
    stereoisomer of it; by full InChIKey) recorded in the unknown's polarity only at its precursor
    m/z minus 1-3 waters (+- ``tolerance`` Da) not excluded (move :data:`LIBRARY_PAIR`, rate 1): the
    search compares only records at the unknown's precursor, so those in-source water losses were
    never scored against it (MassBank MS/MS holds androsterone only at 273.3 and 255.3: its [M+H]+
    291.23 was `identified` as dihydrotestosterone at 999). 0: off."""
    if tolerance <= 0 or precursor is None:
        return check
    block = facts.block(row)
    losses = [precursor[0] - waters * WATER_DA for waters in (1, 2, 3)]
    notes = [IsomerNote(facts.structure(first) or "", key[:14], LIBRARY_PAIR, 1.0, facts.name(first), scores.get(key[:14]))
             for key, other, first, at in _formula_records(facts, facts.formula(row), precursor[1])
             if other != block and facts.name_of_block(other) is not None
             and all(any(abs(mz - loss) <= tolerance for loss in losses) for mz in at)]
    return _also_not_excluded(check, notes)


def _formula_records(facts: LibraryFacts, formula: str, mode: str) -> list[tuple[str, str, int, list[float]]]:
    """The library's records of ``formula`` in ion mode ``mode`` (lower case) with an InChIKey, by
    full InChIKey in row order: (InChIKey, its first block, its first row, every row's precursor
    m/z). Made once per formula and mode (:func:`_with_water_loss_isomers` asked for every MS/MS
    query that could be identified, ~0.08 s of each forked worker's CPU in the MS/MS x10 search,
    stop 39); which compounds the library holds (:meth:`LibraryFacts.name_of_block`, a left-out
    view's) is asked per query."""
    def make(_: str) -> list[tuple[str, str, int, list[float]]]:
        cols, rows = facts.reference.columns, facts.rows_of_formula(formula)
        at = np.asarray(rows, dtype=np.int64)
        found: dict[str, list[tuple[int, float]]] = {}
        for r, ion_mode, inchikey, mz in zip(rows, cols["ion_mode"][at].tolist(), cols["inchikey"][at].tolist(),
                                             cols["precursor_mz"][at].tolist()):
            if str(ion_mode).lower() == mode and facts.block(r):
                found.setdefault(str(inchikey), []).append((r, mz))
        return [(inchikey, facts.block(held[0][0]), held[0][0], [mz for _, mz in held]) for inchikey, held in found.items()]

    return facts._cached("formula_records", f"{mode} {formula}", make, persist=False)


def alone_at_its_mass(check: IsomerCheck, hits: Sequence[RankedHit], facts: LibraryFacts, gap: int | None,
                      thresholds: VerdictThresholds) -> IsomerCheck:
    """MS/MS: ``check`` with its absent isomers excluded when the hit is of no drug series
    (:func:`~nps_id.match.isomer_rule.context_of` "other", as in :func:`replicated_outside_drug_series`),
    stands alone at the precursor's mass -- no runner-up compound scored (``gap`` None) and no other
    compound among ``hits`` --, a second record of its compound reaches ``identified_score`` as
    well, and every not-excluded isomer is absent from the library with a kind rate <=
    ``isomer_ms2_alone_rate`` (its kind's library pairs rarely match that well; the rule's usual
    bound is ``isomer_min_rate_ms2``). Unchanged otherwise: a drug hit (NPS are made as positional
    isomers of known drugs: glycoursodeoxycholic acid left out was `identified` as its 6-hydroxy
    isomer glycohyodeoxycholic acid by this rule until stop 35), a library isomer, a small
    molecule's ring positions (rate 1) or a near-inseparable kind keeps the hit ``tentative``
    (docs/match.md). Only in a library of at least ``isomer_ms2_alone_min_compounds`` compounds:
    being alone means little in a small one."""
    bound = thresholds.isomer_ms2_alone_rate
    if bound <= 0 or gap is not None or not check.not_excluded or len(hits) < 2:
        return check
    if facts.context(hits[0].row) != "other":
        return check  # a drug series' absent isomers are the likeliest new substances (docs/match.md, stop 35)
    if facts.n_compounds < thresholds.isomer_ms2_alone_min_compounds:
        return check  # "nothing else scored" says little in a small library: most hits stand alone there
    if any(note.name is not None or note.rate > bound for note in check.not_excluded):
        return check
    block = facts.block(hits[0].row)
    if any(facts.block(hit.row) != block for hit in hits[1:]) or hits[1].score < thresholds.identified_score:
        return check
    return replace(check, not_excluded=())


def replicated_outside_drug_series(check: IsomerCheck, hits: Sequence[RankedHit], facts: LibraryFacts,
                                   thresholds: VerdictThresholds) -> IsomerCheck:
    """MS/MS: ``check`` with its absent isomers excluded when the hit belongs to no drug series
    (:func:`~nps_id.match.isomer_rule.context_of` "other": no EWA substance group), another record of
    its compound (another laboratory or collision energy) also reaches ``identified_score``, and
    every not-excluded isomer is absent from the library with a kind rate below
    ``isomer_ms2_other_rate`` -- the library's pairs of its kind rarely match that well. Unchanged
    otherwise: a drug hit (NPS are made as positional and chain isomers of known drugs), a library
    isomer or a near-inseparable kind keeps the hit ``tentative`` (docs/match.md)."""
    bound = thresholds.isomer_ms2_other_rate
    if bound <= 0 or not check.not_excluded or facts.context(hits[0].row) != "other":
        return check
    if any(note.name is not None or note.rate >= bound for note in check.not_excluded):
        return check
    block = facts.block(hits[0].row)
    if not any(facts.block(hit.row) == block and hit.score >= thresholds.identified_score for hit in hits[1:]):
        return check
    return replace(check, not_excluded=())


def _with_record_precursor_alone(check: IsomerCheck, row: int, facts: LibraryFacts,
                                 precursor: tuple[float, str] | None, thresholds: VerdictThresholds) -> IsomerCheck:
    """MS/MS: ``check`` with no isomer excluded when the library record the unknown matched (``row``)
    holds no product ion at ``isomer_ms2_record_product_ion_level`` of its base peak -- its precursor
    and specks, as a low collision energy leaves them: the score (which removes the precursor) then
    compares the unknown's fragments with those specks, and every compound of the precursor's mass
    gives such a record (sulfadoxine left out matched sulfadimethoxine's record, 311.081 and the
    sulfanilyl ion 156.012 at 0.4 %, at 999; docs/match.md). The record's own precursor m/z, else the unknown's."""
    level = thresholds.isomer_ms2_record_product_ion_level
    if level <= 0:
        return check
    peaks = facts.reference.peaks
    record_mz = float(facts.reference.columns["precursor_mz"][row])
    if np.isfinite(record_mz):  # the record alone decides: once per record (~0.04 s of a forked MS/MS x10 worker)
        held = facts._cached("record_product_ion", f"{level} {row}",
                             lambda _: has_product_ion(*peaks.row(row), record_mz, level), persist=False)
    else:
        held = has_product_ion(*peaks.row(row), precursor[0] if precursor is not None else np.nan, level)
    return check if held else replace(check, record_no_product_ion=level)


def _with_thermal_relatives(check: IsomerCheck, top: RankedHit, facts: LibraryFacts,
                            scores: dict[str, int], margin: int, thresholds: VerdictThresholds) -> IsomerCheck:
    """``check`` with the hit's GC-injector relatives (:func:`nps_id.chem.thermal.thermal_relatives`:
    the product its reference spectrum shows, the precursor it may come from) not excluded, each
    kind when its ``thresholds`` switch is on: absent from the library, or in it and scoring within
    ``margin`` of the hit, as for an isomer (rate 1: the spectrum is the product's either way)."""
    notes = []
    for relative in _switched_relatives(top, facts, thresholds):
        block = relative.inchikey[:14]
        name, score = facts.name_of_block(block), scores.get(block)
        if name is None or (score is not None and score > top.score - margin):
            notes.append(IsomerNote(relative.smiles, relative.inchikey, relative.move, 1.0, name, score))
    return _also_not_excluded(check, notes)


def _with_diastereomers(check: IsomerCheck, hits: Sequence[RankedHit], facts: LibraryFacts, margin: int,
                        ri_apart: Callable[[int], bool]) -> IsomerCheck:
    """``check`` with the library's diastereomers of the hit -- rows of its InChIKey skeleton that are
    another compound (:mod:`nps_id.compound`), not isotope-labelled -- that the unknown scores within
    ``margin`` of the hit on (best row of each; 0: none) and that ``ri_apart`` does not separate, not
    excluded (move :data:`DIASTEREOMER`, rate 1). The isomer enumeration compares skeletons, which
    stereoisomers share, so only this rule sees them; a diastereomer outside ``hits`` scored lower
    than all of them."""
    top = hits[0]
    block = facts.block(top.row)
    if margin <= 0 or not block or block in facts.excluded:
        return check
    codes = facts.reference.compound()
    best: dict[int, RankedHit] = {}
    for hit in hits[1:]:
        if top.score - hit.score >= margin:
            break
        if (facts.block(hit.row) == block and codes[hit.row] != codes[top.row]
                and not is_labelled(facts.name(hit.row), facts.formula(hit.row), facts.structure(hit.row))):
            best.setdefault(int(codes[hit.row]), hit)
    notes = tuple(IsomerNote(facts.structure(hit.row) or "", str(facts.reference.columns["inchikey"][hit.row]),
                             DIASTEREOMER, 1.0, facts.name(hit.row), hit.score)
                  for hit in best.values() if not ri_apart(hit.row))
    return replace(check, not_excluded=check.not_excluded + notes) if notes else check


def _with_absent_diastereomers(check: IsomerCheck, top: RankedHit, facts: LibraryFacts, context: str,
                               min_rate: float) -> IsomerCheck:
    """EI: ``check`` with the diastereomers of the hit the library does not hold not excluded
    (move :data:`DIASTEREOMER`, no name) when the rate of that kind in the hit's ``context`` at the
    unknown's score is at least ``min_rate``: the library's own diastereomer pairs match each other
    that well that often (benchmarks/train_diastereomer_rates.py), so nothing shows the unknown is
    not the hit's cis / trans, E / Z or epimer (a cis-rose oxide matches trans-rose oxide at 959).

    A class of the hit's constitution (:meth:`LibraryFacts.diastereomer_classes`) is held when a
    library row of its skeleton, not isotope-labelled, has one of its InChIKeys; rows whose keys
    name no class (no or partial stereo layers: SWGDRUG's ephedrine and pseudoephedrine) may hold
    any: as many fewer are added."""
    rate = rate_at(rate_of(DIASTEREOMER, load_rates().get(context, {})), top.score)
    if rate < min_rate:
        return check  # a match diastereomers rarely reach: it excludes them (and RDKit is not asked)
    classes = facts.diastereomer_classes(top.row)
    if not classes:
        return check
    class_of = {key: n for n, c in enumerate(classes) for key in c.inchikeys}
    cols, codes = facts.reference.columns, facts.reference.compound()
    held: set[int] = set()
    unplaced: dict[int, bool] = {}  # compound code -> whether none of its rows names a class
    for row in facts.rows_of_block(facts.block(top.row)):
        if is_labelled(facts.name(row), facts.formula(row), facts.structure(row)):
            continue
        n = class_of.get(stereo_layers(str(cols["inchikey"][row])))
        code = int(codes[row])
        if n is None:
            unplaced.setdefault(code, True)
        else:
            held.add(n)
            unplaced[code] = False
    absent = [c for n, c in enumerate(classes) if n not in held]
    # each compound whose keys name no class holds one of them, which is not known: as many fewer
    # are listed (the first in enumeration order), so that the count is right
    absent = absent[:max(0, len(absent) - sum(unplaced.values()))]
    if not absent:
        return check
    notes = tuple(IsomerNote(c.smiles, c.inchikeys[0], DIASTEREOMER, round(rate, 2)) for c in absent)
    return replace(check, not_excluded=check.not_excluded + notes)


def _ri_apart(top_row: int, delta_ri: float | None, library_ri: Callable[[int], float | None] | None,
              window: float) -> Callable[[int], bool]:
    """Library row -> whether retention separates it from the hit: the unknown's RI (the hit's library
    RI + ``delta_ri``) is within ``window`` of the hit's and outside the row's, both known."""
    hit_ri = library_ri(top_row) if library_ri is not None and delta_ri is not None else None
    if hit_ri is None or abs(delta_ri) > window:
        return lambda row: False
    unknown_ri = hit_ri + delta_ri

    def apart(row: int) -> bool:
        ri = library_ri(row)
        return ri is not None and abs(unknown_ri - ri) > window
    return apart


def _switched_relatives(top: RankedHit, facts: LibraryFacts, thresholds: VerdictThresholds) -> list:
    """The hit's GC injector relatives (:meth:`LibraryFacts.thermal_relatives`) whose kind's
    ``thresholds`` switch is on."""
    wanted = {"thermal_product": thresholds.isomer_thermal_products,
              "thermal_precursor:lactam": thresholds.isomer_thermal_lactam_precursors,
              "thermal_precursor:decarboxylation": thresholds.isomer_thermal_acid_precursors}
    if not any(wanted.values()):
        return []
    # every product reaction: one switch
    return [r for r in facts.thermal_relatives(top.row) if wanted.get(r.move, wanted["thermal_product"])]


def _injector_relatives(top: RankedHit, facts: LibraryFacts, thresholds: VerdictThresholds) -> dict[str, str]:
    """InChIKey first block -> move of the hit's switched-on GC injector relatives (EI)."""
    return {r.inchikey[:14]: r.move for r in _switched_relatives(top, facts, thresholds)}


def _also_not_excluded(check: IsomerCheck, notes: Sequence[IsomerNote]) -> IsomerCheck:
    """``check`` with those of ``notes`` whose compound (InChIKey first block) it does not list yet
    among its not-excluded isomers; every other field kept."""
    known = {note.inchikey[:14] for note in check.not_excluded}
    new = tuple(note for note in notes if note.inchikey[:14] not in known)
    return replace(check, not_excluded=check.not_excluded + new) if new else check


def unexplained(verdict: Verdict, top: RankedHit, facts: LibraryFacts, estimated: int | None, kind: str,
                formula_confirmed: bool = False) -> bool:
    """True when no library compound explains the spectrum (a suspected new substance), for a
    verdict that names no compound:

    - ``inconclusive`` -- unless the best hit has the spectrum's molecular mass (EI: estimated;
      MS/MS: from the precursor) and a similarity >= :data:`SAME_MASS_SIMILARITY` (of its ``kind``): then it may be
      that compound measured on another instrument or at another collision energy (or a
      derivative recorded under its parent's formula, whose molecular-ion check fails);
    - ``tentative`` "close analogue" -- always (analogue evidence never names a compound);
    - ``tentative`` "weak match" -- when the hit's molecular mass differs from the spectrum's,
      or equals it at a similarity below :data:`WEAK_SAME_MASS_SIMILARITY`: the hit is a relative
      (a homologue, a derivative, an isomer), not the compound -- unless ``formula_confirmed``
      (LC-HRMS: the precursor's exact mass within the ppm window of the hit's ion): then the
      spectrum has the hit's formula, and a weak MS/MS match at another collision energy or on
      another instrument is the compound or its isomer, which the verdict's rule names.
    Every other ``tentative`` (RI or HRMS criteria not met) passes on the spectrum: not new.
    """
    mass = facts.mass(top.row)
    same_mass = estimated is not None and mass == estimated
    if verdict.verdict == INCONCLUSIVE:
        return not (same_mass and top.similarity >= SAME_MASS_SIMILARITY[kind])
    if verdict.rule_id == RuleId.CLOSE_ANALOGUE:
        return True
    return (verdict.rule_id == RuleId.WEAK_MATCH and estimated is not None and mass is not None
            and not (same_mass and (formula_confirmed or top.similarity >= WEAK_SAME_MASS_SIMILARITY)))


def major_ions_present(query_mz: np.ndarray, ref_mz: np.ndarray, ref_intensity: np.ndarray, level: float,
                       mz_range: tuple[float, float]) -> tuple[int, int]:
    """(present, expected): the reference's ions at >= ``level`` of its base peak inside the
    acquired ``mz_range``, and how many of them the unknown holds (nominal m/z)."""
    return _present(query_mz, _major_ions(ref_mz, ref_intensity, level), mz_range)


def _major_ions(ref_mz: np.ndarray, ref_intensity: np.ndarray, level: float) -> np.ndarray:
    """The reference's nominal m/z at >= ``level`` of its base peak (repeats kept), for
    :func:`major_ions_present`: a search computes them once per library row."""
    if ref_intensity.size == 0:
        return np.empty(0, dtype=np.int64)
    # the search's binning, as the molecular-ion checks use
    return nominal_mz(ref_mz)[ref_intensity >= level * ref_intensity.max()]


def _present(query_mz: np.ndarray, major: np.ndarray, mz_range: tuple[float, float]) -> tuple[int, int]:
    expected = set(major[(major >= mz_range[0]) & (major <= mz_range[1])].tolist())  # sets: once per EI query
    present = expected.intersection(nominal_mz(query_mz).tolist())
    return len(present), len(expected)


#: Largest |precursor m/z - the candidate's ion m/z| (Da) for "an ion of the candidate": nominal,
#: so that a low-resolution precursor passes; the exact-mass criterion is the HRMS one (match).
PRECURSOR_ION_DA = 0.5


def ion_type(precursor_mz: float, ion_mode: str, molecule_mass: float, stated: str | None = None) -> str | None:
    """The ion type (:data:`nps_id.lcms.features.ADDUCTS` of the polarity) of a molecule of
    ``molecule_mass`` that the precursor m/z is, or None. ``stated``: the ion type the spectrum
    states (:func:`stated_ion`). A spectrum that states an ion of the whole molecule ([M+H]+,
    [M-H]-, an adduct) is of that molecule, so the candidate must give the precursor as one too,
    not as an in-source fragment: [M-H]- 173.0 is a molecule of mass 174 (suberate), not one of
    192 whose [M-H-H2O]- is 173 (isocitrate). Adducts stay interchangeable: a record stating
    [M-H]- for a formate adduct's m/z is its label's slip, not another molecule."""
    named = adduct_named(stated)
    if named is None:
        candidates = adducts_for(ion_mode)
    elif named.in_source_loss:
        candidates = (named,)
    else:
        candidates = (named, *(a for a in ADDUCTS if a.charge == named.charge and not a.in_source_loss))
    for adduct in candidates:
        if abs(precursor_mz - ion_mz(molecule_mass, adduct)) <= PRECURSOR_ION_DA:
            return adduct.name
    return None


def stated_ion(label: str | None) -> str | None:
    """The :data:`nps_id.lcms.features.ADDUCTS` name of a spectrum's stated precursor type
    (``[M+H]+``, ``M+H``, ...), None when it states none or one the rules do not know."""
    adduct = adduct_named(label)
    return None if adduct is None else adduct.name


def _estimated_mass(relative, kind, hits, facts, precursor) -> int | None:
    if kind != "ei":
        if precursor is None or not np.isfinite(precursor[0]):
            return None
        shift = PROTON if precursor[1] != "negative" else -PROTON
        return int(round(precursor[0] - shift))
    neighbours = (facts.neighbour(h.row)._replace(similarity=h.similarity)
                  for h in hits)  # lazy: estimate_mass reads the first few
    return estimate_mass(relative, neighbours)


def _suspected_group(kind: str, mz: np.ndarray, intensity: np.ndarray, relative: dict[int, float],
                     hits: Sequence[RankedHit], facts: LibraryFacts, precursor: tuple[float, str] | None,
                     model: GroupModel | None) -> str | None:
    """The group of a spectrum no compound explains (:mod:`nps_id.match.group_model`): EI by the
    learned model (spectrum, diagnostic ions and the closest hits' groups); MS/MS by the closest
    hits' vote (:func:`_family`), else by the MS/MS model (fragments and losses: an identity
    search's MS/MS hits share the precursor mass, so they are seldom relatives)."""
    if kind == "ei":
        return (model or shipped_group_model("ei")).predict(relative, hits, facts)
    family = _family(hits, facts)
    if family is not None or precursor is None:
        return family
    return (model or shipped_group_model("ms2")).predict(nominal_spectrum(mz, intensity), hits, facts, precursor)


def below_series(group: str, estimated: int | None, facts: LibraryFacts, thresholds: VerdictThresholds) -> bool:
    """Whether an EI new substance is lighter than every library compound of the group named for it
    (``group_below_series``): a series is built on a core -- phenethylamine, cathinone, tryptamine,
    the fentanyls' 4-anilinopiperidine -- that each member carries, so a member lighter than the
    series' lightest known one lacks part of it. The lightest known member stands in for the core
    (the library's contents, not the spectrum's evidence): tert-butylamine (73) named a phenethylamine
    against SWGDRUG, whose lightest is 111 (betazole)."""
    if not thresholds.group_below_series or estimated is None:
        return False
    lightest = facts.lightest(group)
    return lightest is not None and estimated < lightest


def group_evidence(relative: dict[int, float], top: RankedHit, facts: LibraryFacts,
                   thresholds: VerdictThresholds) -> bool:
    """Whether the closest compound can lend an EI new substance its group: not when the two
    share only a fragment (``group_fragment_level``; 0: off). The unknown's highest significant
    ion (its :func:`~nps_id.match.molecular_mass.molecular_ion`) holds >= that share of its base
    peak, the heavier closest compound shows it too (>= :data:`ION_FLOOR`), and the unknown lacks
    the compound's base peak -- a small ion (at most half that m/z, inside the unknown's m/z range)
    -- and its CH2 homologues (+-14, 28, 42 u): a methylindane (M+ 132 at 40 %) shares 5-APDI's
    C10H12+ ion 132, not its iminium base peak 44, the ion of the amine that makes it a drug."""
    mass, level, own = facts.mass(top.row), thresholds.group_fragment_level, molecular_ion(relative)
    if level <= 0 or mass is None or own is None or mass <= own or relative[own] < level:
        return True
    reference = facts.nominal(top.row)
    base = max(reference, key=reference.get, default=None)
    if base is None or reference.get(own, 0.0) < ION_FLOOR or not min(relative) <= base <= own / 2:
        return True
    # nor its homologues (an N-ethyl analogue's iminium ion is 14 u above an N-methyl one's)
    return any(relative.get(base + step, 0.0) >= ION_FLOOR for step in range(-42, 43, 14))


def beyond_molecular_ion(relative: dict[int, float], group: str, hits: Sequence[RankedHit], facts: LibraryFacts,
                         thresholds: VerdictThresholds) -> bool:
    """Whether a closest compound of ``group`` (among the first :data:`VOTE_COMPOUNDS` distinct
    ones) shares more with an EI new substance than its molecular ion: the cosine of the two
    nominal spectra (square-root intensities) without the unknown's molecular-ion cluster -- its
    highest significant ion M, M+1 (13C), M-1 and M-15 (the losses of H and CH3 any molecule of
    that mass shows) -- and without the compound's ions below the unknown's lowest, reaches
    ``group_beyond_molecular_ion`` (0: off). A series shares its core's fragments; a
    dimethylnaphthalene (M+ 156, 141, 155) resembles barbital only there, where barbital's
    McLafferty ion C6H8N2O3+ (156) and its M-15 141 fall, and lacks its ring ions 112, 98, 83, 55."""
    floor = thresholds.group_beyond_molecular_ion
    own = molecular_ion(relative)
    if floor <= 0 or own is None:
        return True
    return _group_resembles(relative, {own - 15, own - 1, own, own + 1}, group, hits, facts, floor)


def _group_resembles(relative: dict[int, float], set_aside: set[int] | frozenset[int], group: str,
                     hits: Sequence[RankedHit], facts: LibraryFacts, floor: float) -> bool:
    """Whether a closest compound of ``group`` (among the first :data:`VOTE_COMPOUNDS` distinct ones)
    resembles the unknown at >= ``floor`` cosine, both without the ions ``set_aside`` and the compound
    without its ions below the unknown's lowest."""
    low = min(relative)
    mine = {m: v for m, v in relative.items() if m not in set_aside}
    for hit in islice(distinct_compounds(hits, facts), VOTE_COMPOUNDS):
        if facts.group(hit.row) != group:
            continue
        theirs = {m: v for m, v in facts.nominal(hit.row).items() if m not in set_aside and m >= low}
        if _cosine(mine, theirs) >= floor:
            return True
    return False


#: The ions of a trimethylsilyl group whatever the molecule carrying it (TMS derivative, silane,
#: siloxane): SiH(CH3)2+ 59 aside, CH3SiH2+ 45, Si(CH3)3+ 73 and its Si/13C isotope peaks 74-75
#: (with (CH3)2SiOH+ 75), (CH3)2Si=O+-Si(CH3)3 147 and its isotope peaks.
SILYL_IONS = frozenset({45, 73, 74, 75, 147, 148, 149})


def beyond_silyl_ions(relative: dict[int, float], group: str, hits: Sequence[RankedHit], facts: LibraryFacts,
                      thresholds: VerdictThresholds) -> bool:
    """Whether an EI unknown showing the silyl reagent's ion Si(CH3)3+ (m/z 73, >= ``significant_ion_level``)
    still resembles a closest compound of ``group`` at >= ``group_beyond_silyl_ions`` cosine once the
    trimethylsilyl ions (:data:`SILYL_IONS`) are set aside (0: off; True for a spectrum without the ion). A TMS derivative's group is its drug's, whose ions it keeps; a silane or
    siloxane shares only the silyl ions with the library's TMS steroids and GHB derivatives, which the
    group model and the derivatives' vote read as those groups."""
    floor = thresholds.group_beyond_silyl_ions
    if floor <= 0 or not silyl_shown(relative, thresholds):
        return True
    return _group_resembles(relative, SILYL_IONS, group, hits, facts, floor)


def _cosine(a: dict[int, float], b: dict[int, float]) -> float:
    """Cosine of two nominal spectra, square-root intensities (0 when either is empty)."""
    dot = sum(np.sqrt(v * b[m]) for m, v in a.items() if m in b)
    norm = np.sqrt(sum(a.values()) * sum(b.values()))
    return float(dot / norm) if norm > 0 else 0.0


def acylium_group(relative: dict[int, float], thresholds: VerdictThresholds) -> str | None:
    """The group of an EI new substance the group model leaves without one whose spectrum holds an
    indazole-3-carbonyl cannabinoid's acylium ions (:data:`~nps_id.chem.diagnostic_ions.ACYLIUM_SETS`;
    ``group_acylium_ions`` False: off)."""
    found = group_from_ions(relative, ACYLIUM_SETS) if thresholds.group_acylium_ions else None
    return found.group if found is not None else None


def silyl_shown(relative: dict[int, float], thresholds: VerdictThresholds) -> bool:
    """Whether an EI spectrum shows the silyl reagent's ion Si(CH3)3+ (m/z 73) as a significant ion: its
    group must then rest on more than the silyl ions (:func:`beyond_silyl_ions`)."""
    return relative.get(SIGNATURE_IONS["silyl"], 0.0) >= thresholds.significant_ion_level


def derivative_group(relative: dict[int, float], hits: Sequence[RankedHit], facts: LibraryFacts,
                     thresholds: VerdictThresholds) -> str | None:
    """The group of an EI derivative the group model leaves without one: the closest distinct
    compound, at >= ``group_derivative_similarity``, is a derivative (:mod:`nps_id.chem.derivatives`)
    and the unknown shows that reagent's ion (Si(CH3)3+ 73, CF3+ 69) as a significant ion; the
    closest derivatives of that reagent (>= the same similarity) vote with similarity**4 and a group
    with >= :data:`FAMILY_MIN_SHARE` of their weight is named. A derivative's spectrum is the
    reagent's as much as the drug's (the model reads 'a TFA amide', not 'an amphetamine'); among
    derivatives of one reagent the closest share the drug's side chain, which its amide or silyl
    fragments carry. None otherwise (0: off)."""
    floor = thresholds.group_derivative_similarity
    shown = {kind for kind, ion in SIGNATURE_IONS.items() if relative.get(ion, 0.0) >= thresholds.significant_ion_level}
    if floor <= 0 or not shown:  # the spectrum first: most hold neither ion, and need no structure
        return None
    closest = list(islice(distinct_compounds(hits, facts, floor), VOTE_COMPOUNDS))
    reagent = facts.reagent(closest[0].row) if closest else None
    if reagent not in shown:
        return None
    weights: dict[str | None, float] = {}
    for hit in closest:
        if facts.reagent(hit.row) == reagent:
            group = facts.group(hit.row)
            weights[group] = weights.get(group, 0.0) + hit.similarity ** 4
    group, weight = max(weights.items(), key=lambda kv: kv[1])
    return group if group is not None and weight >= FAMILY_MIN_SHARE * sum(weights.values()) else None


def _family(hits: Sequence[RankedHit], facts: LibraryFacts) -> str | None:
    """The EWA group the closest hits agree on, or None: the group with the most similarity**4
    weight among the distinct compounds >= :data:`FAMILY_MIN_SIMILARITY`, when that is at least
    :data:`FAMILY_MIN_SHARE` of the weight and comes from two compounds or one >=
    :data:`FAMILY_SOLO_SIMILARITY` (one look-alike is as often of another series)."""
    weights: dict[str | None, float] = {}
    compounds: dict[str | None, int] = {}
    closest: dict[str | None, float] = {}
    for hit in distinct_compounds(hits, facts, FAMILY_MIN_SIMILARITY):
        group = facts.group(hit.row)
        if group == _UNINFORMATIVE_GROUP:  # "other substances" without a subclass names no family
            group = None
        weights[group] = weights.get(group, 0.0) + hit.similarity ** 4
        compounds[group] = compounds.get(group, 0) + 1
        closest[group] = max(closest.get(group, 0.0), hit.similarity)
    total = sum(weights.values())
    if total == 0:
        return None
    group, weight = max(weights.items(), key=lambda kv: kv[1])
    if group is None or weight < FAMILY_MIN_SHARE * total:
        return None
    return group if compounds[group] >= 2 or closest[group] >= FAMILY_SOLO_SIMILARITY else None


def _closest(hits, facts, estimated, kind) -> tuple[dict[str, Any], ...]:
    out = []
    for hit in distinct_compounds(hits, facts):
        mass = facts.mass(hit.row)
        delta = None if estimated is None or mass is None else estimated - mass
        reading = None
        if delta is not None:
            reading = shift_name(int(match_shift(np.array([float(delta)]), 0.0, nominal=True)[0]), nominal=True)
        out.append({"row": hit.row, "name": facts.name(hit.row), "similarity": round(hit.similarity, 3),
                    "delta_mass": delta, "delta_mass_match": reading, "smiles": facts.structure(hit.row)})
        if len(out) == N_CLOSEST:
            break
    return tuple(out)


def novelty_fields(assessment: Assessment) -> dict[str, Any]:
    """The new-substance fields of a ``match`` finding: the contract's three, the isomers the
    spectrum does not exclude, the closest known compounds and the core structure they share."""
    isomers = assessment.isomers
    closest = [{k: v for k, v in c.items() if k != "row"} for c in assessment.closest]
    return {
        "new_substance": assessment.new_substance,
        "suspected_group": assessment.suspected_group,
        "estimated_mass": assessment.estimated_mass,
        "isomers_not_excluded": [] if isomers is None else [
            {"name": n.name, "smiles": n.smiles, "move": n.move, "in_library": n.name is not None,
             "inseparable_rate": n.rate} for n in isomers.not_excluded],
        "closest_compounds": closest if assessment.new_substance else [],
        "core_smiles": core_structure([c["smiles"] for c in closest]) if assessment.new_substance else None,
    }


def core_structure(smiles: Sequence[str | None], timeout_seconds: int = 2) -> str | None:
    """The maximum common substructure (as SMARTS-derived SMILES) of the closest compounds'
    structures: the core a new substance most likely shares with them; None with fewer than two."""
    known = [s for s in smiles if s]
    if len(known) < 2:
        return None
    from rdkit import Chem
    from rdkit.Chem import rdFMCS

    mols = [m for m in (Chem.MolFromSmiles(s) for s in known) if m is not None]
    if len(mols) < 2:
        return None
    found = rdFMCS.FindMCS(mols, timeout=timeout_seconds, ringMatchesRingOnly=True, completeRingsOnly=True)
    if found.numAtoms < 4:
        return None
    core = Chem.MolFromSmarts(found.smartsString)
    return Chem.MolToSmiles(core) if core is not None else None


def assess_search(spectra: Sequence[Any], hits: Any, reference: Reference, analog: bool,
                  thresholds: VerdictThresholds = VerdictThresholds(), fields_only: bool = False,
                  analogue_confidence: np.ndarray | None = None, *, facts: LibraryFacts | None = None,
                  left_out: dict[int, frozenset[str]] | None = None,
                  group_model_of: Callable[[int], GroupModel | None] | None = None) -> dict[int, Assessment]:
    """An :class:`Assessment` per searched query (by position) from ``nps-id search``'s hits
    (:class:`nps_id.search.engine.Hits`, sorted by query then rank).

    Identity mode applies the verdict rules to the rank-1 hit; analogue mode never names a
    compound: its verdict is at most ``tentative`` (close analogue), and the hits serve as the
    closest compounds for the new-substance call. ``fields_only``: as :func:`assess` (what the
    search rows print, computed faster). ``analogue_confidence``: analogue mode, per query position
    (:func:`nps_id.search.analogue_confidence.confidences`), for the close-analogue rule.

    The leave-compound-out benchmark assesses through this same function: ``facts`` (the
    reference's, shared across calls), ``left_out`` (query position -> the InChIKey first blocks
    its library lacks, :meth:`LibraryFacts.excluding`; their hits already taken out,
    :func:`nps_id.search.ranking.without`) and ``group_model_of`` (query position -> the group
    model that never saw its compound; None: the shipped one).
    """
    facts = facts if facts is not None else LibraryFacts(reference)
    out: dict[int, Assessment] = {}
    starts = np.flatnonzero(np.r_[True, hits.query[1:] != hits.query[:-1]]) if len(hits) else np.empty(0, int)
    ends = np.r_[starts[1:], len(hits)]
    # Every hit as the rules read it, a column at a time (ranked_hit, per hit, is the same).
    similarity = np.asarray(hits.similarity, dtype=np.float64)
    score = [v or 0 for v in to_999_column(similarity if analog else hits.score)]
    ranked_all = list(map(RankedHit, np.asarray(hits.row).tolist(), score, to_999_column(hits.mf),
                          to_999_column(hits.rmf), similarity.tolist()))
    gaps = to_999_column(hits.gap)
    alerts = np.asarray(hits.isomer_alert, dtype=bool).tolist()
    groups = [(start, end, int(hits.query[start])) for start, end in zip(starts.tolist(), ends.tolist())]
    estimated = _ei_estimates({q: (spectra[q], ranked_all[start:end]) for start, end, q in groups}, facts)
    majors: dict[int, np.ndarray] = {}
    for start, end, q in groups:
        spectrum = spectra[q]
        kind = kind_of(spectrum)
        ranked = ranked_all[start:end]
        extra: dict[str, Any] = {}
        if kind == "ei":
            top = ranked[0].row
            if top not in majors:  # a search meets the same top rows again and again
                majors[top] = _major_ions(*reference.peaks.row(top), thresholds.major_ion_level)
            extra["major_ions"] = _present(spectrum.mz, majors[top],
                                           (float(spectrum.mz.min()), float(spectrum.mz.max())))
            extra["n_ions"] = int(spectrum.mz.size)
        if analog:
            extra["analogue_score"] = ranked[0].score
            if analogue_confidence is not None and np.isfinite(analogue_confidence[q]):
                extra["analogue_confidence"] = float(analogue_confidence[q])
            if np.isfinite(hits.delta_mass[start]):
                extra["analogue_delta_mass"] = float(hits.delta_mass[start])
                from nps_id.search.analogue_confidence import query_mass  # analogue mode only

                extra["analogue_query_mass"] = query_mass(spectrum)
        precursor = None
        if kind == "ms2" and spectrum.precursor_mz:
            precursor = (float(spectrum.precursor_mz), str(spectrum.get("ion_mode") or "positive").lower())
        out[q] = assess(spectrum.mz, spectrum.intensity, kind, ranked,
                        facts if left_out is None or q not in left_out else facts.excluding(left_out[q]),
                        gap=gaps[start], isomer_alert=alerts[start], thresholds=thresholds,
                        precursor=precursor, precursor_type=spectrum.get("precursor_type") if precursor else None,
                        identity=not analog, fields_only=fields_only,
                        estimated=estimated.get(q), group_model=None if group_model_of is None else group_model_of(q),
                        **extra)
    facts.save()
    return out


def _ei_estimates(queries: dict[int, tuple[Any, list[RankedHit]]], facts: LibraryFacts) -> dict[int, tuple]:
    """Query position -> (nominal spectrum, estimated mass) of the EI queries among ``queries``
    (position -> spectrum, its ranked hits): :func:`_estimated_mass` of each, all at once."""
    ei = {q: query for q, query in queries.items() if kind_of(query[0]) == "ei"}
    relatives = nominal_spectra([(spectrum.mz, spectrum.intensity) for spectrum, _ in ei.values()])
    rows = list(dict.fromkeys(h.row for _, ranked in ei.values() for h in ranked[:HIT_VOTES]))
    facts.prime_neighbours(rows)
    plain = {row: facts.neighbour(row) for row in rows}
    # Neighbour(...) rather than _replace: ~48,000 of them in a 9,670-query search
    neighbours = [[Neighbour(*plain[h.row][:3], h.similarity, *plain[h.row][4:]) for h in ranked[:HIT_VOTES]]
                  for _, ranked in ei.values()]
    return dict(zip(ei, zip(relatives, estimate_masses(relatives, neighbours))))


def ranked_hit(hits: Any, j: int, kind: str, analog: bool) -> RankedHit:
    """Row ``j`` of engine :class:`~nps_id.search.engine.Hits` as the rules read it (0-999 scores;
    analogue hits score by their spectral similarity)."""
    similarity = float(hits.similarity[j])
    score = to_999(similarity if analog else hits.score[j]) or 0
    return RankedHit(int(hits.row[j]), score, to_999(hits.mf[j]), to_999(hits.rmf[j]), similarity)

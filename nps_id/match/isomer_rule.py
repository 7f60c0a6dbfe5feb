"""Isomers the evidence cannot exclude: what keeps a hit from ``identified``.

A library hit's spectrum is near-identical to those of many of its positional and chain isomers
(:mod:`nps_id.chem.isomers` enumerates them), whether the library holds them or not. How often a
kind of isomer is spectrally inseparable is learned from the libraries themselves: for every
library compound with a verified structure, its enumerated isomers that the library also holds,
and how well their two spectra match each other (``benchmarks/train_isomer_rates.py`` ->
``isomer_rates.json`` beside this module). A kind's *rate at a score* is the share of those pairs
that match at least that well (MF and RMF >= 850 for EI, score for MS/MS; a curve over
:data:`SCORE_GRID`): butyryl/isobutyryl-type pairs reach MF 950 often, chain transfers almost never.
An MS/MS hit reads curves learned on MS/MS pairs (the ``-ms2`` contexts) for the kinds in the
file's ``ms2_moves`` -- since stop 46 every kind MassBank MS/MS has pairs of, which CID separates
less often than EI -- and the EI curve only for a kind no MS/MS curve covers at any level (since stop 49
a finer kind the MS/MS pairs never showed reads its MS/MS coarser kind: :func:`parse_rates`).

An isomer is *not excluded* when

- the library does not hold it and its kind's rate at the unknown's score against the hit is at
  least ``min_rate`` (:class:`~nps_id.match.verdict.VerdictThresholds` ``isomer_min_rate``):
  isomers of that kind often match each other that well, so nothing shows the unknown is not
  that isomer; a closer match than such pairs reach excludes it; or
- the library holds it and the unknown matches it within ``margin`` (``isomer_margin``) of the hit (a
  library difference smaller than two laboratories' spectra of one compound differ), unless its
  kind's rate at that score is below ``held_min_rate`` (``isomer_held_min_rate``: EI 0, whatever
  its kind; MS/MS 0.05, as an absent one); or
- it is a diastereomer of the hit that the library holds (:data:`DIASTEREOMER`: the hit's skeleton,
  another compound) and the unknown matches it within ``isomer_diastereomer_margin`` (assess adds
  these: the enumeration compares skeletons, which stereoisomers share); or
- it is a diastereomer of the hit that the library does not hold (EI,
  :func:`nps_id.chem.stereo.diastereomer_classes`) and the rate of the kind :data:`DIASTEREOMER`
  at the unknown's score is at least ``isomer_absent_diastereomer_rate``, as for an enumerated
  isomer (assess adds these too).

Three kinds of hit have no isomer excluded by an EI spectrum at all, enumerated or not: a molecule
of very few heavy atoms (``small``), a polycyclic aromatic hydrocarbon of three or more fused
sp2 rings (``pah``: its ring-fusion isomers show the molecular ion and little else), and a small
hydrocarbon (``hydrocarbon``: its skeletal isomers give the same ion series). Nor does an
MS/MS spectrum of its precursor alone (``no_product_ion``, :func:`has_product_ion`): no fragment
to compare, whatever the hit -- nor a match to a library record that is its precursor alone
(``record_no_product_ion``): the score then compares the unknown's fragments with the record's specks.

A retention index within the window, or a reference standard run, excludes them (the verdict
rules in :mod:`nps_id.match.verdict` apply that). Entry points: :func:`check_isomers` ->
:class:`IsomerCheck`; :func:`load_rates`, :func:`rate_of`, :func:`rate_at`, :func:`rates_context`;
:func:`has_product_ion` (an MS/MS spectrum of more than its precursor).
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

from nps_id.chem.derivatives import SIGNATURE_IONS
from nps_id.chem.isomer_type import MS2_ONLY_MOVES
from nps_id.errors import LibraryError

if TYPE_CHECKING:
    from nps_id.chem.isomer_type import Isomer

RATES_PATH = Path(__file__).with_name("isomer_rates.json")
#: The rates file format :func:`load_rates` reads (version 3: a curve over :data:`SCORE_GRID` per kind).
RATES_VERSION = 3
#: The scores (0-999) a kind's rate curve is given at: the identity threshold (MF 800, MS/MS
#: score 800) upwards in steps of 10; a score between two points takes the lower point's rate.
SCORE_GRID = tuple(range(800, 1000, 10))

#: A kind's rate at each score of :data:`SCORE_GRID`.
RateCurve = Sequence[float]
#: Context -> move kind -> :data:`RateCurve`: the curves the rules read (:func:`load_rates`).
Rates = Mapping[str, Mapping[str, RateCurve]]
#: The move of an MS/MS library compound held by its own records' match to the hit's (assess).
LIBRARY_PAIR = "library_pair"
#: The move of a library compound of the hit's formula scoring within the gap (isomer_evidence.close_isomers).
LIBRARY_CLOSE = "library_close"
#: The move of a diastereomer of the hit the library holds (its skeleton, another compound) scoring
#: within ``isomer_diastereomer_margin`` (assess): a retention index excludes it only when both
#: retention indices are known and apart.
DIASTEREOMER = "diastereomer"
#: The rates-file kind of "a heavier compound": the share of library compounds without a molecular ion
#: in their own spectra that a heavier library compound matches at least that well (EI; no isomer:
#: ``IsomerCheck.heavier``; learned by benchmarks/train_isomer_rates.py --heavier, stop 47).
HEAVIER = "heavier"
#: The rates-file kind and isomer-note move of "a homologue" (:mod:`nps_id.chem.homologues`: one or two CH2 more or
#: fewer along an unbranched chain): the share of library homologue pairs, spectra showing neither compound's
#: molecular ion, matching at least that well (EI; no isomer: ``IsomerCheck.homologues``; learned by
#: benchmarks/train_isomer_rates.py --homologue, stop 51).
HOMOLOGUE = "homologue"
#: The moves of a GC injector relative (:mod:`nps_id.chem.thermal`) start so: it elutes as the hit
#: does, so neither a retention index nor a standard run at the same RT excludes it.
THERMAL = "thermal_"


def is_injector_relative(move: str | None) -> bool:
    """Whether an isomer note's ``move`` names a GC injector relative (:data:`THERMAL`)."""
    return str(move or "").startswith(THERMAL)


def injector_direction(move: str) -> str:
    """How an injector relative's ``move`` reads against the hit: "turns into" (``thermal_precursor``:
    the relative becomes the hit) or "makes of" (``thermal_product``)."""
    return "turns into" if move.startswith(THERMAL + "precursor") else "makes of"


@dataclass(frozen=True)
class IsomerNote:
    smiles: str
    inchikey: str
    move: str
    rate: float
    name: str | None = None  # the library's name, when the library holds it
    score: int | None = None  # the unknown's score against it (0-999), when it was a hit


@dataclass(frozen=True)
class IsomerCheck:
    """``evaluated`` is False when the hit has no verified structure, or one too large to enumerate.
    ``small``: the hit's heavy atoms when it is too small for its EI spectrum to exclude isomers at
    all (``isomer_small_ei_atoms``), else 0. ``pah``: the fused sp2 rings of a hit that is a
    polycyclic aromatic hydrocarbon whose EI spectrum excludes no isomer (``isomer_pah_rings``), else 0.
    ``hydrocarbon``: the carbons of a hit of carbon and hydrogen only, not such a PAH, whose EI spectrum
    excludes no isomer (``isomer_hydrocarbon_carbons``), else 0.
    ``no_product_ion``: the base-peak fraction at which an MS/MS spectrum holds no product ion
    (:func:`has_product_ion`, ``isomer_ms2_product_ion_level``): the precursor alone excludes no isomer; else 0.
    ``record_no_product_ion``: the same for the library record the unknown matched
    (``isomer_ms2_record_product_ion_level``); else 0.
    ``unit_precursor``: an MS/MS spectrum's precursor m/z written to fewer than 3 decimals
    (:data:`~nps_id.match.precursor_formula.ACCURATE_PRECURSOR_DA`) when the library holds compounds of another
    formula whose ion lies within what its digits leave open (half its last written decimal plus
    ``precursor_formula_ppm``; the nominal ion, ``isomer_ms2_unit_precursor_da``, for a unit-resolution
    instrument's or one the hit's own formula does not fit: :func:`nps_id.match.isomer_evidence.precursor_window`)
    (``unit_precursor_isobars``, the names of the first four; ``unit_precursor_window``, that half-width): the precursor does not establish the hit's formula, so
    a compound of another formula (absent from the library as the left-out mecamylamine was) is not
    excluded; else 0.
    ``heavier``: EI, the hit's nominal mass when the spectrum shows no ion there and a heavier compound is
    not excluded (:data:`HEAVIER`; ``isomer_heavier_ion_level``); else 0.
    ``homologues``: EI, the hit's homologues not excluded (move :data:`HOMOLOGUE`; ``isomer_homologue_ion_level``):
    no isomers, kept apart from ``not_excluded``; else ()."""

    evaluated: bool
    not_excluded: tuple[IsomerNote, ...] = field(default_factory=tuple)
    small: int = 0
    pah: int = 0
    hydrocarbon: int = 0
    no_product_ion: float = 0.0
    record_no_product_ion: float = 0.0
    unit_precursor: float = 0.0
    unit_precursor_isobars: tuple[str, ...] = ()
    unit_precursor_window: float = 0.0  # the half-width (Da) it was held within, for the rule text
    heavier: int = 0
    homologues: tuple[IsomerNote, ...] = ()

    @property
    def excluded(self) -> bool:
        """Every isomer the check knows of is excluded."""
        return (not self.not_excluded and not self.small and not self.pah and not self.hydrocarbon
                and not self.no_product_ion and not self.record_no_product_ion and not self.unit_precursor
                and not self.heavier and not self.homologues)

    # cached: the verdict text reads them several times per spectrum (a frozen dataclass's fields
    # never change, and cached_property writes the instance dict, not through __setattr__)
    @functools.cached_property
    def in_library(self) -> tuple[IsomerNote, ...]:
        return tuple(n for n in self.not_excluded if n.name is not None)

    @functools.cached_property
    def absent(self) -> tuple[IsomerNote, ...]:
        return tuple(n for n in self.not_excluded if n.name is None)

    @functools.cached_property
    def thermal(self) -> tuple[IsomerNote, ...]:
        """The GC injector relatives not excluded (:data:`THERMAL`)."""
        return tuple(n for n in self.not_excluded if is_injector_relative(n.move))

    @functools.cached_property
    def diastereomers(self) -> tuple[IsomerNote, ...]:
        """The library's diastereomers of the hit not excluded (:data:`DIASTEREOMER`; those it
        does not hold are absent isomers, which a retention index in the window excludes)."""
        return tuple(n for n in self.not_excluded if n.move == DIASTEREOMER and n.name is not None)

    @property
    def library_pairs(self) -> int:
        """Library compounds held by their records' match to the hit's (:data:`LIBRARY_PAIR`),
        not by a score within the margin."""
        return sum(n.move == LIBRARY_PAIR for n in self.in_library)


@functools.lru_cache(maxsize=4)
def load_rates(path: str | Path | None = None) -> dict[str, dict[str, tuple[float, ...]]]:
    """Context -> move kind -> :data:`RateCurve`: the share of library isomer pairs of that kind
    that match each other at least as well as each score of :data:`SCORE_GRID`.

    ``path`` defaults to :data:`RATES_PATH`. A file that is missing, not JSON, of another version
    or with a curve that is not :data:`SCORE_GRID`'s length of rates in 0-1 (a retraining gone
    wrong) or an ``ms2_moves`` that is not a list of kinds (a hand edit) raises :class:`~nps_id.errors.LibraryError`: one line naming it, exit 4.
    """
    path = Path(RATES_PATH if path is None else path)
    try:
        return parse_rates(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise LibraryError(f"{path}: not a usable isomer rates file ({exc}); "
                           f"retrain it with benchmarks/train_isomer_rates.py") from None


def parse_rates(data: object) -> dict[str, dict[str, tuple[float, ...]]]:
    """The curves of a rates file's JSON (:func:`load_rates`; the dev bench's leave-compound-out
    curves, benchmarks/bench_novelty.py); ValueError saying what is wrong."""
    if not isinstance(data, dict) or data.get("version") != RATES_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise ValueError(f"version {version}, this nps-id reads version {RATES_VERSION}")
    if data.get("score_grid") != list(SCORE_GRID):
        raise ValueError(f"score_grid is not {SCORE_GRID[0]}-{SCORE_GRID[-1]} in steps of 10")
    contexts = data.get("contexts")
    if not isinstance(contexts, dict) or not all(isinstance(moves, dict) for moves in contexts.values()):
        raise ValueError("'contexts' is not an object of contexts, each an object of move kinds")
    rates: dict[str, dict[str, tuple[float, ...]]] = {}
    pooled: set[tuple[str, str]] = set()  # a kind whose curve is its context's pool (too few pairs of its own)
    for context, moves in contexts.items():
        rates[context] = {}
        for move, entry in moves.items():
            if isinstance(entry, dict) and entry.get("from") == "default":
                pooled.add((context, move))
            curve = entry.get("rate_at_score") if isinstance(entry, dict) else None
            if not (isinstance(curve, list) and len(curve) == len(SCORE_GRID)
                    and all(type(r) in (int, float) and 0 <= r <= 1 for r in curve)):
                raise ValueError(f"{context}/{move}: 'rate_at_score' is not {len(SCORE_GRID)} rates in 0-1")
            rates[context][move] = tuple(float(r) for r in curve)
    ms2_moves = data.get("ms2_moves")
    if ms2_moves is not None:  # MS/MS rates learned for some kinds only: the EI ones for the rest
        if not (isinstance(ms2_moves, list) and all(isinstance(m, str) for m in ms2_moves)):
            # the trainer's --add-to merges it as a list of kinds: a string's letters would become kinds
            raise ValueError("'ms2_moves' is not a list of move kinds")
        for context in [c for c in rates if c.endswith("-ms2")]:
            learned = rates[context]
            # an EI curve only for a kind no MS/MS curve covers: a finer kind the MS/MS pairs never showed
            # (a drug's ring fluorines; with mCPP left out, its ring chlorines, which then read 0 at 964)
            # reads its MS/MS coarser kind (stop 49) -- MS/MS pairs match more often than EI pairs at every
            # score for every kind (stop 46), so the EI finer kind's curve was optimistic for MS/MS. For the
            # same reason a kind neither learned reads the MS/MS pool (the context's own `default`; stop 50:
            # the drug EI pool reads 0.000 at 990, the MS/MS one 0.051), not the EI pool -- nor the EI pool
            # written under a kind's name (the trainer's `"from": "default"`: EI ring openings, 3-4 pairs).
            ei_context = context[:-len("-ms2")]
            ei = {m: r for m, r in rates.get(ei_context, {}).items()
                  if not _has_coarser(m, learned) and (ei_context, m) not in pooled}
            rates[context] = {**ei, **learned}
    return rates


def _has_coarser(move: str, kinds: Mapping[str, object]) -> bool:
    """Whether ``kinds`` holds ``move`` or a coarser kind of it (the text before a ``:``, at any depth)."""
    parts = move.split(":")
    return any(":".join(parts[:n]) in kinds for n in range(1, len(parts) + 1))


def rate_at(curve: RateCurve, score: int) -> float:
    """The kind's rate at ``score`` (0-999): the curve's point at or below it (the first point
    below the grid, where no verdict is ``identified`` anyway)."""
    step = SCORE_GRID[1] - SCORE_GRID[0]
    return float(curve[max(0, min(len(curve) - 1, (int(score) - SCORE_GRID[0]) // step))])


def context_of(name: str | None, smiles: str | None, inchikey: str | None) -> str:
    """``"drug"`` for a compound in a substance group of the EWA taxonomy (NPS, and the
    established drugs those series start from), else ``"other"``: drug series are positional
    and chain isomers around one pharmacophore, and their spectra tell them apart far less often
    (the rates file has both). A structure rule that files a medicine series in no group
    (taxonomy 2026.7: corticosteroids, estrogens and sterols beside the anabolic steroids,
    clozapine beside the benzodiazepines, beta-agonists beside the phenethylamines) keeps it a
    drug: its epimers and positional isomers are as inseparable, and the rates were learned with
    it there (cholestan-3alpha-yl benzoate was `identified` as its 3beta epimer otherwise)."""
    from nps_id.chem.ewa_groups import classify

    found = classify(name, smiles=smiles, inchikey=inchikey)
    if found.group == "unknown":
        return "drug" if found.source == "structure" else "other"
    return "drug" if found.group != "other_substances" or found.subclass else "other"


def rates_context(context: str, kind: str, rates: Mapping[str, Mapping[str, RateCurve]] | None = None) -> str:
    """The rates-file context for a hit of ``context`` (:func:`context_of`) found by a ``kind``
    (``"ei"``/``"ms2"``) spectrum: MS/MS rates (``<context>-ms2``) when the file has them, else the EI ones.
    A file whose ``ms2_moves`` lists the kinds learned on MS/MS pairs holds MS/MS curves for
    those kinds only: :func:`load_rates` fills its ``-ms2`` contexts with the EI curves of every kind no MS/MS
    curve covers at any level; a kind neither learned reads the ``-ms2`` context's own ``default``, the MS/MS
    pool (:func:`parse_rates`)."""
    ms2 = f"{context}-ms2"
    return ms2 if kind == "ms2" and ms2 in (load_rates() if rates is None else rates) else context


def rate_of(move: str, rates: Mapping[str, RateCurve]) -> RateCurve:
    """The rate curve of a move kind (``double_bond:conjugation``) in one context's rates: its
    own, else its nearest coarser kind's (``double_bond``; the text before a ``:``, at any depth),
    else the context's ``default`` (1.0 at every score when there is none: nothing excluded by a
    rate never learned). A derivative's kind (``...:silyl``, ``...:perfluoroacyl``) takes at each
    score the higher of its own and its plain kind's rate."""
    parts = move.split(":")
    if len(parts) > 1 and parts[-1] in SIGNATURE_IONS:
        # A derivative's kind (``ring_position:C:perfluoroacyl``) is learned from a few dozen pairs:
        # it may only raise the plain kind's rate. 22 non-drug TMS ring-position pairs, all told
        # apart, would otherwise exclude every such isomer at any score (stop 38).
        plain = rate_of(":".join(parts[:-1]), rates)
        own = rates.get(move)
        return plain if own is None else tuple(max(a, b) for a, b in zip(own, plain))
    for n in range(len(parts), 0, -1):
        curve = rates.get(":".join(parts[:n]))
        if curve is not None:
            return curve
    return rates.get("default", (1.0,))


def check_isomers(
    hit_smiles: str | None,
    context: str,
    top_score: int,
    library_name: Callable[[str], str | None],
    hit_scores: Mapping[str, int],
    *,
    min_rate: float,
    margin: int,
    held_min_rate: float = 0.0,
    rates: Mapping[str, Mapping[str, RateCurve]] | None = None,
    isomers: "Sequence[Isomer] | None" = None,
    small_ring_atoms: int = 0,
    small_atoms: int = 0,
    pah_rings: int = 0,
    hydrocarbon_carbons: int = 0,
    shape: "tuple[int, int, int, int] | None" = None,
) -> IsomerCheck:
    """Isomers of the hit the unknown's spectrum cannot exclude.

    Parameters
    ----------
    hit_smiles
        The hit's verified structure (None: not evaluated).
    context
        :func:`context_of` the hit.
    top_score
        The unknown's score against the hit (0-999).
    library_name
        InChIKey first block -> the library's name for that compound, or None when the library
        does not hold it.
    hit_scores
        InChIKey first block -> the unknown's best score (0-999) against that compound, for the
        compounds in its hit list (a library isomer outside the list scored lower than all of them).
    min_rate, margin
        The thresholds of the module docstring.
    held_min_rate
        A library-held isomer within ``margin`` is excluded still when its kind's rate at
        ``top_score`` is below this (``isomer_held_min_rate``; 0: never).
    isomers
        The hit's :func:`~nps_id.chem.isomers.enumerate_isomers` when the caller already has them
        (a cache); enumerated here if None.
    small_ring_atoms
        A hit with at most this many heavy atoms has its ring-position and ring-nitrogen isomers
        inseparable (rate 1), whatever the rates say (:class:`~nps_id.match.verdict.VerdictThresholds`
        ``isomer_small_ms2_atoms``, for MS/MS spectra; 0: none).
    small_atoms
        A hit with at most this many heavy atoms has no isomer excluded, enumerated or not
        (``isomer_small_ei_atoms``, for EI spectra; 0: none): a few fragment ions cannot tell
        apart the many rings and skeletons of so few atoms, most of which no move enumerates
        (cyclopentene / isoprene, cyclohexane / methylcyclopentane, 1-butene / isobutylene).
    pah_rings
        A hit that is a hydrocarbon with a fused system of at least this many sp2 rings has
        no isomer excluded (``isomer_pah_rings``, for EI spectra; 0: none): the ring-fusion isomers
        of a PAH (benz[a]anthracene / tetracene, fluoranthene / pyrene) show the molecular ion and
        little else, and no move enumerates them.
    hydrocarbon_carbons
        A hit of carbon and hydrogen only with at most this many carbons, not a PAH of ``pah_rings``,
        has no isomer excluded (``isomer_hydrocarbon_carbons``, for EI spectra; 0: none): the EI
        spectra of alkane, alkene, cycloalkane and alkylbenzene isomers are the same few ion series
        (2-methylheptane / 2,2,4-trimethylpentane, toluene / cycloheptatriene, allylbenzene / indane),
        and most of their skeletons no move enumerates.
    shape
        The hit's :func:`structure_shape` when the caller already has it (a cache: it saves
        parsing the structure, and RDKit's import, in a process whose isomers are cached too).
    """
    if not hit_smiles:
        return IsomerCheck(False)
    if isomers is None:
        from nps_id.chem.isomers import enumerate_isomers  # lazy: RDKit

        isomers = enumerate_isomers(hit_smiles)
    if isomers is None:  # too large, or RDKit/InChI cannot read it: nothing is excluded
        return IsomerCheck(False)
    atoms, skeleton, fused, hydrocarbon = shape or structure_shape(hit_smiles, pah=pah_rings > 0)
    rates = (load_rates() if rates is None else rates).get(context, {})
    small = small_ring_atoms > 0 and atoms <= small_ring_atoms
    notes = []
    rate_of_move: dict[str, float] = {}  # a kind's rate at top_score, once per kind (a hit has hundreds of isomers)
    ms2 = context.endswith("-ms2")
    for isomer in isomers:
        if not ms2 and isomer.move.split(":")[0] in MS2_ONLY_MOVES:
            continue  # an EI hit's isomer check never read the kind (stop 36 measured it, not kept)
        block = isomer.inchikey[:14]
        name = library_name(block)
        score = hit_scores.get(block)
        if name is not None and (score is None or score <= top_score - margin):
            continue  # the library holds it and the unknown's spectrum is clearly not it
        rate = rate_of_move.get(isomer.move)
        if rate is None:
            rate = rate_of_move[isomer.move] = 1.0 if small and isomer.move.startswith(("ring_position", "ring_nitrogen")) \
                else rate_at(rate_of(isomer.move, rates), top_score)
        if rate < (min_rate if name is None else held_min_rate):
            continue  # spectra usually tell this kind of isomer apart (held: its own score is lower too)
        notes.append(IsomerNote(isomer.smiles, isomer.inchikey, isomer.move, round(rate, 2), name, score))
    small_skeleton = 0 < atoms <= small_atoms and skeleton >= SMALL_MIN_SKELETON
    pah = fused if fused >= pah_rings > 0 else 0
    carbons = hydrocarbon if hydrocarbon_carbons and not pah and 0 < hydrocarbon <= hydrocarbon_carbons else 0
    return IsomerCheck(True, tuple(notes), atoms if small_skeleton else 0, pah, carbons)


#: A product ion lies more than this (Da) below the precursor m/z: nearer, or above, is the precursor's
#: own isotope cluster (or noise), which every compound of its mass shows; the MS/MS score removes
#: the same peaks before it compares spectra (``EntropySimilarity.precursor_removal_da``, ms_entropy's
#: 1.6 Da), so a spectrum without a product ion is scored on specks.
PRODUCT_ION_MIN_LOSS_DA = 1.6


def has_product_ion(mz: np.ndarray, intensity: np.ndarray, precursor_mz: float, level: float) -> bool:
    """True when an MS/MS spectrum holds a product ion -- more than :data:`PRODUCT_ION_MIN_LOSS_DA`
    below ``precursor_mz`` -- at or above ``level`` of its base peak, or when that cannot be
    told (no peaks, no finite precursor m/z): a spectrum of the precursor alone matches every
    compound of its mass, so it excludes no isomer."""
    # the arrays' own methods, not np.max / np.any: one MS/MS query each, their dispatch was ~40 % of it
    mz, intensity = np.asarray(mz), np.asarray(intensity)
    if not mz.size or not math.isfinite(precursor_mz):
        return True
    base = float(intensity.max())
    return bool(((mz < precursor_mz - PRODUCT_ION_MIN_LOSS_DA) & (intensity >= level * base)).any())


#: ``small_atoms`` applies to hits with at least this many C, N, O, S and P atoms: a skeleton of one
#: or two such atoms dressed with halogens (dichloromethane, trichloroethylene) has no isomer, or
#: almost none, to confuse.
SMALL_MIN_SKELETON = 3


@functools.lru_cache(maxsize=4096)
def structure_shape(smiles: str, pah: bool = True) -> tuple[int, int, int, int]:
    """What :func:`check_isomers` reads of a structure besides its isomers: (heavy atoms, C/N/O/S/P
    atoms, the rings of its largest fused sp2 ring system if a hydrocarbon -- 0 unless ``pah``, the
    carbons of a hydrocarbon -- :func:`hydrocarbon_size`); (0, 0, 0, 0) when RDKit cannot read it. Kept
    per library row in the cache folder (:meth:`~nps_id.match.library_facts.LibraryFacts.shape`): a
    one-spectrum search whose hit's shape is cached never imports RDKit for it (~50 ms). The structure
    is parsed once for the four (a cold facts fill parses every library structure)."""
    from rdkit import Chem  # lazy: RDKit

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return 0, 0, 0, 0
    skeleton = sum(a.GetSymbol() in ("C", "N", "O", "S", "P") for a in mol.GetAtoms())
    if not _is_hydrocarbon(mol):
        return mol.GetNumHeavyAtoms(), skeleton, 0, 0
    return mol.GetNumHeavyAtoms(), skeleton, _fused_pah_rings(mol) if pah else 0, hydrocarbon_size(mol)


def _is_hydrocarbon(mol: Any) -> bool:
    """Every atom carbon or hydrogen, of any isotope: a deuterated standard's explicit ``[2H]`` atoms
    (MassBank EI's anthracene-d10, butane-d10) are its hydrogens -- its isomers' spectra are as alike."""
    return all(a.GetAtomicNum() in (1, 6) for a in mol.GetAtoms())


def hydrocarbon_size(mol: Any) -> int:
    """The carbons of a hydrocarbon (:func:`_is_hydrocarbon`, an RDKit molecule) that has a skeletal
    isomer, else 0. Methane, the C2 hydrocarbons and propane have none: the rule named ethane's isomers
    "not excluded" (MassBank EI)."""
    carbons = [a for a in mol.GetAtoms() if a.GetAtomicNum() == 6]
    hydrogens = sum(a.GetTotalNumHs(includeNeighbors=True) for a in carbons)
    return len(carbons) if len(carbons) >= 4 or len(carbons) == 3 and hydrogens < 8 else 0


def _fused_pah_rings(mol: Any) -> int:
    """The rings of the largest fused ring system (rings sharing a bond) of sp2 carbons -- aromatic
    rings, and the five-membered ring of fluoranthene that RDKit does not call aromatic -- of a
    hydrocarbon (:func:`_is_hydrocarbon`, an RDKit molecule)."""
    from rdkit import Chem  # lazy: RDKit (loaded by the caller already)

    info = mol.GetRingInfo()
    rings = [set(bonds) for atoms, bonds in zip(info.AtomRings(), info.BondRings())
             if all(mol.GetAtomWithIdx(a).GetHybridization() == Chem.HybridizationType.SP2 for a in atoms)]
    largest, seen = 0, set()
    for start in range(len(rings)):
        if start in seen:
            continue
        system, todo = {start}, [start]
        while todo:
            ring = rings[todo.pop()]
            for other in range(len(rings)):
                if other not in system and ring & rings[other]:
                    system.add(other)
                    todo.append(other)
        seen |= system
        largest = max(largest, len(system))
    return largest

"""Learn, from the libraries themselves, which kinds of isomers EI spectra cannot tell apart.

For every library compound with a verified structure, enumerate its one-move isomers
(:mod:`nps_id.chem.isomers`); for each isomer the library also holds, search the compound's
spectra against the library and record how well the isomer matches (MF, with RMF >= 850). Per kind
of move and chemical context, the share of pairs matching at least as well as each score of
``SCORE_GRID`` (800, 810, ..., 990: the rate curve) is written to
``nps_id/match/isomer_rates.json`` (small, shipped), which :mod:`nps_id.match.isomer_rule` reads.

Context (:func:`nps_id.match.isomer_rule.context_of`): ``drug`` when the compound is in a
substance group of the UNODC EWA taxonomy (:func:`nps_id.chem.ewa_groups.classify`), else
``other``. Drug series are built as positional and chain isomers around one pharmacophore whose
fragments dominate the spectrum: their isomer pairs match as one compound far more often than
other compounds' (the printed table).

    PYTHONPATH=. python benchmarks/train_isomer_rates.py swgdrug.h5 massbank-ei.h5 massbank-ms2.h5

An MS/MS library given too (``... massbank-ms2.h5``) adds the contexts ``drug-ms2`` and
``other-ms2`` (score >= the MS/MS identity score instead of MF/RMF), which MS/MS verdicts then use.

``--ms2-moves KIND...`` learns MS/MS curves for those kinds only (the file's ``ms2_moves``: an MS/MS
hit reads every other kind's EI curve); ``--add-to RATES`` keeps a rates file's curves and adds only
the kinds it lacks -- except the ``--ms2-moves`` kinds, whose MS/MS curves (and the ``-ms2``
``default`` their fallbacks read) it relearns (:func:`add_kinds`). The shipped file since stop 46:
EI curves from SWGDRUG 3.4 and MassBank EI, and MS/MS curves for every kind MassBank MS/MS has
pairs of, learned by

    PYTHONPATH=. python benchmarks/train_isomer_rates.py mbms2.h5 --ms2-moves chain_transfer double_bond \
      methyl_shift oxygen_position ring_chain_ch2 ring_nitrogen ring_position sugar_linkage \
      --add-to nps_id/match/isomer_rates.json [--pairs-out ms2_pairs.tsv]

(the EI curves byte for byte as they were; ~6-8 min). MassBank MS/MS's own pairs show CID separating
every kind *less* often than EI (other compounds at 950: ring positions 0.17 against EI's 0.04, methyl
shifts 0.27 against 0.01), and an MS/MS identification must not rest on a separability its own
library contradicts (benchmarks/README.md "Stop 46 (branch ms2rates46)"). A kind of fewer than
``MIN_PAIRS`` MS/MS pairs takes its coarser kind's curve, else its context's over all MS/MS pairs:
the drug series' ring positions (4 pairs), methyl shifts (5) and CH2 transfers (1) read the 46 drug
MS/MS pairs' pooled curve. A kind of which a context has no MS/MS pair at all is not learned there:
MS/MS reads its EI curve (``ring_size`` and ``ring_opening`` everywhere; the drug series' double bonds,
ring-chain CH2, ring nitrogens and sugar linkages -- benchmarks/README.md "Stop 46 (branch attack46c)").

History: until stop 46 the shipped file was trained on the two EI libraries only, but for
``oxygen_position`` (stop 27, ``train_isomer_rates.py swg25.h5 mbei.h5 mbms2.h5 --ms2-moves
oxygen_position --add-to isomer_rates.json``) and ``sugar_linkage`` (stop 33, the same command with
``--ms2-moves sugar_linkage``): MassBank MS/MS shows positional and chain isomers less separable by
CID than by EI, and with all MS/MS rates MS/MS coverage of the dev queries fell from 0.31 to 0.17
at unchanged precision (benchmarks/README.md, "New substances"); the choice was left open. Stop 36
added ``ring_size`` and ``ring_chain_ch2``, EI curves only (``train_isomer_rates.py swg25.h5
mbei.h5 --add-to isomer_rates.json``), stop 38 a derivative's ring positions
(``ring_position:<what moved>:perfluoroacyl`` / ``:silyl``) by the same command.

``--keep-ms2-pool`` (stop 49) adds a new MS/MS kind without moving the others: the ``-ms2`` pools (``default``)
stay as ``--add-to``'s file has them, and the new kind's few-pair sub-kinds fall back on them. The shipped
``chain_position`` curves (an MS/MS-only move, :data:`~nps_id.chem.isomer_type.MS2_ONLY_MOVES`: no EI pair of
it is learned) are what

    PYTHONPATH=. python benchmarks/train_isomer_rates.py mbms2.h5 --ms2-moves chain_position --keep-ms2-pool \
      --add-to nps_id/match/isomer_rates.json [--pairs-out chain_pairs.tsv]

writes (~13 min at load 7), byte for byte. Without it the 123 new pairs join the pools, and the drug series'
MS/MS pool -- 46 pairs, read by its ring positions, methyl shifts and CH2 transfer -- falls from 0.051 to 0.049
at 990, under ``isomer_min_rate_ms2``: androsterone left out was `identified` as dihydrotestosterone again.

``--heavier`` (stop 47) learns only the EI kind ``heavier`` (:data:`~nps_id.match.isomer_rule.HEAVIER`; no
isomer): of the library compounds (not isotope-labelled) whose own spectra show no ion at their nominal
mass (below ``isomer_heavier_ion_level`` of the base peak), the share of those spectra that a heavier
library compound (not labelled) matches at least as well as each score (:func:`heavier_outcomes`), per
context; it replaces the ``heavier`` entries of ``--add-to``'s file and keeps every isomer curve. Every
compound of both EI libraries, no sample (~20 s). The shipped entries are what

    PYTHONPATH=. python benchmarks/train_isomer_rates.py swg25.h5 mbei.h5 --heavier \
      --add-to nps_id/match/isomer_rates.json

writes, byte for byte (run on the shipped file it rewrites the same file).

``--homologue`` (stop 51) learns only the EI kind ``homologue`` (:data:`~nps_id.match.isomer_rule.HOMOLOGUE`; no
isomer): of the library pairs of a compound and its chain homologue (:func:`nps_id.chem.homologues.homologues`: one or
two CH2 more or fewer along an unbranched chain), the compound's spectra showing neither molecular ion, the share that
match the homologue at least as well as each score (:func:`homologue_pairs`), per context, for chains of at least
``isomer_homologue_min_chain`` carbons; it prints the pairs' rates by chain length (what that minimum is chosen from)
and replaces the ``homologue`` entries of ``--add-to``'s file, every other curve kept (~1 min); given with ``--heavier``,
``--pairs-out``, ``--ms2-moves`` or ``--keep-ms2-pool`` (which it does not read; ``--heavier`` likewise) it is refused,
exit 3, and so are libraries giving no pair at all (an MS/MS library: the file would lose every curve, the rule off).
The shipped entries are what

    PYTHONPATH=. python benchmarks/train_isomer_rates.py swg25.h5 mbei.h5 --homologue \
      --add-to nps_id/match/isomer_rates.json

writes, byte for byte (run on the shipped file it rewrites the same file).

``--pairs-out FILE`` also writes every pair's raw outcome (both compounds' InChIKey first blocks, each
spectrum's match): ``bench_novelty.py --isomer-rates-loo FILE`` re-reads the shipped curves without a
left-out compound's own pairs (:class:`LeaveOutRates`).

A match is read as the rule reads an unknown's -- rounded to 0-999 as every nps-id score is
(:func:`rule_scores`; unrounded until stop 42, which counted a pair at 979.7 at 970 only).
A pair's outcome is the share of the compound's spectra that match one of the isomer's spectra:
how often one unknown spectrum of it cannot tell the two apart (a library may hold a compound at
several collision energies or from several laboratories, not all alike).

The libraries must be nps-id libraries built with structures (``nps-id library build``); only
``verified`` structures are used. Deterministic: same libraries, same file.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from nps_id._atomic import atomic_output
from nps_id._paths import not_a_regular_file
from nps_id.commands.options import refuse_output_onto_inputs
from nps_id.errors import InputError
from nps_id.library import Library
from nps_id.match.isomer_rule import HEAVIER, HOMOLOGUE, RATES_PATH, SCORE_GRID, parse_rates
from nps_id.match.verdict import VerdictThresholds
from nps_id.search.engine import Hits, SearchSettings, search
from nps_id.search.reference import Reference
from nps_id.search.scores.base import to_999_column

MIN_PAIRS = 10  # a move kind with fewer pairs takes the rate of its nearest coarser kind (rates_for)


def verified_structures(lib: Library) -> list[str | None]:
    """The structure of each row when it is verified, else None."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    cols = set(lib.columns)
    smiles = lib.column("smiles") if "smiles" in cols else [""] * len(lib)
    status = lib.column("structure_status") if "structure_status" in cols else None
    keys = lib.column("inchikey")
    out: list[str | None] = []
    for i, smi in enumerate(smiles):
        ok = bool(smi) and bool(keys[i])
        if ok and status is not None:
            ok = status[i] == "verified"
        if ok and status is None:  # a library without the status column: verify here
            mol = Chem.MolFromSmiles(smi)
            ok = mol is not None and Chem.MolToInchiKey(mol)[:14] == keys[i][:14]
        out.append(smi if ok else None)
    return out


def rule_scores(hits: Hits, ms2: np.ndarray, identified_rmf: int) -> np.ndarray:
    """Each hit's match as the isomer rule reads an unknown's (0-999 integers, rounded as every
    nps-id score is, :func:`~nps_id.search.scores.base.to_999_column`): an MS/MS hit (``ms2``, per
    hit) its score, an EI hit its MF when its RMF reaches ``identified_rmf`` (below it no
    identification is made), else 0. Rounded, not 999 x MF: the rule reads the curve at the
    unknown's rounded score, so a pair at 979.7 -- which the rule would call 980 -- counts at 980
    (until stop 42 it counted at 970 only: 4'- / 3'-fluoro-alpha-PPP)."""
    def rounded(column: np.ndarray) -> np.ndarray:
        return np.asarray(to_999_column(np.nan_to_num(np.asarray(column, dtype=float))), dtype=int)

    ei = np.where(rounded(hits.rmf) >= identified_rmf, rounded(hits.mf), 0)
    return np.where(np.asarray(ms2, dtype=bool), rounded(hits.score), ei)


class Pair(NamedTuple):
    """One library pair: ``compound``'s spectra (InChIKey first block) against its enumerated
    ``isomer`` the library holds, each spectrum's best match to one of the isomer's (0-999)."""
    context: str
    move: str
    compound: str
    isomer: str
    scores: tuple[int, ...]


def outcome(scores: Sequence[int]) -> np.ndarray:
    """A pair's outcome: the share of the compound's spectra that match the isomer that well at
    each score of ``SCORE_GRID`` -- how often one unknown spectrum of it cannot tell the two apart
    (an MS/MS library holds a compound at several collision energies, not all alike)."""
    return (np.asarray(scores)[:, None] >= np.asarray(SCORE_GRID)[None, :]).mean(axis=0)


def library_pairs(path: Path, thresholds: VerdictThresholds, ms2_moves: frozenset[str] | None = None) -> list[Pair]:
    """Every pair of a library compound and an enumerated isomer of it the library holds (EI: MF,
    with RMF at the identity threshold; MS/MS: score). MS/MS contexts are suffixed ``-ms2``:
    fragmentation of the protonated molecule separates other isomers than EI does. ``ms2_moves``:
    the MS/MS pairs of these top-level move kinds only (None: all). Only the spectra of compounds
    with such a pair are searched (the outcome is the same)."""
    from nps_id.chem.isomer_type import MS2_ONLY_MOVES
    from nps_id.chem.isomers import enumerate_isomers
    from nps_id.match.isomer_rule import context_of

    with Library.open(path) as lib:
        reference = Reference.from_library(lib)
        structures = verified_structures(lib)
        spectra = list(lib.spectra())
    block = np.array([str(k)[:14] for k in reference.columns["inchikey"]], dtype=object)
    ms2 = reference.columns["ms_level"] == 2
    rows_of: dict[str, dict[bool, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, b in enumerate(block):
        if b:
            rows_of[b][bool(ms2[i])].append(i)
    names = reference.columns["name"]
    pairs: list[tuple[str, str, bool, list[int], str]] = []  # context, move, level, the compound's rows, isomer
    for b, by_level in rows_of.items():
        every = [r for rows in by_level.values() for r in rows]
        smiles = next((structures[r] for r in every if structures[r]), None)
        if smiles is None:
            continue
        context = context_of(str(names[every[0]]), smiles, b)
        for isomer in enumerate_isomers(smiles) or ():
            other = isomer.inchikey[:14]
            for level, rows in by_level.items():
                if level and ms2_moves is not None and isomer.move.split(":")[0] not in ms2_moves:
                    continue
                if not level and isomer.move.split(":")[0] in MS2_ONLY_MOVES:
                    continue  # an EI hit never reads it
                if rows_of.get(other, {}).get(level):
                    pairs.append((context + ("-ms2" if level else ""), isomer.move, level, rows, other))
    wanted = sorted({r for *_, rows, _ in pairs for r in rows})
    hits = search([spectra[r] for r in wanted], reference, SearchSettings(top_k=80, prefilter=300, threads=2))
    starts = np.searchsorted(hits.query, np.arange(len(wanted) + 1))
    values = rule_scores(hits, ms2[np.asarray(wanted, dtype=int)][hits.query], thresholds.identified_rmf)
    best: dict[tuple[int, str], int] = {}  # (spectrum row, compound) -> its best match, 0-999
    for q, row in enumerate(wanted):
        for j in range(starts[q], starts[q + 1]):
            key = (row, block[hits.row[j]])
            best[key] = max(best.get(key, 0), int(values[j]))
    return [Pair(context, move, str(block[rows[0]]), other, tuple(best.get((r, other), 0) for r in rows))
            for context, move, _level, rows, other in pairs]


#: ``--heavier``'s search depth: a query's best heavier compound must be among its this many best
#: hits (the run prints how many queries had every one of them at the first score of the grid).
HEAVIER_TOP_K = 200


def heavier_outcomes(path: Path, thresholds: VerdictThresholds) -> list[tuple[str, np.ndarray]]:
    """``--heavier``: per library compound (EI, not isotope-labelled) whose own spectra show no ion
    at its nominal mass (below ``isomer_heavier_ion_level`` of the base peak, as the rule reads an
    unknown), its context and outcome: the share of those spectra that a heavier library compound
    (not labelled) matches at least as well as each score of the grid (MF, RMF at the identity
    threshold; :func:`outcome`). What the rule reads as "a heavier compound is not excluded": an
    unknown without a molecular ion can be any heavier compound whose spectrum is this close."""
    from nps_id.compound import is_labelled
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.match.molecular_mass import nominal_spectrum
    from nps_id.spectrum import Spectrum

    with Library.open(path) as lib:
        reference = Reference.from_library(lib)  # the library's peaks, read once
    facts = LibraryFacts(reference)
    cols = reference.columns
    n = reference.n_spectra
    ei = np.asarray(cols["ms_level"]) != 2
    labelled = np.array([is_labelled(facts.name(r), facts.formula(r), str(cols["smiles"][r] or "")) for r in range(n)])
    masses = np.array([(facts.mass(r) or 0) if ei[r] and facts.block(r) else 0 for r in range(n)])
    usable = ei & ~labelled & (masses > 0) & np.array([len(reference.peaks.row(r)[0]) > 0 for r in range(n)])
    queries = [r for r in np.flatnonzero(usable).tolist()
               if nominal_spectrum(*reference.peaks.row(r)).get(int(masses[r]), 0.0) < thresholds.isomer_heavier_ion_level]
    # a query is its row's peaks: an EI search reads no other field of a spectrum (``lib.spectra()`` here read
    # every spectrum of the library a second time, for a fraction of them)
    hits = search([Spectrum(*reference.peaks.row(r)) for r in queries], reference,
                  SearchSettings(top_k=HEAVIER_TOP_K, prefilter=max(300, HEAVIER_TOP_K), threads=2))
    starts = np.searchsorted(hits.query, np.arange(len(queries) + 1))
    values = rule_scores(hits, np.zeros(len(hits.row), dtype=bool), thresholds.identified_rmf)
    best: dict[str, list[int]] = defaultdict(list)  # compound (first block) -> its spectra's best heavier match
    first: dict[str, int] = {}  # compound -> its first such row (whose context the rule reads)
    deep = 0
    for q, row in enumerate(queries):
        span = range(starts[q], starts[q + 1])
        heavier = [int(values[j]) for j in span if usable[hits.row[j]] and masses[hits.row[j]] > masses[row]]
        best[facts.block(row)].append(max(heavier, default=0))
        first.setdefault(facts.block(row), row)
        deep += len(span) == HEAVIER_TOP_K and min(int(values[j]) for j in span) >= SCORE_GRID[0]
    print(f"{path.name}: {len(queries)} spectra of {len(best)} compounds without their molecular ion; "
          f"{deep} with all {HEAVIER_TOP_K} hits at >= {SCORE_GRID[0]} (a heavier compound below them unseen)")
    return [(facts.context(first[b]), outcome(scores)) for b, scores in best.items()]


def heavier_entries(outcomes: Sequence[tuple[str, np.ndarray]]) -> dict[str, dict]:
    """Per context, the ``heavier`` entry of the rates file (:data:`~nps_id.match.isomer_rule.HEAVIER`)
    from :func:`heavier_outcomes`: compounds as ``pairs``, the mean outcome as the curve."""
    by_context: dict[str, list[np.ndarray]] = defaultdict(list)
    for context, values in outcomes:
        by_context[context].append(values)
    return curve_entries(HEAVIER, by_context)


def curve_entries(kind: str, by_context: Mapping[str, Sequence[np.ndarray]]) -> dict[str, dict]:
    """Per context, a learned kind's rates-file entry (``heavier``, ``homologue``) from its outcomes: how many
    (``pairs``), the share inseparable at every score, their mean as the curve, ``from`` the kind."""
    return {context: {"pairs": len(values), "inseparable": round(float(sum(v[0] for v in values)), 1),
                      "rate_at_score": [round(float(x), 3) for x in np.mean(values, axis=0)], "from": kind}
            for context, values in sorted(by_context.items())}


#: ``--homologue``'s search depth: a compound's homologue must be among its spectra's this many best hits (a long
#: chain's homologues match it as its replicates do, and MassBank EI holds up to ~40 of one series).
HOMOLOGUE_TOP_K = 200


class HomologuePair(NamedTuple):
    """One library pair of ``--homologue``: ``compound``'s spectra (InChIKey first block) showing no ion at its
    homologue's nominal mass against the ``homologue`` (``ch2`` CH2 more, negative: fewer) the library holds; ``chain``:
    the shorter of the two chains' carbons; ``scores``: each such spectrum's best match to one of the homologue's."""
    context: str
    compound: str
    homologue: str
    ch2: int
    chain: int
    scores: tuple[int, ...]


def homologue_pairs(path: Path, thresholds: VerdictThresholds, min_chain: int = 2) -> list[HomologuePair]:
    """``--homologue``: every pair of a library compound (EI, verified structure, not isotope-labelled) and a homologue
    of it the library holds (:func:`nps_id.chem.homologues.homologues`, 1 to 2 CH2 along a chain of at least
    ``min_chain`` carbons), with the compound's spectra that show neither molecular ion -- no ion at the homologue's
    nominal mass nor at its own (below ``isomer_homologue_ion_level`` of the base peak): as the rule reads an unknown
    against a hit, the compound is the unknown and its homologue the hit. Each spectrum's best match (MF, RMF at the
    identity threshold) to one of the homologue's spectra, 0 when it is not among the :data:`HOMOLOGUE_TOP_K` best
    hits. Without the second condition nearly every spectrum counts (a compound rarely shows an ion 14 u below its
    mass, never one above it) and the curve is lower: 0.044 instead of 0.090 at 920 for chains of 8 or more."""
    from nps_id.chem.homologues import homologues
    from nps_id.compound import is_labelled
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.spectrum import Spectrum

    with Library.open(path) as lib:
        reference = Reference.from_library(lib)
    facts = LibraryFacts(reference)
    cols = reference.columns
    ei = np.asarray(cols["ms_level"]) != 2
    rows_of: dict[str, list[int]] = defaultdict(list)
    for r in np.flatnonzero(ei).tolist():
        block = facts.block(r)
        if block and len(reference.peaks.row(r)[0]) and not is_labelled(facts.name(r), facts.formula(r), str(cols["smiles"][r] or "")):
            rows_of[block].append(r)
    wanted: list[tuple[str, int, list[int], object]] = []  # context, first row, the spectra to search, homologue
    for block, rows in rows_of.items():
        smiles = next((facts.structure(r) for r in rows if facts.structure(r)), None)
        for homologue in homologues(smiles, min_chain=min_chain) if smiles else ():
            other = rows_of.get(homologue.inchikey[:14])
            mass = facts.mass(other[0]) if other else None
            if not mass:
                continue
            own = facts.mass(rows[0]) or 0
            shown = [r for r in rows if max(nominal_spectrum_at(reference, r, mass), nominal_spectrum_at(reference, r, own))
                     < thresholds.isomer_homologue_ion_level]
            if shown:
                wanted.append((block, rows[0], shown, homologue))
    queries = sorted({r for *_, shown, _ in wanted for r in shown})
    hits = search([Spectrum(*reference.peaks.row(r)) for r in queries], reference,
                  SearchSettings(top_k=HOMOLOGUE_TOP_K, prefilter=max(300, HOMOLOGUE_TOP_K), threads=2))
    starts = np.searchsorted(hits.query, np.arange(len(queries) + 1))
    values = rule_scores(hits, np.zeros(len(hits.row), dtype=bool), thresholds.identified_rmf)
    best: dict[tuple[int, str], int] = {}  # (spectrum row, compound) -> its best match, 0-999
    for q, row in enumerate(queries):
        for j in range(starts[q], starts[q + 1]):
            key = (row, facts.block(int(hits.row[j])))
            best[key] = max(best.get(key, 0), int(values[j]))
    out = []
    for block, first, shown, homologue in wanted:
        other = homologue.inchikey[:14]
        out.append(HomologuePair(facts.context(first), block, other, homologue.ch2,
                                 min(homologue.chain, homologue.chain + homologue.ch2),
                                 tuple(best.get((r, other), 0) for r in shown)))
    print(f"{path.name}: {len(out)} homologue pairs of {len({p.compound for p in out})} compounds, {len(queries)} spectra")
    return out


def nominal_spectrum_at(reference: Reference, row: int, mass: int) -> float:
    """A library row's relative intensity at nominal ``mass`` (:func:`~nps_id.match.molecular_mass.nominal_spectrum`)."""
    from nps_id.match.molecular_mass import nominal_spectrum

    return nominal_spectrum(*reference.peaks.row(row)).get(int(mass), 0.0)


def homologue_table(pairs: Sequence[HomologuePair]) -> None:
    """Print the pairs' rates at 900 / 950 / 980 by the shorter chain's carbons and CH2 step: what
    ``isomer_homologue_min_chain`` is chosen from."""
    by: dict[tuple[str, int, int], list[np.ndarray]] = defaultdict(list)
    for p in pairs:
        by[(p.context, min(p.chain, 12), abs(p.ch2))].append(outcome(p.scores))
    grid = list(SCORE_GRID)
    for (context, chain, ch2), values in sorted(by.items()):
        curve = np.mean(values, axis=0)
        print(f"  {context:6s} chain {'>=' if chain == 12 else '  '}{chain:2d} CH2 +-{ch2}: {len(values):4d} pairs  rate at "
              f"900 / 950 / 980: {curve[grid.index(900)]:.3f} / {curve[grid.index(950)]:.3f} / {curve[grid.index(980)]:.3f}")


def homologue_entries(pairs: Sequence[HomologuePair], min_chain: int) -> dict[str, dict]:
    """Per context, the ``homologue`` entry of the rates file (:data:`~nps_id.match.isomer_rule.HOMOLOGUE`) from the
    pairs whose shorter chain has at least ``min_chain`` carbons (the rule's ``isomer_homologue_min_chain``): pairs
    counted, the mean outcome as the curve. A context without such a pair has no entry: the rule holds nothing there."""
    by_context: dict[str, list[np.ndarray]] = defaultdict(list)
    for pair in pairs:
        if pair.chain >= min_chain:
            by_context[pair.context].append(outcome(pair.scores))
    return curve_entries(HOMOLOGUE, by_context)


def with_entries(base: dict, kind: str, entries: dict[str, dict], libraries: Sequence[Path]) -> dict:
    """``base`` (``--add-to``'s rates file) with its ``kind`` entries replaced by ``entries`` (relearned on every run,
    as ``--ms2-moves`` kinds are: the command reproduces the shipped file from itself; a context without one loses
    its old one) and ``libraries`` recorded; every other curve as it was."""
    # replaced in place (the file's order kept: a rerun writes the shipped bytes), dropped where not relearned
    out = {**base, "contexts": {c: {m: entries[c] if m == kind else e for m, e in moves.items()
                                    if m != kind or c in entries} for c, moves in base["contexts"].items()}}
    for context, entry in entries.items():
        out["contexts"].setdefault(context, {})[kind] = entry
    out["libraries"] = list(dict.fromkeys([*base.get("libraries", []), *(p.name for p in libraries)]))
    return out


def write_pairs(path: Path, pairs: Sequence[Pair]) -> None:
    """``--pairs-out``: one TSV row per pair (context, move, compound, isomer, its spectra's
    scores comma-separated) -- what the dev bench's leave-compound-out rates relearn from."""
    rows = ["context\tmove\tcompound\tisomer\tscores"]
    rows += [f"{p.context}\t{p.move}\t{p.compound}\t{p.isomer}\t{','.join(map(str, p.scores))}" for p in pairs]
    with atomic_output(path) as tmp:
        tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")


def read_pairs(path: Path) -> list[Pair]:
    """The pairs :func:`write_pairs` wrote; ValueError naming the first bad line (a FIFO is named,
    not read: it would block; a file of no pair is refused: it would leave every curve as shipped)."""
    if (why := not_a_regular_file(path)) is not None:
        raise ValueError(f"{path}: {why}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    if not lines or lines[0].split("\t") != list(Pair._fields):
        raise ValueError(f"{path}: not a pairs file of train_isomer_rates.py --pairs-out")
    pairs = []
    for n, line in enumerate(lines[1:], 2):
        try:
            context, move, compound, isomer, scores = line.split("\t")
            pairs.append(Pair(context, move, compound, isomer, tuple(int(v) for v in scores.split(","))))
            if not all(0 <= v <= 999 for v in pairs[-1].scores):
                raise ValueError
        except ValueError:
            raise ValueError(f"{path}, line {n}: not context, move, compound, isomer, scores (0-999)") from None
    if not pairs:
        raise ValueError(f"{path}: holds no pair")
    return pairs


def rates_for(pooled: dict[str, list[np.ndarray]], pool: dict | None = None) -> dict[str, dict]:
    """Rate curve per move kind and per coarser kind (each prefix before a ':':
    ``double_bond:conjugation`` -> ``double_bond``, pooled over its finer kinds); a kind with fewer
    than MIN_PAIRS pairs takes its nearest coarser kind's with enough, else the context's over
    all moves ("default"). The coarser kinds are written too: the rule reads a kind the file
    lacks at them (:func:`nps_id.match.isomer_rule.rate_of`). ``pool``: a rates file's ``default``
    entry that stands for the context's pairs instead of ``pooled``'s own (``--keep-ms2-pool``)."""
    family: dict[str, list[np.ndarray]] = defaultdict(list)
    for move, values in pooled.items():
        parts = move.split(":")
        for n in range(1, len(parts) + 1):
            family[":".join(parts[:n])].extend(values)
    every = [v for values in pooled.values() for v in values]

    def entry(values: list[np.ndarray], basis: list[np.ndarray], source: str) -> dict:
        curve = np.mean(basis, axis=0) if basis else np.ones(len(SCORE_GRID))
        return {"pairs": len(values), "inseparable": round(float(sum(v[0] for v in values)), 1),
                "rate_at_score": [round(float(x), 3) for x in curve], "from": source}

    moves = {}
    for kind, values in sorted(family.items()):
        parts = kind.split(":")
        source = next((":".join(parts[:n]) for n in range(len(parts), 0, -1)
                       if len(family[":".join(parts[:n])]) >= MIN_PAIRS), "default")
        moves[kind] = entry(values, family[source] if source != "default" else every, source)
        if pool is not None and source == "default":
            moves[kind]["rate_at_score"] = list(pool["rate_at_score"])
    moves["default"] = entry(every, every, "all") if pool is None else pool
    return moves


class LeaveOutRates:
    """A rates file's curves as a library without some compounds would have taught them: the dev
    bench's left-out tasks (bench_novelty.py ``--isomer-rates-loo``), where the shipped curves were
    learned with the left-out compound's own pairs and a held-back compound has none.

    A kind's curve loses what the dropped compounds' pairs (either side) add to it, learned as
    :func:`rates_for` learns it from ``pairs`` (this trainer's ``--pairs-out``): the shipped
    point minus the all-pairs point plus the pairs-without point (0-1) -- exactly the curve these
    pairs give without them where the shipped kind is the one they give, an approximation where it
    is not (another pair count or fallback: curves learned from an older SWGDRUG build, whose own
    pairs are not known; keeping those as shipped would keep them optimistic). A kind left with no
    pair at all is dropped (the rule reads its coarser kind)."""

    def __init__(self, shipped: dict, pairs: Sequence[Pair]) -> None:
        self.shipped, self.pairs = shipped, list(pairs)
        self.outcomes = [outcome(p.scores) for p in self.pairs]
        self.of_block: dict[str, set[int]] = defaultdict(set)
        for i, pair in enumerate(self.pairs):
            self.of_block[pair.compound].add(i)
            self.of_block[pair.isomer].add(i)
        self.full = {c: self.learn(c, frozenset()) for c in {p.context for p in self.pairs}}

    def learn(self, context: str, dropped: frozenset[int]) -> dict[str, dict]:
        """:func:`rates_for` of ``context``'s pairs but the ``dropped`` ones."""
        pooled: dict[str, list[np.ndarray]] = defaultdict(list)
        for i, pair in enumerate(self.pairs):
            if pair.context == context and i not in dropped:
                pooled[pair.move].append(self.outcomes[i])
        return rates_for(pooled)

    def dropped(self, blocks: frozenset[str]) -> frozenset[int]:
        """The pairs one of ``blocks`` (InChIKey first blocks) is in, either side."""
        return frozenset(i for b in blocks for i in self.of_block.get(b, ()))

    def without(self, dropped: frozenset[int]) -> dict:
        """The rates file's JSON with the ``dropped`` pairs (:meth:`dropped`) taken out of every
        curve they are in (the class docstring: exact or approximate); the shipped JSON itself when
        none is dropped."""
        if not dropped:
            return self.shipped
        contexts = {c: dict(moves) for c, moves in self.shipped["contexts"].items()}
        for context in sorted({self.pairs[i].context for i in dropped}):
            kept = self.learn(context, dropped)
            for kind, full in self.full[context].items():
                shipped = contexts.get(context, {}).get(kind)
                if shipped is None:
                    continue
                if kind not in kept:
                    del contexts[context][kind]
                    continue
                curve = np.clip(np.asarray(shipped["rate_at_score"]) - full["rate_at_score"]
                                + kept[kind]["rate_at_score"], 0.0, 1.0)
                contexts[context][kind] = {**shipped, "pairs": shipped["pairs"] - full["pairs"] + kept[kind]["pairs"],
                                           "rate_at_score": [round(float(x), 3) for x in curve]}
        return {**self.shipped, "contexts": contexts}


def kept_pool(base: dict, context: str) -> dict | None:
    """``--keep-ms2-pool``: the ``default`` entry of ``base``'s ``context`` when it is an MS/MS one (None for
    an EI context or one ``base`` lacks: learned from the run's own pairs). A new MS/MS kind's pairs joining
    the pool would move every kind that falls back on it: the drug series' MS/MS pool sits at 0.051 at 990,
    and two more pairs took it under ``isomer_min_rate_ms2`` (stop 49)."""
    entry = base["contexts"].get(context, {}).get("default") if context.endswith("-ms2") else None
    return None if entry is None else dict(entry)


def add_kinds(base: dict, new: dict) -> dict:
    """``base`` (a rates file's JSON) with the move kinds and contexts only ``new`` has: a move
    added to :mod:`nps_id.chem.isomers` is learned without relearning the curves already shipped
    (their pairs, and the verdicts that read them, stay as they were). The kinds ``new`` learned
    on MS/MS pairs (its ``ms2_moves``, ``--ms2-moves``) are the exception: their ``-ms2`` curves,
    and each ``-ms2`` context's ``default`` (the pool of the run's MS/MS pairs a kind of too few
    pairs reads), replace ``base``'s -- naming a kind learns it on today's MS/MS library (stop 46:
    an ``-ms2`` curve learned in a run of one kind fell back to that kind's own few pairs). ``new``'s
    ``ms2_moves`` and libraries are recorded beside ``base``'s."""
    relearned = set(new.get("ms2_moves", ()))
    out = {**base, "contexts": {c: dict(moves) for c, moves in base["contexts"].items()}}
    for context, moves in new["contexts"].items():
        relearn = context.endswith("-ms2") and bool(relearned)
        kept = out["contexts"].setdefault(context, {})
        if relearn:
            kept = {m: e for m, e in kept.items() if m != "default" and m.split(":")[0] not in relearned}
            out["contexts"][context] = kept
        for move, entry in moves.items():
            if move not in kept and (move != "default" or relearn or context not in base["contexts"]):
                kept[move] = entry
    out["libraries"] = list(dict.fromkeys([*base.get("libraries", []), *new.get("libraries", [])]))
    if "ms2_moves" in new:
        out["ms2_moves"] = sorted({*base.get("ms2_moves", []), *new["ms2_moves"]})
    return out


def added_to(path: Path) -> dict:
    """``--add-to``'s rates file JSON, checked as the rule reads it (InputError: one line)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        parse_rates(data)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: --add-to is not a usable isomer rates file ({exc})") from None
    return data


def refuse_unread_options(args: argparse.Namespace) -> None:
    """InputError (one line, exit 3) for ``--heavier`` or ``--homologue`` given with an option their run does not
    read: each learns its one kind alone, so ``--heavier --homologue`` learned the heavier curves only and a
    ``--pairs-out`` was never written, silently (attack51b)."""
    alone = [name for name, given in (("--heavier", args.heavier), ("--homologue", args.homologue)) if given]
    unread = [name for name, given in (("--pairs-out", args.pairs_out is not None), ("--ms2-moves", bool(args.ms2_moves)),
                                       ("--keep-ms2-pool", args.keep_ms2_pool)) if given]
    if len(alone) > 1 or (alone and unread):
        raise InputError(f"{alone[0]} learns only its own curves and does not read {(alone[1:] + unread)[0]}: "
                         "run them one at a time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("libraries", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=RATES_PATH)
    parser.add_argument("--ms2-moves", nargs="+", metavar="KIND",
                        help="learn MS/MS rates for these top-level move kinds only (default: all); "
                             "the rule reads the EI rates for the others")
    parser.add_argument("--add-to", type=Path, metavar="RATES",
                        help="keep this rates file's curves and add only the move kinds (and contexts) it lacks; "
                             "the --ms2-moves kinds' MS/MS curves are relearned")
    parser.add_argument("--keep-ms2-pool", action="store_true",
                        help="with --add-to: add the --ms2-moves kinds against the file's MS/MS pools (each -ms2 "
                             "'default'), kept as they are with every MS/MS kind not named; a named kind of too few "
                             "pairs falls back on the kept pool")
    parser.add_argument("--pairs-out", type=Path, metavar="FILE",
                        help="also write every library pair's raw outcome (TSV: context, move, both compounds' "
                             "InChIKey first blocks, the scores): bench_novelty.py --isomer-rates-loo relearns from it")
    parser.add_argument("--heavier", action="store_true",
                        help="learn only the EI 'heavier' curves (a heavier compound matching a spectrum without its "
                             "molecular ion) and replace them in --add-to's file; every isomer curve kept")
    parser.add_argument("--homologue", action="store_true",
                        help="learn only the EI 'homologue' curves (a compound's chain homologue matching its spectrum "
                             "without either molecular ion) and replace them in --add-to's file; every other curve kept")
    args = parser.parse_args()
    refuse_unread_options(args)
    refuse_output_onto_inputs([args.output], args.libraries)  # -o onto --add-to: the documented update in place
    refuse_output_onto_inputs([args.pairs_out], [*args.libraries, args.add_to])
    if args.pairs_out is not None and args.pairs_out.resolve() == args.output.resolve():
        raise InputError(f"{args.pairs_out}: --pairs-out is the rates file -o; write it somewhere else")
    base = None if args.add_to is None else added_to(args.add_to)  # checked before hours of searching
    if args.keep_ms2_pool and (base is None or not args.ms2_moves):
        raise InputError("--keep-ms2-pool adds --ms2-moves kinds to the MS/MS pools of a rates file: give both "
                         "--ms2-moves and --add-to")
    if args.keep_ms2_pool and not any(c.endswith("-ms2") and "default" in m for c, m in base["contexts"].items()):
        # kept_pool would find none: the run learns its own pools, silently what the option was given to avoid
        raise InputError(f"{args.add_to}: --keep-ms2-pool keeps the file's MS/MS pools, and it has none (no '-ms2' "
                         "context with a 'default'); train its MS/MS curves first (--ms2-moves without it)")
    thresholds = VerdictThresholds()
    if args.heavier:
        if base is None:
            raise InputError("--heavier adds the 'heavier' curves to a rates file: give it with --add-to")
        outcomes = [o for path in args.libraries for o in heavier_outcomes(path, thresholds)]
        write_rates(args.output, with_entries(base, HEAVIER, heavier_entries(outcomes), args.libraries))
        return
    if args.homologue:
        if base is None:
            raise InputError("--homologue adds the 'homologue' curves to a rates file: give it with --add-to")
        pairs = [p for path in args.libraries for p in homologue_pairs(path, thresholds)]
        homologue_table(pairs)
        entries = homologue_entries(pairs, thresholds.isomer_homologue_min_chain)
        if not entries:  # an MS/MS library given: the shipped curve removed, the rule off, exit 0 (attack51b)
            raise InputError(f"{', '.join(p.name for p in args.libraries)}: no homologue pair of a chain of "
                             f"{thresholds.isomer_homologue_min_chain} or more carbons (EI records with verified "
                             "structures); every 'homologue' curve would be removed -- nothing written")
        write_rates(args.output, with_entries(base, HOMOLOGUE, entries, args.libraries))
        return
    pooled: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    every: list[Pair] = []
    for path in args.libraries:
        every += library_pairs(path, thresholds, frozenset(args.ms2_moves) if args.ms2_moves else None)
    for pair in every:
        pooled[(pair.context, pair.move)].append(outcome(pair.scores))
    if args.pairs_out is not None:
        write_pairs(args.pairs_out, every)
    out = {
        "version": 3,
        "what": "per context and move: the share of library isomer pairs (one enumerated move apart) whose "
                "spectra match at least as well as each score of score_grid (EI: MF, with RMF >= "
                f"{thresholds.identified_rmf}; MS/MS, contexts '-ms2': score); 'inseparable' counts "
                "pairs at the first score (the identity threshold)",
        "libraries": [p.name for p in args.libraries],
        **({"ms2_moves": sorted(args.ms2_moves)} if args.ms2_moves else {}),
        "score_grid": list(SCORE_GRID),
        "contexts": {context: rates_for({m: v for (c, m), v in pooled.items() if c == context},
                                        kept_pool(base, context) if args.keep_ms2_pool else None)
                     for context in sorted({c for c, _ in pooled})},
    }
    if args.add_to is not None:
        out = add_kinds(base, out)
    write_rates(args.output, out)


def write_rates(path: Path, out: dict) -> None:
    """Write the rates file (atomically: a killed run never leaves a truncated one) and print its curves."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    for context, moves in out["contexts"].items():
        for move, entry in moves.items():
            curve = dict(zip(SCORE_GRID, entry["rate_at_score"]))
            print(f"{context:6s} {move:24s} {entry['pairs']:5d} pairs  rate at 800 / 900 / 950 / 980: "
                  f"{curve[800]:.2f} / {curve[900]:.2f} / {curve[950]:.2f} / {curve[980]:.2f} (from {entry['from']})")


if __name__ == "__main__":
    from nps_id.errors import NpsIdError

    try:
        main()
    except NpsIdError as exc:  # one line and the project's exit code (3 bad input, 4 bad library; README "Exit
        # codes"): SystemExit("...") exited 1, the code of a found match or a failed item (stop 45)
        print(f"train_isomer_rates: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None

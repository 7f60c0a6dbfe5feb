"""New substances: leave-compound-out and in-library verdicts, on the development data only.

What ``identified`` is worth when the compound is NOT in the library (it must never be called),
next to what it is worth when it is (coverage and precision), with the rules of
:mod:`nps_id.match.assess` -- the ones ``nps-id search`` and ``nps-id match`` apply.

Tasks (../shared/data):

- ``swgdrug-lco``: every SWGDRUG record searched with its compound removed from the library (all
  records with its InChIKey first block, else its name, and records under its exact name);
- ``swgdrug-present``: every 4th SWGDRUG record re-measured (10 % intensity noise, seeded)
  against the whole library;
- ``massbank-ei-present`` / ``massbank-ei-lco``: the MassBank EI identity queries against the
  MassBank EI library, with and without their compound;
- ``massbank-ei-absent``: the MassBank EI analogue queries (compounds absent from the library);
- ``massbank-ms2-present`` / ``-lco`` / ``-absent``: the same with the MS/MS queries and library
  (``--massbank-ms2``; cross-laboratory: the library holds each compound from other labs).

Per task: ``identified`` (wrong ones when absent), precision and coverage (present),
``flagged`` (absent: ``new_substance``, or ``tentative`` "isomer not excluded" or "isomer
ambiguity"; ``flagged_strict`` without "isomer ambiguity", as the issue words it), group right
(``suspected_group`` equals the compound's own group, where that is known), mass right
(``estimated_mass`` equals the compound's nominal mass; ``mass_right_explained``: the same among
the queries whose formula explains the spectrum, ``mass_unexplained`` how many it does not),
flagged with the right group (the
held-back measure: flagged, and ``suspected_group`` the compound's own group, or null when it has
none). ``new_substance`` on the present tasks is the false-alarm rate. ``--cache DIR`` keeps each
task's hits (rule changes re-run without searching), ``--details FILE`` writes one TSV row per query.
``--group-folds DIR``: the suspected-group models of ``train_group_model.py``'s folds, each query
assessed by the one that never saw its compound (:func:`fold_of`); without it the shipped models
name the groups, and they were trained on these compounds (a note on stderr says so).
``--isomer-rates-loo PAIRS``: the left-out tasks' isomer rules read rate curves learned without any
library pair of the query's own compound (``train_isomer_rates.py ... --pairs-out PAIRS``;
:class:`train_isomer_rates.LeaveOutRates`), as a held-back compound's are; the present tasks, and
without it every task, read the shipped curves (which hold the left-out compounds' pairs).

    PYTHONPATH=. python benchmarks/bench_novelty.py --swgdrug swgdrug.h5 --massbank-ei massbank-ei.h5

Libraries: nps-id libraries built with structures (``nps-id library build``). The verdict fields
are ``nps-id search``'s own (:func:`~nps_id.match.assess.assess_search` on hits searched with its
settings; tests/match/test_novelty_bench_is_the_command.py). Removing a compound is done on the hit
lists (each query searched once, every scored candidate kept): the hits that remain are ranked again
by the search's kernel (:func:`~nps_id.search.ranking.without`: gap and isomer alert by compound
code), as a library without the compound would give them, and every library fact a rule uses
(isomers held, names) is asked of a :class:`~nps_id.match.library_facts.LibraryFacts` that treats the
compound as absent. A top hit is right when it is the query's compound by docs/compound-identity.md
(:func:`same_compound`; ``identified_wrong_skeleton``: by InChIKey first block).
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import zipfile
import zlib
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Callable, NoReturn

import numpy as np

from nps_id._atomic import atomic_output
from nps_id.chem.ewa_groups import classify
from nps_id.compound import record_relation
from nps_id.chem.formula import isotope_reach, nominal_mass
from nps_id.commands.options import refuse_output_onto_inputs
from nps_id.errors import EXIT_BAD_INPUT, EXIT_BAD_LIBRARY, LibraryError, NpsIdError
from nps_id.io import read
from nps_id.library import Library
from nps_id.match.assess import EVIDENCE_HITS, assess, assess_search, major_ions_present
from nps_id.match.group_model import GroupModel
from nps_id.match.isomer_rule import RATES_PATH, Rates, parse_rates
from nps_id.match.library_facts import LibraryFacts, group_label
from nps_id.match.molecular_mass import molecular_ion, nominal_spectrum
from nps_id.match.ranked_hit import ranked_hit
from nps_id.match.verdict import IDENTIFIED, Evidence, RuleId, VerdictThresholds, decide
from nps_id.search.engine import SearchSettings, search
from nps_id.search.prepared import formula_codes
from nps_id.search.reference import Reference
from nps_id.search.ranking import without
from nps_id.search.scores.base import kind_of, to_999
from nps_id.search.settings import Hits
from train_isomer_rates import LeaveOutRates, read_pairs

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: Hits kept per query: every candidate the search scores exactly (its prefilter), so that the
#: hits left when a compound is taken out are ranked, and their gap measured, as a search of the
#: library without it would (nps_id.search.ranking.without).
TOP = SearchSettings.prefilter
#: --baseline: evaluate the verdict rules as they were before the new-substance rules.
BASELINE = False


def block_of(spectrum) -> str:
    key = str(spectrum.get("inchikey") or "")[:14].upper()
    return key or "name:" + str(spectrum.get("name") or "").lower()


def fold_of(block: str, n_folds: int) -> int:
    """The cross-validation fold of a compound (its :func:`block_of`): the same in every run and
    for every spectrum of the compound, in any library (train_group_model.py)."""
    return int(hashlib.sha256(block.encode()).hexdigest()[:8], 16) % n_folds


def remeasured(spectra, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for s in spectra[::4]:
        noisy = s.intensity * rng.uniform(0.9, 1.1, s.intensity.size)
        out.append(s.replace(intensity=noisy.astype(np.float32)))
    return out


#: --details: one row per query and task (what the rules said), for analysis.
DETAILS: list | None = None
#: Every task, in the order they run (without --task).
TASKS = ("swgdrug-lco", "swgdrug-present", "massbank-ei-present", "massbank-ei-lco", "massbank-ei-absent",
         "massbank-ms2-present", "massbank-ms2-lco", "massbank-ms2-absent")
#: --cache: folder keeping each task's hits (npz, no pickle) so that rule changes re-run in seconds.
CACHE: Path | None = None
#: --group-folds: spectrum kind -> the suspected-group model per fold (train_group_model.py); each
#: query is assessed with the model of its compound's fold, which never saw the compound. None:
#: the shipped models.
GROUP_FOLDS: dict[str, list[GroupModel]] | None = None
#: --isomer-rates-loo: the shipped isomer rates less a left-out compound's own pairs; None: the shipped ones.
RATES_LOO: LeaveOutRates | None = None


@functools.lru_cache(maxsize=256)
def rates_without(dropped: frozenset[int]) -> Rates:
    """The isomer rate curves with the library pairs ``dropped`` taken out (RATES_LOO)."""
    return parse_rates(RATES_LOO.without(dropped))


def isomer_rates_of(owns: list[frozenset]) -> Callable[[int], Rates] | None:
    """Query position -> the isomer rates learned without its compound's pairs (--isomer-rates-loo)."""
    if RATES_LOO is None:
        return None
    return lambda q: rates_without(RATES_LOO.dropped(owns[q]))


def run_task(name, queries, reference, facts_all, leave_out: bool, variants: list[VerdictThresholds]) -> list[dict]:
    hits = searched(name, queries, reference)
    return [evaluate(name, queries, reference, facts_all, leave_out, t, hits) for t in variants]


def searched(name, queries, reference) -> Hits:
    """A task's hits: every scored candidate of each query (from --cache when there)."""
    cached = cache_file(name)
    if cached is not None and cached.exists():
        try:
            with np.load(cached, allow_pickle=False) as columns:
                hits = Hits(**columns)
        except (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            # a file cut short or another program's: one line, not a traceback; the shared cache is not rewritten
            _stop(f"--cache: {cached}: not a cache of search hits ({exc}); remove it to search again", EXIT_BAD_INPUT)
    else:
        # the search `nps-id search` makes (its defaults), keeping every scored candidate
        hits = search(queries, reference, SearchSettings(top_k=TOP, threads=2))
        if cached is not None:  # atomic: a killed run leaves no truncated cache for the next to load
            with atomic_output(cached, suffix=".npz") as tmp:
                np.savez(tmp, **{column: getattr(hits, column) for column in hits.__dataclass_fields__})
    return hits


def cache_file(task: str) -> Path | None:
    """Where --cache keeps a task's hits (a left-out task searches the present task's queries: one file)."""
    same_queries = task if task.startswith("swgdrug") else task.replace("-lco", "-present")
    return None if CACHE is None else CACHE / f"{same_queries}-top{TOP}.npz"


def own_group(query, own_rows, facts_all) -> str | None:
    """The query compound's EWA group or subclass label (its library record's, else its own
    name and structure's); None when it has none."""
    if own_rows.size:
        return facts_all.group(int(own_rows[0]))
    return group_label(classify(query.get("name"), smiles=query.get("smiles") or None,
                                inchikey=query.get("inchikey") or None))


def same_compound(query, candidates: np.ndarray, reference) -> set[int]:
    """The compound codes (the search's, :meth:`Reference.compound`) of the records among
    ``candidates`` that are the query's compound by the rule of docs/compound-identity.md, record
    by record: same, enantiomer, or nothing telling them apart; not a diastereomer or an isotope
    label. The truth a hit is judged by: the compound the search measures its gap against."""
    columns = reference.columns
    keys = ("inchikey", "name", "smiles", "structure_status", "synonyms")
    codes = reference.compound()
    record = {k: query.get(k) for k in keys}  # a query's structure is never verified: names and keys decide
    return {int(codes[r]) for r in candidates.tolist()
            if record_relation(record, {k: columns[k][r] for k in keys if k in columns})
            in ("same", "enantiomer", "neutral")}


def owned_blocks(queries, reference, facts_all) -> tuple[np.ndarray, list[frozenset]]:
    """Every library row's compound block, and each query's own blocks (what leaving it out removes)."""
    lib_blocks = np.array([facts_all.block(r) or "name:" + facts_all.name(r).lower() for r in range(reference.n_spectra)],
                          dtype=object)
    # a compound's duplicates: its InChIKey block, and records under its exact name whose structure
    # was encoded otherwise (a salt, a tautomer, a stereo form: MassBank's two "D-Xylulose")
    named: dict[str, set[str]] = {}
    for r in range(reference.n_spectra):
        named.setdefault(facts_all.name(r).strip().lower(), set()).add(lib_blocks[r])
    owns = [frozenset({block_of(query)} | named.get(str(query.get("name") or "").strip().lower(), set()))
            for query in queries]
    return lib_blocks, owns


def task_hits(hits, reference, lib_blocks, owns, leave_out: bool):
    """The hits the verdicts read: with the query's compound left out, those a library without it
    gives, ranked (gap, isomer alert) as the search does; else the first EVIDENCE_HITS."""
    if not leave_out:
        return hits.top(EVIDENCE_HITS)
    absent = np.array([lib_blocks[r] in owns[q] for q, r in zip(hits.query.tolist(), hits.row.tolist())], dtype=bool)
    return without(hits, ~absent, reference.compound(), formula_codes(reference.columns["formula"]),
                   EVIDENCE_HITS, SearchSettings.isomer_margin)


def evaluate(name, queries, reference, facts_all, leave_out: bool, t: VerdictThresholds, hits, *,
             owned: tuple[np.ndarray, list[frozenset]] | None = None, same: Callable = same_compound,
             facts_left_out: dict[int, frozenset[str]] | None = None) -> dict:
    """One task's counts (and DETAILS rows). bench_library_lco.py defines the compound its own way: ``owned`` (every
    row's compound and each query's, as :func:`owned_blocks` gives them), ``same`` (the truth, as :func:`same_compound`)
    and ``facts_left_out`` (a task without its compound left out: what each query's facts leave out all the same)."""
    lib_blocks, owns = owned if owned is not None else owned_blocks(queries, reference, facts_all)
    own_rows = [np.flatnonzero(np.isin(lib_blocks, list(own))) for own in owns]
    hits = task_hits(hits, reference, lib_blocks, owns, leave_out)
    kind = kind_of(queries[0])
    folds = None if GROUP_FOLDS is None else GROUP_FOLDS.get(kind)

    def group_model_of(q: int) -> GroupModel | None:
        return None if folds is None else folds[fold_of(block_of(queries[q]), len(folds))]

    # the verdict fields exactly as `nps-id search` computes them (its function, its hits)
    assessed = assess_search(queries, hits, reference, analog=False, thresholds=t, fields_only=True, facts=facts_all,
                             left_out=dict(enumerate(owns)) if leave_out else facts_left_out, group_model_of=group_model_of,
                             isomer_rates_of=isomer_rates_of(owns) if leave_out else None)
    starts = np.searchsorted(hits.query, np.arange(len(queries) + 1))
    counts: Counter = Counter()
    rules: Counter = Counter()
    wrong_examples = []
    for q, query in enumerate(queries):
        own = owns[q]
        facts = facts_all.excluding(own) if leave_out else facts_all
        counts["n"] += 1
        ranked = [ranked_hit(hits, j, kind, analog=False) for j in range(starts[q], starts[q + 1])]
        extra = {"major_ions": None, "n_ions": int(query.mz.size)} if kind == "ei" else {
            "precursor": (float(query.precursor_mz), str(query.get("ion_mode") or "positive").lower())}
        a = assessed.get(q)
        if a is None:  # no hit left (`nps-id search` prints no row; `match` calls it so)
            counts["no_hit"] += 1
            a = assess(query.mz, query.intensity, kind, [], facts, gap=None, isomer_alert=False, thresholds=t,
                       fields_only=True, group_model=group_model_of(q), **extra)
        gap = to_999(hits.gap[starts[q]]) if ranked else None
        if BASELINE:  # the verdict rules before issue 18: scores, gap, isomer alert, ions only
            top = ranked[0] if ranked else None
            if top is not None and kind == "ei":
                ref_mz, ref_int = reference.peaks.row(top.row)
                extra["major_ions"] = major_ions_present(query.mz, ref_mz, ref_int, t.major_ion_level,
                                                         (float(query.mz.min()), float(query.mz.max())))
            alert = bool(hits.isomer_alert[starts[q]]) if ranked else False
            a = replace(a, verdict=decide(Evidence(
                kind=kind, score=top.score if top else 0, mf=top.mf if top else 0, rmf=top.rmf if top else 0, gap=gap,
                isomer_alert=alert, **{k: v for k, v in extra.items() if k != "precursor"}), t), new_substance=False)
        verdict = a.verdict.verdict
        rules[a.verdict.rule.split(":")[0]] += 1
        # right: the top hit is the query's compound (docs/compound-identity.md), not merely its skeleton
        right = bool(ranked) and int(reference.compound()[ranked[0].row]) in same(query, own_rows[q], reference)
        counts["identified"] += verdict == IDENTIFIED
        counts["identified_right"] += verdict == IDENTIFIED and right
        counts["identified_skeleton"] += verdict == IDENTIFIED and bool(ranked) and lib_blocks[ranked[0].row] in own
        counts["new_substance"] += a.new_substance
        # the words: new_substance, or "isomer not excluded"; "flagged" also counts
        # "isomer ambiguity" (a library compound within the gap: the text says it may be a new one)
        strict = a.new_substance or a.verdict.rule_id == RuleId.ISOMER_NOT_EXCLUDED
        flagged = strict or a.verdict.rule_id == RuleId.ISOMER_AMBIGUITY
        counts["flagged"] += flagged
        counts["flagged_strict"] += strict
        true_mass = nominal_mass(query.get("formula"))
        if true_mass is not None:
            counts["mass_known"] += 1
            counts["mass_right"] += a.estimated_mass == true_mass
            # EI records whose spectrum the formula cannot explain (a significant ion above its
            # molecular-ion cluster: a TMS derivative filed under its parent's formula, a
            # deuterated or mixed sample) are counted apart as well
            ion = molecular_ion(nominal_spectrum(query.mz, query.intensity)) if kind == "ei" else None
            if ion is None or ion <= true_mass + isotope_reach(query.get("formula")):
                counts["mass_known_explained"] += 1
                counts["mass_right_explained"] += a.estimated_mass == true_mass
        if verdict == IDENTIFIED and not right and len(wrong_examples) < 25:
            wrong_examples.append(f"{query.get('name')} -> {facts.name(ranked[0].row)} ({a.verdict.rule})")
        truth = own_group(query, own_rows[q], facts_all) if leave_out else None
        if leave_out and truth is not None:
            counts["group_known"] += 1
            counts["group_right"] += a.suspected_group == truth
        # the held-back measure: flagged, and with the compound's own group (none: no group named)
        counts["flagged_right"] += flagged and a.suspected_group == truth
        counts["flagged_strict_right"] += strict and a.suspected_group == truth
        if DETAILS is not None:
            DETAILS.append([name, str(query.get("name")), facts.name(ranked[0].row) if ranked else "",
                            ranked[0].similarity if ranked else 0.0, verdict, a.verdict.rule.split(":")[0],
                            a.new_substance, a.suspected_group, truth, a.estimated_mass, true_mass, right,
                            facts.mass(ranked[0].row) if ranked else None, facts.ion(ranked[0].row) if ranked else None,
                            a.group_probability])
    n = counts["n"]
    row = {
        "task": name, "settings": settings_label(t), "queries": n,
        "identified": counts["identified"],
        "identified_wrong": counts["identified"] - counts["identified_right"],
        # the same judged by InChIKey first block (stop 27's truth: a diastereomer or labelled form right)
        "identified_wrong_skeleton": counts["identified"] - counts["identified_skeleton"],
        "no_hit": counts["no_hit"],
        "coverage": round(counts["identified_right"] / n, 3) if not leave_out else None,
        "precision": round(counts["identified_right"] / max(counts["identified"], 1), 3) if not leave_out else None,
        "flagged": round(counts["flagged"] / n, 3),
        "new_substance": round(counts["new_substance"] / n, 3),
        "group_right": round(counts["group_right"] / max(counts["group_known"], 1), 3) if leave_out else None,
        "flagged_group_right": round(counts["flagged_right"] / n, 3) if leave_out else None,
        "flagged_strict": round(counts["flagged_strict"] / n, 3),
        "flagged_strict_group_right": round(counts["flagged_strict_right"] / n, 3) if leave_out else None,
        "mass_right": round(counts["mass_right"] / max(counts["mass_known"], 1), 3),
        "mass_right_explained": round(counts["mass_right_explained"] / max(counts["mass_known_explained"], 1), 3),
        "mass_unexplained": counts["mass_known"] - counts["mass_known_explained"],
        "wrong_examples": wrong_examples,
        "rules": dict(rules.most_common()),
    }
    return row


def settings_label(t: VerdictThresholds) -> str:
    default = VerdictThresholds()
    changed = [f"{k}={v}" for k, v in t.to_dict().items() if v != getattr(default, k)]
    return ",".join(changed) or "defaults"


def variants_from(sweeps: list[str]) -> list[VerdictThresholds]:
    """``["isomer_min_rate=0.3,0.5", ...]`` -> every combination as thresholds."""
    import itertools

    axes = []
    for sweep in sweeps:
        key, values = sweep.split("=", 1)
        kind = type(getattr(VerdictThresholds(), key))
        # bool("False") is True: a switch is read by its name
        parse = (lambda v: {"true": True, "false": False}[v.lower()]) if kind is bool else kind
        axes.append([(key, parse(v)) for v in values.split(",")])
    return [VerdictThresholds(**dict(combo)) for combo in itertools.product(*axes)] if axes else [VerdictThresholds()]


def _fold_paths(folder: Path, kind: str) -> list[Path]:
    """``folder``'s ``fold-KIND-K.npz`` by K, which must run 0..n-1 (else :class:`~nps_id.errors.LibraryError`):
    a compound's model is ``fold_of(block, n)``'s, so a fold missing or left from another run put compounds
    in the model trained on them, and a name with K not a number stopped the bench with a traceback."""
    numbered = {}
    for path in folder.glob(f"fold-{kind}-*.npz"):
        k = path.name[len(f"fold-{kind}-"):-len(".npz")]
        if not k.isdecimal():
            raise LibraryError(f"{path}: not a fold model's name (fold-{kind}-K.npz, K a number)")
        numbered[int(k)] = path
    if sorted(numbered) != list(range(len(numbered))):
        raise LibraryError(f"{folder}: the {kind} fold models are numbered {sorted(numbered)}, not 0-{len(numbered) - 1}: "
                           f"with one missing or extra, compounds would be read by the models trained on them")
    return [numbered[k] for k in range(len(numbered))]


def group_folds(folder: Path, thresholds: dict[str, float | None]) -> dict[str, list[GroupModel]]:
    """The fold models (``fold-KIND-K.npz``) in ``folder`` per spectrum kind, each of that kind (a file of
    another raises :class:`~nps_id.errors.LibraryError`), each kind's abstention threshold set to
    ``thresholds[kind]`` (None: the one in the model files)."""
    out = {}
    for kind in ("ei", "ms2"):
        models = [GroupModel.load(path, kind) for path in _fold_paths(folder, kind)]  # an MS/MS model named ei: one line
        if thresholds.get(kind) is not None:
            models = [m.with_min_probability(thresholds[kind]) for m in models]
        if models:
            out[kind] = models
        else:
            print(f"note: no {kind} fold models in {folder}: {kind} groups from the shipped model", file=sys.stderr)
    return out


def load(path: Path):
    try:
        with Library.open(path) as lib:
            return Reference.from_library(lib), list(lib.spectra())
    except LibraryError as exc:  # a damaged library: one line, exit 4, not a traceback
        _stop(exc, exc.exit_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swgdrug", type=Path, required=True, help="SWGDRUG 3.4 nps-id library (with structures)")
    parser.add_argument("--massbank-ei", type=Path, required=True, help="MassBank EI nps-id library")
    parser.add_argument("--massbank-ms2", type=Path, default=None, help="MassBank MS/MS nps-id library (MS/MS tasks)")
    parser.add_argument("--task", action="append", default=None, help="only these tasks (repeatable)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--examples", action="store_true", help="print wrong identifications")
    parser.add_argument("--baseline", action="store_true",
                        help="the verdict rules before the new-substance rules (for the comparison table)")
    parser.add_argument("--sweep", action="append", default=[],
                        help="KEY=V1,V2: evaluate these VerdictThresholds values (repeatable; every combination)")
    parser.add_argument("--details", type=Path, default=None, help="write one TSV row per query and task")
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder for each task's search hits: re-runs with other rules skip the searches")
    parser.add_argument("--group-folds", type=Path, default=None,
                        help="folder of train_group_model.py's fold models (fold-KIND-K.npz, K 0..n-1 without a gap): each "
                             "query's group from the model that never saw its compound (without it: the shipped model, which did)")
    parser.add_argument("--group-min-probability", type=float, default=None,
                        help="the group models' abstention threshold (default: the one in the model files)")
    parser.add_argument("--group-min-probability-ms2", type=float, default=None,
                        help="the MS/MS group models' threshold apart from the EI ones' (default: "
                             "--group-min-probability, else the model files')")
    parser.add_argument("--isomer-rates-loo", type=Path, default=None, metavar="PAIRS",
                        help="the library pairs of train_isomer_rates.py --pairs-out: the left-out tasks read isomer "
                             "rates learned without their compound's own pairs (without it: the shipped rates, "
                             "which hold them)")
    args = parser.parse_args()
    global CACHE, DETAILS, GROUP_FOLDS, RATES_LOO
    # the fold models and the cached hits are read too: --details onto one replaced a model, or hours of searches
    inputs = [args.swgdrug, args.massbank_ei, args.massbank_ms2, args.isomer_rates_loo,
              *_files_in(args.group_folds), *_files_in(args.cache)]
    try:  # minutes of work, then --details onto the pairs file (a trainer's run), a library or the --json rows
        refuse_output_onto_inputs([args.details, args.json], inputs)
    except NpsIdError as exc:
        _stop(exc, exc.exit_code)
    if args.details and args.json and args.details.resolve() == args.json.resolve():  # the rows would replace the TSV
        _stop(f"{args.details}: is both --details and --json; give each its own file", EXIT_BAD_INPUT)
    if args.isomer_rates_loo is not None:
        try:
            RATES_LOO = LeaveOutRates(json.loads(RATES_PATH.read_text(encoding="utf-8")), read_pairs(args.isomer_rates_loo))
        except (OSError, ValueError) as exc:
            _stop(f"--isomer-rates-loo: {exc}", EXIT_BAD_INPUT)
    CACHE, DETAILS = args.cache, [] if args.details else None
    if args.group_folds is None:
        print("note: no --group-folds: groups from the shipped models, trained on these compounds", file=sys.stderr)
    elif not args.group_folds.is_dir():  # a mistyped folder read the shipped models, which saw every compound
        _stop(f"--group-folds: {args.group_folds}: no such folder", EXIT_BAD_INPUT)
    else:
        ms2 = args.group_min_probability if args.group_min_probability_ms2 is None else args.group_min_probability_ms2
        try:
            GROUP_FOLDS = group_folds(args.group_folds, {"ei": args.group_min_probability, "ms2": ms2})
        except LibraryError as exc:
            _stop(f"--group-folds: {exc}", exc.exit_code)
    variants = variants_from(args.sweep)
    global BASELINE
    BASELINE = args.baseline
    rows = []
    wanted = set(args.task or TASKS)
    # before the minutes of searches: an output that cannot be written was found only when it was written (stop 45);
    # a cache already filled is only read (the shared one is read-only)
    unfilled = [f for f in map(cache_file, sorted(wanted & set(TASKS))) if f is not None and not f.exists()]
    for option, path in (("--details", args.details), ("--json", args.json), ("--cache", next(iter(unfilled), None))):
        _check_writable(option, path)
    libraries = {"--swgdrug": (args.swgdrug, "swgdrug"), "--massbank-ei": (args.massbank_ei, "massbank-ei-"),
                 "--massbank-ms2": (args.massbank_ms2, "massbank-ms2-")}
    for option, (path, tasks) in libraries.items():  # the MassBank libraries were opened after the SWGDRUG tasks
        if path is not None and any(t.startswith(tasks) for t in wanted) and not path.is_file():
            _stop(f"{option}: {path}: no such library file", EXIT_BAD_LIBRARY)
    if wanted & {"swgdrug-lco", "swgdrug-present"}:
        reference, spectra = load(args.swgdrug)
        facts = LibraryFacts(reference)
        if "swgdrug-lco" in wanted:
            rows += run_task("swgdrug-lco", spectra, reference, facts, True, variants)
        if "swgdrug-present" in wanted:
            rows += run_task("swgdrug-present", remeasured(spectra), reference, facts, False, variants)
    for kind, path in (("ei", args.massbank_ei), ("ms2", args.massbank_ms2)):
        tasks = {f"massbank-{kind}-{t}" for t in ("present", "lco", "absent")} & wanted
        if path is None or not tasks:
            continue
        reference, _ = load(path)
        facts = LibraryFacts(reference)
        identity = list(read(DATA / "massbank" / f"{kind}-queries-identity.msp.gz"))
        if f"massbank-{kind}-present" in tasks:
            rows += run_task(f"massbank-{kind}-present", identity, reference, facts, False, variants)
        if f"massbank-{kind}-lco" in tasks:
            rows += run_task(f"massbank-{kind}-lco", identity, reference, facts, True, variants)
        if f"massbank-{kind}-absent" in tasks:
            absent = list(read(DATA / "massbank" / f"{kind}-queries-analog.msp.gz"))
            rows += run_task(f"massbank-{kind}-absent", absent, reference, facts, True, variants)
    keys = ["task", "settings", "queries", "identified", "identified_wrong", "coverage", "precision", "flagged",
            "new_substance", "group_right", "flagged_group_right", "mass_right", "mass_right_explained",
            "mass_unexplained", "flagged_strict", "flagged_strict_group_right", "identified_wrong_skeleton", "no_hit"]
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join("-" if row[k] is None else str(row[k]) for k in keys))
        if args.examples:
            for example in row["wrong_examples"]:
                print("    wrong:", example)
            for rule, count in row["rules"].items():
                print(f"    {count:5d}  {rule}")
    if args.details:
        header = ["task", "query", "top_hit", "similarity", "verdict", "rule", "new_substance", "suspected_group",
                  "own_group", "estimated_mass", "mass", "top_hit_right", "top_hit_mass", "top_hit_ion",
                  "suspected_group_probability"]
        _write(args.details, "\n".join("\t".join(map(str, r)) for r in [header] + DETAILS) + "\n")
    if args.json:
        _write(args.json, json.dumps(rows, indent=1) + "\n")


def _files_in(folder: Path | None) -> list[Path]:
    """The files a folder option's folder holds (none when not given or not a folder)."""
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder is not None and folder.is_dir() else []


class _Probe(Exception):
    """Raised inside :func:`atomic_output` to leave it before its rename: :func:`_check_writable`."""


def _check_writable(option: str, path: Path | None) -> None:
    """Stop (one line, exit 3) unless ``path`` can be written as :func:`_write` will: through the atomic writer,
    left before its rename, so its folder and temporary are tried and nothing is replaced."""
    if path is None:
        return
    if path.is_dir():
        _stop(f"{option}: {path}: is a folder; name a file", EXIT_BAD_INPUT)
    try:
        with atomic_output(path):
            raise _Probe
    except _Probe:
        pass
    except NpsIdError as exc:
        _stop(f"{option}: {exc}", exc.exit_code)


def _write(path: Path, text: str) -> None:
    """Write an output atomically (a killed run leaves the previous file whole); no room is one line, exit 3."""
    try:
        with atomic_output(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except NpsIdError as exc:
        _stop(exc, exc.exit_code)


def _stop(message: object, code: int) -> NoReturn:
    """One line on stderr and the project's exit code (3 bad input, 4 bad library or model; README "Exit codes"):
    ``SystemExit(message)`` exits 1, which the project keeps for a found match or a failed item."""
    print(f"bench_novelty: error: {message}", file=sys.stderr)
    raise SystemExit(code)


if __name__ == "__main__":
    main()

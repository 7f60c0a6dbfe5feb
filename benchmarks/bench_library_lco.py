"""Library-wide leave-compound-out: the wrong-``identified`` rate of absent compounds on the library's own records.

The dev bench (``bench_novelty.py``) measures absent compounds on a few hundred queries, all of them studied. This
bench asks the same of every record of a library (MassBank EI: 11,050) or of a seeded sample of it (MassBank MS/MS:
one record per compound and instrument type, then ``--sample`` of those), each searched once against the whole
library with every scored candidate kept, then judged two ways with ``bench_novelty``'s own verdict path
(:func:`bench_novelty.evaluate`: ``nps-id search``'s :func:`~nps_id.match.assess.assess_search`, its group fold
models, its leave-out isomer rates):

The compound (:func:`identities`, since stop 51): a record's InChIKey first block, as the dev bench's; for a record
without one, the first block of the structure the library build resolved from its name (OPSIN, stored unverified), else
its name normalised without stereo words (:func:`name_key`). Stop 50 took a record without an InChIKey by its exact
name alone, so its compound stayed in the library under another name ("OCTANOIC ACID METHYL ESTER" beside "METHYL
CAPRYLATE") and its hit was counted wrong.

- ``lco``: the record's compound left out (every record of it, and every record under its name: :func:`owned`);
  any ``identified`` is wrong. Counts: wrong identified, flagged (``new_substance`` or "isomer not excluded" /
  "isomer ambiguity"), flagged with the right group, mass right.
- ``present``: only the record itself left out, from the hits and from the verdict's library facts
  (:class:`RecordFacts`: its compound's records and name, its formula's records and pairs), the compound's other
  records (other laboratories, instruments, energies) kept -- the nearest shared analogue of the held-back
  "replicates" check. Coverage and precision among the records whose compound has another record that is the same
  compound (:func:`same_compound`: docs/compound-identity.md's relation where both records have an InChIKey, else
  the compound above); the others are counted apart (their compound is absent after all).

Each count is printed as k of n with its Wilson 95 % interval, over all queries and over those whose compound is
not a dev bench query's (``../shared/data``'s MassBank queries of the kind and, with ``--swgdrug``, the SWGDRUG
records, by :func:`bench_novelty.block_of`): compounds no stop has looked at.

    PYTHONPATH=. python benchmarks/bench_library_lco.py --library /work/libs/mbei.h5 --cache DIR \\
        --group-folds DIR [--isomer-rates-loo PAIRS] [--sample N --seed S] [--details OUT.tsv]

Both tasks read the shipped group and isomer models unless ``--group-folds`` / ``--isomer-rates-loo`` are given (the
fold models never saw the compound; the leave-out rates drop the compound's own library pairs; present reads the
shipped rates).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from scipy.stats import binomtest

import bench_novelty as bn  # benchmarks share helpers
from nps_id.compound import is_labelled, normalise_name, skeleton
from nps_id.io import read
from nps_id.match.assess import EVIDENCE_HITS
from nps_id.match.isomer_rule import RATES_PATH
from nps_id.match.library_facts import LibraryFacts
from nps_id.match.verdict import IDENTIFIED, VerdictThresholds
from nps_id.search.engine import SearchSettings
from nps_id.search.prepared import formula_codes
from nps_id.search.ranking import without
from nps_id.search.scores.base import kind_of
from train_isomer_rates import LeaveOutRates, read_pairs

#: The rules' texts that flag a query (bench_novelty's ``flagged``: besides ``new_substance``).
FLAG_RULES = ("isomer not excluded", "isomer ambiguity")
#: What ``--help`` ends with: the commands of benchmarks/README.md "Stop 50 (branch wide50)", and how to read the lines.
EPILOG = """\
examples (from the checkout's root; the group folds of train_group_model.py, the pairs of train_isomer_rates.py):
  python benchmarks/bench_library_lco.py --library mbms2.h5 --sample 300 --cache cache/ --group-folds folds/
  python benchmarks/bench_library_lco.py --library mbei.h5 --swgdrug swg.h5 --cache cache/ --group-folds folds/ \\
      --isomer-rates-loo pairs.tsv --task lco --details ei_loo.tsv      # every record: ~6 min, 2 cores

output: one line per task and subset ("all"; "not dev": compounds no dev bench query holds), each count k/n, its
share and its Wilson 95 % interval. lco: "identified (wrong)" is how often an absent compound is named as another.
present: coverage and precision over the queries whose compound has another record; the ones without are
counted apart. Reads the dev bench's queries from ../shared/data beside the checkout. Exit codes: 3 bad input,
4 bad library (one line on stderr)."""
#: Extra details columns after bench_novelty's.
EXTRA = ["library_row", "instrument_type", "in_dev", "replicate"]


def sample_rows(spectra, size: int | None, seed: int) -> np.ndarray:
    """The library rows queried (those with a precursor m/z when MS/MS): all (``size`` None), else one seeded record
    per compound (block) and instrument type, then ``size`` of those groups drawn with the same seed; sorted."""
    # an MS/MS record without a precursor m/z is no query `nps-id search` takes (the MS/MS score reads it)
    queryable = [r for r, s in enumerate(spectra) if s.get("ms_level") != 2 or s.get("precursor_mz") is not None]
    if size is None:
        return np.array(queryable, dtype=np.int64)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in queryable:
        s = spectra[r]
        groups[(bn.block_of(s), str(s.get("instrument_type") or ""))].append(r)
    rng = np.random.default_rng(seed)
    picked = [rows[int(rng.integers(len(rows)))] for _, rows in sorted(groups.items())]
    if size < len(picked):
        picked = [picked[i] for i in rng.choice(len(picked), size, replace=False)]
    return np.array(sorted(picked), dtype=np.int64)


#: A parenthesised stereo or optical descriptor, or a leading D-, L-, DL-, rac-: a name without them names the compound
#: at the InChIKey first block's level, the level the bench leaves compounds out at ("(1R)-(-)-MYRTENOL" is MYRTENOL).
#: Within the brackets: locants, and at least one of R S E Z + - ± D L (+/-). One character class, not nested
#: repeats: attack51 found "(R,1R,1R,..." left unclosed (a name cut short) took seconds per 14 descriptors, doubling
#: with each (the same keys for all 22,557 names of the three libraries).
STEREO_WORDS = re.compile(r"\((?=[^()]*[^\d,\s()])(?:[\d,\srsez+±dl-]|\+/-)+\)-?|^(?:dl|d|l|rac)-")
#: How a row's compound is known (:func:`identities`), in the order tried.
PATHS = ("InChIKey", "the library's structure", "name", "nothing (the record alone)")


def name_key(name: object) -> str:
    """A name as records without a structure are compared: normalised (:func:`nps_id.compound.normalise_name`), its
    stereo and optical descriptors dropped."""
    return STEREO_WORDS.sub("", normalise_name(str(name or ""))).strip(" -")


def identities(reference) -> tuple[np.ndarray, Counter]:
    """Every library row's compound as this bench defines it, and how many rows each of :data:`PATHS` names: its
    InChIKey first block (as the dev bench); else the first block of the structure the library build resolved for it
    (its SMILES: OPSIN's reading of the name, unverified -- MassBank's "OCTANOIC ACID METHYL ESTER" has no InChIKey, its
    structure is METHYL CAPRYLATE's); else ``name:`` and its :func:`name_key`; else (no name either) ``alone:ROW``, a
    compound of its own: left out, only the record goes; present, it has no other record."""
    from rdkit import Chem, rdBase

    columns = reference.columns
    out = np.empty(reference.n_spectra, dtype=object)
    paths: Counter = Counter()
    for r in range(reference.n_spectra):
        block, path = skeleton(columns["inchikey"][r]), PATHS[0]
        if not block and columns["smiles"][r]:
            with rdBase.BlockLogs():  # a structure that does not read is expected, unsaid
                mol = Chem.MolFromSmiles(str(columns["smiles"][r]))
                block, path = (skeleton(Chem.MolToInchiKey(mol)) if mol is not None else ""), PATHS[1]
        if not block and name_key(columns["name"][r]):
            block, path = "name:" + name_key(columns["name"][r]), PATHS[2]
        if not block:
            block, path = f"alone:{r}", PATHS[3]
        out[r] = block
        paths[path] += 1
    return out, paths


def owned(rows: np.ndarray, reference, ident: np.ndarray) -> list[frozenset]:
    """Per query (its library row): the compounds leaving it out removes -- its own (:func:`identities`) and those of
    every record under its name (:func:`name_key`: the dev bench's same name, written with or without stereo words)."""
    by_name: dict[str, set[str]] = defaultdict(set)
    names = [name_key(n) for n in reference.columns["name"]]
    for r, key in enumerate(names):
        by_name[key].add(ident[r])
    return [frozenset({ident[r]} | (by_name[names[r]] if names[r] else set())) for r in rows.tolist()]


def same_compound(query, candidates: np.ndarray, reference) -> set[int]:
    """The truth a top hit is judged by: the dev bench's (:func:`bench_novelty.same_compound`: the records' relation),
    and where the query record or a candidate has no InChIKey (its relation reads names only: "2-HYDROXY-6-
    METHOXYACETOPHENONE" and "2'-HYDROXY-6'-METHOXYACETOPHENONE" are unrelated to it) every candidate of the query's
    compound (:func:`owned`'s rows), by first block."""
    if not candidates.size:
        return set()
    codes = reference.compound()
    keyed = np.asarray([bool(k) for k in reference.columns["inchikey"][candidates]], dtype=bool)
    alike = candidates if not query.get("inchikey") else candidates[~keyed]
    return bn.same_compound(query, candidates, reference) | {int(codes[r]) for r in alike.tolist()}


#: The present task's facts leave out the query record: ``record:ROW`` among the blocks :class:`RecordFacts` is told.
RECORD = "record:"


class RecordFacts(LibraryFacts):
    """Library facts whose :meth:`excluding` also takes ``record:ROW``: the view holds no trace of that record (the
    present task's query) -- not among its compound's rows, its formula's rows, its compound's name, the library's
    pairs of its formula (computed again without it), and with its compound left out when it was its only record.
    Not followed: the group scan's lightest compound of a group when the record has no InChIKey, and the compound
    codes and their count (the library's)."""
    dropped: int | None = None

    def excluding(self, blocks: frozenset[str]) -> "RecordFacts":
        view = object.__new__(RecordFacts)
        view.__dict__.update(self.__dict__)
        records = [int(b[len(RECORD):]) for b in blocks if b.startswith(RECORD)]
        keep = {b for b in blocks if not b.startswith(RECORD)}
        view.dropped = records[0] if records else None
        if view.dropped is not None:
            block = self.block(view.dropped)
            if block and self.rows_of_block(block) == [view.dropped]:  # its only record: the compound goes with it
                keep.add(block)
        view.excluded = frozenset(keep)
        view._without: dict[tuple, Any] = {}
        return view

    def _drops(self, formula: str) -> bool:
        return self.dropped is not None and self.formula(self.dropped) == formula

    def rows_of_block(self, block: str) -> list[int]:
        return [r for r in super().rows_of_block(block) if r != self.dropped]

    def rows_of_formula(self, formula: str) -> list[int]:
        return [r for r in super().rows_of_formula(formula) if r != self.dropped]

    def name_of_block(self, block: str) -> str | None:
        if self.dropped is None or block != self.block(self.dropped) or block in self.excluded:
            return super().name_of_block(block)
        cols = self.reference.columns  # the first row of the block not labelled, as LibraryFacts', the record apart
        return next((str(cols["name"][r]) for r in self.rows_of_block(block)
                     if not is_labelled(cols["name"][r], cols["formula"][r], cols["smiles"][r])), None)

    def of_row(self, what: str, row: int, make) -> Any:
        return self._cached(what, (row, self.excluded, self.dropped), lambda _: make(row), persist=False)

    def ms2_pairs(self, row: int) -> dict[str, tuple[int, int]]:
        if not self._drops(self.formula(row)):
            return super().ms2_pairs(row)
        return self._once(("ms2_pairs", row), lambda: self._pairs(row, None))

    def ei_pairs(self, row: int, min_rmf: int) -> dict[str, tuple[int, int]]:
        if not self._drops(self.formula(row)):
            return super().ei_pairs(row, min_rmf)
        return self._once(("ei_pairs", row, min_rmf), lambda: self._pairs(row, min_rmf))

    def formula_records(self, formula: str, mode: str) -> list:
        if not self._drops(formula):
            return super().formula_records(formula, mode)
        return self._once(("formula_records", formula), lambda: self._formula_records(formula)).get(mode, [])

    def _once(self, key: tuple, make) -> Any:
        """``make()`` once per view (the shared caches hold the whole library's values)."""
        if key not in self._without:
            self._without[key] = make()
        return self._without[key]


def dev_blocks(kind: str, swgdrug: Path | None) -> set[str]:
    """The compounds (blocks) of the dev bench's queries of ``kind``, and of the SWGDRUG records when given."""
    blocks = set()
    for which in ("identity", "analog"):
        blocks |= {bn.block_of(s) for s in read(bn.DATA / "massbank" / f"{kind}-queries-{which}.msp.gz")}
    if swgdrug is not None:
        blocks |= {bn.block_of(s) for s in bn.load(swgdrug)[1]}
    return blocks


def present_hits(hits, reference, rows: np.ndarray):
    """The hits a library without the query's own record gives (the compound's other records kept), ranked again."""
    own = rows[np.asarray(hits.query, dtype=np.int64)]
    return without(hits, np.asarray(hits.row) != own, reference.compound(), formula_codes(reference.columns["formula"]),
                   EVIDENCE_HITS, SearchSettings.isomer_margin)


def replicated(queries, rows: np.ndarray, reference, lib_blocks: np.ndarray, owns: list[frozenset]) -> np.ndarray:
    """Per query: the library holds another record that is its compound (:func:`same_compound`), besides itself."""
    out = np.zeros(len(queries), dtype=bool)
    for q, query in enumerate(queries):
        others = np.flatnonzero(np.isin(lib_blocks, list(owns[q])))
        out[q] = bool(same_compound(query, others[others != rows[q]], reference))
    return out


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score 95 % interval of k of n (scipy's); (0, 1) for n = 0, where scipy refuses."""
    if n == 0:
        return 0.0, 1.0
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


def share(k: int, n: int) -> str:
    low, high = wilson(k, n)
    return f"{k}/{n} {k / max(n, 1):.3f} [{low:.3f}, {high:.3f}]"


def summary(task: str, rows: list[list]) -> list[str]:
    """The table lines of one task's details rows (bench_novelty's columns + EXTRA), all and without dev compounds."""
    col = {name: i for i, name in enumerate(HEADER)}
    lines = []
    for subset, keep in (("all", lambda r: True), ("not dev", lambda r: not r[col["in_dev"]])):
        if task == "present":
            chosen = [r for r in rows if keep(r) and r[col["replicate"]]]
        else:
            chosen = [r for r in rows if keep(r)]
        n = len(chosen)
        ident = [r for r in chosen if r[col["verdict"]] == IDENTIFIED]
        wrong = sum(not r[col["top_hit_right"]] for r in ident)
        flagged = [r for r in chosen if r[col["new_substance"]] or r[col["rule"]] in FLAG_RULES]
        group_right = sum(r[col["suspected_group"]] == r[col["own_group"]] for r in flagged)
        known = [r for r in chosen if r[col["mass"]] is not None]
        mass_right = sum(r[col["estimated_mass"]] == r[col["mass"]] for r in known)
        if task == "present":
            right = len(ident) - wrong
            lines.append(f"{task} {subset}: queries {n}; identified {len(ident)} (wrong {wrong}: {share(wrong, len(ident))}); "
                         f"coverage {share(right, n)}; precision {share(right, len(ident))}; "
                         f"new_substance {share(sum(bool(r[col['new_substance']]) for r in chosen), n)}")
            alone = [r for r in rows if keep(r) and not r[col["replicate"]]]
            alone_wrong = sum(r[col["verdict"]] == IDENTIFIED and not r[col["top_hit_right"]] for r in alone)
            lines.append(f"    (no other record of the compound: {len(alone)}, identified as another {share(alone_wrong, len(alone))})")
        else:
            lines.append(f"{task} {subset}: queries {n}; identified (wrong) {share(wrong, n)}; flagged {share(len(flagged), n)}; "
                         f"flagged with the right group {share(group_right, n)}; mass right {share(mass_right, len(known))}")
    return lines


HEADER = ["task", "query", "top_hit", "similarity", "verdict", "rule", "new_substance", "suspected_group",
          "own_group", "estimated_mass", "mass", "top_hit_right", "top_hit_mass", "top_hit_ion",
          "suspected_group_probability"] + EXTRA


def run(task: str, queries, rows, reference, facts, hits, extra: list[tuple], t: VerdictThresholds,
        compounds: tuple[np.ndarray, list[frozenset]]) -> list[list]:
    """One task's details rows (bench_novelty.evaluate's, with EXTRA): the compound as :func:`identities` and
    :func:`owned` define it, judged by :func:`same_compound`; present: each query's facts without its record."""
    bn.DETAILS = []
    if task == "lco":
        bn.evaluate("library-lco", queries, reference, facts, True, t, hits, owned=compounds, same=same_compound)
    else:
        record_out = {q: frozenset({f"{RECORD}{r}"}) for q, r in enumerate(rows.tolist())}
        bn.evaluate("library-present", queries, reference, facts, False, t, present_hits(hits, reference, rows),
                    owned=compounds, same=same_compound, facts_left_out=record_out)
    out = [[task, *row[1:], *more] for row, more in zip(bn.DETAILS, extra)]
    bn.DETAILS = None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=Path, required=True, help="an nps-id library built with structures; every record is a query (or --sample's)")
    parser.add_argument("--swgdrug", type=Path, default=None, help="SWGDRUG library: its compounds count as dev ones too")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="query one seeded record per compound and instrument type, N of them (default: every record;"
                             " 300 of MassBank MS/MS: ~35 s)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0; another seed, another sample)")
    parser.add_argument("--task", choices=("lco", "present"), action="append", default=None,
                        help="lco: the query's compound left out, any identified is wrong; present: only the query record"
                             " left out, its compound's other records kept (repeatable; default: both)")
    parser.add_argument("--cache", type=Path, default=None, help="folder keeping the sample's search hits (npz): a re-run with other rules or rates skips the search")
    parser.add_argument("--group-folds", type=Path, default=None, help="bench_novelty.py's --group-folds: each query's group named by the fold model that never saw its compound"
                             " (default: the shipped group model, which did)")
    parser.add_argument("--isomer-rates-loo", type=Path, default=None, metavar="PAIRS",
                        help="bench_novelty.py's: the lco task reads isomer rates without the compound's own pairs (present: the shipped"
                             " ones always)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a VerdictThresholds value other than the default (repeatable): a lever measured, not shipped")
    parser.add_argument("--details", type=Path, default=None, help="one TSV row per query and task (bench_novelty.py's columns and library_row, instrument_type, in_dev, replicate)")
    args = parser.parse_args()
    bn._stop = _stop  # bench_novelty's checks and writes stop in this script's name
    inputs = [args.library, args.swgdrug, args.isomer_rates_loo, *bn._files_in(args.group_folds), *bn._files_in(args.cache)]
    try:
        bn.refuse_output_onto_inputs([args.details], inputs)
    except bn.NpsIdError as exc:
        _stop(exc, exc.exit_code)
    bn._check_writable("--details", args.details)
    if args.sample is not None and args.sample < 1:
        _stop(f"--sample: {args.sample}: give a positive number of queries", bn.EXIT_BAD_INPUT)
    if args.seed < 0:  # numpy's generator takes none: its traceback came after the library's load
        _stop(f"--seed: {args.seed}: give a number 0 or above", bn.EXIT_BAD_INPUT)
    try:
        (thresholds,) = bn.variants_from(args.set)
    except (ValueError, TypeError, KeyError, AttributeError):
        _stop(f"--set: {' '.join(args.set)}: not KEY=VALUE of one VerdictThresholds field each", bn.EXIT_BAD_INPUT)
    if not args.library.is_file():
        _stop(f"--library: {args.library}: no such library file", bn.EXIT_BAD_LIBRARY)
    if args.isomer_rates_loo is not None:
        try:
            bn.RATES_LOO = LeaveOutRates(json.loads(RATES_PATH.read_text(encoding="utf-8")), read_pairs(args.isomer_rates_loo))
        except (OSError, ValueError) as exc:
            _stop(f"--isomer-rates-loo: {exc}", bn.EXIT_BAD_INPUT)
    if args.group_folds is not None:
        if not args.group_folds.is_dir():
            _stop(f"--group-folds: {args.group_folds}: no such folder", bn.EXIT_BAD_INPUT)
        try:
            bn.GROUP_FOLDS = bn.group_folds(args.group_folds, {})
        except bn.LibraryError as exc:
            _stop(f"--group-folds: {exc}", exc.exit_code)
    reference, spectra = bn.load(args.library)
    rows = sample_rows(spectra, args.sample, args.seed)
    if not rows.size:  # (MS/MS records without a precursor m/z only): nothing to measure, and no kind to read
        _stop(f"--library: {args.library}: no record `nps-id search` takes as a query (an MS/MS one needs its "
              "precursor m/z)", bn.EXIT_BAD_INPUT)
    queries = [spectra[r] for r in rows.tolist()]
    kind = kind_of(queries[0])
    try:  # before the search (minutes): the dev queries are read from ../shared/data beside the checkout
        dev = dev_blocks(kind, args.swgdrug)
    except bn.NpsIdError as exc:
        _stop(f"the dev bench's queries (to tell 'not dev' compounds): {exc}", exc.exit_code)
    # the cache file names the library and the sample: another sample never reads these hits
    label = hashlib.sha256(f"{reference.sha256}:{rows.tobytes().hex()}".encode()).hexdigest()[:12]
    if args.cache is not None:
        try:  # a file of that name, or no right to make it: one line, not a traceback
            args.cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _stop(f"--cache: {args.cache}: cannot be made a folder ({exc.strerror or exc})", bn.EXIT_BAD_INPUT)
    bn.CACHE = args.cache  # its file: CACHE / "library-STEM-LABEL-top200.npz" (bench_novelty.cache_file)
    name = f"library-{args.library.stem}-{label}"
    cached = bn.cache_file(name)
    if cached is not None and not cached.exists():  # before the search (minutes), as bench_novelty tries its cache
        bn._check_writable("--cache", cached)
    hits = bn.searched(name, queries, reference)
    facts = RecordFacts(reference)
    ident, paths = identities(reference)
    compounds = (ident, owned(rows, reference, ident))
    replicate = replicated(queries, rows, reference, *compounds)
    extra = [(int(r), str(q.get("instrument_type") or ""), bn.block_of(q) in dev, bool(rep))
             for r, q, rep in zip(rows.tolist(), queries, replicate)]
    details = []
    print(f"{args.library}: {len(queries)} queries of {len(spectra)} records ({kind}); "
          f"{sum(e[2] for e in extra)} of dev compounds; {int(replicate.sum())} with another record of their compound;"
          f" isomer rates: {'leave-out ' + str(args.isomer_rates_loo) if bn.RATES_LOO else 'shipped'};"
          f" thresholds: {bn.settings_label(thresholds)}")
    print("the library's compounds by " + ", ".join(f"{p}: {paths[p]} records" for p in PATHS))
    for task in args.task or ("lco", "present"):
        rows_out = run(task, queries, rows, reference, facts, hits, extra, thresholds, compounds)
        details += rows_out
        print("\n".join(summary(task, rows_out)))
        sys.stdout.flush()
    if args.details:
        bn._write(args.details, "\n".join("\t".join(map(str, r)) for r in [HEADER] + details) + "\n")


def _stop(message: object, code: int) -> NoReturn:
    """One line on stderr and the project's exit code (3 bad input, 4 bad library), as bench_novelty's."""
    print(f"bench_library_lco: error: {message}", file=sys.stderr)
    raise SystemExit(code)


if __name__ == "__main__":
    main()

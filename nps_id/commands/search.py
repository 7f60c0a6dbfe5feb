"""``nps-id search``: rank a reference library for every spectrum of a file.

The command reads the queries (any format :func:`nps_id.io.read` knows), opens the library,
calls :func:`nps_id.search.engine.search` and writes one row per query and rank as TSV (NIST
MSPepSearch column names), CSV or JSON lines. Column contract and defaults: ``docs/search.md``.
"""
from __future__ import annotations

import csv
import io
import json
import math
import pickle
import sys
from dataclasses import dataclass, field
from functools import partial
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Iterator

import click

from nps_id._cores import USABLE_CORES, USABLE_CORES_MEANING
from nps_id.commands.options import (
    TOLERANCE, EvidenceHitsHelp, ScoreChoice, lenient_option, library_option, refuse_output_onto_inputs,
    resolve_library,
)

_EPILOG = """\b
Examples:
  nps-id search unknowns.msp --library swgdrug.h5 --top 5
  nps-id search queries.mgf -l massbank-ms2.h5 --precursor-tolerance "10 ppm" --format jsonl -o hits.jsonl
  nps-id search unknowns.msp -l swgdrug.h5 --mode analog --top 10 -o analogues.tsv

\b
The two mass columns (docs/search.md, "DeltaMass and EstimatedMass"):
  DeltaMass      per row, Da: the query's mass MINUS the hit's, so positive when the query
                 is heavier. MS/MS: query precursor m/z minus hit precursor m/z. EI (analog
                 mode only; empty in identity mode): the query's apparent molecular ion minus
                 the hit's, each the highest nominal m/z at >= 2 % of its own base peak.
  EstimatedMass  per query (the same on all its rows), Da: the query's own estimated nominal
                 molecular mass -- not the hit's, not a difference; inferred, not measured.
                 EI: from its spectrum and its closest hits, the best candidates re-read by a
                 learned model (docs/match.md), so it may differ from the apparent
                 molecular ion DeltaMass uses; MS/MS: precursor m/z minus a proton (negative
                 ions: plus), as if the precursor were [M+H]+ / [M-H]-.

\b
SuspectedGroupProbability (the last column), per query, 0-1: the learned group model's
  probability of SuspectedGroup (named from 0.56 EI, 0.6 MS/MS): the model's confidence,
  not a measured rate (docs/match.md, "New substances": rates per band); empty when no
  model named the group (the compound's own, the closest hits' vote, a diagnostic-ion rule).

\b
held_by (JSON lines only, the last key), per query: what an "isomer not excluded" verdict
  cannot exclude besides the hit -- isomer, injector_relative, heavier_compound,
  other_formula, homologue (docs/match.md, "Verdicts"); [] when nothing held it. VerdictRule keeps the
  rule's name "isomer not excluded" whichever held it (a heavier compound alone, a GC injector
  relative or a chain homologue is no isomer): read held_by, not the words. TSV / CSV have no such
  column (their last stays SuspectedGroupProbability); their VerdictRule says it in words.
"""

#: Machine column names (CSV, JSON lines) and the NIST MSPepSearch names used in TSV.
COLUMNS: dict[str, str] = {
    "query": "Query",
    "query_name": "Unknown",
    "rank": "Rank",
    "library_id": "Id",
    "name": "Name",
    "inchikey": "InChIKey",
    "formula": "Formula",
    "score": "Score",
    "mf": "MF",
    "rmf": "R.Match",
    "delta_mass": "DeltaMass",
    "gap": "Gap",
    "isomer_alert": "IsomerAlert",
    "library_row": "LibRow",
    "similarity": "Similarity",
    "delta_mass_match": "DeltaMassMatch",
    "smiles": "SMILES",
    "structure_source": "StructureSource",
    "stereo_note": "StereoNote",
    "verdict": "Verdict",
    "verdict_rule": "VerdictRule",
    "new_substance": "NewSubstance",
    "suspected_group": "SuspectedGroup",
    "estimated_mass": "EstimatedMass",
    "analogue_confidence": "AnalogueConfidence",
    "suspected_group_probability": "SuspectedGroupProbability",
}
#: JSON lines keys after :data:`COLUMNS`, per query: not in TSV / CSV, whose last column scripts read by
#: position (SuspectedGroupProbability, docs/search.md) and whose cells hold no list.
JSONL_ONLY = ("held_by",)



class SettingsOption(click.Option):
    """An option whose default is the :class:`~nps_id.search.settings.SearchSettings` field of
    its name: search defaults are set once, in the settings. Read when click needs it (help, or
    an option not given): the settings load numba, and ``nps-id --help`` must stay instant."""

    def get_default(self, ctx: click.Context, call: bool = True) -> Any:
        from nps_id.search.settings import SearchSettings

        value = getattr(SearchSettings(), self.name)
        return value if isinstance(value, (bool, int, float, str)) else str(value)  # a Tolerance as typed


class TopOption(EvidenceHitsHelp, SettingsOption):
    """``--top``: a search setting whose help names the hits the verdict columns read."""


@click.command("search", epilog=_EPILOG)
@click.argument("queries", type=click.Path(exists=True, path_type=Path))
@library_option
@click.option("--top", "top_k", cls=TopOption, type=click.IntRange(min=1), show_default=True,
              help="Hits printed per query (the verdict, mass and group columns read at least {evidence_hits}).")
@click.option("--mode", cls=SettingsOption, type=click.Choice(["identity", "analog"]), show_default=True,
              help="identity: the same compound; analog: related structures (fragments matched directly "
              "or shifted by the precursor / molecular-ion mass difference). In analog rows Score (0-1) is the "
              "analogue score that ranks the hits, Similarity (0-1) the shifted-fragment spectral score it "
              "starts from, and MF / R.Match (0-999) the plain EI match factors of the same pair, unshifted, "
              "as identity mode gives them: a low MF beside a high Score is what a relative looks like.")
@click.option("--score", type=ScoreChoice(), default=None, show_default="by mode and spectrum kind",
              help="Exact score, from the score registry (docs/scores.md lists which spectrum kinds and modes each "
                   "serves); spectra of a kind it does not serve get their default.")
@click.option("--format", "fmt", type=click.Choice(["tsv", "csv", "jsonl"]), default="tsv", show_default=True,
              help="Output format (TSV uses NIST MSPepSearch column names; jsonl ends each row with held_by).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path), default=None,
              help="Output file (written atomically); default: stdout.")
@click.option("--tolerance", type=TOLERANCE, default=None, show_default="the score's: cosine 0.2 Da, entropy 0.02 Da",
              help="MS/MS fragment tolerance (Da or ppm).")
@click.option("--precursor-tolerance", cls=SettingsOption, type=TOLERANCE, show_default=True,
              help="MS/MS identity precursor window, half-width (Da or ppm).")
@click.option("--prefilter", cls=SettingsOption, type=click.IntRange(min=1), show_default=True,
              help="Candidates per query the indexed prefilter passes to the exact score (raised to --top when smaller).")
@click.option("--isomer-margin", cls=SettingsOption, type=click.FloatRange(0, 1), show_default=True,
              help="Isomer alert when a different compound with the same formula scores within this (0-1).")
@click.option("--ei-noise", cls=SettingsOption, type=click.FloatRange(0, 1, max_open=True), show_default=True,
              help="EI: drop nominal bins below this fraction of the base peak, in query and library alike "
                   "(0 keeps every peak; 0.01 raised top-1 on the development queries from 0.764 to 0.781; "
                   "docs/search.md).")
@click.option("--mass-prior/--no-mass-prior", cls=SettingsOption, show_default=True,
              help="Analog mode: rank by the analogue score, the spectral score plus 0.05 when the mass "
                   "difference is a common NPS modification (CH2, F/Cl/Br for H, O, isomer, ...; named in "
                   "DeltaMassMatch) minus 0.01 per 100 Da, divided by 1.05 to stay on 0-1; the spectral score "
                   "alone is the Similarity column.")
@click.option("--threads", type=click.IntRange(min=1), default=None, show_default=USABLE_CORES,
              help="EI and MS/MS identity batches searched at once, and, from 1,000 queries, worker processes "
                   "making the verdict columns and rows (of an MSP or MGF file: reading and searching their "
                   "part of it too); the output is the same bytes for any number; "
                   f"{USABLE_CORES_MEANING}.")
@lenient_option
def search(queries, library, top_k, mode, score, fmt, output, tolerance, precursor_tolerance, prefilter,
           isomer_margin, ei_noise, mass_prior, threads, lenient) -> None:
    """Search the spectra of QUERIES against a reference library.

    QUERIES is any spectrum file nps-id reads (MSP, MGF, mzML, MassBank, JCAMP-DX, ...). One row
    is written per query and rank: score (0-1; identity EI: the match factor / 999; analog mode:
    the analogue score), EI match factor and reverse match factor (0-999, in analog mode too:
    the unshifted match of the pair), the gap to the best different compound and an isomer
    alert; in analog mode also the spectral similarity (0-1, fragments matched directly or
    shifted), the mass difference (DeltaMass, below), the common NPS modification it matches and the query's analogue
    confidence (the predicted structural similarity, Tanimoto 0-1, of the unknown and its top
    hit: an analogue hit names a relative, never the compound). Every row of a query also
    carries its verdict (identified / tentative / inconclusive, with the rule -- the rules of
    `nps-id match`, including isomers the spectrum cannot exclude), whether it is a suspected
    new substance, the group the evidence points to and the query's estimated nominal mass
    (EstimatedMass, below; all columns: docs/search.md). Queries that are not searched or get no hit, and records
    --lenient skipped or without peaks, are counted on stderr; when no query can be searched the
    command stops (exit 4: the library holds no spectra of their kind, as `nps-id match`; exit 3: MS/MS
    spectra without precursor m/z).
    """
    from nps_id._cores import usable_cores

    # cut before the imports below (~0.1 s): the workers' ranges are read meanwhile on the idle core
    threads = threads or usable_cores()
    from nps_id._file_state import file_state, require_unchanged

    as_read = file_state(queries)
    cut = _cut(queries, lenient, threads, early=True)
    try:
        from nps_id.match.assess import EVIDENCE_HITS
        from nps_id.search.engine import SearchSettings

        try:
            # --top N prints N hits, but the verdict, mass and group read EVIDENCE_HITS: search at least
            # that many, and never let fewer candidates reach the exact score (analogue_search raises
            # both to SEARCH_TOP for its confidence).
            searched = max(top_k, EVIDENCE_HITS)
            settings = SearchSettings(mode=mode, score=score, top_k=searched, prefilter=max(prefilter, searched),
                                      analog_prefilter=max(SearchSettings.analog_prefilter, searched),
                                      tolerance=tolerance, precursor_tolerance=precursor_tolerance,
                                      isomer_margin=isomer_margin, ei_noise=ei_noise, mass_prior=mass_prior,
                                      threads=threads)
        except ValueError as exc:  # e.g. a score that the mode does not offer: a usage error (exit 2)
            raise click.UsageError(str(exc)) from None
        library = resolve_library(library)  # a missing library fails before a long read
        to_file = output is not None and str(output) != "-"
        refuse_output_onto_inputs([output], [queries, library])
        job = _Job(queries, library, lenient, settings, mode == "analog", top_k, fmt)
        parts = _search_in_ranges(job, cut) if settings.threads > 1 else None
        if parts is not None:
            table = _no_rows()
        else:  # one read of the whole file: a few queries, --threads 1, another format
            table, parts = _search_whole(job)
        # a file still being copied in or cut short reads as a shorter file without an error
        require_unchanged(queries, as_read, "nothing written", "search it again once the file is complete")
        if not to_file:
            _write(table, parts, sys.stdout, fmt)
            return
        from nps_id._atomic import atomic_output  # writes into /dev/null, /dev/stdout or a FIFO in place

        with atomic_output(output) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                _write(table, parts, fh, fmt)
    finally:
        if cut is not None:
            cut.end()  # whatever happened


@dataclass(frozen=True)
class _Job:
    """A search as the command line gives it."""

    queries: Path
    library: Path
    lenient: bool
    settings: Any  # SearchSettings
    analog: bool
    top_k: int
    fmt: str


def _search_whole(job: _Job) -> tuple[dict[str, list], list[str]]:
    """Read the whole query file, search it, and make its rows: a table, or the rows' text made on
    forked workers (:func:`_rows_on_workers`)."""
    from nps_id.io import ReadReport, read
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.engine import require_searchable
    from nps_id.search.reference import Reference

    queries = job.queries
    report = ReadReport(str(queries))
    spectra = list(read(queries, lenient=job.lenient, report=report))
    _read_notes(queries, report.quarantine, report.skipped, len(spectra))
    # The library stays open while it is used: its arrays are read when needed (one query
    # against 69,000 spectra reads a few rows of the names, not every column), from uncompressed
    # copies in the cache folder after the first search (no gzip per process).
    with open_verified(job.library, copies=True) as lib:
        reference = Reference.from_library(lib, lazy=True)
        skipped = require_searchable(str(queries), spectra, reference)  # exit 3/4 when it is every query
        _searched_notes(queries, skipped)
        hits, confidence = _run_search(spectra, reference, job.settings, job.analog)
        _without_hits_note(queries, len(spectra) - len(set(hits.query.tolist())) - sum(skipped.values()))
        rows = _Rows(spectra, hits, reference, job.analog, confidence, job.top_k, LibraryFacts(reference))
        if job.settings.threads > 1 and len(spectra) >= FORK_FROM_QUERIES:
            return _no_rows(), _rows_on_workers(rows, job.fmt, job.settings.threads)
        return _range_table(rows, (0, len(hits))), []  # in this process: no pool to start for a few queries


def _run_search(spectra: list, library: Any, settings: Any, analog: bool) -> tuple[Any, Any]:
    """(hits, analogue confidence per query or None) of ``spectra`` against ``library`` (a
    Reference, or a PreparedLibrary to search several ranges with)."""
    if analog:  # its module only then: ~3-5 ms of a one-spectrum identity search
        from nps_id.search.analogue_confidence import analogue_search

        return analogue_search(spectra, library, settings)
    from nps_id.search.engine import search as run_search

    return run_search(spectra, library, settings), None


def _read_notes(queries: Path, quarantine: list[dict], skipped: dict[str, int], spectra: int) -> None:
    """The read's notes on stderr (records --lenient skipped, records skipped by their reason);
    exit 3 when no spectrum was read."""
    from nps_id.errors import InputError, record_number

    for bad in quarantine:
        where = ", ".join(f"{k} {record_number(bad[k]) if k == 'record' else bad[k]}"
                          for k in ("line", "record") if bad[k] is not None)
        click.echo(f"note: {queries}: skipped a malformed record ({where}): {bad['error']}", err=True)
    for reason, count in skipped.items():  # records without peaks, chromatograms, m/z 0 points
        click.echo(f"note: {queries}: {count} skipped: {reason}", err=True)
    if not spectra:
        raise InputError(f"{queries}: no mass spectra in this file, nothing to search")


def _searched_notes(queries: Path, skipped: dict[str, int]) -> None:
    for reason, count in skipped.items():
        click.echo(f"note: {queries}: {count} not searched: {reason}", err=True)


def _without_hits_note(queries: Path, without_hits: int) -> None:
    if without_hits:
        click.echo(f"note: {queries}: {without_hits} quer{'y' if without_hits == 1 else 'ies'} searched without any hit (no peak, or no library "
                   "spectrum shares one; MS/MS: none within the precursor window)", err=True)


#: ``nps-id search`` makes the verdict columns and the rows' text of this many queries or more on
#: ``--threads`` worker processes forked from the command, each a range of queries (below it, or
#: with ``--threads 1``, in the command's own process: starting the pool costs more than it gives).
FORK_FROM_QUERIES = 1000
#: Query ranges per worker: the ranges differ in cost (an isomer check, a group vote), and a
#: worker that finishes early takes the next one.
RANGES_PER_WORKER = 2
#: The query formats whose files are cut into byte ranges, each read, searched and made into rows on
#: a worker (their readers' ``spans`` and ``read(span=)``).
_CUT_FORMATS = ("msp", "mgf")
#: Queries whose rows the command makes itself before it forks the workers: the per-process set-up
#: of the verdict columns (~0.15 s) is then made once, and inherited, not once per worker.
FIRST_RANGE_QUERIES = 100


@dataclass(frozen=True)
class _Rows:
    """What the rows of any range of the search's hits are made from; a forked worker inherits it
    (copy-on-write: the spectra, hits and library are never pickled)."""

    spectra: list
    hits: Any
    reference: Any
    analog: bool
    confidence: Any
    top_k: int
    facts: Any  # LibraryFacts: one per process, its caches filled as the ranges need


def _range_table(rows: _Rows, bounds: tuple[int, int]) -> dict[str, list]:
    """:func:`hit_columns` of the hits ``bounds[0]:bounds[1]`` (whole queries), with their verdict
    columns: a query's verdict reads only its own hits, so a range's rows are the rows the whole
    search gives it."""
    from nps_id.match.assess import assess_search

    start, stop = bounds
    hits = rows.hits.rows(start, stop)
    assessments = assess_search(rows.spectra, hits, rows.reference, analog=rows.analog, fields_only=True,
                                analogue_confidence=rows.confidence, facts=rows.facts)
    return hit_columns(hits.top(rows.top_k), rows.spectra, rows.reference, assessments, rows.confidence)


def _range_text(job: tuple[_Rows, str], bounds: tuple[int, int]) -> str:
    """The text of :func:`_range_table`'s rows in format ``job[1]`` (no header): what a worker returns."""
    table = _range_table(job[0], bounds)
    lines = _row_lines(table, job[1])
    if lines is not None:  # one join: no buffer grown line by line and copied whole at its end
        return "".join(lines)
    buffer = io.StringIO()
    write_rows(table, buffer, job[1], header=False)
    return buffer.getvalue()


def _rows_on_workers(rows: _Rows, fmt: str, workers: int) -> list[str]:
    """The rows' text, query range by range (in order): the first :data:`FIRST_RANGE_QUERIES` in
    this process, which loads what every range reads (the library facts and columns, the group
    model, RDKit) once for the workers to inherit; the rest on ``workers`` forked processes. The
    verdict columns are per-query Python: one core's work in one process. Where the platform
    cannot fork (Windows), all in this process."""
    import numpy as np

    from nps_id._workers import can_fork, forked_map  # here: a search of a few queries never imports multiprocessing

    if not can_fork():
        return [_range_text((rows, fmt), (0, len(rows.hits)))]
    query = rows.hits.query
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]]) if len(query) else np.empty(0, np.int64)
    first = int(starts[FIRST_RANGE_QUERIES]) if starts.size > FIRST_RANGE_QUERIES else len(query)
    rest = starts[FIRST_RANGE_QUERIES:]
    n = min(workers * RANGES_PER_WORKER, rest.size)
    cuts = [*rest[np.linspace(0, rest.size, n, endpoint=False).astype(np.int64)].tolist(), len(query)]
    for column in _LIBRARY_COLUMNS:  # read whole once here, not by every range (a 69,000-row column: ~0.05 s each)
        rows.reference.columns[column]
    rows.facts.load_saved()  # decoded once here, not by every worker
    parts = [_range_text((rows, fmt), (0, first))]
    return parts + forked_map(_range_text, (rows, fmt), list(zip(cuts[:-1], cuts[1:])), workers,
                              what="the verdict columns and rows")


@dataclass(frozen=True)
class _Ranges:
    """What every byte range of a query file is searched with; a forked worker inherits it (the
    open library, its indexes and the verdict columns' caches, made by the command's first range)."""

    job: _Job
    prepared: Any  # PreparedLibrary
    facts: Any  # LibraryFacts
    text: bytes | None  # a gzipped file's text, decompressed once (None: each range reads the file)
    ahead: Any = None  # an Ahead that reads ranges meanwhile (:func:`_read_ahead`)
    ahead_index: dict = field(default_factory=dict)  # a range's start: its task in ``ahead``


@dataclass(frozen=True)
class _RangeDone:
    """One range searched: its rows' text and what the command's notes add up."""

    text: str
    quarantine: list
    read_skipped: dict
    spectra: int
    unsearchable: dict
    without_hits: int


@dataclass(frozen=True)
class _Cut:
    """A query file cut into byte ranges, and the ranges a forked process reads meanwhile."""

    tasks: tuple  # (span, the next span or None) of each range; empty: the file is not cut
    text: bytes | None  # a gzipped file's text, decompressed once (None: each range reads the file)
    ahead: Any  # an Ahead reading tasks[1:] (:func:`_read_ahead`), for the workers to take; None: not cut

    def end(self) -> None:
        """End the reading ahead and free what it wrote (the workers are done with it; the output,
        written after, may need the room on the same disk)."""
        if self.ahead is not None:
            self.ahead.close()


def _cut(queries: Path, lenient: bool, workers: int, early: bool = False) -> _Cut | None:
    """The ranges :func:`_search_in_ranges` searches (``tasks`` empty for a file of another format,
    of fewer records, or that cannot be cut), their reading on a forked process started
    (:class:`~nps_id._workers.Ahead`: every range but the first, which the command reads itself),
    ``tasks`` empty without fork too; None with one worker. ``early`` (called before the command's other checks):
    None too where the file cannot be opened, for the command to fail where it always did."""
    from importlib import import_module

    from nps_id.io import FORMATS, detect_format

    if workers < 2:
        return None
    try:
        fmt = detect_format(queries)
        cut = import_module(FORMATS[fmt].module).spans(
            queries, FIRST_RANGE_QUERIES, workers * RANGES_PER_WORKER, FORK_FROM_QUERIES) \
            if fmt in _CUT_FORMATS else None
    except Exception:
        if early:  # cut again where the command always cut it, and told there
            return None
        raise
    if cut is None:
        return _Cut((), None, None)
    from nps_id._workers import Ahead, can_fork  # here: a search of a few queries never imports multiprocessing

    if not can_fork():
        return _Cut((), None, None)
    ranges, text = cut
    tasks = tuple(zip(ranges, [*ranges[1:], None]))
    return _Cut(tasks, text, Ahead(partial(_read_ahead, queries, lenient, text), tasks[1:]))


def _search_in_ranges(job: _Job, cut: _Cut | None) -> list[str] | None:
    """The rows' text of an MSP or MGF query file (:data:`_CUT_FORMATS`) of :data:`FORK_FROM_QUERIES`
    records or more, read, searched and made into rows range by range: the first
    :data:`FIRST_RANGE_QUERIES` records in this process (which loads the library's indexes, numba,
    the verdict columns' facts, group model and RDKit once, for the workers to inherit), the rest
    on ``threads`` forked workers, each
    reading its own bytes of the file. The notes and errors are the whole file's read's: each
    range reads its records and lines under the whole file's numbers, the command adds up its
    counts and raises the first range's error. None (nothing done that shows) where the file
    cannot be read so, or a range's end does not fall where the whole file's read puts a record's
    (:func:`nps_id.io.msp.spans`, :func:`nps_id.io.mgf.spans`), or the platform cannot fork: the caller
    reads it whole. ``cut``: the file's ranges, cut (:func:`_cut`) when the command started (None: cut here)."""
    from dataclasses import replace

    workers = job.settings.threads
    cut = cut or _cut(job.queries, job.lenient, workers)
    if cut is None or not cut.tasks:
        return None
    job = replace(job, settings=replace(job.settings, threads=1))  # the workers are the cores' work
    try:
        done = _first_and_forked(job, cut, workers)
    finally:
        cut.end()  # its ranges read by now, or read by their workers
    if done is None:
        return None
    for result in done:  # the first range that could not be read as in the whole file, or its error
        if not isinstance(result, _RangeDone):
            return _raised(result)
    _read_notes(job.queries, [bad for d in done for bad in d.quarantine],
                _summed(d.read_skipped for d in done), sum(d.spectra for d in done))
    from nps_id.search.engine import UNSEARCHABLE, refuse_unsearchable

    skipped = {reason: n for reason in UNSEARCHABLE if (n := sum(d.unsearchable.get(reason, 0) for d in done))}
    _searched_notes(job.queries, refuse_unsearchable(str(job.queries), skipped, sum(d.spectra for d in done)))
    _without_hits_note(job.queries, sum(d.without_hits for d in done))
    return [d.text for d in done]


def _first_and_forked(job: _Job, cut: _Cut, workers: int) -> list | None:
    """:func:`_search_range` of the first range here, then (when it is done) of the others on forked
    workers, given the ranges ``cut.ahead`` read meanwhile; None when the library cannot be opened
    (the whole file's read tells the read's errors first)."""
    from dataclasses import replace

    from nps_id._workers import forked_map
    from nps_id.errors import NpsIdError
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.engine import PreparedLibrary
    from nps_id.search.reference import Reference

    try:
        lib = open_verified(job.library, copies=True)
    except NpsIdError:  # told after the read's own errors, as the whole file's read tells it
        return None
    with lib:
        reference = Reference.from_library(lib, lazy=True)
        shared = _Ranges(job, PreparedLibrary(reference, job.settings), LibraryFacts(reference), cut.text)
        first = _search_range(shared, cut.tasks[0])
        if not isinstance(first, _RangeDone):
            return [first]
        for column in _LIBRARY_COLUMNS:  # read whole once here, not by every range
            reference.columns[column]
        shared.facts.load_saved()  # decoded once here, not by every worker
        ahead = {span.start: index for index, (span, _) in enumerate(cut.tasks[1:])}
        if cut.ahead is not None:  # the cores are the workers' now: what it wrote, and the range it is reading
            cut.ahead.finish_current()  # (not thrown away), is theirs; the rest they read
        return [first, *forked_map(_search_range, replace(shared, ahead=cut.ahead, ahead_index=ahead),
                                   cut.tasks[1:], workers,
                                   what="the search and its rows")]


def _raised(result: Exception | None) -> None:
    """None for a range not read as in the whole file; raise a range's error."""
    if result is not None:
        raise result
    return None


def _summed(counts: Any) -> dict[str, int]:
    """Counts added up, each key where it first came (as one read's counter orders them)."""
    total: dict[str, int] = {}
    for count in counts:
        for key, n in count.items():
            total[key] = total.get(key, 0) + n
    return total


def _search_range(shared: _Ranges, task: tuple[Any, Any]) -> _RangeDone | Exception | None:
    """Read, search and make the rows of one byte range (``task``: its :class:`~nps_id.io._source.Span`
    and the next range's, None for the last); None when the range's end does not fall where the
    whole file's read has the next range start (:meth:`~nps_id.io._source.Span.ends_before`), or a
    query has no name to print but its position in the file; a reader's or search's error
    returned, for the command to raise in order."""
    from nps_id.errors import NpsIdError
    from nps_id.search.engine import unsearchable

    (span, after), job = task, shared.job
    try:
        spectra, quarantine, read_skipped = _taken(shared, span) or _read_range(
            job.queries, job.lenient, span, shared.text)
        if not span.ends_before(after) or not all(
                s.name or s.get("source_id") or s.get("scan_id") for s in spectra):
            return None
        skipped = unsearchable(spectra, shared.prepared.reference)
        text, without_hits = "", 0
        if spectra:
            hits, confidence = _run_search(spectra, shared.prepared, job.settings, job.analog)
            without_hits = len(spectra) - len(set(hits.query.tolist())) - sum(skipped.values())
            rows = _Rows(spectra, hits, shared.prepared.reference, job.analog, confidence, job.top_k, shared.facts)
            text = _range_text((rows, job.fmt), (0, len(hits)))
    except NpsIdError as exc:
        return exc
    return _RangeDone(text, quarantine, read_skipped, len(spectra), skipped, without_hits)


def _taken(shared: _Ranges, span: Any) -> tuple[list, list, dict] | None:
    """:func:`_read_range` of ``span`` as the read-ahead made it (:func:`_read_ahead`; None: not
    made); its pickled bytes go with this call, not kept through the range's search (x300
    queries: ~100 MB a worker)."""
    from nps_id.spectrum import unpack_spectra

    read = shared.ahead.result(shared.ahead_index[span.start]) if span.start in shared.ahead_index else None
    if read is None:
        return None
    packed, quarantine, read_skipped, span.end_record, span.end_carried = pickle.loads(read)
    return unpack_spectra(packed), quarantine, read_skipped


def _read_range(queries: Path, lenient: bool, span: Any, text: bytes | None) -> tuple[list, list, dict]:
    """The spectra of the byte range ``span`` of the query file, and its read's records skipped
    (malformed: ``--lenient``'s quarantine; by their reason: counts); sets the span's ends."""
    from nps_id.io import ReadReport, read

    report = ReadReport(str(queries))
    spectra = list(read(queries, lenient=lenient, report=report, span=span, data=text))
    return spectra, report.quarantine, dict(report.skipped)


def _read_ahead(queries: Path, lenient: bool, text: bytes | None, task: tuple[Any, Any]) -> bytes:
    """:func:`_read_range` of a task's span, pickled for the worker that searches it (its spectra
    packed: :func:`~nps_id.spectrum.pack_spectra`). A read that fails is not given (:class:`~nps_id._workers.Ahead`):
    the worker reads the range again and meets the error as it always did."""
    from nps_id.spectrum import pack_spectra

    span = task[0]
    spectra, quarantine, read_skipped = _read_range(queries, lenient, span, text)
    return pickle.dumps((pack_spectra(spectra), quarantine, read_skipped, span.end_record, span.end_carried),
                        protocol=pickle.HIGHEST_PROTOCOL)


def _no_rows() -> dict[str, list]:
    """A table of no rows (:func:`hit_columns`' keys): the header of rows made as text elsewhere."""
    return {key: [] for key in (*COLUMNS, *JSONL_ONLY)}


def _write(table: dict[str, list], parts: list[str], fh: Any, fmt: str) -> None:
    """:func:`write_rows` of ``table`` (header included), then the rows' text ``parts``."""
    write_rows(table, fh, fmt)
    fh.writelines(parts)


def hit_columns(hits: Any, spectra: list, reference: Any, assessments: dict[int, Any],
                analogue_confidence: Any = None) -> dict[str, list]:
    """The hit rows as columns: one list of Python values (None when absent) per machine column
    name of :data:`COLUMNS` and :data:`JSONL_ONLY`; every row of a query carries its per-query verdict fields
    (:func:`nps_id.match.assess.assess_search`) and, in analogue mode, its analogue confidence
    (per query position; None in identity mode). Built a column at a time: per-query and
    per-library-row values once each, then indexed."""
    import numpy as np

    from nps_id.chem.formula import nominal_mass
    from nps_id.search.analogue import same_mass_reading, shift_name
    from nps_id.search.scores import to_999_column

    rows = np.asarray(hits.row, dtype=np.int64)
    queries, per_hit = np.unique(np.asarray(hits.query, dtype=np.int64), return_inverse=True)
    per_hit = per_hit.reshape(-1).tolist()

    def per_query(values: list) -> list:
        return [values[k] for k in per_hit]

    out: dict[str, list] = {}
    records = [spectra[q].get("scan_index") for q in queries.tolist()]  # the position in the file (--lenient)
    out["query"] = per_query([q if r is None else int(r) for q, r in zip(queries.tolist(), records)])
    out["query_name"] = per_query([spectra[q].name or spectra[q].get("source_id") or spectra[q].get("scan_id")
                                   or f"query {q}" for q in queries.tolist()])
    out["rank"] = np.asarray(hits.rank, dtype=np.int64).tolist()
    for key, column in zip(("library_id", "name", "inchikey", "formula"), _LIBRARY_COLUMNS):
        out[key] = reference.column_rows(column, rows).tolist()
    out["score"] = _rounded(hits.score)
    out["mf"], out["rmf"] = to_999_column(hits.mf), to_999_column(hits.rmf)
    out["delta_mass"], out["gap"] = _rounded(hits.delta_mass), _rounded(hits.gap)
    out["isomer_alert"] = np.asarray(hits.isomer_alert, dtype=bool).tolist()
    out["library_row"] = rows.tolist()
    out["similarity"] = _rounded(hits.similarity)
    # EI hits (they carry an MF) have nominal mass differences.
    nominal = np.isfinite(np.asarray(hits.mf, dtype=np.float64)).tolist()
    names = {pair: shift_name(*pair) for pair in set(zip(np.asarray(hits.delta_shift).tolist(), nominal))}
    out["delta_mass_match"] = [names[pair] for pair in zip(np.asarray(hits.delta_shift).tolist(), nominal)]
    for key, values in (("smiles", reference.column_rows("smiles", rows)),
                        ("structure_source", reference.column_rows("structure_source", rows)),
                        ("stereo_note", reference.identity.notes[rows])):
        out[key] = [v or None for v in values.tolist()]
    fields = [assessments[q].fields() for q in queries.tolist()]
    out["analogue_confidence"] = per_query(
        _rounded(analogue_confidence[queries]) if analogue_confidence is not None else [None] * queries.size)
    for key in [k for k in (*COLUMNS, *JSONL_ONLY) if k not in out]:  # the verdict columns (present with no hit too)
        out[key] = per_query([f[key] for f in fields])
    if analogue_confidence is not None:
        # an EI hit of the query's own estimated molecular mass is an isomer, whatever its apparent
        # molecular ion's difference ("N for CH" for two C10H16 terpenes)
        masses = {formula: nominal_mass(formula) for formula in set(out["formula"]) if formula}
        out["delta_mass_match"] = [
            same_mass_reading(reading, estimated, masses.get(formula), delta) if ei else reading
            for reading, estimated, formula, delta, ei in zip(out["delta_mass_match"], out["estimated_mass"],
                                                               out["formula"], out["delta_mass"], nominal)]
    return out


#: The library's metadata columns :func:`hit_columns` prints (library_id, name, inchikey, formula,
#: smiles, structure_source).
_LIBRARY_COLUMNS = ("source_id", "name", "inchikey", "formula", "smiles", "structure_source")


def _rounded(values: Any, digits: int = 4) -> list:
    """Python floats rounded as ``round(float(v), digits)`` (None for NaN/inf), each distinct value
    (by its bits: 0.0 and -0.0 stay two) rounded once -- scores and gaps repeat row after row."""
    import numpy as np

    arr = np.ascontiguousarray(values, dtype=np.float64)
    bits, inverse = np.unique(arr.view(np.int64), return_inverse=True)
    rounded = [round(v, digits) if math.isfinite(v) else None for v in bits.view(np.float64).tolist()]
    return list(map(rounded.__getitem__, inverse.reshape(-1).tolist()))


def write_rows(table: dict[str, list], fh: Any, fmt: str, header: bool = True) -> None:
    """Write :func:`hit_columns` as ``tsv`` (MSPepSearch names), ``csv`` or ``jsonl``; absent
    values empty/null; ``header``: the TSV/CSV header line first. Cells are formatted a column at a time (a distinct value once however many
    rows repeat it, with the JSON key and separators around it), then each row is one C-level
    join (a ``%`` template per row took ~3x as long)."""
    if fmt == "tsv" and header:
        fh.write("\t".join(COLUMNS.values()) + "\n")
    lines = _row_lines(table, fmt)
    if lines is not None:
        fh.writelines(lines)
        return
    writer = csv.writer(fh, lineterminator="\n")
    if header:
        writer.writerow(list(COLUMNS))
    writer.writerows(zip(*(_column_text(table[k], str, "") for k in COLUMNS)))


def _row_lines(table: dict[str, list], fmt: str) -> Iterator[str] | None:
    """Each row's line of :func:`write_rows` in ``jsonl`` or ``tsv`` (line end included); None for
    ``csv`` (the csv module quotes and writes its rows)."""
    if fmt == "jsonl":
        keys = (*COLUMNS, *JSONL_ONLY)
        cells = [_column_text(table[k], _json_text, "null", before=("{" if i == 0 else ", ") + json.dumps(k) + ": ",
                              after="}\n" if i == len(keys) - 1 else "")
                 for i, k in enumerate(keys)]
        return map("".join, zip(*cells))
    last = len(COLUMNS) - 1
    if fmt == "tsv":
        # Plain TSV as MSPepSearch writes it, for cut/awk: no quoting; a tab or line break inside
        # a value (never in real names, but possible in a library) becomes a space.
        cells = [_column_text(table[k], _tsv_cell, "", after="\n" if i == last else "") for i, k in enumerate(COLUMNS)]
        return map("\t".join, zip(*cells))
    return None


def _column_text(values: list, text: Any, none: str, before: str = "", after: str = "") -> list[str]:
    """``before + text(v) + after`` for every value (``none`` for None), a distinct value formatted
    once: names, SMILES, rules and rounded scores repeat row after row (a column of one type; values
    of several are written one by one). Floats are written directly (``repr``, as ``str`` and
    ``json`` write them) and ints as ``str`` (as ``json`` writes them); 0.0 and -0.0 are one dict
    key but two texts, so zeros are written one by one."""
    types = set(map(type, values)) - {type(None)}
    if len(types) > 1:  # 1, 1.0 and True are one dict key but three texts
        return [before + (none if v is None else repr(v) if type(v) is float else text(v)) + after for v in values]
    if float in types:
        text = repr
    elif int in types:
        text = str
    table = {v: before + (none if v is None else text(v)) + after for v in set(values)}
    cells = list(map(table.__getitem__, values))
    if float in types and 0.0 in table:
        for i in _zeros(values):
            cells[i] = before + repr(values[i]) + after
    return cells


def _zeros(values: list) -> list[int]:
    """Positions of the values equal to 0 (None is NaN there)."""
    import numpy as np

    return np.flatnonzero(np.asarray(values, dtype=np.float64) == 0).tolist()


def _json_text(value: Any) -> str:
    # a text as json.dumps(value, ensure_ascii=False) writes it, without the encoder that call makes
    # each time (~27,000 distinct cells a worker of the MS/MS x10 search)
    return encode_basestring(value) if type(value) is str else json.dumps(value, ensure_ascii=False)


def _tsv_cell(value: Any) -> str:
    return " ".join(str(value).replace("\r", "\n").replace("\t", "\n").split("\n"))

"""``nps-id batch``: match every run below folders, in parallel, resumably, with a summary."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from nps_id._cores import USABLE_CORES, USABLE_CORES_MEANING
from nps_id.commands.match_options import match_settings_options
from nps_id.batch.runner import DEFAULT_TIMEOUT_SECONDS
from nps_id.commands.options import (lenient_option, library_option, refuse_output_onto_inputs, resolve_library,
                                     typed_command_line)
from nps_id.errors import EXIT_TERMINATED, Terminated
from nps_id.report import FORMATS as REPORT_FORMATS

if TYPE_CHECKING:
    from nps_id.batch.progress import BarProgress, JsonProgress

EXIT_INTERRUPTED = 130  # the shell's convention for a command stopped by Ctrl-C (128 + SIGINT)

EPILOG = """
\b
Examples:
  nps-id batch ../shared/data/gcms/lrcfs -l swgdrug.h5 -o out/ --exclude '*.D'
  nps-id batch /data/2026-03-01 -l swgdrug.h5 -o out/ --blank-pattern '*blank*' \\
      --internal-standard bupivacaine
  nps-id batch /shared/seq -l /shared/swgdrug.h5 -o /shared/out --scheduler tcp://10.0.0.5:8786

\b
summary.csv: one row per substance, one column per run (its best finding there: verdict, RT, MF),
then internal_standard (yes/no) and group_probability (a suspected new substance's group model's
probability, 0-1: its confidence, not a measured rate; summary.json and summary.html give each
run's with how often its band was right on the development data); the last row is each run's
status, its last cell the summary_id that summary.json and summary.html carry too (another there:
the batch was stopped while writing them; run it again). Columns: docs/batch.md, "Summary".

\b
Exit codes: 0 every run done, 1 at least one run failed (listed, and in OUT_DIR/manifest.json; a run
            still being written when it was read fails and the next batch matches it again),
            3 no runs / bad input (also: OUT_DIR is or holds an input, or is in use by another
            nps-id batch, a damaged manifest or one of a newer nps-id, a results file edited
            into one the summary cannot read),
            4 bad library, 130 interrupted, 143 terminated (run it again to resume).
"""


@click.command(epilog=EPILOG)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@library_option
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: manifest.json, runs/<run>/<run>.match.json, summary.csv/.html/.json. "
                   "May be inside an input folder: its outputs are never taken as runs.")
@click.option("--include", multiple=True, metavar="GLOB",
              help="Only runs whose path (relative to its folder) matches; repeatable.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out matching runs; repeatable.")
# default None, resolved by run_batch when the runs start: a default computed here would be this
# machine's count, shown in --help beside the words "all cores" as a second default
@click.option("--workers", "-j", type=click.IntRange(min=1), default=None, show_default=USABLE_CORES,
              help=f"Local worker processes; {USABLE_CORES_MEANING}.")
@click.option("--progress", "progress_style", type=click.Choice(["auto", "bar", "json"]), default="auto",
              show_default=True,
              help="Progress on stderr: a bar, or one JSON event per line (for scripts); auto: a bar on a "
                   "terminal, JSON otherwise.")
@click.option("--timeout", "timeout_seconds", type=click.FloatRange(min=1), default=DEFAULT_TIMEOUT_SECONDS,
              metavar="SECONDS", help="Bound on one run: a run still going then fails (recorded), the others go on.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on an existing Dask cluster (tcp://host:8786) instead of local processes.")
@click.option("--blank-pattern", metavar="GLOB",
              help="File names of blank runs (flagged in the summary); each run is matched with the "
                   "nearest blank acquired before it in the same folder subtracted (a run in a folder "
                   "without one: none, with a warning).")
@click.option("--subtract-blank/--no-subtract-blank", default=True,
              help="With --blank-pattern: subtract the blank before each run (else only flag blanks).")
@click.option("--alkanes", type=click.Path(exists=True, path_type=Path),
              help="n-alkane ladder (run or CSV of RT and carbon number) for retention indices.")
@match_settings_options
@click.option("--report", "-f", "report_formats", multiple=True,
              type=click.Choice(REPORT_FORMATS),
              help="Also write this report per run (as nps-id report does); repeatable.")
@click.option("--sample-info", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Laboratory details (TOML, as for nps-id report) shared by every run's report.")
@lenient_option
def batch(inputs, library, out_dir, include, exclude, workers, progress_style, timeout_seconds, scheduler,
          blank_pattern, subtract_blank, alkanes, match_parameters, report_formats, sample_info,
          lenient) -> None:
    """Match every run below the given folders and summarise substances across the runs.

    Runs are files any reader accepts and Agilent .D folders; a re-run with the same OUT_DIR
    skips runs already done with the same inputs, settings, library, nps-id code (a stamp of
    its code and shipped data: an update under the same version redoes them) and versions of
    RDKit, numpy, ...; each run redone is said before the runs, with why. One batch at a time
    per OUT_DIR. The match settings are those of nps-id match (same options, same defaults).
    """
    from nps_id._hashing import sha256_path
    from nps_id.batch import discover, run_batch
    from nps_id.batch.summary import batch_outputs
    from nps_id.batch.lock import out_dir_lock
    from nps_id.batch.match import MatchProcessor, ReportWriter
    from nps_id.batch.progress import JsonProgress, make_progress
    from nps_id.batch.summary import build_summary, write_summary
    from nps_id.errors import InputError
    from nps_id.io import supported_formats
    from nps_id.library import open_verified
    from nps_id._words import counted

    progress = make_progress(style=progress_style)  # its style also carries the messages before the runs
    # OUT_DIR inside an input folder: its own outputs are no runs for the next batch (stop 45)
    found = discover(inputs, include=include, exclude=exclude, outputs=batch_outputs(out_dir))
    for path, reason in found.ignored:
        progress.message("ignored", f"ignored {path}: {reason}", path=str(path))
    if found.ignored:  # the format list once per batch, not once per file
        formats = f"; the formats nps-id reads: {supported_formats()}" if found.unknown_format else ""
        progress.message("warning", f"{counted(len(found.ignored), 'file')} ignored (not runs){formats}")
    if not found.runs:
        raise InputError(f"no runs found in {', '.join(map(str, inputs))} (see the ignored files above)")
    library_path = resolve_library(library).resolve()
    # OUT_DIR is written below and cleaned of stale results: it must not be, or hold, an input.
    # The runs found count, not only the folders named: `batch runs -o runs/a` with runs/a/x.mzML.
    refuse_output_onto_inputs([out_dir], [*inputs, *(run.path for run in found.runs), library_path, alkanes,
                                          sample_info], folders=True)
    with open_verified(library_path) as lib:  # checked once here, not in every worker
        library_sha256 = lib.sha256
    if alkanes:  # a bad table is one exit-3 line here, not every run failing in the workers
        from nps_id.gcms.retention_index import load_alkanes

        load_alkanes(alkanes)
    if sample_info:
        _warn_standard_runs_not_matched(sample_info, progress)
    if blank_pattern is not None and subtract_blank:
        _warn_runs_without_blank(found.runs, blank_pattern, progress)
    processor = MatchProcessor(str(library_path), match=match_parameters,
                               alkanes=str(alkanes.resolve()) if alkanes else None, lenient=lenient,
                               command_line=typed_command_line(), library_sha256=library_sha256)
    reports = None
    if report_formats:
        reports = ReportWriter(tuple(report_formats), str(sample_info.resolve()) if sample_info else None,
                               str(library_path))
    # Report settings are part of the parameter hash: asking for a new format redoes the runs. So
    # are the contents of the alkane table (the processor knows only its path): a corrected ladder
    # must not leave the old retention indices in place.
    params = {**processor.describe(), "reports": list(report_formats),
              "sample_info": sha256_path(sample_info).sha256 if sample_info else None,
              "alkanes_sha256": sha256_path(alkanes).sha256 if alkanes else None}
    # One batch at a time in OUT_DIR, until this command ends (summary written): two at once each did
    # every run and the last manifest won (stop 46). Taken here, after the checks: a refused command
    # makes no OUT_DIR, nor a lock file in an input folder.
    click.get_current_context().with_resource(out_dir_lock(out_dir))
    try:
        result = run_batch(found.runs, out_dir, processor, params, library_sha256,
                           workers=workers, scheduler=scheduler, blank_pattern=blank_pattern,
                           subtract_blank=subtract_blank, write_reports=reports, progress=progress,
                           timeout_seconds=timeout_seconds)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
        # Finished runs are already in the manifest; say how to go on rather than "Aborted!" (after
        # the bar's line; JSON progress has none, and a blank line is no JSON)
        lead = "" if isinstance(progress, JsonProgress) else "\n"
        terminated = isinstance(exc, Terminated)
        click.echo(f"{lead}{'terminated' if terminated else 'interrupted'}; finished runs are recorded in "
                   f"{out_dir / 'manifest.json'}: run the same command again to resume", err=True)
        click.get_current_context().exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
    # The internal standards (a match setting) are never reported as carry-over either.
    internal_standards = [s.name for s in match_parameters.internal_standards]
    written = write_summary(build_summary(result, internal_standards), out_dir)

    done = result.total - len(result.failed)
    click.echo(f"{counted(result.total, 'run')}: {done} done ({result.skipped} already done before), "
               f"{len(result.failed)} failed")
    for key, _, reason in result.failed:
        click.echo(f"FAILED {key}: {reason}")
    # where the summary went is a diagnostic, on stderr with the progress (stdout until stop 32): stdout is
    # the count and failures; in JSON progress an event, so stderr stays one JSON object per line
    progress.message("summary", f"summary: {written[1]}", path=str(written[1]))
    if result.failed:
        click.get_current_context().exit(1)


def _warn_runs_without_blank(runs: list, blank_pattern: str, progress: "JsonProgress | BarProgress") -> None:
    """Blanks pair with the runs after them in their own folder only: say, before the runs, which
    runs get no blank subtracted (a folder without a blank, runs before its first blank), since
    their results otherwise read as blank-subtracted ones."""
    from nps_id.batch.discover import pair_blanks
    from nps_id._words import counted

    pairs, blank_keys = pair_blanks(runs, blank_pattern)
    unpaired = [run.key for run in runs if run.key not in blank_keys and pairs[run.key] is None]
    if unpaired:
        progress.message("warning", f"warning: --blank-pattern {blank_pattern}: no blank is subtracted from "
                         f"{counted(len(unpaired), 'run')}, none acquired before in the same folder (blanks pair "
                         f"within one folder only; summary.csv marks them 'no blank'): {', '.join(unpaired)}")


def _warn_standard_runs_not_matched(sample_info: Path, progress: "JsonProgress | BarProgress") -> None:
    """``batch`` matches the runs it finds, never the TOML's ``{ name, run }`` reference standard
    runs: say so once (a reviewer would otherwise expect the RT comparison in every report)."""
    from nps_id.report.inputs import load_sample_info, sample_reference_standards

    runs = sample_reference_standards(load_sample_info(sample_info), sample_info)
    if runs:
        progress.message("warning", f"warning: {sample_info}: batch does not match reference standard runs "
                         f"({', '.join(name for _, name in runs)}): the reports carry no RT comparison; "
                         "run nps-id match --sample-info for that")

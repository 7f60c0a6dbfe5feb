"""``nps-id match``: find, deconvolute and identify the compounds of GC-MS / LC-MS/MS runs.

The command parses options into :class:`~nps_id.match.pipeline.MatchParameters`, calls
:func:`~nps_id.match.pipeline.match_files`, writes the results JSON (atomically) and prints a
table. Verdict rules, thresholds and the JSON contract: ``docs/match.md``.
"""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from nps_id.commands.options import TOLERANCE, lenient_option, library_option, resolve_library
from nps_id.errors import EXIT_FOUND

_EPILOG = """\b
Examples:
  nps-id match 220223030.mzML --library swgdrug.h5
  nps-id match runs/*.mzML -l swgdrug.h5 -o results/ --blank runs/220223001.mzML
  nps-id match sample.cdf -l swgdrug.h5 --alkanes alkanes.csv --json sample.json --fail-on identified

\b
Exit codes: 0 ran (whatever was found), 1 --fail-on matched, 3 bad input, 4 bad library.
"""


@click.command("match", epilog=_EPILOG)
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@library_option
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write one results JSON per run here (RUN-NAME.match.json).")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=None, help="Write all results to one JSON file ('-' = stdout; one run: its results, "
              "several: {'runs': [...]}).")
@click.option("--blank", type=click.Path(exists=True, path_type=Path), default=None,
              help="Blank run (same method): components it also shows are removed.")
@click.option("--alkanes", type=click.Path(exists=True, path_type=Path), default=None,
              help="n-alkane ladder: CSV of carbon number and RT (rt in min or rt_s), or a ladder run; "
              "gives van den Dool-Kratz retention indices.")
@click.option("--fail-on", type=click.Choice(["identified", "tentative"]), default=None,
              help="Exit 1 when a finding at this level or stronger is found.")
@click.option("--min-snr", type=float, default=10.0, help="Minimum component S/N (height over TIC noise).")
@click.option("--min-height", type=float, default=0.0, help="Minimum component height, counts.")
@click.option("--min-area", type=float, default=0.0, help="Minimum component area, counts x s.")
@click.option("--rt-window", type=(float, float), default=(None, None), metavar="FROM TO",
              show_default="whole run", help="Only components eluting in this window, minutes.")
@click.option("--min-correlation", type=float, default=0.8,
              help="Minimum shape correlation of an ion chromatogram with the component's model peak.")
@click.option("--identified-mf", type=int, default=800, help="EI match factor needed for 'identified' (0-999).")
@click.option("--identified-rmf", type=int, default=850, help="EI reverse match factor needed for 'identified'.")
@click.option("--identified-score", type=int, default=800,
              help="LC-MS/MS score (cosine x 999) needed for 'identified'.")
@click.option("--min-gap", type=int, default=30, help="Score gap to the next different compound for 'identified'.")
@click.option("--tentative-mf", type=int, default=700, help="EI match factor floor for 'tentative'.")
@click.option("--ri-window", type=float, default=30.0, help="Largest |RI - library RI| for 'identified'.")
@click.option("--precursor-tolerance", type=TOLERANCE, default="20 ppm", help="LC-MS/MS precursor window (half-width).")
@click.option("--fragment-tolerance", type=TOLERANCE, default="0.01 Da", help="LC-MS/MS fragment tolerance.")
@click.option("--ms2-rt-tolerance", type=float, default=30.0,
              help="LC-MS/MS: scans of one precursor further apart (s) are separate groups.")
@click.option("--top-k", type=click.IntRange(1, 50), default=5, help="Library hits kept per component.")
@click.option("--no-analogue", is_flag=True, help="Do not search poor identity matches in analogue mode.")
@click.option("--report", "report_formats", multiple=True,
              type=click.Choice(["html", "pdf", "ewa", "csv", "tsv", "json"]),
              help="Also write a report per run in this format (repeatable) into -o DIR "
                   "(default: the current folder). See 'nps-id report --help'.")
@click.option("--sample-info", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="TOML with laboratory, analyst and sample details for --report.")
@lenient_option
def match(runs, library, output_dir, json_file, blank, alkanes, fail_on, min_snr, min_height, min_area,
          rt_window, min_correlation, identified_mf, identified_rmf, identified_score, min_gap, tentative_mf,
          ri_window, precursor_tolerance, fragment_tolerance, ms2_rt_tolerance, top_k, no_analogue,
          report_formats, sample_info, lenient) -> None:
    """Find and identify the compounds in chromatographic runs (GC-MS or LC-MS/MS).

    Each run (mzML, mzXML, ANDI netCDF, JCAMP-DX, MS1/MS2 text) is deconvoluted into
    components (GC) or consensus MS2 spectra (LC), searched against the library, and every
    finding gets a verdict -- identified, tentative or inconclusive -- with the criteria it met
    and failed. Default thresholds are in docs/match.md and in every results file.
    """
    from dataclasses import replace

    from nps_id._atomic import atomic_output
    from nps_id.gcms.deconvolution import DeconvolutionParameters
    from nps_id.gcms.peaks import PeakParameters
    from nps_id.match.pipeline import MatchParameters, match_files
    from nps_id.match.verdict import VerdictThresholds, at_least

    params = MatchParameters(
        peaks=PeakParameters(min_snr=min_snr, min_height=min_height, min_area=min_area,
                             rt_min_minutes=rt_window[0], rt_max_minutes=rt_window[1]),
        deconvolution=replace(DeconvolutionParameters(), min_shape_correlation=min_correlation),
        verdict=replace(VerdictThresholds(), identified_mf=identified_mf, identified_rmf=identified_rmf,
                        identified_score=identified_score, min_gap=min_gap, tentative_mf=tentative_mf,
                        ri_window=ri_window),
        top_k=top_k,
        analogue=not no_analogue,
        precursor_tolerance=precursor_tolerance,
        fragment_tolerance=fragment_tolerance,
        ms2_rt_tolerance_seconds=ms2_rt_tolerance,
    )
    all_results = []
    library_path = resolve_library(library)
    for path, results in match_files(list(runs), library_path, params, blank=blank,
                                     alkanes=alkanes, lenient=lenient):
        all_results.append(results)
        if output_dir is not None:
            _write_json(output_dir / f"{path.name}.match.json", results, atomic_output)
        if report_formats:
            from nps_id.report import write_reports

            for written in write_reports(results, report_formats, output_dir or Path("."), sample_info,
                                         library_path=library_path, command_line=shlex.join(sys.argv)):
                click.echo(f"wrote {written}", err=True)
        if json_file is None or str(json_file) != "-":
            click.echo(format_table(results))
    if json_file is not None:
        payload = all_results[0] if len(all_results) == 1 else {"runs": all_results}
        if str(json_file) == "-":
            click.echo(json.dumps(payload, indent=1))
        else:
            _write_json(json_file, payload, atomic_output)
    if fail_on and any(at_least(f["verdict"], fail_on) for r in all_results for f in r["findings"]):
        click.get_current_context().exit(EXIT_FOUND)


def _write_json(target: Path, payload: dict, atomic_output) -> None:
    with atomic_output(target) as tmp:
        tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def format_table(results: dict) -> str:
    """The terminal summary of one run's results."""
    run, lib = results["run"], results["library"]
    rt = run["rt_range_min"] or [0, 0]
    lines = [
        f"{run['file']}: {run['technique']}, {run['n_scans']} scans, {rt[0]:.2f}-{rt[1]:.2f} min, "
        f"{len(results['components'])} components; library {lib['name']} {lib['release']}",
    ]
    findings = results["findings"]
    if not findings:
        lines.append("  no findings")
        return "\n".join(lines)
    lines.append(f"  {'RT min':>7} {'RI':>6}  {'verdict':<12} {'name':<30} {'score':>5} {'MF':>4} {'RMF':>4} "
                 f"{'gap':>4}  runner-up (score)")
    for f in findings:
        runner = f["runner_up"]
        runner_text = f"{runner['name'][:28]} ({runner['score']})" if runner else "-"
        ri = f"{f['ri']:.0f}" if f.get("ri") is not None else "-"
        flag = " [isomer alert]" if f["isomer_alert"] else ""
        name = f["name"] if f["match_mode"] == "identity" else f"analogue of {f['name']}"
        lines.append(
            f"  {f['rt_min']:>7.3f} {ri:>6}  {f['verdict']:<12} {name[:30]:<30} {_num(f['score']):>5} {_num(f['mf']):>4} "
            f"{_num(f['rmf']):>4} {_num(f['gap']):>4}  {runner_text}{flag}"
        )
    counts = ", ".join(f"{n} {level}" for level, n in results["summary"].items())
    lines.append(f"  ({counts})")
    return "\n".join(lines)


def _num(value) -> str:
    return "-" if value is None else str(value)

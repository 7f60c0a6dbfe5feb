"""``nps-id match``: find, deconvolute and identify the compounds of GC-MS / LC-MS/MS runs.

The command parses options into :class:`~nps_id.match.parameters.MatchParameters`, calls
:func:`~nps_id.match.pipeline.match_files`, writes the results JSON (atomically) and prints a
table. Verdict rules, thresholds and the JSON contract: ``docs/match.md``.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from nps_id.commands.match_options import match_settings_options
from nps_id.commands.options import (lenient_option, library_option, refuse_output_onto_inputs, resolve_library,
                                     typed_command_line)
from nps_id.errors import EXIT_FOUND, InputError
from nps_id.match.verdict import IDENTIFIED, ISOMER_NOT_EXCLUDED, TENTATIVE, RuleId, held_words
from nps_id.report import FORMATS as REPORT_FORMATS

_EPILOG = """\b
Examples:
  nps-id match 220223030.mzML --library swgdrug.h5
  nps-id match runs/*.mzML -l swgdrug.h5 -o results/ --blank runs/220223001.mzML
  nps-id match sample.cdf -l swgdrug.h5 --alkanes alkanes.csv --json sample.json --fail-on identified
  nps-id match 220223030.mzML -l swgdrug.h5 --blank 220223001.mzML --internal-standard bupivacaine@6.51 \\
      --reference-standard 220223010.mzML etizolam

\b
The printed table, one row per finding (fields: docs/match.md, "Results JSON"):
  score    the hit's ranking score, 0-999: EI the match factor, MS/MS --ms2-score x 999;
           an analogue row the analogue score (similarity plus the NPS mass prior)
  MF RMF   EI match factor and reverse match factor, 0-999 (- for MS/MS)
  gap      score minus the best different compound's (- when none scored)
  runner-up (score)  that best different compound; "next closest: X (score)" on a row whose
           hit names no substance (an unknown's, an analogue's): a second library compound
           near the spectrum, for orientation only, not a second candidate identity
  "suspected new substance": no library compound explains the spectrum and a learned model
           reading it and its closest compounds (MS/MS: their vote first) names an NPS group
           (at the row's end), only when probable: a lead to check, not an identification;
           with the model's probability (its confidence, not a measured rate) and how often a
           group of its band was right in the tests: on the development data, EI: SWGDRUG
           compounds left out of the library (docs/match.md, "New substances")
  "unknown compound": no library compound explains it and no NPS group is indicated
           (a compound the library lacks, not necessarily an NPS, or a spectrum too weak or
           mixed); in both, the library hit named at the row's end (whose score the score
           column shows) is for orientation only,
           and the verdict is its library search's ("tentative": a relative of that hit,
           "inconclusive": nothing matches well enough), not an identification
  [...]    at the end of a row whose hit is not identified: the rule that held it back
           ("weak match", "HRMS criteria not met", "isomer not excluded", ...; the results'
           rule and criteria_failed say which criteria failed)
  "HRMS criteria not met": an LC-MS/MS spectrum that matches, but whose precursor's MS1 peak,
           exact mass or matched product ions fall short (criteria_failed says which); a
           unit-resolution run's (product ions written to at most 1 decimal) never meet them,
           so its findings stay tentative (an accurate-mass, HRMS, run of the sample can meet them)
  "isomer not excluded": the substance is the hit or an isomer its spectrum cannot tell from it
           (a ring position, a moved methyl, ...: perhaps one no library holds, a new substance);
           "[isomer not excluded: the hit or a heavier compound]": an EI spectrum without an ion at
           the hit's mass, which a heavier compound's fragments can give; "... or a compound of
           another formula within the precision of the precursor m/z]": an MS/MS precursor m/z
           written to fewer than 3 decimals, which does not establish the formula (an accurate one would);
           "... the hit or a homologue (one or two CH2 more or fewer)]": an EI spectrum of a long-chain
           hit that shows neither its molecular ion nor a homologue's, 14 / 28 u away (either would tell);
           a reference standard of the hit run at the same RT (--reference-standard; LC-MS/MS:
           with >= 2 of its product ions and the HRMS criteria met, so never on a unit-resolution
           run), or on GC a retention index within the window of the library's (--alkanes),
           excludes them

\b
Exit codes: 0 ran (whatever was found), 1 --fail-on matched (the findings named on stderr; the
internal standard never counts; the --blank run's own findings do, named as the blank's), 3 bad
input (also: an output onto an input, or -o results of another analysis without --overwrite, or
results holding a number JSON cannot -- NaN, infinity -- which are not written; a run or --blank
that changed while it was read, as one still being written, or vanished: nothing written for it,
match it again once the file is complete), 4 bad library.
"""


@click.command("match", epilog=_EPILOG)
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@library_option
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write one results JSON per run here, named after the run file (220223030.mzML.match.json).")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default=None, help="Write all results to one JSON file ('-' = stdout; one run: its results, "
              "several: {'runs': [...]}).")
@click.option("--blank", type=click.Path(exists=True, path_type=Path), default=None,
              help="Blank run (same method): components it also shows are removed. Among RUNS (a folder "
                   "glob), the blank itself is matched without subtraction, with a note. GC-MS only: an LC-MS/MS "
                   "run is not blank-subtracted (a note says so); a blank of another technique than a run's "
                   "is bad input (exit 3).")
@click.option("--alkanes", type=click.Path(exists=True, path_type=Path), default=None,
              help="n-alkane ladder: CSV of carbon number and RT (rt in min or rt_s), or a ladder run; "
              "gives van den Dool-Kratz retention indices.")
@click.option("--reference-standard", "reference_standards", type=(click.Path(exists=True, path_type=Path), str),
              multiple=True, metavar="RUN NAME",
              help="A run of a reference standard (same method; another technique is exit 3) and the substance in it: findings of that "
                   "substance get its RT (and RI) against the standard's, within --standard-rt-window; "
                   "within it, the isomers the spectrum cannot tell apart are excluded. LC-MS/MS: it "
                   "confirms only with >= 2 of the standard's product ions (>= 10 % of its base) matched "
                   "and the HRMS criteria met: a unit-resolution run's finding stays tentative, the "
                   "comparison listed in its criteria (docs/match.md). Repeatable.")
@click.option("--fail-on", type=click.Choice([IDENTIFIED.value, TENTATIVE.value]), default=None,
              help="Exit 1 when a finding at this level or stronger is found, naming those findings in one "
                   "line on stderr; the --internal-standard's findings do not count. The --blank run's own "
                   "findings (the blank among RUNS) do count -- a drug in the blank is carry-over or "
                   "contamination, a QA failure -- and the line names them as the blank's.")
@match_settings_options
@click.option("--report", "report_formats", multiple=True,
              type=click.Choice(REPORT_FORMATS),
              help="Also write a report per run in this format (repeatable) into -o DIR "
                   "(default: the current folder), named by the run's stem (220223030.report.html, "
                   "220223030.ewa.csv), with the report document (220223030.report.json) to re-render "
                   "it. See 'nps-id report --help'.")
@click.option("--sample-info", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="TOML with laboratory, analyst and sample details for --report (docs/card.toml); its "
                   "[item] reference_standards_run entries { name, run } are matched as --reference-standard.")
@click.option("--overwrite", is_flag=True,
              help="Replace results in -o DIR made from another run, other settings or another library "
                   "(without it such a file is refused; an identical re-run always rewrites its own).")
@lenient_option
def match(runs, library, output_dir, json_file, blank, alkanes, reference_standards, fail_on, match_parameters,
          report_formats, sample_info, overwrite, lenient) -> None:
    """Find and identify the compounds in chromatographic runs (GC-MS or LC-MS/MS).

    Each run (mzML, mzXML, ANDI netCDF, JCAMP-DX, MS1/MS2 text, Agilent .D folder) is
    deconvoluted into components (GC) or consensus MS2 spectra (LC), searched against the
    library, and every finding gets a verdict -- identified, tentative or inconclusive -- with
    the criteria it met and failed. Default thresholds are in docs/match.md and in every
    results file.
    """
    from nps_id.match.pipeline import match_files
    from nps_id.match.results import results_json, write_results_json
    from nps_id.match.standards import ReferenceStandard
    from nps_id.match.verdict import at_least

    from nps_id.report import render_reports, report_paths, write_files

    if output_dir is not None or report_formats:
        _refuse_output_clashes(runs, bool(report_formats))
    if sample_info is not None:  # the card's reference standard runs: as if given on the command line
        from nps_id.report.inputs import load_sample_info, sample_reference_standards

        given = {_standard_key(s) for s in reference_standards}
        reference_standards = (*reference_standards, *(s for s in sample_reference_standards(
            load_sample_info(sample_info), sample_info) if _standard_key(s) not in given))
    all_results = []
    library_path = resolve_library(library)
    report_dir = output_dir or Path(".")
    outputs = [json_file] + ([p for run in runs for p in report_paths(run.stem, report_formats, report_dir)]
                             if report_formats else [])
    outputs += [output_dir / f"{run.name}.match.json" for run in runs] if output_dir is not None else []
    refuse_output_onto_inputs(outputs, [*runs, blank, alkanes, sample_info, library_path,
                                        *(run for run, _ in reference_standards)])
    standards = [ReferenceStandard(str(run), name) for run, name in reference_standards]
    command_line = typed_command_line()
    for path, results in match_files(list(runs), library_path, match_parameters, blank=blank,
                                     alkanes=alkanes, lenient=lenient, reference_standards=standards):
        if output_dir is not None and not overwrite and not all_results:
            _refuse_replacing_any(runs, output_dir, results)
        if command_line:  # the report shows how the analysis was run
            results["command_line"] = command_line
        all_results.append(results)
        for note in results["notes"]:
            click.echo(f"note: {path.name}: {note}", err=True)
        # every report rendered before the first file is replaced: a run stopped while one renders
        # leaves the earlier analysis's files together, not its HTML beside this one's JSON
        reports = render_reports(results, report_formats, report_dir, sample_info, library_path=library_path,
                                 command_line=command_line) if report_formats else {}
        # the results and their reports as one set: a report that cannot be written (a full
        # disk) replaces no results either
        results_file = ({output_dir / f"{path.name}.match.json": (results_json(results) + "\n").encode("utf-8")}
                        if output_dir is not None else {})
        for written in write_files({**results_file, **reports}):
            if written not in results_file:
                click.echo(f"wrote {written}", err=True)
        if json_file is None or str(json_file) != "-":
            click.echo(format_table(results))
    if json_file is not None:
        payload = all_results[0] if len(all_results) == 1 else {"runs": all_results}
        if str(json_file) == "-":
            click.echo(results_json(payload))
        else:
            write_results_json(payload, Path(json_file))
    if fail_on:
        # the internal standard is in every vial by design: it never trips the gate
        # the blank's own findings count too: a drug in the blank is carry-over or contamination, a QA
        # failure a script must catch -- named as the blank's, never as what a sample contains
        found = [(r, f) for r in all_results for f in r["findings"]
                 if at_least(f["verdict"], fail_on) and f.get("role") != "internal_standard"]
        if found:
            click.echo(f"nps-id: --fail-on {fail_on}: {_fail_on_list(found)}", err=True)
            click.get_current_context().exit(EXIT_FOUND)


def _fail_on_list(found: list[tuple[dict, dict]]) -> str:
    """The findings that made ``--fail-on`` exit 1, as the table names them: run, name, verdict, RT;
    those of the ``--blank`` run itself marked as the blank's (carry-over or contamination)."""
    from nps_id.match.results import is_blank_run
    from nps_id.report.findings import finding_label
    from nps_id._words import counted

    def run_label(results: dict) -> str:
        return results["run"]["file"] + (" (the --blank run: carry-over or contamination)"
                                         if is_blank_run(results) else "")

    named = "; ".join(f"{run_label(r)}: {finding_label(f)} ({f['verdict']}"
                      + ("" if f["rt_min"] is None else f", {f['rt_min']:.3f} min") + ")" for r, f in found)
    in_blank = sum(is_blank_run(r) for r, _ in found)
    blank = f" ({in_blank} of them in the --blank run itself, not a sample's)" if in_blank else ""
    return f"{counted(len(found), 'finding')} at this level or stronger{blank}: {named}"


def _standard_key(standard: tuple[Path, str]) -> tuple[Path, str]:
    """A reference standard named on the command line and in the card is matched once."""
    from nps_id.compound import normalise_name

    return standard[0].resolve(), normalise_name(standard[1])


def _refuse_output_clashes(runs: tuple[Path, ...], reports: bool) -> None:
    """Stop before any work when two different runs would write the same output file.

    Outputs are named after the run (``x.mzML.match.json``; reports after its stem, ``x.report.html``),
    so ``a/x.mzML`` and ``b/x.mzML`` -- or ``x.mzML`` and ``x.D`` with ``--report`` -- would
    silently overwrite one another's results. The same run named twice is not a clash.
    """
    seen: dict[str, Path] = {}
    for run in runs:
        names = [f"{run.name}.match.json"] + ([f"{run.stem}.report.json"] if reports else [])
        for name in names:
            other = seen.setdefault(name, run)
            if other.resolve() != run.resolve():
                raise click.UsageError(f"runs {other} and {run} would both write {name}; "
                                       "match them into different output folders (or use nps-id batch)")


#: What makes two results "the same analysis": the run's content, the settings, the library's content.
_IDENTITY = (("run", "sha256"), ("parameters",), ("library", "sha256"))


def refuse_replacing_other_results(target: Path, results: dict) -> None:
    """Stop (exit 3) before ``target`` -- results of an earlier ``match -o`` -- is replaced by
    results of another run, other settings or another library; an identical re-run may replace it.
    """
    if not target.exists():
        return
    try:
        old = json.loads(target.read_text(encoding="utf-8-sig"))  # -sig: a BOM from a Windows editor
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: {"a":{"a":... nested deep
        old = None
    differ = [".".join(key) for key in _IDENTITY
              if not isinstance(old, dict) or _lookup(old, key) != _lookup(results, key)]
    if differ:
        raise InputError(f"{target}: holds earlier results of another analysis (different {', '.join(differ)}); "
                         "give --overwrite to replace them, or another -o folder")


def _refuse_replacing_any(runs: tuple[Path, ...], output_dir: Path, first: dict) -> None:
    """:func:`refuse_replacing_other_results` for every run's results file, before the first is
    written: the settings and the library of one ``match`` are every run's (the first run's
    results say what they are), and each run's own content is its file's SHA-256."""
    from nps_id._hashing import sha256_path

    for run in runs:
        target = output_dir / f"{run.name}.match.json"
        if target.exists():
            refuse_replacing_other_results(target, {**first, "run": {"sha256": sha256_path(run).sha256}})


def _lookup(data: dict, key: tuple[str, ...]):
    for part in key:
        data = data.get(part) if isinstance(data, dict) else None
    # Compared as JSON, as written (tuples and lists alike).
    return json.loads(json.dumps(data, default=str))


def _group_text(finding: dict) -> str:
    """A suspected group as the table shows it: with the group model's probability when the model named
    it (a lead at 0.53 and one at 0.99 read the same otherwise) and, short, how often a group of its band
    was right in the tests (a chemist reads this table first; a bare probability reads as a rate) --
    the reports' longer :func:`~nps_id.report.present.group_band_rate`."""
    from nps_id.report.present import group_band_short

    probability = finding.get("suspected_group_probability")
    group = finding["suspected_group"]
    if probability is None:
        return group
    # an LC-MS/MS finding's own field ("lc" is the reports', never the results')
    rate = group_band_short(probability, "precursor_mz" in finding)
    # three decimals, as the findings hold it: 0.597 in two read "0.60 (at 0.56-0.6 ...)"
    return f"{group}, group model's probability {probability:.3f} ({rate})"


def format_table(results: dict) -> str:
    """The terminal summary of one run's results."""
    from nps_id.report.findings import NEW_SUBSTANCE, UNKNOWN_COMPOUND, UNKNOWN_COMPOUND_NOTE, is_unknown_compound
    from nps_id._words import counted
    from nps_id.report.present import clipped_apart

    run, lib = results["run"], results["library"]
    rt = run["rt_range_min"]
    times = f"{rt[0]:.2f}-{rt[1]:.2f} min" if rt else "no retention times"
    lines = [
        f"{run['file']}: {run['technique']}, {counted(run['n_scans'], 'scan')}, {times}, "
        f"{counted(len(results['components']), 'component')}; library {lib['name']} {lib['release']}",
    ]
    blank = results.get("blank")
    if blank:
        removed = ", ".join(f"{c['rt_min']:.3f}" for c in results["blank_subtracted"])
        lines.append(f"  blank {blank['file']}: removed {blank['n_removed']} of the run's components"
                     + (f" (RT {removed} min)" if removed else " (its note says why)"))
    for check in results.get("internal_standards", []):
        where = (f"found at {check['rt_min']:.3f} min" if check["found"] else "NOT FOUND")
        if check["found"] and check["expected_rt_min"] is not None:
            where += (f", {check['delta_rt_min']:+.3f} min from the expected {check['expected_rt_min']:.3f}"
                      f" ({'within' if check['within'] else 'OUTSIDE'} +/-{check['rt_window_min']:g})")
        lines.append(f"  internal standard {check['name']}: {where}")
    for standard in results.get("reference_standards", []):
        where = f"at {standard['rt_min']:.3f} min" if standard["found"] else "substance NOT FOUND in it"
        if standard.get("same_run"):  # match_run confirms nothing with it (stop 36)
            where += " -- the run matched itself: its findings are compared with themselves, not with an " \
                     "independent standard, and it is not used as confirmation"
        lines.append(f"  reference standard {standard['name']}: run {standard['run']}, {where}")
    findings = results["findings"]
    if not findings:
        lines.append("  no findings")
        return "\n".join(lines)
    lines.append(f"  {'RT min':>7} {'RI':>6}  {'verdict':<12} {'name':<30} {'score':>5} {'MF':>4} {'RMF':>4} "
                 f"{'gap':>4}  runner-up (score)")
    for f in findings:
        runner = f["runner_up"]
        runner_text = f"{clipped_apart(runner['name'], f['name'], 28)} ({runner['score']})" if runner else "-"
        if runner and (f.get("new_substance") or f["match_mode"] != "identity"):
            # the hit names no substance here, so neither does the one after it: "runner-up" read as the
            # second candidate identity of an analogue row (stop 36, a new user on the PestMix slice)
            runner_text = f"next closest: {runner_text}"
        ri = f"{f['ri']:.0f}" if f.get("ri") is not None else "-"
        # what the verdict column alone hides: why a good hit is held back, or that it names no compound
        flag = (" [isomer alert]" if f["isomer_alert"] else "") + _held_back(f)
        name = f["name"] if f["match_mode"] == "identity" else f"analogue of {f['name']}"
        if f.get("new_substance"):
            # never under a library compound's name (as in the reports): the best hit only for orientation
            unknown = is_unknown_compound(f)
            # the score column is that hit's: "unknown compound 982" read as the unknown's score (stop 38, newuser38)
            flag += f" [{UNKNOWN_COMPOUND_NOTE if unknown else _group_text(f)}; the score is of the closest library hit: {f['name']}]"
            name = UNKNOWN_COMPOUND if unknown else NEW_SUBSTANCE
        if f.get("role") == "internal_standard":
            name += " (IS)"
        lines.append(
            f"  {'-' if f['rt_min'] is None else format(f['rt_min'], '.3f'):>7} {ri:>6}  {f['verdict']:<12} {clipped_apart(name, runner and runner['name'], 30):<30} {_num(f['score']):>5} {_num(f['mf']):>4} "
            f"{_num(f['rmf']):>4} {_num(f['gap']):>4}  {runner_text}{flag}"
        )
    counts = ", ".join(f"{n} {level}" for level, n in results["summary"].items())
    lines.append(f"  ({counts})")
    return "\n".join(lines)


def _held_back(finding: dict) -> str:
    """The rule's name on a library hit's row that is not `identified`: "tentative 928" alone left a
    new user asking why (stop 40: PestMix fluopicolide, "HRMS criteria not met"; card 030's
    benzocaine, "weak match"). A new-substance row says what it is instead, an isomer alert already."""
    if finding["rule_id"] == RuleId.ISOMER_NOT_EXCLUDED:
        # "isomer not excluded" alone read as an isomer of 1,3-diacetin for triacetin's spectrum, which is
        # held for showing no ion at the hit's mass (stop 47, newuser47): say what else it may be then
        other = held_words(finding.get("held_by") or ())  # results before stop 48 have none
        return f" [{ISOMER_NOT_EXCLUDED}" + (f": the hit or {other}]" if other else "]")
    if (finding["verdict"] == IDENTIFIED or finding.get("new_substance")
            or (finding["rule_id"] == RuleId.ISOMER_AMBIGUITY and finding["isomer_alert"])):
        return ""
    return f" [{finding['rule'].split(':', 1)[0]}]"


def _num(value) -> str:
    return "-" if value is None else str(value)

"""``nps-id report``: render a ``nps-id match`` results JSON as an analyst report or an export.

The command parses the sample details (options over ``--sample-info`` TOML, never guessed),
calls :func:`nps_id.report.prepare_document` and :func:`nps_id.report.write_files`, and
prints what it wrote. Formats and the report schema: ``docs/report-schema.md``.
"""
from __future__ import annotations

from pathlib import Path

import click

from nps_id.commands.options import refuse_output_onto_inputs, typed_command_line
from nps_id.report import FORMATS, prepare_document, rendered_files, rendered_paths, write_files
from nps_id.report.document import NATURES, STATUSES
from nps_id.report.present import summary_line

_EPILOG = """\b
Examples:
  nps-id report results/220223030.mzML.match.json -f html -o 220223030.html --sample-info docs/card.toml \\
      --json 220223030.report.json
  nps-id report results/220223030.mzML.match.json -f ewa -o ewa/220223030 --allow-draft --country GB \\
      --laboratory "Example Lab" --internal-standard Bupivacaine   # a draft: rows marked DRAFT
  nps-id report 220223030.report.json -f pdf -o 220223030.pdf   # re-render a saved report

\b
Formats: html, pdf (the analyst report), ewa (CSV + JSON prepared for the UNODC EWA),
csv / tsv (one row per finding, for a LIMS), json (the report document itself).
Suspected new substances (no library compound explains the spectrum; its closest compounds or ions
point to an NPS group): reported and exported by their group only, never under a library compound's
name, with the estimated nominal mass (inferred, not measured), the closest known compounds and,
where the learned group model named the group, its probability -- the model's confidence, not a
measured rate: the report and the EWA export
(column suspected_group_probability, described in the export JSON's "fields") say how often a
group of its band was right for the finding's technique, as the LIMS row does (columns
suspected_group_probability and suspected_group_band_rate, since stop 44). A lead to check, not an identification. An unknown compound of no NPS group
is in the report, never in the EWA export.
Sign-off (--status reviewed, named analyst and reviewer with signing times): README.md,
"Reports and early-warning export".
Exit codes: 0 written; 3 bad input (also: an output onto an input, a reviewed/authorized report
without signatures, an EWA export of a draft without --allow-draft); 4 library missing, moved
or changed (pass the same library with --library).
"""


@click.command("report", epilog=_EPILOG)
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
              show_default="from the -o suffix (.html .pdf .csv .tsv .json), else html",
              help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output file (ewa: OUTPUT.csv and OUTPUT.json; a report is files, never standard output).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the report document (JSON) here, to re-render it later.")
@click.option("--sample-info", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="TOML with [laboratory] [analyst] [reviewer] [item] [report] tables (docs/report-schema.md).")
@click.option("--analyst", default=None, help="Analyst name.")
@click.option("--analyst-signed-at", default=None, metavar="ISO8601",
              help="When the analyst signed (ISO 8601 with zone); needed for --status reviewed/authorized.")
@click.option("--reviewer", default=None, help="Reviewer name.")
@click.option("--reviewer-signed-at", default=None, metavar="ISO8601",
              help="When the reviewer signed (ISO 8601 with zone, not before the analyst).")
@click.option("--laboratory", default=None, help="Laboratory name.")
@click.option("--country", default=None, help="Laboratory country, ISO 3166-1 alpha-2 (e.g. GB).")
@click.option("--contact", default=None, help="Laboratory contact (EWA export).")
@click.option("--lab-sample-id", default=None, help="Laboratory sample id.")
@click.option("--case-id", default=None, help="Case id.")
@click.option("--nature", type=click.Choice(NATURES), default=None, help="Nature of the sample.")
@click.option("--date-received", default=None, metavar="YYYY-MM-DD", help="Date the item was received.")
@click.option("--country-of-seizure", default=None, help="ISO 3166-1 alpha-2 country of seizure.")
@click.option("--physical-form", default=None, help="Physical form (powder, tablet, paper card, ...).")
@click.option("--internal-standard", "internal_standards", multiple=True,
              help="Substance added by the laboratory (repeatable); never exported to the EWA.")
@click.option("--reference-standard", "reference_standards", multiple=True,
              help="Substance whose reference standard was run in the batch (a name, repeatable; comparing "
                   "the RT with that run is `nps-id match --reference-standard RUN NAME`).")
@click.option("--status", type=click.Choice(STATUSES), default=None, show_default="draft",
              help="Report status; reviewed/authorized need a named analyst and reviewer with signing times "
                   "not before the analysis.")
@click.option("--allow-draft", is_flag=True,
              help="Let -f ewa export a draft (marked DRAFT); without it a draft is not exported.")
@click.option("--report-id", default=None, show_default="derived from the results and the sample details",
              help="Report id (UUID); every format built from the same analysis gets the same one.")
@click.option("--issued-at", default=None, show_default="now (UTC)", help="Issue date-time, ISO 8601 with zone.")
@click.option("--library", "-l", "library", type=click.Path(dir_okay=False, path_type=Path), default=None,
              show_default="the library named in the results",
              help="Library for the mirror-plot reference spectra (its SHA-256 must match the results); "
                   "when the library the results name has moved and this is not given: exit 4.")
@click.option("--ewa-overrides", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Laboratory CSV key,group[,subclass,nps] overriding EWA groups (key: name or InChIKey).")
def report(results, fmt, output, json_out, sample_info, analyst, analyst_signed_at, reviewer, reviewer_signed_at,
           laboratory, country, contact, lab_sample_id, case_id, nature, date_received, country_of_seizure,
           physical_form, internal_standards, reference_standards, status, allow_draft, report_id, issued_at,
           library, ewa_overrides) -> None:
    """Render a match results JSON as an HTML/PDF report, an EWA export or a LIMS table."""
    fmt = fmt or _SUFFIX_FORMATS.get(output.suffix.lower(), "html")
    options = {
        "laboratory": {"name": laboratory, "country": country, "contact": contact},
        "analyst": {"name": analyst, "signed_at": analyst_signed_at},
        "reviewer": {"name": reviewer, "signed_at": reviewer_signed_at},
        "item": {"lab_sample_id": lab_sample_id, "case_id": case_id, "nature": nature,
                 "date_received": date_received, "country_of_seizure": country_of_seizure,
                 "physical_form": physical_form, "internal_standards": list(internal_standards),
                 "reference_standards_run": list(reference_standards) or None},
        "report": {"status": status, "report_id": report_id, "issued_at": issued_at},
    }
    for given, name in ((output, "-o"), (json_out, "--json")):
        if given is not None and str(given) == "-":  # `match --json -` means stdout; a report is files
            raise click.UsageError(f"{name} -: a report is written to files (a PDF, an EWA CSV and JSON pair), "
                                   "not to standard output; give a file name")
    if json_out is not None and json_out.resolve() in {p.resolve() for p in rendered_paths(fmt, output)}:
        raise click.UsageError(f"--json {json_out} is also an output of -f {fmt} -o {output}; name another file")
    refuse_output_onto_inputs([*rendered_paths(fmt, output), json_out],
                              [results, sample_info, library, ewa_overrides])
    _refuse_a_suffix_of_another_format(fmt, output)
    doc = prepare_document(results, options, sample_info_file=sample_info, library_path=library,
                           overrides_file=ewa_overrides, command_line=typed_command_line())
    files = rendered_files(doc, fmt, output, allow_draft=allow_draft)
    if json_out is not None:
        files.update(rendered_files(doc, "json", json_out))
    written = write_files(files)  # one set: a --json that cannot be written replaces no report either
    click.echo(f"report {doc['report_id']} ({doc['status']}): {summary_line(doc)}")
    for path in written:  # where the files went: a diagnostic, on stderr as `match` says it
        click.echo(f"wrote {path}", err=True)


#: Output suffixes that name a format (``-f ewa`` writes two files from one stem: none).
_SUFFIX_FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf", ".csv": "csv", ".tsv": "tsv", ".json": "json"}


def _refuse_a_suffix_of_another_format(fmt: str, output: Path) -> None:
    """``-o report.pdf`` holding HTML would mislead whoever opens it: a suffix naming another
    format than ``-f`` is a usage error (without ``-f`` the suffix chose the format)."""
    named = _SUFFIX_FORMATS.get(output.suffix.lower())
    if named is not None and named != fmt and fmt != "ewa":
        raise click.UsageError(f"-o {output} names a {named} file but -f is {fmt}; "
                               f"use -f {named} or another file name")

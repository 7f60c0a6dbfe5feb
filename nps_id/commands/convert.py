"""``nps-id convert``: any readable spectrum file to MSP, MGF or mzML.

Entry point: the click command :data:`convert`. Reading is :func:`nps_id.io.read`, writing
:func:`nps_id.io.write` (atomic: an interrupted conversion leaves no partial output).
"""
from __future__ import annotations

import csv
import itertools
from pathlib import Path

import click

from nps_id.commands.options import lenient_option, refuse_output_onto_inputs

_EPILOG = """\b
Examples:
  nps-id convert ../shared/data/gcms/lrcfs/agilent-D/220223030.D -o 220223030.mzML
  nps-id convert ../shared/data/gcms/andi/agilent-gcms.cdf -o run.mgf
  nps-id convert queries.mgf -o queries.msp --lenient     # bad records -> queries.msp.quarantine.tsv

\b
The output format follows the extension of OUT (.msp, .mgf, .mzML) unless --to is given.
Exit codes: 0 written, 3 unreadable input or nothing to write.
"""

QUARANTINE_SUFFIX = ".quarantine.tsv"


@click.command("convert", epilog=_EPILOG)
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (.msp, .mgf or .mzML).")
@click.option("--to", "out_format", type=click.Choice(["msp", "mgf", "mzml"], case_sensitive=False),
              default=None, help="Output format, when the extension of OUT does not say.")
@click.option("--ms-level", type=click.IntRange(min=1), default=None,
              help="Only spectra of this MS level (default: all).")
@lenient_option
def convert(source: Path, output: Path, out_format: str | None, ms_level: int | None, lenient: bool) -> None:
    """Convert spectra from any readable format to MSP, MGF or mzML.

    Every spectrum with its metadata (retention time, precursor, scan ids, names, ...) is
    carried over as far as the output format can hold it. With --lenient, malformed records are
    skipped and listed in OUT.quarantine.tsv, always written (the header only, and "0 records
    quarantined" said, when none was).
    """
    from nps_id.commands.inspect import with_progress
    from nps_id.errors import InputError
    from nps_id.spectrum import spectra_count
    from nps_id.io import ReadReport, read, skipped_text, write

    refuse_output_onto_inputs([output, quarantine_path(output) if lenient else None], [source])
    report = ReadReport(str(source))
    spectra = read(source, lenient=lenient, report=report)
    if ms_level is not None:
        spectra = _only_level(spectra, ms_level, report)
    spectra = with_progress(spectra, source)
    first = next(spectra, None)  # refuse before creating OUT when there is nothing to write
    if first is None:
        what = skipped_text(report.skipped)
        level = f" at MS level {ms_level}" if ms_level is not None else ""
        raise InputError(f"{source}: no mass spectra{level} to write (skipped: {what})")
    count = write(itertools.chain([first], spectra), output, format=out_format.lower() if out_format else None)
    # no output goes to stdout: what was written and skipped are diagnostics, on stderr
    click.echo(f"wrote {spectra_count(count)} to {output}", err=True)
    skipped = {reason: n for reason, n in report.skipped.items() if reason != "malformed record"}
    if skipped:
        click.echo("skipped: " + skipped_text(skipped), err=True)
    if lenient:
        # always written (header only when none): a script finds the file it asked for, and no
        # stale list of an earlier conversion stays beside this output. Said either way, but a
        # clean read in words that do not sound like a fault ("0 malformed records skipped" did).
        quarantine = write_quarantine(report.quarantine, output)
        n = len(report.quarantine)
        click.echo(f"{n} malformed record{'s' if n != 1 else ''} skipped; listed in {quarantine}" if n
                   else f"0 records quarantined ({quarantine}: header only)", err=True)


def _only_level(spectra, ms_level: int, report):
    """Spectra of one MS level; the others are counted in ``report`` like any skip."""
    for spectrum in spectra:
        if spectrum.ms_level == ms_level:
            yield spectrum
        else:
            report.skip(f"ms level {spectrum.ms_level} (--ms-level {ms_level})")


def quarantine_path(output: Path) -> Path:
    """``OUT.quarantine.tsv``: where --lenient lists the records it skipped."""
    return output.with_name(output.name + QUARANTINE_SUFFIX)


def write_quarantine(records: list[dict], output: Path) -> Path:
    """Write the quarantined records as ``OUT.quarantine.tsv`` (header only when none; records
    numbered from 1, as in the messages)."""
    from nps_id._atomic import atomic_output
    from nps_id.errors import record_number

    target = quarantine_path(output)
    columns = ["file", "record", "line", "error", "text"]
    with atomic_output(target) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            record = {**record, "record": None if record.get("record") is None else record_number(record["record"])}
            writer.writerow(["" if record.get(c) is None else " ".join(str(record[c]).split()) for c in columns])
    return target

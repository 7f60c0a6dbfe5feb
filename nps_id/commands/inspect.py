"""``nps-id inspect``: what is in a spectrum file, before anything is searched.

Entry points: the click command :data:`inspect`; :func:`summarise` (one file -> a plain dict,
the same for the text and ``--json`` output); :func:`with_progress` (shared with ``convert``).
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

import click

from nps_id.commands.options import lenient_option

#: Reads of inputs at least this large show a progress bar (when stderr is a terminal).
PROGRESS_MIN_BYTES = 20 * 1024 * 1024

_EPILOG = """\b
Examples:
  nps-id inspect ../shared/data/gcms/lrcfs/220223030.mzML
  nps-id inspect ../shared/data/gcms/lrcfs/agilent-D/220223030.D run.cdf library.msp.gz
  nps-id inspect --json --lenient suspicious.mgf > summary.json

\b
Exit codes: 0 read, 3 a file is unreadable (one line on stderr; --lenient skips bad records).
"""


@click.command("inspect", epilog=_EPILOG)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of per-file summaries.")
@lenient_option
def inspect(files: tuple[Path, ...], as_json: bool, lenient: bool) -> None:
    """Summarise spectrum files: format, spectra per MS level, RT, m/z and precursor ranges.

    Reads every spectrum (any supported format, .gz transparent, Agilent .D folders) and reports
    what was skipped and why (empty scans, chromatograms, malformed records with --lenient).
    """
    summaries = []
    for path in files:
        summary = summarise(path, lenient=lenient)
        if as_json:
            summaries.append(summary)
        else:
            click.echo(format_summary(summary))
    if as_json:
        click.echo(json.dumps(summaries, indent=2))


def summarise(path: str | Path, lenient: bool = False) -> dict[str, Any]:
    """Read ``path`` once and describe it.

    Returns a dict with ``file``, ``format``, ``spectra``, ``peaks``, ``ms_levels``
    (level -> count), ``rt_range_min`` (minutes), ``mz_range``, ``precursor_mz_range`` (each
    ``[low, high]`` or None), ``skipped`` (reason -> count), ``quarantined`` and ``note``.
    """
    from nps_id._words import counted
    from nps_id.errors import NoSpectraError
    from nps_id.io import ReadReport, read
    from nps_id.io.mzml import CHROMATOGRAM_SKIP

    report = ReadReport(str(path))
    levels: Counter = Counter()
    peaks = 0
    rt = _Range()
    mz = _Range()
    precursor = _Range()
    note = None
    try:
        for spectrum in with_progress(read(path, lenient=lenient, report=report), path):
            levels[spectrum.ms_level] += 1
            peaks += len(spectrum)
            mz.add(spectrum.mz[0], spectrum.mz[-1])
            if spectrum.retention_time is not None:
                rt.add(spectrum.retention_time / 60.0)
            if spectrum.precursor_mz is not None:
                precursor.add(spectrum.precursor_mz)
    except NoSpectraError as exc:  # a chromatogram-only ANDI file is read, and holds no spectra
        report.skip(CHROMATOGRAM_SKIP)
        note = exc.detail
    if report.read == 0 and note is None:
        chromatograms = report.skipped.get(CHROMATOGRAM_SKIP, 0)
        note = "no mass spectra in this file" + (f" ({counted(chromatograms, 'chromatogram')})" if chromatograms else "")
    return {
        "file": str(path),
        "format": report.format,
        "spectra": report.read,
        "peaks": peaks,
        "ms_levels": {str(k if k is not None else "unknown"): n for k, n in sorted(levels.items(), key=_level_key)},
        "rt_range_min": rt.value(),
        "mz_range": mz.value(),
        "precursor_mz_range": precursor.value(),
        "skipped": dict(report.skipped),
        "quarantined": len(report.quarantine),
        "note": note,
    }


def _level_key(item: tuple) -> tuple:
    level = item[0]
    return (level is None, level or 0)


class _Range:
    """Running minimum and maximum."""

    def __init__(self) -> None:
        self.low = self.high = None

    def add(self, low: float, high: float | None = None) -> None:
        high = low if high is None else high
        self.low = float(low) if self.low is None else min(self.low, float(low))
        self.high = float(high) if self.high is None else max(self.high, float(high))

    def value(self) -> list[float] | None:
        return None if self.low is None else [self.low, self.high]


def format_summary(summary: dict[str, Any]) -> str:
    """The human-readable block ``inspect`` prints for one file."""
    from nps_id.io import skipped_text

    levels = ", ".join(f"MS{level} {n}" if level != "unknown" else f"level unknown {n}"
                       for level, n in summary["ms_levels"].items())
    rows = [
        ("format", summary["format"]),
        ("spectra", f"{summary['spectra']}" + (f" ({levels})" if levels else "")
         + (f" -- {summary['note']}" if summary["note"] else "")),
        ("peaks", str(summary["peaks"])),
        ("retention time", _span(summary["rt_range_min"], "{:.2f}", " min")),
        ("m/z", _span(summary["mz_range"], "{:.4f}")),
        ("precursor m/z", _span(summary["precursor_mz_range"], "{:.4f}")),
        ("skipped", skipped_text(summary["skipped"])),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join([summary["file"]] + [f"  {name:<{width}}  {value}" for name, value in rows]) + "\n"


def _span(pair: list[float] | None, fmt: str, unit: str = "") -> str:
    if pair is None:
        return "-"
    return f"{fmt.format(pair[0])} - {fmt.format(pair[1])}{unit}"


def with_progress(spectra: Iterable, path: str | Path) -> Iterator:
    """``spectra`` wrapped in a progress bar on stderr for long reads on a terminal, else as is."""
    if not sys.stderr.isatty() or _size(Path(path)) < PROGRESS_MIN_BYTES:
        yield from spectra
        return
    with click.progressbar(spectra, label=f"reading {Path(path).name}", file=sys.stderr,
                           item_show_func=lambda _: None) as bar:
        yield from bar


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size

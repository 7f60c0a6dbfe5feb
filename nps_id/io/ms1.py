"""ProteoWizard / RawXtract MS1 and MS2 text files (``.ms1``, ``.ms2``; McDonald et al. 2004).

Entry point: :func:`read` -- stream :class:`~nps_id.spectrum.Spectrum` objects.

Layout: ``H`` header lines, then per scan an ``S first last [precursor m/z]`` line, ``I key value``
lines (``RTime``/``RetTime`` in minutes, ``NativeID``), ``Z charge M+H`` lines (MS2), ``D`` lines
and ``m/z intensity [...]`` peak lines; fields are separated by tabs or runs of spaces.
Hand-written (the format is a few line types) so that errors carry line numbers and lenient mode
can drop one scan; ``pyteomics.ms1`` reports neither. GC-MS runs exported by ProteoWizard from
Agilent MassHunter (e.g. LRCFS ``GcDataConverterMs/*.ms1``) come through as MS1 scans.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

from nps_id.io._source import ReadReport, lazy_read, numbered_lines, open_binary, parse_float
from nps_id.spectrum import Spectrum

_MINUTES = ("RTIME", "RETTIME")


def read(path: str | Path, report: ReadReport | None = None, ms_level: int | None = None) -> Iterator[Spectrum]:
    """Stream the scans of an MS1/MS2 file.

    Parameters
    ----------
    path
        ``.ms1`` / ``.ms2`` file, optionally gzip-compressed.
    report
        Filled with skip counts and, in lenient mode, the quarantine of malformed scans.
    ms_level
        Keep only scans of this level (a scan with a precursor m/z on its ``S`` line is MS2).

    Yields
    ------
    Spectrum
        ``scan_id`` (``NativeID`` if given, else the first scan number of the ``S`` line),
        ``scan_index`` (0-based order), ``ms_level``, ``retention_time`` (seconds, from the
        minutes of ``RTime``/``RetTime``), ``precursor_mz``, ``precursor_charge`` (when one ``Z``
        line), ``source_file``.

    Raises
    ------
    InputError
        When called: the file is missing, a folder or unreadable.
    ReaderError
        While iterating (strict mode): a malformed scan, or a truncated gzip stream.
    """
    return lazy_read(path, report, _read_file, ms_level)


def _read_file(path: str, report: ReadReport, ms_level: int | None) -> Iterator[Spectrum]:
    # Opened here, not in read(): a generator that is never started must not hold the file.
    with open_binary(path) as raw:
        yield from _read(numbered_lines(raw), path, report, ms_level)


class _Scan:
    __slots__ = ("index", "line", "fields", "info", "charges", "mz", "intensity", "error")

    def __init__(self, index: int, line: int, fields: list[str]) -> None:
        self.index, self.line, self.fields = index, line, fields
        self.info: dict[str, str] = {}
        self.charges: list[str] = []
        self.mz: list[float] = []
        self.intensity: list[float] = []
        self.error: tuple[str, int, str] | None = None


def _read(lines: Iterable[tuple[int, str]], path: str, report: ReadReport, ms_level: int | None) -> Iterator[Spectrum]:
    scan: _Scan | None = None
    index = -1
    for number, text in lines:
        line = text.strip()
        if not line:
            continue
        kind = line[0]
        fields = line.split()
        if kind == "S" and fields[0] == "S":
            if scan is not None:
                spectrum = _finish(scan, path, report, ms_level)
                if spectrum is not None:
                    yield spectrum
            index += 1
            scan = _Scan(index, number, fields)
            if len(fields) < 3:
                scan.error = ("S line needs 'S first-scan last-scan [precursor m/z]'", number, line)
        elif kind == "H" and fields[0] == "H":
            if scan is not None:
                _fail(scan, "H header line after the first scan", number, line)
        elif scan is None:
            report.bad("expected H header lines or an S scan line", line=number, text=line)
        elif kind == "I" and fields[0] == "I":
            if len(fields) >= 3:
                scan.info[fields[1].upper()] = fields[2]
        elif kind == "Z" and fields[0] == "Z":
            if len(fields) >= 2:
                scan.charges.append(fields[1])
        elif kind == "D" and fields[0] == "D":
            continue
        elif len(fields) < 2:
            _fail(scan, "peak line has one column; expected 'm/z intensity'", number, line)
        else:
            try:
                scan.mz.append(float(fields[0]))
                scan.intensity.append(float(fields[1]))
            except ValueError:
                _fail(scan, "expected a peak line 'm/z intensity' or an S/I/Z/D line", number, line)
    if scan is not None:
        spectrum = _finish(scan, path, report, ms_level)
        if spectrum is not None:
            yield spectrum


def _fail(scan: _Scan, message: str, number: int, line: str) -> None:
    if scan.error is None:
        scan.error = (message, number, line)


def _finish(scan: _Scan, path: str, report: ReadReport, ms_level: int | None) -> Spectrum | None:
    label = scan.info.get("NATIVEID") or (scan.fields[1] if len(scan.fields) > 1 else None)
    if scan.error is not None:
        message, line, text = scan.error
        report.bad(f"scan {label!r}: {message}", record=scan.index, line=line, text=text)
        return None
    level = 2 if len(scan.fields) > 3 else 1
    if ms_level is not None and level != ms_level:
        report.skip(f"ms level {level} (kept only ms level {ms_level})")
        return None
    if not scan.mz:
        report.skip("empty spectrum")
        return None
    try:
        return Spectrum(scan.mz, scan.intensity, _metadata(scan, label, level, path))
    except ValueError as exc:
        report.bad(f"scan {label!r}: {exc}", record=scan.index, line=scan.line, text=" ".join(scan.fields))
        return None


def _metadata(scan: _Scan, label: str | None, level: int, path: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"scan_id": label, "scan_index": scan.index, "ms_level": level, "source_file": path}
    # finite=False: a precursor m/z or RTime of "nan" reads as a number that Spectrum then drops
    # as unknown, so the scan is kept rather than failed (a charge must be a finite number).
    if level == 2:
        meta["precursor_mz"] = parse_float(scan.fields[3], "precursor m/z", finite=False)
    for key in _MINUTES:
        if key in scan.info:
            minutes = parse_float(scan.info[key], key, finite=False)  # minutes in this format
            meta["retention_time"] = minutes * 60.0
            break
    if len(scan.charges) == 1:
        meta["precursor_charge"] = int(parse_float(scan.charges[0], "Z charge"))
    elif scan.charges:
        meta["charge"] = " ".join(scan.charges)  # several candidate charges: not guessed
    return meta

"""Mascot Generic Format (MGF) reader and writer.

Entry points
------------
- :func:`read` -- stream :class:`~nps_id.spectrum.Spectrum` objects from ``BEGIN IONS`` /
  ``END IONS`` blocks (GNPS, MZmine, matchms, ProteoWizard and TPP dialects).
- :func:`spans` -- a file cut into byte ranges at ``BEGIN IONS`` lines, each read by ``read(span=)``
  as in the whole file (``nps-id search``'s workers).
- :func:`write` -- write spectra as MGF (atomic).

Hand-written rather than ``pyteomics.mgf``: pyteomics returns m/z and intensity arrays of
different lengths when a peak line has one column and reports no line numbers; this reader
checks every peak line, names file, line and record in each error, and in lenient mode skips
just the bad block. Comment lines (``#``, ``;``, ``!``, ``/``) are ignored, global parameters
before the first block apply to every block (Mascot semantics).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from nps_id._atomic import atomic_output
from nps_id.io._source import (NON_FINITE_PEAK, ReadReport, Span, cut_spans, is_missing, lazy_read, numbered_lines,
                               open_binary, open_range, parse_float, peak_fault)
from nps_id.spectrum import Spectrum

# MGF key (upper case) -> normalised metadata key. Keys not listed are kept lower-cased.
_KEYS = {
    "TITLE": "title",
    "NAME": "name",
    "COMPOUND_NAME": "name",
    "SPECTRUMID": "source_id",
    "SCANS": "scan_id",
    "SCANNUMBER": "scan_id",
    "MSLEVEL": "ms_level",
    "IONMODE": "ion_mode",
    "SMILES": "smiles",
    "INCHI": "inchi",
    "INCHIKEY": "inchikey",
    "FORMULA": "formula",
    "PRECURSORTYPE": "precursor_type",
    "ADDUCT": "precursor_type",
    "COLLISION_ENERGY": "collision_energy",
    "INSTRUMENTTYPE": "instrument_type",
    "INSTRUMENT": "instrument",
    "SOURCE_INSTRUMENT": "instrument",
    "LICENSE": "licence",
    "COMMENT": "comments",
    "CAS": "cas",
    "EXACTMASS": "exact_mass",
    "RETENTION_INDEX": "retention_index",
    # RETENTION_TIME carries no unit (minutes in some exports, seconds in others): kept as given.
    "RETENTION_TIME": "retention_time_unspecified_unit",
}
_COMMENT_STARTS = ("#", ";", "!", "/")
_CHARGE_RE = re.compile(r"^\s*([+-]?)(\d+)([+-]?)\s*$")


def read(path: str | Path, report: ReadReport | None = None, *, span: Span | None = None,
         data: bytes | None = None) -> Iterator[Spectrum]:
    """Stream the spectra of an MGF file.

    Parameters
    ----------
    path
        ``.mgf`` file, optionally gzip-compressed.
    report
        Filled with skip counts and, in lenient mode, the quarantine of malformed blocks.
    span
        Read only this byte range of the file (:func:`spans`), of ``data`` when given (the text
        of a gzipped file, as :func:`spans` returns it): blocks and lines are numbered, and the
        file's global ``KEY=value`` lines applied, as in the whole file; ``span.end_record`` and
        ``span.end_carried`` are set when the range is read.
    data
        See ``span``.

    Yields
    ------
    Spectrum
        ``precursor_mz`` from PEPMASS (first number) or PRECURSOR_MZ (0 or below: unknown, the
        text kept as ``pepmass``); ``precursor_charge`` from CHARGE (``2+``, ``-1``, ``3-``; a list such as ``2+ and 3+`` is kept as ``charge`` text,
        not guessed); ``retention_time`` from RTINSECONDS (seconds); ``source_id`` from
        SPECTRUMID, else TITLE; ``scan_index`` is the 0-based block number; ``ms_level`` from
        MSLEVEL, else 2 when there is a precursor (MGF is an MS/MS format), else unset.

    Raises
    ------
    InputError
        When called: the file is missing, a folder or unreadable.
    ReaderError
        While iterating (strict mode): a peak line without two numbers, an unterminated block,
        text outside blocks that is not ``KEY=value``, values the spectrum model rejects, or a
        truncated gzip stream.
    """
    return lazy_read(path, report, _read_file, span, data)


def _read_file(path: str, report: ReadReport, span: Span | None, data: bytes | None) -> Iterator[Spectrum]:
    # Opened here, not in read(): a generator that is never started must not hold the file.
    if span is None:
        with open_binary(path) as raw:
            yield from _read(numbered_lines(raw), path, report)
        return
    with open_range(path, span.start, span.stop, data) as raw:
        yield from _read(numbered_lines(raw, first_line=span.line), path, report, span)


def _read(lines: Iterable[tuple[int, str]], path: str, report: ReadReport,
          span: Span | None = None) -> Iterator[Spectrum]:
    globals_: dict[str, str] = dict(span.carried) if span else {}
    block: _Block | None = None
    index = span.record - 1 if span else -1
    number = span.line if span else 0
    for number, text in lines:
        line = text.strip()
        if not line or line.startswith(_COMMENT_STARTS):
            continue
        upper = line.upper()
        if upper == "BEGIN IONS":
            if block is not None:
                block.fail("a new BEGIN IONS before END IONS", number, line)
                _finish(block, report, path, globals_)
            index += 1
            block = _Block(index, number)
        elif upper == "END IONS":
            if block is None:
                report.bad("END IONS without BEGIN IONS", line=number, text=line)
                continue
            spectrum = _finish(block, report, path, globals_)
            block = None
            if spectrum is not None:
                yield spectrum
        elif block is None:
            pair = _global(line)
            if pair is None:
                report.bad("text outside a BEGIN IONS ... END IONS block (expected KEY=value)",
                           line=number, text=line)
                continue
            globals_[pair[0]] = pair[1]
        else:
            block.add(line, number)
    if block is not None:
        if span is not None and not span.last:  # the next range opens with the BEGIN IONS the whole read meets
            block.fail("a new BEGIN IONS before END IONS", number + 1, "BEGIN IONS")
        else:
            block.fail("file ends inside a block (no END IONS; truncated?)", block.start, "BEGIN IONS")
        _finish(block, report, path, globals_)
    if span is not None:
        span.end_record, span.end_carried = index + 1, tuple(globals_.items())


def _global(line: str) -> tuple[str, str] | None:
    """(KEY, value) of a stripped ``KEY=value`` line outside the blocks; None when it is not one."""
    key, sep, value = line.partition("=")
    if not sep or not key.strip():
        return None
    return key.strip().upper(), value.strip()


#: A block's first line in :func:`spans` (the reader also takes ``begin ions`` and indented ones:
#: a file that writes them is counted short and read whole).
_BLOCK_START = rb"BEGIN IONS(?=[ \t]*\r?\n)"


def spans(path: str | Path, first: int, parts: int, least: int) -> tuple[list[Span], bytes | None] | None:
    """An MGF file of ``least`` blocks or more cut at ``BEGIN IONS`` lines for reading in parallel
    (:func:`~nps_id.io._source.cut_spans`: the first ``first`` blocks, with the file's global
    ``KEY=value`` lines, and ``parts`` ranges of the rest, with the file's text when it is gzipped;
    None for a file that cannot be cut so that each range reads as in the whole file). The global
    lines before the first block are carried into every later range; a reader of a range checks
    that the blocks before the next range and the global lines in force there are those it was
    given (:meth:`Span.ends_before`), so a file with ``KEY=value`` lines between blocks, or block
    lines the cut does not count, is found out, not misread."""
    cut = cut_spans(path, first, parts, least, _BLOCK_START)
    if cut is None:
        return None
    ranges, text = cut
    with open_range(path, 0, ranges[0].stop, text) as raw:
        carried = _header(numbered_lines(raw))
    for span in ranges[1:]:
        span.carried = carried
    return ranges, text


def _header(lines: Iterable[tuple[int, str]]) -> tuple[tuple[str, str], ...]:
    """The global ``KEY=value`` pairs before the first block, as :func:`_read` keeps them (the
    other lines there are the first range's to report)."""
    globals_: dict[str, str] = {}
    for _, text in lines:
        line = text.strip()
        if line.upper() == "BEGIN IONS":
            break
        pair = None if line.startswith(_COMMENT_STARTS) else _global(line)
        if pair is not None:
            globals_[pair[0]] = pair[1]
    return tuple(globals_.items())


class _Block:
    """One BEGIN IONS ... END IONS block as it is read."""

    __slots__ = ("index", "start", "params", "mz", "intensity", "error")

    def __init__(self, index: int, start: int) -> None:
        self.index, self.start = index, start
        self.params: dict[str, str] = {}
        self.mz: list[float] = []
        self.intensity: list[float] = []
        self.error: tuple[str, int, str] | None = None

    def fail(self, message: str, line: int, text: str) -> None:
        if self.error is None:  # the first problem is the one worth reporting
            self.error = (message, line, text)

    def add(self, line: str, number: int) -> None:
        if self.error is not None:
            return
        if line[0].isdigit() or line[0] in "+-." or NON_FINITE_PEAK.match(line):
            fields = line.split()
            if len(fields) < 2:
                self.fail("peak line has one column; expected 'm/z intensity'", number, line)
                return
            try:
                mz, intensity = float(fields[0]), float(fields[1])
            except ValueError:
                self.fail("peak line does not start with two numbers (m/z intensity)", number, line)
                return
            fault = peak_fault(mz, intensity)  # checked here, so the error names this line
            if fault is not None:
                self.fail(fault, number, line)
                return
            self.mz.append(mz)
            self.intensity.append(intensity)
            return
        key, sep, value = line.partition("=")
        if not sep:
            self.fail("expected KEY=value or a peak line 'm/z intensity'", number, line)
            return
        self.params[key.strip().upper()] = value.strip()


def _finish(block: _Block, report: ReadReport, path: str, globals_: dict[str, str]) -> Spectrum | None:
    params = {**globals_, **block.params}
    label = params.get("TITLE") or params.get("SPECTRUMID")
    if block.error is not None:
        message, line, text = block.error
        where = f"spectrum {label!r}: " if label else ""
        report.bad(where + message, record=block.index, line=line, text=text)
        return None
    if not block.mz:
        report.skip("empty spectrum")
        return None
    try:
        return Spectrum(block.mz, block.intensity, _metadata(params, block.index, path))
    except (ValueError, OverflowError) as exc:  # OverflowError: int() of MSLEVEL=1e400
        where = f"spectrum {label!r}: " if label else ""
        report.bad(where + str(exc), record=block.index, line=block.start)  # the value is in the message
        return None


def _metadata(params: dict[str, str], index: int, path: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"scan_index": index, "source_file": path}
    for key, value in params.items():
        # IONMODE=- is negative mode; a name is kept as written (NAME=Unknown, as in MSP)
        if not value.strip() or (_KEYS.get(key) != "name" and is_missing(value, dash_is_value=True)):
            continue
        if key in ("PEPMASS", "PRECURSOR_MZ", "PRECURSORMZ", "CHARGE", "RTINSECONDS"):
            continue
        meta[_KEYS.get(key, key.lower())] = value
    # finite=False below: PEPMASS=nan, RTINSECONDS=nan (how scripts print an unknown float) read
    # as numbers that Spectrum then drops as unknown, so the block is kept rather than failed.
    pepmass = params.get("PEPMASS") or params.get("PRECURSOR_MZ") or params.get("PRECURSORMZ")
    if pepmass and pepmass.strip():
        fields = pepmass.split()
        meta["precursor_mz"] = parse_float(fields[0], "PEPMASS=", finite=False)
        if meta["precursor_mz"] <= 0:  # Spectrum drops it as unknown (as nan): keep the text
            meta["pepmass"] = pepmass
        if len(fields) > 2 and "CHARGE" not in params:  # PEPMASS=983.6 1234 2+
            params = {**params, "CHARGE": fields[2]}
    if params.get("CHARGE"):
        charge = parse_charge(params["CHARGE"])
        if charge is None:
            meta["charge"] = params["CHARGE"]  # e.g. "2+ and 3+": several candidates, keep as text
        elif charge != 0:  # GNPS writes CHARGE=0 for "unknown"
            meta["precursor_charge"] = charge
    if params.get("RTINSECONDS"):
        meta["retention_time"] = parse_float(params["RTINSECONDS"], "RTINSECONDS=", finite=False)
    mode = str(meta.get("ion_mode", "")).lower()
    if mode:
        meta["ion_mode"] = "positive" if mode.startswith("pos") or mode == "+" else (
            "negative" if mode.startswith("neg") or mode == "-" else mode)
    if "source_id" not in meta and "title" in meta:
        meta["source_id"] = meta["title"]
    if "ms_level" in meta:
        level = parse_float(meta["ms_level"], "MSLEVEL=", finite=False)
        if not (level.is_integer() and 1 <= level <= 10):
            raise ValueError(f"MSLEVEL={meta['ms_level']!r} is not an MS level (1, 2, ...)")
        meta["ms_level"] = int(level)
    elif "precursor_mz" in meta:
        meta["ms_level"] = 2  # MGF is an MS/MS peak-list format: a precursor means MS2
    return meta


def parse_charge(text: str) -> int | None:
    """Signed charge from MGF text (``2+``, ``+2``, ``3-``, ``-1``, ``2``); None for lists or junk."""
    match = _CHARGE_RE.match(text)
    if match is None:
        return None
    sign = "-" if "-" in (match.group(1), match.group(3)) else "+"
    value = int(match.group(2))
    return -value if sign == "-" else value


# -- writing -------------------------------------------------------------------------------------
# normalised key -> MGF key, in the order they are written after TITLE/PEPMASS/CHARGE.
_WRITE_KEYS = [
    ("retention_time", "RTINSECONDS"),
    ("ms_level", "MSLEVEL"),
    ("ion_mode", "IONMODE"),
    ("scan_id", "SCANS"),
    ("source_id", "SPECTRUMID"),
    ("name", "NAME"),
    ("formula", "FORMULA"),
    ("smiles", "SMILES"),
    ("inchi", "INCHI"),
    ("inchikey", "INCHIKEY"),
    ("cas", "CAS"),
    ("exact_mass", "EXACTMASS"),
    ("precursor_type", "ADDUCT"),
    ("collision_energy", "COLLISION_ENERGY"),
    ("instrument_type", "INSTRUMENTTYPE"),
    ("instrument", "INSTRUMENT"),
    ("retention_index", "RETENTION_INDEX"),
    ("licence", "LICENSE"),
    ("comments", "COMMENT"),
]


def write(spectra: Iterable[Spectrum], path: str | Path) -> int:
    """Write ``spectra`` as MGF; returns the number written.

    TITLE is the ``title``, else ``source_id`` or ``scan_id``; PEPMASS, CHARGE
    (``2+`` / ``1-``) and RTINSECONDS (seconds) follow, then the other normalised keys that
    have an MGF name. Peaks are written with the shortest text that reads back to the same
    float64 m/z and float32 intensity. The file appears only when complete.
    """
    count = 0
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for spectrum in spectra:
            out.write(_block(spectrum))
            count += 1
    return count


def _block(spectrum: Spectrum) -> str:
    meta = spectrum.metadata
    lines = ["BEGIN IONS"]
    # Not the name: TITLE reads back as source_id, and the name has its own NAME line.
    title = meta.get("title") or meta.get("source_id") or meta.get("scan_id")
    if title:
        lines.append(f"TITLE={_clean(title)}")
    if spectrum.precursor_mz is not None:
        lines.append(f"PEPMASS={spectrum.precursor_mz!r}")
    charge = meta.get("precursor_charge")
    if charge:
        lines.append(f"CHARGE={abs(charge)}{'-' if charge < 0 else '+'}")
    elif meta.get("charge"):
        lines.append(f"CHARGE={_clean(meta['charge'])}")
    for key, mgf_key in _WRITE_KEYS:
        value = meta.get(key)
        if value is not None and not (key == "source_id" and value == title):
            lines.append(f"{mgf_key}={_clean(value)}")
    mz_text = (repr(float(v)) for v in spectrum.mz)
    int_text = (np.format_float_positional(v, unique=True, trim="-") for v in spectrum.intensity)
    lines.extend(f"{m} {i}" for m, i in zip(mz_text, int_text))
    lines.append("END IONS\n")
    return "\n".join(lines) + "\n"


def _clean(value: Any) -> str:
    """One-line text for a header value (MGF has no escaping)."""
    if isinstance(value, float):
        return repr(value)
    return " ".join(str(value).split())

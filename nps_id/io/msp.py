"""NIST MSP and AMDIS MSL spectral libraries: a fast streaming reader and a NIST-compatible writer.

Entry points
------------
- :func:`read` -- stream :class:`~nps_id.spectrum.Spectrum` objects from ``.msp`` / ``.msl``
  (``.gz`` transparent), every dialect met in practice (see ``docs/formats.md``); or of one
  byte range of a file, a :class:`Span` of :func:`spans` (``nps-id search``'s workers).
- :func:`write` -- write spectra as MSP that NIST MS Search / lib2nist import.
- :data:`KEY_ALIASES` -- the MSP keys of every dialect and the metadata key each one fills.

The value parsers (CAS, retention time, ion mode) shared with the other text readers live in
:mod:`nps_id.io.metadata`; the line and error plumbing in :mod:`nps_id.io._source`.

How the reader stays fast (the file is read once, line by line, never whole): metadata lines are
split at the first ``:`` and looked up in one alias table; the peak lines of a record are only
collected, then joined and converted at once, because per-line ``float()`` calls dominate the
run time of other MSP parsers (see ``benchmarks/bench_read_msp.py``); the records of one ~1 MB
batch of lines are converted and checked together (:func:`_batch_peaks`), as the small arrays'
per-call cost was ~10 % of reading MS/MS queries (stop 39), their numbers read by array steps
over the bytes (:func:`~nps_id.io._source.decimal_numbers`; ``float()`` per token took ~0.17 us a
number, a third of reading EI queries, stop 41).
"""
from __future__ import annotations

import codecs
import re
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from nps_id._atomic import atomic_output
from nps_id.errors import InputError
from nps_id.io._source import (FLOAT32_MAX, MISSING_VALUES, NON_FINITE_PEAK, ReadReport, Span, cut_spans, lazy_read,
                               decimal_numbers, line_batches, open_binary, open_range, parse_float,
                               peak_fault)
from nps_id.io.metadata import (add_metadata, check_rt_unit, keep_raw, normalise_cas, normalise_ion_mode,
                                parse_retention_time)
from nps_id.spectrum import MAX_MZ, Spectrum

__all__ = ["Span", "read", "spans", "write"]

# -- metadata -----------------------------------------------------------------------------------
#: Lower-cased MSP keys (every dialect) -> normalised :data:`~nps_id.spectrum.METADATA_KEYS` key.
KEY_ALIASES: dict[str, str] = {
    "name": "name",
    "compound_name": "name",
    "compound name": "name",
    "synon": "synonyms",
    "synonym": "synonyms",
    "synonyms": "synonyms",
    "formula": "formula",
    "molecular formula": "formula",
    "inchikey": "inchikey",
    "inchi_key": "inchikey",
    "smiles": "smiles",
    "inchi": "inchi",
    "stdinchi": "inchi",
    "casno": "cas",
    "cas#": "cas",
    "cas": "cas",
    "cas_number": "cas",
    "exactmass": "exact_mass",
    "exact_mass": "exact_mass",
    "exact mass": "exact_mass",
    "precursormz": "precursor_mz",
    "precursor_mz": "precursor_mz",
    "precursor m/z": "precursor_mz",
    "precursor_type": "precursor_type",
    "precursortype": "precursor_type",
    "adduct": "precursor_type",
    "ion_mode": "ion_mode",
    "ionmode": "ion_mode",
    "ion mode": "ion_mode",
    "polarity": "ion_mode",
    "spectrum_type": "ms_level",
    "spectrumtype": "ms_level",
    "collision_energy": "collision_energy",
    "collisionenergy": "collision_energy",
    "instrument_type": "instrument_type",
    "instrumenttype": "instrument_type",
    "instrument": "instrument",
    "retention_time": "retention_time",
    "retentiontime": "retention_time",
    "rettime": "retention_time",
    "rt": "retention_time",
    "retention_index": "retention_index",
    "retentionindex": "retention_index",
    "ri": "retention_index",
    "db#": "source_id",
    "id": "source_id",
    "nistno": "source_id",
    "nist#": "source_id",
    "accession": "source_id",
    "spectrumid": "source_id",
    "comments": "comments",
    "comment": "comments",
    "license": "licence",
    "licence": "licence",
}

# Normalised keys whose value is kept as the text given.
_TEXT_TARGETS = frozenset({"name", "formula", "inchikey", "smiles", "inchi", "precursor_type",
                           "collision_energy", "instrument_type", "instrument", "source_id"})

_MS_LEVEL_RE = re.compile(r"(?i)^ms(\d?)$")  # "MS" alone is a full-scan (MS1) spectrum
_LICENCE_RE = re.compile(r'(?i)"licen[cs]e=([^"]*)"')
_ANNOTATION_RE = re.compile(r'"[^"\n]*"')
_COMMENT_PAIR_RE = re.compile(r'"([^"=]+)=([^"]*)"')
_COMMENT_STRUCTURE_KEYS = {"smiles": "smiles", "computed smiles": "smiles", "inchi": "inchi",
                           "computed inchi": "inchi", "inchikey": "inchikey",
                           "computed inchikey": "inchikey"}
# Peak separators of the dialects: "mz int;" (NIST), "mz:int" (Golm), "( mz int)" (AMDIS MSL).
_PEAK_SEPARATOR_CHARS = ";:(),"
_PEAK_SEPARATORS = str.maketrans(dict.fromkeys(_PEAK_SEPARATOR_CHARS, " "))
_PEAK_SEPARATOR_RE = re.compile("[;:(),]")
_LONGEST_MISSING = max(map(len, MISSING_VALUES))


def _set_metadata(meta: dict[str, Any], key: str, value: str, rt_unit: str) -> None:
    """Map one ``key: value`` pair (``key`` stripped and lower-cased) onto ``meta``."""
    value = value.strip()
    target = KEY_ALIASES.get(key)
    # A name is kept as written: "Unknown" labels a lab's unknown, "NAN" is a synonym of
    # N-acetylneuraminic acid (MassBank); until stop 30 both were dropped as "not known".
    # is_missing (nps_id.io._source) of a value already stripped, inline: ~17 such lines a MassBank record
    if not value or (target not in ("name", "synonyms") and len(value) <= _LONGEST_MISSING
                     and value.lower() in MISSING_VALUES):
        return
    if target in _TEXT_TARGETS and target not in meta:  # the common case, first
        meta[target] = value
    elif target is None:
        add_metadata(meta, key, value)
    elif target == "synonyms":
        meta.setdefault("synonyms", []).append(value)
    elif target in meta:  # a second spelling of a key already set (DB# and ID, ...)
        keep_raw(meta, key, value)
    elif target == "cas":
        value, _, rest = value.partition(";")  # NIST exports: "CAS#: 50-00-0;  NIST#: 1234"
        nist_key, sep, nist_id = rest.partition(":")
        if sep:
            _set_metadata(meta, nist_key.strip().lower(), nist_id, rt_unit)
        value = value.strip()
        cas = normalise_cas(value)
        if cas is None:
            keep_raw(meta, key, value)
        else:
            meta["cas"] = cas
    elif target in ("precursor_mz", "exact_mass", "retention_index"):
        try:  # "123,45": decimal comma of exports written under a European locale
            number: float | None = parse_float(value, key, decimal_comma=True)
        except ValueError:  # kept as text below
            number = None
        # negative retention index / zero precursor m/z: placeholders for "unknown"
        if number is None or number < 0 or (number == 0 and target != "exact_mass"):
            keep_raw(meta, key, value)
        else:
            meta[target] = number
    elif target == "retention_time":
        seconds = parse_retention_time(value, rt_unit)
        if seconds is None:
            keep_raw(meta, key, value)
        else:
            meta["retention_time"] = seconds
    elif target == "ion_mode":
        mode = normalise_ion_mode(value)
        if mode is None:
            keep_raw(meta, key, value)
        else:
            meta["ion_mode"] = mode
    elif target == "ms_level":
        level = _MS_LEVEL_RE.match(value)
        if level is None:  # "Centroid", "in-source": not an MS level
            add_metadata(meta, key, value)
        else:
            meta["ms_level"] = int(level.group(1) or 1)
    else:
        meta[target] = value
        if target == "comments" and "licence" not in meta:
            licence = _LICENCE_RE.search(value)
            if licence and licence.group(1).strip():
                meta["licence"] = licence.group(1).strip()


# -- reading ------------------------------------------------------------------------------------
_PEAK_START = frozenset("0123456789.-+(")
_NUM_PEAKS_KEYS = frozenset({"num peaks", "num_peaks", "numpeaks"})


class _Record:
    """The lines of one record while it is being read."""

    __slots__ = ("index", "line", "meta", "num_peaks", "num_peaks_line", "peak_lines", "peak_line0")

    def __init__(self, index: int, line: int = 0) -> None:
        self.index = index
        self.line = line  # first line of the record, 0 until one is seen
        self.meta: dict[str, Any] = {}
        self.num_peaks: int | None = None
        self.num_peaks_line = 0
        self.peak_lines: list[str] = []
        self.peak_line0 = 0


def read(
    path: str | Path,
    report: ReadReport | None = None,
    *,
    rt_unit: str = "min",
    encoding: str | None = None,
    span: Span | None = None,
    data: bytes | None = None,
) -> Iterator[Spectrum]:
    """Stream the spectra of an MSP or AMDIS MSL file.

    Parameters
    ----------
    path
        ``.msp`` / ``.msl`` file, optionally gzipped.
    report
        Receives skip counts; in strict mode (the default of a fresh report) a malformed
        record raises :class:`~nps_id.errors.ReaderError` naming file, line and record.
    rt_unit
        Unit of retention times written without one (``"min"``, default, or ``"s"``).
    encoding
        Text encoding; default: UTF-8, or Windows-1252 when the file is not valid UTF-8 (old
        NIST/AMDIS exports). With an explicit encoding, undecodable bytes become U+FFFD.
    span
        Read only this byte range of the file (:func:`spans`), of ``data`` when given (the text
        of a gzipped file, as :func:`spans` returns it); records and lines are numbered as in the
        whole file, and ``span.end_record`` is set when the range is read.
    data
        See ``span``.

    Returns
    -------
    Iterator of :class:`~nps_id.spectrum.Spectrum`, m/z in Th, retention time in seconds,
    ``scan_index`` = 0-based record index, ``source_file`` = ``path``. The file is checked
    when this is called; records are parsed as you iterate.
    """
    rt_unit = check_rt_unit(rt_unit)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"unknown text encoding {encoding!r}") from None
    return lazy_read(path, report, _read, rt_unit, encoding, span, data)


def _read(path: str, report: ReadReport, rt_unit: str, encoding: str | None,
          span: Span | None = None, data: bytes | None = None) -> Iterator[Spectrum]:
    peak_start = _PEAK_START
    lineno = span.line if span else 0
    with open_range(path, span.start, span.stop, data) if span else open_binary(path) as raw:
        record = _Record(span.record if span else 0)
        in_peaks = skipping = False
        ended: list[_Record] = []  # finished per batch of lines, in order, before any report of the loop's
        for lines in line_batches(raw, encoding, lineno):
            for lineno, line in enumerate(lines, start=lineno + 1):
                stripped = line.strip()
                if skipping:  # after a bad line: resynchronise at a blank or "Name:" line
                    if stripped and stripped[:5].lower() != "name:":
                        continue
                    skipping = False
                    record = _Record(record.index + 1)
                    if not stripped:
                        continue
                elif in_peaks:
                    if stripped[:1] in peak_start or NON_FINITE_PEAK.match(stripped):
                        record.peak_lines.append(stripped)
                        continue
                    in_peaks = False
                    ended.append(record)
                    record = _Record(record.index + 1)
                    if not stripped:
                        continue
                elif not stripped:
                    continue
                if not record.line:
                    record.line = lineno
                if stripped[0] in peak_start:  # peaks without a "Num Peaks:" line
                    record.peak_lines.append(stripped)
                    record.peak_line0 = lineno
                    in_peaks = True
                    continue
                key, sep, value = stripped.partition(":")
                if not sep:
                    yield from _finish_all(ended, path, report)
                    report.bad("expected 'key: value' or a peak line", record=record.index,
                               line=lineno, text=stripped)
                    skipping = True
                    continue
                lower = key.strip().lower()
                if lower in _NUM_PEAKS_KEYS:
                    record.num_peaks = _count(value)
                    if record.num_peaks is None:
                        yield from _finish_all(ended, path, report)
                        _report_num_peaks(value, record, lineno, stripped, report)
                    record.num_peaks_line = lineno
                    record.peak_line0 = lineno + 1
                    in_peaks = True
                    continue
                if lower == "name" and "name" in record.meta:
                    # A new record without a blank line or peaks in between: close the old one.
                    ended.append(record)
                    record = _Record(record.index + 1, lineno)
                _set_metadata(record.meta, lower, value, rt_unit)
            yield from _finish_all(ended, path, report)
        if record.line and not skipping:
            ended.append(record)
            yield from _finish_all(ended, path, report)
        if span:
            span.end_record = _next_record(record, in_peaks, skipping)


def _next_record(record: _Record, in_peaks: bool, skipping: bool) -> int | None:
    """The index the whole file's read gives the record after a range's end (a ``Name:`` line,
    :func:`spans`), or None when that read would join it to the range's last record (a record
    with lines but no name)."""
    if not record.line and not skipping:  # ended between records
        return record.index
    if in_peaks or skipping or "name" in record.meta:  # the Name: line ends the record
        return record.index + 1
    return None


#: A record's first line in :func:`spans`: how NIST and MassBank MSP files write it.
_RECORD_START = rb"Name:"


def spans(path: str | Path, first: int, parts: int, least: int) -> tuple[list[Span], bytes | None] | None:
    """An MSP file of ``least`` records or more cut at ``Name:`` lines for reading in parallel
    (:func:`~nps_id.io._source.cut_spans`: the first ``first`` records and ``parts`` ranges of the
    rest, with the file's text when it is gzipped; None for a file that cannot be cut so that each
    range reads as in the whole file). The records before each range are counted by their ``Name:``
    lines: a reader of the previous range checks the count (:attr:`Span.end_record`), so a file whose
    records this count misses (a ``NAME:`` line) is found out, not misnumbered."""
    return cut_spans(path, first, parts, least, _RECORD_START)


def _count(value: str) -> int | None:
    """A ``Num Peaks`` value, None when it is not a whole number >= 0 (:func:`_report_num_peaks`)."""
    try:
        count = int(value.strip())
    except ValueError:
        return None
    return count if count >= 0 else None


def _report_num_peaks(value: str, record: _Record, lineno: int, text: str, report: ReadReport) -> None:
    """Report the ``Num Peaks`` value :func:`_count` refused; the record is skipped."""
    try:
        negative = int(value.strip()) < 0
    except ValueError:
        negative = False
    report.bad("'Num Peaks' is negative" if negative else "'Num Peaks' is not a whole number",
               record=record.index, line=lineno, text=text)
    record.meta["__bad__"] = True


def _finish_all(records: list[_Record], path: str, report: ReadReport) -> Iterator[Spectrum]:
    """The spectra of the ended ``records`` in their order (the list is emptied): the peaks of all
    converted at once (:func:`_batch_peaks`), a record that needs a report read alone."""
    batch = _batch_peaks(records)
    for record, peaks in zip(records, batch):
        spectrum = _finish(record, path, report, peaks)
        if spectrum is not None:
            yield spectrum
    records.clear()


def _finish(record: _Record, path: str, report: ReadReport,
            peaks: tuple[np.ndarray, np.ndarray, bool] | None = None) -> Spectrum | None:
    """Build the Spectrum of ``record`` (None if skipped) from ``peaks`` (:func:`_batch_peaks`) or
    else its collected peak lines."""
    meta = record.meta
    if meta.pop("__bad__", False):
        return None
    if peaks is None:
        peaks = _parse_peaks(record, report)
    if peaks is None:
        return None
    mz, intensity, ordered = peaks
    if mz.size == 0:
        report.skip("empty spectrum")
        return None
    if "comments" in meta:
        _structure_from_comments(meta)
    synonyms = meta.get("synonyms")
    if synonyms is not None:
        meta["synonyms"] = tuple(synonyms)
    meta["source_file"] = path
    meta["scan_index"] = record.index
    try:
        return Spectrum._from_checked(mz, intensity, meta, ordered)
    except ValueError as exc:  # a metadata value Spectrum refuses; peaks were checked above
        report.bad(f"invalid record: {exc}", record=record.index, line=record.line)
        return None


def _structure_from_comments(meta: dict[str, Any]) -> None:
    """MoNA exports carry SMILES/InChI/InChIKey only as ``"SMILES=..."`` pairs in Comments."""
    missing = [key for key in ("smiles", "inchi", "inchikey") if key not in meta]
    if not missing or "=" not in meta["comments"]:
        return
    for match in _COMMENT_PAIR_RE.finditer(meta["comments"]):
        key = _COMMENT_STRUCTURE_KEYS.get(match.group(1).lower())
        if key in missing and match.group(2).strip():
            meta[key] = match.group(2).strip()
            missing.remove(key)


def _parse_peaks(record: _Record, report: ReadReport) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """All peaks of a record with one numpy conversion: m/z (a new contiguous array), intensities
    and whether the m/z ascend, checked as :class:`Spectrum` checks them (so it need not again);
    None after reporting a bad record."""
    lines = record.peak_lines
    if not lines:
        if record.num_peaks:
            report.bad(f"'Num Peaks: {record.num_peaks}' but no peak lines follow",
                       record=record.index, line=record.num_peaks_line)
            return None
        return np.empty(0), np.empty(0), True
    tokens = _tokens(lines)
    try:  # float() per token into a preallocated array: numpy's own str -> float64 is slower
        values = np.fromiter(map(float, tokens), np.float64, len(tokens))
    except ValueError:
        _report_bad_peak_line(record, report)
        return None
    if values.size % 2:
        _report_bad_peak_line(record, report)
        return None
    pairs = values.reshape(-1, 2)
    n = pairs.shape[0]
    if record.num_peaks is not None and n != record.num_peaks:
        report.bad(f"'Num Peaks: {record.num_peaks}' but {n} peak{'s follow' if n != 1 else ' follows'}",
                   record=record.index, line=record.num_peaks_line)
        return None
    mz, intensity = values[0::2].copy(), values[1::2]
    if n == 0:  # peak lines of separators only ("(" of a cut-off MSL pair): an empty spectrum
        return mz, intensity, True
    # Ascending m/z (a NaN breaks the order) from first to last, and two reductions of the
    # intensities (NaN fails every comparison), decide the common case; the masks find the culprit.
    ordered = n < 2 or bool((mz[1:] >= mz[:-1]).all())
    if ordered:
        good = mz[0] > 0 and mz[-1] <= MAX_MZ and intensity.min() >= 0 and intensity.max() <= FLOAT32_MAX
    else:
        (mz_min, intensity_min), (mz_max, intensity_max) = pairs.min(0).tolist(), pairs.max(0).tolist()
        good = mz_min > 0 and intensity_min >= 0 and mz_max <= MAX_MZ and intensity_max <= FLOAT32_MAX
    if not good:
        _report_out_of_range(pairs, record, report)
        return None
    return mz, intensity, ordered


def _tokens(lines: list[str]) -> list[str]:
    """The numbers' text of a record's peak lines."""
    return _split_peaks(" ".join(lines))


def _split_peaks(text: str) -> list[str]:
    """The numbers' text of a record's peak lines joined by spaces."""
    if '"' in text:  # quoted peak annotations: "85 100 \"C6H5+\""
        text = _ANNOTATION_RE.sub(" ", text)
    if _PEAK_SEPARATOR_RE.search(text):  # most files separate with spaces only
        text = text.translate(_PEAK_SEPARATORS)
    return text.split()


def _batch_peaks(records: list[_Record]) -> list[tuple[np.ndarray, np.ndarray, bool] | None]:
    """Per record, what :func:`_parse_peaks` returns for it, or None where it must be read alone
    (a record it would skip or report; any token of the batch that is no number): the numbers of
    all converted at once (:func:`~nps_id.io._source.decimal_numbers`, else one ``float()`` pass)
    and checked by one comparison per test, each record's m/z a slice of one new contiguous array."""
    texts = [" ".join(r.peak_lines) if r.peak_lines and "__bad__" not in r.meta else "" for r in records]
    numbers = decimal_numbers(texts, _PEAK_SEPARATOR_CHARS)
    tokens = None if numbers is not None else list(map(_split_peaks, texts))
    found = numbers[1].tolist() if numbers is not None else list(map(len, tokens))
    counts = [n // 2 if n % 2 == 0 and (r.num_peaks is None or n == 2 * r.num_peaks) else 0
              for r, n in zip(records, found)]
    total = sum(counts)
    if total == 0:
        return [None] * len(records)
    if numbers is not None:
        values = numbers[0] if total * 2 == numbers[0].size else numbers[0][np.repeat(np.asarray(counts) > 0, found)]
    else:
        try:
            values = np.fromiter(map(float, chain.from_iterable(t for t, n in zip(tokens, counts) if n)),
                                 np.float64, 2 * total)
        except ValueError:
            return [None] * len(records)
    mz, intensity = values[0::2].copy(), values[1::2]
    # per record: the steps down in m/z inside it (a NaN is one) and the peaks Spectrum refuses
    steps = np.concatenate(([0], np.cumsum(~(mz[1:] >= mz[:-1]))))
    with np.errstate(invalid="ignore"):
        good = (mz > 0) & (mz <= MAX_MZ) & (intensity >= 0) & (intensity <= FLOAT32_MAX)
    refused = np.concatenate(([0], np.cumsum(~good)))
    steps, refused = steps.tolist(), refused.tolist()
    out: list[tuple[np.ndarray, np.ndarray, bool] | None] = []
    start = 0
    for n in counts:
        end = start + n
        if n == 0 or refused[end] != refused[start]:
            out.append(None)
        else:
            out.append((mz[start:end], intensity[start:end], steps[end - 1] == steps[start]))
        start = end
    return out


def _report_out_of_range(pairs: np.ndarray, record: _Record, report: ReadReport) -> None:
    """Name the first peak Spectrum would refuse, at its own line (not the record's first)."""
    with np.errstate(invalid="ignore"):  # NaN fails every comparison: not good
        good = (pairs[:, 0] > 0) & (pairs[:, 0] <= MAX_MZ) & (pairs[:, 1] >= 0) & (pairs[:, 1] <= FLOAT32_MAX)
    bad = int(np.flatnonzero(~good)[0])
    line, text_line = _line_of_peak(record, bad)
    report.bad(peak_fault(*pairs[bad].tolist()), record=record.index, line=line, text=text_line)


def _line_of_peak(record: _Record, peak: int) -> tuple[int, str]:
    """1-based line number and text of the line holding peak number ``peak`` (0-based)."""
    seen = 0
    for offset, line in enumerate(record.peak_lines):
        seen += len(_peak_tokens(line)) // 2
        if seen > peak:
            return record.peak_line0 + offset, line
    return record.peak_line0, record.peak_lines[0]


def _peak_tokens(line: str) -> list[str]:
    return _ANNOTATION_RE.sub(" ", line).translate(_PEAK_SEPARATORS).split()


def _report_bad_peak_line(record: _Record, report: ReadReport) -> None:
    """Slow path, only for a broken record: find the first line that is not m/z-intensity pairs."""
    for offset, line in enumerate(record.peak_lines):
        tokens = _peak_tokens(line)
        try:
            [float(t) for t in tokens]
        except ValueError:
            reason = "peak line with a value that is not a number"
        else:
            if len(tokens) % 2 == 0:
                continue
            reason = "peak line with an unpaired value (expected 'm/z intensity' pairs)"
        report.bad(reason, record=record.index, line=record.peak_line0 + offset, text=line)
        return
    report.bad("peak lines do not hold 'm/z intensity' pairs", record=record.index,
               line=record.peak_line0, text=record.peak_lines[0])


# -- writing ------------------------------------------------------------------------------------
# (MSP key, metadata key) in the order NIST MS Search expects: Name first, Num Peaks last.
_WRITE_ORDER = [
    ("Formula", "formula"),
    ("MW", "mw"),
    ("ExactMass", "exact_mass"),
    ("CASNO", "cas"),
    ("DB#", "source_id"),
    ("InChIKey", "inchikey"),
    ("SMILES", "smiles"),
    ("InChI", "inchi"),
    ("Instrument_type", "instrument_type"),
    ("Instrument", "instrument"),
    ("Spectrum_type", "ms_level"),
    ("PrecursorMZ", "precursor_mz"),
    ("Precursor_type", "precursor_type"),
    ("Ion_mode", "ion_mode"),
    ("Collision_energy", "collision_energy"),
    ("Retention_time", "retention_time"),
    ("Retention_index", "retention_index"),
    ("Comments", "comments"),
]
# Where the spectrum was read from describes the old file, not the one being written.
_NOT_WRITTEN = {"name", "synonyms", "licence", "source_file", "scan_index"}


def _number(value: float) -> str:
    """Shortest text that reads back as the same float (``85.0`` -> ``"85"``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _numbers(values: np.ndarray) -> list[str]:
    """Shortest round-trip text of every value, integers without ``.0`` (vectorised)."""
    if np.array_equal(values, np.round(values)) and np.abs(values).max(initial=0) < 2**53:
        return values.astype(np.int64).astype(str).tolist()
    if values.dtype == np.float32:  # numpy prints the shortest text that reads back as float32
        texts = values.astype(str).tolist()
    else:
        texts = list(map(repr, values.tolist()))
    return [t[:-2] if t.endswith(".0") else t for t in texts]


def _one_line(value: Any) -> str:
    """A value on one line (an embedded line break would start a new field)."""
    return str(value).replace("\r", " ").replace("\n", " ").strip()


def _format_value(key: str, value: Any) -> str:
    if key == "ms_level":
        return f"MS{int(value)}"
    if key == "ion_mode":
        return {"positive": "P", "negative": "N"}.get(str(value), _one_line(value))
    if key == "retention_time":
        return f"{_number(value)} sec"
    if isinstance(value, float):
        return _number(value)
    return _one_line(value)


def _safe_key(key: str) -> str:
    """A metadata key as an MSP field name: no ':' and not read back as a peak line."""
    key = _one_line(key).replace(":", "_") or "_"
    return "_" + key if key[0] in _PEAK_START else key


def _comments(spectrum: Spectrum) -> str | None:
    comments = spectrum.get("comments")
    licence = spectrum.get("licence")
    if licence and (comments is None or _LICENCE_RE.search(comments) is None):
        tag = f'"license={_one_line(licence)}"'
        comments = f"{comments} {tag}" if comments else tag
    return comments


def _scan_name(meta: Any, number: int) -> str:
    """A name for an unnamed scan of a run: ``"run.mzML scan 812 RT 7.42 min"``."""
    parts = [Path(meta["source_file"]).name] if meta.get("source_file") else []
    scan = meta.get("scan_id") or meta.get("scan_index", number)
    parts.append(f"scan {scan}")
    if meta.get("retention_time") is not None:
        parts.append(f"RT {meta['retention_time'] / 60:.2f} min")
    return " ".join(parts)


def _record_text(spectrum: Spectrum, number: int) -> str | None:
    """One MSP record, or None when no peak is left at m/z >= 1."""
    keep = spectrum.mz >= 1.0  # NIST MS Search rejects peaks below m/z 1
    mz = spectrum.mz[keep]
    if mz.size == 0:
        return None
    intensity = spectrum.intensity[keep]
    meta = spectrum.metadata
    lines = [f"Name: {_one_line(meta.get('name') or meta.get('source_id') or _scan_name(meta, number))}"]
    lines.extend(f"Synon: {_one_line(s)}" for s in meta.get("synonyms", ()))
    written = set(_NOT_WRITTEN)
    for msp_key, key in _WRITE_ORDER:
        written.add(key)
        value = _comments(spectrum) if key == "comments" else meta.get(key)
        if value is not None:
            lines.append(f"{msp_key}: {_format_value(key, value)}")
    for key, value in meta.items():
        if key in written:
            continue
        for item in value if isinstance(value, (tuple, list)) else (value,):
            lines.append(f"{_safe_key(key)}: {_format_value(key, item)}")
    lines.append(f"Num Peaks: {mz.size}")
    lines.extend(f"{m} {i}" for m, i in zip(_numbers(mz), _numbers(intensity)))
    return "\n".join(lines) + "\n\n"


def write(spectra: Iterable[Spectrum], path: str | Path) -> int:
    """Write ``spectra`` as an MSP file that NIST MS Search and lib2nist import.

    ``Name:`` comes first (falling back to the record id, or for an unnamed scan of a run to
    ``"<file> scan <id> RT <min> min"``, when a spectrum has no name), then
    ``Synon:`` lines, the known fields, other metadata as ``key: value``, ``Num Peaks:`` and one
    ``m/z intensity`` pair per line. Peaks below m/z 1 are dropped (NIST rejects them) and a
    spectrum left without peaks is not written. Retention time is written in seconds with its
    unit (``Retention_time: 620.4 sec``); the licence travels in ``Comments`` as
    ``"license=..."``. The file appears atomically when complete.

    Returns
    -------
    int
        Number of spectra written.
    """
    count = 0
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        for number, spectrum in enumerate(spectra):
            text = _record_text(spectrum, number)
            if text is not None:
                out.write(text)
                count += 1
    return count

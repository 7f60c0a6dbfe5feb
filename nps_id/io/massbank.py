"""MassBank record files (``MassBank-data`` layout, one ``.txt`` per spectrum).

Entry point: :func:`read` -- stream :class:`~nps_id.spectrum.Spectrum` objects from a record
file (several records separated by ``//`` lines are accepted too).

The format (MassBank Record Format 2.x, MassBank consortium): ``TAG: value`` lines, some with a
subtag (``AC$MASS_SPECTROMETRY: ION_MODE POSITIVE``); multi-line tags (``PK$PEAK``,
``PK$ANNOTATION``) continue on lines indented by two spaces; ``//`` ends a record. Mapping onto
:data:`~nps_id.spectrum.METADATA_KEYS`: ``ACCESSION`` -> source_id, first ``CH$NAME`` -> name
(the others -> synonyms), ``CH$FORMULA``, ``CH$EXACT_MASS``, ``CH$SMILES``, ``CH$IUPAC`` ->
inchi, ``CH$LINK: INCHIKEY`` / ``CAS``, ``AC$INSTRUMENT(_TYPE)``, ``AC$MASS_SPECTROMETRY:
MS_TYPE`` -> ms_level, ``ION_MODE``, ``COLLISION_ENERGY``, ``AC$CHROMATOGRAPHY: RETENTION_TIME``
(-> seconds), ``MS$FOCUSED_ION: PRECURSOR_M/Z`` / ``PRECURSOR_TYPE``, ``LICENSE`` -> licence,
``COMMENT`` lines -> comments. Every other tag is kept under a lower-case key
(``RECORD_TITLE`` -> ``record_title``, ``AC$CHROMATOGRAPHY: COLUMN_NAME`` ->
``chromatography_column_name``). Intensities are the ``int.`` column of ``PK$PEAK``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from nps_id.io._source import ReadReport, is_missing, lazy_read, numbered_lines, open_binary
from nps_id.io.metadata import add_metadata, normalise_cas, normalise_ion_mode, parse_retention_time
from nps_id.spectrum import Spectrum

__all__ = ["read"]

_TAG_RE = re.compile(r"^([A-Z][A-Z0-9_]*(?:\$[A-Z0-9_]+)?):\s?(.*)$")
_MS_TYPE_RE = re.compile(r"(?i)^MS(\d*)$")
_NON_KEY_RE = re.compile(r"[^a-z0-9]+")
_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# (tag, subtag) -> normalised key; tags without subtag use subtag None.
_KEYS: dict[tuple[str, str | None], str] = {
    ("ACCESSION", None): "source_id",
    ("LICENSE", None): "licence",
    ("CH$FORMULA", None): "formula",
    ("CH$EXACT_MASS", None): "exact_mass",
    ("CH$SMILES", None): "smiles",
    ("CH$IUPAC", None): "inchi",
    ("CH$LINK", "INCHIKEY"): "inchikey",
    ("CH$LINK", "CAS"): "cas",
    ("AC$INSTRUMENT", None): "instrument",
    ("AC$INSTRUMENT_TYPE", None): "instrument_type",
    ("AC$MASS_SPECTROMETRY", "MS_TYPE"): "ms_level",
    ("AC$MASS_SPECTROMETRY", "ION_MODE"): "ion_mode",
    ("AC$MASS_SPECTROMETRY", "COLLISION_ENERGY"): "collision_energy",
    ("AC$CHROMATOGRAPHY", "RETENTION_TIME"): "retention_time",
    ("AC$CHROMATOGRAPHY", "KOVATS_RTI"): "retention_index",
    ("MS$FOCUSED_ION", "PRECURSOR_M/Z"): "precursor_mz",
    ("MS$FOCUSED_ION", "PRECURSOR_TYPE"): "precursor_type",
}
_SUBTAGGED = {"CH$LINK", "SP$LINK", "AC$MASS_SPECTROMETRY", "AC$CHROMATOGRAPHY", "AC$GENERAL",
              "MS$FOCUSED_ION", "MS$DATA_PROCESSING"}


class _Record:
    __slots__ = ("index", "line", "meta", "names", "comments", "num_peak", "num_peak_line",
                 "peak_header", "peak_lines", "block")

    def __init__(self, index: int, line: int) -> None:
        self.index = index
        self.line = line
        self.meta: dict[str, Any] = {}
        self.names: list[str] = []
        self.comments: list[str] = []
        self.num_peak: int | None = None
        self.num_peak_line = 0
        self.peak_header: str | None = None
        self.peak_lines: list[tuple[int, str]] = []
        self.block: str | None = None  # the multi-line tag being continued

    @property
    def empty(self) -> bool:
        return not self.meta and not self.names and self.peak_header is None


def read(path: str | Path, report: ReadReport | None = None, *, rt_unit: str = "min") -> Iterator[Spectrum]:
    """Stream the spectra of a MassBank record file.

    Parameters
    ----------
    path
        A record file (``.txt``, ``.gz`` transparent).
    report
        Receives skip counts; a malformed record raises :class:`~nps_id.errors.ReaderError`
        (file, line, record) unless the report is lenient.
    rt_unit
        Unit of a retention time written without one (``"min"``, default; MassBank records
        normally say ``min``).

    Returns
    -------
    Iterator of :class:`~nps_id.spectrum.Spectrum` (retention time in seconds,
    ``scan_index`` = 0-based record index).
    """
    return lazy_read(path, report, _read, rt_unit)


def _read(path: str, report: ReadReport, rt_unit: str) -> Iterator[Spectrum]:
    record = _Record(0, 1)
    with open_binary(path) as raw:
        for lineno, line in numbered_lines(raw):
            stripped = line.strip()
            if stripped == "//":
                spectrum = _finish(record, path, report)
                if spectrum is not None:
                    yield spectrum
                record = _Record(record.index + 1, lineno + 1)
                continue
            if not stripped:
                continue
            if record.empty:
                record.line = lineno
            if line.startswith(" ") and record.block is not None:
                if record.block == "PK$PEAK":
                    record.peak_lines.append((lineno, stripped))
                continue  # PK$ANNOTATION and other continued tags: not needed for a spectrum
            match = _TAG_RE.match(line)
            if match is None:
                report.bad("expected 'TAG: value', an indented peak line or '//'",
                           record=record.index, line=lineno, text=stripped)
                record.meta["__bad__"] = True  # drop the rest of this record
                record.block = None
                continue
            _tag(record, match.group(1), match.group(2).strip(), lineno, report, rt_unit)
    if not record.empty:
        spectrum = _finish(record, path, report)
        if spectrum is not None:
            yield spectrum


def _tag(record: _Record, tag: str, value: str, lineno: int, report: ReadReport, rt_unit: str) -> None:
    """Store one ``TAG: value`` line in ``record``."""
    record.block = tag  # indented lines that follow continue this tag
    if record.meta.get("__bad__"):
        return
    if tag == "PK$PEAK":
        record.peak_header = value
        return
    if tag == "PK$NUM_PEAK":
        try:
            record.num_peak = int(value)
        except ValueError:
            if value.upper() != "N/A":
                report.bad("PK$NUM_PEAK is not a whole number", record=record.index,
                           line=lineno, text=value)
                record.meta["__bad__"] = True
        record.num_peak_line = lineno
        return
    if tag == "CH$NAME":
        record.names.append(value)
        return
    if tag == "COMMENT":
        record.comments.append(value)
        return
    subtag = None
    if tag in _SUBTAGGED:
        subtag, _, value = value.partition(" ")
        value = value.strip()
    if is_missing(value):
        return
    key = _KEYS.get((tag, subtag))
    if key is None:
        add_metadata(record.meta, _raw_key(tag, subtag), value)
        return
    _set(record.meta, key, value, rt_unit, tag, subtag)


def _raw_key(tag: str, subtag: str | None) -> str:
    """The key a tag is kept under as text: ``AC$CHROMATOGRAPHY: COLUMN_NAME`` ->
    ``chromatography_column_name``."""
    name = tag.split("$", 1)[-1] + (f"_{subtag}" if subtag else "")
    return _NON_KEY_RE.sub("_", name.lower()).strip("_")


def _set(meta: dict[str, Any], key: str, value: str, rt_unit: str, tag: str, subtag: str | None) -> None:
    """Normalise one mapped value; what does not parse is kept as text (nothing lost)."""
    parsed: Any = value
    if key == "cas":
        parsed = normalise_cas(value)
    elif key in ("exact_mass", "precursor_mz", "retention_index"):
        number = _NUMBER_RE.match(value)
        parsed = float(number.group()) if number and number.end() == len(value) else None
        if parsed is None and number and key == "precursor_mz":
            parsed = float(number.group())  # "296.0240 (M+H)": the number is what matters
            add_metadata(meta, _raw_key(tag, subtag), value)
    elif key == "retention_time":
        parsed = parse_retention_time(value, rt_unit)
    elif key == "ion_mode":
        parsed = normalise_ion_mode(value)
    elif key == "ms_level":
        level = _MS_TYPE_RE.match(value)
        parsed = (int(level.group(1) or 1)) if level else None
    if parsed is None:
        add_metadata(meta, _raw_key(tag, subtag), value)
    else:
        meta.setdefault(key, parsed)


def _finish(record: _Record, path: str, report: ReadReport) -> Spectrum | None:
    meta = record.meta
    if meta.pop("__bad__", False) or record.empty:
        return None
    if record.peak_header is None:
        report.bad("record has no PK$PEAK block", record=record.index, line=record.line)
        return None
    peaks = _peaks(record, report)
    if peaks is None:
        return None
    if peaks.shape[0] == 0:
        report.skip("empty spectrum")
        return None
    if record.names:
        meta["name"] = record.names[0]
        if len(record.names) > 1:
            meta["synonyms"] = tuple(record.names[1:])
    if record.comments:
        meta["comments"] = "\n".join(record.comments)
    meta["scan_index"] = record.index
    meta["source_file"] = path
    try:
        return Spectrum(peaks[:, 0], peaks[:, 1], meta)
    except ValueError as exc:
        report.bad(f"invalid record: {exc}", record=record.index, line=record.line)
        return None


def _peaks(record: _Record, report: ReadReport) -> np.ndarray | None:
    """(n, 2) array of m/z and intensity (the ``int.`` column) of ``PK$PEAK``."""
    columns = (record.peak_header or "").split()
    intensity_col = columns.index("int.") if "int." in columns else 1
    lines = [(n, t) for n, t in record.peak_lines if t.upper() != "N/A"]
    rows = []
    for lineno, text in lines:
        fields = text.split()
        try:
            mz, intensity = float(fields[0]), float(fields[intensity_col])
        except (ValueError, IndexError):
            report.bad(f"peak line is not 'm/z int. rel.int.' numbers ({record.peak_header})",
                       record=record.index, line=lineno, text=text)
            return None
        if not (np.isfinite(mz) and np.isfinite(intensity)) or mz <= 0 or intensity < 0:
            report.bad("peak m/z must be positive and finite, intensity finite and >= 0",
                       record=record.index, line=lineno, text=text)
            return None
        rows.append((mz, intensity))
    if record.num_peak is not None and record.num_peak != len(rows):
        report.bad(f"PK$NUM_PEAK: {record.num_peak} but {len(rows)} peak lines follow PK$PEAK",
                   record=record.index, line=record.num_peak_line)
        return None
    return np.array(rows, dtype=np.float64).reshape(-1, 2)

"""JCAMP-DX mass spectra: single spectra, peak tables and whole GC-MS runs.

Entry points
------------
- :func:`read` -- stream :class:`~nps_id.spectrum.Spectrum` objects, one per data table
  (``##XYDATA``, ``##PEAK TABLE``, ``##XYPOINTS``, ``##DATA TABLE`` of an ``##NTUPLES`` page).
  A GC-MS run gives one spectrum per scan with ``retention_time`` (s), ``scan_id`` and
  ``scan_index``.
- :func:`read_tables` -- the decoded tables as raw :class:`Table` objects (abscissa, ordinate
  and labels), for data that are not mass spectra or need no validation.
- :func:`decode_asdf_line` -- one line of ``(X++(Y..Y))`` data in AFFN or any ASDF form.

Why hand-written: no maintained pure-Python JCAMP reader decodes every ASDF form (PAC, SQZ,
DIF with its Y-check value, DUP) *and* streams multi-page ``##NTUPLES`` / per-scan GC-MS runs;
the ``jcamp`` package loads whole files and handles neither the page structure nor DIF checks.

Structure handled: ``##TITLE=`` starts a block, ``##END=`` closes it (a missing final
``##END=`` is tolerated), ``##BLOCKS=`` link blocks nest, labels compare without case,
spaces, dashes, slashes and underscores (JCAMP-DX rule), ``$$`` starts a comment. Labels met
since the previous table belong to the next one (a GC-MS scan's ``##SCAN_NUMBER``,
``##RETENTION_TIME``, ``##PAGE=``), earlier non-page labels to every later table of the block.
Units: ``##RETENTION_TIME`` is in seconds (JCAMP-DX MS, Lampen et al. 1994); a ``##PAGE= T=``
value uses the ``##UNITS`` the ``##NTUPLES`` header declares for ``T`` (seconds if none).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from nps_id.errors import InputError
from nps_id.io._source import MAX_POINTS, ReadReport, lazy_read, numbered_lines, open_binary, parse_float
from nps_id.io.metadata import normalise_cas
from nps_id.spectrum import Spectrum

__all__ = ["read", "read_tables", "decode_asdf_line", "Table"]

_TABLE_LABELS = {"XYDATA", "PEAKTABLE", "XYPOINTS", "DATATABLE"}
# Labels that describe one scan/page only; everything else is inherited by later tables.
_PAGE_LABELS = {"PAGE", "SCANNUMBER", "RETENTIONTIME", "TIC", "NPOINTS"}
# Labels that describe the encoding, not the sample: not copied into metadata.
_STRUCTURE_LABELS = _PAGE_LABELS | _TABLE_LABELS | {
    "FIRSTX", "LASTX", "FIRSTY", "MAXX", "MINX", "MAXY", "MINY", "DELTAX",
    "JCAMPDX", "XFACTOR", "YFACTOR", "XUNITS", "YUNITS", "NTUPLES", "VARNAME", "SYMBOL",
    "VARTYPE", "VARFORM", "VARDIM", "UNITS", "FIRST", "LAST", "MIN", "MAX", "FACTOR", "BLOCKS",
    "BLOCKID", "END", "DATACLASS", "ENDNTUPLES",
}
_META_LABELS = {
    "TITLE": "name",
    "CASREGISTRYNO": "cas",
    "MOLFORM": "formula",
    "SPECTROMETERDATASYSTEM": "instrument",
    "SPECTROMETERSYSTEM": "instrument",
    "RETENTIONINDEX": "retention_index",
    "SCANNUMBER": "scan_id",
}

# ASDF characters (JCAMP-DX 4.24, McDonald & Wilks 1988): SQZ starts a value, DIF a difference,
# DUP repeats the previous token; the digit they stand for is followed by the other digits.
_SQZ = {"@": "0", **{c: str(i) for i, c in enumerate("ABCDEFGHI", 1)},
        **{c: "-" + str(i) for i, c in enumerate("abcdefghi", 1)}}
_DIF = {"%": "0", **{c: str(i) for i, c in enumerate("JKLMNOPQR", 1)},
        **{c: "-" + str(i) for i, c in enumerate("jklmnopqr", 1)}}
_DUP = {**{c: str(i) for i, c in enumerate("STUVWXYZ", 1)}, "s": "9"}
_ASDF_TOKEN = re.compile(r"[@A-Ia-i%J-Rj-rS-Zs+\-]?[0-9.]*")
# Plain AFFN numbers separated by blanks or commas. An exponent needs a sign or a decimal
# mantissa ("1.5E5", "1E+05") because "100E5" is SQZ for the two values 100 and 55.
_AFFN_NUMBER = r"[+\-]?(?:\d+\.\d*(?:[eE][+\-]?\d+)?|\.\d+(?:[eE][+\-]?\d+)?|\d+(?:[eE][+\-]\d+)?)"
_AFFN_LINE = re.compile(rf"^{_AFFN_NUMBER}(?:[\s,;]+{_AFFN_NUMBER})*[\s,;]*$")
_SEPARATORS = str.maketrans({",": " ", ";": " "})
_PAGE_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(\S+)")
_GROUP_RE = re.compile(r"\(\s*([A-Za-z0-9]+)\s*\+\+\s*\(\s*([A-Za-z0-9]+)\s*\.\.")
_TUPLE_RE = re.compile(r"\(\s*([A-Za-z0-9]+)\s*\.\.")
_TIME_FACTORS = {"SECONDS": 1.0, "SECOND": 1.0, "SEC": 1.0, "S": 1.0, "MINUTES": 60.0,
                 "MINUTE": 60.0, "MIN": 60.0, "MILLISECONDS": 1e-3, "MS": 1e-3}


class _AsdfError(ValueError):
    """A data line that is not valid AFFN/ASDF (turned into a ReaderError with its line)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class _TooMany(_AsdfError):
    """A table that expands to more points than it declares (or than :data:`MAX_POINTS`)."""


@dataclass
class Table:
    """One decoded data table.

    Attributes
    ----------
    x, y : float64 arrays of equal length (abscissa, e.g. m/z; ordinate, e.g. intensity),
        factors (``##XFACTOR``/``##YFACTOR`` or ``##FACTOR``) already applied.
    labels : the labelled data records that apply to this table (normalised label ->
        (original label, value)).
    index : 0-based index of the table in the file; line : 1-based line of its data label.
    """

    x: np.ndarray
    y: np.ndarray
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    index: int = 0
    line: int = 0


def _norm_label(label: str) -> str:
    return re.sub(r"[\s\-/_.]", "", label).upper()


def _strip_comment(line: str) -> str:
    cut = line.find("$$")
    return line if cut < 0 else line[:cut]


def _number(text: str) -> float | None:
    """The finite number in a label value, or None: a factor, step or retention value that is
    absent or unreadable is ignored (the table or spectrum is still read), not an error."""
    try:
        return parse_float(text, "JCAMP-DX value")
    except ValueError:
        return None


def _time(text: str) -> float | None:
    """A retention time label's number, infinite included; None when unreadable or NaN."""
    try:
        value = parse_float(text, "JCAMP-DX time", finite=False)
    except ValueError:
        return None
    return None if math.isnan(value) else value


# -- ASDF -----------------------------------------------------------------------------------------
def decode_asdf_line(line: str, max_values: int = MAX_POINTS) -> tuple[list[float], bool]:
    """Values of one ``(X++(Y..Y))`` line, the abscissa first, and whether it ends in DIF form.

    AFFN (``16383 -10247 1201``), PAC (``16383-10247+1201``), SQZ (``16383a0247A201``), DIF
    (``J``-``R`` / ``j``-``r`` / ``%`` add to the previous value) and DUP (``S``-``Z``, ``s``
    repeat the previous token) may be mixed. Raises ``ValueError`` on any other character, and
    before a DUP repeat would make the line hold more than ``max_values`` values (a 6 KB line of
    DUP tokens would otherwise expand to billions).

    >>> decode_asdf_line("100A0J%Tj")
    ([100.0, 10.0, 11.0, 11.0, 11.0, 10.0], True)
    """
    text = line.strip()
    if _AFFN_LINE.match(text):  # the common, fast case: plain numbers
        return [float(t) for t in text.translate(_SEPARATORS).split()], False
    values: list[float] = []
    last_dif = False
    last_step = 0.0
    for chunk in text.translate(_SEPARATORS).split():
        pos = 0
        while pos < len(chunk):
            token = _ASDF_TOKEN.match(chunk, pos)
            end = token.end() if token else pos
            if end == pos:
                raise _AsdfError(f"unexpected character {chunk[pos]!r} in ASDF data")
            tok = chunk[pos:end]
            pos = end
            lead, rest = tok[0], tok[1:]
            if lead in _DUP:
                if not values or not (rest.isdigit() or not rest):
                    raise _AsdfError(f"bad DUP repeat {tok!r} (needs digits and a value before it)")
                count = int(_DUP[lead] + rest)
                if len(values) + count - 1 > max_values:
                    raise _TooMany(f"DUP repeat {tok!r} expands past {max_values} values")
                for _ in range(count - 1):
                    values.append(values[-1] + last_step if last_dif else values[-1])
                continue
            if lead in _DIF:
                if not values:
                    raise _AsdfError("DIF difference without a value before it")
                last_step = _to_float(_DIF[lead] + rest)
                values.append(values[-1] + last_step)
                last_dif = True
                continue
            last_dif = False
            values.append(_to_float(_SQZ[lead] + rest if lead in _SQZ else tok))
    return values, last_dif


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _AsdfError(f"{text!r} is not a number") from None


# -- structure ----------------------------------------------------------------------------------
def _split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",")]


def _ntuple_column(labels: dict[str, tuple[str, str]], symbol: str, name: str) -> str | None:
    """The ``##name=`` entry of an NTUPLES header for variable ``symbol`` (``##UNITS``, ...)."""
    symbols = [s.upper() for s in _split_list(labels.get("SYMBOL", ("", ""))[1])]
    if symbol.upper() not in symbols or name not in labels:
        return None
    values = _split_list(labels[name][1])
    i = symbols.index(symbol.upper())
    return values[i] if i < len(values) and values[i] else None


def _factor(labels: dict[str, tuple[str, str]], axis: str, symbol: str) -> float:
    own = labels.get(axis + "FACTOR")
    value = _number(own[1]) if own else _number(_ntuple_column(labels, symbol, "FACTOR") or "")
    return value if value else 1.0


def _decode_pairs(lines: list[str], first_line: int, width: int) -> np.ndarray:
    """``(XY..XY)`` style tables: AFFN groups of ``width`` numbers (x first) -> (n, width)."""
    text = " ".join(lines).translate(_SEPARATORS)
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError:
        for offset, line in enumerate(lines):  # slow path, only to name the bad line
            try:
                [float(t) for t in line.translate(_SEPARATORS).split()]
            except ValueError:
                raise _AsdfError("peak table value that is not a number", first_line + offset) from None
        raise _AsdfError("peak table value that is not a number") from None
    if values.size % width:
        raise _AsdfError(f"peak table values do not come in groups of {width}")
    return values.reshape(-1, width)


def _decode_xyy(lines: list[str], first_line: int, labels: dict[str, tuple[str, str]],
                xsym: str, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X++(Y..Y))``: each line an abscissa and ordinates (ASDF); returns unscaled x, y.
    More than ``limit`` ordinates raise ``_TooMany`` as soon as a line goes past it."""
    starts: list[float] = []
    counts: list[int] = []
    shifts: list[int] = []  # 1 where a DIF check value was dropped from the start of a line
    ys: list[float] = []
    prev_dif = False
    for offset, line in enumerate(lines):
        try:
            # + 2: the line's abscissa and a DIF check value are not points
            values, dif = decode_asdf_line(line, limit - len(ys) + 2)
        except _AsdfError as exc:
            raise type(exc)(str(exc), first_line + offset) from None
        if not values:
            continue
        line_ys = values[1:]
        shift = 0
        if prev_dif and ys and line_ys:
            # DIF form repeats the last ordinate of the previous line as a check value.
            if line_ys[0] != ys[-1]:
                raise _AsdfError(f"DIF check value {line_ys[0]:g} differs from the previous "
                                 f"line's last value {ys[-1]:g}", first_line + offset)
            line_ys = line_ys[1:]
            shift = 1  # the line's abscissa is that of the check value
        starts.append(values[0])
        shifts.append(shift)
        counts.append(len(line_ys))
        ys.extend(line_ys)
        if len(ys) > limit:
            raise _TooMany(f"more than {limit} points", first_line + offset)
        prev_dif = dif
    x = _abscissa(starts, counts, shifts, labels, xsym)
    return x, np.array(ys, dtype=np.float64)


def _abscissa(starts: list[float], counts: list[int], shifts: list[int],
              labels: dict[str, tuple[str, str]], xsym: str) -> np.ndarray:
    """Abscissa of every ordinate: each line's start plus a constant step."""
    xfactor = _factor(labels, "X", xsym)
    step = None
    if "DELTAX" in labels:
        step = _number(labels["DELTAX"][1])
        step = None if step is None else step / xfactor
    elif "FIRSTX" in labels and "LASTX" in labels and "NPOINTS" in labels:
        first, last, n = (_number(labels[k][1]) for k in ("FIRSTX", "LASTX", "NPOINTS"))
        if first is not None and last is not None and n and n > 1:
            step = (last - first) / (n - 1) / xfactor
    if step is None:  # NTUPLES: ##FIRST / ##LAST / ##VAR_DIM of the abscissa variable
        first, last, dim = (_number(_ntuple_column(labels, xsym, k) or "")
                            for k in ("FIRST", "LAST", "VARDIM"))
        if first is not None and last is not None and dim and dim > 1:
            step = (last - first) / (dim - 1) / xfactor
    if step is None and len(starts) > 1 and counts[0]:
        # line 1 starts where line 0's points end (or at its last point, for a DIF check value)
        points = counts[0] + shifts[0] - shifts[1]
        step = (starts[1] - starts[0]) / points if points else None
    step = step or 1.0
    parts = [start + step * (np.arange(count) + shift)
             for start, count, shift in zip(starts, counts, shifts)]
    return np.concatenate(parts) if parts else np.empty(0)


def _point_limit(labels: dict[str, tuple[str, str]]) -> int:
    """How many points a table may expand to: its ``##NPOINTS=``, at most :data:`MAX_POINTS`."""
    npoints = _number(labels.get("NPOINTS", ("", ""))[1])
    return MAX_POINTS if npoints is None or not 0 <= npoints <= MAX_POINTS else int(npoints)


def _decode_table(lines: list[str], first_line: int, labels: dict[str, tuple[str, str]],
                  form: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode one table's data lines according to its ``(..)`` form; factors applied."""
    group = _GROUP_RE.search(form)
    if group:
        xsym, ysym = group.group(1), group.group(2)
        x, y = _decode_xyy(lines, first_line, labels, xsym, _point_limit(labels))
    else:
        symbols = _TUPLE_RE.search(form)
        names = symbols.group(1).upper() if symbols else "XY"
        width = len(names) if names.isalpha() and len(names) <= 4 else 2
        table = _decode_pairs(lines, first_line, max(width, 2))
        x, y = table[:, 0], table[:, 1]
        xsym, ysym = (names[0], names[1]) if len(names) >= 2 else ("X", "Y")
    return x * _factor(labels, "X", xsym), y * _factor(labels, "Y", ysym)


def read_tables(path: str | Path, report: ReadReport | None = None) -> Iterator[Table]:
    """Stream every data table of a JCAMP-DX file, decoded but not validated as a spectrum.

    Malformed data are passed to ``report.bad`` (raising :class:`~nps_id.errors.ReaderError`
    in strict mode). The file is checked when this is called.
    """
    return lazy_read(path, report, _tables)


def _tables(path: str, report: ReadReport) -> Iterator[Table]:
    block: dict[str, tuple[str, str]] = {}  # labels inherited by every table of the block
    pending: dict[str, tuple[str, str]] = {}  # labels since the previous table
    table_label: tuple[str, str, int] | None = None  # (label, form, line) of the open table
    data: list[str] = []
    index = 0
    saw_label = False
    with open_binary(path) as raw:
        for lineno, text in numbered_lines(raw):
            line = _strip_comment(text).strip()
            if not line.startswith("##"):
                if table_label is not None:
                    data.append(line)  # blank ones too: data[i] is line label_line + 1 + i
                elif line and not saw_label:
                    report.bad("not a JCAMP-DX file: expected a '##LABEL=' line", line=lineno,
                               text=line)
                    return
                elif line and pending:  # a multi-line text value (##NAMES=, ##COMMENTS=, ...)
                    key = next(reversed(pending))
                    original, value = pending[key]
                    pending[key] = (original, f"{value}\n{line}".strip())
                continue
            saw_label = True
            if table_label is not None:
                table = _close(table_label, data, {**block, **pending}, index, path, report)
                if table is not None:
                    yield table
                index += 1
                block.update({k: v for k, v in pending.items() if k not in _PAGE_LABELS})
                pending = {}
                table_label, data = None, []
            original, _, value = line[2:].partition("=")
            key = _norm_label(original)
            value = value.strip()
            if key == "TITLE":
                block, pending = {}, {}
            elif key == "END":
                block, pending = {}, {}
                continue
            if key in _TABLE_LABELS:
                table_label = (key, value, lineno)
                continue
            pending[key] = (original.strip(), value)
    if table_label is not None:  # a file without its final ##END=
        table = _close(table_label, data, {**block, **pending}, index, path, report)
        if table is not None:
            yield table
    elif not saw_label:
        report.bad("not a JCAMP-DX file: no '##LABEL=' line found", line=1)


def _close(table_label: tuple[str, str, int], data: list[str], labels: dict[str, tuple[str, str]],
           index: int, path: str, report: ReadReport) -> Table | None:
    label, form, line = table_label
    try:
        x, y = _decode_table(data, line + 1, labels, form)
    except _TooMany as exc:
        limit = _point_limit(labels)
        declared = (f"the {limit} points its ##NPOINTS= declares" if "NPOINTS" in labels and limit < MAX_POINTS
                    else f"{MAX_POINTS:,} points (the most a spectrum may hold)")
        report.bad(f"##{label}= data expand to more than {declared}", record=index, line=exc.line or line)
        return None
    except _AsdfError as exc:
        bad_line = exc.line or line
        text = data[bad_line - line - 1] if exc.line else None
        report.bad(f"bad ##{label}= data: {exc}", record=index, line=bad_line, text=text)
        return None
    npoints = _number(labels.get("NPOINTS", ("", ""))[1])
    if npoints is not None and int(npoints) != x.size:
        report.bad(f"##NPOINTS= {int(npoints)} but the table holds {x.size} points",
                   record=index, line=line)
        return None
    return Table(x=x, y=y, labels=labels, index=index, line=line)


# -- spectra ------------------------------------------------------------------------------------
def read(path: str | Path, report: ReadReport | None = None, *, rt_unit: str = "s") -> Iterator[Spectrum]:
    """Stream the mass spectra of a JCAMP-DX file (``.jdx``, ``.dx``, ``.jcamp``; ``.gz`` ok).

    Parameters
    ----------
    path
        The file.
    report
        Receives skip counts; a malformed table raises :class:`~nps_id.errors.ReaderError`
        (file, line, table index) unless the report is lenient.
    rt_unit
        Unit of ``##RETENTION_TIME`` and of a ``##PAGE= T=`` without declared units:
        ``"s"`` (default, the JCAMP-DX MS standard) or ``"min"``.

    Returns
    -------
    Iterator of :class:`~nps_id.spectrum.Spectrum`: m/z from the abscissa, intensity from the
    ordinate, retention time in seconds, ``scan_index`` = 0-based table index.
    """
    factor = _TIME_FACTORS.get(rt_unit.upper())
    if factor is None:
        raise InputError(f"unknown retention-time unit {rt_unit!r}; use 's' or 'min'")
    if report is None:  # one report for the tables' errors and the spectra's skips
        report = ReadReport(str(path))
    return _spectra(read_tables(path, report), str(path), report, factor)


def _spectra(tables: Iterator[Table], path: str, report: ReadReport, rt_factor: float) -> Iterator[Spectrum]:
    for table in tables:
        if table.x.size == 0:
            report.skip("empty spectrum")
            continue
        bad = ~np.isfinite(table.x) | ~np.isfinite(table.y) | (table.x <= 0) | (table.y < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            report.bad(f"m/z must be positive and intensity >= 0 (point {i}: m/z {table.x[i]:g}, "
                       f"intensity {table.y[i]:g})", record=table.index, line=table.line)
            continue
        try:
            spectrum = Spectrum(table.x, table.y, _metadata(table, path, rt_factor))
        except ValueError as exc:  # e.g. an intensity beyond float32 (1e39), a metadata value refused
            report.bad(f"invalid spectrum: {exc}", record=table.index, line=table.line)
            continue
        yield spectrum


def _metadata(table: Table, path: str, rt_factor: float) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    labels = table.labels
    for key, (original, value) in labels.items():
        if not value or key in _STRUCTURE_LABELS - {"SCANNUMBER"}:
            continue
        target = _META_LABELS.get(key)
        if target == "cas":
            cas = normalise_cas(value)
            meta["cas" if cas else "cas_registry_no"] = cas or value
        elif target == "retention_index":
            number = _number(value)
            if number is not None:
                meta[target] = number
        elif target == "name":
            meta[target] = value.splitlines()[0]
        elif target:
            meta[target] = value
        else:
            meta[re.sub(r"[\s\-/.]+", "_", original.strip(" .")).lower()] = value
    if "NAMES" in labels:
        meta.pop("names", None)
        meta["synonyms"] = tuple(n.strip() for n in labels["NAMES"][1].splitlines() if n.strip())
    mode = labels.get("IONIZATIONMODE", ("", ""))[1].strip().upper()
    if mode.endswith("+"):
        meta["ion_mode"] = "positive"
    elif mode.endswith("-"):
        meta["ion_mode"] = "negative"
    if mode.startswith("EI") or mode.startswith("CI"):
        meta["ms_level"] = 1
    seconds = _retention_seconds(labels, rt_factor)
    if seconds is not None:
        meta["retention_time"] = seconds
    meta["scan_index"] = table.index
    meta["source_file"] = path
    return meta


def _retention_seconds(labels: dict[str, tuple[str, str]], rt_factor: float) -> float | None:
    """``##RETENTION_TIME`` (s), else a time-like ``##PAGE=`` variable in its declared unit. A
    time below 0 or infinite is returned as read, for the scan check to name (unknown, the scan
    would silently leave the run's chromatogram); an unreadable one is unknown."""
    if "RETENTIONTIME" in labels:
        value = _time(labels["RETENTIONTIME"][1].split()[0] if labels["RETENTIONTIME"][1] else "")
        if value is not None:
            return value * rt_factor
    page = _PAGE_RE.match(labels.get("PAGE", ("", ""))[1])
    if page is None:
        return None
    symbol, value_text = page.groups()
    value = _time(value_text)
    name = (_ntuple_column(labels, symbol, "VARNAME") or "").upper()
    if value is None or not (symbol.upper() == "T" or "TIME" in name):
        return None
    unit = (_ntuple_column(labels, symbol, "UNITS") or "").upper()
    return value * _TIME_FACTORS.get(unit, rt_factor)

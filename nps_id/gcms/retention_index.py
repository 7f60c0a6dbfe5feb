"""Linear retention indices (van den Dool & Kratz 1963) from an n-alkane ladder.

For a compound eluting at ``t`` between the n-alkanes with ``n`` and ``n+1`` carbons
(``t_n <= t < t_{n+1}``)::

    RI = 100 * (n + (t - t_n) / (t_{n+1} - t_n))

which is the index of temperature-programmed GC (H. van den Dool, P. D. Kratz, J. Chromatogr. 11,
463-471, 1963). Outside the ladder the index is not extrapolated: it is unknown.

Entry points
------------
- :func:`load_alkanes` -- ``--alkanes FILE``: a CSV of retention time and carbon number, or an
  n-alkane ladder run (any run format), into an :class:`AlkaneLadder`.
- :class:`AlkaneLadder` -- :meth:`AlkaneLadder.ri` for one or many retention times;
  :meth:`AlkaneLadder.no_overlap_note` when a ladder cannot index any of a run.
- :func:`ladder_from_run` -- find the alkanes of a ladder run.
"""
from __future__ import annotations

import codecs
import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nps_id.errors import InputError, ReaderError

_RT_SECONDS = ("rt_s", "rt_sec", "rt_seconds", "retention_time_s")
_RT_MINUTES = ("rt", "rt_min", "rt_minutes", "retention_time", "retention_time_min", "time")
_CARBONS = ("carbon", "carbons", "c", "n", "carbon_number", "alkane")
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class AlkaneLadder:
    """Retention times of consecutive-or-not n-alkanes.

    Attributes
    ----------
    rt_seconds : float64 array, ascending
    carbons : int64 array, ascending with ``rt_seconds``
    source : str
        Where the ladder came from (file name).
    """

    rt_seconds: np.ndarray
    carbons: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        if self.rt_seconds.size < 2:
            raise ValueError("an alkane ladder needs at least two alkanes")
        if not (np.all(np.isfinite(self.rt_seconds)) and np.all(self.rt_seconds >= 0)):
            raise ValueError("alkane retention times must be finite and >= 0")
        if not (np.all(np.diff(self.rt_seconds) > 0) and np.all(np.diff(self.carbons) > 0)):
            raise ValueError("alkane retention times and carbon numbers must both increase")

    def ri(self, rt_seconds: float | np.ndarray) -> float | np.ndarray | None:
        """Van den Dool-Kratz index of ``rt_seconds``; NaN (or None for a scalar) outside the ladder."""
        t = np.atleast_1d(np.asarray(rt_seconds, dtype=np.float64))
        i = np.searchsorted(self.rt_seconds, t, side="right") - 1
        inside = (i >= 0) & (i < self.rt_seconds.size - 1) | (t == self.rt_seconds[-1])
        i = np.clip(i, 0, self.rt_seconds.size - 2)
        t0, t1 = self.rt_seconds[i], self.rt_seconds[i + 1]
        c0, c1 = self.carbons[i], self.carbons[i + 1]
        # Between non-consecutive alkanes the carbon step is spread linearly (c1 - c0 > 1).
        out = 100.0 * (c0 + (c1 - c0) * (t - t0) / (t1 - t0))
        out = np.where(inside, out, np.nan)
        if np.ndim(rt_seconds) == 0:
            return None if np.isnan(out[0]) else float(out[0])
        return out

    def no_overlap_note(self, start_seconds: float, end_seconds: float) -> str | None:
        """A one-line note when the ladder shares no time with a run, else None.

        No component of such a run can have an index. From a table this usually means its time
        column is in the other unit (seconds under ``rt``, or minutes under ``rt_s``).

        Parameters
        ----------
        start_seconds, end_seconds
            The run's first and last scan time, s.
        """
        if self.rt_seconds[0] <= end_seconds and start_seconds <= self.rt_seconds[-1]:
            return None
        source = Path(self.source)
        hint = ("; is the table's time column in the right unit (rt/rt_min minutes, rt_s seconds)?"
                if source.suffix.lower() in _TABLE_SUFFIXES else "")
        return (f"alkane ladder {source.name or '(unnamed)'} (C{self.carbons[0]}-C{self.carbons[-1]}, "
                f"{self.rt_seconds[0] / 60:.2f}-{self.rt_seconds[-1] / 60:.2f} min) does not overlap the run "
                f"({start_seconds / 60:.2f}-{end_seconds / 60:.2f} min): no retention indices{hint}")

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "carbons": self.carbons.tolist(),
            "rt_min": [round(t / 60.0, 4) for t in self.rt_seconds],
        }


def load_alkanes(path: str | Path) -> AlkaneLadder:
    """Read ``--alkanes``: a ``.csv``/``.tsv`` table, or an n-alkane ladder run.

    The table is UTF-8 text (or UTF-16 with a byte-order mark, Excel's "Unicode Text"), comma- or tab-separated, whose first line is a header naming a
    carbon-number column (``carbon``, ``n``, ``c``) and a retention-time column: ``rt``/``rt_min``
    in minutes or ``rt_s``/``rt_seconds`` in seconds. Every other non-blank line is one alkane: a
    whole carbon number >= 1 and a finite retention time >= 0; at least two alkanes, carbon numbers
    rising with retention time. A row with more fields than the header is refused (a decimal
    comma in a comma-separated table: ``10,5,23`` is not C10 at 5 minutes).

    Raises
    ------
    ReaderError
        A table that breaks these rules, naming the file and the line (exit 3).
    """
    path = Path(path)
    if path.suffix.lower() in _TABLE_SUFFIXES:
        return _from_table(path)
    from nps_id.gcms.run import load_run

    run, _ = load_run(path)
    if run is None:
        raise InputError(f"{path}: an alkane ladder run needs MS1 scans")
    return ladder_from_run(run)


# "comma- or tab-separated": a European Excel CSV (`carbon;rt_min`, its header whole) read as if it named no column
_HEADER = ("a comma- or tab-separated header naming a carbon column (carbon/n/c) and a time column "
           "(rt or rt_min in minutes, rt_s in seconds)")


def _from_table(path: Path) -> AlkaneLadder:
    lines = _read_lines(path)
    if not any(line.strip() for line in lines):
        raise ReaderError(path, f"empty file; expected {_HEADER}, then one alkane per line", line=1)
    reader = csv.reader(lines, dialect="excel-tab" if "\t" in lines[0] else "excel")
    header_row = next(reader)
    header = [h.strip().lower() for h in header_row]
    carbon_col = _find(header, _CARBONS)
    seconds_col = _find(header, _RT_SECONDS)
    minutes_col = _find(header, _RT_MINUTES) if seconds_col is None else None
    if carbon_col is None or (seconds_col is None and minutes_col is None):
        raise ReaderError(path, f"expected {_HEADER}", line=1, text=",".join(header_row))
    if seconds_col is not None:
        time_col, unit, to_seconds = seconds_col, "seconds", 1.0
    else:
        time_col, unit, to_seconds = minutes_col, "minutes", 60.0
    alkanes: list[tuple[float, int, int]] = []  # (rt_seconds, carbons, line)
    for row in reader:
        line = reader.line_num  # csv's own count, right even after a quoted field spanning lines
        if not any(cell.strip() for cell in row):
            continue
        if any(cell.strip() for cell in row[len(header_row):]):
            # "10,5,23": a decimal comma in a comma-separated table read as 5 minutes, silently
            raise ReaderError(path, f"{len(row)} fields but the header names {len(header_row)}; a decimal comma "
                              "in a comma-separated table? Write 5.23, or separate the columns by tabs",
                              line=line, text=",".join(row))
        if max(carbon_col, time_col) >= len(row):
            raise ReaderError(path, f"expected a carbon number (column {carbon_col + 1}) and a retention time "
                              f"(column {time_col + 1})", line=line, text=",".join(row))
        carbons = _finite(row[carbon_col])
        # A fractional carbon number is a typo or a wrong column, never an n-alkane.
        if carbons is None or not carbons.is_integer() or carbons < 1:
            raise ReaderError(path, f"expected a whole carbon number >= 1 in column {header_row[carbon_col]!r}",
                              line=line, text=row[carbon_col])
        rt = _finite(row[time_col])
        if rt is None or rt < 0:
            raise ReaderError(path, f"expected a retention time in {unit}, a finite number >= 0, in column "
                              f"{header_row[time_col]!r}", line=line, text=row[time_col])
        alkanes.append((rt * to_seconds, int(carbons), line))
    if len(alkanes) < 2:
        found = f"{len(alkanes)} alkane" + ("" if len(alkanes) == 1 else "s")
        raise ReaderError(path, f"the table ends after {found}; expected at least two", line=reader.line_num)
    alkanes.sort()
    for (rt0, c0, line0), (rt1, c1, line1) in zip(alkanes, alkanes[1:]):
        if rt1 == rt0 or c1 <= c0:
            how = "elutes with" if rt1 == rt0 else "elutes after"
            raise ReaderError(path, f"C{c1} at {rt1 / to_seconds:g} {unit} {how} C{c0} at {rt0 / to_seconds:g} "
                              f"{unit} (line {line0}); expected carbon numbers to rise with retention time",
                              line=line1)
    return AlkaneLadder(np.array([a[0] for a in alkanes]), np.array([a[1] for a in alkanes], dtype=np.int64),
                        str(path))


def _read_lines(path: Path) -> list[str]:
    """The table's lines; a byte that is not UTF-8 is named by its line, like any other bad input."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the alkane table ({exc.strerror})") from None
    raw = raw.removeprefix(codecs.BOM_UTF8)  # Excel's "CSV UTF-8" starts with one
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:  # Excel's "Unicode Text": UTF-16 with a BOM, tab-separated
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeError:  # odd length, a lone surrogate
            raise ReaderError(path, "damaged UTF-16 text (it starts with a UTF-16 byte-order mark); save the table "
                              "as UTF-8", line=1) from None
    elif b"\0" in raw.partition(b"\n")[0]:
        raise ReaderError(path, "NUL bytes: UTF-16 text without a byte-order mark? Save the table as UTF-8", line=1)
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ReaderError(path, f"byte 0x{raw[exc.start]:02x} is not UTF-8; expected a UTF-8 text table "
                          "(a CSV or TSV of carbon number and retention time)",
                          line=raw[:exc.start].count(b"\n") + 1) from None


def _finite(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    return next((header.index(n) for n in names if n in header), None)


def ladder_from_run(run, min_relative_height: float = 0.05) -> AlkaneLadder:
    """Find the n-alkanes of a ladder run and their carbon numbers.

    Alkane peaks are the peaks of the m/z 57 chromatogram (the C4H9+ ion that dominates every
    n-alkane spectrum) higher than ``min_relative_height`` of the largest. The carbon number of
    each comes from its molecular ion (m/z 14n + 2), the highest such ion in its spectrum with at
    least 0.2 % of the base peak; peaks without one are skipped.

    Raises
    ------
    InputError
        When fewer than two alkanes are recognised.
    """
    from nps_id.gcms.peaks import PeakParameters, baseline, detect_peaks, window_scans

    eic = run.eic(57).astype(np.float64)
    corrected = eic - baseline(eic, window_scans(run.rt_seconds, 30.0))
    peaks = detect_peaks(corrected, run.rt_seconds, PeakParameters(min_snr=10.0))
    if not peaks:
        raise InputError(f"{run.path}: no alkane peaks (m/z 57) in the ladder run")
    top = max(p.height for p in peaks)
    rts, carbons = [], []
    for peak in peaks:
        if peak.height < min_relative_height * top:
            continue
        carbon = _alkane_carbons(run.intensity[peak.apex], run.mz_min)
        if carbon is not None and (not carbons or carbon > carbons[-1]):
            rts.append(peak.rt_seconds)
            carbons.append(carbon)
    if len(rts) < 2:
        raise InputError(f"{run.path}: fewer than two n-alkanes recognised by their molecular ions")
    return AlkaneLadder(np.asarray(rts), np.asarray(carbons, dtype=np.int64), run.path)


def _alkane_carbons(row: np.ndarray, mz_min: int) -> int | None:
    """Carbon number from the highest molecular ion CnH2n+2 (m/z 14n + 2) present in ``row``."""
    base = row.max()
    if base <= 0:
        return None
    for n in range(60, 4, -1):
        col = 14 * n + 2 - mz_min
        if 0 <= col < row.size and row[col] >= 0.002 * base:
            return n
    return None

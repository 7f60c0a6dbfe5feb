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
- :class:`AlkaneLadder` -- :meth:`AlkaneLadder.ri` for one or many retention times.
- :func:`ladder_from_run` -- find the alkanes of a ladder run.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nps_id.errors import InputError, ReaderError

_RT_SECONDS = ("rt_s", "rt_sec", "rt_seconds", "retention_time_s")
_RT_MINUTES = ("rt", "rt_min", "rt_minutes", "retention_time", "retention_time_min", "time")
_CARBONS = ("carbon", "carbons", "c", "n", "carbon_number", "alkane")


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

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "carbons": self.carbons.tolist(),
            "rt_min": [round(t / 60.0, 4) for t in self.rt_seconds],
        }


def load_alkanes(path: str | Path) -> AlkaneLadder:
    """Read ``--alkanes``: a ``.csv``/``.tsv`` table, or an n-alkane ladder run.

    The table needs a header with a carbon-number column (``carbon``, ``n``, ``c``) and a
    retention-time column: ``rt``/``rt_min`` in minutes or ``rt_s``/``rt_seconds`` in seconds.
    """
    path = Path(path)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _from_table(path)
    from nps_id.gcms.run import load_run

    run, _ = load_run(path)
    if run is None:
        raise InputError(f"{path}: an alkane ladder run needs MS1 scans")
    return ladder_from_run(run)


def _from_table(path: Path) -> AlkaneLadder:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the alkane table ({exc.strerror})") from None
    dialect = "excel-tab" if "\t" in text.splitlines()[0] else "excel"
    rows = list(csv.reader(text.splitlines(), dialect=dialect))
    if len(rows) < 3:
        raise ReaderError(path, "an alkane table needs a header and at least two alkanes", line=1)
    header = [h.strip().lower() for h in rows[0]]
    carbon_col = _find(header, _CARBONS)
    seconds_col = _find(header, _RT_SECONDS)
    minutes_col = _find(header, _RT_MINUTES) if seconds_col is None else None
    if carbon_col is None or (seconds_col is None and minutes_col is None):
        raise ReaderError(
            path, "header must name a carbon column (carbon/n/c) and a time column (rt or rt_min in minutes, "
            "rt_s in seconds)", line=1, text=",".join(rows[0]),
        )
    rts, carbons = [], []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            carbon = int(float(row[carbon_col]))
            rt = float(row[seconds_col if seconds_col is not None else minutes_col])
        except (ValueError, IndexError):
            raise ReaderError(path, "expected a carbon number and a retention time", line=line_no,
                              text=",".join(row)) from None
        rts.append(rt if seconds_col is not None else rt * 60.0)
        carbons.append(carbon)
    order = np.argsort(rts)
    try:
        return AlkaneLadder(np.asarray(rts)[order], np.asarray(carbons, dtype=np.int64)[order], str(path))
    except ValueError as exc:
        raise ReaderError(path, str(exc)) from None


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

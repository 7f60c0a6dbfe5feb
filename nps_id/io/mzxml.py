"""mzXML reader (versions 2.x and 3.x, the ISB/TPP predecessor of mzML).

Entry point: :func:`read` -- stream :class:`~nps_id.spectrum.Spectrum` objects; nested MSn scans
(mzXML 2.0 writes MS2 scans inside their MS1 scan) come out in document order.

``pyteomics.mzxml`` parses the XML; the base64 peak lists are left undecoded by it
(``decode_binary=False``) and decoded here one scan at a time, so that a bad scan raises a
:class:`~nps_id.errors.ReaderError` naming that scan -- or, in lenient mode, is quarantined while
reading goes on (an exception inside pyteomics' iterator would end the whole read).
A DTD is refused before pyteomics sees the file (:func:`nps_id.io._xml.refuse_dtd`: found by the
parser, not by a text scan), so pyteomics' own parser never meets an entity.
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
import warnings
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from lxml import etree

from nps_id.errors import shorten
from nps_id.io._source import MAX_POINTS, ReadReport, guard_io, inflate, open_binary, scan_peaks
from nps_id.io._xml import refuse_dtd
from nps_id.spectrum import Spectrum

#: An xs:duration of days, hours, minutes and seconds (a year or month has no fixed length).
_DURATION = re.compile(r"P(?:(?P<D>\d+(?:\.\d*)?)D)?(?:T(?:(?P<H>\d+(?:\.\d*)?)H)?(?:(?P<M>\d+(?:\.\d*)?)M)?"
                       r"(?:(?P<S>\d+(?:\.\d*)?)S)?)?")
_SECONDS_PER = {"D": 86400.0, "H": 3600.0, "M": 60.0, "S": 1.0}


def _duration_seconds(text: str) -> float | str:
    """A retentionTime in seconds, or the text itself when it is no duration (the scan then names
    it). pyteomics' own converter searches rather than matches, so 'PT-5S' and 'PT1e12S' were 0 s,
    and it drops days; a bare number is seconds, as pyteomics reads it."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        try:
            return float(text)
        except ValueError:
            return text
    parts = {unit: float(value) for unit, value in match.groupdict().items() if value is not None}
    return sum(value * _SECONDS_PER[unit] for unit, value in parts.items()) if parts else text


@functools.cache
def _reader_class() -> type:
    """pyteomics' MzXML with :func:`_duration_seconds` for its duration attributes."""
    from pyteomics import mzxml

    return type("MzXML", (mzxml.MzXML,), {"_converters": {**mzxml.MzXML._converters, "duration": _duration_seconds}})


def read(path: str | Path, report: ReadReport | None = None, ms_level: int | None = None) -> Iterator[Spectrum]:
    """Stream the scans of an mzXML file.

    Parameters
    ----------
    path
        ``.mzXML`` file, optionally gzip-compressed.
    report
        Filled with skip counts and, in lenient mode, the quarantine of malformed scans.
    ms_level
        Keep only scans of this MS level (default: all).

    Yields
    ------
    Spectrum
        Metadata ``scan_id`` (the scan ``num``), ``scan_index`` (0-based order in the file),
        ``ms_level``, ``retention_time`` (seconds; mzXML writes ``PT353.43S`` durations),
        ``precursor_mz``, ``precursor_charge``, ``collision_energy``, ``ion_mode``, ``source_file``.
    """
    path = str(path)
    if report is None:
        report = ReadReport(path)
    refuse_dtd(path)
    return guard_io(_read(path, report, ms_level), path)


def _read(path: str, report: ReadReport, ms_level: int | None) -> Iterator[Spectrum]:
    index = -1
    scan_id = None
    with open_binary(path) as fh, warnings.catch_warnings():
        # pyteomics pulls in psims, which warns about its optional hdf5plugin on import.
        warnings.simplefilter("ignore")
        from pyteomics.auxiliary import PyteomicsError  # imported on use: keeps `nps-id --help` fast

        try:
            # Constructing the reader already parses the header, so it belongs inside the try.
            reader = _reader_class()(fh, decode_binary=False, use_index=False, read_schema=False)
            for scan in reader:
                index += 1
                scan_id = scan.get("num") or scan.get("id")
                spectrum = _spectrum(scan, index, path, report, ms_level)
                if spectrum is not None:
                    yield spectrum
        except etree.XMLSyntaxError as exc:
            after = f" after scan {scan_id!r}" if scan_id is not None else ""
            report.bad(f"malformed or truncated XML{after}: {exc.msg}", record=index if index >= 0 else None,
                       line=exc.lineno)
        except (PyteomicsError, ValueError, KeyError, TypeError) as exc:
            # pyteomics converts scan attributes itself and ends its iterator on a failure, so
            # the read cannot go on past this scan even in lenient mode.
            message = str(getattr(exc, "message", exc)).split("\n")[0]
            report.bad(f"cannot parse the scan after {scan_id!r}: {message}", record=index + 1)


def _spectrum(scan: dict, index: int, path: str, report: ReadReport, ms_level: int | None) -> Spectrum | None:
    scan_id = str(scan.get("num") or scan.get("id") or index)
    level = scan.get("msLevel")
    if ms_level is not None and level != ms_level:
        report.skip(f"ms level {level} (kept only ms level {ms_level})")
        return None
    try:
        peaks = scan_peaks(*_peaks(scan), report)
        if peaks is None:
            return None
        meta: dict[str, Any] = {
            "scan_id": scan_id,
            "scan_index": index,
            "ms_level": level,
            "source_file": path,
            "ion_mode": {"+": "positive", "-": "negative"}.get(scan.get("polarity")),
        }
        rt = scan.get("retentionTime")
        if isinstance(rt, str):
            raise ValueError(f"retentionTime is not a duration such as PT353.43S (found {shorten(rt)!r})")
        if rt is not None:
            meta["retention_time"] = rt
        precursors = scan.get("precursorMz") or []
        if precursors:
            meta["precursor_mz"] = precursors[0].get("precursorMz")
            meta["precursor_charge"] = precursors[0].get("precursorCharge")
        if scan.get("collisionEnergy") is not None:
            meta["collision_energy"] = f"{float(scan['collisionEnergy']):g}"
        return Spectrum(*peaks, meta)
    except (ValueError, TypeError, binascii.Error, zlib.error) as exc:
        report.bad(f"scan {scan_id!r}: {exc}", record=index, text=scan_id)
        return None


def _peaks(scan: dict) -> tuple[np.ndarray, np.ndarray]:
    """The (m/z, intensity) pairs of a scan, decoded here rather than by pyteomics so that a
    zlib peak list inflates only as far as its ``peaksCount`` (a compression bomb is refused)."""
    record = scan.get("m/z array")
    expected = scan.get("peaksCount")
    count = MAX_POINTS if expected is None else int(expected)
    if record is None or scan.get("intensity array") is None:
        if count == 0 or expected is None:
            return np.empty(0), np.empty(0)
        raise ValueError("no <peaks> element although peaksCount > 0")
    if not 0 <= count <= MAX_POINTS:
        raise ValueError(f"peaksCount {count} is not between 0 and {MAX_POINTS:,} (the most a spectrum may hold)")
    raw = base64.b64decode(record.data.strip(), validate=True) if record.data.strip() else b""
    if raw and record.compression == "zlib compression":
        try:
            raw = inflate(raw, count * record.dtype.itemsize)
        except ValueError:
            raise ValueError(f"the zlib peak list inflates to more than the {count} pairs its peaksCount "
                             "declares (a compression bomb or a damaged file)") from None
    if len(raw) % record.dtype.itemsize:
        raise ValueError(f"the peak list holds {len(raw)} bytes, not a whole number of m/z-intensity pairs")
    pairs = np.frombuffer(raw, dtype=record.dtype)
    if expected is not None and count != pairs.size:
        raise ValueError(f"peaksCount is {expected} but the peak list holds {pairs.size} pairs")
    return pairs["m/z array"].astype(np.float64), pairs["intensity array"].astype(np.float64)

"""ANDI/AIA netCDF GC-MS files (ASTM E2077, the ``.cdf`` export of ChemStation and most vendors).

Entry point: :func:`read` -- stream one :class:`~nps_id.spectrum.Spectrum` per scan.

An ANDI-MS file keeps all peaks of a run in two flat arrays (``mass_values``,
``intensity_values``) and per-scan ``scan_index`` (offset of the first peak), ``point_count`` and
``scan_acquisition_time`` (seconds). ``scipy.io.netcdf_file`` reads netCDF-3 (the only version
ANDI uses) without a new dependency; the file is memory-mapped, so only one scan's peaks are
touched at a time. A chromatogram-only AIA file (``ordinate_values``: a TIC or a UV trace) holds
no mass spectra and is refused with that message.

Limits: a gzipped file is decompressed to memory (netCDF needs random access) only up to
:data:`MAX_GZIP_BYTES`; a scan of more than :data:`~nps_id.io._source.MAX_POINTS` points, or one
that the per-scan arrays do not cover, is a malformed scan.
"""
from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from nps_id.errors import NoSpectraError, ReaderError
from nps_id.io._source import MAX_POINTS, ReadReport, open_binary
from nps_id.spectrum import Spectrum

_REQUIRED = ("scan_index", "point_count", "mass_values", "intensity_values")
#: The most a gzipped ANDI file may decompress to (it is held in memory, twice while scipy reads
#: it); an uncompressed file is memory-mapped and has no such limit.
MAX_GZIP_BYTES = 256 << 20


def read(path: str | Path, report: ReadReport | None = None) -> Iterator[Spectrum]:
    """Stream the scans of an ANDI-MS netCDF file.

    Parameters
    ----------
    path
        ``.cdf`` / ``.nc`` file (netCDF-3), optionally gzip-compressed.
    report
        Filled with skip counts (empty scans) and, in lenient mode, the quarantine of bad scans.

    Yields
    ------
    Spectrum
        MS1 scans with ``retention_time`` (seconds, from ``scan_acquisition_time``),
        ``scan_id`` (``actual_scan_number``, else the 1-based scan number), ``scan_index``,
        ``ms_level`` 1, ``ion_mode`` (from ``test_ionization_polarity``), ``source_file``.

    Raises
    ------
    ReaderError
        Not a netCDF-3 file, a chromatogram-only file (:class:`~nps_id.errors.NoSpectraError`:
        "no mass spectra in this file"), or per-scan offsets that do not fit the peak arrays.
    """
    path = str(path)
    if report is None:
        report = ReadReport(path)
    nc = _open(path)  # opened and checked before iteration starts
    problem = _problem(nc)
    if problem:
        # a chromatogram (``ordinate_values``) in place of the mass spectra: readable, no spectra
        chromatogram_only = "ordinate_values" in nc.variables and not set(_REQUIRED) <= set(nc.variables)
        nc.close()
        raise (NoSpectraError if chromatogram_only else ReaderError)(path, problem)
    return _read(nc, path, report)


def _open(path: str):
    from scipy.io import netcdf_file  # imported on use: scipy is slow to import

    try:
        with open_binary(path) as fh:
            if isinstance(fh, gzip.GzipFile):  # netcdf_file needs random access: decompress to memory
                data = fh.read(MAX_GZIP_BYTES + 1)
                if len(data) > MAX_GZIP_BYTES:
                    raise ReaderError(path, f"decompresses to more than {MAX_GZIP_BYTES >> 20} MiB; gunzip it "
                                      "first (an uncompressed .cdf is memory-mapped, not held in memory)")
                return netcdf_file(io.BytesIO(data), "r", mmap=False)
        return netcdf_file(path, "r", mmap=True)
    # scipy reports a corrupt header with whatever its parsing trips over (a KeyError for an
    # unknown type code, an IndexError for a bad dimension id, ...).
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, struct.error, OSError, EOFError) as exc:
        raise ReaderError(
            path,
            f"not a readable netCDF-3 (ANDI/AIA) file ({type(exc).__name__}: {exc}); netCDF-4 files "
            "must be converted "
            "to classic format first (nccopy -k classic)",
        ) from None


def _problem(nc) -> str | None:
    """Why ``nc`` holds no readable mass spectra, or None. (Returns rather than raises, so no
    traceback keeps a view of the memory map alive when the file is closed.)"""
    variables = nc.variables
    missing = [name for name in _REQUIRED if name not in variables]
    if not missing:
        for name in ("mass_values", "intensity_values"):
            if _scale(variables[name]) is None:
                return f"{name}:scale_factor {getattr(variables[name], 'scale_factor')!r} is not one number"
        return None
    if "ordinate_values" in variables:
        points = variables["ordinate_values"].shape[0]
        detector = _text(nc._attributes.get("detector_name")) or "a detector"
        return (
            f"no mass spectra in this file: it is a chromatogram-only ANDI/AIA file "
            f"({points} points from {detector}); export the run as ANDI-MS with spectra"
        )
    return f"no mass spectra in this file: netCDF variables {', '.join(missing)} are missing"


def _scale(var) -> float | None:
    """A variable's ``scale_factor`` (1 when absent); None when it is not one finite number."""
    value = getattr(var, "scale_factor", 1.0)
    try:
        scale = float(np.asarray(value, dtype=np.float64).item())
    except (TypeError, ValueError):  # text, or an array of several values
        return None
    return scale if np.isfinite(scale) else None


def _per_scan(variables, name: str, dtype: type) -> np.ndarray | None:
    return np.array(variables[name][:], dtype=dtype) if name in variables else None


def _read(nc, path: str, report: ReadReport) -> Iterator[Spectrum]:
    variables = masses = intensities = mz = None
    try:
        variables = nc.variables
        offsets = _per_scan(variables, "scan_index", np.int64)
        per_scan = {"point_count": _per_scan(variables, "point_count", np.int64),
                    "scan_acquisition_time": _times(variables),
                    "actual_scan_number": _per_scan(variables, "actual_scan_number", np.int64)}
        counts, times, scan_numbers = per_scan.values()
        masses, intensities = variables["mass_values"], variables["intensity_values"]
        mass_scale, intensity_scale = _scale(masses), _scale(intensities)
        total = masses.shape[0]
        polarity = _text(nc._attributes.get("test_ionization_polarity")).lower()
        ion_mode = "positive" if polarity.startswith("pos") else "negative" if polarity.startswith("neg") else None
        end = 0  # where the last scan read ends in the peak arrays
        for i in range(offsets.size):
            scan_id = str(int(scan_numbers[i])) if scan_numbers is not None and i < scan_numbers.size else str(i + 1)
            short = next((name for name, values in per_scan.items() if values is not None and i >= values.size), None)
            if short:
                report.bad(f"scan {scan_id}: no {short} (the array holds {per_scan[short].size} values for "
                           f"{offsets.size} scans)", record=i, text=scan_id)
                continue
            start, count = int(offsets[i]), int(counts[i])
            if count == 0:
                report.skip("empty spectrum")
                continue
            if start < 0 or count < 0 or start + count > total or count > MAX_POINTS:
                report.bad(
                    f"scan {scan_id}: scan_index {start} + point_count {count} lies outside the "
                    f"{total} stored peaks (or exceeds {MAX_POINTS:,} points)", record=i, text=scan_id)
                continue
            if start < end:
                # Scans follow each other in the peak arrays; overlapping ones would let a small
                # file make every scan re-read all peaks (time ~ scans x peaks).
                report.bad(f"scan {scan_id}: scan_index {start} overlaps the previous scan (ends at {end})",
                           record=i, text=scan_id)
                continue
            end = start + count
            meta: dict[str, Any] = {
                "scan_id": scan_id, "scan_index": i, "ms_level": 1, "source_file": path, "ion_mode": ion_mode,
                "retention_time": None if times is None else float(times[i]),
            }
            mz = masses.data[start:start + count]
            if mz.dtype.kind == "f" and mz.dtype.itemsize == 4 and mass_scale == 1.0:
                # float32 m/z 18.1 would become 18.100000381 in float64: take the decimal the
                # exporter wrote (shortest repr) so exports and reports show 18.1.
                mz = mz.astype(str).astype(np.float64)
            try:
                with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf: Spectrum names them
                    spectrum = Spectrum(mz * mass_scale, intensities.data[start:start + count] * intensity_scale, meta)
            except ValueError as exc:
                report.bad(f"scan {scan_id}: {exc}", record=i, text=scan_id)
                continue
            yield spectrum
    finally:
        # Drop every view of the memory map first, or scipy cannot unmap the file on close
        # (also when the caller stops iterating early).
        variables = masses = intensities = mz = None
        nc.close()


def _times(variables) -> np.ndarray | None:
    if "scan_acquisition_time" not in variables:
        return None
    var = variables["scan_acquisition_time"]
    unit = _text(getattr(var, "units", b"")).lower()
    factor = 60.0 if unit.startswith("min") else 1.0  # the ANDI-MS template fixes seconds
    with np.errstate(invalid="ignore", over="ignore"):  # Spectrum refuses a non-finite time
        return np.array(var[:], dtype=np.float64) * factor


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1").strip("\x00 ")
    return str(value).strip()

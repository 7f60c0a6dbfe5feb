"""Agilent ChemStation / MassHunter ``.D`` run folders, decoded by ``rainbow-api``.

Entry point: :func:`read` -- stream one MS1 :class:`~nps_id.spectrum.Spectrum` per scan.

Which file inside the folder:

1. ``AcqData/MSPeak.bin`` (MassHunter centroids, read with ``centroid=True``): each scan's own
   peak list, exactly what ProteoWizard writes to mzML -- preferred.
2. else ``data.ms`` (ChemStation GC-MS): rainbow returns a scans x m/z matrix; it is read on the
   vendor's finest m/z grid (``rainbow.MZ_FLOORS['agilent']``, 0.05 Da, the resolution the binary
   format can record) so that binning merges nothing, and each row's non-zero columns become the
   scan's peaks. The matrix only has columns for m/z values that occur in the run.

A folder with only UV/DAD/FID/other traces has no mass spectra and is refused with the list of
what it does hold; nothing is guessed.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from nps_id.errors import ReaderError
from nps_id.io._source import ReadReport
from nps_id.spectrum import Spectrum


def read(path: str | Path, report: ReadReport | None = None) -> Iterator[Spectrum]:
    """Stream the MS scans of an Agilent ``.D`` folder.

    Parameters
    ----------
    path
        The ``.D`` folder as the instrument wrote it.
    report
        Filled with skip counts (empty scans).

    Yields
    ------
    Spectrum
        ``ms_level`` 1, ``retention_time`` (seconds), ``scan_id`` (``scan=N``, 1-based as in
        ProteoWizard's mzML of such runs), ``scan_index``, ``source_file`` (the folder).

    Raises
    ------
    ReaderError
        Not a folder, no MS data in it (e.g. only a UV or FID trace), or rainbow-api cannot
        decode the binary files (truncated, unknown version).
    """
    path = str(path)
    if report is None:
        report = ReadReport(path)
    if not Path(path).is_dir():
        raise ReaderError(path, "an Agilent run is a .D folder, not a file")
    datafile, grid = _ms_datafile(path)
    return _read(datafile, grid, path, report)


def _rainbow_read(path: str, **options: Any):
    import rainbow  # imported on use: only needed for vendor folders

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rainbow warns about files it skips (e.g. telemetry)
            return rainbow.read(path, **options)
    except Exception as exc:  # rainbow raises bare Exception / struct.error on bad input
        raise ReaderError(path, f"rainbow-api cannot decode this .D folder ({type(exc).__name__}: {exc})") from None


def _ms_datafile(path: str):
    """The MS data file to read and whether it is a binned matrix (True) or per-scan centroids."""
    import rainbow

    directory = _rainbow_read(path, centroid=True)
    datafiles = list(getattr(directory, "datafiles", None) or [])
    ms = [f for f in datafiles if str(f.detector).upper() == "MS"]
    if not ms:
        if datafiles:
            held = ", ".join(sorted({f"{f.detector} ({f.name})" for f in datafiles}))
            raise ReaderError(path, f"no mass spectra in this .D folder: it holds only {held}; "
                                    "nps-id reads GC-MS data (data.ms, AcqData/MSPeak.bin)")
        raise ReaderError(path, "no mass spectra in this .D folder: rainbow-api found no data file it can read "
                                "(expected data.ms or AcqData/MSPeak.bin)")
    centroids = [f for f in ms if hasattr(f, "scan")]
    if centroids:
        return centroids[0], False
    name = ms[0].name
    # Re-read just that file on the vendor grid: the default 1 Da bins would merge m/z 43.9 and 44.
    fine = _rainbow_read(path, bin_width=rainbow.MZ_FLOORS["agilent"], requested_files=[name.lower()])
    return next(f for f in fine.datafiles if f.name == name), True


def _read(datafile, binned: bool, path: str, report: ReadReport) -> Iterator[Spectrum]:
    times_min = np.asarray(datafile.xlabels, dtype=np.float64)
    mz_axis = np.asarray(datafile.ylabels, dtype=np.float64) if binned else None
    for i, minutes in enumerate(times_min):
        if binned:
            row = datafile.data[i]
            columns = np.flatnonzero(row)
            mz, intensity = mz_axis[columns], row[columns]
        else:
            mz, intensity = datafile.scan(i)
        if len(mz) == 0:
            report.skip("empty spectrum")
            continue
        meta = {
            "scan_id": f"scan={i + 1}",
            "scan_index": i,
            "ms_level": 1,
            "retention_time": float(minutes) * 60.0,  # rainbow gives minutes
            "source_file": path,
        }
        try:
            yield Spectrum(mz, intensity, meta)
        except ValueError as exc:
            report.bad(f"scan {i + 1}: {exc}", record=i, text=f"scan={i + 1}")

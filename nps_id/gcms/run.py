"""A chromatographic run as a dense scan x nominal-m/z matrix.

GC-EI libraries are unit-mass, so every full-scan run (whatever its resolution) is binned to
nominal m/z: one row per MS1 scan, one column per integer m/z. A 2,430-scan run with m/z 40-429
is a 2,430 x 390 float32 matrix (~4 MB), which makes every ion chromatogram a column view and
every baseline/peak step a vectorised array operation.

Entry points
------------
- :func:`load_run` -- read a run file (any format :func:`nps_id.io.read` knows) into a :class:`Run`
  plus its MS2 scans (for LC-MS/MS runs).
- :func:`run_from_spectra` -- build a :class:`Run` from MS1 :class:`~nps_id.spectrum.Spectrum`
  objects that carry ``retention_time``.
- :class:`Run` -- ``rt_seconds``, ``intensity`` matrix, :attr:`Run.tic`, :meth:`Run.eic`,
  :meth:`Run.spectrum_at`.
- :func:`decide_technique` -- GC-EI-MS, LC-MS/MS or a full scan nps-id cannot search, from what the
  file declares (ionisation type, MS levels present) -- never from the file name or format.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from nps_id.errors import InputError
from nps_id.io._source import UNTIMED_MS1  # re-exported: the skip reason of a run's untimed MS1 scans
from nps_id.peaks import CSRPeaks
from nps_id.search.preprocess import nominal_mass
from nps_id.spectrum import Spectrum

# Nominal mass exactly as the search engine bins queries and library (nps_id.search.preprocess),
# so a component's ions land in the same unit-mass bins as the reference spectra.
_MAX_NOMINAL_MZ = 2000
#: Scan metadata that describes the acquisition, copied into the run's metadata when present.
_ACQUISITION_KEYS = ("instrument", "instrument_type", "ionization", "analyzer", "ion_mode", "ionization_mode",
                     "electron_energy", "date", "collision_energy")
#: The ionisation type an EI library's spectra come from (PSI-MS MS:1000389, as readers name it).
ELECTRON_IONIZATION = "electron ionization"
#: Short names of other ionisation types, for technique names ("ESI-MS full scan").
_IONIZATION_ABBREVIATIONS = {
    "electrospray ionization": "ESI", "nanoelectrospray": "nanoESI", "atmospheric pressure chemical ionization": "APCI",
    "atmospheric pressure photoionization": "APPI", "chemical ionization": "CI", "negative ion chemical ionization": "NCI",
    "matrix-assisted laser desorption ionization": "MALDI", "field ionization": "FI",
}


@dataclass(frozen=True)
class Technique:
    """What a run is, as far as matching goes.

    Attributes
    ----------
    name : str
        ``"GC-EI-MS"``, ``"LC-MS/MS"``, or e.g. ``"ESI-MS full scan"`` for MS1-only runs of
        another ionisation (an electrospray Orbitrap full scan), which no library nps-id
        searches can identify.
    library_kind : str or None
        The library spectra it is searched against: ``"ei"``, ``"ms2"``; None: none.
    basis : str
        Why, in words (which file terms decided it), for the results and for refusals.
    """

    name: str
    library_kind: str | None
    basis: str


def decide_technique(acquisition: dict[str, Any], n_ms1: int, n_ms2: int) -> Technique:
    """The technique of a run from its declared ionisation (``acquisition["ionization"]``, read
    from the file's CV terms) and the MS levels present.

    MS2 scans make it LC-MS/MS (searched by precursor). MS1 only is GC-EI-MS when the file
    declares electron ionisation or no ionisation at all (ANDI, JCAMP-DX and most GC exports
    say nothing); any other declared ionisation (electrospray, APCI, CI, ...) gives full-scan
    spectra that an EI library cannot identify.
    """
    ionization = acquisition.get("ionization")
    declared = f"the file declares {ionization}" if ionization else "the file declares no ionisation type"
    if n_ms2:
        return Technique("LC-MS/MS", "ms2", f"{n_ms2} MS2 scans; {declared}")
    if ionization is None or ELECTRON_IONIZATION in str(ionization).lower():
        return Technique("GC-EI-MS", "ei", f"MS1 scans only; {declared}")
    short = ", ".join(_IONIZATION_ABBREVIATIONS.get(i.strip().lower(), i.strip()) for i in str(ionization).split(","))
    return Technique(f"{short}-MS full scan", None, f"MS1 scans only; {declared}")


@dataclass(frozen=True)
class Run:
    """MS1 scans of one chromatographic run, binned to nominal m/z.

    Attributes
    ----------
    path : str
        The run file.
    rt_seconds : float64 array, shape (n_scans,)
        Scan retention times in seconds, ascending.
    mz_min : int
        Nominal m/z of column 0 of :attr:`intensity`.
    intensity : float32 array, shape (n_scans, n_mz)
        Summed ion abundance of each nominal m/z in each scan.
    metadata : dict
        What the file says about the acquisition (``format``, ``instrument`` when known).
    centroids : CSRPeaks
        The scans' peaks at full m/z precision, one row per scan in ``rt_seconds`` order
        (LC-HRMS: exact-mass ion chromatograms, :mod:`nps_id.lcms.features`).
    """

    path: str
    rt_seconds: np.ndarray
    mz_min: int
    intensity: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    centroids: CSRPeaks | None = None

    @property
    def n_scans(self) -> int:
        return int(self.rt_seconds.size)

    @property
    def mz_axis(self) -> np.ndarray:
        """Nominal m/z of every column (int64)."""
        return np.arange(self.mz_min, self.mz_min + self.intensity.shape[1], dtype=np.int64)

    @property
    def tic(self) -> np.ndarray:
        """Total ion chromatogram (float64, one value per scan)."""
        return self.intensity.sum(axis=1, dtype=np.float64)

    def eic(self, mz: int) -> np.ndarray:
        """Extracted ion chromatogram of nominal ``mz`` (zeros outside the acquired range)."""
        col = int(round(mz)) - self.mz_min
        if 0 <= col < self.intensity.shape[1]:
            return self.intensity[:, col]
        return np.zeros(self.n_scans, dtype=self.intensity.dtype)

    def spectrum_at(self, scan: int) -> Spectrum:
        """The raw (nominal-mass) spectrum of one scan."""
        row = self.intensity[scan]
        nz = np.flatnonzero(row)
        return Spectrum(nz + self.mz_min, row[nz], {"retention_time": self.rt_seconds[scan], "scan_index": scan})


def run_from_spectra(spectra: Iterable[Spectrum], path: str = "", metadata: dict | None = None) -> Run:
    """Bin MS1 spectra with a retention time into a :class:`Run`.

    Raises
    ------
    InputError
        When no spectrum has both peaks and a retention time (e.g. a chromatogram-only file).
    """
    spectra = [s for s in spectra if s.retention_time is not None]
    rts: list[float] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for spectrum in spectra:
        rt = spectrum.retention_time
        nominal = nominal_mass(spectrum.mz)
        keep = nominal <= _MAX_NOMINAL_MZ
        rows.append(np.full(int(keep.sum()), len(rts), dtype=np.int64))
        cols.append(nominal[keep])
        vals.append(spectrum.intensity[keep])
        rts.append(rt)
    if not rts:
        raise InputError(f"{path}: no mass spectra with retention times (a chromatogram-only or empty file?)")
    rt = np.asarray(rts, dtype=np.float64)
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    val = np.concatenate(vals).astype(np.float32, copy=False)
    if col.size == 0:
        raise InputError(f"{path}: " + (f"the {rt.size} scans hold" if rt.size > 1 else "its one scan holds")
                         + " no peaks")
    mz_min, mz_max = int(col.min()), int(col.max())
    matrix = np.zeros((rt.size, mz_max - mz_min + 1), dtype=np.float32)
    # np.add.at: two centroids of one scan can round to the same nominal m/z (plain += drops one).
    np.add.at(matrix, (row, col - mz_min), val)
    order = np.argsort(rt, kind="stable")
    if not np.array_equal(order, np.arange(rt.size)):
        rt, matrix = rt[order], matrix[order]
    return Run(path=str(path), rt_seconds=rt, mz_min=mz_min, intensity=matrix, metadata=dict(metadata or {}),
               centroids=CSRPeaks.from_spectra(spectra[i] for i in order))




def load_run(path: str | Path, *, lenient: bool = False, report=None) -> tuple[Run | None, list[Spectrum]]:
    """Read a run file: its MS1 scans as a :class:`Run`, and its MS2 scans as a list.

    Parameters
    ----------
    path
        mzML, mzXML, ANDI netCDF, JCAMP-DX run, MS1/MS2 text or an Agilent ``.D`` folder.
    lenient
        Passed to the reader: skip malformed scans instead of failing.
    report
        A :class:`nps_id.io.ReadReport` to fill (counts, skipped and quarantined scans).

    Returns
    -------
    (run, ms2)
        ``run`` is None when the file has MS2 scans only (an LC-MS/MS run without survey scans).

    MS1 scans without a retention time beside timed ones (MS1 or MS/MS) are left out of ``run``
    and counted in ``report.skipped`` under :data:`UNTIMED_MS1`.

    Raises
    ------
    InputError
        When the file holds neither MS1 scans with retention times nor MS2 scans.
    """
    from nps_id import io as nps_io

    report = report if report is not None else nps_io.ReadReport(str(path))
    ms1: list[Spectrum] = []
    ms2: list[Spectrum] = []
    instrument = None
    acquisition: dict[str, Any] = {}
    untimed = 0  # MS1 spectra without a retention time: a list of spectra (an MSP, an MGF), not a run
    for spectrum in nps_io.read(path, lenient=lenient, report=report):
        if not acquisition:  # what the first scan says about the acquisition
            acquisition = acquisition_of(spectrum)
        instrument = instrument or spectrum.get("instrument") or spectrum.get("instrument_type")
        if (spectrum.ms_level or 1) >= 2:
            ms2.append(spectrum)
        elif spectrum.retention_time is not None:
            ms1.append(spectrum)
        else:
            untimed += 1
    if not ms1 and not ms2 and untimed:
        raise InputError(f"{path}: {untimed} mass spectr{'um' if untimed == 1 else 'a'} without retention times: "
                         "a list of spectra, not a run (search them with 'nps-id search')")
    if not ms1 and not ms2:
        raise InputError(f"{path}: no mass spectra with retention times (a chromatogram-only or empty file?)")
    if untimed:  # beside timed scans (MS1 or MS/MS): no place on the time axis, counted for the run's notes
        report.skip(UNTIMED_MS1, untimed)
    if not ms1:  # an MS2-only run: what it says about the acquisition travels with its scans
        return None, ms2
    metadata = {"format": report.format, "acquisition": acquisition}
    if instrument:
        metadata["instrument"] = str(instrument)
    return run_from_spectra(ms1, str(path), metadata), ms2


def acquisition_of(spectrum: Spectrum) -> dict[str, Any]:
    """What one scan says about the acquisition (instrument, ionisation, analyser, polarity, ...)."""
    return {k: spectrum.get(k) for k in _ACQUISITION_KEYS if spectrum.get(k) is not None}


"""ANDI/AIA netCDF GC-MS reader."""
from __future__ import annotations

import gzip
import re
import warnings

import numpy as np
import pytest
from tests.conftest import data_path

from nps_id.errors import ReaderError
from nps_id.io import ReadReport, andi
from nps_id.io import read as io_read


def test_agilent_andi_run_reads_every_scan():
    # Counts from scipy.io.netcdf_file directly: dimension scan_number = 6401,
    # sum(point_count) = len(mass_values) = 157201, no scan with point_count 0.
    path = data_path("gcms", "andi", "agilent-gcms.cdf")
    report = ReadReport(str(path))
    spectra = list(io_read(path, report=report))
    assert report.format == "andi"
    assert len(spectra) == 6401 and sum(len(s) for s in spectra) == 157201
    assert spectra[0].retention_time == pytest.approx(5.25)  # scan_acquisition_time, seconds
    assert spectra[-1].retention_time == pytest.approx(3779.754)
    assert spectra[0].mz.tolist()[:3] == [16.0, 17.0, 18.1]  # float32 in the file, decimal as exported
    assert spectra[0].intensity.tolist()[:3] == [37.0, 293.0, 1243.0]
    assert {s.ms_level for s in spectra} == {1} and spectra[0].get("ion_mode") == "positive"
    assert [s.get("scan_index") for s in spectra[:3]] == [0, 1, 2]


def test_chromatogram_only_file_says_it_holds_no_mass_spectra():
    with pytest.raises(ReaderError, match="no mass spectra in this file") as info:
        andi.read(data_path("gcms", "andi", "agilent-gcms-tic.cdf"))
    assert "chromatogram-only" in str(info.value) and "agilent-gcms-tic.cdf" in str(info.value)


def test_gzipped_file_gives_the_same_scans(tmp_path):
    source = data_path("gcms", "andi", "agilent-gcms.cdf")
    packed = tmp_path / "run.cdf.gz"
    packed.write_bytes(gzip.compress(source.read_bytes(), compresslevel=1))
    first = [s for _, s in zip(range(50), andi.read(source))]
    again = [s for _, s in zip(range(50), andi.read(packed))]
    assert [s.replace(source_file=None) for s in again] == [s.replace(source_file=None) for s in first]


def test_stopping_early_releases_the_file_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectra = andi.read(data_path("gcms", "andi", "agilent-gcms.cdf"))
        next(spectra)
        spectra.close()


def _tiny_cdf(path, scan_index, point_count, masses, intensities):
    from scipy.io import netcdf_file

    with netcdf_file(str(path), "w") as nc:
        nc.createDimension("scan_number", len(scan_index))
        nc.createDimension("point_number", len(masses))
        for name, values, kind in [("scan_index", scan_index, "i"), ("point_count", point_count, "i"),
                                   ("scan_acquisition_time", [1.0 * i for i in range(len(scan_index))], "d")]:
            nc.createVariable(name, kind, ("scan_number",))[:] = values
        nc.createVariable("mass_values", "f", ("point_number",))[:] = masses
        nc.createVariable("intensity_values", "f", ("point_number",))[:] = intensities


@pytest.mark.parametrize(
    "scan_index,point_count,intensities,expected",
    [
        ([0, 2, 4], [2, 2, 5], [1, 2, 3, 4, 5, 6], "lies outside the 6 stored peaks"),
        ([0, 2, 4], [2, 2, 2], [1, 2, np.nan, 4, 5, 6], "finite"),
        ([0, 2, 4], [2, 2, 2], [1, 2, -3, 4, 5, 6], "negative"),
    ],
)
def test_bad_scan_is_named_or_quarantined(tmp_path, scan_index, point_count, intensities, expected):
    path = tmp_path / "bad.cdf"
    _tiny_cdf(path, scan_index, point_count, [50, 60, 70, 80, 90, 100], intensities)
    with pytest.raises(ReaderError, match=expected) as info:
        list(andi.read(path))
    assert info.value.record in (1, 2)
    report = ReadReport(str(path), lenient=True)
    assert len(list(andi.read(path, report))) == 2 and len(report.quarantine) == 1


def test_not_netcdf_is_a_reader_error(tmp_path):
    path = tmp_path / "fake.cdf"
    path.write_bytes(b"CDF\x09garbage")
    with pytest.raises(ReaderError, match="not a readable netCDF-3"):
        andi.read(path)


@pytest.mark.parametrize("keep", [100, 3000, 200_000])
def test_truncated_file_is_a_reader_error(tmp_path, keep):
    path = tmp_path / "cut.cdf"
    path.write_bytes(data_path("gcms", "andi", "agilent-gcms.cdf").read_bytes()[:keep])
    with pytest.raises(ReaderError, match="not a readable netCDF-3"):
        list(andi.read(path))


@pytest.mark.parametrize("time, shown", [(-2.0, "-2"), (np.inf, "inf"), (1e12, "1e+12")])
def test_a_scan_time_outside_the_run_is_named_or_quarantined(tmp_path, time, shown):
    # the ANDI times array goes through the one check every reader's scans do (Spectrum): a
    # negative time was accepted, an infinite one read as "unknown"
    from scipy.io import netcdf_file

    path = tmp_path / "times.cdf"
    _tiny_cdf(path, [0, 2, 4], [2, 2, 2], [50, 60, 70, 80, 90, 100], [1, 2, 3, 4, 5, 6])
    with netcdf_file(str(path), "a") as nc:
        nc.variables["scan_acquisition_time"][1] = time
    with pytest.raises(ReaderError, match=r"scan .*retention time must be 0 to 1e\+09 s \(found " + re.escape(shown) + r" s\)") as info:
        list(andi.read(path))
    assert info.value.record == 1 and "times.cdf" in str(info.value)
    report = ReadReport(str(path), lenient=True)
    assert [s.retention_time for s in andi.read(path, report)] == [0.0, 2.0] and len(report.quarantine) == 1

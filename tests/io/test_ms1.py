"""ProteoWizard MS1/MS2 text reader."""
from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import data_path

from nps_id.errors import ReaderError
from nps_id.io import ReadReport, ms1
from nps_id.io import read as io_read

# The first two scans of LRCFS GcMsDataProcess GcDataConverterMs/220223030.ms1 (ProteoWizard
# export of the Agilent run whose mzML is ../shared/data/gcms/lrcfs/220223030.mzML).
LRCFS_HEAD = (
    "H\tCreationDate Thu Jun 15 10:44:20 2023\nH\tExtractor\tProteoWizard\nH\tExtractor version\tMassHunter\n"
    "H\tSource file\tContents.xml\n"
    "S\t1\t1\nI\tNativeID\tscanId=1\nI\tRTime\t3.091717\nI\tBPI\t526\nI\tBPM\t43.9\nI\tTIC\t770\n43.9 526\n207 244\n"
    "S\t2\t2\nI\tNativeID\tscanId=2\nI\tRTime\t3.096483\nI\tBPI\t583\nI\tBPM\t44\nI\tTIC\t804\n44 583\n206.9 221\n"
)


def test_ms1_file_counts_and_retention_time_in_seconds():
    # `grep -c '^S'` = 2 scans; peak lines 7 + 9; RTime 0.987225 and 1.32083 minutes.
    path = data_path("formats", "pyteomics-tests", "test.ms1")
    spectra = list(io_read(path))
    assert [len(s) for s in spectra] == [7, 9]
    assert [s.ms_level for s in spectra] == [1, 1]
    assert spectra[0].retention_time == pytest.approx(0.987225 * 60)
    assert spectra[1].get("scan_id") == "2"


def test_ms2_file_precursors_charges_and_space_separated_scans():
    path = data_path("formats", "pyteomics-tests", "test.ms2")
    spectra = list(io_read(path))
    assert [len(s) for s in spectra] == [6, 6, 8]
    assert [s.precursor_mz for s in spectra] == [983.6, 1084.9, 445.12]
    assert [s.get("precursor_charge") for s in spectra] == [2, None, 1]
    assert spectra[2].get("scan_id") == "000002"  # the space-separated block
    assert spectra[2].retention_time == pytest.approx(0.02 * 60)  # RetTime, minutes
    assert {s.ms_level for s in spectra} == {2}


def test_lrcfs_gcms_export_matches_the_mzml_of_the_same_run(tmp_path):
    path = tmp_path / "220223030.ms1"
    path.write_text(LRCFS_HEAD)
    from nps_id.io import mzml

    ours = list(ms1.read(path))
    reference = mzml.read(data_path("gcms", "lrcfs", "220223030.mzML"))
    for spectrum in ours:
        other = next(reference)
        assert spectrum.retention_time == pytest.approx(other.retention_time)
        assert np.array_equal(spectrum.mz, other.mz) and np.array_equal(spectrum.intensity, other.intensity)
    assert [s.get("scan_id") for s in ours] == ["scanId=1", "scanId=2"]


def test_bad_peak_line_names_line_and_scan(tmp_path):
    path = tmp_path / "bad.ms1"
    path.write_text(LRCFS_HEAD.replace("206.9 221", "206.9"))
    with pytest.raises(ReaderError) as info:
        list(ms1.read(path))
    assert info.value.line == 20 and info.value.record == 1 and "scanId=2" in str(info.value)
    report = ReadReport(str(path), lenient=True)
    assert [s.get("scan_id") for s in ms1.read(path, report)] == ["scanId=1"]
    assert report.quarantine[0]["line"] == 20


def test_text_before_the_first_scan_is_an_error(tmp_path):
    path = tmp_path / "bad.ms1"
    path.write_text("50.0 10\n" + LRCFS_HEAD)
    with pytest.raises(ReaderError, match="line 1: expected H header lines or an S scan line"):
        list(ms1.read(path))

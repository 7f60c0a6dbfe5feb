"""Loading runs into the scan x nominal-m/z matrix, through nps_id.io.read for every format."""
from __future__ import annotations

import numpy as np
import pytest
from pyteomics import mzml

from nps_id.errors import InputError
from nps_id.gcms.run import load_run, run_from_spectra
from nps_id.spectrum import Spectrum
from tests.conftest import data_path


def test_lrcfs_run_matrix_matches_pyteomics():
    path = data_path("gcms", "lrcfs", "220223030.mzML")
    run, ms2 = load_run(path)
    assert ms2 == []
    assert run.n_scans == 2430  # grep -c '<spectrum ' 220223030.mzML
    assert run.rt_seconds[0] / 60 == pytest.approx(3.0917, abs=1e-3)
    assert run.rt_seconds[-1] / 60 == pytest.approx(14.6586, abs=1e-3)
    with mzml.MzML(str(path)) as reader:  # an independent reader: TIC of scan 717 (bupivacaine)
        scan = reader[717]
        assert run.tic[717] == pytest.approx(float(scan["intensity array"].sum()), rel=1e-5)
    assert np.diff(run.rt_seconds).min() > 0


def test_eic_and_spectrum_at():
    run, _ = load_run(data_path("gcms", "lrcfs", "220223030.mzML"))
    apex = int(np.argmax(run.eic(140)))
    assert run.rt_seconds[apex] / 60 == pytest.approx(6.51, abs=0.02)  # bupivacaine base peak
    spectrum = run.spectrum_at(apex)
    assert spectrum.mz[np.argmax(spectrum.intensity)] == 140
    assert run.eic(5000).sum() == 0  # outside the acquired range


def test_two_centroids_in_one_nominal_bin_are_summed():
    s = Spectrum([91.05, 90.95, 65.0], [10, 5, 1], {"retention_time": 1.0})
    run = run_from_spectra([s])
    assert run.eic(91).tolist() == [15.0]


def test_chromatogram_only_andi_file_is_bad_input():
    with pytest.raises(InputError, match="chromatogram"):
        load_run(data_path("gcms", "andi", "agilent-gcms-tic.cdf"))


def test_andi_run_loads():
    run, _ = load_run(data_path("gcms", "andi", "agilent-gcms.cdf"))
    assert run.n_scans == 6401  # README: 6,401 scans
    assert run.metadata["format"] == "andi"


def test_a_list_of_ei_spectra_is_told_to_use_search(tmp_path):
    """An MSP of library-style EI spectra (no retention times) given to `match` was called "a
    chromatogram-only or empty file?": it is a list of spectra, which `nps-id search` takes."""
    path = tmp_path / "unknowns.msp"
    path.write_text("Name: unknown 1\nNum Peaks: 2\n58 999\n91 300\n\nName: unknown 2\nNum Peaks: 2\n44 999\n"
                    "72 500\n\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"2 mass spectra without retention times.*nps-id search"):
        load_run(path)


def test_ms1_scans_without_a_time_beside_ms2_scans_only_are_counted_not_dropped_silently(tmp_path):
    """An LC-MS/MS file whose only MS1 scan has no time: the MS/MS scans were matched and the MS1
    scan vanished without the count timed runs give ("N MS1 scans have no retention time")."""
    from nps_id.gcms.run import UNTIMED_MS1
    from nps_id.io import ReadReport

    path = tmp_path / "lc.msp"
    path.write_text("Name: s1\nSpectrum_type: MS2\nPrecursorMZ: 195.0877\nRetentionTime: 5.0\nNum Peaks: 2\n"
                    "138.066 999\n110.071 300\n\nName: s2\nSpectrum_type: MS1\nNum Peaks: 2\n195.0877 999\n"
                    "196.09 100\n\n", encoding="utf-8")
    report = ReadReport(str(path))
    run, ms2 = load_run(path, report=report)
    assert run is None and len(ms2) == 1
    assert report.skipped[UNTIMED_MS1] == 1

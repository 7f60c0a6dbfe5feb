"""LC-MS/MS: replicate MS2 scans grouped by precursor and RT, merged into consensus spectra."""
from __future__ import annotations

import pytest

from tests.conftest import data_path
from nps_id import io
from nps_id.lcms.groups import consensus_spectrum, group_ms2
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance


def _ms2(precursor, rt, mz, intensity, index):
    return Spectrum(mz, intensity, {"precursor_mz": precursor, "retention_time": rt, "ms_level": 2,
                                    "scan_index": index})


def test_groups_by_precursor_and_retention_time():
    scans = [
        _ms2(300.1000, 60.0, [100.0, 150.0], [10, 5], 0),
        _ms2(300.1002, 65.0, [100.001, 150.0, 222.0], [20, 10, 1], 1),
        _ms2(300.1001, 70.0, [99.999, 150.002], [30, 15], 2),
        _ms2(300.1000, 400.0, [100.0], [1], 3),  # same precursor, much later: another compound
        _ms2(410.2000, 66.0, [120.0], [1], 4),
    ]
    groups = group_ms2(scans, Tolerance(10, "ppm"), rt_tolerance_seconds=30.0)
    assert [g.scan_indices for g in groups] == [(0, 1, 2), (4,), (3,)]
    merged = groups[0].spectrum
    assert merged.precursor_mz == pytest.approx(300.1001)
    assert merged.retention_time == 65.0
    # m/z 222 is in one scan of three: dropped; 100 and 150 kept at a 2:1 ratio.
    assert merged.mz.round(2).tolist() == [100.0, 150.0]
    assert merged.intensity.tolist() == pytest.approx([999.0, 499.5])


def test_scans_without_a_retention_time_are_never_merged():
    # a time never measured is no "0": two scans of one precursor may be two compounds' elutions
    scans = [_ms2(300.1, None, [100.0], [10], 0), _ms2(300.1, 60.0, [100.0], [10], 1),
             _ms2(300.1, None, [100.0], [10], 2), _ms2(300.1, 0.0, [100.0], [10], 3)]
    groups = group_ms2(scans, Tolerance(10, "ppm"), rt_tolerance_seconds=30.0)
    assert [(g.scan_indices, g.rt_seconds) for g in groups] == [((3,), 0.0), ((1,), 60.0), ((0,), None), ((2,), None)]
    assert groups[2].rt_minutes is None and groups[2].spectrum.retention_time is None


def test_consensus_of_one_scan_is_that_scan_scaled():
    s = _ms2(200.0, 1.0, [50.0, 60.0], [2, 4], 0)
    out = consensus_spectrum([s])
    assert out.mz.tolist() == [50.0, 60.0] and out.intensity.tolist() == [499.5, 999.0]


def test_real_dda_run_groups():
    path = data_path("formats", "cheminfo-mzdata-tests", "small_zlib.pwiz.1.1.mzML")
    ms2 = [s for s in io.read(path) if s.ms_level == 2]
    assert len(ms2) == 34
    # Ion-trap precursors wander by ~0.7 Da between replicate scans: a wide window merges them.
    narrow = group_ms2(ms2, Tolerance(0.01, "Da"), rt_tolerance_seconds=600.0)
    wide = group_ms2(ms2, Tolerance(1.0, "Da"), rt_tolerance_seconds=600.0)
    assert len(wide) < len(narrow) <= 34
    assert sum(len(g.scan_indices) for g in wide) == 34

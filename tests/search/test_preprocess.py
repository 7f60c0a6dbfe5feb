"""EI nominal-mass binning and preprocessing, on hand-made and real instrument centroids."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.io import read
from nps_id.search.preprocess import bin_nominal, nominal_mass, preprocess_ei
from nps_id.spectrum import Spectrum
from tests.conftest import data_path


def test_nominal_mass_of_raw_centroids():
    # 42.1 and 49.9 are 42 and 50; hydrogen-rich heavy ions keep their bin; Br/Cl/I round up.
    mz = np.array([42.1, 49.9, 43.0, 300.3, 500.45, 506.58, 78.918, 126.904, 613.9, 42.69, 42.71])
    assert nominal_mass(mz).tolist() == [42, 50, 43, 300, 500, 506, 79, 127, 614, 42, 43]


def test_nominal_mass_rejects_bad_split():
    with pytest.raises(ValueError, match="split"):
        nominal_mass(np.array([1.0]), split=0.0)


def test_bin_nominal_sums_same_bin():
    mz, inten = bin_nominal(np.array([41.8, 42.1, 42.3, 49.9, 50.2]), np.array([1, 2, 3, 4, 5]))
    assert mz.tolist() == [42.0, 50.0]
    assert inten.tolist() == [6.0, 9.0]
    assert mz.dtype == np.float64 and inten.dtype == np.float32


def test_preprocess_ei_cutoff_scale_noise_and_molecular_ion():
    s = Spectrum([30.0, 39.9, 58.1, 91.0, 134.1, 135.1], [999, 50, 800, 100, 2, 300],
                 {"name": "x", "precursor_mz": 135.0})
    p = preprocess_ei(s, min_mz=40, noise_floor=0.01)
    # m/z 30 and 39.9 (bin 40 is kept: 39.9 -> 40) -- and the molecular ion 135 survives.
    assert p.mz.tolist() == [40.0, 58.0, 91.0, 135.0]
    assert float(p.intensity.max()) == pytest.approx(999.0)
    assert p.intensity[1] == pytest.approx(999.0)
    assert p.name == "x"
    no_noise = preprocess_ei(s, min_mz=40)
    assert 134.0 in no_noise.mz and 134.0 not in p.mz  # 2/800 of base is below 1 %


def test_preprocess_ei_empty_after_cutoff():
    p = preprocess_ei(Spectrum([20.0, 30.0], [1, 2]), min_mz=40)
    assert len(p) == 0


def test_real_agilent_scan_bupivacaine():
    """Apex scan of the internal standard bupivacaine (C18H28N2O, M = 288) in an LRCFS run."""
    path = data_path("gcms", "lrcfs", "220223030.mzML")
    scan = next(s for s in read(path) if s.retention_time > 6.51 * 60)
    assert scan.mz.round(1).tolist() != scan.mz.round(0).tolist()  # raw 0.1 Da centroids
    p = preprocess_ei(scan, min_mz=40)
    assert p.mz[np.argmax(p.intensity)] == 140.0  # base peak C9H18N+
    assert 288.0 in p.mz  # molecular ion kept
    assert np.all(p.mz == np.round(p.mz))
    # Every raw centroid >= 39.7 lies in [bin - 0.3, bin + 0.7) of the bin that holds it.
    raw = scan.mz[scan.mz >= 39.7]
    idx = np.searchsorted(p.mz, np.floor(raw + 0.3))
    assert np.all(p.mz[idx] - 0.3 <= raw + 1e-9) and np.all(raw < p.mz[idx] + 0.7)
    # Intensity is conserved by binning (before scaling).
    mz, inten = bin_nominal(scan.mz, scan.intensity)
    assert float(inten.sum()) == pytest.approx(float(scan.intensity.sum()), rel=1e-6)
    assert mz.size < scan.mz.size  # some centroids shared a nominal mass

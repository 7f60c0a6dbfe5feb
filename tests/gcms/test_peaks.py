"""Peak detection: the NumPy apex finder against scipy, baselines under drift, the real TIC."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks

from nps_id.gcms.peaks import PeakParameters, baseline, detect_peaks, find_apexes, noise_level, window_scans
from nps_id.gcms.run import load_run
from tests.conftest import data_path


@pytest.mark.filterwarnings("ignore:some peaks have a prominence of 0")
@pytest.mark.parametrize("seed", range(40))
def test_find_apexes_equals_scipy_find_peaks(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=400).cumsum() + rng.normal(size=400) * 2, 1)
    if seed % 2:  # integer data makes plateaus, which scipy reports at their middle
        x = np.clip(np.round(x), None, np.median(x))
    expected, _ = find_peaks(x, height=0.0, prominence=1.5, wlen=41)
    assert find_apexes(x, 0.0, 1.5, 41).tolist() == expected.tolist()


def _gaussian(n, centre, sigma, height):
    t = np.arange(n)
    return height * np.exp(-0.5 * ((t - centre) / sigma) ** 2)


def test_baseline_follows_drift_but_not_peaks():
    n = 1000
    drift = np.linspace(100.0, 3000.0, n)  # a temperature-programmed bleed rise
    signal = drift + _gaussian(n, 300, 4, 5000) + _gaussian(n, 700, 6, 800)
    base = baseline(signal, 61)
    assert np.all(base <= signal)
    # Away from the peaks the baseline is the drift; under a peak it stays near it.
    assert np.abs(base[100:200] - drift[100:200]).max() < 60
    assert base[300] < drift[300] + 100
    corrected = signal - base
    assert corrected[300] == pytest.approx(5000, rel=0.03)


def test_noise_level_estimates_gaussian_sigma():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 50.0, 5000) + _gaussian(5000, 2500, 5, 1e5)
    assert noise_level(x) == pytest.approx(50.0, rel=0.1)


def test_detect_peaks_finds_both_synthetic_peaks_with_limits():
    n = 800
    rt = np.arange(n) * 0.3
    rng = np.random.default_rng(3)
    corrected = _gaussian(n, 200, 4, 2000) + _gaussian(n, 600, 4, 300) + rng.normal(0, 10, n)
    peaks = detect_peaks(corrected, rt, PeakParameters(min_snr=10))
    assert [round(p.apex, -1) for p in peaks] == [200, 600]
    assert peaks[0].area == pytest.approx(2000 * 4 * np.sqrt(2 * np.pi) * 0.3, rel=0.1)
    assert len(detect_peaks(corrected, rt, PeakParameters(min_snr=10, min_height=500))) == 1
    assert len(detect_peaks(corrected, rt, PeakParameters(min_snr=10, min_area=3000))) == 1
    window = PeakParameters(min_snr=10, rt_min_minutes=2.0)  # apex 600 x 0.3 s = 3 min
    assert [round(p.apex, -1) for p in detect_peaks(corrected, rt, window)] == [600]


def test_tic_peaks_of_the_etizolam_calibrant():
    run, _ = load_run(data_path("gcms", "lrcfs", "220223002.mzML"))
    tic = run.tic
    corrected = tic - baseline(tic, window_scans(run.rt_seconds, 30.0))
    peaks = detect_peaks(corrected, run.rt_seconds, PeakParameters(min_snr=100))
    minutes = [round(p.rt_seconds / 60, 2) for p in peaks]
    # Internal standard bupivacaine and the 25 ug/mL etizolam; nothing else at S/N 100.
    assert minutes == [6.51, 10.23]

"""MS1 evidence: adduct arithmetic, exact-mass XIC peaks, isotope patterns."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.lcms.features import adduct_named, formula_mass, ion_mz, isotope_pattern, ms1_feature, ppm_error
from nps_id.peaks import CSRPeaks


def test_adducts_from_library_labels():
    assert adduct_named("[M+Na]+").name == "[M+Na]+" and adduct_named("M+H").name == "[M+H]+"
    assert adduct_named("[M+HCOO]-").charge == -1 and adduct_named("[M+Cu]+") is None
    # azinphos-methyl C10H12N3O3PS2, 317.00576
    assert ion_mz(317.00576, adduct_named("[M+Na]+")) == pytest.approx(339.99498, abs=1e-4)
    assert ppm_error(318.01464, 318.01304) == pytest.approx(5.03, abs=0.01)


def _scans(heights, mz=300.0, partner=None):
    spectra = []
    for h in heights:
        peaks = [(mz, h)] + ([(mz + d, h * r) for d, r in partner] if partner and h else [])
        peaks = [p for p in peaks if p[1] > 0] or [(100.0, 1.0)]
        spectra.append(peaks)
    counts = [len(p) for p in spectra]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat = [p for s in spectra for p in s]
    return CSRPeaks(offsets, np.array([p[0] for p in flat]), np.array([p[1] for p in flat], dtype=np.float32))


def test_feature_apex_bounds_and_too_few_points():
    heights = [0, 0, 10, 50, 100, 60, 20, 0, 0, 0, 0, 5, 0]
    peaks, rts = _scans(heights), np.arange(len(heights), dtype=float)
    feature = ms1_feature(peaks, rts, 300.0005, 5.2)
    assert (feature.apex_rt_seconds, feature.left_rt_seconds, feature.right_rt_seconds) == (4.0, 2.0, 6.0)
    assert feature.n_points == 5 and feature.mz == pytest.approx(300.0)
    assert ms1_feature(peaks, rts, 300.0, 11.0) is None  # one scan of signal is not a peak


def test_chlorine_isotope_pattern():
    heights = [0, 40, 100, 40, 0]
    peaks = _scans(heights, partner=[(1.003355, 0.17), (1.99705, 0.33)])
    feature = ms1_feature(peaks, np.arange(5, dtype=float), 300.0, 2.0)
    iso = isotope_pattern(peaks, feature, "C15H17ClN4", adduct_named("[M+H]+"))
    assert iso["halogens"] == "Cl" and iso["m2_measured"] == pytest.approx(0.33, abs=0.01)
    assert iso["m2_expected"] == pytest.approx(0.33, abs=0.02)


def test_a_run_with_fewer_ms1_scans_than_a_peak_needs_has_no_feature():
    one_scan = CSRPeaks(np.array([0, 1]), np.array([300.1]), np.array([1000.0], dtype=np.float32))
    assert ms1_feature(one_scan, np.array([60.0]), 300.1, 60.0) is None


def test_isotope_pattern_reads_only_the_apex_scans(monkeypatch):
    heights = [0, 40, 100, 40, 0]
    peaks = _scans(heights, partner=[(1.003355, 0.17), (1.99705, 0.33)])
    feature = ms1_feature(peaks, np.arange(5, dtype=float), 300.0, 2.0)

    def whole_run_xic(*args, **kwargs):  # three of these per finding made a long run slow
        raise AssertionError("isotope_pattern extracted a whole-run XIC")

    monkeypatch.setattr("nps_id.lcms.features.xic", whole_run_xic)
    iso = isotope_pattern(peaks, feature, "C15H17ClN4", adduct_named("[M+H]+"))
    assert iso["m1_measured"] == pytest.approx(0.17, abs=0.01) and iso["m2_measured"] == pytest.approx(0.33, abs=0.01)


def test_monoisotopic_mass_of_a_formula():
    assert formula_mass("C10H12N3O3PS2") == pytest.approx(317.00577, abs=1e-5)  # azinphos-methyl
    assert formula_mass("C11H21NO4") == pytest.approx(231.14706, abs=1e-5)  # butyryl carnitine
    assert formula_mass("[C5H14NO]+") is None  # a charged formula: the record's exact mass is used


def test_formula_mass_uses_the_nist_masses_without_importing_pyteomics():
    """pyteomics.mass imports pandas and SQLAlchemy (~0.6-1.2 s): a one-spectrum MS/MS search
    paid that for one formula. The masses are pyteomics' NIST ones, to the last bit."""
    import subprocess
    import sys

    from pyteomics.mass import nist_mass

    from nps_id.chem.formula import MONOISOTOPIC

    for element, mass in MONOISOTOPIC.items():
        assert mass == (nist_mass["H"][2][0] if element == "D" else nist_mass[element][0][0]), element
    assert formula_mass("C2D6O") == pytest.approx(52.0795, abs=1e-4)  # ethanol-d6 (KeyError before)
    code = ("import sys; from nps_id.lcms.features import formula_mass; formula_mass('C9H13NO'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyteomics', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

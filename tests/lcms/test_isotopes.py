"""A DDA precursor that is a co-eluting precursor's 13C peak (M+1) is that compound, on the real runs."""
from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import data_path
from tests.lcms.conftest import PESTMIX, RAMS
from nps_id.gcms.run import load_run
from nps_id.lcms.groups import group_ms2
from nps_id.lcms.isotopes import isotope_precursors, max_c13_ratio
from nps_id.match.lcms_evidence import XIC_PPM, find_feature
from nps_id.match.parameters import MatchParameters

PARAMS = MatchParameters()


def _run(parts):
    run, ms2 = load_run(data_path(*parts))
    groups = group_ms2(ms2, PARAMS.precursor_tolerance, PARAMS.ms2_rt_tolerance_seconds, PARAMS.fragment_tolerance)
    return run, groups, [find_feature(run, g) for g in groups]


def _at(groups, mz: float) -> int:
    return next(i for i, g in enumerate(groups) if abs(g.precursor_mz - mz) < 0.003)


def _found(run, groups, features):
    return isotope_precursors(groups, features, run.centroids, run.rt_seconds, PARAMS.precursor_tolerance,
                              [PARAMS.fragment_tolerance] * len(groups), XIC_PPM)


@pytest.fixture(scope="module")
def pestmix():
    return _run(PESTMIX)


def test_the_phosphocholines_m_plus_1_is_its_isotope_peak_not_a_second_compound(pestmix):
    run, groups, features = pestmix
    heavy, light = _at(groups, 543.3233), _at(groups, 542.3184)
    found = _found(run, groups, features)
    assert heavy in found and found[heavy].monoisotopic == light
    isotope = found[heavy]
    assert abs(isotope.mass_error_ppm) < 5 and abs(isotope.apex_delta_seconds) < 1.0
    # 13C-sized: a quarter of the monoisotopic ion, below what 542 Da of carbon alone could carry
    assert 0.2 < isotope.ms1_ratio < isotope.max_ratio == pytest.approx(max_c13_ratio(features[light].mz))
    assert any(abs(m - 184.07) < 0.01 for m in isotope.shared_fragments)  # the phosphocholine ion
    assert light not in found  # the monoisotopic ion itself is never folded


def test_a_precursor_1_da_heavier_with_unrelated_ms2_stays_a_compound_of_its_own(pestmix):
    run, groups, features = pestmix
    heavy, light = _at(groups, 543.3233), _at(groups, 542.3184)
    assert _found(run, groups, features)[heavy].monoisotopic == light
    fluopicolide = _at(groups, 382.9707)  # same MS1 traces, the MS/MS of another compound
    unrelated = list(groups)
    unrelated[heavy] = dataclasses.replace(groups[heavy], spectrum=groups[fluopicolide].spectrum)
    assert heavy not in _found(run, unrelated, features)
    # and an MS1 signal no 13C peak can have (more than the lighter ion's) is not one either
    assert max_c13_ratio(250.0) < 0.3 and max_c13_ratio(542.3) == pytest.approx(0.636, abs=1e-3)


def test_a_broad_hilic_peaks_m_plus_1_apex_may_sit_seconds_off():
    run, groups, features = _run(RAMS)
    heavy, light = _at(groups, 119.0899), _at(groups, 118.0865)  # betaine, 131-s FWHM
    found = _found(run, groups, features)
    assert found[heavy].monoisotopic == light and abs(found[heavy].apex_delta_seconds) > 3.0
    assert 0.04 < found[heavy].ms1_ratio < 0.07  # C5H12NO2+: 0.058 expected

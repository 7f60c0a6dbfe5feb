"""The ions a real GC run's own background explains (nps_id.gcms.background): the column's bleed
under a component, never the compound's ions."""
from __future__ import annotations

import numpy as np

from nps_id.gcms.background import background_ions
from nps_id.gcms.deconvolution import extract_components
from nps_id.gcms.run import load_run
from nps_id.match.molecular_mass import COLUMN_BLEED_IONS
from nps_id.match.verdict import VerdictThresholds
from tests.conftest import data_path

T = VerdictThresholds()


def _component(parts: tuple[str, ...], rt_minutes: float):
    run, _ = load_run(data_path(*parts))
    component = min(extract_components(run), key=lambda c: abs(c.rt_minutes - rt_minutes))
    assert abs(component.rt_minutes - rt_minutes) < 0.02
    return run, component


def _bleed(run, component, ratio=T.background_ion_ratio, masses=COLUMN_BLEED_IONS):
    return background_ions(run, component, ratio=ratio, level=T.column_bleed_level, masses=masses)


def test_the_bleed_under_the_andi_runs_c8_hydrocarbon_is_the_runs_background():
    # 5.40 min: a C8 hydrocarbon (best MassBank hit octane) whose component kept m/z 207 at 3.8 % and
    # 208 at 0.5 % of its base peak 85; the scans either side hold 207 as strongly (1.2x)
    run, octane = _component(("gcms", "andi", "agilent-gcms.cdf"), 5.40)
    relative = dict(zip(octane.mz.astype(int).tolist(), (octane.intensity / octane.intensity.max()).tolist()))
    assert 0.03 < relative[207] < 0.05 and relative[208] >= 0.005
    assert _bleed(run, octane) == {207, 208}  # 208: 207's isotope peak, its own background reads 0
    assert _bleed(run, octane, ratio=0) == frozenset()  # off
    # any mass: the air in the source (argon 40, CO2 44) too, never the hydrocarbon's own ions
    anywhere = _bleed(run, octane, masses=None)
    assert anywhere == {40, 44, 207, 208}
    assert not anywhere & {43, 57, 71, 85}


def test_a_drugs_own_ions_and_a_rising_bleed_ion_are_not_background():
    # 220223002 (etizolam 25 ug/mL), 10.23 min: 207 at 3.5 % (0.7x the scans around it) and its
    # isotope 208 are the column's; 209, 5.7x its background, rises with etizolam and stays; etizolam's
    # molecular ion 342 and base peak are far above any background
    run, etizolam = _component(("gcms", "lrcfs", "220223002.mzML"), 10.23)
    bleed = _bleed(run, etizolam)
    assert bleed == {207, 208}
    ions = set(etizolam.mz.astype(int).tolist())
    assert {209, 342} <= ions and not _bleed(run, etizolam, masses=None) & {342, int(etizolam.mz[np.argmax(etizolam.intensity)])}


def test_an_ion_outside_the_runs_mass_range_is_never_background():
    # a component's m/z the run never recorded (above or below its range) has no background: it is
    # not background, and it never reads another mass's column (attack34: IndexError above, a wrong
    # column below)
    run, octane = _component(("gcms", "andi", "agilent-gcms.cdf"), 5.40)
    top = run.mz_min + run.intensity.shape[1]
    outside = octane.__class__(**{**vars(octane), "mz": np.append(octane.mz, [run.mz_min - 5, top + 10]),
                                  "intensity": np.append(octane.intensity, [1.0, 1.0])})
    found = _bleed(run, outside, masses=None)
    assert found == _bleed(run, octane, masses=None)
    assert not found & {run.mz_min - 5, top + 10}

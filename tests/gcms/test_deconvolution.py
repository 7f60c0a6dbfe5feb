"""Component extraction: co-elution and column bleed stay out of a component's spectrum."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import data_path
from nps_id.gcms.deconvolution import extract_components, subtract_blank
from nps_id.gcms.run import Run, load_run

BLEED = (73, 207, 281)


def _peak(n, centre, sigma):
    t = np.arange(n)
    return np.exp(-0.5 * ((t - centre) / sigma) ** 2)


def _synthetic_run() -> Run:
    """Compound A (ions 100, 120, 130, 150) at scan 300, B (ions 110, 150, 160, 180) at scan 306
    sharing m/z 150, a rising bleed on 73/207/281 and noise on every ion."""
    n, mz_min, n_mz = 600, 50, 250
    rng = np.random.default_rng(7)
    matrix = np.abs(rng.normal(0, 20, (n, n_mz))).astype(np.float32)
    a, b = _peak(n, 300, 3.0), _peak(n, 306, 3.0)
    for mz, height in ((100, 9000), (120, 5000), (130, 2000), (150, 3000)):
        matrix[:, mz - mz_min] += height * a
    for mz, height in ((110, 8000), (150, 4000), (160, 2500), (180, 6000)):
        matrix[:, mz - mz_min] += height * b
    for mz in BLEED:
        matrix[:, mz - mz_min] += np.linspace(200, 6000, n)
    return Run("synthetic", np.arange(n) * 0.3, mz_min, matrix)


def test_coeluting_compounds_are_separated_and_bleed_left_out():
    components = extract_components(_synthetic_run())
    assert [c.apex for c in components] == [300, 306]
    first, second = (set(c.mz.astype(int)) for c in components)
    assert {100, 120, 130, 150} <= first and not first & {110, 160, 180, *BLEED}
    assert {110, 150, 160, 180} <= second and not second & {100, 120, 130, *BLEED}
    # The shared ion m/z 150 (3000 counts from A, 4000 from B) is split between them by shape.
    shares = [dict(zip(c.mz.astype(int), c.intensity))[150] for c in components]
    assert shares == pytest.approx([3000, 4000], rel=0.1)
    # Unshared ions keep their abundance.
    assert dict(zip(components[1].mz.astype(int), components[1].intensity))[180] == pytest.approx(6000, rel=0.1)


def test_real_components_and_column_bleed():
    run, _ = load_run(data_path("gcms", "lrcfs", "220223030.mzML"))
    components = extract_components(run)
    by_rt = {}
    for c in sorted(components, key=lambda c: c.height):  # the largest component per 0.1 min
        by_rt[round(c.rt_minutes, 1)] = c
    # bupivacaine, flubromazepam, etizolam (README retention times) and their base peaks
    for rt, base in ((6.5, 140), (7.4, 305), (10.3, 342)):
        c = by_rt[rt]
        assert c.mz[np.argmax(c.intensity)] == base
    # Bupivacaine's reference spectrum has none of the bleed ions; its raw apex scan has them
    # all (the column bleeds throughout the run); the component keeps at most a trace.
    bupivacaine = by_rt[6.5]
    raw = run.intensity[bupivacaine.apex]
    assert all(raw[mz - run.mz_min] > 0 for mz in BLEED)
    kept = dict(zip(bupivacaine.mz.astype(int), bupivacaine.intensity))
    assert all(kept.get(mz, 0.0) < 1e-3 * bupivacaine.intensity.max() for mz in BLEED)


def test_blank_subtraction_removes_what_the_blank_has():
    run, _ = load_run(data_path("gcms", "lrcfs", "220223030.mzML"))
    blank, _ = load_run(data_path("gcms", "lrcfs", "220223001.mzML"))
    kept, removed = subtract_blank(extract_components(run), extract_components(blank))
    # The internal standard is in the blank at the same level; the seized-card drugs are not.
    assert [round(m.component.rt_minutes, 1) for m in removed] == [6.5]
    assert removed[0].similarity >= 0.9 and abs(removed[0].blank.rt_minutes - 6.5) < 0.1
    assert {7.4, 10.3} <= {round(c.rt_minutes, 1) for c in kept}

"""Pipeline rules that decide which components become findings."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from nps_id.gcms.deconvolution import Component
from nps_id.match.pipeline import _same_compound


def _component(rt_seconds: float, height: float) -> Component:
    return Component(0, 0, 0, rt_seconds, height, height, 100.0, 100, np.array([100.0]), np.array([1.0], np.float32))


def _hit(row: int, mf: int) -> list[dict]:
    return [{"row": row, "mf": mf}]


LIBRARY = SimpleNamespace(compound=np.array([7, 7, 9]))  # rows 0 and 1: the same compound


def test_one_peak_gives_one_finding():
    components = [_component(600.0, 1e6), _component(603.0, 2e4), _component(700.0, 5e4)]
    identity = {0: _hit(0, 950), 1: _hit(1, 880), 2: _hit(2, 900)}
    # The 603 s tail has the same compound as the higher 600 s peak: it is a duplicate of it.
    elsewhere, duplicates = _same_compound(components, identity, LIBRARY, 600, 6.0)
    assert duplicates == {1: 0}
    assert elsewhere == [0, 0, 0]  # within one peak width, so not "elsewhere"


def test_same_best_hit_at_two_retention_times_is_counted():
    components = [_component(600.0, 1e6), _component(650.0, 2e5), _component(700.0, 5e4)]
    identity = {0: _hit(0, 950), 1: _hit(1, 880), 2: _hit(2, 500)}
    elsewhere, duplicates = _same_compound(components, identity, LIBRARY, 600, 6.0)
    assert elsewhere == [1, 1, 0]
    assert duplicates == {}  # 50 s apart: two peaks, not one
    # Below the reporting floor a hit does not count.
    identity[1] = _hit(1, 550)
    assert _same_compound(components, identity, LIBRARY, 600, 6.0)[0] == [0, 0, 0]

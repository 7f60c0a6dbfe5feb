"""A lighter compound not excluded, EI (stop 50, docs/match.md "A heavier or a lighter compound, EI"): the mirror of
stop 47's heavier-compound hold. A spectrum without an ion at the hit's nominal mass may be a lighter compound's
(a lower homologue, the alcohol of an ester), so it is not ``identified`` as the hit when the library's own
compounds without a molecular ion match a lighter compound that well (the ``lighter`` curve of isomer_rates.json,
``benchmarks/train_isomer_rates.py --lighter``). Synthetic curves: which curve reaches the bound decides the words."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")

from nps_id.match import isomer_rule  # noqa: E402
from nps_id.match.isomer_evidence import _with_heavier  # noqa: E402
from nps_id.match.isomer_rule import IsomerCheck  # noqa: E402
from nps_id.match.ranked_hit import RankedHit  # noqa: E402
from nps_id.match.verdict import (HELD_HEAVIER, HELD_LIGHTER, VerdictThresholds, _isomer_check, held_by,  # noqa: E402
                                  held_words, isomer_phrase)

GRID = len(isomer_rule.SCORE_GRID)
HIGH, LOW = [0.2] * GRID, [0.0] * GRID  # a curve above / under isomer_min_rate at every score


class _Facts:
    """The one fact the hold reads: the hit's nominal mass (pentyl acetate, 130)."""

    def mass(self, row: int) -> int:
        return 130


def _held(heavier: list[float], lighter: list[float] | None, ions: dict[float, float]) -> IsomerCheck:
    mz = np.array(sorted(ions), dtype=float)
    intensity = np.array([ions[m] for m in sorted(ions)], dtype=float)
    rates = {isomer_rule.HEAVIER: heavier} | ({} if lighter is None else {isomer_rule.LIGHTER: lighter})
    return _with_heavier(IsomerCheck(evaluated=True), mz, intensity, RankedHit(0, 920), _Facts(), rates,
                         VerdictThresholds())


PENTANOL = {42.0: 100.0, 55.0: 60.0, 70.0: 50.0, 41.0: 40.0}  # 1-pentanol's ions stop far below 130


def test_a_lighter_compound_alone_holds_the_hit_in_its_own_words():
    check = _held(LOW, HIGH, PENTANOL)
    assert check.lighter == 130 and check.heavier == 0 and not check.excluded
    assert held_by(check) == [HELD_LIGHTER] and held_words(held_by(check)) == "a lighter compound"
    text, met, _ = _isomer_check(check, None)
    assert not met and text.startswith("a lighter compound excluded (not possible from the spectrum alone: it shows "
                                       "no ion at the hit's mass, 130")
    phrase = isomer_phrase(check)
    assert phrase.startswith("the substance is the hit or a lighter compound the spectrum cannot tell from it")
    assert "a lighter compound is not excluded" in phrase and "heavier" not in phrase


def test_both_curves_at_the_bound_name_both_directions():
    check = _held(HIGH, HIGH, PENTANOL)
    assert check.heavier == check.lighter == 130
    assert held_by(check) == [HELD_HEAVIER, HELD_LIGHTER]
    assert held_words(held_by(check)) == "a heavier compound or a lighter compound"
    assert _isomer_check(check, None)[0].startswith("a heavier or a lighter compound excluded (not possible")
    assert "a heavier or a lighter compound is not excluded" in isomer_phrase(check)


def test_an_ion_at_the_hits_mass_or_a_curve_under_the_bound_holds_nothing():
    # the spectrum shows the hit's molecular ion (1 % of the base peak): neither direction is open
    assert _held(HIGH, HIGH, {**PENTANOL, 130.0: 1.0}).excluded
    assert _held(LOW, LOW, PENTANOL).excluded  # no library pairs that close: nothing to hold
    assert _held(LOW, None, PENTANOL).excluded  # a rates file without the kind (before stop 50)

"""Isomer rates per kind of move: the training script's fallbacks and the rule's lookup agree, so a
finer kind with few library pairs takes its coarser kind's rate (benchmarks/train_isomer_rates.py,
nps_id/match/isomer_rule.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("rdkit")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from train_isomer_rates import MIN_PAIRS, rates_for  # noqa: E402

from nps_id.chem.isomers import Isomer  # noqa: E402
from nps_id.match.isomer_rule import check_isomers, rate_of  # noqa: E402


def test_a_kind_with_few_pairs_takes_the_rate_of_the_next_coarser_kind():
    pooled = {"ring_position:O:far": [1.0] * MIN_PAIRS, "ring_position:O:ortho": [0.0] * 2,
              "ring_position:C:far": [0.0] * 3, "methyl_shift:O": [0.5] * MIN_PAIRS}
    rates = rates_for(pooled)
    assert rates["ring_position:O:far"]["rate"] == 1.0
    # 2 ortho pairs: ring_position:O (12 pairs, 10 inseparable)
    assert rates["ring_position:O:ortho"]["from"] == "ring_position:O"
    assert rates["ring_position:O:ortho"]["rate"] == pytest.approx(10 / 12, abs=1e-3)
    # 3 pairs, and ring_position:C has 3 too: ring_position (15 pairs)
    assert rates["ring_position:C:far"]["from"] == "ring_position"
    assert rates["ring_position"]["rate"] == pytest.approx(10 / 15, abs=1e-3)


def test_the_rule_reads_a_kind_the_rates_file_lacks_at_its_coarser_kind():
    rates = {"ring_position:O": 0.8, "ring_position": 0.5, "default": 0.1}
    assert rate_of("ring_position:O:ortho", rates) == 0.8
    assert rate_of("ring_position:F:far", rates) == 0.5
    assert rate_of("double_bond:conjugation", rates) == 0.1
    # an absent para-methoxy isomer of a kind learned inseparable is not excluded
    para = Isomer("COc1ccc(O)cc1", "NWVVVBRKAWDGAB-UHFFFAOYSA-N", "ring_position:O:far")
    check = check_isomers("COc1ccccc1O", "other", 950, lambda block: None, {}, min_rate=0.4, margin=100,
                          rates={"other": rates}, isomers=[para])
    assert [n.rate for n in check.absent] == [0.8]

"""The "isomer ambiguity" rule text says why: a hit that is also the best hit at another retention
time, with a clear gap, is not "a library compound that scores as close" (rams L-proline: gap 728)."""
from __future__ import annotations

from nps_id.match.verdict import Evidence, decide

GOOD = dict(kind="ms2", score=960, gap=728, isomer_alert=False)


def test_a_hit_found_at_another_retention_time_says_so():
    v = decide(Evidence(**GOOD, same_hit_elsewhere=1))
    assert v.verdict == "tentative" and v.rule.startswith("isomer ambiguity: scores pass")
    assert "best hit at 1 other retention time too (one compound elutes once)" in v.rule
    assert "a library compound that scores as close" not in v.rule


def test_a_close_runner_up_keeps_the_text_that_names_it():
    v = decide(Evidence(**{**GOOD, "gap": 12}, same_hit_elsewhere=1))
    assert "a library compound that scores as close" in v.rule
    assert "best hit at 1 other retention time too" in v.rule

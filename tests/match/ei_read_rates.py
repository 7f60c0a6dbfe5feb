"""The isomer rates an MS/MS hit read until stop 46, for tests of other MS/MS rules: the shipped
file's curves with MS/MS-learned ones for the oxygen moves and sugar linkages only (every other
kind read its EI curve). Since stop 46 an MS/MS hit reads MS/MS-learned curves for every kind
MassBank MS/MS has pairs of, which hold most positional isomers on their own; a rule that excludes
isomers (or holds a hit back) is seen alone on these (tests/match/test_ms2_isomer_rates.py)."""
from __future__ import annotations

import json
from functools import lru_cache

from nps_id.chem.isomer_type import MS2_ONLY_MOVES
from nps_id.match import isomer_rule

#: The kinds the shipped file learned on MS/MS pairs before stop 46.
BEFORE_46 = ("oxygen_position", "sugar_linkage")


@lru_cache(maxsize=1)
def ei_read_rates() -> isomer_rule.Rates:
    """The shipped curves as an MS/MS hit read them before stop 46 (module docstring)."""
    data = json.loads(isomer_rule.RATES_PATH.read_text(encoding="utf-8"))
    # an MS/MS-only move (stop 49) has no EI curve to read: its MS/MS one stays
    kept = (*BEFORE_46, *MS2_ONLY_MOVES)
    # and the EI pool for a kind neither side learned (the -ms2 `default`, which MS/MS hits read since stop 50, left out)
    contexts = {c: ({m: e for m, e in moves.items() if m.split(":")[0] in kept}
                    if c.endswith("-ms2") else moves) for c, moves in data["contexts"].items()}
    return isomer_rule.parse_rates({**data, "ms2_moves": list(kept), "contexts": contexts})

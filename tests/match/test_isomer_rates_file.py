"""A damaged or old-format isomer rates file (nps_id/match/isomer_rates.json, rewritten by
benchmarks/train_isomer_rates.py) stops a command with one line naming the file and exit 4, never a
traceback (nps_id/match/isomer_rule.py load_rates)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.errors import EXIT_BAD_LIBRARY, LibraryError
from nps_id.match import isomer_rule
from nps_id.match.verdict import VerdictThresholds
from tests.conftest import data_path

pytest.importorskip("rdkit")


def _shipped() -> dict:
    return json.loads(isomer_rule.RATES_PATH.read_text(encoding="utf-8"))


def _curves(data: dict) -> list[dict]:
    return [entry for moves in data["contexts"].values() for entry in moves.values()]


def _old_format(data: dict) -> dict:  # version 2: one rate per kind, no score grid
    data["version"] = 2
    del data["score_grid"]
    for entry in _curves(data):
        entry["rate"] = entry.pop("rate_at_score")[0]
    return data


def _short_curve(data: dict) -> dict:
    _curves(data)[0]["rate_at_score"] = _curves(data)[0]["rate_at_score"][:3]
    return data


def _text_rate(data: dict) -> dict:
    _curves(data)[0]["rate_at_score"][0] = "high"
    return data


def _rate_above_one(data: dict) -> dict:
    _curves(data)[0]["rate_at_score"][-1] = 7
    return data


def _no_contexts(data: dict) -> dict:
    del data["contexts"]
    return data


DAMAGE: dict[str, Callable[[dict], dict]] = {
    "old format": _old_format, "short curve": _short_curve, "text rate": _text_rate,
    "rate above one": _rate_above_one, "no contexts": _no_contexts,
    "not an object": lambda data: [data],
}


def _write_damaged(tmp_path: Path, how: str) -> Path:
    path = tmp_path / "isomer_rates.json"
    if how == "truncated":
        path.write_text(isomer_rule.RATES_PATH.read_text(encoding="utf-8")[:2000], encoding="utf-8")
    elif how == "missing":
        pass
    else:
        path.write_text(json.dumps(DAMAGE[how](_shipped())), encoding="utf-8")
    return path


@pytest.mark.parametrize("how", ["truncated", "missing", *DAMAGE])
def test_a_damaged_rates_file_is_one_line_naming_the_file(tmp_path, how):
    path = _write_damaged(tmp_path, how)
    with pytest.raises(LibraryError) as caught:
        isomer_rule.load_rates(path)
    message = str(caught.value)
    assert str(path) in message and "train_isomer_rates.py" in message
    assert "\n" not in message


def test_the_shipped_rates_file_loads():
    rates = isomer_rule.load_rates()
    assert rates["drug"] and all(len(c) == len(isomer_rule.SCORE_GRID) for c in rates["drug"].values())


def test_search_with_a_damaged_rates_file_exits_4_with_one_line(tmp_path, monkeypatch):
    queries = data_path("massbank", "ei-queries-identity.msp.gz")
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    library = tmp_path / "ei.h5"
    build_library([queries], library, name="EI sample", release="1", index_builder=build_indexes)
    monkeypatch.setattr(isomer_rule, "RATES_PATH", _write_damaged(tmp_path, "truncated"))
    isomer_rule.load_rates.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["search", str(queries), "-l", str(library), "--top", "1"],
                                    env={"NPS_ID_CACHE": str(tmp_path / "cache")})
    finally:
        isomer_rule.load_rates.cache_clear()
    assert result.exit_code == EXIT_BAD_LIBRARY, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.stderr.splitlines() if line.startswith("nps-id: error:")]
    assert len(errors) == 1 and "isomer_rates.json" in errors[0], result.stderr


def test_the_shipped_ms2_curves_are_learned_on_ms2_pairs_for_the_ms2_moves_only(tmp_path: Path) -> None:
    # since stop 46 an MS/MS hit reads MS/MS-learned curves for every kind MassBank MS/MS has pairs of
    # (ms2_moves); a kind it has none of (ring size, ring opening) keeps its EI curve, and a kind neither
    # learned reads the MS/MS pool (the -ms2 context's default; since stop 50, the EI pool before)
    data = _shipped()
    rates = isomer_rule.load_rates(isomer_rule.RATES_PATH)
    learned = {move.split(":")[0] for context in ("drug-ms2", "other-ms2")
               for move in data["contexts"][context] if move != "default"}
    assert learned == set(data["ms2_moves"])  # an -ms2 curve is there because its kind was learned on MS/MS
    assert {"ring_position", "methyl_shift", "ring_nitrogen", "oxygen_position"} <= learned
    other = data["contexts"]["other-ms2"]
    # a curve learned on its own pairs (not a fallback) has at least the trainer's minimum of them
    assert all(entry["pairs"] >= 10 for move, entry in other.items() if entry["from"] == move)
    for context in ("drug", "other"):
        ms2 = rates[f"{context}-ms2"]
        assert all(ms2[m] == tuple(e["rate_at_score"]) for m, e in data["contexts"][f"{context}-ms2"].items())
        assert ms2["default"] != rates[context]["default"]
        assert "ring_size" not in learned
        assert isomer_rule.rate_of("ring_size", ms2) == rates[context].get("ring_size", ms2["default"])
        # an EI kind of too few pairs is stored as the EI pool under its name ("from": "default"): not an EI
        # curve of the kind, so an MS/MS hit reads its own pool (ring openings: 0 at 990 in the EI pool)
        assert data["contexts"][context]["ring_opening"]["from"] == "default"
        assert isomer_rule.rate_of("ring_opening", ms2) == ms2["default"] != rates[context]["ring_opening"]
    # a drug's double bond moved (no drug curve on either side) at an MS/MS hit of 990: the MS/MS pool holds
    # it (5 % of the drug MS/MS pairs match that well); the EI pool would have excluded it
    at_990, bound = isomer_rule.SCORE_GRID.index(990), VerdictThresholds().isomer_min_rate_ms2
    assert "double_bond" not in data["contexts"]["drug"] and "double_bond" not in data["contexts"]["drug-ms2"]
    assert isomer_rule.rate_of("double_bond", rates["drug-ms2"])[at_990] >= bound
    assert isomer_rule.rate_of("double_bond", rates["drug"])[at_990] < bound
    # the evidence: CID tells MassBank MS/MS's ring-position and methyl-shift pairs apart less often
    # than EI tells the EI libraries' (at 950, other compounds), so an MS/MS hit holds its isomers more
    at_950 = isomer_rule.SCORE_GRID.index(950)
    for kind in ("ring_position", "methyl_shift"):
        assert rates["other-ms2"][kind][at_950] > rates["other"][kind][at_950] + 0.1
    # without ms2_moves an -ms2 context stands alone (the whole file trained on MS/MS pairs)
    del data["ms2_moves"]
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert "ring_size" not in isomer_rule.load_rates(path)["other-ms2"]


@pytest.mark.parametrize("ms2_moves", ["ring_position", 5, ["ring_position", 3], {"ring_position": 1}])
def test_a_rates_file_whose_ms2_moves_is_not_a_list_of_kinds_is_one_line(tmp_path, ms2_moves):
    # a hand-edited ms2_moves was read as a mere flag: a string, a number, a list holding a number all
    # loaded, and the trainer's --add-to then wrote a string's letters as kinds (or stopped with a
    # traceback on a number); the rule and the trainer read it as the list of kinds learned on MS/MS
    data = _shipped()
    data["ms2_moves"] = ms2_moves
    path = tmp_path / "isomer_rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LibraryError) as caught:
        isomer_rule.load_rates(path)
    message = str(caught.value)
    assert str(path) in message and "ms2_moves" in message and "\n" not in message

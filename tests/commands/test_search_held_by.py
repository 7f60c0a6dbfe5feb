"""``held_by`` in ``nps-id search`` rows (stop 49): what held an "isomer not excluded" verdict -- an isomer, a
GC injector relative, a heavier compound (EI), a compound of another formula at a precursor written to fewer than
3 decimals (MS/MS) -- as data in every JSON line, per query as ``verdict``, so that a script need not parse
``verdict_rule``'s text (``match``'s findings carry it since stop 48). JSON lines only, their last key: the TSV /
CSV columns, whose last is SuspectedGroupProbability, keep their bytes (tests/commands/test_search_group_probability.py),
and so do the JSON keys before it (docs/search.md)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id import io
from nps_id.cli import cli
from nps_id.match.verdict import HELD_BY
from tests.conftest import data_path

#: MassBank EI identity queries against SWGDRUG 3.4 and what holds each (stop 49): 1,4-dimethoxybenzene's ring
#: isomers the library lacks; 1,4-butanediol's spectrum shows no ion at its mass (a heavier compound's fragments
#: give it too); diphenylamine's top hit pheniramine both; benzaldehyde identified, held by nothing.
EI_HELD = {"1,4-DIMETHOXYBENZENE": ["isomer"], "1,4-BUTANEDIOL": ["heavier_compound"],
           "DIPHENYLAMINE": ["isomer", "heavier_compound"], "BENZALDEHYDE": []}
#: MassBank MS/MS analogue queries against the library made of them: piperazine's "87" and isopentenyladenine's
#: "206" are written to 0 decimals, which other formulae of the library fit (2-pentanone, CBDZ-M).
MS2_HELD = {"Piperazine": ["other_formula"], "Isopentenyladenine": ["isomer", "other_formula"]}


def _jsonl(*args) -> list[str]:
    result = CliRunner().invoke(cli, ["search", *map(str, args), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def _per_query(lines: list[str]) -> dict[str, dict]:
    """Each query's first row; every row of a query carries one held_by, the row's last key."""
    first: dict[str, dict] = {}
    for row in map(json.loads, lines):
        assert list(row)[-1] == "held_by" and isinstance(row["held_by"], list)
        assert row["held_by"] == first.setdefault(row["query_name"], row)["held_by"], row["query_name"]
    return first


def _checked(first: dict[str, dict]) -> None:
    """What every query's held_by says, against its verdict: words of HELD_BY, each once in that order; some
    exactly when an "isomer not excluded" rule decided (the search's isomers are checked only when every other
    criterion passes), and the rule's words name the same reasons."""
    for name, row in first.items():
        held, rule = row["held_by"], row["verdict_rule"]
        assert held == [word for word in HELD_BY if word in held], name
        assert bool(held) == rule.startswith("isomer not excluded:"), name
        assert ("heavier_compound" in held) == ("a heavier compound" in rule), name
        assert ("other_formula" in held) == ("a compound of another formula" in rule), name


@pytest.fixture(scope="module")
def ei_queries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = data_path("massbank", "ei-queries-identity.msp.gz")
    if not path.exists():
        pytest.skip(f"real data absent: {path}")
    out = tmp_path_factory.mktemp("held-by") / "ei.msp"
    io.write([s for s in io.read(path) if s.name in EI_HELD], out)
    return out


def test_ei_rows_name_what_held_each_verdict(swgdrug_library, ei_queries):
    first = _per_query(_jsonl(ei_queries, "-l", swgdrug_library, "--top", 3))
    assert {name: row["held_by"] for name, row in first.items()} == EI_HELD
    assert first["BENZALDEHYDE"]["verdict"] == "identified"
    _checked(first)


def test_ms2_rows_name_a_precursor_of_too_few_decimals(ms2_library):
    queries = data_path("massbank", "ms2-queries-analog.msp.gz")
    first = _per_query(_jsonl(queries, "-l", ms2_library, "--top", 2))
    assert {name: first[name]["held_by"] for name in MS2_HELD} == MS2_HELD
    assert sum(row["held_by"] == ["isomer"] for row in first.values()) > 100  # most match themselves: isomers hold
    assert any(row["verdict"] == "identified" and row["held_by"] == [] for row in first.values())
    _checked(first)


def test_the_keys_before_it_keep_their_bytes(ms2_library, monkeypatch):
    import nps_id.commands.search as search_command

    queries = data_path("massbank", "ms2-queries-analog.msp.gz")
    new = _jsonl(queries, "-l", ms2_library, "--top", 2)
    monkeypatch.setattr(search_command, "JSONL_ONLY", ())  # the writer as it was: no key after COLUMNS
    old = _jsonl(queries, "-l", ms2_library, "--top", 2)
    assert len(new) == len(old) > 150
    assert [line.rpartition(', "held_by": ')[0] + "}" for line in new] == old

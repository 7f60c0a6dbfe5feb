"""The cache-folder files of :mod:`nps_id.match.assess` (row facts, isomers, MS/MS pairs) when
several processes use them at once (`nps-id batch --workers 2`: every worker reads the file at its
start and writes what it computed at its end)."""
from __future__ import annotations

import json

import pytest

from nps_id.match.assess import _RowFactsCache


def test_two_processes_writing_one_cache_file_keep_both_processes_values(tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    first, second = _RowFactsCache("0" * 64), _RowFactsCache("0" * 64)
    first.add("mass:1", 100)
    second.add("mass:2", 200)  # both read the (missing) file before either wrote it
    first.save()
    second.save()
    assert json.loads(first.path.read_text()) == {"mass:1": 100, "mass:2": 200}
    first.path.write_text("{not json")  # a damaged file: replaced by what this process knows
    third = _RowFactsCache("0" * 64)
    with pytest.warns(UserWarning, match="damaged"):
        third.add("mass:3", 300)
    third.save()
    assert json.loads(first.path.read_text()) == {"mass:3": 300}


def test_a_damaged_value_is_found_when_asked_and_never_written_back(tmp_path, monkeypatch):
    """Values are checked as they are asked (a one-spectrum search asks a few of tens of thousands):
    a good one is used as it is; a damaged one warns, is made again, and the file written back
    holds neither it nor anything else of the damaged file."""
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = _RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(json.dumps({"mass:1": 100, "mass:2": "abc", "mass:3": 300}))
    assert cache.value("mass:1", lambda: pytest.fail("made again")) == 100
    with pytest.warns(UserWarning, match="damaged"):
        assert cache.value("mass:2", lambda: 200) == 200
    cache.save()
    assert json.loads(cache.path.read_text()) == {"mass:1": 100, "mass:2": 200}


def test_a_rows_block_asked_alone_is_its_block_among_every_rows(swgdrug_library):
    """A hit row's InChIKey first block is read for that row alone (a one-spectrum search against
    69,000 rows reads a few), and equals the one the rules that need every row's read."""
    from nps_id.library import open_verified
    from nps_id.match.assess import LibraryFacts
    from nps_id.search.reference import Reference

    with open_verified(swgdrug_library) as lib:
        facts = LibraryFacts(Reference.from_library(lib, lazy=True))
        rows = list(range(0, lib.n_spectra, 97)) + [lib.n_spectra - 1]
        alone = [facts.block(row) for row in rows]
        assert "_block" not in facts.__dict__ and "inchikey" not in facts.reference.columns._values
        every = facts._block
        assert alone == [every[row] for row in rows] and sum(map(bool, alone)) > len(rows) // 2
        assert [facts.block(row) for row in rows] == alone

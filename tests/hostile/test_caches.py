"""Hostile cache files in the user cache folder (issue 16's library facts cache beside the isomer
cache): whatever is found there, a search runs and gives the same output as with no cache."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from tests.conftest import data_path
from tests.hostile.commands import SMALL_LIBRARY_SOURCE


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    out = tmp_path_factory.mktemp("tiny-library") / "tiny.h5"
    build_library([data_path(*SMALL_LIBRARY_SOURCE)], out, name="tiny", release="1", index_builder=build_indexes)
    return out


def _search(library: Path, cache: Path):
    return CliRunner().invoke(cli, ["search", str(data_path(*SMALL_LIBRARY_SOURCE)), "-l", str(library),
                                    "--format", "jsonl"], env={"NPS_ID_CACHE": str(cache)})


@pytest.mark.parametrize("content", ["null", "[]", '"x"', "5",
                                     '{"mass:0": "abc", "ion:0": [1], "context:0": 5, "group:0": {}}',
                                     '{"shape:0": [12, 9]}', '{"shape:0": [12, -1, 0]}', '{"shape:0": [12, 9, true]}',
                                     '{"thermal:0": [["CCO", "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"]]}', '{"thermal:0": "x"}'])
def test_facts_cache_of_the_wrong_shape_is_rebuilt(library, tmp_path, content):
    """Valid JSON that is not the cache's {"what:row": value} (a list, null, values of other
    types) is a damaged cache: rebuilt with a warning, never a traceback or a changed result."""
    clean = _search(library, tmp_path / "cache")
    assert clean.exit_code == 0, clean.output
    (facts,) = (tmp_path / "cache").rglob("facts-*.json")
    facts.write_text(content)
    again = _search(library, tmp_path / "cache")
    assert again.exit_code == 0, again.stderr
    assert again.stdout == clean.stdout
    assert "library facts cache" in again.stderr and "damaged" in again.stderr
    assert isinstance(json.loads(facts.read_text()), dict)


@pytest.mark.parametrize("kind", ["facts", "isomers"])
@pytest.mark.parametrize("hostile", ["deep", "fifo"])
def test_cache_file_nested_too_deep_or_a_fifo_is_rebuilt(library, tmp_path, kind, hostile):
    """A cache file nested beyond the JSON parser's recursion (valid JSON) or a FIFO in its place
    (which blocks a reader forever) is a damaged cache: a warning and the same output, never a
    traceback or a search that hangs."""
    import os

    clean = _search(library, tmp_path / "cache")
    assert clean.exit_code == 0, clean.output
    (cached,) = (tmp_path / "cache").rglob(f"{kind}-*.json")
    if hostile == "deep":
        cached.write_text("[" * 100_000 + "]" * 100_000)
    else:
        cached.unlink()
        os.mkfifo(cached)
    again = _search(library, tmp_path / "cache")
    assert again.exit_code == 0, again.stderr
    assert again.stdout == clean.stdout
    assert "damaged" in again.stderr and "Traceback" not in again.stderr

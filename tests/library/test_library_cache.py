"""A library's cache files (copies, compound identity, index, row facts, MS/MS pairs) live in one
folder per library content and go when the library is rebuilt: real SWGDRUG and MassBank records,
libraries built and rebuilt in tmp folders, searched through the CLI."""
from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.io import read, write
from nps_id.library import build_library, open_verified
from nps_id.library.copies import is_copy
from nps_id.search.index import build_indexes
from tests.conftest import data_path

# A search reading the library from its copies until a line arrives on stdin (a search in progress).
READER = """
import sys
from nps_id.library import open_verified
with open_verified(sys.argv[1], copies=True) as lib:
    print(lib.sha256, flush=True)
    sys.stdin.readline()
    print(len(lib.column("name")), flush=True)
"""


def _records(source: tuple[str, str], start: int, stop: int, path: Path) -> Path:
    write(itertools.islice(read(data_path(*source)), start, stop), path)
    return path


def _build(source: Path, library: Path, indexes: bool = True) -> str:
    """Build ``library`` from ``source`` (replacing it); its sha256."""
    build_library([source], library, name="test", release="1", index_builder=build_indexes if indexes else None)
    with open_verified(library) as lib:
        return lib.sha256


def _search(queries: Path, library: Path, cache: Path) -> str:
    result = CliRunner().invoke(cli, ["search", str(queries), "-l", str(library), "--format", "jsonl"],
                                env={"NPS_ID_CACHE": str(cache)})
    assert result.exit_code == 0, result.output
    return result.stdout


def _kinds(folder: Path) -> set[str]:
    """What a library's cache folder holds: copies (``copy``) and derived files by their prefix."""
    return {"copy" if is_copy(p.name) else p.name.rsplit("-", 1)[0] for p in folder.iterdir()
            if not p.name.startswith(".")}


SWGDRUG = ("swgdrug", "SWGDRUG-3.4.msp.gz")
MS2 = ("massbank", "ms2-queries-identity.msp.gz")


@pytest.fixture(autouse=True)
def _structures_as_before(swgdrug_opsin):
    """The SWGDRUG records' names get the structures the session's SWGDRUG build had from OPSIN (the same SMILES per
    name, so the same libraries): these tests are about cache folders, and each of their six builds of 100-160
    SWGDRUG records started OPSIN's Java (~1.5 s CPU) until stop 51."""
    with swgdrug_opsin():
        yield


def test_a_rebuilt_librarys_cache_files_are_removed_and_another_librarys_kept(cache, tmp_path):
    """Build an EI library (no stored index: the search caches one) and an MS/MS one, search both:
    each has one folder holding its copies, compound identity, row facts, index / MS/MS pairs, and
    the loose files of nps-id before stop 35 are removed. Rebuild the EI library with more records
    and search again: its old folder is gone, the new one is complete and gives what a search with
    an empty cache gives; the MS/MS library's folder is untouched."""
    ei_source = _records(SWGDRUG, 0, 150, tmp_path / "ei.msp")
    ei_queries = _records(SWGDRUG, 0, 150, tmp_path / "ei-queries.msp")
    ms2_source = _records(MS2, 0, 400, tmp_path / "ms2.msp")
    ms2_queries = _records(MS2, 0, 400, tmp_path / "ms2-queries.msp")
    ei, ms2 = tmp_path / "ei.h5", tmp_path / "ms2.h5"
    old, ms2_sha = _build(ei_source, ei, indexes=False), _build(ms2_source, ms2)
    cache.mkdir(exist_ok=True)
    loose = ["identity-" + "0" * 32 + ".npz", "index-" + "a" * 32 + ".npz", "facts-" + "b" * 32 + ".json",
             "ms2pairs-" + "c" * 32 + ".json"]
    kept = ["isomers-" + "d" * 32 + ".json", "facts-notes.json", "index-1.npz"]  # not a library's: kept
    for name in loose + kept:
        (cache / name).write_text("{}")

    _search(ei_queries, ei, cache)
    _search(ms2_queries, ms2, cache)
    isomers = {p.name for p in cache.glob("isomers-*")} | {p.name for p in cache.glob(".isomers-*.lock")}  # its save's lock
    assert {p.name for p in cache.iterdir() if p.is_file()} == {*kept, *isomers}
    assert {p.name for p in (cache / "copies").iterdir()} == {old, ms2_sha}
    # an EI search keeps its identified hits' library pairs too (since stop 45; isomer-pairs-*, since stop 46)
    assert _kinds(cache / "copies" / old) == {"copy", "identity", "index", "facts", "isomer-pairs"}
    ms2_files = {p.name: p.read_bytes() for p in (cache / "copies" / ms2_sha).iterdir()}
    assert {"copy", "identity", "facts", "isomer-pairs"} <= _kinds(cache / "copies" / ms2_sha)

    new = _build(_records(SWGDRUG, 0, 160, tmp_path / "ei.msp"), ei, indexes=False)
    assert new != old
    rebuilt = _search(ei_queries, ei, cache)
    assert {p.name for p in (cache / "copies").iterdir()} == {new, ms2_sha}
    assert _kinds(cache / "copies" / new) == {"copy", "identity", "index", "facts", "isomer-pairs"}
    assert {p.name: p.read_bytes() for p in (cache / "copies" / ms2_sha).iterdir()} == ms2_files
    assert rebuilt == _search(ei_queries, ei, tmp_path / "empty-cache")
    assert _search(ei_queries, ei, cache) == rebuilt  # and from the new folder's files


def test_an_old_content_still_in_another_file_or_in_use_is_kept(cache, tmp_path):
    """A rebuilt library's old folder stays while another verified file has that content (a copy
    of the library) and while a process reads it (which then reads on without a warning); the next
    rebuild, with neither, removes the folder it replaces."""
    queries = _records(SWGDRUG, 0, 20, tmp_path / "queries.msp")
    library, twin = tmp_path / "ei.h5", tmp_path / "twin.h5"

    def rebuild(n: int) -> str:
        sha = _build(_records(SWGDRUG, 0, n, tmp_path / "ei.msp"), library)
        _search(queries, library, cache)
        return sha

    first = rebuild(100)
    shutil.copyfile(library, twin)
    _search(queries, twin, cache)
    second = rebuild(110)
    assert {p.name for p in (cache / "copies").iterdir()} == {first, second}  # the twin has the first
    reader = subprocess.Popen([sys.executable, "-c", READER, str(library)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={"NPS_ID_CACHE": str(cache), "PATH": "/usr/bin:/bin",
                                   "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        assert reader.stdout.readline().split() == [second]
        third = rebuild(120)
        assert {p.name for p in (cache / "copies").iterdir()} == {first, second, third}  # being read
        out, err = reader.communicate("go\n", timeout=120)
    finally:
        reader.kill()
    assert reader.returncode == 0 and out.split() == ["110"] and "Warning" not in err, err
    fourth = rebuild(130)
    assert {p.name for p in (cache / "copies").iterdir()} == {first, second, fourth}

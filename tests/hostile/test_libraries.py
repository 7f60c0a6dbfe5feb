"""A damaged or tampered library never gives an answer: every command that reads one refuses it
with one line and exit code 4 (issue 12, items 3-7 and the build half of 12). The damaged copies
come from the seeded generator ``tests/hostile/libraries.py``; commands run as real processes,
because some damage used to end in SIGSEGV."""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from nps_id.errors import LibraryError
from nps_id.library import Library, validate_library
from tests.conftest import SWGDRUG_SUBSET, data_path
from tests.hostile import libraries as damage

ROOT = Path(__file__).resolve().parents[2]
LRCFS_RUN = ("gcms", "lrcfs", "220223030.mzML")
#: Damage a self-consistent file (its hash recomputed) can carry: only the search's own bounds
#: checks see it, validate (which checks the library format, not index semantics) cannot.
SEARCH_ONLY = {"index_offset_huge_rehashed"}


def run(*args: str | Path, cache: Path, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NPS_ID_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "nps_id", *map(str, args)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def assert_refused(result: subprocess.CompletedProcess, code: int = 4) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("nps-id: error:"), result.stderr[-2000:]


@pytest.fixture(scope="module")
def queries(swgdrug_library, tmp_path_factory) -> Path:
    """Five SWGDRUG spectra as EI queries."""
    return damage.write_queries(swgdrug_library, [10, 500, 1000, 2000, 2900],
                                tmp_path_factory.mktemp("queries") / "queries.msp")


@pytest.mark.parametrize("name", sorted(set(damage.DAMAGES) - SEARCH_ONLY))
def test_validate_refuses_every_damaged_copy(swgdrug_library, tmp_path, name):
    damaged = damage.damaged_copy(swgdrug_library, tmp_path, name)
    with pytest.raises(LibraryError) as caught:
        validate_library(damaged)
    assert "\n" not in str(caught.value) and name in str(caught.value)


@pytest.fixture(scope="module")
def clean_hits(swgdrug_library, queries, tmp_path_factory) -> str:
    """The search of the undamaged library: five queries, five hits each, and a header."""
    clean = run("search", queries, "-l", swgdrug_library, cache=tmp_path_factory.mktemp("cache"))
    assert clean.returncode == 0 and clean.stdout.count("\n") == 26, clean.stderr
    return clean.stdout


@pytest.mark.parametrize("name", sorted(damage.DAMAGES))
def test_search_refuses_every_damaged_copy(swgdrug_library, queries, clean_hits, tmp_path, name):
    damaged = damage.damaged_copy(swgdrug_library, tmp_path, name)
    assert_refused(run("search", queries, "-l", damaged, cache=tmp_path / "cache"))


@pytest.mark.parametrize("name", ["index_rows_reversed", "exact_mass_string"])
def test_match_refuses_a_tampered_or_damaged_library(swgdrug_library, tmp_path, name):
    damaged = damage.damaged_copy(swgdrug_library, tmp_path, name)
    result = run("match", data_path(*LRCFS_RUN), "-l", damaged, "--json", tmp_path / "r.json",
                    cache=tmp_path / "cache")
    assert_refused(result)
    assert not (tmp_path / "r.json").exists()


@pytest.fixture(scope="module")
def results(swgdrug_library, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results") / "r.json"
    done = run("match", data_path(*LRCFS_RUN), "-l", swgdrug_library, "--json", out,
                  cache=out.parent / "cache")
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("command", ["report", "library info", "library export", "library build --append", "batch"])
def test_every_command_that_reads_a_library_refuses_a_changed_one(swgdrug_library, queries, results, tmp_path,
                                                                   command):
    damaged = damage.damaged_copy(swgdrug_library, tmp_path, "name_changed")
    args = {
        "report": ["report", results, "--library", damaged, "-o", tmp_path / "r.html"],
        "library info": ["library", "info", damaged],
        "library export": ["library", "export", damaged, "-o", tmp_path / "out.msp"],
        "library build --append": ["library", "build", "--append", queries, "-o", damaged],
        "batch": ["batch", data_path(*LRCFS_RUN[:2]), "-l", damaged, "-o", tmp_path / "batch",
                  "--include", "220223030*"],
    }[command]
    before = damaged.read_bytes()
    assert_refused(run(*args, cache=tmp_path / "cache"))
    assert damaged.read_bytes() == before
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "out.msp").exists()


def test_a_verified_library_is_not_checked_again_until_the_file_changes(swgdrug_library, tmp_path, monkeypatch):
    from nps_id.library import validate as module

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "lib.h5"
    shutil.copyfile(swgdrug_library, copy)
    calls = []
    full_check = module.check_library
    monkeypatch.setattr(module, "check_library", lambda lib: calls.append(1) or full_check(lib))
    for _ in range(3):
        with module.open_verified(copy) as lib:
            assert lib.n_spectra == 2988
    assert len(calls) == 1
    # Damage it and put the modification time back: the change time still tells.
    stat = copy.stat()
    damage.DAMAGES["name_changed"](copy)
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(LibraryError, match="SHA-256"):
        module.open_verified(copy)
    assert len(calls) == 2


def test_a_damaged_index_cache_is_rebuilt_not_used(swgdrug_library, queries, tmp_path):
    """Indexes cached in the user cache (.npz) are bounds-checked too: a damaged one is rebuilt."""
    plain = tmp_path / "plain.h5"
    shutil.copyfile(swgdrug_library, plain)
    with h5py.File(plain, "r+") as h5:
        del h5["indexes"]  # searched from an index built once and cached
    damage.rehash(plain)
    cache = tmp_path / "cache"
    first = run("search", queries, "-l", plain, cache=cache)
    assert first.returncode == 0, first.stderr
    (npz,) = cache.rglob("index-*.npz")
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["ei/spec_offsets"][3] = 10**12
    with open(npz, "wb") as fh:
        np.savez(fh, **arrays)
    again = run("search", queries, "-l", plain, cache=cache)
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
    assert "index cache" in again.stderr


def test_a_format_1_0_library_opens_and_its_unhashed_indexes_are_not_used(swgdrug_library, queries, clean_hits,
                                                                          tmp_path):
    old = tmp_path / "old.h5"
    shutil.copyfile(swgdrug_library, old)
    damage.index_rows_reversed(old)
    damage.as_format_1_0(old)  # a 1.0 hash covers peaks and metadata only: it cannot see the index
    assert validate_library(old).n_spectra == 2988
    result = run("search", queries, "-l", old, cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert result.stdout == clean_hits


def test_two_concurrent_appends_both_land(swgdrug_subset_build, tmp_path):
    # the 300-record SWGDRUG library: an append re-resolves every record's structure (~40 s on all)
    _, library, _ = swgdrug_subset_build
    target = tmp_path / "lib.h5"
    shutil.copyfile(library, target)
    sources = [damage.write_queries(library, range(k * 100, k * 100 + 100), tmp_path / f"add{k}.msp")
               for k in range(2)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NPS_ID_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-m", "nps_id", "library", "build", "--append", str(s),
                               "-o", str(target)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for s in sources]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    with Library.open(target) as lib:
        assert lib.n_spectra == SWGDRUG_SUBSET + 200
        assert [p["file"] for p in lib.provenance()][1:] in (["add0.msp", "add1.msp"], ["add1.msp", "add0.msp"])


def _file_size_limit(limit: int):
    def apply() -> None:  # a full disk: write() fails with EFBIG past ``limit`` bytes
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return apply


def test_a_build_on_a_full_disk_says_so_in_one_line_and_keeps_the_old_library(swgdrug_library, tmp_path):
    target = tmp_path / "lib.h5"
    small = damage.write_queries(swgdrug_library, range(20), tmp_path / "small.msp")
    assert run("library", "build", small, "-o", target, cache=tmp_path / "cache").returncode == 0
    before = target.read_bytes()
    result = run("library", "build", data_path("swgdrug", "SWGDRUG-3.4.msp.gz"), "-o", target,
                    cache=tmp_path / "cache", preexec_fn=_file_size_limit(len(before) + 100_000))
    assert_refused(result, code=3)
    assert "File too large" in result.stderr or "No space" in result.stderr
    assert target.read_bytes() == before
    assert not list(tmp_path.glob(".lib.h5.tmp-*"))
    assert json.loads(run("library", "info", "--json", target, cache=tmp_path / "cache").stdout)["n_spectra"] == 20


def test_a_verified_structure_too_large_for_an_inchi_is_not_worked_on_for_minutes(tmp_path):
    """A library (crafted, or another tool's) whose hit claims a verified 200,000-atom structure:
    checking it against the record's InChIKey kept RDKit busy minutes per hit row, to find no InChI."""
    msp = tmp_path / "lib.msp"
    msp.write_text("Name: a\nInChIKey: HOJZEMQCQRPLQQ-UHFFFAOYSA-N\nSMILES: O=C1CC(c2ccccc2)CN1\nNum Peaks: 3\n"
                   "50 10\n91 100\n120 30\n\nName: b\nNum Peaks: 3\n45 10\n46 100\n31 50\n")
    lib = tmp_path / "lib.h5"
    from nps_id.library import build_library

    build_library([msp], lib, name="x", release="1", names_to_structures=False, defaults={"ms_level": 1})
    with h5py.File(lib, "r+") as h5:
        damage._write_strings(h5, "metadata/smiles", ["C" * 200_000, ""])
    damage.rehash(lib)
    query = tmp_path / "q.msp"
    query.write_text("Name: q\nNum Peaks: 3\n50 10\n91 100\n120 30\n")
    result = run("search", query, "-l", lib, cache=tmp_path / "cache", timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[1].split("\t")[4] == "a"

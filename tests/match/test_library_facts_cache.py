"""The cache-folder files of :mod:`nps_id.match.library_facts` (row facts, isomers, MS/MS pairs) when
several processes use them at once (`nps-id batch --workers 2`: every worker reads the file at its
start and writes what it computed at its end)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from nps_id.match.library_facts import IsomerCache, RowFactsCache
from tests.conftest import data_path


def test_two_processes_writing_one_cache_file_keep_both_processes_values(tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    first, second = RowFactsCache("0" * 64), RowFactsCache("0" * 64)
    first.add("mass:1", 100)
    second.add("mass:2", 200)  # both read the (missing) file before either wrote it
    first.save()
    second.save()
    assert json.loads(first.path.read_text()) == {"mass:1": 100, "mass:2": 200}
    first.path.write_text("{not json")  # a damaged file: replaced by what this process knows
    third = RowFactsCache("0" * 64)
    with pytest.warns(UserWarning, match="damaged"):
        third.add("mass:3", 300)
    third.save()
    assert json.loads(first.path.read_text()) == {"mass:3": 300}


def test_a_damaged_value_is_found_when_asked_and_never_written_back(tmp_path, monkeypatch):
    """Values are checked as they are asked (a one-spectrum search asks a few of tens of thousands):
    a good one is used as it is; a damaged one warns, is made again, and the file written back
    holds its new value and the good values no search asked (until stop 38 one damaged value
    dropped them all)."""
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(json.dumps({"mass:1": 100, "mass:2": "abc", "mass:3": 300}))
    assert cache.value("mass:1", lambda: pytest.fail("made again")) == 100
    with pytest.warns(UserWarning, match="damaged"):
        assert cache.value("mass:2", lambda: 200) == 200
    cache.save()
    assert json.loads(cache.path.read_text()) == {"mass:1": 100, "mass:2": 200, "mass:3": 300}


def test_a_damaged_value_no_search_asked_is_dropped_alone_when_saved(tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(json.dumps({"mass:1": 100, "mass:2": "abc", "mass:3": -5, "ion:4": 77}))
    cache.add("mass:5", 500)
    with pytest.warns(UserWarning, match="damaged") as said:
        cache.save()
    assert len(said) == 1  # one line however many values are damaged
    assert json.loads(cache.path.read_text()) == {"mass:1": 100, "ion:4": 77, "mass:5": 500}


def _save_values(cache_dir: str, worker: int, rounds: int) -> None:
    """One `batch` worker's saves: each round a new process-like cache object adds a value and saves."""
    import os

    os.environ["NPS_ID_CACHE"] = cache_dir
    for i in range(rounds):
        cache = RowFactsCache("0" * 64)
        cache.add(f"mass:{worker * 1000 + i}", 100 + i)
        cache.save()


def test_processes_saving_one_cache_file_at_once_keep_every_value(tmp_path):
    """Four processes saving 25 times each into one file: every value is there at the end (without
    the lock, one process's read-merge-write ran between another's read and write, and lost its values)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_save_values, args=(str(tmp_path), w, 25)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    saved = json.loads(next(tmp_path.rglob("facts-*.json")).read_text())
    assert len(saved) == 100


def test_a_rows_block_asked_alone_is_its_block_among_every_rows(swgdrug_library):
    """A hit row's InChIKey first block is read for that row alone (a one-spectrum search against
    69,000 rows reads a few), and equals the one the rules that need every row's read."""
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.reference import Reference

    with open_verified(swgdrug_library) as lib:
        facts = LibraryFacts(Reference.from_library(lib, lazy=True))
        rows = list(range(0, lib.n_spectra, 97)) + [lib.n_spectra - 1]
        alone = [facts.block(row) for row in rows]
        assert "_block" not in facts.__dict__ and "inchikey" not in facts.reference.columns._values
        every = facts._block
        assert alone == [every[row] for row in rows] and sum(map(bool, alone)) > len(rows) // 2
        assert [facts.block(row) for row in rows] == alone


def test_a_batch_reads_the_blocks_column_whole_after_a_few_rows_alone_with_the_same_blocks(swgdrug_library, monkeypatch):
    """A batch asks thousands of hit rows' blocks: after ``_BLOCKS_ALONE`` rows read alone (an MS/MS
    x10 search read ~14,600 one by one) the column is read whole, and every block is the one the
    row read alone gives."""
    from nps_id.library import open_verified
    from nps_id.match import library_facts
    from nps_id.search.reference import Reference

    monkeypatch.setattr(library_facts, "_BLOCKS_ALONE", 5)
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib, lazy=True)
        rows = list(range(0, lib.n_spectra, 53))
        alone = library_facts.LibraryFacts(reference)
        one_by_one = []
        for row in rows:  # the count of rows read alone reset: each row read alone, as a one-spectrum search reads it
            alone.__dict__.update(_blocks_read=0)
            one_by_one.append(alone.block(row))
        assert "_block" not in alone.__dict__
        batch = library_facts.LibraryFacts(reference)
        first = [batch.block(row) for row in rows[:5]]
        assert "_block" not in batch.__dict__  # five rows: read alone
        rest = [batch.block(row) for row in rows[5:]]
        assert "_block" in batch.__dict__  # the sixth: the column whole
        assert first + rest == one_by_one and sum(map(bool, one_by_one)) > len(rows) // 2


@pytest.mark.parametrize("key, damaged, made", [
    ("mass:1", 10**30, 100),  # a mass no int64 array holds stopped the search with a traceback
    ("mass:1", -5, 100), ("ion:1", -1, 99), ("shape:1", [10**30, 0, 0], [3, 1, 0]),
    ("nps:1", 2, 0),  # read as an NPS
    ("context:1", "zzz", "other"), ("reagent:1", "zzz", None),
    # a molecule mass (kept since stop 41): JSON reads Infinity and NaN, an int is no mass the cache writes
    ("molecule_mass:1", float("inf"), 303.15829), ("molecule_mass:1", float("nan"), None),
    ("molecule_mass:1", -5.0, 303.15829), ("molecule_mass:1", 303, 303.15829),
    # the reagents' names (stop 44): a name no structure gives, unsorted, repeated, not a name
    ("reagents:1", ["TMS"], []), ("reagents:1", ["TBDMS", "COCF3"], ["COCF3", "TBDMS"]),
    ("reagents:1", ["COCF3", "COCF3"], ["COCF3"]), ("reagents:1", [3], []), ("reagents:1", "TBDMS", ["TBDMS"]),
    # a row's chain homologues (stop 51): an empty or malformed InChIKey, a step homologues() never makes (one or two
    # CH2) -- each held an EI verdict at "isomer not excluded" (attack51b)
    ("homologues:1-8", [["CCCCCCCCCCBr", "", 1, 10]], []), ("homologues:1-8", [["CCCCCCCCCCBr", "KEY", 1, 10]], []),
    ("homologues:1-8", [["CCCCCCCCCCBr", "MYMSJFSOOQERIO-UHFFFAOYSA-N", 50, 10]], []),
    ("homologues:1-8", [["CCCCCCCCCCBr", "MYMSJFSOOQERIO-UHFFFAOYSA-N", -3, 10]], []),
])
def test_a_value_of_the_right_type_the_cache_never_writes_is_damaged(tmp_path, monkeypatch, key, damaged, made):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(json.dumps({key: damaged}))
    with pytest.warns(UserWarning, match="damaged"):
        assert cache.value(key, lambda: made) == made
    cache.save()
    assert json.loads(cache.path.read_text()) == {key: made}


def _edited(monkeypatch, tmp_path, module: str, edit) -> None:
    """Python finds ``module`` (as the cache keys find the code that makes their values) in a copy
    of its folder under ``tmp_path`` whose file ``edit(folder)`` then changes."""
    import importlib.util
    import shutil

    real = importlib.util.find_spec
    origin = Path(real(module).origin)
    folder = tmp_path / "edited"
    shutil.copytree(origin.parent, folder, ignore=shutil.ignore_patterns("__pycache__"))
    edit(folder / origin.name)

    def find_spec(name, *args):
        spec = real(name, *args)
        return SimpleNamespace(origin=str(folder / origin.name)) if name == module else spec
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def _one_more_line(path: Path) -> None:
    path.write_text(path.read_text() + "\n# one more rule\n")


def test_the_isomer_cache_is_another_file_when_the_derivatizing_groups_change(tmp_path, monkeypatch):
    """A derivative's ring-position kinds name its reagent (stop 38): cached isomers made with
    another list of groups would carry other kinds, so the groups' module keys the file too."""
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    before = IsomerCache().path.name
    _edited(monkeypatch, tmp_path, "nps_id.chem.derivatives", _one_more_line)
    assert IsomerCache().path.name != before


@pytest.mark.parametrize("module, keys", [("nps_id.match.library_facts", True), ("nps_id.match.assess", False),
                                          # keyable_mol decides a row's verified structure (stop 39, attack39)
                                          ("nps_id.library.structure_variants", True)])
def test_the_facts_file_is_keyed_by_the_code_that_makes_the_facts_not_by_the_verdict_rules(tmp_path, monkeypatch,
                                                                                           module, keys):
    """The row facts and MS/MS pairs are made by :mod:`nps_id.match.library_facts` (assess.py held it
    until stop 39): an edit there makes new files, never stale facts; an edit to the per-query
    verdict rules keeps the warm files (it re-keyed them, and rebuilt every fact, until then)."""
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    before = RowFactsCache("0" * 64).path.name
    _edited(monkeypatch, tmp_path, module, _one_more_line)
    assert (RowFactsCache("0" * 64).path.name != before) is keys


@pytest.mark.parametrize("damaged", [[[1, 2, 3]], {"CCO": 1}, [["CCO", "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"]], "abc"])
def test_isomers_not_written_by_the_cache_are_damaged(tmp_path, monkeypatch, damaged):
    """A dict's keys or numbers were read as isomers (``Isomer('1', '2', '3')``) and excluded none."""
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = IsomerCache()
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    cache.path.write_text(json.dumps({"CC": damaged}))
    with pytest.warns(UserWarning, match="damaged"):
        assert cache.get("CC") == ()  # ethane: no isomer
    cache.save()
    assert json.loads(cache.path.read_text()) == {"CC": []}


def test_a_search_with_a_mass_no_array_holds_in_the_cache_is_the_clean_searchs(swgdrug_library, tmp_path):
    """Every hit's cached mass 10**30: the search stopped with OverflowError; now the values are
    made again and the hits are the clean run's, byte for byte, the file left valid."""
    from click.testing import CliRunner

    from nps_id.cli import cli
    from nps_id.io import read, write

    queries = tmp_path / "q.msp"
    write([s for i, s in enumerate(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz"))) if i in (2, 500, 1433)], queries)
    env = {"NPS_ID_CACHE": str(tmp_path / "cache")}

    def search(out: str) -> tuple[bytes, str]:
        result = CliRunner().invoke(cli, ["search", str(queries), "-l", str(swgdrug_library), "--format", "jsonl",
                                          "-o", str(tmp_path / out)], env=env)
        assert result.exit_code == 0, result.output
        return (tmp_path / out).read_bytes(), result.output

    clean, said = search("clean.jsonl")
    assert "damaged" not in said
    facts = next((tmp_path / "cache").rglob("facts-*.json"))
    values = json.loads(facts.read_text())
    assert any(key.startswith("mass:") for key in values)
    facts.write_text(json.dumps({k: 10**30 if k.startswith("mass:") else v for k, v in values.items()}))
    again, said = search("damaged.jsonl")
    assert again == clean and said.count("is damaged") == 1
    assert all(v != 10**30 for v in json.loads(facts.read_text()).values())


def test_a_cache_file_too_large_to_read_is_rebuilt_not_a_traceback(tmp_path, monkeypatch):
    """An 84 MB facts file under a 1.2 GB memory limit stopped the search with MemoryError (a search
    without it ran in that limit): the file is now ignored with a warning and replaced when saved."""
    import nps_id._json_cache as json_cache

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(json.dumps({"mass:1": 100, "mass:2": 200}))

    def out_of_memory(text: str) -> None:
        raise MemoryError

    with monkeypatch.context() as patch:
        patch.setattr(json_cache.json, "loads", out_of_memory)
        with pytest.warns(UserWarning, match="too large to read"):
            assert cache.value("mass:1", lambda: 101) == 101
        cache.save()
    assert json.loads(cache.path.read_text()) == {"mass:1": 101}


@pytest.mark.parametrize("taxonomy, keys", [(lambda text: text, False), (lambda text: text + " ", True)])
def test_the_facts_file_is_keyed_by_the_taxonomy_the_rules_read(tmp_path, monkeypatch, taxonomy, keys):
    """The facts file's name changes with the EWA taxonomy beside the groups' module (a group rule's
    answers are kept there), and only with what the files hold."""
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    before = RowFactsCache("0" * 64).path.name

    def edit(module: Path) -> None:
        table = module.with_name("ewa_taxonomy.json")
        table.write_text(taxonomy(table.read_text()))
    _edited(monkeypatch, tmp_path, "nps_id.chem.ewa_groups", edit)
    assert (RowFactsCache("0" * 64).path.name != before) is keys


def _lock_path(cache: RowFactsCache):
    return cache.path.with_name(f".{cache.path.name}.lock")


def _save_while_another_holds_the_lock(cache: RowFactsCache) -> None:
    """``cache.save()`` while another open file of its lock holds it (another lock owner, as another
    process would be): warned and given up."""
    import fcntl
    import os

    holder = os.open(_lock_path(cache), os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.warns(UserWarning, match="not written .*held its lock"):
            cache.save()
    finally:
        os.close(holder)


def test_a_save_gives_up_a_lock_another_process_never_releases(tmp_path, monkeypatch):
    """A stopped or hung process holding the lock: the save waits LOCK_WAIT_S, warns and leaves
    the file as it was (until attack38 it waited forever, and `match` never wrote its report)."""
    import nps_id._json_cache as json_cache

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    monkeypatch.setattr(json_cache, "LOCK_WAIT_S", 0.2)
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(json.dumps({"mass:1": 100}))
    cache.add("mass:2", 200)
    _save_while_another_holds_the_lock(cache)
    assert json.loads(cache.path.read_text()) == {"mass:1": 100}
    cache.save()  # released: the values are still there to save
    assert json.loads(cache.path.read_text()) == {"mass:1": 100, "mass:2": 200}


def test_a_file_system_without_locks_still_keeps_the_values(tmp_path, monkeypatch):
    """NFS without lockd: flock raises ENOLCK; the save runs unlocked (until attack38 nothing was
    ever written there, and every search made every value again)."""
    import errno

    import nps_id._json_cache as json_cache

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    monkeypatch.setattr(json_cache.fcntl, "flock", no_locks)
    cache = RowFactsCache("0" * 64)
    cache.add("mass:1", 100)
    cache.save()
    assert json.loads(cache.path.read_text()) == {"mass:1": 100}


def test_a_lock_path_that_is_a_symbolic_link_is_not_followed(tmp_path, monkeypatch):
    """A link planted in a shared cache folder: the save creates no file where it points (until
    attack38 it created it, with the user's rights) and keeps its values."""
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path / "cache"))
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    _lock_path(cache).symlink_to(elsewhere)
    cache.add("mass:1", 100)
    cache.save()
    assert not elsewhere.exists()
    assert json.loads(cache.path.read_text()) == {"mass:1": 100}


def test_another_users_lock_file_is_locked_not_skipped(tmp_path, monkeypatch):
    """A shared cache folder: the lock file another analyst's save created (0644) cannot be opened
    for writing; the save still waits for that analyst's lock (until attack38 it saved unlocked)."""
    import os

    import nps_id._json_cache as json_cache

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    monkeypatch.setattr(json_cache, "LOCK_WAIT_S", 0.2)
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    lock = _lock_path(cache)
    real_open = os.open

    def not_the_owner(path, flags, *args):  # what the kernel says to a user who does not own a 0644 file
        if os.fspath(path) == str(lock) and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(json_cache.os, "open", not_the_owner)
    cache.add("mass:1", 100)
    _save_while_another_holds_the_lock(cache)
    assert not cache.path.exists()


def test_files_of_an_old_key_unused_for_a_month_are_removed_when_one_is_saved(tmp_path, monkeypatch):
    """A release that changes the code a key covers leaves the old file: removed once unused for
    STALE_DAYS (its lock too); one used lately stays (another installed version's), and so do other kinds."""
    import os
    import time

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = IsomerCache()
    tmp_path.mkdir(exist_ok=True)
    old, recent, other_kind = (tmp_path / name for name in ("isomers-0old.json", "isomers-0new.json", "verified-0old.json"))
    for path in (old, recent, other_kind, tmp_path / ".isomers-0old.json.lock"):
        path.write_text("{}")
    month_ago = time.time() - 31 * 86400
    for path in (old, other_kind):
        os.utime(path, (month_ago, month_ago))
    cache.add("C", None)
    cache.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [cache.path.name, f".{cache.path.name}.lock", recent.name, other_kind.name])


def test_the_library_pairs_file_is_named_isomer_pairs_and_its_stop_45_files_tidied_when_stale(tmp_path, monkeypatch):
    """The pairs file holds EI pairs too since stop 45: named ``isomer-pairs-KEY.json`` since stop 46. Files of its
    former name, ``ms2pairs-KEY.json``, are another code's key (this module is in it): never read, removed as any
    old key's are once unused for STALE_DAYS (their locks too); one used lately stays (a stop-45 nps-id sharing the
    cache folder uses it)."""
    import os
    import time
    import types

    from nps_id.match.library_facts import Ms2PairsCache

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = Ms2PairsCache("0" * 64, types.SimpleNamespace(_block=None))  # no file yet: no row is checked
    folder = cache.path.parent
    folder.mkdir(parents=True)
    old, recent = folder / f"ms2pairs-{'a' * 32}.json", folder / f"ms2pairs-{'b' * 32}.json"
    for path in (old, recent, folder / f".{old.name}.lock"):
        path.write_text("{}")
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    cache.add("ms2_pairs:X C2H6O", {})
    cache.save()
    assert cache.path.name.startswith("isomer-pairs-") and json.loads(cache.path.read_text()) == {"ms2_pairs:X C2H6O": {}}
    assert sorted(p.name for p in folder.iterdir()) == sorted([cache.path.name, f".{cache.path.name}.lock", recent.name])


@pytest.mark.parametrize("what", ["fifo", "folder"])
def test_a_lock_path_that_is_no_file_neither_blocks_nor_stops_the_save(tmp_path, monkeypatch, what):
    """A FIFO opened read-only waits for a writer: the lock is opened non-blocking (attack38's
    read-only open hung on one before it was)."""
    import os
    import threading

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    os.mkfifo(_lock_path(cache)) if what == "fifo" else _lock_path(cache).mkdir()
    cache.add("mass:1", 100)
    saving = threading.Thread(target=cache.save, daemon=True)
    saving.start()
    saving.join(10)
    assert not saving.is_alive()
    assert json.loads(cache.path.read_text()) == {"mass:1": 100}


def test_facts_taken_at_once_before_a_fork_are_the_ones_asked_one_by_one(swgdrug_library, tmp_path, monkeypatch):
    """A forked search takes every saved row fact into the command's process before it forks
    (``load_saved``: the workers inherit them, none decodes them again): each is the value the row
    asked alone gives, none is read from the file again, and a damaged one is still reported and
    made again when asked."""
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.reference import Reference

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib, lazy=True)
        rows = list(range(0, lib.n_spectra, 211))
        made = LibraryFacts(reference)
        asked = [(made.mass(r), made.context(r), made.name_of_block(made.block(r))) for r in rows]
        made.save()
        values = json.loads(made._saved.path.read_text())
        damaged = f"mass:{rows[1]}"
        values.update({damaged: "abc", "mass:x": 5, f"mass:0{rows[2]}": 1})  # no key the cache writes
        made._saved.path.write_text(json.dumps(values))
        taken = LibraryFacts(reference)
        taken.load_saved()
        taken.block(rows[0])  # the blocks are no saved fact
        real_value = taken._saved.value
        monkeypatch.setattr(taken._saved, "value", lambda key, make: key == damaged and real_value(key, make)
                            or pytest.fail(f"{key} read from the file again"))
        with pytest.warns(UserWarning, match="damaged"):
            again = [(taken.mass(r), taken.context(r), taken.name_of_block(taken.block(r))) for r in rows]
    assert again == asked and sum(m is not None for m, _, _ in asked) > len(rows) // 2


def test_a_cache_folder_that_cannot_be_written_is_said_once_in_a_run(swgdrug_library, tmp_path, monkeypatch):
    """`match` of three GC runs with a cache folder that cannot be made: the verification record, the
    library copies, the compound identity, the row facts and the isomers each said it, and the facts
    and isomers again after every run's save (six lines until stop 40, five until its lead's change)."""
    from click.testing import CliRunner

    from nps_id.cli import cli

    (tmp_path / "a-file").write_text("")
    root = tmp_path / "a-file" / "cache"
    monkeypatch.setenv("NPS_ID_CACHE", str(root))
    runs = [str(data_path("gcms", "lrcfs", f"22022300{n}.mzML")) for n in (1, 2, 8)]
    result = CliRunner().invoke(cli, ["match", *runs, "--library", str(swgdrug_library), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if " not written (" in line]
    assert len(said) == 1 and f"other caches under {root} not written are not said again" in said[0], result.stderr
    assert len(result.stdout.split("library SWGDRUG")) == 4  # the three runs matched all the same


def test_a_lock_held_too_long_is_said_after_the_cache_folder_was_said_unwritable(tmp_path, monkeypatch):
    """Another process holding a cache's lock is not the folder's fault: said even after another
    cache of the folder was said not written (stop 40's once-a-run silenced it: attack40a)."""
    import nps_id._json_cache as json_cache
    from nps_id._paths import warn_unwritten_cache
    from nps_id.errors import InputError

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    monkeypatch.setattr(json_cache, "LOCK_WAIT_S", 0.2)
    with pytest.warns(UserWarning, match="not said again"):
        warn_unwritten_cache("index cache", tmp_path / "copies", InputError("No space left on device"), "rebuilt")
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    cache.add("mass:1", 100)
    _save_while_another_holds_the_lock(cache)
    assert not cache.path.exists()


def test_a_cache_folder_that_is_a_symlink_loop_is_a_warning_not_a_traceback(swgdrug_library, tmp_path, monkeypatch):
    """$NPS_ID_CACHE a symbolic link loop: the search runs and says its caches were not written
    (stop 40's once-a-run resolved the folder: RuntimeError, a traceback and exit 1: attack40a)."""
    from click.testing import CliRunner

    from nps_id.cli import cli

    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path / "loop1"))
    query = tmp_path / "q.msp"
    query.write_text("Name: q\nNum Peaks: 3\n43 100\n57 80\n91 30\n\n")
    result = CliRunner().invoke(cli, ["search", str(query), "-l", str(swgdrug_library), "-o", str(tmp_path / "hits.tsv")])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if " not written (" in line]
    assert len(said) == 1 and "symbolic links" in said[0], result.stderr
    assert (tmp_path / "hits.tsv").read_text().count("\n") > 1


def test_water_loss_candidates_made_for_both_polarities_at_once_are_each_polaritys_records_row_by_row():
    """A formula's records are made once for both ion modes (stop 41): each mode's are still its rows
    with an InChIKey block, grouped by full InChIKey in row order with every row's precursor m/z --
    whether the blocks column was read whole or the rows' blocks alone -- and a row's molecule mass
    (its formula's, kept per formula) is the row's own :func:`candidate_mass`."""
    import math

    from nps_id.compound import skeleton
    from nps_id.io import read
    from nps_id.match.lcms_evidence import candidate_mass
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.reference import Reference
    from tests.conftest import data_path

    reference = Reference.from_spectra(list(read(data_path("massbank", "ms2-queries-identity.msp.gz"))))
    cols = reference.columns
    formulas = sorted({str(f) for f in cols["formula"]})
    expected = {}
    for mode in ("positive", "negative"):
        for formula in formulas:
            found = {}
            for r in range(reference.n_spectra):
                if str(cols["formula"][r]) == formula and str(cols["ion_mode"][r]).lower() == mode \
                        and skeleton(cols["inchikey"][r]):
                    found.setdefault(str(cols["inchikey"][r]), []).append((r, float(cols["precursor_mz"][r])))
            expected[mode, formula] = repr([(key, skeleton(key), held[0][0], [mz for _, mz in held])
                                            for key, held in found.items()])
    whole, alone = LibraryFacts(reference), LibraryFacts(reference)
    whole._block
    for facts in (whole, alone):
        made = {(mode, f): repr(facts.formula_records(f, mode)) for mode in ("positive", "negative") for f in formulas}
        assert made == expected
    assert sum(records != "[]" for records in expected.values()) > 50
    assert any(expected["positive", f] != "[]" and expected["negative", f] != "[]" for f in formulas)
    for r in range(0, reference.n_spectra, 7):
        value = candidate_mass(cols, r)
        assert whole.molecule_mass(r) == (value if math.isfinite(value) and value > 0 else None)


def test_a_rows_reagents_are_kept_and_read_back_without_its_structure(swgdrug_library, tmp_path, monkeypatch):
    """The reagents' names (stop 44) the group checks set aside ions by: SWGDRUG's TBDMS derivatives and its
    trichloroacetyl one named as such (``reagent`` says "silyl" for a TMS and a TBDMS alike, nothing for a
    chloroacyl), kept in the cache folder, so that a later process reads them without parsing a structure."""
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.reference import Reference

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib, lazy=True)
        names = [str(n) for n in lib.column("name")]
        made = LibraryFacts(reference)
        named = {row: made.reagents(row) for row in range(lib.n_spectra) if made.reagents(row)}
        made.save()
        tcmeth = names.index("N-Trichloroacetylmethamphetamine") if "N-Trichloroacetylmethamphetamine" in names else next(
            r for r, n in enumerate(names) if "trichloroacetyl" in n.lower())
        assert named[tcmeth] == ("COCCl3",) and made.reagent(tcmeth) is None
        tbdms = [r for r, v in named.items() if "TBDMS" in v]
        assert tbdms and all("TBDMS" in names[r] or "tBDMS" in names[r] or "butyldimethylsilyl" in names[r].lower()
                             for r in tbdms), [names[r] for r in tbdms]
        tms = [r for r in range(lib.n_spectra) if made.reagent(r) == "silyl" and r not in tbdms]
        assert tms and not any(made.reagents(r) for r in tms)  # a TMS derivative: no name, the silyl ions' own check
        again = LibraryFacts(reference)
        monkeypatch.setattr(LibraryFacts, "structure", lambda self, row: pytest.fail("a structure parsed again"))
        assert {row: again.reagents(row) for row in named} == named


def test_the_homologues_a_row_has_are_read_back_from_the_file_as_written(tmp_path, monkeypatch):
    # the checks of a kept homologue list (attack51b) must pass every list homologues() makes: one refused would be
    # remade (RDKit imported) by every process and reported damaged at each save
    pytest.importorskip("rdkit")
    from nps_id.chem.homologues import homologues

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    made = [[h.smiles, h.inchikey, h.ch2, h.chain] for h in homologues("CCCCCCCCCCCCCCBr", min_chain=8)]
    assert {h[2] for h in made} == {-2, -1, 1, 2}
    cache = RowFactsCache("0" * 64)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(json.dumps({"homologues:1-8": made}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert RowFactsCache("0" * 64).value("homologues:1-8", lambda: "remade") == made

"""Old library copies are removed (the most recently used libraries' kept), never a folder another
process is reading: on the real SWGDRUG library and its 300-record subset, with a second process."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from nps_id.library.copies import IN_USE, KEEP_LIBRARIES

# A second process that reads the library from its copies: some columns, then (after a line on
# stdin) the rest, printing what it read each time; a warning (a copy gone) fails it.
READER = """
import sys, warnings
warnings.simplefilter("error")
from nps_id.library import open_verified
with open_verified(sys.argv[1], copies=True) as lib:
    print(len(lib.column("name")), lib.sha256, flush=True)
    sys.stdin.readline()
    print(sum(len(lib.column(c)) for c in lib.columns), len(lib.peaks().mz), flush=True)
"""


def _folders(cache: Path) -> set[str]:
    return {p.name for p in (cache / "copies").iterdir()}


def _copies_of(path: Path) -> str:
    """Open ``path`` with copies and read a column (as a search would); its copies folder's name."""
    from nps_id.library import open_verified

    with open_verified(path, copies=True) as lib:
        lib.column("name")
        return lib.sha256


def _old_folders(cache: Path, n: int) -> list[str]:
    """``n`` copies folders of other (earlier) libraries, last used 1..n days ago, newest first."""
    names = []
    for age in range(1, n + 1):
        folder = cache / "copies" / f"{age:064x}"
        folder.mkdir(parents=True)
        (folder / "peaks%2Fmz.f8.00000000").write_bytes(b"\0" * 8)
        (folder / IN_USE).touch()
        os.utime(folder / IN_USE, (time.time() - age * 86400,) * 2)
        names.append(folder.name)
    return names


def test_only_the_most_recently_used_libraries_copies_are_kept(cache, swgdrug_library, swgdrug_subset_build):
    """A library whose copies are made removes the folders beyond the KEEP_LIBRARIES most recently
    used (a library rebuilt 20 times no longer leaves 20); the one it reads and the newer are kept."""
    old = _old_folders(cache, KEEP_LIBRARIES + 2)
    subset = _copies_of(swgdrug_subset_build[1])
    assert _folders(cache) == {subset, *old[:KEEP_LIBRARIES - 1]}
    _copies_of(swgdrug_subset_build[1])  # its folder exists: nothing is removed again
    assert _folders(cache) == {subset, *old[:KEEP_LIBRARIES - 1]}
    whole = _copies_of(swgdrug_library)
    assert _folders(cache) == {whole, subset, *old[:KEEP_LIBRARIES - 2]}


def test_a_folder_another_process_reads_is_not_removed(cache, swgdrug_library, swgdrug_subset_build):
    """Two processes: one reads SWGDRUG from its copies (the oldest folder, last used a week ago by
    its stamp), while this one makes the subset's copies and tidies. The reader's folder stays, and
    it reads the rest of its copies without a warning; once it has closed the library, the next
    tidy removes the folder."""
    reader = subprocess.Popen([sys.executable, "-c", READER, str(swgdrug_library)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        n, sha = reader.stdout.readline().split()
        folder = cache / "copies" / sha
        assert int(n) == 2988
        os.utime(Path(folder) / IN_USE, (time.time() - 7 * 86400,) * 2)  # the least recently used
        old = _old_folders(cache, KEEP_LIBRARIES + 1)
        subset = _copies_of(swgdrug_subset_build[1])
        assert _folders(cache) == {subset, Path(folder).name, *old[:KEEP_LIBRARIES - 1]}
        out, err = reader.communicate("go\n", timeout=120)
    finally:
        reader.kill()
    assert reader.returncode == 0 and "Warning" not in err, err
    assert int(out.split()[1]) > 0
    shutil.rmtree(cache / "copies" / subset)  # the subset's copies made again: a tidy
    _copies_of(swgdrug_subset_build[1])
    assert Path(folder).name not in _folders(cache)


def test_a_reader_waiting_on_a_removal_makes_the_folder_again(cache, swgdrug_library):
    """A process that opens a folder while another removes it (the exclusive lock held, the folder
    renamed away) waits, then makes a new folder and reads the same values from it."""
    import fcntl

    sha = _copies_of(swgdrug_library)
    folder = cache / "copies" / sha
    lock = os.open(folder / IN_USE, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # what a removal holds while it renames the folder
    reader = subprocess.Popen([sys.executable, "-c", READER, str(swgdrug_library)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        time.sleep(3)  # the reader reaches the lock and waits
        os.rename(folder, folder.with_name(f".removed-{sha}-test"))
        os.close(lock)
        first = reader.stdout.readline().split()
        out, err = reader.communicate("go\n", timeout=120)
    finally:
        reader.kill()
    assert reader.returncode == 0 and "Warning" not in err, err
    assert first == ["2988", sha] and (folder / IN_USE).exists()
    assert any(p.name.startswith("metadata%2Fname%2Fdata") for p in folder.iterdir())


def test_a_folder_removed_between_making_it_and_locking_it_is_made_again(cache, swgdrug_library, monkeypatch):
    """Another process's tidy renames the folder away just after this one made it (before its
    ``.in-use`` file is opened): the folder is made again and held, the library read from copies
    without a warning (before, the process gave up its lock: a tidy could remove the folder it read)."""
    import warnings

    from nps_id.library import copies

    real_open, removed = os.open, []

    def open_after_a_removal(path, *args, **kwargs):
        path = Path(path)
        if path.name == IN_USE and not removed:  # the race: the folder gone between mkdir and open
            removed.append(path.parent.rename(path.parent.with_name(f".removed-{path.parent.name}-test")))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(copies.os, "open", open_after_a_removal)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sha = _copies_of(swgdrug_library)
    folder = cache / "copies" / sha
    assert removed and (folder / IN_USE).exists()
    assert any(p.name.startswith("metadata%2Fname%2Fdata") for p in folder.iterdir())

"""A library file is evidence: corruption is detected with exit code 4 (never a traceback or a
hang), a build killed with SIGKILL leaves the previous library intact, and readers keep working
while a new version is built over the same path."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.library import Library, validate_library
from nps_id.library.build import _build_lock
from tests.conftest import SWGDRUG_SUBSET, data_path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def swgdrug(swgdrug_library) -> Path:
    """The session's SWGDRUG library (every test here copies it before changing it)."""
    return swgdrug_library


def flip(path: Path, fraction: float, n: int = 64) -> None:
    """Invert ``n`` bytes at ``fraction`` of the file's length."""
    pos = int(path.stat().st_size * fraction)
    with open(path, "r+b") as fh:
        fh.seek(pos)
        data = fh.read(n)
        fh.seek(pos)
        fh.write(bytes(b ^ 0xFF for b in data))


def assert_one_line_exit_4(result) -> None:
    assert result.exit_code == 4, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nps-id: error:"), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.75, 0.98])
def test_flipped_bytes_are_detected(swgdrug, tmp_path, fraction):
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(swgdrug.read_bytes())
    flip(damaged, fraction)
    result = CliRunner().invoke(cli, ["library", "validate", str(damaged)])
    assert_one_line_exit_4(result)
    assert "damaged.h5" in result.stderr


@pytest.mark.parametrize("command", ["validate", "info"])
def test_truncated_file_is_exit_4(swgdrug, tmp_path, command):
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(swgdrug.read_bytes()[: swgdrug.stat().st_size // 2])
    result = CliRunner().invoke(cli, ["library", command, str(truncated)])
    assert_one_line_exit_4(result)


def _tmp_files(target: Path) -> list[Path]:
    return list(target.parent.glob(f".{target.name}.tmp-*"))


def test_sigkill_during_a_build_leaves_the_previous_library_intact(swgdrug, swgdrug_subset_build, tmp_path):
    target = tmp_path / "lib.h5"
    target.write_bytes(swgdrug.read_bytes())
    before = validate_library(target).sha256
    proc = subprocess.Popen(
        [sys.executable, "-m", "nps_id", "library", "build",
         str(data_path("massbank", "ei-library.msp.gz")), "-o", str(target)],
        env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    # Kill once the new file is being written (before its fsync and rename), not during the read.
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.stat().st_size > 0 for p in _tmp_files(target) if p.exists()):
            break
        time.sleep(0.002)
    assert proc.poll() is None, f"the build ended before it could be killed: {proc.stderr.read()!r}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    leftovers = _tmp_files(target)
    assert leftovers, "expected the half-written temporary file next to the target"
    result = validate_library(target)
    assert result.sha256 == before and result.n_spectra == 2988
    with Library.open(target) as lib:
        assert lib.spectrum(0).name == "Epiandrosterone"
    # The next build of that library removes the killed build's half-written file (tens of MB).
    rebuilt = CliRunner().invoke(cli, ["library", "build", str(swgdrug_subset_build[0]), "-o", str(target)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _tmp_files(target) == []


READER = """
import sys, time
from pathlib import Path
from nps_id.library import Library
path, stop, ready = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
seen, reads = set(), 0
while not stop.exists():
    with Library.open(path) as lib:
        assert lib.spectrum(reads % lib.n_spectra).name
        seen.add(lib.sha256)
    reads += 1
    ready.touch()
    time.sleep(0.05)  # a reader, not a CPU hog: the build shares the machine's cores
print(reads, len(seen))
"""


def test_two_readers_keep_reading_while_a_third_process_builds(swgdrug_subset_build, tmp_path):
    # the 300-record SWGDRUG library: an append re-resolves every record's structure (~40 s on all)
    target = tmp_path / "lib.h5"
    target.write_bytes(swgdrug_subset_build[1].read_bytes())
    stop = tmp_path / "stop"
    ready = [tmp_path / f"ready-{k}" for k in range(2)]
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(target), str(stop), str(flag)], env=ENV,
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for flag in ready
    ]
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.05)  # both readers have read the old version before the build starts
    builder = subprocess.run(
        [sys.executable, "-m", "nps_id", "library", "build", "--append",
         str(data_path("massbank", "ei-queries-analog.msp.gz")), "-o", str(target)],
        env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert builder.returncode == 0, builder.stderr
    time.sleep(1.0)  # let the readers open the new version too
    stop.touch()
    for reader in readers:
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        reads, versions = (int(v) for v in out.split())
        assert reads > 5 and versions == 2  # saw the old library, then the new one
    with Library.open(target) as lib:
        assert lib.n_spectra == SWGDRUG_SUBSET + 150


def test_a_build_leaves_no_lock_file_beside_the_library_whether_it_succeeds_or_fails(tmp_path):
    """`.NAME.lock` was left beside every library built (and after every failed build)."""
    good = CliRunner().invoke(cli, ["library", "build", str(data_path("massbank", "ei-queries-analog.msp.gz")),
                                    "-o", str(tmp_path / "lib.h5")])
    assert good.exit_code == 0, good.output
    bad_source = tmp_path / "src" / "bad.msp"
    bad_source.parent.mkdir()
    bad_source.write_text("Name: x\nNum Peaks: 1\n41 abc\n")
    bad = CliRunner().invoke(cli, ["library", "build", str(bad_source), "-o", str(tmp_path / "bad.h5")])
    assert bad.exit_code == 3, bad.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.h5", "src"]


def test_the_build_lock_is_removed_after_ctrl_c_and_still_excludes_concurrent_builds(tmp_path):
    """Removing the lock file must not let two builds in at once: a build that waited on the
    removed file locks the one at the path again (threads: flock excludes separate open files)."""
    target = tmp_path / "lib.h5"
    with pytest.raises(KeyboardInterrupt), _build_lock(target):
        raise KeyboardInterrupt
    assert not list(tmp_path.iterdir())
    assert _most_builds_at_once([target] * 4) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links on this platform")
def test_builds_through_a_symlink_and_the_real_path_exclude_each_other(tmp_path):
    """The lock sat beside the path as given: an --append through ``latest.h5 -> lib.h5`` and one
    onto ``lib.h5`` ran at once, and one append was lost."""
    target = tmp_path / "lib.h5"
    link = tmp_path / "latest.h5"
    link.symlink_to(target)
    assert _most_builds_at_once([target, link, target, link]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.h5"]



@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links on this platform")
def test_a_build_through_a_symlink_to_a_new_folder_makes_the_folder(tmp_path):
    """``-o`` a link to ``new/lib.h5`` (no ``new/`` yet): written through like every other output,
    not 'cannot write the library here (No such file or directory)' -- the lock's folder was the
    link's, not the file's."""
    link = tmp_path / "latest.h5"
    link.symlink_to(Path("new", "lib.h5"))
    source = data_path("formats", "matchms-tests", "MoNA-export-GC-MS-first10.msp")
    result = CliRunner().invoke(cli, ["library", "build", str(source), "-o", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and validate_library(tmp_path / "new" / "lib.h5").n_spectra == 10
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["lib.h5"]

def _most_builds_at_once(paths: list[Path]) -> int:
    """Threads taking the build lock of ``paths`` 20 times each: the most inside it at once."""
    inside, most = [0], [0]
    guard = threading.Lock()

    def build(path: Path) -> None:
        for _ in range(20):
            with _build_lock(path):
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.002)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=build, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return most[0]


def test_a_library_overwritten_in_place_while_searched_leaves_no_copy_for_the_original(swgdrug, tmp_path,
                                                                                    monkeypatch):
    """``cp new.h5 lib.h5`` writes into the file a search has open. What the search then reads is
    the new file's, so it is never kept as a copy under the checked file's sha256: a later search
    of the original library (a second copy of it) reads its own names, not the new ones."""
    import h5py

    from nps_id.library.validate import open_verified

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path / "cache"))
    searched, original, rebuilt = (tmp_path / n for n in ("searched.h5", "original.h5", "rebuilt.h5"))
    for path in (searched, original, rebuilt):
        path.write_bytes(swgdrug.read_bytes())
    with h5py.File(rebuilt, "r+") as h5:  # one name's first letter changed: the chunk keeps its place
        data = h5["metadata/name/data"]
        values = data[:]
        values[0] = ord(chr(values[0]).swapcase())
        data[:] = values
    with open_verified(searched):  # checked once, as an earlier search did
        pass
    with open_verified(searched, copies=True) as lib:
        with open(searched, "r+b") as fh:  # what cp does to an existing file
            fh.write(rebuilt.read_bytes())
        with pytest.warns(UserWarning, match="searched.h5: the library file changed while it was read"):
            changed = lib.column("name", 0)
    with open_verified(original, copies=True) as lib, Library.open(original) as plain:
        assert changed != plain.column("name", 0)  # the search read the new file's name
        assert lib.column("name", 0) == plain.column("name", 0)

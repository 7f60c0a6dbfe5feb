"""One ``nps-id batch`` at a time in an output folder (stop 46).

Until stop 45 two batches started on one OUT_DIR each read the manifest before the other wrote it: both
did every run, over each other's outputs, and the last manifest written won. The second now stops with
one line and exit 3; the lock is an ``flock``, released by the kernel when its holder dies, so a batch
killed with SIGKILL blocks nothing. These tests run real batches (the ``match`` pipeline on LRCFS runs).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from nps_id.batch.lock import LOCK_NAME
from nps_id.batch.manifest import Manifest
from nps_id.cli import cli
from tests.conftest import data_path

#: One LRCFS run under six names: enough runs (~2 s each on one worker) for the first batch to be
#: still going while the second starts.
RUNS = [f"run{i}.mzML" for i in range(1, 7)]


def _inputs(folder: Path) -> Path:
    folder.mkdir()
    for run in RUNS:
        (folder / run).symlink_to(data_path("gcms", "lrcfs", "220223002.mzML"))
    return folder


def _wait_for_lock(out: Path, pid: int, first: subprocess.Popen) -> None:
    """Until the batch of ``pid`` holds OUT_DIR's lock (its pid written in the lock file)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        lock = out / LOCK_NAME
        if lock.exists() and lock.read_text().split()[:1] == [str(pid)]:
            return
        time.sleep(0.1)
    raise AssertionError(f"the first batch took no lock (exit {first.poll()}): {first.stderr.read()}")


def test_a_second_batch_on_one_output_folder_stops_and_a_killed_batch_blocks_nothing(swgdrug_library, tmp_path):
    inputs, out = _inputs(tmp_path / "in"), tmp_path / "out"
    args = ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out), "--progress", "json"]
    first = subprocess.Popen([sys.executable, "-m", "nps_id", *args, "--workers", "1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lock(out, first.pid, first)
        second = CliRunner().invoke(cli, args)
        assert first.poll() is None, "the first batch ended before the second started: the test proves nothing"
        assert second.exit_code == 3
        assert second.output == f"nps-id: error: {out} is in use by another nps-id batch (pid {first.pid}); wait for it " \
                                "to end, or choose another -o\n"
        # kill -9 mid-run: the kernel releases its lock; its workers die with it
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert first.returncode == -signal.SIGKILL

    resumed = CliRunner().invoke(cli, [*args, "--workers", "2"])
    assert resumed.exit_code == 0 and "Traceback" not in resumed.output, resumed.output
    assert "6 runs: 6 done (" in resumed.stdout
    assert {key: entry.status for key, entry in Manifest.load(out).entries.items()} == dict.fromkeys(RUNS, "done")
    # the lock file stays (hidden: no run), now naming the batch that ran last
    assert (out / LOCK_NAME).read_text() == f"{os.getpid()} {socket.gethostname()}\n"
    again = CliRunner().invoke(cli, args)  # released when the command ended: the same process locks again
    assert again.exit_code == 0 and "6 runs: 6 done (6 already done before)" in again.stdout, again.output


def test_an_output_folder_onto_the_input_folder_is_refused_before_any_lock_is_made(swgdrug_library, tmp_path):
    inputs = _inputs(tmp_path / "in")
    done = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(inputs)])
    assert done.exit_code == 3 and "Traceback" not in done.output
    assert sorted(p.name for p in inputs.iterdir()) == RUNS  # nothing written into the input folder


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_left_alone(swgdrug_library, tmp_path):
    inputs, out = _inputs(tmp_path / "in"), tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text("a lab's file\n")
    (out / LOCK_NAME).symlink_to(target)
    done = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out)])
    assert done.exit_code == 3 and "Traceback" not in done.output
    assert f"cannot take the output folder's batch lock {LOCK_NAME}" in done.output
    # what it is and what to do, not O_NOFOLLOW's "Too many levels of symbolic links" (a new user, stop 46)
    assert "is a symbolic link" in done.output and "remove it" in done.output
    assert "Too many levels" not in done.output
    assert target.read_text() == "a lab's file\n" and not (out / "manifest.json").exists()
    assert json.dumps(done.output).count("\\n") == 1  # one line


def test_a_lock_file_this_user_may_not_write_still_locks_the_folder(swgdrug_library, tmp_path, monkeypatch):
    # attack46a: in a lab's shared output folder (umask 002: every output group-writable) the lock file was
    # made 0644, so a colleague's batch on that -o stopped at once: "cannot take the output folder's batch
    # lock (Permission denied)", exit 3, while it could write everything else. The tests run as root here,
    # which no file mode refuses: the colleague's refusal to open the file for writing is simulated.
    inputs, out = _inputs(tmp_path / "in"), tmp_path / "out"
    args = ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out), "--workers", "2"]
    shared = os.umask(0o002)  # a lab's shared folder: group members write each other's files
    try:
        assert CliRunner().invoke(cli, args).exit_code == 0
    finally:
        os.umask(shared)
    # the lock file as writable as the batch's other outputs (the umask decides)
    assert (out / LOCK_NAME).stat().st_mode & 0o777 == (out / "manifest.json").stat().st_mode & 0o777 == 0o664

    import nps_id.batch.lock as lock

    real_open = os.open

    def colleagues_open(path, flags, *mode):
        if Path(path).name == LOCK_NAME and flags & (os.O_RDWR | os.O_WRONLY):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *mode)

    monkeypatch.setattr(lock.os, "open", colleagues_open)
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0 and "6 runs: 6 done (6 already done before)" in done.stdout, done.output
    with lock.out_dir_lock(out):  # and it locks: a second batch meanwhile is refused
        second = CliRunner().invoke(cli, args)
    assert second.exit_code == 3 and f"{out} is in use by another nps-id batch" in second.output


def test_a_batch_holding_the_folder_from_another_machine_is_named_with_its_host(swgdrug_library, tmp_path):
    # attack46a: an OUT_DIR on a shared (NFS) folder, two batches started from two machines (--scheduler's
    # use): the second said only the first's pid, which on its own machine is another process -- one a
    # user told to wait for, or kill, the wrong way. The first's line, as it writes it on its machine:
    import nps_id.batch.lock as lock

    inputs, out = _inputs(tmp_path / "in"), tmp_path / "out"
    with lock.out_dir_lock(out):
        (out / LOCK_NAME).write_text("4242 node7.lab.example\n")
        second = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out)])
    assert second.exit_code == 3
    assert f"{out} is in use by another nps-id batch (pid 4242 on node7.lab.example); wait" in second.output

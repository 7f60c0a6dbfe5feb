"""``nps_id._workers.forked_map``: results in task order from forked processes, and a worker that
dies, or a parent interrupted, ends it at once (never a hang, never a worker left running);
``Ahead``: work done ahead on a forked process, taken when it is done, made by the caller when not."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from functools import partial
from pathlib import Path

import pytest

from nps_id import _workers
from nps_id._workers import Ahead, can_fork, forked_map
from nps_id.errors import EXIT_FOUND, WorkerDied

pytestmark = pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")


@pytest.fixture(autouse=True)
def _a_core_free(monkeypatch):
    """Work ahead runs whatever the load of the machine running the tests (its own test below)."""
    monkeypatch.setattr(_workers.os, "getloadavg", lambda: (0.0, 0.0, 0.0))


def _pid_and_square(shared: dict, task: int) -> tuple[int, int]:
    return os.getpid(), shared["factor"] * task * task


def test_tasks_run_in_forked_workers_that_share_the_parents_memory_and_return_in_order():
    big = {"factor": 3, "ballast": list(range(200_000))}  # inherited by the fork, never pickled
    results = forked_map(_pid_and_square, big, list(range(20)), workers=2)
    assert [value for _, value in results] == [3 * n * n for n in range(20)]
    pids = {pid for pid, _ in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def _die_on_three(shared: None, task: int) -> int:
    if task == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer ends a process
    return task


def test_a_worker_killed_ends_the_map_with_worker_died_and_exit_code_1():
    started = time.monotonic()
    with pytest.raises(WorkerDied, match="a worker process died while making the rows"):
        forked_map(_die_on_three, None, list(range(8)), workers=2, what="the rows")
    assert time.monotonic() - started < 30
    assert WorkerDied.exit_code == EXIT_FOUND == 1


def _fail_on_two(shared: None, task: int) -> int:
    if task == 2:
        raise ValueError("bad task 2")
    return task


def test_an_error_in_a_worker_is_raised_as_it_was():
    with pytest.raises(ValueError, match="bad task 2"):
        forked_map(_fail_on_two, None, list(range(4)), workers=2)


def _note_pid_and_sleep(folder, task: int) -> int:
    (folder / f"{os.getpid()}.pid").write_text("")
    time.sleep(60)
    return task


def test_ctrl_c_of_the_parent_ends_the_running_workers_at_once(tmp_path):
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(3)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            forked_map(_note_pid_and_sleep, tmp_path, [1, 2], workers=2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 20  # the workers' 60 s sleeps were not waited for
    pids = [int(path.stem) for path in tmp_path.glob("*.pid")]
    assert pids
    for pid in pids:  # ended and reaped: no such process any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_parent_killed_by_sigkill(tmp_path):
    """SIGKILL of the command (no handler runs) still ends its forked workers: never left running."""
    script = ("import sys; from pathlib import Path; from nps_id._workers import forked_map\n"
              "from tests.test_workers import _note_pid_and_sleep\n"
              f"forked_map(_note_pid_and_sleep, Path({str(tmp_path)!r}), [1, 2], workers=2)\n")
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(path.stem) for path in tmp_path.glob("*.pid")]
        assert len(workers) == 2
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    def running(pid: int) -> bool:  # a zombie (dead, not yet reaped by init) is not running
        try:
            return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while any(map(running, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(running, workers)), workers


def _made_ahead(folder: Path, task: int) -> bytes | None:
    """Task ``task`` made ahead (a file names it): 3 fails, 4 warns, 5 gives nothing, 7 takes a
    minute, 8 waits for a file ``go``."""
    (folder / f"{task}.made").touch()
    if task == 3:
        raise ValueError("a damaged range")
    if task == 4:
        warnings.warn("a reader's warning", UserWarning)
    if task == 7:
        time.sleep(60)
    while task == 8 and not (folder / "go").exists():
        time.sleep(0.01)
    return None if task == 5 else f"task {task} ".encode() * 1000 * task


def _exited(pid: int) -> None:
    """Wait for the process ``pid`` to end, without reaping it (:meth:`Ahead.end` reaps it)."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def _result_of(ahead: Ahead, index: int) -> bytes | None:
    return ahead.result(index)


def test_work_made_ahead_is_taken_when_done_also_by_a_later_worker_else_left_to_the_caller(tmp_path):
    """Tasks made in order by a process forked ahead: each result is taken whole once written, also
    by a worker forked later; one that fails, warns (its caller's own run shows the warning) or
    gives nothing is left to the caller; ending it leaves no process."""
    ahead = Ahead(partial(_made_ahead, tmp_path), [1, 2, 3, 4, 5])
    _exited(ahead.pid)
    assert [ahead.result(i) for i in range(5)] == [b"task 1 " * 1000, b"task 2 " * 2000, None, None, None]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["1.made", "2.made", "3.made", "4.made", "5.made"]
    assert forked_map(_result_of, ahead, [0, 1, 2], workers=2) == [b"task 1 " * 1000, b"task 2 " * 2000, None]
    pid = ahead.pid
    ahead.end()
    with pytest.raises(ChildProcessError):  # reaped: no process left
        os.waitpid(pid, os.WNOHANG)


def test_a_task_its_caller_took_first_is_never_begun_ahead(tmp_path):
    ahead = Ahead(partial(_made_ahead, tmp_path), [8, 6])
    assert ahead.result(1) is None  # task 6, while the process waits in task 8: the caller makes it
    (tmp_path / "go").touch()
    _exited(ahead.pid)
    assert ahead.result(0) == b"task 8 " * 8000 and ahead.result(1) is None
    assert not (tmp_path / "6.made").exists()
    ahead.end()


def test_a_task_being_made_ahead_is_waited_for_not_made_again(tmp_path):
    """A worker that asks for the task the process is making waits for its result (the function
    runs once), and is not held up once it is written."""
    ahead = Ahead(partial(_made_ahead, tmp_path), [8])
    deadline = time.monotonic() + 60
    while not (tmp_path / "8.made").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    go = threading.Timer(0.5, (tmp_path / "go").touch)
    go.start()
    try:
        started = time.monotonic()
        assert forked_map(_result_of, ahead, [0], workers=1) == [b"task 8 " * 8000]
        assert 0.4 < time.monotonic() - started < 30
    finally:
        go.join()
        ahead.end()


def test_work_still_running_ahead_is_ended_at_once_and_left_to_the_caller(tmp_path):
    """:meth:`Ahead.end` kills the process at once; the results written before stay, the task it was
    making and those after are the caller's (None, at once)."""
    ahead = Ahead(partial(_made_ahead, tmp_path), [1, 7, 2])
    deadline = time.monotonic() + 60
    while not (tmp_path / "7.made").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    ahead.end()
    assert [ahead.result(i) for i in range(3)] == [b"task 1 " * 1000, None, None]
    assert time.monotonic() - started < 5
    assert not (tmp_path / "2.made").exists()


def test_work_ahead_told_to_finish_gives_the_task_it_is_making_begins_no_other_and_ends(tmp_path):
    """:meth:`Ahead.finish_current` (the command's workers fork): the task being made is finished and
    given (not thrown away for a worker to make again), no task after it is begun (the callers make
    them, told at once), and the process ends by itself."""
    ahead = Ahead(partial(_made_ahead, tmp_path), [8, 1, 2])
    deadline = time.monotonic() + 60
    while not (tmp_path / "8.made").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    ahead.finish_current()
    assert ahead.result(1) is None  # at once: the process is still in task 8
    (tmp_path / "go").touch()
    assert ahead.result(0) == b"task 8 " * 8000
    _exited(ahead.pid)  # by itself
    assert ahead.result(2) is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["8.made", "go"]
    ahead.close()


def test_nothing_runs_ahead_where_no_core_is_free(tmp_path, monkeypatch):
    """A load average within half a core of the usable cores: no process is started (it would
    compete for the cores the command needs), every task is its caller's."""
    from nps_id._cores import usable_cores

    monkeypatch.setattr(_workers.os, "getloadavg", lambda: (usable_cores() - 0.4, 0.0, 0.0))
    ahead = Ahead(partial(_made_ahead, tmp_path), [1, 2])
    assert ahead.pid == 0 and [ahead.result(i) for i in range(2)] == [None, None]
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(_workers.os, "getloadavg", lambda: (usable_cores() - 0.6, 0.0, 0.0))
    ahead = Ahead(partial(_made_ahead, tmp_path), [1, 2])
    _exited(ahead.pid)
    assert ahead.result(0) == b"task 1 " * 1000
    ahead.end()


@pytest.mark.parametrize("limit", ["AHEAD_MAX_BYTES", "half the free room", "a write cut short"])
def test_work_ahead_stops_at_its_limits(tmp_path, monkeypatch, limit):
    """A query file of millions of spectra must not fill a small /tmp (nor the disk the command's
    output needs): the result that would pass :data:`AHEAD_MAX_BYTES`, or half the room free when
    the process starts, or whose write the disk cut short (a worker would read it with a hole),
    and the tasks after it are left to the caller, never made ahead."""
    if limit == "AHEAD_MAX_BYTES":  # task 1 writes 7,000 bytes, task 2 14,000
        monkeypatch.setattr(_workers, "AHEAD_MAX_BYTES", 20_000)
    elif limit == "half the free room":
        monkeypatch.setattr(_workers, "_free_bytes", lambda fd: 30_000)
    else:
        real = os.pwrite
        monkeypatch.setattr(_workers.os, "pwrite", lambda fd, data, offset: real(
            fd, data[:len(data) // 2] if len(data) > 10_000 else data, offset))
    ahead = Ahead(partial(_made_ahead, tmp_path), [1, 2, 6])
    _exited(ahead.pid)
    assert [ahead.result(i) for i in range(3)] == [b"task 1 " * 1000, None, None]
    assert not (tmp_path / "6.made").exists()
    ahead.end()


def test_closing_work_ahead_frees_its_temporary_file(tmp_path):
    """:meth:`Ahead.close` ends the process and closes its file (an unnamed file's room is freed
    when the last descriptor closes): none of this process's descriptors is left on it."""
    def open_files() -> set[str]:
        return {os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                if os.path.exists(f"/proc/self/fd/{fd}")}

    before = open_files()
    ahead = Ahead(partial(_made_ahead, tmp_path), [1])
    _exited(ahead.pid)
    assert len(open_files() - before) >= 1  # its file and its pipe
    ahead.close()
    assert open_files() - before == set() and ahead.result(0) is None
    ahead.close()  # once is enough, twice is harmless


def _refused(*args):
    raise BlockingIOError(11, "Resource temporarily unavailable")


def test_a_refused_fork_runs_nothing_ahead(tmp_path, monkeypatch):
    """A process or memory limit that refuses the fork: nothing runs ahead (every task is its
    caller's), no descriptor is left open (was: the OSError, a traceback of the command)."""
    fds = set(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(_workers.os, "fork", _refused)
    ahead = Ahead(partial(_made_ahead, tmp_path), [1, 2])
    assert ahead.pid == 0 and [ahead.result(i) for i in range(2)] == [None, None]
    assert set(os.listdir("/proc/self/fd")) == fds and not list(tmp_path.iterdir())
    ahead.close()


def test_a_worker_the_system_refuses_to_fork_is_one_error(monkeypatch):
    """:class:`WorkerDied`, whose one line names the work and the system's reason (was: the
    OSError of the fork, a traceback of the command)."""
    monkeypatch.setattr(os, "fork", _refused)
    with pytest.raises(WorkerDied, match="could not be started for the squares .Resource temporarily unavailable."):
        forked_map(_pid_and_square, {"factor": 1}, [1, 2, 3], workers=2, what="the squares")

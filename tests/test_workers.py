"""``nps_id._workers.forked_map``: results in task order from forked processes, and a worker that
dies, or a parent interrupted, ends it at once (never a hang, never a worker left running)."""
from __future__ import annotations

import os
import signal
import time

import pytest

from nps_id._workers import can_fork, forked_map
from nps_id.errors import EXIT_FOUND, WorkerDied

pytestmark = pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")


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

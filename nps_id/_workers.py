"""Worker processes: ones that die with the command, and work split over forked copies of it.

Python code holds the GIL, so per-query Python (``nps-id search``'s verdict columns and rows) runs
on one core whatever the number of threads; a process forked after the library is open shares
its memory copy-on-write (no pickling of spectra, hits or library), and only what it returns
travels back.

Entry points
------------
- :func:`forked_map` -- ``function(shared, task)`` for every task, on forked worker processes,
  the results in task order; a worker that dies ends it with :class:`WorkerDied`.
- :func:`can_fork` -- whether this platform can (Linux, most Unix; not Windows, where
  :func:`forked_map`'s callers run the work in the process itself).
- :class:`Ahead` -- ``function(task)`` for tasks in order on one process forked early, while the
  command goes on loading; :meth:`Ahead.result` takes a task's result (bytes) when it is made,
  :meth:`Ahead.close` ends the process and frees its file.
- :func:`die_with_parent` -- a worker initializer: the worker ends when its parent does, even by
  SIGKILL (``nps-id batch`` uses it for its spawned workers).
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import select
import signal
import struct
import sys
import tempfile
import threading
import time
import warnings
from typing import Any, Callable, Sequence

from nps_id.errors import WorkerDied

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker when the process that started it dies, even by SIGKILL.

    On Linux the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere a daemon thread polls the parent pid. Without it, workers of a killed command (each
    holding a library and numba, ~200 MB) live on for minutes.
    """
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    if not armed:
        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="nps-id-parent-watch", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    # Ctrl-C reaches the whole process group: the parent handles it (one line, exit 130) and ends
    # its workers; a worker's own KeyboardInterrupt would only print a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the command's SIGTERM handler (nps_id.cli) is inherited by a forked worker: a worker the
    # parent ends with SIGTERM just ends
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def can_fork() -> bool:
    """Whether :func:`forked_map` can run here (the ``fork`` start method exists)."""
    return "fork" in multiprocessing.get_all_start_methods()


#: What a forked worker received from its parent (set in the worker only, by :func:`_start`).
_shared: tuple[Callable[[Any, Any], Any], Any] | None = None


def _start(parent_pid: int, function: Callable[[Any, Any], Any], shared: Any) -> None:
    global _shared
    die_with_parent(parent_pid)
    _shared = (function, shared)


def _run(task: Any) -> Any:
    function, shared = _shared
    return function(shared, task)


def _end_workers(pool: Any) -> None:
    """End the pool's workers now (shutting down waits for the tasks running)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def forked_map(function: Callable[[Any, Any], Any], shared: Any, tasks: Sequence[Any], workers: int,
               what: str = "the work") -> list[Any]:
    """``[function(shared, task) for task in tasks]``, computed on ``workers`` processes forked
    from this one.

    ``function`` and ``shared`` reach the workers by the fork itself (never pickled: a library
    and its hits are shared copy-on-write); each task and each result is pickled, so both should
    be small (a query range, the text of its rows). ``function`` must be a module-level function
    (a task names it by reference). Python's cyclic collector is frozen for the fork, so the
    workers' collections do not touch (and so copy) the parent's objects.

    A worker that dies (killed, out of memory, a crash in native code) raises :class:`WorkerDied`
    (``what`` names the work in its message), as does a worker the system refuses to fork (a
    process or memory limit); the other workers are ended. Ctrl-C or SIGTERM of
    the parent ends the workers and is raised as it came. An exception ``function`` raises is
    raised here as it was.
    """
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start, initargs=(os.getpid(), function, shared))
    gc.freeze()  # the inherited objects go to the permanent generation: never scanned in a worker
    try:  # (the pool forks its workers as the tasks are submitted)
        return list(pool.map(_run, tasks))
    except BrokenProcessPool:
        raise WorkerDied(f"a worker process died while making {what} (killed, out of memory, or a crash "
                         "in native code); nothing was written. Run the command again, or with --threads 1 "
                         "to do it in one process") from None
    except OSError as exc:  # the fork of a worker refused (a process or memory limit)
        _end_workers(pool)
        raise WorkerDied(f"a worker process could not be started for {what} ({exc.strerror or exc}); nothing "
                         "was written. Run the command again, or with --threads 1 to do it in one process") from None
    except BaseException:
        _end_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


#: The most bytes :class:`Ahead` writes to its temporary file, and never more than half the room
#: free on its disk when it starts: the tasks after are left to their callers (a query file of
#: millions of spectra must not fill a small /tmp; the x10 MS/MS queries of the benchmark write 12 MB).
AHEAD_MAX_BYTES = 512 << 20


def _a_core_free() -> bool:
    """Whether the 1-minute load average leaves at least half a usable core free: on a busy machine
    work ahead is one more process competing for the cores, and the wall follows the CPU in all
    (MS/MS x10 at load 2.5-9: +3-8 % CPU, the median wall +6-7 % in four runs of five; benchmarks/README.md,
    stop 40)."""
    from nps_id._cores import usable_cores

    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average here: decide as on an idle machine
        return True
    return load <= usable_cores() - 0.5


def _free_bytes(fd: int) -> int:
    """The bytes free to this user on the file system of the open file ``fd``."""
    stat = os.fstatvfs(fd)
    return stat.f_bavail * stat.f_frsize


class Ahead:
    """``function(task)`` (bytes, or None: not done) for each of ``tasks`` in order, on a process
    forked now, while this one goes on with work of its own (on two cores the second one is
    otherwise idle until :func:`forked_map` forks). Each result goes to an unnamed temporary file,
    then its place to the file's head. :meth:`result` (in this process, or in a process forked from
    it later) gives a task's result: at once when it is written, after waiting for it when the
    process is making it, else None -- the caller makes it itself, and the process skips it.
    :meth:`end` ends the process, :meth:`finish_current` lets it end after the task it is making.
    Fork before any thread is started: a forked copy of a process with threads may hang on a lock
    another thread held. Without fork or a temporary file, or where
    no core looks free (:func:`_a_core_free`), nothing runs ahead and :meth:`result` is always None."""

    # per task in the file's head: a result's offset, length and a check of both (a place read
    # while written is no place), what the process did with it, whether the caller took it
    _PLACE = struct.Struct("<qqq")
    _HEAD = _PLACE.size + 2
    _CHECK = 0x5A5A_A5A5_0F0F_F0F0
    _BEGUN, _ENDED, _TAKEN = b"\x01", b"\x02", b"\x01"

    def __init__(self, function: Callable[[Any], bytes | None], tasks: Sequence[Any]) -> None:
        self.tasks = len(tasks)
        self.pid = 0
        self.alive: int | None = None  # a pipe only the process writes to: at its end, readable
        if not tasks or not can_fork() or not _a_core_free():
            return
        try:
            self.file = tempfile.TemporaryFile()
        except OSError:
            return
        parent = os.getpid()
        self.alive, alive = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:  # no process to spare (a process or memory limit): the callers read it all
            os.close(alive)
            self.close()
            return
        if self.pid == 0:  # never returns: no exit handler or buffer of the command's runs here
            try:
                die_with_parent(parent)
                self._run(function, tasks)
            finally:
                os._exit(0)
        os.close(alive)

    def _run(self, function: Callable[[Any], bytes | None], tasks: Sequence[Any]) -> None:
        fd, offset = self.file.fileno(), self._HEAD * len(tasks)
        room = min(AHEAD_MAX_BYTES, _free_bytes(fd) // 2)  # the rest of the disk is the command's (its output)
        for index, task in enumerate(tasks):
            head = self._HEAD * index
            if os.pread(fd, 1, head + self._PLACE.size + 1) == self._TAKEN:  # its caller makes it
                continue
            os.pwrite(fd, self._BEGUN, head + self._PLACE.size)
            with warnings.catch_warnings(record=True) as warned:  # the caller's own run shows them
                try:
                    result = function(task)
                except Exception:  # the caller makes it itself, and meets the error there
                    result = None
            full = result is not None and offset + len(result) > room
            if result is not None and not warned and not full:
                if os.pwrite(fd, result, offset) != len(result):  # a full disk: no room for the rest either
                    full = True
                else:
                    os.pwrite(fd, self._PLACE.pack(offset, len(result), offset ^ len(result) ^ self._CHECK), head)
                offset += len(result)
            os.pwrite(fd, self._ENDED, head + self._PLACE.size)
            if full:  # this task and those after are their callers'
                return

    def result(self, index: int) -> bytes | None:
        """Task ``index``'s result: written, or waited for while the process makes it; None where
        the process has not begun it (it never will), gave none, or has ended."""
        if self.alive is None:
            return None
        fd, head = self.file.fileno(), self._HEAD * index
        while (written := self._written(fd, head)) is None:
            if os.pread(fd, 1, head + self._PLACE.size) != self._BEGUN or self._gone():
                written = self._written(fd, head)  # (written just before it ended)
                if written is None:
                    os.pwrite(fd, self._TAKEN, head + self._PLACE.size + 1)
                return written
        return written

    def _written(self, fd: int, head: int) -> bytes | None:
        place = os.pread(fd, self._PLACE.size, head)
        offset, length, check = self._PLACE.unpack(place) if len(place) == self._PLACE.size else (0, 0, 0)
        if length <= 0 or check != offset ^ length ^ self._CHECK:
            return None
        result = os.pread(fd, length, offset)
        return result if len(result) == length else None

    def _gone(self) -> bool:
        """Whether the process has ended (its end of the pipe closed), after waiting up to 5 ms."""
        return self.alive is None or bool(select.select([self.alive], [], [], 0.005)[0])

    def finish_current(self) -> None:
        """Take no task after the one the process is making: each task not begun by now is its
        caller's (None from :meth:`result`, at once), the one being made (or begun in this instant) is
        finished and given, and the process then ends by itself. Where the command's workers take the cores: ending the process there
        (:meth:`end`) threw away the range it was part-way through, for a worker to read it again
        (EI x10 on two cores: the read-ahead is most often in its third or fourth range at the fork)."""
        if self.alive is None:
            return
        fd = self.file.fileno()
        for index in range(self.tasks):
            head = self._HEAD * index
            if os.pread(fd, 1, head + self._PLACE.size) != self._BEGUN:
                os.pwrite(fd, self._TAKEN, head + self._PLACE.size + 1)

    def close(self) -> None:
        """:meth:`end`, and free the temporary file's room (the disk the command's output may need):
        when every result has been taken; :meth:`result` is None after it."""
        self.end()
        if self.alive is not None:
            os.close(self.alive)
            self.file.close()
            self.alive = None

    def end(self) -> None:
        """End the process if it still runs (the results written stay readable); once is enough."""
        if not self.pid:
            return
        pid, self.pid = self.pid, 0
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # unreaped until waitpid below, so the pid is still its
        os.waitpid(pid, 0)

"""Run a batch: hash inputs, skip what the manifest says is done, process the rest in parallel.

Entry points
------------
- :func:`run_batch` -- the whole batch (local worker processes, or a Dask cluster).
- :class:`Task`, :class:`Outcome` -- what a worker receives and returns (both picklable).
- :func:`work` -- the function every worker runs for one run.

Processing one run is delegated to ``process(path, params, digests) -> results dict``, a picklable
callable (a module-level function or a small object with ``__call__``) so that local processes and
Dask workers can import it; ``nps-id batch`` passes the same pipeline ``nps-id match`` uses. The
worker writes the run's outputs itself (atomically) and returns only their names and SHA-256, so
large results never travel back through the scheduler; the main process alone writes the manifest.

Every run is bounded (``timeout_seconds``, ``--timeout``): a run still going then fails with that
reason and the batch goes on. Local workers die with the batch process, even when it is killed
with SIGKILL (:func:`nps_id._workers.die_with_parent`). A run's outputs go only below OUT_DIR: a run folder that
leads elsewhere (a symlink) fails that run.

With ``scheduler`` (a Dask ``distributed`` address or cluster object) the same tasks go to that
cluster (there the per-run time limit is Dask's to enforce: its tasks run in threads); inputs, OUT_DIR and the library must then be reachable by every worker at the same path
(a shared folder), and the workers need nps-id installed.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Mapping, Sequence

from nps_id import __version__
from nps_id._code_stamp import code_stamp, dependency_versions
from nps_id._cores import usable_cores
from nps_id._file_state import FileState, file_state, require_unchanged, this_machine
from nps_id._paths import count_as_said, is_inside, unwritten_caches_said
from nps_id._words import agreeing, counted
from nps_id._workers import die_with_parent
from nps_id.batch.discover import Run, pair_blanks
from nps_id.batch.manifest import Entry, Manifest, dependency_changes, file_sha256, params_hash
from nps_id.errors import InputError, NpsIdError, one_line_warning
from nps_id.match.results import write_results_json

#: ``process(path, params, digests)``; ``digests`` maps the run's path (and its blank's, if any),
#: as passed, to the SHA-256 the batch computed, so that no input is hashed twice.
Processor = Callable[[Path, Mapping[str, Any], Mapping[str, str]], dict]
ReportWriter = Callable[[dict, Path], list[Path]]

RUNS_DIR = "runs"
#: Seconds between manifest rewrites during a batch (see :attr:`Manifest.save_interval`).
MANIFEST_SAVE_INTERVAL = 1.0
#: Default bound on one run (seconds): the LRCFS runs take a few seconds, a large LC-MS/MS run minutes.
DEFAULT_TIMEOUT_SECONDS = 600.0


def results_path(out_dir: str | Path, key: str) -> Path:
    """``OUT_DIR/runs/<key>/<run name>.match.json``: one folder per run (no name clashes between
    ``x.mzML`` and ``x.D``), the file named as ``nps-id match -o`` names it."""
    return Path(out_dir) / RUNS_DIR / key / f"{PurePosixPath(key).name}.match.json"


@dataclass(frozen=True)
class Task:
    """One run for a worker: where it is, where its outputs go, how to process it."""

    key: str
    path: str
    results: str
    params: Mapping[str, Any]
    digests: Mapping[str, str]  # input path -> SHA-256 (the run and its blank)
    process: Processor
    write_reports: ReportWriter | None = None
    timeout_seconds: float | None = None
    #: input path -> its file state when it was hashed (the run and its blank; None for a folder)
    states: Mapping[str, FileState | None] = field(default_factory=dict)
    host: str = field(default_factory=this_machine)  # where ``states`` were taken


class RunTimeout(NpsIdError):
    """A run went past the batch's per-run time limit."""


@dataclass
class Outcome:
    """What a worker reports back for one run."""

    key: str
    status: str  # "done" or "failed"
    outputs: dict[str, str] = field(default_factory=dict)  # absolute path -> sha256
    error: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # the run's results ``notes`` (e.g. an alkane ladder that misses it)


@dataclass
class BatchResult:
    """Counts and failures of a finished batch, and the manifest it left in OUT_DIR."""

    total: int
    processed: int
    skipped: int
    failed: list[tuple[str, str, str]]  # (key, input path, reason)
    manifest: Manifest
    runs: list[Run]
    blanks: dict[str, str | None]
    blank_keys: set[str]
    #: --blank-pattern with subtraction on: a run without a paired blank had nothing subtracted
    subtracts_blanks: bool = False


def work(task: Task) -> Outcome:
    """Process one run and write its outputs; any error becomes a failed :class:`Outcome`.

    Catching every ``Exception`` here is the point: one unreadable file or a bug triggered by one
    odd run must not stop the other runs of a batch. The reason is kept for the manifest.
    """
    start = time.perf_counter()
    target = Path(task.results)
    try:
        with _time_limit(task.timeout_seconds, task.path):
            results = task.process(Path(task.path), task.params, task.digests)
        elsewhere = task.host != this_machine()
        for path, state in task.states.items():  # matched the bytes the manifest records, or nothing written
            require_unchanged(path, state, "nothing written for the run",
                              "it is matched again by the next batch once the file is complete", elsewhere=elsewhere,
                              same_bytes=lambda p=path: file_sha256(p) == task.digests.get(p))
        written = [write_results_json(results, target)]
        if task.write_reports is not None:
            written += task.write_reports(results, target.parent)
        outputs = {str(p): file_sha256(p) for p in written}
    except NpsIdError as exc:  # already says file, record and what was expected
        return Outcome(task.key, "failed", error=str(exc), seconds=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 -- see docstring
        reason = f"{task.path}: {type(exc).__name__}: {exc}"
        return Outcome(task.key, "failed", error=reason, seconds=time.perf_counter() - start)
    return Outcome(task.key, "done", outputs=outputs, seconds=time.perf_counter() - start,
                   notes=list(results.get("notes") or []))


@contextlib.contextmanager
def _time_limit(seconds: float | None, path: str):
    """Raise :class:`RunTimeout` in this thread after ``seconds`` (a SIGALRM timer).

    Signals reach only a process's main thread, which is where a local worker runs its task; a
    blocking read (a FIFO) is interrupted, compiled code is stopped when it returns. Elsewhere
    (Dask runs tasks in threads) the limit is not applied here.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise RunTimeout(f"{path}: timed out after {seconds:g} s (see --timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_batch(
    runs: Sequence[Run],
    out_dir: str | Path,
    process: Processor,
    params: Mapping[str, Any],
    library_sha256: str,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    blank_pattern: str | None = None,
    subtract_blank: bool = True,
    write_reports: ReportWriter | None = None,
    progress: Any = None,
    timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
) -> BatchResult:
    """Process ``runs`` into ``out_dir``, resuming from its manifest.

    Parameters
    ----------
    runs
        Runs in sequence order (from :func:`nps_id.batch.discover.discover`).
    out_dir
        Output folder: ``manifest.json`` and ``runs/<key>/<name>.match.json`` (+ reports).
    process
        ``process(path, params, digests) -> results dict``; must be picklable. ``digests`` maps
        the run's path and its blank's (as in ``params["blank"]``) to their SHA-256, hashed once
        here for the manifest; ``process`` should record those rather than hash the files again.
    params
        Processing parameters; part of the parameter hash. With ``blank_pattern`` each run's
        ``params`` gain ``"blank"``: the path of the blank before it (or ``None``), and a blank's
        ``"is_blank"``: True.
    library_sha256
        SHA-256 of the library; a change redoes every run (so does a change of nps-id's code or shipped
        data, :func:`nps_id._code_stamp.code_stamp`, recorded per run as ``code_stamp``, or of a package
        it computes with, :func:`nps_id._code_stamp.dependency_versions`, as ``dependencies``).
    workers
        Local worker processes; default: :func:`~nps_id._cores.usable_cores` (the cores this process
        may run on). Ignored with ``scheduler``.
    scheduler
        A Dask ``distributed`` scheduler address (``tcp://host:8786``) or cluster object.
    blank_pattern
        Glob matching the file names of blank runs (case-insensitive).
    subtract_blank
        With ``blank_pattern``: pass each run's blank to ``process`` (``params["blank"]``);
        when False, blanks are only flagged (summary, carry-over hints).
    write_reports
        ``write_reports(results, run_dir) -> [paths]``, run in the worker after the results JSON.
    progress
        An object with ``start(total, todo)``, ``update(outcome)``, ``finish()`` and
        ``message(event, text, **fields)`` (:mod:`nps_id.batch.progress`): before the runs, a "redone"
        message per reason says which runs done before are redone and why (:func:`_say_redone`).
    timeout_seconds
        Bound on one run; a run still going then fails with that reason (``None``: no bound).

    Returns
    -------
    BatchResult
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    manifest = Manifest.load(out_dir)
    blanks, blank_keys = pair_blanks(runs, blank_pattern)
    hashes, states, failed_early = _hash_inputs(runs, workers)
    by_key = {run.key: run for run in runs}

    # Step 1: decide what needs doing (hash per run covers params, nps-id version and the blank; the
    # code stamp, once per batch (~10 ms), covers an update of nps-id's code or data under one version,
    # the package versions (a few ms) an upgrade of RDKit, numpy, ... under the same nps-id).
    stamp, dependencies = code_stamp(), dependency_versions()
    tasks, phashes, skipped, redone = [], {}, 0, {}
    for run in runs:
        if run.key in failed_early:
            phashes[run.key] = ""
            continue
        run_params = dict(params)
        digests = {str(run.path): hashes[run.key]}
        run_states = {str(run.path): states[run.key]}
        blank_key = blanks.get(run.key) if subtract_blank else None
        if blank_pattern is not None and subtract_blank:
            run_params["blank"] = str(by_key[blank_key].path) if blank_key else None
        if run.key in blank_keys:  # its results and reports must say so, as `match --blank`'s do
            run_params["is_blank"] = True
        blank_sha = hashes.get(blank_key)  # None: no blank, or an unreadable one
        if blank_sha is not None:
            digests[str(by_key[blank_key].path)] = blank_sha
            run_states[str(by_key[blank_key].path)] = states[blank_key]
        phashes[run.key] = params_hash({**run_params, "blank": blank_sha})
        reason = manifest.redo_reason(run.key, hashes[run.key], phashes[run.key], library_sha256, stamp, dependencies)
        if reason is None:
            skipped += 1
            continue
        redone.setdefault(reason, []).append(run.key)
        target = results_path(out_dir, run.key)
        if not is_inside(target.parent, out_dir):  # e.g. OUT_DIR/runs/x.mzML is a link elsewhere
            failed_early[run.key] = f"{run.path}: its output folder {target.parent} leads outside {out_dir}"
            continue
        tasks.append(Task(run.key, str(run.path), str(target), run_params, digests, process, write_reports,
                          timeout_seconds, run_states))

    # Step 2: process, recording each outcome in the manifest as soon as it arrives.
    failed: list[tuple[str, str, str]] = []

    def record(outcome: Outcome) -> None:
        run = by_key[outcome.key]
        previous = manifest.entries.get(outcome.key)
        if outcome.status != "done" and previous is not None:
            _remove_outputs(out_dir, previous)  # never leave a stale result beside a failure
        manifest.record(
            outcome.key,
            Entry(
                input=str(run.path),
                sha256=hashes.get(run.key, ""),
                params_hash=phashes[run.key],
                library_sha256=library_sha256,
                status=outcome.status,
                code_stamp=stamp,
                dependencies=dependencies,
                outputs={Path(os.path.relpath(p, out_dir)).as_posix(): h for p, h in outcome.outputs.items()},
                error=outcome.error,
                seconds=round(outcome.seconds, 3),
            ),
        )
        if outcome.status != "done":
            failed.append((outcome.key, str(run.path), outcome.error or "unknown error"))
        if progress is not None:
            progress.update(outcome)

    if progress is not None:
        _say_redone(redone, manifest, library_sha256, stamp, dependencies, progress)
        progress.start(len(runs), len(tasks) + len(failed_early))
    manifest.save_interval = MANIFEST_SAVE_INTERVAL
    try:
        for key, reason in failed_early.items():
            record(Outcome(key, "failed", error=reason))
        if scheduler is not None:
            _run_dask(tasks, scheduler, record)
        else:
            _run_local(tasks, workers or usable_cores(), record)
    finally:  # also on Ctrl-C: keep every entry recorded so far
        manifest.save()
    if progress is not None:
        progress.finish()
    return BatchResult(len(runs), len(tasks) + len(failed_early), skipped, failed, manifest, list(runs), blanks,
                       blank_keys, blank_pattern is not None and subtract_blank)


#: Run names a "redone" line names; beyond, it counts the others (JSON's ``runs`` lists them all).
_NAMED_RUNS = 5


def _say_redone(redone: Mapping[str, list[str]], manifest: Manifest, library_sha256: str, stamp: str,
                dependencies: Mapping[str, str], progress: Any) -> None:
    """Say, before the runs, why each run done before is redone: one line per reason (and per change,
    for package versions), naming the runs. The version alone would not tell the user why the same
    command, inputs and library give new results, and a lab's log must show which runs an upgrade
    of RDKit or a rebuilt library redid. New runs and failed ones (retried; said as they fail) are not said."""
    entries = manifest.entries

    def was(keys: list[str], field: str) -> str:
        return ", ".join(sorted({getattr(entries[k], field)[:12] for k in keys}))

    def since(keys: list[str]) -> str:
        return agreeing(len(keys), "since it was done", "since they were done")

    def older(keys: list[str], version: int, stop: int) -> str:
        """Who wrote entries without what manifest ``version`` added: the whole file, when it is older,
        else only these runs' entries, left by an older nps-id in a file since rewritten by a batch of
        other runs (attack46a: "manifest version 3, before stop 46" was said of such a file)."""
        if manifest.version < version:
            return f"{manifest.path} is from an older nps-id (manifest version {manifest.version}, before stop {stop})"
        return f"{agreeing(len(keys), 'its entry in', 'their entries in')} {manifest.path} " \
               f"{agreeing(len(keys), 'was', 'were')} written by an older nps-id (before stop {stop})"

    def one_line(why: Callable[[list[str]], str]) -> Callable[[str, list[str]], None]:
        """A reason said in one line for all its runs."""
        return lambda reason, keys: _say_redone_runs(progress, keys, reason, why(keys))

    # in the order Manifest.redo_reason tries them; a change of package versions, one line per change
    say: dict[str, Callable[[str, list[str]], None]] = {
        "input": one_line(lambda keys: f"{agreeing(len(keys), 'its', 'their')} input changed {since(keys)} "
                                       "(another SHA-256)"),
        "settings": one_line(lambda keys: f"the settings changed {since(keys)} (match options, report formats, "
                                          "sample information, alkane table, the paired blank, or nps-id's version)"),
        "library": one_line(lambda keys: f"the library changed {since(keys)} (sha256 now {library_sha256[:12]}, "
                                         f"was {was(keys, 'library_sha256')})"),
        "code": one_line(lambda keys: f"nps-id's code or shipped data changed {since(keys)} (code stamp now "
                                      f"{stamp[:12]}, was {was(keys, 'code_stamp')}; version {__version__})"),
        "no code stamp": one_line(lambda keys: f"{older(keys, 2, 45)}, which did not record the code that made "
                                               f"{agreeing(len(keys), 'it', 'them')}"),
        "no dependency versions": one_line(lambda keys: f"{older(keys, 3, 46)}, which did not record the versions "
                                                        "of the packages it computed with (numpy, RDKit, ...)"),
        "dependencies": lambda reason, keys: _say_redone_for_dependencies(keys, manifest, dependencies, progress),
        "outputs": one_line(lambda keys: f"{agreeing(len(keys), 'its', 'their')} outputs in the output folder were "
                                         f"altered or removed {since(keys)}"),
    }
    for reason, said in say.items():
        if redone.get(reason):
            said(reason, redone[reason])


def _say_redone_for_dependencies(keys: list[str], manifest: Manifest, dependencies: Mapping[str, str],
                                 progress: Any) -> None:
    """One line per change of package versions ("dependency rdkit 2025.3.1 -> 2026.9.1"): runs done at
    different times may have been done with different versions."""
    by_change: dict[tuple, list[str]] = {}
    for key in keys:
        changes = dependency_changes(manifest.entries[key].dependencies, dependencies)
        by_change.setdefault(tuple(sorted(changes.items())), []).append(key)
    for changes, runs in by_change.items():
        words = ", ".join(f"{name} {was} -> {now}" for name, (was, now) in changes)
        _say_redone_runs(progress, runs, "dependencies",
                         f"{agreeing(len(changes), 'dependency', 'dependencies')} {words} (a package nps-id "
                         "computes with: its results may differ)",
                         changes={name: [was, now] for name, (was, now) in changes})


def _say_redone_runs(progress: Any, keys: list[str], reason: str, why: str, **fields: Any) -> None:
    named = ", ".join(keys[:_NAMED_RUNS]) + (f" and {len(keys) - _NAMED_RUNS} more" if len(keys) > _NAMED_RUNS else "")
    progress.message("redone", f"redone: {counted(len(keys), 'run')} done before ({named}): {why}",
                     runs=keys, reason=reason, **fields)


def _hash_inputs(runs: Sequence[Run], workers: int | None
                 ) -> tuple[dict[str, str], dict[str, FileState | None], dict[str, str]]:
    """SHA-256 of every input, once (workers get it in :attr:`Task.digests`), and the file's state
    as hashed (:attr:`Task.states`: the worker checks the run it matched is still those bytes), by run
    key; and, by run key, why an input cannot be read or changed while hashed (a failed run, not a
    failed batch)."""
    # hashlib releases the GIL on large buffers, so threads hash several files at once.
    with ThreadPoolExecutor(max_workers=workers or usable_cores()) as pool:
        digests = list(pool.map(lambda r: _safe_sha256(r.path), runs))
    hashes = {run.key: found[0] for run, found in zip(runs, digests) if isinstance(found, tuple)}
    states = {run.key: found[1] for run, found in zip(runs, digests) if isinstance(found, tuple)}
    unreadable = {run.key: found for run, found in zip(runs, digests) if isinstance(found, str)}
    return hashes, states, unreadable


def _safe_sha256(path: Path) -> tuple[str, FileState | None] | str:
    """The file's SHA-256 and its state as hashed, or why it cannot be hashed."""
    try:
        state = file_state(path)
        digest = file_sha256(path)
        require_unchanged(path, state, "not matched", "it is matched by the next batch once the file is complete")
    except OSError as exc:
        return f"{path}: cannot read ({exc.strerror or exc})"
    except InputError as exc:  # a file still being written
        return str(exc)
    return digest, state


def _remove_outputs(out_dir: Path, entry: Entry) -> None:
    for rel in entry.outputs:
        (out_dir / rel).unlink(missing_ok=True)


def _start_worker(parent_pid: int, said: frozenset[tuple[Path, bool]], one_line: bool) -> None:
    """A spawned worker's start: it ends with its parent (:func:`die_with_parent`), does not say again
    a cache folder its parent said it could not write, and says a warning in the command's one line
    (a spawned interpreter has Python's form, with the source line: two workers said the parent's
    warning twice more so, stop 40)."""
    die_with_parent(parent_pid)
    count_as_said(said)
    if one_line:
        warnings.showwarning = one_line_warning


def _run_local(tasks: Iterable[Task], workers: int, record: Callable[[Outcome], None]) -> None:
    """Run ``tasks`` on ``workers`` processes, at most ``workers`` in flight.

    Keeping only as many tasks in flight as there are workers means that when a worker process
    dies (out of memory, a crash in native code) we know which runs may have caused it: they are
    retried one at a time in a fresh pool, and a run that kills its worker when alone is failed.
    """
    pending = deque(tasks)
    suspects: deque[Task] = deque()
    # "spawn": workers start clean (no inherited HDF5 handles or numba state), as on Dask.
    context = multiprocessing.get_context("spawn")
    while pending or suspects:
        alone = bool(suspects)
        queue = suspects if alone else pending
        slots = 1 if alone else min(workers, len(pending))
        with ProcessPoolExecutor(max_workers=slots, mp_context=context, initializer=_start_worker,
                                 initargs=(os.getpid(), unwritten_caches_said(),
                                           warnings.showwarning is one_line_warning)) as pool:
            inflight: dict[Any, Task] = {}
            broken = False
            while (queue or inflight) and not broken:
                while queue and len(inflight) < slots and not broken:
                    try:
                        inflight[pool.submit(work, queue[0])] = queue[0]
                        queue.popleft()
                    except BrokenProcessPool:  # a worker died since the last wait(): new pool
                        broken = True
                if not inflight:
                    continue
                try:
                    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:  # end the workers now: shutting the pool down waits for them
                    for process in list(getattr(pool, "_processes", {}).values()):
                        process.terminate()
                    raise
                for future in done:
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    record(outcome)
                    del inflight[future]
            if alone and inflight:
                (task,) = inflight.values()
                record(Outcome(task.key, "failed", error=f"{task.path}: the worker process died while "
                               "processing it (out of memory, or a crash in native code)"))
            else:
                suspects.extend(inflight.values())


def _run_dask(tasks: Sequence[Task], scheduler: Any, record: Callable[[Outcome], None]) -> None:
    """Run ``tasks`` on a Dask cluster; ``distributed`` is imported only here."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError(
            "--scheduler needs Dask: pip install 'nps-id[dask]' (or 'dask[distributed]')"
        ) from None
    if not tasks:
        return
    with Client(scheduler) as client:
        futures = {client.submit(work, task, key=f"nps-id-{task.key}-{time.time_ns()}", pure=False): task
                   for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 -- e.g. KilledWorker; the batch goes on
                outcome = Outcome(task.key, "failed", error=f"{task.path}: Dask: {type(exc).__name__}: {exc}")
            record(outcome)


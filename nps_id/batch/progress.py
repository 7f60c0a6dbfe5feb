"""Progress of a batch: a live bar with ETA on a terminal, JSON lines everywhere else.

Entry points: :func:`make_progress` (picks one for a stream), :class:`BarProgress`,
:class:`JsonProgress`. Both take ``start(total, todo)``, ``update(outcome)``, ``finish()``.

JSON-lines events (one object per line, for CI logs and other tools)::

    {"event": "start", "total": 8, "todo": 6, "skipped": 2, "time": 1764480000.0}
    {"event": "run", "run": "220223030.mzML", "status": "done", "seconds": 1.8,
     "done": 3, "todo": 6, "failed": 0, "eta_seconds": 5.4}
    {"event": "finish", "done": 6, "failed": 1, "elapsed_seconds": 11.2}

Messages before the runs start (a file below the folders that is not a run, a warning about the
sample information, runs without a blank) are events too, ``{"event": "ignored", "path": ..., "message": ...}``
and ``{"event": "warning", "message": ...}``, and runs done before that are redone one event per reason,
``{"event": "redone", "runs": [...], "reason": ..., "message": ...}``, ``reason`` one of "input", "settings",
"library", "code", "no code stamp", "no dependency versions", "dependencies" (with ``"changes": {name: [was,
now]}``) and "outputs" (stop 46; :func:`nps_id.batch.runner._say_redone`, docs/batch.md "Why a run is redone";
stop 45 said only "code" and "no code stamp"): a script reading one JSON object per line never meets
plain text until the command ends (a fatal error is one plain line, then the exit code). After
``finish``, where the summary was written is one more (since stop 32; it was a plain line on
standard output), ``{"event": "summary", "path": "out/summary.html", "message": "summary: ..."}``.

``run`` events with ``"status": "failed"`` carry ``"error"``; a run whose results have notes
(``nps-id match`` prints them on stderr) carries ``"notes"``. The ETA is the mean time per run
so far (wall clock, so parallel workers count) times the runs left.

A hand-written bar rather than ``click.progressbar``: it must show failures as they happen and
share its bookkeeping with the JSON events.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from nps_id._words import counted


class _Counter:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = self.todo = self.done = self.failed = 0
        self.t0 = time.monotonic()

    def start(self, total: int, todo: int) -> None:
        self.total, self.todo, self.t0 = total, todo, time.monotonic()
        self.done = self.failed = 0

    def _count(self, outcome: Any) -> None:
        self.done += 1
        self.failed += outcome.status != "done"

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    @property
    def eta_seconds(self) -> float | None:
        if not self.done:
            return None
        return self.elapsed / self.done * (self.todo - self.done)


class JsonProgress(_Counter):
    """JSON-lines progress events on ``stream`` (see the module docstring)."""

    def _emit(self, **event: Any) -> None:
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()

    def message(self, event: str, text: str, **fields: Any) -> None:
        """A message outside a run (``event`` "ignored", "warning", "redone" or "summary") as one JSON event."""
        self._emit(event=event, **fields, message=text)

    def start(self, total: int, todo: int) -> None:
        super().start(total, todo)
        self._emit(event="start", total=total, todo=todo, skipped=total - todo, time=round(time.time(), 3))

    def update(self, outcome: Any) -> None:
        self._count(outcome)
        event = {
            "event": "run", "run": outcome.key, "status": outcome.status,
            "seconds": round(outcome.seconds, 3), "done": self.done, "todo": self.todo,
            "failed": self.failed, "eta_seconds": round(self.eta_seconds or 0.0, 1),
        }
        if outcome.error:
            event["error"] = outcome.error
        if outcome.notes:
            event["notes"] = list(outcome.notes)
        self._emit(**event)

    def finish(self) -> None:
        self._emit(event="finish", done=self.done, failed=self.failed, elapsed_seconds=round(self.elapsed, 3))


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class BarProgress(_Counter):
    """A one-line bar redrawn in place; failures are printed above it as they happen."""

    width = 30

    def message(self, event: str, text: str, **fields: Any) -> None:
        """A message outside a run, as the plain line ``text`` (``event`` and ``fields`` are for JSON)."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, total: int, todo: int) -> None:
        super().start(total, todo)
        if total > todo:
            self.stream.write(f"{total - todo} of {counted(total, 'run')} already done (manifest: same inputs, "
                              "settings, library, nps-id code and package versions); skipping them\n")
        if todo:  # nothing to do: no bar "0/0 runs ETA --:--" (stop 45, newuser45)
            self._draw("")

    def update(self, outcome: Any) -> None:
        self._count(outcome)
        if outcome.status != "done":
            self.stream.write(f"\r\x1b[2Kfailed: {outcome.error}\n")
        for note in outcome.notes:
            self.stream.write(f"\r\x1b[2Knote: {outcome.key}: {note}\n")
        self._draw(outcome.key)

    def _draw(self, last: str) -> None:
        filled = int(self.width * self.done / self.todo) if self.todo else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        line = f"[{bar}] {self.done}/{counted(self.todo, 'run')}{failed}  ETA {_clock(self.eta_seconds)}  {last}"
        self.stream.write("\r\x1b[2K" + line[:200])
        self.stream.flush()

    def finish(self) -> None:
        if self.todo:
            self._draw("")
            self.stream.write("\n")
        self.stream.write(f"{self.done} run{'s' if self.done != 1 else ''} processed in {_clock(self.elapsed)}\n")
        self.stream.flush()


def make_progress(stream: TextIO | None = None, style: str = "auto") -> JsonProgress | BarProgress:
    """``style`` "bar", "json", or "auto": a bar when ``stream`` (default: stderr) is a terminal,
    JSON lines otherwise (scripts and log files)."""
    stream = stream or sys.stderr
    bar = style == "bar" or (style == "auto" and stream.isatty())
    return BarProgress(stream) if bar else JsonProgress(stream)

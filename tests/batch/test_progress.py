"""Progress output: a bar with ETA on a terminal, JSON lines otherwise."""
from __future__ import annotations

import io
import json

import pytest

from nps_id.batch.progress import BarProgress, JsonProgress, make_progress
from nps_id.batch.runner import Outcome


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _feed(progress) -> None:
    progress.start(total=5, todo=4)
    progress.update(Outcome("a.mzML", "done", seconds=1.0, notes=["alkane ladder misses the run"]))
    progress.update(Outcome("b.mzML", "failed", error="b.mzML, line 3: truncated", seconds=0.1))
    progress.finish()


def test_a_terminal_gets_a_bar_with_eta_and_failures_printed_above_it():
    stream = FakeTerminal()
    progress = make_progress(stream)
    assert isinstance(progress, BarProgress)
    _feed(progress)
    text = stream.getvalue()
    assert "1 of 5 runs already done" in text
    assert "[" + "#" * 7 + "-" * 23 + "] 1/4 runs  ETA " in text  # 1 of 4 = 7 of 30 characters
    assert "failed: b.mzML, line 3: truncated\n" in text
    assert "note: a.mzML: alkane ladder misses the run\n" in text
    assert "2/4 runs, 1 failed" in text


def test_the_bar_counts_one_run_in_the_singular():
    # "[---] 0/1 runs": a batch of one run (or a re-run of one) is "1 run"
    stream = FakeTerminal()
    progress = make_progress(stream)
    progress.start(total=1, todo=1)
    assert "] 0/1 run  ETA " in stream.getvalue()
    progress.start(total=2, todo=1)
    assert "1 of 2 runs already done" in stream.getvalue()
    progress.start(total=1, todo=0)
    assert "1 of 1 run already done" in stream.getvalue()


def test_a_batch_with_every_run_done_before_draws_no_empty_bar():
    # "[##...##] 0/0 runs  ETA --:--" above "0 runs processed" said nothing (stop 45, a new user)
    stream = FakeTerminal()
    progress = make_progress(stream)
    progress.start(total=8, todo=0)
    progress.finish()
    text = stream.getvalue()
    assert "8 of 8 runs already done" in text and "0 runs processed in " in text
    assert "0/0" not in text and "[" not in text


def test_anything_else_gets_json_lines():
    stream = io.StringIO()
    progress = make_progress(stream)
    assert isinstance(progress, JsonProgress)
    _feed(progress)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["start", "run", "run", "finish"]
    assert events[0]["skipped"] == 1 and events[0]["todo"] == 4
    assert events[1]["status"] == "done" and events[1]["done"] == 1 and events[1]["eta_seconds"] >= 0
    assert events[2]["error"] == "b.mzML, line 3: truncated" and events[2]["failed"] == 1
    assert events[3]["done"] == 2 and events[3]["failed"] == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream, style, kind", [
    (_Terminal, "auto", BarProgress), (io.StringIO, "auto", JsonProgress),  # a terminal gets a bar
    (_Terminal, "json", JsonProgress), (io.StringIO, "bar", BarProgress),  # --progress decides
])
def test_progress_style_follows_the_option_then_the_terminal(stream, style, kind):
    assert type(make_progress(stream(), style=style)) is kind

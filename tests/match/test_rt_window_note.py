"""An --rt-window that misses the run says so: "no findings" alone would read as a clean sample."""
from __future__ import annotations

from dataclasses import replace

import pytest

from nps_id.match.parameters import MatchParameters
from nps_id.match.pipeline import match_run
from nps_id.match.reference_library import ReferenceLibrary
from tests.conftest import data_path

DEFAULT = MatchParameters()


@pytest.fixture(scope="module")
def library(swgdrug_library) -> ReferenceLibrary:
    return ReferenceLibrary(swgdrug_library)


def _with_window(low: float, high: float) -> MatchParameters:
    return replace(DEFAULT, peaks=replace(DEFAULT.peaks, rt_min_minutes=low, rt_max_minutes=high))


def test_a_window_outside_the_run_is_noted(library):
    results = match_run(data_path("gcms", "lrcfs", "220223030.mzML"), library, _with_window(20, 30))
    assert results["findings"] == []
    assert "--rt-window 20-30 min lies outside the run (3.09-14.66 min): nothing was matched" in results["notes"]


def test_a_window_inside_the_run_adds_no_note(library):
    results = match_run(data_path("gcms", "lrcfs", "220223030.mzML"), library, _with_window(7, 8))
    assert [f["name"] for f in results["findings"]] == ["Flubromazepam"]
    assert not any("rt-window" in note for note in results["notes"])


@pytest.mark.parametrize("low, high, shown", [(1e308, float("inf"), "from 1e+308"), (-5, -1, "-5 to -1"),
                                              (float("-inf"), -1, "up to -1")])
def test_an_open_or_negative_window_outside_the_run_is_written_readably(library, low, high, shown):
    # "--rt-window 1e+308- min" and "-5--1 min" read as typos
    results = match_run(data_path("gcms", "lrcfs", "220223030.mzML"), library, _with_window(low, high))
    assert f"--rt-window {shown} min lies outside the run (3.09-14.66 min): nothing was matched" in results["notes"]


def test_a_window_between_two_scans_is_noted(library):
    """A window inside the run that holds no scan (FROM = TO, or narrower than the scan interval)
    can hold no apex: "no findings" alone read as a clean sample (stop 28)."""
    results = match_run(data_path("gcms", "lrcfs", "220223030.mzML"), library, _with_window(7.42, 7.42))
    assert results["findings"] == []
    assert "--rt-window 7.42-7.42 min holds no scan of the run: nothing was matched" in results["notes"]

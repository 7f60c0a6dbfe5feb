"""``nps-id batch`` end to end on the LRCFS sequence, with the real ``match`` pipeline.

Expected findings are the laboratory's (../shared/data/README.md, issue 5): bupivacaine (internal
standard, ~6.51 min) in all six runs; etizolam (~10.2-10.3 min) in the two calibrants, the check
standard and card FL22/009-2 (220223030); flubromazepam (~7.42 min) in that card only.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.batch.manifest import Manifest
from nps_id.cli import cli
from tests.batch._inputs import LRCFS_RUNS, build_swgdrug, make_inputs
from tests.conftest import data_path

GOOD = [f"{run}.mzML" for run in LRCFS_RUNS]
ETIZOLAM_RUNS = {"220223002.mzML", "220223008.mzML", "220223010.mzML", "220223030.mzML"}


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return build_swgdrug(tmp_path_factory.mktemp("lib"))


@pytest.fixture(scope="module")
def sequence_batch(tmp_path_factory, library):
    """One batch over the sequence folder; several tests read what it left in OUT_DIR."""
    base = tmp_path_factory.mktemp("batch")
    inputs = make_inputs(base / "sequence")
    out = base / "out"
    result = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(library), "-o", str(out), "--workers", "2"])
    return inputs, out, result


def _findings(out: Path, key: str) -> list[dict]:
    return json.loads((out / "runs" / key / "results.json").read_text())["findings"]


def _identified(out: Path, key: str) -> dict[str, float]:
    return {f["name"].lower(): f["rt_min"] for f in _findings(out, key) if f["verdict"] == "identified"}


def test_six_runs_matched_two_bad_files_recorded_and_exit_code_1(sequence_batch):
    _, out, result = sequence_batch
    assert result.exit_code == 1, result.output
    assert "8 runs: 6 done" in result.stdout and "2 failed" in result.stdout
    assert "FAILED corrupt.mzML" in result.stdout and "FAILED agilent-gcms-tic.cdf" in result.stdout
    assert "ignored" in result.stderr and "notes.csv" in result.stderr
    for key in GOOD:
        found = _identified(out, key)
        expected = {"bupivacaine"} | ({"etizolam"} if key in ETIZOLAM_RUNS else set())
        expected |= {"flubromazepam"} if key == "220223030.mzML" else set()
        assert set(found) == expected, key
        assert 6.4 <= found["bupivacaine"] <= 6.6
        if "etizolam" in found:
            assert 10.1 <= found["etizolam"] <= 10.4
    assert 7.3 <= _identified(out, "220223030.mzML")["flubromazepam"] <= 7.5
    entries = Manifest.load(out).entries
    assert sorted(k for k, e in entries.items() if e.status == "failed") == ["agilent-gcms-tic.cdf", "corrupt.mzML"]
    assert "truncated" in entries["corrupt.mzML"].error


def test_progress_is_json_lines_on_stderr_when_not_a_terminal(sequence_batch):
    _, _, result = sequence_batch
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert events[0] == {**events[0], "event": "start", "total": 8, "todo": 8}
    runs = [e for e in events if e["event"] == "run"]
    assert sorted(e["run"] for e in runs) == sorted(GOOD + ["agilent-gcms-tic.cdf", "corrupt.mzML"])
    assert events[-1]["event"] == "finish" and events[-1]["failed"] == 2


def test_summary_table_has_substances_by_runs_and_lists_failures(sequence_batch):
    _, out, _ = sequence_batch
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], {row[0]: row[1:] for row in rows[1:]}
    assert header == ["substance"] + GOOD + ["agilent-gcms-tic.cdf", "corrupt.mzML"]
    cell = dict(zip(header[1:], body["Etizolam"]))
    assert {k for k, v in cell.items() if v.startswith("identified")} == ETIZOLAM_RUNS
    assert all(v.startswith("identified") for v in body["Bupivacaine"][:6])
    assert body["status"] == ["done"] * 6 + ["failed", "failed"]
    page = (out / "summary.html").read_text()
    assert "Flubromazepam" in page and "truncated" in page


def test_batch_results_are_those_of_the_match_pipeline(sequence_batch, library):
    from nps_id.match.pipeline import ReferenceLibrary, match_run

    inputs, out, _ = sequence_batch
    direct = match_run(inputs / "220223030.mzML", ReferenceLibrary(library))
    batch = json.loads((out / "runs" / "220223030.mzML" / "results.json").read_text())
    direct = json.loads(json.dumps(direct))  # same JSON types as the file
    for results in (direct, batch):
        results.pop("created")
    assert batch == direct


def test_blanks_are_flagged_and_carry_over_is_hinted(tmp_path, library):
    # A seized card, then a "blank" that still shows the card's drugs (the card run itself,
    # standing in for a contaminated blank).
    card = data_path("gcms", "lrcfs", "220223030.mzML")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "s01-card.mzML").symlink_to(card)
    (tmp_path / "in" / "s02-blank.mzML").symlink_to(card)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [
        "batch", str(tmp_path / "in"), "-l", str(library), "-o", str(out), "--workers", "1",
        "--blank-pattern", "*BLANK*", "--no-subtract-blank", "--internal-standard", "Bupivacaine"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [r["blank"] for r in summary["runs"]] == [False, True]
    hinted = {h["substance"] for h in summary["carry_over"] if h["blank"] == "s02-blank.mzML"}
    assert {"Etizolam", "Flubromazepam"} <= hinted and "Bupivacaine" not in hinted
    assert "possible carry-over" in (out / "summary.html").read_text()


def test_killed_batch_resumes_without_redoing_finished_runs(tmp_path, library, sequence_batch):
    _, reference_out, _ = sequence_batch
    inputs = tmp_path / "in"
    inputs.mkdir()
    for key in GOOD[:4]:
        (inputs / key).symlink_to(data_path("gcms", "lrcfs", key))
    out = tmp_path / "out"
    args = ["batch", str(inputs), "-l", str(library), "-o", str(out), "--workers", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "nps_id", *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "manifest.json").exists() and len(Manifest.load(out).entries) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = Manifest.load(out).entries
    assert 2 <= len(before) < 4, "the kill should land in the middle of the batch"
    stamps = {k: (out / "runs" / k / "results.json").stat().st_mtime_ns for k in before}

    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"({len(before)} already done before)" in result.stdout
    after = Manifest.load(out).entries
    for key in before:
        assert after[key].finished == before[key].finished
        assert (out / "runs" / key / "results.json").stat().st_mtime_ns == stamps[key]
    for key in GOOD[:4]:  # same findings as the uninterrupted batch
        assert _findings(out, key) == _findings(reference_out, key)

"""The batch summary's three files carry one ``summary_id`` (stop 45): a batch killed between their renames
left summary.csv, .html and .json of two batches side by side with nothing to tell. Real data: the LRCFS
card run against SWGDRUG 3.4; the kill is a real SIGKILL of ``nps-id batch`` right after its first rename."""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from tests.conftest import built_once, data_path

#: ``nps-id batch`` whose first rename of a summary file is followed by a pause, announced on stderr, for the kill.
PAUSE_AFTER_FIRST_SUMMARY_RENAME = """
import os, sys, time
real = os.replace
def replace(src, dst):
    real(src, dst)
    if os.path.basename(str(dst)).startswith("summary."):
        sys.stderr.write("renamed " + os.path.basename(str(dst)) + "\\n")
        sys.stderr.flush()
        time.sleep(120)
os.replace = replace
from nps_id.cli import main
sys.argv[0] = "nps-id"
main()
"""


def _docs_check(out: Path) -> subprocess.CompletedProcess:
    """docs/batch.md's script that checks a summary set, run as a lab would run it, on ``out``."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "batch.md").read_text(encoding="utf-8")
    script = re.search(r"A script that reads the summaries checks the set first.*?```python\n(.*?)```", page, re.S)[1]
    return subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True)


def _ids(out: Path) -> dict[str, str]:
    """Each summary file's id: the csv's status row, the json's field, the html's meta line."""
    rows = list(csv.reader((out / "summary.csv").open(encoding="utf-8")))
    assert rows[0][-1] == "summary_id" and rows[-1][0] == "status"
    page = (out / "summary.html").read_text(encoding="utf-8")
    return {"csv": rows[-1][-1], "json": json.loads((out / "summary.json").read_text(encoding="utf-8"))["summary_id"],
            "html": re.search(r'<meta name="nps-id-summary-id" content="([^"]+)">', page)[1]}


@pytest.fixture(scope="module")
def card_batched(swgdrug_library, tmp_path_factory) -> tuple[Path, Path]:
    """(runs, out) of ``nps-id batch`` of the LRCFS card against the session's SWGDRUG, run once per run of the
    suite (:func:`built_once`): the first batch of every test here, each of which ran it anew until stop 51.
    Read-only: a test batches again into its own copy (:func:`_batched_before`)."""
    def batch(folder: Path) -> tuple[Path, Path]:
        (folder / "runs").mkdir()
        (folder / "runs" / "220223030.mzML").symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))
        first = CliRunner().invoke(cli, _args(folder / "runs", swgdrug_library, folder / "out"))
        assert first.exit_code == 0, first.output
        return folder / "runs", folder / "out"

    return built_once(tmp_path_factory, "batch-card-summary-id", batch)


def _args(runs: Path, library: Path, out: Path) -> list[str]:
    return ["batch", str(runs), "-l", str(library), "-o", str(out), "--progress", "json"]


def _batched_before(card_batched: tuple[Path, Path], swgdrug_library: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """(out, the batch's arguments): a copy of :func:`card_batched`'s output folder (the files' times too) in
    ``tmp_path``, as the first batch left it, and the same batch into it."""
    runs, done = card_batched
    out = Path(shutil.copytree(done, tmp_path / "out", symlinks=True))
    return out, _args(runs, swgdrug_library, out)


def test_a_batch_killed_between_the_summary_renames_leaves_files_told_apart_by_their_ids(tmp_path, swgdrug_library,
                                                                                         card_batched):
    out, args = _batched_before(card_batched, swgdrug_library, tmp_path)
    before = _ids(out)
    assert len(set(before.values())) == 1  # one batch: one id in all three

    proc = subprocess.Popen([sys.executable, "-c", PAUSE_AFTER_FIRST_SUMMARY_RENAME, *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    renamed = next((line for line in proc.stderr if line.startswith("renamed ")), None)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert renamed is not None, "the batch ended before renaming a summary file"
    after = _ids(out)  # every file whole (no partial file), read as any tool would
    new = renamed.split()[1].removeprefix("summary.")
    assert after[new] not in before.values()
    assert {k: v for k, v in after.items() if k != new} == {k: v for k, v in before.items() if k != new}
    # the check docs/batch.md gives script authors tells them so (a new user, stop 45: the docs gave none)
    told = _docs_check(out)
    assert told.returncode == 1 and "summary files of different batches" in told.stderr, told.stderr

    again = CliRunner().invoke(cli, args)  # the same command again: one batch's set, its leftovers removed
    assert again.exit_code == 0, again.output
    assert len(set(_ids(out).values())) == 1 and set(_ids(out).values()).isdisjoint(after.values())
    assert not [p.name for p in out.iterdir() if p.name.startswith(".summary.")]
    assert _docs_check(out).returncode == 0


def _edit_trusted(out: Path, key: str, finding: dict, entry: dict) -> None:
    """Edit ``key``'s results file's first finding and its manifest entry, its output's SHA-256 with them (so
    that the batch trusts the run and reads the file for its summary)."""
    import hashlib

    path = out / "runs" / key / f"{key}.match.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    results["findings"][0].update(finding)
    path.write_text(json.dumps(results), encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["entries"][key].update(entry)
    manifest["entries"][key]["outputs"][f"runs/{key}/{key}.match.json"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize("finding, entry, said", [
    # a verdict that is no text stopped the summary with a TypeError traceback in its html
    ({"verdict": float("nan"), "new_substance": True}, {}, "220223030.mzML.match.json: not a usable results file"),
    # a run's error of NaN: summary.json refused it with json's ValueError traceback (stop 45's allow_nan=False)
    ({}, {"error": float("nan")}, "summary.json: /runs/0/error is nan, not a finite number"),
])
def test_an_edited_results_file_or_manifest_is_one_line_exit_3_and_the_summary_is_kept(tmp_path, swgdrug_library,
                                                                                      card_batched, finding, entry,
                                                                                      said):
    out, args = _batched_before(card_batched, swgdrug_library, tmp_path)
    kept = {name: (out / name).read_bytes() for name in ("summary.csv", "summary.html", "summary.json")}
    _edit_trusted(out, "220223030.mzML", finding, entry)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 3 and said in again.output
    assert "Traceback" not in again.output and len(again.output.strip().splitlines()[-1:]) == 1
    assert {name: (out / name).read_bytes() for name in kept} == kept

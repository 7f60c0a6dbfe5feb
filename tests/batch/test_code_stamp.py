"""A batch reuses a run's results only for the same nps-id code and shipped data (stop 45).

``nps_id.__version__`` changes only on a release: a lab updating a checkout, or installing a fixed
build under the same version, got the results of the old code for every run done before, with
nothing saying so. These tests run the real ``match`` pipeline on LRCFS runs from a copy of the
package, change a shipped data file in the copy, and run the batch again.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import nps_id
from nps_id._code_stamp import code_stamp
from nps_id.batch.manifest import Manifest
from nps_id.batch.runner import results_path
from nps_id.cli import cli
from nps_id.errors import InputError
from tests.batch._inputs import TWO_RUNS, TWO_RUNS_OPTIONS, done_before, two_runs

RUNS = TWO_RUNS


def _package_copy(tmp_path: Path) -> Path:
    """A copy of the package under test (what a lab's updated checkout is), as a PYTHONPATH entry."""
    root = tmp_path / "site"
    shutil.copytree(Path(nps_id.__file__).parent, root / "nps_id", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _batch(site: Path, inputs: Path, library: Path, out: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """``nps-id batch`` run from the package in ``site``; its JSON progress events."""
    env = {**os.environ, "PYTHONPATH": str(site)}  # run from site's folder: ``-m`` puts the working one first
    done = subprocess.run([sys.executable, "-m", "nps_id", "batch", str(inputs), "-l", str(library), "-o", str(out),
                           "--workers", "2", "--progress", "json"], env=env, cwd=site, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done, [json.loads(line) for line in done.stderr.splitlines()]


def test_a_changed_shipped_file_redoes_the_runs_done_before_and_says_why(two_runs_batch, swgdrug_library, tmp_path):
    # The runs done before: the session's batch of them, by the package under test, whose files the copy's are.
    site, (inputs, out) = _package_copy(tmp_path), done_before(two_runs_batch, tmp_path)
    first = Manifest.load(out).entries
    written = {key: results_path(out, key).stat().st_mtime_ns for key in RUNS}
    assert {e.code_stamp for e in first.values()} == {code_stamp(site / "nps_id")}

    # Same code: both runs reused, nothing redone.
    same, events = _batch(site, inputs, swgdrug_library, out)
    assert "2 runs: 2 done (2 already done before)" in same.stdout
    assert not [e for e in events if e["event"] == "redone"]

    # The update changes a shipped data file's bytes, not the version: both runs are redone, said once.
    rates = site / "nps_id" / "match" / "isomer_rates.json"
    rates.write_text(rates.read_text() + "\n")
    again, events = _batch(site, inputs, swgdrug_library, out)
    assert "2 runs: 2 done (0 already done before)" in again.stdout
    (redone,) = [e for e in events if e["event"] == "redone"]
    assert redone["reason"] == "code" and redone["runs"] == RUNS
    # the message says when the code changed -- since the runs were done -- and which stamps, for the lab's log
    assert "code or shipped data changed since they were done (code stamp now" in redone["message"]
    assert redone["message"].startswith("redone: 2 runs")
    after = Manifest.load(out).entries
    assert {e.code_stamp for e in after.values()} == {code_stamp(site / "nps_id")} != {first[RUNS[0]].code_stamp}
    assert all(results_path(out, key).stat().st_mtime_ns > written[key] for key in RUNS)


def test_a_manifest_from_before_the_code_stamp_is_read_and_its_runs_redone_once(two_runs_batch, swgdrug_library,
                                                                                 tmp_path):
    inputs, out = done_before(two_runs_batch, tmp_path)
    args = ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out), *TWO_RUNS_OPTIONS]
    # The manifest as stop 44's nps-id wrote it: version 1, no code_stamp in its entries.
    path = out / "manifest.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "version": 1, "entries": {
        key: {k: v for k, v in entry.items() if k != "code_stamp"} for key, entry in data["entries"].items()}}))

    old = CliRunner().invoke(cli, args)
    assert old.exit_code == 0 and "Traceback" not in old.output, old.output
    assert "2 runs: 2 done (0 already done before)" in old.stdout
    (redone,) = [json.loads(line) for line in old.stderr.splitlines() if '"redone"' in line]
    assert redone["reason"] == "no code stamp" and redone["runs"] == RUNS
    # a user knows nps-id's versions, not the project's stops: the message names the manifest's version
    assert "is from an older nps-id (manifest version 1" in redone["message"]
    assert json.loads(path.read_text())["version"] == 3

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "2 runs: 2 done (2 already done before)" in again.stdout, again.output
    assert '"redone"' not in again.stderr


def test_the_stamp_follows_code_and_data_not_bytecode(tmp_path):
    site = _package_copy(tmp_path)
    package = site / "nps_id"
    assert code_stamp(package) == code_stamp()  # the copy is the same code
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "cli.cpython-312.pyc").write_bytes(b"compiled by running, not code")
    assert code_stamp(package) == code_stamp()
    (package / "search" / "analogue_confidence.json").write_bytes(
        (package / "search" / "analogue_confidence.json").read_bytes() + b" ")
    assert code_stamp(package) != code_stamp()


def test_the_library_facts_caches_keep_their_file_names():
    """``_code_key`` shares the stamp's per-file digests; its cache files must keep the names stop 44's gave
    them (a new name rebuilds every lab's library facts cache, ~1 ms a hit row)."""
    from nps_id._installed import package_version
    from nps_id.match.library_facts import _code_key, _taxonomy_file

    files = [Path(nps_id.__file__), _taxonomy_file()]
    stop44 = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files] + [package_version("rdkit"), "lib-sha"]
    assert _code_key(files, "lib-sha") == hashlib.sha256(json.dumps(stop44).encode()).hexdigest()[:32]


def test_a_code_stamp_that_is_no_string_makes_the_manifest_damaged_not_a_traceback(tmp_path):
    entry = {"input": "x.mzML", "sha256": "0" * 64, "params_hash": "0" * 64, "library_sha256": "0" * 64,
             "status": "done", "code_stamp": 5, "outputs": {}}
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"format": "nps-id-batch-manifest", "version": 2, "entries": {"x.mzML": entry}}))
    with pytest.raises(InputError, match="not a usable batch manifest .*'code_stamp' is not a string"):
        Manifest.load(tmp_path)


def test_a_manifest_of_a_newer_nps_id_is_refused_as_newer_and_left_as_it_is(swgdrug_library, tmp_path):
    # a version 4 manifest is a later nps-id's record: "not a usable batch manifest ... remove it" would have
    # the user throw away that nps-id's runs
    inputs, out = two_runs(tmp_path / "in"), tmp_path / "out"
    out.mkdir()
    text = json.dumps({"format": "nps-id-batch-manifest", "version": 4, "entries": {}, "stamps": {}})
    (out / "manifest.json").write_text(text)
    done = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out)])
    assert done.exit_code == 3
    assert "written by a newer nps-id (manifest version 4; this one reads 1, 2 and 3)" in done.output
    assert "remove it" not in done.output and "Traceback" not in done.output
    assert (out / "manifest.json").read_text() == text and not (out / "runs").exists()


def test_a_manifest_version_of_true_is_damaged_not_version_1(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"format": "nps-id-batch-manifest", "version": True, "entries": {}}))
    with pytest.raises(InputError, match="not a usable batch manifest .*version True"):
        Manifest.load(tmp_path)

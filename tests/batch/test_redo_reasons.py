"""A batch says, per run, why a run done before is redone (stop 46), and an upgrade of a package nps-id
computes with (RDKit, numpy, ...) is one such reason.

Until stop 45 only a change of nps-id's code was said; a run redone for another library, other settings or
altered outputs was simply not counted as "already done", and upgrading RDKit under the same nps-id reused
every run computed with the old one. These tests run the real ``match`` pipeline on two LRCFS runs.
"""
from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

import nps_id.batch.runner as runner
from nps_id._code_stamp import DEPENDENCIES, NOT_INSTALLED, UNREADABLE, dependency_versions
from nps_id.batch.manifest import Manifest
from nps_id.batch.runner import results_path
from nps_id.cli import cli
from nps_id.errors import InputError
from tests.batch._inputs import TWO_RUNS, TWO_RUNS_OPTIONS, done_before, two_runs

RUNS = TWO_RUNS


def _batch(inputs: Path, library: Path, out: Path, *extra: str) -> tuple[str, list[dict]]:
    """``nps-id batch`` (exit 0): its standard output and its "redone" events."""
    done = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(library), "-o", str(out), *TWO_RUNS_OPTIONS,
                                    *extra])
    assert done.exit_code == 0 and "Traceback" not in done.output, done.output
    return done.stdout, [event for event in map(json.loads, done.stderr.splitlines()) if event["event"] == "redone"]


def test_the_package_versions_are_read_from_their_metadata_without_importing_them():
    versions = dependency_versions()
    assert list(versions) == list(DEPENDENCIES)
    for name, said in versions.items():  # what pip installed; a package not installed is said so
        if said != NOT_INSTALLED:
            assert said == version(name), name
    assert versions["rdkit"] == version("rdkit") and versions["numpy"] == version("numpy")
    # RDKit's import alone takes ~0.3 s: the stamp must not cost a batch that
    code = ("import sys; from nps_id._code_stamp import dependency_versions; before = set(sys.modules); "
            "dependency_versions(); print(sorted({'rdkit', 'numpy', 'scipy', 'numba', 'h5py', 'pyteomics', 'lxml', "
            "'rainbow'} & (set(sys.modules) - before)))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "[]", imported.stderr


def test_an_upgraded_package_redoes_the_runs_and_names_the_package_and_both_versions(two_runs_batch, swgdrug_library,
                                                                                     tmp_path, monkeypatch):
    inputs, out = done_before(two_runs_batch, tmp_path)
    installed = dependency_versions()
    assert {key: entry.dependencies for key, entry in Manifest.load(out).entries.items()} == \
        {key: installed for key in RUNS}
    written = {key: results_path(out, key).stat().st_mtime_ns for key in RUNS}

    # The same nps-id under a newer RDKit (pip install -U rdkit): nps-id's code stamp is unchanged.
    upgraded = {**installed, "rdkit": "2099.9.9"}
    monkeypatch.setattr(runner, "dependency_versions", lambda: upgraded)
    stdout, redone = _batch(inputs, swgdrug_library, out)
    assert "2 runs: 2 done (0 already done before)" in stdout
    (event,) = redone
    assert event["reason"] == "dependencies" and event["runs"] == RUNS
    assert event["changes"] == {"rdkit": [installed["rdkit"], "2099.9.9"]}
    assert f"dependency rdkit {installed['rdkit']} -> 2099.9.9" in event["message"]
    assert event["message"].startswith(f"redone: 2 runs done before ({', '.join(RUNS)}): ")
    assert all(results_path(out, key).stat().st_mtime_ns > written[key] for key in RUNS)
    assert {entry.dependencies["rdkit"] for entry in Manifest.load(out).entries.values()} == {"2099.9.9"}

    stdout, redone = _batch(inputs, swgdrug_library, out)  # the same versions again: nothing redone
    assert "2 runs: 2 done (2 already done before)" in stdout and not redone


def test_each_run_redone_is_said_with_its_own_reason(two_runs_batch, swgdrug_library, tmp_path):
    inputs, out = done_before(two_runs_batch, tmp_path)
    # The calibrant's entry as a batch against another library left it; the card's results removed by hand.
    path = out / "manifest.json"
    data = json.loads(path.read_text())
    data["entries"][RUNS[0]]["library_sha256"] = "f" * 64
    path.write_text(json.dumps(data))
    results_path(out, RUNS[1]).unlink()

    stdout, redone = _batch(inputs, swgdrug_library, out)
    assert "2 runs: 2 done (0 already done before)" in stdout
    library, outputs = redone
    assert (library["reason"], library["runs"], outputs["reason"], outputs["runs"]) == \
        ("library", RUNS[:1], "outputs", RUNS[1:])
    assert library["message"].startswith(f"redone: 1 run done before ({RUNS[0]}): the library changed since it was "
                                         "done (sha256 now ") and "was ffffffffffff" in library["message"]
    assert f"({RUNS[1]}): its outputs in the output folder were altered or removed since it was done" in outputs["message"]

    stdout, (settings,) = _batch(inputs, swgdrug_library, out, "--min-snr", "5")
    assert (settings["reason"], settings["runs"]) == ("settings", RUNS)
    assert "the settings changed since they were done (match options" in settings["message"]


def test_a_manifest_from_before_the_package_versions_is_read_and_its_runs_redone_once(two_runs_batch, swgdrug_library,
                                                                                      tmp_path):
    inputs, out = done_before(two_runs_batch, tmp_path)
    # The manifest as stop 45's nps-id wrote it: version 2, a code stamp and no package versions.
    path = out / "manifest.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "version": 2, "entries": {
        key: {k: v for k, v in entry.items() if k != "dependencies"} for key, entry in data["entries"].items()}}))

    stdout, (event,) = _batch(inputs, swgdrug_library, out)
    assert "2 runs: 2 done (0 already done before)" in stdout
    assert event["reason"] == "no dependency versions" and event["runs"] == RUNS
    assert f"{path} is from an older nps-id (manifest version 2, before stop 46), which did not record the " \
           "versions of the packages" in event["message"]
    assert json.loads(path.read_text())["version"] == 3

    stdout, redone = _batch(inputs, swgdrug_library, out)
    assert "2 runs: 2 done (2 already done before)" in stdout and not redone


def test_package_versions_that_are_no_table_make_the_manifest_damaged_not_a_traceback(tmp_path):
    entry = {"input": "x.mzML", "sha256": "0" * 64, "params_hash": "0" * 64, "library_sha256": "0" * 64,
             "status": "done", "code_stamp": "0" * 64, "dependencies": {"rdkit": 2025}, "outputs": {}}
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"format": "nps-id-batch-manifest", "version": 3, "entries": {"x.mzML": entry}}))
    with pytest.raises(InputError, match="not a usable batch manifest .*'dependencies' is not a table of versions"):
        Manifest.load(tmp_path)


def _broken_distributions(site: Path) -> Path:
    """Two installed packages whose metadata pip would still list: ``noversion`` with no ``Version`` field
    (a half-written or hand-made dist-info: importlib.metadata says None), ``latin`` with a header in
    Latin-1 before its version (an old build's author name)."""
    for name, header in (("noversion", b"Metadata-Version: 2.1\nName: noversion\n\n"),
                         ("latin", b"Metadata-Version: 2.1\nName: latin\nAuthor: Jos\xe9\nVersion: 1.0\n\n")):
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text("")
        (site / f"{name}-1.0.dist-info").mkdir()
        (site / f"{name}-1.0.dist-info" / "METADATA").write_bytes(header)
    return site


def test_a_package_whose_version_cannot_be_read_is_recorded_as_such_and_the_next_batch_resumes(
        swgdrug_library, tmp_path, monkeypatch):
    # attack46a: a version None was recorded as null, and every later batch on that -o then stopped on a
    # "damaged" manifest (exit 3); a Latin-1 header was a UnicodeDecodeError traceback in every batch (its
    # version is read since the lead's mend of _installed.package_version: the Version line is ASCII).
    monkeypatch.syspath_prepend(str(_broken_distributions(tmp_path / "site")))
    assert dependency_versions(["noversion", "latin"]) == {"noversion": UNREADABLE, "latin": "1.0"}
    monkeypatch.setattr(runner, "dependency_versions", lambda: dependency_versions([*DEPENDENCIES, "noversion", "latin"]))
    inputs, out = two_runs(tmp_path / "in"), tmp_path / "out"
    stdout, _ = _batch(inputs, swgdrug_library, out)
    assert "2 runs: 2 done (0 already done before)" in stdout
    stdout, redone = _batch(inputs, swgdrug_library, out)
    assert "2 runs: 2 done (2 already done before)" in stdout and not redone

    # the importlib_metadata backport, once another package has imported it, answers for the standard
    # library's importlib.metadata and says a missing Version with a KeyError (a traceback in the full suite)
    pytest.importorskip("importlib_metadata", reason="the importlib_metadata backport is not installed")
    assert dependency_versions(["noversion", "latin"]) == {"noversion": UNREADABLE, "latin": "1.0"}


def test_a_manifest_with_versions_null_from_stop_46s_first_build_is_read_and_its_runs_redone(two_runs_batch,
                                                                                           swgdrug_library, tmp_path):
    inputs, out = done_before(two_runs_batch, tmp_path)
    path = out / "manifest.json"  # as 28f0674 wrote it with a package of unreadable version
    data = json.loads(path.read_text())
    for entry in data["entries"].values():
        entry["dependencies"]["rdkit"] = None
    path.write_text(json.dumps(data))
    stdout, (event,) = _batch(inputs, swgdrug_library, out)
    assert "2 runs: 2 done (0 already done before)" in stdout
    assert event["reason"] == "dependencies" and event["runs"] == RUNS and set(event["changes"]) == {"rdkit"}


def test_runs_left_from_a_version_1_manifest_are_said_as_such_after_the_file_became_version_3(two_runs_batch,
                                                                                               swgdrug_library, tmp_path):
    # A version 1 manifest (before stop 45) of two runs; a batch of one of them rewrites the file as version 3,
    # the other's entry still without a code stamp. The next batch of both called the file "from an older
    # nps-id (manifest version 1, ...)": it is version 3 (attack46a).
    inputs, out = done_before(two_runs_batch, tmp_path)
    path = out / "manifest.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "version": 1, "entries": {
        key: {k: v for k, v in entry.items() if k not in ("code_stamp", "dependencies")}
        for key, entry in data["entries"].items()}}))
    one = tmp_path / "one"
    one.mkdir()
    (one / RUNS[0]).symlink_to((inputs / RUNS[0]).resolve())
    _batch(one, swgdrug_library, out)
    assert json.loads(path.read_text())["version"] == 3

    stdout, (event,) = _batch(inputs, swgdrug_library, out)
    assert "2 runs: 2 done (1 already done before)" in stdout
    assert event["reason"] == "no code stamp" and event["runs"] == [RUNS[1]]
    assert "manifest version 1" not in event["message"], event["message"]
    assert event["message"].endswith(f"({RUNS[1]}): its entry in {path} was written by an older nps-id (before stop "
                                     "45), which did not record the code that made it")

"""The batch machinery on real files: parallel workers, failures recorded, resume, crashes.

Stand-in processors (count the spectra of a run, or read its first scan) keep these tests fast;
tests/commands/test_batch_cli.py runs the real ``match`` pipeline, including a batch killed
mid-way and resumed.
"""
from __future__ import annotations

import json
from pathlib import Path

from tests.batch._inputs import batch_inputs  # noqa: F401 (fixture)
from tests.batch._processors import count_spectra, crash_on, describe, grow_once

from tests.conftest import data_path
from nps_id.batch.discover import discover
from nps_id.batch.manifest import Manifest
from nps_id.batch.runner import results_path, run_batch

GOOD = ["220223001.mzML", "220223002.mzML", "220223008.mzML", "220223010.mzML", "220223016.mzML", "220223030.mzML"]
SCANS_PER_LRCFS_RUN = 2430  # data README: 2,430 centroided scans each


def _results(out: Path, key: str) -> dict:
    return json.loads(results_path(out, key).read_text())


def test_bad_files_are_recorded_and_the_rest_of_the_batch_goes_on(batch_inputs, tmp_path):
    assert [r.key for r in discover([batch_inputs]).runs] == GOOD + ["agilent-gcms-tic.cdf", "corrupt.mzML"]
    runs = discover([batch_inputs], exclude=["*01[06].mzml", "*030.*"]).runs  # 3 good runs are enough here
    out = tmp_path / "out"
    result = run_batch(runs, out, count_spectra, {"mode": "count"}, "lib-1", workers=2)
    assert (result.total, result.processed, result.skipped) == (5, 5, 0)
    assert sorted(key for key, _, _ in result.failed) == ["agilent-gcms-tic.cdf", "corrupt.mzML"]
    reasons = {key: why for key, _, why in result.failed}
    assert "corrupt.mzML" in reasons["corrupt.mzML"] and "truncated" in reasons["corrupt.mzML"]
    assert "agilent-gcms-tic.cdf" in reasons["agilent-gcms-tic.cdf"]
    for key in GOOD[:3]:
        assert _results(out, key)["n_spectra"] == SCANS_PER_LRCFS_RUN
    assert not results_path(out, "corrupt.mzML").exists()
    manifest = Manifest.load(out)
    assert {k: e.status for k, e in manifest.entries.items()} == {
        **{k: "done" for k in GOOD[:3]}, "agilent-gcms-tic.cdf": "failed", "corrupt.mzML": "failed"}
    assert manifest.entries["corrupt.mzML"].error == reasons["corrupt.mzML"]

    # A re-run skips what is done and retries only the failures.
    again = run_batch(runs, out, count_spectra, {"mode": "count"}, "lib-1", workers=2)
    assert (again.processed, again.skipped, len(again.failed)) == (2, 3, 2)


def test_a_rerun_redoes_exactly_what_changed(batch_inputs, tmp_path):
    runs = [r for r in discover([batch_inputs]).runs if r.key in GOOD[:3]]
    out = tmp_path / "out"
    run_batch(runs, out, describe, {"mode": "count"}, "lib-1", workers=1)
    stamp = {k: results_path(out, k).stat().st_mtime_ns for k in GOOD[:3]}

    # The input behind one key changes (a re-acquired run): only that run is redone.
    changed = batch_inputs / GOOD[1]
    changed.unlink()
    changed.symlink_to(batch_inputs / "220223030.mzML")
    assert run_batch(runs, out, describe, {"mode": "count"}, "lib-1", workers=1).processed == 1
    # A result altered on disk is not trusted.
    results_path(out, GOOD[2]).write_text("{}")
    assert run_batch(runs, out, describe, {"mode": "count"}, "lib-1", workers=1).processed == 1
    assert _results(out, GOOD[2])["first_peaks"] > 0
    assert results_path(out, GOOD[0]).stat().st_mtime_ns == stamp[GOOD[0]]
    # New parameters or a new library redo everything.
    assert run_batch(runs, out, describe, {"mode": "other"}, "lib-1", workers=1).processed == 3
    assert run_batch(runs, out, describe, {"mode": "other"}, "lib-2", workers=1).processed == 3
    assert run_batch(runs, out, describe, {"mode": "other"}, "lib-2", workers=1).processed == 0


def test_a_worker_process_that_dies_fails_its_run_only(batch_inputs, tmp_path):
    runs = [r for r in discover([batch_inputs]).runs if r.key in GOOD[:3]]
    result = run_batch(runs, tmp_path / "out", crash_on, {"crash_name": GOOD[1]}, "lib", workers=2)
    assert [key for key, _, _ in result.failed] == [GOOD[1]]
    assert "worker process died" in result.failed[0][2]
    assert {k for k, e in result.manifest.entries.items() if e.status == "done"} == {GOOD[0], GOOD[2]}


def test_a_run_that_vanishes_before_hashing_fails_alone(batch_inputs, tmp_path):
    runs = [r for r in discover([batch_inputs]).runs if r.key in GOOD[:2]]
    (batch_inputs / GOOD[0]).unlink()  # e.g. moved away by the instrument PC mid-batch
    result = run_batch(runs, tmp_path / "out", describe, {}, "lib", workers=1)
    assert [(key, "cannot read" in why) for key, _, why in result.failed] == [(GOOD[0], True)]
    assert result.manifest.entries[GOOD[1]].status == "done"


def test_a_run_written_to_while_it_is_matched_gets_no_results_and_is_redone(tmp_path):
    # a run the instrument PC is still writing: its results would be of other bytes than the SHA-256
    # the manifest records for them (stop 51: batch, like search, checks the file it read)
    import shutil

    folder = tmp_path / "in"
    folder.mkdir()
    for name in GOOD[:2]:  # copies: the test writes to one
        shutil.copyfile(data_path("gcms", "lrcfs", name), folder / name)
    marker = tmp_path / "grow"
    marker.touch()
    runs = discover([folder]).runs
    out = tmp_path / "out"
    params = {"grow_name": GOOD[1], "marker": str(marker)}
    result = run_batch(runs, out, grow_once, params, "lib", workers=1)
    assert [key for key, _, _ in result.failed] == [GOOD[1]]
    assert "changed while it was read" in result.failed[0][2] and "nothing written" in result.failed[0][2]
    assert not results_path(out, GOOD[1]).exists()
    assert results_path(out, GOOD[0]).exists() and result.manifest.entries[GOOD[0]].status == "done"
    # the next batch matches the file as it now is, and records that file's digest
    again = run_batch(runs, out, grow_once, params, "lib", workers=1)
    assert (again.processed, again.skipped, again.failed) == (1, 1, [])
    assert _results(out, GOOD[1])["run"]["bytes"] == (folder / GOOD[1]).stat().st_size


def test_a_dask_worker_on_a_clone_of_the_scheduler_s_machine_compares_only_size_and_modification_time(
        tmp_path, monkeypatch):
    # cloned VMs keep one host name; a network share shows each its own device numbers (and inodes, change
    # times) for the same file. Told apart by host name alone, the worker compared those and failed every
    # unchanged run (attack51)
    import shutil

    from nps_id import _file_state
    from nps_id.batch.manifest import file_sha256
    from nps_id.batch.runner import Task, work

    run = tmp_path / GOOD[0]
    shutil.copyfile(data_path("gcms", "lrcfs", GOOD[0]), run)
    size, device, inode, mtime, ctime = _file_state.file_state(run)
    on_the_scheduler = (size, device + 1, inode + 1, mtime, ctime + 1)  # the same file seen through another mount
    task = Task(GOOD[0], str(run), str(tmp_path / "out" / "r.match.json"), {}, {str(run): file_sha256(run)},
                describe, states={str(run): on_the_scheduler})
    monkeypatch.setattr(_file_state, "_boot_id", lambda: "another boot", raising=False)
    outcome = work(task)
    assert outcome.status == "done", outcome.error
    with open(run, "ab") as fh:  # a run that did change is still caught there
        fh.write(b"\n")
    outcome = work(task)
    assert outcome.status == "failed" and "changed while it was read" in outcome.error


def test_a_run_given_a_hard_link_after_it_was_hashed_is_matched_and_one_rewritten_keeping_its_time_is_not(tmp_path):
    # hours can pass between the batch hashing a run and a worker checking it: a chmod or a hard link made
    # meanwhile moves only the change time, and failed a run whose bytes nobody touched (attack51)
    import os
    import shutil

    from nps_id._file_state import file_state
    from nps_id.batch.manifest import file_sha256
    from nps_id.batch.runner import Task, work

    run = tmp_path / GOOD[0]
    shutil.copyfile(data_path("gcms", "lrcfs", GOOD[0]), run)
    task = Task(GOOD[0], str(run), str(tmp_path / "out" / "r.match.json"), {}, {str(run): file_sha256(run)},
                describe, states={str(run): file_state(run)})
    os.link(run, tmp_path / "backup.mzML")
    outcome = work(task)
    assert outcome.status == "done", outcome.error
    before = run.stat()
    with open(run, "r+b") as fh:  # the same size, another last byte, its time put back (cp -p)
        fh.seek(-1, os.SEEK_END)
        fh.write(b" ")
    os.utime(run, ns=(before.st_atime_ns, before.st_mtime_ns))
    outcome = work(task)
    assert outcome.status == "failed" and "its change time only" in outcome.error, outcome.error


def test_a_manifest_saved_with_a_byte_order_mark_still_resumes_the_batch(batch_inputs, tmp_path):
    """A manifest opened and saved in a Windows editor (a BOM added) stopped the batch as damaged."""
    runs = [r for r in discover([batch_inputs]).runs if r.key in GOOD[:2]]
    out = tmp_path / "out"
    run_batch(runs, out, describe, {"mode": "count"}, "lib-1", workers=1)
    manifest = out / "manifest.json"
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())
    again = run_batch(runs, out, describe, {"mode": "count"}, "lib-1", workers=1)
    assert (again.processed, again.skipped) == (0, 2)

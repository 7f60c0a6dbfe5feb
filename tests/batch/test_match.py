"""The batch's real per-run work (MatchProcessor): every input is hashed once per batch, and the
results quote the digest the manifest records."""
from __future__ import annotations

import json

import pytest

from nps_id.batch import match as batch_match
from nps_id.batch import runner
from nps_id.batch.discover import discover
from nps_id.batch.match import MatchProcessor
from tests._hash_calls import count_hash_calls
from tests.conftest import data_path
from tests.test_hashing import D_SHA256


@pytest.mark.slow
def test_each_input_is_hashed_once_and_its_digest_reaches_the_results(tmp_path, monkeypatch, swgdrug_library):
    lrcfs = data_path("gcms", "lrcfs")
    sequence = tmp_path / "sequence"
    sequence.mkdir()
    blank = sequence / "220223001.mzML"
    blank.symlink_to(lrcfs / "220223001.mzML")
    folder = sequence / "220223008.D"
    folder.symlink_to(lrcfs / "agilent-D" / "220223008.D")
    runs = discover([sequence]).runs
    assert [r.key for r in runs] == ["220223001.mzML", "220223008.D"]
    # Workers are spawned processes, out of monkeypatch's reach: run the tasks here instead.
    monkeypatch.setattr(runner, "_run_local",
                        lambda tasks, workers, record: [record(runner.work(task)) for task in tasks])
    monkeypatch.setattr(batch_match, "_LIBRARIES", {})  # no library handle kept past this test
    calls = count_hash_calls(monkeypatch)
    processor = MatchProcessor(str(swgdrug_library))
    out = tmp_path / "out"
    result = runner.run_batch(runs, out, processor, processor.describe(), "lib", blank_pattern="*001*",
                              workers=1)

    assert not result.failed
    assert calls[str(blank)] == calls[str(folder)] == 1
    entries = result.manifest.entries
    results = json.loads(runner.results_path(out, "220223008.D").read_text())
    assert results["run"]["sha256"] == entries["220223008.D"].sha256 == D_SHA256
    assert results["parameters"]["blank"]["sha256"] == entries["220223001.mzML"].sha256


def test_a_blank_of_the_batch_says_so_in_its_results_and_exports_no_leads(tmp_path, monkeypatch, swgdrug_library):
    # `batch --blank-pattern`: the blank's results read as a sample's (no note), so its reports and
    # EWA export did too; they now carry the note `match --blank` gives its blank.
    from nps_id.match.results import BLANK_ITSELF_NOTE
    from nps_id.report.document import build_report

    sequence = tmp_path / "sequence"
    sequence.mkdir()
    for name in ("220223001.mzML", "220223016.mzML"):
        (sequence / name).symlink_to(data_path("gcms", "lrcfs", name))
    monkeypatch.setattr(runner, "_run_local",
                        lambda tasks, workers, record: [record(runner.work(task)) for task in tasks])
    monkeypatch.setattr(batch_match, "_LIBRARIES", {})
    processor = MatchProcessor(str(swgdrug_library))
    out = tmp_path / "out"
    result = runner.run_batch(discover([sequence]).runs, out, processor, processor.describe(), "lib",
                              blank_pattern="*001*", workers=1)
    assert not result.failed
    blank, sample = (json.loads(runner.results_path(out, key).read_text()) for key in ("220223001.mzML", "220223016.mzML"))
    assert BLANK_ITSELF_NOTE in blank["notes"] and BLANK_ITSELF_NOTE not in sample["notes"]
    assert build_report(blank)["acquisitions"][0]["checks"]["blank_itself"] is True


def test_spawned_workers_do_not_say_again_a_cache_folder_their_parent_said(tmp_path, swgdrug_library):
    """`batch -j 2` with a cache folder that cannot be written: the command says it once; each spawned
    worker said it again in Python's own form, with a source line (attack40a)."""
    import os
    import subprocess
    import sys

    runs = tmp_path / "runs"
    runs.mkdir()
    for name in ("220223001.mzML", "220223002.mzML"):
        (runs / name).symlink_to(data_path("gcms", "lrcfs", name))
    (tmp_path / "a-file").write_text("")
    env = {**os.environ, "NPS_ID_CACHE": str(tmp_path / "a-file" / "cache")}
    done = subprocess.run([sys.executable, "-m", "nps_id", "batch", str(runs), "-l", str(swgdrug_library),
                           "-o", str(tmp_path / "out"), "-j", "2"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "not written" in line]
    assert len(said) == 1 and said[0].startswith("nps-id: warning: "), done.stderr
    assert "UserWarning" not in done.stderr and "2 runs: 2 done" in done.stderr + done.stdout

"""benchmarks/bench_novelty.py's outputs (stop 44): ``--details`` and ``--json`` are written atomically, one
onto the other is refused before any work, and a refusal exits with the project's input-error code (3; it was
1, the code of a found match or a failed item), one line, no traceback."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_novelty.py"


def _bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # --task none: no task runs, so no library is read; the outputs are still written (a header, no rows)
    return subprocess.run([sys.executable, str(SCRIPT), "--swgdrug", str(tmp_path / "s.h5"), "--massbank-ei",
                           str(tmp_path / "e.h5"), "--task", "none", *args], capture_output=True, text=True,
                          timeout=120)


def _one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [l for l in result.stderr.splitlines() if l.startswith("bench_novelty: error: ")]
    return line


def test_details_onto_the_json_rows_is_refused_before_any_work(tmp_path):
    kept = tmp_path / "rows.tsv"
    kept.write_text("an earlier run\n", encoding="utf-8")
    line = _one_line(_bench(tmp_path, "--details", str(kept), "--json", str(tmp_path / "." / "rows.tsv")))
    assert "is both --details and --json" in line
    assert kept.read_text(encoding="utf-8") == "an earlier run\n"


def test_details_onto_an_input_is_exit_3(tmp_path):
    library = tmp_path / "e.h5"
    library.write_bytes(b"a library")
    line = _one_line(_bench(tmp_path, "--details", str(library)))
    assert "is an input of this command" in line and library.read_bytes() == b"a library"


def test_the_outputs_are_written_whole_or_refused_in_one_line(tmp_path):
    details, rows = tmp_path / "d.tsv", tmp_path / "r.json"
    result = _bench(tmp_path, "--details", str(details), "--json", str(rows))
    assert result.returncode == 0, result.stderr
    assert details.read_text(encoding="utf-8").startswith("task\tquery\ttop_hit\t") and rows.read_text() == "[]\n"
    assert not [p.name for p in tmp_path.iterdir() if ".tmp" in p.name]  # through the atomic writer
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    line = _one_line(_bench(tmp_path, "--details", str(tmp_path / "a-file" / "d.tsv")))
    assert "cannot write the output here" in line
    line = _one_line(_bench(tmp_path, "--details", "/dev/full"))
    assert "/dev/full" in line


def test_details_onto_a_fold_model_or_a_cached_hit_list_is_refused(tmp_path):
    # both folders are read, not named as inputs until stop 44's attack: the TSV replaced what it named
    folds, cache = tmp_path / "folds", tmp_path / "cache"
    folds.mkdir()
    cache.mkdir()
    model, hits = folds / "fold-ei-0.npz", cache / "swgdrug-lco-top200.npz"
    model.write_bytes(b"a fold model")
    hits.write_bytes(b"hours of searches")
    for target in (model, hits):
        line = _one_line(_bench(tmp_path, "--group-folds", str(folds), "--cache", str(cache), "--details", str(target)))
        assert "is an input of this command" in line
    assert model.read_bytes() == b"a fold model" and hits.read_bytes() == b"hours of searches"


def test_a_group_folds_folder_that_is_not_there_is_refused_not_read_as_the_shipped_models(tmp_path):
    # a mistyped --group-folds gave the shipped models' groups (trained on every compound: too good) with a note
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    for given in (tmp_path / "fold", tmp_path / "a-file"):
        line = _one_line(_bench(tmp_path, "--group-folds", str(given)))
        assert line == f"bench_novelty: error: --group-folds: {given}: no such folder"


def test_an_output_that_cannot_be_written_is_refused_before_the_libraries_are_read(tmp_path):
    """--details (or --json, or a --cache to fill) that cannot be written was found when it was written, after the
    whole run (stop 45): now one line before any work -- here before the (missing) library is read."""
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    blocked = str(tmp_path / "a-file" / "out")
    for option in ("--details", "--json", "--cache"):
        line = _one_line(_bench(tmp_path, option, blocked, "--task", "swgdrug-lco"))
        assert line.startswith(f"bench_novelty: error: {option}: ") and "cannot write the output here" in line
    assert not (tmp_path / "s.h5").exists() and (tmp_path / "a-file").read_text(encoding="utf-8") == "x"
    line = _one_line(_bench(tmp_path, "--details", str(tmp_path)))  # a folder: the rename would fail at the end
    assert line == f"bench_novelty: error: --details: {tmp_path}: is a folder; name a file"


def test_a_missing_library_is_one_line_exit_4_before_any_task(tmp_path):
    """The MassBank libraries were opened after the SWGDRUG tasks' minutes: a mistyped path was a traceback, exit 1
    (stop 45); now one line, the project's library code (4), before any task."""
    result = _bench(tmp_path, "--task", "massbank-ei-present", "--task", "swgdrug-lco")
    assert result.returncode == 4 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1] == f"bench_novelty: error: --swgdrug: {tmp_path / 's.h5'}: no such library file"
    (tmp_path / "e.h5").write_bytes(b"no HDF5 file")  # there but damaged: the library's own line, exit 4
    result = _bench(tmp_path, "--task", "massbank-ei-present")
    assert result.returncode == 4 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"bench_novelty: error: {tmp_path / 'e.h5'}")

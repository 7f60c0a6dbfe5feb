"""Hostile inputs against the commands (issue 12 items 1, 2, 9, 10, 12, 13, 15; issue 15).

Trick folders and files come from the seeded makers of :mod:`tests.hostile.commands`. Whatever
could hang (symlink loops, FIFOs, ``/dev/zero``) runs ``python -m nps_id`` in a subprocess with a
timeout, so a regression fails the test instead of stalling the suite.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from tests.conftest import data_path
from tests.hostile.commands import (
    BAD_NAME, HOSTILE_SUITE_VALUES, SMALL_LIBRARY_SOURCE, SMALL_RUN, TIC_ONLY_RUN, bad_name_run, hostile_manifest,
    regress_suite, run_folder, special_files_folder, symlink_loop_folder,
)

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [1, 2, 3]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """A 10-spectrum EI library (matching the small run takes well under a second)."""
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    out = tmp_path_factory.mktemp("tiny-library") / "tiny.h5"
    build_library([data_path(*SMALL_LIBRARY_SOURCE)], out, name="tiny", release="1", index_builder=build_indexes)
    return out


@pytest.fixture
def run(tmp_path) -> Path:
    path = tmp_path / "run.ms1"
    path.write_bytes(data_path(*SMALL_RUN).read_bytes())
    return path


def nps_id(*args, timeout: float = 120, cwd: Path | None = None, preexec=None) -> subprocess.CompletedProcess:
    """``python -m nps_id ARGS`` from this checkout, as a user runs it (real stdout/stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "nps_id", *map(str, args)], capture_output=True, text=True,
                          errors="replace", timeout=timeout, cwd=cwd, env=env, preexec_fn=preexec)


def refused(result, code: int = 3) -> str:
    """The single stderr line of a refused command (exit ``code``, no traceback); works for a
    CliRunner result and a subprocess alike."""
    exit_code = result.returncode if hasattr(result, "returncode") else result.exit_code
    assert exit_code == code, (exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nps-id: error: "), result.stderr
    return lines[0]


# -- 12.1 / 15: no command writes onto one of its inputs -----------------------------------------


def _alias(path: Path, how: str) -> Path:
    """``path`` itself, a symlink to it, or a hard link to it."""
    if how == "same":
        return path
    alias = path.with_name(f"{how}-{path.name}")
    (alias.symlink_to if how == "symlink" else alias.hardlink_to)(path)
    return alias


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink"])
def test_match_json_onto_its_own_run_is_refused(library, run, how):
    before = run.read_bytes()
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(library), "--json", str(_alias(run, how))])
    assert "is an input" in refused(result)
    assert run.read_bytes() == before


def test_match_output_folder_onto_an_input_is_refused(library, run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    alkanes = out / f"{run.name}.match.json"  # the results file match -o would write
    alkanes.write_text("C,rt\n10,1.0\n")
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(library), "-o", str(out), "--alkanes", str(alkanes)])
    assert "is an input" in refused(result)
    assert alkanes.read_text() == "C,rt\n10,1.0\n"


@pytest.mark.parametrize("fmt, how", [("json", "same"), ("csv", "same"), ("csv", "symlink"), ("html", "hardlink")])
def test_report_onto_its_results_is_refused(library, run, tmp_path, fmt, how):
    results = tmp_path / "R.match.json"
    assert CliRunner().invoke(cli, ["match", str(run), "-l", str(library), "--json", str(results)]).exit_code == 0
    before = results.read_bytes()
    result = CliRunner().invoke(cli, ["report", str(results), "-f", fmt, "-o", str(_alias(results, how))])
    assert "is an input" in refused(result)
    assert results.read_bytes() == before
    json_too = CliRunner().invoke(cli, ["report", str(results), "-f", "csv", "-o", str(tmp_path / "r.csv"),
                                        "--json", str(results)])
    refused(json_too)
    assert results.read_bytes() == before and not (tmp_path / "r.csv").exists()


def test_library_export_onto_the_library_is_refused(library, tmp_path):
    copy = tmp_path / "lib.h5"
    copy.write_bytes(library.read_bytes())
    result = CliRunner().invoke(cli, ["library", "export", str(copy), "-o", str(_alias(copy, "hardlink"))])
    assert "is an input" in refused(result)
    assert copy.read_bytes() == library.read_bytes()


def test_convert_onto_its_source_through_a_hard_link_is_refused(run):
    before = run.read_bytes()
    result = CliRunner().invoke(cli, ["convert", str(run), "-o", str(_alias(run, "hardlink")), "--to", "msp"])
    assert "is an input" in refused(result)
    assert run.read_bytes() == before


def test_search_and_library_build_refuse_with_the_same_exit_code(library, run, tmp_path):
    msp = tmp_path / "q.msp"
    msp.write_bytes(data_path(*SMALL_LIBRARY_SOURCE).read_bytes())
    assert "is an input" in refused(CliRunner().invoke(cli, ["search", str(msp), "-l", str(library), "-o", str(msp)]))
    assert "is an input" in refused(CliRunner().invoke(cli, ["library", "build", str(msp), "-o", str(msp)]))


def test_regress_junit_onto_the_suite_is_refused(library, run, tmp_path):
    suite = regress_suite(tmp_path / "suite.toml", library,
                          {"name": '"small"', "run": json.dumps(str(run)), "absent": '["Cocaine"]'})
    before = suite.read_bytes()
    result = CliRunner().invoke(cli, ["regress", str(suite), "--junit", str(_alias(suite, "symlink"))])
    assert "is an input" in refused(result)
    assert suite.read_bytes() == before


@pytest.mark.parametrize("command", ["search", "library build", "convert"])
def test_an_output_that_is_a_symlink_loop_is_refused_in_one_line(library, tmp_path, command):
    msp = tmp_path / "q.msp"
    msp.write_bytes(data_path(*SMALL_LIBRARY_SOURCE).read_bytes())
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop-back")
    (tmp_path / "loop-back").symlink_to(loop)
    extra = {"search": ["-l", str(library)], "library build": [], "convert": ["--to", "msp"]}[command]
    result = CliRunner().invoke(cli, [*command.split(), str(msp), *extra, "-o", str(loop)])
    assert "symbolic link loop" in refused(result)
    assert loop.is_symlink() and (tmp_path / "loop-back").is_symlink()


@pytest.mark.parametrize("where", ["the input folder", "around an input", "a sub-folder holding a run"])
def test_batch_out_dir_onto_its_inputs_is_refused(library, tmp_path, where):
    inputs = run_folder(tmp_path / "in", seed=7)
    out = {"the input folder": inputs, "around an input": tmp_path,
           "a sub-folder holding a run": run_folder(inputs / "a", seed=8, n=1)}[where]
    before = {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()}
    result = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(library), "-o", str(out), "-j", "1"])
    refused(result)
    assert {p: p.read_bytes() for p in inputs.rglob("*") if p.is_file()} == before


# -- 15: match -o never silently replaces results of other inputs, settings or library -------------


def test_match_refuses_to_replace_other_results_unless_overwrite(library, run, tmp_path):
    out = tmp_path / "results"
    first = CliRunner().invoke(cli, ["match", str(run), "-l", str(library), "-o", str(out)])
    assert first.exit_code == 0, first.output
    target = out / f"{run.name}.match.json"
    again = CliRunner().invoke(cli, ["match", str(run), "-l", str(library), "-o", str(out)])
    assert again.exit_code == 0, again.output  # an identical re-run may rewrite it
    kept = target.read_bytes()
    other = CliRunner().invoke(cli, ["match", str(run), "-l", str(library), "-o", str(out), "--min-snr", "5"])
    assert "--overwrite" in refused(other)
    assert target.read_bytes() == kept
    other_library = tmp_path / "other.h5"
    from nps_id.library import build_library

    build_library([data_path(*SMALL_LIBRARY_SOURCE), data_path("formats", "matchms-tests",
                                                               "rcx_gc-ei_ms_20201028_perylene.msp")],
                  other_library, name="other", release="2")
    refused(CliRunner().invoke(cli, ["match", str(run), "-l", str(other_library), "-o", str(out)]))
    assert target.read_bytes() == kept
    forced = CliRunner().invoke(cli, ["match", str(run), "-l", str(other_library), "-o", str(out), "--overwrite"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(target.read_text())["library"]["name"] == "other"


def test_match_replaces_results_and_reports_as_one_set_or_not_at_all(library, run, tmp_path):
    """A report that cannot be written (here a folder in its way; a full disk alike) left the new
    results beside the earlier analysis's reports, exit 3."""
    out = tmp_path / "results"
    first = CliRunner().invoke(cli, ["match", str(run), "-l", str(library), "-o", str(out)])
    assert first.exit_code == 0, first.output
    target = out / f"{run.name}.match.json"
    kept = target.read_bytes()
    (out / f"{run.stem}.report.html").mkdir()
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(library), "-o", str(out), "--min-snr", "5",
                                      "--overwrite", "--report", "html"])
    assert "report.html: cannot write the output here" in refused(result)
    assert target.read_bytes() == kept and not (out / f"{run.stem}.report.json").exists()


def test_sigterm_while_an_output_is_written_ends_as_ctrl_c_does(tmp_path):
    """`kill`, `timeout` and job schedulers send SIGTERM: it ended the process on the spot and left
    the half-written temporary file beside the output (and a build's lock). Now: removed, one
    line, exit 143."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "nps_id", "convert", str(data_path("gcms", "andi", "agilent-gcms.cdf")),
                             "-o", "out.mzML"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.mzML.tmp-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the conversion ended before the signal came")  # never seen: it writes for ~1 s
    assert (proc.returncode, err.decode()) == (143, "nps-id: terminated\n")
    assert list(tmp_path.iterdir()) == []


# -- 12.2: batch never removes or writes outside OUT_DIR ------------------------------------------


@pytest.mark.parametrize("outside", ["../victim.txt", "absolute", "runs/../../victim.txt"])
def test_a_manifest_naming_outputs_outside_out_dir_is_damaged(library, tmp_path, outside):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "tic.cdf").symlink_to(data_path(*TIC_ONLY_RUN))  # fails every time: its outputs are removed
    out = tmp_path / "out"
    hostile_manifest(out, "tic.cdf", [str(victim) if outside == "absolute" else outside])
    result = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(library), "-o", str(out), "-j", "1"])
    assert "manifest" in refused(result)
    assert victim.read_text() == "precious"


def test_a_manifest_nested_too_deeply_is_damaged_in_one_line(library, tmp_path):
    # valid JSON, deeper than the parser's stack: a RecursionError traceback until stop 30
    inputs = run_folder(tmp_path / "in", seed=1, n=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    result = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(library), "-o", str(out), "-j", "1"])
    assert "not a usable batch manifest (maximum recursion depth exceeded" in refused(result)


def test_a_run_folder_linked_outside_out_dir_is_not_written_through(library, tmp_path):
    inputs = run_folder(tmp_path / "in", seed=3, n=1)
    (name,) = [p.name for p in inputs.iterdir()]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / name).symlink_to(elsewhere)
    result = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(library), "-o", str(out), "-j", "1"])
    assert result.exit_code == 1, result.output
    assert "outside" in result.stdout
    assert list(elsewhere.iterdir()) == []


# -- 12.9: loops, FIFOs and devices never hang a batch or a suite; each run is bounded -------------


def _manifest_keys(out: Path) -> list[str]:
    return sorted(json.loads((out / "manifest.json").read_text())["entries"])


@pytest.mark.parametrize("loops", [1, 2])
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_symlink_loops_visit_each_run_once(library, tmp_path, loops, seed):
    inputs = symlink_loop_folder(tmp_path / "in", seed, loops)
    out = tmp_path / "out"
    result = nps_id("batch", inputs, "-l", library, "-o", out, "-j", "1", timeout=90)
    assert result.returncode == 0, result.stderr
    assert len(_manifest_keys(out)) == 3  # two runs at the top, one in the sub-folder
    assert "3 runs: 3 done" in result.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
@pytest.mark.parametrize("seed", SEEDS)
def test_fifo_and_dev_zero_are_skipped_with_a_reason(library, tmp_path, seed):
    inputs = special_files_folder(tmp_path / "in", seed)
    out = tmp_path / "out"
    result = nps_id("batch", inputs, "-l", library, "-o", out, "-j", "1", timeout=90)
    assert result.returncode == 0, result.stderr
    assert len(_manifest_keys(out)) == 1
    assert result.stderr.count("not a regular file") == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_regress_with_a_fifo_run_is_a_case_error_not_a_hang(library, tmp_path):
    fifo = tmp_path / "x.mzML"
    os.mkfifo(fifo)
    suite = regress_suite(tmp_path / "suite.toml", library,
                          {"name": '"fifo"', "run": json.dumps(str(fifo)), "absent": '["Cocaine"]'})
    result = nps_id("regress", suite, timeout=90)
    assert result.returncode == 3, result.stderr
    assert "not a regular file" in result.stdout


def test_a_run_that_takes_too_long_fails_alone_and_the_batch_goes_on(tmp_path):
    from nps_id.batch import discover, run_batch
    from tests.batch._processors import sleep_on

    inputs = run_folder(tmp_path / "in", seed=5, n=2)
    slow = sorted(p.name for p in inputs.iterdir())[0]
    start = time.monotonic()
    result = run_batch(discover([inputs]).runs, tmp_path / "out", sleep_on, {"slow_name": slow}, "lib",
                       workers=1, timeout_seconds=2)
    assert time.monotonic() - start < 30
    assert [(key, "timed out") for key, _, reason in result.failed if "timed out after 2 s" in reason] == \
        [(slow, "timed out")]
    assert result.total - len(result.failed) == 1


# -- 12.10: workers die with a killed batch ------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in fh)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_the_batch_is_killed(tmp_path):
    inputs = run_folder(tmp_path / "in", seed=9, n=2)
    pids = tmp_path / "pids"
    pids.mkdir()
    script = (
        "import sys; from nps_id.batch import discover, run_batch; from tests.batch._processors import sleep_on\n"
        f"run_batch(discover([{str(inputs)!r}]).runs, {str(tmp_path / 'out')!r}, sleep_on, "
        f"{{'slow_name': '*', 'pid_dir': {str(pids)!r}}}, 'lib', workers=2)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(_alive, workers)), workers


# -- 12.12: a full disk or /dev/full is one line, the previous output intact ----------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("command", ["convert", "search", "match"])
def test_dev_full_is_one_line_exit_3(library, run, command):
    args = {"convert": ["convert", run, "-o", "/dev/full", "--to", "msp"],
            "search": ["search", data_path(*SMALL_LIBRARY_SOURCE), "-l", library, "-o", "/dev/full"],
            "match": ["match", run, "-l", library, "--json", "/dev/full"]}[command]
    assert "/dev/full" in refused(nps_id(*args))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("command", ["search", "match", "inspect", "library info", "--version"])
def test_standard_output_onto_dev_full_is_one_line_exit_3(library, run, command):
    """`nps-id ... > /dev/full` (or a full disk under `> file`): a traceback and exit 1 (stop 28),
    or Python's "Exception ignored" and exit 120 for output still buffered at exit; now one line
    naming standard output, exit 3."""
    args = {"search": ["search", data_path(*SMALL_LIBRARY_SOURCE), "-l", library],
            "match": ["match", run, "-l", library], "inspect": ["inspect", run],
            "library info": ["library", "info", library], "--version": ["--version"]}[command]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8"}
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "nps_id", *map(str, args)], stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    result.stdout = ""
    assert refused(result) == ("nps-id: error: standard output: cannot write (No space left on device); "
                               "what was written of it is incomplete")


@pytest.mark.parametrize("command", ["convert", "match"])
def test_a_full_disk_keeps_the_previous_output_and_no_temporary_file(library, run, tmp_path, command):
    out = tmp_path / "out" / ("r.msp" if command == "convert" else "r.json")
    out.parent.mkdir()
    out.write_text("previous")
    args = ["convert", run, "-o", out] if command == "convert" else ["match", run, "-l", library, "--json", out]
    # The file-size limit stands in for a full disk: writing past it fails with EFBIG, as ENOSPC would.
    result = nps_id(*args, preexec=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64)))
    # The disk is full for the caches too: a first use of the library also says, once, that its
    # verification record or copies were not written (a true warning; whether this worker met the
    # library before decides it). The output's refusal is the one error line, and the last.
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 3, result.stderr
    assert lines[-1].startswith(f"nps-id: error: {out}: cannot write the output here (File too large)"), lines
    assert all(line.startswith("nps-id: warning: ") and "not written" in line for line in lines[:-1]), lines
    assert out.read_text() == "previous" and [p.name for p in out.parent.iterdir()] == [out.name]


# -- 12.13: a file name that is not UTF-8 is printed, and every output still written ---------------


def test_inspect_and_match_print_a_non_utf8_name(library, tmp_path):
    path = bad_name_run(tmp_path)
    for args in (["inspect", path], ["match", path, "-l", library, "--json", tmp_path / "r.json"]):
        result = CliRunner().invoke(cli, list(map(str, args)))
        assert result.exit_code == 0, (result.output, result.exception)
        assert r"bad\xff\xfename.ms1" in result.output
    assert json.loads((tmp_path / "r.json").read_text())["run"]["file"] == BAD_NAME
    real = nps_id("inspect", path)  # a real UTF-8 terminal, not click's test streams
    assert real.returncode == 0 and r"bad\xff\xfename.ms1" in real.stdout, real.stderr


def test_batch_with_a_non_utf8_name_writes_its_summary(library, tmp_path):
    inputs = run_folder(tmp_path / "in", seed=4, n=1)
    bad_name_run(inputs)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(library), "-o", str(out), "-j", "1"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert r"bad\xff\xfename.ms1" in (out / "summary.csv").read_text(encoding="utf-8")
    assert r"bad\xff\xfename.ms1" in (out / "summary.html").read_text(encoding="utf-8")
    assert BAD_NAME in [r["key"] for r in json.loads((out / "summary.json").read_text())["runs"]]


# -- 12.15: a regress suite is checked strictly; JUnit XML always parses ---------------------------


@pytest.mark.parametrize("key, value, mentions", HOSTILE_SUITE_VALUES)
def test_hostile_suite_values_are_one_line_exit_3(library, run, tmp_path, key, value, mentions):
    case = {"name": '"hostile"', "run": json.dumps(str(run)), "expect": '["Cocaine"]', key: value}
    suite = regress_suite(tmp_path / "suite.toml", library, case)
    line = refused(CliRunner().invoke(cli, ["regress", str(suite)]))
    assert str(suite) in line and "case 1" in line and mentions in line


@pytest.mark.parametrize("char", ["\\u0000", "\\u001b", "\\u0007", "\\ufffe"])
def test_junit_parses_whatever_the_case_name(library, run, tmp_path, char):
    suite = regress_suite(tmp_path / "suite.toml", library,
                          {"name": f'"bad{char}name"', "run": json.dumps(str(run)), "absent": '["Cocaine"]'})
    junit = tmp_path / "junit.xml"
    result = CliRunner().invoke(cli, ["regress", str(suite), "--junit", str(junit)])
    assert result.exit_code == 0, result.output
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert case.get("name").startswith("bad") and case.get("name").endswith("name")


@pytest.mark.parametrize("command", ["inspect", "search", "convert", "match", "match --blank", "library build"])
def test_a_fifo_named_as_an_input_is_refused_not_read(command, library, run, tmp_path):
    """A FIFO named on the command line would block the reader forever: every command that reads
    an input refuses it in one line (the io layer's one check)."""
    fifo = tmp_path / "fifo.mzML"
    os.mkfifo(fifo)
    args = {"inspect": ["inspect", fifo], "search": ["search", fifo, "-l", library],
            "convert": ["convert", fifo, "-o", tmp_path / "o.msp"],
            "match": ["match", fifo, "-l", library, "--json", tmp_path / "x.json"],
            "match --blank": ["match", run, "-l", library, "--blank", fifo, "--json", tmp_path / "x.json"],
            "library build": ["library", "build", fifo, "-o", tmp_path / "lib.h5"]}[command]
    line = refused(nps_id(*args, timeout=60))
    assert line.endswith("fifo.mzML: not a regular file (a FIFO)")

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
import click
from click.testing import CliRunner

from nps_id.batch.manifest import Manifest
from nps_id.batch.runner import results_path
from nps_id.cli import cli
from tests.batch._inputs import LRCFS_RUNS, make_inputs
from tests.conftest import data_path

GOOD = [f"{run}.mzML" for run in LRCFS_RUNS]
# A "blank" acquired after the seized card that still shows the card's drugs: the card run itself
# under a blank's name, standing in for a contaminated blank.
DIRTY_BLANK = "220223031-blank.mzML"
ALL = GOOD + [DIRTY_BLANK, "agilent-gcms-tic.cdf", "corrupt.mzML"]
ETIZOLAM_RUNS = {"220223002.mzML", "220223008.mzML", "220223010.mzML", "220223030.mzML"}


@pytest.fixture(scope="module")
def sequence_batch(tmp_path_factory, swgdrug_library):
    """One batch over the sequence folder; several tests read what it left in OUT_DIR."""
    base = tmp_path_factory.mktemp("batch")
    inputs = make_inputs(base / "sequence")
    (inputs / DIRTY_BLANK).symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))
    out = base / "out"
    result = CliRunner().invoke(cli, [
        "batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out), "--workers", "2",
        "--blank-pattern", "*-BLANK*", "--no-subtract-blank", "--internal-standard", "bupivacaine@6.51"])
    return inputs, out, result


def _findings(out: Path, key: str) -> list[dict]:
    return json.loads(results_path(out, key).read_text())["findings"]


def _identified(out: Path, key: str) -> dict[str, float]:
    """Substances found as the library compound: `identified`, or `tentative` only because GC-MS
    cannot exclude their positional isomers (docs/match.md, "New substances")."""
    return {f["name"].lower(): f["rt_min"] for f in _findings(out, key)
            if f["verdict"] == "identified" or f["rule"].startswith("isomer not excluded")}


def test_six_runs_matched_two_bad_files_recorded_and_exit_code_1(sequence_batch):
    _, out, result = sequence_batch
    assert result.exit_code == 1, result.output
    assert "9 runs: 7 done" in result.stdout and "2 failed" in result.stdout
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
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line: the ignored files too
    before = [e["event"] for e in events[:[e["event"] for e in events].index("start")]]
    assert set(before) == {"ignored", "warning"}  # notes.csv below the folder, then the count
    events = events[len(before):]
    assert events[0] == {**events[0], "event": "start", "total": 9, "todo": 9}
    runs = [e for e in events if e["event"] == "run"]
    assert sorted(e["run"] for e in runs) == sorted(ALL)
    assert events[-2]["event"] == "finish" and events[-2]["failed"] == 2
    # where the summary went: one more event (a plain line on stdout until stop 32)
    assert events[-1]["event"] == "summary" and events[-1]["path"].endswith("summary.html")


def test_summary_table_has_substances_by_runs_and_lists_failures(sequence_batch):
    _, out, _ = sequence_batch
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], {row[0]: row[1:] for row in rows[1:]}
    # group_probability since stop 44, summary_id since stop 45: after the runs, extensions at the end
    assert header == ["substance"] + ALL + ["internal_standard", "group_probability", "summary_id"]
    cell = dict(zip(header[1:-3], body["Etizolam"]))
    assert {k for k, v in cell.items() if v.startswith("tentative")} == ETIZOLAM_RUNS | {DIRTY_BLANK}
    assert all(v.startswith("identified") for v in body["Bupivacaine"][:7])
    assert body["status"][:-1] == ["done"] * 6 + ["done (blank)", "failed", "failed", "", ""]
    page = (out / "summary.html").read_text()
    assert "Flubromazepam" in page and "truncated" in page


def test_every_suspected_new_substance_of_a_run_is_a_summary_row_whatever_its_verdict(sequence_batch):
    # the card's 5.17 min unknown (inconclusive, no group; the README's match table lists it as a
    # suspected new substance) was in no row of summary.csv: the batch said nothing of an early warning
    _, out, _ = sequence_batch
    summary = json.loads((out / "summary.json").read_text())
    card = [f for f in _findings(out, "220223030.mzML") if f["new_substance"]]
    assert any(f["verdict"] == "inconclusive" and not f["suspected_group"] for f in card)
    for key in GOOD:
        for finding in _findings(out, key):
            if finding["new_substance"]:
                label = (f"suspected new substance ({finding['suspected_group']})" if finding["suspected_group"]
                         else "unknown compound (not in the library; no NPS group indicated)")
                # by its estimated mass too (stop 36): one row merged every unknown of every run
                label += f", estimated mass {finding['estimated_mass']}" if finding["estimated_mass"] is not None else ""
                assert key in summary["cells"][label], (key, finding["rt_min"])
    (unknown,) = [f for f in card if f["verdict"] == "inconclusive" and not f["suspected_group"]]
    row = f"unknown compound (not in the library; no NPS group indicated), estimated mass {unknown['estimated_mass']}"
    cell = summary["cells"][row]["220223030.mzML"]
    assert cell["verdict"] == "inconclusive" and cell["new_substance"] and 5.1 <= cell["rt_min"] <= 5.25
    # the cell does not read as an identification ("inconclusive, 5.17 min, MF 621")
    with open(out / "summary.csv", newline="") as fh:
        csv_rows = {r[0]: r[1:] for r in csv.reader(fh)}
    assert any(v.startswith("not identified (library search inconclusive), 5.1") for v in csv_rows[row])
    # and its MF is said of what: the closest library hit, named (stop 37: "MF 621" alone)
    assert cell["closest"] == unknown["name"]
    assert any(v.endswith(f", closest library hit {unknown['name']}, MF {unknown['mf']}") for v in csv_rows[row])
    assert not any("closest" in v for name, values in csv_rows.items() if not name.startswith("unknown") for v in values)


def test_summary_labels_the_internal_standard(sequence_batch):
    # match prints "Bupivacaine (IS)"; the batch summary must not show it as one more substance.
    _, out, _ = sequence_batch
    assert "<th>Bupivacaine (internal standard)</th>" in (out / "summary.html").read_text()
    assert json.loads((out / "summary.json").read_text())["internal_standards"] == ["Bupivacaine"]
    # summary.csv said nothing of it (stop 33): its last column says which rows are internal standards
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][-3] == "internal_standard"  # group_probability after it since stop 44, summary_id since 45
    labels = {row[0]: row[-3] for row in rows[1:]}
    assert labels.pop("Bupivacaine") == "yes" and labels.pop("status") == ""
    assert {"Etizolam", "Flubromazepam"} <= set(labels) and set(labels.values()) == {"no"}


def test_blanks_are_flagged_and_carry_over_is_hinted(sequence_batch):
    _, out, _ = sequence_batch
    summary = json.loads((out / "summary.json").read_text())
    assert [r["key"] for r in summary["runs"] if r["blank"]] == [DIRTY_BLANK]
    hinted = {h["substance"] for h in summary["carry_over"]}
    assert {h["previous_run"] for h in summary["carry_over"]} == {"220223030.mzML"}
    # The card's drugs are hinted; the internal standard, in every vial on purpose, is not.
    assert {"Etizolam", "Flubromazepam"} <= hinted and "Bupivacaine" not in hinted
    assert "possible carry-over" in (out / "summary.html").read_text()


def test_batch_results_are_those_of_nps_id_match(sequence_batch, swgdrug_library, tmp_path):
    inputs, out, _ = sequence_batch
    direct = tmp_path / "direct.json"
    subprocess.run([sys.executable, "-m", "nps_id", "match", str(inputs / "220223030.mzML"),
                    "-l", str(swgdrug_library), "--internal-standard", "bupivacaine@6.51", "--json", str(direct)],
                   check=True, stdout=subprocess.DEVNULL)
    results = [json.loads(direct.read_text()), json.loads(results_path(out, "220223030.mzML").read_text())]
    assert results[0].pop("command_line").startswith("nps-id match ")  # how match was run; batch has its manifest
    for one in results:
        one.pop("created")
    assert results[0] == results[1]
    # --internal-standard reaches the results of batch as of match.
    assert [f["role"] for f in results[1]["findings"] if f["name"] == "Bupivacaine"] == ["internal_standard"]


def test_killed_batch_resumes_without_redoing_finished_runs(tmp_path, swgdrug_library, sequence_batch):
    _, reference_out, _ = sequence_batch
    inputs = tmp_path / "in"
    inputs.mkdir()
    for key in GOOD[:3]:
        (inputs / key).symlink_to(data_path("gcms", "lrcfs", key))
    out = tmp_path / "out"
    args = ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out), "--workers", "1",
            "--internal-standard", "bupivacaine@6.51"]
    proc = subprocess.Popen([sys.executable, "-m", "nps_id", *args], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "manifest.json").exists() and len(Manifest.load(out).entries) >= 1:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = Manifest.load(out).entries
    assert 1 <= len(before) < 3, "the kill should land in the middle of the batch"
    stamps = {k: results_path(out, k).stat().st_mtime_ns for k in before}

    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"({len(before)} already done before)" in result.stdout
    after = Manifest.load(out).entries
    for key in before:
        assert after[key].finished == before[key].finished
        assert results_path(out, key).stat().st_mtime_ns == stamps[key]
    for key in GOOD[:3]:  # same findings as the uninterrupted batch
        assert _findings(out, key) == _findings(reference_out, key)


def test_a_changed_threshold_reaches_the_workers_redoes_the_run_and_equals_nps_id_match(swgdrug_library,
                                                                                       tmp_path):
    library, card = swgdrug_library, "220223030.mzML"
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / card).symlink_to(data_path("gcms", "lrcfs", card))
    out = tmp_path / "out"
    args = ["batch", str(inputs), "-l", str(library), "-o", str(out), "--workers", "1"]

    default = CliRunner().invoke(cli, args)
    assert default.exit_code == 0, default.output
    default_hash = Manifest.load(out).entries[card].params_hash
    assert set(_identified(out, card)) == {"bupivacaine", "etizolam", "flubromazepam"}

    strict = CliRunner().invoke(cli, [*args, "--identified-mf", "990"])
    assert strict.exit_code == 0, strict.output
    assert "(0 already done before)" in strict.stdout  # a new threshold redoes the run
    assert Manifest.load(out).entries[card].params_hash != default_hash
    # Their match factors (945, 953, 931) are below 990: the same three, now only tentative.
    verdicts = {f["name"].lower(): f["verdict"] for f in _findings(out, card)}
    assert {name: verdicts[name] for name in ("bupivacaine", "etizolam", "flubromazepam")} == dict.fromkeys(
        ("bupivacaine", "etizolam", "flubromazepam"), "tentative")
    assert "identified" not in verdicts.values()

    direct = tmp_path / "direct.json"
    result = CliRunner().invoke(cli, ["match", str(inputs / card), "-l", str(library), "--identified-mf", "990",
                                      "--json", str(direct)])
    assert result.exit_code == 0, result.output
    results = [json.loads(direct.read_text()), json.loads(results_path(out, card).read_text())]
    for one in results:
        one.pop("created")
    assert results[0]["parameters"]["verdict"]["identified_mf"] == 990
    assert results[0] == results[1]

    again = CliRunner().invoke(cli, [*args, "--identified-mf", "990"])
    assert again.exit_code == 0 and "(1 already done before)" in again.stdout, again.output


def test_batch_and_match_take_the_same_settings_with_the_contracted_defaults():
    from nps_id.commands.batch import batch
    from nps_id.commands.match import match
    from nps_id.commands.match_options import MATCH_OPTION_NAMES, match_parameters_from_options
    from nps_id.match.parameters import MatchParameters

    def settings(command) -> dict:
        ctx = click.Context(command)  # get_default resolves flags' defaults on every click version
        return {p.name: (p.opts, p.get_default(ctx)) for p in command.params if p.name in MATCH_OPTION_NAMES}

    assert settings(batch) == settings(match)
    # The defaults of `nps-id match --help` (docs/match.md); scripts and SOPs rely on them.
    assert {name: default for name, (_, default) in settings(match).items()} == {
        "min_snr": 10.0, "min_height": 0.0, "min_area": 0.0, "rt_window": (None, None), "min_correlation": 0.8,
        "identified_mf": 800, "identified_rmf": 850, "identified_score": 800, "min_gap": 30, "min_gap_ms2": 75,
        "tentative_mf": 700,
        "ri_window": 30.0, "precursor_tolerance": "20 ppm", "fragment_tolerance": "0.01 Da",
        "ms2_rt_tolerance": 30.0, "top_k": 5, "no_analogue": False, "ms2_score": None, "internal_standard": (),
        "standard_rt_window": 0.1}
    # ... and they are the library's defaults, so a batch without options keeps its parameter hash.
    ctx = match.make_context("match", ["run.mzML"], resilient_parsing=True)
    assert match_parameters_from_options(**{n: ctx.params[n] for n in MATCH_OPTION_NAMES}) == MatchParameters()


@pytest.mark.parametrize("command", ["match", "batch"])
@pytest.mark.parametrize("window, said", [(("14", "5"), "FROM 14 is after TO 5"), (("nan", "9"), "not a number"),
                                          (("5", "nan"), "not a number"), (("inf", "inf"), "inf to inf holds no time"),
                                          (("-inf", "-inf"), "-inf to -inf holds no time")])
def test_an_rt_window_that_holds_no_time_is_a_usage_error_not_no_findings(command, window, said, tmp_path):
    # `--rt-window 14 5` (or a NaN bound) kept no component of any run: exit 0 and "no findings",
    # a negative answer no analysis was made for
    run = tmp_path / "run.mzML"
    run.write_text("")
    result = CliRunner().invoke(cli, [command, str(run), "-l", str(tmp_path / "absent.h5"), "--rt-window", *window])
    assert result.exit_code == 2 and said in result.stderr and "--rt-window" in result.stderr, result.output
    assert not any(p.name != "run.mzML" for p in tmp_path.iterdir())


@pytest.mark.parametrize("command", ["match", "batch"])
@pytest.mark.parametrize("option", ["--min-snr", "--min-height", "--min-area", "--min-correlation", "--ri-window",
                                    "--ms2-rt-tolerance", "--standard-rt-window"])
def test_a_nan_threshold_is_a_usage_error_not_a_silent_keep_everything(command, option, tmp_path):
    # NaN compares false with every limit: `--min-snr nan` kept every component, `--ri-window nan`
    # failed every RI -- without a word
    run = tmp_path / "run.mzML"
    run.write_text("")
    result = CliRunner().invoke(cli, [command, str(run), "-l", str(tmp_path / "absent.h5"), option, "nan"])
    assert result.exit_code == 2 and "'nan' is not a number" in result.stderr and option in result.stderr, result.output
    assert not any(p.name != "run.mzML" for p in tmp_path.iterdir())


def test_a_corrected_alkane_table_redoes_the_runs(swgdrug_library, tmp_path):
    # Same path, new contents: the retention indices of the finished runs are stale.
    card = "220223030.mzML"
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / card).symlink_to(data_path("gcms", "lrcfs", card))
    alkanes = tmp_path / "alkanes.csv"
    alkanes.write_text("carbon,rt_min\n16,5.0\n18,7.0\n20,9.0\n22,11.0\n")
    out = tmp_path / "out"
    args = ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out), "--workers", "1",
            "--alkanes", str(alkanes)]

    def flubromazepam_ri() -> float:
        return next(f["ri"] for f in _findings(out, card) if f["name"] == "Flubromazepam")

    assert CliRunner().invoke(cli, args).exit_code == 0
    assert flubromazepam_ri() == pytest.approx(1842.5, abs=0.5)  # 7.425 min between C18 (7.0) and C20 (9.0)
    alkanes.write_text("carbon,rt_min\n16,6.0\n18,7.0\n20,8.0\n22,11.0\n")
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "(0 already done before)" in again.stdout, again.output
    assert flubromazepam_ri() == pytest.approx(1842.5 + 0.425 * 100, abs=0.5)  # now 7.425 between 7.0 and 8.0


def test_an_output_folder_below_a_file_is_one_line_exit_3(swgdrug_library, tmp_path):
    (tmp_path / "afile").write_text("")
    result = CliRunner().invoke(cli, ["batch", str(data_path("gcms", "lrcfs", "220223001.mzML")),
                                      "-l", str(swgdrug_library), "-o", str(tmp_path / "afile" / "out")])
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines()[-1].startswith("nps-id: error: ") and "Traceback" not in result.output


def test_ctrl_c_stops_the_batch_with_one_line_and_no_worker_tracebacks(swgdrug_library, tmp_path):
    """Ctrl-C reaches the whole process group: the batch says one line (exit 130) and its workers
    end without a traceback each (issue 15). Under JSON progress the line is the only one that is
    not JSON (stop 29: a blank line came before it, for the bar's sake)."""
    import os
    import signal
    import sys

    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(40):
        (inputs / f"run{i}.mzML").symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))

    def as_a_terminal_would() -> None:  # a shell's background job would have SIGINT ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setsid()

    proc = subprocess.Popen([sys.executable, "-m", "nps_id", "batch", str(inputs), "-l", str(swgdrug_library),
                             "-o", str(tmp_path / "out"), "--workers", "2"], preexec_fn=as_a_terminal_would,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    for line in proc.stderr:  # wait until runs are being done, then press Ctrl-C
        if '"event": "run"' in line:
            break
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    # every other line is a JSON event (not piped to a terminal): no blank line before this one
    assert [line for line in err.splitlines() if not line.startswith("{")] == [
        f"interrupted; finished runs are recorded in {tmp_path / 'out' / 'manifest.json'}: "
        "run the same command again to resume"]


def test_a_batch_of_one_run_says_one_run(swgdrug_library, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "220223016.mzML").symlink_to(data_path("gcms", "lrcfs", "220223016.mzML"))
    result = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(tmp_path / "out"),
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 run: 1 done (0 already done before), 0 failed\n"  # the result only
    # where the summary went is a diagnostic, on stderr (on stdout until stop 32): a JSON event, as the
    # progress is when stderr is no terminal
    last = json.loads(result.stderr.splitlines()[-1])
    assert last == {"event": "summary", "path": str(tmp_path / "out" / "summary.html"),
                    "message": f"summary: {tmp_path / 'out' / 'summary.html'}"}
    assert "<p>1 run, 0 failed;" in (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")


def test_reference_standard_runs_in_the_sample_toml_are_not_silently_ignored(swgdrug_library, tmp_path):
    """batch matches the runs it finds, never the card's { name, run } standard runs: it says so."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "220223016.mzML").symlink_to(data_path("gcms", "lrcfs", "220223016.mzML"))
    card = tmp_path / "card.toml"
    card.write_text('[item]\nreference_standards_run = [{ name = "Etizolam", run = "%s" }]\n'
                    % data_path("gcms", "lrcfs", "220223010.mzML"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(tmp_path / "out"),
                                      "--workers", "1", "--sample-info", str(card)])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if "reference standard" in line]
    assert len(warning) == 1 and "Etizolam" in warning[0] and "nps-id match --sample-info" in warning[0]


def test_batch_results_record_the_batch_command_line(tmp_path, swgdrug_library, monkeypatch):
    # a report made from a batch's results shows how they were made, as one from `nps-id match` does
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "220223030.mzML").symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))
    argv = ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(tmp_path / "out"), "--workers", "1"]
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/nps-id", *argv])
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    results = json.loads(results_path(tmp_path / "out", "220223030.mzML").read_text())
    assert results["command_line"] == "nps-id " + " ".join(argv)


def test_files_that_are_not_runs_are_listed_with_the_supported_formats_said_once(swgdrug_library, tmp_path):
    # The LRCFS folder as the laboratory shares it: runs beside a CSV, a LICENSE and a provenance
    # note. Each non-run file repeated the whole supported-format list on stderr.
    folder = data_path("gcms", "lrcfs")
    others = ["220223002", "220223008", "220223010", "220223016", "220223030"]
    result = CliRunner().invoke(cli, [
        "batch", str(folder), "-l", str(swgdrug_library), "-o", str(tmp_path / "out"), "--workers", "1",
        "--exclude", "*.D", *[arg for run in others for arg in ("--exclude", f"{run}.mzML")]])
    assert result.exit_code == 0, result.output
    # Not a terminal: JSON progress, so every stderr line -- the ignored files too -- is one JSON
    # object a script can read (the plain "ignored ..." lines broke such scripts).
    events = [json.loads(line) for line in result.stderr.splitlines()]
    ignored = ["GCMSResultsCardData.csv", "LICENSE", "PROVENANCE-upstream.txt"]
    assert [e["path"] for e in events if e["event"] == "ignored"] == [str(folder / name) for name in ignored]
    for name in ignored:
        assert {"event": "ignored", "path": str(folder / name),
                "message": f"ignored {folder / name}: cannot tell the file format from its name or first bytes"} in events
    assert result.stderr.count("mzml (.mzml)") == 1
    assert any(e["event"] == "warning" and e["message"].startswith(
        "3 files ignored (not runs); the formats nps-id reads: mzml (.mzml), mzxml (.mzxml)") for e in events)
    assert [e["event"] for e in events][-4:] == ["start", "run", "finish", "summary"]  # summary: since stop 32

    # A bar (a terminal, or --progress bar): the same messages as plain lines.
    result = CliRunner().invoke(cli, [
        "batch", str(folder), "-l", str(swgdrug_library), "-o", str(tmp_path / "out"), "--workers", "1",
        "--progress", "bar", "--exclude", "*.D", *[arg for run in others for arg in ("--exclude", f"{run}.mzML")]])
    assert result.exit_code == 0, result.output
    for name in ignored:
        assert f"ignored {folder / name}: cannot tell the file format from its name or first bytes\n" in result.stderr
    assert ("3 files ignored (not runs); the formats nps-id reads: mzml (.mzml), mzxml (.mzxml)"
            in result.stderr)
    # where the summary went: a plain line on stderr with the bar (on stdout until stop 32)
    assert result.stderr.endswith(f"summary: {tmp_path / 'out' / 'summary.html'}\n") and "summary:" not in result.stdout


def test_licence_and_provenance_files_beside_a_run_are_ignored_not_failed(swgdrug_library, tmp_path):
    # The non-run files of ../shared/data/gcms/jcamp beside one LRCFS run: a licence text named
    # LICENSE-gcms.jdx and PROVENANCE notes quoting "##TITLE"/"##PAGE" were taken as JCAMP-DX runs
    # and each gave a FAILED row and exit code 1 (stop 35).
    runs = tmp_path / "runs"
    runs.mkdir()
    jcamp = data_path("gcms", "jcamp")
    notes = ["LICENSE-gcms.jdx", "PROVENANCE-ELEY_1.txt", "PROVENANCE-gcms.jdx.txt"]
    for name in notes:
        (runs / name).write_bytes((jcamp / name).read_bytes())
    (runs / "220223030.mzML").symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))
    result = CliRunner().invoke(cli, ["batch", str(runs), "-l", str(swgdrug_library), "-o", str(tmp_path / "out"),
                                      "--workers", "1", "--progress", "bar"])
    assert result.exit_code == 0, result.output
    assert "1 run: 1 done" in result.stdout and "FAILED" not in result.stdout
    for name in notes:  # each once, with its reason, before the batch starts
        assert result.stderr.count(f"ignored {runs / name}: ") == 1
    assert f"ignored {runs / 'LICENSE-gcms.jdx'}: named as jcamp (.jdx .dx .jcamp .jcm), but its content is not jcamp" \
        in result.stderr
    assert "3 files ignored (not runs)" in result.stderr
    assert list(Manifest.load(tmp_path / "out").entries) == ["220223030.mzML"]


def test_runs_outside_the_blanks_folder_are_said_to_get_no_blank(tmp_path, swgdrug_library):
    """`--blank-pattern` pairs blanks within one folder: a run in another folder (the Agilent .D
    folders beside the mzML sequence) got no subtraction, and neither stderr nor summary.csv said so."""
    lrcfs = data_path("gcms", "lrcfs")
    (tmp_path / "runs" / "sequence").mkdir(parents=True)
    (tmp_path / "runs" / "other").mkdir()
    for folder, name in (("sequence", "220223001.mzML"), ("sequence", "220223016.mzML"), ("other", "220223016.mzML")):
        (tmp_path / "runs" / folder / name).symlink_to(lrcfs / name)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["batch", str(tmp_path / "runs"), "-l", str(swgdrug_library), "-o", str(out),
                                      "--workers", "1", "--blank-pattern", "*001*", "--progress", "json"])
    assert result.exit_code == 0, result.output
    warnings = [e["message"] for e in map(json.loads, result.stderr.splitlines()) if e["event"] == "warning"]
    assert warnings == ["warning: --blank-pattern *001*: no blank is subtracted from 1 run, none acquired before in "
                        "the same folder (blanks pair within one folder only; summary.csv marks them 'no blank'): "
                        "other/220223016.mzML"]
    rows = list(csv.reader((out / "summary.csv").open(encoding="utf-8")))
    assert rows[0][1:] == ["other/220223016.mzML", "sequence/220223001.mzML", "sequence/220223016.mzML",
                           "internal_standard", "group_probability", "summary_id"]
    assert rows[-1][1:-1] == ["done (no blank)", "done (blank)", "done", "", ""]
    runs = {r["key"]: r for r in json.loads((out / "summary.json").read_text())["runs"]}
    assert runs["other/220223016.mzML"]["no_blank"] and not runs["sequence/220223016.mzML"]["no_blank"]
    assert json.loads(results_path(out, "other/220223016.mzML").read_text()).get("blank") is None
    assert json.loads(results_path(out, "sequence/220223016.mzML").read_text())["blank"]["file"] == "220223001.mzML"
    # and --help says so before the run (it read "the blank before it": a new user, stop 37)
    help_text = " ".join(CliRunner().invoke(cli, ["batch", "--help"]).output.split())
    assert "the nearest blank acquired before it in the same folder subtracted" in help_text
    # and names the summary's files and its last columns as the file has them (a new user, stop 44:
    # group_probability and summary.json were in no --help)
    assert "summary.csv/.html/.json" in help_text and (out / "summary.json").is_file()
    assert "group model" not in (out / "summary.html").read_text(encoding="utf-8")  # no group named: no note on one
    assert f"then {rows[0][-3]} (yes/no) and {rows[0][-2]} (a suspected new substance's group model's" in help_text


def test_a_library_replaced_after_the_batch_checked_it_matches_no_run(tmp_path, swgdrug_library, swgdrug_subset_build,
                                                                      monkeypatch):
    """`cp other.h5 lib.h5` while a batch starts: the workers open the file the batch did not check. No
    run is matched against it under the checked library's sha256 (the manifest's): each fails with one
    line saying so, and the same command run again matches them against the file as it now is."""
    import shutil

    import nps_id.batch

    library = tmp_path / "lib.h5"
    shutil.copy(swgdrug_library, library)
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / GOOD[0]).symlink_to(data_path("gcms", "lrcfs", GOOD[0]))
    out = tmp_path / "out"
    args = ["batch", str(inputs), "-l", str(library), "-o", str(out), "--workers", "1"]
    real = nps_id.batch.run_batch

    def replaced_then_run(*a, **k):  # after the batch's own check, before any worker opens the library
        shutil.copy(swgdrug_subset_build[1], library)  # rebuilt in place: same path, another content
        return real(*a, **k)

    monkeypatch.setattr(nps_id.batch, "run_batch", replaced_then_run)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert f"FAILED {GOOD[0]}: " in result.stdout and "changed since the batch checked it" in result.stdout
    assert not results_path(out, GOOD[0]).exists()

    monkeypatch.setattr(nps_id.batch, "run_batch", real)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    matched = json.loads(results_path(out, GOOD[0]).read_text())["library"]["sha256"]
    assert matched == Manifest.load(out).entries[GOOD[0]].library_sha256 != _sha256_of(swgdrug_library)


def _sha256_of(library: Path) -> str:
    from nps_id.library import Library

    with Library.open(library) as lib:
        return lib.sha256


def test_an_output_folder_inside_the_input_folder_is_not_searched_again_by_the_next_batch(swgdrug_library, tmp_path):
    """``batch IN -o IN/out`` run again listed every results and report file of IN/out as "ignored (not runs)", a
    line each (stop 45): the batch's own outputs are no inputs. A run of the user's put in IN/out is still one."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "220223030.mzML").symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))
    args = ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(inputs / "out"), "-f", "json", "-f", "csv",
            "--progress", "json"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert len(list((inputs / "out" / "runs").rglob("*.*"))) >= 3  # results and reports there to be found
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "1 run: 1 done (1 already done before)" in again.stdout, again.output
    assert not [e for e in map(json.loads, again.stderr.splitlines()) if e["event"] in ("ignored", "warning")]
    (inputs / "out" / "220223001.mzML").write_bytes(data_path("gcms", "lrcfs", "220223001.mzML").read_bytes())
    theirs = CliRunner().invoke(cli, args)
    assert theirs.exit_code == 3 and "is an input of this command" in theirs.stderr

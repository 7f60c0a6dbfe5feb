"""Van den Dool-Kratz retention indices from an alkane table or a ladder run."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.errors import ReaderError
from nps_id.gcms.retention_index import AlkaneLadder, ladder_from_run, load_alkanes
from nps_id.gcms.run import Run, load_run
from tests.conftest import data_path


def test_csv_in_minutes_and_the_formula(tmp_path):
    table = tmp_path / "alkanes.csv"
    table.write_text("carbon,rt_min\n10,4.00\n12,6.00\n11,5.00\n")
    ladder = load_alkanes(table)
    assert ladder.carbons.tolist() == [10, 11, 12]
    # RI = 100 (n + (t - t_n) / (t_n+1 - t_n)): 4.5 min lies halfway between C10 and C11.
    assert ladder.ri(4.5 * 60) == pytest.approx(1050.0)
    assert ladder.ri(6.0 * 60) == pytest.approx(1200.0)
    assert ladder.ri(3.0 * 60) is None and ladder.ri(7.0 * 60) is None  # never extrapolated
    assert np.isnan(ladder.ri(np.array([100.0, 270.0]))[0])


def test_csv_in_seconds_and_tab_separated(tmp_path):
    table = tmp_path / "alkanes.tsv"
    table.write_text("n\trt_s\n20\t600\n22\t720\n")
    assert load_alkanes(table).ri(660.0) == pytest.approx(2100.0)  # gap of two carbons


def test_bad_table_names_file_and_line(tmp_path):
    table = tmp_path / "alkanes.csv"
    table.write_text("carbon,rt\n10,4.0\n11,five\n")
    with pytest.raises(ReaderError, match=r"alkanes.csv, line 3"):
        load_alkanes(table)
    table.write_text("when,what\n1,2\n3,4\n")
    with pytest.raises(ReaderError, match="carbon"):
        load_alkanes(table)


# Each bad table: its bytes, the line the error names and what the message says was expected.
BAD_TABLES = {
    "inf retention time": (b"carbon,rt_min\n10,4.0\n11,inf\n12,6.0\n", 3, "finite number >= 0"),
    "nan retention time": (b"carbon,rt_min\n10,4.0\n11,nan\n12,6.0\n", 3, "finite number >= 0"),
    "inf carbon number": (b"carbon,rt_min\n10,4.0\ninf,5.0\n", 3, "whole carbon number"),
    "fractional carbon number": (b"carbon,rt_min\n10.5,4.0\n11,5.0\n", 2, "whole carbon number"),
    "negative retention time": (b"n,rt_s\n10,-240\n11,300\n", 2, "retention time in seconds"),
    "empty file": (b"", 1, "empty file; expected a comma- or tab-separated header"),
    "blank lines only": (b"\n  \n", 1, "empty file; expected a comma- or tab-separated header"),
    "header only": (b"carbon,rt_min\n", 1, "expected at least two"),
    "semicolons (a European Excel CSV)": (b"carbon;rt_min\n10;4,0\n11;5,0\n", 1, "expected a comma- or tab-separated header"),
    "one alkane": (b"carbon,rt_min\n10,4.0\n\n", 3, "ends after 1 alkane; expected at least two"),
    "not UTF-8": (b"carbon,rt_min\n10,4.0\n11,5.0 \xb5\n", 3, "byte 0xb5 is not UTF-8"),
    "missing cell": (b"carbon,rt_min\n10,4.0\n11\n", 3, "expected a carbon number (column 1)"),
    "carbons fall": (b"carbon,rt_min\n10,4.0\n9,5.0\n", 3, "C9 at 5 minutes elutes after C10"),
    "same time twice": (b"carbon,rt_min\n10,4.0\n11,4.0\n", 3, "elutes with C10 at 4 minutes (line 2)"),
    # decimal commas in a comma-separated table: 10,4,25 was C10 at 4 minutes, silently (attack39)
    "decimal commas, comma-separated": (b"carbon,rt_min\n10,4,25\n11,5,50\n", 2, "a decimal comma in a comma-separated"),
    "UTF-16 without a byte-order mark": ("carbon,rt_min\n10,4.0\n11,5.0\n".encode("utf-16-le"), 1, "Save the table as UTF-8"),
    "damaged UTF-16": (b"\xff\xfec\x00a\x00r", 1, "damaged UTF-16 text"),
}


@pytest.mark.parametrize("case", BAD_TABLES)
def test_bad_table_is_refused_naming_file_line_and_expectation(tmp_path, case):
    content, line, expected = BAD_TABLES[case]
    table = tmp_path / "alkanes.csv"
    table.write_bytes(content)
    with pytest.raises(ReaderError) as error:
        load_alkanes(table)
    assert str(error.value).startswith(f"{table}, line {line}: ")
    assert expected in str(error.value)


def test_bom_and_whole_number_written_as_decimal_are_accepted(tmp_path):
    table = tmp_path / "alkanes.csv"
    table.write_bytes(b"\xef\xbb\xbfcarbon,rt_min\n10.0,4.0\n11,5.0\n")  # Excel's "CSV UTF-8"
    assert load_alkanes(table).carbons.tolist() == [10, 11]


@pytest.mark.parametrize("case", ["inf retention time", "empty file", "not UTF-8", "fractional carbon number",
                                  "negative retention time"])
@pytest.mark.parametrize("command", ["match", "batch"])
def test_bad_table_is_one_line_exit_3_from_the_cli(swgdrug_library, tmp_path, case, command):
    content, line, _ = BAD_TABLES[case]
    table = tmp_path / "alkanes.csv"
    table.write_bytes(content)
    run = str(data_path("gcms", "lrcfs", "220223001.mzML"))
    args = [run, "-l", str(swgdrug_library), "--alkanes", str(table)]
    if command == "batch":  # refused before any run is matched, not as every run failing
        args += ["-o", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, [command, *args])
    assert result.exit_code == 3, result.output
    assert result.output.splitlines() == [result.output.strip()]
    assert f"alkanes.csv, line {line}: " in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_ladder_must_increase():
    with pytest.raises(ValueError):
        AlkaneLadder(np.array([2.0, 1.0]), np.array([10, 11]))
    with pytest.raises(ValueError):  # an infinite time would give every compound before it RI 100 n
        AlkaneLadder(np.array([240.0, np.inf]), np.array([10, 11]))


@pytest.fixture(scope="module")
def lrcfs_span() -> tuple[float, float]:
    """First and last scan time (s) of LRCFS run 220223030 (3.09-14.66 min)."""
    run, _ = load_run(data_path("gcms", "lrcfs", "220223030.mzML"))
    return float(run.rt_seconds[0]), float(run.rt_seconds[-1])


@pytest.mark.parametrize("table", ["carbon,rt_min\n16,300\n18,420\n22,660\n",  # seconds under minutes
                                   "carbon,rt_s\n16,5.0\n18,7.0\n22,11.0\n"])  # minutes under seconds
def test_ladder_in_the_wrong_unit_misses_the_run(tmp_path, lrcfs_span, table):
    path = tmp_path / "alkanes.csv"
    path.write_text(table)
    note = load_alkanes(path).no_overlap_note(*lrcfs_span)
    assert note.startswith("alkane ladder alkanes.csv (C16-C22, ") and "does not overlap the run (3.09-14.66 min)" in note


@pytest.mark.parametrize("table", ["carbon,rt_min\n16,5.0\n18,7.0\n22,11.0\n",  # inside the run
                                   "carbon,rt_min\n10,1.0\n12,3.5\n",  # overlaps only its start
                                   "carbon,rt_min\n8,0.5\n30,40\n"])  # spans all of it
def test_ladder_overlapping_the_run_has_no_note(tmp_path, lrcfs_span, table):
    path = tmp_path / "alkanes.csv"
    path.write_text(table)
    assert load_alkanes(path).no_overlap_note(*lrcfs_span) is None


def test_match_says_once_that_the_ladder_misses_the_run(swgdrug_library, tmp_path):
    """Seconds under an rt_min header: the ladder lies at 300-660 min, after the whole run."""
    table = tmp_path / "alkanes.csv"
    table.write_text("carbon,rt_min\n16,300\n18,420\n20,540\n22,660\n")
    result = CliRunner().invoke(cli, ["match", str(data_path("gcms", "lrcfs", "220223030.mzML")),
                                      "-l", str(swgdrug_library), "--alkanes", str(table),
                                      "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "alkane ladder" in line]
    assert notes == ["note: 220223030.mzML: alkane ladder alkanes.csv (C16-C22, 300.00-660.00 min) does not "
                     "overlap the run (3.09-14.66 min): no retention indices; is the table's time column in "
                     "the right unit (rt/rt_min minutes, rt_s seconds)?"]
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["notes"] == [notes[0].removeprefix("note: 220223030.mzML: ")]
    assert doc["components"] and all(c["ri"] is None for c in doc["components"])


def test_batch_shows_the_note_in_its_progress(swgdrug_library, tmp_path):
    table = tmp_path / "alkanes.csv"
    table.write_text("carbon,rt_min\n16,300\n18,420\n20,540\n22,660\n")
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "220223030.mzML").symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))
    result = CliRunner().invoke(cli, ["batch", str(runs), "-l", str(swgdrug_library), "--alkanes", str(table),
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    # Not a terminal: progress is JSON lines on stderr.
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (run,) = [e for e in events if e["event"] == "run"]
    assert run["status"] == "done" and len(run["notes"]) == 1 and "does not overlap the run" in run["notes"][0]


def test_ladder_from_a_synthetic_run():
    """C10-C13 alkanes: m/z 57 base peak, molecular ion 14n + 2 at 1 %."""
    n_scans, mz_min = 400, 40
    t = np.arange(n_scans)
    matrix = np.zeros((n_scans, 160), dtype=np.float32)
    for k, carbons in enumerate(range(10, 14)):
        shape = 1e5 * np.exp(-0.5 * ((t - (60 + 80 * k)) / 2.0) ** 2)
        for mz, rel in ((57, 1.0), (71, 0.6), (85, 0.4), (14 * carbons + 2, 0.01)):
            matrix[:, mz - mz_min] += rel * shape
    ladder = ladder_from_run(Run("ladder", t * 0.5, mz_min, matrix))
    assert ladder.carbons.tolist() == [10, 11, 12, 13]
    assert ladder.rt_seconds.tolist() == [30.0, 70.0, 110.0, 150.0]


def test_excel_unicode_text_is_read_as_utf8(tmp_path):
    # Excel's "Unicode Text" export: UTF-16 with a byte-order mark, tab-separated (attack39: refused as not UTF-8)
    table = tmp_path / "alkanes.txt.csv"
    table.write_bytes("carbon\trt_min\r\n10\t4.25\r\n11\t5.5\r\n".encode("utf-16"))
    assert load_alkanes(table).rt_seconds.tolist() == [255.0, 330.0]
    table.write_bytes(b"carbon,rt_min,\n10,4.25,\n11,5.5,\n")  # an empty last column throughout is no extra field
    assert load_alkanes(table).rt_seconds.tolist() == [255.0, 330.0]

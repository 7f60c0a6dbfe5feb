"""``nps-id regress``: the project's own suite over ../shared/data, and a suite that regresses.

The first test is the CI gate: a change that loses an LRCFS identification, reports a drug that
is not there, or worsens the SWGDRUG / MassBank top-hit rates fails it.
"""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.regress import cached_build_path, load_suite
from tests.conftest import data_path

SUITE = Path(__file__).resolve().parents[2] / "regress" / "shared-data.toml"


@pytest.fixture(scope="module")
def cache(tmp_path_factory, swgdrug_library, massbank_ei_build) -> Path:
    """regress's cache folder, holding the session's builds of the project suite's two libraries where
    regress keeps its builds of them (same files, names and releases), instead of two more whole
    builds (~40 s each): MassBank EI as regress builds it, SWGDRUG as ``nps-id library build`` does
    (regress stores no search indexes; a search computes and caches them for a library without).
    The cases of this module built from SWGDRUG 3.4 find it there too. That regress builds a library
    it does not have, and says so once, is asserted on a small one (the XDG cache test below)."""
    folder = tmp_path_factory.mktemp("regress-cache")
    libraries = load_suite(SUITE).libraries
    shutil.copyfile(swgdrug_library, cached_build_path(libraries["swgdrug"], folder))
    shutil.copyfile(massbank_ei_build[1], cached_build_path(libraries["massbank-ei"], folder))
    return folder


def test_shared_data_suite_passes(cache, tmp_path):
    data_path("gcms", "lrcfs")  # skips outside the team checkout
    seeded = sorted(p.name for p in cache.glob("*.h5"))
    junit = tmp_path / "junit.xml"
    result = CliRunner().invoke(cli, ["regress", str(SUITE), "--cache-dir", str(cache), "--junit", str(junit)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in cache.glob("*.h5")) == seeded  # used, not rebuilt
    assert not [line for line in result.stderr.splitlines() if line.startswith("building library")]  # none built
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("9", "0", "0")
    assert "9 cases: 9 passed, 0 failed, 0 errors" in result.stdout


def _suite(tmp_path: Path, body: str) -> Path:
    swgdrug = data_path("swgdrug", "SWGDRUG-3.4.msp.gz")
    card = data_path("gcms", "lrcfs", "220223030.mzML")
    path = tmp_path / "suite.toml"
    path.write_text(f'[libraries.swgdrug]\nbuild = "{swgdrug}"\nname = "SWGDRUG"\nrelease = "3.4"\n'
                    + body.replace("CARD", str(card)))
    return path


def test_lost_or_wrong_identifications_fail_with_exit_1_and_junit_failures(cache, tmp_path):
    suite = _suite(tmp_path, """
[[case]]
name = "card as recorded"
run = "CARD"
expect = [{ substance = "Etizolam", verdict = "tentative" },
          { substance = "Flubromazepam", verdict = "tentative", min_mf = 850, rt_min = [7.3, 7.5] }]
[[case]]
name = "etizolam at the wrong time"
run = "CARD"
expect = [{ substance = "Etizolam", verdict = "tentative", rt_min = [8.0, 9.0] }]
[[case]]
name = "a drug that must not be there"
run = "CARD"
absent = ["Flubromazepam"]
[[case]]
name = "nothing else identified"
run = "CARD"
expect = [{ substance = "Etizolam", verdict = "tentative" }]
only = true
""")
    junit = tmp_path / "out.xml"
    result = CliRunner().invoke(cli, ["regress", str(suite), "--cache-dir", str(cache), "--junit", str(junit)])
    assert result.exit_code == 1, result.output
    status = {line.split(None, 1)[1].rsplit("  ", 2)[0].strip(): line.split()[0]
              for line in result.stdout.splitlines()[1:5]}
    assert status == {"card as recorded": "PASS", "etizolam at the wrong time": "FAIL",
                      "a drug that must not be there": "FAIL", "nothing else identified": "FAIL"}
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["card as recorded"].find("failure") is None
    assert "RT 8-9 min" in cases["etizolam at the wrong time"].find("failure").get("message")
    assert "expected no Flubromazepam" in cases["a drug that must not be there"].find("failure").get("message")
    message = cases["nothing else identified"].find("failure").get("message")
    assert "Bupivacaine" in message and "Flubromazepam" in message


@pytest.mark.parametrize("body, code, words", [
    ('[[case]]\nname = "x"\nrun = "CARD"\nexpct = ["Etizolam"]\n', 3, "unknown key(s) ['expct']"),
    ('[[case]]\nname = "x"\nrun = "CARD"\n', 3, "checks nothing"),
    ('[[case]]\nname = "x"\nrun = "CARD"\nexpect = [{ substance = "Etizolam", rt_min = [10.4, 10.1] }]\n', 3,
     "from <= to"),
    ('[[case]]\nname = "x"\nrun = "CARD"\nexpect = [{ substance = "Etizolam", min_mf = 9000 }]\n', 3,
     "0-999 scale"),
    ('[[case]]\nname = "x"\nrun = "CARD"\nlibrary = "nope"\nexpect = ["Etizolam"]\n', 3,
     "is not defined"),
])
def test_bad_suites_exit_3_naming_the_problem(tmp_path, body, code, words):
    result = CliRunner().invoke(cli, ["regress", str(_suite(tmp_path, body))])
    assert result.exit_code == code
    assert words in result.stderr and "case 1 (x)" in result.stderr


def test_a_missing_run_is_an_error_of_its_case_and_the_others_still_run(cache, tmp_path):
    etizolam = 'expect = [{ substance = "Etizolam", verdict = "tentative" }]\n'
    suite = _suite(tmp_path, '[[case]]\nname = "gone"\nrun = "/no/such.mzML"\n' + etizolam
                             + '[[case]]\nname = "card"\nrun = "CARD"\n' + etizolam)
    junit = tmp_path / "out.xml"
    result = CliRunner().invoke(cli, ["regress", str(suite), "--cache-dir", str(cache), "--junit", str(junit)])
    assert result.exit_code == 3
    assert "2 cases: 1 passed, 0 failed, 1 error (" in result.stdout
    assert "PASS   card" not in result.stderr  # the results once printed twice: case by case, then the table
    # stdout is the table only; where the JUnit XML went is said on stderr (it was on stdout until stop 32)
    assert "JUnit" not in result.stdout and f"JUnit XML: {junit}" in result.stderr.splitlines()
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert "/no/such.mzML does not exist" in cases["gone"].find("error").get("message")
    assert cases["card"].find("error") is None and cases["card"].find("failure") is None


def test_the_table_counts_one_case_and_one_check_in_the_singular(cache, tmp_path):
    # "1 cases: 1 passed, 0 failed, 0 errors" and "1 checks passed" (a new user's walk, stop 33)
    blank = data_path("gcms", "lrcfs", "220223001.mzML")
    suite = _suite(tmp_path, f'[[case]]\nname = "blank"\nrun = "{blank}"\nabsent = ["Etizolam"]\n')
    result = CliRunner().invoke(cli, ["regress", str(suite), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    table = result.stdout.splitlines()
    assert table[1].startswith("PASS") and table[1].endswith("  1 check passed"), table
    assert table[2].startswith("1 case: 1 passed, 0 failed, 0 errors ("), table


def test_a_missing_library_exits_4(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(f'library = "$NPS_ID_TEST_LIB"\n[[case]]\nname = "x"\n'
                     f'run = "{data_path("gcms", "lrcfs", "220223001.mzML")}"\nabsent = ["Etizolam"]\n')
    result = CliRunner(env={"NPS_ID_TEST_LIB": str(tmp_path / "missing.h5")}).invoke(cli, ["regress", str(suite)])
    assert result.exit_code == 4
    assert "missing.h5" in result.stdout


def test_a_suite_saved_with_a_byte_order_mark_is_read(tmp_path):
    """A suite TOML saved by a Windows editor (UTF-8 with a byte order mark, as sample-info TOML) is
    read as the same suite: here it gets as far as its missing library (exit 4), not "not valid TOML"."""
    suite = tmp_path / "suite.toml"
    suite.write_bytes(b"\xef\xbb\xbf" + (f'library = "{tmp_path / "missing.h5"}"\n[[case]]\nname = "x"\n'
                                         f'run = "{data_path("gcms", "lrcfs", "220223001.mzML")}"\n'
                                         'absent = ["Etizolam"]\n').encode("utf-8"))
    result = CliRunner().invoke(cli, ["regress", str(suite)])
    assert result.exit_code == 4 and "missing.h5" in result.stdout and "TOML" not in result.output


def test_the_projects_suite_away_from_the_data_is_one_line_naming_the_path_it_read(tmp_path):
    # relative paths are read from the suite file's folder, not the current one: a copy of the
    # project's suite elsewhere names where it looked, in one line, exit 3
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(SUITE, elsewhere / "suite.toml")
    result = CliRunner().invoke(cli, ["regress", str(elsewhere / "suite.toml")])
    assert result.exit_code == 3 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line == (f"nps-id: error: {elsewhere / 'suite.toml'}: [libraries.swgdrug]: build source "
                    f"{elsewhere / '../../shared/data/swgdrug/SWGDRUG-3.4.msp.gz'} does not exist")


def test_a_suite_reads_relative_runs_from_its_folder_and_the_data_from_nps_id_data(cache, tmp_path, monkeypatch):
    # how a laboratory points a suite at data kept elsewhere (docs/regress.md, "Where the data is")
    data = data_path()
    suites = tmp_path / "suites"
    (suites / "runs").mkdir(parents=True)
    (suites / "runs" / "paper.mzML").symlink_to(data / "gcms" / "lrcfs" / "220223016.mzML")
    (suites / "s.toml").write_text(
        '[libraries.swgdrug]\nbuild = "${NPS_ID_DATA}/swgdrug/SWGDRUG-3.4.msp.gz"\nname = "SWGDRUG"\nrelease = "3.4"\n'
        '[[case]]\nname = "paper"\nrun = "runs/paper.mzML"\n'
        'expect = [{ substance = "Bupivacaine", verdict = "tentative" }]\n')
    monkeypatch.chdir(tmp_path)  # not the suite's folder
    monkeypatch.setenv("NPS_ID_DATA", str(data))
    result = CliRunner().invoke(cli, ["regress", "suites/s.toml", "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert ": 1 passed, 0 failed, 0 errors" in result.stdout


def test_a_suites_library_build_is_kept_in_the_xdg_cache_not_nps_id_cache(tmp_path, monkeypatch):
    # a new user (stop 38) set $NPS_ID_CACHE and found regress's builds in ~/.cache/nps-id/regress:
    # the help and README say where they go; this holds them to it
    import gzip

    records = gzip.open(data_path("swgdrug", "SWGDRUG-3.4.msp.gz"), "rt", encoding="utf-8").read().split("\n\n")
    source = tmp_path / "small.msp"
    source.write_text("\n\n".join(records[:20]) + "\n\n", encoding="utf-8")
    suite = tmp_path / "suite.toml"
    suite.write_text(f'[libraries.small]\nbuild = "{source}"\n[[case]]\nname = "blank"\n'
                     f'run = "{data_path("gcms", "lrcfs", "220223001.mzML")}"\nabsent = ["Etizolam"]\n')
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path / "nps-id-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    result = CliRunner().invoke(cli, ["regress", str(suite)])
    assert result.exit_code == 0, result.output
    kept = tmp_path / "xdg" / "nps-id" / "regress"
    # a build takes most of a minute for a whole library: it is said, once per library built
    builds = [line for line in result.stderr.splitlines() if line.startswith("building library")]
    assert len(builds) == 1 and builds[0].startswith("building library 'small' from ")
    assert f"(once: kept in {kept})" in builds[0]
    (built,) = kept.glob("small-*.h5")
    written = built.stat().st_mtime_ns
    again = CliRunner().invoke(cli, ["regress", str(suite)])  # the cached build is used and not said
    assert again.exit_code == 0, again.output
    assert "building library" not in again.stderr
    assert list(kept.glob("small-*.h5")) == [built] and built.stat().st_mtime_ns == written
    assert not list((tmp_path / "nps-id-cache").rglob("*.h5"))
    help_text = " ".join(CliRunner().invoke(cli, ["regress", "--help"]).output.split())
    assert "$XDG_CACHE_HOME/nps-id/regress" in help_text and "not $NPS_ID_CACHE" in help_text

"""``nps-id report`` through click's runner: formats, sample details, errors.

The same command on real LRCFS results (re-rendering, a changed library) is tested in
``tests/report/test_lrcfs.py``, where the session's matched runs are.
"""
from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from tests.report.conftest import REPORT_ID, make_results


@pytest.fixture
def results_file(tmp_path):
    path = tmp_path / "synthetic.match.json"
    path.write_text(json.dumps(make_results()), encoding="utf-8")
    return path


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_html_with_sample_info_and_options(results_file, tmp_path):
    info = tmp_path / "card.toml"
    info.write_text('[laboratory]\nname = "Lab from TOML"\ncountry = "GB"\n'
                    '[item]\nlab_sample_id = "FL22/009-2"\nnature = "seizure"\n', encoding="utf-8")
    out = tmp_path / "r.html"
    result = _run("report", results_file, "-f", "html", "-o", out, "--sample-info", info,
                  "--analyst", "A. Analyst", "--laboratory", "Lab from option", "--report-id", REPORT_ID,
                  "--issued-at", "2026-01-15T10:00:00+00:00", "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert f"report {REPORT_ID} (draft): 3 identified, 1 tentative, 1 inconclusive" in result.output
    html = out.read_text(encoding="utf-8")
    assert "Lab from option" in html and "Lab from TOML" not in html  # options win over the file
    assert "FL22/009-2" in html and "A. Analyst" in html
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["laboratory"]["name"] == "Lab from option" and doc["analyst"]["name"] == "A. Analyst"


def test_ewa_and_lims_outputs(results_file, tmp_path):
    result = _run("report", results_file, "-f", "ewa", "-o", tmp_path / "card.ewa", "--country", "gb",
                  "--internal-standard", "Bupivacaine", "--reference-standard", "Etizolam")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "card.ewa.csv").open(encoding="utf-8")))
    assert [r["substance"] for r in rows] == ["Flubromazepam", "Etizolam", ".alpha.-PVP"]
    assert [r["reference_standard_run"] for r in rows] == ["no", "yes", "no"]
    payload = json.loads((tmp_path / "card.ewa.json").read_text(encoding="utf-8"))
    assert payload["excluded"][0]["substance"] == "Bupivacaine"
    result = _run("report", results_file, "-f", "tsv", "-o", tmp_path / "lims.tsv")
    assert result.exit_code == 0
    assert len((tmp_path / "lims.tsv").read_text(encoding="utf-8").splitlines()) == 1 + 5


@pytest.mark.parametrize("args,message", [
    (["--country", "United Kingdom"], "ISO 3166-1 alpha-2"),
    (["--report-id", "42"], "report_id must be a UUID"),
    (["--issued-at", "yesterday"], "ISO 8601"),
])
def test_bad_details_exit_3(results_file, tmp_path, args, message):
    result = CliRunner().invoke(cli, ["report", str(results_file), "-o", str(tmp_path / "x.html"), *args])
    assert result.exit_code == 3
    assert message in result.output
    assert not (tmp_path / "x.html").exists()


def test_not_a_results_file_exits_3(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"hello": 1}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(path), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 3 and "expected a 'nps-id match' results JSON" in result.output


def test_a_file_that_is_not_utf8_exits_3_not_a_traceback(tmp_path):
    path = tmp_path / "results.json"
    path.write_bytes(b'\xff\xfe{"schema": "nps-id/match-results"}')  # UTF-16 byte order mark
    result = CliRunner().invoke(cli, ["report", str(path), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 3 and "results.json: not UTF-8" in result.stderr


def test_ewa_overrides_file_changes_the_export_and_is_recorded(results_file, tmp_path):
    overrides = tmp_path / "lab-groups.csv"
    overrides.write_text("key,group,subclass,nps\n.alpha.-PVP,synthetic_cathinones,,no\n", encoding="utf-8")
    result = _run("report", results_file, "-f", "ewa", "-o", tmp_path / "out.csv", "--ewa-overrides", overrides,
                  "--json", tmp_path / "doc.json")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert [r["substance"] for r in rows] == ["Flubromazepam", "Etizolam"]
    doc = json.loads((tmp_path / "doc.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["ewa_overrides"]["file"] == "lab-groups.csv"
    assert doc["findings"][3]["ewa"]["source"] == "override"


def _edited(tmp_path, edit):
    results = make_results()
    edit(results)
    path = tmp_path / "edited.match.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    return path


@pytest.mark.parametrize("edit,message", [
    (lambda r: r["findings"][0].update(library_row="abc"), "/findings/0/library_row"),
    (lambda r: r["components"][0].pop("rt_min"), "/components/0: 'rt_min' is a required property"),
    (lambda r: r.update(findings=None), "/findings: None is not of type 'array'"),
    (lambda r: r.update(run=[]), "/run: [] is not of type 'object'"),
    (lambda r: r.update(schema_version="2.0"), "/schema_version"),
    (lambda r: r.pop("library"), "'library' is a required property"),
    (lambda r: r.update(tic={"rt_min": [1.0, 2.0], "intensity": [5.0]}), "/tic has 2 times but 1 intensities"),
])
def test_a_hand_edited_results_file_is_refused_with_where(tmp_path, edit, message):
    result = CliRunner().invoke(cli, ["report", str(_edited(tmp_path, edit)), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 3, result.output
    assert "not a usable 'nps-id match' results file" in result.stderr and message in result.stderr
    assert not (tmp_path / "x.html").exists()


def test_a_verdict_edited_up_to_identified_is_not_reported_as_identified(tmp_path):
    # A tentative finding whose criteria failed, hand-edited to "identified": the report must not
    # present that library hit as an identification.
    def promote(results):
        tentative = next(f for f in results["findings"] if f["verdict"] == "tentative")
        assert tentative["criteria_failed"]
        tentative["verdict"] = "identified"

    result = CliRunner().invoke(cli, ["report", str(_edited(tmp_path, promote)), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 3 and "criteria_failed" in result.stderr
    assert not (tmp_path / "x.html").exists()


def test_a_library_option_naming_no_file_is_exit_4(results_file, tmp_path):
    # Without this the mirror plots silently lose their reference spectra.
    result = CliRunner().invoke(cli, ["report", str(results_file), "-o", str(tmp_path / "x.html"),
                                      "--library", str(tmp_path / "typo.h5")])
    assert result.exit_code == 4 and "typo.h5: no such library file" in result.stderr


def test_one_internal_standard_written_as_a_string_is_that_standard(results_file, tmp_path):
    # `internal_standards = "Bupivacaine"` (no brackets) once became ["B", "u", "p", ...].
    info = tmp_path / "card.toml"
    info.write_text('[item]\ninternal_standards = "Bupivacaine"\nreference_standards_run = "Etizolam"\n',
                    encoding="utf-8")
    result = _run("report", results_file, "-f", "json", "-o", tmp_path / "r.json", "--sample-info", info)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["item"]["internal_standards"] == ["Bupivacaine"]
    assert doc["item"]["reference_standards_run"] == ["Etizolam"]
    assert [f["internal_standard"] for f in doc["findings"] if f["name"] == "Bupivacaine"] == [True]

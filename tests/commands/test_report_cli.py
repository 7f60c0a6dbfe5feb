"""``nps-id report`` through click's runner: formats, sample details, errors.

The same command on real LRCFS results (re-rendering, a changed library) is tested in
``tests/report/test_lrcfs.py``, where the session's matched runs are.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.report import rendered_paths
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
    result = _run("report", results_file, "-f", "ewa", "-o", tmp_path / "card.ewa", "--country", "gb", "--allow-draft",
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


def test_a_results_file_and_sample_info_saved_with_a_byte_order_mark_are_read(tmp_path):
    """Windows editors (Notepad) save UTF-8 with a byte order mark; both files were refused."""
    bom = b"\xef\xbb\xbf"
    results = tmp_path / "edited.match.json"
    results.write_bytes(bom + json.dumps(make_results()).encode("utf-8"))
    info = tmp_path / "card.toml"
    info.write_bytes(bom + '[laboratory]\nname = "Lab from Notepad"\n'.encode("utf-8"))
    result = _run("report", results, "-f", "json", "-o", tmp_path / "r.json", "--sample-info", info)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["laboratory"]["name"] == "Lab from Notepad"
    assert len(doc["findings"]) == len(make_results()["findings"])


def test_sample_info_that_is_not_utf8_exits_3_not_a_traceback(results_file, tmp_path):
    info = tmp_path / "card.toml"
    info.write_bytes('[laboratory]\nname = "Laboratoire \u00e9"\n'.encode("latin-1"))
    result = CliRunner().invoke(cli, ["report", str(results_file), "-o", str(tmp_path / "x.html"),
                                      "--sample-info", str(info)])
    assert result.exit_code == 3, result.output
    assert "card.toml: not UTF-8 text" in result.stderr and not (tmp_path / "x.html").exists()


def test_an_ewa_export_of_no_rows_names_its_taxonomy_version(tmp_path):
    """A reader must know which taxonomy found nothing: the version was only on the rows."""
    from nps_id.chem.ewa_groups import taxonomy_version

    results = make_results()
    results["findings"] = [f for f in results["findings"] if f["name"] == "Methyl palmitate"]  # inconclusive
    results["components"] = [{**c, "finding": 0 if c["index"] == 5 else None} for c in results["components"]]
    path = tmp_path / "nothing.match.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    result = _run("report", path, "-f", "ewa", "-o", tmp_path / "nothing", "--allow-draft")
    assert result.exit_code == 0, result.output
    export = json.loads((tmp_path / "nothing.json").read_text(encoding="utf-8"))
    assert export["substances"] == [] and export["taxonomy_version"] == taxonomy_version()


def test_ewa_overrides_file_changes_the_export_and_is_recorded(results_file, tmp_path):
    overrides = tmp_path / "lab-groups.csv"
    overrides.write_text("key,group,subclass,nps\n.alpha.-PVP,synthetic_cathinones,,no\n", encoding="utf-8")
    result = _run("report", results_file, "-f", "ewa", "-o", tmp_path / "out.csv", "--allow-draft", "--ewa-overrides", overrides,
                  "--json", tmp_path / "doc.json")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert [r["substance"] for r in rows] == ["Flubromazepam", "Etizolam"]
    doc = json.loads((tmp_path / "doc.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["ewa_overrides"]["file"] == "lab-groups.csv"
    assert doc["findings"][3]["ewa"]["source"] == "override"



def test_an_ewa_overrides_file_saved_as_latin_1_is_one_line_naming_its_line(results_file, tmp_path):
    """Excel's plain "CSV" on Windows is cp1252, not UTF-8: the overrides file is refused with one
    line naming the file and the line of the first such byte, exit 3 (was a traceback)."""
    overrides = tmp_path / "lab-groups.csv"
    overrides.write_bytes("key,group,subclass,nps\n.alpha.-PVP,synthetic_cathinones,,no\nCaf\u00e9ine,stimulants,,no\n"
                          .encode("cp1252"))
    result = CliRunner().invoke(cli, ["report", str(results_file), "-f", "ewa", "-o", str(tmp_path / "out.csv"),
                                      "--allow-draft", "--ewa-overrides", str(overrides)])
    assert result.exit_code == 3 and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("nps-id: error: ") and "lab-groups.csv: line 3: " in line and "UTF-8" in line
    assert not (tmp_path / "out.csv").exists()

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
    (lambda r: r.update(command_line=5), "/command_line: 5 is not of type"),
    (lambda r: r["parameters"].update(verdict=["a"]), "/parameters/verdict: ['a'] is not of type 'object'"),
    (lambda r: r["findings"][0].update(ms1={"feature": [1]}), "/findings/0/ms1/feature: [1] is not of type"),
    (lambda r: r.update(unassigned_features=[{"precursor_mz": 300.1, "rt_min": 7.0, "best_hits": [], "component": []}]),
     "/unassigned_features/0/component: [] is not of type"),
    (lambda r: r["findings"][0].update(closest_compounds=[{"name": "X", "similarity": [], "delta_mass": ""}]),
     "/findings/0/closest_compounds/0/delta_mass: '' is not of type"),
    (lambda r: r["findings"][0].update(apex_spectrum={"a": 1}), "/findings/0/apex_spectrum: 'mz' is a required"),
    # an injector relative named by a number stopped the report with an AttributeError traceback
    (lambda r: r["findings"][0].update(isomers_not_excluded=[
        {"name": 5, "smiles": "O=C1CC(c2ccccc2)CN1", "move": "thermal_product:lactam", "in_library": True}]),
     "/findings/0/isomers_not_excluded/0/name: 5 is not of type 'string', 'null'"),
    (lambda r: r["findings"][0].update(isomers_not_excluded=[{"smiles": "C", "move": "x", "in_library": "no"}]),
     "/findings/0/isomers_not_excluded/0/in_library: 'no' is not of type 'boolean'"),
    (lambda r: r["findings"][0].update(closest_compounds=[{"name": 5, "similarity": 0.5}]),
     "/findings/0/closest_compounds/0/name: 5 is not of type 'string'"),
])
def test_a_hand_edited_results_file_is_refused_with_where(tmp_path, edit, message):
    result = CliRunner().invoke(cli, ["report", str(_edited(tmp_path, edit)), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 3, result.output
    assert "not a usable 'nps-id match' results file" in result.stderr and message in result.stderr


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_results_file_with_nan_is_refused_in_one_line(tmp_path, value):
    """Python's json writes NaN and Infinity, which JSON has not: an edited results file holding one
    is refused where it is read, not a traceback when the report is hashed."""
    path = _edited(tmp_path, lambda r: r["findings"][0].update(rt_min=value))
    result = CliRunner().invoke(cli, ["report", str(path), "-f", "csv", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1 and "edited.match.json: not valid JSON" in result.stderr
    assert "is not a JSON number" in result.stderr
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("edit,message", [
    (lambda text: '{"a":' * 100_000 + "1" + "}" * 100_000, "not valid nps-id JSON (nested too deeply)"),
    (lambda text: text.replace('"rt_min": ', '"rt_min": ' + "9" * 5000, 1),
     "not valid nps-id JSON (a number of more than 4,300 digits)"),
])
def test_a_results_file_nested_too_deeply_or_with_a_huge_number_is_refused_in_one_line(tmp_path, edit, message):
    """Both stopped the report with a traceback (RecursionError; ValueError of Python's int())."""
    path = tmp_path / "edited.match.json"
    path.write_text(edit(json.dumps(make_results())), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(path), "-f", "csv", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 3, result.output
    assert result.stderr == f"nps-id: error: {path}: {message}\n"
    assert not (tmp_path / "x.csv").exists()


def test_outputs_are_replaced_as_one_set_or_not_at_all(results_file, tmp_path):
    """A --json that cannot be written (a full disk) left the HTML replaced, and an EWA JSON that
    could not be replaced left a new CSV beside the earlier export's JSON, with exit 3 saying
    "the previous file is unchanged"."""
    earlier = {tmp_path / "x.html": b"earlier report", tmp_path / "ewa.csv": b"earlier export"}
    for path, content in earlier.items():
        path.write_bytes(content)
    (tmp_path / "ewa.json").mkdir()  # a folder in the way of the export's JSON
    html = _run("report", str(results_file), "-o", str(tmp_path / "x.html"), "--json", "/dev/full")
    ewa = _run("report", str(results_file), "-f", "ewa", "-o", str(tmp_path / "ewa"), "--allow-draft")
    assert (html.exit_code, ewa.exit_code) == (3, 3), html.output + ewa.output
    assert "/dev/full: cannot write" in html.stderr and "ewa.json: cannot write" in ewa.stderr
    assert {path: path.read_bytes() for path in earlier} == earlier
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


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


# -- sign-off, one report id, drafts (issue 15) ---------------------------------------------------

SIGNED = ["--analyst", "A. Analyst", "--analyst-signed-at", "2026-01-15T11:00:00+00:00",
          "--reviewer", "R. Reviewer", "--reviewer-signed-at", "2026-01-16T09:00:00+00:00"]


@pytest.mark.parametrize("status", ["reviewed", "authorized"])
@pytest.mark.parametrize("drop,message", [
    ("--analyst", "needs analyst"),
    ("--reviewer", "needs reviewer"),
    ("--reviewer-signed-at", "needs reviewer signed_at"),
    ("--analyst-signed-at", "needs analyst signed_at"),
])
def test_a_signed_status_needs_named_people_with_signing_times(results_file, tmp_path, status, drop, message):
    args = list(SIGNED)
    i = args.index(drop)
    del args[i:i + 2]
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(results_file), "-o", str(out), "--status", status, *args])
    assert result.exit_code == 3 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_nobody_signs_before_the_analysis(results_file, tmp_path):
    # the results were made at 2026-01-15T09:00:00+00:00
    args = [a if a != "2026-01-15T11:00:00+00:00" else "2026-01-14T11:00:00+00:00" for a in SIGNED]
    result = CliRunner().invoke(cli, ["report", str(results_file), "-o", str(tmp_path / "r.html"),
                                      "--status", "reviewed", *args])
    assert result.exit_code == 3 and "analyst signed_at 2026-01-14T11:00:00+00:00 is before the analysis" \
        in result.stderr
    early_review = [a if a != "2026-01-16T09:00:00+00:00" else "2026-01-15T10:00:00+00:00" for a in SIGNED]
    result = CliRunner().invoke(cli, ["report", str(results_file), "-o", str(tmp_path / "r.html"),
                                      "--status", "reviewed", *early_review])
    assert result.exit_code == 3 and "is before the analyst's" in result.stderr
    signed = _run("report", results_file, "-o", tmp_path / "r.html", "--status", "reviewed", *SIGNED)
    assert signed.exit_code == 0, signed.output


def test_a_draft_is_marked_and_not_exported_to_the_ewa_unless_allowed(results_file, tmp_path):
    html = tmp_path / "r.html"
    assert _run("report", results_file, "-o", html).exit_code == 0
    assert 'id="draft"' in html.read_text(encoding="utf-8") and 'class="draft-mark"' in html.read_text(encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(results_file), "-f", "ewa", "-o", str(tmp_path / "e")])
    assert result.exit_code == 3 and "is a draft" in result.stderr and "--allow-draft" in result.stderr
    assert not list(tmp_path.glob("e*"))
    assert _run("report", results_file, "-f", "ewa", "-o", tmp_path / "e", "--allow-draft").exit_code == 0
    assert "DRAFT" in (tmp_path / "e.csv").read_text(encoding="utf-8")
    signed = tmp_path / "s.html"
    assert _run("report", results_file, "-o", signed, "--status", "reviewed", *SIGNED).exit_code == 0
    assert 'id="draft"' not in signed.read_text(encoding="utf-8")
    assert 'class="draft-mark"' not in signed.read_text(encoding="utf-8")
    assert _run("report", results_file, "-f", "ewa", "-o", tmp_path / "s", "--status", "reviewed", *SIGNED).exit_code == 0
    assert "DRAFT" not in (tmp_path / "s.csv").read_text(encoding="utf-8")


def test_every_format_of_one_analysis_carries_one_report_id_and_rerenders_byte_for_byte(results_file, tmp_path):
    info = tmp_path / "card.toml"
    info.write_text('[laboratory]\nname = "Lab"\ncountry = "GB"\n[item]\nlab_sample_id = "S-1"\n', encoding="utf-8")
    ids = set()
    formats = (("html", "r.html"), ("pdf", "r.pdf"), ("ewa", "r.ewa"), ("csv", "r.csv"))
    for fmt, out in formats:  # built one by one, hours apart for all it matters
        result = _run("report", results_file, "-f", fmt, "-o", tmp_path / out, "--sample-info", info,
                      "--allow-draft", "--json", tmp_path / f"{out}.doc.json")
        assert result.exit_code == 0, result.output
        ids.add(result.output.split()[1])
    assert len(ids) == 1
    report_id = ids.pop()
    assert report_id in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert report_id in (tmp_path / "r.ewa.csv").read_text(encoding="utf-8")
    assert report_id in (tmp_path / "r.csv").read_text(encoding="utf-8")
    # other sample details: another analysis report, another id
    other = _run("report", results_file, "-f", "json", "-o", tmp_path / "o.json", "--lab-sample-id", "S-2")
    assert other.output.split()[1] != report_id
    # every format re-rendered from its saved document, no option repeated: byte for byte
    for fmt, out in formats:
        again = tmp_path / f"again-{out}"
        result = _run("report", tmp_path / f"{out}.doc.json", "-f", fmt, "-o", again, "--allow-draft")
        assert result.exit_code == 0, result.output
        for original, copy in zip(rendered_paths(fmt, tmp_path / out), rendered_paths(fmt, again)):
            assert copy.read_bytes() == original.read_bytes(), fmt


def test_a_library_that_has_moved_is_exit_4_one_line(tmp_path):
    results = make_results()
    for f in results["findings"]:
        del f["reference_spectrum"]  # as real results: the reference spectra come from the library
    path = tmp_path / "r.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(path), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 4 and not (tmp_path / "x.html").exists()
    assert result.stderr.strip().splitlines() == [
        "nps-id: error: /nonexistent/lib.h5: library named by the results not found (moved?); "
        "pass the same library with --library PATH"]


def test_no_laboratory_details_say_so(results_file, tmp_path):
    assert _run("report", results_file, "-o", tmp_path / "r.html").exit_code == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<strong>laboratory not given</strong>" in html and "\u2014 (\u2014)" not in html


def test_an_old_report_document_still_rerenders(results_file, tmp_path):
    assert _run("report", results_file, "-f", "json", "-o", tmp_path / "r.json").exit_code == 0
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    doc["schema_version"] = "1.0"  # as written before signing times, confirmations and components
    for f in doc["findings"]:
        for key in ("iupac_name_source", "library_comment", "apex_spectrum", "deconvolution", "other_techniques"):
            f.pop(key, None)
    for c in doc["chromatograms"][0]["components"]:
        for key in ("area", "model_mz", "n_ions", "top_ions", "best_hit", "note"):
            c.pop(key, None)
    doc["analyst"].pop("signed_at")
    (tmp_path / "old.json").write_text(json.dumps(doc), encoding="utf-8")
    for fmt in ("html", "pdf", "csv"):
        assert _run("report", tmp_path / "old.json", "-f", fmt, "-o", tmp_path / f"old.{fmt}").exit_code == 0
    doc["schema_version"] = "9.0"
    (tmp_path / "new.json").write_text(json.dumps(doc), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "new.json"), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 3 and len(result.stderr.strip().splitlines()) == 1
    assert "/schema_version" in result.stderr


def test_the_report_document_cannot_overwrite_the_ewa_json(results_file, tmp_path):
    result = CliRunner().invoke(cli, ["report", str(results_file), "-f", "ewa", "-o", str(tmp_path / "r.ewa"),
                                      "--allow-draft", "--json", str(tmp_path / "r.ewa.json")])
    assert result.exit_code == 2 and "is also an output of -f ewa" in result.output
    assert not list(tmp_path.glob("r.*"))


@pytest.mark.parametrize("argv, expected", [
    (["/usr/bin/nps-id", "report", "r.json"], "nps-id report r.json"),
    (["/src/nps_id/__main__.py", "match", "a b.mzML"], "nps-id match 'a b.mzML'"),
    (["/venv/lib/pytest/__main__.py", "-q", "tests"], None),  # another program's __main__: not a command typed
    ([str(Path(__file__).resolve().parents[2] / "cli.py"), "match", "x.mzML"], "nps-id match x.mzML"),  # README
    (["/elsewhere/cli.py", "match", "x.mzML"], None),  # another program's cli.py
])
def test_the_command_line_recorded_is_the_one_typed(monkeypatch, argv, expected):
    from nps_id.commands.options import typed_command_line

    monkeypatch.setattr("sys.argv", argv)
    assert typed_command_line() == expected


def test_the_output_suffix_names_the_format_and_a_conflict_is_refused(results_file, tmp_path):
    # `-o card.pdf` without -f once wrote HTML into the .pdf
    assert _run("report", results_file, "-o", tmp_path / "card.pdf").exit_code == 0
    assert (tmp_path / "card.pdf").read_bytes().startswith(b"%PDF")
    assert _run("report", results_file, "-o", tmp_path / "card.report").exit_code == 0
    assert (tmp_path / "card.report").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    refused = _run("report", results_file, "-f", "html", "-o", tmp_path / "other.pdf")
    assert refused.exit_code == 2 and "names a pdf file but -f is html" in refused.output
    assert not (tmp_path / "other.pdf").exists()


def test_every_example_of_the_help_runs(results_file, tmp_path, monkeypatch):
    # the EWA example exported a draft match JSON without --allow-draft: exit 3 for whoever copied it
    import shlex

    from nps_id.commands.report import _EPILOG

    monkeypatch.chdir(tmp_path)
    text = _EPILOG.split("Examples:")[1].split("\b")[0].replace("\\\n", " ")
    examples = [shlex.split(line, comments=True)[1:] for line in text.splitlines() if line.strip()]
    assert len(examples) == 3
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "card.toml").write_text('[item]\nlab_sample_id = "x"\n')
    (tmp_path / "results").mkdir()  # where `nps-id match -o results/` writes it, by the run file's name
    (tmp_path / "results" / "220223030.mzML.match.json").write_bytes(results_file.read_bytes())
    for args in examples:  # in order: the last re-renders the report document the first saved
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, (args, result.output)


def test_a_report_onto_standard_output_is_refused_not_written_to_a_file_named_dash(results_file, tmp_path,
                                                                                  monkeypatch):
    # `match --json -` writes to stdout; `report -o -` wrote a file literally named "-" and said "wrote -"
    monkeypatch.chdir(tmp_path)
    for args in (["-o", "-"], ["-o", "r.html", "--json", "-"]):
        result = CliRunner().invoke(cli, ["report", str(results_file), *args, "--allow-draft"])
        assert result.exit_code == 2 and "not to standard output" in result.output, args
        assert not (tmp_path / "-").exists() and not (tmp_path / "r.html").exists()


def test_report_help_says_where_a_suspected_new_substances_group_probability_is(results_file, tmp_path):
    """A new user (stop 43) found the group model's probability in the EWA export but not in the LIMS
    table, and `report --help` said nothing of suspected new substances: it now says how they are
    reported and where the probability and its band's rate are -- checked against the files written."""
    help_text = " ".join(_run("report", "--help").output.split())
    assert "reported and exported by their group only, never under a library compound's name" in help_text
    assert "the model's confidence, not a measured rate" in help_text
    assert "as the LIMS row does (columns suspected_group_probability and suspected_group_band_rate" in help_text
    results = json.loads(results_file.read_text(encoding="utf-8"))
    (finding,) = [f for f in results["findings"] if f["verdict"] == "tentative"]
    finding.update(new_substance=True, suspected_group="Synthetic cathinones", suspected_group_probability=0.95,
                   estimated_mass=261)
    results_file.write_text(json.dumps(results), encoding="utf-8")
    assert _run("report", results_file, "-f", "ewa", "-o", tmp_path / "x.ewa", "--allow-draft").exit_code == 0
    (lead,) = [r for r in csv.DictReader((tmp_path / "x.ewa.csv").open(encoding="utf-8"))
               if r["suspected_new_substance"] == "True"]
    assert lead["suspected_group_probability"] == "0.95" and lead["inchikey"] == ""  # by its group only
    fields = json.loads((tmp_path / "x.ewa.json").read_text(encoding="utf-8"))["fields"]
    assert "not a measured rate" in fields["suspected_group_probability"] and "right" in fields["suspected_group_probability"]
    assert _run("report", results_file, "-f", "csv", "-o", tmp_path / "lims.csv").exit_code == 0
    (row,) = [r for r in csv.DictReader((tmp_path / "lims.csv").open(encoding="utf-8")) if r["new_substance"] == "yes"]
    assert (row["suspected_group"], row["estimated_mass"]) == ("Synthetic cathinones", "261")
    # as the help says (stop 44; until then the LIMS row had no probability): with its band's rate
    assert row["suspected_group_probability"] == "0.95" and "right for 724 of 763" in row["suspected_group_band_rate"]

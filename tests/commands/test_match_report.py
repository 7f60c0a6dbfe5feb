"""``nps-id match --report``: reports written straight from a match, on the seized card run."""
from __future__ import annotations

import json

from click.testing import CliRunner

from nps_id.cli import cli
from tests.conftest import data_path


def test_match_writes_html_and_ewa_reports_for_the_card(swgdrug_library, tmp_path):
    run = data_path("gcms", "lrcfs", "220223030.mzML")
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(swgdrug_library), "-o", str(tmp_path),
                                      "--report", "html", "--report", "ewa"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "220223030.report.html").read_text(encoding="utf-8")
    assert "Flubromazepam" in html and "<svg" in html
    ewa = json.loads((tmp_path / "220223030.ewa.json").read_text(encoding="utf-8"))
    exported = {row["substance"]: row["ewa_subclass"] for row in ewa["substances"]}
    assert exported == {"Flubromazepam": "Benzodiazepines", "Etizolam": "Benzodiazepines"}
    assert "Bupivacaine" in {row["substance"] for row in ewa["excluded"]}  # said why, not dropped silently
    assert (tmp_path / "220223030.report.json").exists()  # the document every rendering comes from


def test_results_of_a_relative_library_path_report_with_reference_spectra_from_elsewhere(
        swgdrug_library, tmp_path, monkeypatch):
    # Matched with `-l swgdrug.h5` in the library's folder, reported from another folder: the
    # library must still be found, or the mirror plots silently lose their reference spectra.
    monkeypatch.chdir(swgdrug_library.parent)
    results = tmp_path / "r.json"
    matched = CliRunner().invoke(cli, ["match", str(data_path("gcms", "lrcfs", "220223030.mzML")),
                                       "-l", swgdrug_library.name, "--json", str(results)])
    assert matched.exit_code == 0, matched.output
    monkeypatch.chdir(tmp_path)
    reported = CliRunner().invoke(cli, ["report", "r.json", "-f", "json", "-o", "r.report.json"])
    assert reported.exit_code == 0, reported.output
    doc = json.loads((tmp_path / "r.report.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["reference_spectra"].startswith(f"library {swgdrug_library.name}")
    assert all(f["reference_spectrum"]["mz"] for f in doc["findings"])



def test_a_run_file_name_that_is_not_utf8_reports(tmp_path):
    # What `match --report` writes for a run named b"card\xff.mzML" (Python holds the byte as a lone
    # surrogate): the report document once failed on the name (strict UTF-8) after the match ran.
    from nps_id.report import write_reports
    from tests.report.conftest import make_results

    results = make_results()
    results["run"]["file"] = "card\udcff.mzML"
    written = write_reports(results, ["html", "pdf", "csv"], tmp_path)
    assert len(written) == 4
    html = next(tmp_path.glob("*.report.html")).read_text(encoding="utf-8")
    assert "card\\xff.mzML" in html  # the name as it can be printed, the byte shown
    assert next(tmp_path.glob("*.report.pdf")).read_bytes().startswith(b"%PDF")


def test_match_and_inspect_a_run_whose_file_name_is_not_utf8(swgdrug_library, tmp_path):
    """The mzML reader (lxml takes a file object's name as its URL) and every report format
    take a run named b"card\\xff\\xfe.mzML" (issue 12, item 13)."""
    import os

    run = os.fsdecode(bytes(tmp_path) + b"/card\xff\xfe.mzML")
    os.symlink(data_path("gcms", "lrcfs", "220223016.mzML"), run)
    assert CliRunner().invoke(cli, ["inspect", run]).exit_code == 0
    out = tmp_path / "out"
    for fmt in ("html", "pdf", "ewa", "csv"):
        result = CliRunner().invoke(cli, ["match", run, "-l", str(swgdrug_library), "-o", str(out),
                                          "--report", fmt, "--overwrite"])
        assert result.exit_code == 0, (fmt, result.output)
    names = sorted(os.listdir(os.fsencode(out)))
    assert b"card\xff\xfe.report.html" in names and b"card\xff\xfe.report.pdf" in names


def test_the_report_shows_the_match_command_as_typed(swgdrug_library, tmp_path):
    # A reviewer reruns the analysis from the report: the match's own command line is in it.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    results = tmp_path / "016.match.json"
    run = data_path("gcms", "lrcfs", "220223016.mzML")
    subprocess.run([sys.executable, "-m", "nps_id", "match", str(run), "-l", str(swgdrug_library), "--json",
                    str(results), "--internal-standard", "Bupivacaine@6.51"], cwd=root, check=True,
                   capture_output=True, timeout=300)
    typed = json.loads(results.read_text(encoding="utf-8"))["command_line"]
    assert typed.startswith("nps-id match ") and typed.endswith("--internal-standard Bupivacaine@6.51")
    reported = CliRunner().invoke(cli, ["report", str(results), "-f", "html", "-o", str(tmp_path / "016.html")])
    assert reported.exit_code == 0, reported.output
    html = (tmp_path / "016.html").read_text(encoding="utf-8")
    assert "<tr><th>Match command line</th><td>nps-id match " in html

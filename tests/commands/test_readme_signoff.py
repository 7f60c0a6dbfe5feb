"""The README's sign-off flow (sample TOML -> match -> draft report -> reviewer sign-off -> EWA
export), run exactly as written: the code block under "Reports and early-warning export",
in a folder laid out like a checkout (``docs/card.toml``, ``swgdrug.h5``, ``../shared/data``)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from nps_id.report import render
from tests.conftest import data_path

ROOT = Path(__file__).resolve().parents[2]


def _signoff_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Reports and early-warning export"):]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def test_the_readme_sign_off_flow_runs_as_written(swgdrug_library, tmp_path):
    data = data_path("gcms", "lrcfs").parents[1]
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(data)
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "card.toml", repo / "docs" / "card.toml")  # its runs: ../../shared/data
    (repo / "swgdrug.h5").symlink_to(swgdrug_library)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nps-id").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nps_id "$@"\n', encoding="utf-8")
    (bin_dir / "nps-id").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    flow = subprocess.run(["bash", "-e", "-c", _signoff_block()], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)
    assert flow.returncode == 0, flow.stderr
    results = json.loads((repo / "030.match.json").read_text(encoding="utf-8"))
    assert results["blank"]["file"] == "220223001.mzML" and results["reference_standards"][0]["found"]
    draft = json.loads((repo / "030.draft.json").read_text(encoding="utf-8"))
    signed = json.loads((repo / "030.report.json").read_text(encoding="utf-8"))
    assert (draft["status"], signed["status"]) == ("draft", "reviewed")
    assert draft["report_id"] == signed["report_id"]  # signing keeps the id
    ewa = json.loads((repo / "ewa" / "030.json").read_text(encoding="utf-8"))
    assert (ewa["report_id"], ewa["report_status"]) == (signed["report_id"], "reviewed")
    assert (repo / "ewa" / "030.csv").exists() and (repo / "030.lims.csv").exists()
    # the checks on page 1 of the draft, the blank's TIC beside the sample's
    html = (repo / "030.html").read_text(encoding="utf-8")
    assert "Reference standard Etizolam: run 220223010.mzML" in html and "Blank 220223001.mzML (same scale)" in html
    # re-rendering the saved report gives the very bytes written
    assert render(signed, "pdf")[".pdf"] == (repo / "030.pdf").read_bytes()
    assert render(signed, "html")[".html"] == (repo / "030.signed.html").read_bytes()


def test_every_shared_data_path_the_readme_names_exists(shared_data):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\.\./shared/data/([^\s`'\"),;]+)", readme))
    assert named
    missing = [p for p in sorted(named) if not list(shared_data.glob(p))]
    assert not missing, missing


def test_readme_commands_read_no_file_the_reader_does_not_have():
    # issue 15: `queries.mgf` (before the README makes it), `unknowns.msp`, `runs/`, `alkanes.csv`
    commands = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("nps-id ")]
    assert commands
    for line in commands:
        assert not re.search(r"(^|\s)(runs/|unknowns\.msp|alkanes\.csv|card\.toml)(\s|$)", line), line

"""`report -l LIB`, as every other command that reads a library takes it (a new user typing the
README's `-l` got "No such option: -l")."""
from __future__ import annotations

import json

from click.testing import CliRunner

from nps_id.cli import cli
from tests.report.conftest import make_results


def test_report_takes_the_library_as_dash_l(tmp_path):
    results = tmp_path / "r.json"
    results.write_text(json.dumps(make_results()), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(results), "-o", str(tmp_path / "x.html"),
                                      "-l", str(tmp_path / "typo.h5")])
    assert result.exit_code == 4 and "typo.h5: no such library file" in result.stderr

"""The README's demo runs offline from ../shared/data and ends with a real HTML report."""
from __future__ import annotations

from click.testing import CliRunner

from nps_id import demo
from tests.conftest import data_path


def test_demo_offline_writes_report_naming_the_card_drugs(tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_DATA", str(data_path()))
    result = CliRunner().invoke(demo.main, ["-o", str(tmp_path), "--offline"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("report: ") and last.endswith("220223030.report.html")
    html = (tmp_path / "220223030.report.html").read_text(encoding="utf-8")
    for name in ("Flubromazepam", "Etizolam", "Bupivacaine"):
        assert name in html
    assert "identified" in result.output


def test_demo_offline_without_data_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_DATA", str(tmp_path / "absent"))
    monkeypatch.setattr(demo, "shared_data", lambda: None)
    result = CliRunner().invoke(demo.main, ["-o", str(tmp_path), "--offline"])
    assert result.exit_code != 0 and "needs ../shared/data" in result.output

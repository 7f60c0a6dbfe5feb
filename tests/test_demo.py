"""The README's demo runs offline from ../shared/data and ends with a real HTML report."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from nps_id import demo
from tests.conftest import data_path


def test_demo_offline_writes_report_naming_the_card_drugs(tmp_path, monkeypatch, swgdrug_opsin):
    monkeypatch.setenv("NPS_ID_DATA", str(data_path()))
    # the demo builds the whole SWGDRUG 3.4 (ms_level 1): its names' structures as the session's SWGDRUG build had
    # them from OPSIN (the same SMILES per name, so the same library; stop 51), not a second Java call on ~6,900 names
    with swgdrug_opsin():
        result = CliRunner().invoke(demo.main, ["-o", str(tmp_path), "--offline"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("report: ") and last.endswith("220223030.report.html")
    html = (tmp_path / "220223030.report.html").read_text(encoding="utf-8")
    for name in ("Flubromazepam", "Etizolam", "Bupivacaine"):
        assert name in html
    assert "identified" in result.output
    # the README's quick tour shows this very table: it must be what a user gets today
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("```\n220223030.mzML: ", 1)[1].split("```", 1)[0]
    printed = result.output.split("220223030.mzML: ", 1)[1].rsplit("report: ", 1)[0]
    assert printed == shown


def test_demo_offline_without_data_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_DATA", str(tmp_path / "absent"))
    monkeypatch.setattr(demo, "shared_data", lambda: None)
    result = CliRunner().invoke(demo.main, ["-o", str(tmp_path), "--offline"])
    assert result.exit_code != 0 and "looks for its data in" in result.output and "../shared/data" in result.output


def test_demo_online_downloads_the_pinned_run_and_a_catalogue_library(tmp_path, monkeypatch):
    """The online path against a loopback server: the run is checked against its SHA-256."""
    import hashlib
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from nps_id.io import read

    www = tmp_path / "www"
    www.mkdir()
    # The upstream file is a ProteoWizard MS1 export of this run; write the same from the mzML.
    lines = []
    for i, scan in enumerate(read(data_path("gcms", "lrcfs", "220223030.mzML"))):
        lines.append(f"S\t{i + 1}\t{i + 1}\nI\tRTime\t{scan.retention_time / 60:.6f}\n")
        lines.extend(f"{m:.1f} {v:.0f}\n" for m, v in zip(scan.mz, scan.intensity))
    run = ("H\tExtractor\tProteoWizard\n" + "".join(lines)).encode()
    (www / "220223030.ms1").write_bytes(run)
    (www / "MassBank_NISTformat.msp").write_bytes(
        data_path("massbank", "ei-queries-identity.msp.gz").read_bytes())
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        catalogue = tmp_path / "catalogue.toml"
        catalogue.write_text(f"""[massbank-ei]
description = "test"
licence = "CC BY"
url = "{base}/MassBank_NISTformat.msp"
filename = "MassBank_NISTformat.msp"
format = "msp"
release = "test"
[massbank-ei.filter]
ms_level = 1
""")
        monkeypatch.setenv("NPS_ID_CATALOGUE", str(catalogue))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        monkeypatch.setattr(demo, "RUN_URL", f"{base}/220223030.ms1")
        monkeypatch.setattr(demo, "RUN_SHA256", "0" * 64)
        wrong = CliRunner().invoke(demo.main, ["-o", str(tmp_path / "out"), "--online"])
        assert wrong.exit_code == 4 and "does not match" in wrong.output
        monkeypatch.setattr(demo, "RUN_SHA256", hashlib.sha256(run).hexdigest())
        result = CliRunner().invoke(demo.main, ["-o", str(tmp_path / "out"), "--online"])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].endswith("220223030.report.html")
    assert (tmp_path / "out" / "massbank-ei.h5").exists()

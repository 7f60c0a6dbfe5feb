"""Downloading catalogue libraries: served from a local HTTP server on 127.0.0.1, never the internet."""
from __future__ import annotations

import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nps_id.errors import InputError, LibraryError
from nps_id.library.fetch import CatalogueEntry, download, fetch_library, load_catalogue, obtain
from nps_id.spectrum import Spectrum
from tests._hash_calls import count_hash_calls


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with ``Range`` support; drops the connection half-way when told to."""

    drop_next: dict = {}

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        start = 0
        if rng := self.headers.get("Range"):
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.drop_next.pop(path.name, False):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.close()
            return
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


PAYLOAD = b"Name: test\nNum Peaks: 2\n41 10\n43 999\n\n" * 5000


def test_download_resumes_after_a_dropped_connection(server, tmp_path):
    root, base = server
    (root / "lib.msp").write_bytes(PAYLOAD)
    RangeHandler.drop_next["lib.msp"] = True
    dest = tmp_path / "cache" / "lib.msp"
    dest.parent.mkdir()
    with pytest.raises(LibraryError, match="run the same command again to resume"):
        download(f"{base}/lib.msp", dest)
    assert not dest.exists(), "an interrupted download must not appear complete"
    assert 0 < (dest.parent / "lib.msp.part").stat().st_size < len(PAYLOAD)
    download(f"{base}/lib.msp", dest)
    assert dest.read_bytes() == PAYLOAD


def test_http_error_names_url_and_status(server, tmp_path):
    _, base = server
    with pytest.raises(LibraryError, match=r"HTTP 404.*") as info:
        download(f"{base}/missing.msp", tmp_path / "missing.msp")
    assert "missing.msp" in str(info.value)


def _entry(**kw) -> CatalogueEntry:
    base = dict(name="t", description="d", licence="CC0", url="http://127.0.0.1:9/lib.msp",
                filename="lib.msp", format="msp", release="1")
    base.update(kw)
    return CatalogueEntry(**base)


def test_wrong_checksum_is_refused_and_file_discarded(server, tmp_path):
    root, base = server
    (root / "lib.msp").write_bytes(PAYLOAD)
    entry = _entry(sha256="0" * 64)
    with pytest.raises(LibraryError, match="does not match"):
        obtain(entry, tmp_path / "cache", mirror=base)
    assert not list((tmp_path / "cache").rglob("lib.msp"))


def test_pinned_checksum_accepted_from_mirror_folder(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "lib.msp").write_bytes(PAYLOAD)
    entry = _entry(sha256=hashlib.sha256(PAYLOAD).hexdigest())
    path, digest, origin = obtain(entry, tmp_path / "cache", mirror=str(mirror))
    assert path == mirror / "lib.msp" and origin == str(path)
    assert digest == (entry.sha256, len(PAYLOAD))


def test_mirror_folder_without_the_file(tmp_path):
    with pytest.raises(LibraryError, match="has no lib.msp"):
        obtain(_entry(), tmp_path / "cache", mirror=str(tmp_path))


def test_catalogue_entries_and_filters():
    catalogue = load_catalogue()
    assert {"massbank-ei", "massbank-ms2"} <= set(catalogue)
    ei = catalogue["massbank-ei"]
    assert ei.url.startswith("https://") and ei.format == "msp"
    gc_ei = Spectrum([41, 43], [1, 2], {"ms_level": 1, "instrument_type": "GC-EI-TOF"})
    lc_ms2 = Spectrum([41, 43], [1, 2], {"ms_level": 2, "instrument_type": "LC-ESI-QTOF"})
    assert ei.accepts(gc_ei) and not ei.accepts(lc_ms2)
    assert catalogue["massbank-ms2"].accepts(lc_ms2) and not catalogue["massbank-ms2"].accepts(gc_ei)


def test_malformed_catalogue_names_file_and_entry(tmp_path):
    bad = tmp_path / "catalogue.toml"
    bad.write_text('[x]\ndescription = "no url"\n')
    with pytest.raises(InputError, match=r"catalogue.toml: catalogue entry \[x\] is malformed"):
        load_catalogue(bad)



def test_a_catalogue_saved_with_a_byte_order_mark_is_read_and_a_bad_one_is_one_line(tmp_path, monkeypatch):
    """`library fetch --list` reads the project's catalogue saved by a Windows editor (a UTF-8 byte
    order mark, as sample-info TOML); a catalogue that is not UTF-8, or a $NPS_ID_CATALOGUE that
    is a folder, is one line and exit 3 (bad input), not a traceback."""
    from click.testing import CliRunner

    from nps_id.cli import cli

    project = Path(__file__).resolve().parents[2] / "libraries" / "catalogue.toml"
    plain = CliRunner().invoke(cli, ["library", "fetch", "--list", "--catalogue", str(project)])
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + project.read_bytes())
    read = CliRunner().invoke(cli, ["library", "fetch", "--list", "--catalogue", str(bom)])
    assert plain.exit_code == read.exit_code == 0 and "massbank-ei" in read.stdout and read.stdout == plain.stdout
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[x]\ndescription = "Base de donn\u00e9es"\n'.encode("latin-1"))
    monkeypatch.setenv("NPS_ID_CATALOGUE", str(tmp_path))
    for args in (["--catalogue", str(latin1)], []):
        result = CliRunner().invoke(cli, ["library", "fetch", "--list", *args])
        assert result.exit_code == 3 and not isinstance(result.exception, UnicodeDecodeError | OSError)
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("nps-id: error: ") and ("latin1.toml" in line if args else str(tmp_path) in line)

# -- `nps-id library fetch` end to end, on real MassBank files ---------------------------------
from click.testing import CliRunner  # noqa: E402

from nps_id.cli import cli  # noqa: E402
from tests.conftest import data_path  # noqa: E402


def _catalogue(tmp_path: Path, url: str, filename: str, sha256: str = "", ms_level: int = 1) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(
        f"""[mb]
description = "MassBank test subset"
licence = "CC BY"
url = "{url}"
filename = "{filename}"
format = "msp"
sha256 = "{sha256}"
release = "test"
[mb.filter]
ms_level = {ms_level}
"""
    )
    return path


def _fetch(tmp_path: Path, *args: str):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    return CliRunner().invoke(cli, ["library", "fetch", *args], env=env)


def test_fetch_from_shared_data_mirror_builds_filtered_library(tmp_path):
    source = data_path("massbank", "ms2-queries-identity.msp.gz")
    catalogue = _catalogue(tmp_path, "https://example.invalid/x", source.name, ms_level=2)
    out = tmp_path / "mb.h5"
    result = _fetch(tmp_path, "mb", "-o", str(out), "--catalogue", str(catalogue), "--mirror", str(source.parent))
    assert result.exit_code == 0, result.output
    from nps_id.library import Library

    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    with Library.open(out) as lib:
        # 1,235 records (zgrep -c '^Name:'), of which 69 have one peak and fail QA
        # (zgrep -c '^Num Peaks: 1$')
        assert lib.n_spectra == 1235 - 69
        assert set(lib.column("ms_level").tolist()) == {2}
        (prov,) = lib.provenance()
    assert prov["sha256"] == digest and prov["file"] == source.name
    assert digest in result.output


def test_fetch_hashes_the_source_once_and_records_that_digest(tmp_path, monkeypatch):
    source = data_path("massbank", "ei-queries-identity.msp.gz")
    data = source.read_bytes()
    entry = _entry(filename=source.name, sha256=hashlib.sha256(data).hexdigest())
    calls = count_hash_calls(monkeypatch)
    summary = fetch_library(entry, tmp_path / "ei.h5", mirror=str(source.parent), cache_dir=tmp_path / "cache")
    from nps_id.library.structures import default_tables

    assert calls[str(source)] == 1, "checked against the catalogue, then reused by the build"
    assert set(calls) <= {str(source), *map(str, default_tables())}  # + the structure table
    from nps_id.library import Library

    with Library.open(tmp_path / "ei.h5") as lib:
        (prov,) = lib.provenance()
    assert (prov["sha256"], prov["size_bytes"]) == (entry.sha256, len(data))
    assert summary.sources[0].sha256 == entry.sha256


def test_fetch_over_http_filters_ei_and_records_url(server, tmp_path):
    root, base = server
    source = data_path("massbank", "ei-queries-identity.msp.gz")
    (root / source.name).write_bytes(source.read_bytes())
    catalogue = _catalogue(tmp_path, f"{base}/{source.name}", source.name,
                           sha256=hashlib.sha256(source.read_bytes()).hexdigest())
    out = tmp_path / "ei.h5"
    result = _fetch(tmp_path, "mb", "-o", str(out), "--catalogue", str(catalogue))
    assert result.exit_code == 0, result.output
    from nps_id.library import Library

    with Library.open(out) as lib:
        assert lib.n_spectra == 967  # zgrep -c '^Name:' ei-queries-identity.msp.gz
        (prov,) = lib.provenance()
    assert prov["url"] == f"{base}/{source.name}"


def test_fetch_failures_leave_previous_library_untouched(server, tmp_path):
    root, base = server
    source = data_path("massbank", "ei-queries-analog.msp.gz")
    (root / source.name).write_bytes(source.read_bytes())
    out = tmp_path / "lib.h5"
    out.write_bytes(b"previous library")
    wrong = _catalogue(tmp_path, f"{base}/{source.name}", source.name, sha256="f" * 64)
    result = _fetch(tmp_path, "mb", "-o", str(out), "--catalogue", str(wrong))
    assert result.exit_code == 4 and "does not match" in result.output
    missing = _catalogue(tmp_path, f"{base}/nothing-here.msp", "nothing-here.msp")
    result = _fetch(tmp_path, "mb", "-o", str(out), "--catalogue", str(missing))
    assert result.exit_code == 4 and "HTTP 404" in result.output
    RangeHandler.drop_next[source.name] = True
    cut = _catalogue(tmp_path, f"{base}/{source.name}", source.name)
    result = _fetch(tmp_path, "mb", "-o", str(out), "--catalogue", str(cut))
    assert result.exit_code == 4 and "resume" in result.output
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"previous library"
    result = _fetch(tmp_path, "mb", "-o", str(out), "--catalogue", str(cut))  # resumes
    assert result.exit_code == 0, result.output


def test_misspelt_filter_key_is_refused_not_ignored(tmp_path):
    bad = tmp_path / "catalogue.toml"
    bad.write_text('[x]\ndescription = "d"\nlicence = "l"\nurl = "https://example.invalid/x.msp"\n'
                   'filename = "x.msp"\nformat = "msp"\nrelease = "r"\n[x.filter]\nms_lvl = 1\n')
    with pytest.raises(InputError, match=r"\[x.filter\] has unknown keys ms_lvl"):
        load_catalogue(bad)


def test_fetch_whose_filter_leaves_nothing_says_so(tmp_path):
    source = data_path("massbank", "ei-queries-analog.msp.gz")  # EI only
    catalogue = _catalogue(tmp_path, "https://example.invalid/x", source.name, ms_level=2)
    result = _fetch(tmp_path, "mb", "-o", str(tmp_path / "mb.h5"), "--catalogue", str(catalogue),
                    "--mirror", str(source.parent))
    assert result.exit_code == 3
    assert "the filter left out 150 spectra" in result.stderr

"""``nps-id library build/info/validate/export`` through click, and library resolution."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.commands.options import LIBRARY_ENV, resolve_library
from nps_id.errors import LibraryError
from nps_id.library import Library
from tests.conftest import data_path


def test_build_prints_kept_and_rejected_per_source(swgdrug_cli_build):
    out, result = swgdrug_cli_build
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("SWGDRUG-3.4.msp.gz"))
    assert row.split()[1:5] == ["msp", "2988", "2988", "0"]
    assert "duplicates: 79 InChIKeys with several spectra" in result.stdout
    with Library.open(out) as lib:
        assert f"sha256 {lib.sha256}" in result.stdout
        assert (lib.info["name"], lib.info["release"]) == ("SWGDRUG", "3.4")


def test_build_says_how_many_near_identical_pairs_it_does_not_list(tmp_path):
    """MassBank MS/MS printed 5 of 1,295 name+formula pairs under a count a reader took for the 5:
    the line after them says how many more there are."""
    import gzip

    records = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).split(b"\r\n\r\n")
    keyed = [r for r in records if b"\r\nInChIKey: " in r][:7]
    # each real record again without its InChIKey: same name, formula and spectrum, no shared key
    unkeyed = [b"\r\n".join(x for x in r.split(b"\r\n") if not x.startswith(b"InChIKey:")) for r in keyed]
    source = tmp_path / "pairs.msp"
    source.write_bytes(b"\r\n\r\n".join(keyed + unkeyed) + b"\r\n")
    result = CliRunner().invoke(cli, ["library", "build", str(source), "-o", str(tmp_path / "pairs.h5"),
                                      "--ms-level", "1"])
    assert result.exit_code == 0, result.output
    assert "0 InChIKeys with several spectra, 7 near-identical name+formula pairs" in result.stdout
    assert sum(": rows " in line for line in result.stdout.splitlines()) == 5
    assert "  ... and 2 more pairs, not listed" in result.stdout


def test_build_uses_the_search_index_builder_when_available(swgdrug_cli_build):
    pytest.importorskip("nps_id.search.index")
    from nps_id.search import index

    if not hasattr(index, "build_indexes"):
        pytest.skip("nps_id.search.index has no build_indexes yet")
    out, _ = swgdrug_cli_build
    with Library.open(out) as lib:
        assert lib.index_names(), "library build should store the search indexes"
        for name in lib.index_names():
            assert lib.index_attrs(name)["library_sha256"] == lib.sha256


def test_info_text_and_json(swgdrug_cli_build):
    out, _ = swgdrug_cli_build
    text = CliRunner().invoke(cli, ["library", "info", str(out)])
    assert text.exit_code == 0
    assert "spectra   2988" in text.stdout and "SWGDRUG-3.4.msp.gz: 2988" in text.stdout
    data = json.loads(CliRunner().invoke(cli, ["library", "info", str(out), "--json"]).stdout)
    assert data["n_spectra"] == 2988 and data["ms_level"] == {"unknown": 2988}
    assert data["source"] == {"SWGDRUG-3.4.msp.gz": 2988}
    assert data["size_bytes"] == out.stat().st_size and len(data["sha256"]) == 64
    assert data["provenance"][0]["kept"] == 2988 and data["format_version"] == "2.0"


def test_validate_ok(swgdrug_cli_build):
    out, _ = swgdrug_cli_build
    result = CliRunner().invoke(cli, ["library", "validate", str(out)])
    assert result.exit_code == 0 and result.stdout.startswith("OK ")
    assert "2988 spectra" in result.stdout


def test_export_msp_then_rebuild(swgdrug_cli_build, tmp_path):
    out, _ = swgdrug_cli_build
    msp = tmp_path / "out.msp"
    result = CliRunner().invoke(cli, ["library", "export", str(out), "-o", str(msp)])
    # its output is only the file: "wrote" is a diagnostic, on stderr as convert's (stdout until stop 32)
    assert result.exit_code == 0 and result.stderr.strip() == f"wrote 2988 spectra to {msp}", result.output
    assert result.stdout == ""
    assert msp.read_text().count("Name: ") == 2988


def test_missing_library_and_unreadable_source(tmp_path):
    result = CliRunner().invoke(cli, ["library", "info", str(tmp_path / "none.h5")])
    assert result.exit_code == 4 and "no such library file" in result.stderr
    junk = tmp_path / "junk.xyz"
    junk.write_bytes(b"\x00\x01 nothing here")
    result = CliRunner().invoke(cli, ["library", "build", str(junk), "-o", str(tmp_path / "x.h5")])
    assert result.exit_code == 3 and "junk.xyz" in result.stderr
    assert not (tmp_path / "x.h5").exists()


def test_resolve_library_order(tmp_path, monkeypatch):
    named, env_lib = tmp_path / "named.h5", tmp_path / "env.h5"
    named.touch()
    env_lib.touch()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(LIBRARY_ENV, str(env_lib))
    assert resolve_library(named) == named
    assert resolve_library(None) == env_lib
    monkeypatch.delenv(LIBRARY_ENV)
    with pytest.raises(LibraryError, match="nps-id library build") as info:
        resolve_library(None)
    assert str(tmp_path / "xdg" / "nps-id" / "default.h5") in str(info.value)
    # the command it suggests names the library as reports quote it (else: "default", release = today)
    assert "--name SWGDRUG --release 3.4 --ms-level 1" in str(info.value)
    default = tmp_path / "xdg" / "nps-id" / "default.h5"
    default.parent.mkdir(parents=True)
    default.touch()
    assert resolve_library(None) == default


def test_help_shows_examples():
    result = CliRunner().invoke(cli, ["library", "build", "--help"])
    assert result.exit_code == 0 and "nps-id library build SWGDRUG-3.4.msp.gz -o swgdrug.h5" in result.stdout


def test_build_fills_ms_level_only_where_the_file_is_silent(tmp_path):
    # SWGDRUG's first 100 records as the file has them (no Spectrum_type: level unknown); its
    # other 2,888 would only make the build slower, the files' levels are what the test is about
    import gzip

    records = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).split(b"\r\n\r\n")
    swgdrug_msp = tmp_path / "swgdrug-100.msp"
    swgdrug_msp.write_bytes(b"\r\n\r\n".join(records[:100]) + b"\r\n")
    ms2 = data_path("massbank", "ms2-queries-analog.msp.gz")  # Spectrum_type: MS2 on every record
    out = tmp_path / "mixed.h5"
    result = CliRunner().invoke(cli, ["library", "build", str(swgdrug_msp), str(ms2), "-o", str(out),
                                      "--ms-level", "1", "--instrument-type", "GC-EI"])
    assert result.exit_code == 0, result.output
    with Library.open(out) as lib:
        levels = lib.column("ms_level")
        instruments = lib.column("instrument_type")
        source = lib.column("source")
    from_swgdrug = source == swgdrug_msp.name
    assert from_swgdrug.sum() == 100 and set(levels[from_swgdrug].tolist()) == {1}
    assert set(instruments[from_swgdrug].tolist()) == {"GC-EI"}
    assert set(levels[~from_swgdrug].tolist()) == {2}  # the file's own value is never replaced
    assert "GC-EI" not in set(instruments[~from_swgdrug].tolist())
    assert "MS level (e.g." not in result.output


def test_info_names_an_ei_library_whose_file_names_no_instrument(swgdrug_cli_build, tmp_path, swgdrug_opsin):
    # SWGDRUG's MSP records name no instrument type: built with --ms-level 1 (as README says) the
    # library is EI -- every search reads it so -- and info says EI, not "unknown"; built without
    # it, the level is unknown and so is the instrument type
    import gzip

    records = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).split(b"\r\n\r\n")
    swgdrug_msp = tmp_path / "swgdrug-20.msp"
    swgdrug_msp.write_bytes(b"\r\n\r\n".join(records[:20]) + b"\r\n")
    out = tmp_path / "swgdrug-20.h5"
    with swgdrug_opsin():  # the names' structures as the session's SWGDRUG build had them (no Java start)
        built = CliRunner().invoke(cli, ["library", "build", str(swgdrug_msp), "-o", str(out), "--ms-level", "1"])
    assert built.exit_code == 0, built.output
    text = CliRunner().invoke(cli, ["library", "info", str(out)]).stdout
    assert "instrument_type EI (instrument type not recorded): 20" in text and "unknown" not in text
    data = json.loads(CliRunner().invoke(cli, ["library", "info", str(out), "--json"]).stdout)
    assert data["instrument_type"] == {"EI (instrument type not recorded)": 20}
    unknown_level, _ = swgdrug_cli_build
    data = json.loads(CliRunner().invoke(cli, ["library", "info", str(unknown_level), "--json"]).stdout)
    assert data["instrument_type"] == {"unknown": 2988}


def test_build_warns_once_when_spectra_do_not_say_their_ms_level(swgdrug_cli_build):
    _, result = swgdrug_cli_build  # SWGDRUG built without --ms-level
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "do not say their MS level" in line]
    assert len(warnings) == 1 and warnings[0].startswith("note: 2988 spectra") and "--ms-level 1" in warnings[0]


def test_appending_a_spectrum_of_unknown_ms_level_says_so_in_the_singular(tmp_path):
    out = tmp_path / "inhouse.h5"
    for name, peaks in (("x.msp", "41 100\n55 200\n91 999\n"), ("y.msp", "43 100\n57 300\n105 999\n")):
        (tmp_path / name).write_text(f"Name: Test compound {name}\nNum Peaks: 3\n{peaks}\n", encoding="utf-8")
    first = CliRunner().invoke(cli, ["library", "build", str(tmp_path / "x.msp"), "-o", str(out)])
    assert "note: 1 spectrum does not say its MS level" in first.output and "--ms-level 1" in first.output
    appended = CliRunner().invoke(cli, ["library", "build", str(tmp_path / "y.msp"), "-o", str(out), "--append"])
    assert appended.exit_code == 0, appended.output
    warned = [line for line in appended.output.splitlines() if "MS level (e.g." in line]
    assert len(warned) == 1 and warned[0].startswith("note: 2 spectra do not say their MS level")  # once, appended too


def test_appending_structures_only_prints_no_empty_source_table(tmp_path):
    """`build -o LIB --append --structures-table T` (no source) printed the per-source header
    "source format read kept rejected reasons" over no rows."""
    out = tmp_path / "inhouse.h5"
    (tmp_path / "x.msp").write_text("Name: Test compound\nNum Peaks: 3\n41 100\n55 200\n91 999\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["library", "build", str(tmp_path / "x.msp"), "-o", str(out)]).exit_code == 0
    table = tmp_path / "lab.tsv"
    table.write_text("inchikey\tsmiles\n", encoding="utf-8")
    appended = CliRunner().invoke(cli, ["library", "build", "-o", str(out), "--append", "--structures-table", str(table)])
    assert appended.exit_code == 0, appended.output
    assert "kept 1 spectrum already in" in appended.output and "rejected  reasons" not in appended.output


def test_append_onto_a_missing_file_labels_it_like_a_new_build(tmp_path):
    from datetime import date

    out = tmp_path / "inhouse.h5"
    source = data_path("formats", "matchms-tests", "golm.msp")
    result = CliRunner().invoke(cli, ["library", "build", str(source), "-o", str(out), "--append"])
    assert result.exit_code == 0, result.output
    with Library.open(out) as lib:
        assert (lib.info["name"], lib.info["release"]) == ("inhouse", date.today().isoformat())


def test_build_refuses_to_overwrite_a_source(tmp_path):
    source = tmp_path / "inhouse.msp"
    source.write_bytes(data_path("formats", "matchms-tests", "golm.msp").read_bytes())
    before = source.read_bytes()
    result = CliRunner().invoke(cli, ["library", "build", str(source), "-o", str(source)])
    assert result.exit_code == 3 and "is an input of this command" in result.stderr
    assert source.read_bytes() == before


@pytest.mark.parametrize("suffix", [".msp.gz", ".mgf.gz"])
def test_export_to_gz_is_gzipped_and_reads_back(swgdrug_cli_build, tmp_path, suffix):
    from nps_id.io import read

    out, _ = swgdrug_cli_build
    target = tmp_path / f"swgdrug{suffix}"
    result = CliRunner().invoke(cli, ["library", "export", str(out), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:2] == b"\x1f\x8b"
    assert sum(1 for _ in read(target)) == 2988


@pytest.mark.parametrize("damage", ["PrecursorMZ: 300,1473/301", "PrecursorMZ: 0", "PrecursorMZ: 1e309"])
def test_build_says_which_ms2_spectra_no_search_can_return(tmp_path, damage):
    """An MS/MS record whose precursor m/z cannot be read was stored without a word, and no MS/MS
    search (ordered by precursor) ever returned it: MassBank MS/MS holds 69 such records."""
    text = data_path("formats", "matchms-tests", "massbank_five_spectra.msp").read_text(encoding="utf-8")
    assert "PrecursorMZ: 300.1473" in text  # Metoclopramide's
    (tmp_path / "five.msp").write_text(text.replace("PrecursorMZ: 300.1473", damage), encoding="utf-8")
    good = CliRunner().invoke(cli, ["library", "build", str(data_path("formats", "matchms-tests",
                              "massbank_five_spectra.msp")), "-o", str(tmp_path / "good.h5")])
    assert good.exit_code == 0 and "precursor" not in good.output
    damaged = CliRunner().invoke(cli, ["library", "build", str(tmp_path / "five.msp"), "-o", str(tmp_path / "d.h5")])
    assert damaged.exit_code == 0, damaged.output
    assert ("note: 1 MS/MS spectrum has no usable precursor m/z (first: Metoclopramide): stored, "
            "but no MS/MS search can return it") in damaged.output
    with Library.open(tmp_path / "d.h5") as damaged_lib, Library.open(tmp_path / "good.h5") as good_lib:
        assert len(damaged_lib) == len(good_lib)  # stored all the same


def test_the_ms2_precursor_note_quotes_a_huge_name_shortened(tmp_path):
    """The note quoted the record's whole name: a 20,000-character NAME= made a 20 kB stderr line."""
    name = "N" * 20000
    (tmp_path / "one.mgf").write_text(f"BEGIN IONS\nMSLEVEL=2\nNAME={name}\n70 1\n90 2\nEND IONS\n")
    result = CliRunner().invoke(cli, ["library", "build", str(tmp_path / "one.mgf"), "-o", str(tmp_path / "one.h5")])
    assert result.exit_code == 0, result.output
    (note,) = [line for line in result.output.splitlines() if "no usable precursor" in line]
    assert len(note) < 300 and "(first: NNN" in note and "...)" in note


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_build_into_a_named_pipe_writes_the_library_to_its_reader(tmp_path):
    """`-o FIFO` hung for ever: HDF5 opened the pipe (O_RDWR) for the in-memory file and closed it,
    the reader saw end of file, and the library's bytes then waited for a reader that was gone."""
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    source = data_path("formats", "matchms-tests", "MoNA-export-GC-MS-first10.msp")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    build = subprocess.Popen([sys.executable, "-m", "nps_id", "library", "build", str(source), "-o", str(fifo)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    with open(fifo, "rb") as reader:
        received = reader.read()
    try:
        build.wait(timeout=60)
    finally:
        build.kill()
    assert build.returncode == 0, build.stderr.read()
    copy = tmp_path / "copy.h5"
    copy.write_bytes(received)
    with Library.open(copy) as lib:
        assert len(lib) == 10


def test_a_formula_count_of_thousands_of_digits_is_no_formula_not_a_traceback(tmp_path, swgdrug_opsin):
    # SWGDRUG's first records, the first one's formula given a 5,000-digit carbon count: the build
    # stopped with a ValueError traceback from int() (Python's 4,300-digit limit), nothing written
    import gzip

    records = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).split(b"\r\n\r\n")[:5]
    records[0] = records[0].replace(b"Formula: C19H30O2", b"Formula: C" + b"9" * 5000 + b"H30O2")
    msp = tmp_path / "huge-count.msp"
    msp.write_bytes(b"\r\n\r\n".join(records) + b"\r\n")
    out = tmp_path / "lib.h5"
    with swgdrug_opsin():  # the names' structures as the session's SWGDRUG build had them (no Java start)
        result = CliRunner().invoke(cli, ["library", "build", str(msp), "-o", str(out), "--ms-level", "1"])
    assert result.exit_code == 0, result.output
    assert "1 record's formula is no molecular formula (first: huge-count.msp record 1 (Epiandrosterone)" in result.output
    with Library.open(out) as lib:
        assert lib.column("formula").tolist()[:2] == ["", "C10H11NO4"]

"""Finding runs below folders: formats, .D folders, patterns, sequence order, blank pairing."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from nps_id.batch.discover import Run, discover, natural_key, pair_blanks
from nps_id.errors import InputError
from nps_id.io import UNKNOWN_FORMAT
from tests.conftest import data_path


def test_lrcfs_folder_finds_six_mzml_and_two_agilent_d_runs_in_sequence_order():
    found = discover([data_path("gcms", "lrcfs")])
    assert [r.key for r in found.runs] == [
        "220223001.mzML", "220223002.mzML", "220223008.mzML", "220223010.mzML",
        "220223016.mzML", "220223030.mzML", "agilent-D/220223008.D", "agilent-D/220223030.D",
    ]
    assert {r.format for r in found.runs} == {"mzml", "agilent"}
    # The CSV, the licence and the provenance note are not runs, and nothing inside a .D is.
    assert sorted(p.name for p, _ in found.ignored) == ["GCMSResultsCardData.csv", "LICENSE", "PROVENANCE-upstream.txt"]


def test_jcamp_folder_takes_the_two_runs_and_not_the_licence_named_jdx_nor_the_provenance_notes():
    # The folder as shared: two JCAMP-DX runs beside a licence text named LICENSE-gcms.jdx and two
    # PROVENANCE notes that quote "##TITLE" and "##PAGE" in sentences. Until stop 35 the three were
    # taken as JCAMP-DX runs (by the extension, by "##TITLE" anywhere in the first bytes) and failed.
    folder = data_path("gcms", "jcamp")
    found = discover([folder])
    assert [(r.key, r.format) for r in found.runs] == [("ELEY_1_SUBTRACT.JDX", "jcamp"), ("gcms.jdx", "jcamp")]
    why = {p.name: reason for p, reason in found.ignored}
    assert why == {
        "LICENSE-gcms.jdx": "named as jcamp (.jdx .dx .jcamp .jcm), but its content is not jcamp",
        "LICENSE-ELEY_1": UNKNOWN_FORMAT,
        "PROVENANCE-ELEY_1.txt": UNKNOWN_FORMAT,
        "PROVENANCE-gcms.jdx.txt": UNKNOWN_FORMAT,
    }
    assert found.unknown_format == 3


def test_a_jcamp_header_without_spectra_is_not_a_run_but_every_shared_jcamp_file_is(tmp_path):
    # The header of the real gcms.jdx run cut before its first ##XYDATA=: labels, no spectrum.
    run = data_path("gcms", "jcamp", "gcms.jdx").read_bytes()
    (tmp_path / "header.jdx").write_bytes(run[:run.index(b"##XYDATA=")])
    found = discover([tmp_path])
    assert found.runs == []
    assert "a JCAMP-DX header without spectra" in found.ignored[0][1]
    # Every JCAMP-DX file of the shared data -- single spectra, NTUPLES pages, ASDF encodings, a
    # file without ##END= -- still reads as one.
    converter = discover([data_path("formats", "jcampconverter-ms")])
    assert len(converter.runs) == 9 and {r.format for r in converter.runs} == {"jcamp"}


def test_include_and_exclude_patterns_are_case_insensitive_globs_from_the_right():
    lrcfs = data_path("gcms", "lrcfs")
    only_d = discover([lrcfs], include=["*.d"])
    assert [r.key for r in only_d.runs] == ["agilent-D/220223008.D", "agilent-D/220223030.D"]
    no_d = discover([lrcfs], include=["*.MZML"], exclude=["*016.mzml", "22022300[18]*"])
    assert [r.key for r in no_d.runs] == ["220223002.mzML", "220223010.mzML", "220223030.mzML"]


def test_reference_libraries_in_a_folder_are_not_runs_but_named_files_are_taken(tmp_path):
    (tmp_path / "lib.msp.gz").symlink_to(data_path("swgdrug", "SWGDRUG-3.4.msp.gz"))
    (tmp_path / "run.mzML").symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))
    found = discover([tmp_path])
    assert [r.key for r in found.runs] == ["run.mzML"]
    assert "reference spectra" in dict((p.name, why) for p, why in found.ignored)["lib.msp.gz"]
    named = discover([tmp_path / "lib.msp.gz"])
    assert [r.key for r in named.runs] == ["lib.msp.gz"]


def test_two_folders_prefix_their_names_and_a_missing_input_is_an_input_error(tmp_path):
    for name in ("day1", "day2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.mzML").symlink_to(data_path("gcms", "lrcfs", "220223001.mzML"))
    keys = [r.key for r in discover([tmp_path / "day2", tmp_path / "day1"]).runs]
    assert keys == ["day1/a.mzML", "day2/a.mzML"]
    with pytest.raises(InputError, match="no such file"):
        discover([tmp_path / "absent"])
    with pytest.raises(InputError, match="share the output name"):
        discover([tmp_path / "day1" / "a.mzML", tmp_path / "day2" / "a.mzML"])


def test_natural_order_puts_run2_before_run10():
    assert sorted(["run10", "run2", "Run1"], key=natural_key) == ["Run1", "run2", "run10"]


def test_each_run_is_paired_with_the_blank_before_it_in_the_same_folder():
    names = ["s01-blank", "s02", "s03", "s04-blank", "s05", "other/s00", "other/s01-blank", "other/s02"]
    runs = [Run(Path(n), n, "mzml") for n in names]
    pairs, blanks = pair_blanks(runs, "*BLANK*")
    assert blanks == {"s01-blank", "s04-blank", "other/s01-blank"}
    assert pairs == {
        "s01-blank": None, "s02": "s01-blank", "s03": "s01-blank", "s04-blank": None, "s05": "s04-blank",
        "other/s00": None, "other/s01-blank": None, "other/s02": "other/s01-blank",
    }
    assert pair_blanks(runs, None) == ({n: None for n in names}, set())


def test_an_empty_zeroed_or_cut_run_file_is_a_run_that_fails_not_an_ignored_file(tmp_path):
    # A run whose writing was cut off (an instrument PC's crash: an empty file, or one the disk
    # filled with zeros) has no content to be another kind of file by. Until this fix (stop 35)
    # discovery ignored it as "content is not mzml", so a batch dropped the sample and exited 0.
    run = data_path("gcms", "lrcfs", "220223030.mzML").read_bytes()
    (tmp_path / "empty.mzML").write_bytes(b"")
    (tmp_path / "zeros.mzML").write_bytes(bytes(5000))
    (tmp_path / "zeros.cdf").write_bytes(bytes(5000))
    # Compressed whole and cut short.
    (tmp_path / "cut.mzML.gz").write_bytes(gzip.compress(run)[:3000])
    # Damaged deflate data at compressed bytes 1600-1650 (past the first 4 KiB, within 64 KiB):
    # until this fix zlib's error escaped discovery, and the batch stopped with a traceback.
    damaged = bytearray(gzip.compress(run))
    damaged[1600:1650] = bytes(b ^ 0x55 for b in damaged[1600:1650])
    (tmp_path / "damaged.mzML.gz").write_bytes(bytes(damaged))
    (tmp_path / "LICENSE.mzML").write_text("Creative Commons Attribution 4.0\n", encoding="utf-8")
    found = discover([tmp_path])
    assert sorted(r.key for r in found.runs) == ["cut.mzML.gz", "damaged.mzML.gz", "empty.mzML", "zeros.cdf",
                                                  "zeros.mzML"]
    assert [(p.name, why) for p, why in found.ignored] == [
        ("LICENSE.mzML", "named as mzml (.mzml), but its content is not mzml")]

"""`nps-id inspect` and `nps-id convert` through the real click group."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from click.testing import CliRunner
from tests.conftest import data_path

from nps_id.cli import cli
from nps_id.io import read

GOOD_MGF = "BEGIN IONS\nTITLE=good {i}\nPEPMASS=300.1\n50.0 10\n91.0 100\nEND IONS\n"
BAD_MGF = "BEGIN IONS\nTITLE=bad\nPEPMASS=300.1\n60.0\nEND IONS\n"


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _mixed_mgf(tmp_path):
    path = tmp_path / "mixed.mgf"
    path.write_text(GOOD_MGF.format(i=1) + BAD_MGF + GOOD_MGF.format(i=2))
    return path


# -- inspect -------------------------------------------------------------------------------------------
def test_inspect_gcms_run_prints_counts_and_ranges():
    result = _run("inspect", data_path("gcms", "lrcfs", "220223030.mzML"))
    assert result.exit_code == 0, result.output
    assert "format          mzml" in result.output
    assert "2430 (MS1 2430)" in result.output
    assert "3.09 - 14.66 min" in result.output  # scan=1 3.0917 min .. scan=2430 14.6588 min
    assert "skipped         none" in result.output


def test_inspect_json_for_several_files_including_an_agilent_folder():
    mzml = data_path("formats", "mzdata-rs-tests", "three_test_scans.mzML")
    folder = data_path("gcms", "lrcfs", "agilent-D", "220223008.D")
    result = _run("inspect", "--json", mzml, folder)
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.output)
    assert first["ms_levels"] == {"1": 1, "2": 2} and first["spectra"] == 3
    assert first["precursor_mz_range"] == pytest.approx([562.739745982435, 617.264933277471])
    assert first["skipped"] == {"chromatogram (not a mass spectrum)": 2}
    assert second["format"] == "agilent" and second["spectra"] == 2430
    assert second["rt_range_min"][0] == pytest.approx(3.0919, abs=1e-3)


def test_inspect_chromatogram_only_mzml_says_so():
    result = _run("inspect", data_path("formats", "cheminfo-mzdata-tests", "arrayChromatograms.mzML"))
    assert result.exit_code == 0
    assert "no mass spectra in this file (66 chromatograms)" in result.output


@pytest.mark.parametrize("command", ["inspect", "convert"])
def test_bad_file_exits_3_with_one_line_and_no_traceback(tmp_path, command):
    path = _mixed_mgf(tmp_path)
    extra = ["-o", tmp_path / "out.mgf"] if command == "convert" else []
    result = _run(command, path, *extra)
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nps-id: error: ") and "line 10" in lines[0]
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "out.mgf").exists()


def test_inspect_counts_skipped_records_in_the_plural():
    # "66 chromatogram (not a mass spectrum)" (stop 34): each fixed skip reason has its plural
    result = _run("inspect", data_path("formats", "cheminfo-mzdata-tests", "arrayChromatograms.mzML"))
    assert "skipped         66 chromatograms (not mass spectra)\n" in result.stdout, result.output
    result = _run("inspect", data_path("formats", "cheminfo-mzdata-tests", "tiny.mzML"))
    assert ("skipped         3 peaks at m/z 0 (dropped; not ions); 1 empty spectrum; 2 chromatograms (not mass spectra)"
            in result.stdout), result.output


def test_chromatogram_only_andi_file_is_described_by_inspect_and_refused_by_convert(tmp_path):
    # readable, only no spectra: inspect says so and exits 0, as for a chromatogram-only mzML
    # (exit 3 is for a file it cannot read); a command that needs spectra refuses it
    path = data_path("gcms", "andi", "agilent-gcms-tic.cdf")
    result = _run("inspect", path)
    assert result.exit_code == 0, result.output
    assert "no mass spectra in this file: it is a chromatogram-only ANDI/AIA file (1645 points" in result.stdout
    assert "skipped         1 chromatogram (not a mass spectrum)" in result.stdout
    summary = json.loads(_run("inspect", "--json", path).stdout)[0]
    assert summary["spectra"] == 0 and summary["format"] == "andi" and "chromatogram-only" in summary["note"]
    refused = _run("convert", path, "-o", tmp_path / "out.msp")
    assert refused.exit_code == 3 and "no mass spectra in this file" in refused.stderr
    assert not (tmp_path / "out.msp").exists()


def test_inspect_lenient_counts_the_malformed_record(tmp_path):
    result = _run("inspect", "--lenient", "--json", _mixed_mgf(tmp_path))
    assert result.exit_code == 0
    (summary,) = json.loads(result.output)
    assert summary["spectra"] == 2 and summary["quarantined"] == 1
    assert summary["skipped"] == {"malformed record": 1}
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


# -- convert ------------------------------------------------------------------------------------------
# psims needs ~3 ms per spectrum to write mzML: the mzML case uses the 48-scan file to keep the
# suite fast; the MGF case converts a whole GC-MS run.
@pytest.mark.parametrize(
    "parts,suffix,count",
    [(("gcms", "lrcfs", "220223008.mzML"), ".mgf", 2430),
     (("formats", "cheminfo-mzdata-tests", "small_zlib.pwiz.1.1.mzML"), ".mzML", 48)],
)
def test_convert_round_trips_peaks_and_retention_times(tmp_path, parts, suffix, count):
    source = data_path(*parts)
    target = tmp_path / f"run{suffix}"
    result = _run("convert", source, "-o", target)
    assert result.exit_code == 0, result.stderr
    assert f"wrote {count} spectra" in result.output
    original, back = list(read(source)), list(read(target))
    assert len(back) == count
    for a, b in zip(original, back):
        assert np.array_equal(a.mz, b.mz) and np.array_equal(a.intensity, b.intensity)
        assert a.retention_time == pytest.approx(b.retention_time)


@pytest.mark.skipif(importlib.util.find_spec("nps_id.io.msp") is None, reason="MSP writer (nps_id/io/msp.py) not present")
def test_convert_mgf_library_to_msp(tmp_path):
    source = data_path("formats", "matchms-tests", "pesticides.mgf")
    target = tmp_path / "pesticides.msp"
    result = _run("convert", source, "-o", target)
    assert result.exit_code == 0, result.stderr
    original, back = list(read(source)), list(read(target))
    assert len(back) == 76
    assert [s.name for s in back] == [s.name for s in original]
    assert all(np.allclose(a.mz, b.mz) for a, b in zip(original, back))


def test_convert_lenient_writes_the_quarantine_list(tmp_path):
    target = tmp_path / "out.mgf"
    result = _run("convert", _mixed_mgf(tmp_path), "-o", target, "--lenient")
    assert result.exit_code == 0, result.stderr
    assert len(list(read(target))) == 2
    rows = (tmp_path / "out.mgf.quarantine.tsv").read_text().splitlines()
    assert rows[0] == "file\trecord\tline\terror\ttext"
    assert len(rows) == 2 and "\t2\t10\t" in rows[1] and "one column" in rows[1]
    assert f"1 malformed record skipped; listed in {tmp_path / 'out.mgf.quarantine.tsv'}" in result.output


def test_convert_lenient_says_nothing_of_malformed_records_when_none_was_skipped(tmp_path):
    # a clean real run: "0 malformed records skipped" read as if something had gone wrong
    target = tmp_path / "pestmix.msp"
    result = _run("convert", data_path("lcms", "openms-pestmix", "PestMix1_slice_430-470s.mzML"), "-o", target,
                  "--lenient")
    assert result.exit_code == 0, result.stderr
    assert "malformed" not in result.output and "wrote 259 spectra" in result.output
    assert (tmp_path / "pestmix.msp.quarantine.tsv").read_text() == "file\trecord\tline\terror\ttext\n"


def test_convert_ms_level_filter_and_explicit_format(tmp_path):
    target = tmp_path / "ms2.txt"
    result = _run("convert", data_path("formats", "cheminfo-mzdata-tests", "small_zlib.pwiz.1.1.mzML"),
                  "-o", target, "--to", "mgf", "--ms-level", "2")
    assert result.exit_code == 0, result.stderr
    back = list(read(target, format="mgf"))
    assert len(back) == 34 and {s.ms_level for s in back} == {2}
    assert "14 ms level 1 (--ms-level 2)" in result.output  # 14 MS1 scans left out, and said so


def test_convert_refuses_a_file_without_spectra_and_writes_nothing(tmp_path):
    target = tmp_path / "x.mgf"
    result = _run("convert", data_path("formats", "pymzml-tests", "mini.chrom.mzML"), "-o", target)
    assert result.exit_code == 3 and "no mass spectra to write" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_format_is_exit_3(tmp_path):
    result = _run("convert", data_path("formats", "pyteomics-tests", "test.mgf"), "-o", tmp_path / "x.cdf")
    assert result.exit_code == 3 and "use .msp, .mgf or .mzML" in result.stderr


@pytest.mark.parametrize("command", ["inspect", "convert"])
def test_help_shows_real_examples(command):
    result = _run(command, "--help")
    assert result.exit_code == 0
    assert f"nps-id {command} ../shared/data/gcms/" in result.output


def test_progress_bar_only_for_long_reads_on_a_terminal(monkeypatch):
    import io
    import sys

    from nps_id.commands import inspect as module

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    path = data_path("formats", "pyteomics-tests", "test.mgf")  # 504 bytes
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(module.with_progress(iter([1, 2]), path)) == [1, 2]
    assert terminal.getvalue() == ""  # short read: no bar
    monkeypatch.setattr(module, "PROGRESS_MIN_BYTES", 100)
    assert list(module.with_progress(iter([1, 2]), path)) == [1, 2]
    assert "reading test.mgf" in terminal.getvalue()


def test_every_command_numbers_records_from_1_like_lines_and_counts_one_spectrum(swgdrug_library, tmp_path,
                                                                                swgdrug_opsin):
    """build, convert and search named the second record of a file 'record 1' in their errors,
    notes and quarantine list, while the build's formula note called it 'record 2'; and
    convert wrote '1 spectra'."""
    import gzip
    import re

    text = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).decode().replace("\r\n", "\n")
    first, second, third = text.split("\n\n")[:3]
    second = re.sub(r"(?m)^Formula: .*$", "Formula: C12H??", second)
    source = tmp_path / "three.msp"
    source.write_text("\n\n".join([first, second, third]) + "\n")
    with swgdrug_opsin():  # the names' structures as the session's SWGDRUG build had them (no Java start)
        build = _run("library", "build", source, "-o", tmp_path / "lib.h5", "--ms-level", "1")
    assert build.exit_code == 0, build.output
    assert "three.msp record 2 (" in build.stderr  # the formula note: 1-based already
    assert "wrote" in build.output
    broken = tmp_path / "broken.msp"
    lines = second.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lower().startswith("num peaks")) + 1
    lines[at] = "58 abc"
    broken.write_text("\n\n".join([first, "\n".join(lines), third]) + "\n")
    line = len(first.splitlines()) + 1 + at + 1
    for command in (["library", "build", broken, "-o", tmp_path / "bad.h5", "--ms-level", "1"],
                    ["convert", broken, "-o", tmp_path / "out.mgf"]):
        refused = _run(*command)
        assert refused.exit_code == 3 and f"{broken}, line {line}, record 2: " in refused.stderr, refused.stderr
    lenient = _run("convert", broken, "-o", tmp_path / "out.mgf", "--lenient")
    rows = (tmp_path / "out.mgf.quarantine.tsv").read_text().splitlines()
    assert rows[1].split("\t")[1:3] == ["2", str(line)]
    searched = _run("search", broken, "-l", swgdrug_library, "--lenient", "--format", "jsonl")
    assert f"skipped a malformed record (line {line}, record 2)" in searched.stderr
    one = tmp_path / "one.msp"
    one.write_text(first + "\n")
    assert "wrote 1 spectrum to" in _run("convert", one, "-o", tmp_path / "one.mgf").output
    assert "wrote 2 spectra to" in lenient.output
    assert ": 1 spectrum, sha256" in _run("library", "build", one, "-o", tmp_path / "one.h5", "--ms-level", "1").output


def test_lenient_convert_of_a_clean_file_says_nothing_was_quarantined(tmp_path):
    """A header-only OUT.quarantine.tsv appeared without a word: "0 records" is now said."""
    out = tmp_path / "test.msp"
    result = _run("convert", data_path("formats", "pyteomics-tests", "test.mgf"), "-o", out, "--lenient")
    assert result.exit_code == 0, result.output
    quarantine = tmp_path / "test.msp.quarantine.tsv"
    assert quarantine.read_text().splitlines() == ["file\trecord\tline\terror\ttext"]
    assert f"0 records quarantined ({quarantine}: header only)" in result.stderr and result.stdout == ""

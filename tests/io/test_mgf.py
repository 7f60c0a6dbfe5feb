"""MGF reader/writer: real dialects, odd CHARGE strings, bad peak lines, round trip, fuzzing."""
from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import data_path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nps_id.errors import ReaderError
from nps_id.io import ReadReport, mgf
from nps_id.io import read as io_read
from nps_id.spectrum import Spectrum

# (folder, file, spectra, peaks): `grep -c 'BEGIN IONS'` and `grep -c '^[0-9]'` on each file.
FILES = [
    ("matchms-tests", "pesticides.mgf", 76, 4721),
    ("matchms-tests", "save_as_msp_from_mgf.mgf", 1, 5),
    ("matchms-tests", "testdata.mgf", 30, 902),
    ("mzdata-rs-tests", "small.mgf", 35, 25350),
    ("mzdata-rs-tests", "tpp_small.mgf", 34, 25344),
    ("pyteomics-tests", "test.mgf", 2, 12),
    ("pyteomics-tests", "test_annotated.mgf", 2, 19),
    ("pyteomics-tests", "test_pepmass.mgf", 3, 18),
]


@pytest.mark.parametrize("folder,name,spectra,peaks", FILES)
def test_real_files_parse_to_the_expected_counts(folder, name, spectra, peaks):
    path = data_path("formats", folder, name)
    report = ReadReport(str(path))
    result = list(io_read(path, report=report))
    assert report.format == "mgf"
    assert len(result) == spectra
    assert sum(len(s) for s in result) == peaks
    assert not report.skipped


def test_gnps_block_without_title_takes_source_id_from_spectrumid():
    first = next(mgf.read(data_path("formats", "matchms-tests", "pesticides.mgf")))
    assert first.get("source_id") == "CCMSLIB00001058235"
    assert first.precursor_mz == pytest.approx(183.057)
    assert first.get("precursor_charge") == 1 and first.get("ion_mode") == "negative"
    assert first.ms_level == 2 and first.get("scan_id") == "675"
    assert first.name.startswith("Pesticide6_Fuberidazole")


def test_title_becomes_source_id_and_rtinseconds_the_retention_time():
    first = next(mgf.read(data_path("formats", "mzdata-rs-tests", "small.mgf")))
    assert first.get("source_id") == first.get("title") == "small.3.3."
    assert first.retention_time == pytest.approx(0.6731)


def test_odd_charge_strings():
    spectra = list(mgf.read(data_path("formats", "pyteomics-tests", "test.mgf")))
    assert spectra[0].get("precursor_charge") == 2  # CHARGE=2+ in the block
    # The second block inherits the global CHARGE=2+ and 3+: two candidates, not guessed.
    assert spectra[1].get("precursor_charge") is None
    assert spectra[1].get("charge") == "2+ and 3+"
    pepmass = list(mgf.read(data_path("formats", "pyteomics-tests", "test_pepmass.mgf")))
    assert [s.get("precursor_charge") for s in pepmass] == [2, 2, 3]  # PEPMASS=983.6 1234 2+; CHARGE wins


@pytest.mark.parametrize(
    "text,expected", [("2+", 2), ("+2", 2), ("3-", -3), ("-1", -1), ("1", 1), ("2+ and 3+", None), ("x", None)]
)
def test_parse_charge(text, expected):
    assert mgf.parse_charge(text) == expected


def _write(tmp_path, text: str):
    path = tmp_path / "x.mgf"
    path.write_text(text)
    return path


GOOD = "BEGIN IONS\nTITLE=a\nPEPMASS=200.1\n50.0 10\n91.0 100\nEND IONS\n"


# GOOD takes lines 1-6, so the bad block starts at line 7; a bad peak is named at its own line,
# a bad value of the header (PEPMASS=abc) at the block's BEGIN IONS line.
@pytest.mark.parametrize(
    "block,line,expected",
    [
        ("BEGIN IONS\nTITLE=b\n60.0 5\n70.0\nEND IONS\n", 10, "one column"),
        ("BEGIN IONS\nTITLE=b\n60.0 five\nEND IONS\n", 9, "two numbers"),
        ("BEGIN IONS\nTITLE=b\n60.0 5\n60.0 -5\nEND IONS\n", 10, "intensity finite and >= 0"),
        ("BEGIN IONS\nTITLE=b\nnan 5\nEND IONS\n", 9, "m/z must be a positive finite number"),
        ("BEGIN IONS\nTITLE=b\nPEPMASS=abc\n60 5\nEND IONS\n", 7, "PEPMASS='abc' is not a number"),
    ],
)
def test_bad_block_names_file_line_and_record(tmp_path, block, line, expected):
    path = _write(tmp_path, GOOD + block + GOOD)
    with pytest.raises(ReaderError) as info:
        list(mgf.read(path))
    error = info.value
    assert error.path == str(path) and error.record == 1 and error.line == line
    assert expected in str(error) and "'b'" in str(error)
    report = ReadReport(str(path), lenient=True)
    assert [s.get("title") for s in mgf.read(path, report)] == ["a", "a"]
    assert len(report.quarantine) == 1


@pytest.mark.parametrize("peak,expected", [
    ("abc 100", "KEY=value or a peak line"),
    ("nan 5", "m/z must be a positive finite number"),
    ("inf 5", "m/z must be a positive finite number"),
    ("120.5 nan", "intensity finite and >= 0"),
    ("-5 100", "m/z must be a positive finite number"),
    ("0 100", "m/z must be a positive finite number"),
    ("120.5 -3", "intensity finite and >= 0"),
    ("1e400 5", "m/z must be a positive finite number"),
    ("2e6 5", "m/z above 1e+06"),
    ("120.5 1e39", "largest float32"),
])
def test_bad_peak_in_a_real_file_is_named_at_its_own_line(tmp_path, peak, expected):
    """GNPS pesticides: one peak line deep inside the third block made bad."""
    lines = data_path("formats", "matchms-tests", "pesticides.mgf").read_text().splitlines()
    begins = [i for i, line in enumerate(lines) if line == "BEGIN IONS"]
    bad = next(i for i in range(begins[2], begins[3]) if lines[i][:1].isdigit()) + 5
    lines[bad] = peak
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ReaderError) as info:
        list(mgf.read(path))
    assert info.value.line == bad + 1 and info.value.record == 2
    assert expected in str(info.value) and peak in str(info.value)


@pytest.mark.parametrize("pepmass", ["0", "-183.057", "-183.057 1200"])
def test_pepmass_of_zero_or_below_is_an_unknown_precursor(tmp_path, pepmass):
    """As MSP's 'PrecursorMZ: 0' and MGF's PEPMASS=nan: the block stays MS/MS, its precursor is
    unknown (search counts it as 'no precursor m/z'), and the text is kept under 'pepmass'."""
    text = data_path("formats", "matchms-tests", "pesticides.mgf").read_text()
    path = _write(tmp_path, text.replace("PEPMASS=183.057\n", f"PEPMASS={pepmass}\n", 1))
    first = next(mgf.read(path))
    assert first.precursor_mz is None and first.ms_level == 2 and first.get("pepmass") == pepmass


def test_windows_files_with_byte_order_mark_or_windows_1252_text(tmp_path):
    bom = tmp_path / "notepad.mgf"  # Notepad's "UTF-8 with BOM", CRLF line ends
    bom.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    assert [s.get("title") for s in mgf.read(bom)] == ["a"]
    legacy = tmp_path / "legacy.mgf"  # an old export in Windows-1252, not UTF-8
    legacy.write_bytes(GOOD.replace("TITLE=a", "TITLE=caf\xe9").encode("cp1252"))
    assert [s.get("title") for s in mgf.read(legacy)] == ["caf\xe9"]
    unicode = tmp_path / "unicode.mgf"  # Notepad's "Unicode": UTF-16 LE with a BOM
    unicode.write_bytes(GOOD.replace("\n", "\r\n").encode("utf-16"))
    assert [s.get("title") for s in mgf.read(unicode)] == ["a"]


def test_truncated_file_is_an_error(tmp_path):
    path = _write(tmp_path, GOOD + "BEGIN IONS\nTITLE=b\n60.0 5\n")
    spectra = mgf.read(path)
    assert next(spectra).get("title") == "a"
    with pytest.raises(ReaderError, match="no END IONS"):
        next(spectra)


def test_empty_block_is_skipped_and_counted(tmp_path):
    report = ReadReport("x")
    assert len(list(mgf.read(_write(tmp_path, GOOD + "BEGIN IONS\nTITLE=e\nEND IONS\n"), report))) == 1
    assert report.skipped["empty spectrum"] == 1


def test_write_then_read_round_trips(tmp_path):
    original = list(mgf.read(data_path("formats", "matchms-tests", "pesticides.mgf")))
    original.append(
        Spectrum([50.123456789, 91.0], [0.013, 1e6], {"name": "x", "retention_time": 61.25, "precursor_mz": 300.5,
                                                       "precursor_charge": -2, "ms_level": 2})
    )
    target = tmp_path / "out.mgf"
    assert mgf.write(original, target) == 77
    back = list(mgf.read(target))
    keys = ("name", "precursor_mz", "precursor_charge", "retention_time", "ms_level", "ion_mode", "smiles",
            "inchi", "source_id", "scan_id")
    assert len(back) == len(original)
    for a, b in zip(original, back):
        assert np.array_equal(a.mz, b.mz) and np.array_equal(a.intensity, b.intensity)
        assert {k: a.get(k) for k in keys} == {k: b.get(k) for k in keys}


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "out.mgf"
    target.write_text("previous")

    def spectra():
        yield Spectrum([50.0], [1.0])
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        mgf.write(spectra(), target)
    assert target.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["out.mgf"]


# -- property-based: any text gives spectra or ReaderError, nothing else -------------------------------
_LINES = st.sampled_from(
    ["BEGIN IONS", "END IONS", "TITLE=x", "PEPMASS=300.1 20", "CHARGE=2+ and 3+", "CHARGE=-", "MSLEVEL=two",
     "RTINSECONDS=1e400", "MSLEVEL=1e400", "CHARGE=1e400", "50.0 10", "60 1e39", "70.5", "1e-320 5", "inf 3", "-5 2", "80 nan", "=", "# comment",
     "PEPMASS=", "SCANS=3", "", "\x00", "ION", "9" * 400 + " 1"]
)


def _read_all(text: str, lenient: bool) -> None:
    import io

    from nps_id.io import mgf as module

    report = ReadReport("<fuzz>", lenient=lenient)
    try:
        for spectrum in module._read(enumerate(io.StringIO(text), start=1), "<fuzz>", report):
            assert isinstance(spectrum, Spectrum) and len(spectrum) > 0
    except ReaderError:
        assert not lenient


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, max_size=40), st.booleans())
def test_structured_random_mgf_gives_spectra_or_reader_error(lines, lenient):
    _read_all("\n".join(lines), lenient)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.booleans())
def test_arbitrary_text_gives_spectra_or_reader_error(text, lenient):
    _read_all(text, lenient)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_real_block_gives_spectra_or_reader_error(data):
    text = (data_path("formats", "pyteomics-tests", "test.mgf")).read_text()
    position = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 20))
    insert = data.draw(st.text(max_size=10))
    _read_all(text[:position] + insert + text[position + cut:], data.draw(st.booleans()))


def _ranged(path, text: bytes | None, ranges, lenient: bool = False) -> tuple[list, list]:
    """The spectra and the quarantine of ``ranges`` read one after another."""
    spectra, quarantine = [], []
    for span in ranges:
        report = ReadReport(str(path), lenient=lenient)
        spectra += mgf.read(path, report, span=span, data=text)
        quarantine += report.quarantine
    return spectra, quarantine


def _whole(path, lenient: bool = False) -> tuple[list, list]:
    report = ReadReport(str(path), lenient=lenient)
    return list(mgf.read(path, report)), report.quarantine


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_file_read_range_by_range_gives_the_blocks_lines_and_errors_of_one_read(tmp_path, line_end):
    """The MassBank MS/MS queries as MGF with global KEY=value lines before the first block, cut
    into ranges (``spans``, as ``nps-id search``'s workers read them), plain and gzipped (read from
    its text, decompressed once): the same spectra, block numbers and global values, each range's
    end naming the next range's first block and global lines; a bad peak in a later range is named
    by the whole file's line and block, and so is a block left open before a cut (lenient: the same
    quarantine); a global line between blocks, or a ``begin ions`` the cut does not count, shows in
    the range's end; a non-UTF-8 or lone-CR file, or one of fewer blocks than asked, is not cut."""
    import gzip

    from nps_id.io import msp

    path = tmp_path / "queries.mgf"
    mgf.write(msp.read(data_path("massbank", "ms2-queries-analog.msp.gz")), path)
    text = "# exported\nCHARGE=1+\nCOM=global\n\n" + path.read_text(encoding="utf-8").replace("CHARGE=1+\n", "")
    path.write_bytes(text.replace("\n", line_end).encode("utf-8"))
    gz = tmp_path / "queries.mgf.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    ranges, data = mgf.spans(path, 15, 4, 100)
    assert len(ranges) == 5 and ranges[0].start == 0 and ranges[-1].stop == path.stat().st_size and data is None
    assert ranges[1].carried == (("CHARGE", "1+"), ("COM", "global")) and ranges[-1].last
    zipped, unzipped = mgf.spans(gz, 15, 4, 100)
    assert zipped == ranges and unzipped == path.read_bytes()
    whole = list(mgf.read(path))
    assert len(whole) == 200 and all(s.get("precursor_charge") == 1 and s.get("com") == "global" for s in whole)
    for source, cut, text_of in ((path, ranges, None), (gz, zipped, unzipped)):
        parts = _ranged(source, text_of, cut)[0]
        assert [(s.get("scan_index"), s.metadata) for s in parts] == [
            (s.get("scan_index"), {**s.metadata, "source_file": str(source)}) for s in whole]
        assert all(np.array_equal(a.mz, b.mz) and np.array_equal(a.intensity, b.intensity)
                   for a, b in zip(parts, whole))
        assert all(a.ends_before(b) for a, b in zip(cut, [*cut[1:], None])) and cut[-1].end_record == 200
    blocks = text.split("BEGIN IONS\n")  # [header, block 0, ...]
    blocks[151] = blocks[151].replace("\nEND IONS", "\n12 abc\nEND IONS")  # block 150's last line
    path.write_bytes("BEGIN IONS\n".join(blocks).replace("\n", line_end).encode("utf-8"))
    ranges = mgf.spans(path, 15, 4, 100)[0]
    open_block = ranges[2].record - 1  # no END IONS before the cut (a line of the same length: the cuts stay)
    assert 15 < open_block < 150
    blocks[open_block + 1] = blocks[open_block + 1].replace("END IONS\n", "NOTE=abc\n")
    path.write_bytes("BEGIN IONS\n".join(blocks).replace("\n", line_end).encode("utf-8"))
    assert mgf.spans(path, 15, 4, 100)[0] == ranges
    with pytest.raises(ReaderError) as whole_error:
        list(mgf.read(path))
    with pytest.raises(ReaderError) as range_error:
        _ranged(path, None, ranges)
    assert str(range_error.value) == str(whole_error.value) and f"record {open_block + 1}: " in str(whole_error.value)
    assert "a new BEGIN IONS before END IONS" in str(whole_error.value)
    lenient_whole, lenient_ranges = _whole(path, True), _ranged(path, None, ranges, True)
    assert [s.get("scan_index") for s in lenient_ranges[0]] == [s.get("scan_index") for s in lenient_whole[0]]
    assert lenient_ranges[1] == lenient_whole[1] and [q["record"] for q in lenient_whole[1]] == [open_block, 150]
    before, after = "BEGIN IONS\n".join(blocks[:100]), "BEGIN IONS\n".join(blocks[100:])
    for changed in (before + "COM=changed\nBEGIN IONS\n" + after,  # a global line between blocks
                    before + "begin ions\n" + after):  # a block the cut does not count
        path.write_bytes(changed.replace("\n", line_end).encode("utf-8"))
        cut = mgf.spans(path, 15, 4, 100)[0]
        report = ReadReport(str(path), lenient=True)
        for span in cut:
            list(mgf.read(path, report, span=span))
        assert not all(a.ends_before(b) for a, b in zip(cut, [*cut[1:], None]))
    (tmp_path / "cp1252.mgf").write_bytes(text.replace("COM=global", "COM=\u00b5g").encode("cp1252"))
    (tmp_path / "cr.mgf").write_bytes(text.replace("\n", "\r").encode("utf-8"))
    assert [mgf.spans(p, 15, 4, 100) for p in (tmp_path / "cp1252.mgf", tmp_path / "cr.mgf")] == [None] * 2
    assert mgf.spans(gz, 15, 4, 201) is None

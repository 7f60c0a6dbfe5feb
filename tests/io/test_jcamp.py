"""JCAMP-DX reader on the real GC-MS runs and the encoding/structure test files.

Expected counts come from grep on the files (``grep -c '^##PAGE'``, the sum of ``##NPOINTS``,
counting ASDF characters), not from this reader.
"""
from __future__ import annotations

import numpy as np
import pytest

from nps_id import io as nio
from nps_id.errors import InputError, ReaderError
from nps_id.io import jcamp
from nps_id.io._source import ReadReport
from tests.conftest import data_path


def _jc(name):
    return data_path("formats", "jcampconverter-ms", name)


@pytest.mark.parametrize(
    "parts, scans, points, first_rt, last_rt",
    [
        (("gcms", "jcamp", "ELEY_1_SUBTRACT.JDX"), 2103, 207409, 1.05200003833, 2220.76400757),
        (("gcms", "jcamp", "gcms.jdx"), 2420, 215475, 125.207, 1799.596),
    ],
)
def test_whole_gcms_runs(parts, scans, points, first_rt, last_rt):
    path = data_path(*parts)
    spectra = list(nio.read(path))
    assert len(spectra) == scans  # grep -c '^##XYDATA'
    assert sum(len(s) for s in spectra) == points  # sum of ##NPOINTS
    rts = [s.retention_time for s in spectra]
    assert rts[0] == pytest.approx(first_rt) and rts[-1] == pytest.approx(last_rt)  # seconds
    assert all(np.diff(rts) > 0)
    assert [s.get("scan_index") for s in spectra] == list(range(scans))
    assert spectra[0].get("scan_id") == "1" and spectra[-1].get("scan_id") == str(scans)
    assert {s.ms_level for s in spectra} == {1} and {s.get("ion_mode") for s in spectra} == {"positive"}


def test_eley_first_scan_peaks():
    first = next(jcamp.read(data_path("gcms", "jcamp", "ELEY_1_SUBTRACT.JDX")))
    assert len(first) == 101
    assert first.mz[0] == 52.0131 and first.intensity[0] == 5356
    assert first.intensity[first.mz == 95.8619][0] == 140128


def test_gcms_jdx_descending_peaks_are_sorted():
    first = next(jcamp.read(data_path("gcms", "jcamp", "gcms.jdx")))
    assert len(first) == 78
    assert (np.diff(first.mz) > 0).all()
    assert first.intensity[first.mz == 147.1][0] == 490
    assert first.mz[-1] == 309.0 and first.intensity[-1] == 40


def test_asdf_encodings_decode_to_the_same_values():
    """FIX (AFFN), PACKED, SQUEEZED and DIF/DUP hold the same data, truncated differently."""
    names = ("fix", "packed", "squeezed", "difdup")
    tables = {n: list(jcamp.read_tables(_jc(f"jcamp-{n}.dx"))) for n in names}
    assert {n: len(t) for n, t in tables.items()} == dict.fromkeys(tables, 1)
    sizes = {n: t[0].y.size for n, t in tables.items()}
    assert sizes == {"fix": 8, "packed": 30, "squeezed": 38, "difdup": 30}  # counted with grep
    longest = tables["squeezed"][0]
    for name, (table,) in tables.items():
        n = table.y.size
        np.testing.assert_array_equal(table.y, longest.y[:n], err_msg=name)
        np.testing.assert_allclose(table.x, longest.x[:n], err_msg=name)
    fix = tables["fix"][0]
    assert fix.y.tolist() == [-10247, 1201, -5196, 7245, -5777, 5015, -8583, -3100]
    # X = 16383 * XFACTOR = FIRSTX, then DELTAX per point
    assert fix.x[0] == pytest.approx(5592.84116331095)
    assert np.diff(fix.x) == pytest.approx(-0.341380770512785)


def test_negative_ordinates_are_not_a_mass_spectrum():
    with pytest.raises(ReaderError, match="intensity >= 0"):
        list(jcamp.read(_jc("jcamp-packed.dx")))


@pytest.mark.parametrize(
    "line, values, dif",
    [
        ("100A0J%Tj", [100, 10, 11, 11, 11, 10], True),
        ("1A2S3", [1] + [12] * 13, False),  # DUP count 13: "S" is 1, then the digit 3
        ("16383-10247+1201", [16383, -10247, 1201], False),
        ("16383a0247A201", [16383, -10247, 1201], False),
        ("1 2.5, 3", [1, 2.5, 3], False),
        ("1.5E+03 2E-1", [1500, 0.2], False),
        ("100E5", [100, 55], False),  # SQZ, not 1e7
        ("10@A%", [10, 0, 1, 1], True),
    ],
)
def test_decode_asdf_line(line, values, dif):
    assert jcamp.decode_asdf_line(line) == (values, dif)


def test_isas_ntuples_pages_give_retention_times():
    spectra = list(jcamp.read(_jc("ISAS_MS3.DX")))
    assert [s.retention_time for s in spectra] == [272.0, 301.0, 333.0]  # ##UNITS= ..., SECONDS
    assert [len(s) for s in spectra] == [18, 26, 26]
    assert spectra[1].mz[spectra[1].intensity.argmax()] == 128
    assert spectra[0].name == "GC-MS analysis of Phenol, 2-Chlorphenol, and o-Kresol"


def test_single_peak_tables():
    (isas,) = list(jcamp.read(_jc("ISAS_MS1.DX")))
    assert isas.name == "2-Chlorophenol" and len(isas) == 26
    assert isas.mz[isas.intensity.argmax()] == 128 and isas.intensity.max() == 100
    assert isas.get("instrument") == "Finnigan MAT Magnum"
    (acd,) = list(jcamp.read(_jc("mass_ACD.jdx")))
    assert len(acd) == 180
    assert acd.mz[acd.intensity.argmax()] == 93 and acd.intensity.max() == 10000
    assert "name" not in acd.metadata  # "##TITLE=$$ ..." is only a comment


def test_structure_edge_cases():
    (noend,) = list(jcamp.read(_jc("noend.jdx")))  # no ##END=
    assert noend.mz.tolist() == [1, 2] and noend.intensity.tolist() == [2, 3]
    pages = list(jcamp.read_tables(_jc("ntuples.jdx")))
    assert len(pages) == 4
    assert [t.x.tolist() for t in pages] == [[4, 5, 6]] * 4  # ##FIRST/##LAST/##VAR_DIM of F2
    assert [t.y.tolist() for t in pages] == [[2, 3, 4], [3, 4, 5], [4, 5, 6], [5, 6, 7]]
    assert [t.labels["PAGE"][1] for t in pages] == ["F1=0", "F1=1", "F1=2", "F1=3"]


def test_multi_block_file_and_gzip(tmp_path):
    import gzip

    text = (
        "##TITLE= link block\n##JCAMP-DX= 5.01\n##BLOCKS= 2\n"
        "##TITLE= cocaine\n##JCAMP-DX= 5.01\n##DATA TYPE= MASS SPECTRUM\n##CAS REGISTRY NO= 50-36-2\n"
        "##MOLFORM= C17 H21 N O4\n##IONIZATION MODE= EI+\n##XUNITS= M/Z\n##YUNITS= RELATIVE ABUNDANCE\n"
        "##NPOINTS= 3\n##PEAK TABLE= (XY..XY)\n82,999 182,850 303,200\n##END=\n"
        "##TITLE= second\n##RETENTION TIME= 61.5\n##XYDATA= (XY..XY)\n50,1\n##END=\n"
        "##END=\n"
    )
    path = tmp_path / "blocks.jdx.gz"
    path.write_bytes(gzip.compress(text.encode()))
    a, b = list(nio.read(path))
    assert a.name == "cocaine" and a.get("cas") == "50-36-2" and a.get("formula") == "C17 H21 N O4"
    assert a.mz.tolist() == [82, 182, 303] and a.ms_level == 1
    assert b.name == "second" and b.retention_time == 61.5 and "cas" not in b.metadata


@pytest.mark.parametrize(
    "body, line, what",
    [
        ("##NPOINTS= 3\n##PEAK TABLE= (XY..XY)\n50,1 51,2\n", 3, "##NPOINTS= 3 but"),
        ("##XYDATA= (X++(Y..Y))\n10 1 2 x3\n", 3, "unexpected character"),
        ("##XYDATA= (X++(Y..Y))\n10A0J1\n12C5\n", 4, "DIF check value"),
        ("##PEAK TABLE= (XY..XY)\n50,1 51\n", 2, "groups of 2"),
        ("##PEAK TABLE= (XY..XY)\n50,1 51,-2\n", 2, "intensity >= 0"),
        ("##PEAK TABLE= (XY..XY)\n50,1\n51,a\n", 4, "not a number"),
    ],
)
def test_malformed_tables(tmp_path, body, line, what):
    path = tmp_path / "bad.jdx"
    path.write_text("##TITLE= bad\n" + body + "##END=\n")
    with pytest.raises(ReaderError) as err:
        list(jcamp.read(path))
    assert err.value.line == line and err.value.record == 0
    assert what in str(err.value)


def test_lenient_skips_bad_tables(tmp_path):
    path = tmp_path / "bad.jdx"
    path.write_text("##TITLE= a\n##XYDATA= (XY..XY)\n50,1 51\n##END=\n"
                    "##TITLE= b\n##XYDATA= (XY..XY)\n50,1\n##END=\n")
    report = ReadReport(str(path), lenient=True)
    assert [s.name for s in jcamp.read(path, report)] == ["b"]
    assert report.quarantine[0]["line"] == 2


def test_not_jcamp_and_missing_file(tmp_path):
    path = tmp_path / "x.jdx"
    path.write_text("hello\n")
    with pytest.raises(ReaderError, match="not a JCAMP-DX file"):
        list(jcamp.read(path))
    with pytest.raises(InputError):
        jcamp.read(tmp_path / "missing.jdx")


def test_retention_time_in_minutes_option(tmp_path):
    path = tmp_path / "min.jdx"
    path.write_text("##TITLE= a\n##RETENTION_TIME= 2.5\n##XYDATA= (XY..XY)\n50,1\n##END=\n")
    assert next(jcamp.read(path)).retention_time == 2.5
    assert next(jcamp.read(path, rt_unit="min")).retention_time == 150.0


# Data tables per file (grep -c '^##\(XYDATA\|PEAK TABLE\|DATA TABLE\|XYPOINTS\)').
TABLE_COUNTS = {
    "formats/jcampconverter-ms/ISAS_MS1.DX": 1,
    "formats/jcampconverter-ms/ISAS_MS3.DX": 3,
    "formats/jcampconverter-ms/jcamp-difdup.dx": 1,
    "formats/jcampconverter-ms/jcamp-fix.dx": 1,
    "formats/jcampconverter-ms/jcamp-packed.dx": 1,
    "formats/jcampconverter-ms/jcamp-squeezed.dx": 1,
    "formats/jcampconverter-ms/mass_ACD.jdx": 1,
    "formats/jcampconverter-ms/noend.jdx": 1,
    "formats/jcampconverter-ms/ntuples.jdx": 4,
    "gcms/jcamp/ELEY_1_SUBTRACT.JDX": 2103,
    "gcms/jcamp/gcms.jdx": 2420,
}


@pytest.mark.parametrize("name, count", sorted(TABLE_COUNTS.items()))
def test_every_jcamp_file_decodes_to_the_right_number_of_tables(name, count):
    assert sum(1 for _ in jcamp.read_tables(data_path(*name.split("/")))) == count


def test_no_jcamp_file_in_shared_data_is_left_untested(shared_data):
    found = {p.relative_to(shared_data).as_posix() for p in shared_data.rglob("*")
             if p.suffix.lower() in (".jdx", ".dx", ".jcamp") and not p.name.startswith("LICENSE")}
    assert found == set(TABLE_COUNTS)


def test_error_line_counts_blank_and_comment_lines(tmp_path):
    path = tmp_path / "gaps.jdx"
    path.write_text("##TITLE= a\n##XYDATA= (X++(Y..Y))\n\n$$ a comment\n10 1 2\n11 3 x\n##END=\n")
    with pytest.raises(ReaderError) as err:
        list(jcamp.read(path))
    assert err.value.line == 6 and err.value.text == "11 3 x"


def test_gcms_run_converts_to_msp_without_loss(tmp_path):
    """Each scan of a JCAMP-DX run becomes an MSP record with the same peaks and time."""
    from nps_id.io import msp

    scans = list(jcamp.read(data_path("gcms", "jcamp", "gcms.jdx")))
    out = tmp_path / "run.msp"
    assert msp.write(scans, out) == len(scans)
    back = list(msp.read(out))
    assert len(back) == len(scans)
    for a, b in zip(scans, back):
        assert np.array_equal(a.mz, b.mz) and np.array_equal(a.intensity, b.intensity)
        assert b.retention_time == a.retention_time and b.get("scan_id") == a.get("scan_id")


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "1e400", ""])
def test_unreadable_or_infinite_label_numbers_are_ignored(tmp_path, value):
    # Factors, retention values and ##NPOINTS that are not finite numbers are left out; the
    # table itself is still read, with factor 1. (An infinite retention time is a malformed scan,
    # as in every reader: the test below.)
    path = tmp_path / "labels.jdx"
    rt = "nan" if value in ("inf", "1e400") else value
    path.write_text(f"##TITLE= a\n##RETENTION_TIME= {rt}\n##RETENTION_INDEX= {value}\n"
                    f"##XFACTOR= {value}\n##YFACTOR= 2\n##NPOINTS= {value}\n"
                    "##PEAK TABLE= (XY..XY)\n50,1 91,3\n##END=\n")
    (s,) = list(jcamp.read(path))
    assert s.mz.tolist() == [50, 91] and s.intensity.tolist() == [2, 6]
    assert "retention_time" not in s.metadata and "retention_index" not in s.metadata


@pytest.mark.parametrize("rt, found", [("-5", "-5"), ("inf", "inf"), ("-1e400", "-inf"), ("1e400", "inf")])
def test_a_retention_time_below_0_or_infinite_names_the_scan(tmp_path, rt, found):
    """A scan at -5 s or an infinite time was read as one without a time, and so silently left
    out of the run's chromatogram: it is a malformed scan as in every other reader (--lenient
    quarantines it); NaN stays unknown."""
    path = tmp_path / "rt.jdx"
    scan = "##TITLE= {}\n##RETENTION_TIME= {}\n##XYDATA= (XY..XY)\n50,1\n91,2\n##END=\n"
    path.write_text(scan.format("a", rt) + scan.format("b", "2.5") + scan.format("c", "nan"))
    with pytest.raises(ReaderError, match=rf"record 1: .*retention time must be 0 to 1e\+09 s \(found {found} s\)"):
        list(jcamp.read(path))
    report = ReadReport(str(path), lenient=True)
    assert [s.retention_time for s in jcamp.read(path, report=report)] == [2.5, None]
    assert [q["record"] for q in report.quarantine] == [0]


def test_a_time_page_below_0_names_the_scan(tmp_path):
    path = tmp_path / "page.jdx"
    path.write_text("##TITLE= a\n##NTUPLES= MASS SPECTRUM\n##VAR_NAME= MASS, INTENSITY, RETENTION TIME\n"
                    "##SYMBOL= X, Y, T\n##UNITS= M/Z, RELATIVE ABUNDANCE, SECONDS\n##PAGE= T=-3\n"
                    "##DATA TABLE= (XY..XY), PEAKS\n50,1\n91,2\n##END NTUPLES= MASS SPECTRUM\n##END=\n")
    with pytest.raises(ReaderError, match=r"found -3 s"):
        list(jcamp.read(path))

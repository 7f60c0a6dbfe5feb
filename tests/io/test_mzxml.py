"""mzXML 2.0 / 3.0 reader on the real test files and crafted bad input."""
from __future__ import annotations

import base64
import zlib
from collections import Counter

import numpy as np
import pytest
from tests.conftest import data_path

from nps_id.errors import ReaderError
from nps_id.io import ReadReport, mzxml
from nps_id.io._source import ZERO_MZ_SKIP
from nps_id.io import read as io_read

# (folder, file, scans by MS level) -- from `grep -o 'msLevel="[0-9]"'` on each file.
FILES = [
    ("pyteomics-tests", "test.mzXML", {1: 1, 2: 1}),
    ("cheminfo-mzdata-tests", "tiny2.0.mzXML", {1: 1, 2: 1}),
    ("matchms-tests", "testdata.mzXML", {1: 1, 2: 1, 3: 3}),
]


@pytest.mark.parametrize("folder,name,levels", FILES)
def test_real_files_parse_to_the_expected_counts(folder, name, levels):
    path = data_path("formats", folder, name)
    report = ReadReport(str(path))
    spectra = list(io_read(path, report=report))
    assert report.format == "mzxml"
    assert Counter(s.ms_level for s in spectra) == Counter(levels)
    assert all(len(s) > 0 for s in spectra)


def test_nested_msn_scans_keep_document_order_and_metadata():
    spectra = list(mzxml.read(data_path("formats", "matchms-tests", "testdata.mzXML")))
    assert [s.get("scan_id") for s in spectra] == ["217", "218", "219", "220", "221"]
    assert [s.get("scan_index") for s in spectra] == [0, 1, 2, 3, 4]
    ms2 = spectra[1]
    assert ms2.precursor_mz == pytest.approx(343.0672302)
    assert ms2.retention_time == pytest.approx(349.208)  # PT349.208S
    assert ms2.get("ion_mode") == "negative" and ms2.get("collision_energy") == "0"
    assert len(ms2) == 50  # peaksCount="50"


def test_mzxml_2_peaks_and_retention_time_match_pyteomics():
    pyteomics_mzxml = pytest.importorskip("pyteomics.mzxml")
    path = data_path("formats", "cheminfo-mzdata-tests", "tiny2.0.mzXML")
    ours = list(mzxml.read(path))
    with pyteomics_mzxml.read(str(path)) as reader:
        reference = list(reader)
    for a, ref in zip(ours, reference):
        np.testing.assert_allclose(a.mz, ref["m/z array"])
        np.testing.assert_allclose(a.intensity, ref["intensity array"])
        assert a.retention_time == pytest.approx(float(ref["retentionTime"]) * 60)
    assert ours[0].retention_time == pytest.approx(353.43)  # PT353.43S


def test_mzxml_3_file_with_garbled_peaks_is_rejected_not_silently_read():
    # tiny3.0.mzXML's zlib peak lists decode to m/z -2/0/2 with zero intensity (a garbled
    # fixture); pyteomics returns those values silently, nps-id names the scan.
    path = data_path("formats", "cheminfo-mzdata-tests", "tiny3.0.mzXML")
    with pytest.raises(ReaderError, match=r"scan '1': m/z must be positive"):
        list(mzxml.read(path))
    report = ReadReport(str(path), lenient=True)
    assert list(mzxml.read(path, report)) == []
    assert [q["record"] for q in report.quarantine] == [0, 1]


def _scan(num: int, peaks: bytes, count: int, compression: str | None = None) -> str:
    attr = f' compressionType="{compression}"' if compression else ""
    return (
        f'<scan num="{num}" msLevel="1" peaksCount="{count}" polarity="+" retentionTime="PT{num}.5S">'
        f'<peaks precision="32" byteOrder="network" contentType="m/z-int"{attr}>'
        f"{base64.b64encode(peaks).decode()}</peaks></scan>"
    )


def _pairs(*values: float) -> bytes:
    return np.asarray(values, dtype=">f4").tobytes()


def _document(*scans: str) -> str:
    return (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<mzXML xmlns="http://sashimi.sourceforge.net/schema_revision/mzXML_3.2">'
        f'<msRun scanCount="{len(scans)}">{"".join(scans)}</msRun></mzXML>'
    )


def test_zlib_scan_and_peak_count_mismatch(tmp_path):
    good = _scan(1, zlib.compress(_pairs(50.0, 10.0, 91.0, 100.0)), 2, "zlib")
    short = _scan(2, _pairs(50.0, 10.0), 2)
    path = tmp_path / "x.mzXML"
    path.write_text(_document(good, short))
    with pytest.raises(ReaderError, match=r"scan '2': peaksCount is 2 but the peak list holds 1"):
        list(mzxml.read(path))
    report = ReadReport(str(path), lenient=True)
    (spectrum,) = mzxml.read(path, report)
    assert spectrum.mz.tolist() == [50.0, 91.0] and spectrum.retention_time == 1.5
    assert report.quarantine[0]["record"] == 1


def test_truncated_mzxml_raises_reader_error(tmp_path):
    text = _document(_scan(1, _pairs(50.0, 10.0), 1), _scan(2, _pairs(60.0, 10.0), 1))
    path = tmp_path / "cut.mzXML"
    path.write_text(text[: text.index('<scan num="2"') + 30])
    with pytest.raises(ReaderError, match="truncated XML"):
        list(mzxml.read(path))


def test_unconvertible_scan_attribute_is_a_reader_error(tmp_path):
    path = tmp_path / "attr.mzXML"
    path.write_text(_document(_scan(1, _pairs(50.0, 10.0), 1)).replace('msLevel="1"', 'msLevel="one"'))
    with pytest.raises(ReaderError, match="cannot parse the scan"):
        list(mzxml.read(path))


def test_mz_zero_points_are_dropped_and_a_scan_of_only_those_is_skipped_as_empty(tmp_path):
    # Same rule as the mzML reader (tiny.mzML's scan 22): counted, not a malformed scan.
    path = tmp_path / "zero.mzXML"
    path.write_text(_document(_scan(1, _pairs(0.0, 5.0, 91.0, 100.0), 2), _scan(2, _pairs(0.0, 7.0), 1)))
    report = ReadReport(str(path))
    (spectrum,) = mzxml.read(path, report)
    assert spectrum.mz.tolist() == [91.0] and spectrum.get("scan_id") == "1"
    assert report.skipped == {ZERO_MZ_SKIP: 2, "empty spectrum": 1}


@pytest.mark.parametrize("duration", ["PT-5S", "PT1e12S", "PTNaNS", "PTinfS", "-PT5S", "P1Y", "PT", "P"])
def test_a_retention_time_that_is_no_duration_is_bad_input_not_zero(tmp_path, duration):
    """pyteomics reads a retentionTime its duration pattern does not match ('PT-5S', 'PT1e12S')
    as 0 s, silently: the scan is named instead, and --lenient quarantines it and reads on."""
    path = tmp_path / "rt.mzXML"
    path.write_text(_document(_scan(1, _pairs(50.0, 10.0), 1), _scan(2, _pairs(60.0, 10.0), 1))
                    .replace('retentionTime="PT1.5S"', f'retentionTime="{duration}"'))
    with pytest.raises(ReaderError, match=r"scan '1': retentionTime is not a duration such as PT353.43S"):
        list(mzxml.read(path))
    report = ReadReport(str(path), lenient=True)
    (spectrum,) = mzxml.read(path, report)
    assert spectrum.retention_time == 2.5 and report.quarantine[0]["record"] == 0


@pytest.mark.parametrize("duration, seconds", [("PT353.43S", 353.43), ("PT5M", 300.0), ("PT1H0.5S", 3600.5),
                                               ("P1DT5S", 86405.0), ("PT0.0S", 0.0), ("12.5", 12.5)])
def test_a_retention_time_duration_is_read_whole(tmp_path, duration, seconds):
    """Days count (pyteomics dropped 'P1D', reading P1DT5S as 5 s); a bare number is seconds."""
    path = tmp_path / "rt.mzXML"
    path.write_text(_document(_scan(1, _pairs(50.0, 10.0), 1)).replace('retentionTime="PT1.5S"',
                                                                      f'retentionTime="{duration}"'))
    (spectrum,) = mzxml.read(path)
    assert spectrum.retention_time == pytest.approx(seconds)

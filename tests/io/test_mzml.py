"""mzML reader and writer on the real files in ../shared/data and on crafted bad input."""
from __future__ import annotations

import base64
import itertools
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import data_path
from hypothesis import given, settings
from hypothesis import strategies as st

from nps_id.errors import ReaderError
from nps_id.io import ReadReport, mzml
from nps_id.io import read as io_read

# Expected counts, from `grep -c '<spectrum '`, `grep -c 'name="ms level" value="2"'` and
# `grep -c '<chromatogram '` on each file (zcat for .gz); EMPTY = spectra without peaks
# (defaultArrayLength="0" after dropping m/z 0 points: the pwiz "tiny" example's scan 22).
# (folder, file, MS1 kept, MS2 kept, empty, chromatograms)
FILES = [
    ("cheminfo-mzdata-tests", "small_zlib.pwiz.1.1.mzML", 14, 34, 0, 1),
    ("cheminfo-mzdata-tests", "tiny.mzML", 2, 1, 1, 2),
    ("cheminfo-mzdata-tests", "arrayChromatograms.mzML", 0, 0, 0, 66),
    ("matchms-tests", "testdata.mzml", 2, 10, 0, 0),
    ("mzdata-rs-tests", "three_test_scans.mzML", 1, 2, 0, 2),
    ("pymzml-tests", "example.mzML", 11, 0, 0, 1),
    ("pymzml-tests", "example.mzML.gz", 11, 0, 0, 1),
    ("pymzml-tests", "example.mzML.idx.gz", 11, 0, 0, 1),
    ("pymzml-tests", "Manuels_custom_ids.mzML", 11, 0, 0, 1),
    ("pymzml-tests", "mini.chrom.mzML", 0, 0, 0, 3),
    ("pymzml-tests", "mini.chrom.mzML.gz", 0, 0, 0, 3),
    ("pymzml-tests", "mini.chrom.mzML.idx.gz", 0, 0, 0, 3),
    ("pymzml-tests", "mini_numpress.chrom.mzML", 0, 0, 0, 1),
    ("pymzml-tests", "mini_numpress.chrom.mzML.gz", 0, 0, 0, 1),
    ("pymzml-tests", "mini_numpress.chrom.mzML.idx.gz", 0, 0, 0, 1),
    ("pyteomics-tests", "test.mzML", 2, 0, 0, 1),
    ("pyteomics-tests", "tiny.pwiz.1.1.mzML", 2, 1, 1, 2),
]


@pytest.mark.parametrize("folder,name,ms1,ms2,empty,chromatograms", FILES)
def test_real_files_parse_to_the_expected_counts(folder, name, ms1, ms2, empty, chromatograms):
    path = data_path("formats", folder, name)
    report = ReadReport(str(path))
    spectra = list(io_read(path, report=report))
    assert report.format == "mzml"
    assert Counter(s.ms_level for s in spectra) == Counter({1: ms1, 2: ms2}) - Counter()
    assert report.read == ms1 + ms2
    assert report.skipped.get("empty spectrum", 0) == empty
    assert report.skipped.get(mzml.CHROMATOGRAM_SKIP, 0) == chromatograms
    assert all(len(s) > 0 and s.get("source_file") == str(path) for s in spectra)


def test_gcms_run_reads_all_scans_with_retention_time_in_seconds():
    path = data_path("gcms", "lrcfs", "220223008.mzML")
    spectra = list(mzml.read(path))
    assert len(spectra) == 2430
    assert {s.ms_level for s in spectra} == {1}
    rts = np.array([s.retention_time for s in spectra])
    # The file declares minutes: scan=1 at 3.091933 min, scan=2430 at 14.65877 min.
    assert rts[0] == pytest.approx(3.091933 * 60)
    assert rts[-1] == pytest.approx(879.5262)
    assert (np.diff(rts) > 0).all()
    assert spectra[0].get("scan_id") == "scan=1" and spectra[-1].get("scan_index") == 2429
    assert spectra[0].get("ion_mode") == "positive"


@pytest.mark.parametrize(
    "folder,name",
    [("cheminfo-mzdata-tests", "small_zlib.pwiz.1.1.mzML"), ("mzdata-rs-tests", "three_test_scans.mzML")],
)
def test_peaks_and_metadata_agree_with_pyteomics(folder, name):
    pyteomics_mzml = pytest.importorskip("pyteomics.mzml")
    path = data_path("formats", folder, name)
    ours = {s.get("scan_id"): s for s in mzml.read(path)}
    with pyteomics_mzml.read(str(path)) as reader:
        reference = list(reader)
    assert len(reference) == len(ours)
    for ref in reference:
        ours_s = ours[ref["id"]]
        np.testing.assert_allclose(ours_s.mz, ref["m/z array"])
        np.testing.assert_allclose(ours_s.intensity, ref["intensity array"], rtol=1e-6)
        start = ref["scanList"]["scan"][0]["scan start time"]
        seconds = start * 60 if start.unit_info == "minute" else start
        assert ours_s.retention_time == pytest.approx(seconds)
        if "precursorList" in ref:
            ion = ref["precursorList"]["precursor"][0]["selectedIonList"]["selectedIon"][0]
            assert ours_s.precursor_mz == pytest.approx(ion["selected ion m/z"])
            assert ours_s.get("precursor_charge") == ion.get("charge state")


def test_msn_metadata_precursor_charge_and_activation_energy():
    spectra = list(mzml.read(data_path("formats", "mzdata-rs-tests", "three_test_scans.mzML")))
    last = spectra[-1]
    assert last.get("scan_id") == "controllerType=0 controllerNumber=1 scan=10016"
    assert last.ms_level == 2
    assert last.precursor_mz == pytest.approx(617.264933277471)
    assert last.get("precursor_charge") == 2
    assert last.get("collision_energy") == "27.0"
    assert last.retention_time == pytest.approx(22.1340310 * 60, rel=1e-6)


def test_ms_level_filter_counts_what_it_left_out():
    path = data_path("formats", "cheminfo-mzdata-tests", "small_zlib.pwiz.1.1.mzML")
    report = ReadReport(str(path))
    spectra = list(mzml.read(path, report, ms_level=2))
    assert len(spectra) == 34 and {s.ms_level for s in spectra} == {2}
    assert sum(n for reason, n in report.skipped.items() if reason.startswith("ms level 1")) == 14


def test_gzipped_and_indexed_gzip_give_the_same_spectra_as_plain():
    plain = list(mzml.read(data_path("formats", "pymzml-tests", "example.mzML")))
    for name in ("example.mzML.gz", "example.mzML.idx.gz"):
        other = list(mzml.read(data_path("formats", "pymzml-tests", name)))
        assert [s.replace(source_file=None) for s in other] == [s.replace(source_file=None) for s in plain]


# -- crafted files ----------------------------------------------------------------------------------
def _b64(values, dtype="<f8", compress=False) -> str:
    raw = np.asarray(values, dtype=dtype).tobytes()
    return base64.b64encode(zlib.compress(raw) if compress else raw).decode()


def _array(kind: str, payload: str, dtype="MS:1000523", compression="MS:1000576") -> str:
    accession = {"mz": "MS:1000514", "intensity": "MS:1000515"}[kind]
    return (
        f'<binaryDataArray encodedLength="{len(payload)}">'
        f'<cvParam cvRef="MS" accession="{dtype}" name="dtype"/>'
        f'<cvParam cvRef="MS" accession="{compression}" name="compression"/>'
        f'<cvParam cvRef="MS" accession="{accession}" name="{kind} array"/>'
        f"<binary>{payload}</binary></binaryDataArray>"
    )


def _spectrum(index: int, mz_xml: str, int_xml: str, length: int, rt_min: float = 1.5) -> str:
    return (
        f'<spectrum index="{index}" id="scan={index + 1}" defaultArrayLength="{length}">'
        '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="1"/>'
        '<scanList count="1"><scan><cvParam cvRef="MS" accession="MS:1000016" name="scan start time" '
        f'value="{rt_min}" unitCvRef="UO" unitAccession="UO:0000031" unitName="minute"/></scan></scanList>'
        f'<binaryDataArrayList count="2">{mz_xml}{int_xml}</binaryDataArrayList></spectrum>'
    )


def _good(index: int) -> str:
    return _spectrum(index, _array("mz", _b64([50.0, 91.0])), _array("intensity", _b64([10.0, 100.0])), 2)


def _document(*spectra: str, prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}'
        '<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1.0"><run id="r">'
        f'<spectrumList count="{len(spectra)}">{"".join(spectra)}</spectrumList></run></mzML>'
    )


def _write(tmp_path: Path, text: str, name: str = "crafted.mzML") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD_SPECTRA = {
    "bad base64": (
        _spectrum(1, _array("mz", "@@not base64@@"), _array("intensity", _b64([1.0])), 1),
        "not valid base64",
    ),
    "wrong compression flag": (
        _spectrum(1, _array("mz", _b64([50.0]), compression="MS:1000574"), _array("intensity", _b64([1.0])), 1),
        "zlib-compressed",
    ),
    "NaN intensity": (
        _spectrum(1, _array("mz", _b64([50.0])), _array("intensity", _b64([float("nan")])), 1),
        "finite",
    ),
    "negative intensity": (
        _spectrum(1, _array("mz", _b64([50.0])), _array("intensity", _b64([-5.0])), 1),
        "negative",
    ),
    "length mismatch": (
        _spectrum(1, _array("mz", _b64([50.0, 60.0])), _array("intensity", _b64([1.0])), 2),
        "2 m/z values but 1 intensities",
    ),
    "unknown time unit": (
        _good(1).replace('unitAccession="UO:0000031" unitName="minute"', 'unitName="fortnight"'),
        "unknown unit 'fortnight'",
    ),
    "wrong data type": (
        _spectrum(1, _array("mz", _b64([50.0, 60.0, 70.0], "<f4"), dtype="MS:1000523"),
                  _array("intensity", _b64([1.0, 2.0, 3.0], "<f4"), dtype="MS:1000521"), 3),
        "whole number of 8-byte values",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECTRA))
def test_bad_spectrum_raises_reader_error_naming_file_and_scan(tmp_path, case):
    body, expected = BAD_SPECTRA[case]
    path = _write(tmp_path, _document(_good(0), body, _good(2)))
    with pytest.raises(ReaderError) as info:
        list(mzml.read(path))
    message = str(info.value)
    assert str(path) in message and "scan=2" in message and expected in message


@pytest.mark.parametrize("case", sorted(BAD_SPECTRA))
def test_lenient_read_quarantines_the_bad_spectrum_and_keeps_the_rest(tmp_path, case):
    body, _ = BAD_SPECTRA[case]
    path = _write(tmp_path, _document(_good(0), body, _good(2)))
    spectra = list(io_read(path, lenient=True, report=(report := ReadReport(str(path)))))
    assert [s.get("scan_id") for s in spectra] == ["scan=1", "scan=3"]
    assert [q["record"] for q in report.quarantine] == [1]
    assert report.skipped["malformed record"] == 1


def test_truncated_file_yields_the_complete_scans_then_raises(tmp_path):
    text = _document(_good(0), _good(1), _good(2))
    path = _write(tmp_path, text[: text.index('<spectrum index="2"') + 40])
    spectra = mzml.read(path)
    assert next(spectra).get("scan_id") == "scan=1"  # streaming: the first scan comes before the error
    with pytest.raises(ReaderError, match=r"truncated XML after spectrum 'scan=2'"):
        list(spectra)


def test_zlib_float32_arrays_and_minutes(tmp_path):
    body = _spectrum(
        0,
        _array("mz", _b64([91.0, 65.0], "<f4", True), dtype="MS:1000521", compression="MS:1000574"),
        _array("intensity", _b64([999, 120], "<i4", True), dtype="MS:1000519", compression="MS:1000574"),
        2,
        rt_min=2.0,
    )
    (spectrum,) = mzml.read(_write(tmp_path, _document(body)))
    assert spectrum.mz.tolist() == [65.0, 91.0] and spectrum.intensity.tolist() == [120.0, 999.0]
    assert spectrum.retention_time == 120.0


def test_numpress_linear_and_pic_arrays_decode(tmp_path):
    # The pymzml numpress example carries numpress arrays in a chromatogram; put them in a spectrum.
    source = data_path("formats", "pymzml-tests", "mini_numpress.chrom.mzML").read_text()
    payloads = [chunk.split("</binary>")[0] for chunk in source.split("<binary>")[1:]]
    body = _spectrum(
        0,
        _array("mz", payloads[0], compression="MS:1002312"),
        _array("intensity", payloads[1], compression="MS:1002313"),
        176,
    )
    (spectrum,) = mzml.read(_write(tmp_path, _document(body)))
    assert len(spectrum) == 176  # the chromatogram's defaultArrayLength
    assert spectrum.mz[0] == pytest.approx(2302.53, abs=1e-3)
    assert spectrum.mz[-1] == pytest.approx(2899.96, abs=1e-3)
    assert np.diff(spectrum.mz) == pytest.approx(3.415, abs=0.006)  # 3.41-3.42 s SRM sampling
    # Non-zero counts decoded by hand from the half-byte stream (heads 6/5 + 2/3 nibbles).
    assert spectrum.intensity[spectrum.intensity > 0][:9].tolist() == [74, 213, 509, 760, 856, 587, 356, 154, 49]


# -- writing ------------------------------------------------------------------------------------------
def test_write_then_read_round_trips_peaks_and_metadata(tmp_path):
    original = list(mzml.read(data_path("formats", "cheminfo-mzdata-tests", "small_zlib.pwiz.1.1.mzML")))
    target = tmp_path / "out.mzML"
    assert mzml.write(original, target) == 48
    back = list(mzml.read(target))
    keys = ("scan_id", "ms_level", "retention_time", "precursor_mz", "precursor_charge", "ion_mode", "collision_energy")
    assert len(back) == len(original)
    for a, b in zip(original, back):
        assert np.array_equal(a.mz, b.mz) and np.array_equal(a.intensity, b.intensity)
        assert {k: a.get(k) for k in keys} == {k: b.get(k) for k in keys}


def test_unknown_ion_mode_is_not_written_as_positive(tmp_path):
    # SWGDRUG records say nothing of polarity; an export must not invent "positive scan".
    from nps_id.io import msp

    spectra = list(itertools.islice(msp.read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")), 3))
    assert all(s.get("ion_mode") is None for s in spectra)
    target = tmp_path / "out.mzML"
    mzml.write(spectra + [spectra[0].replace(ion_mode="negative")], target)
    assert "positive scan" not in target.read_text()
    assert [s.get("ion_mode") for s in mzml.read(target)] == [None, None, None, "negative"]


def test_failed_write_leaves_no_file(tmp_path):
    def spectra():
        yield from mzml.read(data_path("formats", "pyteomics-tests", "test.mzML"))
        raise RuntimeError("interrupted")

    target = tmp_path / "out.mzML"
    with pytest.raises(RuntimeError):
        mzml.write(spectra(), target)
    assert list(tmp_path.iterdir()) == []


# -- property-based: mutated documents give spectra or ReaderError, nothing else ---------------------
_FUZZ_DOC = _document(_good(0), _good(1)).encode()


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, len(_FUZZ_DOC)), cut=st.integers(0, 30),
       insert=st.sampled_from([b"", b"<", b">", b'"', b"&amp;", b"\x00", b"9" * 40, b"-1", b"NaN", b"</spectrum>"]),
       lenient=st.booleans())
def test_mutated_mzml_gives_spectra_or_reader_error(tmp_path_factory, position, cut, insert, lenient):
    path = tmp_path_factory.mktemp("fuzz") / "m.mzML"
    path.write_bytes(_FUZZ_DOC[:position] + insert + _FUZZ_DOC[position + cut:])
    try:
        spectra = list(io_read(path, lenient=lenient))
    except ReaderError:
        return
    assert all(len(s) > 0 for s in spectra)

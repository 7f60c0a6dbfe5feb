"""MSP / AMDIS MSL reader and writer on the real libraries and every dialect in ../shared/data.

Expected counts were taken independently with grep (``zgrep -c '^Name:'``, ``grep -ci '^num
peaks'``), not from this reader.
"""
from __future__ import annotations

import gzip
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps_id import io as nio
from nps_id.errors import InputError, ReaderError
from nps_id.io import _source, metadata, msp
from nps_id.io._source import ReadReport
from nps_id.spectrum import Spectrum
from tests.conftest import data_path

FORMAT_COUNTS = {
    "matchms-tests/Hydrogen_chloride.msp": 1,
    "matchms-tests/JL_2021_V2.msl": 1,
    "matchms-tests/MoNA-export-GC-MS-first10.msp": 10,
    "matchms-tests/comments_with_quotes.msp": 1,
    "matchms-tests/edge_golm.msp": 1,
    "matchms-tests/golm.msp": 3,
    "matchms-tests/massbank_five_spectra.msp": 5,
    "matchms-tests/multiline_semicolon.msp": 2,
    "matchms-tests/rcx_gc-ei_ms_20201028_perylene.msp": 1,
    "matchms-tests/riken_style_five_spectra.msp": 5,
    "matchms-tests/save_as_msp_from_mgf.msp": 1,
    "matchms-tests/test_spectra_collection.msp": 3,
    "recetox-gc-ei-msp/RECETOX_Exposome_pesticides_HR_MS_20220323.msp": 170,
    "recetox-gc-ei-msp/rcx_gc-ei_ms_subset.msp": 7,
    "recetox-gc-ei-msp/recetox_gc-ei_ms_20201028.msp": 133,
}
# "Num Peaks:" values of every record (grep + awk), summed per file: catches lost or extra peaks.
FORMAT_PEAKS = {
    "matchms-tests/golm.msp": 287,
    "matchms-tests/multiline_semicolon.msp": 25,
    "matchms-tests/JL_2021_V2.msl": 30,
    "matchms-tests/MoNA-export-GC-MS-first10.msp": 494,
    "recetox-gc-ei-msp/recetox_gc-ei_ms_20201028.msp": 7415,
}


def _read(path, **kwargs) -> list[Spectrum]:
    report = ReadReport(str(path))
    return list(msp.read(path, report, **kwargs))


@pytest.mark.parametrize("name, count", sorted(FORMAT_COUNTS.items()))
def test_every_msp_dialect_parses_to_the_right_count(name, count):
    path = data_path("formats", *name.split("/"))
    spectra = list(nio.read(path))  # also checks that the dispatcher picks this reader
    assert len(spectra) == count
    assert all(len(s) > 0 for s in spectra)
    assert [s.get("scan_index") for s in spectra] == list(range(count))
    assert all(s.get("source_file") == str(path) for s in spectra)


@pytest.mark.parametrize("name, peaks", sorted(FORMAT_PEAKS.items()))
def test_no_peak_is_lost(name, peaks):
    spectra = _read(data_path("formats", *name.split("/")))
    assert sum(len(s) for s in spectra) == peaks


def test_golm_colon_pairs_and_keys_without_synon():
    spectra = _read(data_path("formats", "matchms-tests", "golm.msp"))
    first = spectra[0]
    assert len(first) == 50
    assert first.intensity[first.mz.tolist().index(77.0)] == 1000
    # record 2 writes "MST N: ..." lines without "Synon:": kept as metadata, nothing lost
    assert spectra[1].get("mst n") == "Glycine, N,N-dimethyl- (1TMS)"
    assert spectra[1].get("retention_index") == pytest.approx(986.97)  # "RI: 986,97"
    assert spectra[2].get("cas") == "17887-27-3"  # from "CAS#:"


def test_amdis_msl_parenthesised_pairs_and_minutes():
    (spectrum,) = _read(data_path("formats", "matchms-tests", "JL_2021_V2.msl"))
    assert spectrum.name == "G3P"
    assert len(spectrum) == 30
    assert spectrum.mz[0] == 52 and spectrum.intensity[0] == 3
    assert spectrum.mz[-1] == 102 and spectrum.intensity[-1] == 4
    assert spectrum.retention_time == pytest.approx(9.648 * 60)  # "RT:9.648", AMDIS minutes
    assert spectrum.get("retention_index") == pytest.approx(1586.2)
    assert "cas" not in spectrum.metadata  # "TUBE2_~1-N1010" is no CAS number ...
    assert spectrum.get("casno") == "TUBE2_~1-N1010"  # ... but it is kept


def test_several_semicolon_pairs_per_line_and_lowercase_num_peaks():
    a, b = _read(data_path("formats", "matchms-tests", "multiline_semicolon.msp"))
    assert len(a) == 15 and len(b) == 10
    assert b.name == "JWH 081"
    assert b.mz.tolist()[:3] == [40, 41, 42] and b.intensity.tolist()[:3] == [147, 57, 13]


def test_quoted_peak_annotations_and_tabs_are_ignored():
    (s,) = _read(data_path("formats", "matchms-tests", "rcx_gc-ei_ms_20201028_perylene.msp"))
    assert len(s) == 19
    i = int(np.flatnonzero(np.isclose(s.mz, 252.09323))[0])
    assert s.intensity[i] == 1955166
    assert s.get("licence") == "CC BY-NC"
    assert s.get("ion_mode") == "positive"
    assert s.get("retentiontime") == "-1"  # RECETOX's "unknown" is kept as text, not 0 s


def test_name_not_first_and_no_name_at_all():
    riken = _read(data_path("formats", "matchms-tests", "riken_style_five_spectra.msp"))
    assert [s.name for s in riken][:3] == ["ADP", "Kojic acid", "Cyclizine"]
    assert riken[1].get("ion_mode") == "negative"
    assert riken[1].get("precursor_type") == "[M-H]-"
    (mgf_like,) = _read(data_path("formats", "matchms-tests", "save_as_msp_from_mgf.msp"))
    assert mgf_like.name == "Dicrotophos"  # COMPOUND_NAME
    assert mgf_like.precursor_mz == pytest.approx(238.0844)
    assert mgf_like.retention_time == pytest.approx(2.025499 * 60)


def test_mona_and_massbank_style_fields():
    spectra = _read(data_path("formats", "matchms-tests", "MoNA-export-GC-MS-first10.msp"))
    assert spectra[0].get("source_id") == "JP000001"
    assert spectra[0].get("licence") == "CC BY-NC-SA"  # from Comments "license=..."
    assert spectra[0].get("synonyms") == ("1-NITROPYRENE",)  # "Synonym:"
    collection = _read(data_path("formats", "matchms-tests", "test_spectra_collection.msp"))
    assert collection[0].get("ion_mode") == "negative"  # "Ion_mode: N"
    assert collection[0].ms_level == 2
    assert collection[0].get("synonyms") == ("$:00in-source",)


def test_swgdrug_library():
    path = data_path("swgdrug", "SWGDRUG-3.4.msp.gz")
    spectra = _read(path)
    assert len(spectra) == 2988
    first = spectra[0]
    assert first.name == "Epiandrosterone"
    assert first.get("cas") == "481-29-8"  # "CASNO: 481298"
    assert first.get("source_id") == "314"  # "ID: 314"
    assert first.get("comments") == "DEA SWL"
    assert first.get("synonyms") == ("Isoandrosterone", "3.beta.-hydroxy-5.alpha.-Androstan-17-one")
    assert len(first) == 211
    fentanyl = next(s for s in spectra if s.name == "Fentanyl")
    assert fentanyl.get("cas") == "437-38-7"
    assert fentanyl.get("source_id") == "3919"
    assert fentanyl.get("inchikey") == "PJMPHNIQZUBGLI-UHFFFAOYSA-N"
    assert "Sublimaze" in fentanyl.get("synonyms")
    assert len(fentanyl) == 115
    assert fentanyl.mz[np.argmax(fentanyl.intensity)] == 245
    assert fentanyl.get("exact_mass") == pytest.approx(336.220163)
    diazepam = next(s for s in spectra if s.name == "Diazepam")
    assert diazepam.get("cas") == "439-14-5" and len(diazepam) == 201


def test_massbank_ei_library():
    spectra = _read(data_path("massbank", "ei-library.msp.gz"))
    assert len(spectra) == 11051
    assert {s.ms_level for s in spectra} == {1}
    assert sum(s.get("licence") == "CC BY-SA" for s in spectra) == 900  # grep count
    first = spectra[0]
    assert first.get("source_id") == "MSBNK-Osaka_Univ-OUF00001"
    assert first.retention_time == pytest.approx(620.432)  # "620.432  sec"
    assert first.get("retention_index") == pytest.approx(1641.217)
    assert first.get("cas") == "109-76-2"
    assert first.get("instrument_type") == "GC-EI-TOF"


def test_massbank_ms2_record():
    spectra = list(itertools.islice(msp.read(data_path("massbank", "ms2-queries-identity.msp.gz")), 5))
    thymine = spectra[2]
    assert thymine.name == "Thymine"
    assert thymine.get("source_id") == "MSBNK-Keio_Univ-KO001889"
    assert thymine.get("inchikey") == "RWQNBRDOKXIBIV-UHFFFAOYSA-N"
    assert thymine.get("ion_mode") == "negative"
    assert thymine.precursor_mz == 125.0
    assert thymine.get("precursor_type") == "[M-H]-"
    assert thymine.get("collision_energy") == "40 V"
    assert thymine.get("licence") == "CC BY-NC-SA"
    assert thymine.ms_level == 2
    assert len(thymine) == 11 and thymine.intensity[thymine.mz == 59.2][0] == 910892


def test_massbank_ms2_library_whole_file(massbank_ms2_spectra):
    """The session's one full read of the 73,288-spectrum library (about 6 s), which the modules
    that look through all of it share."""
    spectra = massbank_ms2_spectra
    assert len(spectra) == 73288
    assert sum(s.ms_level == 2 for s in spectra) == 73288  # zgrep -c '^Spectrum_type: MS2'
    assert sum(s.get("ion_mode") == "negative" for s in spectra) == 25405  # zgrep -c '^Ion_mode: N'
    assert spectra[0].retention_time == pytest.approx(14.6 * 60)  # "Retention_time: 14.6 min"
    # "Synon: NAN" is a name of N-acetylneuraminic acid, not "not a number": until stop 30 dropped
    (sialic,) = [s for s in spectra[:4000] if s.name == "N-Acetylneuraminic acid"]
    assert sialic.get("synonyms")[:3] == ("NAN", "NANA", "Neu5Ac")


def test_a_name_is_kept_as_written_even_unknown(tmp_path):
    """A lab's unknowns are named "Unknown": the record keeps it (it was stored nameless, and
    exported under its id), in MSP as in MGF; other fields' placeholders are still dropped."""
    path = tmp_path / "lab.msp"
    path.write_text("Name: Unknown\nSynon: N/A\nFormula: unknown\nDB#: U1\nNum Peaks: 2\n41 100; 43 200\n")
    (spectrum,) = nio.read(path)
    assert (spectrum.name, spectrum.get("synonyms"), spectrum.get("formula")) == ("Unknown", ("N/A",), None)
    mgf = tmp_path / "lab.mgf"
    mgf.write_text("BEGIN IONS\nNAME=Unknown\nFORMULA=unknown\nPEPMASS=200\n100 5\n150 9\nEND IONS\n")
    (spectrum,) = nio.read(mgf)
    assert (spectrum.name, spectrum.get("formula")) == ("Unknown", None)


# -- metadata helpers -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, cas",
    [("481298", "481-29-8"), ("50-00-0", "50-00-0"), ("0000050000", "50-00-0"), ("437387", "437-38-7"),
     ("437388", None), ("0", None), ("TUBE2_~1-N1010", None), ("7732-18-5", "7732-18-5")],
)
def test_cas_numbers_are_dashed_and_checksummed(text, cas):
    assert metadata.normalise_cas(text) == cas


@pytest.mark.parametrize(
    "text, seconds",
    [("620.432 sec", 620.432), ("14.6 min", 876.0), ("9.648", 578.88), ("244 s", 244.0),
     ("11.25, 11.54 min", 675.0), ("7.6 min.", 456.0), ("3.53 min (in paper: 3.6 min)", 211.8),
     ("N/A min", None), ("-1", None), ("1.5 h", 5400.0),
     # a decimal comma (read as 6 min until stop 29); two commas, or a point and a comma, are not guessed
     ("6,51", 390.6), ("390,6 sec", 390.6), ("6,51, 6,60 min", 390.6), ("620,432 sec", 620.432),
     ("1,234,567", None), ("6.5,1", None)],
)
def test_retention_time_units(text, seconds):
    result = metadata.parse_retention_time(text)
    assert (result is None and seconds is None) or result == pytest.approx(seconds)


def test_a_decimal_comma_retention_time_in_a_real_msl_file(tmp_path):
    """AMDIS written in a European locale: "RT:9,648" is 9.648 min, not 9 min."""
    text = data_path("formats", "matchms-tests", "JL_2021_V2.msl").read_text()
    assert "RT:9.648" in text
    path = tmp_path / "comma.msl"
    path.write_text(text.replace("RT:9.648", "RT:9,648"))
    assert _read(path)[0].retention_time == pytest.approx(9.648 * 60)


def test_unitless_retention_time_unit_option(tmp_path):
    path = tmp_path / "rt.msp"
    path.write_text("Name: a\nRetention_time: 90\nNum Peaks: 1\n50 1\n")
    assert _read(path)[0].retention_time == 5400.0
    assert _read(path, rt_unit="s")[0].retention_time == 90.0
    with pytest.raises(InputError):
        msp.read(path, rt_unit="fortnights")


# -- malformed input --------------------------------------------------------------------------
GOOD = "Name: good\nNum Peaks: 2\n41 10\n43 999\n\n"


def _write(tmp_path, text, name="bad.msp"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "bad_record, line, what",
    [
        ("Name: x\nNum Peaks: 3\n41 10\n43 999\n\n", 7, "Num Peaks: 3"),
        ("Name: x\nNum Peaks: 2\n41 10\n43 abc\n\n", 9, "not a number"),
        ("Name: x\nNum Peaks: 2\n41 10\n43\n\n", 9, "unpaired"),
        ("Name: x\nNum Peaks: 2\n41 nan\n43 5\n\n", 8, "finite"),
        ("Name: x\nNum Peaks: 2\n41 -5\n43 5\n\n", 8, ">= 0"),
        ("Name: x\nNum Peaks: two\n41 5\n\n", 7, "whole number"),
        ("Name: x\nthis line is no field\nNum Peaks: 1\n41 5\n\n", 7, "key: value"),
    ],
)
def test_malformed_record_names_file_line_and_record(tmp_path, bad_record, line, what):
    path = _write(tmp_path, GOOD + bad_record + GOOD)
    with pytest.raises(ReaderError) as err:
        list(msp.read(path))
    assert err.value.line == line
    assert err.value.record == 1
    assert what in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("rt, found", [("-0.5 s", "-0.5"), ("-2 min", "-120"), ("1e999", "inf"), ("inf", "inf"),
                                       ("-Infinity sec", "-inf"), ("infinite", "inf"), ("Infinite min", "inf")])
def test_a_negative_or_infinite_retention_time_is_a_malformed_record(tmp_path, rt, found):
    """They were read as an unknown time, while every other reader refuses them (docs/formats.md)."""
    path = _write(tmp_path, GOOD + f"Name: x\nRT: {rt}\nNum Peaks: 1\n41 10\n\n")
    with pytest.raises(ReaderError, match=rf"retention time must be 0 to 1e\+09 s \(found {found} s\)") as err:
        list(msp.read(path))
    assert err.value.record == 1


@pytest.mark.parametrize("field", ["RetentionTime: infinite", "RT: INFINITE", "Retention_time: inf min",
                                   "RetentionTime: \u221e"])
def test_an_infinite_retention_time_in_a_real_swgdrug_record_is_refused(tmp_path, field):
    """"RetentionTime: infinite" was read as an unknown time (no number found in it) while "inf"
    was refused, as MGF and MassBank refuse it: one rule for every spelling."""
    import itertools

    from tests.conftest import data_path

    path = tmp_path / "swgdrug-2.msp"
    msp.write(itertools.islice(msp.read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")), 2), path)
    text = path.read_text(encoding="utf-8")
    second = text.index("Name:", 1)
    path.write_text(text[:second] + text[second:].replace("\n", f"\n{field}\n", 1), encoding="utf-8")
    with pytest.raises(ReaderError, match=r"retention time must be 0 to 1e\+09 s \(found inf s\)") as err:
        list(msp.read(path))
    assert err.value.record == 1 and "record 2:" in str(err.value)  # (0-based attribute, 1-based text)


def test_a_retention_time_of_minus_zero_is_zero(tmp_path):
    # "RT: -0" was kept as -0.0: inspect printed "retention time  -0.00 - -0.00 min"
    (s,) = _read(_write(tmp_path, "Name: x\nRT: -0\nNum Peaks: 1\n41 10\n"))
    assert str(s.retention_time) == "0.0"


@pytest.mark.parametrize("rt", ["-1", "-1 min", "nan", "N/A"])
def test_recetox_minus_one_and_nan_stay_an_unknown_retention_time(tmp_path, rt):
    (s,) = _read(_write(tmp_path, f"Name: x\nRT: {rt}\nNum Peaks: 1\n41 10\n"))
    assert s.retention_time is None


def test_lenient_skips_bad_records_and_keeps_going(tmp_path):
    path = _write(tmp_path, GOOD + "Name: x\nNum Peaks: 2\n41 10\n43 abc\n\n" + GOOD
                  + "Name: empty\nNum Peaks: 0\n\n" + GOOD)
    report = ReadReport(str(path), lenient=True)
    spectra = list(msp.read(path, report))
    assert [s.get("scan_index") for s in spectra] == [0, 2, 4]
    assert report.skipped["malformed record"] == 1
    assert report.skipped["empty spectrum"] == 1
    assert report.quarantine[0]["line"] == 9 and report.quarantine[0]["text"] == "43 abc"


def test_empty_spectrum_is_skipped_not_an_error(tmp_path):
    report = ReadReport("x")
    assert list(msp.read(_write(tmp_path, "Name: a\nNum Peaks: 0\n"), report)) == []
    assert report.skipped["empty spectrum"] == 1


@pytest.mark.parametrize("peaks", ["(", "( )", "Num Peaks: 0\n(\n"])
def test_peak_lines_of_separators_only_are_an_empty_spectrum(tmp_path, peaks):
    """A lone '(' (an AMDIS MSL pair cut off) gave a numpy traceback instead of a skip."""
    report = ReadReport("x")
    assert list(msp.read(_write(tmp_path, f"Name: a\n{peaks}\n\n" + GOOD), report))[0].name == "good"
    assert report.skipped["empty spectrum"] == 1


def test_missing_file_fails_before_iteration(tmp_path):
    with pytest.raises(InputError):
        msp.read(tmp_path / "nope.msp")


def test_records_without_blank_lines_between_them(tmp_path):
    path = _write(tmp_path, "Name: a\nNum Peaks: 1\n50 1\nName: b\nNum Peaks: 1\n60 2\n")
    assert [(s.name, s.mz.tolist()) for s in _read(path)] == [("a", [50.0]), ("b", [60.0])]


def test_crlf_and_gzip(tmp_path):
    path = tmp_path / "crlf.msp.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"Name: a\r\nCASNO: 50000\r\nNum Peaks: 2\r\n40 1; 41 2;\r\n\r\n")
    (s,) = list(nio.read(path))
    assert s.get("cas") == "50-00-0" and s.mz.tolist() == [40.0, 41.0]


# -- writing ------------------------------------------------------------------------------------
def _same(a: list[Spectrum], b: list[Spectrum]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.array_equal(x.mz, y.mz) and np.array_equal(x.intensity, y.intensity), x
        mx, my = dict(x.metadata), dict(y.metadata)
        mx.pop("source_file"), my.pop("source_file")
        assert mx == my


@pytest.mark.parametrize(
    "parts",
    [("swgdrug", "SWGDRUG-3.4.msp.gz"), ("massbank", "ei-queries-identity.msp.gz"),
     ("massbank", "ms2-queries-identity.msp.gz"), ("formats", "matchms-tests", "golm.msp")],
)
def test_round_trip_keeps_peaks_and_metadata(tmp_path, parts):
    original = _read(data_path(*parts))
    out = tmp_path / "out.msp"
    assert msp.write(original, out) == len(original)
    _same(original, _read(out))
    assert not list(tmp_path.glob(".out.msp.tmp-*"))


def test_written_file_follows_nist_layout(tmp_path):
    spectra = [
        Spectrum([0.5, 41, 43.25], [5, 10, 999],
                 {"synonyms": ("b", "c"), "cas": "50-00-0", "source_id": "X1", "ion_mode": "negative",
                  "licence": "CC BY", "retention_time": 61.5, "ms_level": 2}),
        Spectrum([0.2], [5], {"name": "only sub-1 peaks"}),
    ]
    out = tmp_path / "out.msp"
    assert nio.write(spectra, out) == 1  # nothing left at m/z >= 1: not written
    lines = out.read_text().splitlines()
    assert lines[0] == "Name: X1"  # no name: the record id stands in
    assert lines[1:3] == ["Synon: b", "Synon: c"]
    assert "CASNO: 50-00-0" in lines and "Ion_mode: N" in lines and "Spectrum_type: MS2" in lines
    assert "Retention_time: 61.5 sec" in lines and 'Comments: "license=CC BY"' in lines
    assert lines[lines.index("Num Peaks: 2") + 1:] == ["41 10", "43.25 999", ""]
    (back,) = _read(out)
    assert back.get("licence") == "CC BY" and back.retention_time == 61.5


def test_matchms_reads_what_we_write(tmp_path):
    """The reference MSP reader sees the same peaks and precursor in our output."""
    from matchms.importing import load_from_msp

    original = list(itertools.islice(msp.read(data_path("massbank", "ms2-queries-identity.msp.gz")), 20))
    out = tmp_path / "out.msp"
    msp.write(original, out)
    theirs = list(load_from_msp(str(out)))
    assert len(theirs) == 20
    for ours, ref in zip(original, theirs):
        np.testing.assert_allclose(ref.peaks.mz, ours.mz)
        np.testing.assert_allclose(ref.peaks.intensities, ours.intensity, rtol=1e-6)
        assert ref.get("precursor_mz") == pytest.approx(ours.precursor_mz)
        assert ref.get("compound_name") == ours.name


def test_trailing_blank_lines_are_not_an_empty_record(tmp_path):
    report = ReadReport("x")
    assert len(list(msp.read(_write(tmp_path, GOOD + "\n\n\n" + GOOD + "\n\n"), report))) == 2
    assert not report.skipped


def test_zero_precursor_is_a_placeholder(tmp_path):
    (s,) = _read(_write(tmp_path, "Name: a\nPrecursorMZ: 0\nNum Peaks: 1\n50 1\n"))
    assert s.precursor_mz is None and s.get("precursormz") == "0"


def test_docstring_examples():
    import doctest

    assert doctest.testmod(msp).failed == 0


def test_no_msp_file_in_shared_data_is_left_untested(shared_data):
    found = {p.relative_to(shared_data / "formats").as_posix()
             for p in (shared_data / "formats").rglob("*") if p.suffix.lower() in (".msp", ".msl")}
    assert found == set(FORMAT_COUNTS)
    libraries = {p.name for p in shared_data.rglob("*.msp.gz")}
    assert libraries == {"SWGDRUG-3.4.msp.gz", "ei-library.msp.gz", "ei-queries-identity.msp.gz",
                         "ei-queries-analog.msp.gz", "ms2-library.msp.gz",
                         "ms2-queries-identity.msp.gz", "ms2-queries-analog.msp.gz"}


# Counts of the remaining MassBank sets (zgrep -c '^Name:'); the big ones are tested above.
@pytest.mark.parametrize("name, count", [("ei-queries-analog.msp.gz", 150),
                                         ("ms2-queries-analog.msp.gz", 200)])
def test_massbank_query_sets(name, count):
    spectra = _read(data_path("massbank", name))
    assert len(spectra) == count
    assert all(s.get("inchikey") and s.get("source_id", "").startswith("MSBNK-") for s in spectra)


# -- property: whatever Spectrum holds in MSP's fields comes back from write -> read ---------

_TEXT = (st.text(alphabet=st.sampled_from(list("abcXYZ019 -_()[],.+/'#=µé")), min_size=1, max_size=30)
         .map(str.strip).filter(lambda s: s and s.lower() not in _source.MISSING_VALUES))
_CAS = st.sampled_from(["50-00-0", "481-29-8", "437-38-7", "7732-18-5", "15307-86-5"])
_FLOAT = st.floats(min_value=1.0, max_value=5000.0, allow_nan=False)


@st.composite
def spectra(draw):
    n = draw(st.integers(1, 30))
    mz = draw(st.lists(_FLOAT, min_size=n, max_size=n))
    intensity = draw(st.lists(st.floats(0, 1e9, width=32), min_size=n, max_size=n))
    meta = draw(st.fixed_dictionaries({}, optional={
        "name": _TEXT, "synonyms": st.lists(_TEXT, min_size=1, max_size=3).map(tuple),
        "formula": _TEXT, "cas": _CAS, "source_id": _TEXT, "inchikey": _TEXT, "smiles": _TEXT,
        "precursor_mz": _FLOAT, "precursor_type": _TEXT,
        "ion_mode": st.sampled_from(["positive", "negative"]),
        "ms_level": st.integers(1, 4), "collision_energy": _TEXT, "instrument_type": _TEXT,
        "retention_time": st.floats(0.001, 1e5), "retention_index": _FLOAT,
        "exact_mass": _FLOAT, "comments": _TEXT, "licence": _TEXT,
    }))
    meta.setdefault("name", "x")  # without a name the writer substitutes one
    return Spectrum(mz, intensity, meta)


@settings(max_examples=100, deadline=None)
@given(originals=st.lists(spectra(), min_size=1, max_size=4))
def test_any_spectrum_round_trips(originals):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rt.msp"
        assert msp.write(originals, out) == len(originals)
        back = list(msp.read(out))
    assert len(back) == len(originals)
    for a, b in zip(originals, back):
        assert np.array_equal(a.mz, b.mz) and np.array_equal(a.intensity, b.intensity)
        expected = dict(a.metadata)
        if "licence" in expected:  # travels inside Comments
            expected["comments"] = (f'{expected["comments"]} ' if "comments" in expected else "") + \
                f'"license={expected["licence"]}"'
        got = {k: v for k, v in b.metadata.items() if k not in ("source_file", "scan_index")}
        assert got == expected


def test_lenient_drops_the_whole_record_around_a_bad_line(tmp_path):
    broken = "Name: broken\nComment: x\nthis line is no field\nFormula: C1\nNum Peaks: 1\n41 5\n\n"
    text = GOOD + broken + GOOD
    report = ReadReport("x", lenient=True)
    spectra = list(msp.read(_write(tmp_path, text), report))
    assert [s.get("scan_index") for s in spectra] == [0, 2]  # nothing of record 1 survives
    assert report.skipped == {"malformed record": 1}
    # without blank lines, the next "Name:" resynchronises
    text = "Name: a\nbad line\nNum Peaks: 1\n41 5\nName: b\nNum Peaks: 1\n42 6\n"
    spectra = list(msp.read(_write(tmp_path, text), ReadReport("x", lenient=True)))
    assert [s.name for s in spectra] == ["b"]


def test_odd_metadata_keys_cannot_break_the_written_file(tmp_path):
    s = Spectrum([50.0], [1.0], {"name": "a", "13c_label": "x", "a:b": "y", "many": ("1", "2")})
    out = tmp_path / "odd.msp"
    msp.write([s, s], out)
    back = _read(out)
    assert len(back) == 2 and all(len(b) == 1 for b in back)
    assert back[0].get("_13c_label") == "x" and back[0].get("a_b") == "y"
    assert back[0].get("many") == ("1", "2")


def test_nist_cas_and_nist_number_on_one_line(tmp_path):
    (s,) = _read(_write(tmp_path, "Name: Benzene\nCAS#: 71-43-2;  NIST#: 291514\nNum Peaks: 1\n78 999\n"))
    assert s.get("cas") == "71-43-2" and s.get("source_id") == "291514"


def test_mona_structures_from_comments():
    spectra = _read(data_path("formats", "matchms-tests", "MoNA-export-GC-MS-first10.msp"))
    # the first "SMILES=" pair of the record's Comments (an explicit field would win)
    assert spectra[0].get("smiles") == "[O-1][N+1](=O)c(c4)c(c1)c(c3c4)c(c2cc3)c(ccc2)c1"
    assert spectra[0].get("inchi").startswith("InChI=1S/C16H9NO2/")
    assert spectra[0].get("inchikey") == "ALRLPDGCPYIVHP-UHFFFAOYSA-N"  # the InChIKey: field
    collection = _read(data_path("formats", "matchms-tests", "test_spectra_collection.msp"))
    assert collection[0].get("smiles") == "O=C(C=CC=1C=CC=CC1O)C=2C=CC=CC2"  # "computed SMILES="


def test_unnamed_scans_get_a_useful_name(tmp_path):
    scan = Spectrum([50.0], [1.0], {"scan_id": "812", "retention_time": 445.2,
                                    "source_file": "/data/run.mzML"})
    out = tmp_path / "scan.msp"
    msp.write([scan, Spectrum([51.0], [1.0])], out)
    assert [s.name for s in _read(out)] == ["run.mzML scan 812 RT 7.42 min", "scan 1"]


def test_windows_1252_files_and_bom(tmp_path):
    path = tmp_path / "cp1252.msp"
    path.write_bytes("\ufeffName: a\nNum Peaks: 1\n50 1\n\n".encode("utf-8")
                     + "Name: 5-MeO-DALT µ-opioid 2°\nNum Peaks: 1\n50 1\n".encode("cp1252"))
    assert [s.name for s in _read(path)] == ["a", "5-MeO-DALT µ-opioid 2°"]
    assert _read(path, encoding="utf-8")[1].name == "5-MeO-DALT \ufffd-opioid 2\ufffd"
    with pytest.raises(InputError):
        msp.read(path, encoding="klingon")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_files_with_a_byte_order_mark(tmp_path, monkeypatch, encoding):
    # Notepad's "Unicode" (UTF-16 LE with a BOM) was refused at its first peak line ('\x004\x001')
    monkeypatch.setattr(_source, "_CHUNK_BYTES", 7)  # code units split between read chunks too
    path = tmp_path / "notepad.msp"
    bom = "\ufeff" if encoding == "utf-16-be" else ""  # Python's utf-16 writes its own BOM
    path.write_bytes((bom + "Name: 5-MeO-DALT µ\r\nNum Peaks: 2\r\n40 1; 41 2;\r\n").encode(encoding))
    assert [(s.name, s.mz.tolist()) for s in _read(path)] == [("5-MeO-DALT µ", [40, 41])]


def test_line_ends_split_across_read_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(_source, "_CHUNK_BYTES", 7)  # every record crosses several chunk borders
    text = "Name: é1\r\nNum Peaks: 2\r\n40 1; 41 2;\r\n\r\nName: é2\rNum Peaks: 1\r42 3\r"
    path = tmp_path / "small.msp"
    path.write_bytes(text.encode("utf-8"))
    spectra = _read(path)
    assert [(s.name, s.mz.tolist()) for s in spectra] == [("é1", [40, 41]), ("é2", [42])]


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_file_read_range_by_range_gives_the_records_lines_and_errors_of_one_read(tmp_path, line_end):
    """The MassBank MS/MS queries cut into ranges (``spans``, as ``nps-id search``'s workers read
    them), plain and gzipped (read from its text, decompressed once): the same spectra with the
    same record numbers, each range's end naming the next range's first record; a bad peak in a
    later range is named by the whole file's line and record; a non-UTF-8, lone-CR or damaged
    gzipped file, or one of fewer records than asked, is not cut."""
    text = gzip.decompress(data_path("massbank", "ms2-queries-analog.msp.gz").read_bytes()).decode("utf-8")
    path = tmp_path / "queries.msp"
    path.write_bytes(text.replace("\n", line_end).encode("utf-8"))
    gz = tmp_path / "queries.msp.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    ranges, data = msp.spans(path, 15, 4, 100)
    assert len(ranges) == 5 and ranges[0].start == 0 and ranges[-1].stop == path.stat().st_size and data is None
    zipped, unzipped = msp.spans(gz, 15, 4, 100)
    assert zipped == ranges and unzipped == path.read_bytes()
    whole = list(msp.read(path))
    for source, cut, text_of in ((path, ranges, None), (gz, zipped, unzipped)):
        parts = [s for span in cut for s in msp.read(source, span=span, data=text_of)]
        assert [(s.name, s.get("scan_index"), s.metadata) for s in parts] == [
            (s.name, s.get("scan_index"), {**s.metadata, "source_file": str(source)}) for s in whole]
        assert all(np.array_equal(a.mz, b.mz) and np.array_equal(a.intensity, b.intensity) for a, b in zip(parts, whole))
        assert [span.end_record for span in cut] == [span.record for span in cut[1:]] + [len(whole)]
    records = text.split("\n\n")
    records[150] = records[150].rsplit("\n", 1)[0] + "\n12 abc"  # its last peak line
    path.write_bytes("\n\n".join(records).replace("\n", line_end).encode("utf-8"))
    with pytest.raises(ReaderError) as whole_error:
        list(msp.read(path))
    span = [s for s in msp.spans(path, 15, 4, 100)[0] if s.record <= 150][-1]
    assert span.record > 15
    with pytest.raises(ReaderError) as range_error:
        list(msp.read(path, span=span))
    assert str(range_error.value) == str(whole_error.value) and "record 151" in str(whole_error.value)
    gz.write_bytes(gzip.compress(path.read_bytes())[:-100])  # cut short
    (tmp_path / "cp1252.msp").write_bytes(text.replace("Name: ", "Name: \u00b5", 1).encode("cp1252", "replace"))
    (tmp_path / "cr.msp").write_bytes(text.replace("\n", "\r").encode("utf-8"))
    assert [msp.spans(p, 15, 4, 100) for p in (gz, tmp_path / "cp1252.msp", tmp_path / "cr.msp")] == [None] * 3
    assert msp.spans(path, 15, 4, len(whole) + 1) is None

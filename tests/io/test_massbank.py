"""MassBank record files: realistic records (MassBank Record Format 2.x layout) written to
tmp_path, plus malformed ones. No record file ships in ../shared/data, so the fixtures follow
the format documentation (MassBank-web Documentation/MassBankRecordFormat.md).
"""
from __future__ import annotations

import pytest

from nps_id import io as nio
from nps_id.errors import ReaderError
from nps_id.io import massbank
from nps_id.io._source import ReadReport

MS2_RECORD = """\
ACCESSION: MSBNK-Eawag-EA020161
RECORD_TITLE: Diclofenac; LC-ESI-QTOF; MS2; CE: 30; R=35000; [M+H]+
DATE: 2016.01.19 (Created 2012.06.28, modified 2013.05.15)
AUTHORS: Stravs M, Schymanski E, Singer H, Department of Environmental Chemistry, Eawag
LICENSE: CC BY
COPYRIGHT: Copyright (C) 2012 Eawag, Duebendorf, Switzerland
COMMENT: CONFIDENCE standard compound
COMMENT: EAWAG_UCHEM_ID 201
CH$NAME: Diclofenac
CH$NAME: 2-[2-(2,6-dichloroanilino)phenyl]acetic acid
CH$COMPOUND_CLASS: N/A; Environmental Standard
CH$FORMULA: C14H11Cl2NO2
CH$EXACT_MASS: 295.0167
CH$SMILES: OC(=O)CC1=CC=CC=C1NC1=C(Cl)C=CC=C1Cl
CH$IUPAC: InChI=1S/C14H11Cl2NO2/c15-10-5-3-6-11(16)14(10)17-12-7-2-1-4-9(12)8-13(18)19/h1-7,17H,8H2,(H,18,19)
CH$LINK: CAS 15307-86-5
CH$LINK: CHEBI 47381
CH$LINK: PUBCHEM CID:3033
CH$LINK: INCHIKEY DCOPUUMXTXDBNB-UHFFFAOYSA-N
AC$INSTRUMENT: LTQ Orbitrap XL Thermo Scientific
AC$INSTRUMENT_TYPE: LC-ESI-ITFT
AC$MASS_SPECTROMETRY: MS_TYPE MS2
AC$MASS_SPECTROMETRY: ION_MODE POSITIVE
AC$MASS_SPECTROMETRY: IONIZATION ESI
AC$MASS_SPECTROMETRY: FRAGMENTATION_MODE HCD
AC$MASS_SPECTROMETRY: COLLISION_ENERGY 30 % (nominal)
AC$MASS_SPECTROMETRY: RESOLUTION 7500
AC$CHROMATOGRAPHY: COLUMN_NAME XBridge C18 3.5um, 2.1x50mm, Waters
AC$CHROMATOGRAPHY: FLOW_GRADIENT 90/10 at 0 min, 50/50 at 4 min, 5/95 at 17 min
AC$CHROMATOGRAPHY: RETENTION_TIME 14.3 min
MS$FOCUSED_ION: BASE_PEAK 296.0236
MS$FOCUSED_ION: PRECURSOR_M/Z 296.0240
MS$FOCUSED_ION: PRECURSOR_TYPE [M+H]+
MS$DATA_PROCESSING: RECALIBRATE loess on assigned fragments and MS1
MS$DATA_PROCESSING: WHOLE RMassBank 1.3.1
PK$SPLASH: splash10-0udi-0390000000-8c7f8ba6c4b4d5b3c8a1
PK$ANNOTATION: m/z tentative_formula formula_count mass error(ppm)
  214.0418 C13H9ClN+ 1 214.0418 0.13
  250.0185 C14H10Cl2N+ 1 250.0185 -0.09
PK$NUM_PEAK: 4
PK$PEAK: m/z int. rel.int.
  214.0418 12620.4 29
  215.0495 1337.2 3
  250.0185 430123.5 999
  296.024 89012 206
//
"""

EI_RECORD = """\
ACCESSION: MSBNK-Fac_Eng_Univ_Tokyo-JP000001
RECORD_TITLE: 1-NITROPYRENE; EI-B; MS
DATE: 2016.01.19 (Created 2008.10.21, modified 2011.05.06)
AUTHORS: KOGA M, UNIV. OF OCCUPATIONAL AND ENVIRONMENTAL HEALTH
LICENSE: CC BY-NC-SA
CH$NAME: 1-NITROPYRENE
CH$COMPOUND_CLASS: N/A
CH$FORMULA: C16H9NO2
CH$EXACT_MASS: 247.06333
CH$SMILES: [O-1][N+1](=O)c(c4)c(c1)c(c3c4)c(c2cc3)c(ccc2)c1
CH$IUPAC: InChI=1S/C16H9NO2/c18-17(19)14-9-7-12-5-4-10-2-1-3-11-6-8-13(14)16(12)15(10)11/h1-9H
CH$LINK: CAS 5522-43-0
CH$LINK: INCHIKEY ALRLPDGCPYIVHP-UHFFFAOYSA-N
AC$INSTRUMENT: VARIAN MAT-44
AC$INSTRUMENT_TYPE: EI-B
AC$MASS_SPECTROMETRY: MS_TYPE MS
AC$MASS_SPECTROMETRY: ION_MODE POSITIVE
AC$MASS_SPECTROMETRY: IONIZATION_ENERGY 70 eV
MS$FOCUSED_ION: ION_TYPE [M]+*
PK$SPLASH: splash10-0udi-0090000000-5a2dcd1e2a8c3a6b6b7e
PK$NUM_PEAK: 6
PK$PEAK: m/z int. rel.int.
  99 83.33 83
  100 60.66 60
  189 100 999
  200 41.33 41
  217 58.66 58
  247 90 900
//
"""


def _write(tmp_path, text, name="MSBNK-Test-TE000001.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ms2_record(tmp_path):
    path = _write(tmp_path, MS2_RECORD)
    assert nio.detect_format(path) == "massbank"  # ".txt" + "ACCESSION:"
    (s,) = list(nio.read(path))
    assert s.get("source_id") == "MSBNK-Eawag-EA020161"
    assert s.name == "Diclofenac"
    assert s.get("synonyms") == ("2-[2-(2,6-dichloroanilino)phenyl]acetic acid",)
    assert s.get("formula") == "C14H11Cl2NO2"
    assert s.get("exact_mass") == pytest.approx(295.0167)
    assert s.get("inchi").startswith("InChI=1S/C14H11Cl2NO2/")
    assert s.get("inchikey") == "DCOPUUMXTXDBNB-UHFFFAOYSA-N"
    assert s.get("cas") == "15307-86-5"
    assert s.get("instrument_type") == "LC-ESI-ITFT"
    assert s.ms_level == 2
    assert s.get("ion_mode") == "positive"
    assert s.get("collision_energy") == "30 % (nominal)"
    assert s.retention_time == pytest.approx(14.3 * 60)
    assert s.precursor_mz == pytest.approx(296.024)
    assert s.get("precursor_type") == "[M+H]+"
    assert s.get("licence") == "CC BY"
    assert s.get("comments") == "CONFIDENCE standard compound\nEAWAG_UCHEM_ID 201"
    # other tags are kept under lower-case keys, nothing lost
    assert s.get("record_title").startswith("Diclofenac; LC-ESI-QTOF")
    assert s.get("link_pubchem") == "CID:3033"
    assert s.get("chromatography_column_name").startswith("XBridge C18")
    assert s.get("splash") == "splash10-0udi-0390000000-8c7f8ba6c4b4d5b3c8a1"
    # PK$PEAK: the int. column, not rel.int.; PK$ANNOTATION lines are not peaks
    assert s.mz.tolist() == [214.0418, 215.0495, 250.0185, 296.024]
    assert s.intensity.tolist() == pytest.approx([12620.4, 1337.2, 430123.5, 89012])


def test_ei_record(tmp_path):
    (s,) = list(massbank.read(_write(tmp_path, EI_RECORD)))
    assert s.ms_level == 1  # MS_TYPE MS
    assert s.name == "1-NITROPYRENE" and "synonyms" not in s.metadata
    assert s.get("cas") == "5522-43-0"
    assert s.get("inchikey") == "ALRLPDGCPYIVHP-UHFFFAOYSA-N"
    assert s.get("licence") == "CC BY-NC-SA"
    assert s.get("mass_spectrometry_ionization_energy") == "70 eV"
    assert s.get("focused_ion_ion_type") == "[M]+*"
    assert "precursor_mz" not in s.metadata
    assert len(s) == 6 and s.mz[s.intensity.argmax()] == 189


def test_several_records_in_one_file_and_gzip(tmp_path):
    import gzip

    path = tmp_path / "two.txt.gz"
    path.write_bytes(gzip.compress((MS2_RECORD + EI_RECORD).encode()))
    spectra = list(nio.read(path, format="massbank"))
    assert [s.get("source_id") for s in spectra] == ["MSBNK-Eawag-EA020161",
                                                      "MSBNK-Fac_Eng_Univ_Tokyo-JP000001"]
    assert [s.get("scan_index") for s in spectra] == [0, 1]


def test_round_trip_through_msp(tmp_path):
    """A MassBank record converted to MSP reads back with the same peaks and key fields."""
    (s,) = list(massbank.read(_write(tmp_path, MS2_RECORD)))
    out = tmp_path / "out.msp"
    nio.write([s], out)
    (back,) = list(nio.read(out))
    assert back.mz.tolist() == s.mz.tolist() and back.intensity.tolist() == s.intensity.tolist()
    for key in ("name", "synonyms", "inchikey", "cas", "precursor_mz", "precursor_type", "ion_mode",
                "ms_level", "retention_time", "licence", "source_id", "collision_energy"):
        assert back.get(key) == s.get(key), key


@pytest.mark.parametrize(
    "edit, line, what",
    [
        (("PK$NUM_PEAK: 4", "PK$NUM_PEAK: 5"), 40, "PK$NUM_PEAK: 5 but 4"),
        (("  215.0495 1337.2 3", "  215.0495 lots 3"), 43, "not 'm/z int. rel.int.'"),
        (("  215.0495 1337.2 3", "  215.0495 -1337.2 3"), 43, ">= 0"),
        (("  215.0495 1337.2 3", "  215.0495"), 43, "not 'm/z int. rel.int.'"),
        (("PK$NUM_PEAK: 4", "PK$NUM_PEAK: four"), 40, "whole number"),
        (("CH$FORMULA: C14H11Cl2NO2", "this is not a tag"), 12, "expected 'TAG: value'"),
    ],
)
def test_malformed_records_raise_with_line(tmp_path, edit, line, what):
    path = _write(tmp_path, EI_RECORD + MS2_RECORD.replace(*edit))
    with pytest.raises(ReaderError) as err:
        list(massbank.read(path))
    assert err.value.record == 1
    assert err.value.line == line + EI_RECORD.count("\n")
    assert what in str(err.value)


def test_missing_peak_block_and_lenient_mode(tmp_path):
    no_peaks = MS2_RECORD.split("PK$SPLASH")[0] + "//\n"
    path = _write(tmp_path, no_peaks + EI_RECORD)
    with pytest.raises(ReaderError, match="no PK\\$PEAK"):
        list(massbank.read(path))
    report = ReadReport(str(path), lenient=True)
    assert [s.name for s in massbank.read(path, report)] == ["1-NITROPYRENE"]
    assert report.skipped["malformed record"] == 1


def test_record_without_peaks_is_skipped(tmp_path):
    empty = EI_RECORD.split("PK$NUM_PEAK")[0] + "PK$NUM_PEAK: 0\nPK$PEAK: m/z int. rel.int.\n  N/A\n//\n"
    report = ReadReport("x")
    assert list(massbank.read(_write(tmp_path, empty), report)) == []
    assert report.skipped["empty spectrum"] == 1


def test_not_known_markers_drop_the_field_in_any_case(tmp_path):
    text = (EI_RECORD.replace("CH$FORMULA: C16H9NO2", "CH$FORMULA: n/a")
            .replace("CH$EXACT_MASS: 247.06333", "CH$EXACT_MASS: -")
            .replace("AC$INSTRUMENT: VARIAN MAT-44", "AC$INSTRUMENT: Unknown"))
    (s,) = list(massbank.read(_write(tmp_path, text)))
    for key in ("formula", "exact_mass", "instrument", "compound_class"):  # CH$COMPOUND_CLASS: N/A
        assert key not in s.metadata, key
    assert s.get("inchikey") == "ALRLPDGCPYIVHP-UHFFFAOYSA-N"  # real values around them are kept


@pytest.mark.parametrize("rt, found", [("-0.5 min", "-30"), ("inf min", "inf"), ("infinite min", "inf")])
def test_a_negative_or_infinite_retention_time_is_a_malformed_record_as_in_msp(tmp_path, rt, found):
    path = _write(tmp_path, MS2_RECORD.replace("RETENTION_TIME 14.3 min", f"RETENTION_TIME {rt}"))
    with pytest.raises(ReaderError, match=rf"retention time must be 0 to 1e\+09 s \(found {found} s\)"):
        list(massbank.read(path))
    unknown = _write(tmp_path, MS2_RECORD.replace("RETENTION_TIME 14.3 min", "RETENTION_TIME -1"), name="b.txt")
    assert next(massbank.read(unknown)).retention_time is None

"""An MS/MS precursor written to fewer than 3 decimals does not establish the hit's formula (stop 47): on the
real MassBank MS/MS records, mecamylamine left out of the library -- its Keio API3000 spectrum's precursor
written "168" -- is no longer `identified` as 2-azaspiro[4.5]decane-1,3-dione, a compound of another formula at
that nominal ion; written accurately, the precursor excludes that formula itself; a compound whose nominal
ion no other library formula shares (aniline, m/z 94) is still `identified`."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.io import read  # noqa: E402
from nps_id.match.assess import assess_search  # noqa: E402
from nps_id.match.verdict import VerdictThresholds, held_words  # noqa: E402
from nps_id.search.engine import SearchSettings, search  # noqa: E402
from nps_id.search.reference import Reference  # noqa: E402
from tests.conftest import data_path  # noqa: E402


def _query(name: str):
    return next(s for s in read(data_path("massbank", "ms2-queries-identity.msp.gz")) if s.name == name)


def _searched(massbank_ms2_spectra, query, left_out: bool, thresholds: VerdictThresholds | None = None):
    """``query`` against the MassBank MS/MS records of its polarity within 1 Da of its precursor (every
    formula of that nominal ion and the next), without its own compound's when ``left_out``:
    (assessment, top hit's name)."""
    block = str(query.get("inchikey"))[:14]
    library = [s for s in massbank_ms2_spectra
               if s.precursor_mz is not None and abs(float(s.precursor_mz) - float(query.precursor_mz)) <= 1.0
               and s.get("ion_mode") == query.get("ion_mode")
               and not (left_out and str(s.get("inchikey"))[:14] == block)]
    reference = Reference.from_spectra(library)
    hits = search([query], reference, SearchSettings(top_k=10))
    found = assess_search([query], hits, reference, analog=False, thresholds=thresholds or VerdictThresholds())[0]
    return found, str(reference.columns["name"][hits.row[0]])


def test_a_left_out_amine_at_a_unit_precursor_is_not_identified_as_another_formula(massbank_ms2_spectra):
    query = _query("Mecamylamine")
    assert str(query.precursor_mz) == "168.0" and query.get("formula") == "C11H21N"
    found, hit = _searched(massbank_ms2_spectra, query, left_out=True)
    assert hit == "2-Azaspiro[4.5]decane-1,3-dione"  # C9H13NO2: [M+H]+ 168.102 against mecamylamine's 168.175
    assert found.verdict.verdict == "tentative" and found.verdict.rule.startswith("isomer not excluded")
    assert "precursor m/z 168 written to fewer than 3 decimals" in found.verdict.rule
    assert found.isomers.unit_precursor == 168.0 and found.isomers.unit_precursor_isobars
    # the compounds it names are of another formula, not isomers, and an accurate m/z is what would settle it
    # (a new user, stop 47: the rule said only "the hit or an isomer")
    assert found.verdict.held_by == ["other_formula"]  # said as data too (stop 48): the reports read it
    assert held_words(found.verdict.held_by) == (
        "a compound of another formula within the precision of the precursor m/z")
    assert ("the substance is the hit or a compound of another formula within the precision of the precursor m/z the "
            "spectrum") in found.verdict.rule
    # "168": what its digits leave open is the nominal ion (newuser48: the text says the window)
    assert "which compounds of another formula give too, their ions within +-0.5 Da of it (in the library:" in (
        found.verdict.rule)
    assert "(an accurate precursor m/z, to 3 or more decimals, would)" in found.verdict.rule
    # the rule off, as until stop 47: the same match was an identification (wrong)
    before, _ = _searched(massbank_ms2_spectra, query, left_out=True,
                          thresholds=VerdictThresholds(isomer_ms2_unit_precursor_da=0))
    assert before.verdict.verdict == "identified"
    # the precursor written accurately ([M+H]+ of C11H21N) excludes the hit's formula by itself
    accurate, _ = _searched(massbank_ms2_spectra, query.replace(precursor_mz=168.1747), left_out=True)
    assert accurate.verdict.verdict == "inconclusive" and "accurate m/z excludes" in accurate.verdict.rule
    assert not accurate.isomers or not accurate.isomers.unit_precursor


def test_a_unit_precursor_no_other_library_formula_shares_keeps_its_identification(massbank_ms2_spectra):
    query = _query("Aniline")
    assert str(query.precursor_mz) == "94.0"
    found, hit = _searched(massbank_ms2_spectra, query, left_out=False)
    assert hit == "Aniline" and found.verdict.verdict == "identified"
    assert not found.isomers.unit_precursor
    # its criteria print the precursor as written, "94", not "94.0000" -- digits nobody wrote (newuser48)
    assert ("precursor m/z 94 is an ion of the candidate's whole molecule, as the spectrum states ([M+H]+), not an "
            "in-source fragment: its [M+H]+") in found.verdict.criteria_met
    # the library record's, written to 4 decimals, keeps them
    assert "the precursor is the ion the library record fragmented (the library record's precursor m/z 94.0651)" in (
        found.verdict.criteria_met)


def test_a_precursor_written_with_trailing_zeros_is_not_said_to_be_written_shorter(massbank_ms2_spectra, tmp_path):
    # attack47: the reader keeps a number, so "168.1000" (4 decimals written) is 168.1 -- held as a unit precursor
    # (as MassBank's own export reads an accurate "146.0600" as "146.06"); the text must not tell whoever wrote
    # 4 decimals that they wrote fewer than 3
    import gzip

    with gzip.open(data_path("massbank", "ms2-queries-identity.msp.gz"), "rt", encoding="utf-8") as handle:
        record = next(r for r in handle.read().split("\n\n") if r.startswith("Name: Mecamylamine\n"))
    path = tmp_path / "mecamylamine.msp"
    path.write_text(record.replace("PrecursorMZ: 168\n", "PrecursorMZ: 168.1000\n") + "\n", encoding="utf-8")
    (query,) = read(path)
    found, hit = _searched(massbank_ms2_spectra, query, left_out=True)
    assert hit == "2-Azaspiro[4.5]decane-1,3-dione" and found.isomers.unit_precursor == 168.1
    assert "precursor m/z 168.1 written to fewer than 3 decimals (trailing zeros are not read)" in found.verdict.rule
    assert any("(trailing zeros are not read)" in c for c in found.verdict.criteria_failed)


def test_a_two_decimal_precursor_holds_only_for_a_formula_within_its_precision(massbank_ms2_spectra):
    # stop 48: "122.06" is known to +-0.005 (+ 20 ppm), not +-0.5 -- an accurate QFT value whose trailing zero
    # MassBank's export dropped; it excludes the xylidines (C8H11N, [M+H]+ 122.0964, 36 mDa away) that held
    # benzamide (C7H7NO, 122.0600) as a unit precursor until stop 48
    query = _query("Benzamide")
    assert str(query.precursor_mz) == "122.06" and query.get("formula") == "C7H7NO"
    found, hit = _searched(massbank_ms2_spectra, query, left_out=False)
    assert hit == "Benzamide" and found.verdict.verdict == "identified"
    assert not found.isomers.unit_precursor
    # written "122" (a unit-resolution m/z), the same spectrum is held by those compounds of another formula
    unit, _ = _searched(massbank_ms2_spectra, query.replace(precursor_mz=122.0), left_out=False)
    assert unit.verdict.verdict == "tentative" and unit.isomers.unit_precursor == 122.0
    assert "2,4-Dimethylaniline" in unit.isomers.unit_precursor_isobars


def test_a_two_decimal_precursor_still_holds_for_a_formula_inside_its_precision(massbank_ms2_spectra):
    # quinoline N-oxide (C9H7NO, [M+H]+ 146.0600) written "146.06": 5-methanesulfinylpentanenitrile (C6H11NOS,
    # 146.0634) lies 3.4 mDa away, inside what two decimals leave open -- the hold stays, naming it alone
    query = _query("Quinoline N-oxide")
    assert str(query.precursor_mz) == "146.06"
    found, _ = _searched(massbank_ms2_spectra, query, left_out=False)
    assert found.verdict.verdict == "tentative" and found.isomers.unit_precursor == 146.06
    assert found.isomers.unit_precursor_isobars == ("5-methanesulfinylpentanenitrile",)
    # newuser48: its texts said "a compound of another formula at its nominal mass", which "146.06" is not held by
    # (the nominal ion 146 holds formulae 0.5 Da apart); they say the precision, and the window, 0.005 + 20 ppm
    assert "nominal" not in found.verdict.rule and "nominal" not in " ".join(found.verdict.criteria_failed)
    assert ("the substance is the hit or a compound of another formula within the precision of the precursor m/z "
            "the spectrum cannot tell from it -- a precursor m/z 146.06 written to fewer than 3 decimals (trailing "
            "zeros are not read), which compounds of another formula give too, their ions within +-0.008 Da of it "
            "(in the library: 5-methanesulfinylpentanenitrile)") in found.verdict.rule


def test_the_precursor_window_is_what_its_digits_say():
    from nps_id.lcms.features import formula_mass
    from nps_id.match.isomer_evidence import precursor_window

    benzamide = formula_mass("C7H7NO")
    assert precursor_window(122.06, "positive", benzamide, 0.5, 20.0) == pytest.approx(0.005 + 122.06 * 20e-6)
    assert precursor_window(122.1, "positive", benzamide, 0.5, 20.0) == pytest.approx(0.05 + 122.1 * 20e-6)
    assert precursor_window(122.0, "positive", benzamide, 0.5, 20.0) == 0.5  # unit: the nominal ion
    # digits the hit's own formula does not fit (a unit-resolution instrument's "122.2") say no more than the nominal ion
    assert precursor_window(122.2, "positive", benzamide, 0.5, 20.0) == 0.5
    assert precursor_window(122.06, "positive", None, 0.5, 20.0) == 0.5

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
    assert held_words(found.verdict.held_by) == "a compound of another formula at its nominal mass"
    assert "the substance is the hit or a compound of another formula at its nominal mass the spectrum" in (
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

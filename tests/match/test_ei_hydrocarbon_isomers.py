"""Hydrocarbons, EI (stop 45, docs/match.md "Hydrocarbons, EI"): a hit of carbon and hydrogen only, up
to ``isomer_hydrocarbon_carbons`` carbons, has its isomers not excluded by the spectrum alone -- branched
alkane isomers give one ion series and no isomer move reaches most of their skeletons. Real MassBank EI
records: 2-methylheptane, a compound the library lacks, against the library's C8H18 records."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.match.assess import assess_search  # noqa: E402
from nps_id.match.verdict import VerdictThresholds  # noqa: E402
from nps_id.search.engine import SearchSettings, search  # noqa: E402
from nps_id.search.reference import Reference  # noqa: E402


@pytest.fixture(scope="module")
def octanes():
    """(the 2-methylheptane query, MassBank EI's C8H18 records, the search's hits)."""
    from nps_id.io import read
    from tests.conftest import data_path

    (query,) = [s for s in read(data_path("massbank", "ei-queries-analog.msp.gz")) if s.get("name") == "2-METHYLHEPTANE"]
    library = [s for s in read(data_path("massbank", "ei-library.msp.gz")) if s.get("formula") == query.get("formula")]
    reference = Reference.from_spectra(library)
    return query, reference, search([query], reference, SearchSettings(top_k=20))


def test_2_methylheptane_is_not_identified_as_isooctane(octanes):
    query, reference, hits = octanes
    assert str(reference.columns["name"][hits.row[0]]) == "2,2,4-TRIMETHYLPENTANE"
    found = assess_search([query], hits, reference, analog=False)[0]
    assert found.verdict.verdict == "tentative" and found.verdict.rule_id == "isomer_not_excluded"
    assert found.isomers.hydrocarbon == 8
    assert any("hydrocarbon of 8 carbons" in c for c in found.verdict.criteria_failed)


def test_the_rule_switched_off_gives_the_wrong_identification_back(octanes):
    # what the rule is for: without it the absent compound is named as its isomer
    query, reference, hits = octanes
    found = assess_search([query], hits, reference, analog=False,
                          thresholds=VerdictThresholds(isomer_hydrocarbon_carbons=0))[0]
    assert found.verdict.verdict == "identified" and found.isomers.hydrocarbon == 0

"""EI library pairs (stop 45, docs/match.md "New substances"): a compound of the hit's formula whose
library records match the hit's records at least as well as the unknown matches the hit is not
excluded -- the library's own evidence that the two skeletons give one EI spectrum, where no isomer
move reaches the other. Real MassBank EI records (4-methyl-2-pentanol / 2-hexanol, C6H14O)."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.match.assess import assess_search  # noqa: E402
from nps_id.match.isomer_rule import LIBRARY_PAIR  # noqa: E402
from nps_id.search.engine import SearchSettings, search  # noqa: E402
from nps_id.search.reference import Reference  # noqa: E402


@pytest.fixture(scope="module")
def hexanols():
    """(the 4-methyl-2-pentanol identity query, a reference of MassBank EI's C6H14O records)."""
    from nps_id.io import read
    from tests.conftest import data_path

    (query,) = [s for s in read(data_path("massbank", "ei-queries-identity.msp.gz"))
                if s.get("name") == "4-METHYL-2-PENTANOL"]
    library = [s for s in read(data_path("massbank", "ei-library.msp.gz")) if s.get("formula") == query.get("formula")]
    return query, Reference.from_spectra(library)


def test_2_hexanol_is_not_identified_when_a_library_isomer_matches_it_as_closely_as_the_unknown(hexanols):
    query, reference = hexanols
    hits = search([query], reference, SearchSettings(top_k=20))
    top = str(reference.columns["name"][hits.row[0]])
    found = assess_search([query], hits, reference, analog=False)[0]
    # the query's own compound's record (another laboratory's) scores >= 100 lower: the top hit is
    # 2-hexanol, whose records 4-methyl-2-pentanol's match better (888) than the unknown does (~839)
    assert top == "2-HEXANOL" and 800 <= hits.score[0] * 999 < 888
    assert found.verdict.verdict == "tentative" and found.verdict.rule_id == "isomer_not_excluded"
    pairs = [n for n in found.isomers.in_library if n.move == LIBRARY_PAIR]
    assert [n.name for n in pairs] == ["4-METHYL-2-PENTANOL"]


def test_a_library_record_without_peaks_pairs_with_nothing_and_warns_nothing():
    # a 2-hexanol record of no peaks (an entry whose spectrum was lost) among its compound's records:
    # the pairs search took it as a query and numpy warned (invalid value) on the user's terminal
    import warnings

    import numpy as np

    from nps_id.io import read
    from nps_id.spectrum import Spectrum
    from tests.conftest import data_path

    (query,) = [s for s in read(data_path("massbank", "ei-queries-identity.msp.gz"))
                if s.get("name") == "4-METHYL-2-PENTANOL"]
    records = [s for s in read(data_path("massbank", "ei-library.msp.gz")) if s.get("formula") == query.get("formula")]
    own = next(s for s in records if s.get("name") == "2-HEXANOL")
    reference = Reference.from_spectra([*records, Spectrum(np.array([]), np.array([]), dict(own.metadata))])
    hits = search([query], reference, SearchSettings(top_k=20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = assess_search([query], hits, reference, analog=False)[0]
    assert found.verdict.rule_id == "isomer_not_excluded"
    assert [n.name for n in found.isomers.in_library if n.move == LIBRARY_PAIR] == ["4-METHYL-2-PENTANOL"]


def test_the_ei_pairs_follow_the_rmf_floor_asked_in_one_process(hexanols):
    # one facts object, two callers' --identified-rmf: the pairs of the first floor were returned for the second
    from nps_id.match.library_facts import LibraryFacts

    _, reference = hexanols
    facts = LibraryFacts(reference)
    row = next(i for i, name in enumerate(reference.columns["name"]) if str(name) == "2-HEXANOL")
    assert facts.ei_pairs(row, 0)  # 4-methyl-2-pentanol's records match 2-hexanol's
    assert facts.ei_pairs(row, 1000) == {}  # no RMF reaches 1000


def test_a_hand_edited_ei_pairs_entry_is_dropped_and_a_written_one_kept(hexanols):
    # the pairs file (stop 45) holds the EI pairs under "ei_pairs:BLOCK:RMF FORMULA": an entry pairing
    # the hit's compound with itself named its own structure as its isomer (never identified), and a
    # key whose RMF floor is no number is none ei_pairs writes -- each is damaged, made again
    from nps_id.match.library_facts import LibraryFacts, Ms2PairsCache

    _, reference = hexanols
    facts = LibraryFacts(reference)
    cache = Ms2PairsCache("0" * 64, facts)
    row = next(i for i, name in enumerate(reference.columns["name"]) if str(name) == "2-HEXANOL")
    block, formula = facts.block(row), facts.formula(row)
    written = {other: list(pair) for other, pair in facts.ei_pairs(row, 600).items()}
    assert written and cache._decode_value(f"ei_pairs:{block}:600 {formula}", written) == facts.ei_pairs(row, 600)
    for key, value in ((f"ei_pairs:{block}:600 {formula}", {**written, block: [row, 999]}),
                       (f"ms2_pairs:{block} {formula}", {block: [row, 999]}),
                       (f"ei_pairs:{block}:x {formula}", written), (f"ei_pairs:{block} {formula}", written)):
        with pytest.raises(ValueError):
            cache._decode_value(key, value)

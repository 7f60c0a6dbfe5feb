"""Compound identity (nps_id.compound) on the real SWGDRUG library: diastereomers are different
compounds (the gap and isomer alert of a pseudoephedrine search are measured against ephedrine),
enantiomers are one compound, names keep Greek letters and locants."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.compound import compound_identity, name_relation, normalise_name
from nps_id.library import Library
from nps_id.search.engine import SearchSettings, search
from nps_id.search.reference import Reference
from nps_id.spectrum import Spectrum


@pytest.fixture(scope="module")
def swgdrug(swgdrug_library) -> Reference:
    with Library.open(swgdrug_library) as lib:
        return Reference.from_library(lib)


def _row(ref: Reference, name: str) -> int:
    return int(np.flatnonzero(ref.columns["name"] == name)[0])


def test_swgdrug_gives_ephedrine_and_pseudoephedrine_one_stereo_less_inchikey(swgdrug):
    # the trap: the full keys agree, only the names tell the diastereomers apart
    ephedrine, pseudo = _row(swgdrug, "Ephedrine"), _row(swgdrug, "Pseudoephedrine")
    assert swgdrug.columns["inchikey"][ephedrine] == swgdrug.columns["inchikey"][pseudo]
    assert swgdrug.compound()[ephedrine] != swgdrug.compound()[pseudo]


def test_pseudoephedrine_search_measures_gap_and_isomer_alert_against_ephedrine(swgdrug):
    pseudo, ephedrine = _row(swgdrug, "Pseudoephedrine"), _row(swgdrug, "Ephedrine")
    mz, intensity = swgdrug.peaks.row(pseudo)
    query = [Spectrum(mz, intensity, metadata={"name": "seized powder"})]
    # a margin wide enough for ephedrine (score 0.928), too narrow for methcathinone (0.858),
    # which has another formula anyway
    hits = search(query, swgdrug, SearchSettings(top_k=5, isomer_margin=0.1))
    assert hits.row[0] == pseudo
    at = {int(r): float(s) for r, s in zip(hits.row, hits.score)}
    assert hits.gap[0] == pytest.approx(hits.score[0] - at[ephedrine])
    assert bool(hits.isomer_alert[0])  # ephedrine: same formula, a different compound
    note = swgdrug.identity.notes[pseudo]
    assert "Ephedrine" in note and "rarely separate diastereomers" in note


def test_enantiomers_are_one_compound_and_the_note_says_so(swgdrug):
    d, levo = _row(swgdrug, "d-Propoxyphene"), _row(swgdrug, "levo-Propoxyphene")
    assert swgdrug.compound()[d] == swgdrug.compound()[levo]
    assert "do not distinguish enantiomers" in swgdrug.identity.notes[d]


def test_atropine_and_hyoscyamine_are_one_compound_and_the_note_names_both(swgdrug):
    """Atropine is racemic hyoscyamine: their names are unrelated, their keys' stereo layers
    differ and their structures leave a centre open; SWGDRUG's synonym "Levo-atropine" of
    Hyoscyamine tells. An atropine spectrum's gap is then measured against another compound."""
    atropine, hyoscyamine = _row(swgdrug, "Atropine"), _row(swgdrug, "Hyoscyamine")
    assert swgdrug.compound()[atropine] == swgdrug.compound()[hyoscyamine]
    for row in (atropine, hyoscyamine):
        note = swgdrug.identity.notes[row]
        assert "Atropine, Hyoscyamine" in note and "do not distinguish enantiomers" in note
    mz, intensity = swgdrug.peaks.row(atropine)
    hits = search([Spectrum(mz, intensity, metadata={"name": "seized tablet"})], swgdrug, SearchSettings(top_k=5))
    assert hits.row[0] == atropine and hits.row[1] == hyoscyamine  # hyoscyamine scores 0.966
    assert hits.gap[0] == pytest.approx(hits.score[0] - hits.score[2])  # was 0.034, against hyoscyamine


@pytest.mark.parametrize("synonyms, joined", [
    (["", "Levo-atropine"], True),       # an optical descriptor added to the other's name
    (["", "Atropine"], False),           # a synonym equal to the other's name decides nothing
    (["(2R,3S)-atropine", "(2S,3R)-atropine"], False),  # R/S mirrors among synonyms: not used
])
def test_only_a_synonym_with_an_optical_descriptor_joins_stereo_keys(synonyms, joined):
    keys = ["RKUNBYITZUJHSG-CIDNJEQPSA-N", "RKUNBYITZUJHSG-HEWHGDCOSA-N"]
    codes = compound_identity(keys, ["Atropine", "Hyoscyamine"], synonyms=synonyms).codes
    assert bool(codes[0] == codes[1]) is joined


def test_an_isotope_labelled_standard_is_another_compound(swgdrug):
    # same InChIKey first block, an isotope layer in the second: pseudoephedrine-d3
    assert swgdrug.compound()[_row(swgdrug, "Pseudoephedrine-d3")] != swgdrug.compound()[_row(swgdrug, "Pseudoephedrine")]


def test_greek_letters_and_locants_keep_compounds_apart():
    # SWGDRUG's spelling, the Unicode letter and the spelled-out one are one name
    names = [".alpha.-PVP", "α-PVP", "alpha-PVP", ".beta.-PVP", "β-PVP", "PVP", "3-MMC", "4-MMC"]
    codes = compound_identity([""] * len(names), names).codes
    assert codes[0] == codes[1] == codes[2]
    assert codes[3] == codes[4]
    assert len({codes[0], codes[3], codes[5]}) == 3
    assert codes[6] != codes[7]
    assert normalise_name(".alpha.-PVP") == normalise_name("α-PVP") == "alpha-pvp"


@pytest.mark.parametrize("a, b, relation", [
    ("d-Amphetamine", "Amphetamine", "enantiomer"),
    ("(R)-(−)-Ketamine", "Ketamine", "enantiomer"),
    ("rac-Methadone", "Methadone", "enantiomer"),
    ("Dextrorphan", "Levorphan", "enantiomer"),
    ("(1R,2S)-2-(methylamino)-1-phenylpropan-1-ol", "(1S,2R)-2-(methylamino)-1-phenylpropan-1-ol", "enantiomer"),
    ("(1R,2S)-2-(methylamino)-1-phenylpropan-1-ol", "(1S,2S)-2-(methylamino)-1-phenylpropan-1-ol", "diastereomer"),
    ("Cocaine", "Pseudococaine", "diastereomer"),
    ("Pseudoephedrine-d3", "Pseudoephedrine", "unrelated"),
    (".alpha.-PVP", "β-PVP", "unrelated"),
])
def test_name_relations(a, b, relation):
    assert name_relation(a, b) == relation


# RDKit SMILES of the four 2-(methylamino)-1-phenylpropan-1-ol stereoisomers
EPHEDRINE = "CN[C@@H](C)[C@H](O)c1ccccc1"          # (1R,2S)
EPHEDRINE_MIRROR = "CN[C@H](C)[C@@H](O)c1ccccc1"    # (1S,2R)
PSEUDOEPHEDRINE = "CN[C@@H](C)[C@@H](O)c1ccccc1"    # (1S,2S)
KEY = "KWGRBVOPPLSCSI-UHFFFAOYSA-N"


def test_verified_structures_decide_over_names():
    names = ["Ephedrine", "Ephedrine enantiomer", "Isoephedrine"]  # names that say nothing
    smiles = [EPHEDRINE, EPHEDRINE_MIRROR, PSEUDOEPHEDRINE]
    ident = compound_identity([KEY] * 3, names, smiles, ["verified"] * 3)
    assert ident.codes[0] == ident.codes[1] != ident.codes[2]
    assert "do not distinguish enantiomers" in ident.notes[0]
    assert "Isoephedrine" in ident.notes[0]


def test_unverified_structures_are_never_used():
    names = ["Ephedrine", "Isoephedrine"]
    ident = compound_identity([KEY] * 2, names, [EPHEDRINE, PSEUDOEPHEDRINE], ["unverified", "unverified"])
    assert ident.codes[0] == ident.codes[1]  # one key, names that do not tell: one compound


def test_a_neutral_name_does_not_join_two_diastereomers():
    # "the amino alcohol" shares the key with both and names neither; it must not bridge them
    names = ["Ephedrine", "Pseudoephedrine", "2-(Methylamino)-1-phenylpropan-1-ol"]
    codes = compound_identity([KEY] * 3, names).codes
    assert codes[0] != codes[1]


def test_records_under_one_inchikey_are_one_compound_when_a_stereo_less_key_sits_beside_them():
    """MassBank files one compound under a key with stereo and one without ("L-Proline" with and
    without, "L-Proline standard" with): the stereo-less record joined the first and then kept the
    third apart (stereo layers differ, names unrelated: "different"), so a proline query's gap
    was measured against proline itself. A key without stereo layers says nothing about it."""
    with_stereo, without = "ONIBWKKTOPOVIA-BYPYZUCNSA-N", "ONIBWKKTOPOVIA-UHFFFAOYSA-N"
    codes = compound_identity([with_stereo, without, with_stereo],
                              ["L-Proline", "L-Proline", "L-Proline standard"]).codes
    assert len(set(codes.tolist())) == 1
    # still apart: names that say diastereomer, and an isotope-labelled standard
    assert len(set(compound_identity([with_stereo, without], ["Ephedrine", "Pseudoephedrine"]).codes.tolist())) == 2
    assert len(set(compound_identity([with_stereo, without], ["Proline-d7", "Proline standard"]).codes.tolist())) == 2


def test_massbank_ei_records_of_one_full_inchikey_are_one_compound():
    """Real records: MassBank EI split mandelic acid ("MANDELIC ACID" / "DL-MANDERIC ACID"),
    camphor and alpha-methylbenzylamine into two compounds each under one full InChIKey."""
    from nps_id import io
    from tests.conftest import data_path

    blocks = {"IWYDHOAUDWTVEP", "DSSYKIVIOFKYAU", "RQEUFEKYXDPUSK"}  # mandelic acid, camphor, 1-phenylethylamine
    records = [s for s in io.read(data_path("massbank", "ei-library.msp.gz"))
               if (s.get("inchikey") or "")[:14] in blocks]
    keys = [s.get("inchikey") for s in records]
    codes = compound_identity(keys, [s.name or "" for s in records], [s.get("smiles") or "" for s in records]).codes
    by_key: dict[str, set[int]] = {}
    for key, code in zip(keys, codes.tolist()):
        by_key.setdefault(key, set()).add(code)
    assert len(by_key) >= 3 and all(len(found) == 1 for found in by_key.values()), by_key


def test_a_skeleton_of_many_records_with_many_synonyms_normalises_each_name_once(monkeypatch):
    """Every pair of records of one skeleton is compared: normalising each name and every synonym
    again for each pair made a crafted library of 800 such records (40 synonyms each) take 75 s to
    open in its first search (stop 28); each text is now normalised once."""
    import random

    from nps_id import compound

    calls, lookups = [], []
    real, cached = compound.normalise_name, compound._name_keys
    monkeypatch.setattr(compound, "normalise_name", lambda name: calls.append(name) or real(name))
    monkeypatch.setattr(compound, "_name_keys", lambda name: lookups.append(name) or cached(name))
    cached.cache_clear()
    compound._synonyms_by_optical_key.cache_clear()
    rng = random.Random(28)
    n = 200
    keys = [f"RKUNBYITZUJHSG-{''.join(rng.choices('ABCDEFGHJKLMNPQRSTUVWXYZ', k=8))}SA-N" for _ in range(n)]
    names = [f"compound{i}" for i in range(n)]
    synonyms = ["\n".join(f"(+)-other{j} {i}" for j in range(20)) for i in range(n)]
    synonyms[1] += "\nLevo-compound0"  # one synonym names record 0 with an optical descriptor
    identity = compound.compound_identity(keys, names, synonyms=synonyms)
    assert identity.codes[0] == identity.codes[1] and len(set(identity.codes.tolist())) == n - 1
    assert len(calls) < 5_000  # about once each name and synonym (4,201 texts; was 44,003 calls)
    assert len(lookups) < 100_000  # a few a pair of records (19,900 pairs; was 836,000: every synonym)


def _crafted_skeleton(n: int) -> tuple[list[str], list[str]]:
    """``n`` records of one skeleton (cocaine's) with unrelated names: every second one without a
    stereo layer (neutral to all), the others each under its own stereo layer (apart)."""
    import random

    rng = random.Random(29)
    keys = [f"ZPUCINDJVBIVPJ-{''.join(rng.choices('ABCDEFGHJKLMNPQRSTUVWXYZ', k=8))}SA-N" if i % 2
            else "ZPUCINDJVBIVPJ-UHFFFAOYSA-N" for i in range(n)]
    return keys, [f"compound{i}" for i in range(n)]


def test_a_crafted_skeleton_within_the_bound_is_partitioned_pairwise():
    """Each class keeps the classes it must stay apart from: comparing every member of two classes
    at each join made 400 such records take 11 s (stop 28), 4,000 minutes."""
    from nps_id.compound import MAX_PAIRWISE

    keys, names = _crafted_skeleton(MAX_PAIRWISE)
    identity = compound_identity(keys, names)
    # the records under their own stereo layers stay apart; each stereo-less one joins one of them
    assert len(set(identity.codes.tolist())) == MAX_PAIRWISE // 2
    assert len(set(identity.codes[1::2].tolist())) == MAX_PAIRWISE // 2


def test_a_crafted_skeleton_beyond_the_bound_is_grouped_by_full_inchikey_and_says_so(swgdrug):
    """A library of thousands of records of one skeleton opens in a moment: its compounds are its
    full InChIKeys, and every row's note says the stereoisomers were not compared. The real
    libraries hold at most 18 distinct records of a skeleton; the other skeletons keep the rule."""
    import time

    from nps_id.compound import MAX_PAIRWISE

    keys, names = _crafted_skeleton(4000)
    keys += list(swgdrug.columns["inchikey"])
    names += list(swgdrug.columns["name"])
    started = time.perf_counter()
    identity = compound_identity(keys, names)
    assert time.perf_counter() - started < 30  # pairwise: about 8 million pairs, hours
    crafted = identity.codes[:4000]
    assert len(set(crafted.tolist())) == 2001  # one stereo-less key, 2,000 others
    assert all(f"more than {MAX_PAIRWISE}" in note for note in identity.notes[:4000])
    ephedrine, pseudo = (4000 + _row(swgdrug, name) for name in ("Ephedrine", "Pseudoephedrine"))
    assert identity.codes[ephedrine] != identity.codes[pseudo]  # the real skeletons keep the rule


def test_names_made_only_of_optical_descriptors_are_not_one_compound():
    """A record named "(+)" or "D" (a broken or hand-made library) names no compound: stripped of
    their descriptors, such names were all one compound, and every record without an InChIKey so
    named joined it."""
    assert name_relation("(+)", "(-)") == "unrelated"
    assert name_relation("D", "rac") == "unrelated"
    assert name_relation("d-Amphetamine", "l-Amphetamine") == "enantiomer"  # the rule stands
    codes = compound_identity(["", "", "", ""], ["(+)", "(-)", "D", "d"]).codes.tolist()
    assert codes[0] != codes[1] and codes[1] != codes[2] and codes[2] == codes[3]

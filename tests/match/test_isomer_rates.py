"""Isomer rates per kind of move: the training script's fallbacks and the rule's lookup agree, so a
finer kind with few library pairs takes its coarser kind's rate (benchmarks/train_isomer_rates.py,
nps_id/match/isomer_rule.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rdkit")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from train_isomer_rates import MIN_PAIRS, add_kinds, kept_pool, rates_for, rule_scores  # noqa: E402

from nps_id.chem.isomers import enumerate_isomers  # noqa: E402
from nps_id.match.isomer_rule import SCORE_GRID, check_isomers, rate_at, rate_of  # noqa: E402
from nps_id.match.verdict import VerdictThresholds  # noqa: E402
from nps_id.search.settings import Hits  # noqa: E402


def flat(rate: float) -> tuple[float, ...]:
    """A rate curve with the same rate at every score."""
    return (rate,) * len(SCORE_GRID)


def outcomes(share: float, n: int) -> list[np.ndarray]:
    """``n`` library pairs, each matching at every score in ``share`` of its spectra."""
    return [np.full(len(SCORE_GRID), share)] * n


def test_a_kind_with_few_pairs_takes_the_rate_of_the_next_coarser_kind():
    pooled = {"double_bond:conjugation": outcomes(1.0, MIN_PAIRS), "double_bond:plain": outcomes(0.0, 2),
              "ring_position:F": outcomes(0.0, 3)}
    rates = rates_for(pooled)
    assert rates["double_bond:conjugation"]["rate_at_score"] == list(flat(1.0))
    # 2 pairs: the double-bond moves' rate (12 pairs, 10 inseparable)
    assert rates["double_bond:plain"]["from"] == "double_bond"
    assert rates["double_bond:plain"]["rate_at_score"][0] == pytest.approx(10 / 12, abs=1e-3)
    # 3 pairs, and 3 ring-position pairs in all: the context's rate over every move
    assert rates["ring_position:F"]["from"] == "default"
    assert rates["ring_position:F"]["rate_at_score"][-1] == pytest.approx(10 / 15, abs=1e-3)


def _hits(score: list[float], mf: list[float], rmf: list[float]) -> Hits:
    n = len(score)
    ints, nan = np.arange(n), np.full(n, np.nan)
    return Hits(ints, ints + 1, ints, np.array(score), np.array(mf), np.array(rmf), nan, np.array(score),
                np.full(n, -1), nan, np.zeros(n, dtype=bool))


def _entry(rate: float, pairs: int, source: str) -> dict:
    return {"pairs": pairs, "inseparable": 0.0, "rate_at_score": list(flat(rate)), "from": source}


def test_add_to_relearns_the_named_ms2_kinds_and_keeps_every_other_curve():
    # stop 46: --ms2-moves ... --add-to learns the named kinds on today's MS/MS pairs; a curve learned
    # earlier in a run of one kind (8 pairs falling back on themselves: never inseparable) is replaced,
    # the EI curves and an MS/MS kind not named stay as they were
    base = {"contexts": {"other": {"ring_position": _entry(0.04, 500, "ring_position"), "default": _entry(0.1, 900, "all")},
                         "other-ms2": {"oxygen_position": _entry(0.0, 8, "default"), "sugar_linkage": _entry(0.25, 28, "sugar_linkage"),
                                       "default": _entry(0.0, 8, "all")}},
            "libraries": ["mbei.h5"], "ms2_moves": ["oxygen_position", "sugar_linkage"]}
    new = {"contexts": {"other-ms2": {"oxygen_position": _entry(0.29, 8, "default"), "ring_position": _entry(0.17, 378, "ring_position"),
                                      "sugar_linkage": _entry(0.5, 28, "sugar_linkage"), "default": _entry(0.29, 581, "all")}},
           "libraries": ["mbms2.h5"], "ms2_moves": ["oxygen_position", "ring_position"]}
    out = add_kinds(base, new)
    assert out["contexts"]["other"] == base["contexts"]["other"]
    ms2 = out["contexts"]["other-ms2"]
    assert ms2["oxygen_position"] == new["contexts"]["other-ms2"]["oxygen_position"]
    assert ms2["ring_position"] == new["contexts"]["other-ms2"]["ring_position"]
    assert ms2["default"]["pairs"] == 581  # the pool the relearned kinds' fallbacks read
    assert ms2["sugar_linkage"] == base["contexts"]["other-ms2"]["sugar_linkage"]  # not named: kept
    assert out["ms2_moves"] == ["oxygen_position", "ring_position", "sugar_linkage"]
    # a run naming no MS/MS kind (EI libraries only) adds the kinds the file lacks and replaces nothing
    ei = {"contexts": {"other": {"ring_position": _entry(0.9, 1, "default"), "ring_size": _entry(0.0, 40, "ring_size")}},
          "libraries": ["swg25.h5"]}
    added = add_kinds(base, ei)["contexts"]
    assert added["other"]["ring_position"] == base["contexts"]["other"]["ring_position"]
    assert added["other"]["ring_size"] == ei["contexts"]["other"]["ring_size"]
    assert added["other-ms2"] == base["contexts"]["other-ms2"]


def test_keep_ms2_pool_adds_a_new_ms2_kind_against_the_files_pool():
    # stop 49: chain_position's pairs joining the drug MS/MS pool took it from 0.051 to 0.049 at 990, under the
    # 0.05 every drug MS/MS kind of too few pairs is read against; --keep-ms2-pool learns the new kind's own
    # curves and lets its few-pair kinds fall back on the shipped pool, which stays byte for byte
    base = {"contexts": {"other": {"default": _entry(0.1, 900, "all")},
                         "drug-ms2": {"ring_position": _entry(0.051, 4, "default"), "default": _entry(0.051, 46, "all")}},
            "libraries": ["mbms2.h5"], "ms2_moves": ["ring_position"]}
    assert kept_pool(base, "other") is None  # an EI context learns from the run's pairs
    pooled = {"chain_position:O": outcomes(0.0, 2)}
    learned = rates_for(pooled, kept_pool(base, "drug-ms2"))
    assert learned["chain_position:O"]["from"] == "default" and learned["chain_position:O"]["pairs"] == 2
    assert learned["chain_position:O"]["rate_at_score"] == list(flat(0.051))  # the kept pool, not its 2 pairs' 0
    assert learned["default"] == base["contexts"]["drug-ms2"]["default"]
    out = add_kinds(base, {"contexts": {"drug-ms2": learned}, "libraries": ["mbms2.h5"], "ms2_moves": ["chain_position"]})
    assert out["contexts"]["drug-ms2"]["default"] == base["contexts"]["drug-ms2"]["default"]
    assert out["contexts"]["drug-ms2"]["ring_position"] == base["contexts"]["drug-ms2"]["ring_position"]
    assert out["ms2_moves"] == ["chain_position", "ring_position"]
    # without it the run's own pairs are the pool
    assert rates_for(pooled)["chain_position:O"]["rate_at_score"] == list(flat(0.0))


def test_a_library_pair_counts_at_the_score_the_rule_would_give_an_unknown_matching_that_well():
    # 4'-fluoro-alpha-PPP matches 3'-fluoro-alpha-PPP at MF 0.98072 (979.74 x 999): nps-id reports
    # 980 and the rule reads the curve's 980 point; the training counted the pair at 970 only
    rmf = VerdictThresholds().identified_rmf
    ei = rule_scores(_hits([0.98, 0.98], [0.98072, 0.98072], [0.99, (rmf - 1) / 999]), np.array([False, False]), rmf)
    assert ei.tolist() == [980, 0]  # below the identity RMF: never an identification, so no match
    ms2 = rule_scores(_hits([0.9805], [np.nan], [np.nan]), np.array([True]), rmf)
    assert ms2.tolist() == [980]  # an MS/MS pair by its score, rounded alike
    curve = rates_for({"ring_position:F": [(ei[:1, None] >= np.array(SCORE_GRID)).mean(axis=0)] * MIN_PAIRS})
    assert rate_at(curve["ring_position:F"]["rate_at_score"], 980) == 1.0


def test_the_rule_reads_a_kind_the_rates_file_lacks_at_its_coarser_kind():
    rates = {"double_bond": flat(0.5), "ring_position:O": flat(0.8), "default": flat(0.1)}
    assert rate_of("double_bond:conjugation", rates) == flat(0.5)
    assert rate_of("ring_position:O", rates) == flat(0.8)
    assert rate_of("methyl_shift", rates) == flat(0.1)
    assert set(rate_of("methyl_shift", {})) == {1.0}  # nothing learned: nothing excluded by a rate


def test_estragole_does_not_exclude_anethole_when_conjugation_moves_are_inseparable():
    # SWGDRUG: trans-anethole left out matched estragole at MF ~950 and was "identified" as it;
    # the C=C moved into conjugation with the ring is learned inseparable (0.60), plain chain
    # moves are not (0.19)
    estragole = "COc1ccc(CC=C)cc1"
    rates = {"other": {"double_bond:conjugation": flat(0.6), "double_bond:plain": flat(0.19), "default": flat(0.27)}}
    check = check_isomers(estragole, "other", 950, lambda block: None, {}, min_rate=0.4, margin=100,
                          rates=rates, isomers=enumerate_isomers(estragole))
    assert {n.move for n in check.absent} == {"double_bond:conjugation"}


def _left_out_of_swgdrug(library, name: str):
    """(the top hit's name, its MF, the assessed finding, the query's InChIKey first block) of the
    SWGDRUG record ``name`` searched with its compound removed, as the bench's left-out task does."""
    from nps_id.library import Library
    from nps_id.match.assess import assess
    from nps_id.match.ranked_hit import ranked_hit
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference

    with Library.open(library) as lib:
        reference = Reference.from_library(lib)
        (query,) = [s for s in lib.spectra() if s.get("name") == name]
    own = str(query.get("inchikey"))[:14]
    facts = LibraryFacts(reference).excluding(frozenset({own}))
    hits = search([query], reference, SearchSettings(top_k=20))
    ranked = [ranked_hit(hits, j, "ei", analog=False) for j in range(len(hits.row))
              if facts.block(int(hits.row[j])) != own]
    found = assess(query.mz, query.intensity, "ei", ranked, facts, gap=None, isomer_alert=False)
    return facts.name(ranked[0].row), ranked[0].mf, found, own


def test_trans_anethole_left_out_of_swgdrug_is_not_identified_as_estragole(swgdrug_library):
    # The real pair: SWGDRUG's trans-anethole spectrum matches estragole at MF ~950; with
    # anethole removed from the library it was "identified" as estragole (stop 21).
    hit, mf, found, _ = _left_out_of_swgdrug(swgdrug_library, "trans-Anethole")
    assert hit == "Estragole" and mf >= 900
    assert found.verdict.verdict == "tentative" and found.verdict.rule_id == "isomer_not_excluded"
    assert "double_bond:conjugation" in {n.move for n in found.isomers.absent}


def test_2_mpa_tfa_with_3_mpa_tfa_left_out_names_the_thiophen_3_yl_isomer(swgdrug_library):
    # Stop 38: each MPA TFA derivative left out of SWGDRUG was `identified` as the other (MF 972):
    # the thiophene position read the drugs' ring-carbon rate (0.041 at 970); a perfluoroacyl
    # derivative's ring-carbon pairs have their own (0.13 at 970: 3 of 23 library pairs)
    hit, mf, found, own = _left_out_of_swgdrug(swgdrug_library, "3-MPA TFA derivative")
    assert hit == "2-MPA TFA derivative" and 960 <= mf < 980
    assert found.verdict.verdict == "tentative" and found.verdict.rule_id == "isomer_not_excluded"
    named = {n.inchikey[:14]: n.move for n in found.isomers.absent}
    assert named.get(own) == "ring_position:C:perfluoroacyl"  # the query's own structure, named
    assert "may be a new substance" in found.verdict.rule


def test_ring_positions_of_a_small_molecule_are_not_excluded_by_an_ms2_spectrum():
    # MassBank MS/MS: 2,4-dichlorophenol left out was "identified" as 2,5-dichlorophenol (score
    # 985). CID of a small aromatic loses H2O, CO, HCl wherever the ring substituents sit; the
    # EI-learned rate curve for ring chlorine excludes the 2,4-isomer at that score.
    from rdkit import Chem

    from nps_id.match.verdict import VerdictThresholds

    t = VerdictThresholds()
    # a ring-chlorine rate that excludes at 985 (the shipped EI curve reaches ~0 there)
    rates = {"other": {"ring_position:Cl": flat(0.0), "ring_position:O": flat(0.0), "default": flat(0.0)}}
    small = "Oc1cc(Cl)ccc1Cl"  # 2,5-dichlorophenol: 9 heavy atoms

    def absent(atoms: int) -> set[str]:
        check = check_isomers(small, "other", 985, lambda block: None, {}, min_rate=t.isomer_min_rate,
                              margin=t.isomer_margin, rates=rates, small_ring_atoms=atoms)
        return {n.inchikey[:14] for n in check.absent}

    two_four = Chem.MolToInchiKey(Chem.MolFromSmiles("Oc1ccc(Cl)cc1Cl"))[:14]
    assert two_four in absent(t.isomer_small_ms2_atoms)
    assert absent(0) == set()  # EI: the rates decide
    assert 9 <= t.isomer_small_ms2_atoms <= 12  # 12 since stop 24 (methyl methoxybenzoates, docs/match.md)


def test_a_product_ion_is_a_peak_the_ms2_score_compares():
    # the precursor and its isotopes are no product ion; the score drops the same peaks
    from nps_id.match.isomer_rule import PRODUCT_ION_MIN_LOSS_DA, has_product_ion
    from nps_id.search.scores.entropy import EntropySimilarity

    assert PRODUCT_ION_MIN_LOSS_DA == EntropySimilarity().precursor_removal_da
    mz, intensity = np.array([138.066, 194.0, 195.088, 196.09]), np.array([0.02, 0.5, 1.0, 0.1])
    assert has_product_ion(mz, intensity, 195.088, 0.01)
    assert not has_product_ion(mz, intensity, 195.088, 0.03)  # 194.0 is within 1.6 Da of the precursor
    assert has_product_ion(mz, intensity, float("nan"), 0.5)  # no precursor m/z: cannot tell, nothing held


def test_a_series_the_taxonomy_files_in_no_group_is_judged_by_the_drug_rates():
    """Taxonomy 2026.7 files corticosteroids, estrogens and sterols in no group; their epimers are as
    inseparable as the anabolic steroids' (MassBank EI's 5alpha-cholestan-3alpha-yl benzoate was
    `identified` as its 3beta epimer when the "other" rates judged it). A compound no structure rule
    knows stays "other" (an amino acid, a solvent)."""
    from nps_id.match.isomer_rule import context_of

    cholestanyl_benzoate = "CC(C)CCCC(C)C1CCC2C3CCC4CC(OC(=O)c5ccccc5)CCC4(C)C3CCC12C"
    assert context_of("5-ALPHA-CHOLESTAN-3-BETA-YL BENZOATE", cholestanyl_benzoate, None) == "drug"
    assert context_of("Clozapine", "CN1CCN(CC1)C1=Nc2cc(Cl)ccc2Nc2ccccc12", None) == "drug"
    assert context_of("Testosterone", "CC12CCC3C(CCC4=CC(=O)CCC34C)C1CCC2O", None) == "drug"
    assert context_of("L-Tyrosine", "N[C@@H](Cc1ccc(O)cc1)C(=O)O", None) == "other"
    assert context_of("Toluene", "Cc1ccccc1", None) == "other"


def test_a_derivatives_ring_positions_are_never_excluded_more_readily_than_plain_ones():
    """The shipped file's TMS ring-position curves of non-drug compounds are 0 at every score (22 and
    12 library pairs, all told apart): read as they are they would exclude every ring-position isomer
    of a TMS derivative however well it matches; the plain kind's rate stands where it is higher,
    and the perfluoroacyl drug curve (MPA TFA) still raises it."""
    from nps_id.match.isomer_rule import load_rates, rate_at

    rates = load_rates()
    for context, move in [("other", "ring_position:C"), ("other", "ring_position:O"), ("drug", "ring_position:C")]:
        for reagent in ("silyl", "perfluoroacyl"):
            refined = rate_of(f"{move}:{reagent}", rates[context])
            assert all(r >= p for r, p in zip(refined, rate_of(move, rates[context])))
    assert rate_at(rate_of("ring_position:C:silyl", rates["other"]), 900) == rate_at(
        rate_of("ring_position:C", rates["other"]), 900) > 0.04
    assert rate_at(rate_of("ring_position:C:perfluoroacyl", rates["drug"]), 970) > rate_at(
        rate_of("ring_position:C", rates["drug"]), 970)


#: Real SWGDRUG records (13) of ring-fluorine series: 4'- / 3'-F-alpha-PPP, a pair one move apart that
#: matches at 980, the fluoromethcathinones, fluoroamphetamines and fluoromethamphetamines.
FLUORO_FORMULAS = (b"Formula: C13H16FNO\r", b"Formula: C10H12FNO\r", b"Formula: C9H12FN\r", b"Formula: C10H14FN\r")


@pytest.fixture(scope="module")
def fluoro_library(tmp_path_factory) -> Path:
    import gzip

    from nps_id.library import build_library
    from nps_id.search.index import build_indexes
    from tests.conftest import data_path

    records = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).split(b"\r\n\r\n")
    folder = tmp_path_factory.mktemp("fluoro")
    (folder / "fluoro.msp").write_bytes(b"\r\n\r\n".join(r for r in records if any(f in r for f in FLUORO_FORMULAS))
                                        + b"\r\n")
    build_library([folder / "fluoro.msp"], folder / "fluoro.h5", name="SWGDRUG", release="3.4",
                  index_builder=build_indexes)
    return folder / "fluoro.h5"


def test_a_left_out_compounds_rates_are_learned_without_any_pair_of_it(fluoro_library):
    # the dev bench's left-out tasks (bench_novelty.py --isomer-rates-loo): a held-back compound's
    # pairs are in no library, so its rates must not hold them
    import json

    from train_isomer_rates import LeaveOutRates, library_pairs, outcome

    from nps_id.library import Library
    from nps_id.match.isomer_rule import RATES_PATH

    with Library.open(fluoro_library) as lib:
        names, keys = lib.column("name"), lib.column("inchikey")
    four = next(str(k)[:14] for n, k in zip(names, keys) if n.startswith("4'-Fluoro-.alpha.-pyr"))
    pairs = library_pairs(fluoro_library, VerdictThresholds())
    own = {i for i, p in enumerate(pairs) if four in (p.compound, p.isomer)}
    # 4' -> 3' and 3' -> 4' (979.74 and 979.35)
    # 4' -> 3' and 3' -> 4' (979.74 and 979.35), one kind (canonical atom order names it, stop 44)
    assert sorted((pairs[i].move, max(pairs[i].scores)) for i in own) == [("ring_position:branch", 979),
                                                                          ("ring_position:branch", 980)]
    kind = pairs[min(own)].move
    assert {p.context for p in pairs} == {"drug"}
    learned = {"version": 3, "score_grid": list(SCORE_GRID),  # what the trainer writes from these pairs
               "contexts": {"drug": rates_for({m: [outcome(p.scores) for p in pairs if p.move == m]
                                               for m in {p.move for p in pairs}})}}
    loo = LeaveOutRates(learned, pairs)
    assert loo.dropped(frozenset({four, "name:unrelated"})) == own
    without = loo.without(loo.dropped(frozenset({four})))["contexts"]["drug"][kind]
    others = [loo.outcomes[i] for i, p in enumerate(pairs) if i not in own and p.move == kind]
    assert without["pairs"] == learned["contexts"]["drug"][kind]["pairs"] - 2 == len(others)
    full = learned["contexts"]["drug"][kind]["rate_at_score"]
    assert full[SCORE_GRID.index(980)] > 0 == without["rate_at_score"][SCORE_GRID.index(980)]  # its own pair
    # a curve these pairs do not reproduce (the shipped one, 140 pairs of the whole library) loses what
    # the compound's two pairs add to it: both match above every point up to 970, so no point rises
    shipped = json.loads(RATES_PATH.read_text(encoding="utf-8"))["contexts"]["drug"][kind]
    less = LeaveOutRates({"contexts": {"drug": {kind: shipped}}}, pairs).without(
        frozenset(own))["contexts"]["drug"][kind]
    assert less["pairs"] == shipped["pairs"] - 2
    assert all(a <= b for a, b in zip(less["rate_at_score"], shipped["rate_at_score"]))
    assert less["rate_at_score"][SCORE_GRID.index(970)] < shipped["rate_at_score"][SCORE_GRID.index(970)]


@pytest.mark.parametrize("content, expected", [
    (b"", "not a pairs file"),
    (b"context\tmove\tcompound\tisomer\tscores\n", "holds no pair"),  # every curve would stay as shipped
    (b"context\tmove\tcompound\tisomer\tscores\ndrug\tx\tA\tB\t5000\n", "line 2: .*0-999"),
    (b"context\tmove\tcompound\tisomer\tscores\ndrug\tx\t\xff\tB\t5\n", "not UTF-8 text"),
])
def test_a_damaged_pairs_file_is_one_line_naming_it(tmp_path, content, expected):
    from train_isomer_rates import read_pairs

    path = tmp_path / "pairs.tsv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=expected) as info:
        read_pairs(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_pairs_file_that_is_a_fifo_is_named_not_read(tmp_path):
    import os

    from train_isomer_rates import read_pairs

    os.mkfifo(tmp_path / "pairs.tsv")
    with pytest.raises(ValueError, match="a FIFO"):  # reading would block for ever
        read_pairs(tmp_path / "pairs.tsv")


@pytest.mark.parametrize("onto", ["rates", "add_to"])
def test_the_pairs_out_onto_the_rates_or_add_to_file_is_refused_before_any_work(tmp_path, onto):
    # stop 42: the pairs were written, then replaced by the rates (or an --add-to file replaced by
    # them and read back as JSON: a traceback after the search, the rates file lost)
    import subprocess

    rates = tmp_path / "rates.json"
    rates.write_bytes(Path(__file__).resolve().parents[2].joinpath("nps_id/match/isomer_rates.json").read_bytes())
    before = rates.read_bytes()
    library = tmp_path / "lib.h5"
    library.write_bytes(b"never read")
    out = ["-o", str(rates)] if onto == "rates" else ["-o", str(tmp_path / "new.json"), "--add-to", str(rates)]
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "train_isomer_rates.py"
    result = subprocess.run([sys.executable, str(script), str(library), *out, "--pairs-out", str(rates)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(rates) in result.stderr
    assert rates.read_bytes() == before


def test_an_unusable_add_to_file_is_refused_before_any_work(tmp_path):
    import subprocess

    library = tmp_path / "lib.h5"
    library.write_bytes(b"never read")
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "train_isomer_rates.py"
    result = subprocess.run([sys.executable, str(script), str(library), "-o", str(tmp_path / "new.json"),
                             "--add-to", str(tmp_path / "bad.json")], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--add-to is not a usable isomer rates file" in result.stderr
    assert not (tmp_path / "new.json").exists()


def test_the_bench_details_onto_its_pairs_file_is_refused_before_any_work(tmp_path):
    # --details was written at the end whatever it named: the pairs file (a trainer's run) or a library
    import subprocess

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("context\tmove\tcompound\tisomer\tscores\ndrug\tx\tA\tB\t5\n", encoding="utf-8")
    before = pairs.read_bytes()
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_novelty.py"
    result = subprocess.run([sys.executable, str(script), "--swgdrug", str(tmp_path / "s.h5"), "--massbank-ei",
                             str(tmp_path / "e.h5"), "--isomer-rates-loo", str(pairs), "--details", str(pairs),
                             "--task", "none"], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "is an input of this command" in result.stderr
    assert pairs.read_bytes() == before


def test_a_library_held_isomer_within_the_margin_is_excluded_when_its_kind_is_rarely_inseparable():
    # 1,4-dimethoxybenzene matching its own record at 892 and the library's 1,2-isomer at 797, within
    # the margin: EI holds it back whatever its kind's rate; MS/MS excludes it as it would an absent
    # isomer of its kind (stop 44: MassBank MS/MS present +2 right, no wrong one)
    hit, held = "COc1ccc(OC)cc1", "ABDKAPXRBAPSQN"  # 1,2-dimethoxybenzene
    name = {held: "1,2-dimethoxybenzene"}.get
    t = VerdictThresholds()

    def check(rate: float, held_min_rate: float):
        return check_isomers(hit, "other", 892, name, {held: 797}, min_rate=0.045, margin=100,
                             held_min_rate=held_min_rate, rates={"other": {"ring_position": flat(rate)}},
                             isomers=enumerate_isomers(hit))

    assert [n.name for n in check(0.02, t.isomer_held_min_rate).not_excluded] == ["1,2-dimethoxybenzene"]
    assert check(0.02, t.isomer_held_min_rate_ms2).excluded  # nor the absent 1,3-isomer, rate below 0.045
    assert [n.name for n in check(0.3, t.isomer_held_min_rate_ms2).not_excluded] == [None, "1,2-dimethoxybenzene"]
    assert check(0.3, t.isomer_held_min_rate_ms2).in_library[0].score == 797

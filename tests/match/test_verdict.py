"""Verdict rules: each criterion is recorded, and a hit is never called more than it is."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.match.verdict import FRAGMENTS_NOT_COMPARED, Evidence, VerdictThresholds, at_least, decide

GOOD = dict(kind="ei", score=945, mf=945, rmf=950, gap=135, isomer_alert=False, major_ions=(20, 21), n_ions=120)


def test_all_criteria_met_is_identified():
    v = decide(Evidence(**GOOD))
    assert v.verdict == "identified"
    assert v.criteria_failed == []
    assert any(c.startswith("mf >= 800") for c in v.criteria_met)
    # No retention index known: said so, not counted as met.
    assert any("RI" in c for c in v.criteria_not_evaluated)


@pytest.mark.parametrize(
    "change, rule",
    [
        ({"gap": 12}, "isomer ambiguity"),
        ({"isomer_alert": True}, "isomer ambiguity"),
        ({"same_hit_elsewhere": 2}, "isomer ambiguity"),
        ({"delta_ri": 55.0}, "retention index disagrees"),
        ({"mf": 760, "score": 760}, "weak match"),
        ({"n_ions": 4}, "weak match"),
        ({"major_ions": (10, 21)}, "weak match"),
    ],
)
def test_one_failed_criterion_gives_tentative(change, rule):
    v = decide(Evidence(**{**GOOD, **change}))
    assert v.verdict == "tentative"
    assert v.rule.startswith(rule)
    assert len(v.criteria_failed) >= 1


@pytest.mark.parametrize("change", [{"mf": np.float64(760), "score": np.int64(760)}, {"gap": np.int64(12)},
                                    {"isomer_alert": np.True_}, {"n_ions": np.int64(4)}])
def test_a_criterion_failed_by_a_numpy_value_is_failed_not_unevaluated(change):
    """A numpy number gives a numpy bool (np.False_), which the rules, reading ``ok is False``, took
    for "not evaluated": the criterion vanished and the hit could be `identified` (eiverdict40)."""
    v = decide(Evidence(**{**GOOD, **change}))
    assert v.verdict == "tentative" and v.criteria_failed, v


@pytest.mark.parametrize("change", [{"gap": 12}, {"isomer_alert": True}])
def test_a_library_isomer_within_the_gap_is_an_isomer_not_excluded_named(change):
    # the compounds the gap cannot exclude are all isomers of the hit: the issue's "isomer not
    # excluded", naming them, and saying the substance may be a new one
    v = decide(Evidence(**{**GOOD, **change, "close_isomers": ("Isobutyryl fentanyl",)}))
    assert v.verdict == "tentative" and v.rule_id == "isomer_not_excluded"
    assert "scoring within the gap: Isobutyryl fentanyl" in v.rule and "it may be a new substance" in v.rule
    assert "a reference standard run at the same RT excludes them" in v.rule
    assert v.criteria_failed  # the gap or alert stays a failed criterion


def test_a_close_isomer_does_not_hide_the_hit_at_other_retention_times():
    v = decide(Evidence(**{**GOOD, "gap": 12, "same_hit_elsewhere": 2, "close_isomers": ("Isobutyryl fentanyl",)}))
    assert v.rule.startswith("isomer ambiguity")


def test_ri_within_window_is_a_met_criterion():
    v = decide(Evidence(**{**GOOD, "delta_ri": -12.0}))
    assert v.verdict == "identified"
    assert any("dRI -12" in c for c in v.criteria_met)


def test_poor_match_is_inconclusive_unless_an_analogue_passes():
    poor = {**GOOD, "mf": 550, "rmf": 600, "score": 550}
    assert decide(Evidence(**poor)).verdict == "inconclusive"
    v = decide(Evidence(**poor, analogue_score=900, analogue_confidence=0.8))
    assert (v.verdict, v.rule.split(":")[0]) == ("tentative", "close analogue")
    assert f"analogue confidence >= {T.analogue_confidence:g} (predicted Tanimoto 0.80)" in v.criteria_met


def test_an_analogue_only_hit_names_no_identity_score():
    v = decide(Evidence(kind="ei", score=0, mf=0, rmf=0, gap=40, identity_hit=False,
                        analogue_score=900, analogue_confidence=0.8))
    assert "mf >= 800 (no identity hit, an analogue-mode one)" in v.criteria_failed
    assert not any("(mf 0)" in c or "(rmf 0)" in c for c in v.criteria_failed)
    ms2 = decide(Evidence(kind="ms2", score=0, gap=None, identity_hit=False))
    assert "score >= 800 (no identity hit, an analogue-mode one)" in ms2.criteria_failed


def test_an_ms2_analogue_hits_gap_is_not_compared_not_unscored():
    # the match passes an MS/MS analogue hit no gap; its criterion read "no other compound scored"
    # beside the runner-up the finding names (PestMix slice, 7.525 min: gap 10 to Pyrimidifen)
    ms2 = decide(Evidence(kind="ms2", score=0, gap=None, identity_hit=False, analogue_score=945,
                          analogue_confidence=0.8))
    assert f"gap to next different compound >= {T.min_gap_ms2} (not compared for an analogue-mode hit)" in \
        ms2.criteria_not_evaluated
    identity = decide(Evidence(kind="ms2", score=950, gap=None))
    assert f"gap to next different compound >= {T.min_gap_ms2} (no other compound scored)" in \
        identity.criteria_not_evaluated


def test_an_analogue_only_hit_says_why_it_fails_the_tentative_floor():
    # the report shows such a finding's analogue score (e.g. 882) in its Score column: a bare
    # "score >= 700 (tentative floor)" failed beside it read as a contradiction
    ms2 = decide(Evidence(kind="ms2", score=0, gap=None, identity_hit=False, analogue_score=945,
                          analogue_confidence=0.8))
    assert ms2.rule_id == "close_analogue"
    assert "score >= 700 (tentative floor; no identity hit, an analogue-mode one)" in ms2.criteria_failed
    ei = decide(Evidence(kind="ei", score=0, mf=0, rmf=0, gap=40, identity_hit=False))
    assert {"mf >= 700 (tentative floor; no identity hit, an analogue-mode one)",
            "rmf >= 700 (tentative floor; no identity hit, an analogue-mode one)"} <= set(ei.criteria_failed)
    weak = decide(Evidence(**{**GOOD, "mf": 650, "rmf": 720, "score": 650}))
    assert "mf >= 700 (tentative floor)" in weak.criteria_failed  # an identity hit: worded as before


@pytest.mark.parametrize("confidence", [None, 0.2])
def test_a_spectrally_close_analogue_without_confidence_is_not_a_close_analogue(confidence):
    poor = {**GOOD, "mf": 550, "rmf": 600, "score": 550}
    v = decide(Evidence(**poor, analogue_score=950, analogue_confidence=confidence))
    assert (v.verdict, v.rule) == ("inconclusive", "below the tentative floor")
    assert any(c.startswith("analogue similarity >= 850") for c in v.criteria_met)
    assert any(c.startswith(f"analogue confidence >= {T.analogue_confidence:g}") for c in v.criteria_failed)


def test_ms2_uses_the_score_and_not_mf():
    v = decide(Evidence(kind="ms2", score=850, gap=100))
    assert v.verdict == "identified"
    assert decide(Evidence(kind="ms2", score=720, gap=100)).verdict == "tentative"
    assert decide(Evidence(kind="ms2", score=500, gap=100)).verdict == "inconclusive"


def test_thresholds_are_configurable():
    strict = VerdictThresholds(identified_mf=950)
    assert decide(Evidence(**GOOD), strict).verdict == "tentative"
    assert strict.to_dict()["identified_mf"] == 950


def test_levels_order():
    assert at_least("identified", "tentative") and at_least("tentative", "tentative")
    assert not at_least("inconclusive", "tentative") and not at_least("tentative", "identified")


MS2 = dict(kind="ms2", score=950, gap=200, ms1_feature=True, precursor_ppm=5.0, matched_fragments=(2, 4))


def test_hrms_criteria_exactly_on_threshold_pass():
    v = decide(Evidence(**MS2))
    assert v.verdict == "identified"
    assert "|precursor mass error| <= 5 ppm (+5.0 ppm)" in v.criteria_met
    assert "reference fragments matched >= 2 (2 of 4)" in v.criteria_met
    # a reference of one major fragment, matched: its criterion is met, but one product ion is no
    # identification (SWGDRUG, ENFSI, EU 2021/808: >= 2; fluopicolide on the PestMix slice until stop 37)
    one = decide(Evidence(**{**MS2, "matched_fragments": (1, 1)}))
    assert "reference fragments matched >= 1 (1 of 1)" in one.criteria_met
    assert (one.verdict, one.rule_id) == ("tentative", "hrms_not_met")
    assert one.criteria_failed == ["product ions matched for an identification >= 2 (1: the reference has 1 major fragment)"]
    assert decide(Evidence(**{**MS2, "matched_fragments": (1, 1)}), VerdictThresholds(min_product_ions=1)).verdict == "identified"


def test_no_reference_fragment_is_no_criterion_met():
    # betaine's and L-histidine's references (the RAMS run) hold no major fragment besides the
    # precursor: ">= 0 (0 of 0)" was listed as met, a count of nothing; it is not evaluated
    v = decide(Evidence(**{**MS2, "matched_fragments": (0, 0)}))
    assert FRAGMENTS_NOT_COMPARED in v.criteria_not_evaluated
    assert not any("0 of 0" in c for c in v.criteria_met + v.criteria_failed)
    # nor is it an identification: no product ion matched (until stop 37 it was "identified")
    assert v.verdict == "tentative" and v.rule_id == "hrms_not_met"
    assert v.criteria_failed == ["product ions matched for an identification >= 2 (0: the reference has 0 major fragments)"]


@pytest.mark.parametrize("change", [{"precursor_ppm": -5.01}, {"matched_fragments": (1, 4)}, {"ms1_feature": False}])
def test_hrms_criterion_failed_gives_tentative(change):
    v = decide(Evidence(**{**MS2, **change}))
    assert (v.verdict, v.rule.split(":")[0]) == ("tentative", "HRMS criteria not met")


def test_hrms_criteria_not_evaluated_without_ms1():
    v = decide(Evidence(kind="ms2", score=950, gap=200))
    assert v.verdict == "identified" and not any("precursor" in c for c in v.criteria_met + v.criteria_failed)


# -- every threshold, exactly on it: a value equal to the threshold passes (docs/match.md says
# ">="/"<="), one step short does not. A ">=" turned ">" fails the first case of its row.
T = VerdictThresholds()
POOR = {**GOOD, "mf": 550, "rmf": 600, "score": 550}  # below every identity and tentative criterion


@pytest.mark.parametrize("threshold, on, short, passed, failed", [
    ("identified_mf", {"mf": T.identified_mf}, {"mf": T.identified_mf - 1}, "identified", "tentative"),
    ("identified_rmf", {"rmf": T.identified_rmf}, {"rmf": T.identified_rmf - 1}, "identified", "tentative"),
    ("min_gap", {"gap": T.min_gap}, {"gap": T.min_gap - 1}, "identified", "tentative"),
    ("min_ions", {"n_ions": T.min_ions}, {"n_ions": T.min_ions - 1}, "identified", "tentative"),
    # 16 of 20 major ions is exactly 80 %
    ("major_ion_fraction", {"major_ions": (16, 20)}, {"major_ions": (15, 20)}, "identified", "tentative"),
    ("ri_window", {"delta_ri": T.ri_window}, {"delta_ri": T.ri_window + 0.5}, "identified", "tentative"),
    ("ri_window", {"delta_ri": -T.ri_window}, {"delta_ri": -T.ri_window - 0.5}, "identified", "tentative"),
    ("tentative_mf", {**POOR, "mf": T.tentative_mf, "rmf": 750}, {**POOR, "mf": T.tentative_mf - 1, "rmf": 750},
     "tentative", "inconclusive"),
    ("tentative_rmf", {**POOR, "mf": 750, "rmf": T.tentative_rmf}, {**POOR, "mf": 750, "rmf": T.tentative_rmf - 1},
     "tentative", "inconclusive"),
    ("analogue_score", {**POOR, "analogue_score": T.analogue_score, "analogue_confidence": T.analogue_confidence},
     {**POOR, "analogue_score": T.analogue_score - 1, "analogue_confidence": T.analogue_confidence},
     "tentative", "inconclusive"),
    # the confidence is rounded to 3 decimals where it is made (what is printed is compared)
    ("analogue_confidence", {**POOR, "analogue_score": T.analogue_score, "analogue_confidence": T.analogue_confidence},
     {**POOR, "analogue_score": T.analogue_score, "analogue_confidence": round(T.analogue_confidence - 0.001, 3)},
     "tentative", "inconclusive"),
])
def test_ei_threshold_is_inclusive(threshold, on, short, passed, failed):
    assert decide(Evidence(**{**GOOD, **on})).verdict == passed, f"{threshold} exactly on the threshold"
    assert decide(Evidence(**{**GOOD, **short})).verdict == failed, f"{threshold} one step short"


@pytest.mark.parametrize("threshold, value, passed, failed", [
    ("identified_score", T.identified_score, "identified", "tentative"),
    ("tentative_score", T.tentative_score, "tentative", "inconclusive"),
])
def test_ms2_threshold_is_inclusive(threshold, value, passed, failed):
    assert decide(Evidence(kind="ms2", score=value, gap=100)).verdict == passed
    assert decide(Evidence(kind="ms2", score=value - 1, gap=100)).verdict == failed


def test_major_ion_level_is_inclusive():
    from nps_id.match.assess import major_ions_present

    ref_mz = np.array([50.0, 60.0, 70.0])
    level = T.major_ion_level
    ref_int = np.array([100.0, 100.0 * level, 100.0 * level - 0.01])  # m/z 60 exactly on the level
    # m/z 50 and 60 are major, 70 is not; the unknown holds 50 only
    assert major_ions_present(np.array([50.0]), ref_mz, ref_int, level, (1.0, 1000.0)) == (1, 2)


def test_ions_above_level_is_inclusive():
    from nps_id.match.molecular_mass import ions_above, ions_missing, nominal_spectrum

    level = T.ions_above_level
    # methane (16, isotope reach 2): m/z 19 and beyond lie above its molecular-ion cluster
    mz = np.array([15.0, 16.0, 30.0, 31.0])
    intensity = np.array([80.0, 100.0, 100.0 * level, 100.0 * level - 0.01])
    assert ions_above(nominal_spectrum(mz, intensity), "CH4", level) == [(30, level)]
    # the reverse: the candidate's ions above everything the unknown shows (its highest ion: 16)
    assert ions_missing(nominal_spectrum(mz[:2], intensity[:2]), nominal_spectrum(mz, intensity), "CH4",
                        level) == [(30, level)]


def test_major_ions_and_molecular_ion_bin_m_z_alike():
    # m/z 59.6 is nominal 59 for the search and the molecular-ion checks (floor(m/z + 0.3));
    # rounding called it 60, so a reference ion 59.6 was "missing" from an unknown holding 59.
    from nps_id.match.assess import major_ions_present

    assert major_ions_present(np.array([59.0]), np.array([59.6]), np.array([100.0]), 0.1, (1.0, 1000.0)) == (1, 1)


METHAMPHETAMINE = "CNC(C)Cc1ccccc1"


def _isomer_check(rate: float | None = None, score_below_top: int | None = None):
    """check_isomers of methamphetamine with the default thresholds: every enumerated isomer
    either absent with its kind's rate ``rate`` at every score, or held by the library and scored
    ``score_below_top`` lower than the hit (900)."""
    from nps_id.match.isomer_rule import SCORE_GRID, check_isomers

    held = score_below_top is not None
    rates = {"drug": {"default": (1.0 if rate is None else rate,) * len(SCORE_GRID)}}
    return check_isomers(METHAMPHETAMINE, "drug", 900, lambda block: "isomer" if held else None,
                         {} if not held else _every_isomer_scores(900 - score_below_top),
                         min_rate=T.isomer_min_rate, margin=T.isomer_margin, rates=rates)


def _every_isomer_scores(score: int) -> dict[str, int]:
    from nps_id.chem.isomers import enumerate_isomers

    return {isomer.inchikey[:14]: score for isomer in enumerate_isomers(METHAMPHETAMINE)}


def test_isomer_min_rate_is_inclusive():
    # an absent isomer whose kind is inseparable exactly at the rate is not excluded
    assert _isomer_check(rate=T.isomer_min_rate).absent
    assert not _isomer_check(rate=T.isomer_min_rate - 0.01).not_excluded


def test_an_absent_isomer_is_excluded_only_by_a_closer_match_than_its_kind_usually_reaches():
    # the shipped rates: SWGDRUG and MassBank EI pairs one acyl-chain methyl shift apart
    # (butyryl/isobutyryl fentanyl) reach MF 940 often enough, MF 970 never -- an unknown
    # matching its hit at 940 may be the absent isomer, one matching at 990 is not
    from nps_id.match.isomer_rule import check_isomers, load_rates, rate_at

    curve = load_rates()["drug"]["methyl_shift:acyl"]
    assert rate_at(curve, 940) >= T.isomer_min_rate > rate_at(curve, 990)
    assert rate_at(curve, 949) == rate_at(curve, 940)  # between two points: the lower one's rate

    def absent_moves(score):
        check = check_isomers("CCCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", "drug", score,
                              lambda block: None, {}, min_rate=T.isomer_min_rate, margin=T.isomer_margin)
        return {note.move for note in check.absent}

    assert "methyl_shift:acyl" in absent_moves(940)
    assert "methyl_shift:acyl" not in absent_moves(990)


def test_isomer_margin_is_inclusive():
    # a library isomer scored exactly the margin below the hit is excluded; one point closer is not
    assert not _isomer_check(score_below_top=T.isomer_margin).not_excluded
    assert _isomer_check(score_below_top=T.isomer_margin - 1).in_library


class _Masses:
    """LibraryFacts stand-in: every row's nominal mass is 200."""

    def mass(self, row: int) -> int:
        return 200


@pytest.mark.parametrize("verdict, rule, similarity, estimated, new", [
    # inconclusive: new unless the hit has the spectrum's mass and is close enough to be it measured elsewhere
    ("inconclusive", "below_tentative_floor", None, 200, False),
    ("inconclusive", "below_tentative_floor", -0.001, 200, True),
    ("inconclusive", "below_tentative_floor", None, 214, True),
    ("inconclusive", "below_tentative_floor", None, None, True),
    ("inconclusive", "molecular_ion_inconsistent", -0.001, 200, True),
    # a weak match is the hit's relative when their masses differ, or agree at a low similarity
    ("tentative", "weak_match", 0.0, 200, False),
    ("tentative", "weak_match", -0.001, 200, True),
    ("tentative", "weak_match", 0.0, 214, True),
    ("tentative", "weak_match", 0.0, None, False),
    ("tentative", "close_analogue", 0.0, 200, True),
    ("tentative", "ri_disagrees", 0.0, 214, False),
])
def test_a_spectrum_no_library_compound_explains_is_a_new_substance(verdict, rule, similarity, estimated, new):
    from nps_id.match.assess import SAME_MASS_SIMILARITY, WEAK_SAME_MASS_SIMILARITY, unexplained
    from nps_id.match.ranked_hit import RankedHit
    from nps_id.match.verdict import RuleId, Verdict

    for kind in ("ei", "ms2"):
        base = WEAK_SAME_MASS_SIMILARITY if rule == "weak_match" else SAME_MASS_SIMILARITY[kind]
        top = RankedHit(0, 500, similarity=base + (similarity or 0.0))
        assert unexplained(Verdict(verdict, "...", rule_id=RuleId(rule)), top, _Masses(), estimated, kind) is new


def test_diagnostic_ions_need_every_ion_at_the_level():
    from nps_id.chem.diagnostic_ions import ION_SETS, group_from_ions

    fentanyl = ION_SETS[0]
    held = {m: fentanyl.min_relative for m in fentanyl.ions} | {245: 1.0}
    assert group_from_ions(held).group == "Fentanyl analogues"
    assert group_from_ions(held | {96: fentanyl.min_relative - 1e-6}) is None


def test_a_standard_excludes_isomers_whatever_rule_decided():
    from nps_id.match.verdict import RuleId, Verdict, with_isomers_excluded

    held = Verdict("tentative", "isomer not excluded: the substance is the hit or an isomer", ["mf >= 800"],
                   ["isomers excluded (not possible: the hit has no verified structure to enumerate them)"],
                   rule_id=RuleId.ISOMER_NOT_EXCLUDED)
    after = with_isomers_excluded(held, "isomers excluded by a reference standard at the same RT")
    assert after.verdict == "identified" and not after.criteria_failed
    assert "isomers excluded by a reference standard at the same RT" in after.criteria_met
    # another rule keeps its level and text: the standard settles the isomers, not the weak match (newuser49)
    weak = Verdict("tentative", "weak match: below the identity criteria", [], ["gap to next different compound >= 75",
                   "isomers not excluded: 1 ..."], rule_id=RuleId.WEAK_MATCH, held_by=["isomer"])
    after = with_isomers_excluded(weak, "standard")
    assert (after.verdict, after.rule_id, after.rule) == (weak.verdict, weak.rule_id, weak.rule)
    assert after.criteria_failed == ["gap to next different compound >= 75"] and after.criteria_met == ["standard"]
    assert after.held_by == []
    # a GC injector relative elutes as the hit does: nothing changes
    assert with_isomers_excluded(weak, "standard", thermal=True) is weak


def test_ms2_precursor_must_be_an_ion_of_the_candidate():
    # MassBank holds spermine (M 202) at precursor m/z 146 (an in-source fragment): spermidine's
    # [M+H]+ 146 matched that record and was called spermine.
    passes = decide(Evidence(kind="ms2", score=950, gap=100, precursor_ion=(146.165, "[M+H]+")))
    assert passes.verdict == "identified"
    fails = decide(Evidence(kind="ms2", score=950, gap=100, precursor_ion=(146.165, None)))
    assert fails.verdict == "inconclusive" and fails.rule.startswith("molecular ion inconsistent")
    assert any(c.startswith("precursor m/z 146.165 is an ion of the candidate") for c in fails.criteria_failed)


def test_a_stated_whole_molecule_ion_is_not_met_by_an_in_source_fragment_of_the_candidate():
    # MassBank queries: suberate [M-H]- 173.0 (M 174); isocitrate (M 192.027) gives 173.01 only as
    # its in-source [M-H-H2O]-. Daidzin's record states [M-H]- at 461.1144, its formate adduct's
    # m/z: a slip between two ions of the whole molecule, which still names daidzin (M 416.111)
    from nps_id.match.assess import ion_type, stated_ion

    assert ion_type(173.0, "negative", 192.027) == "[M-H-H2O]-"  # a run's scan states no type
    assert ion_type(173.0, "negative", 192.027, "[M-H]-") is None
    assert ion_type(173.0, "negative", 174.089, "[M-H]-") == "[M-H]-"
    assert ion_type(461.1144, "negative", 416.11073, "[M-H]-") == "[M+HCOO]-"
    assert ion_type(173.0, "negative", 192.027, "[M-H-H2O]-") == "[M-H-H2O]-"  # a stated fragment is one
    assert stated_ion("[M-H] -") == "[M-H]-" and stated_ion("[M+CH3COO]-") is None and stated_ion(None) is None
    fails = decide(Evidence(kind="ms2", score=950, gap=100, precursor_ion=(173.0, None), stated_ion="[M-H]-"))
    assert fails.verdict == "inconclusive" and fails.rule.startswith("molecular ion inconsistent")


def test_precursor_ion_type_window_is_inclusive():
    from nps_id.lcms.features import PROTON
    from nps_id.match.assess import PRECURSOR_ION_DA, ion_type

    spermine = 202.2157
    assert ion_type(spermine + PROTON, "positive", spermine) == "[M+H]+"
    assert ion_type(spermine + 22.989218 + PRECURSOR_ION_DA, "positive", spermine) == "[M+Na]+"
    assert ion_type(146.165, "positive", spermine) is None
    assert ion_type(spermine + PROTON, "negative", spermine) is None  # [M+H]+ is no negative ion


def test_ms2_hits_read_ms2_rates_when_the_file_has_them():
    from nps_id.match.isomer_rule import rates_context

    rates = {"drug": {"default": 0.6}, "other": {"default": 0.3}, "other-ms2": {"default": 0.6}}
    assert rates_context("other", "ms2", rates) == "other-ms2"
    assert rates_context("drug", "ms2", rates) == "drug"  # none learned: the EI rates
    assert rates_context("other", "ei", rates) == "other"


def test_a_weak_molecular_ion_confirmed_by_the_estimate_excludes_a_lighter_candidate():
    from nps_id.match.molecular_mass import confirmed_ion_above, ions_above

    # 1-phenyl-2-propanol (M 136): tropylium 91, McLafferty 92, M-18 118, M+ 136 at 3 %
    relative = {91: 1.0, 92: 0.9, 117: 0.03, 118: 0.04, 136: 0.03}
    assert not ions_above(relative, "C7H8", T.ions_above_level)  # toluene (92): nothing >= 5 % above 94
    assert confirmed_ion_above(relative, 136, "C7H8") == [(136, 0.03)]
    assert confirmed_ion_above(relative, 92, "C7H8") == []  # the estimate does not confirm m/z 136
    assert confirmed_ion_above(relative, 136, "C9H12O") == []  # its own formula


def test_a_spectrum_without_library_hits_is_new_unless_it_has_no_peaks():
    from nps_id.match.assess import assess

    peaks = assess(np.array([91.0, 134.0]), np.array([100.0, 20.0]), "ei", [], None, gap=None, isomer_alert=False)
    assert peaks.new_substance and peaks.verdict.verdict == "inconclusive"
    assert not assess(np.array([]), np.array([]), "ei", [], None, gap=None, isomer_alert=False).new_substance


def test_isomer_not_excluded_says_what_excludes_the_isomers():
    # an analyst reading only the rule must learn the next step, not just the doubt
    v = decide(Evidence(**GOOD, isomers=_isomer_check(rate=1.0)))
    assert v.rule.startswith("isomer not excluded")
    assert "a reference standard run at the same RT" in v.rule and "retention index" in v.rule


def test_close_analogue_says_the_substance_is_not_the_hit():
    poor = {**GOOD, "mf": 550, "rmf": 600, "score": 550}
    v = decide(Evidence(**poor, analogue_score=900, analogue_confidence=0.8))
    assert v.rule.startswith("close analogue")
    assert "not the hit" in v.rule and "not in the library" in v.rule


def test_an_lc_ms_isomer_rule_offers_no_retention_index():
    # LC runs have no retention index: only a reference standard can exclude the isomers
    v = decide(Evidence(kind="ms2", score=900, gap=100, isomers=_isomer_check(rate=1.0)))
    assert v.rule.startswith("isomer not excluded")
    assert "a reference standard run at the same RT" in v.rule and "retention index" not in v.rule


POOR = {**GOOD, "mf": 550, "rmf": 600, "score": 550}


@pytest.mark.parametrize("evidence, rule_id, text", [
    (GOOD, "identity", "identity"),
    ({**GOOD, "ions_above": ((300, 0.2),)}, "molecular_ion_inconsistent", "molecular ion inconsistent"),
    ({**GOOD, "isomers": "rate 1"}, "isomer_not_excluded", "isomer not excluded"),
    ({**GOOD, "gap": 12}, "isomer_ambiguity", "isomer ambiguity"),
    ({**MS2, "ms1_feature": False}, "hrms_not_met", "HRMS criteria not met"),
    ({**GOOD, "delta_ri": 55.0}, "ri_disagrees", "retention index disagrees"),
    ({**GOOD, "mf": 760}, "weak_match", "weak match"),
    ({**POOR, "analogue_score": 900, "analogue_confidence": 0.8}, "close_analogue", "close analogue"),
    (POOR, "below_tentative_floor", "below the tentative floor"),
])
def test_every_rule_carries_a_stable_id_beside_its_text(evidence, rule_id, text):
    from nps_id.match.verdict import RuleId

    if evidence.get("isomers") == "rate 1":
        evidence = {**evidence, "isomers": _isomer_check(rate=1.0)}
    v = decide(Evidence(**evidence))
    assert v.rule_id is RuleId(rule_id) and v.rule.startswith(text)


def test_a_weak_match_with_the_formula_confirmed_by_exact_mass_is_not_a_new_substance():
    # LC-HRMS: the precursor's exact mass gives the hit's formula; a weak MS/MS match (another
    # collision energy or instrument) is the compound or its isomer, which the rule names
    from nps_id.match.assess import WEAK_SAME_MASS_SIMILARITY, unexplained
    from nps_id.match.ranked_hit import RankedHit
    from nps_id.match.verdict import RuleId, Verdict

    weak = Verdict("tentative", "weak match", rule_id=RuleId.WEAK_MATCH)
    top = RankedHit(0, 715, similarity=WEAK_SAME_MASS_SIMILARITY - 0.04)
    assert unexplained(weak, top, _Masses(), 200, "ms2")
    assert not unexplained(weak, top, _Masses(), 200, "ms2", formula_confirmed=True)
    assert unexplained(weak, top, _Masses(), 214, "ms2", formula_confirmed=True)  # another mass: a relative


def test_a_same_mass_hit_of_a_formula_the_precursor_excludes_is_not_the_compound_measured_elsewhere():
    # an inconclusive MS/MS hit of the spectrum's nominal mass at a high similarity may be the
    # compound on another instrument -- not when the accurate precursor excludes its formula
    from nps_id.match.assess import SAME_MASS_SIMILARITY, unexplained
    from nps_id.match.ranked_hit import RankedHit
    from nps_id.match.verdict import PRECURSOR_FORMULA_RULE, RuleId, Verdict

    held = Verdict("inconclusive", PRECURSOR_FORMULA_RULE, rule_id=RuleId.MOLECULAR_ION_INCONSISTENT)
    top = RankedHit(0, 700, similarity=SAME_MASS_SIMILARITY["ms2"] + 0.1)
    assert not unexplained(held, top, _Masses(), 200, "ms2")
    assert unexplained(held, top, _Masses(), 200, "ms2", isobar=True)


def test_the_precursor_formula_criterion_is_widened_by_the_precursors_recorded_precision():
    from nps_id.match.verdict import Evidence, RuleId

    def held(error, precision):
        return decide(Evidence(kind="ms2", score=950, mf=None, rmf=None, gap=200, precursor_formula=(error, precision)))

    assert held(19.0, 0.0).rule_id is RuleId.IDENTITY
    assert held(-25.0, 3.8).rule_id is RuleId.MOLECULAR_ION_INCONSISTENT
    assert held(-23.0, 3.8).rule_id is RuleId.IDENTITY  # within 20 ppm + 3.8 ppm (0.0005 Da at m/z 130)
    assert "(-25.0 ppm)" in held(-25.0, 3.8).criteria_failed[-1]


def test_rules_are_recognised_by_their_id_not_their_wording():
    # code that acts on a rule must not break when the rule's text is reworded
    from nps_id.match.assess import SAME_MASS_SIMILARITY, unexplained
    from nps_id.match.ranked_hit import RankedHit
    from nps_id.match.verdict import RuleId, Verdict, names_the_compound, with_isomers_excluded

    top = RankedHit(0, 500, similarity=SAME_MASS_SIMILARITY["ei"])
    weak = Verdict("tentative", "reworded: a match below identity", rule_id=RuleId.WEAK_MATCH)
    assert unexplained(weak, top, _Masses(), 214, "ei")
    close = Verdict("tentative", "reworded: a structural relative", rule_id=RuleId.CLOSE_ANALOGUE)
    assert unexplained(close, top, _Masses(), 200, "ei")
    held = Verdict("tentative", "reworded: the hit or an isomer", rule_id=RuleId.ISOMER_NOT_EXCLUDED)
    assert names_the_compound(held) and not names_the_compound(weak)
    after = with_isomers_excluded(held, "isomers excluded by a reference standard at the same RT")
    assert after.verdict == "identified" and after.rule_id is RuleId.IDENTITY
    # the text alone no longer counts: a weak match worded like the isomer rule is still a weak match
    lookalike = Verdict("tentative", "isomer not excluded (but a weak match)", rule_id=RuleId.WEAK_MATCH)
    assert not names_the_compound(lookalike) and with_isomers_excluded(lookalike, "standard") is lookalike


@pytest.mark.parametrize("delta, query_mass, close", [
    (-14.0, 330.0, True),  # a CH2 homologue
    (-170.0, 174.0, False),  # heptylhydrazine (as the search estimated its mass: 174) vs ADB-PINACA (344)
    (-100.0, 150.0, True),  # exactly 40 % of the heavier molecule (the hit, 250): the bound is inclusive
    (101.0, 251.0, False),  # the unknown the heavier one: a share of its mass
    (None, 174.0, True),  # mass difference unknown: not evaluated, the other criteria decide
])
def test_a_close_analogue_differs_by_a_substituent_not_by_half_the_molecule(delta, query_mass, close):
    v = decide(Evidence(**POOR, analogue_score=856, analogue_confidence=0.49, analogue_delta_mass=delta,
                        analogue_query_mass=query_mass))
    assert (v.verdict, v.rule_id) == (("tentative", "close_analogue") if close else
                                      ("inconclusive", "below_tentative_floor"))
    where = v.criteria_not_evaluated if delta is None else v.criteria_met if close else v.criteria_failed
    assert any(c.startswith(f"analogue mass difference <= {T.analogue_mass_share:.0%} of the heavier molecule")
               for c in where)


@pytest.mark.parametrize("change", [{}, {"gap": 12}, {"delta_ri": 55.0}, {"delta_ri": 10.0}, {"mf": 650},
                                    {"ions_above": ((300, 0.2),)}, {"kind": "ms2", "mf": None, "rmf": None}])
@pytest.mark.parametrize("isomers", [dict(rate=1.0), dict(rate=0.0), dict(score_below_top=300)])
def test_the_search_verdict_checks_isomers_only_when_they_can_change_it(change, isomers):
    # `nps-id search` enumerates a hit's isomers (RDKit) only for a verdict they can change, and
    # then decides as `match` does with them.
    from dataclasses import replace

    from nps_id.match.verdict import decide_level

    evidence = Evidence(**{**GOOD, **change})
    check = _isomer_check(**isomers)
    asked = []
    verdict, found = decide_level(evidence, lambda: asked.append(1) or check)
    full = decide(replace(evidence, isomers=check))
    assert (verdict.verdict, verdict.rule, verdict.rule_id) == (full.verdict, full.rule, full.rule_id)
    others_pass = decide(evidence).verdict == "identified"
    assert (found is check) == others_pass == bool(asked)
    if others_pass:
        assert verdict == full


def test_the_isomer_rule_text_says_a_ring_chain_ch2_move_in_chemists_words():
    # attack46c: since stop 46 MS/MS hits hold ring-chain CH2 isomers far more often, and the rule text
    # printed the kind as "ring chain ch2"
    from nps_id.match.isomer_rule import IsomerCheck, IsomerNote
    from nps_id.match.verdict import isomer_phrase

    check = IsomerCheck(evaluated=True, not_excluded=(
        IsomerNote("CCc1ccccc1", "YNQLUTRBYVCPMQ-UHFFFAOYSA-N", "ring_chain_ch2", 0.2),
        IsomerNote("Cc1ccccc1C", "CTQNGGLPUBDAKN-UHFFFAOYSA-N", "ring_position:C", 0.1)))
    phrase = isomer_phrase(check)
    assert "2 not in the library (ring position, ring-chain CH2)" in phrase and "ch2" not in phrase

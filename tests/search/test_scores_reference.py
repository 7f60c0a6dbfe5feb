"""Every score that matchms or ms_entropy also computes gives their numbers (to 1e-6) on real
MassBank spectra; plus the behaviour of each score class (limits, symmetry, pair == matrix).

The pair lists were chosen once from ms2-queries-identity.msp.gz (record indices, 0-based):
pairs of the same ion mode whose cosine / modified cosine / entropy similarity is above 0.3, so
that the comparisons exercise real peak matching; each test also checks that the *reference*
implementation scores them high, so a bad selection cannot make a test pass trivially.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from nps_id.errors import InputError
from nps_id.io import read
from nps_id.search.preprocess import clean_ms2
from nps_id.search.scores import (
    CompositeMatchFactor, Cosine, DotProduct, EntropySimilarity, HybridEntropy, ModifiedCosine,
    ReverseMatchFactor,
)
from nps_id.search.scores.base import search_peaks
from nps_id.spectrum import Spectrum, to_matchms
from tests.conftest import data_path

COSINE_PAIRS = [
    (1, 68), (1, 463), (1, 797), (5, 1089), (11, 354), (11, 1097), (13, 119), (22, 761), (37, 1058),
    (45, 663), (52, 329), (71, 772), (110, 354), (110, 463), (177, 663), (182, 923), (194, 511),
    (212, 796), (215, 1125), (280, 1080), (286, 998), (302, 1130), (319, 631), (327, 913),
    (368, 545), (377, 1214), (392, 753), (399, 1228), (413, 670), (433, 934), (435, 714),
    (439, 941), (443, 1007), (475, 1049), (497, 836), (509, 763), (509, 1013), (517, 523),
    (539, 646), (545, 931), (552, 1165), (562, 933), (574, 1165), (617, 672), (624, 707),
    (662, 719), (669, 912), (718, 1211), (725, 852), (725, 913), (774, 887), (782, 1056),
    (790, 970), (797, 1168), (846, 1051), (893, 997), (974, 1218), (980, 1123), (1097, 1123),
    (1168, 1180),
]
# Different precursors, and the modified cosine is well above the plain cosine.
SHIFTED_PAIRS = [
    (9, 853), (23, 485), (23, 978), (24, 257), (42, 1107), (48, 640), (59, 1025), (64, 1190),
    (76, 788), (100, 1008), (104, 861), (106, 470), (106, 859), (121, 968), (169, 245),
    (177, 1152), (213, 848), (223, 711), (238, 847), (241, 650), (241, 1072), (244, 1025),
    (247, 261), (248, 620), (252, 870), (260, 915), (265, 546), (280, 1110), (284, 626),
    (287, 684), (302, 1061), (342, 455), (350, 1066), (371, 1047), (382, 1144), (383, 905),
    (394, 870), (401, 1110), (442, 1154), (502, 1061), (534, 1081), (592, 762), (594, 1133),
    (594, 1145), (599, 847), (625, 1097), (684, 1008), (788, 1004), (806, 981), (814, 865),
    (865, 942), (870, 1066), (889, 1004), (905, 1201), (909, 1006), (909, 1185), (935, 1115),
    (952, 1178), (1122, 1145), (1132, 1174),
]
ENTROPY_PAIRS = [
    (11, 852), (25, 513), (25, 913), (36, 613), (38, 1025), (52, 1114), (83, 809), (84, 655),
    (106, 523), (107, 982), (162, 631), (164, 194), (167, 756), (168, 315), (174, 624), (182, 276),
    (205, 412), (216, 270), (243, 838), (244, 489), (279, 1097), (316, 1093), (335, 1080),
    (345, 554), (354, 400), (354, 856), (377, 699), (377, 797), (400, 843), (460, 698), (460, 836),
    (460, 1126), (463, 631), (474, 625), (492, 1123), (493, 505), (511, 1128), (513, 1123),
    (539, 631), (539, 1064), (618, 1157), (655, 760), (664, 689), (688, 975), (719, 725),
    (719, 852), (725, 1012), (742, 906), (748, 758), (754, 756), (761, 1169), (790, 944),
    (794, 933), (799, 1180), (831, 890), (872, 1188), (945, 1123), (946, 1142), (979, 1075),
    (982, 1158),
]


@pytest.fixture(scope="module")
def ms2() -> list[Spectrum]:
    spectra = list(read(data_path("massbank", "ms2-queries-identity.msp.gz")))
    assert len(spectra) == 1235  # grep -c '^Name:' on the file
    return spectra


@pytest.fixture(scope="module")
def matchms_ms2(ms2):
    return [to_matchms(s) for s in ms2]


def _peaks(s: Spectrum) -> np.ndarray:
    return np.c_[s.mz, s.intensity].astype(np.float32)


# -- matchms ---------------------------------------------------------------------------------

@pytest.mark.parametrize("pairing, powers", [
    ("greedy", (0.0, 1.0)), ("hungarian", (0.0, 1.0)), ("greedy", (1.0, 0.5)),
])
def test_cosine_equals_matchms(ms2, matchms_ms2, pairing, powers):
    from matchms.similarity import CosineGreedy, CosineHungarian

    mz_power, intensity_power = powers
    reference = (CosineGreedy if pairing == "greedy" else CosineHungarian)(
        tolerance=0.02, mz_power=mz_power, intensity_power=intensity_power)
    ours = Cosine(tolerance="0.02 Da", mz_power=mz_power, intensity_power=intensity_power, pairing=pairing,
                  clean=False)
    expected = []
    for i, j in COSINE_PAIRS:
        ref = reference.pair(matchms_ms2[i], matchms_ms2[j])
        result = ours.pair(ms2[i], ms2[j])
        assert result.score == pytest.approx(float(ref["score"]), abs=1e-6), (i, j)
        assert result.matched_peaks == int(ref["matches"]), (i, j)
        expected.append(float(ref["score"]))
    if powers == (0.0, 1.0):
        assert min(expected) > 0.3


@pytest.mark.parametrize("pairing", ["greedy", "hungarian"])
def test_modified_cosine_equals_matchms(ms2, matchms_ms2, pairing):
    from matchms.similarity import ModifiedCosineGreedy, ModifiedCosineHungarian

    reference = (ModifiedCosineGreedy if pairing == "greedy" else ModifiedCosineHungarian)(tolerance=0.02)
    # matchms' defaults: peaks as given, intensity power 1.
    ours = ModifiedCosine(tolerance="0.02 Da", intensity_power=1.0, pairing=pairing, clean=False)
    plain = Cosine(tolerance="0.02 Da", intensity_power=1.0, pairing=pairing, clean=False)
    gains = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # matchms logs about precursor types
        for i, j in SHIFTED_PAIRS:
            ref = reference.pair(matchms_ms2[i], matchms_ms2[j])
            result = ours.pair(ms2[i], ms2[j])
            assert result.score == pytest.approx(float(ref["score"]), abs=1e-6), (i, j)
            assert result.matched_peaks == int(ref["matches"]), (i, j)
            gains.append(float(ref["score"]) - plain.pair(ms2[i], ms2[j]).score)
    assert min(gains) > 0.04  # the shifted matches matter on every pair


def test_composite_dot_is_squared_matchms_cosine_on_ei():
    """F_D of the composite is the squared weighted cosine of matchms on nominal spectra."""
    from matchms.similarity import CosineGreedy

    path = data_path("massbank", "ei-queries-identity.msp.gz")
    # As the search prepares EI (nominal mass, 1 % noise floor), which the composite applies itself.
    spectra = [s.replace(mz=mz, intensity=inten)
               for s in itertools.islice(read(path), 61) for mz, inten in [search_peaks(s, "ei")]]
    reference = CosineGreedy(tolerance=0.3, mz_power=3.0, intensity_power=0.6)
    composite = CompositeMatchFactor(mz_power=3.0, intensity_power=0.6)
    dots = []
    for a, b in zip(spectra, spectra[1:]):
        ref = float(reference.pair(to_matchms(a), to_matchms(b))["score"])
        result = composite.pair(a, b)
        assert result.parts["dot"] == pytest.approx(ref**2, abs=1e-6)
        assert result.matched_peaks == int(reference.pair(to_matchms(a), to_matchms(b))["matches"])
        dots.append(ref)
    assert len(dots) == 60 and np.mean(dots) > 0.05


# -- ms_entropy ------------------------------------------------------------------------------

def test_clean_ms2_bit_identical_to_ms_entropy(ms2):
    import ms_entropy

    for s in ms2:
        for distance in (0.05, 0.04):
            ref = ms_entropy.clean_spectrum(_peaks(s), min_ms2_difference_in_da=distance, noise_threshold=0.01)
            ours = clean_ms2(s, min_distance=f"{distance} Da")
            assert np.array_equal(ref[:, 0].astype(np.float64), ours.mz)
            assert np.array_equal(ref[:, 1], ours.intensity)


@pytest.mark.parametrize("weighted", [True, False])
def test_entropy_equals_ms_entropy(ms2, weighted):
    import ms_entropy

    reference = (ms_entropy.calculate_entropy_similarity if weighted
                 else ms_entropy.calculate_unweighted_entropy_similarity)
    ours = EntropySimilarity(tolerance="0.02 Da", weighted=weighted, precursor_removal_da=None)
    scores = []
    for i, j in ENTROPY_PAIRS + SHIFTED_PAIRS:
        ref = float(reference(_peaks(ms2[i]), _peaks(ms2[j]), ms2_tolerance_in_da=0.02))
        assert ours.pair(ms2[i], ms2[j]).score == pytest.approx(ref, abs=1e-6), (i, j)
        scores.append(ref)
    assert sum(x > 0.2 for x in scores) >= 50


def test_flash_open_and_hybrid_search_equal_pairwise_scores(ms2):
    """FlashEntropySearch (identity/open and hybrid) over a small library vs our pair scores."""
    from ms_entropy import FlashEntropySearch

    pairs = [(i, j) for i, j in ENTROPY_PAIRS + SHIFTED_PAIRS
             if ms2[i].precursor_mz and ms2[j].precursor_mz]
    flash = FlashEntropySearch()
    library = flash.build_index([
        {"precursor_mz": ms2[j].precursor_mz, "peaks": _peaks(ms2[j]), "record": j}
        for j in sorted({j for _, j in pairs})
    ])
    position = {entry["record"]: k for k, entry in enumerate(library)}
    settings = dict(tolerance="0.02 Da", precursor_removal_da=1.6, min_peak_distance="0.05 Da")
    hybrid, open_ = HybridEntropy(**settings), EntropySimilarity(**settings)
    compared, high = 0, 0
    for i, j in pairs:
        query = flash.clean_spectrum_for_search(ms2[i].precursor_mz, _peaks(ms2[i]))
        if j not in position or len(query) == 0:  # emptied by cleaning: Flash cannot search it
            continue
        ref_h = float(flash.hybrid_search(precursor_mz=ms2[i].precursor_mz, peaks=query,
                                          ms2_tolerance_in_da=0.02)[position[j]])
        ref_o = float(flash.open_search(peaks=query, ms2_tolerance_in_da=0.02)[position[j]])
        assert hybrid.pair(ms2[i], ms2[j]).score == pytest.approx(ref_h, abs=1e-6), (i, j)
        assert open_.pair(ms2[i], ms2[j]).score == pytest.approx(ref_o, abs=1e-6), (i, j)
        compared += 1
        high += ref_h > 0.3
    assert compared >= 100 and high >= 50


# -- behaviour of the classes ------------------------------------------------------------------

def _toy() -> tuple[Spectrum, Spectrum, Spectrum]:
    a = Spectrum([50.0, 80.0, 120.0, 150.0], [0.2, 1.0, 0.5, 0.3],
                 {"ms_level": 2, "precursor_mz": 200.0, "exact_mass": 199.0})
    shifted = Spectrum([50.0, 80.0, 134.0, 164.0], [0.2, 1.0, 0.5, 0.3],
                       {"ms_level": 2, "precursor_mz": 214.0, "exact_mass": 213.0})
    other = Spectrum([61.0, 91.0], [1.0, 1.0], {"ms_level": 2, "precursor_mz": 300.0, "exact_mass": 299.0})
    return a, shifted, other


SCORES = [
    Cosine(), Cosine(pairing="hungarian"), Cosine(tolerance="10 ppm", mz_power=1.0),
    ModifiedCosine(), ModifiedCosine(mass_key="exact_mass", pairing="hungarian"),
    EntropySimilarity(), EntropySimilarity(weighted=False), HybridEntropy(),
    CompositeMatchFactor(), ReverseMatchFactor(), DotProduct(),
]


@pytest.mark.parametrize("score", SCORES, ids=lambda s: f"{s.name}")
def test_identical_disjoint_pair_matrix_and_settings(score):
    a, shifted, other = _toy()
    assert score.pair(a, a).score == pytest.approx(1.0, abs=1e-6)
    assert score.pair(a, other).score == 0.0
    matrix = score.matrix([a, shifted], [a, shifted, other])
    assert matrix.shape == (2, 3)
    for i, q in enumerate([a, shifted]):
        for j, r in enumerate([a, shifted, other]):
            assert matrix[i, j] == score.pair(q, r).score
    settings = score.to_dict()
    assert settings["name"] == score.name and len(settings) >= 3


@pytest.mark.parametrize("score", [Cosine(pairing="hungarian"), EntropySimilarity(), ModifiedCosine()],
                         ids=lambda s: s.name)
def test_symmetric_scores(score):
    a, shifted, _ = _toy()
    assert score.pair(a, shifted).score == pytest.approx(score.pair(shifted, a).score, abs=1e-12)


def test_shift_aware_scores_find_the_modification():
    a, shifted, _ = _toy()
    assert Cosine().pair(a, shifted).score < 0.85
    assert ModifiedCosine().pair(a, shifted).score == pytest.approx(1.0)
    assert HybridEntropy().pair(a, shifted).score == pytest.approx(1.0, abs=1e-6)
    assert EntropySimilarity().pair(a, shifted).score < 0.9
    assert ModifiedCosine(mass_key="exact_mass").pair(a, shifted).parts["mass_shift"] == pytest.approx(-14.0)


def test_hybrid_equals_entropy_when_precursors_are_equal(ms2):
    for i, j in ENTROPY_PAIRS[:20]:
        a, b = ms2[i], ms2[j].replace(precursor_mz=ms2[i].precursor_mz)
        if a.precursor_mz is None:
            continue
        assert HybridEntropy().pair(a, b).score == pytest.approx(EntropySimilarity().pair(a, b).score, abs=1e-12)


def test_ppm_tolerance_scales_with_mz():
    a = Spectrum([100.0, 500.0], [1.0, 1.0])
    near = Spectrum([100.0009, 500.004], [1.0, 1.0])  # 9 ppm and 8 ppm away
    far = Spectrum([100.0011, 500.006], [1.0, 1.0])  # 11 ppm and 12 ppm away
    ppm = Cosine(tolerance="10 ppm", clean=False)
    assert ppm.pair(a, near).matched_peaks == 2
    assert ppm.pair(a, far).matched_peaks == 0
    assert Cosine(tolerance="0.005 Da", clean=False).pair(a, far).matched_peaks == 1  # only 100.0011


def test_missing_precursor_is_an_input_error():
    a, _, _ = _toy()
    bare = Spectrum([50.0], [1.0], {"name": "no precursor"})
    with pytest.raises(InputError, match="no precursor.*precursor_mz"):
        ModifiedCosine(mass_key="precursor_mz").pair(a, bare)
    with pytest.raises(InputError, match="exact_mass"):
        HybridEntropy(mass_key="exact_mass").pair(bare, a)

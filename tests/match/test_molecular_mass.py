"""The EI molecular-mass estimate (:func:`nps_id.match.molecular_mass.estimate_mass`) on small
spectra whose chemistry is spelled out; real SWGDRUG compounds: test_new_substances.py."""
from __future__ import annotations

import pytest

from nps_id.match.molecular_mass import Neighbour, confirmed_ion_above, estimate_mass, molecular_ion


def test_a_faint_ion_a_methyl_above_the_highest_ion_is_the_molecular_ion():
    # amphetamine-like: M+ 191 at 0.2 %, M-15 at 5 %
    assert estimate_mass({44: 1.0, 91: 0.3, 176: 0.05, 191: 0.002}, []) == 191


def test_a_faint_ion_five_units_above_a_stronger_one_is_no_molecular_ion():
    # M-5 is no loss a molecular ion shows: 181 is background, the highest ion stands
    assert estimate_mass({44: 1.0, 91: 0.3, 176: 0.05, 181: 0.002}, []) == 176


def test_an_odd_highest_ion_in_a_family_of_even_mass_is_a_fragment():
    # The hits (even mass: no or two nitrogens) show M+ 134 and lose CH3, C2H5, C3H7; the unknown
    # shows the same losses without its M+: its highest ion 119 is M-15, not M.
    hit = {91: 1.0, 105: 0.3, 119: 0.2, 134: 0.1}
    hits = [Neighbour(134, 134, hit, 0.9, "C10H14"), Neighbour(148, 148, {91: 1.0, 119: 0.3, 133: 0.2, 148: 0.1},
                                                               0.7, "C11H16")]
    assert estimate_mass({91: 1.0, 105: 0.5, 119: 0.1}, hits) == 134


# a cathinone-like hit of mass 165 showing its M+, and a heavier homologue
_HIT = Neighbour(165, 165, {58: 1.0, 77: 0.3, 105: 0.2, 165: 0.01}, 0.8, "C10H15NO")
_HOMOLOGUE = Neighbour(179, 179, {72: 1.0, 77: 0.3, 105: 0.2, 179: 0.01}, 0.75, "C11H17NO")


def test_a_faint_ion_at_a_hits_mass_is_the_molecular_ion_even_under_a_stronger_m_minus_h():
    # M+ 165 at 0.2 % sits one unit above [M-H]+ 164 at 0.4 %: the isotope test reads it as 13C,
    # but half of 164 would take ~45 carbons (a molecule of mass 165 holds at most ~14); the hit
    # of that mass confirms it (was 160, the highest significant ion)
    assert estimate_mass({58: 1.0, 77: 0.3, 105: 0.2, 160: 0.01, 164: 0.004, 165: 0.002}, [_HOMOLOGUE, _HIT]) == 165


def test_a_molecular_ion_under_a_stronger_m_minus_h_is_no_13c_peak():
    # an aromatic aldehyde: [M-H]+ 135 at 30 %, M+ 136 at 18 % -- 60 % of 135 would take ~55
    # carbons, a molecule of mass 136 holds at most 11: 136 is M+, not 135's 13C peak (was 135)
    assert estimate_mass({77: 1.0, 105: 0.5, 135: 0.3, 136: 0.18, 137: 0.02}, []) == 136


def test_a_molecular_ion_more_intense_than_13c_allows_is_the_molecular_ion():
    # toluene: M+ 92 at 60 % of its tropylium 91 -- a 13C peak of 91 would need ~55 carbons (at
    # most 7): 92 is the molecular ion; 60 % of a 500 u ion is 13C-possible and stays an isotope
    assert molecular_ion({65: 0.1, 91: 1.0, 92: 0.6, 93: 0.04}) == 92
    assert molecular_ion({65: 0.1, 500: 1.0, 501: 0.6}) == 500


def test_an_estimate_one_below_a_self_protonated_highest_ion_still_rules_out_a_lighter_candidate():
    # methyl octadecanoate (M 298) as a magnetic-sector record shows it: M+ 298 at 0.34 %, its
    # self-protonated [M+H]+ 299 at 0.7 % the highest ion. Estimated 298, the ion 299 is still the
    # compound's and lies above methyl heptadecanoate's (C18H36O2, 284) cluster: it rules that one
    # out (with a wider candidate rule, measured, the query was otherwise identified as methyl
    # heptadecanoate at MF 906)
    relative = {74: 1.0, 87: 0.7, 255: 0.033, 267: 0.011, 269: 0.006, 298: 0.0034, 299: 0.007}
    assert molecular_ion(relative) == 299
    assert confirmed_ion_above(relative, 298, "C18H36O2") == [(299, 0.007)]
    assert confirmed_ion_above(relative, 299, "C18H36O2") == [(299, 0.007)]
    assert confirmed_ion_above(relative, 297, "C18H36O2") == []  # no reading of 299 as the compound's


def test_the_13c_peak_of_a_molecular_ion_does_not_vote_for_a_hit_one_unit_heavier():
    # M+ 164 at 4 %, its 13C peak 165 at 0.5 % (11 %: 10 carbons): no M+ of the 165 hit
    assert estimate_mass({58: 1.0, 77: 0.3, 105: 0.2, 164: 0.04, 165: 0.005}, [_HIT, _HOMOLOGUE]) == 164


# The LRCFS card's fatty-acid methyl ester at 5.17 min, as extracted: four ions, the McLafferty ion
# 74 the base peak and the [CH3OCO(CH2)2]+ ion 87 at 67 % -- 13 u above the base peak, an impossible
# loss, so 87 is no molecular ion; methyl palmitate (M+ 270 shown) the closest library spectrum
_FAME = {43: 0.226, 55: 0.274, 74: 1.0, 87: 0.667}
_METHYL_PALMITATE = Neighbour(270, 270, {43: 0.6, 55: 0.5, 74: 1.0, 87: 0.7, 143: 0.15, 227: 0.1, 270: 0.05},
                              0.62, "C17H34O2")


def test_no_estimate_below_a_strong_fragment_the_spectrum_shows():
    # 87 is not M+, but it is an ion of the molecule: the molecule weighs more. The hits' offset
    # vote (270 + 74 - 270) and the base peak's own vote named the McLafferty ion's 74 as the mass
    assert molecular_ion(_FAME) == 74
    assert estimate_mass(_FAME, []) is None  # nothing votes above 87
    estimate = estimate_mass(_FAME, [_METHYL_PALMITATE])
    assert estimate is None or estimate > 87


def test_a_faint_stray_above_the_molecular_ion_leaves_the_estimate():
    # phenanthrene with a stray 184 at 1.2 % over its base peak M+ 178 (MassBank): below the
    # fragment level (5 %) it is background, not an ion of the molecule
    assert estimate_mass({76: 0.2, 152: 0.1, 176: 0.2, 178: 1.0, 179: 0.15, 184: 0.012}, []) == 178


def test_no_peaks_no_estimate():
    assert estimate_mass({}, [Neighbour(134, 134, {134: 1.0}, 0.9, "C10H14")]) is None


def test_memory_does_not_grow_with_the_m_z_value():
    # a stray m/z 10**12 in a query, or a formula typo giving a hit of that mass, must not ask for
    # a terabyte array (MemoryError, a traceback): only the ions near the candidates are read
    hit = {91: 1.0, 105: 0.3, 119: 0.2, 134: 0.1}
    assert estimate_mass({91: 1.0, 105: 0.5, 119: 0.1, 10**12: 0.01}, [Neighbour(134, 134, hit, 0.9, "C10H14")]) == 10**12
    huge = Neighbour(12 * 10**12, 10**12, {10**12: 1.0, 91: 0.5}, 0.9, "C1000000000000")
    assert estimate_mass({91: 1.0, 105: 0.5, 119: 0.1}, [huge]) is not None


def test_many_unknowns_at_once_give_the_estimates_one_by_one(swgdrug_library):
    # estimate_masses (a search's queries in array steps) is estimate_mass bit for bit: the
    # MassBank EI queries with their SWGDRUG hits, plus the odd cases -- no peaks, no hits, a
    # stray m/z far above the rest and a hit of a huge mass (both outside the arrays), a hit
    # without losses (a derivative: ions above its mass), ties, a strong fragment above the own ion
    from nps_id.match.molecular_mass import estimate_masses

    relatives, neighbours = _massbank_queries_and_swgdrug_votes(swgdrug_library)
    hit = {91: 1.0, 105: 0.3, 119: 0.2, 134: 0.1}
    plain = Neighbour(134, 134, hit, 0.9, "C10H14")
    odd = [({}, [plain]), ({91: 1.0, 119: 0.1}, []), ({91: 1.0, 119: 0.1, 10**12: 0.01}, [plain]),
           ({91: 1.0, 105: 0.5, 119: 0.1}, [Neighbour(12 * 10**12, 10**12, {10**12: 1.0}, 0.9, "C1000000000000")]),
           ({91: 1.0, 105: 0.5, 119: 0.1}, [Neighbour(120, 134, hit, 0.8, "C9H12"), plain]),
           ({91: 1.0, 105: 1.0, 119: 1.0}, [plain, plain._replace(similarity=0.0), plain._replace(mass=None)]),
           (_FAME, [_METHYL_PALMITATE]), (_FAME, [])]  # a fragment above the own ion: the scalar path
    relatives += [r for r, _ in odd]
    neighbours += [n for _, n in odd]
    expected = [estimate_mass(r, n) for r, n in zip(relatives, neighbours)]
    assert estimate_masses(relatives, neighbours) == expected
    assert len(set(expected)) > 100 and None in expected


def test_the_loss_alignment_is_each_hits_near_and_far_cosine_squared(swgdrug_library):
    # the alignment's array steps (one gemm per unknown, the squares divided in per hit and part) against
    # the definition written out candidate by candidate: sum over hits of similarity**4 x cos**2 of the
    # near losses plus FAR_LOSS_WEIGHT x that of the far ones -- a near part divided by a far part's
    # squares, or a hit's weight on another's column, moves the estimates
    import numpy as np

    from nps_id.match.molecular_mass import (CANDIDATE_SPAN, FAR_LOSS_SPAN, FAR_LOSS_WEIGHT, HIT_POWER, LOSS_SPAN,
                                             _loss_alignment, hit_losses, molecular_ion)

    relatives, neighbours = _massbank_queries_and_swgdrug_votes(swgdrug_library, limit=40)
    checked = 0
    for relative, hits in zip(relatives, neighbours):
        own = molecular_ion(relative)
        votes = [h for h in hits[:10] if h.mass is not None and h.similarity > 0]
        if own is None or not votes:
            continue
        got = _loss_alignment(relative, own, votes)
        for m in range(own, own + CANDIDATE_SPAN):
            mine = np.sqrt([relative.get(m - loss, 0.0) for loss in range(FAR_LOSS_SPAN)])
            expected = 0.0
            for h in votes:
                theirs = hit_losses(h)[0]
                for span, scale in ((slice(0, LOSS_SPAN), 1.0), (slice(LOSS_SPAN, FAR_LOSS_SPAN), FAR_LOSS_WEIGHT)):
                    a, b = mine[span], theirs[span]
                    if a.any() and b.any():
                        expected += scale * h.similarity ** HIT_POWER * (a @ b) ** 2 / ((a @ a) * (b @ b))
            assert got.get(m, 0.0) == pytest.approx(expected, rel=1e-9, abs=1e-15)
            checked += expected > 0
    assert checked > 500


def _massbank_queries_and_swgdrug_votes(swgdrug_library, limit: int | None = None) -> tuple[list, list]:
    """The nominal spectra of the MassBank EI identity queries (the first ``limit``) and their SWGDRUG hits as
    :class:`Neighbour` votes."""
    import numpy as np

    from nps_id.io import read
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.match.molecular_mass import nominal_spectrum
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference
    from tests.conftest import data_path

    queries = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[:limit]
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    hits = search(queries, reference, SearchSettings(top_k=12))
    facts = LibraryFacts(reference)
    relatives, neighbours = [], []
    for q in np.unique(hits.query).tolist():
        relatives.append(nominal_spectrum(queries[q].mz, queries[q].intensity))
        neighbours.append([facts.neighbour(int(hits.row[j]))._replace(similarity=float(hits.similarity[j]))
                           for j in np.flatnonzero(hits.query == q)])
    return relatives, neighbours


def test_many_library_rows_at_once_give_the_loss_spectra_one_by_one(swgdrug_library):
    # hit_losses_many (a search's hit rows in one array step, LibraryFacts.prime_neighbours) is
    # hit_losses bit for bit, vectors and both norms: every SWGDRUG row, plus rows without a mass
    # or ion, a derivative (ions above its formula's mass), an ion at the very mass, a stray m/z
    # far above and below, and a spectrum without peaks
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    import numpy as np

    from nps_id.match.molecular_mass import LOSS_SPAN, hit_losses, hit_losses_many
    from nps_id.search.reference import Reference

    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    facts = LibraryFacts(reference)
    rows = [Neighbour(facts.mass(r), facts.ion(r), facts.nominal(r), 0.0, facts.formula(r))
            for r in range(reference.n_spectra)]
    hit = {91: 1.0, 105: 0.3, 119: 0.2, 134: 0.1}
    rows += [Neighbour(None, 134, hit, 0.9, "C10H14"), Neighbour(134, None, hit, 0.9, "C10H14"),
             Neighbour(120, 134, hit, 0.9, "C9H12"), Neighbour(134, 134, {**hit, 10**12: 0.5, -3: 0.2}, 0.9, "C10H14"),
             Neighbour(35, 35, {35: 1.0}, 0.9, "HCl"), Neighbour(134, 134, {}, 0.9, "C10H14")]
    many = hit_losses_many(rows)
    assert len(many) == len(rows)
    for row, (vector, near, far) in zip(rows, many):
        one, one_near, one_far = hit_losses(row)
        assert vector.tobytes() == one.tobytes() and vector.dtype == one.dtype
        assert (near, far) == (one_near, one_far) and type(near) is type(one_near) is float
        # the norms by one ddot and a square root are numpy's norm of each part, bit for bit
        assert (near, far) == (float(np.linalg.norm(vector[:LOSS_SPAN])), float(np.linalg.norm(vector[LOSS_SPAN:])))
    assert sum(near > 0 for _, near, _ in many) > 2000


def test_many_spectra_at_once_give_the_nominal_spectra_one_by_one():
    # nominal_spectra (a search's queries in array steps) is nominal_spectrum bit for bit, value
    # types included (Python floats both): the MassBank EI queries, plus no peaks, zero and negative
    # intensities, peaks sharing a nominal bin, a float32 spectrum
    import numpy as np

    from nps_id.io import read
    from nps_id.match.molecular_mass import nominal_spectra, nominal_spectrum
    from tests.conftest import data_path

    spectra = [(s.mz, s.intensity) for s in read(data_path("massbank", "ei-queries-identity.msp.gz"))]
    spectra += [(np.empty(0), np.empty(0)), (np.array([50.0, 51.0]), np.zeros(2)),
                (np.array([50.0, 52.0]), np.array([-1.0, -2.0])), (np.array([50.0, 52.0]), np.array([-1.0, 3.0])),
                (np.array([50.1, 50.2, 50.75, 3000.0]), np.array([1.0, 2.0, 3.0, 0.5])),
                (np.array([77.7, 91.1], dtype=np.float32), np.array([10.0, 20.0], dtype=np.float32))]
    expected = [nominal_spectrum(mz, intensity) for mz, intensity in spectra]
    got = nominal_spectra(spectra)
    assert got == expected
    assert [[type(v) for v in d.values()] for d in got] == [[type(v) for v in d.values()] for d in expected]
    assert [list(d) for d in got] == [list(d) for d in expected]
    assert len(got[0]) > 10 and got[-6] == {}
    assert nominal_spectra(spectra[:-1]) == expected[:-1]  # one dtype: binned in one array step


def test_a_stray_ion_an_impossible_loss_above_the_base_peak_is_no_molecular_ion():
    # MassBank's phenanthrene query (JP010813): M+ 178 is the base peak, a stray ion 184 at 1.2 %
    # sits 6 u above it (no molecule loses 6 u): the estimate was 184, "molecular ion inconsistent".
    # An ion 6 u above a weaker one stays a candidate (the rule asks the base peak)
    from nps_id.io import read
    from nps_id.match.molecular_mass import nominal_spectrum
    from tests.conftest import data_path

    query = next(s for s in read(data_path("massbank", "ei-queries-identity.msp.gz"))
                 if s.get("source_id") == "MSBNK-Fac_Eng_Univ_Tokyo-JP010813")
    relative = nominal_spectrum(query.mz, query.intensity)
    assert relative[184] > 0.01
    assert molecular_ion(relative) == 178
    assert estimate_mass(relative, []) == 178
    assert molecular_ion({91: 1.0, 178: 0.5, 184: 0.1}) == 184


def test_column_bleed_set_aside_on_real_spectra_copies_only_when_a_bleed_ion_is_weak():
    """Every SWGDRUG 3.4 spectrum, as it is and with siloxane ions 207 and 281 added weak (0.5 %, 0.25 % of its
    base peak) and strong (100 %, 50 %): the ions a bleed ion below the level leaves, in their order; the spectrum itself (no copy)
    when no bleed ion is below it."""
    from nps_id.io import read
    from nps_id.match.molecular_mass import COLUMN_BLEED_IONS, nominal_spectrum, without_column_bleed
    from tests.conftest import data_path

    level, copied, kept = 0.06, 0, 0
    for spectrum in read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")):
        relative = nominal_spectrum(spectrum.mz, spectrum.intensity)
        for added in (None, 0.005, 1.0):
            seen = relative if added is None else {**relative, 207: added, 281: added / 2}
            found = without_column_bleed(seen, level)
            expected = {m: v for m, v in seen.items() if v >= level or m not in COLUMN_BLEED_IONS}
            assert list(found.items()) == list(expected.items())
            # a GC run's background ions go at any level, bleed or not (one of them a bleed ion)
            background = frozenset({43, 57, 207})
            expected = {m: v for m, v in expected.items() if m not in background}
            assert list(without_column_bleed(seen, level, background).items()) == list(expected.items())
            weak = any(seen[m] < level for m in COLUMN_BLEED_IONS.intersection(seen))
            assert (found is seen) is not weak
            copied, kept = copied + weak, kept + (not weak and bool(COLUMN_BLEED_IONS.intersection(seen)))
    assert copied > 2000 and kept > 1000  # both cases, many times (6,240 and 1,499)


def test_the_ions_listed_against_a_candidate_keep_the_digits_numpy_gave_them():
    # The nominal spectra hold Python floats since stop 41 (they held NumPy floats); the criteria
    # texts' intensities are still rounded as NumPy rounds: 0.0005 -> 0.0 (Python's round: 0.001)
    import numpy as np

    from nps_id.match.molecular_mass import ions_above, molecular_ions_disagree

    assert round(0.0005, 3) == 0.001 and float(np.round(np.float64(0.0005), 3)) == 0.0
    assert ions_above({50: 1.0, 300: 0.0005}, "CH4", 0.0) == [(50, 1.0), (300, 0.0)]
    # every intensity of the MassBank EI queries, rounded as the criteria round them, is NumPy's rounding
    from nps_id.io import read
    from nps_id.match.molecular_mass import _rounded, nominal_spectra
    from tests.conftest import data_path

    spectra = nominal_spectra([(s.mz, s.intensity) for s in read(data_path("massbank", "ei-queries-identity.msp.gz"))])
    values = [v for relative in spectra for v in relative.values()] + [0.00525, 0.0, float("inf")]
    for digits in (3, 4):
        assert [_rounded(v, digits) for v in values] == np.round(np.array(values), digits).tolist()
    assert len(values) > 20000
    # the candidate's ion 120 and the unknown's estimated molecular ion 100, each absent from the other
    assert round(0.00525, 4) == 0.0053 and float(np.round(np.float64(0.00525), 4)) == 0.0052
    assert molecular_ions_disagree({50: 1.0, 100: 0.00525}, 100, {50: 1.0, 120: 0.00525}, 120, 0.005) == [
        (120, 0.0052, 100, 0.0052)]


def test_the_hits_loss_columns_are_each_hits_own_losses(swgdrug_library):
    # _hit_columns (the votes' loss spectra stacked once per library row, _stacked_losses) against
    # the matrix made hit by hit from hit_losses: SWGDRUG rows as the hits of 64 unknowns, rows
    # repeated across unknowns (a search's), hits without losses (no molecular ion, a derivative)
    import numpy as np

    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.match.molecular_mass import (FAR_LOSS_SPAN, FAR_LOSS_WEIGHT, HIT_POWER, HIT_VOTES, LOSS_SPAN,
                                             _hit_columns, _stacked_losses, hit_losses)
    from nps_id.search.reference import Reference

    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    facts = LibraryFacts(reference)
    rng = np.random.default_rng(41)
    rows = rng.integers(0, reference.n_spectra, 300).tolist()
    facts.prime_neighbours(rows)
    hit = {91: 1.0, 105: 0.3, 119: 0.2, 134: 0.1}
    odd = [Neighbour(None, 134, hit, 0.5, "C10H14"), Neighbour(120, 134, hit, 0.5, "C9H12")]
    votes, at = [], []
    for unknown in range(64):
        for slot in range(int(rng.integers(0, HIT_VOTES + 1))):
            row = rows[int(rng.integers(0, len(rows)))]
            plain = facts.neighbour(row) if rng.random() > 0.05 else odd[int(rng.integers(0, 2))]
            votes.append(plain._replace(similarity=float(rng.random())))
            at.append((slot, unknown))
    at = np.array(at, dtype=np.int64).T
    weight = np.array([h.similarity ** HIT_POWER for h in votes])
    matrix, norm, weights = _hit_columns(64, at, _stacked_losses(votes), weight)
    expected = np.zeros((64, FAR_LOSS_SPAN, 2 * HIT_VOTES))
    expected_norm, expected_weights = np.ones((64, 2 * HIT_VOTES)), np.zeros((64, 2 * HIT_VOTES))
    for (slot, unknown), h, w in zip(at.T.tolist(), votes, weight):
        vector, near, far = hit_losses(h)
        for part, (span, part_norm, scale) in enumerate(((slice(0, LOSS_SPAN), near, 1.0),
                                                         (slice(LOSS_SPAN, FAR_LOSS_SPAN), far, FAR_LOSS_WEIGHT))):
            if part_norm:
                expected[unknown, span, 2 * slot + part] = vector[span]
                expected_norm[unknown, 2 * slot + part] = part_norm
                expected_weights[unknown, 2 * slot + part] = w * scale
    assert matrix.tobytes() == expected.tobytes()
    assert norm.tobytes() == expected_norm.tobytes() and weights.tobytes() == expected_weights.tobytes()
    assert len(votes) > 200 and (expected_weights > 0).sum() > 200 and (norm == 1).sum() > 64


def test_the_ion_below_candidate_at_its_thresholds_one_by_one_and_in_arrays(swgdrug_library, monkeypatch):
    # stop 43's [M+H]+ candidate (the ion one below a highest ion under 3 %, holding >= half of it): real
    # MassBank EI queries with their SWGDRUG hits, the highest ion moved to each side of both thresholds
    # (and one- and two-peak spectra); estimate_masses must give estimate_mass's masses bit for bit, and
    # the candidate must change some estimates -- else this test reads nothing
    from nps_id.match import molecular_mass
    from nps_id.match.molecular_mass import SELF_CI_LEVEL, SELF_CI_RATIO, _ion_below, estimate_masses

    top = 0.02
    assert _ion_below({91: 1.0, 150: top, 149: SELF_CI_RATIO * top}, 150)
    assert not _ion_below({91: 1.0, 150: top, 149: SELF_CI_RATIO * top * (1 - 1e-9)}, 150)
    assert not _ion_below({91: 1.0, 150: SELF_CI_LEVEL, 149: SELF_CI_LEVEL}, 150)
    relatives, neighbours = [], []
    for relative, votes in zip(*_massbank_queries_and_swgdrug_votes(swgdrug_library, 40)):
        own = max(relative)
        for level in (SELF_CI_LEVEL * (1 - 1e-9), SELF_CI_LEVEL, 0.01):
            for ratio in (SELF_CI_RATIO, SELF_CI_RATIO * (1 - 1e-9), 1.0, 3.0):
                relatives.append({**relative, own + 1: level, own: min(1.0, ratio * level)})
                neighbours.append(votes)
        relatives += [{own + 1: 1.0}, {own + 1: level, own: 1.0}]
        neighbours += [votes, votes]
    expected = [estimate_mass(r, n) for r, n in zip(relatives, neighbours)]
    assert estimate_masses(relatives, neighbours) == expected
    monkeypatch.setattr(molecular_mass, "BELOW_WEIGHT", 0.0)  # the candidate's weight off: other masses
    assert [estimate_mass(r, n) for r, n in zip(relatives, neighbours)] != expected

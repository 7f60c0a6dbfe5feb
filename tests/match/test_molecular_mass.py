"""The EI molecular-mass estimate (:func:`nps_id.match.molecular_mass.estimate_mass`) on small
spectra whose chemistry is spelled out; real SWGDRUG compounds: test_new_substances.py."""
from __future__ import annotations

from nps_id.match.molecular_mass import Neighbour, estimate_mass


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


def test_no_peaks_no_estimate():
    assert estimate_mass({}, [Neighbour(134, 134, {134: 1.0}, 0.9, "C10H14")]) is None


def test_memory_does_not_grow_with_the_m_z_value():
    # a stray m/z 10**12 in a query, or a formula typo giving a hit of that mass, must not ask for
    # a terabyte array (MemoryError, a traceback): only the ions near the candidates are read
    hit = {91: 1.0, 105: 0.3, 119: 0.2, 134: 0.1}
    assert estimate_mass({91: 1.0, 105: 0.5, 119: 0.1, 10**12: 0.01}, [Neighbour(134, 134, hit, 0.9, "C10H14")]) == 10**12
    huge = Neighbour(12 * 10**12, 10**12, {10**12: 1.0, 91: 0.5}, 0.9, "C1000000000000")
    assert estimate_mass({91: 1.0, 105: 0.5, 119: 0.1}, [huge]) is not None

"""Molecular formulas: element counts and the nominal mass an EI molecular ion has.

Entry points: :func:`parse_formula` (the one parser: charges, salts), :func:`element_counts`,
:func:`nominal_mass`, :func:`monoisotopic_mass`, :func:`isotope_reach`, :data:`MONOISOTOPIC` (the
masses of those isotopes), :data:`ELEMENTS` (every symbol a formula may name).
"""
from __future__ import annotations

import functools
import re
from collections import Counter

from nps_id.spectrum import MAX_MZ

#: Every element symbol of the periodic table (1-118), with deuterium and tritium: a formula naming
#: anything else ("Xx2", "Q") is no formula.
ELEMENTS = frozenset("""
    H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr
    Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb
    Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr
    Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og D T
""".split())
#: Nominal mass of the most abundant isotope of each element an NPS or library record uses.
_NOMINAL = {
    "H": 1, "D": 2, "B": 11, "C": 12, "N": 14, "O": 16, "F": 19, "Na": 23, "Si": 28, "P": 31, "S": 32,
    "Cl": 35, "K": 39, "As": 75, "Se": 80, "Br": 79, "Sn": 120, "I": 127, "Hg": 202,
    # metals of organometallic library records (SWGDRUG, MassBank: 28 formulas)
    "Be": 9, "Al": 27, "V": 51, "Cr": 52, "Fe": 56, "Ni": 58, "Co": 59, "Cu": 63, "Zn": 64, "Ge": 74,
    "Mo": 98, "Pd": 106, "Pt": 195,
}
#: Monoisotopic mass of the same isotopes: pyteomics' ``nist_mass`` values (D: its ``H[2]``), kept
#: here because ``pyteomics.mass`` imports pandas and SQLAlchemy (~1 s) to serve one formula.
MONOISOTOPIC = {
    "H": 1.00782503207, "D": 2.0141017778, "B": 11.0093054, "C": 12.0, "N": 14.0030740048,
    "O": 15.99491461956, "F": 18.99840322, "Na": 22.9897692809, "Si": 27.9769265325, "P": 30.97376163,
    "S": 31.972071, "Cl": 34.96885268, "K": 38.96370668, "As": 74.9215965, "Se": 79.9165213,
    "Br": 78.9183371, "Sn": 119.9021947, "I": 126.904473, "Hg": 201.970643,
    "Be": 9.0121822, "Al": 26.98153863, "V": 50.9439595, "Cr": 51.9405075, "Fe": 55.9349375,
    "Ni": 57.9353429, "Co": 58.933195, "Cu": 62.9295975, "Zn": 63.9291422, "Ge": 73.9211778,
    "Mo": 97.9054082, "Pd": 105.903486, "Pt": 194.9647911,
}
#: Elements whose heavy isotope is two mass units up and abundant enough to show (37Cl 32 %,
#: 81Br 97 %, 34S 4.5 %, 30Si 3.4 %): each atom extends the molecular-ion cluster by 2.
_PLUS_TWO = ("Cl", "Br", "S", "Si", "Se")
# ASCII digits only: ``\d`` also takes "٣" and "９", which int() reads as 3 and 9
_TOKEN = re.compile(r"([A-Z][a-z]?)([0-9]*)")
#: A plain neutral formula: element symbols and counts only (no charge, dot or bracket).
_PLAIN = re.compile(r"(?:[A-Z][a-z]?[0-9]*)+")
# "[C29H35N2]+", "[C4H12N]2+" (count before the sign only after a bracket), "C4H12N+2"
_CHARGE = re.compile(r"(?:(?<=\])([0-9]*)([+-])|([+-])([0-9]*))$")
#: Digits a count may have: MAX_MZ's seven; longer ones are no count (5,000 digits overflowed int()).
_MAX_DIGITS = len(str(int(MAX_MZ)))


def parse_formula(text: str) -> tuple[Counter, int] | None:
    """Element counts and net charge of a formula (``C9H13N``, ``[C29H35N2]+``, ``C2H4O2.ClH``).

    None when ``text`` is not a formula (an unknown element symbol: "Xx2"), one without atoms
    ("C0"), or one heavier than :data:`~nps_id.spectrum.MAX_MZ` (nominal masses; 1 u an atom of
    an element without one): no ion a spectrum holds weighs so much ("C99999999999999999999H2",
    which a library of an older build stored, overflowed the searches whose hit it was;
    "C1000000" was reported as an estimated mass of 12,000,000). The one formula parser: the library's
    structure checks read charges and salts, :func:`element_counts` plain formulas.
    """
    text = text.strip().replace(" ", "")
    charge = 0
    match = _CHARGE.search(text)
    if match and match.group(0):
        digits = match.group(1) or match.group(4) or "1"
        if len(digits) > _MAX_DIGITS:
            return None
        sign = match.group(2) or match.group(3)
        charge = int(digits) * (1 if sign == "+" else -1)
        text = text[: match.start()]
    text = text.strip("[]")
    counts: Counter = Counter()
    for part in text.split("."):
        if not part or _TOKEN.sub("", part):
            return None
        for element, count in _TOKEN.findall(part):
            if element not in ELEMENTS or len(count) > _MAX_DIGITS:
                return None
            counts[element] += int(count or 1)
    heaviest_ion = sum(_NOMINAL.get(element, 1) * n for element, n in counts.items())
    return (counts, charge) if counts and 0 < heaviest_ion <= MAX_MZ else None


def element_counts(formula: str | None) -> dict[str, int] | None:
    """``"C16H12BrFN2O"`` -> ``{"C": 16, "H": 12, ...}``; None when empty or not a plain formula
    (charges, dots, brackets; what :func:`parse_formula` refuses; an element without a mass in
    :data:`MONOISOTOPIC`: the caller then has no mass to check)."""
    text = (formula or "").replace(" ", "")
    parsed = parse_formula(text) if _PLAIN.fullmatch(text) else None
    if parsed is None or any(element not in _NOMINAL for element in parsed[0]):
        return None
    return dict(parsed[0])


@functools.lru_cache(maxsize=65536)  # the verdict rules ask it of the same library formulas again and again
def nominal_mass(formula: str | None) -> int | None:
    """Nominal mass of the neutral molecule (most abundant isotopes), or None."""
    counts = element_counts(formula)
    return None if counts is None else sum(_NOMINAL[e] * n for e, n in counts.items())


@functools.lru_cache(maxsize=65536)  # an MS/MS search asks it of every query's top hit
def monoisotopic_mass(formula: str | None) -> float | None:
    """Monoisotopic mass (Da) of a plain neutral formula (``C11H21NO4``, D allowed), or None
    (charged, unknown element). The one place nps-id computes it: LC exact-mass checks and the
    reports read it."""
    counts = element_counts(formula)
    if counts is None:
        return None
    return sum(n * MONOISOTOPIC[e] for e, n in counts.items())


@functools.lru_cache(maxsize=65536)  # the verdict rules ask it of the same library formulas again and again
def isotope_reach(formula: str | None) -> int:
    """How far (mass units) above the nominal mass the molecular-ion isotope cluster shows:
    2 for 13C2 and one of Cl/Br/S/Si/Se, plus 2 for every further such atom."""
    counts = element_counts(formula) or {}
    heavy = sum(counts.get(e, 0) for e in _PLUS_TWO)
    return 2 + 2 * max(heavy - 1, 0) + (1 if heavy else 0)

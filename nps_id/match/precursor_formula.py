"""An MS/MS spectrum's accurate precursor against a candidate's formula (stop 45, docs/match.md
"Molecular ion"): a library record written to one decimal or none widens the search's precursor window to
the nominal ion, so an accurate query reaches isobars of another formula; the candidate's formula still gives
its exact ion, which an accurately written precursor must be.

Entry points: :func:`precursor_formula_error`, :func:`written_precision`, :func:`ion_computable`,
:data:`ACCURATE_PRECURSOR_DA`. The verdict's criterion: :func:`nps_id.match.verdict.formula_fits`; its use
for a hit: :func:`nps_id.match.assess.formula_error`.
"""
from __future__ import annotations

from math import inf
from struct import pack, unpack
from typing import Iterable

from nps_id.lcms.features import Adduct, adduct_named, ion_mz, ppm_error
from nps_id.search.index import recorded_precision_of


#: Largest recorded precision (Da, half the last written decimal) of a precursor m/z read as an
#: accurate mass: 3 decimals. The MassBank MS/MS queries against their own formula's stated ion
#: (benchmarks/README.md, stop 45 formula45): written to 3 or more decimals 0 of 105 and 8 of 1,138
#: off by more than 20 ppm (all record errors, 7 of them 2-18 Da off: a labelled compound under its
#: parent's formula, an isotope peak picked); to 2 decimals 4 of 25 (up to 0.15 Da), to 1 decimal
#: 8 of 9 (a unit-resolution instrument's m/z, 0.09-0.2 Da off): no formula evidence.
ACCURATE_PRECURSOR_DA = 0.0005


def written_precision(mz: float) -> float:
    """:func:`~nps_id.search.index.recorded_precision_of`, reading a single-precision rendering of a value of
    fewer than 3 decimals as that value: a converter that holds the m/z as a 32-bit float writes a
    unit-resolution instrument's 143.2 as 143.199996948242, 12 decimals an accurate mass never had
    (stop 45 attack45; one RaMS DDA precursor reads 139.050003051758). Such a value says nothing of a
    formula: read as accurate, it excluded the candidate's own (+648 ppm for octanoic acid)."""
    precision = recorded_precision_of(mz)
    if abs(_single(mz) - mz) > 1e-9 * abs(mz):  # the usual case: no 32-bit float (one conversion, ~0.3 us)
        return precision
    for decimals in range(3):
        if abs(_single(round(mz, decimals)) - mz) <= 1e-9 * abs(mz):
            return max(precision, 0.5 * 10.0**-decimals)
    return precision


def _single(value: float) -> float:
    """``value`` rounded to the nearest 32-bit float (infinity beyond their range)."""
    try:
        return unpack("f", pack("f", value))[0]
    except OverflowError:
        return inf


def precursor_formula_error(precursor_mz: float, molecule_mass: float,
                            adducts: Iterable[Adduct]) -> tuple[float, float] | None:
    """MS/MS: the precursor m/z's error (ppm, signed) against the nearest of the ``adducts`` of
    ``molecule_mass`` (the candidate formula's monoisotopic mass), and the precursor's recorded
    precision in ppm (half its last written decimal, :func:`written_precision`).
    None for a precursor written to fewer than 3 decimals (:data:`ACCURATE_PRECURSOR_DA`) -- it
    says nothing of the formula -- or no adducts. A library record written to one decimal or none
    widens the search's window to the nominal ion; the candidate's formula still gives its exact
    ion, which an accurate precursor must be."""
    precision = written_precision(precursor_mz)
    if precision > ACCURATE_PRECURSOR_DA:
        return None
    errors = [ppm_error(precursor_mz, ion_mz(molecule_mass, adduct)) for adduct in adducts]
    if not errors:
        return None
    return min(errors, key=abs), precision / precursor_mz * 1e6


def ion_computable(precursor_type: str | None) -> bool:
    """Whether the formula criterion can compute the spectrum's precursor ion: it states no ion type, or
    one of :data:`nps_id.lcms.features.ADDUCTS`. Another ([M+2H]2+, [M+CH3COO]-, [M-2H]-: 1,400 MassBank
    MS/MS records) is no single-charge ion of those, and read as one it "excluded" the record's own formula
    (stop 45 attack45: every such record searched against its library was called an isobar of itself)."""
    return not (precursor_type or "").strip() or adduct_named(precursor_type) is not None

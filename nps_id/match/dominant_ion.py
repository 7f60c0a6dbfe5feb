"""EI: a candidate whose spectrum is one nitrogen-bearing ion -- is the rest of the molecule there?

Amines (cathinones, amphetamines, piperidine and pyrrolidine drugs) break next to the nitrogen:
their EI spectrum is one iminium ion (alpha-PPP: m/z 98, 63 % of the ion current), no molecular
ion, and what tells the compound from its ring-substituted, reduced or homologous relatives (the
aryl, the carbonyl, the other ring) sits in a few weak ions above it. The match factor is the
iminium's: 4'-methoxy-alpha-PPP scores 895 against alpha-PPP although alpha-PPP's benzoyl ion 105
is missing and the methoxybenzoyl ion 135 is there instead. :func:`rest_disagrees` compares those
weak ions, the part of the spectrum that carries the rest of the molecule (docs/match.md "A
spectrum of one nitrogen-bearing ion").
"""
from __future__ import annotations

import functools
from operator import add
from typing import Mapping

from nps_id.chem.formula import element_counts

#: Ions within this many u above the base peak are its own isotope peaks, not the rest of the molecule.
ISOTOPE_SPAN = 2


def one_ion_spectrum(reference: Mapping[int, float], formula: str | None, mass: int | None,
                     share: float, molecular_ion_level: float) -> int | None:
    """The base peak m/z of a candidate's reference spectrum (nominal, relative to its base peak)
    that is one nitrogen-bearing ion: the compound holds nitrogen, the base peak is at an even
    m/z (an even-electron ion with the nitrogen: an iminium), it carries at least ``share`` of the
    spectrum's ion current, and the molecular ion ``mass`` is below ``molecular_ion_level`` of it.
    None otherwise (or ``share`` 0: off)."""
    if share <= 0 or not reference or mass is None or not _holds_nitrogen(formula):
        return None
    base = max(reference, key=reference.__getitem__)
    total = functools.reduce(add, reference.values(), 0.0)  # left to right on any Python (3.12's sum compensates)
    if base % 2 or reference[base] < share * total or reference.get(mass, 0.0) >= molecular_ion_level * reference[base]:
        return None
    return base


@functools.lru_cache(maxsize=65536)  # asked of every EI query's top hit: the same library formulas again and again
def _holds_nitrogen(formula: str | None) -> bool:
    return bool((element_counts(formula) or {}).get("N"))


def rest_disagrees(unknown: Mapping[int, float], reference: Mapping[int, float], base: int, mass: int,
                   level: float, factor: float) -> tuple[tuple[int, float, float], ...]:
    """The ions above the candidate's dominant ion ``base`` (its isotope peaks aside) at >= ``level``
    of the base peak in the candidate's reference or, up to the candidate's ``mass``, in the unknown,
    whose intensities disagree by more than ``factor`` either way, as (m/z, reference, unknown)
    relative intensities. Both spectra: nominal m/z -> intensity relative to their base peak."""
    low = base + ISOTOPE_SPAN
    ions = {m for m, v in reference.items() if m > low and v >= level}
    ions |= {m for m, v in unknown.items() if low < m <= mass and v >= level}
    found = []
    for m in sorted(ions):
        ref, own = reference.get(m, 0.0), unknown.get(m, 0.0)
        if not ref / factor <= own <= ref * factor:
            found.append((m, ref, own))
    return tuple(found)

"""EI molecular mass: estimate it for an unknown, and check a candidate against the spectrum.

- :func:`nominal_spectrum` -- a spectrum on the nominal-mass axis, relative to its base peak:
  built once per spectrum, read by the functions below.
- :func:`molecular_ion` -- the highest ion that is not an isotope peak of a lower one (the
  molecular ion when the spectrum shows one; a fragment when it does not).
- :func:`estimate_mass` -- nominal molecular mass of an unknown from its own spectrum and its
  closest library spectra: a library compound whose spectrum resembles the unknown's usually loses
  the same fragment, so ``hit mass + (unknown's highest ion - hit's highest ion)`` corrects for a
  molecular ion the spectrum lacks (fentanyls lose benzyl, amines a methyl). Votes weighted by
  similarity**4, the unknown's own highest ion counting 0.5 (chosen on the development data:
  SWGDRUG leave-compound-out 0.70 right, highest ion alone 0.64; docs/match.md).
- :func:`ions_above` -- significant ions of the unknown above the candidate's molecular-ion
  cluster (and above its reference spectrum's own ions): a candidate lighter than ions the
  spectrum holds cannot be the compound (unless the spectrum is a mixture).
- :func:`confirmed_ion_above` -- the same for the unknown's molecular ion at any abundance, when
  the estimated mass confirms it.
- :func:`ions_missing` -- the reverse: significant ions of the candidate above everything the
  unknown shows (a heavier homologue or derivative).
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

import numpy as np

from nps_id.chem.formula import isotope_reach
from nps_id.chem.formula import nominal_mass as formula_mass
from nps_id.search.preprocess import nominal_mass

#: Ions below this fraction of the base peak are not used to find the molecular ion.
ION_FLOOR = 0.005
#: A peak with a neighbour one (two) mass units lower this many times as intense is an isotope peak.
_ISOTOPE_RATIO = 1.5
#: Estimate: weight of the unknown's own highest ion, next to the hits' similarity**power votes.
OWN_WEIGHT, HIT_POWER, HIT_VOTES = 0.5, 4, 10


def nominal_spectrum(mz: np.ndarray, intensity: np.ndarray) -> dict[int, float]:
    """Nominal m/z -> intensity relative to the base peak (the search's nominal binning,
    :func:`nps_id.search.preprocess.nominal_mass`). Built once per spectrum; the functions below
    read it."""
    nominal = nominal_mass(mz)
    if not nominal.size:
        return {}
    low = int(nominal.min())
    summed = np.bincount(nominal - low, weights=np.asarray(intensity, dtype=np.float64))
    base = summed.max()
    if base <= 0:
        return {}
    kept = np.flatnonzero(summed > 0)
    return dict(zip((kept + low).tolist(), summed[kept] / base))


def molecular_ion(relative: Mapping[int, float], floor: float = ION_FLOOR) -> int | None:
    """Highest nominal m/z of a :func:`nominal_spectrum` at >= ``floor`` of the base peak that is
    not a 13C (one unit up) or 37Cl/81Br/34S (two units up) isotope peak of a more intense
    neighbour; None for no peaks."""
    for m in sorted(relative, reverse=True):
        r = relative[m]
        if r < floor:
            continue
        below1, below2 = relative.get(m - 1, 0.0), relative.get(m - 2, 0.0)
        if below1 >= _ISOTOPE_RATIO * r:
            continue
        if below2 >= 0.4 * _ISOTOPE_RATIO * r and (below1 < below2 or below2 >= 0.8 * r):
            continue  # 37Cl/81Br/34S: m-2 carries the lighter isotope (Br: about as intense)
        return m
    return None


def estimate_mass(own_ion: int | None, hits: Iterable[tuple[int | None, int | None, float]]) -> int | None:
    """Nominal molecular mass of an unknown.

    Parameters
    ----------
    own_ion
        :func:`molecular_ion` of the unknown.
    hits
        ``(hit nominal mass, hit molecular_ion, similarity 0-1)`` of its closest library spectra,
        best first (the first :data:`HIT_VOTES` vote).
    """
    if own_ion is None:
        return None
    votes: Counter = Counter({own_ion: OWN_WEIGHT})
    for k, (mass, ion, similarity) in enumerate(hits):
        if k >= HIT_VOTES:
            break
        if mass is not None and ion is not None and similarity > 0:
            votes[mass + own_ion - ion] += similarity ** HIT_POWER
    best = max(votes.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return int(best) if best > 0 else None


def ions_above(relative: Mapping[int, float], formula: str | None, min_relative: float,
               reference_ion: int | None = None) -> list[tuple[int, float]]:
    """``(m/z, relative intensity)`` of the unknown's ions (a :func:`nominal_spectrum`) at >=
    ``min_relative`` of its base peak above the candidate's nominal mass plus its isotope cluster;
    empty when the formula is unknown (the check is then not evaluated:
    :func:`nps_id.chem.formula.nominal_mass` is None).

    ``reference_ion``: the :func:`molecular_ion` of the candidate's own reference spectrum. Ions
    up to it are the candidate's as it was measured, not "above" it: libraries file derivatives
    under the parent's formula (MassBank's TMS-derivatised metabolites: L-glutamic acid, M 147,
    with ions up to m/z 363), and a record matching a spectrum of the same derivative must not
    fail the check."""
    mass = formula_mass(formula)
    if mass is None:
        return []
    limit = max(mass, reference_ion or 0) + isotope_reach(formula)
    return [(m, round(r, 3)) for m, r in sorted(relative.items()) if m > limit and r >= min_relative]


def confirmed_ion_above(relative: Mapping[int, float], estimated: int | None, formula: str | None,
                        reference_ion: int | None = None) -> list[tuple[int, float]]:
    """The unknown's :func:`molecular_ion` (any abundance >= :data:`ION_FLOOR`) when its estimated
    mass confirms it (the closest library spectra vote for the same mass) and it lies above the
    candidate's molecular-ion cluster (and its reference spectrum's, as in :func:`ions_above`). Alcohols, esters and alkanes show molecular ions of 1-5 %,
    below :func:`ions_above`'s level: 1-phenyl-2-propanol (M+ 136, ~3 %) matched toluene (M 92)."""
    own = molecular_ion(relative)
    if own is None or own != estimated:
        return []
    return ions_above({own: relative[own]}, formula, 0.0, reference_ion)


def ions_missing(relative: Mapping[int, float], reference: Mapping[int, float], formula: str | None,
                 min_relative: float, acquired_max: float | None = None) -> list[tuple[int, float]]:
    """``(m/z, relative intensity)`` of the candidate's own ions (``reference``, a
    :func:`nominal_spectrum`) at >= ``min_relative`` of its base peak above the unknown's highest
    ion (and its isotope cluster), inside the acquired range: a candidate heavier than everything
    the spectrum shows would have shown them."""
    if not relative:
        return []
    highest = max(m for m, r in relative.items() if r >= ION_FLOOR)
    limit = highest + isotope_reach(formula)
    top = float("inf") if acquired_max is None else acquired_max
    return [(m, round(r, 3)) for m, r in sorted(reference.items()) if limit < m <= top and r >= min_relative]

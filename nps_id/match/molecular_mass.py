"""EI molecular mass: estimate it for an unknown, and check a candidate against the spectrum.

- :func:`molecular_ion` -- the highest ion that is not an isotope peak of a lower one (the
  molecular ion when the spectrum shows one; a fragment when it does not).
- :func:`estimate_mass` -- nominal molecular mass of an unknown from its own spectrum and its
  closest library spectra: a library compound whose spectrum resembles the unknown's usually loses
  the same fragment, so ``hit mass + (unknown's highest ion - hit's highest ion)`` corrects for a
  molecular ion the spectrum lacks (fentanyls lose benzyl, amines a methyl). Votes weighted by
  similarity**4, the unknown's own highest ion counting 0.5 (chosen on the development data:
  SWGDRUG leave-compound-out 0.70 right, highest ion alone 0.64; docs/match.md).
- :func:`ions_above` -- significant ions of the unknown above the candidate's molecular-ion
  cluster: a candidate lighter than ions the spectrum holds cannot be the compound (unless the
  spectrum is a mixture).
- :func:`ions_missing` -- the reverse: significant ions of the candidate above everything the
  unknown shows (a heavier homologue or derivative).
"""
from __future__ import annotations

import functools
from collections import Counter
from types import MappingProxyType
from typing import Iterable, Mapping

import numpy as np

from nps_id.chem.formula import isotope_reach, nominal_mass

#: Ions below this fraction of the base peak are not used to find the molecular ion.
ION_FLOOR = 0.005
#: A peak with a neighbour one (two) mass units lower this many times as intense is an isotope peak.
_ISOTOPE_RATIO = 1.5
#: Estimate: weight of the unknown's own highest ion, next to the hits' similarity**power votes.
OWN_WEIGHT, HIT_POWER, HIT_VOTES = 0.5, 4, 10


def _nominal_spectrum(mz: np.ndarray, intensity: np.ndarray) -> Mapping[int, float]:
    """Relative intensity (base peak 1) by nominal mass ``floor(m/z + 0.3)``; read-only, as the
    result is shared: the checks of one spectrum ask for it several times (``nps-id search`` runs
    them for every query), so the last few are kept by content."""
    mz = np.asarray(mz, dtype=np.float64)
    intensity = np.asarray(intensity, dtype=np.float64)
    return _nominal_of(mz.tobytes(), intensity.tobytes())


@functools.lru_cache(maxsize=8)
def _nominal_of(mz_bytes: bytes, intensity_bytes: bytes) -> Mapping[int, float]:
    nominal = np.floor(np.frombuffer(mz_bytes) + 0.3).astype(np.int64)
    if not nominal.size:
        return MappingProxyType({})
    low = int(nominal.min())
    summed = np.bincount(nominal - low, weights=np.frombuffer(intensity_bytes))
    base = summed.max()
    if base <= 0:
        return MappingProxyType({})
    # Vectorised (the same float64 divisions): this runs several times per searched spectrum.
    kept = np.flatnonzero(summed > 0)
    return MappingProxyType(dict(zip((kept + low).tolist(), summed[kept] / base)))


def molecular_ion(mz: np.ndarray, intensity: np.ndarray, floor: float = ION_FLOOR) -> int | None:
    """Highest nominal m/z at >= ``floor`` of the base peak that is not a 13C (one unit up) or
    37Cl/81Br/34S (two units up) isotope peak of a more intense neighbour; None for no peaks."""
    relative = _nominal_spectrum(mz, intensity)
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


def ions_above(mz: np.ndarray, intensity: np.ndarray, formula: str | None, min_relative: float) -> list[tuple[int, float]]:
    """``(m/z, relative intensity)`` of the unknown's ions at >= ``min_relative`` of its base peak
    above the candidate's nominal mass plus its isotope cluster; empty when the formula is
    unknown (the check is then not evaluated: :func:`nps_id.chem.formula.nominal_mass` is None)."""
    mass = nominal_mass(formula)
    if mass is None:
        return []
    limit = mass + isotope_reach(formula)
    relative = _nominal_spectrum(mz, intensity)
    return [(m, round(r, 3)) for m, r in sorted(relative.items()) if m > limit and r >= min_relative]


def ions_missing(mz: np.ndarray, intensity: np.ndarray, ref_mz: np.ndarray, ref_intensity: np.ndarray,
                 formula: str | None, min_relative: float, acquired_max: float | None = None) -> list[tuple[int, float]]:
    """``(m/z, relative intensity)`` of the candidate's own ions at >= ``min_relative`` of its base
    peak above the unknown's highest ion (and its isotope cluster), inside the acquired range:
    a candidate heavier than everything the spectrum shows would have shown them."""
    own = _nominal_spectrum(mz, intensity)
    if not own:
        return []
    highest = max(m for m, r in own.items() if r >= ION_FLOOR)
    limit = highest + isotope_reach(formula)
    top = float("inf") if acquired_max is None else acquired_max
    reference = _nominal_spectrum(ref_mz, ref_intensity)
    return [(m, round(r, 3)) for m, r in sorted(reference.items()) if limit < m <= top and r >= min_relative]


"""The mass difference between an unknown and a library compound, as analogue evidence.

New psychoactive substances are made from known drugs by a few recurring changes: a homologue
(one more CH2), a halogen on a ring (F, Cl, Br or I for H, or one halogen for another), a
methoxy or methylenedioxy group, an extra oxygen, a double bond, a positional isomer (no change
in mass). In analogue mode a library compound whose precursor (EI: estimated molecular ion)
differs from the unknown's by one of these is more likely to be a structural relative than one
at an arbitrary mass difference, and a small difference is more likely than a large one.

The analogue score puts that prior on top of the spectral similarity ``s`` (modified cosine):

    analogue score = max(s + bonus * [|dm| is a listed difference] - penalty * |dm| / 100 Da, 0) / (1 + bonus)

with ``bonus = 0.05`` and ``penalty = 0.01``; dividing by ``1 + bonus`` keeps it on 0-1 without
clipping, so hits near 1 keep their order (docs/search.md, "Analogues": on the MS/MS
development queries mean top-1 Tanimoto 0.304 -> 0.346; EI 0.384 -> 0.398). The list was written from
NPS chemistry before it was tried, not fitted. The named difference is printed with every hit
(``delta_mass_match``) so the analyst sees which change the ranking assumed.

Entry points
------------
- :data:`ANALOGUE_SHIFTS` -- the listed mass differences (name, Da); :data:`LISTED_MASSES` and
  :data:`LISTED_NOMINAL_MASSES`, the same masses alone.
- :func:`match_shift` -- index into :data:`ANALOGUE_SHIFTS` of each mass difference (-1: none);
  :func:`shift_name` its name; :func:`same_mass_reading` -- an EI pair of one molecular mass reads "isomer".
- :func:`analogue_score` -- the ranking score above.
"""
from __future__ import annotations

import numpy as np

#: Mass differences (monoisotopic, Da) by which designer-drug analogues commonly differ from a
#: parent compound, in the order they are tried (the nearest listed value names a difference).
ANALOGUE_SHIFTS: tuple[tuple[str, float], ...] = (
    ("isomer", 0.0),
    ("N for CH", 0.99525),
    ("H2", 2.01565),
    ("CH2", 14.01565),
    ("NH", 15.01090),
    ("Cl for F", 15.97045),
    ("S for O", 15.97716),
    ("O", 15.99491),
    ("F for H", 17.99058),
    ("C2H4", 28.03130),
    ("CH2O2 for H2 (methylenedioxy)", 29.97418),
    ("CH2O (methoxy for H)", 30.01056),
    ("Cl for H", 33.96103),
    ("C2H2O (acetyl)", 42.01057),
    ("C3H6", 42.04695),
    ("Br for Cl", 43.94948),
    ("C6H4", 76.03130),
    ("Br for H", 77.91051),
    ("I for H", 125.89665),
)

_SHIFT_DA = np.array([mass for _, mass in ANALOGUE_SHIFTS])
_NOMINAL_DA = np.round(_SHIFT_DA)
#: The listed masses alone (Da), for precursor-window look-ups.
LISTED_MASSES: tuple[float, ...] = tuple(float(m) for m in _SHIFT_DA)
#: The distinct listed masses at nominal mass (EI molecular-ion differences).
LISTED_NOMINAL_MASSES: np.ndarray = np.array(sorted(set(_NOMINAL_DA.tolist())))  # np.unique imports numpy.ma (~6 ms)

#: Score added when the mass difference is a listed one (0-1 scale).
BONUS = 0.05
#: Score taken off per 100 Da of mass difference.
PENALTY_PER_100_DA = 0.01


def match_shift(delta: np.ndarray, tolerance_da: np.ndarray | float, nominal: bool = False) -> np.ndarray:
    """Which listed difference each ``|delta|`` is, as an index into :data:`ANALOGUE_SHIFTS`.

    Parameters
    ----------
    delta : array of float
        Query minus library precursor (EI: molecular-ion) mass, Da; NaN = unknown.
    tolerance_da : float or array
        Half-width of the match per difference (MS/MS: 0.01 Da plus the recorded precision of
        both precursors, so a precursor written as ``318.9`` still matches).
    nominal : bool
        EI: the masses are nominal; a difference matches a listed one of the same nominal mass.

    Returns
    -------
    int64 array, -1 where no listed difference is within tolerance (or delta is NaN); else the
    nearest listed one.

    Examples
    --------
    >>> match_shift(np.array([14.0157, -17.9906, 5.0, np.nan]), 0.01).tolist()
    [3, 8, -1, -1]
    >>> match_shift(np.array([34.0, 16.0]), 0.0, nominal=True).tolist()
    [12, 5]
    """
    size = np.abs(np.asarray(delta, dtype=np.float64))
    shifts = _NOMINAL_DA if nominal else _SHIFT_DA
    distance = np.abs(size[:, None] - shifts[None, :])
    nearest = np.argmin(np.nan_to_num(distance, nan=np.inf), axis=1) if size.size else np.empty(0, np.int64)
    best = distance[np.arange(size.size), nearest] if size.size else np.empty(0)
    limit = 0.5 if nominal else np.broadcast_to(np.asarray(tolerance_da, dtype=np.float64), size.shape)
    ok = best < limit if nominal else best <= limit
    return np.where(ok & np.isfinite(size), nearest, -1).astype(np.int64)


def analogue_score(similarity: np.ndarray, delta: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The analogue ranking score (module docstring) from the spectral similarity (0-1), the mass
    difference (Da; NaN = unknown, no penalty) and :func:`match_shift`'s result.

    Examples
    --------
    >>> analogue_score(np.array([0.8, 0.8, 0.8, 1.0]), np.array([14.0157, 250.0, np.nan, 0.0]),
    ...                np.array([3, -1, -1, 0])).round(4).tolist()
    [0.8082, 0.7381, 0.7619, 1.0]
    """
    delta = np.nan_to_num(np.abs(np.asarray(delta, dtype=np.float64)), nan=0.0)
    score = np.asarray(similarity, dtype=np.float64) + BONUS * (shift >= 0) - PENALTY_PER_100_DA * delta / 100.0
    return np.maximum(score, 0.0) / (1.0 + BONUS)


#: An apparent molecular-ion difference this small (Da) is what a weak molecular ion makes of two
#: compounds of one mass (M+ read at M-1 or M+1); a larger one says the estimate, not the hit, is off.
SAME_MASS_APPARENT_DELTA = 2


def same_mass_reading(reading: str | None, query_mass: float | None, hit_mass: float | None,
                      delta: float | None = None) -> str | None:
    """What an EI analogue row's listed difference reads as: ``"isomer"`` when the query's estimated
    molecular mass equals the hit's (nominal, Da) and the apparent molecular ions differ by at most
    :data:`SAME_MASS_APPARENT_DELTA` (``delta``), else ``reading`` (the apparent molecular ions'
    difference, :func:`shift_name`). The apparent ions are the highest m/z at >= 2 % of each base peak,
    which a weak molecular ion shifts: p-mentha-1(7),8-diene against d-limonene, both C10H16, differ
    there by -1 and read "N for CH" -- an atom swap between two compounds of one formula (stop 34).
    A larger apparent difference is kept: propyl heptanoate (172), estimated 186, against propyl
    octanoate read "isomer" beside a delta of -14 (attack34) -- the estimate was wrong, "CH2" right.
    Only a listed difference is renamed (``reading`` not None): the ranking gave it the bonus, which
    "isomer" (listed too) keeps saying; an unlisted one got none and stays unnamed.

    >>> same_mass_reading("N for CH", 136, 136, -1), same_mass_reading("C2H4", 136, 164, 28)
    ('isomer', 'C2H4')
    >>> same_mass_reading("CH2", 186, 186, -14), same_mass_reading(None, 136, 136, 1)
    ('CH2', None)
    """
    if (reading and query_mass is not None and hit_mass is not None and round(query_mass) == round(hit_mass)
            and (delta is None or abs(delta) <= SAME_MASS_APPARENT_DELTA)):
        return ANALOGUE_SHIFTS[0][0]
    return reading


def shift_name(code: int, nominal: bool = False) -> str | None:
    """The name of a :func:`match_shift` code (None for -1). Nominal masses cannot tell apart
    listed differences of the same nominal mass, so all of them are named.

    >>> shift_name(3), shift_name(5, nominal=True), shift_name(-1)
    ('CH2', 'Cl for F | S for O | O', None)
    """
    if code < 0:
        return None
    if not nominal:
        return ANALOGUE_SHIFTS[code][0]
    same = _NOMINAL_DA == _NOMINAL_DA[code]
    return " | ".join(name for (name, _), hit in zip(ANALOGUE_SHIFTS, same) if hit)

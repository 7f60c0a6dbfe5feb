"""The substance group of a new substance: which EWA substance group a spectrum no library compound
explains belongs to, and the checks a named group must pass.

:func:`suspected_group` names it (EI: the learned group model; MS/MS: the closest hits' vote,
:func:`_family`, else the MS/MS model; :func:`group_request` the same up to the model, which a search
then asks for all its spectra at once, :func:`model_groups`, with the model's probability of each
group it names; :func:`scored_group` for one spectrum). An EI group stands only on more than a shared
fragment (:func:`group_evidence`), the molecular-ion cluster -- and an aliphatic compound's hydrocarbon
ions (:func:`aliphatic_series`) -- (:func:`beyond_molecular_ion`), the silyl reagent's ions
(:func:`beyond_silyl_ions`) or a haloacyl reagent's (:func:`beyond_haloacyl_ions`), and not for a
compound lighter than the group's lightest library member (:func:`below_series`); where the model names
none, a derivative's reagent vote (:func:`derivative_group`) or an indazole-3-carbonyl cannabinoid's
acylium ions (:func:`acylium_group`) may.
"""
from __future__ import annotations

from functools import lru_cache, reduce
from itertools import islice
from operator import add
from typing import Callable, Sequence

import numpy as np

from nps_id.chem.derivatives import SIGNATURE_IONS
from nps_id.chem.diagnostic_ions import ACYLIUM_SETS, group_from_ions
from nps_id.match.group_model import VOTE_COMPOUNDS, GroupModel, ModelInput, distinct_compounds, shipped_group_model
from nps_id.match.library_facts import HALOACYL_NAMES, LibraryFacts
from nps_id.match.molecular_mass import ION_FLOOR, molecular_ion, nominal_spectrum
from nps_id.match.ranked_hit import RankedHit
from nps_id.match.verdict import VerdictThresholds

#: Closest library hits below this spectral similarity (0-1) say nothing about the family.
FAMILY_MIN_SIMILARITY = 0.45
#: Share of the closest hits' similarity**4 weight one group needs to be the suspected group.
FAMILY_MIN_SHARE = 0.55
#: A group named by one library compound alone needs it at least this similar (0-1); below, two
#: distinct compounds of the group must agree. Development data (SWGDRUG left out, 2,712 flagged;
#: docs/match.md): floor 0.5 / share 0.5 / one compound enough named a wrong group for 351 and none
#: for 369; floor 0.45 / share 0.55 / this rule for 229 and 477, flagged with the right group
#: 0.667 -> 0.671 (0.674 and 468 with the diagnostic ions of this change; a cross-validated
#: logistic model on the vote's evidence: 0.677 with 226 wrong).
FAMILY_SOLO_SIMILARITY = 0.7
#: The EWA catch-all group: a family vote for it points to nothing an early warning can name.
_UNINFORMATIVE_GROUP = "Other substances"


def suspected_group(kind: str, mz: np.ndarray, intensity: np.ndarray, relative: dict[int, float],
                     hits: Sequence[RankedHit], facts: LibraryFacts, precursor: tuple[float, str] | None,
                     model: GroupModel | None) -> str | None:
    """The group of a spectrum no compound explains (:mod:`nps_id.match.group_model`): EI by the
    learned model (spectrum, diagnostic ions and the closest hits' groups); MS/MS by the closest
    hits' vote (:func:`_family`), else by the MS/MS model (fragments and losses: an identity
    search's MS/MS hits share the precursor mass, so they are seldom relatives)."""
    return scored_group(kind, mz, intensity, relative, hits, facts, precursor, model)[0]


def scored_group(kind: str, mz: np.ndarray, intensity: np.ndarray, relative: dict[int, float],
                 hits: Sequence[RankedHit], facts: LibraryFacts, precursor: tuple[float, str] | None,
                 model: GroupModel | None) -> tuple[str | None, float | None]:
    """:func:`suspected_group` and the model's probability of it (0-1; None when the hits' vote named
    it or nothing was named)."""
    group, asked = group_request(kind, mz, intensity, relative, hits, facts, precursor)
    return (group, None) if asked is None else model_groups(model or shipped_group_model(kind), [asked])[0]


def model_groups(model: GroupModel, inputs: Sequence[ModelInput]) -> list[tuple[str | None, float | None]]:
    """Per input, the group the model names and its probability of it, 3 decimals
    (:meth:`~GroupModel.scored_many`; None where it names none)."""
    return [(group, None if p is None else round(p, 3)) for group, p in model.scored_many(inputs)]


def group_request(kind: str, mz: np.ndarray, intensity: np.ndarray, relative: dict[int, float],
                  hits: Sequence[RankedHit], facts: LibraryFacts, precursor: tuple[float, str] | None
                  ) -> tuple[str | None, ModelInput | None]:
    """:func:`suspected_group` up to the model: (the group, None) when the hits' vote decides it,
    (None, the model's input for :meth:`~GroupModel.predict_many`) when the model does -- a search
    asks the model once for all its spectra that need it."""
    if kind == "ei":
        return None, (relative, hits, facts, None)
    family = _family(hits, facts)
    if family is not None or precursor is None:
        return family, None
    return None, (nominal_spectrum(mz, intensity), hits, facts, precursor)


def below_series(group: str, estimated: int | None, facts: LibraryFacts, thresholds: VerdictThresholds) -> bool:
    """Whether an EI new substance is lighter than every library compound of the group named for it
    (``group_below_series``): a series is built on a core -- phenethylamine, cathinone, tryptamine,
    the fentanyls' 4-anilinopiperidine -- that each member carries, so a member lighter than the
    series' lightest known one lacks part of it. The lightest known member stands in for the core
    (the library's contents, not the spectrum's evidence): tert-butylamine (73) named a phenethylamine
    against SWGDRUG, whose lightest is 111 (betazole)."""
    if not thresholds.group_below_series or estimated is None:
        return False
    lightest = facts.lightest(group)
    return lightest is not None and estimated < lightest


def group_evidence(relative: dict[int, float], top: RankedHit, facts: LibraryFacts,
                   thresholds: VerdictThresholds) -> bool:
    """Whether the closest compound can lend an EI new substance its group: not when the two
    share only a fragment (``group_fragment_level``; 0: off). The unknown's highest significant
    ion (its :func:`~nps_id.match.molecular_mass.molecular_ion`) holds >= that share of its base
    peak, the heavier closest compound shows it too (>= :data:`ION_FLOOR`), and the unknown lacks
    the compound's base peak -- a small ion (at most half that m/z, inside the unknown's m/z range)
    -- and its CH2 homologues (+-14, 28, 42 u): a methylindane (M+ 132 at 40 %) shares 5-APDI's
    C10H12+ ion 132, not its iminium base peak 44, the ion of the amine that makes it a drug."""
    mass, level, own = facts.mass(top.row), thresholds.group_fragment_level, molecular_ion(relative)
    if level <= 0 or mass is None or own is None or mass <= own or relative[own] < level:
        return True
    reference = facts.nominal(top.row)
    base = max(reference, key=reference.get, default=None)
    if base is None or reference.get(own, 0.0) < ION_FLOOR or not min(relative) <= base <= own / 2:
        return True
    # nor its homologues (an N-ethyl analogue's iminium ion is 14 u above an N-methyl one's)
    return any(relative.get(base + step, 0.0) >= ION_FLOOR for step in range(-42, 43, 14))


def beyond_molecular_ion(relative: dict[int, float], group: str, hits: Sequence[RankedHit], facts: LibraryFacts,
                         thresholds: VerdictThresholds) -> bool:
    """Whether a closest compound of ``group`` (among the first :data:`VOTE_COMPOUNDS` distinct
    ones) shares more with an EI new substance than its molecular ion: the cosine of the two
    nominal spectra (square-root intensities) without the unknown's molecular-ion cluster -- its
    highest significant ion M, M+1 (13C), M-1 and M-15 (the losses of H and CH3 any molecule of
    that mass shows) -- and without the compound's ions below the unknown's lowest, reaches
    ``group_beyond_molecular_ion`` (0: off). A series shares its core's fragments; a
    dimethylnaphthalene (M+ 156, 141, 155) resembles barbital only there, where barbital's
    McLafferty ion C6H8N2O3+ (156) and its M-15 141 fall, and lacks its ring ions 112, 98, 83, 55.
    A spectrum showing an aliphatic compound's series (:func:`aliphatic_series`) has its hydrocarbon
    ions (:data:`ALIPHATIC_IONS`) set aside as well: a co-eluting aliphatic compound's 55, 69, 83 are
    barbital's ring ions by nominal mass."""
    floor = thresholds.group_beyond_molecular_ion
    own = molecular_ion(relative)
    if floor <= 0 or own is None:
        return True
    cluster = {own - 15, own - 1, own, own + 1}
    return _group_resembles(relative, cluster | ALIPHATIC_IONS if aliphatic_series(relative) else cluster,
                            group, hits, facts, floor)


#: The hydrocarbon ions CnH2n-1+ (alkenyl, cycloalkyl), CnH2n+ (alkene) and CnH2n+1+ (alkyl), n = 3-8:
#: 41-43, 55-57, ... 111-113, which an aliphatic compound (an alkane, a fatty chain, a solvent, the
#: column's) shows whatever co-elutes with it -- and which a drug's ring and chain fragments share
#: by nominal mass (barbital's 55, 69, 83, 98, 112).
ALIPHATIC_IONS = frozenset(14 * n + d for n in range(3, 9) for d in (-1, 0, 1))
#: An aliphatic compound's ion series: the alkenyl / cycloalkyl ions C4H7+ 55, C5H9+ 69, C6H11+ 83
#: (alkenes, cycloalkanes, fatty chains) or the alkyl ions C4H9+ 57, C5H11+ 71, C6H13+ 85 (alkanes).
ALIPHATIC_SERIES = ((55, 69, 83), (57, 71, 85))
#: Each ion of a series at >= this share of the base peak: of SWGDRUG's 2,988 spectra 14 show the first
#: (fatty acids, sterols, camphor), 10 the second (alkanes, fatty acids), none a barbiturate.
ALIPHATIC_SERIES_LEVEL = 0.3


def aliphatic_series(relative: dict[int, float]) -> bool:
    """Whether an EI spectrum shows an aliphatic compound's ion series (:data:`ALIPHATIC_SERIES`, each
    ion >= :data:`ALIPHATIC_SERIES_LEVEL`): its hydrocarbon ions (:data:`ALIPHATIC_IONS`) then say
    nothing of a drug group -- the ELEY run's 17.41 min component, a dimethylnaphthalene (M+ 156, 141)
    with a co-eluting aliphatic compound's 69, 83, 55 at 62-77 %, resembled barbital by them."""
    return any(all(relative.get(m, 0.0) >= ALIPHATIC_SERIES_LEVEL for m in series) for series in ALIPHATIC_SERIES)


def _group_resembles(relative: dict[int, float], set_aside: set[int] | frozenset[int], group: str,
                     hits: Sequence[RankedHit], facts: LibraryFacts, floor: float) -> bool:
    """Whether a closest compound of ``group`` (among the first :data:`VOTE_COMPOUNDS` distinct ones)
    resembles the unknown at >= ``floor`` cosine, both without the ions ``set_aside`` and the compound
    without its ions below the unknown's lowest."""
    low = min(relative)
    mine = {m: v for m, v in relative.items() if m not in set_aside}
    for hit in islice(distinct_compounds(hits, facts), VOTE_COMPOUNDS):
        if facts.group(hit.row) != group:
            continue
        theirs = {m: v for m, v in facts.nominal(hit.row).items() if m not in set_aside and m >= low}
        if _cosine(mine, theirs) >= floor:
            return True
    return False


#: The ions of a trimethylsilyl group whatever the molecule carrying it (TMS derivative, silane,
#: siloxane): SiH(CH3)2+ 59 aside, CH3SiH2+ 45, Si(CH3)3+ 73 and its Si/13C isotope peaks 74-75
#: (with (CH3)2SiOH+ 75), (CH3)2Si=O+-Si(CH3)3 147 and its isotope peaks.
SILYL_IONS = frozenset({45, 73, 74, 75, 147, 148, 149})


def beyond_silyl_ions(relative: dict[int, float], group: str, hits: Sequence[RankedHit], facts: LibraryFacts,
                      thresholds: VerdictThresholds) -> bool:
    """Whether an EI unknown showing the silyl reagent's ion Si(CH3)3+ (m/z 73, >= ``significant_ion_level``)
    -- or whose group's closest compound is a TBDMS derivative (:func:`tbdms_ions`) -- still resembles a
    closest compound of ``group`` at >= ``group_beyond_silyl_ions`` cosine once the trimethylsilyl ions
    (:data:`SILYL_IONS`) are set aside, and for such a group once that derivative's reagent ions are set aside
    as well (0: off; True otherwise). A silyl
    derivative's group is its drug's, whose ions it keeps; a silane or siloxane shares only the silyl ions
    with the library's TMS steroids and GHB derivatives, which the group model and the derivatives' vote
    read as those groups, and a disilapiperidine's M-H 172 is ephedrine bis-TBDMS's reagent-bearing
    iminium ion CH3CH=N(CH3)-Si(CH3)2C(CH3)3+."""
    floor = thresholds.group_beyond_silyl_ions
    if floor <= 0:
        return True
    if silyl_shown(relative, thresholds) and not _group_resembles(relative, SILYL_IONS, group, hits, facts, floor):
        return False
    # a second check, not a wider one: a residual of a few small ions can resemble more than the whole
    return _beyond_reagent_ions(relative, group, hits, facts, floor, tbdms_ions, SILYL_IONS)


def _beyond_reagent_ions(relative: dict[int, float], group: str, hits: Sequence[RankedHit], facts: LibraryFacts,
                         floor: float, ions_of: Callable[[tuple[str, ...]], frozenset[int]],
                         also: frozenset[int] = frozenset()) -> bool:
    """Whether the unknown still resembles a closest compound of ``group`` at >= ``floor`` once the reagent
    ions ``ions_of`` reads in the group's closest compound's reagents (:meth:`LibraryFacts.reagents`; and
    ``also``) are set aside; True when
    that compound carries no such reagent, or none of the group is among the closest."""
    first = next((hit for hit in islice(distinct_compounds(hits, facts), VOTE_COMPOUNDS)
                  if facts.group(hit.row) == group), None)
    reagent = ions_of(facts.reagents(first.row)) if first is not None else frozenset()
    return not reagent or _group_resembles(relative, also | reagent, group, hits, facts, floor)


#: The TBDMS cation (CH3)3C-Si(CH3)2+: no ion carrying the reagent is lighter.
TBDMS_ION = 115


@lru_cache(maxsize=64)
def tbdms_ions(reagents: tuple[str, ...]) -> frozenset[int]:
    """The ions a TBDMS derivative's spectrum owes to its reagent (empty when ``reagents``, a structure's
    :func:`~nps_id.match.library_facts.reagent_names`, holds no TBDMS): C4H9+ 57 and every ion from the TBDMS
    cation's 115 up -- those that may carry it, as the iminium ions of amphetamine TBDMS (158) and ephedrine
    bis-TBDMS (172) do, and its M-57 ions."""
    return frozenset(range(TBDMS_ION, ACYL_ION_CEILING)) | {57} if "TBDMS" in reagents else frozenset()


#: Nominal masses of a trihaloacetyl's atoms (the lightest isotope: an ion's first peak).
_NOMINAL = {"C": 12, "O": 16, "F": 19, "Cl": 35}


@lru_cache(maxsize=64)
def haloacyl_ions(reagents: tuple[str, ...]) -> frozenset[int]:
    """The ions a haloacyl derivative's spectrum owes to its reagents (each trihaloacetyl of ``reagents``, a
    structure's :func:`~nps_id.match.library_facts.reagent_names`; empty when none): every ion from the acyl's
    nominal mass up -- those that may carry it, as the iminium ion CCl3CO-N(CH3)=CH-CH3+ (m/z 202, 204, 206, 208)
    of N-trichloroacetylmethamphetamine does -- and its trihalomethyl cation with the chlorine isotope peaks
    (CF3+ 69; CCl3+ 117, 119, 121, 123). Every acyl (a TFA and a trichloroacetyl on one drug): the first alone
    left CF3+ 69 and 97-144 in."""
    return frozenset().union(*(_acyl_ions(HALOACYL_NAMES.index(name)) for name in reagents if name in HALOACYL_NAMES))


def _acyl_ions(chlorines: int) -> frozenset[int]:
    """:func:`haloacyl_ions` of one trihaloacetyl of ``chlorines`` Cl (the others F)."""
    cation = _NOMINAL["C"] + chlorines * _NOMINAL["Cl"] + (3 - chlorines) * _NOMINAL["F"]
    acyl = cation + _NOMINAL["C"] + _NOMINAL["O"]
    return frozenset(range(acyl, ACYL_ION_CEILING)) | {cation + 2 * k for k in range(chlorines + 1)}


#: Above every ion a library spectrum holds (the training spectra's highest is 2,457).
ACYL_ION_CEILING = 5000


def beyond_haloacyl_ions(relative: dict[int, float], group: str, hits: Sequence[RankedHit], facts: LibraryFacts,
                         thresholds: VerdictThresholds) -> bool:
    """Whether an EI new substance whose closest compound of ``group`` is a haloacyl derivative
    (:func:`haloacyl_ions`) still resembles a closest compound of the group at >=
    ``group_beyond_haloacyl_ions`` cosine once that reagent's ions are set aside (0: off; True when the
    group's closest compound is no such derivative). A derivative's group is its drug's, whose ions below
    the acyl it keeps (methamphetamine's 91, 118, 65); Dechlorane Plus (C18H12Cl12) shares only a
    chlorine cluster (202, 204, 206) with N-trichloroacetylmethamphetamine's reagent-bearing iminium ion,
    which the group model read as a phenethylamine at 0.765, and camphor's C5H9+ 69 is CF3+ to the TFA
    derivatives' vote."""
    floor = thresholds.group_beyond_haloacyl_ions
    return floor <= 0 or _beyond_reagent_ions(relative, group, hits, facts, floor, haloacyl_ions)


def _cosine(a: dict[int, float], b: dict[int, float]) -> float:
    """Cosine of two nominal spectra, square-root intensities (0 when either is empty)."""
    dot = sum(np.sqrt(v * b[m]) for m, v in a.items() if m in b)
    # left to right on any Python (3.12's sum of Python floats compensates: other bits)
    norm = np.sqrt(reduce(add, a.values(), 0.0) * reduce(add, b.values(), 0.0))
    return float(dot / norm) if norm > 0 else 0.0


def acylium_group(relative: dict[int, float], thresholds: VerdictThresholds) -> str | None:
    """The group of an EI new substance the group model leaves without one whose spectrum holds an
    indazole-3-carbonyl cannabinoid's acylium ions (:data:`~nps_id.chem.diagnostic_ions.ACYLIUM_SETS`;
    ``group_acylium_ions`` False: off)."""
    found = group_from_ions(relative, ACYLIUM_SETS) if thresholds.group_acylium_ions else None
    return found.group if found is not None else None


def silyl_shown(relative: dict[int, float], thresholds: VerdictThresholds) -> bool:
    """Whether an EI spectrum shows the silyl reagent's ion Si(CH3)3+ (m/z 73) as a significant ion: its
    group must then rest on more than the silyl ions (:func:`beyond_silyl_ions`)."""
    return relative.get(SIGNATURE_IONS["silyl"], 0.0) >= thresholds.significant_ion_level


def derivative_group(relative: dict[int, float], hits: Sequence[RankedHit], facts: LibraryFacts,
                     thresholds: VerdictThresholds) -> str | None:
    """The group of an EI derivative the group model leaves without one: the closest distinct
    compound, at >= ``group_derivative_similarity``, is a derivative (:mod:`nps_id.chem.derivatives`)
    and the unknown shows that reagent's ion (Si(CH3)3+ 73, CF3+ 69) as a significant ion; the
    closest derivatives of that reagent (>= the same similarity) vote with similarity**4 and a group
    with >= :data:`FAMILY_MIN_SHARE` of their weight is named. A derivative's spectrum is the
    reagent's as much as the drug's (the model reads 'a TFA amide', not 'an amphetamine'); among
    derivatives of one reagent the closest share the drug's side chain, which its amide or silyl
    fragments carry. None otherwise (0: off)."""
    floor = thresholds.group_derivative_similarity
    shown = {kind for kind, ion in SIGNATURE_IONS.items() if relative.get(ion, 0.0) >= thresholds.significant_ion_level}
    if floor <= 0 or not shown:  # the spectrum first: most hold neither ion, and need no structure
        return None
    closest = list(islice(distinct_compounds(hits, facts, floor), VOTE_COMPOUNDS))
    reagent = facts.reagent(closest[0].row) if closest else None
    if reagent not in shown:
        return None
    weights: dict[str | None, float] = {}
    for hit in closest:
        if facts.reagent(hit.row) == reagent:
            group = facts.group(hit.row)
            weights[group] = weights.get(group, 0.0) + hit.similarity ** 4
    group, weight = max(weights.items(), key=lambda kv: kv[1])
    return group if group is not None and weight >= FAMILY_MIN_SHARE * sum(weights.values()) else None


def _family(hits: Sequence[RankedHit], facts: LibraryFacts) -> str | None:
    """The EWA group the closest hits agree on, or None: the group with the most similarity**4
    weight among the distinct compounds >= :data:`FAMILY_MIN_SIMILARITY`, when that is at least
    :data:`FAMILY_MIN_SHARE` of the weight and comes from two compounds or one >=
    :data:`FAMILY_SOLO_SIMILARITY` (one look-alike is as often of another series)."""
    weights: dict[str | None, float] = {}
    compounds: dict[str | None, int] = {}
    closest: dict[str | None, float] = {}
    for hit in distinct_compounds(hits, facts, FAMILY_MIN_SIMILARITY):
        group = facts.group(hit.row)
        if group == _UNINFORMATIVE_GROUP:  # "other substances" without a subclass names no family
            group = None
        weights[group] = weights.get(group, 0.0) + hit.similarity ** 4
        compounds[group] = compounds.get(group, 0) + 1
        closest[group] = max(closest.get(group, 0.0), hit.similarity)
    total = sum(weights.values())
    if total == 0:
        return None
    group, weight = max(weights.items(), key=lambda kv: kv[1])
    if group is None or weight < FAMILY_MIN_SHARE * total:
        return None
    return group if compounds[group] >= 2 or closest[group] >= FAMILY_SOLO_SIMILARITY else None

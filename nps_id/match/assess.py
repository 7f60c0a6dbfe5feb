"""One spectrum, its ranked library hits -> what it may be called, and what it probably is.

Shared by ``nps-id search`` (a verdict per query) and ``nps-id match`` (a verdict per
component), so a spectrum gets the same verdict wherever a rule applies to it. Besides the
verdict rules of :mod:`nps_id.match.verdict` it brings the chemistry the score alone lacks:

- isomers the spectrum cannot exclude, in the library or not (:mod:`nps_id.match.isomer_evidence`
  on :mod:`nps_id.match.isomer_rule`);
- molecular-ion consistency: a candidate lighter than ions of the spectrum is not the compound;
- an estimated nominal molecular mass (:mod:`nps_id.match.molecular_mass`);
- the new-substance call (:func:`unexplained`): no library compound explains the spectrum --
  ``new_substance``, with its ``suspected_group`` (:mod:`nps_id.match.substance_group`), the closest
  compounds with their mass differences and what those differences read as (``CH2``, ``F for H``).

Entry points: :func:`assess` -> :class:`Assessment`, :func:`assess_search` (a search's hits, as
:class:`~nps_id.match.ranked_hit.RankedHit`). What the rules read of the library is a
:class:`~nps_id.match.library_facts.LibraryFacts` (:mod:`nps_id.match.library_facts`, with its
cache-folder files).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from math import isfinite
from operator import le
from typing import Any, Callable, Sequence

import numpy as np

from nps_id.lcms.features import ADDUCTS, PROTON, Adduct, adduct_named, adducts_for, ion_mz
from nps_id.match.dominant_ion import one_ion_spectrum, rest_disagrees
from nps_id.match.group_model import VOTE_COMPOUNDS, GroupModel, ModelInput, distinct_compounds, shipped_group_model
from nps_id.match.isomer_evidence import absent_isomer, close_isomers, injector_relatives, isomer_check, with_close_isomers
from nps_id.match.isomer_rule import IsomerCheck, Rates
from nps_id.match.library_facts import LibraryFacts
from nps_id.match.molecular_mass import Neighbour
from nps_id.match.precursor_formula import ion_computable, precursor_formula_error
from nps_id.match.molecular_mass import (
    HIT_VOTES, KEEP_BLEED_IONS, confirmed_ion_above, estimate_mass, estimate_masses, ions_above,
    ions_missing, molecular_ions_disagree, without_column_bleed,
    molecular_ion, nominal_spectra, nominal_spectrum, unexplained_molecular_ion,
)
from nps_id.match.ranked_hit import RankedHit
from nps_id.match.substance_group import (acylium_group, below_series, beyond_haloacyl_ions, beyond_molecular_ion,
                                          beyond_silyl_ions, derivative_group, group_evidence, group_request,
                                          model_groups, scored_group)
from nps_id.match.verdict import (
    IDENTIFIED, INCONCLUSIVE, MAY_BE_NEW, Evidence, RuleId, Verdict, VerdictThresholds, decide,
    decide_level, formula_fits, may_be,
)
from nps_id.search.analogue import match_shift, shift_name
from nps_id.search.preprocess import nominal_mass as nominal_mz
from nps_id.search.reference import Reference
from nps_id.search.scores.base import kind_of, to_999_column

#: Hits per query the verdict fields read: the mass estimate's first HIT_VOTES, the group model's
#: VOTE_COMPOUNDS distinct compounds (a compound's several spectra between them). `nps-id search`
#: searches at least this many and prints --top: fewer hits changed them (--top 1 against 10 on the
#: MassBank EI analogue queries: 16 estimated masses, 30 groups, a verdict; 10 = 20 = 80).
EVIDENCE_HITS = 2 * max(HIT_VOTES, VOTE_COMPOUNDS)
#: An inconclusive spectrum's best hit with the spectrum's molecular mass and at least this
#: similarity (0-1, by spectrum kind) may be that compound measured elsewhere: the spectrum is not
#: called new. EI 0.7 (development data: 0.6 / 0.7 / 0.8 flag 0.87 / 0.91 / 0.91 of SWGDRUG
#: compounds left out and call 0.22 / 0.27 / 0.27 of present MassBank EI queries new; at 0.6 the
#: LRCFS etizolam peak against SWGDRUG without etizolam, same nominal mass as flutoprazepam at
#: similarity 0.61, was not flagged); MS/MS 0.6 (0.5 / 0.6 / 0.7 flag 0.84 / 0.87 / 0.91 of absent
#: compounds, against 0.21 / 0.25 / 0.31 of present ones called new).
SAME_MASS_SIMILARITY = {"ei": 0.7, "ms2": 0.6}
#: A "weak match" to a compound of the spectrum's molecular mass explains the spectrum only at
#: this similarity (0-1): below it the hit is a same-mass relative -- once the estimated mass was
#: right more often (stop 21), weak matches to an absent compound's library isomer went unflagged
#: (isobutyl nitrite -> N-butyl nitrite). Development data, 0.7 / 0.75 / 0.8: flagged SWGDRUG
#: left out 0.91 / 0.93 / 0.97, MassBank EI left out 0.78 / 0.85 / 0.91, absent 0.84 / 0.92 / 0.94,
#: MS/MS left out 0.89 / 0.91 / 0.92; present MassBank called new EI 0.21 / 0.24 / 0.31, MS/MS
#: 0.26 / 0.31 / 0.35 (docs/match.md). 0.76 since the far neutral losses (stop 24): a right mass
#: more often equals the absent compound's same-mass isomer; at 0.75 flags fell (SWGDRUG left
#: out 0.929 -> 0.927, MassBank EI 0.863 -> 0.859), at 0.76 they rise (0.932, 0.870; MassBank
#: EI present called new 0.248 -> 0.253).
WEAK_SAME_MASS_SIMILARITY = 0.76
#: Closest distinct compounds listed for a new substance.
N_CLOSEST = 3
_tuple_new = tuple.__new__


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` concludes of one spectrum: its verdict, whether no library compound explains
    it (``new_substance``) and with what group and estimated mass, the isomers it does not exclude
    (None: not checked) and, for a new substance, its closest library compounds."""

    verdict: Verdict
    new_substance: bool
    suspected_group: str | None
    estimated_mass: int | None
    isomers: IsomerCheck | None
    closest: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: the group model's probability (0-1) of ``suspected_group``; None when no model named it
    group_probability: float | None = None

    def fields(self) -> dict[str, Any]:
        """The per-spectrum fields of the search and match contracts (``held_by`` a tuple: one hashable
        value per query, written as a JSON list). ``held_by`` of an "isomer not excluded" verdict only
        (docs/search.md): the search's :func:`decide_level` skips the isomer check under the other rules
        (isomer ambiguity, a failed score), so a held isomer there would depend on the path taken."""
        return {
            "verdict": self.verdict.verdict,
            "verdict_rule": self.verdict.rule,
            "new_substance": self.new_substance,
            "suspected_group": self.suspected_group,
            "estimated_mass": self.estimated_mass,
            "suspected_group_probability": self.group_probability,
            "held_by": tuple(self.verdict.held_by) if self.verdict.rule_id == RuleId.ISOMER_NOT_EXCLUDED else (),
        }


def assess(
    mz: np.ndarray,
    intensity: np.ndarray,
    kind: str,
    hits: Sequence[RankedHit],
    facts: LibraryFacts,
    *,
    gap: int | None,
    isomer_alert: bool,
    thresholds: VerdictThresholds = VerdictThresholds(),
    precursor: tuple[float, str] | None = None,
    precursor_type: str | None = None,
    identity: bool = True,
    acquired_max: float | None = None,
    fields_only: bool = False,
    estimated: tuple[dict[int, float], int | None] | None = None,
    group_model: GroupModel | None = None,
    isomer_rates: Rates | None = None,
    library_ri: Callable[[int], float | None] | None = None,
    background: frozenset[int] = frozenset(),
    defer_group: bool = False,
    **evidence: Any,
) -> Assessment | PendingGroup:
    """Verdict and new-substance evidence for one spectrum.

    Parameters
    ----------
    mz, intensity
        The spectrum (EI: as measured; the checks bin to nominal mass).
    kind
        ``"ei"`` or ``"ms2"``.
    hits
        Its library hits, best first (identity mode; analogue hits may follow for the family).
    gap, isomer_alert
        As the search computed them for the top hit.
    precursor
        MS/MS: (precursor m/z, ion mode) for the estimated mass.
    precursor_type
        MS/MS: the ion type the spectrum states its precursor is (a record's ``Precursor_type``);
        None: unknown (a run's scans), any ion type of the candidate then passes.
    acquired_max
        Highest m/z the instrument scanned (a run's range); None: the spectrum's own.
    identity
        False when ``hits`` come from an analogue search: they can support a close analogue or a
        new substance, never an identification.
    evidence
        Further :class:`~nps_id.match.verdict.Evidence` fields (``major_ions``, ``n_ions``,
        ``delta_ri``, ``same_hit_elsewhere``, ``analogue_score``, ``analogue_confidence``).
    fields_only
        Compute only what :meth:`Assessment.fields` needs (``nps-id search``): the same values,
        but the hit's isomers are enumerated (RDKit) only when they can change the verdict --
        when it is ``identified`` without them -- and ``closest`` is left empty.
    estimated
        EI: the spectrum's :func:`~nps_id.match.molecular_mass.nominal_spectrum` and estimated mass
        when the caller has them (:func:`assess_search` estimates all its queries at once).
    group_model
        The :class:`~nps_id.match.group_model.GroupModel` of ``kind`` naming the suspected group
        (None: the shipped one; a benchmark passes the fold model that never saw the query's compound).
    isomer_rates
        The isomer rate curves the isomer rules read (None: the shipped file's,
        :func:`~nps_id.match.isomer_rule.load_rates`; the dev bench passes curves learned without the
        left-out compound's own pairs, as a held-back compound's are).
    library_ri
        Library row -> its retention index (None: unknown): with ``delta_ri``, a diastereomer of the
        hit whose RI is outside the window of the unknown's is excluded (:func:`_with_diastereomers`).
    background
        EI, a GC run's component: its ions the run's background explains
        (:func:`nps_id.gcms.background.background_ions`), set aside in the estimated mass and the
        molecular-ion rules; empty (a library spectrum, a search): none.
    defer_group
        A new substance is returned as its :class:`PendingGroup` (verdict decided, group model not
        asked, ``group_model`` unused but for a spectrum without hits): :func:`assess_search` then asks
        the model for all its spectra at once.
    """
    if estimated is not None:
        relative, estimated = estimated
    else:
        relative = nominal_spectrum(mz, intensity) if kind == "ei" else {}
        # the run's background is the column's, never the compound's molecular ion
        estimated = _estimated_mass(without_column_bleed(relative, level=KEEP_BLEED_IONS, background=background),
                                    kind, hits, facts, precursor)
    if not hits:
        verdict = decide(Evidence(kind=kind, score=0, mf=0 if kind == "ei" else None,
                                  rmf=0 if kind == "ei" else None, gap=None), thresholds)
        # nothing in the library resembles it (MS/MS: no library precursor at its mass); a
        # spectrum without peaks is no substance at all
        group, probability = scored_group(kind, mz, intensity, relative, hits, facts, precursor, group_model)
        return Assessment(verdict, bool(np.size(mz)), group, estimated, None, group_probability=probability)
    top = hits[0]

    def isomers_of_hit() -> IsomerCheck:
        return isomer_check(mz, intensity, kind, hits, facts, gap, thresholds, precursor, evidence.get("delta_ri"),
                            library_ri, isomer_rates, relative)

    above = missing = lighter_ion = both_ions = one_ion = None
    top_mass = facts.mass(top.row) if kind == "ei" else None  # the hit row's facts, read once a query
    if top_mass is not None:
        formula, own_ion, reference = facts.formula(top.row), facts.ion(top.row), facts.nominal(top.row)
        # the unknown's ions as its molecular-ion evidence: weak column-bleed ions are the column's
        unbled = without_column_bleed(relative, thresholds.column_bleed_level, background)
        ion = molecular_ion(unbled)  # the unknown's, once for both rules below
        above = tuple(ions_above(unbled, formula, thresholds.ions_above_level, own_ion)
                      or confirmed_ion_above(unbled, estimated, formula, own_ion, own=ion,
                                             faint=thresholds.estimated_ion_level))
        missing = tuple(ions_missing(relative, reference, formula, thresholds.ions_above_level, acquired_max))
        lighter_ion = unexplained_molecular_ion(unbled, estimated, reference, top_mass,
                                                thresholds.molecular_ion_level, own=ion)
        lighter_ion = None if lighter_ion is None else tuple(lighter_ion)  # None: does not apply, silent
        both_ions = molecular_ions_disagree(relative, estimated, reference, top_mass,
                                            thresholds.candidate_ion_level, acquired_max, own_ion)
        both_ions = None if both_ions is None else tuple(both_ions)  # None: does not apply, silent
        base = one_ion_spectrum(reference, formula, top_mass, thresholds.one_ion_share, thresholds.molecular_ion_level)
        if base is not None:
            one_ion = (base, rest_disagrees(relative, reference, base, top_mass,
                                            thresholds.one_ion_rest_level, thresholds.one_ion_rest_factor))
    min_gap = thresholds.min_gap if kind == "ei" else thresholds.min_gap_ms2
    injector: list[dict[str, str]] = []

    def relatives() -> dict[str, str]:
        """The hit's injector relatives (EI), made when first asked (most queries never ask): a
        closure, not ``functools.cache`` -- whose wrapper cost ~20 us a query to make."""
        if not injector:
            injector.append(injector_relatives(top, facts, thresholds) if kind == "ei" else {})
        return injector[0]
    close = (close_isomers(hits, facts, min_gap, relatives)
             if identity and (isomer_alert or (gap is not None and gap < min_gap)) else ())
    close_names = tuple(facts.name(hit.row) for hit in close)
    # the close compounds that are the hit's GC injector relatives (phenibut / its lactam): named as such
    moves = relatives() if any(facts.formula(hit.row) != facts.formula(top.row) for hit in close) else {}
    close_relatives = tuple((facts.name(hit.row), moves[facts.block(hit.row)]) for hit in close
                            if facts.block(hit.row) in moves)
    precursor_ion = record_precursor = precursor_formula = None
    molecule = facts.molecule_mass(top.row) if kind == "ms2" else None
    stated = precursor_type if thresholds.ms2_stated_precursor_type else None
    formula_precursor = precursor if ion_computable(precursor_type) else None
    # math.isfinite: the precursor m/z is a Python float (np.isfinite of one costs ~1 us, twice a query)
    if molecule is not None and precursor is not None and isfinite(precursor[0]):
        precursor_ion = (precursor[0], ion_type(precursor[0], precursor[1], molecule, stated))
        if evidence.get("precursor_ppm") is None:  # a run's MS1 peak, when found, judges the formula (hrms)
            precursor_formula = formula_error(top.row, facts, formula_precursor, stated)
    # the accurate precursor excludes the hit's formula: an isobar, so neither it nor its isomers are the substance
    isobar = precursor_formula is not None and not formula_fits(precursor_formula, thresholds)
    if kind == "ms2" and precursor is not None and isfinite(precursor[0]):
        record_mz = float(facts.reference.columns["precursor_mz"][top.row])
        if isfinite(record_mz):
            record_precursor = (record_mz, abs(precursor[0] - record_mz) <= PRECURSOR_ION_DA)
    # match: the close isomers join the enumerated ones (the findings' isomers_not_excluded, the EWA
    # export's count); the search's columns never read them
    isomers = None if fields_only or isobar else with_close_isomers(isomers_of_hit(), close, facts)
    if identity:
        # EI: the ions that carry the match, not the specks ``n_ions`` also counts
        # counted in C (Python floats: a bool each, an int sum; NaN is no ion)
        significant = (int(sum(map(partial(le, thresholds.significant_ion_level), relative.values()))) if kind == "ei"
                       else None)
        found = Evidence(kind=kind, score=top.score, mf=top.mf, rmf=top.rmf, gap=gap, isomer_alert=isomer_alert,
                         isomers=isomers, ions_above=above, ions_missing=missing, ion_unexplained=lighter_ion,
                         ions_disagree=both_ions, one_ion=one_ion,
                         precursor_ion=precursor_ion, record_precursor=record_precursor, close_isomers=close_names,
                         precursor_formula=precursor_formula,
                         stated_ion=stated_ion(precursor_type) if thresholds.ms2_stated_precursor_type else None,
                         close_relatives=close_relatives, estimated_mass=estimated,
                         significant_ions=significant, **evidence)
        if fields_only:
            verdict, isomers = decide_level(found, isomers_of_hit, thresholds)
        else:
            verdict = decide(found, thresholds)
    else:  # analogue hits: the identity criteria are failed by construction, not evaluated
        verdict = decide(Evidence(kind=kind, score=0, mf=0 if kind == "ei" else None, rmf=0 if kind == "ei" else None,
                                  gap=gap, identity_hit=False, **evidence), thresholds)
    if verdict.verdict == IDENTIFIED or verdict.rule_id in (RuleId.ISOMER_NOT_EXCLUDED, RuleId.ISOMER_AMBIGUITY):
        # The hit, or an isomer of it the spectrum cannot tell apart: the hit's group either way.
        if MAY_BE_NEW in verdict.rule:  # decide's words, whatever the hit
            verdict = replace(verdict, rule=may_be(verdict.rule, absent_isomer(top.row, facts, isomers)))
        if verdict.verdict == IDENTIFIED and kind == "ei" and facts.mass(top.row) is not None:
            # the compound named is the spectrum's: its mass, not the estimate's (bupivacaine, no
            # M+ 288, estimated 197; an isomer-not-excluded hit may be a homologue: kept)
            estimated = facts.mass(top.row)
        return Assessment(verdict, False, facts.group(top.row), estimated, isomers)
    # the spectrum shares the candidate's one nitrogen-bearing ion but not the rest of its molecule
    # (nps_id.match.dominant_ion): a relative of the candidate, not the candidate -- a suspected new
    # substance; its amine part is the candidate's, so the candidate's series when the model names
    # none (the checks below that a group rests on more than a shared fragment apply to it as well)
    relative_hit = verdict.rule_id == RuleId.WEAK_MATCH and one_ion is not None and bool(one_ion[1])
    ppm = evidence.get("precursor_ppm")
    pending = PendingGroup(verdict, relative_hit, kind, mz, intensity, relative, hits, facts, precursor, estimated,
                           isomers, thresholds, fields_only, ppm is not None and abs(ppm) <= thresholds.precursor_ppm,
                           isobar, stated, formula_precursor)
    if defer_group:
        return pending
    return pending.finish(*scored_group(kind, mz, intensity, relative, hits, facts, precursor, group_model))


@dataclass(frozen=True)
class PendingGroup:
    """A new substance's :func:`assess` before its suspected group: the verdict is decided, the
    group model not yet asked (:func:`assess_search` asks it once for all of a search's spectra)."""

    verdict: Verdict
    relative_hit: bool
    kind: str
    mz: np.ndarray
    intensity: np.ndarray
    relative: dict[int, float]
    hits: Sequence[RankedHit]
    facts: LibraryFacts
    precursor: tuple[float, str] | None
    estimated: int | None
    isomers: IsomerCheck | None
    thresholds: VerdictThresholds
    fields_only: bool
    formula_confirmed: bool
    #: MS/MS: the accurate precursor excludes the top hit's formula (:func:`formula_error`)
    isobar: bool = False
    #: MS/MS: the ion type the spectrum states, as the rules read it (:func:`_candidate_ions`)
    stated: str | None = None
    #: MS/MS: the precursor the formula criterion reads (None: an ion type it cannot compute, :func:`ion_computable`)
    formula_precursor: tuple[float, str] | None = None

    def request(self) -> tuple[str | None, ModelInput | None]:
        """:func:`~nps_id.match.substance_group.group_request`: the hits' group, or the model's input."""
        return group_request(self.kind, self.mz, self.intensity, self.relative, self.hits, self.facts, self.precursor)

    def finish(self, group: str | None, probability: float | None = None) -> Assessment:
        """The assessment, ``group`` the one :func:`~nps_id.match.substance_group.scored_group` names
        (vote or model), ``probability`` the model's of it (kept while the group is the model's)."""
        named = group
        kind, relative, hits, facts, thresholds, top = self.kind, self.relative, self.hits, self.facts, self.thresholds, self.hits[0]
        # the spectrum shares the candidate's one nitrogen-bearing ion but not the rest of its molecule
        # (nps_id.match.dominant_ion): a relative of the candidate, not the candidate -- a suspected new
        # substance; its amine part is the candidate's, so the candidate's series when the model names
        # none (the checks below that a group rests on more than a shared fragment apply to it as well)
        if group is None and self.relative_hit:
            group = facts.group(top.row)
        if group is not None and kind == "ei" and not (group_evidence(relative, top, facts, thresholds)
                                                       and beyond_molecular_ion(relative, group, hits, facts, thresholds)):
            group = None
        elif group is None and kind == "ei":
            group = derivative_group(relative, hits, facts, thresholds) or acylium_group(relative, thresholds)
        if group is not None and kind == "ei" and not (beyond_silyl_ions(relative, group, hits, facts, thresholds)
                                                       and beyond_haloacyl_ions(relative, group, hits, facts, thresholds)):
            group = None
        if group is not None and kind == "ei" and below_series(group, self.estimated, facts, thresholds):
            group = None
        excludes = partial(_excludes_formula, facts=facts, precursor=self.formula_precursor, stated=self.stated,
                           thresholds=thresholds)
        closest = () if self.fields_only else _closest(hits, facts, self.estimated, kind, excludes)
        new = self.relative_hit or unexplained(self.verdict, top, facts, self.estimated, kind, self.formula_confirmed,
                                               self.isobar)
        return Assessment(self.verdict, new, group, self.estimated, self.isomers, closest,
                          probability if group is not None and group == named else None)

def unexplained(verdict: Verdict, top: RankedHit, facts: LibraryFacts, estimated: int | None, kind: str,
                formula_confirmed: bool = False, isobar: bool = False) -> bool:
    """True when no library compound explains the spectrum (a suspected new substance), for a
    verdict that names no compound:

    - ``inconclusive`` -- unless the best hit has the spectrum's molecular mass (EI: estimated;
      MS/MS: from the precursor) and a similarity >= :data:`SAME_MASS_SIMILARITY` (of its ``kind``): then it may be
      that compound measured on another instrument or at another collision energy (or a
      derivative recorded under its parent's formula, whose molecular-ion check fails) -- unless
      ``isobar`` (MS/MS: the spectrum's accurate precursor excludes the hit's formula,
      :func:`formula_error`): the hit has the nominal mass only, another formula;
    - ``tentative`` "close analogue" -- always (analogue evidence never names a compound);
    - ``tentative`` "weak match" -- when the hit's molecular mass differs from the spectrum's,
      or equals it at a similarity below :data:`WEAK_SAME_MASS_SIMILARITY`: the hit is a relative
      (a homologue, a derivative, an isomer), not the compound -- unless ``formula_confirmed``
      (LC-HRMS: the precursor's exact mass within the ppm window of the hit's ion): then the
      spectrum has the hit's formula, and a weak MS/MS match at another collision energy or on
      another instrument is the compound or its isomer, which the verdict's rule names.
    Every other ``tentative`` (RI or HRMS criteria not met) passes on the spectrum: not new.
    """
    mass = facts.mass(top.row)
    same_mass = estimated is not None and mass == estimated
    if verdict.verdict == INCONCLUSIVE:
        return isobar or not (same_mass and top.similarity >= SAME_MASS_SIMILARITY[kind])
    if verdict.rule_id == RuleId.CLOSE_ANALOGUE:
        return True
    return (verdict.rule_id == RuleId.WEAK_MATCH and estimated is not None and mass is not None
            and not (same_mass and (formula_confirmed or top.similarity >= WEAK_SAME_MASS_SIMILARITY)))


def major_ions_present(query_mz: np.ndarray, ref_mz: np.ndarray, ref_intensity: np.ndarray, level: float,
                       mz_range: tuple[float, float]) -> tuple[int, int]:
    """(present, expected): the reference's ions at >= ``level`` of its base peak inside the
    acquired ``mz_range``, and how many of them the unknown holds (nominal m/z)."""
    return _present(nominal_mz(query_mz).tolist(), _major_ions(ref_mz, ref_intensity, level), mz_range)


def _major_ions(ref_mz: np.ndarray, ref_intensity: np.ndarray, level: float) -> tuple[list[int], frozenset[int]]:
    """The reference's nominal m/z at >= ``level`` of its base peak, ascending and as a set, for
    :func:`major_ions_present`: a search computes them once per library row."""
    if ref_intensity.size == 0:
        return [], frozenset()
    # the search's binning, as the molecular-ion checks use
    # (sorted by Python: np.unique imports numpy.ma, ~6 ms of a one-spectrum search)
    ions = sorted(set(nominal_mz(ref_mz)[ref_intensity >= level * ref_intensity.max()].tolist()))
    return ions, frozenset(ions)


def _present(nominal: list[int], major: tuple[list[int], frozenset[int]], mz_range: tuple[float, float]) -> tuple[int, int]:
    """:func:`major_ions_present` of the unknown's peaks' nominal m/z and :func:`_major_ions`."""
    ions, every = major
    low, high = mz_range
    # the usual case, every major ion inside the range: the row's own set
    expected = every if not ions or (ions[0] >= low and ions[-1] <= high) else {m for m in ions if low <= m <= high}
    return len(expected.intersection(nominal)), len(expected)


def _query_ions(spectra: Sequence[Any]) -> list[tuple[list[int], tuple[float, float]]]:
    """Per spectrum (each with peaks): its peaks' nominal m/z and its m/z range, as :func:`_present`
    reads them, in array steps across spectra (a search's EI queries) instead of a few each."""
    if not spectra:
        return []
    mzs = [np.asarray(spectrum.mz) for spectrum in spectra]
    every = np.concatenate(mzs)  # a float32 m/z upcast exactly: its minimum, maximum and bin are its own
    starts = np.r_[0, np.cumsum([mz.size for mz in mzs])]
    nominal = nominal_mz(every).tolist()
    lows = np.minimum.reduceat(every, starts[:-1]).tolist()
    highs = np.maximum.reduceat(every, starts[:-1]).tolist()
    return [(nominal[a:b], (low, high)) for a, b, low, high in zip(starts[:-1].tolist(), starts[1:].tolist(), lows, highs)]


#: Largest |precursor m/z - the candidate's ion m/z| (Da) for "an ion of the candidate": nominal,
#: so that a low-resolution precursor passes; the exact-mass criterion is the HRMS one (match).
PRECURSOR_ION_DA = 0.5


def ion_type(precursor_mz: float, ion_mode: str, molecule_mass: float, stated: str | None = None) -> str | None:
    """The ion type (:data:`nps_id.lcms.features.ADDUCTS` of the polarity) of a molecule of
    ``molecule_mass`` that the precursor m/z is, or None. ``stated``: the ion type the spectrum
    states (:func:`stated_ion`). A spectrum that states an ion of the whole molecule ([M+H]+,
    [M-H]-, an adduct) is of that molecule, so the candidate must give the precursor as one too,
    not as an in-source fragment: [M-H]- 173.0 is a molecule of mass 174 (suberate), not one of
    192 whose [M-H-H2O]- is 173 (isocitrate). Adducts stay interchangeable: a record stating
    [M-H]- for a formate adduct's m/z is its label's slip, not another molecule."""
    for adduct in _candidate_ions(stated, ion_mode):
        if abs(precursor_mz - ion_mz(molecule_mass, adduct)) <= PRECURSOR_ION_DA:
            return adduct.name
    return None


@lru_cache(maxsize=256)
def _candidate_ions(stated: str | None, ion_mode: str) -> tuple[Adduct, ...]:
    """The ion types :func:`ion_type` tries, in order: once per (stated label, polarity) -- a search's
    queries state a few labels (twice ~2.5 us a query for the same answer, uncached)."""
    named = adduct_named(stated)
    if named is None:
        return tuple(adducts_for(ion_mode))
    if named.in_source_loss:
        return (named,)
    return (named, *(a for a in ADDUCTS if a.charge == named.charge and not a.in_source_loss))


def formula_error(row: int, facts: LibraryFacts, precursor: tuple[float, str] | None,
                  stated: str | None) -> tuple[float, float] | None:
    """:func:`precursor_formula_error` of library ``row``'s formula (None: the row has none, or no
    precursor), over the ion types the rules try for the spectrum (``stated``: its ion type)."""
    if precursor is None or not isfinite(precursor[0]) or precursor[0] <= 0 or not facts.formula(row):
        return None
    molecule = facts.molecule_mass(row)
    return None if molecule is None else precursor_formula_error(precursor[0], molecule,
                                                                 _candidate_ions(stated, precursor[1]))


def _excludes_formula(row: int, *, facts: LibraryFacts, precursor: tuple[float, str] | None, stated: str | None,
                      thresholds: VerdictThresholds) -> bool:
    """The spectrum's accurate precursor excludes library ``row``'s formula (:func:`formula_error`)."""
    error = formula_error(row, facts, precursor, stated)
    return error is not None and not formula_fits(error, thresholds)


@lru_cache(maxsize=256)
def stated_ion(label: str | None) -> str | None:
    """The :data:`nps_id.lcms.features.ADDUCTS` name of a spectrum's stated precursor type
    (``[M+H]+``, ``M+H``, ...), None when it states none or one the rules do not know."""
    adduct = adduct_named(label)
    return None if adduct is None else adduct.name


def _estimated_mass(relative, kind, hits, facts, precursor) -> int | None:
    if kind != "ei":
        if precursor is None or not isfinite(precursor[0]):
            return None
        shift = PROTON if precursor[1] != "negative" else -PROTON
        return int(round(precursor[0] - shift))
    neighbours = (facts.neighbour(h.row)._replace(similarity=h.similarity)
                  for h in hits)  # lazy: estimate_mass reads the first few
    return estimate_mass(relative, neighbours)




#: A closest compound of the unknown's nominal mass whose formula its accurate precursor excludes:
#: an isobar, not the "isomer" a 0 Da difference reads as otherwise.
ISOBAR = "isobar, another formula"


def _closest(hits, facts, estimated, kind, excludes: Callable[[int], bool]) -> tuple[dict[str, Any], ...]:
    out = []
    for hit in distinct_compounds(hits, facts):
        mass = facts.mass(hit.row)
        delta = None if estimated is None or mass is None else estimated - mass
        reading = None
        if delta == 0 and kind == "ms2" and excludes(hit.row):
            reading = ISOBAR
        elif delta is not None:
            reading = shift_name(int(match_shift(np.array([float(delta)]), 0.0, nominal=True)[0]), nominal=True)
        out.append({"row": hit.row, "name": facts.name(hit.row), "similarity": round(hit.similarity, 3),
                    "delta_mass": delta, "delta_mass_match": reading, "smiles": facts.structure(hit.row)})
        if len(out) == N_CLOSEST:
            break
    return tuple(out)


def novelty_fields(assessment: Assessment) -> dict[str, Any]:
    """The new-substance fields of a ``match`` finding: the contract's three, the isomers the
    spectrum does not exclude, the closest known compounds and the core structure they share."""
    isomers = assessment.isomers
    closest = [{k: v for k, v in c.items() if k != "row"} for c in assessment.closest]
    return {
        "new_substance": assessment.new_substance,
        "suspected_group": assessment.suspected_group,
        "suspected_group_probability": assessment.group_probability,
        "estimated_mass": assessment.estimated_mass,
        "isomers_not_excluded": [] if isomers is None else [
            {"name": n.name, "smiles": n.smiles, "move": n.move, "in_library": n.name is not None,
             "inseparable_rate": n.rate} for n in isomers.not_excluded],
        "closest_compounds": closest if assessment.new_substance else [],
        "core_smiles": core_structure([c["smiles"] for c in closest]) if assessment.new_substance else None,
    }


def core_structure(smiles: Sequence[str | None], timeout_seconds: int = 2) -> str | None:
    """The maximum common substructure of the closest compounds' structures, as SMILES: the core a
    new substance most likely shares with them; None with fewer than two, a core under 4 atoms, or
    one that is not, as written, a substructure of each of them.

    Bond orders compare exactly (an aromatic ring is no cyclohexane's) and the core is written from
    the first compound's atoms the MCS matches (aromatic lowercase, its charges; not its stereo or
    isotopes, which the MCS does not compare: an enantiomer's core is not that one's): the MCS's own
    SMARTS read back as SMILES gave query atoms and ':' bonds (``C1:C:C:C:C:C:1``), which no chemist
    or other tool reads as that compound's ring."""
    known = [s for s in smiles if s]
    if len(known) < 2:
        return None
    from rdkit import rdBase

    # a structure that does not parse is simply left out, unsaid -- for this call only: RDLogger.DisableLog here
    # silenced RDKit for the rest of a library user's process (stop 45)
    with rdBase.BlockLogs():
        return _mcs_core(known, timeout_seconds)


def _mcs_core(known: list[str], timeout_seconds: int) -> str | None:
    """:func:`core_structure` of the structures given (two or more)."""
    from rdkit import Chem
    from rdkit.Chem import rdFMCS

    mols = [m for m in (Chem.MolFromSmiles(s) for s in known) if m is not None]
    if len(mols) < 2:
        return None
    found = rdFMCS.FindMCS(mols, timeout=timeout_seconds, ringMatchesRingOnly=True, completeRingsOnly=True,
                           bondCompare=rdFMCS.BondCompare.CompareOrderExact)
    if found.numAtoms < 4:
        return None
    core = _core_smiles(mols[0], Chem.MolFromSmarts(found.smartsString))
    parsed = Chem.MolFromSmiles(core) if core else None
    # the check that the core holds as written: an aromatic bond of a fused ring the MCS leaves out
    # (midazolam's imidazole in a benzodiazepine core) writes a ring that does not parse
    return core if parsed is not None and all(m.HasSubstructMatch(parsed) for m in mols) else None


def _core_smiles(mol: Any, query: Any) -> str | None:
    """The SMILES of ``mol``'s atoms and bonds that ``query`` (the MCS) matches, written to parse: an
    atom in none of its aromatic bonds aliphatic (a lone aromatic atom does not parse); an aromatic
    nitrogen whose substituent it leaves out as [nH] (an N-pentylindole's core is indole)."""
    from rdkit import Chem

    atoms = mol.GetSubstructMatch(query)
    if not atoms:
        return None
    # the MCS's bonds only: two matched atoms may share a bond the other compounds lack
    bonds = [mol.GetBondBetweenAtoms(atoms[b.GetBeginAtomIdx()], atoms[b.GetEndAtomIdx()]) for b in query.GetBonds()]
    aromatic = {i for b in bonds if b.GetIsAromatic() for i in (b.GetBeginAtomIdx(), b.GetEndAtomIdx())}
    kept = set(atoms)
    fragment = Chem.RWMol(mol)
    for i in atoms:
        atom = fragment.GetAtomWithIdx(i)
        if i not in aromatic:
            atom.SetIsAromatic(False)
        elif atom.GetSymbol() == "N" and atom.GetTotalNumHs() == 0 and atom.GetDegree() == 3 and \
                any(n.GetIdx() not in kept for n in atom.GetNeighbors()):
            atom.SetNumExplicitHs(1)
    # without stereo or isotopes: the MCS compares neither, so the first compound's would be claimed of all
    return Chem.MolFragmentToSmiles(fragment, atomsToUse=list(atoms), bondsToUse=[b.GetIdx() for b in bonds],
                                    isomericSmiles=False)


def assess_search(spectra: Sequence[Any], hits: Any, reference: Reference, analog: bool,
                  thresholds: VerdictThresholds = VerdictThresholds(), fields_only: bool = False,
                  analogue_confidence: np.ndarray | None = None, *, facts: LibraryFacts | None = None,
                  left_out: dict[int, frozenset[str]] | None = None,
                  group_model_of: Callable[[int], GroupModel | None] | None = None,
                  isomer_rates_of: Callable[[int], Rates | None] | None = None) -> dict[int, Assessment]:
    """An :class:`Assessment` per searched query (by position) from ``nps-id search``'s hits
    (:class:`nps_id.search.engine.Hits`, sorted by query then rank).

    Identity mode applies the verdict rules to the rank-1 hit; analogue mode never names a
    compound: its verdict is at most ``tentative`` (close analogue), and the hits serve as the
    closest compounds for the new-substance call. ``fields_only``: as :func:`assess` (what the
    search rows print, computed faster). ``analogue_confidence``: analogue mode, per query position
    (:func:`nps_id.search.analogue_confidence.confidences`), for the close-analogue rule.

    The leave-compound-out benchmark assesses through this same function: ``facts`` (the
    reference's, shared across calls), ``left_out`` (query position -> the InChIKey first blocks
    its library lacks, :meth:`LibraryFacts.excluding`; their hits already taken out,
    :func:`nps_id.search.ranking.without`) and ``group_model_of`` (query position -> the group
    model that never saw its compound; None: the shipped one) and ``isomer_rates_of`` (query position ->
    the isomer rate curves learned without its compound's pairs; None: the shipped ones).
    """
    facts = facts if facts is not None else LibraryFacts(reference)
    out: dict[int, Assessment | PendingGroup] = {}
    starts = np.flatnonzero(np.r_[True, hits.query[1:] != hits.query[:-1]]) if len(hits) else np.empty(0, int)
    ends = np.r_[starts[1:], len(hits)]
    # Every hit as the rules read it, a column at a time (ranked_hit, per hit, is the same).
    similarity = np.asarray(hits.similarity, dtype=np.float64)
    score = [v or 0 for v in to_999_column(similarity if analog else hits.score)]
    ranked_all = list(map(RankedHit, np.asarray(hits.row).tolist(), score, to_999_column(hits.mf),
                          to_999_column(hits.rmf), similarity.tolist()))
    gaps = to_999_column(hits.gap)
    alerts = np.asarray(hits.isomer_alert, dtype=bool).tolist()
    groups = [(start, end, int(hits.query[start])) for start, end in zip(starts.tolist(), ends.tolist())]
    kinds = [kind_of(spectra[q]) for _, _, q in groups]
    # the EI queries' hits only: an MS/MS search slices none of its ~12,000 queries' lists here
    estimated = _ei_estimates({q: (spectra[q], ranked_all[start:end])
                               for (start, end, q), kind in zip(groups, kinds) if kind == "ei"}, facts)
    majors: dict[int, tuple[list[int], frozenset[int]]] = {}
    ions = dict(zip(estimated, _query_ions([spectra[q] for q in estimated])))  # the EI queries'
    for (start, end, q), kind in zip(groups, kinds):
        spectrum = spectra[q]
        ranked = ranked_all[start:end]
        extra: dict[str, Any] = {}
        if kind == "ei":
            top = ranked[0].row
            if top not in majors:  # a search meets the same top rows again and again
                majors[top] = _major_ions(*reference.peaks.row(top), thresholds.major_ion_level)
            nominal, mz_range = ions[q]
            extra["major_ions"] = _present(nominal, majors[top], mz_range)
            extra["n_ions"] = int(spectrum.mz.size)
        if analog:
            extra["analogue_score"] = ranked[0].score
            if analogue_confidence is not None and np.isfinite(analogue_confidence[q]):
                extra["analogue_confidence"] = float(analogue_confidence[q])
            if np.isfinite(hits.delta_mass[start]):
                extra["analogue_delta_mass"] = float(hits.delta_mass[start])
                from nps_id.search.analogue_confidence import query_mass  # analogue mode only

                extra["analogue_query_mass"] = query_mass(spectrum)
        precursor = None
        if kind == "ms2" and spectrum.get("retention_time") is None:
            extra["without_rt"] = True  # the rule text names no RT it lacks
        if kind == "ms2" and spectrum.precursor_mz:
            precursor = (float(spectrum.precursor_mz), str(spectrum.get("ion_mode") or "positive").lower())
        out[q] = assess(spectrum.mz, spectrum.intensity, kind, ranked,
                        facts if left_out is None or q not in left_out else facts.excluding(left_out[q]),
                        gap=gaps[start], isomer_alert=alerts[start], thresholds=thresholds,
                        precursor=precursor, precursor_type=spectrum.get("precursor_type") if precursor else None,
                        identity=not analog, fields_only=fields_only,
                        estimated=estimated.get(q), defer_group=True,  # its model: _model_groups
                        isomer_rates=isomer_rates_of(q) if isomer_rates_of is not None else None, **extra)
    groups_of = _model_groups({q: a for q, a in out.items() if isinstance(a, PendingGroup)}, group_model_of)
    done = {q: a.finish(*groups_of[q]) if isinstance(a, PendingGroup) else a for q, a in out.items()}
    facts.save()  # after the groups' checks: they read facts too
    return done


def _model_groups(pending: dict[int, PendingGroup], group_model_of: Callable[[int], GroupModel | None] | None
                  ) -> dict[int, tuple[str | None, float | None]]:
    """Query position -> the suspected group of each pending new substance and the model's probability
    of it: the hits' vote (no probability), else its model's, each model asked once for all its spectra
    (:func:`~nps_id.match.substance_group.model_groups`)."""
    named: dict[int, tuple[str | None, float | None]] = {}
    asks: dict[int, tuple[GroupModel, list[int], list[ModelInput]]] = {}
    for q, one in pending.items():
        group, asked = one.request()
        named[q] = (group, None)
        if asked is not None:
            model = (group_model_of(q) if group_model_of is not None else None) or shipped_group_model(one.kind)
            _, queries, inputs = asks.setdefault(id(model), (model, [], []))
            queries.append(q)
            inputs.append(asked)
    for model, queries, inputs in asks.values():
        named.update(zip(queries, model_groups(model, inputs)))
    return named


def _ei_estimates(queries: dict[int, tuple[Any, list[RankedHit]]], facts: LibraryFacts) -> dict[int, tuple]:
    """Query position -> (nominal spectrum, estimated mass) of the EI queries among ``queries``
    (position -> spectrum, its ranked hits): :func:`_estimated_mass` of each, all at once."""
    ei = {q: query for q, query in queries.items() if kind_of(query[0]) == "ei"}
    relatives = nominal_spectra([(spectrum.mz, spectrum.intensity) for spectrum, _ in ei.values()])
    rows = list(dict.fromkeys(h.row for _, ranked in ei.values() for h in ranked[:HIT_VOTES]))
    facts.prime_neighbours(rows)
    # a row's fields around the similarity, split once; each hit's Neighbour by tuple.__new__ (its fields
    # in order, no keyword handling: ~95,000 of them in a 9,670-query search, 0.7 -> 0.3 us each)
    split = {row: (plain[:3], plain[4:]) for row, plain in ((row, facts.neighbour(row)) for row in rows)}
    neighbours = [[_tuple_new(Neighbour, (*split[h.row][0], h.similarity, *split[h.row][1])) for h in ranked[:HIT_VOTES]]
                  for _, ranked in ei.values()]
    return dict(zip(ei, zip(relatives, estimate_masses(relatives, neighbours))))

"""Verdicts: what a library hit is allowed to be called, and why.

A finding is ``identified``, ``tentative`` or ``inconclusive``. Each criterion is checked and
recorded by name -- met, failed, or not evaluated (no data) -- so a report never calls a hit more
than it is. The rules, first match wins (the defaults and their reasons are in ``docs/match.md``):

1. ``identified`` -- every identity criterion is met: MF, RMF (EI) or score (MS/MS) at the
   identity thresholds, the gap to the best *different* compound, no isomer alert, enough ions
   (EI: 10, of them 3 carrying the match) with the major reference ions among them, and the
   retention index within the window when both RI are known.
2. ``tentative`` / "isomer not excluded" -- the scores pass, but an isomer whose spectrum is
   near-identical (:mod:`nps_id.match.isomer_rule`; in the library or not) is not excluded by the
   spectrum, and no retention index in the window excludes it; or the hit has no verified
   structure to enumerate its isomers; or (MS/MS) the spectrum is its precursor alone, with no
   product ion to compare; or the gap or the isomer alert fails and every library
   compound scoring within the gap is an isomer of the hit (its formula: ``close_isomers``,
   named). The substance may be the hit, that isomer, or a new one.
   ``tentative`` / "isomer ambiguity" -- the gap, the isomer alert or the unique-retention-time
   check fails otherwise (a compound of another formula within the gap, or the hit at other
   retention times too): the compound is one of a few near-identical library spectra.
3. ``tentative`` / "HRMS criteria not met" -- LC-HRMS: the spectrum passes but the precursor
   has no MS1 peak, its exact mass is outside the window, or too few reference fragments match.
   ``tentative`` / "retention index disagrees" -- the spectrum passes but the RI is outside the
   window.
4. ``tentative`` / "weak match" -- scores at the tentative thresholds, or major ions missing, or (EI)
   a candidate whose spectrum is one nitrogen-bearing ion and whose other ions the spectrum does not
   show in their ratios (:mod:`nps_id.match.dominant_ion`: a relative sharing its amine part).
5. ``tentative`` / "close analogue" -- no identity hit passes, but an analogue-mode hit does:
   its spectral similarity and the analogue confidence (predicted structural closeness,
   :mod:`nps_id.search.analogue_confidence`) both reach their thresholds, and the mass difference
   is a substituent's, not half the molecule's (:func:`close_analogue`).
6. ``inconclusive`` -- anything else, including a candidate lighter than significant ions of the
   spectrum, heavier than its confirmed molecular ion when the candidate's own spectrum lacks that
   ion, or (MS/MS) one the precursor is no ion of, or a library record of another precursor ion
   ("molecular ion inconsistent": not this compound, unless the spectrum is a mixture), or one
   whose formula an accurate precursor m/z excludes (an isobar, not an isomer: its own text).

Entry points: :class:`Level`, :class:`RuleId`, :class:`VerdictThresholds`, :class:`Evidence`,
:func:`decide` -> :class:`Verdict` (:func:`decide_level`: the isomers checked only when they matter);
:func:`close_analogue` (rule 5's criterion, with :func:`analogue_mass_share`).
"""
from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Callable, Iterable

from nps_id._words import agreeing
from nps_id.match.isomer_rule import IsomerCheck, injector_direction, is_injector_relative


if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # Python 3.10 (pyproject allows it): the same behaviour -- members are, print and format as, their values
    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, spec: str) -> str:
            return format(str(self.value), spec)


class Level(StrEnum):
    """The verdict levels, strongest first; each member is its string (as written in results)."""

    IDENTIFIED = "identified"
    TENTATIVE = "tentative"
    INCONCLUSIVE = "inconclusive"


IDENTIFIED, TENTATIVE, INCONCLUSIVE = Level.IDENTIFIED, Level.TENTATIVE, Level.INCONCLUSIVE


class RuleId(StrEnum):
    """The rule that decided a verdict, a stable key beside its readable text (``rule_id`` in
    results): code recognises a rule by this id, never by the wording of :attr:`Verdict.rule`.
    The numbers are the module docstring's rules."""

    IDENTITY = "identity"  # 1 (also identified once a reference standard excludes the isomers)
    ISOMER_NOT_EXCLUDED = "isomer_not_excluded"  # 2
    ISOMER_AMBIGUITY = "isomer_ambiguity"  # 2
    HRMS_NOT_MET = "hrms_not_met"  # 3
    RI_DISAGREES = "ri_disagrees"  # 3
    WEAK_MATCH = "weak_match"  # 4
    CLOSE_ANALOGUE = "close_analogue"  # 5
    MOLECULAR_ION_INCONSISTENT = "molecular_ion_inconsistent"  # 6
    BELOW_TENTATIVE_FLOOR = "below_tentative_floor"  # 6
    # LC-MS/MS against a reference standard run (nps_id.match.lcms_evidence.confirm_with_standard)
    STANDARD_CONFIRMED = "standard_confirmed"
    ION_RATIOS_DISAGREE = "ion_ratios_disagree"
    # the standard's product ions missing from the finding (its ion ratios may agree): a rule of its own,
    # so that code reading rule_id does not take missing ions for unlike ratios
    PRODUCT_IONS_DISAGREE = "product_ions_disagree"


#: The rule of a verdict held back by the isomer criterion alone (``decide`` gives it exactly then).
ISOMER_NOT_EXCLUDED = "isomer not excluded"
#: What an isomer the library lacks would be (:func:`may_be`): a new substance when the taxonomy
#: places the hit (or a GC injector relative of it the library lacks) as an NPS; else a compound
#: not in the library -- a sugar's or a pesticide's isomer is no early-warning lead.
NEW_ISOMER = "a new substance"
UNLISTED_ISOMER = "a compound not in the library"
#: How the isomer rules' texts end as :func:`decide` writes them, whatever the hit is; ``assess``
#: words it by the hit's taxonomy class for ``nps-id search`` and ``match``'s results
#: (``nps_id.match.isomer_evidence.absent_isomer``), the reports by the class they give the finding
#: (``nps_id.report.findings.rule_text``, which reads a laboratory's overrides too); both by
#: :func:`absent_isomer_words`.
MAY_BE_NEW = f"it may be {NEW_ISOMER}"


def absent_isomer_words(hit_nps: bool, absent_relatives: Iterable[tuple[str | None, str | None]]) -> str:
    """What an isomer or GC injector relative of a hit that the library lacks would be (the isomer
    rules' "it may be ..."): :data:`NEW_ISOMER` -- the early-warning word -- when ``hit_nps`` (the
    taxonomy places the hit as an NPS) or one of the ``absent_relatives`` ((name, SMILES) of the
    relatives not in the library) is an NPS by its own structure
    (:func:`~nps_id.chem.ewa_groups.structure_is_nps`: it is another compound); else
    :data:`UNLISTED_ISOMER`. The one reading behind both wordings: the results' by the library's
    class of the hit, the reports' by the report's."""
    from nps_id.chem.ewa_groups import structure_is_nps  # lazy: the taxonomy's rules, only for an isomer rule's text

    new = hit_nps or any(structure_is_nps(name, smiles) for name, smiles in absent_relatives)
    return NEW_ISOMER if new else UNLISTED_ISOMER


def may_be(rule: str, what: str) -> str:
    """``rule`` with its isomer ending ("it may be a new substance", or "... a compound not in the
    library") saying "it may be ``what``" (:data:`NEW_ISOMER` or :data:`UNLISTED_ISOMER`); any
    other rule as it is."""
    for said in (NEW_ISOMER, UNLISTED_ISOMER):
        rule = rule.replace(f"it may be {said}", f"it may be {what}")
    return rule
#: The rule of an MS/MS hit whose formula the spectrum's accurate precursor excludes
#: (:func:`formula_fits`): the same nominal mass, another formula -- the library record's precursor
#: written to no or one decimal let the search reach it. Not an isomer either (docs/match.md).
PRECURSOR_FORMULA_RULE = ("molecular ion inconsistent: the precursor's accurate m/z excludes the candidate's formula "
                          "-- an unknown of that precursor mass, the hit at most an analogue of another formula, "
                          "neither the substance nor an isomer of it")
#: Verdicts from strongest to weakest (``--fail-on`` compares positions in this tuple).
LEVELS = tuple(Level)


@dataclass(frozen=True)
class VerdictThresholds:
    """Decision thresholds; scores are on the 0-999 scale of NIST-style match factors.

    Attributes
    ----------
    identified_mf, identified_rmf : int
        EI composite match factor and reverse match factor needed for ``identified``.
    identified_score : int
        MS/MS (cosine x 999) needed for ``identified``.
    min_gap : int
        Score margin over the best hit of a different compound.
    min_gap_ms2 : int
        The same for MS/MS spectra: one compound's MS/MS from two laboratories or collision energies
        differs by more than 30, so a different compound of the precursor's mass (a same-formula
        isomer, often of another skeleton no isomer move enumerates) that close is not excluded
        (docs/match.md gives the development-data measurement).
    min_ions : int
        EI: the extracted spectrum must hold at least this many ions (fewer is too sparse to
        tell one compound from another, whatever the match factor).
    min_significant_ions, significant_ion_level : int, float
        EI: at least ``min_significant_ions`` of the spectrum's nominal ions must reach
        ``significant_ion_level`` of its base peak. A spectrum that is one ion and specks (a
        dimethylaminoethyl amide: m/z 58 and nothing above 0.6 %) matches every compound whose
        spectrum is that ion at a high MF, and ``min_ions`` counts the specks; 3 ions at 2 % on the
        development data: one wrong ``identified`` fewer (MassBank EI analogue queries), no right
        one lost (docs/match.md).
    major_ion_fraction : float
        Fraction of the reference's major ions (>= ``major_ion_level`` of its base peak, within
        the acquired m/z range) that the extracted spectrum must hold.
    major_ion_level : float
        Relative abundance that makes a reference ion "major".
    ri_window : float
        Largest |RI - library RI| for ``identified`` (only when both are known).
    tentative_mf, tentative_rmf, tentative_score : int
        Floors for ``tentative`` (EI MF/RMF; MS/MS score).
    analogue_score : int
        Analogue-mode spectral similarity (modified cosine x 999) needed for a "close analogue"
        ``tentative``. The mass prior that ranks analogue hits (docs/search.md) does not count
        here: a verdict rests on the spectra alone.
    analogue_confidence : float
        Analogue confidence (predicted Morgan Tanimoto between the unknown and the analogue hit,
        0-1) also needed for a "close analogue" ``tentative`` (0.45 chosen on the development data;
        docs/match.md gives its measured precision).
    analogue_mass_share : float
        Largest |mass difference| of a "close analogue", as a share of the heavier of the unknown
        and the hit: an analogue differs by a substituent, not by half the molecule (0.4 on the
        development data: of the answers passing the other criteria it removes 12 with a top-1
        Tanimoto < 0.6 and 2 above; docs/match.md).
    report_score : int
        Components whose best hit scores below this are listed as components, not findings.
    ions_above_level : float
        Ions of the unknown at or above this fraction of its base peak that lie above the
        candidate's molecular-ion cluster make the candidate implausible.
    molecular_ion_level : float
        The unknown's molecular ion (confirmed by its estimated mass) at or above this fraction of
        its base peak, lighter than the candidate and absent from the candidate's spectrum, makes
        the candidate implausible (:func:`nps_id.match.molecular_mass.unexplained_molecular_ion`;
        0.01 chosen on the development data: 4 wrong ``identified`` fewer, none right lost; docs/match.md).
    candidate_ion_level : float
        EI: the candidate's highest ion (its molecular ion when it shows one) at or above this
        fraction of its base peak, above the unknown's estimated mass and absent from the unknown,
        while the unknown shows an ion at its estimated mass that the candidate's spectrum lacks,
        makes the candidate implausible -- each spectrum shows a molecular ion the other lacks
        (:func:`nps_id.match.molecular_mass.molecular_ions_disagree`; 0.005 on the development
        data: tridecane as pentadecane, stearidonic acid methyl ester as heneicosapentaenoic acid
        methyl ester; 0: off; docs/match.md "Molecular-ion consistency").
    estimated_ion_level : float
        EI: the unknown's ion at its estimated mass, at or above this fraction of its base peak
        (below the 0.5 % its molecular ion is read at), above the candidate's molecular-ion cluster,
        makes the candidate implausible as the confirmed molecular ion does, when the candidate's
        reference holds no ion above its formula's cluster
        (:func:`nps_id.match.molecular_mass.confirmed_ion_above`; 0.003 on the development data:
        docosapentaenoic acid methyl ester as the C21:5 ester; 0: off; docs/match.md).
    column_bleed_level : float
        EI: the unknown's polysiloxane column-bleed ions (m/z 207, 281, 355, 429 and their isotope
        peaks) below this fraction of its base peak are not read as its molecular ion by the
        molecular-ion rules (:func:`nps_id.match.molecular_mass.without_column_bleed`; 0.06: the
        bleed under real LRCFS components reaches 5 %; 0: off; docs/match.md).
    background_ion_ratio : float
        EI, ``match`` of a GC run: a component's bleed ion (and its isotope peaks) below
        ``column_bleed_level`` whose abundance is at most this many times the run's own background of
        that ion around the component is the column's: set aside in the estimated mass as in the
        molecular-ion rules (:func:`nps_id.gcms.background.background_ions`; 2: the ANDI run's
        5.40 min C8 hydrocarbon, 207 at 1.2 x its background; 0: off; docs/match.md).
    group_fragment_level : float
        EI: a new substance gets no group from a heavier closest compound that shares only a
        fragment with it -- its highest significant ion, at >= this share of its base peak, while
        it lacks the compound's base peak (:func:`nps_id.match.substance_group.group_evidence`; 0: off;
        docs/match.md "No drug group from a shared fragment").
    group_derivative_similarity : float
        EI: a new substance the group model leaves without a group that shows a derivatizing
        reagent's ion (m/z 73 silyl, 69 perfluoroacyl; >= ``significant_ion_level``) and whose
        closest compound, at >= this similarity, is a derivative made with that reagent, takes the
        group the closest derivatives of that reagent agree on
        (:func:`nps_id.match.substance_group.derivative_group`; 0: off; docs/match.md "A derivative's group").
    group_beyond_molecular_ion : float
        EI: a group the model names needs a closest compound of that group (among the first
        ``VOTE_COMPOUNDS`` distinct ones) whose spectrum resembles the unknown's at >= this cosine
        once the unknown's molecular-ion cluster -- its highest significant ion, M-1, M+1 and
        M-15 -- is set aside, within the unknown's m/z range (:func:`nps_id.match.substance_group.beyond_molecular_ion`;
        0: off; docs/match.md "No drug group from the molecular ion alone").
    group_acylium_ions : bool
        EI: a new substance the group model leaves without a group whose spectrum holds a
        1-substituted indazole-3-carbonyl acylium and m/z 145 (:data:`nps_id.chem.diagnostic_ions.ACYLIUM_SETS`)
        is a suspected synthetic cannabinoid (docs/match.md "Indazole-3-carbonyl acylium ions").
    group_beyond_silyl_ions : float
        EI: a new substance whose spectrum shows the silyl reagent's ion Si(CH3)3+ (m/z 73, >=
        ``significant_ion_level``) keeps the group named for it only when a closest compound of that
        group resembles it at >= this cosine once the trimethylsilyl ions are set aside
        (:func:`nps_id.match.substance_group.beyond_silyl_ions`): those are the reagent's and the silicon's,
        which the group model and the derivatives' vote learned from the library's TMS steroids and GHB
        derivatives -- a silane read "Anabolic steroids", hexamethyldisiloxane "GHB-type" (docs/match.md
        "A silylated unknown's group"; 0: off).
    group_beyond_haloacyl_ions : float
        EI: a new substance whose group's closest compound is a haloacyl derivative (TFA, trichloroacetyl,
        chlorodifluoroacetyl) keeps the group only when a closest compound of that group
        resembles it at >= this cosine once the reagent's ions -- from the acyl's mass up, its trihalomethyl
        cation -- are set aside (:func:`nps_id.match.substance_group.beyond_haloacyl_ions`): Dechlorane Plus
        read "Phenethylamines" by N-trichloroacetylmethamphetamine's chlorine cluster (docs/match.md "A
        haloacyl derivative's group"; 0: off).
    group_below_series : bool
        EI: a new substance whose estimated mass is below every library compound of the group
        named for it gets no group (:meth:`nps_id.match.library_facts.LibraryFacts.lightest`; docs/match.md
        "No drug group below its series").
    one_ion_share, one_ion_rest_level, one_ion_rest_factor : float, float, float
        EI: a candidate whose reference spectrum is one nitrogen-bearing ion -- the compound holds
        nitrogen, its base peak is at an even m/z and carries >= ``one_ion_share`` of the ion
        current, its molecular ion is below ``molecular_ion_level`` -- needs the ions above that
        base peak (its isotope peaks aside) at >= ``one_ion_rest_level`` of the base peak, in
        its spectrum or (up to its mass) in the unknown's, to agree within ``one_ion_rest_factor``
        either way: they carry the rest of the molecule, which the match factor, made by the one
        ion, does not weigh (:mod:`nps_id.match.dominant_ion`; 4'-methoxy-alpha-PPP is not
        alpha-PPP). 0.4 / 0.02 / 3 on the development data: 4 wrong ``identified`` fewer, no right
        one lost (docs/match.md "A spectrum of one nitrogen-bearing ion"); ``one_ion_share`` 0: off.
    isomer_min_rate : float
        An isomer the library does not hold (:mod:`nps_id.match.isomer_rule`) is *not excluded*
        when at least this share of the library's isomer pairs of its kind match each other at
        least as well as the unknown matches the hit (its kind's rate at the unknown's score): a
        match that isomers of that kind rarely reach excludes it, one they often reach does not
        (0.05 chosen on the development data: 0.03 / 0.05 / 0.07 / 0.1 / 0.2 left 17 / 19 / 23 /
        32 / 92 SWGDRUG leave-compound-out records wrongly identified; docs/match.md). EI: 0.045
        since stop 25 (with SWGDRUG's new structures): wrong ``identified`` SWGDRUG left out
        21 -> 19, MassBank EI left out 19 -> 17, absent 4 -> 3, present 5 -> 4, for 6 right ones
        (butyryl norfentanyl's methyl shift, rate 0.047 at MF 951, is no longer excluded).
    isomer_min_rate_ms2 : float
        The same for MS/MS hits: 0.05 (chosen at stop 24 on the EI-learned curves MS/MS read then;
        since stop 46 MS/MS reads curves learned on MassBank MS/MS pairs, where 0.045 and 0.05 give the
        same verdicts on the development data and 0.08 / 0.12 / 0.2 one / four / ten more wrong
        ``identified`` of left-out compounds -- benchmarks/README.md, "Stop 46 (branch ms2rates46)").
    isomer_margin : int
        An isomer the library holds is excluded only when the unknown scores at least this much
        lower on it (0-999).
    isomer_ms2_margin : int
        The same for MS/MS spectra: one compound's MS/MS from two laboratories or collision
        energies differs more than its EI spectra do (200 on the development data: MassBank MS/MS
        wrong ``identified`` 24 -> 21 with the compound present and 45 -> 42 with it left out, no
        right one lost; 400 loses right ones; docs/match.md).
    isomer_held_min_rate, isomer_held_min_rate_ms2 : float
        A library-held isomer within the margin is excluded still when its kind's rate at the
        unknown's score against the hit is below this (0: never; held back whatever its kind). EI 0:
        any floor 0.005-0.2 adds wrong ``identified`` left-out compounds (MassBank EI left out
        9 -> 10, SWGDRUG with leave-out curves 6 -> 10). MS/MS 0.05, ``isomer_min_rate_ms2``'s value,
        an absent isomer's floor (MassBank MS/MS present 326 -> 328 right, no wrong one added;
        benchmarks/README.md "Stop 44 (branch margin44)").
    isomer_diastereomer_margin : int
        EI: a diastereomer of the hit the library holds (its skeleton, another compound:
        :mod:`nps_id.compound`) is not excluded when the unknown scores within this much of the
        hit (0-999; 0: off): the EI spectra of diastereomers differ less than two laboratories'
        spectra of one compound, and the isomer margin, which compares skeletons, never sees
        them. Only a retention index in the window of the hit and outside the diastereomer's
        (both known) excludes it (docs/match.md "Stereoisomers"). Off (0) by default: at 100 it
        removed no wrong ``identified`` on the development data (the MassBank EI diastereomer
        errors are of compounds whose own stereoisomer the library lacks) and cost 9 right ones
        (SWGDRUG present 6, MassBank EI present 3; stop 28, benchmarks/README.md).
    isomer_diastereomer_ms2_margin : int
        The same for MS/MS spectra: 100 (the EI isomer margin). On the development data it holds
        back neohesperidin left out, "identified" as hesperidin while the library's epihesperidin
        scores within 100 (MassBank MS/MS wrong ``identified`` left out 24 -> 23), and no right
        one; 50 removes nothing, 150 and 200 lose 3 right ones as well. One query's evidence.
    isomer_absent_diastereomer_rate : float
        EI: a diastereomer of the hit the library does not hold (cis / trans, E / Z, an epimer:
        :func:`nps_id.chem.stereo.diastereomer_classes`) is not excluded when at least this share
        of the library's diastereomer pairs match each other as well as the unknown matches the
        hit (the rate of the kind ``diastereomer``, learned by
        benchmarks/train_diastereomer_rates.py), as an absent enumerated isomer is at
        ``isomer_min_rate``; a retention index in the window excludes it (0: off). 0.2 since stop 36
        (the lead's call): on the development data it removes 11 of the 16 wrong ``identified`` of
        MassBank EI present queries (cis-rose oxide as trans-rose oxide, E/Z alkenes, ...; precision
        0.944 -> 0.980; 0.950 -> 0.984 with stop 36's new isomer moves) and 2 left out, but
        holds back 28 right ones (MassBank EI 27, SWGDRUG 1:
        E/Z enones, epimeric alcohols, sugars -- hits whose library holds one configuration only),
        and the gate (more wrong removed than right lost) fails at every level measured
        (0.045 / 0.1 / 0.15 / 0.2 / 0.3; docs/match.md "Stereoisomers"). It is on all the same:
        of the 38 ``identified`` calls it touches, 11 (29 %) named the wrong configuration -- an
        error rate no ``identified`` may carry; those calls read ``tentative`` and name the
        configuration not excluded. 0 switches it off.
    isomer_heavier_ion_level : float
        EI: when the spectrum shows no ion at the hit's nominal mass (below this fraction of its base
        peak), a heavier compound is not excluded -- its fragments can give the hit's spectrum without
        the hit's molecular ion -- if the rate of the kind ``heavier`` at the unknown's score reaches
        ``isomer_min_rate`` (learned by ``benchmarks/train_isomer_rates.py --heavier``: of the library
        compounds whose own spectra show no molecular ion, the share a heavier library compound matches
        that well; 0.045 is reached below MF 880). 0.005 since stop 47 (the lead's call): on the
        development data it removes 3 of MassBank EI's 7 wrong ``identified`` left-out compounds
        (triacetin as 1,3-diacetin, 3-hexanol, ethylmalonic acid; the same with leave-out isomer rates)
        and 1 of its 3 present ones, and holds back 12 right MassBank EI present ones (docs/match.md "A
        heavier compound, EI"; benchmarks/README.md "Stop 47 (branch heavy47)"). 0 switches it off.
    isomer_homologue_ion_level : float
        EI (stop 51): when the spectrum shows neither the hit's molecular ion nor a homologue's (below this
        fraction of its base peak), that homologue -- one or two CH2 more or fewer along an unbranched chain,
        :mod:`nps_id.chem.homologues` --, absent from the library or scoring within the isomer margin, is not
        excluded if the rate of the kind ``homologue`` at the unknown's score reaches ``isomer_min_rate``
        (learned by ``benchmarks/train_isomer_rates.py --homologue``: the library's homologue pairs whose spectra
        show neither molecular ion, the share matching that well; ``other`` compounds reach 0.045 below MF 940,
        drug series never). docs/match.md "A homologue, EI". 0 switches it off.
    isomer_homologue_min_chain : int
        The carbons a chain needs before :mod:`nps_id.chem.homologues` makes its homologues (and a shorter
        homologue keeps): 8, the shortest chain whose library homologue pairs (one CH2 apart, neither molecular
        ion shown) match at MF 900 at least ``isomer_min_rate`` of the time, as every longer chain's do
        (benchmarks/README.md "Stop 51 (branch homolog51)").
    isomer_ms2_pair_score : int
        MS/MS: a library compound of the hit's formula (any skeleton) whose library records match the
        hit compound's at or above this score (0-999, the best pair) is not excluded, whatever the
        unknown scores on it: the library shows their MS/MS alike, and an unknown's score against
        records from other laboratories or collision energies cannot tell them apart (850 on the
        development data; 1000: off; docs/match.md).
    isomer_ms2_unit_precursor_da : float
        MS/MS: a precursor m/z written to fewer than 3 decimals excludes no compound of another formula
        whose ion (the library's, in its polarity) lies within what its digits leave open -- half its last
        written decimal plus ``precursor_formula_ppm``, at most this many Da (the nominal ion); this many Da
        for a unit-resolution m/z or one the hit's own formula does not fit -- the spectrum alone cannot
        exclude every compound of that ion (0: off; docs/match.md; since stop 48 the window of 1- and
        2-decimal values is their precision, not the nominal ion).
    isomer_ms2_water_loss_da : float
        MS/MS: a library compound of the hit's formula (another first block; by full InChIKey)
        whose records in the unknown's polarity are all at its precursor m/z minus 1-3 waters
        (+- this many Da: in-source fragments) is not excluded -- the search never scored those
        records against the unknown (androsterone, held only at 273.3 / 255.3, let its [M+H]+ read
        ``identified`` as dihydrotestosterone). 0.5 on the development data (stop 38: MassBank
        MS/MS present wrong 2 -> 1, no right one lost; one row of evidence; docs/match.md); 0: off.
    isomer_ms2_alone_rate : float
        MS/MS: the isomers the library does not hold are excluded when the hit is of no drug series
        (no EWA substance group; since stop 35) and stands alone at the precursor's mass (no other
        library compound scored against the spectrum), a second record of the hit's compound
        (another laboratory or collision energy) also reaches ``identified_score``,
        and every one of them is of a kind whose library pairs match each other at the unknown's
        score at most this often (:func:`nps_id.match.isomer_evidence.alone_at_its_mass`; 0.2 on the
        development data at stop 26: MassBank MS/MS coverage 0.232 -> 0.253, no wrong ``identified``
        added on any task -- a drug hit's came to light at stop 35; docs/match.md; 0: off).
    isomer_ms2_alone_min_compounds : int
        The ``isomer_ms2_alone_rate`` rule applies only to a library of at least this many distinct
        compounds (MassBank MS/MS: 8,044): in a small in-house library most hits stand alone at their
        mass, and "no other compound scored" no longer says the library is dense around the hit.
    isomer_ms2_other_rate : float
        MS/MS: the isomers the library does not hold are excluded when the hit is of no drug series
        (no EWA substance group), a second record of its compound also reaches ``identified_score``,
        and every one of them is of a kind whose library pairs match each other at the unknown's
        score less often than this (:func:`nps_id.match.isomer_evidence.replicated_outside_drug_series`;
        0.1 on the development data; docs/match.md; 0: off).
    isomer_small_ms2_atoms : int
        MS/MS: a hit with at most this many heavy atoms has every ring-position and ring-nitrogen
        isomer not excluded, whatever its kind's rate: collision-induced dissociation of
        a small aromatic loses H2O, CO, HCl, CO2 or HCN wherever its substituents or ring nitrogens
        sit (dichlorophenols, nicotinate / isonicotinate, pyrazole / imidazole). 12 chosen on the
        development data (docs/match.md; stop 24, with the MS/MS gap and library pairs): 10 -> 12
        atoms, wrong ``identified`` of absent MS/MS compounds 4 -> 2 and left out 35 -> 33, for 8
        right ones of 299 (2,6-dichlorobenzamide, ethylparaben, bromoxynil, gallic acid, ...).
    isomer_ms2_product_ion_level : float
        MS/MS: a spectrum with no product ion (an ion more than
        :data:`~nps_id.match.isomer_rule.PRODUCT_ION_MIN_LOSS_DA` below the precursor m/z) at or above
        this fraction of its base peak -- the precursor and nothing else, as a low collision energy
        leaves it -- has no isomer excluded: every compound of the precursor's mass gives that
        spectrum (caffeine left out matched isocaffeine at 999 with one ion at 0.3 %). 0.01 on the
        development data (docs/match.md; 0.005 / 0.01 / 0.02: wrong ``identified`` 5 / 7 / 8 fewer
        for 0 / 1 / 4 right ones); 0: off.
    isomer_ms2_record_product_ion_level : float
        MS/MS: the same for the library record the unknown matched: a record with no product ion at or
        above this fraction of its base peak -- its precursor and specks -- has no isomer excluded by
        the match, whatever the unknown holds: the score removes the precursor and compares the
        unknown's fragments with the record's specks (sulfadoxine left out matched sulfadimethoxine's
        record, 311.081 and one ion at 0.4 %, at 999). 0.005 on the development data (stop 38:
        MassBank MS/MS wrong ``identified`` left out 20 -> 18, no right one lost; 0.01 loses one right
        one, paroxetine; docs/match.md); 0: off.
    isomer_small_ei_atoms : int
        EI: a hit with at most this many heavy atoms has its isomers not excluded by the spectrum
        alone (the retention index or a reference standard can): a few fragment ions cannot tell
        apart the rings and skeletons of so few atoms, most of which no isomer move enumerates.
        5 chosen on the development data (docs/match.md); only for hits of >= 3 C, N, O, S or P atoms
        (:data:`nps_id.match.isomer_rule.SMALL_MIN_SKELETON`).
    isomer_pah_rings : int
        EI: a hit that is a hydrocarbon with a fused system of at least this many sp2 (aromatic) rings
        (a PAH) has its isomers not excluded by the spectrum alone (the retention index or a reference
        standard can): ring-fusion isomers (benz[a]anthracene / tetracene, fluoranthene / pyrene)
        show the molecular ion and little else, and no isomer move enumerates them. 3 on the
        development data: 3 wrong ``identified`` fewer, no right one lost (docs/match.md); 0: off.
    isomer_hydrocarbon_carbons : int
        EI: a hit of carbon and hydrogen only with at most this many carbons (not a PAH of
        ``isomer_pah_rings``) has its isomers not excluded by the spectrum alone (the retention index
        or a reference standard can): alkane, cycloalkane, alkene and alkylbenzene isomers give the
        same few ion series, and most of their skeletons no isomer move enumerates. 9 on the
        development data (stop 45: 3 wrong ``identified`` fewer -- toluene, 2-methylheptane,
        allylbenzene -- for 4 right present ones; docs/match.md "Hydrocarbons, EI"); 0: off.
    isomer_thermal_products : bool
        EI: a hit whose reference spectrum is its injector product's (an acid decarboxylated, an
        amino or hydroxy acid closed to its lactam or lactone, a beta-amino ester's retro-Mannich
        ester: the reference's molecular ion is the product's mass; :mod:`nps_id.chem.thermal`) has
        that product not excluded -- the spectrum is the product's either way (cannabigerorcinic
        acid / cannabigerorcin, phenibut / its lactam, 3,4-CTMP / methyl (3,4-dichlorophenyl)acetate).
    isomer_thermal_lactam_precursors : bool
        EI: a hit that is a lactam with N-H in a saturated 5- or 6-ring has the amino acid that closes
        to it in the injector not excluded (4-phenyl-2-pyrrolidinone / phenibut).
    isomer_thermal_acid_precursors : bool
        EI: a hit that is a cannabinoid-type phenol has the acid that decarboxylates to it in the
        injector not excluded (THC / THCA, cannabigerorcin / cannabigerorcinic acid). Off: on the
        development data it removes one wrong ``identified`` for four right ones (delta-8-THC,
        cannabidivarin, JWH-053, JWH-054), a chemical limit of GC-EI the lead weighs (docs/match.md).
    ms2_stated_precursor_type : bool
        MS/MS: when the spectrum states its precursor is an ion of the whole molecule (a record's
        ``Precursor_type``: ``[M+H]+``, ``[M-H]-``, an adduct), the precursor must be such an ion of
        the candidate, not one of its in-source fragments (``[M-H-H2O]-``, ...): the molecule
        fragmented is then lighter than the candidate. Suberate ([M-H]- 173.0, M 174) met
        isocitrate's record of its in-source [M-H-H2O]- (173.01; M 192) at 807 (docs/match.md);
        False: any ion type of the candidate passes, as for a run's scans (they state none).
    precursor_formula_ppm : float
        MS/MS: largest |error| (ppm) of the spectrum's stated precursor m/z against the candidate's
        ion computed from its formula, widened by the precursor's recorded precision; a precursor
        written to fewer than 3 decimals (a unit-resolution m/z) is not evaluated, nor a run's
        finding whose MS1 peak the HRMS criterion judges. The search's
        identity window (20 ppm) asked it of the record's precursor, which a library may write to
        no decimal (3,537 MassBank MS/MS records): an accurately measured precursor must also be the
        candidate's ion by its formula (docs/match.md).
    precursor_ppm : float
        LC-HRMS: largest |exact-mass error| (ppm) of the precursor's MS1 peak against the
        candidate's ion (SANTE/11312/2021: <= 5 ppm).
    min_fragments : int
        LC-MS/MS: reference fragments (>= ``major_ion_level`` of its base peak, precursor
        excluded) the spectrum must hold (SANTE/11312/2021: >= 2 product ions); all of them when
        the reference has fewer.
    min_product_ions : int
        LC-MS/MS: reference fragments matched that ``identified`` needs, whatever the reference holds
        (SWGDRUG, ENFSI, EU 2021/808: >= 2 product ions): a reference of one major fragment, matched,
        meets ``min_fragments`` but leaves the finding ``tentative`` (fluopicolide on the PestMix slice,
        1 of 1: ``identified`` until stop 37).
    """

    identified_mf: int = 800
    identified_rmf: int = 850
    identified_score: int = 800
    min_gap: int = 30
    min_gap_ms2: int = 75
    min_ions: int = 10
    min_significant_ions: int = 3
    significant_ion_level: float = 0.02
    major_ion_fraction: float = 0.8
    major_ion_level: float = 0.10
    ri_window: float = 30.0
    tentative_mf: int = 700
    tentative_rmf: int = 700
    tentative_score: int = 700
    analogue_score: int = 850
    analogue_confidence: float = 0.45
    analogue_mass_share: float = 0.4
    report_score: int = 600
    ions_above_level: float = 0.05
    molecular_ion_level: float = 0.01
    candidate_ion_level: float = 0.005
    estimated_ion_level: float = 0.003
    column_bleed_level: float = 0.06
    background_ion_ratio: float = 2.0
    group_fragment_level: float = 0.35
    group_derivative_similarity: float = 0.5
    group_beyond_molecular_ion: float = 0.5
    group_acylium_ions: bool = True
    group_beyond_silyl_ions: float = 0.6
    group_beyond_haloacyl_ions: float = 0.6
    group_below_series: bool = True
    one_ion_share: float = 0.4
    one_ion_rest_level: float = 0.02
    one_ion_rest_factor: float = 3.0
    isomer_min_rate: float = 0.045
    isomer_min_rate_ms2: float = 0.05
    isomer_margin: int = 100
    isomer_ms2_margin: int = 200
    isomer_held_min_rate: float = 0.0
    isomer_held_min_rate_ms2: float = 0.05
    isomer_diastereomer_margin: int = 0
    isomer_diastereomer_ms2_margin: int = 100
    isomer_absent_diastereomer_rate: float = 0.2
    isomer_ms2_pair_score: int = 850
    isomer_ms2_unit_precursor_da: float = 0.5
    isomer_ms2_water_loss_da: float = 0.5
    isomer_ms2_alone_rate: float = 0.2
    isomer_ms2_alone_min_compounds: int = 5000
    isomer_ms2_other_rate: float = 0.1
    isomer_small_ms2_atoms: int = 12
    isomer_ms2_product_ion_level: float = 0.01
    isomer_ms2_record_product_ion_level: float = 0.005
    isomer_small_ei_atoms: int = 5
    isomer_pah_rings: int = 3
    isomer_hydrocarbon_carbons: int = 9
    isomer_heavier_ion_level: float = 0.005
    isomer_homologue_ion_level: float = 0.005
    isomer_homologue_min_chain: int = 8
    isomer_thermal_products: bool = True
    isomer_thermal_lactam_precursors: bool = True
    isomer_thermal_acid_precursors: bool = False
    ms2_stated_precursor_type: bool = True
    precursor_formula_ppm: float = 20.0
    precursor_ppm: float = 5.0
    min_fragments: int = 2
    min_product_ions: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """What is known about one component's best hit (scores on the 0-999 scale).

    ``mf``/``rmf`` are None for MS/MS, ``major_ions`` (present, expected) is None for MS/MS,
    ``delta_ri`` is None when either RI is unknown, ``analogue_score`` (the analogue hit's
    spectral similarity, without the mass prior) is None when analogue mode was not run, and so are
    ``analogue_confidence`` (its predicted Tanimoto, 0-1), ``analogue_delta_mass`` (the unknown's
    mass minus the hit's, Da) and ``analogue_query_mass`` (the unknown's mass that difference was
    taken from, :func:`nps_id.search.analogue_confidence.query_mass`; either is None when unknown).
    LC-HRMS (None: not evaluated): ``ms1_feature`` whether the precursor has an MS1 peak at the
    MS/MS scans' RT, ``precursor_ppm`` its exact-mass error against the candidate's ion,
    ``matched_fragments`` (held, expected) of the reference's major fragments; ``unit_fragments`` (None:
    accurate) the fragment tolerance a scan group whose product ions are written to unit resolution was
    scored at -- its fragments then meet no HRMS criterion, whatever they match.
    ``one_ion`` (EI; None: not evaluated, the candidate's spectrum is not one nitrogen-bearing ion):
    its base peak m/z and the ions above it whose intensities disagree, (m/z, reference, unknown)
    (:func:`nps_id.match.dominant_ion.rest_disagrees`).
    ``significant_ions`` (EI; None: not evaluated): the spectrum's nominal ions at or above
    ``significant_ion_level`` of its base peak.
    ``precursor_ion`` (MS/MS; None: not evaluated): the precursor m/z and the ion type of the
    candidate it is (``[M+H]+``, ``[M+Na]+``, ...), None when it is none of them.
    ``stated_ion`` (MS/MS): the ion type the spectrum states its precursor is (``precursor_ion`` was
    then sought among the candidate's ions of the whole molecule only), None when it states none.
    ``record_precursor`` (MS/MS; None: not evaluated): the matched library record's precursor m/z
    and whether the spectrum's precursor is the same ion (within the nominal window).
    ``precursor_formula`` (MS/MS; None: not evaluated, a precursor of < 3 decimals or no formula): the
    precursor's error (ppm) against the candidate's nearest ion from its formula, and the
    precursor's recorded precision (ppm) (:func:`~nps_id.match.precursor_formula.precursor_formula_error`); a failed
    one is an isobar, not an isomer (:data:`PRECURSOR_FORMULA_RULE`).
    ``identity_hit`` False: the hit is an analogue-mode one; the identity scores are failed, and
    their criteria say so instead of quoting the 0 they are given (the finding shows the hit's MF).
    ``estimated_mass``: the spectrum's estimated nominal mass (None: not given); no criterion reads it, the
    rule text says where it comes from when it is the mass of a hit the spectrum shows no ion at.
    ``without_rt``: an MS/MS spectrum without a retention time (a search query, an LC scan group without time):
    the rule text names a standard "run on the same method", not "at the same RT" (no criterion reads it).
    """

    kind: str  # "ei" or "ms2"
    score: int
    mf: int | None = None
    rmf: int | None = None
    gap: int | None = None
    isomer_alert: bool = False
    major_ions: tuple[int, int] | None = None
    n_ions: int | None = None
    significant_ions: int | None = None
    same_hit_elsewhere: int = 0
    delta_ri: float | None = None
    analogue_score: int | None = None
    analogue_confidence: float | None = None
    analogue_delta_mass: float | None = None
    analogue_query_mass: float | None = None
    isomers: "IsomerCheck | None" = None
    ions_above: tuple[tuple[int, float], ...] | None = None
    ions_missing: tuple[tuple[int, float], ...] | None = None
    ion_unexplained: tuple[tuple[int, float], ...] | None = None
    ions_disagree: tuple[tuple[int, float, int, float], ...] | None = None
    one_ion: tuple[int, tuple[tuple[int, float, float], ...]] | None = None
    precursor_ion: tuple[float, str | None] | None = None
    stated_ion: str | None = None
    record_precursor: tuple[float, bool] | None = None
    precursor_formula: tuple[float, float] | None = None
    ms1_feature: bool | None = None
    precursor_ppm: float | None = None
    matched_fragments: tuple[int, int] | None = None
    unit_fragments: str | None = None
    close_isomers: tuple[str, ...] = ()
    close_relatives: tuple[tuple[str, str], ...] = ()  # (name, move) of close_isomers that are GC injector relatives
    identity_hit: bool = True  # False: only an analogue-mode hit; its scores stand at 0 and fail by construction
    estimated_mass: int | None = None  # the spectrum's estimated nominal mass, for the rule text only
    without_rt: bool = False  # MS/MS: the spectrum has no retention time, for the rule text only


@dataclass(frozen=True)
class Verdict:
    """A level, the rule that decided it (readable text, and its :class:`RuleId`) and every
    criterion by outcome. ``held_by``: what the isomer check leaves unexcluded besides the hit, as
    :data:`HELD_BY` words (the rule text of an "isomer not excluded" verdict says it for people; code reads
    this: :func:`held_words`) -- of any verdict whose isomer criterion failed, whichever rule decided it
    ("HRMS criteria not met" first, since attack48); empty when it did not fail."""

    verdict: Level
    rule: str
    rule_id: RuleId = field(kw_only=True)
    criteria_met: list[str] = field(default_factory=list)
    criteria_failed: list[str] = field(default_factory=list)
    criteria_not_evaluated: list[str] = field(default_factory=list)
    held_by: list[str] = field(default_factory=list, kw_only=True)


def decide(evidence: Evidence, t: VerdictThresholds = VerdictThresholds()) -> Verdict:
    """Apply the rules of the module docstring to ``evidence``."""
    checks = _checks(evidence, t)
    if evidence.isomers is not None:
        checks.append(_isomer_check(evidence.isomers, _ri_ok(evidence, t)))
    return _rule(evidence, evidence.isomers, checks, t)


def decide_level(evidence: Evidence, isomers: Callable[[], "IsomerCheck"],
                 t: VerdictThresholds = VerdictThresholds()) -> tuple[Verdict, "IsomerCheck | None"]:
    """:func:`decide` for ``evidence`` with the isomers of ``isomers()``, for a caller that reads the
    level and rule, not every criterion (``nps-id search``): ``isomers()`` (an RDKit enumeration)
    is called, and its criterion added, only when every other criterion passes -- the one case in
    which it can change the level or the rule. Returns the verdict and the isomers (None: not checked)."""
    checks = _checks(evidence, t)
    if any(ok is False for _, ok, _ in checks):
        return _rule(evidence, None, checks, t), None
    check = isomers()
    return _rule(evidence, check, [*checks, _isomer_check(check, _ri_ok(evidence, t))], t), check


def formula_fits(precursor_formula: tuple[float, float], t: VerdictThresholds) -> bool:
    """Whether the spectrum's precursor is the candidate's ion by its formula: ``precursor_formula``
    (:attr:`Evidence.precursor_formula`: error and recorded precision, ppm) within
    ``t.precursor_formula_ppm`` widened by that precision."""
    error, precision = precursor_formula
    return abs(error) <= t.precursor_formula_ppm + precision


def _ri_ok(evidence: Evidence, t: VerdictThresholds) -> bool | None:
    return None if evidence.delta_ri is None else abs(evidence.delta_ri) <= t.ri_window


def _checks(evidence: Evidence, t: VerdictThresholds) -> list[tuple[str, bool | None, str]]:
    """Every criterion but the isomers' as (text, passed or None: not evaluated, group)."""
    checks: list[tuple[str, bool | None, str]] = []
    def shown(name: str, value: int | None) -> str:
        return f"{name} {value}" if evidence.identity_hit else "no identity hit, an analogue-mode one"

    if evidence.kind == "ei":
        checks.append((f"mf >= {t.identified_mf} ({shown('mf', evidence.mf)})", _ge(evidence.mf, t.identified_mf), "score"))
        checks.append((f"rmf >= {t.identified_rmf} ({shown('rmf', evidence.rmf)})", _ge(evidence.rmf, t.identified_rmf),
                       "score"))
    else:
        checks.append((f"score >= {t.identified_score} ({shown('score', evidence.score)})",
                       evidence.score >= t.identified_score, "score"))
    # an MS/MS analogue-mode hit's gap is not compared (its finding's gap field is the analogue scores'):
    # "no other compound scored" there contradicted the runner-up the finding names (PestMix, 7.525 min)
    unscored = "no other compound scored" if evidence.identity_hit else "not compared for an analogue-mode hit"
    gap = unscored if evidence.gap is None else f"gap {evidence.gap}"
    min_gap = t.min_gap if evidence.kind == "ei" else t.min_gap_ms2
    checks.append((f"gap to next different compound >= {min_gap} ({gap})",
                   None if evidence.gap is None else evidence.gap >= min_gap, "ambiguity"))
    checks.append(("no isomer alert", not evidence.isomer_alert, "ambiguity"))
    # One compound elutes once: if it is the best hit at other retention times too, the library
    # cannot tell these compounds (often isomers it lacks) apart.
    checks.append((f"best hit at no other retention time ({evidence.same_hit_elsewhere} other)",
                   evidence.same_hit_elsewhere == 0, "ambiguity"))
    if evidence.kind == "ei" and evidence.n_ions is not None and evidence.significant_ions is not None:
        # one line for both counts: a report's finding keeps its length (and its figure on its page)
        checks.append((f"extracted spectrum has >= {t.min_ions} ions ({evidence.n_ions}), >= {t.min_significant_ions} "
                       f"of them >= {t.significant_ion_level:.0%} of its base peak ({evidence.significant_ions})",
                       evidence.n_ions >= t.min_ions and evidence.significant_ions >= t.min_significant_ions, "ions"))
    elif evidence.kind == "ei" and evidence.n_ions is not None:
        checks.append((f"extracted spectrum has >= {t.min_ions} ions ({evidence.n_ions})",
                       evidence.n_ions >= t.min_ions, "ions"))
    elif evidence.kind == "ei" and evidence.significant_ions is not None:
        checks.append((f"extracted spectrum has >= {t.min_significant_ions} ions >= {t.significant_ion_level:.0%} of "
                       f"its base peak ({evidence.significant_ions})",
                       evidence.significant_ions >= t.min_significant_ions, "ions"))
    if evidence.kind == "ei":
        if evidence.major_ions is None or evidence.major_ions[1] == 0:
            checks.append((f"major reference ions (>= {t.major_ion_level:.0%}) present", None, "ions"))
        else:
            present, expected = evidence.major_ions
            checks.append((
                f"major reference ions (>= {t.major_ion_level:.0%}) present: {present}/{expected} "
                f">= {t.major_ion_fraction:.0%}", present >= t.major_ion_fraction * expected - 1e-9, "ions",
            ))
    if evidence.one_ion is not None:
        base, disagree = evidence.one_ion
        shown_ions = ", ".join(f"m/z {m} {r:.1%} vs {u:.1%}" for m, r, u in disagree[:3])
        checks.append((f"the candidate's spectrum is one nitrogen-bearing ion (m/z {base}): its ions above it (the rest "
                       f"of the molecule, >= {t.one_ion_rest_level:.0%}) agree within {t.one_ion_rest_factor:g}x"
                       + (f" (candidate vs spectrum: {shown_ions})" if shown_ions else ""), not disagree, "ions"))
    ri_ok = _ri_ok(evidence, t)
    ri_text = "" if evidence.delta_ri is None else f" (dRI {evidence.delta_ri:+.0f})"
    checks.append((f"|RI - library RI| <= {t.ri_window:g}{ri_text}", ri_ok, "ri"))
    if evidence.ions_above is not None:
        above = ", ".join(f"m/z {m} ({r:.0%})" for m, r in evidence.ions_above[:3])
        checks.append((f"no ions >= {t.ions_above_level:.0%} (nor a confirmed molecular ion) above the candidate's "
                       "molecular ion"
                       + (f" (found {above})" if above else ""), not evidence.ions_above, "mass"))
    if evidence.ions_missing is not None:
        missing = ", ".join(f"m/z {m} ({r:.0%})" for m, r in evidence.ions_missing[:3])
        checks.append((f"the candidate's ions >= {t.ions_above_level:.0%} above the spectrum's highest ion are present"
                       + (f" (missing {missing})" if missing else ""), not evidence.ions_missing, "mass"))
    if evidence.ion_unexplained is not None:
        lacking = "".join(f" (m/z {m} ({r:.0%}) is not)" for m, r in evidence.ion_unexplained[:1])
        checks.append((f"the spectrum's molecular ion (>= {t.molecular_ion_level:.0%}, confirmed by its estimated mass) "
                       "is in the candidate's spectrum" + lacking, not evidence.ion_unexplained, "mass"))
    if evidence.ions_disagree is not None:
        apart = "".join(f" (the candidate's m/z {m} ({r:.1%}) is not, nor the spectrum's m/z {e} ({u:.1%}) in the "
                        "candidate's)" for m, r, e, u in evidence.ions_disagree[:1])
        checks.append(("the candidate's highest ion is in the spectrum, or the spectrum's estimated molecular ion in "
                       "the candidate's" + apart, not evidence.ions_disagree, "mass"))
    if evidence.precursor_ion is not None:
        # A library may hold a compound's spectrum at another compound's precursor m/z (an
        # in-source fragment recorded as the precursor): the precursor must be an ion of the candidate.
        mz, ion = evidence.precursor_ion
        if evidence.stated_ion is not None:  # the spectrum's ion of the whole molecule gives its mass
            checks.append((f"precursor m/z {_as_written(mz)} is an ion of the candidate's whole molecule, as the "
                           f"spectrum states ({evidence.stated_ion}), not an in-source fragment" + (f": its {ion}" if ion else " (it is not)"),
                           ion is not None, "mass"))
        else:
            checks.append((f"precursor m/z {_as_written(mz)} is an ion of the candidate ({ion or 'of no ion type'})",
                           ion is not None, "mass"))
    if evidence.record_precursor is not None:
        # Nominal precursors (160.0, 161.0) widen the search's window to the next ion: a record of
        # another precursor ion ([M+H]+ of a compound 1 u heavier) fragmented another ion.
        record_mz, same = evidence.record_precursor
        checks.append((f"the precursor is the ion the library record fragmented (the library record's precursor m/z "
                       f"{_as_written(record_mz)})", same, "mass"))
    if evidence.precursor_formula is not None:
        error, precision = evidence.precursor_formula
        checks.append((f"the precursor m/z is the candidate's ion by its formula within {t.precursor_formula_ppm:g} ppm"
                       + (f" and its recorded precision ({precision:.0f} ppm)" if precision else "")
                       + f" ({error:+.1f} ppm)", formula_fits(evidence.precursor_formula, t), "mass"))
    checks += _hrms_checks(evidence, t)
    # The rules read a criterion by identity (``ok is False``): a numpy bool from a numpy value
    # (np.False_) would be neither and read "not evaluated" -- a failed criterion silently dropped
    # (eiverdict40 met it: an absent compound then `identified`).
    return [(text, ok if ok is None else bool(ok), group) for text, ok, group in checks]


def _rule(evidence: Evidence, isomers: "IsomerCheck | None", checks: list[tuple[str, bool | None, str]],
          t: VerdictThresholds) -> Verdict:
    """The first rule of the module docstring that ``checks`` (the isomers' among them, if any) meet."""
    met = [c for c, ok, _ in checks if ok is True]
    failed = [c for c, ok, _ in checks if ok is False]
    unknown = [c for c, ok, _ in checks if ok is None]
    failed_groups = {g for _, ok, g in checks if ok is False} - {"identity_ions"}

    # what the isomer check holds, whichever rule decides: mecamylamine's unit-resolution run (stop 48 prec48) is
    # "HRMS criteria not met" first, and its report counted its isomers only, not the compounds of another formula
    # its criteria name (attack48, as newuser47 found of its "isomer not excluded" verdict)
    held_by_isomers = held_by(isomers) if "isomer" in failed_groups else []

    def verdict(level: Level, rule_id: RuleId, rule: str, extra_met: list[str] = (), extra_failed: list[str] = (),
                extra_unknown: list[str] = (), held_by: list[str] | None = None) -> Verdict:
        return Verdict(level, rule, met + list(extra_met), failed + list(extra_failed), unknown + list(extra_unknown),
                       rule_id=rule_id, held_by=list(held_by_isomers if held_by is None else held_by))

    if evidence.precursor_formula is not None and not formula_fits(evidence.precursor_formula, t):
        return verdict(INCONCLUSIVE, RuleId.MOLECULAR_ION_INCONSISTENT, PRECURSOR_FORMULA_RULE)
    if "mass" in failed_groups:
        return verdict(INCONCLUSIVE, RuleId.MOLECULAR_ION_INCONSISTENT, "molecular ion inconsistent: the spectrum and "
                       "the candidate disagree on the molecular mass (another compound, e.g. a homologue, or a mixture)")
    if not failed_groups:
        if failed:  # identity_ions alone: one product ion is no identification
            return verdict(TENTATIVE, RuleId.HRMS_NOT_MET, HRMS_NOT_MET_RULE)
        return verdict(IDENTIFIED, RuleId.IDENTITY, "identity: every evaluated criterion met")
    if failed_groups == {"isomer"}:
        # the next step, in the rule itself: what evidence would exclude the isomers (GC only has RI)
        excluders = _standard_run(evidence) + (", or a retention index in the window," if evidence.kind == "ei" else "")
        if isomers is not None and isomers.thermal:  # an injector relative elutes as the hit does
            excluders = ("derivatisation or LC-MS -- not a standard run or a retention index --" if
                         len(isomers.thermal) == len(isomers.not_excluded) else
                         f"{excluders} (the injector relative: only derivatisation or LC-MS)")
        held = held_by_isomers
        # a heavier compound, or a compound of another formula, alone is one: "excludes them" read as
        # several (stop 47, newuser47)
        one = len(held) == 1 and held[0] in NOT_ISOMER_WORDS and (held[0] != HELD_HOMOLOGUE or len(isomers.homologues) == 1)
        them = agreeing(1 if one else 2, "it", "them")
        return verdict(TENTATIVE, RuleId.ISOMER_NOT_EXCLUDED,
                       f"{ISOMER_NOT_EXCLUDED}: {isomer_phrase(isomers, evidence.estimated_mass, held)}; {excluders} "
                       f"excludes {them}",
                       held_by=held)
    if failed_groups <= {"ambiguity", "isomer"} and evidence.close_isomers and not evidence.same_hit_elsewhere:
        # every compound as close is an isomer of the hit: the evidence does not exclude them, and
        # the substance may also be an isomer the library lacks (butyryl fentanyl left out:
        # isobutyryl fentanyl's gap to its library isomers fails)
        relatives = dict(evidence.close_relatives)
        if relatives:  # phenibut and its lactam: the injector makes one compound of both
            named = [f"{name}, {_injector_relative(relatives[name])}, eluting as the same compound"
                     if name in relatives else name for name in evidence.close_isomers[:3]]
            what = "a compound" if len(relatives) == len(evidence.close_isomers) else "a compound or an isomer"
            excluders = ("derivatisation or LC-MS -- not a standard run or a retention index --"
                         if what == "a compound" else
                         "a reference standard run at the same RT (the injector relative: only derivatisation or LC-MS)")
            return verdict(TENTATIVE, RuleId.ISOMER_NOT_EXCLUDED,
                           f"{ISOMER_NOT_EXCLUDED}: the substance is the hit or {what} the spectrum cannot tell "
                           f"from it -- in the library, scoring within the gap: {'; '.join(named)}; {MAY_BE_NEW}; "
                           f"{excluders} excludes them",
                           held_by=[HELD_INJECTOR_RELATIVE] + ([] if what == "a compound" else [HELD_ISOMER]))
        return verdict(TENTATIVE, RuleId.ISOMER_NOT_EXCLUDED,
                       f"{ISOMER_NOT_EXCLUDED}: the substance is the hit or an isomer the spectrum cannot tell "
                       f"from it -- in the library, scoring within the gap: {', '.join(evidence.close_isomers[:3])}; "
                       f"{MAY_BE_NEW}; {_standard_run(evidence)} excludes them", held_by=[HELD_ISOMER])
    if failed_groups <= {"ambiguity", "isomer"}:
        # compounds this close are often isomers of one another, and the substance may be one the
        # library lacks (mephedrone left out: 3-MMC against 2-MMC); the text does not read the
        # isomer check, which the search's decide_level skips here
        return verdict(TENTATIVE, RuleId.ISOMER_AMBIGUITY,
                       "isomer ambiguity: scores pass, but the library cannot single this compound out: "
                       + _ambiguity_phrase(evidence, t) + f"; {MAY_BE_NEW}")
    if failed_groups - {"isomer"} == {"hrms"}:
        return verdict(TENTATIVE, RuleId.HRMS_NOT_MET, HRMS_NOT_MET_RULE)
    if failed_groups - {"isomer"} == {"ri"}:
        return verdict(TENTATIVE, RuleId.RI_DISAGREES, "retention index disagrees with the library")
    floor = _tentative_floor(evidence, t)
    if all(ok for _, ok in floor):
        return verdict(TENTATIVE, RuleId.WEAK_MATCH, "weak match: below the identity criteria, above the tentative floor",
                       [c for c, _ in floor])
    below = [c for c, ok in floor if not ok]
    if evidence.analogue_score is not None and evidence.analogue_score >= t.analogue_score:
        share = analogue_mass_share(evidence.analogue_delta_mass, evidence.analogue_query_mass)
        checks = _analogue_criteria(evidence.analogue_score, evidence.analogue_confidence, share, t)
        passed = [c for c, ok in checks if ok]
        failed_here = [c for c, ok in checks if ok is False]
        unknown_here = [c for c, ok in checks if ok is None]
        if not failed_here:  # close_analogue()
            # "a suspected new substance" here read, on the report of a pesticide run, as a possible NPS
            # for unknowns of no NPS group (the group is decided after the verdict): stop 35
            return verdict(TENTATIVE, RuleId.CLOSE_ANALOGUE, "close analogue: not the hit but a structural relative "
                           "of it (no identity hit passes, an analogue-mode hit does); not in the library",
                           passed, below, unknown_here)
        return verdict(INCONCLUSIVE, RuleId.BELOW_TENTATIVE_FLOOR, "below the tentative floor", passed,
                       below + failed_here, unknown_here)
    return verdict(INCONCLUSIVE, RuleId.BELOW_TENTATIVE_FLOOR, "below the tentative floor", extra_failed=below)


def close_analogue(similarity: int | None, confidence: float | None, t: VerdictThresholds,
                   mass_share: float | None = None) -> bool:
    """The "close analogue" criterion: the analogue hit's spectral similarity (0-999) and the
    query's analogue confidence (0-1) both at their thresholds, and the mass difference's share of
    the heavier molecule (:func:`analogue_mass_share`; None: unknown, not evaluated) at most
    ``analogue_mass_share`` (all inclusive). The one rule the verdict and ``nps-id match``'s
    choice of analogue findings apply."""
    return all(ok is not False for _, ok in _analogue_criteria(similarity, confidence, mass_share, t))


def _analogue_criteria(similarity: int | None, confidence: float | None, mass_share: float | None,
                       t: VerdictThresholds) -> list[tuple[str, bool | None]]:
    """(criterion, passed or None: not evaluated) of :func:`close_analogue`."""
    return [
        (f"analogue similarity >= {t.analogue_score} (modified cosine {similarity})",
         similarity is not None and similarity >= t.analogue_score),
        (f"analogue confidence >= {t.analogue_confidence:g} ("
         + ("not computed)" if confidence is None else f"predicted Tanimoto {confidence:.2f})"),
         confidence is not None and confidence >= t.analogue_confidence),
        (f"analogue mass difference <= {t.analogue_mass_share:.0%} of the heavier molecule"
         + ("" if mass_share is None else f" ({mass_share:.0%})"),
         None if mass_share is None else mass_share <= t.analogue_mass_share + 1e-9),
    ]


def analogue_mass_share(delta_mass: float | None, query_mass: float | None) -> float | None:
    """|unknown's mass - hit's mass| as a share of the heavier of the two, from the analogue
    search's ``delta_mass`` (unknown minus hit) and the unknown's ``query_mass`` it was taken from
    (the hit's is ``query_mass - delta_mass``); None when either is unknown."""
    if delta_mass is None or query_mass is None or not math.isfinite(delta_mass) or query_mass <= 0:
        return None
    return abs(delta_mass) / max(query_mass, query_mass - delta_mass)


#: The LC-HRMS fragments criterion of a reference spectrum with no major fragment besides its precursor:
#: not evaluated (listed in ``criteria_not_evaluated``), neither met nor failed.
FRAGMENTS_NOT_COMPARED = ("reference fragments matched: none to compare (the reference spectrum has no major "
                          "fragment besides its precursor)")


#: The LC-MS/MS criterion of :attr:`VerdictThresholds.min_product_ions`, where the reference has fewer
#: major fragments than that (else "reference fragments matched" asks as many). Its group,
#: "identity_ions", holds back only what would be ``identified`` (:data:`HRMS_NOT_MET_RULE`): a
#: finding another rule holds keeps that rule (and lists it failed).
PRODUCT_IONS_FOR_IDENTITY = "product ions matched for an identification"
HRMS_NOT_MET_RULE = ("HRMS criteria not met: the MS/MS spectrum passes, but the precursor's MS1 peak, exact mass or "
                     "matched fragments do not")


def _hrms_checks(evidence: Evidence, t: VerdictThresholds) -> list[tuple[str, bool, str]]:
    """The LC-HRMS identification points (SANTE/11312/2021; docs/match.md), where evaluated."""
    checks = []
    if evidence.ms1_feature is not None:
        checks.append(("precursor has an MS1 peak at the MS/MS scans' RT", evidence.ms1_feature, "hrms"))
    if evidence.precursor_ppm is not None:
        checks.append((f"|precursor mass error| <= {t.precursor_ppm:g} ppm ({evidence.precursor_ppm:+.1f} ppm)",
                       abs(evidence.precursor_ppm) <= t.precursor_ppm, "hrms"))
    if evidence.matched_fragments is not None:
        # A reference with fewer major fragments (betaine: one) needs all of them.
        held, expected = evidence.matched_fragments
        if evidence.unit_fragments is not None:
            # a unit-resolution instrument's product ions say nominal ions, not formulae: no HRMS point (stop 48)
            checks.append((f"reference fragments matched at accurate mass (not possible: the product ions are written "
                           f"to unit resolution; {held} of {expected} within {evidence.unit_fragments})", False, "hrms"))
        elif not expected:
            # nothing to compare is no criterion met: ">= 0 (0 of 0)" read as one (betaine, L-histidine
            # of the RAMS run; stop 34, attack34)
            checks.append((FRAGMENTS_NOT_COMPARED, None, "hrms"))
        else:
            need = min(t.min_fragments, expected)
            checks.append((f"reference fragments matched >= {need} ({held} of {expected})", held >= need, "hrms"))
        if expected < t.min_product_ions:  # the criterion above asks fewer: an identification needs this many
            checks.append((f"{PRODUCT_IONS_FOR_IDENTITY} >= {t.min_product_ions} ({held}: the reference has {expected} "
                           f"major fragment{'' if expected == 1 else 's'})", held >= t.min_product_ions, "identity_ions"))
    return checks


def _isomer_check(check: "IsomerCheck", ri_ok: bool | None) -> tuple[str, bool, str]:
    if ri_ok:
        # the RI excludes isomers, not what the injector makes of the hit (it elutes as the hit does),
        # nor a diastereomer whose own RI is unknown or also in the window (assess drops those it separates)
        kept = check.thermal + check.diastereomers
        if not kept:
            return ("isomers excluded by the retention index", True, "isomer")
        check = IsomerCheck(True, kept)
    if not check.evaluated:
        return ("isomers excluded (not possible: the hit has no verified structure to enumerate them)", False, "isomer")
    if check.pah:
        return (f"isomers excluded (not possible from the spectrum alone: the ring-fusion isomers of a polycyclic "
                f"aromatic hydrocarbon of {check.pah} fused rings show the molecular ion and little else)", False, "isomer")
    if check.no_product_ion:
        return (f"isomers excluded (not possible from the spectrum alone: it holds "
                f"{_no_product_ion(check.no_product_ion)}, only its precursor, which every compound of its mass gives)",
                False, "isomer")
    if check.record_no_product_ion:
        return (f"isomers excluded (not possible from the spectrum alone: the library record it matches holds "
                f"{_no_product_ion(check.record_no_product_ion)}, only its precursor, which every compound of its "
                "mass gives)", False, "isomer")
    if check.unit_precursor:
        return (f"isomers excluded (not possible from the spectrum alone: {_unit_precursor(check)})", False, "isomer")
    if check.small:
        return (f"isomers excluded (not possible from the spectrum alone: a molecule of {check.small} heavy atoms "
                "has too few fragment ions to tell its isomers apart)", False, "isomer")
    if check.hydrocarbon:
        return (f"isomers excluded (not possible from the spectrum alone: the skeletal isomers of a hydrocarbon of "
                f"{check.hydrocarbon} carbons give the same ion series)", False, "isomer")
    if check.heavier:
        # no isomer: a heavier compound whose fragments give the spectrum (triacetin, 218, as 1,3-diacetin,
        # 176); failed under the isomer criterion, which a retention index or a standard meets as well
        return (f"a heavier compound excluded (not possible from the spectrum alone: it shows no ion at the hit's "
                f"mass, {check.heavier}, and the library's compounds without a molecular ion match a heavier "
                "one this well)", False, "isomer")
    if check.homologues:
        # no isomer: a chain one or two CH2 longer or shorter, whose fragments are the same series
        return (f"a homologue excluded (not possible from the spectrum alone: it shows no molecular ion to tell the hit "
                f"from {_homologue_count(check)}, and the library's homologue pairs match this well)", False, "isomer")
    if not check.not_excluded:
        return ("no near-identical isomer left unexcluded (all in the library and scored clearly lower)", True, "isomer")
    # MS/MS library pairs are held by their records' likeness, not by the margin (which holds only
    # enumerated isomers; uniconazole is none of cyproconazole's): said apart, as the rule text does
    pairs = check.library_pairs
    held = f", {pairs} in the library whose records match the hit's" if pairs else ""
    return (f"isomers not excluded: {len(check.in_library) - pairs} in the library within the margin{held}, "
            f"{len(check.absent)} not in the library", False, "isomer")


#: How the failed isomer criterion of :func:`_isomer_check` begins (a heavier compound is failed under it too).
ISOMER_CRITERIA = ("isomers excluded (not possible", "isomers not excluded", "a heavier compound excluded (not possible",
                   "a homologue excluded (not possible")


def with_isomers_excluded(verdict: Verdict, evidence_text: str, thermal: bool = False) -> Verdict:
    """A reference standard run (or other evidence outside the spectrum) that excludes the
    isomers: the failed isomer criterion moves to ``criteria_met`` as ``evidence_text``, whichever
    rule decided the verdict, and nothing is left holding it (``held_by`` empty). A verdict held back
    *only* by "isomers not excluded" becomes ``identified`` -- ``tentative`` "HRMS criteria not met" if
    an LC finding also matched too few product ions (:data:`PRODUCT_IONS_FOR_IDENTITY`); any other
    rule keeps its level and text (a weak match stays one: its other failed criteria stand). Kept
    unchanged: a verdict whose isomers include a GC injector relative (``thermal``: it elutes as the hit)."""
    if thermal:
        return verdict  # a GC injector relative elutes as the hit does: the standard cannot exclude it
    if verdict.rule_id != RuleId.ISOMER_NOT_EXCLUDED:
        # the standard excludes the isomers whatever else fails: a report read "excluded by the standard" of a
        # weak match whose criteria still said "isomers excluded (not possible ...)" (newuser49's phenylephrine)
        held = [c for c in verdict.criteria_failed if c.startswith(ISOMER_CRITERIA)]
        if not held:
            return verdict
        return replace(verdict, criteria_met=verdict.criteria_met + [evidence_text],
                       criteria_failed=[c for c in verdict.criteria_failed if c not in held], held_by=[])
    # decide() gives this rule exactly when the isomer criterion is the only one failed (with, LC, the
    # identity_ions one)
    ions = [c for c in verdict.criteria_failed if c.startswith(PRODUCT_IONS_FOR_IDENTITY)]
    if ions:  # the isomers excluded, one product ion matched: no identification yet
        return Verdict(TENTATIVE, HRMS_NOT_MET_RULE, verdict.criteria_met + [evidence_text], ions,
                       verdict.criteria_not_evaluated, rule_id=RuleId.HRMS_NOT_MET)
    return Verdict(IDENTIFIED, "identity: every evaluated criterion met (isomers excluded by a standard at the same RT)",
                   verdict.criteria_met + [evidence_text], [], verdict.criteria_not_evaluated, rule_id=RuleId.IDENTITY)


def _standard_run(evidence: Evidence) -> str:
    """The reference standard run a rule text names: "at the same RT" unless the spectrum has none (an MS/MS
    search query, an LC scan group without time: "at the same RT" named a time it lacks, newuser48)."""
    return "a reference standard run " + ("on the same method" if evidence.without_rt else "at the same RT")


def _ambiguity_phrase(evidence: Evidence, t: VerdictThresholds) -> str:
    """Why the library cannot single the hit out: a compound scoring as close (gap, isomer alert),
    and/or the hit being the best hit at other retention times too -- which a clear gap leaves
    unexplained unless the text says so."""
    min_gap = t.min_gap if evidence.kind == "ei" else t.min_gap_ms2
    close = evidence.isomer_alert or (evidence.gap is not None and evidence.gap < min_gap)
    n = evidence.same_hit_elsewhere
    elsewhere = (f"it is the best hit at {n} other retention time{'s' if n > 1 else ''} too (one compound "
                 "elutes once); " if n else "")
    return elsewhere + ("the substance is the hit, a library compound that scores as close, or an isomer the "
                        "library lacks" if close else "the substance is the hit or an isomer the library lacks")


def isomer_phrase(check: "IsomerCheck | None", estimated: int | None = None, held: list[str] | None = None) -> str:
    """'the hit or an isomer: <names>; a new substance cannot be excluded' for a rule text (``estimated``: the
    spectrum's estimated mass, said where it is the mass of a hit the spectrum shows no ion at; ``held``: the
    caller's :func:`held_by` of ``check``, None: made here)."""
    if check is None or not check.evaluated:
        return "the hit has no verified structure, so its isomers cannot be enumerated or excluded"
    named = [n.name for n in check.in_library if n.name]
    parts = [f"a molecule of {check.small} heavy atoms, whose isomers EI cannot tell apart"] if check.small else []
    if check.no_product_ion:
        parts.append(f"an MS/MS spectrum with {_no_product_ion(check.no_product_ion)}, which every compound of its "
                     "mass gives")
    if check.record_no_product_ion:
        parts.append(f"a match to a library record with {_no_product_ion(check.record_no_product_ion)}, which every "
                     "compound of its mass gives")
    if check.unit_precursor:
        parts.append(_unit_precursor(check))
    if check.pah:
        parts.append(f"a polycyclic aromatic hydrocarbon of {check.pah} fused rings, whose ring-fusion isomers EI "
                     "cannot tell apart")
    if check.hydrocarbon:
        parts.append(f"a hydrocarbon of {check.hydrocarbon} carbons, whose skeletal isomers EI cannot tell apart")
    if check.heavier:
        # the estimate may be that mass all the same, from the closest library compounds' votes: triacetin's
        # search row read "EstimatedMass 176" beside "no ion at the hit's mass, 176" (stop 47, newuser47)
        voted = (f" (the estimated mass, {estimated} too, rests on the closest library compounds' masses, not on an "
                 "ion of the spectrum)" if estimated == check.heavier else "")
        parts.append(f"the spectrum shows no ion at the hit's mass, {check.heavier}{voted}: a heavier compound is not "
                     "excluded")
    if check.homologues:
        parts.append(_homologue_part(check))
    if named:
        parts.append("in the library: " + ", ".join(named[:3]))
    # a GC injector relative (nps_id.chem.thermal) is one compound, named by its structure
    thermal = [n for n in check.thermal if n.name is None]
    isomers = [n for n in check.absent if not is_injector_relative(n.move)]
    if isomers:
        kinds = sorted({_kind_words(move) for move in {n.move for n in isomers}})  # a hit's isomers share a few kinds
        parts.append(f"{len(isomers)} not in the library ({', '.join(kinds)})")
    if thermal:
        parts.append("not in the library, " + "; ".join(_injector_relative(n.move, n.smiles) for n in thermal[:3])
                     + " (elutes as the same compound: derivatisation or LC-MS tells them apart)")
    # a relative is no isomer (phenibut, C10H13NO2, closes to its lactam C10H11NO): say "compound" then
    # nor is a heavier compound (triacetin's spectrum without its molecular ion reads as 1,3-diacetin's)
    # and a unit precursor holds compounds of other formulae (mecamylamine's "168" as phenylephrine's)
    what = "a compound" if thermal and len(parts) == 1 else "an isomer"
    other = held_words(held_by(check) if held is None else held)
    if other:
        what = other
    return (f"the substance is the hit or {what} {_CANNOT_TELL} -- " + "; ".join(parts) + f"; {MAY_BE_NEW}")


#: What an "isomer not excluded" verdict's evidence cannot exclude besides the hit (:attr:`Verdict.held_by`),
#: set where the isomer check is read, so that the reports and ``nps-id match``'s short forms need not read
#: the rule text back (stop 48): an isomer; a GC injector relative (no isomer: it elutes as the hit); a
#: heavier compound whose fragments give the spectrum (EI, no ion at the hit's mass: triacetin as
#: 1,3-diacetin); a compound of another formula at a precursor written to unit resolution (MS/MS:
#: mecamylamine's "168" as 2-azaspiro[4.5]decane-1,3-dione).
HELD_ISOMER = "isomer"
HELD_INJECTOR_RELATIVE = "injector_relative"
HELD_HEAVIER = "heavier_compound"
HELD_OTHER_FORMULA = "other_formula"
#: a homologue (EI, stop 51: one or two CH2 more or fewer along a chain, no molecular ion to tell them apart)
HELD_HOMOLOGUE = "homologue"
HELD_BY = (HELD_ISOMER, HELD_INJECTOR_RELATIVE, HELD_HEAVIER, HELD_OTHER_FORMULA, HELD_HOMOLOGUE)
#: How those that are no isomer read (the reports' and ``match``'s short forms say them too: they said
#: "an isomer" of triacetin's spectrum held as 1,3-diacetin, a new user at stop 47).
HEAVIER_WORDS = "a heavier compound"  # (isomer_rule.HEAVIER is the rates-file kind)
#: Not "at its nominal mass": a 2-decimal precursor holds only formulae within its digits (quinoline N-oxide's
#: "146.06", +-0.008 Da: prec48; newuser48); "the precision" is the window a unit one leaves open too.
OTHER_FORMULA_WORDS = "a compound of another formula within the precision of the precursor m/z"
HOMOLOGUE_WORDS = "a homologue (one or two CH2 more or fewer)"
NOT_ISOMER_WORDS = {HELD_HEAVIER: HEAVIER_WORDS, HELD_OTHER_FORMULA: OTHER_FORMULA_WORDS, HELD_HOMOLOGUE: HOMOLOGUE_WORDS}
_CANNOT_TELL = "the spectrum cannot tell from it"


def held_by(check: "IsomerCheck | None") -> list[str]:
    """What the evidence cannot exclude besides the hit, by ``check`` (:data:`HELD_BY` words, in that
    order; each reason :func:`isomer_phrase` names is one of them)."""
    if check is None or not check.evaluated:
        return [HELD_ISOMER]  # no structure: its isomers cannot be enumerated
    # a relative the library names is listed among "in the library" (isomer_phrase), one it lacks apart
    relatives = check.thermal  # cached on the check: a verdict reads it two or three times
    isomers = (check.small or check.pah or check.hydrocarbon or check.no_product_ion or check.record_no_product_ion
               or len(relatives) < len(check.not_excluded))
    return [kind for kind, held in ((HELD_ISOMER, isomers), (HELD_INJECTOR_RELATIVE, relatives),
                                    (HELD_HEAVIER, check.heavier), (HELD_OTHER_FORMULA, check.unit_precursor),
                                    (HELD_HOMOLOGUE, check.homologues)) if held]


def held_words(held: Iterable[str]) -> str | None:
    """What an "isomer not excluded" verdict holding ``held`` (:attr:`Verdict.held_by`) may be besides the hit
    when that is not only an isomer: "a heavier compound" alone, "an isomer or a heavier compound" beside
    any other reason ("... a compound of another formula within the precision of the precursor m/z" likewise), each
    reason that is no isomer said ("a heavier compound or a homologue (...)", stop 51); else None."""
    held = list(held)
    others = [NOT_ISOMER_WORDS[k] for k in held if k in NOT_ISOMER_WORDS]
    if not others:
        return None
    # a heavier compound and a homologue both hold a spectrum without the hit's molecular ion: both said, and
    # "an isomer" only when an isomer (or an injector relative) holds it too
    other = " or ".join(others)
    return other if len(others) == len(held) else f"an isomer or {other}"


def held_by_in_rule(rule: str) -> list[str]:
    """What a rule text written before stop 48 (results without ``held_by``) says holds an "isomer not
    excluded" verdict that is no isomer, by stop 47's words: ``[heavier_compound]`` of "the substance is the
    hit or a heavier compound the spectrum cannot tell from it -- ...", ``[isomer, heavier_compound]`` of
    "... or an isomer or a heavier compound ..." (``other_formula`` likewise); else ``[]``, the isomers
    listed then being all. Stop 47's reports read triacetin's hold so; without this a stop-47 results file
    rendered by stop 48 read "1,3-DIACETIN or an isomer" again (attack48)."""
    head = f"{ISOMER_NOT_EXCLUDED}: the substance is the hit or "
    if not rule.startswith(head) or f" {_CANNOT_TELL}" not in rule:
        return []
    what = rule[len(head):rule.index(f" {_CANNOT_TELL}")]
    kind = next((k for k, words in NOT_ISOMER_WORDS.items() if what.endswith(words)), None)
    if kind is None:
        return []
    return [kind] if what == NOT_ISOMER_WORDS[kind] else [HELD_ISOMER, kind]


def _homologue_count(check: "IsomerCheck") -> str:
    """'its homologue' / 'its 3 homologues' of a check's not-excluded homologues."""
    n = len(check.homologues)
    return "its homologue" if n == 1 else f"its {n} homologues"


def _homologue_part(check: "IsomerCheck") -> str:
    """The rule text's homologues: 'the spectrum shows no molecular ion to tell the hit from its 4 homologues along its
    chain: in the library: NAME; 3 not in the library'."""
    named = [n.name for n in check.homologues if n.name]
    absent = len(check.homologues) - len(named)
    which = [f"in the library: {', '.join(named[:3])}"] if named else []
    which += [f"{absent} not in the library"] if absent else []
    return f"the spectrum shows no molecular ion to tell the hit from {_homologue_count(check)} along its chain: {'; '.join(which)}"


def _kind_words(move: str) -> str:
    """A move kind as the rule text says it: "ring position", "ring-chain CH2" (not "ring chain ch2")."""
    kind = move.split(":")[0]
    return "ring-chain CH2" if kind == "ring_chain_ch2" else kind.replace("_", " ")


#: How a GC injector reaction (nps_id.chem.thermal) reads in a rule text.
_INJECTOR_REACTIONS = {"decarboxylation": "decarboxylation, -CO2", "lactam": "lactam closure, -H2O",
                       "lactone": "lactone closure, -H2O", "retro_mannich": "retro-Mannich cleavage"}


def _injector_relative(move: str, smiles: str = "") -> str:
    """'a compound the GC injector turns into the hit (lactam closure, -H2O): SMILES' for a
    ``thermal_precursor:<reaction>`` move (``thermal_product``: '... makes of the hit ...');
    without ``smiles`` (a relative named by the library) the text ends at the reaction."""
    reaction = move.split(":", 1)[1]
    return f"a compound the GC injector {injector_direction(move)} the hit ({_INJECTOR_REACTIONS.get(reaction, reaction)})" + (
        f": {smiles}" if smiles else "")


def _unit_precursor(check: "IsomerCheck") -> str:
    """'a precursor m/z 168 written to fewer than 3 decimals (trailing zeros are not read), which compounds of another
    formula give too, their ions within +-0.5 Da of it (...)'."""
    shown = ", ".join(check.unit_precursor_isobars[:3]) + (", ..." if len(check.unit_precursor_isobars) > 3 else "")
    # the window said: "146.06" holds a formula 3.4 mDa away, not every one of the nominal ion (newuser48)
    half = f"{check.unit_precursor_window:.3f}".rstrip("0").rstrip(".")
    window = f", their ions within +-{half} Da of it" if check.unit_precursor_window else ""
    # "(trailing zeros are not read)": the m/z is read as a number, so "168.1000" is 168.1 -- the text must not
    # tell whoever wrote 4 decimals that they wrote fewer (attack47)
    return (f"a precursor m/z {check.unit_precursor:g} written to fewer than 3 decimals (trailing zeros are not read), "
            f"which compounds of another formula give too{window} (in the library: {shown}) -- the precursor does not establish "
            "the hit's formula (an accurate precursor m/z, to 3 or more decimals, would)")


def _as_written(mz: float) -> str:
    """A precursor m/z to the decimals it was written with, at most 4 (trailing zeros are not read, as
    :func:`~nps_id.search.index.recorded_precision_of` reads them): aniline's "94" read "94.0000", digits nobody
    wrote (newuser48); a 32-bit float's 143.199996948242 reads "143.2"."""
    # string work, not precursor_formula.written_precision (~15 us a call): every MS/MS verdict prints two
    return f"{mz:.4f}".rstrip("0").rstrip(".")


def _no_product_ion(level: float) -> str:
    """'no product ion >= 1% of its base peak' (0.5% for a level below a percent)."""
    return f"no product ion >= {level:.1%} of its base peak".replace(".0%", "%")


def _tentative_floor(evidence: Evidence, t: VerdictThresholds) -> list[tuple[str, bool]]:
    # an analogue-mode hit has no identity score: the floor fails, and says why, for the reports
    # show its analogue score (882) beside a bare "score >= 700 (tentative floor)" failed
    floor = "tentative floor" if evidence.identity_hit else "tentative floor; no identity hit, an analogue-mode one"
    if evidence.kind == "ei":
        return [
            (f"mf >= {t.tentative_mf} ({floor})", _ge(evidence.mf, t.tentative_mf) is True),
            (f"rmf >= {t.tentative_rmf} ({floor})", _ge(evidence.rmf, t.tentative_rmf) is True),
        ]
    return [(f"score >= {t.tentative_score} ({floor})", evidence.score >= t.tentative_score)]


def _ge(value: float | None, threshold: float) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(value >= threshold)  # a Python bool: read by identity (``is True``), as every criterion


def names_the_compound(verdict: Verdict) -> bool:
    """True when a finding says the library compound is there: ``identified``, or ``tentative``
    only because its isomers are not excluded (the hit or an isomer of it)."""
    return verdict.verdict == IDENTIFIED or verdict.rule_id == RuleId.ISOMER_NOT_EXCLUDED


def at_least(verdict: str, level: str) -> bool:
    """True when ``verdict`` is ``level`` or stronger (identified > tentative > inconclusive)."""
    return LEVELS.index(verdict) <= LEVELS.index(level)

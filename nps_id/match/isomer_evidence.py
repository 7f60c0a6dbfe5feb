"""The isomer evidence of a verdict: which isomers of a library hit the spectrum does not exclude.

:func:`isomer_check` starts from the isomers :func:`nps_id.match.isomer_rule.check_isomers`
enumerates and adds what the library itself shows: compounds of the hit's formula whose MS/MS
records match the hit's (:func:`_with_library_pairs`) or were recorded only at the unknown's precursor
minus water (:func:`_with_water_loss_isomers`), the hit's GC injector relatives, its diastereomers in
the library or not; MS/MS excludes rarely-inseparable absent isomers of a hit alone at its mass
(:func:`alone_at_its_mass`) or replicated outside a drug series
(:func:`replicated_outside_drug_series`). Also: :func:`close_isomers` (the compounds within the gap
that are the hit's isomers), :func:`with_close_isomers`, :func:`injector_relatives` and
:func:`absent_isomer` (what an isomer the library lacks would be, the rule text's "it may be ...").
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping, Sequence

import numpy as np

from nps_id.chem.formula import element_counts
from nps_id.chem.stereo import StereoClass, stereo_layers
from nps_id.compound import is_labelled
from nps_id.lcms.features import adducts_for, formula_mass, ion_mz
from nps_id.match.isomer_rule import (DIASTEREOMER, HEAVIER, HOMOLOGUE, LIBRARY_CLOSE, LIBRARY_PAIR, IsomerCheck, IsomerNote, RateCurve, Rates,
                                     check_isomers, has_product_ion, load_rates, rate_at, rate_of, rates_context)
from nps_id.match.library_facts import LibraryFacts
from nps_id.match.molecular_mass import nominal_spectrum
from nps_id.match.precursor_formula import ACCURATE_PRECURSOR_DA, written_precision
from nps_id.match.ranked_hit import RankedHit
from nps_id.match.verdict import VerdictThresholds, absent_isomer_words
from nps_id.search.index import recorded_precision

#: How many library compounds of another formula at a unit precursor's nominal ion the rule text names
#: (:func:`_with_unit_precursor` stops at one more, the text's "...").
UNIT_PRECURSOR_NAMED = 3
#: H2O's monoisotopic mass, Da: the in-source loss of :func:`_with_water_loss_isomers`.
WATER_DA = float(formula_mass("H2O") or 0.0)


def isomer_check(mz: np.ndarray, intensity: np.ndarray, kind: str, hits: Sequence[RankedHit], facts: LibraryFacts,
                 gap: int | None, thresholds: VerdictThresholds, precursor: tuple[float, str] | None,
                 delta_ri: float | None, library_ri: Callable[[int], float | None] | None,
                 rates: Rates | None = None, relative: Mapping[int, float] | None = None) -> IsomerCheck:
    """The isomers of the top hit that the spectrum does not exclude: the enumerated ones
    (:func:`~nps_id.match.isomer_rule.check_isomers`), then what each kind of spectrum adds -- MS/MS
    the library's own pairs, water-loss records and the exclusions of a hit alone at its mass or
    replicated outside a drug series, a precursor alone; EI the GC injector relatives and absent
    diastereomers and a heavier compound without the hit's molecular ion; both the library's
    diastereomers retention does not separate. The arguments are :func:`nps_id.match.assess.assess`'s
    (``delta_ri``: its evidence's); ``rates``: the isomer rate curves the rules read
    (:func:`~nps_id.match.isomer_rule.load_rates`, the shipped file, when None -- the dev bench passes
    curves learned without a left-out compound's own pairs); ``relative``: EI, the spectrum's
    :func:`~nps_id.match.molecular_mass.nominal_spectrum` when the caller has it (None: made here)."""
    top = hits[0]
    scores: dict[str, int] = {}
    for hit in hits:
        scores.setdefault(facts.block(hit.row), hit.score)
    smiles = facts.structure(top.row)
    rates = load_rates() if rates is None else rates
    context = rates_context(facts.context(top.row), kind, rates)
    margin = thresholds.isomer_ms2_margin if kind == "ms2" else thresholds.isomer_margin
    min_rate = thresholds.isomer_min_rate_ms2 if kind == "ms2" else thresholds.isomer_min_rate
    held_min_rate = thresholds.isomer_held_min_rate_ms2 if kind == "ms2" else thresholds.isomer_held_min_rate
    check = check_isomers(smiles, context, top.score, facts.name_of_block, scores,
                          min_rate=min_rate, margin=margin, held_min_rate=held_min_rate, rates=rates,
                          isomers=facts.isomer_cache.get(smiles) if smiles else None,
                          small_ring_atoms=thresholds.isomer_small_ms2_atoms if kind == "ms2" else 0,
                          small_atoms=thresholds.isomer_small_ei_atoms if kind == "ei" else 0,
                          pah_rings=thresholds.isomer_pah_rings if kind == "ei" else 0,
                          hydrocarbon_carbons=thresholds.isomer_hydrocarbon_carbons if kind == "ei" else 0,
                          shape=facts.shape(top.row) if smiles else None)
    # the library's own MS/MS pairs matter only to a score that could be identified
    if kind == "ms2" and check.evaluated and top.score >= thresholds.identified_score:
        check = _with_library_pairs(check, facts.ms2_pairs(top.row), facts, scores, thresholds.isomer_ms2_pair_score)
        check = _with_water_loss_isomers(check, top.row, facts, precursor, scores, thresholds.isomer_ms2_water_loss_da)
        check = alone_at_its_mass(check, hits, facts, gap, thresholds)
        check = replicated_outside_drug_series(check, hits, facts, thresholds)
    level = thresholds.isomer_ms2_product_ion_level
    if kind == "ms2" and level > 0 and precursor is not None and not has_product_ion(mz, intensity, precursor[0], level):
        check = replace(check, no_product_ion=level)  # the precursor alone: every compound of its mass
    if kind == "ms2" and check.evaluated:
        check = _with_record_precursor_alone(check, top.row, facts, precursor, thresholds)
    if kind == "ms2" and check.evaluated and top.score >= thresholds.identified_score:  # as library pairs
        check = _with_unit_precursor(check, top.row, facts, precursor, thresholds.isomer_ms2_unit_precursor_da,
                                     thresholds.precursor_formula_ppm)
    if kind == "ei" and check.evaluated:
        check = _with_thermal_relatives(check, top, facts, scores, margin, thresholds)
    if kind == "ei" and check.evaluated and top.score >= thresholds.identified_mf:
        # the library's own EI pairs as close as the unknown to the hit (stop 45)
        check = _with_library_pairs(check, facts.ei_pairs(top.row, thresholds.identified_rmf), facts, scores, top.score)
    if kind == "ei" and check.evaluated and thresholds.isomer_heavier_ion_level > 0 and top.score >= thresholds.identified_mf:
        check = _with_heavier(check, mz, intensity, top, facts, rates.get(context, {}), thresholds, relative)
    if kind == "ei" and check.evaluated and thresholds.isomer_homologue_ion_level > 0 and top.score >= thresholds.identified_mf:
        check = _with_homologues(check, mz, intensity, top, facts, rates.get(context, {}), scores, margin, thresholds,
                                 relative)
    if kind == "ei" and check.evaluated and thresholds.isomer_absent_diastereomer_rate > 0:
        check = _with_absent_diastereomers(check, top, facts, rates.get(context, {}),
                                           thresholds.isomer_absent_diastereomer_rate)
    apart = _ri_apart(top.row, delta_ri, library_ri, thresholds.ri_window)
    return _with_diastereomers(check, hits, facts, thresholds.isomer_diastereomer_ms2_margin if kind == "ms2"
                               else thresholds.isomer_diastereomer_margin, apart)


def absent_isomer(row: int, facts: LibraryFacts, isomers: IsomerCheck | None) -> str:
    """What an isomer the library lacks of the hit at ``row`` would be (the isomer rules' "it may be
    ..."): :data:`~nps_id.match.verdict.NEW_ISOMER` when the taxonomy places the hit as an NPS, or a
    GC injector relative of it the library lacks by its own structure (phenibut, the lactam's open
    form); else :data:`~nps_id.match.verdict.UNLISTED_ISOMER` -- the MassBank EI identity queries' sugar
    and terpenoid diastereomers, the PestMix slice's cyproconazole, read "it may be a new substance"
    in ``nps-id search`` and the results until stop 37 (the reports worded it so since stop 35-36).
    The words are :func:`~nps_id.match.verdict.absent_isomer_words`', as the reports' are."""
    relatives = [(None, n.smiles) for n in isomers.thermal if n.name is None] if isomers is not None else []
    return absent_isomer_words(facts.nps(row), relatives)


def close_isomers(hits: Sequence[RankedHit], facts: LibraryFacts, min_gap: int,
                  relatives: Callable[[], dict[str, str]] = dict) -> tuple[RankedHit, ...]:
    """The best hit of each other library compound (by name) scoring within ``min_gap`` of the top
    hit, when every one of them has the hit's formula (its isomers, which the gap cannot exclude)
    or is one of its GC injector ``relatives`` (InChIKey first block -> move, asked for only when
    a compound of another formula is that close: phenibut and its lactam give one EI spectrum);
    () when one is neither, or when ``hits`` end within the gap (a closer compound may be unlisted)."""
    top = hits[0]
    codes = facts.reference.compound()
    formula = facts.formula(top.row)
    close: dict[str, RankedHit] = {}
    for hit in hits[1:]:
        if top.score - hit.score >= min_gap:
            return tuple(close.values())
        if codes[hit.row] == codes[top.row]:
            continue
        if not formula or (facts.formula(hit.row) != formula and facts.block(hit.row) not in relatives()):
            return ()
        close.setdefault(facts.name(hit.row), hit)
    return ()


def with_close_isomers(check: IsomerCheck, close: Sequence[RankedHit], facts: LibraryFacts) -> IsomerCheck:
    """``check`` with the :func:`close_isomers` its enumeration did not reach (another skeleton of
    the hit's formula) not excluded (move :data:`LIBRARY_CLOSE`, rate 1)."""
    return _also_not_excluded(check, [IsomerNote(facts.structure(hit.row) or "", facts.block(hit.row), LIBRARY_CLOSE,
                                                 1.0, facts.name(hit.row), hit.score) for hit in close])


def _with_unit_precursor(check: IsomerCheck, row: int, facts: LibraryFacts, precursor: tuple[float, str] | None,
                         unit_da: float, ppm: float) -> IsomerCheck:
    """``check`` with ``unit_precursor`` set when the unknown's precursor m/z is written to fewer than 3
    decimals (:func:`~nps_id.match.precursor_formula.written_precision`) and the library holds compounds of
    another formula, with a record in the unknown's polarity, whose ion lies within the precursor's
    :func:`precursor_window` of it (``unit_da`` 0: off): the precursor cannot tell the hit's formula from
    theirs, so the spectrum alone would have to exclude every compound of that ion, the library's and those
    it lacks -- no isomer rate measures that (mecamylamine, C11H21N at m/z 168, left out: identified as
    2-azaspiro[4.5]decane-1,3-dione, C9H13NO2). An accurate precursor settles the formula instead
    (docs/match.md, "An accurate precursor excludes the hit's formula")."""
    if unit_da <= 0 or precursor is None or written_precision(precursor[0]) <= ACCURATE_PRECURSOR_DA:
        return check
    mz, mode = precursor
    formula = facts.formula(row)
    if not formula:
        return check
    window = precursor_window(mz, mode, facts.molecule_mass(row), unit_da, ppm)
    nominal = window >= unit_da
    reference = facts.reference
    # the nominal ion: a record written within it is of that nominal ion (stop 47); a narrower window reads the
    # compound's ion by its formula, from which a record written to fewer decimals may be up to unit_da off
    near = facts.rows_near_precursor(mz, window if nominal else window + unit_da)
    records = reference.column_rows("precursor_mz", near)
    if not nominal:
        # an accurately written record is its ion within the instrument's tolerance: the others need their formula's
        # (only these few rows: a formula mass for every row within 1 Da cost the MS/MS x10 search ~5 % CPU)
        slack = np.where(recorded_precision(records) > ACCURATE_PRECURSOR_DA, unit_da, ppm * 1e-6 * mz)
        keep = np.abs(records - mz) <= window + slack
        near, records = near[keep], records[keep]
    # of a library read lazily, those rows only: a few hundred
    modes, formulas = reference.column_rows("ion_mode", near).tolist(), reference.column_rows("formula", near).tolist()
    names: dict[str, None] = {}
    for r, ion_mode, other, record_mz in zip(near.tolist(), modes, formulas, records.tolist()):
        if str(ion_mode or "").lower() not in ("", mode) or str(other or "") in ("", formula):
            continue
        if not nominal and abs(_record_ion(record_mz, facts.molecule_mass(r), mode, unit_da) - mz) > window:
            continue
        name = facts.name_of_block(facts.block(r))
        if name is not None:
            names.setdefault(name, None)
            if len(names) > UNIT_PRECURSOR_NAMED:  # enough to name; the rest is "..."
                break
    return replace(check, unit_precursor=mz, unit_precursor_isobars=tuple(names),
                   unit_precursor_window=window) if names else check


def precursor_window(mz: float, mode: str, molecule: float | None, unit_da: float, ppm: float) -> float:
    """Half-width (Da) of the m/z range a precursor written to fewer than 3 decimals leaves open: what its
    number says -- half a unit of its last written decimal (:func:`~nps_id.match.precursor_formula.written_precision`:
    "150.05" +- 0.005, "150.1" +- 0.05, "150" +- 0.5) widened by the instrument's tolerance the formula
    criterion allows an accurate precursor (``ppm``, ``precursor_formula_ppm``), at most ``unit_da`` (the
    nominal ion). A number the hit's own formula (``molecule``, its monoisotopic mass; None: unknown) does not
    fit within that range is read as a unit-resolution instrument's, ``unit_da``: its digits claim more than it
    measured (stop 45: 1-decimal precursors of unit-resolution records 0.09-0.2 Da off their own formula's ion),
    or the hit is of another formula -- either way the narrow range is no evidence."""
    window = min(written_precision(mz) + ppm * 1e-6 * mz, unit_da)
    if molecule is None or not any(abs(ion_mz(molecule, adduct) - mz) <= window for adduct in adducts_for(mode)):
        return unit_da
    return window


def _record_ion(record_mz: float, molecule: float | None, mode: str, unit_da: float) -> float:
    """A library record's precursor ion by its compound's formula (``molecule``, its monoisotopic mass): the
    ion type of ``mode`` nearest its written precursor m/z, when within ``unit_da`` (the nominal ion) -- a
    record written "146" of a compound whose [M+H]+ is 146.0964 gives 146.0964 --, else the written m/z (no
    formula mass, or an ion type the rules do not compute: a [M+2H]2+ record)."""
    if molecule is None:
        return record_mz
    ion = min((ion_mz(molecule, adduct) for adduct in adducts_for(mode)), key=lambda m: abs(m - record_mz))
    return ion if abs(ion - record_mz) <= unit_da else record_mz


def _with_library_pairs(check: IsomerCheck, pairs: dict[str, tuple[int, int]], facts: LibraryFacts,
                        scores: dict[str, int], min_score: int) -> IsomerCheck:
    """``check`` with the library compounds whose records match the hit compound's at >= ``min_score``
    (``pairs``: :meth:`LibraryFacts.ms2_pairs`, :meth:`~LibraryFacts.ei_pairs`) not excluded: the
    unknown's lower score against them comes from records of other laboratories or collision
    energies, the library's own pair shows the two alike (move :data:`LIBRARY_PAIR`, rate 1). EI
    (stop 45): a compound of the hit's formula whose records match the hit's at least as well as the
    unknown does -- a skeleton no isomer move reaches (o-ethylaniline / N-ethylaniline / xylidines)."""
    notes = []
    for block, (pair_row, pair_score) in pairs.items():
        name = facts.name_of_block(block)
        if pair_score >= min_score and name is not None:
            notes.append(IsomerNote(facts.structure(pair_row) or "", block, LIBRARY_PAIR, 1.0, name,
                                    scores.get(block)))
    return _also_not_excluded(check, notes)


def _with_water_loss_isomers(check: IsomerCheck, row: int, facts: LibraryFacts, precursor: tuple[float, str] | None,
                            scores: dict[str, int], tolerance: float) -> IsomerCheck:
    """MS/MS: ``check`` with the library compounds of the hit's formula (another first block: not a
    stereoisomer of it; by full InChIKey) recorded in the unknown's polarity only at its precursor
    m/z minus 1-3 waters (+- ``tolerance`` Da) not excluded (move :data:`LIBRARY_PAIR`, rate 1): the
    search compares only records at the unknown's precursor, so those in-source water losses were
    never scored against it (MassBank MS/MS holds androsterone only at 273.3 and 255.3: its [M+H]+
    291.23 was `identified` as dihydrotestosterone at 999). 0: off."""
    if tolerance <= 0 or precursor is None:
        return check
    block = facts.block(row)
    losses = [precursor[0] - waters * WATER_DA for waters in (1, 2, 3)]
    # by full InChIKey: a block may hold a stereoisomer at the precursor
    notes = [IsomerNote(facts.structure(first) or "", key[:14], LIBRARY_PAIR, 1.0, facts.name(first), scores.get(key[:14]))
             for key, other, first, at in facts.formula_records(facts.formula(row), precursor[1])
             if other != block and facts.name_of_block(other) is not None
             and all(any(abs(mz - loss) <= tolerance for loss in losses) for mz in at)]
    return _also_not_excluded(check, notes)


def alone_at_its_mass(check: IsomerCheck, hits: Sequence[RankedHit], facts: LibraryFacts, gap: int | None,
                      thresholds: VerdictThresholds) -> IsomerCheck:
    """MS/MS: ``check`` with its absent isomers excluded when the hit is of no drug series
    (:func:`~nps_id.match.isomer_rule.context_of` "other", as in :func:`replicated_outside_drug_series`),
    stands alone at the precursor's mass -- no runner-up compound scored (``gap`` None) and no other
    compound among ``hits`` --, a second record of its compound reaches ``identified_score`` as
    well, and every not-excluded isomer is absent from the library with a kind rate <=
    ``isomer_ms2_alone_rate`` (its kind's library pairs rarely match that well; the rule's usual
    bound is ``isomer_min_rate_ms2``). Unchanged otherwise: a drug hit (NPS are made as positional
    isomers of known drugs: glycoursodeoxycholic acid left out was `identified` as its 6-hydroxy
    isomer glycohyodeoxycholic acid by this rule until stop 35), a library isomer, a small
    molecule's ring positions (rate 1) or a near-inseparable kind keeps the hit ``tentative``
    (docs/match.md). Only in a library of at least ``isomer_ms2_alone_min_compounds`` compounds:
    being alone means little in a small one."""
    bound = thresholds.isomer_ms2_alone_rate
    if bound <= 0 or gap is not None or not check.not_excluded or len(hits) < 2:
        return check
    if facts.context(hits[0].row) != "other":
        return check  # a drug series' absent isomers are the likeliest new substances (docs/match.md, stop 35)
    if facts.n_compounds < thresholds.isomer_ms2_alone_min_compounds:
        return check  # "nothing else scored" says little in a small library: most hits stand alone there
    if any(note.name is not None or note.rate > bound for note in check.not_excluded):
        return check
    block = facts.block(hits[0].row)
    if any(facts.block(hit.row) != block for hit in hits[1:]) or hits[1].score < thresholds.identified_score:
        return check
    return replace(check, not_excluded=())


def replicated_outside_drug_series(check: IsomerCheck, hits: Sequence[RankedHit], facts: LibraryFacts,
                                   thresholds: VerdictThresholds) -> IsomerCheck:
    """MS/MS: ``check`` with its absent isomers excluded when the hit belongs to no drug series
    (:func:`~nps_id.match.isomer_rule.context_of` "other": no EWA substance group), another record of
    its compound (another laboratory or collision energy) also reaches ``identified_score``, and
    every not-excluded isomer is absent from the library with a kind rate below
    ``isomer_ms2_other_rate`` -- the library's pairs of its kind rarely match that well. Unchanged
    otherwise: a drug hit (NPS are made as positional and chain isomers of known drugs), a library
    isomer or a near-inseparable kind keeps the hit ``tentative`` (docs/match.md)."""
    bound = thresholds.isomer_ms2_other_rate
    if bound <= 0 or not check.not_excluded or facts.context(hits[0].row) != "other":
        return check
    if any(note.name is not None or note.rate >= bound for note in check.not_excluded):
        return check
    block = facts.block(hits[0].row)
    if not any(facts.block(hit.row) == block and hit.score >= thresholds.identified_score for hit in hits[1:]):
        return check
    return replace(check, not_excluded=())


def _with_record_precursor_alone(check: IsomerCheck, row: int, facts: LibraryFacts,
                                 precursor: tuple[float, str] | None, thresholds: VerdictThresholds) -> IsomerCheck:
    """MS/MS: ``check`` with no isomer excluded when the library record the unknown matched (``row``)
    holds no product ion at ``isomer_ms2_record_product_ion_level`` of its base peak -- its precursor
    and specks, as a low collision energy leaves them: the score (which removes the precursor) then
    compares the unknown's fragments with those specks, and every compound of the precursor's mass
    gives such a record (sulfadoxine left out matched sulfadimethoxine's record, 311.081 and the
    sulfanilyl ion 156.012 at 0.4 %, at 999; docs/match.md). The record's own precursor m/z, else the unknown's."""
    level = thresholds.isomer_ms2_record_product_ion_level
    if level <= 0:
        return check
    held = facts.record_has_product_ion(row, level, precursor[0] if precursor is not None else np.nan)
    return check if held else replace(check, record_no_product_ion=level)


def _with_thermal_relatives(check: IsomerCheck, top: RankedHit, facts: LibraryFacts,
                            scores: dict[str, int], margin: int, thresholds: VerdictThresholds) -> IsomerCheck:
    """``check`` with the hit's GC-injector relatives (:func:`nps_id.chem.thermal.thermal_relatives`:
    the product its reference spectrum shows, the precursor it may come from) not excluded, each
    kind when its ``thresholds`` switch is on: absent from the library, or in it and scoring within
    ``margin`` of the hit, as for an isomer (rate 1: the spectrum is the product's either way)."""
    notes = []
    for relative in _switched_relatives(top, facts, thresholds):
        block = relative.inchikey[:14]
        name, score = facts.name_of_block(block), scores.get(block)
        if name is None or (score is not None and score > top.score - margin):
            notes.append(IsomerNote(relative.smiles, relative.inchikey, relative.move, 1.0, name, score))
    return _also_not_excluded(check, notes)


def _with_diastereomers(check: IsomerCheck, hits: Sequence[RankedHit], facts: LibraryFacts, margin: int,
                        ri_apart: Callable[[int], bool]) -> IsomerCheck:
    """``check`` with the library's diastereomers of the hit -- rows of its InChIKey skeleton that are
    another compound (:mod:`nps_id.compound`), not isotope-labelled -- that the unknown scores within
    ``margin`` of the hit on (best row of each; 0: none) and that ``ri_apart`` does not separate, not
    excluded (move :data:`DIASTEREOMER`, rate 1). The isomer enumeration compares skeletons, which
    stereoisomers share, so only this rule sees them; a diastereomer outside ``hits`` scored lower
    than all of them."""
    top = hits[0]
    block = facts.block(top.row)
    if margin <= 0 or not block or block in facts.excluded:
        return check
    codes = facts.reference.compound()
    best: dict[int, RankedHit] = {}
    for hit in hits[1:]:
        if top.score - hit.score >= margin:
            break
        if (facts.block(hit.row) == block and codes[hit.row] != codes[top.row]
                and not is_labelled(facts.name(hit.row), facts.formula(hit.row), facts.structure(hit.row))):
            best.setdefault(int(codes[hit.row]), hit)
    notes = tuple(IsomerNote(facts.structure(hit.row) or "", str(facts.reference.columns["inchikey"][hit.row]),
                             DIASTEREOMER, 1.0, facts.name(hit.row), hit.score)
                  for hit in best.values() if not ri_apart(hit.row))
    return replace(check, not_excluded=check.not_excluded + notes) if notes else check


def _with_absent_diastereomers(check: IsomerCheck, top: RankedHit, facts: LibraryFacts,
                               rates: Mapping[str, RateCurve], min_rate: float) -> IsomerCheck:
    """EI: ``check`` with the diastereomers of the hit the library does not hold not excluded
    (move :data:`DIASTEREOMER`, no name) when the rate of that kind in the hit's context's ``rates`` at the
    unknown's score is at least ``min_rate``: the library's own diastereomer pairs match each other
    that well that often (benchmarks/train_diastereomer_rates.py), so nothing shows the unknown is
    not the hit's cis / trans, E / Z or epimer (a cis-rose oxide matches trans-rose oxide at 959).

    A class of the hit's constitution (:meth:`LibraryFacts.diastereomer_classes`) is held when a
    library row of its skeleton, not isotope-labelled, has one of its InChIKeys; rows whose keys
    name no class (no or partial stereo layers: SWGDRUG's ephedrine and pseudoephedrine) may hold
    any: as many fewer are added."""
    rate = rate_at(rate_of(DIASTEREOMER, rates), top.score)
    if rate < min_rate:
        return check  # a match diastereomers rarely reach: it excludes them (and RDKit is not asked)
    absent = facts.of_row("absent_diastereomers", top.row, lambda row: _absent_diastereomers(row, facts))
    if not absent:
        return check
    notes = tuple(IsomerNote(c.smiles, c.inchikeys[0], DIASTEREOMER, round(rate, 2)) for c in absent)
    return replace(check, not_excluded=check.not_excluded + notes)


def _with_heavier(check: IsomerCheck, mz: np.ndarray, intensity: np.ndarray, top: RankedHit, facts: LibraryFacts,
                  rates: Mapping[str, RateCurve], thresholds: VerdictThresholds,
                  relative: Mapping[int, float] | None = None) -> IsomerCheck:
    """EI (stop 47): ``check`` with a heavier compound not excluded when the spectrum shows no ion at
    the hit's nominal mass (below ``isomer_heavier_ion_level`` of its base peak) and the rate of
    :data:`HEAVIER` at the unknown's score reaches ``isomer_min_rate``: without its molecular ion the
    spectrum may be a heavier compound's fragments (triacetin, 218, matches 1,3-diacetin, 176, at 861)."""
    mass = facts.mass(top.row)
    curve = rates.get(HEAVIER)
    if not mass or curve is None or rate_at(curve, top.score) < thresholds.isomer_min_rate:
        return check
    # the caller's nominal spectrum when it has one (assess_search bins all its queries at once)
    relative = nominal_spectrum(mz, intensity) if relative is None else relative
    if relative.get(mass, 0.0) >= thresholds.isomer_heavier_ion_level:
        return check
    return replace(check, heavier=mass)


def _with_homologues(check: IsomerCheck, mz: np.ndarray, intensity: np.ndarray, top: RankedHit, facts: LibraryFacts,
                     rates: Mapping[str, RateCurve], scores: Mapping[str, int], margin: int, thresholds: VerdictThresholds,
                     relative: Mapping[int, float] | None = None) -> IsomerCheck:
    """EI (stop 51): ``check`` with the hit's homologues (:func:`nps_id.chem.homologues.homologues`: one or two CH2 more
    or fewer along an unbranched chain of at least ``isomer_homologue_min_chain`` carbons) not excluded (move
    :data:`HOMOLOGUE`) when the rate of :data:`HOMOLOGUE` at the unknown's score reaches ``isomer_min_rate`` and the
    spectrum shows neither molecular ion (below ``isomer_homologue_ion_level`` of its base peak): the hit's, which a
    lighter homologue cannot give and a heavier one gives only 14 u higher, and the homologue's own -- the library's
    homologue pairs were counted on such spectra only. A homologue the library holds stays excluded when the unknown
    scores it ``margin`` or more below the hit, as an isomer does (tetradecyl bromide's spectrum, 276 and 290 absent,
    matches pentadecyl bromide's at 977)."""
    hit_mass = facts.mass(top.row)
    curve = rates.get(HOMOLOGUE)
    if not hit_mass or curve is None:
        return check
    rate = rate_at(curve, top.score)
    if rate < thresholds.isomer_min_rate:
        return check  # a match the library's homologue pairs rarely reach: it excludes them (RDKit not asked)
    if (element_counts(facts.formula(top.row)) or {}).get("C", 0) < thresholds.isomer_homologue_min_chain:
        return check  # too few carbons for such a chain: RDKit not asked (a one-spectrum search never imports it)
    level = thresholds.isomer_homologue_ion_level
    relative = nominal_spectrum(mz, intensity) if relative is None else relative
    if relative.get(hit_mass, 0.0) >= level:
        return check
    notes = []
    for homologue in facts.homologues(top.row, thresholds.isomer_homologue_min_chain):
        if relative.get(hit_mass + 14 * homologue.ch2, 0.0) >= level:
            continue  # its own molecular ion may be there: the pairs' rate does not speak for such spectra
        block = homologue.inchikey[:14]
        name, score = facts.name_of_block(block), scores.get(block)
        if name is None or (score is not None and score > top.score - margin):
            notes.append(IsomerNote(homologue.smiles, homologue.inchikey, HOMOLOGUE, round(rate, 2), name, score))
    return replace(check, homologues=tuple(notes)) if notes else check


def _absent_diastereomers(row: int, facts: LibraryFacts) -> list[StereoClass]:
    """The diastereomer classes of the hit at ``row`` the library does not hold, as
    :func:`_with_absent_diastereomers` lists them: a property of the row (and the library's left-out
    compounds), made once per row."""
    classes = facts.diastereomer_classes(row)
    if not classes:
        return []
    class_of = {key: n for n, c in enumerate(classes) for key in c.inchikeys}
    cols, codes = facts.reference.columns, facts.reference.compound()
    held: set[int] = set()
    unplaced: dict[int, bool] = {}  # compound code -> whether none of its rows names a class
    for other in facts.rows_of_block(facts.block(row)):
        if is_labelled(facts.name(other), facts.formula(other), facts.structure(other)):
            continue
        n = class_of.get(stereo_layers(str(cols["inchikey"][other])))
        code = int(codes[other])
        if n is None:
            unplaced.setdefault(code, True)
        else:
            held.add(n)
            unplaced[code] = False
    absent = [c for n, c in enumerate(classes) if n not in held]
    # each compound whose keys name no class holds one of them, which is not known: as many fewer
    # are listed (the first in enumeration order), so that the count is right
    return absent[:max(0, len(absent) - sum(unplaced.values()))]


def _ri_apart(top_row: int, delta_ri: float | None, library_ri: Callable[[int], float | None] | None,
              window: float) -> Callable[[int], bool]:
    """Library row -> whether retention separates it from the hit: the unknown's RI (the hit's library
    RI + ``delta_ri``) is within ``window`` of the hit's and outside the row's, both known."""
    hit_ri = library_ri(top_row) if library_ri is not None and delta_ri is not None else None
    if hit_ri is None or abs(delta_ri) > window:
        return lambda row: False
    unknown_ri = hit_ri + delta_ri

    def apart(row: int) -> bool:
        ri = library_ri(row)
        return ri is not None and abs(unknown_ri - ri) > window
    return apart


def _switched_relatives(top: RankedHit, facts: LibraryFacts, thresholds: VerdictThresholds) -> list:
    """The hit's GC injector relatives (:meth:`LibraryFacts.thermal_relatives`) whose kind's
    ``thresholds`` switch is on."""
    wanted = {"thermal_product": thresholds.isomer_thermal_products,
              "thermal_precursor:lactam": thresholds.isomer_thermal_lactam_precursors,
              "thermal_precursor:decarboxylation": thresholds.isomer_thermal_acid_precursors}
    if not any(wanted.values()):
        return []
    # every product reaction: one switch
    return [r for r in facts.thermal_relatives(top.row) if wanted.get(r.move, wanted["thermal_product"])]


def injector_relatives(top: RankedHit, facts: LibraryFacts, thresholds: VerdictThresholds) -> dict[str, str]:
    """InChIKey first block -> move of the hit's switched-on GC injector relatives (EI)."""
    return {r.inchikey[:14]: r.move for r in _switched_relatives(top, facts, thresholds)}


def _also_not_excluded(check: IsomerCheck, notes: Sequence[IsomerNote]) -> IsomerCheck:
    """``check`` with those of ``notes`` whose compound (InChIKey first block) it does not list yet
    among its not-excluded isomers; every other field kept."""
    known = {note.inchikey[:14] for note in check.not_excluded}
    new = tuple(note for note in notes if note.inchikey[:14] not in known)
    return replace(check, not_excluded=check.not_excluded + new) if new else check

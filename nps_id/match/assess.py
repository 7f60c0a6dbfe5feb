"""One spectrum, its ranked library hits -> what it may be called, and what it probably is.

Shared by ``nps-id search`` (a verdict per query) and ``nps-id match`` (a verdict per
component), so a spectrum gets the same verdict wherever a rule applies to it. Besides the
verdict rules of :mod:`nps_id.match.verdict` it brings the chemistry the score alone lacks:

- isomers the spectrum cannot exclude (:mod:`nps_id.match.isomer_rule`), in the library or not;
- molecular-ion consistency: a candidate lighter than ions of the spectrum is not the compound;
- an estimated nominal molecular mass (:mod:`nps_id.match.molecular_mass`);
- the new-substance call: no identification, and the closest library compounds point to one
  family -- ``new_substance`` with the ``suspected_group``, the closest compounds with their mass
  differences and what those differences read as (``CH2``, ``F for H``, ...).

Entry points: :class:`LibraryFacts` (what the rules need from the library, optionally with
compounds left out for leave-compound-out tests), :class:`RankedHit`, :func:`assess` ->
:class:`Assessment`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from nps_id.chem.formula import nominal_mass
from nps_id.match.isomer_rule import IsomerCheck, check_isomers
from nps_id.match.molecular_mass import estimate_mass, ions_above, molecular_ion
from nps_id.match.verdict import IDENTIFIED, TENTATIVE, Evidence, Verdict, VerdictThresholds, decide
from nps_id.search.analogue import match_shift, shift_name
from nps_id.search.reference import Reference

#: Closest library hits below this spectral similarity (0-1) say nothing about the family.
FAMILY_MIN_SIMILARITY = 0.6
#: Share of the closest hits' similarity**4 weight one group needs to be the suspected group.
FAMILY_MIN_SHARE = 0.5
#: Closest distinct compounds listed for a new substance.
N_CLOSEST = 3
_PROTON = 1.007276


@dataclass(frozen=True)
class RankedHit:
    """One library hit of a spectrum: its row, the score its verdict uses (0-999), MF/RMF (EI
    identity) and the spectral similarity (0-1)."""

    row: int
    score: int
    mf: int | None = None
    rmf: int | None = None
    similarity: float = 0.0


class LibraryFacts:
    """What the rules need from a library, row by row (cached).

    ``excluded`` holds InChIKey first blocks treated as absent from the library (the
    leave-compound-out benchmark); hits of them must already be removed by the caller.
    """

    def __init__(self, reference: Reference, excluded: frozenset[str] = frozenset()) -> None:
        self.reference = reference
        self.excluded = excluded
        cols = reference.columns
        self._block = np.array([str(k)[:14].upper() for k in cols["inchikey"]], dtype=object)
        self._name_of: dict[str, str] = {}
        for block, name in zip(self._block, cols["name"]):
            if block and block not in self._name_of:
                self._name_of[block] = str(name)
        self._status = cols.get("structure_status")

    def block(self, row: int) -> str:
        return self._block[row]

    def name_of_block(self, block: str) -> str | None:
        return None if block in self.excluded else self._name_of.get(block)

    def name(self, row: int) -> str:
        return str(self.reference.columns["name"][row])

    def formula(self, row: int) -> str:
        return str(self.reference.columns["formula"][row])

    @functools.lru_cache(maxsize=None)
    def structure(self, row: int) -> str | None:
        """The row's structure when verified against its InChIKey, else None."""
        smiles = str(self.reference.columns["smiles"][row] or "")
        if not smiles or not self._block[row]:
            return None
        if self._status is not None:
            return smiles if self._status[row] == "verified" else None
        from rdkit import Chem, RDLogger  # lazy: only when a rule needs a structure

        RDLogger.DisableLog("rdApp.*")
        mol = Chem.MolFromSmiles(smiles)
        return smiles if mol is not None and Chem.MolToInchiKey(mol)[:14] == self._block[row] else None

    @functools.lru_cache(maxsize=None)
    def mass(self, row: int) -> int | None:
        return nominal_mass(self.formula(row))

    @functools.lru_cache(maxsize=None)
    def ion(self, row: int) -> int | None:
        mz, intensity = self.reference.peaks.row(row)
        return molecular_ion(mz, intensity)

    @functools.lru_cache(maxsize=None)
    def group(self, row: int) -> str | None:
        """EWA group or subclass label of the row's compound; None when unknown."""
        from nps_id.report.ewa_groups import classify

        cols = self.reference.columns
        found = classify(self.name(row), smiles=self.structure(row), inchikey=str(cols["inchikey"][row]) or None)
        if found.group == "unknown":
            return None
        return found.subclass_label or found.group_label


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    new_substance: bool
    suspected_group: str | None
    estimated_mass: int | None
    isomers: IsomerCheck | None
    closest: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def fields(self) -> dict[str, Any]:
        """The per-spectrum fields of the search and match contracts."""
        return {
            "verdict": self.verdict.verdict,
            "verdict_rule": self.verdict.rule,
            "new_substance": self.new_substance,
            "suspected_group": self.suspected_group,
            "estimated_mass": self.estimated_mass,
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
    **evidence: Any,
) -> Assessment:
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
    evidence
        Further :class:`~nps_id.match.verdict.Evidence` fields (``major_ions``, ``n_ions``,
        ``delta_ri``, ``same_hit_elsewhere``, ``analogue_score``).
    """
    estimated = _estimated_mass(mz, intensity, kind, hits, facts, precursor)
    if not hits:
        verdict = decide(Evidence(kind=kind, score=0, mf=0 if kind == "ei" else None,
                                  rmf=0 if kind == "ei" else None, gap=None), thresholds)
        return Assessment(verdict, False, None, estimated, None)
    top = hits[0]
    scores: dict[str, int] = {}
    for hit in hits:
        scores.setdefault(facts.block(hit.row), hit.score)
    isomers = check_isomers(facts.structure(top.row), top.score, facts.name_of_block, scores)
    above = tuple(ions_above(mz, intensity, facts.formula(top.row), thresholds.ions_above_level)) \
        if kind == "ei" and facts.mass(top.row) is not None else None
    verdict = decide(Evidence(kind=kind, score=top.score, mf=top.mf, rmf=top.rmf, gap=gap, isomer_alert=isomer_alert,
                              isomers=isomers, ions_above=above, **evidence), thresholds)
    isomer_only = verdict.verdict == TENTATIVE and verdict.rule.startswith(("isomer", "weak")) \
        and not above and isomers.evaluated
    if verdict.verdict == IDENTIFIED or isomer_only and verdict.rule.startswith("isomer"):
        return Assessment(verdict, False, facts.group(top.row), estimated, isomers)
    group = _family(hits, facts)
    closest = _closest(hits, facts, estimated, kind)
    return Assessment(verdict, group is not None, group, estimated, isomers, closest)


def major_ions_present(query_mz: np.ndarray, ref_mz: np.ndarray, ref_intensity: np.ndarray, level: float,
                       mz_range: tuple[float, float]) -> tuple[int, int]:
    """(present, expected): the reference's ions at >= ``level`` of its base peak inside the
    acquired ``mz_range``, and how many of them the unknown holds (nominal m/z)."""
    if ref_intensity.size == 0:
        return 0, 0
    nominal = np.rint(ref_mz).astype(np.int64)
    major = (ref_intensity >= level * ref_intensity.max()) & (nominal >= mz_range[0]) & (nominal <= mz_range[1])
    expected = np.unique(nominal[major])
    present = np.isin(expected, np.rint(query_mz).astype(np.int64)).sum()
    return int(present), int(expected.size)


def _estimated_mass(mz, intensity, kind, hits, facts, precursor) -> int | None:
    if kind != "ei":
        if precursor is None or not np.isfinite(precursor[0]):
            return None
        shift = _PROTON if precursor[1] != "negative" else -_PROTON
        return int(round(precursor[0] - shift))
    votes = [(facts.mass(h.row), facts.ion(h.row), h.similarity) for h in hits]
    return estimate_mass(molecular_ion(mz, intensity), votes)


def _family(hits: Sequence[RankedHit], facts: LibraryFacts) -> str | None:
    """The EWA group the closest hits agree on (similarity**4 weights), or None."""
    weights: dict[str | None, float] = {}
    seen = set()
    for hit in hits:
        block = facts.block(hit.row)
        if hit.similarity < FAMILY_MIN_SIMILARITY or block in seen:
            continue
        seen.add(block)
        group = facts.group(hit.row)
        weights[group] = weights.get(group, 0.0) + hit.similarity ** 4
    total = sum(weights.values())
    if total == 0:
        return None
    group, weight = max(weights.items(), key=lambda kv: kv[1])
    return group if group is not None and weight >= FAMILY_MIN_SHARE * total else None


def _closest(hits, facts, estimated, kind) -> tuple[dict[str, Any], ...]:
    out, seen = [], set()
    for hit in hits:
        block = facts.block(hit.row)
        if block in seen:
            continue
        seen.add(block)
        mass = facts.mass(hit.row)
        delta = None if estimated is None or mass is None else estimated - mass
        reading = None
        if delta is not None:
            reading = shift_name(int(match_shift(np.array([float(delta)]), 0.0, nominal=True)[0]), nominal=True)
        out.append({"row": hit.row, "name": facts.name(hit.row), "similarity": round(hit.similarity, 3),
                    "delta_mass": delta, "delta_mass_match": reading, "smiles": facts.structure(hit.row)})
        if len(out) == N_CLOSEST:
            break
    return tuple(out)

"""The steps the GC and LC-MS/MS paths of a match share: search, and a finding built from its hits.

- :func:`search_settings` -- the engine settings a match searches with (echoed under
  ``parameters.search``).
- :func:`search_hits` -- the engine's hits per query as typed :class:`~nps_id.match.results.Hit`
  (0-999 scores; the gap restated against the runner-up's rounded score).
- :func:`build_finding` -- the :class:`~nps_id.match.results.Finding` of a top hit and its
  assessment; :func:`compound_names` -- the library's names of its compound.
- :func:`as_ranked` -- a hit as the assessment reads it; :func:`close_analogue_hit` -- whether an
  analogue hit passes the close-analogue criterion.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nps_id.compound import normalise_name
from nps_id.match.assess import Assessment, novelty_fields
from nps_id.match.parameters import MatchParameters
from nps_id.match.ranked_hit import RankedHit
from nps_id.match.reference_library import ReferenceLibrary
from nps_id.match.results import Finding, Hit, MatchMode, RunnerUp
from nps_id.match.verdict import VerdictThresholds, analogue_mass_share, close_analogue

if TYPE_CHECKING:
    from nps_id.search.reference import Reference
    from nps_id.search.settings import SearchSettings


def search_settings(params: MatchParameters, mode: str) -> SearchSettings:
    """The engine settings of a match's ``mode`` search (``identity`` or ``analog``)."""
    from nps_id.match.assess import EVIDENCE_HITS
    from nps_id.search.engine import SearchSettings

    # top_k hits are kept per finding, but its verdict, mass and group read EVIDENCE_HITS (as
    # `nps-id search`): fewer hits changed them (an isomer beyond rank 5 counted as excluded)
    searched = max(params.top_k, EVIDENCE_HITS)
    return SearchSettings(mode=mode, score=params.ms2_score, top_k=searched, prefilter=max(SearchSettings.prefilter, searched),
                          tolerance=params.fragment_tolerance, precursor_tolerance=params.precursor_tolerance)


def search_hits(spectra: list, library: ReferenceLibrary, params: MatchParameters, mode: str) -> dict[int, list[Hit]]:
    """Engine hits per query position, scores on the 0-999 scale."""
    from nps_id.search.analogue import shift_name
    from nps_id.search.engine import search
    from nps_id.search.scores import to_999_column

    settings = search_settings(params, mode)
    confidence, masses = None, []
    if mode == "analog":
        from nps_id.search.analogue_confidence import analogue_search, query_mass

        hits, confidence = analogue_search(spectra, library.prepared, settings)
        masses = [query_mass(s) for s in spectra]
    else:
        hits = search(spectra, library.prepared, settings)
    # Analogue mode ranks by the analogue score (mass prior); verdicts use the similarity.
    score, mf, rmf, gap, similarity = (to_999_column(c) for c in (hits.score, hits.mf, hits.rmf, hits.gap,
                                                                   hits.similarity))
    # The best different compound's score: at 0 it shares nothing with the spectrum (an MS/MS
    # record in the precursor window without a common fragment) -- no runner-up, so no gap, as
    # when no other compound was scored at all (gap = score beside a runner-up of "-" misread).
    other = to_999_column(hits.score - hits.gap)
    out: dict[int, list[Hit]] = {}
    for i in range(len(hits)):
        out.setdefault(int(hits.query[i]), []).append(Hit(
            rank=int(hits.rank[i]), record=library.record(int(hits.row[i])), mf=mf[i], rmf=rmf[i], score=score[i],
            delta_mass=None if not np.isfinite(hits.delta_mass[i]) else round(float(hits.delta_mass[i]), 4),
            similarity=similarity[i],
            delta_mass_match=shift_name(int(hits.delta_shift[i]), nominal=bool(np.isfinite(hits.mf[i]))),
            gap=None if other[i] == 0 else gap[i], isomer_alert=bool(hits.isomer_alert[i]),
            # per query (analogue mode): predicted Tanimoto of the unknown and its top hit
            analogue_confidence=None if confidence is None else float(confidence[hits.query[i]]),
            query_mass=None if confidence is None else masses[int(hits.query[i])],
        ))
    for ranked in out.values():
        # Restate the engine's gap on the rounded 0-999 scores, so it reads as "score minus the
        # runner-up's score" in every report (the engine's own gap is kept when the runner-up is
        # beyond top_k).
        runner = _runner_up(ranked, library)
        if runner is not None:
            ranked[0] = replace(ranked[0], gap=ranked[0].score - runner.score)
    return out


def _runner_up(hits: list[Hit], library: ReferenceLibrary) -> Hit | None:
    """The best hit of a compound other than the top hit's, by the engine's compound identity
    (:mod:`nps_id.compound`) -- the compound its gap is measured against; one that scored 0
    matched nothing and is none (see :func:`search_hits`)."""
    code = library.compound[hits[0].row]
    return next((h for h in hits if library.compound[h.row] != code and h.score > 0), None)


def close_analogue_hit(hit: Hit, library: ReferenceLibrary, t: VerdictThresholds) -> bool:
    """Whether an analogue-mode hit passes the close-analogue criterion (:func:`close_analogue`)."""
    share = analogue_mass_share(hit.delta_mass, hit.query_mass)
    return close_analogue(hit.similarity, hit.analogue_confidence, t, share)


def as_ranked(hit: Hit, analogue: bool) -> RankedHit:
    """A match hit (0-999 scores) as the assessment reads it; analogue hits score by similarity."""
    score = hit.similarity if analogue else hit.score
    return RankedHit(hit.row, score or 0, hit.mf, hit.rmf, (hit.similarity or 0) / 999)


def compound_names(reference: Reference, row: int) -> list[str] | None:
    """The library's distinct names of ``row``'s compound (the EWA export counts findings under
    any of them as one substance); None when it has one name."""
    names: dict[str, str] = {}  # one spelling of each name (MassBank: "Acetyl-L-carnitine", "Acetyl-L-Carnitine")
    for name in reference.column_rows("name", reference.identity.rows_of(row)).tolist():
        names.setdefault(normalise_name(str(name)), str(name))
    return list(names.values()) if len(names) > 1 else None


def build_finding(rt_min: float | None, top: Hit, hits: list[Hit], assessment: Assessment, library: ReferenceLibrary,
                  top_k: int, *, mode: MatchMode, ri: float | None, lib_ri: float | None, delta_ri: float | None,
                  spectrum: tuple[np.ndarray, np.ndarray], **technique: Any) -> Finding:
    """The finding of ``top`` among ``hits`` (its first ``top_k`` kept); ``technique`` is its ``peak``
    (GC) or ``precursor`` (LC)."""
    runner = _runner_up(hits, library)
    mz, intensity = spectrum
    return Finding(
        record=top.record,
        assessment=novelty_fields(assessment),
        verdict=assessment.verdict,
        match_mode=mode,
        rt_min=None if rt_min is None else round(rt_min, 4),  # an LC scan may carry no time
        ri=None if ri is None else round(ri, 1),
        library_ri=lib_ri,
        delta_ri=None if delta_ri is None else round(delta_ri, 1),
        mf=top.mf, rmf=top.rmf, score=top.score, gap=top.gap, isomer_alert=top.isomer_alert,
        # diastereomers in the library (other compounds MS rarely separates), enantiomers merged
        stereo_note=library.reference.identity.notes[top.row] or None,
        compound_names=compound_names(library.reference, top.row),
        delta_mass=top.delta_mass, similarity=top.similarity, delta_mass_match=top.delta_mass_match,
        analogue_confidence=top.analogue_confidence,
        runner_up=None if runner is None else RunnerUp.of(runner),
        top_hits=list(hits[:top_k]),
        spectrum={"mz": [float(m) for m in mz], "intensity": [round(float(v), 2) for v in intensity]},
        **technique,
    )


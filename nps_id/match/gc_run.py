"""The GC-EI-MS path of a match (:func:`match_gc`): a run's deconvoluted components -> blank
subtraction (:class:`Blank`, made by :func:`nps_id.match.pipeline.prepare_blank`) -> identity and
analogue search -> one finding per peak, with the component list.

Split tops, shoulders and tails of one peak with the same best hit are one finding
(:func:`_same_compound`); a component's weak column-bleed ions that the background explains are
named (:func:`_background_ions`); each finding carries what a reviewer checks the deconvolution
against (:func:`_deconvolution_check`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_id._words import counted
from nps_id.gcms.background import background_ions
from nps_id.gcms.deconvolution import Component, extract_components, subtract_blank
from nps_id.gcms.peaks import PeakParameters, valley_ratio
from nps_id.gcms.retention_index import AlkaneLadder
from nps_id.gcms.run import Run
from nps_id.match.assess import assess, major_ions_present
from nps_id.match.findings_build import as_ranked, build_finding, close_analogue_hit, search_hits
from nps_id.match.molecular_mass import COLUMN_BLEED_IONS
from nps_id.match.parameters import MatchParameters
from nps_id.match.reference_library import ReferenceLibrary
from nps_id.match.results import Finding, GCComponent, GCPeak, Hit, MatchMode
from nps_id.match.standards import RunContent, library_compounds
from nps_id.match.verdict import VerdictThresholds


@dataclass(frozen=True)
class Blank:
    """A blank run prepared once for many samples.

    Attributes
    ----------
    identity : dict
        ``file``, ``path``, ``sha256`` (echoed under ``parameters.blank``).
    components : list of Component
        Its components (same method as the samples).
    tic : dict or None
        Its TIC as in the results (``rt_min``, ``intensity``), shown beside the sample's.
    technique : str
        How it was acquired (:attr:`~nps_id.gcms.run.Technique.name`): a GC-EI-MS run's blank must be one.
    content : RunContent
        Its scans' times and totals: a run with the same is the blank itself in another file.
    """

    identity: dict[str, Any]
    components: list[Component]
    tic: dict[str, list[float]] | None
    technique: str
    content: RunContent


def match_gc(run: Run, library: ReferenceLibrary, params: MatchParameters, blank: Blank | None,
             ladder: AlkaneLadder | None) -> tuple[list[Finding], list[GCComponent], list[dict], list[str]]:
    """Findings, the component list, the components the blank removed (each with why) and notes
    (why the blank removed none) of a GC-EI-MS run."""
    components = extract_components(run, params.peaks, params.deconvolution)
    spectra = [c.spectrum() for c in components]
    identity = search_hits(spectra, library, params, "identity") if spectra else {}
    removed_info: list[dict] = []
    notes: list[str] = []
    if blank:
        components, spectra, identity, removed_info, notes = _subtract_blank(components, spectra, identity, blank,
                                                                             library, params)
    t = params.verdict
    need_analogue = [i for i in range(len(components))
                     if params.analogue and (not identity.get(i) or (identity[i][0].mf or 0) < t.tentative_mf)]
    analogue = search_hits([spectra[i] for i in need_analogue], library, params, "analog") if need_analogue else {}
    analogue = {need_analogue[q]: hits for q, hits in analogue.items()}
    same_peak = params.deconvolution.max_half_width_seconds
    tic = _corrected_tic(run, params.peaks)
    elsewhere, duplicates = _same_compound(components, identity, library, t.report_score, same_peak,
                                           tic=tic, min_valley=params.deconvolution.split_peak_min_valley)
    findings: list[Finding] = []
    summaries: list[GCComponent] = []
    for i, component in enumerate(components):
        ri = ladder.ri(component.rt_seconds) if ladder else None
        summary = GCComponent(index=i, **component.summary(), ri=None if ri is None else round(ri, 1),
                              **_listing(component, identity.get(i), library))
        if i in duplicates:  # a shoulder or tail of a larger component with the same best hit
            summary.duplicate_of = j = duplicates[i]
            apart = abs(component.rt_seconds - components[j].rt_seconds)
            summary.duplicate_reason = (
                f"same best hit {apart:.1f} s from component {j} (<= {same_peak:g} s)" if apart <= same_peak else
                f"same best hit {apart:.1f} s from component {j}, one TIC peak (no valley between them: "
                f"{valley_ratio(tic, component.apex, components[j].apex):.0%} of the lower apex): "
                "a split, shoulder or tail of its peak")
            summaries.append(summary)
            continue
        finding = _gc_finding(component, identity.get(i, []), analogue.get(i, []), ri, run, library, t,
                              elsewhere[i], params.top_k)
        if finding is not None:
            summary.finding = len(findings)
            finding.component = i
            findings.append(finding)
        summaries.append(summary)
    return findings, summaries, removed_info, notes


def _listing(component: Component, hits: list[Hit] | None, library) -> dict:
    """What the report's list of components shows of every component, finding or not: its five
    most abundant ions and its best identity hit (name, MF)."""
    top = np.argsort(-component.intensity, kind="stable")[:5]
    return {"top_ions": [int(component.mz[j]) for j in top],
            "best_hit": {"name": hits[0].record.name, "mf": hits[0].mf} if hits else None}


def _subtract_blank(components, spectra, identity, blank, library, params):
    """Blank subtraction after the identity search, so that components whose best hit is an
    internal standard are kept (it is in the blank on purpose). Returns the kept components, their
    spectra and identity hits (re-indexed), what was removed and why, and a note why nothing was."""
    t = params.verdict
    standards = set().union(*(library_compounds(library, s.name) for s in params.internal_standards))
    best = {i: hits[0] for i, hits in identity.items() if hits and (hits[0].mf or 0) >= t.report_score}
    protected = {i for i, hit in best.items() if int(library.compound[hit.row]) in standards}
    kept, removed = subtract_blank(
        components, blank.components, rt_tolerance_seconds=params.blank_rt_tolerance_seconds,
        min_similarity=params.blank_min_similarity, min_ratio=params.blank_min_ratio, protected=protected,
    )
    position = {id(c): i for i, c in enumerate(components)}  # by identity: Components hold arrays
    removed_info = []
    for m in removed:
        c, b = m.component, m.blank
        hit = best.get(position[id(c)])
        removed_info.append({
            **c.summary(), "blank_rt_min": round(b.rt_minutes, 4), "height_ratio": round(c.height / b.height, 3),
            "similarity": round(m.similarity, 3), "best_hit": hit.record.name if hit else None,
            "reason": (f"the blank shows it: {abs(c.rt_seconds - b.rt_seconds):.1f} s away "
                       f"(<= {params.blank_rt_tolerance_seconds:g} s), spectrum similarity {m.similarity:.3f} "
                       f"(>= {params.blank_min_similarity:g}), {c.height / b.height:.2f} x the blank's height "
                       f"(< {params.blank_min_ratio:g})"),
        })
    keep = [position[id(c)] for c in kept]
    identity = {new: identity[old] for new, old in enumerate(keep) if old in identity}
    notes = [] if removed else [_none_removed(components, blank, protected, params)]
    return kept, [spectra[i] for i in keep], identity, removed_info, notes


def _none_removed(components: list[Component], blank: Blank, protected: set[int], params: MatchParameters) -> str:
    """Why the blank removed none of the run's components, by the first of its three tests that
    none passed (a blank of another method: other retention times, other spectra), with where
    each run's components lie (a blank acquired over another time or m/z range shows it)."""
    tol, min_sim, ratio = params.blank_rt_tolerance_seconds, params.blank_min_similarity, params.blank_min_ratio
    said = f"--blank {blank.identity['file']}: removed none of the run's {counted(len(components), 'component')}: "
    if not blank.components or not components:
        return said + ("the blank has no components" if components else "the run has none")
    candidates = [c for i, c in enumerate(components) if i not in protected]
    close = [(c, b) for c in candidates for b in blank.components if abs(b.rt_seconds - c.rt_seconds) <= tol]
    # subtract_blank's own cosine, one pair at a time (no height limit): the best the blank came to
    best = max((m.similarity for c, b in close
                for m in subtract_blank([c], [b], rt_tolerance_seconds=tol, min_similarity=-1.0,
                                        min_ratio=np.inf)[1]), default=None)
    if not close:
        why = f"no component of the blank elutes within {tol:g} s of one of the run's"
    elif best is None or best < min_sim:  # None: only blank components of height 0 (no ratio to take)
        near = len({id(c) for c, _ in close})
        cosine = "no blank component of any height" if best is None else f"best cosine {best:.3f} < {min_sim:g}"
        why = f"{near} {'has' if near == 1 else 'have'} a blank component within {tol:g} s, none with a spectrum " \
              f"alike ({cosine})"
    else:
        why = f"each the blank shows (within {tol:g} s, cosine >= {min_sim:g}) is at least {ratio:g} x as high " \
              "as the blank's: an analyte above the carry-over level is kept"
    if len(candidates) < len(components):
        why = f"the internal standard (never removed) aside, {why}"
    return f"{said}{why} (the blank's components: {_where(blank.components)}; the run's: {_where(components)})"


def _where(components: list[Component]) -> str:
    first, last = (f"{t:.2f}" for t in (min(c.rt_minutes for c in components), max(c.rt_minutes for c in components)))
    low, high = min(float(c.mz.min()) for c in components), max(float(c.mz.max()) for c in components)
    # one time, not "6.52-6.52 min" (a blank holding only its internal standard, stop 40)
    return f"{first if first == last else f'{first}-{last}'} min, m/z {low:g}-{high:g}"


def _same_compound(components, identity, library, min_mf, same_peak_seconds, *, tic=None,
                   min_valley: float = 1.0) -> tuple[list[int], dict[int, int]]:
    """Components whose best reportable identity hits are the same compound.

    Two such components are one peak when their apexes are within ``same_peak_seconds``, or when
    ``tic`` (baseline-corrected) does not fall between their apexes below ``min_valley`` of the
    lower one (:func:`~nps_id.gcms.peaks.valley_ratio`): the split top, shoulder or tail of an
    overloaded or tailing peak. Separate elutions have a valley between them.

    Returns
    -------
    elsewhere : list of int
        For each component, how many others that are not the same peak share it.
    duplicates : dict
        Index -> index of the highest *higher* component of the same peak that shares it
        (one peak, one finding).
    """
    def same_peak(i: int, j: int) -> bool:
        a, b = components[i], components[j]
        return (abs(a.rt_seconds - b.rt_seconds) <= same_peak_seconds
                or (tic is not None and valley_ratio(tic, a.apex, b.apex) >= min_valley))

    by_compound: dict[str, list[int]] = {}
    for i, hits in identity.items():
        if hits and (hits[0].mf or 0) >= min_mf:
            by_compound.setdefault(library.compound[hits[0].row], []).append(i)
    elsewhere = [0] * len(components)
    duplicates: dict[int, int] = {}
    for group in by_compound.values():
        for i in group:
            near = [j for j in group if j != i and same_peak(i, j)]
            elsewhere[i] = len(group) - 1 - len(near)
            higher = [j for j in near if components[j].height > components[i].height]
            if higher:
                duplicates[i] = max(higher, key=lambda j: components[j].height)
    return elsewhere, duplicates


def _corrected_tic(run: Run, peaks: PeakParameters) -> np.ndarray:
    """The TIC minus its baseline (as peak detection sees it), for telling one peak from two."""
    from nps_id.gcms.peaks import baseline, window_scans

    tic = run.tic
    return tic - baseline(tic, window_scans(run.rt_seconds, peaks.baseline_window_seconds))


def _gc_finding(component, hits, analogue_hits, ri, run, library, t, elsewhere: int, top_k: int) -> Finding | None:
    best = hits[0] if hits else None
    analogue_best = analogue_hits[0] if analogue_hits else None
    analogue_score = analogue_best.similarity if analogue_best else None
    identity_reportable = best is not None and (best.mf or 0) >= t.report_score
    analogue_confidence = analogue_best.analogue_confidence if analogue_best else None
    analogue_reportable = analogue_best is not None and close_analogue_hit(analogue_best, library, t)
    if not identity_reportable and not analogue_reportable:
        return None
    use_analogue = not identity_reportable
    top = analogue_best if use_analogue else best
    lib_ri = library.library_ri(top.row)
    delta_ri = None if ri is None or lib_ri is None else ri - lib_ri
    ranked = hits if not use_analogue else analogue_hits
    background = _background_ions(run, component, t)
    assessment = assess(
        component.mz, component.intensity, "ei", [as_ranked(h, use_analogue) for h in ranked], library.facts,
        gap=top.gap, isomer_alert=top.isomer_alert, thresholds=t, identity=not use_analogue,
        # the run's m/z range, as for the major ions: a candidate's ions above a scan that stopped below
        # them are not "missing", nor its molecular ion one the spectrum lacks
        acquired_max=float(run.mz_axis[-1]),
        major_ions=_major_ions(component, library, top.row, run, t), n_ions=int(component.mz.size),
        delta_ri=delta_ri, library_ri=library.library_ri, analogue_score=analogue_score if use_analogue else None,
        analogue_confidence=analogue_confidence if use_analogue else None,
        analogue_delta_mass=top.delta_mass if use_analogue else None,
        analogue_query_mass=top.query_mass if use_analogue else None,
        same_hit_elsewhere=0 if use_analogue else elsewhere, background=background,
    )
    return build_finding(component.rt_minutes, top, ranked, assessment, library, top_k,
                    mode=MatchMode.ANALOGUE if use_analogue else MatchMode.IDENTITY, ri=ri, lib_ri=lib_ri,
                    delta_ri=delta_ri,
                    spectrum=(component.mz, component.intensity),
                    peak=GCPeak(scan=component.apex, height=round(component.height, 1), area=round(component.area, 1),
                                snr=round(component.snr, 1), n_ions=int(component.mz.size),
                                **_deconvolution_check(component, run),
                                background_ions=sorted(background) or None))


def _background_ions(run: Run, component: Component, t: VerdictThresholds) -> frozenset[int]:
    """The component's weak column-bleed ions that the run's background around it explains: not its
    molecular ion. Bleed masses only: any mass marked the compounds' own fragments in the dense
    ANDI and cocaine runs too (their neighbours fill the scans around them) and changed no further
    estimate (benchmarks/README.md, stop 34)."""
    return background_ions(run, component, ratio=t.background_ion_ratio, level=t.column_bleed_level,
                           masses=COLUMN_BLEED_IONS)


def _deconvolution_check(component: Component, run: Run) -> dict:
    """What a reviewer checks the deconvolution against: the model ion, the scan window, the raw
    apex scan, and purity (the component's share of the TIC at its apex, as AMDIS reports it)."""
    raw = run.spectrum_at(component.apex)
    tic = float(raw.intensity.sum())
    return {"model_mz": component.model_mz, "scan_range": [component.left, component.right],
            "purity": round(min(component.height / tic, 1.0), 3) if tic > 0 else None,
            "apex_spectrum": {"mz": [float(m) for m in raw.mz], "intensity": [round(float(v), 2) for v in raw.intensity]}}


def _major_ions(component: Component, library: ReferenceLibrary, row: int, run: Run, t) -> tuple[int, int]:
    """(present, expected) major reference ions inside the run's acquired m/z range."""
    mz, intensity = library.reference.peaks.row(row)
    return major_ions_present(component.mz, mz, intensity, t.major_ion_level, (run.mz_min, run.mz_axis[-1]))


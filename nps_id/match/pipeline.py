"""From a raw run to findings: components -> library search -> verdicts -> a results dict.

Entry points
------------
- :class:`MatchParameters` -- every setting of ``nps-id match`` (echoed in each result).
- :class:`ReferenceLibrary` -- a library opened once for many runs (search reference, indexes,
  metadata columns).
- :func:`match_run` -- one run file -> the results dict (the JSON contract of ``docs/match.md``).
- :func:`prepare_blank` -- the components and TIC of a blank run (:class:`Blank`), for blank
  subtraction.
- :func:`measure_reference_standards` -- what reference standard runs show of their substances.

The search itself is :func:`nps_id.search.engine.search`; this module only decides what to search
(GC: deconvoluted components; LC-MS/MS: consensus spectra of grouped MS2 scans) and how to judge
the hits (:mod:`nps_id.match.verdict`). Hits, findings and components are built as the types of
:mod:`nps_id.match.results` and written into the results dict once, at the end of :func:`match_run`.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nps_id import __version__
from nps_id._hashing import sha256_path
from nps_id.compound import normalise_name
from nps_id.errors import LibraryError
from nps_id.gcms.background import background_ions
from nps_id.gcms.deconvolution import Component, DeconvolutionParameters, extract_components, subtract_blank
from nps_id.gcms.peaks import PeakParameters, valley_ratio
from nps_id.gcms.retention_index import AlkaneLadder
from nps_id.gcms.run import UNTIMED_MS1, Run, Technique, acquisition_of, decide_technique, load_run
from nps_id.lcms.groups import MS2Group, group_ms2
from nps_id.lcms.isotopes import IsotopePrecursor, isotope_precursors
from nps_id.match.assess import assess, major_ions_present, novelty_fields
from nps_id.match.library_facts import LibraryFacts
from nps_id.match.lcms_evidence import (XIC_PPM, analogue_accepted, candidate_mass, compound_ions,
                                        confirm_with_standard, elutions, explains, find_feature, group_evidence,
                                        ion_ratio_check, shows_peaks, standard_product_ions, supported)
from nps_id.match.results import (BLANK_ITSELF_NOTE, Elutions, Finding, GCComponent, GCPeak, Hit, LibraryRecord,
                                  MatchMode, MS2Component, MS2Precursor, RunnerUp)
from nps_id.match.standards import (InternalStandard, ReferenceStandard, RunContent, internal_standard_checks,
                                    library_compounds, same_run_by, reference_standard_fields, standard_entry)
from nps_id.match.isomer_rule import is_injector_relative
from nps_id.match.molecular_mass import COLUMN_BLEED_IONS
from nps_id.match.ranked_hit import RankedHit
from nps_id.match.verdict import LEVELS, VerdictThresholds, analogue_mass_share, close_analogue, with_isomers_excluded
from nps_id.tolerance import Tolerance

if TYPE_CHECKING:
    from nps_id.search.reference import Reference

RESULTS_SCHEMA = "nps-id/match-results"
RESULTS_VERSION = "1.0"
#: The TIC in a results file is max-pooled to at most this many points (peaks keep their height).
TIC_POINTS = 3000


@dataclass(frozen=True)
class MatchParameters:
    """All settings of a match (see ``docs/match.md`` for the defaults and why).

    Attributes
    ----------
    peaks, deconvolution, verdict
        Peak detection limits (their RT window also selects LC-MS/MS scan groups), component
        extraction limits, verdict thresholds.
    top_k : int
        Library hits kept per component.
    analogue : bool
        Search components without an acceptable identity hit in analogue mode.
    precursor_tolerance, fragment_tolerance : Tolerance
        LC-MS/MS precursor window (half-width) and fragment tolerance.
    ms2_score : str or None
        LC-MS/MS exact score (a registry name serving MS/MS identity and analogue search,
        ``docs/scores.md``); None: the search's default (cosine; analogues modified cosine).
    ms2_rt_tolerance_seconds : float
        MS2 scans of one precursor further apart than this are separate groups.
    blank_rt_tolerance_seconds, blank_min_similarity, blank_min_ratio : float
        Blank subtraction (see :func:`nps_id.gcms.deconvolution.subtract_blank`).
    internal_standards : tuple of InternalStandard
        Substances added to every vial: their findings are labelled ``role: "internal_standard"``,
        checked per run (``internal_standards`` in the results) and never subtracted as blank.
    standard_rt_window_min : float
        Largest |RT difference| (minutes) from an internal standard's expected RT or from a
        reference standard run's RT that counts as "within".
    """

    peaks: PeakParameters = field(default_factory=PeakParameters)
    deconvolution: DeconvolutionParameters = field(default_factory=DeconvolutionParameters)
    verdict: VerdictThresholds = field(default_factory=VerdictThresholds)
    top_k: int = 5
    analogue: bool = True
    precursor_tolerance: Tolerance = field(default_factory=lambda: Tolerance(20.0, "ppm"))
    fragment_tolerance: Tolerance = field(default_factory=lambda: Tolerance(0.01, "Da"))
    ms2_score: str | None = None
    ms2_rt_tolerance_seconds: float = 30.0
    blank_rt_tolerance_seconds: float = 6.0
    blank_min_similarity: float = 0.9
    blank_min_ratio: float = 3.0
    internal_standards: tuple[InternalStandard, ...] = ()
    standard_rt_window_min: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["precursor_tolerance"] = str(self.precursor_tolerance)
        out["fragment_tolerance"] = str(self.fragment_tolerance)
        return out


class ReferenceLibrary:
    """A library opened once: search reference, indexes, and the columns a finding quotes.

    Parameters
    ----------
    path
        An nps-id HDF5 library. Raises :class:`~nps_id.errors.LibraryError` (exit 4) when it
        cannot be opened or fails its checks (:func:`nps_id.library.open_verified`).
    """

    def __init__(self, path: str | Path) -> None:
        from nps_id.library import open_verified
        from nps_id.search.index import load_indexes
        from nps_id.search.prepared import PreparedLibrary
        from nps_id.search.reference import Reference

        # From uncompressed copies in the cache folder, as `search` reads it (no gzip per process or
        # batch worker; nps_id/library/copies.py): the reference is read whole here, then closed.
        with open_verified(path, copies=True) as lib:
            self.reference = Reference.from_library(lib)
            present = set(lib.columns)
            self.cas = np.asarray(lib.column("cas")) if "cas" in present else None
            self.ri = np.asarray(lib.column("retention_index"), dtype=np.float64) if "retention_index" in present else None
            self.info = {
                "name": str(lib.info.get("name", "")),
                "release": str(lib.info.get("release", "")),
                "sha256": lib.sha256,
                "n_spectra": int(lib.n_spectra),
                # Absolute: nps-id report opens it from wherever it runs (mirror-plot spectra).
                "path": str(Path(path).resolve()),
            }
        self.indexes = load_indexes(self.reference)
        self.prepared = PreparedLibrary(self.reference, indexes=self.indexes)  # made once for every run
        self.columns = self.reference.columns
        self.compound = self.reference.compound()
        self.facts = LibraryFacts(self.reference)

    def record(self, row: int) -> LibraryRecord:
        """Name, identifiers, formula and structure of library row ``row`` (what a hit quotes)."""
        col = self.columns
        return LibraryRecord(
            name=str(col["name"][row]),
            library_id=str(col["source_id"][row]) or None,
            library_row=int(row),
            inchikey=str(col["inchikey"][row]) or None,
            formula=str(col["formula"][row]) or None,
            cas=(str(self.cas[row]) or None) if self.cas is not None else None,
            smiles=str(col["smiles"][row]) or None,
            structure_source=str(col["structure_source"][row]) or None,
            structure_status=str(col["structure_status"][row]) or None,
        )

    def require(self, technique: Technique, run_name: str) -> None:
        """Raise :class:`~nps_id.errors.LibraryError` (exit 4) when the library holds no spectra
        of the kind ``technique`` is searched against, or when nothing can identify its spectra
        (a full scan of a soft ionisation): a run searched against the wrong spectra would read
        as "no findings"."""
        kind = technique.library_kind
        if kind in self.indexes:
            return
        library = f"library {Path(self.info['path']).name} ({self.info['name']} {self.info['release']})"
        if kind is None:
            raise LibraryError(
                f"{run_name}: {technique.name} run ({technique.basis}) cannot be matched against {library} "
                "or any other: nps-id identifies electron-ionisation full scans against EI spectra and "
                "MS/MS scans against MS/MS spectra"
            )
        what = "EI spectra" if kind == "ei" else "MS/MS spectra with a precursor m/z"
        raise LibraryError(
            f"{run_name} was acquired by {technique.name}, but {library} holds no {what}; match it against a library "
            "that does"
        )

    def library_ri(self, row: int) -> float | None:
        if self.ri is None or not np.isfinite(self.ri[row]):
            return None
        return float(self.ri[row])


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
    """

    identity: dict[str, Any]
    components: list[Component]
    tic: dict[str, list[float]] | None


def prepare_blank(path: str | Path, params: MatchParameters, *, sha256: str | None = None) -> Blank:
    """Components and TIC of a blank run (same method as the samples), and its identity.

    ``sha256`` is the blank's digest when the caller already has it (``nps-id batch`` hashes
    every input once); otherwise it is computed here.
    """
    run, _ = load_run(path)
    components = extract_components(run, params.peaks, params.deconvolution) if run is not None else []
    identity = {"file": Path(path).name, "path": str(path), "sha256": sha256 or sha256_path(path).sha256}
    return Blank(identity, components, _tic(run))


def measure_reference_standards(standards: list[ReferenceStandard], library: ReferenceLibrary,
                                params: MatchParameters, *, ladder: AlkaneLadder | None = None,
                                lenient: bool = False) -> list[tuple[dict, set[int]]]:
    """Match each reference standard run and find its substance in it: the ``reference_standards``
    entries of the results (RT, RI, verdict) with the substance's compound codes, for
    :func:`match_run`. A name the library does not know is an :class:`~nps_id.errors.InputError`."""
    measured = []
    for standard in standards:
        library_compounds(library, standard.name)  # a misspelt name fails before the run is matched
        results, content = _match_run(standard.run, library, params, ladder=ladder, lenient=lenient)
        measured.append(standard_entry(standard, results, library, content))
    return measured


def match_run(
    path: str | Path,
    library: ReferenceLibrary,
    params: MatchParameters = MatchParameters(),
    *,
    blank: Blank | None = None,
    ladder: AlkaneLadder | None = None,
    lenient: bool = False,
    sha256: str | None = None,
    reference_standards: list[tuple[dict, set[int]]] = (),
) -> dict[str, Any]:
    """Match one run file against ``library``; returns the results dict.

    Parameters
    ----------
    path
        The run (any run format :func:`nps_id.io.read` reads).
    library
        The opened reference library.
    params
        Settings (echoed under ``parameters``).
    blank
        From :func:`prepare_blank`: components also present in the blank are removed (never
        an internal standard's); ``blank`` in the results shows its TIC and what it removed.
    ladder
        n-alkane ladder for retention indices. When it shares no time with the run, ``notes``
        says so.
    lenient
        Let the reader skip malformed scans.
    sha256
        The run's SHA-256 (:func:`nps_id._hashing.sha256_path`) when the caller already has it,
        as ``nps-id batch`` does; computed here otherwise. Recorded as ``run.sha256``.
    reference_standards
        From :func:`measure_reference_standards`: each finding of a standard's compound gets
        ``reference_standard`` (its RT and RI against the standard's, the window, ``within``).
    """
    return _match_run(path, library, params, blank=blank, ladder=ladder, lenient=lenient, sha256=sha256,
                      reference_standards=reference_standards)[0]


def _match_run(path: str | Path, library: ReferenceLibrary, params: MatchParameters, *, blank: Blank | None = None,
               ladder: AlkaneLadder | None = None, lenient: bool = False, sha256: str | None = None,
               reference_standards: list[tuple[dict, set[int]]] = ()) -> tuple[dict[str, Any], RunContent]:
    """:func:`match_run`, and the run's scans (a reference standard's tell a copy of the sample run)."""
    from nps_id.io import ReadReport

    path = Path(path)
    read_report = ReadReport(str(path))
    run, ms2 = load_run(path, lenient=lenient, report=read_report)
    sha256 = sha256 or sha256_path(path).sha256
    content = RunContent.of(run, ms2)
    acquisition = run.metadata.get("acquisition", {}) if run is not None else acquisition_of(ms2[0])
    technique = decide_technique(acquisition, run.n_scans if run is not None else 0, len(ms2))
    results: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "schema_version": RESULTS_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "software": {"name": "nps-id", "version": __version__},
        "run": {**_run_info(path, sha256, run, ms2, acquisition, technique), "read": read_report.to_dict()},
        "parameters": {
            **params.to_dict(),
            "blank": blank.identity if blank else None,
            "reference_standards": [{k: entry[k] for k in ("run", "sha256", "name")}
                                    for entry, _ in reference_standards],
            "alkanes": ladder.to_dict() if ladder else None,
            "search": _search_settings(params, "identity").to_dict(),
        },
        "library": dict(library.info),
    }
    library.require(technique, path.name)
    results["tic"] = _tic(run)
    notes: list[str] = []
    untimed = read_report.skipped[UNTIMED_MS1]
    if untimed:
        notes.append(f"{untimed} MS1 scan{'s have' if untimed > 1 else ' has'} no retention time: "
                     "left out of the chromatogram")
    if ms2:
        groups = group_ms2(ms2, params.precursor_tolerance, params.ms2_rt_tolerance_seconds,
                           params.fragment_tolerance)
        no_precursor = sum(s.precursor_mz is None for s in ms2)
        if no_precursor:  # group_ms2 leaves them out: say so, as search counts them on stderr
            notes.append(f"{no_precursor} MS/MS scan{'s have' if no_precursor > 1 else ' has'} no precursor m/z "
                         "(not matched)")
        groups, untimed = _in_rt_window(groups, params.peaks)
        if untimed:  # a window was asked for and these cannot be placed in it
            notes.append(f"{untimed} MS/MS scan group{'s have' if untimed > 1 else ' has'} no retention time: "
                         "outside --rt-window (not matched)")
        findings, components, results["unassigned_features"] = _match_ms2(groups, library, params, run)
    elif run is not None:
        findings, components, removed = _match_gc(run, library, params, blank, ladder)
        if blank:
            results["blank"] = {**blank.identity, "tic": blank.tic, "n_components": len(blank.components),
                                "n_removed": len(removed)}
            results["blank_subtracted"] = removed
        # A ladder in the wrong time unit indexes nothing: say so rather than leave every RI empty.
        note = ladder.no_overlap_note(run.rt_seconds[0], run.rt_seconds[-1]) if ladder else None
        if note:
            notes.append(note)
    else:  # load_run raises before this for empty files
        findings, components = [], []
    results["internal_standards"] = internal_standard_checks(findings, library, params.internal_standards,
                                                             params.standard_rt_window_min)
    for check in results["internal_standards"]:
        if check.get("within"):  # the laboratory's own standard at its expected RT: not an isomer
            finding = findings[check["finding"]]
            _isomers_excluded_by(finding, f"isomers excluded by the internal standard's expected RT "
                                          f"({check['expected_rt_min']:g} min, dRT {check['delta_rt_min']:+.3f}, "
                                          f"window {check['rt_window_min']:g})")
            check["verdict"] = finding.verdict.verdict
    for finding in findings:
        standard = reference_standard_fields(finding, library, list(reference_standards), params.standard_rt_window_min,
                                             sha256, content)
        finding.reference_standard = standard
        if standard and standard.get("same_run"):
            # the run named as its own standard: compared with itself, it excludes nothing and confirms nothing
            finding.verdict = replace(finding.verdict, criteria_not_evaluated=[
                *finding.verdict.criteria_not_evaluated, f"reference standard run: not compared -- {standard['not_used']}"])
            continue
        if standard and standard["within"] and finding.match_mode == MatchMode.IDENTITY:
            _isomers_excluded_by(finding, f"isomers excluded by the reference standard run {standard['run']} "
                                          f"(dRT {standard['delta_rt_min']:+.3f} min, window {standard['window_min']:g})")
        if standard and finding.precursor is not None and finding.match_mode == MatchMode.IDENTITY:
            _confirm_with_standard(finding, standard, reference_standards, params)
    if reference_standards:
        results["reference_standards"] = [_written_standard(entry, same_run_by(entry, sha256, content))
                                          for entry, _ in reference_standards]
    notes += [f"internal standard {c['name']} not found" for c in results["internal_standards"] if not c["found"]]
    notes += _window_outside_run(params.peaks, results["run"].get("rt_range_min"),
                                 run.rt_seconds if run is not None and not ms2 else None)
    results["notes"] = notes
    results["components"] = [c.to_dict() for c in components]
    results["findings"] = [f.to_dict() for f in findings]
    results["summary"] = {level: sum(f.verdict.verdict == level for f in findings) for level in LEVELS}
    library.facts.save()  # the row facts, isomers and MS/MS pairs computed here, for the next process
    return results, content


def _written_standard(entry: dict, by: str | None) -> dict:
    """A ``reference_standards`` entry as the results hold it: its scans (``_content``) left out, and
    ``same_run``/``same_run_by`` when it is this run itself (``by``: :func:`same_run_by`)."""
    shown = {k: v for k, v in entry.items() if k != "_content"}
    return {**shown, "same_run": True, "same_run_by": by} if by else shown


def _window_text(low: float | None, high: float | None) -> str:
    """``10-12``; ``from 1e+308`` / ``up to 2`` for an open bound; ``-5 to -1`` when a bound is
    negative (``-5--1`` reads as a typo)."""
    low = None if low is None or math.isinf(low) else low
    high = None if high is None or math.isinf(high) else high
    if low is None or high is None:
        return f"from {low:g}" if high is None else f"up to {high:g}"
    return f"{low:g} to {high:g}" if min(low, high) < 0 else f"{low:g}-{high:g}"


def _window_outside_run(peaks: PeakParameters, span: list[float] | None,
                        scan_seconds: np.ndarray | None = None) -> list[str]:
    """A note when ``--rt-window`` shares no time with the run: "no findings" alone would read as a
    clean sample (a window typed in seconds, or for another method). Of a GC run (``scan_seconds``),
    also a window inside the run that holds no scan (``--rt-window 7.42 7.42``): no apex can be in it."""
    low, high = peaks.rt_min_minutes, peaks.rt_max_minutes
    if span is None or (low is None and high is None):
        return []
    if (high is not None and high < span[0]) or (low is not None and low > span[1]):
        return [f"--rt-window {_window_text(low, high)} min lies outside the run ({span[0]:.2f}-{span[1]:.2f} min): nothing was matched"]
    if scan_seconds is not None and len(scan_seconds) and not any(peaks.in_rt_window(float(t)) for t in scan_seconds):
        return [f"--rt-window {_window_text(low, high)} min holds no scan of the run: nothing was matched"]
    return []


def _in_rt_window(groups: list[MS2Group], peaks: PeakParameters) -> tuple[list[MS2Group], int]:
    """The groups eluting in the ``--rt-window`` (all of them without one) and how many were left
    out for having no retention time."""
    if peaks.rt_min_minutes is None and peaks.rt_max_minutes is None:
        return groups, 0
    untimed = sum(g.rt_seconds is None for g in groups)
    return [g for g in groups if g.rt_seconds is not None and peaks.in_rt_window(g.rt_seconds)], untimed


def _run_info(path: Path, sha256: str, run: Run | None, ms2: list, acquisition: dict,
              technique: Technique) -> dict[str, Any]:
    rts = [s.retention_time for s in ms2 if s.retention_time is not None]
    if run is not None:
        rts += [float(run.rt_seconds[0]), float(run.rt_seconds[-1])]
    meta = run.metadata if run is not None else {}
    return {
        "file": path.name,
        "path": str(path),
        "sha256": sha256,
        "format": meta.get("format"),
        "instrument": meta.get("instrument") or acquisition.get("instrument"),
        "acquisition": acquisition,
        "technique": technique.name,
        "technique_basis": technique.basis,
        "ionization": acquisition.get("ionization"),
        "analyzer": acquisition.get("analyzer"),
        "n_scans": (run.n_scans if run is not None else 0) + len(ms2),
        "n_ms1_scans": run.n_scans if run is not None else 0,
        "n_ms2_scans": len(ms2),
        "rt_range_min": [round(min(rts) / 60, 4), round(max(rts) / 60, 4)] if rts else None,
        "mz_range": [run.mz_min, int(run.mz_axis[-1])] if run is not None else None,
    }


def _tic(run: Run | None) -> dict[str, list[float]] | None:
    if run is None:
        return None
    rt, tic = run.rt_seconds, run.tic
    if rt.size > TIC_POINTS:  # max-pool so a decimated trace keeps every peak's apex height
        step = math.ceil(rt.size / TIC_POINTS)
        n = rt.size // step * step
        rt = rt[:n].reshape(-1, step).mean(axis=1)
        tic = tic[:n].reshape(-1, step).max(axis=1)
    return {"rt_min": [round(float(t) / 60, 5) for t in rt], "intensity": [round(float(v), 1) for v in tic]}


def _search_settings(params: MatchParameters, mode: str):
    from nps_id.match.assess import EVIDENCE_HITS
    from nps_id.search.engine import SearchSettings

    # top_k hits are kept per finding, but its verdict, mass and group read EVIDENCE_HITS (as
    # `nps-id search`): fewer hits changed them (an isomer beyond rank 5 counted as excluded)
    searched = max(params.top_k, EVIDENCE_HITS)
    return SearchSettings(mode=mode, score=params.ms2_score, top_k=searched, prefilter=max(SearchSettings.prefilter, searched),
                          tolerance=params.fragment_tolerance, precursor_tolerance=params.precursor_tolerance)


def _search(spectra: list, library: ReferenceLibrary, params: MatchParameters, mode: str) -> dict[int, list[Hit]]:
    """Engine hits per query position, scores on the 0-999 scale."""
    from nps_id.search.analogue import shift_name
    from nps_id.search.engine import search
    from nps_id.search.scores import to_999_column

    settings = _search_settings(params, mode)
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
    matched nothing and is none (see :func:`_search`)."""
    code = library.compound[hits[0].row]
    return next((h for h in hits if library.compound[h.row] != code and h.score > 0), None)


# -- GC-EI-MS -----------------------------------------------------------------------------------


def _match_gc(run, library, params, blank, ladder) -> tuple[list[Finding], list[GCComponent], list[dict]]:
    components = extract_components(run, params.peaks, params.deconvolution)
    spectra = [c.spectrum() for c in components]
    identity = _search(spectra, library, params, "identity") if spectra else {}
    removed_info: list[dict] = []
    if blank:
        components, spectra, identity, removed_info = _subtract_blank(components, spectra, identity, blank,
                                                                      library, params)
    t = params.verdict
    need_analogue = [i for i in range(len(components))
                     if params.analogue and (not identity.get(i) or (identity[i][0].mf or 0) < t.tentative_mf)]
    analogue = _search([spectra[i] for i in need_analogue], library, params, "analog") if need_analogue else {}
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
    return findings, summaries, removed_info


def _listing(component: Component, hits: list[Hit] | None, library) -> dict:
    """What the report's list of components shows of every component, finding or not: its five
    most abundant ions and its best identity hit (name, MF)."""
    top = np.argsort(-component.intensity, kind="stable")[:5]
    return {"top_ions": [int(component.mz[j]) for j in top],
            "best_hit": {"name": hits[0].record.name, "mf": hits[0].mf} if hits else None}


def _subtract_blank(components, spectra, identity, blank, library, params):
    """Blank subtraction after the identity search, so that components whose best hit is an
    internal standard are kept (it is in the blank on purpose). Returns the kept components, their
    spectra and identity hits (re-indexed), and what was removed and why."""
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
    return kept, [spectra[i] for i in keep], identity, removed_info


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
    analogue_reportable = analogue_best is not None and _close_analogue_hit(analogue_best, library, t)
    if not identity_reportable and not analogue_reportable:
        return None
    use_analogue = not identity_reportable
    top = analogue_best if use_analogue else best
    lib_ri = library.library_ri(top.row)
    delta_ri = None if ri is None or lib_ri is None else ri - lib_ri
    ranked = hits if not use_analogue else analogue_hits
    background = _background_ions(run, component, t)
    assessment = assess(
        component.mz, component.intensity, "ei", [_ranked(h, use_analogue) for h in ranked], library.facts,
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
    return _finding(component.rt_minutes, top, ranked, assessment, library, top_k,
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


def _isomers_excluded_by(finding: Finding, evidence_text: str) -> None:
    """A standard of the hit's compound at the same RT (a reference standard run, or the
    laboratory's internal standard at its expected RT) excludes its isomers."""
    thermal = any(is_injector_relative(n.get("move")) for n in finding.assessment.get("isomers_not_excluded", ()))
    finding.verdict = with_isomers_excluded(finding.verdict, evidence_text, thermal)


def _confirm_with_standard(finding: Finding, standard: dict, reference_standards, params: MatchParameters) -> None:
    """LC-MS/MS: the finding's product ions and ion ratios against its reference standard run's
    spectrum, and the SANTE/11312/2021 identification that gives (:func:`~nps_id.match.lcms_evidence.confirm_with_standard`)."""
    entry = next(e for e, _ in reference_standards
                 if e["run"] == standard["run"] and e["rt_min"] == standard["rt_min"])
    check = ion_ratio_check(np.asarray(finding.spectrum["mz"]), np.asarray(finding.spectrum["intensity"]),
                            np.asarray(entry["spectrum"]["mz"]), np.asarray(entry["spectrum"]["intensity"]),
                            params.fragment_tolerance, finding.precursor.precursor_mz)
    products = standard_product_ions(np.asarray(finding.spectrum["mz"]), np.asarray(entry["spectrum"]["mz"]),
                                     np.asarray(entry["spectrum"]["intensity"]), params.fragment_tolerance,
                                     finding.precursor.precursor_mz, params.verdict.major_ion_level)
    finding.verdict = confirm_with_standard(finding.verdict, standard, check, products)


def _close_analogue_hit(hit: Hit, library: ReferenceLibrary, t: VerdictThresholds) -> bool:
    """Whether an analogue-mode hit passes the close-analogue criterion (:func:`close_analogue`)."""
    share = analogue_mass_share(hit.delta_mass, hit.query_mass)
    return close_analogue(hit.similarity, hit.analogue_confidence, t, share)


def _ranked(hit: Hit, analogue: bool) -> RankedHit:
    """A match hit (0-999 scores) as the assessment reads it; analogue hits score by similarity."""
    score = hit.similarity if analogue else hit.score
    return RankedHit(hit.row, score or 0, hit.mf, hit.rmf, (hit.similarity or 0) / 999)


def _major_ions(component: Component, library: ReferenceLibrary, row: int, run: Run, t) -> tuple[int, int]:
    """(present, expected) major reference ions inside the run's acquired m/z range."""
    mz, intensity = library.reference.peaks.row(row)
    return major_ions_present(component.mz, mz, intensity, t.major_ion_level, (run.mz_min, run.mz_axis[-1]))


def compound_names(reference: Reference, row: int) -> list[str] | None:
    """The library's distinct names of ``row``'s compound (the EWA export counts findings under
    any of them as one substance); None when it has one name."""
    names: dict[str, str] = {}  # one spelling of each name (MassBank: "Acetyl-L-carnitine", "Acetyl-L-Carnitine")
    for name in reference.column_rows("name", reference.identity.rows_of(row)).tolist():
        names.setdefault(normalise_name(str(name)), str(name))
    return list(names.values()) if len(names) > 1 else None


def _finding(rt_min, top: Hit, hits: list[Hit], assessment, library, top_k: int, *, mode, ri, lib_ri, delta_ri,
             spectrum, **technique) -> Finding:
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


# -- LC-MS/MS -----------------------------------------------------------------------------------


def _match_ms2(groups: list[MS2Group], library, params, run) -> tuple[list[Finding], list[MS2Component], list[dict]]:
    """Findings, per-group summaries and unassigned features of an LC-MS/MS run.

    Groups whose best identity hits are one compound merge into one finding per elution
    (:func:`~nps_id.match.lcms_evidence.elutions`); the compound is reported once, at its best
    elution, the others named in ``other_elutions``. An identity group is a finding only when its
    precursor has an MS1 peak at the candidate's exact mass (:func:`~nps_id.match.lcms_evidence.supported`).
    A group that is another ion of a found compound at its RT (adduct, isotope, in-source loss,
    fragment or cluster) supports that finding. Analogue findings must pass
    :func:`~nps_id.match.lcms_evidence.analogue_accepted`; every other group is an unassigned feature
    with the reason.
    """
    spectra = [g.spectrum for g in groups]
    identity = _search(spectra, library, params, "identity") if spectra else {}
    t = params.verdict
    features = [find_feature(run, g) for g in groups]
    has_ms1 = shows_peaks(run)
    # a precursor that is another's 13C peak is that compound, never a compound of its own
    isotopes = isotope_precursors(groups, features, run.centroids, run.rt_seconds, params.precursor_tolerance,
                                  params.fragment_tolerance, XIC_PPM) if has_ms1 else {}
    need = [i for i in range(len(groups)) if params.analogue and i not in isotopes
            and (not identity.get(i) or identity[i][0].score < t.tentative_score)]
    analogue_hits = _search([spectra[i] for i in need], library, params, "analog") if need else {}
    analogue_hits = {need[q]: hits for q, hits in analogue_hits.items()}
    chosen: dict[int, tuple[list[Hit], MatchMode]] = {}
    evidence: dict[int, Any] = {}
    why_not: dict[int, str] = {}  # group -> why it is no finding
    for i in sorted(set(range(len(groups))) - set(isotopes)):
        hits = identity.get(i, [])
        if hits and hits[0].score >= t.report_score:
            evidence[i] = group_evidence(run, groups[i], features[i], library.columns, library.reference.peaks,
                                         hits[0].row, params.fragment_tolerance, t.major_ion_level)
            chosen[i] = (hits, MatchMode.IDENTITY)
            reason = supported(evidence[i], has_ms1, t.precursor_ppm)
            if reason is not None:  # still an elution of its compound, never the finding's lead
                why_not[i] = f"{reason} (best hit {hits[0].record.name}, score {hits[0].score})"
        elif analogue_hits.get(i) and _close_analogue_hit(analogue_hits[i][0], library, t):
            chosen[i] = (analogue_hits[i], MatchMode.ANALOGUE)
    summaries = [MS2Component(index=i, rt_min=g.rt_min, precursor_mz=round(g.precursor_mz, 5),
                              n_scans=len(g.scan_indices), n_ions=len(g.spectrum),
                              ms1_feature=None if features[i] is None else features[i].to_dict())
                 for i, g in enumerate(groups)]
    findings: list[Finding] = []
    placed: dict[int, int] = {}  # group -> finding
    context = (groups, features, chosen, evidence, why_not, library, params, run, findings, placed)
    identity_groups = [i for i, (_, mode) in chosen.items() if mode == MatchMode.IDENTITY]
    _add_compound_findings(identity_groups, lambda i: library.compound[chosen[i][0][0].row], context)
    # each found compound's other possible ions, from all its library spectra of that polarity
    # (collision energies and instruments differ; a negative-mode fragment is another ion)
    modes = library.columns["ion_mode"]

    def spectra_of(row: int) -> list[tuple[np.ndarray, np.ndarray]]:
        rows = np.flatnonzero(library.compound == library.compound[row])
        return [library.reference.peaks.row(r) for r in rows if modes[r] in (modes[row], "")]

    ions = [compound_ions(groups[f.component], candidate_mass(library.columns, f.library_row),
                          _polarity(groups[f.component]), spectra_of(f.library_row)) for f in findings]
    for i in sorted(set(range(len(groups))) - set(placed) - set(isotopes)):  # other ions of a found compound
        for f_index, finding in enumerate(findings):
            lead = finding.component
            ion = explains(groups[i], features[i], groups[lead], features[lead], ions[f_index],
                           params.precursor_tolerance, params.ms2_rt_tolerance_seconds)
            if ion is not None:
                placed[i] = f_index
                finding.precursor.related_ions.append({"component": i, "ion": ion,
                                                       "precursor_mz": round(groups[i].precursor_mz, 5),
                                                       "rt_min": groups[i].rt_min,
                                                       "n_scans": len(groups[i].scan_indices)})
                summaries[i].ion_of = {"finding": f_index, "ion": ion}
                break
    # An analogue is one unknown per precursor and closest compound, merged over its elutions like
    # a compound, and a finding only when analogue_accepted says so (docs/match.md).
    analogues = [i for i, (_, mode) in chosen.items() if mode == MatchMode.ANALOGUE and i not in placed]

    def accepted(finding: Finding, members: list[int]) -> bool:
        reason = analogue_accepted(finding.verdict, finding.assessment, features[finding.component])
        why_not.update({i: reason for i in members if reason is not None})
        return reason is None

    _add_compound_findings(analogues, lambda i: (library.compound[chosen[i][0][0].row],
                                                 round(groups[i].precursor_mz, 2)), context, keep=accepted)
    _fold_isotope_precursors(isotopes, groups, findings, placed, summaries, why_not)
    # Findings in retention-time order, as a GC run's: they were made compound by compound, the
    # analogues after the identities. A finding's number is its position: renumber what refers to it.
    order = sorted(range(len(findings)), key=lambda k: (groups[findings[k].component].rt_seconds is None,
                                                        groups[findings[k].component].rt_seconds or 0.0, k))
    number = {old: new for new, old in enumerate(order)}
    findings[:] = [findings[k] for k in order]
    placed = {i: number[k] for i, k in placed.items()}
    for summary in summaries:
        if summary.ion_of is not None:
            summary.ion_of["finding"] = number[summary.ion_of["finding"]]
    unassigned = []
    for i in range(len(groups)):
        if i in placed:
            summaries[i].finding = placed[i]
        else:
            weak = (f"no identity hit scoring >= {t.report_score} and no analogue hit of similarity "
                    f">= {t.analogue_score}")
            unassigned.append(_unassigned(i, groups[i], features[i], identity.get(i) or analogue_hits.get(i) or [],
                                          why_not.get(i, weak)))
    return findings, summaries, unassigned


def _fold_isotope_precursors(isotopes: dict[int, IsotopePrecursor], groups: list[MS2Group], findings: list[Finding],
                             placed: dict[int, int], summaries: list[MS2Component], why_not: dict[int, str]) -> None:
    """Each 13C isotope precursor (:func:`~nps_id.lcms.isotopes.isotope_precursors`) joins the finding
    of its monoisotopic group, listed under ``isotope_precursors``; its MS/MS is set aside (its
    13C-bearing fragments sit 1 Da off, so merging it would blur the consensus spectrum). When the
    monoisotopic group is no finding, neither is its isotope peak: an unassigned feature saying so."""
    for j, isotope in isotopes.items():
        mono = isotope.monoisotopic
        if mono in placed:
            placed[j] = placed[mono]
            findings[placed[mono]].precursor.isotope_precursors.append(
                isotope.to_dict(groups[j].rt_min, len(groups[j].scan_indices)))
            summaries[j].ion_of = {"finding": placed[mono], "ion": "isotope M+1 (13C)"}
        else:
            why_not[j] = (f"13C isotope peak (M+1) of component {mono}'s precursor {groups[mono].precursor_mz:.4f} "
                          f"(MS1 ratio {isotope.ms1_ratio:.3f}, shared fragments "
                          f"{', '.join(f'{m:.4f}' for m in isotope.shared_fragments)}), which is no finding")


def _add_compound_findings(members, key, context, keep=lambda finding, members: True) -> None:
    """One finding per ``key`` (a compound): its groups cut into elutions; the strongest elution
    (best score, then MS1 area) is the finding with every scan of that elution, the others are
    named in ``other_elutions`` and count against "best hit at no other retention time". A group
    in ``why_not`` (no MS1 support) counts as an elution but never leads; a compound with no
    supported group is no finding. ``keep`` (finding, its groups) may turn it down."""
    groups, features, chosen, evidence, why_not, library, params, run, findings, placed = context
    by_key: dict[Any, list[int]] = {}
    for i in members:
        by_key.setdefault(key(i), []).append(i)
    for same in by_key.values():
        def strength(elution: list[int]) -> tuple[int, float]:
            return (max(chosen[i][0][0].score for i in elution),
                    sum(features[i].area for i in elution if features[i] is not None))
        ranked = sorted(elutions(same, groups, features, params.ms2_rt_tolerance_seconds), key=strength, reverse=True)
        main = next((el for el in ranked if any(i not in why_not for i in el)), None)
        if main is None:
            continue
        others = [el for el in ranked if el is not main]
        lead = max((i for i in main if i not in why_not), key=lambda i: chosen[i][0][0].score)
        finding = _ms2_finding(lead, groups, features, chosen[lead], evidence.get(lead), library, params, run,
                               same_hit_elsewhere=len(others))
        if not keep(finding, same):
            continue
        finding.precursor.n_scans = sum(len(groups[i].scan_indices) for i in main)
        finding.elutions = Elutions(
            merged_components=sorted(main),
            other_elutions=[{"components": sorted(el), "rt_min": groups[min(el)].rt_min,
                             "score": max(chosen[i][0][0].score for i in el)} for el in others],
            elution_note=None if not others else (
                f"also the best hit at {', '.join(f'{groups[min(el)].rt_minutes:.2f}' for el in others)} min "
                "(separate MS1 peaks): isomers the library cannot tell apart, or carry-over; reported once, at "
                "its best-matching elution"))
        for i in main + [j for el in others for j in el]:
            placed[i] = len(findings)
        findings.append(finding)


def _polarity(group: MS2Group) -> str:
    return str(group.spectrum.get("ion_mode") or "positive").lower()


def _ms2_finding(i, groups, features, choice, evidence, library, params, run, same_hit_elsewhere: int = 0) -> Finding:
    """One group's finding: its hits judged with the HRMS criteria of its MS1 ``evidence`` (an
    identity group's, from :func:`group_evidence`; computed here for an analogue's)."""
    hits, mode = choice
    group, top, t = groups[i], hits[0], params.verdict
    as_analogue = mode == MatchMode.ANALOGUE  # an analogue hit never passes as the identity of the compound
    spectrum = group.spectrum
    if evidence is None:
        evidence = group_evidence(run, group, features[i], library.columns, library.reference.peaks, None,
                                  params.fragment_tolerance, t.major_ion_level)
    hrms = {} if as_analogue else {
        "ms1_feature": features[i] is not None if shows_peaks(run) else None,
        "precursor_ppm": evidence.precursor_ppm, "matched_fragments": evidence.matched_fragments}
    assessment = assess(
        spectrum.mz, spectrum.intensity, "ms2", [_ranked(h, as_analogue) for h in hits], library.facts,
        gap=None if as_analogue else top.gap, isomer_alert=not as_analogue and top.isomer_alert, thresholds=t,
        identity=not as_analogue, precursor=(group.precursor_mz, _polarity(group)),
        analogue_score=top.similarity if as_analogue else None,
        analogue_confidence=top.analogue_confidence if as_analogue else None,
        analogue_delta_mass=top.delta_mass if as_analogue else None,
        analogue_query_mass=top.query_mass if as_analogue else None,
        same_hit_elsewhere=same_hit_elsewhere, **hrms,
    )
    finding = _finding(group.rt_minutes, top, hits, assessment, library, params.top_k, mode=mode, ri=None, lib_ri=None,
                       delta_ri=None, spectrum=(spectrum.mz, spectrum.intensity),
                       precursor=MS2Precursor(precursor_mz=round(group.precursor_mz, 5),
                                              n_scans=len(group.scan_indices),
                                              adduct=None if evidence.adduct is None else evidence.adduct.name,
                                              ms1=evidence.fields()))
    finding.component = i
    return finding


def _unassigned(i: int, group: MS2Group, feature, hits: list[Hit], reason: str) -> dict:
    """A row of the unassigned-features table: a precursor with no finding, why, and its best hits."""
    return {"component": i, "reason": reason, "precursor_mz": round(group.precursor_mz, 5),
            "rt_min": group.rt_min,
            "n_scans": len(group.scan_indices), "area": None if feature is None else round(feature.area, 1),
            "apex_rt_min": None if feature is None else round(feature.apex_rt_seconds / 60, 4),
            "best_hits": [{"name": h.record.name, "library_row": h.row, "score": h.score, "similarity": h.similarity}
                          for h in hits[:3]]}


def match_files(
    runs: list[str | Path],
    library_path: str | Path,
    params: MatchParameters = MatchParameters(),
    *,
    blank: str | Path | None = None,
    alkanes: str | Path | None = None,
    lenient: bool = False,
    reference_standards: list[ReferenceStandard] = (),
):
    """Match every run file against one library; yields ``(path, results)`` in input order.

    The library, the blank's components, the alkane ladder and the reference standard runs are
    loaded (and matched) once. The blank itself, when it is among ``runs`` (a folder's runs by a
    glob), is matched without subtraction and says so in its ``notes``, as ``batch`` matches its
    blanks: subtracted from itself it lost every component. Input errors (a run that cannot be read, a bad alkane table, a
    standard the library does not name) raise :class:`~nps_id.errors.InputError` (exit 3); an
    unusable library raises :class:`~nps_id.errors.LibraryError` (exit 4).
    """
    from nps_id.gcms.retention_index import load_alkanes

    library = ReferenceLibrary(library_path)
    for standard in params.internal_standards:  # a misspelt name fails before any run is matched
        library_compounds(library, standard.name)
    ladder = load_alkanes(alkanes) if alkanes else None
    blank_data = prepare_blank(blank, params) if blank else None
    standards = measure_reference_standards(list(reference_standards), library, params, ladder=ladder,
                                            lenient=lenient)
    for path in runs:
        itself = blank_data is not None and _same_file(path, blank)
        results = match_run(path, library, params, blank=None if itself else blank_data, ladder=ladder,
                            lenient=lenient, reference_standards=standards)
        if itself:
            results["notes"].append(BLANK_ITSELF_NOTE)
        yield Path(path), results


def _same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file or folder (``runs/x.mzML`` and ``./runs/x.mzML``, a symlink)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False

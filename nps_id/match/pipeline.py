"""From a raw run to findings: the ``match`` command's run pipeline -> a results dict.

Entry points
------------
- :func:`match_run` -- one run file -> the results dict (the JSON contract of ``docs/match.md``).
- :func:`match_files` -- every run against one library, the blank, ladder and standards loaded once.
- :func:`prepare_blank` -- the components and TIC of a blank run
  (:class:`~nps_id.match.gc_run.Blank`), for blank subtraction.
- :func:`measure_reference_standards` -- what reference standard runs show of their substances.

Its settings are :class:`~nps_id.match.parameters.MatchParameters`, its library a
:class:`~nps_id.match.reference_library.ReferenceLibrary`. This module reads the run, sends it down
the GC path (:func:`nps_id.match.gc_run.match_gc`: deconvoluted components) or the LC-MS/MS path
(:func:`nps_id.match.ms2_run.match_ms2`: consensus spectra of grouped MS2 scans), then applies the
internal and reference standards to the findings. Hits, findings and components are built as the
types of :mod:`nps_id.match.results` and written into the results dict once, at the end of
:func:`match_run`.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from nps_id import __version__
from nps_id._file_state import FileState, file_state, require_unchanged
from nps_id._hashing import sha256_path
from nps_id.errors import InputError
from nps_id.gcms.deconvolution import extract_components
from nps_id.gcms.peaks import PeakParameters
from nps_id.gcms.retention_index import AlkaneLadder
from nps_id.gcms.run import UNTIMED_MS1, Run, Technique, acquisition_of, decide_technique, load_run
from nps_id.lcms.groups import UNIT_RESOLUTION_DA, MS2Group, group_ms2
from nps_id.match.findings_build import search_settings
from nps_id.match.gc_run import Blank, match_gc
from nps_id.match.isomer_rule import is_injector_relative
from nps_id.match.lcms_evidence import confirm_with_standard, ion_ratio_check, standard_product_ions
from nps_id.match.ms2_run import compared_at, match_ms2, unit_groups
from nps_id.match.parameters import MatchParameters
from nps_id.match.reference_library import ReferenceLibrary
from nps_id.match.results import BLANK_ITSELF_NOTE, Finding, MatchMode
from nps_id.match.standards import (ReferenceStandard, RunContent, internal_standard_checks, library_compounds,
                                    other_technique, require_same_technique, same_run_by, reference_standard_fields,
                                    standard_entry, standard_of_no_library_kind)
from nps_id.match.verdict import LEVELS, with_isomers_excluded

RESULTS_SCHEMA = "nps-id/match-results"
RESULTS_VERSION = "1.0"
#: The TIC in a results file is max-pooled to at most this many points (peaks keep their height).
TIC_POINTS = 3000


def prepare_blank(path: str | Path, params: MatchParameters, *, sha256: str | None = None) -> Blank:
    """Components and TIC of a blank run (same method as the samples), and its identity.

    ``sha256`` is the blank's digest when the caller already has it (``nps-id batch`` hashes
    every input once); otherwise it is computed here.
    """
    as_read = _state_if_any(path)
    run, ms2 = load_run(path)
    components = extract_components(run, params.peaks, params.deconvolution) if run is not None else []
    identity = {"file": Path(path).name, "path": str(path),
                "sha256": _digest_as_read(path, sha256, as_read, "nothing matched against it",
                                          "match again once the file is complete")}
    return Blank(identity, components, _tic(run), _technique(run, ms2).name, RunContent.of(run, ms2))


def _state_if_any(path: str | Path) -> FileState | None:
    """The file's state before it is read; None when it cannot be taken (load_run says what is
    wrong with the path) or for a folder."""
    try:
        return file_state(path)
    except OSError:
        return None


def _digest_as_read(path: str | Path, sha256: str | None, as_read: FileState | None, consequence: str,
                    advice: str) -> str:
    """The file's SHA-256 (``sha256`` when the caller has it), once it is checked to be still the
    file ``as_read``. A file deleted or made a folder after it was read is said as such (attack51:
    a traceback, exit 1, when the digest was taken of a file no longer there)."""
    try:
        digest = sha256 or sha256_path(path).sha256
    except OSError as exc:
        require_unchanged(path, as_read, consequence, advice)  # gone, or no longer a file
        raise InputError(f"{path}: cannot read ({exc.strerror or exc}) after it was read; {consequence}") from None
    require_unchanged(path, as_read, consequence, advice)
    return digest


def _technique(run: Run | None, ms2: list) -> Technique:
    acquisition = run.metadata.get("acquisition", {}) if run is not None else acquisition_of(ms2[0])
    return decide_technique(acquisition, run.n_scans if run is not None else 0, len(ms2))


def measure_reference_standards(standards: list[ReferenceStandard], library: ReferenceLibrary,
                                params: MatchParameters, *, ladder: AlkaneLadder | None = None,
                                lenient: bool = False) -> list[tuple[dict, set[int]]]:
    """Match each reference standard run and find its substance in it: the ``reference_standards``
    entries of the results (RT, RI, verdict) with the substance's compound codes, for
    :func:`match_run`. A name the library does not know is an :class:`~nps_id.errors.InputError`."""
    measured = []
    for standard in standards:
        library_compounds(library, standard.name)  # a misspelt name fails before the run is matched
        results, content = _match_run(standard.run, library, params, ladder=ladder, lenient=lenient,
                                      standard=standard.name)
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
               reference_standards: list[tuple[dict, set[int]]] = (),
               standard: str | None = None) -> tuple[dict[str, Any], RunContent]:
    """:func:`match_run`, and the run's scans (a reference standard's tell a copy of the sample run);
    ``standard``: the substance when the run is a reference standard's."""
    from nps_id.io import ReadReport

    path = Path(path)
    read_report = ReadReport(str(path))
    as_read = _state_if_any(path)
    run, ms2 = load_run(path, lenient=lenient, report=read_report)
    # a run still being written by the instrument (or copied in) reads as a shorter run without an
    # error, and its SHA-256 would be of other bytes than those matched
    sha256 = _digest_as_read(path, sha256, as_read, "nothing written for it", "match it again once the file is complete")
    content = RunContent.of(run, ms2)
    # the blank's bytes or scans (a copy or another format of the run given as its blank):
    # subtracted from itself, it took every component
    itself = blank is not None and (blank.identity["sha256"] == sha256 or blank.content.same_as(content))
    blank = None if itself else blank
    acquisition = run.metadata.get("acquisition", {}) if run is not None else acquisition_of(ms2[0])
    technique = _technique(run, ms2)
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
            "search": search_settings(params, "identity").to_dict(),
        },
        "library": dict(library.info),
    }
    if standard is not None and technique.library_kind not in library.indexes:
        info = library.info
        raise standard_of_no_library_kind(path.name, standard, technique.name,
                                          f"library {Path(info['path']).name} ({info['name']} {info['release']})")
    require_same_technique(list(reference_standards), technique.name, path.name)
    library.require(technique, path.name)
    results["tic"] = _tic(run)
    notes: list[str] = [BLANK_ITSELF_NOTE] if itself else []
    untimed = read_report.skipped[UNTIMED_MS1]
    if untimed:
        notes.append(f"{untimed} MS1 scan{'s have' if untimed > 1 else ' has'} no retention time: "
                     "left out of the chromatogram")
    if blank and blank.technique != technique.name:  # either way round (an LC blank of a GC run, stop 40)
        raise other_technique(f"--blank {blank.identity['file']}", blank.technique, path.name, technique.name,
                              "a blank")
    if ms2:
        groups = group_ms2(ms2, params.precursor_tolerance, params.ms2_rt_tolerance_seconds,
                           params.fragment_tolerance, unit_fragment_tolerance=params.unit_fragment_tolerance)
        no_precursor = sum(s.precursor_mz is None for s in ms2)
        if no_precursor:  # group_ms2 leaves them out: say so, as search counts them on stderr
            notes.append(f"{no_precursor} MS/MS scan{'s have' if no_precursor > 1 else ' has'} no precursor m/z "
                         "(not matched)")
        groups, untimed = _in_rt_window(groups, params.peaks)
        if untimed:  # a window was asked for and these cannot be placed in it
            notes.append(f"{untimed} MS/MS scan group{'s have' if untimed > 1 else ' has'} no retention time: "
                         "outside --rt-window (not matched)")
        findings, components, results["unassigned_features"] = match_ms2(groups, library, params, run)
        unit = unit_groups(groups, params)
        if unit:  # what match_ms2 scored them at, and why no finding of theirs is an HRMS identification
            notes.append(_unit_note(groups, unit, params))
        if blank:  # parameters.blank names it: say it took nothing away (docs/match.md, Blank)
            notes.append(f"--blank {blank.identity['file']}: not subtracted (blank subtraction works on "
                         "GC-EI-MS components; LC-MS/MS findings are reported as found)")
    elif run is not None:
        findings, components, removed, blank_notes = match_gc(run, library, params, blank, ladder)
        notes += blank_notes
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
    """A ``reference_standards`` entry as the results hold it: its scans and technique (``_content``,
    ``_technique``) left out, and
    ``same_run``/``same_run_by`` when it is this run itself (``by``: :func:`same_run_by`)."""
    shown = {k: v for k, v in entry.items() if not k.startswith("_")}
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


def _isomers_excluded_by(finding: Finding, evidence_text: str) -> None:
    """A standard of the hit's compound at the same RT (a reference standard run, or the
    laboratory's internal standard at its expected RT) excludes its isomers."""
    thermal = any(is_injector_relative(n.get("move")) for n in finding.assessment.get("isomers_not_excluded", ()))
    finding.verdict = with_isomers_excluded(finding.verdict, evidence_text, thermal)


def _unit_note(groups: list[MS2Group], unit: frozenset[int], params: MatchParameters) -> str:
    """The run's one note on its unit-resolution scan groups (:func:`~nps_id.match.ms2_run.unit_groups`): the
    fragment tolerance they were scored at and that their HRMS criteria are not met. A given
    ``--fragment-tolerance`` finer than their one decimal (20 ppm, 0.01 Da) matches them to unit-resolution
    records at best: until attack48 such a run said nothing of them (the Keio MGF run: "no findings", as
    every unit-resolution run before stop 48), nor, given a wide one, that their HRMS criteria are not met.
    A group of several scans was merged at that tolerance (rows49: one ion of 69.1 and 69.2), which the
    note says; until attack49b it did not, and read "their" of one group."""
    scans = sum(len(groups[i].scan_indices) for i in unit)
    scored_at = params.unit_fragment_tolerance or params.fragment_tolerance
    merged = f", merged at {scored_at}" if scans > len(unit) else ""  # a group of >= 2 scans: one consensus
    their = "their" if len(unit) > 1 else "its"
    head = (f"{len(unit)} of {len(groups)} MS/MS scan group{'s' if len(groups) > 1 else ''} ({scans} "
            f"scan{'s' if scans > 1 else ''}{merged}) {'have' if len(unit) > 1 else 'has'} product ions written to at "
            "most 1 decimal (unit resolution)")
    if params.unit_fragment_tolerance is not None:
        return (f"{head}: scored with a {params.unit_fragment_tolerance} fragment tolerance, not "
                f"{params.fragment_tolerance}; {their} HRMS criteria are not met (--fragment-tolerance sets one "
                "tolerance for every scan)")
    tolerance = params.fragment_tolerance
    widest = max(groups[i].precursor_mz for i in unit)
    # finer: they match library records written to unit resolution at best (the 148 MassBank unit queries at
    # 0.01 Da: 21 findings, 101 at 0.5 Da)
    finer = (f", finer than they are written (unset, they are scored at {MatchParameters().unit_fragment_tolerance})"
             if tolerance.window_da(widest) < UNIT_RESOLUTION_DA else "")
    return f"{head}: scored with the given --fragment-tolerance {tolerance}{finer}; {their} HRMS criteria are not met"


def _confirm_with_standard(finding: Finding, standard: dict, reference_standards, params: MatchParameters) -> None:
    """LC-MS/MS: the finding's product ions and ion ratios against its reference standard run's
    spectrum, and the SANTE/11312/2021 identification that gives (:func:`~nps_id.match.lcms_evidence.confirm_with_standard`)."""
    entry = next(e for e, _ in reference_standards
                 if e["run"] == standard["run"] and e["rt_min"] == standard["rt_min"])
    mz, standard_mz = np.asarray(finding.spectrum["mz"]), np.asarray(entry["spectrum"]["mz"])
    tolerance = compared_at(params, mz, standard_mz)  # a unit-resolution side: its nominal ions
    check = ion_ratio_check(mz, np.asarray(finding.spectrum["intensity"]),
                            standard_mz, np.asarray(entry["spectrum"]["intensity"]),
                            tolerance, finding.precursor.precursor_mz)
    products = standard_product_ions(mz, standard_mz, np.asarray(entry["spectrum"]["intensity"]), tolerance,
                                     finding.precursor.precursor_mz, params.verdict.major_ion_level)
    finding.verdict = confirm_with_standard(finding.verdict, standard, check, products)


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
    for path in runs:  # the blank among them (its bytes: by any path or copy) is matched unsubtracted
        yield Path(path), match_run(path, library, params, blank=blank_data, ladder=ladder, lenient=lenient,
                                    reference_standards=standards)

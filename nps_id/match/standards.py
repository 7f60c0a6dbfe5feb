"""Internal standards and reference standard runs: which findings they are, and the checks a
reviewer does by hand (is the internal standard there, where; does the finding elute where the
standard did).

Entry points
------------
- :class:`InternalStandard` -- ``NAME[@RT_MIN]`` as given to ``--internal-standard``.
- :class:`ReferenceStandard` -- a run of a reference standard and the substance it holds
  (``--reference-standard RUN NAME``).
- :func:`library_compounds` -- a name or InChIKey -> the library's compound codes for it.
- :func:`internal_standard_checks` -- label the internal standard's findings
  (``role: "internal_standard"``) and give one check per standard.
- :func:`reference_standard_fields` -- per finding, its RT (and RI) against the standard's (a
  standard that is the sample run itself is marked, never a confirmation: :func:`same_run_reason`).

A name is matched by :func:`nps_id.compound.normalise_name` against the library's names, or as an
InChIKey (whole, or its first block); a finding is the substance when its library hit is the same
compound (:mod:`nps_id.compound`: enantiomers and racemates are one compound).
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_id.compound import normalise_name, skeleton
from nps_id.errors import InputError
from nps_id.match.results import Finding, MatchMode

_INCHIKEY = re.compile(r"^[A-Z]{14}(-[A-Z]{10}-[A-Z])?$")

#: What a finding that is not an internal standard is.
ANALYTE = "analyte"
INTERNAL_STANDARD = "internal_standard"


@dataclass(frozen=True)
class InternalStandard:
    """A substance added to every sample (and blank) by the laboratory.

    Attributes
    ----------
    name : str
        Name or InChIKey, as the library knows it (case, dashes and ``.alpha.`` spellings do not matter).
    rt_min : float or None
        Expected retention time, minutes; None: not checked.
    """

    name: str
    rt_min: float | None = None

    @classmethod
    def parse(cls, text: str) -> InternalStandard:
        """``"Bupivacaine"`` or ``"Bupivacaine@6.51"`` (expected RT in minutes)."""
        name, at, rt = text.rpartition("@") if "@" in text else (text, "", "")
        name = name.strip()
        if not name:
            raise ValueError(f"{text!r}: expected NAME or NAME@RT_MIN")
        if not at:
            return cls(name)
        try:
            rt_min = float(rt)
        except ValueError:
            raise ValueError(f"{text!r}: the expected retention time after '@' must be minutes, e.g. {name}@6.51")
        if not (np.isfinite(rt_min) and rt_min > 0):
            raise ValueError(f"{text!r}: the expected retention time must be a positive number of minutes")
        return cls(name, rt_min)


@dataclass(frozen=True)
class ReferenceStandard:
    """A run of a reference standard (same method as the samples) and the substance in it."""

    run: str
    name: str


def library_compounds(library: Any, name: str) -> set[int]:
    """Compound codes (:attr:`ReferenceLibrary.compound`) of the library rows that ``name`` names.

    Raises
    ------
    InputError
        When no library record has that name or InChIKey: a misspelt standard would otherwise
        be silently "not found" in every run.
    """
    names, keys = library.columns["name"], library.columns["inchikey"]
    text = name.strip()
    if _INCHIKEY.match(text.upper()):
        key = text.upper()
        rows = [i for i, k in enumerate(keys) if k and (k == key or (len(key) == 14 and skeleton(k) == key))]
    else:
        wanted = normalise_name(text)
        rows = [i for i, n in enumerate(names) if n and normalise_name(n) == wanted]
    if not rows:
        raise InputError(f"standard {name!r} is not in library {library.info['name']} {library.info['release']} "
                         f"(give its library name or InChIKey{_close_names(text, names)})")
    return {int(library.compound[i]) for i in rows}


def _close_names(text: str, names: Any) -> str:
    """'; closest library names: Etizolam' for a misspelt standard (difflib, on the normalised
    names), else ''. A typo at the command line should not send the analyst to read the library."""
    by_norm = {normalise_name(n): n for n in names if n}
    close = difflib.get_close_matches(normalise_name(text), list(by_norm), n=3, cutoff=0.8)
    return f"; closest library names: {', '.join(by_norm[c] for c in close)}" if close else ""


def internal_standard_checks(findings: list[Finding], library: Any, standards: tuple[InternalStandard, ...],
                             window_min: float) -> list[dict]:
    """Set every finding's ``role`` and return one check per internal standard.

    A finding whose library hit is an internal standard's compound gets ``role:
    "internal_standard"`` (never reported as a constituent of the sample); the others ``"analyte"``.
    The check names the finding used (the one nearest the expected RT, else the highest score),
    its RT, response (height and area, GC) and, when an expected RT is given, the difference and
    whether it is within ``window_min``.
    """
    codes = {s: library_compounds(library, s.name) for s in standards}
    for f in findings:
        code = int(library.compound[f.library_row])
        f.role = INTERNAL_STANDARD if any(code in c for c in codes.values()) else ANALYTE
    checks = []
    for standard, compound in codes.items():
        mine = [i for i, f in enumerate(findings)
                if f.match_mode == MatchMode.IDENTITY and int(library.compound[f.library_row]) in compound]
        if standard.rt_min is not None:
            mine.sort(key=lambda i: math.inf if findings[i].rt_min is None else abs(findings[i].rt_min - standard.rt_min))
        else:
            mine.sort(key=lambda i: -findings[i].score)
        check: dict[str, Any] = {"name": standard.name, "expected_rt_min": standard.rt_min,
                                 "rt_window_min": window_min if standard.rt_min is not None else None,
                                 "found": bool(mine), "finding": mine[0] if mine else None}
        if mine:
            f = findings[mine[0]]
            delta = None if standard.rt_min is None or f.rt_min is None else round(f.rt_min - standard.rt_min, 4)
            check.update({"library_name": f.record.name, "verdict": f.verdict.verdict, "rt_min": f.rt_min,
                          "delta_rt_min": delta, "within": None if delta is None else abs(delta) <= window_min,
                          "height": f.peak.height if f.peak else None, "area": f.peak.area if f.peak else None})
        checks.append(check)
    return checks


#: Scan times agreeing to this many seconds (a converter writing minutes to 3 decimals moves them
#: 0.03 s), and every scan's total intensity to this fraction, make
#: two run files one injection: a re-converted, compressed or vendor-format copy keeps its scans,
#: while a separate injection's detector noise alone moves each scan's total by far more.
SAME_SCAN_SECONDS = 0.1
SAME_SCAN_TOTAL_RTOL = 1e-3


@dataclass(frozen=True)
class RunContent:
    """What a run file's scans hold, file bytes aside: every scan's retention time (NaN when
    unknown) and total intensity, MS1 scans then MS/MS scans. Two files of one injection (a
    re-converted, gzip-ed or vendor-format copy: other bytes, another SHA-256) have the same."""

    rt_seconds: np.ndarray
    totals: np.ndarray

    @classmethod
    def of(cls, run: Any, ms2: list) -> RunContent:
        """The content of a run as :func:`nps_id.gcms.run.load_run` reads it (``run`` None: MS/MS only)."""
        rts = [] if run is None else [np.asarray(run.rt_seconds, dtype=float)]
        totals = [] if run is None else [np.asarray(run.tic, dtype=float)]
        rts.append(np.array([np.nan if s.retention_time is None else s.retention_time for s in ms2], dtype=float))
        totals.append(np.array([float(np.sum(s.intensity, dtype=np.float64)) for s in ms2], dtype=float))
        return cls(np.concatenate(rts), np.concatenate(totals))

    def same_as(self, other: RunContent) -> bool:
        """The same scans: as many, at the same times (:data:`SAME_SCAN_SECONDS`), each with the same
        total intensity (:data:`SAME_SCAN_TOTAL_RTOL`)."""
        return (self.rt_seconds.size > 0 and self.rt_seconds.shape == other.rt_seconds.shape
                and np.allclose(self.rt_seconds, other.rt_seconds, rtol=0, atol=SAME_SCAN_SECONDS, equal_nan=True)
                and np.allclose(self.totals, other.totals, rtol=SAME_SCAN_TOTAL_RTOL, atol=0))


#: How a standard run was found to be the sample run itself (``same_run_by``), in words.
SAME_RUN_BASIS = {"sha256": "same SHA-256",
                  "scans": "another file of the same scans: every scan's time and total intensity alike"}


def same_run_reason(run: str, by: str = "sha256") -> str:
    """Why a standard whose file is the sample run itself (found ``by`` a key of
    :data:`SAME_RUN_BASIS`) confirms nothing, in words."""
    return (f"the reference standard run {run} is this run itself ({SAME_RUN_BASIS[by]}), not a separate "
            "injection: its findings are compared with themselves, and it is not used as confirmation")


def standard_of_no_library_kind(run: str, name: str, technique: str, library: str) -> InputError:
    """A reference standard run the library holds no spectra of its technique for (an LC-MS/MS
    standard given with an EI library): bad input, exit 3 -- the library suits the samples."""
    return InputError(f"--reference-standard {run} {name}: acquired by {technique}, and {library} holds no "
                      "spectra of that technique: a reference standard is a run of the samples' method")


def other_technique(given: str, its_technique: str, run: str, technique: str, what: str) -> InputError:
    """Bad input (exit 3): a run given as ``what`` (a blank, a reference standard) for the sample
    ``run`` was acquired by another technique: its retention times and ions are another method's."""
    return InputError(f"{given}: acquired by {its_technique}, {run} by {technique}: {what} is a run of the "
                      "samples' method")


def require_same_technique(standards: list[tuple[dict, set[int]]], technique: str, run: str) -> None:
    """Raise :func:`other_technique` when a reference standard run (a ``reference_standards`` entry)
    was acquired by another technique than the sample ``run``: never a comparison."""
    for entry, _ in standards:
        if entry["_technique"] != technique:
            raise other_technique(f"--reference-standard {entry['run']} {entry['name']}", entry["_technique"], run,
                                  technique, "a reference standard")


def same_run_by(entry: dict, run_sha256: str | None, content: RunContent | None) -> str | None:
    """Whether the ``reference_standards`` entry ``entry`` is the run of SHA-256 ``run_sha256`` and
    scans ``content`` itself: ``"sha256"`` (the same bytes), ``"scans"`` (the same scans in another
    file: its ``_content``), None (a separate injection)."""
    if run_sha256 is not None and entry.get("sha256") == run_sha256:
        return "sha256"
    theirs = entry.get("_content")
    return "scans" if content is not None and theirs is not None and content.same_as(theirs) else None


def reference_standard_fields(finding: Finding, library: Any, standards: list[tuple[dict, set[int]]],
                              window_min: float, run_sha256: str | None = None,
                              content: RunContent | None = None) -> dict | None:
    """The finding's RT (and RI) against the reference standard run of the same compound.

    ``standards`` pairs each ``reference_standards`` entry of the results (the standard's own
    RT and RI when found) with the compound codes of its substance. Returns None when no standard
    of this compound was run, when the standard run did not show it, or when a time is unknown
    (an LC scan without a retention time: nothing to compare).

    A standard that is the sample run itself (:func:`same_run_by`: SHA-256 ``run_sha256``, or scans
    ``content``) is used
    only when no separate injection of the compound was given, and then the fields say so:
    ``same_run: true`` and ``not_used`` (:func:`same_run_reason`); the caller confirms nothing with it.
    """
    code = int(library.compound[finding.library_row])
    ran = [entry for entry, codes in standards if entry["found"] and code in codes
           and entry["rt_min"] is not None and finding.rt_min is not None]
    if not ran:
        return None
    # a separate injection first: in `batch` the standard's own run is matched with the others
    separate = [entry for entry in ran if not same_run_by(entry, run_sha256, content)]
    standard = min(separate or ran, key=lambda s: abs(s["rt_min"] - finding.rt_min))
    by = None if separate else same_run_by(standard, run_sha256, content)
    delta_rt = round(finding.rt_min - standard["rt_min"], 4)
    both_ri = finding.ri is not None and standard.get("ri") is not None
    return {"run": standard["run"], "name": standard["name"], "rt_min": standard["rt_min"],
            "delta_rt_min": delta_rt, "ri": standard.get("ri"),
            "delta_ri": round(finding.ri - standard["ri"], 1) if both_ri else None,
            "window_min": window_min, "within": abs(delta_rt) <= window_min,
            **({} if separate else {"same_run": True, "same_run_by": by,
                                    "not_used": same_run_reason(standard["run"], by)})}


def standard_entry(standard: ReferenceStandard, results: dict, library: Any,
                   content: RunContent | None = None) -> tuple[dict, set[int]]:
    """What the reference standard run showed of its substance: the ``reference_standards`` entry
    of the results (run, SHA-256, the finding's RT, RI and verdict) and the substance's compound codes.
    ``content`` (the standard run's scans) is kept under ``_content``, never written: a sample run
    with the same scans is this run in another file (:func:`same_run_by`); its technique under
    ``_technique``, never written (:func:`require_same_technique`)."""
    codes = library_compounds(library, standard.name)
    mine = [f for f in results["findings"]
            if f["match_mode"] == MatchMode.IDENTITY and int(library.compound[f["library_row"]]) in codes]
    best = max(mine, key=lambda f: f["score"]) if mine else None
    entry = {"run": results["run"]["file"], "path": results["run"]["path"], "sha256": results["run"]["sha256"],
             "name": standard.name, "found": best is not None,
             "library_name": best["name"] if best else None, "verdict": best["verdict"] if best else None,
             "rt_min": best["rt_min"] if best else None, "ri": best.get("ri") if best else None,
             # the standard's spectrum: an LC finding's ion ratios are compared with it
             "spectrum": best["spectrum"] if best else None, "_technique": results["run"]["technique"]}
    if content is not None:
        entry["_content"] = content
    return entry, codes

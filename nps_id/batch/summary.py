"""The summary across a batch: which substance was found in which run.

Entry points: :func:`build_summary` (a finished :class:`~nps_id.batch.runner.BatchResult` ->
:class:`Summary`), :func:`write_summary` (``summary.csv``, ``summary.html``, ``summary.json``).

- Rows are substances (``identified`` and ``tentative`` findings, and every finding no library compound
  explains whatever its verdict, as ``match``'s report lists them; named as the reports name them: a
  suspected new substance by its group, one of no group as "unknown compound (not in the library; no
  NPS group indicated)", an analogue as "analogue of X"; an unknown also by its estimated mass,
  :func:`row_name`), columns are runs in sequence order; a cell holds the verdict, retention time (min)
  and match factor -- an unknown's verdict as "not identified (library search tentative)", and the
  closest library hit that match factor is of.
- Blanks (file names matching ``--blank-pattern``) are flagged.
- Internal standards (findings labelled ``role: "internal_standard"``) are marked as such.
- Carry-over hint: a substance found in a blank that was also found in the run acquired just
  before it (same folder). Internal standards, added to every vial on purpose, can be left out. A
  suspected new substance's (or unknown compound's) row names a group, not a substance: it is hinted
  only when one of the blank's unknowns of that row elutes within :data:`CARRY_OVER_RT_WINDOW` of one of the run's.
- Failed runs are listed with their reason; their column is empty.

Results are read back from each run's ``<name>.match.json`` (only runs the manifest records as done),
so the summary also covers runs skipped because an earlier batch finished them.
"""
from __future__ import annotations

import csv
import html
import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterable

from nps_id._atomic import atomic_output
from nps_id._finite import not_finite
from nps_id._paths import PRINTABLE
from nps_id._words import counted
from nps_id.batch.manifest import MANIFEST_NAME
from nps_id.batch.runner import RUNS_DIR, BatchResult, results_path
from nps_id.errors import InputError
from nps_id.match.parameters import MatchParameters
from nps_id.match.verdict import IDENTIFIED, TENTATIVE, Level
from nps_id.report.findings import NEW_SUBSTANCE, UNKNOWN_COMPOUND, finding_label, is_new_substance
from nps_id.report.present import group_band_short

REPORTED_VERDICTS = (IDENTIFIED, TENTATIVE)
#: Minutes within which a blank's suspected new substance and the previous run's one of the same row
#: may be one compound carried over: ``match``'s window for one compound against a reference standard
#: run of the same method. Without it, any two unknowns "of no group" (the card's 5.17 min one, a blank's
#: 9.18 min one) were hinted as carry-over once inconclusive unknowns became rows (stop 34, attack34).
CARRY_OVER_RT_WINDOW = MatchParameters.standard_rt_window_min


@dataclass
class RunRow:
    key: str
    input: str
    status: str
    error: str | None
    blank: bool
    paired_blank: str | None
    #: blanks were to be subtracted, but none was acquired before this run in its folder
    no_blank: bool = False


@dataclass
class Cell:
    verdict: str
    rt_min: float | None
    mf: float | None
    #: a finding no library compound explains: ``verdict`` is its library search's, not an identification
    new_substance: bool = False
    #: such a finding's closest library compound, whose match factor ``mf`` is (None: a library compound's row)
    closest: str | None = None
    #: such a finding's group, if the learned group model named it: its probability (0-1) and, short, how often
    #: a group of that band was right in the tests (stop 44; the reports' and ``match``'s figures)
    group_probability: float | None = None
    group_band: str | None = None

    def text(self) -> str:
        # "tentative, 7.53 min" beside "unknown compound" read as a tentative identification (stop 36)
        parts = [f"not identified (library search {self.verdict})" if self.new_substance else self.verdict]
        if self.rt_min is not None:
            parts.append(f"{self.rt_min:.2f} min")
        if self.closest is not None:  # an unknown's "MF 621" said not of what (stop 37)
            parts.append(f"closest library hit {self.closest}")
        if self.mf is not None:
            parts.append(f"MF {self.mf:.0f}")
        return ", ".join(parts)


@dataclass
class CarryOver:
    blank: str
    previous_run: str
    substance: str


@dataclass
class Summary:
    runs: list[RunRow]
    substances: list[str]
    cells: dict[str, dict[str, Cell]]  # substance -> run key -> best finding
    carry_over: list[CarryOver] = field(default_factory=list)
    internal_standards: list[str] = field(default_factory=list)  # substances labelled so in any run


@dataclass
class RunFindings:
    """What the summary takes from one run's findings, read in one pass (:func:`_read_run`)."""

    #: row name -> its best reported finding in the run
    best: dict[str, Cell] = field(default_factory=dict)
    #: row name of the findings no library compound explains -> the RT of each (carry-over hints)
    unknown_rts: dict[str, list[float]] = field(default_factory=dict)
    #: names the results label ``role: "internal_standard"``
    internal_standards: set[str] = field(default_factory=set)


def _read_results(path: Path) -> RunFindings:
    """:func:`_read_run` of the results file at ``path``; a file that is no results (edited, its manifest
    with it, so that the batch trusted it) is one :class:`~nps_id.errors.InputError` line, not a traceback."""
    try:
        return _read_run(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InputError(f"{path}: not a usable results file ({exc}); the summary is not written -- "
                         "remove the file to have its run redone") from None


def _read_run(results: dict) -> RunFindings:
    """One run's findings for the summary, in one pass over them (stop 35: the best cells, then the
    unknowns' RTs, then the internal standards were three).

    ``best``: row name -> the best reported finding (identified beats tentative beats inconclusive,
    then the higher MF). A finding no library compound explains is a row whatever its verdict or
    group, as the report lists it: an ``inconclusive`` unknown of no group is an early warning to
    examine (it was left out until stop 34)."""
    run = RunFindings()
    for finding in results.get("findings", []):
        if not isinstance(finding.get("verdict"), str) or not isinstance(finding.get("name") or "", str):
            raise ValueError(f"a finding's verdict or name is no text: {finding.get('verdict')!r}, "
                             f"{finding.get('name')!r}")
        if finding.get("role") == "internal_standard":
            run.internal_standards.add(finding["name"])
        new = is_new_substance(finding)
        if not (finding.get("verdict") in REPORTED_VERDICTS or new):
            continue
        # as the reports name it: a suspected new substance or an analogue is no row of a library compound;
        # unknowns by their estimated mass too -- the group (or no group) alone merged every one of every run
        name = row_name(finding)
        rt_min = _finite(finding.get("rt_min"))
        if new and rt_min is not None:
            run.unknown_rts.setdefault(name, []).append(rt_min)
        if not finding.get("name"):
            continue
        probability = _probability(finding) if new else None
        band = None if probability is None else group_band_short(probability, "precursor_mz" in finding)
        cell = Cell(finding["verdict"], rt_min, _finite(finding.get("mf")), new, finding["name"] if new else None,
                    probability, band)
        old = run.best.get(name)
        if old is None or _rank(cell) > _rank(old):
            run.best[name] = cell
    return run


def _probability(finding: dict) -> float | None:
    """The finding's group-model probability when it is one (a number 0-1); None for none -- and for what the
    results schema refuses (a string, NaN, 2.0: a results file edited or damaged and its manifest with it), which
    stopped the summary or wrote NaN into summary.json, where the reports refuse the file (exit 3)."""
    value = _finite(finding.get("suspected_group_probability"))
    return value if value is not None and 0 <= value <= 1 else None


def _finite(value: object) -> float | None:
    """A finding's number (RT, MF) if it is a finite one, else None: a results file edited, its manifest with it,
    put NaN into summary.json, a file JSON readers refuse (stop 45)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def row_name(finding: dict) -> str:
    """A finding's summary row: its report label (:func:`~nps_id.report.findings.finding_label`), and
    for one no library compound explains its estimated nominal mass ("unknown compound (...), estimated
    mass 409"): unknowns of one group but another mass are other compounds, and one of the same mass
    in two runs is the one a chemist compares across them."""
    name = finding_label(finding)
    mass = finding.get("estimated_mass")
    return f"{name}, estimated mass {mass}" if is_new_substance(finding) and mass is not None else name


def _rank(cell: Cell) -> tuple[int, float]:
    return -list(Level).index(Level(cell.verdict)), cell.mf or 0.0


def build_summary(result: BatchResult, internal_standards: Iterable[str] = ()) -> Summary:
    """Collect every finished run's findings into a :class:`Summary`.

    Parameters
    ----------
    result
        The batch that just ran (its manifest covers earlier, skipped runs too).
    internal_standards
        Substance names (case-insensitive) never reported as carry-over; nor is any finding the
        results label ``role: "internal_standard"`` (``--internal-standard``, resolved in the library).
    """
    out_dir = result.manifest.out_dir
    ignore = {name.lower() for name in internal_standards}
    rows: list[RunRow] = []
    found: dict[str, dict[str, Cell]] = {}
    unknowns: dict[tuple[str, str], list[float]] = {}  # (new-substance row, run) -> every RT of its unknowns
    labelled: set[str] = set()
    for run in result.runs:
        entry = result.manifest.entries.get(run.key)
        status = entry.status if entry else "not run"
        blank, paired = run.key in result.blank_keys, result.blanks.get(run.key)
        rows.append(RunRow(run.key, str(run.path), status, entry.error if entry else None, blank, paired,
                           result.subtracts_blanks and not blank and paired is None))
        if status != "done":
            continue
        read = _read_results(results_path(out_dir, run.key))
        labelled |= read.internal_standards
        for name, cell in read.best.items():
            found.setdefault(name, {})[run.key] = cell
        for name, rts in read.unknown_rts.items():
            unknowns[(name, run.key)] = rts
    substances = sorted(found, key=lambda n: (-len(found[n]), n.lower()))
    ignore |= {name.lower() for name in labelled}
    return Summary(rows, substances, found, _carry_over(rows, found, ignore, unknowns), sorted(labelled))


def _carry_over(rows: list[RunRow], found: dict[str, dict[str, Cell]], ignore: set[str],
                unknowns: dict[tuple[str, str], list[float]]) -> list[CarryOver]:
    hints = []
    previous: dict[str, str] = {}  # folder -> key of the run acquired before
    for row in rows:
        folder = str(PurePosixPath(row.key).parent)
        before = previous.get(folder)
        previous[folder] = row.key
        if not row.blank or before is None:
            continue
        for name, cells in found.items():
            if row.key not in cells or before not in cells or name.lower() in ignore:
                continue
            if name.startswith((NEW_SUBSTANCE, UNKNOWN_COMPOUND)) and not any(
                    abs(a - b) <= CARRY_OVER_RT_WINDOW
                    for a in unknowns.get((name, row.key), ()) for b in unknowns.get((name, before), ())):
                continue  # two unknowns of one row, apart: not shown to be one compound
            hints.append(CarryOver(row.key, before, name))
    return hints


#: The summary's files in OUT_DIR, in the order :func:`write_summary` returns them.
SUMMARY_NAMES = ("summary.csv", "summary.html", "summary.json")


def batch_outputs(out_dir: str | Path) -> list[Path]:
    """What a batch writes in ``out_dir``: its runs' folder, manifest and summary -- never inputs of a batch."""
    out_dir = Path(out_dir)
    return [out_dir / RUNS_DIR, out_dir / MANIFEST_NAME, *(out_dir / name for name in SUMMARY_NAMES)]


def write_summary(summary: Summary, out_dir: str | Path) -> list[Path]:
    """Write ``summary.csv``, ``summary.html`` and ``summary.json`` into ``out_dir`` (atomically).

    The CSV has one row per substance and one column per run (cell: verdict, RT, MF), then one
    row ``status`` giving each run's status (``done``/``failed``) and whether it is a blank, or a
    run that got no blank subtracted although ``--blank-pattern`` asked for it (``done (no blank)``).
    Its last column, ``internal_standard``, is ``yes`` for a substance labelled an internal standard
    in any run (as the reports and ``summary.html`` label it), ``no`` for the others, empty on ``status``.
    After it (stop 44), ``group_probability``: on a suspected new substance's row the highest probability
    (0-1, 3 decimals) the learned group model gave its group in the row's cells (each run's best finding),
    empty where no model named it. After it (stop 45), ``summary_id``, on the ``status`` row only.

    The three files carry one :func:`_new_summary_id` (``summary.json``'s ``summary_id``, ``summary.html``'s
    ``<meta name="nps-id-summary-id">``): all three are written to temporaries first and renamed only when
    all are written, but three renames are not one, and a batch killed between them leaves files of two
    batches side by side -- told apart by their ids (stop 45; before, nothing told).
    """
    out_dir = Path(out_dir)
    paths = [out_dir / name for name in SUMMARY_NAMES]
    summary_id = _new_summary_id()
    json_text = _json_text(summary, summary_id)  # before any temporary: a refused summary writes nothing
    # nested, so that each is renamed only once all three are written, and a full disk is said of the file it stopped
    with atomic_output(paths[0]) as csv_tmp:
        _write_csv(summary, csv_tmp, summary_id)
        with atomic_output(paths[1]) as html_tmp:
            html_tmp.write_text(_html(summary, summary_id), encoding="utf-8", errors=PRINTABLE)
            with atomic_output(paths[2]) as json_tmp:
                json_tmp.write_text(json_text, encoding="utf-8")
    return paths


def _json_text(summary: Summary, summary_id: str) -> str:
    """summary.json's text; a NaN or infinity (JSON has none) from a results file or manifest edited is one
    :class:`~nps_id.errors.InputError` line naming where, not json's ValueError traceback (stop 45 attack45)."""
    data = _json(summary, summary_id)
    fault = not_finite(data)
    if fault:
        raise InputError(f"summary.json: {fault} (a results file or the manifest edited?); the summary is not written")
    return json.dumps(data, indent=1, allow_nan=False) + "\n"


def _json(summary: Summary, summary_id: str) -> dict:
    return {
        "runs": [asdict(row) for row in summary.runs],
        "substances": summary.substances,
        "cells": {n: {k: asdict(c) for k, c in runs.items()} for n, runs in summary.cells.items()},
        "carry_over": [asdict(h) for h in summary.carry_over],
        "internal_standards": summary.internal_standards,
        "summary_id": summary_id,
    }


def _new_summary_id() -> str:
    """One batch summary's identifier, the same in its three files: the UTC time it was written and 8 random hex
    digits (two batches in one second still differ)."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{os.urandom(4).hex()}"


def _write_csv(summary: Summary, path: Path, summary_id: str) -> None:
    # A run key from a file name that is not UTF-8 is written as bad\xff (PRINTABLE); summary.json
    # keeps the exact name (JSON escapes it).
    with open(path, "w", newline="", encoding="utf-8", errors=PRINTABLE) as fh:
        writer = csv.writer(fh)
        # internal_standard is last (stop 33): the columns before it are a contract
        # ... and group_probability after it (stop 44), and summary_id after that (stop 45)
        writer.writerow(["substance"] + [row.key for row in summary.runs]
                        + ["internal_standard", "group_probability", "summary_id"])
        for name in summary.substances:
            writer.writerow([name] + [_cell_text(summary, name, row.key) for row in summary.runs]
                            + ["yes" if name in summary.internal_standards else "no", _highest_probability(summary, name),
                               ""])
        writer.writerow(["status"] + [row.status + _status_note(row) for row in summary.runs] + ["", "", summary_id])


def _status_note(row: RunRow) -> str:
    """What the status cell adds: a blank, or a run left without the blank subtraction asked for."""
    return " (blank)" if row.blank else " (no blank)" if row.no_blank else ""


def _highest_probability(summary: Summary, name: str) -> str:
    """A row's highest group-model probability over the runs, 3 decimals as the results hold it; "" for none."""
    named = [c.group_probability for c in summary.cells[name].values() if c.group_probability is not None]
    return f"{max(named):.3f}" if named else ""


def _cell_text(summary: Summary, name: str, key: str) -> str:
    cell = summary.cells[name].get(key)
    return cell.text() if cell else ""


def _html_cell_text(cell: Cell) -> str:
    """The CSV's cell, and a model-named group's probability with how often its band was right (stop 44)."""
    if cell.group_probability is None:
        return cell.text()
    return f"{cell.text()}, group model's probability {cell.group_probability:.3f} ({cell.group_band})"


#: Under the table when a cell gives a group model's probability: the cell's "(at 0.9-1 right 724 of 763 in
#: the EI tests)" alone did not say what was tested, nor that the probability is no rate (a new user, stop 44).
GROUP_PROBABILITY_NOTE = (
    "A suspected new substance's group model's probability is the learned model's confidence in the group, not a "
    "measured rate; beside it, how often a group the model gave a probability in that band was right in the tests "
    "on the development data (GC-EI-MS: SWGDRUG compounds left out of the library; LC-MS/MS: too few groups to "
    "rate by band), docs/match.md, \"New substances\". A lead to check, not an identification.")


def _group_note(summary: Summary) -> str:
    """The note on group probabilities, where a cell shows one."""
    shown = any(c.group_probability is not None for cells in summary.cells.values() for c in cells.values())
    return f"<p>{html.escape(GROUP_PROBABILITY_NOTE)}</p>" if shown else ""


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:.9em;margin-bottom:1.5em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th.blank,td.blank{background:#eef3fb}
td.identified{background:#d9f2d9}td.tentative{background:#fff3cd}
td.failed{color:#a00}.hint{color:#a05a00}
"""


def _html(summary: Summary, summary_id: str) -> str:
    esc = html.escape
    head = "".join(
        f'<th class="{"blank" if r.blank else ""}">{esc(r.key)}{"<br>(blank)" if r.blank else ""}</th>'
        for r in summary.runs
    )
    body = []
    for name in summary.substances:
        cells = []
        for row in summary.runs:
            cell = summary.cells[name].get(row.key)
            cls = (cell.verdict if cell else "") + (" blank" if row.blank else "")
            cells.append(f'<td class="{cls.strip()}">{esc(_html_cell_text(cell)) if cell else ""}</td>')
        label = f"{name} (internal standard)" if name in summary.internal_standards else name
        body.append(f"<tr><th>{esc(label)}</th>{''.join(cells)}</tr>")
    runs = "".join(
        f'<tr><td>{esc(r.key)}</td><td class="{"failed" if r.status == "failed" else ""}">{esc(r.status)}</td>'
        f'<td>{"yes" if r.blank else ""}</td><td>{esc(r.paired_blank or ("none: nothing subtracted" if r.no_blank else ""))}</td>'
        f"<td>{esc(r.error or '')}</td></tr>"
        for r in summary.runs
    )
    hints = "".join(
        f'<li class="hint">{esc(h.substance)} in blank {esc(h.blank)} was also in the run before it '
        f"({esc(h.previous_run)}): possible carry-over</li>"
        for h in summary.carry_over
    ) or "<li>none</li>"
    n_failed = sum(r.status == "failed" for r in summary.runs)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>nps-id batch summary</title>"
        f'<meta name="nps-id-summary-id" content="{esc(summary_id)}">'
        f"<style>{_CSS}</style></head><body><h1>nps-id batch summary</h1>"
        f"<p>{counted(len(summary.runs), 'run')}, {n_failed} failed; "
        "substances identified or tentative, and those not in the library (suspected new substances, unknown "
        "compounds) whatever their verdict.</p>"
        f"<table><tr><th>substance</th>{head}</tr>{''.join(body)}</table>{_group_note(summary)}"
        f"<h2>Carry-over hints</h2><ul>{hints}</ul>"
        "<h2>Runs</h2><table><tr><th>run</th><th>status</th><th>blank</th><th>paired blank</th>"
        f"<th>error</th></tr>{runs}</table>"
        f"<p>Summary {esc(summary_id)}: summary.csv and summary.json of this batch carry the same; another there "
        "means the batch was stopped while writing them (run it again).</p></body></html>\n"
    )

"""MS/MS identity scores: which one tells a right top hit from a wrong one, and why right ones score low.

Issue 18 (stop 37): MassBank MS/MS present coverage is 0.264 at precision 0.994 (bench_novelty.py);
of the 993 queries whose top hit is right, 226 score below the tentative floor (cosine x 999 < 700).
Per query of bench_novelty.py's three MS/MS tasks -- ``present`` (the compound is in the library,
from other laboratories), ``lco`` (left out: every top hit is wrong), ``absent`` (the analogue
queries) -- the top hit as that bench ranks it (the search's cosine; the compound's records taken
out for ``lco``), and candidate identity scores of the (query, top record) pair, all 0-999:

- ``cosine``: today's (0.2 Da, intensity^0.5, precursor window and 1 % noise removed);
- ``cosine_raw``: intensities to the power 1; ``cosine_002``: 0.02 Da; ``cosine_precursor``: the
  precursor peak and the noise kept (the peaks as recorded);
- ``entropy``: spectral entropy similarity (Li et al. 2021; ms_entropy's settings, 0.02 Da);
  ``entropy_02``: at 0.2 Da; ``entropy_unweighted``;
- ``entropy_best``: the best entropy similarity over the records of the top hit's compound that
  the search scored (its other collision energies and laboratories);
- ``mean``: the mean of ``cosine`` and ``entropy``.

Printed: (1) per score, the right top hits of ``present`` (and its wrong ones, and ``absent``'s)
that pass at the threshold at which as many ``lco`` top hits pass as at today's cosine thresholds
(the same number of left-out wrong top hits: a ROC-like table); (2) why right top hits score low:
the cosine of right top hits by instrument pair, collision-energy difference, precursor share and
records of the compound; whether the compound's record at the query's collision energy is the one
chosen. Scores only: the verdicts' other criteria (gap, isomers) are bench_novelty.py's.

    PYTHONPATH=. python benchmarks/bench_ms2_scores.py --massbank-ms2 mbms2.h5 --cache CACHE [--details OUT.tsv]

``--cache``: bench_novelty.py's cache folder (its MS/MS hits; searched and written there when absent).
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

import bench_novelty as novelty  # benchmarks share helpers
from nps_id.io import read
from nps_id.match.library_facts import LibraryFacts
from nps_id.search.scores.base import to_999
from nps_id.search.scores.cosine import Cosine
from nps_id.search.scores.entropy import EntropySimilarity

SCORES: dict[str, Callable] = {
    "cosine": Cosine().pair,
    "cosine_raw": Cosine(intensity_power=1.0).pair,
    "cosine_002": Cosine(tolerance="0.02 Da").pair,
    "cosine_precursor": Cosine(clean=False).pair,
    "entropy": EntropySimilarity().pair,
    "entropy_02": EntropySimilarity(tolerance="0.2 Da").pair,
    "entropy_unweighted": EntropySimilarity(weighted=False).pair,
}
#: Left-out top hits passing: today's cosine at 950 / 900 / 850 / 800 (identified_score) / 700.
LEFT_OUT_COSINES = (950, 900, 850, 800, 700)
#: Precursor window of the search's MS/MS cleaning (Da): its peaks are the "precursor share".
PRECURSOR_WINDOW_DA = 1.6


@dataclass
class Row:
    task: str
    query: str
    right: bool
    scores: dict[str, int]
    query_instrument: str
    hit_instrument: str
    energy_gap: float | None  # |collision energy difference| in one unit, None: not comparable
    precursor_share: float
    records: int  # records of the top hit's compound the search scored
    closest_energy_is_top: bool | None  # the compound's record nearest the query's energy is the top hit


def instrument_class(text: str) -> str:
    """QQ (triple quadrupole, unit resolution), FT (Orbitrap / FT-ICR), TOF, IT (ion trap), or '?'."""
    for key, label in (("QQ", "QQ"), ("FT", "FT"), ("TOF", "TOF"), ("IT", "IT")):
        if key in text.upper():
            return label
    return "?"


def energy(text: str) -> tuple[str, float] | None:
    """A record's collision energy as (unit, value): ``nce`` for normalised (%, NCE, nominal),
    ``ev`` for eV / V; None when it names none or a ramp."""
    found = re.search(r"(\d+(?:\.\d+)?)", text or "")
    if found is None or "ramp" in text.lower() or "," in text:
        return None
    unit = "nce" if re.search(r"%|nce|nominal", text, re.I) else "ev"
    return unit, float(found.group(1))


def energy_gap(a: str, b: str) -> float | None:
    ea, eb = energy(a), energy(b)
    return abs(ea[1] - eb[1]) if ea and eb and ea[0] == eb[0] else None


def precursor_share(spectrum) -> float:
    """Share of the spectrum's intensity within the precursor window (what the cosine drops)."""
    total = float(spectrum.intensity.sum())
    near = spectrum.mz >= float(spectrum.precursor_mz) - PRECURSOR_WINDOW_DA
    return float(spectrum.intensity[near].sum()) / total if total > 0 else 0.0


def task_rows(name: str, queries, reference, library, facts, leave_out: bool) -> list[Row]:
    lib_blocks, owns = novelty.owned_blocks(queries, reference, facts)
    every = novelty.searched(name, queries, reference)
    hits = novelty.task_hits(every, reference, lib_blocks, owns, leave_out)
    starts = np.searchsorted(hits.query, np.arange(len(queries) + 1))
    all_starts = np.searchsorted(every.query, np.arange(len(queries) + 1))
    codes = reference.compound()
    entropy = SCORES["entropy"]
    rows = []
    for q, query in enumerate(queries):
        if starts[q] == starts[q + 1]:
            continue
        top = int(hits.row[starts[q]])
        record = library[top]
        own = np.flatnonzero(np.isin(lib_blocks, list(owns[q])))
        right = int(codes[top]) in novelty.same_compound(query, own, reference)
        scores = {key: to_999(score(query, record).score) or 0 for key, score in SCORES.items()}
        # the top compound's records the search scored (the left-out compound's are not among them)
        scored = every.row[all_starts[q]:all_starts[q + 1]]
        mine = [int(r) for r in scored if codes[r] == codes[top]]
        scores["entropy_best"] = max(to_999(entropy(query, library[r]).score) or 0 for r in mine)
        scores["mean"] = (scores["cosine"] + scores["entropy"]) // 2
        gaps = {r: energy_gap(query.get("collision_energy"), library[r].get("collision_energy")) for r in mine}
        comparable = {r: g for r, g in gaps.items() if g is not None}
        closest = min(comparable.values()) if comparable else None
        rows.append(Row(name, str(query.get("name")), right, scores, instrument_class(query.get("instrument_type") or ""),
                        instrument_class(record.get("instrument_type") or ""), gaps[top], precursor_share(query),
                        len(mine), None if closest is None or gaps[top] is None else gaps[top] == closest))
    return rows


def passing(rows: list[Row], key: str, threshold: int) -> int:
    return sum(r.scores[key] >= threshold for r in rows)


def roc_table(rows: list[Row]) -> list[str]:
    """Per score and per number of left-out top hits passing: the threshold and what passes then."""
    present = [r for r in rows if r.task.endswith("present")]
    right = [r for r in present if r.right]
    wrong = [r for r in present if not r.right]
    lco = [r for r in rows if r.task.endswith("lco")]
    absent = [r for r in rows if r.task.endswith("absent")]
    counts = [passing(lco, "cosine", c) for c in LEFT_OUT_COSINES]
    lines = ["| score | " + " | ".join(f"{n} left out pass (cosine {c})" for n, c in zip(counts, LEFT_OUT_COSINES)) + " |",
             "|---|" + "---|" * len(counts)]
    for key in [*SCORES, "entropy_best", "mean"]:
        ranked = sorted((r.scores[key] for r in lco), reverse=True)
        cells = []
        for n in counts:
            t = ranked[n - 1]
            cells.append(f">= {t}: {passing(right, key, t)} right / {passing(wrong, key, t)} wrong; "
                         f"absent {passing(absent, key, t)}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return lines


def bin_of(value: float, bounds: tuple[float, ...], label: Callable[[float], str]) -> tuple[int, str]:
    """(order, "<= bound") of the first bound ``value`` is at or under; the last bound reads "more"."""
    i = next(i for i, b in enumerate(bounds) if value <= b + 1e-12)
    return i, "more" if i == len(bounds) - 1 else f"<= {label(bounds[i])}"


def cause_tables(rows: list[Row]) -> list[str]:
    """The cosine of right top hits (present task) by each candidate cause."""
    right = [r for r in rows if r.task.endswith("present") and r.right]

    def table(title: str, key: Callable[[Row], tuple | None]) -> list[str]:
        groups: dict[tuple, list[int]] = {}
        for r in right:
            k = key(r)
            if k is not None:
                groups.setdefault(k, []).append(r.scores["cosine"])
        out = [f"| {title} | right top hits | cosine < 700 | >= 800 | median |", "|---|---:|---:|---:|---:|"]
        for k, values in sorted(groups.items()):
            v = np.array(values)
            out.append(f"| {k[-1]} | {v.size} | {np.mean(v < 700):.0%} | {np.mean(v >= 800):.0%} | {np.median(v):.0f} |")
        return out + [""]

    return (table("query / hit instrument", lambda r: (f"{r.query_instrument} / {r.hit_instrument}",))
            + table("collision energy difference (one unit)", lambda r: None if r.energy_gap is None else
                    bin_of(r.energy_gap, (0, 5, 10, 20, np.inf), "{:g}".format))
            + table("records of the compound scored", lambda r: bin_of(r.records, (1, 2, 4, 9, np.inf), "{:g}".format))
            + table("precursor share of the query's intensity", lambda r: bin_of(r.precursor_share, (0.1, 0.5, 0.9, 1.0),
                                                                                 "{:.0%}".format))
            + table("the top hit is the compound's record nearest the query's energy",
                    lambda r: None if r.closest_energy_is_top is None else (str(r.closest_energy_is_top),)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--massbank-ms2", type=Path, required=True, help="MassBank MS/MS nps-id library")
    parser.add_argument("--cache", type=Path, required=True, help="bench_novelty.py's --cache folder")
    parser.add_argument("--details", type=Path, default=None, help="write one TSV row per query and task")
    args = parser.parse_args()
    novelty.CACHE = args.cache
    reference, library = novelty.load(args.massbank_ms2)
    facts = LibraryFacts(reference)
    identity = list(read(novelty.DATA / "massbank" / "ms2-queries-identity.msp.gz"))
    absent = list(read(novelty.DATA / "massbank" / "ms2-queries-analog.msp.gz"))
    rows = (task_rows("massbank-ms2-present", identity, reference, library, facts, False)
            + task_rows("massbank-ms2-lco", identity, reference, library, facts, True)
            + task_rows("massbank-ms2-absent", absent, reference, library, facts, True))
    print("\n".join(roc_table(rows) + [""] + cause_tables(rows)))
    if args.details:
        keys = list(rows[0].scores)
        header = ["task", "query", "right", *keys, "query_instrument", "hit_instrument", "energy_gap",
                  "precursor_share", "records", "closest_energy_is_top"]
        lines = ["\t".join(header)] + ["\t".join(map(str, [r.task, r.query, r.right, *(r.scores[k] for k in keys),
                                                          r.query_instrument, r.hit_instrument, r.energy_gap,
                                                          round(r.precursor_share, 3), r.records,
                                                          r.closest_energy_is_top])) for r in rows]
        args.details.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

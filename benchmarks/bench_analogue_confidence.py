"""Analogue confidence: are the answers nps-id is most confident about structurally close?

For the MassBank analogue queries (``ei-queries-analog``, 150; ``ms2-queries-analog``, 200:
compounds no library holds), ``nps-id search --mode analog --top 1 --format jsonl`` runs as a user
runs it (a fresh process), and the queries are ordered by

- ``analogue_confidence`` (nps-id's, :mod:`nps_id.search.analogue_confidence`),
- the top hit's modified cosine alone (``similarity``, a plain cosine ordering),
- the top hit's analogue score (``score``, the mass prior),
- Flash entropy hybrid search's top-1 score (ms_entropy, its own top hit; ``--no-flash`` skips it).

Printed per ordering: mean top-1 Tanimoto (RDKit Morgan, radius 2, 2,048 bits; a hit without a
structure counts 0, a query without one is skipped, as ``bench_search.py``) of the 10 / 20 / 35 /
50 / 100 % most confident queries; then, for the "close analogue" rule of ``nps-id match``
(similarity >= 850, confidence >= a threshold, and the mass difference at most the rule's share of
the heavier molecule), how many queries pass per threshold and how close their hits are (mean
Tanimoto, share >= 0.6); ``--no-mass-bound`` leaves the mass bound out (the rule before it).

    PYTHONPATH=. python benchmarks/bench_analogue_confidence.py --ei-library mbei.h5 \\
        --ms2-library mbms2.h5
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import DATA, _flash_peaks, _flash_precursor  # noqa: E402  (benchmarks share helpers)
from train_analogue_confidence import FRACTIONS, at_fractions  # noqa: E402
from train_analogue_confidence import RULE_THRESHOLDS as THRESHOLDS  # noqa: E402

from nps_id.io import read  # noqa: E402
from nps_id.match.verdict import VerdictThresholds, analogue_mass_share  # noqa: E402
from nps_id.search.analogue_confidence import fingerprint, query_mass, tanimoto  # noqa: E402


def nps_rows(queries: Path, library: Path) -> dict[int, dict]:
    """Rank-1 rows of ``nps-id search --mode analog --top 1`` by query position."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hits.jsonl"
        subprocess.run([sys.executable, "-m", "nps_id", "search", str(queries), "-l", str(library), "--mode", "analog",
                        "--top", "1", "--format", "jsonl", "-o", str(out)], check=True)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {r["query"]: r for r in rows if r["rank"] == 1}


def flash_top1(library_msp: Path, queries: list, ei: bool) -> list[tuple[float, str]]:
    """(score, SMILES) of Flash hybrid search's top hit per query ((0, '') without one)."""
    from ms_entropy import FlashEntropySearch

    library = list(read(library_msp))
    entries = []
    for s in library:
        peaks = _flash_peaks(s, ei)
        if len(peaks):
            entries.append({"precursor_mz": _flash_precursor(s, peaks, ei), "peaks": peaks,
                            "smiles": str(s.get("smiles") or "")})
    engine = FlashEntropySearch(max_ms2_tolerance_in_da=0.05 if ei else 0.024)
    entries = engine.build_index(entries)
    out = []
    for q in queries:
        peaks = _flash_peaks(q, ei)
        if len(peaks) == 0:
            out.append((0.0, ""))
            continue
        prec = _flash_precursor(q, peaks, ei)
        scores = engine.hybrid_search(prec, engine.clean_spectrum_for_search(prec, peaks),
                                      ms2_tolerance_in_da=0.05 if ei else 0.02)
        best = int(np.argmax(scores))
        out.append((float(scores[best]), entries[best]["smiles"]) if scores[best] > 0 else (0.0, ""))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ei-library", type=Path, required=True, help="MassBank EI nps-id library")
    parser.add_argument("--ms2-library", type=Path, required=True, help="MassBank MS/MS nps-id library")
    parser.add_argument("--no-flash", action="store_true", help="skip the Flash hybrid ordering")
    parser.add_argument("--no-mass-bound", action="store_true", help="close-analogue rule without its mass bound")
    args = parser.parse_args()
    t = VerdictThresholds()
    ranking, rule = [], []
    for kind, library in (("ei", args.ei_library), ("ms2", args.ms2_library)):
        path = DATA / "massbank" / f"{kind}-queries-analog.msp.gz"
        queries = list(read(path))
        rows = nps_rows(path, library)
        flash = None if args.no_flash else flash_top1(DATA / "massbank" / f"{kind}-library.msp.gz", queries, kind == "ei")
        cols: dict[str, list] = {"y": [], "conf": [], "sim": [], "score": [], "flash": [], "flash_y": [], "bounded": []}
        for q, query in enumerate(queries):
            own = fingerprint(str(query.get("smiles") or ""))
            if own is None:
                continue
            row = rows.get(q)
            hit = fingerprint(row["smiles"] or "") if row else None
            cols["y"].append(tanimoto(own, hit) if hit is not None else 0.0)
            for key, field in (("conf", "analogue_confidence"), ("sim", "similarity"), ("score", "score")):
                cols[key].append(row[field] if row and row[field] is not None else -1.0)
            share = analogue_mass_share(row["delta_mass"], query_mass(query)) if row else None
            cols["bounded"].append(args.no_mass_bound or share is None or share <= t.analogue_mass_share + 1e-9)
            if flash is not None:
                other = fingerprint(flash[q][1])
                cols["flash"].append(flash[q][0])
                cols["flash_y"].append(tanimoto(own, other) if other is not None else 0.0)
        c = {k: np.array(v) for k, v in cols.items()}
        name = f"{kind.upper() if kind == 'ei' else 'MS/MS'} analogue queries"
        for label, key, y in (("nps-id analogue_confidence", "conf", "y"), ("modified cosine (similarity)", "sim", "y"),
                              ("analogue score", "score", "y"), ("Flash hybrid score", "flash", "flash_y")):
            if c[key].size:
                ranking.append((name, label, c[y].size, at_fractions(c[key], c[y])))
        similar = (c["sim"] * 999 >= t.analogue_score - 0.5) & c["bounded"]  # the 0-999 rounding of the verdict
        for threshold in THRESHOLDS:
            passing = similar & (c["conf"] >= threshold)
            n = int(passing.sum())
            rule.append((name, threshold, n, float(c["y"][passing].mean()) if n else float("nan"),
                         float((c["y"][passing] >= 0.6).mean()) if n else float("nan")))
    print("| queries | ordering | n | " + " | ".join(f"top {int(f * 100)} %" for f in FRACTIONS) + " |")
    print("|---|---|---:|" + "---:|" * len(FRACTIONS))
    for name, label, n, values in ranking:
        print(f"| {name} | {label} | {n} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    bound = "" if args.no_mass_bound else f", |mass difference| <= {t.analogue_mass_share:.0%} of the heavier molecule"
    print(f"\nclose analogue rule: similarity >= {t.analogue_score} and analogue_confidence >= threshold{bound}")
    print("| queries | threshold | passing | mean Tanimoto | Tanimoto >= 0.6 |\n|---|---:|---:|---:|---:|")
    for name, threshold, n, mean, share in rule:
        print(f"| {name} | {threshold:g} | {n} | {mean:.3f} | {share:.2f} |")


if __name__ == "__main__":
    main()

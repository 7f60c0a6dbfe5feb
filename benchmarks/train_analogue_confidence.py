"""Train the analogue-confidence model (nps_id/search/analogue_confidence.json) and measure it.

Training data (development libraries only), every query searched in analogue mode once (top
``TOP``) and its own compound's rows (InChIKey first block) dropped from its hits, as
``bench_novelty.py`` does -- the hits a library without the compound would give:

- ``swgdrug``: every SWGDRUG record with a verified structure against SWGDRUG (EI);
- ``massbank-ei``: the MassBank EI identity queries against the MassBank EI library;
- ``massbank-ms2``: the MassBank MS/MS identity queries against the MassBank MS/MS library.

Label: RDKit Morgan Tanimoto (radius 2, 2,048 bits) between the query's structure and its top
hit's (0 when the hit has no structure). Model per spectrum kind (EI: swgdrug + massbank-ei;
MS/MS: massbank-ms2): logistic regression on standardised features
(:data:`nps_id.search.analogue_confidence.FEATURES`) with the Tanimoto as a soft label (each
query counted as label 1 with weight T and label 0 with weight 1 - T), so the output estimates
the expected Tanimoto. Measured by grouped 5-fold cross-validation (groups = compounds) on the
training sets, then the final model (all training queries) on the held-apart analogue query
files ``ei-queries-analog`` (150) and ``ms2-queries-analog`` (200), whose compounds no library
holds. Per set: mean top-1 Tanimoto of the 10/20/35/50/100 % most confident queries, ordered by
the confidence, by the top hit's modified cosine alone and by its analogue score, and with the
hits re-ranked by structure consensus (measured, not shipped); then the close-analogue rule per
confidence threshold.

    PYTHONPATH=. python benchmarks/train_analogue_confidence.py --swgdrug swg.h5 \\
        --massbank-ei mbei.h5 --massbank-ms2 mbms2.h5 [--write] [--cache DIR]

``--write`` writes the model JSON; ``--cache DIR`` keeps the searched features (npz) so a second
run only refits. Fixed seeds: the folds are deterministic (GroupKFold) and the solver is lbfgs.
sklearn is a training dependency only (``pip install .[train]``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nps_id._atomic import atomic_output
from nps_id.commands.options import refuse_output_onto_inputs
from nps_id.errors import InputError
from nps_id.io import read
from nps_id.library import Library
from nps_id.match.verdict import VerdictThresholds
from nps_id.search.analogue_confidence import (
    CONSENSUS_K, FEATURES, MODEL_PATH, SEARCH_TOP, ConfidenceModel, HitStructures, distinct_compounds,
    fingerprint, query_features, tanimoto,
)
from nps_id.search.engine import SearchSettings, search
from nps_id.search.reference import Reference

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: Hits searched per query: enough that SEARCH_TOP remain after the own compound's are dropped.
TOP = 120
FRACTIONS = (0.10, 0.20, 0.35, 0.50, 1.00)
#: Confidence thresholds tried for the close-analogue rule.
RULE_THRESHOLDS = (0.0, 0.3, 0.4, 0.45, 0.5, 0.6)
#: Weight of the structure consensus in the re-ranking that is measured (not shipped).
RERANK_LAMBDA = 0.3
#: L2 regularisation (sklearn ``C``) of the logistic model.
C = 1.0


def block(key: str) -> str:
    return str(key or "")[:14].upper()


def searched(queries: list, reference: Reference, leave_out: bool) -> dict[str, np.ndarray]:
    """Features, label (top-1 Tanimoto), group and the top-k hits' Tanimoto to the query, for
    every query with a structure and a hit left."""
    hits = search(queries, reference, SearchSettings(mode="analog", top_k=TOP, threads=2))
    structures = HitStructures(reference)
    lib_block = np.array([block(k) for k in reference.columns["inchikey"]], dtype=object)
    bounds = np.searchsorted(hits.query, np.arange(len(queries) + 1))
    out: dict[str, list] = {"x": [], "y": [], "group": [], "similarity": [], "score": [], "tk": [], "pair": []}
    for q, query in enumerate(queries):
        own_fp = fingerprint(str(query.get("smiles") or ""))
        if own_fp is None:
            continue
        sl = np.arange(bounds[q], bounds[q + 1])
        if leave_out:
            sl = sl[lib_block[hits.row[sl]] != block(query.get("inchikey"))]
        if sl.size == 0:
            continue
        sl = sl[:SEARCH_TOP]  # what a search of SEARCH_TOP hits would give without the compound
        out["x"].append(query_features(query, hits.row[sl], hits.similarity[sl], hits.score[sl], hits.delta_mass[sl],
                                       hits.delta_shift[sl], structures))
        # the best hit of each distinct compound (the candidates a consensus re-ranking chooses from)
        sl = sl[distinct_compounds(hits.row[sl], structures)]
        fps = [structures.fingerprint(int(r)) for r in hits.row[sl]]
        tk = np.array([tanimoto(own_fp, fp) if fp is not None else 0.0 for fp in fps])
        pair = np.zeros((CONSENSUS_K, CONSENSUS_K))
        for i, a in enumerate(fps):
            for j in range(i + 1, len(fps)):
                if a is not None and fps[j] is not None:
                    pair[i, j] = pair[j, i] = tanimoto(a, fps[j])
        out["y"].append(tk[0])
        out["group"].append(block(query.get("inchikey")) or str(query.get("name")))
        pad = (0, CONSENSUS_K - sl.size)
        out["similarity"].append(np.pad(hits.similarity[sl], pad, constant_values=-1))
        out["score"].append(np.pad(hits.score[sl], pad, constant_values=-1))
        out["tk"].append(np.pad(tk, pad))
        out["pair"].append(pair)
    return {k: np.array(v) for k, v in out.items()}


def load_sets(args) -> dict[str, dict[str, np.ndarray]]:
    sets = {}
    cache = args.cache
    plan = [("swgdrug", args.swgdrug, None, True), ("massbank-ei", args.massbank_ei, "ei-queries-identity", True),
            ("ei-analog", args.massbank_ei, "ei-queries-analog", False),
            ("massbank-ms2", args.massbank_ms2, "ms2-queries-identity", True),
            ("ms2-analog", args.massbank_ms2, "ms2-queries-analog", False)]
    references: dict[Path, tuple] = {}
    for name, lib_path, query_file, leave_out in plan:
        path = cache / f"{name}.npz" if cache else None
        if path is not None and path.exists():
            sets[name] = dict(np.load(path, allow_pickle=False))
            continue
        if lib_path not in references:
            references.clear()  # one library in memory at a time
            with Library.open(lib_path) as lib:
                references[lib_path] = (Reference.from_library(lib), list(lib.spectra()))
        reference, spectra = references[lib_path]
        if query_file is None:
            queries = [s for s in spectra if s.get("structure_status") == "verified"]
        else:
            queries = list(read(DATA / "massbank" / f"{query_file}.msp.gz"))
        sets[name] = searched(queries, reference, leave_out)
        sets[name]["group"] = sets[name]["group"].astype(str)
        if path is not None:
            with atomic_output(path, suffix=".npz") as tmp:  # a killed run leaves no truncated cache
                np.savez(tmp, **sets[name])
        print(f"{name}: {len(sets[name]['y'])} queries searched", flush=True)
    return sets


def fit(x: np.ndarray, y: np.ndarray) -> dict:
    """Soft-label logistic regression on standardised features (see module docstring)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(np.vstack([z, z]), np.r_[np.ones(len(y)), np.zeros(len(y))], sample_weight=np.r_[y, 1 - y])
    return {"mean": mean.tolist(), "scale": scale.tolist(), "coef": model.coef_[0].tolist(),
            "intercept": float(model.intercept_[0])}


def as_model(models: dict[str, dict]) -> ConfidenceModel:
    return ConfidenceModel({k: {n: np.asarray(v) if isinstance(v, list) else v for n, v in m.items()}
                            for k, m in models.items()})


def at_fractions(order_key: np.ndarray, y: np.ndarray) -> list[float]:
    """Mean label of the most confident 10/20/35/50/100 % (ties broken by position)."""
    order = np.argsort(-order_key, kind="mergesort")
    return [float(y[order[: max(int(round(f * y.size)), 1)]].mean()) for f in FRACTIONS]


def grouped_cv(x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int = 5) -> np.ndarray:
    from sklearn.model_selection import GroupKFold

    pred = np.zeros(y.size)
    for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
        m = fit(x[train], y[train])
        pred[test] = as_model({"k": m}).predict("k", x[test])
    return pred


def reranked_top1(d: dict[str, np.ndarray], lam: float) -> np.ndarray:
    """Top-1 Tanimoto after re-ranking each query's compounds by analogue score + ``lam`` x their
    similarity-weighted mean Tanimoto to the other compounds (the structure consensus), the
    re-ranking measured and not shipped (docs/search.md)."""
    valid = d["similarity"] >= 0
    w = np.where(valid, d["similarity"], 0.0)
    others = w.sum(axis=1)[:, None] - w
    consensus = np.where(others > 0, (d["pair"] * w[:, None, :]).sum(axis=2) / np.maximum(others, 1e-12), 0.0)
    pick = np.where(valid, d["score"] + lam * consensus, -np.inf).argmax(axis=1)
    return d["tk"][np.arange(pick.size), pick]


def rule_rows(name: str, similarity: np.ndarray, confidence: np.ndarray, y: np.ndarray) -> list[tuple]:
    """Queries passing the close-analogue rule per confidence threshold: (set, threshold, n,
    mean Tanimoto, share with Tanimoto >= 0.6)."""
    similar = np.floor(similarity * 999 + 0.5) >= VerdictThresholds().analogue_score
    out = []
    for threshold in RULE_THRESHOLDS:
        passing = similar & (np.round(confidence, 3) >= threshold)
        n = int(passing.sum())
        out.append((name, threshold, n, float(y[passing].mean()) if n else float("nan"),
                    float((y[passing] >= 0.6).mean()) if n else float("nan")))
    return out


def table(rows: list[tuple[str, str, int, list[float]]]) -> str:
    head = "| set | ordering | queries | " + " | ".join(f"top {int(f * 100)} %" for f in FRACTIONS) + " |"
    lines = [head, "|---|---|---:|" + "---:|" * len(FRACTIONS)]
    for name, ordering, n, values in rows:
        lines.append(f"| {name} | {ordering} | {n} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swgdrug", type=Path, required=True)
    parser.add_argument("--massbank-ei", type=Path, required=True)
    parser.add_argument("--massbank-ms2", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="keep the searched features here (npz)")
    parser.add_argument("--write", action="store_true", help=f"write the model to {MODEL_PATH}")
    args = parser.parse_args()
    try:  # before the hour of searching, as every nps-id command does
        refuse_output_onto_inputs([MODEL_PATH] if args.write else [],
                                  [args.swgdrug, args.massbank_ei, args.massbank_ms2])
    except InputError as exc:
        parser.error(str(exc))
    sets = load_sets(args)
    training = {"ei": ["swgdrug", "massbank-ei"], "ms2": ["massbank-ms2"]}
    held = {"ei": "ei-analog", "ms2": "ms2-analog"}
    rows, rule, models = [], [], {}
    feature_x = FEATURES.index("similarity_1"), FEATURES.index("score_1")
    for kind, names in training.items():
        x = np.vstack([sets[n]["x"] for n in names])
        y = np.concatenate([sets[n]["y"] for n in names])
        groups = np.concatenate([sets[n]["group"] for n in names])
        pred = grouped_cv(x, y, groups)
        start = 0
        for n in names:  # CV measured per training set
            part = slice(start, start + sets[n]["y"].size)
            start = part.stop
            for label, key in (("confidence (grouped CV)", pred[part]), ("modified cosine", x[part, feature_x[0]]),
                               ("analogue score", x[part, feature_x[1]])):
                rows.append((f"{n} (compound removed)", label, sets[n]["y"].size, at_fractions(key, y[part])))
            rule += rule_rows(f"{n} (compound removed)", x[part, feature_x[0]], pred[part], y[part])
        models[kind] = fit(x, y)
        test = sets[held[kind]]
        final = as_model(models).predict(kind, test["x"])
        for label, key in (("confidence", final), ("modified cosine", test["x"][:, feature_x[0]]),
                           ("analogue score", test["x"][:, feature_x[1]])):
            rows.append((held[kind], label, test["y"].size, at_fractions(key, test["y"])))
        rule += rule_rows(held[kind], test["x"][:, feature_x[0]], final, test["y"])
        start = 0
        for n in names + [held[kind]]:
            conf = final if n == held[kind] else pred[start:start + sets[n]["y"].size]
            start += sets[n]["y"].size
            rows.append((n if n == held[kind] else f"{n} (compound removed)",
                         f"confidence, hits re-ranked by consensus (lambda {RERANK_LAMBDA:g})", sets[n]["y"].size,
                         at_fractions(conf, reranked_top1(sets[n], RERANK_LAMBDA))))
    print(table(rows))
    print(f"\nclose analogue rule (similarity >= {VerdictThresholds().analogue_score} and confidence >= threshold; "
          "training sets: grouped-CV confidence)")
    print("| set | threshold | passing | mean Tanimoto | Tanimoto >= 0.6 |\n|---|---:|---:|---:|---:|")
    for name, threshold, n, mean, share in rule:
        print(f"| {name} | {threshold:g} | {n} | {mean:.3f} | {share:.2f} |")
    if args.write:
        doc = {"description": "analogue_confidence: predicted Morgan Tanimoto (radius 2, 2048 bits) between the "
                              "unknown and its top analogue hit; sigmoid(intercept + coef . (x - mean) / scale)",
               "trained_by": "benchmarks/train_analogue_confidence.py", "features": list(FEATURES),
               "models": {k: {n: (np.round(v, 6).tolist() if isinstance(v, list) else round(v, 6))
                              for n, v in m.items()} for k, m in models.items()}}
        with atomic_output(MODEL_PATH) as tmp:  # a killed run never leaves a truncated model the package reads
            tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()

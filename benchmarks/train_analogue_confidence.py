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
the confidence, by the top hit's modified cosine alone and by its analogue score, with the
hits re-ranked by structure consensus, and by MS2Query's way of choosing the answer: a model of
each of the first CONSENSUS_K compounds' Tanimoto (gradient-boosted trees on
:data:`CANDIDATE_FEATURES`, among them the share of the unknown's intensity that the compound's
spectra at all collision energies explain and a rare-fragment (IDF) weighted share), the best
prediction naming the answer and giving its confidence (both measured, not shipped:
benchmarks/README.md); then the close-analogue rule per confidence threshold.

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
    CONSENSUS_K, FEATURES, MODEL_PATH, SEARCH_TOP, ConfidenceModel, HitStructures, _explained, distinct_compounds,
    fingerprint, matched_peaks, query_features, query_mass, tanimoto,
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
#: Per-candidate features of the candidate re-choice that is measured (not shipped): each of the
#: first CONSENSUS_K compounds in turn as the answer (:func:`candidate_features`).
CANDIDATE_FEATURES = (
    "similarity", "score", "rank", "similarity_gap_1", "score_gap_1", "delta_mass_log", "listed_shift",
    "isomer_shift", "explained_share", "explained_peaks_log", "consensus_weighted", "consensus_max",
    "has_structure", "compound_spectra_log", "compound_explained_share", "compound_explained_share_high",
    "mass_per_1000", "peaks_log", "rare_fragment_share",
)


def block(key: str) -> str:
    return str(key or "")[:14].upper()


class CompoundPeaks:
    """Every library peak of a compound recorded with one precursor type (all its collision
    energies together), for the compound-level explained share of :func:`candidate_features`."""

    def __init__(self, reference: Reference, structures: HitStructures) -> None:
        self._peaks = reference.peaks
        self._type = reference.columns["precursor_type"]
        self._rows: dict[tuple[str, str], list[int]] = {}
        for row in range(len(self._type)):
            self._rows.setdefault((structures.compound(row), str(self._type[row] or "")), []).append(row)
        self._structures = structures

    def of(self, row: int) -> np.ndarray:
        rows = self._rows[(self._structures.compound(row), str(self._type[row] or ""))]
        return np.unique(np.concatenate([self._peaks.row(r)[0] for r in rows]))


class FragmentRarity:
    """How rare each fragment is in the library (all of it, the query's own compound too):
    log((n + 1) / (spectra holding it + 1)) (IDF;
    EI at nominal mass; MS/MS in 0.1-Da bins, a spectrum holding a fragment when it has a peak
    in its bin or the next ones, so that a bin edge never splits one ion), so that matching a
    rare fragment counts more than matching m/z 91 (``rare_fragment_share`` of
    :func:`candidate_features`)."""

    def __init__(self, reference: Reference) -> None:
        n = len(reference.columns["ms_level"])
        self._n = n
        self._tables = {}
        for ei in (True, False):
            near = (0,) if ei else (-1, 0, 1)
            bins = [self._bin(reference.peaks.row(r)[0], ei) for r in range(n)]
            held = np.concatenate([np.unique(np.concatenate([b + k for k in near])) for b in bins])
            self._tables[ei] = np.unique(held, return_counts=True)

    @staticmethod
    def _bin(mz: np.ndarray, ei: bool) -> np.ndarray:
        return np.round(mz if ei else mz * 10).astype(np.int64)

    def idf(self, mz: np.ndarray, ei: bool) -> np.ndarray:
        keys, counts = self._tables[ei]
        b = self._bin(mz, ei)
        pos = np.clip(np.searchsorted(keys, b), 0, max(keys.size - 1, 0))
        held = np.where(keys[pos] == b, counts[pos], 0) if keys.size else np.zeros(b.size)
        return np.log((self._n + 1) / (held + 1))


def candidate_features(query, rows: np.ndarray, similarity: np.ndarray, score: np.ndarray, delta: np.ndarray,
                       shift: np.ndarray, structures: HitStructures, compound_peaks: CompoundPeaks,
                       rarity: FragmentRarity) -> np.ndarray:
    """:data:`CANDIDATE_FEATURES` of each of the first :data:`CONSENSUS_K` compounds among a
    query's ranked hits (their best hit each), shape ``(k, len(CANDIDATE_FEATURES))``."""
    same = {}
    for r in rows.tolist():
        same[structures.compound(r)] = same.get(structures.compound(r), 0) + 1
    pick = distinct_compounds(rows, structures)
    rows, sim, sc, dl, sh = rows[pick], similarity[pick], score[pick], delta[pick], shift[pick]
    ei = query.ms_level != 2
    mass = query_mass(query)
    fps = [structures.fingerprint(int(r)) for r in rows]
    rare = np.sqrt(query.intensity) * rarity.idf(query.mz, ei)
    rare /= max(rare.sum(), 1e-12)
    out = []
    for i, row in enumerate(rows.tolist()):
        peaks = structures.peaks.row(row)[0]
        share, n_matched = _explained(query.mz, query.intensity, peaks, dl[i], ei)
        rare_share = rare[matched_peaks(query.mz, peaks, dl[i], ei)].sum()
        union = compound_peaks.of(row)
        compound_share = _explained(query.mz, query.intensity, union, dl[i], ei)[0]
        high = query.mz >= 0.25 * mass
        compound_high = _explained(query.mz[high], query.intensity[high], union, dl[i], ei)[0]
        others = [j for j in range(rows.size) if j != i and fps[j] is not None]
        weighted = best = 0.0
        if fps[i] is not None and others:
            t = np.array([tanimoto(fps[i], fps[j]) for j in others])
            w = sim[others]
            weighted, best = (float((t * w).sum() / w.sum()) if w.sum() > 0 else float(t.mean())), float(t.max())
        out.append([sim[i], sc[i], i, sim[0] - sim[i], sc[0] - sc[i], np.log1p(float(np.nan_to_num(abs(dl[i])))),
                    float(sh[i] >= 0), float(sh[i] == 0), share, np.log1p(n_matched), weighted, best,
                    float(fps[i] is not None), np.log1p(same[structures.compound(row)]), compound_share,
                    compound_high, mass / 1000.0, np.log1p(query.mz.size), rare_share])
    return np.array(out)


def searched(queries: list, reference: Reference, leave_out: bool) -> dict[str, np.ndarray]:
    """Features, label (top-1 Tanimoto), group, the top-k compounds' Tanimoto to the query and
    their candidate features, their library rows (-1 padded) and the query's position in
    ``queries``, for every query with a structure and a hit left."""
    hits = search(queries, reference, SearchSettings(mode="analog", top_k=TOP, threads=2))
    structures = HitStructures(reference)
    compound_peaks = CompoundPeaks(reference, structures)
    rarity = FragmentRarity(reference)
    lib_block = np.array([block(k) for k in reference.columns["inchikey"]], dtype=object)
    bounds = np.searchsorted(hits.query, np.arange(len(queries) + 1))
    out: dict[str, list] = {"x": [], "y": [], "group": [], "similarity": [], "score": [], "tk": [], "pair": [],
                            "candidates": [], "rows": [], "query": []}
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
        found = (hits.row[sl], hits.similarity[sl], hits.score[sl], hits.delta_mass[sl], hits.delta_shift[sl])
        out["x"].append(query_features(query, *found, structures))
        candidates = candidate_features(query, *found, structures, compound_peaks, rarity)
        missing = ((0, CONSENSUS_K - len(candidates)), (0, 0))
        out["candidates"].append(np.pad(candidates, missing, constant_values=np.nan))
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
        out["rows"].append(np.pad(hits.row[sl], pad, constant_values=-1))
        out["query"].append(q)
        out["pair"].append(pair)
    return {k: np.array(v) for k, v in out.items()}


def load_sets(args, names: tuple[str, ...] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """The searched sets (:func:`searched`; all five, or those ``names``), from ``args.cache`` when there."""
    sets = {}
    cache = args.cache
    plan = [("swgdrug", args.swgdrug, None, True), ("massbank-ei", args.massbank_ei, "ei-queries-identity", True),
            ("ei-analog", args.massbank_ei, "ei-queries-analog", False),
            ("massbank-ms2", args.massbank_ms2, "ms2-queries-identity", True),
            ("ms2-analog", args.massbank_ms2, "ms2-queries-analog", False)]
    plan = [step for step in plan if names is None or step[0] in names]
    references: dict[Path, tuple] = {}
    for name, lib_path, query_file, leave_out in plan:
        path = cache / f"{name}-v5.npz" if cache else None  # v5: with the candidates' rows
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


def candidate_rows(x: np.ndarray, tk: np.ndarray):
    """The candidates of queries (``(n, CONSENSUS_K, F)``, NaN-padded) as rows, with their query
    index and label."""
    valid = ~np.isnan(x[:, :, 0])
    return x[valid], tk[valid], np.nonzero(valid)[0]


def rechosen(predicted: np.ndarray, tk: np.ndarray, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per query: the highest predicted Tanimoto among its candidates (the confidence) and the
    true Tanimoto of that candidate (the re-chosen answer)."""
    confidence, label = np.full(n, -np.inf), np.zeros(n)
    for i in np.argsort(predicted, kind="mergesort"):  # ascending: the best candidate is written last
        confidence[query[i]], label[query[i]] = predicted[i], tk[i]
    return confidence, label


def fit_trees(x: np.ndarray, y: np.ndarray):
    """The candidate re-choice's model (measured, not shipped): gradient-boosted regression
    trees of the Tanimoto (fixed seed)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=100, max_depth=3, learning_rate=0.05, random_state=0).fit(x, y)


def rechoice_rows(sets: dict, names: list[str], held: str) -> list[tuple[str, str, int, list[float]]]:
    """MS2Query's way, measured: a model predicts each of the first CONSENSUS_K compounds'
    Tanimoto, the best prediction names the answer and is its confidence (grouped CV on the
    training sets, the model of all of them on the analogue query file)."""
    from sklearn.model_selection import GroupKFold

    parts = [candidate_rows(sets[n]["candidates"], sets[n]["tk"]) for n in names]
    offsets = np.cumsum([0] + [sets[n]["y"].size for n in names])
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    query = np.concatenate([p[2] + off for p, off in zip(parts, offsets)])
    groups = np.concatenate([sets[n]["group"] for n in names])[query]
    pred = np.zeros(y.size)
    for train, test in GroupKFold(n_splits=5).split(x, y, groups):
        pred[test] = fit_trees(x[train], y[train]).predict(x[test])
    confidence, label = rechosen(pred, y, query, int(offsets[-1]))
    label_name = "candidate re-choice, trees (measured, not shipped)"
    rows = [(f"{n} (compound removed)", label_name + ", grouped CV", sets[n]["y"].size,
             at_fractions(confidence[a:b], label[a:b])) for n, a, b in zip(names, offsets[:-1], offsets[1:])]
    hx, hy, hq = candidate_rows(sets[held]["candidates"], sets[held]["tk"])
    confidence, label = rechosen(fit_trees(x, y).predict(hx), hy, hq, sets[held]["y"].size)
    return rows + [(held, label_name, sets[held]["y"].size, at_fractions(confidence, label))]


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
        rows += rechoice_rows(sets, names, held[kind])
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

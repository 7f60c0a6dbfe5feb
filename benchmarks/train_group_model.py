"""Train the suspected-group model (nps_id/match/group_model.npz) and its cross-validation folds.

Training data (development libraries only): every spectrum of the SWGDRUG and MassBank EI
libraries searched against its own library once (top ``TOP``), its own compound's rows
(InChIKey first block, else name) dropped from its hits -- the hits a library without the
compound gives, as ``bench_novelty.py`` leaves compounds out. Label: the compound's EWA group or
subclass label (:meth:`nps_id.match.library_facts.LibraryFacts.group` of its first row), "" for none.
Features: :func:`nps_id.match.group_model.features`. Model: multinomial logistic regression
(sklearn, lbfgs, ``C``) on standardised features, and gradient-boosted trees (``TREES``, sklearn
HistGradientBoostingClassifier, seed 0; EI since stop 41, MS/MS since stop 42; EI's with the groups'
spectra weighed up, ``CLASS_WEIGHT``) whose probabilities are averaged with it (``TREE_WEIGHT``),
converted to plain arrays (:func:`trees_of`).

Folds: every compound (block) is in fold ``bench_novelty.fold_of(block)`` of ``N_FOLDS``; fold
model k is trained on the other folds' spectra of both libraries. ``bench_novelty.py
--group-folds DIR`` evaluates each query with the fold model of its own compound, which never saw
that compound (SWGDRUG left out, MassBank EI left out and absent alike). The script prints the
out-of-fold rates per ``min_probability`` (named right / named wrong / none, among compounds with
a group and without).

    PYTHONPATH=. python benchmarks/train_group_model.py --swgdrug swg.h5 --massbank-ei mbei.h5 \\
        --folds DIR [--write] [--cache DIR]

``--write`` writes the shipped model (all spectra); ``--cache DIR`` keeps the self-search hits
(npz); ``--evaluate`` prints the out-of-fold rates of the fold models already in ``--folds``
(``--kind ms2``: the MS/MS model alone, no search). Deterministic: fixed folds, lbfgs, the trees' fixed seed. sklearn is a training dependency only (``.[train]``).
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench_novelty import block_of, fold_of  # benchmarks share helpers

from nps_id._atomic import atomic_output
from nps_id.library import Library
from nps_id.match.group_model import MODEL_PATHS, NONE_LABEL, GroupModel, Trees, features, hit_votes
from nps_id.match.library_facts import LibraryFacts
from nps_id.match.molecular_mass import nominal_spectrum
from nps_id.match.ranked_hit import RankedHit
from nps_id.search.engine import SearchSettings, search
from nps_id.search.reference import Reference
from nps_id.search.settings import Hits

#: Hits searched per spectrum (bench_novelty's depth).
TOP = 80
N_FOLDS = 5
#: Inverse regularisation strength of the logistic regression, per kind (EI 0.02 -> 0.01 at stop 40 with
#: the closest-compound and shape features: fewer wrong groups at 0.5; benchmarks/README.md "Stop 40").
C = {"ei": 0.01, "ms2": 0.02}
#: The models' abstention threshold (benchmarks/README.md, "New substances"; stop 42, "Stop 42 (branch group42)":
#: EI 0.5 -> 0.52 with class-weighted trees at 0.5, out of fold right / another group / a group for none 1,665 /
#: 72 / 107 -> 1,697 / 61 / 107; MS/MS 0.9 -> 0.6 with its trees, 35 / 0 / 44 -> 66 / 0 / 18). Stop 43: EI 0.52 -> 0.56
#: with the trees' weight 0.6, 1,697 / 61 / 107 -> 1,705 / 59 / 104 ("Stop 43 (branch group43)").
MIN_PROBABILITY = {"ei": 0.56, "ms2": 0.6}
#: Gradient-boosted trees beside the linear model, per kind (stop 41): sklearn
#: HistGradientBoostingClassifier settings, on the same features (a tree splits on "a close hit of
#: group G and the iminium ion", which a sum of weights cannot). benchmarks/README.md "Stop 41
#: (branch group41)"; MS/MS since stop 42, the same settings (a fragment *and* a precursor range).
TREES = {kind: {"max_iter": 60, "max_leaf_nodes": 15, "learning_rate": 0.25, "l2_regularization": 1.0}
         for kind in ("ei", "ms2")}
#: The trees' share of the averaged probabilities (stop 42: EI 0.4 -> 0.5; MS/MS 0.5; stop 43: EI 0.6, the weight
#: stop 42's nested choice took in every fold). At a weight above the threshold (EI since stop 43) every spectrum
#: needs the trees; below it only those whose linear model gives some group >= (threshold - weight) / (1 - weight)
#: (MS/MS 0.2).
TREE_WEIGHT = {"ei": 0.6, "ms2": 0.5}
#: The trees' class weights, per kind (stop 42): a spectrum of a group weighs (spectra of none / spectra of its
#: group) ** this in the trees' fit (those of none 1; all scaled to mean 1): 84 % of the EI training spectra are of
#: none, and the trees named too few of the small groups (GHB-type 3 of 25, phenidates 3 of 15). 0.25 out of fold:
#: more right groups with fewer wrong ones (benchmarks/README.md "Stop 42 (branch group42)").
CLASS_WEIGHT = {"ei": 0.25}
#: MS/MS spectra per compound used for training (spread over its records).
MS2_PER_COMPOUND = 4
PROBABILITIES = (0.3, 0.4, 0.45, 0.5, 0.52, 0.55, 0.56, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def self_hits(name: str, spectra, reference, cache: Path | None) -> Hits:
    cached = None if cache is None else cache / f"self-{name}.npz"
    if cached is not None and cached.exists():
        with np.load(cached, allow_pickle=False) as columns:
            return Hits(**columns)
    hits = search(spectra, reference, SearchSettings(top_k=TOP, prefilter=300, threads=2))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cached, suffix=".npz") as tmp:
            np.savez(tmp, **{column: getattr(hits, column) for column in hits.__dataclass_fields__})
    return hits


def ei_rows(name: str, path: Path, cache: Path | None) -> list[dict]:
    """One dict per spectrum of the EI library at ``path``: block, label, relative spectrum and
    the votes of its hits with its own compound left out."""
    with Library.open(path) as lib:
        reference, spectra = Reference.from_library(lib), list(lib.spectra())
    facts = LibraryFacts(reference)
    hits = self_hits(name, spectra, reference, cache)
    blocks, first = _blocks(facts)
    starts = np.searchsorted(hits.query, np.arange(len(spectra) + 1))
    rows = []
    for q, spectrum in enumerate(spectra):
        own = block_of(spectrum)
        ranked = [RankedHit(int(r), 0, similarity=float(s))
                  for r, s in zip(hits.row[starts[q]:starts[q + 1]], hits.similarity[starts[q]:starts[q + 1]])
                  if blocks[r] != own]
        rows.append({"block": own, "label": _label(facts, first, own), "votes": hit_votes(ranked, facts),
                     "relative": nominal_spectrum(spectrum.mz, spectrum.intensity), "precursor": None})
    facts.save()
    return rows


def ms2_rows(path: Path) -> list[dict]:
    """Up to :data:`MS2_PER_COMPOUND` spectra per compound of the MS/MS library at ``path`` (spread
    over its records: collision energies, instruments), with precursor; no votes (an identity
    search's MS/MS hits share the precursor mass)."""
    with Library.open(path) as lib:
        reference, spectra = Reference.from_library(lib), list(lib.spectra())
    facts = LibraryFacts(reference)
    blocks, first = _blocks(facts)
    by_block: dict[str, list[int]] = {}
    for row, block in enumerate(blocks):
        by_block.setdefault(block, []).append(row)
    rows = []
    for block, members in by_block.items():
        picked = members if len(members) <= MS2_PER_COMPOUND else [
            members[i] for i in np.linspace(0, len(members) - 1, MS2_PER_COMPOUND).round().astype(int)]
        for row in picked:
            spectrum = spectra[row]
            if not spectrum.precursor_mz:
                continue
            precursor = (float(spectrum.precursor_mz), str(spectrum.get("ion_mode") or "positive").lower())
            rows.append({"block": block, "label": _label(facts, first, block), "votes": (),
                         "relative": nominal_spectrum(spectrum.mz, spectrum.intensity), "precursor": precursor})
    facts.save()
    return rows


def _blocks(facts: LibraryFacts) -> tuple[list[str], dict[str, int]]:
    """Every row's compound (as bench_novelty's block_of) and each compound's first row."""
    blocks = [facts.block(r) or "name:" + facts.name(r).lower() for r in range(facts.reference.n_spectra)]
    first: dict[str, int] = {}
    for row, block in enumerate(blocks):
        first.setdefault(block, row)
    return blocks, first


def _label(facts: LibraryFacts, first: dict[str, int], block: str) -> str:
    return (facts.group(first[block]) if block in first else None) or NONE_LABEL


def fit(kind: str, x: np.ndarray, y: np.ndarray, vote_labels: list[str], c: float) -> GroupModel:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit((x - mean) / scale, y)
    model = GroupModel(kind, tuple(str(label) for label in clf.classes_), tuple(vote_labels), mean, scale,
                       clf.coef_.T.copy(), clf.intercept_.copy(), MIN_PROBABILITY[kind])
    if kind not in TREES:
        return model
    from sklearn.ensemble import HistGradientBoostingClassifier

    trees = HistGradientBoostingClassifier(early_stopping=False, random_state=0, **TREES[kind])
    trees.fit(x, y, sample_weight=class_weights(y, CLASS_WEIGHT[kind]) if kind in CLASS_WEIGHT else None)
    assert tuple(trees.classes_) == model.labels  # the same sorted labels: one class order
    return replace(model, trees=trees_of(trees, x), tree_weight=TREE_WEIGHT[kind])


def class_weights(y: np.ndarray, power: float) -> np.ndarray:
    """Per spectrum of labels ``y``: (spectra of none / spectra of its label) ** ``power``, 1 for none,
    scaled to mean 1 (:data:`CLASS_WEIGHT`)."""
    counts = dict(zip(*np.unique(y, return_counts=True)))
    factor = {label: 1.0 if label == NONE_LABEL else (counts[NONE_LABEL] / n) ** power for label, n in counts.items()}
    weight = np.array([factor[label] for label in y])  # scalar powers: the bits the measured folds were fitted with
    return weight * (len(weight) / weight.sum())


def trees_of(clf: Any, x: np.ndarray) -> Trees:
    """``clf``'s trees (fitted on ``x``'s features) as :class:`~nps_id.match.group_model.Trees`.
    sklearn exports no HistGradientBoosting tree, so its fitted predictors' node arrays
    (``_predictors``, ``_baseline_prediction``) are read; the conversion is checked against its own
    probabilities on ``x``."""
    parts: dict[str, list] = {key: [] for key in ("feature", "threshold", "left", "right", "value", "root", "label")}
    offset = 0
    for iteration in clf._predictors:
        for label, tree in enumerate(iteration):
            nodes, leaf = tree.nodes, tree.nodes["is_leaf"].astype(bool)
            own = np.arange(len(nodes)) + offset
            parts["feature"].append(np.where(leaf, 0, nodes["feature_idx"]))
            parts["threshold"].append(np.where(leaf, np.inf, nodes["num_threshold"]))
            parts["left"].append(np.where(leaf, own, nodes["left"].astype(np.int64) + offset))
            parts["right"].append(np.where(leaf, own, nodes["right"].astype(np.int64) + offset))
            parts["value"].append(np.where(leaf, nodes["value"], 0.0))
            parts["root"].append([offset])
            parts["label"].append([label])
            offset += len(nodes)
    arrays = {f"tree_{key}": np.concatenate(value) for key, value in parts.items()}
    trees = Trees.checked({**arrays, "tree_baseline": clf._baseline_prediction.ravel()}, x.shape[1], len(clf.classes_))
    sample = x[:: max(1, len(x) // 2000)]  # the trees' own features never NaN: no missing-value branch
    assert np.allclose(trees.probabilities(sample), clf.predict_proba(sample), atol=1e-9)
    return trees


def report(rows: list[dict], predicted: list[tuple[str, float]]) -> None:
    """Out-of-fold rates per abstention threshold, for compounds with a group and without."""
    print("min_probability | group: right / wrong / none | no group: none / named (spectra named right / wrong / "
          "of no group named)")
    truth = [r["label"] for r in rows]
    grouped = sum(1 for t in truth if t != NONE_LABEL)
    plain = len(truth) - grouped
    for threshold in PROBABILITIES:
        named = [label if p >= threshold else NONE_LABEL for label, p in predicted]
        right = sum(1 for t, n in zip(truth, named) if t != NONE_LABEL and n == t)
        wrong = sum(1 for t, n in zip(truth, named) if t != NONE_LABEL and n not in (t, NONE_LABEL))
        false = sum(1 for t, n in zip(truth, named) if t == NONE_LABEL and n != NONE_LABEL)
        print(f"{threshold} | {right / grouped:.3f} / {wrong / grouped:.3f} / {(grouped - right - wrong) / grouped:.3f}"
              f" | {(plain - false) / plain:.3f} / {false / plain:.3f} ({right} / {wrong} / {false})")


def train(kind: str, rows: list[dict], folds: Path, c: float, write: bool, evaluate: bool = False) -> None:
    """Fold models (and with ``write`` the shipped model) of ``kind`` from ``rows``; prints the
    out-of-fold rates. ``evaluate``: read the fold models in ``folds`` instead of fitting them."""
    labels = sorted({r["label"] for r in rows})
    x = np.array([features(kind, r["relative"], r["votes"], labels, r["precursor"]) for r in rows])
    y = np.array([r["label"] for r in rows])
    fold = np.array([fold_of(r["block"], N_FOLDS) for r in rows])
    print(f"{kind}: {len(rows)} spectra, {len(set(r['block'] for r in rows))} compounds, {len(labels) - 1} groups")
    predicted: list[tuple[str, float]] = [(NONE_LABEL, 0.0)] * len(rows)
    for k in range(N_FOLDS):
        if evaluate:
            model = GroupModel.load(folds / f"fold-{kind}-{k}.npz")
        else:
            model = fit(kind, x[fold != k], y[fold != k], labels, c)
            model.save(folds / f"fold-{kind}-{k}.npz")
        held = np.flatnonzero(fold == k)
        for i, probs in zip(held, model.probabilities(x[held])):
            predicted[i] = (model.labels[int(np.argmax(probs))], float(probs.max()))
    report(rows, predicted)
    if write:
        fit(kind, x, y, labels, c).save(MODEL_PATHS[kind])
        print(f"wrote {MODEL_PATHS[kind]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swgdrug", type=Path, required=True, help="SWGDRUG 3.4 nps-id library (with structures)")
    parser.add_argument("--massbank-ei", type=Path, required=True, help="MassBank EI nps-id library")
    parser.add_argument("--massbank-ms2", type=Path, default=None, help="MassBank MS/MS nps-id library (MS/MS model)")
    parser.add_argument("--folds", type=Path, required=True, help="folder for the fold models (fold-KIND-K.npz)")
    parser.add_argument("--write", action="store_true", help="write the shipped models (group_model_KIND.npz)")
    parser.add_argument("--cache", type=Path, default=None, help="folder keeping the EI self-search hits")
    parser.add_argument("--kind", choices=("ei", "ms2"), action="append", default=None, help="only these models")
    parser.add_argument("--evaluate", action="store_true",
                        help="the out-of-fold rates of the fold models already in --folds (no fit; sklearn not needed)")
    args = parser.parse_args()
    if args.evaluate and args.write:
        parser.error("--evaluate reads the fold models: it writes no model")
    args.folds.mkdir(parents=True, exist_ok=True)
    kinds = args.kind or ["ei", "ms2"]
    if "ei" in kinds:
        rows = ei_rows("swgdrug", args.swgdrug, args.cache) + ei_rows("massbank-ei", args.massbank_ei, args.cache)
        train("ei", rows, args.folds, C["ei"], args.write, args.evaluate)
    if "ms2" in kinds and args.massbank_ms2 is not None:
        train("ms2", ms2_rows(args.massbank_ms2), args.folds, C["ms2"], args.write, args.evaluate)


if __name__ == "__main__":
    main()

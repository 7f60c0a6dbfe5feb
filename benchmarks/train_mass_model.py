"""Train the EI molecular-mass re-ranker (nps_id/match/mass_model.npz) and measure it out of fold.

Training data (development libraries only): every spectrum of the SWGDRUG and MassBank EI
libraries searched against its own library (``train_group_model.py``'s self-search, its
``--cache`` folder reused), its own compound's rows dropped from its hits -- the hits a library
without the compound gives, as ``bench_novelty.py`` leaves compounds out; the first
``HIT_VOTES`` as :func:`~nps_id.match.molecular_mass.estimate_masses` reads them. Label: the
nominal mass of the record's formula; records whose spectrum the formula does not explain (an ion
above its molecular-ion cluster: derivatives filed under the parent's formula) are left out, and
so are the few the estimate scores one by one (a vote far outside its arrays, a fragment floor).

Candidates: the estimate's :data:`~nps_id.match.mass_model.TOP` best masses by its score
(``_estimate_chunk``'s matrix, handed to a recording ``pick``); features
:func:`nps_id.match.mass_model.features`. Model: a conditional logit (softmax over each
spectrum's candidates; L2 ``--l2`` on standardised features; scipy L-BFGS, deterministic).

Folds: every compound is in fold ``bench_novelty.fold_of(block, 5)``; the script prints the
out-of-fold share of spectra whose chosen mass is right, next to today's highest score's.
``--write`` writes the model fitted on all spectra; ``--folds DIR`` each fold's
(``fold-mass-K.npz``).

    PYTHONPATH=.:benchmarks python benchmarks/train_mass_model.py --swgdrug swg.h5 \\
        --massbank-ei mbei.h5 --cache DIR [--write] [--folds DIR]
"""
from __future__ import annotations

import argparse
from unittest import mock
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from bench_novelty import fold_of, load  # benchmarks share helpers
from train_group_model import _blocks, self_hits

from nps_id._atomic import atomic_output
from nps_id.chem.formula import isotope_reach, nominal_mass
from nps_id.match import mass_model
from nps_id.match.library_facts import LibraryFacts
from nps_id.match.mass_model import FEATURES, TOP, MassModel, eligible, features
from nps_id.match.molecular_mass import HIT_VOTES, estimate_masses, molecular_ion, nominal_spectrum

N_FOLDS = 5
#: L2 penalty on the logit's standardised weights (sum over spectra of the log-likelihood, not its mean).
L2 = 10.0
#: The boosted trees' learning rate and leaves per tree (``--trees N``: N trees instead of the logit).
TREE_RATE, TREE_LEAVES = 0.1, 15


def library_rows(name: str, path: Path, cache: Path | None) -> list[dict]:
    """One dict per explained spectrum of the EI library at ``path``: block, relative spectrum,
    true nominal mass and its first :data:`HIT_VOTES` hits (own compound left out) as neighbours."""
    reference, spectra = load(path)
    hits = self_hits(name, spectra, reference, cache)
    facts = LibraryFacts(reference)
    blocks = _blocks(facts)[0]
    starts, rows = np.searchsorted(hits.query, np.arange(len(spectra) + 1)), []
    for q, spectrum in enumerate(spectra):
        mass = nominal_mass(spectrum.get("formula"))
        relative = nominal_spectrum(spectrum.mz, spectrum.intensity)
        ion = molecular_ion(relative)
        if mass is None or ion is None or ion > mass + isotope_reach(spectrum.get("formula")):
            continue
        own = blocks[q]
        kept = [(int(r), float(s)) for r, s in zip(hits.row[starts[q]:starts[q + 1]],
                                                 hits.similarity[starts[q]:starts[q + 1]]) if blocks[r] != own]
        neighbours = [facts.neighbour(r)._replace(similarity=s) for r, s in kept[:HIT_VOTES]]
        rows.append({"block": own, "mass": mass, "relative": relative, "hits": neighbours, "library": name})
    return rows


def candidates(rows: list[dict]) -> dict[str, np.ndarray]:
    """Every chunk-scored spectrum's :data:`TOP` candidates: ``x`` (spectra x candidates x
    features), ``valid`` (:func:`~nps_id.match.mass_model.eligible`), ``right`` (the true mass),
    ``masses``, ``index`` (the spectrum's row), ``truth``."""
    recorded: list[tuple] = []

    def record(masses, top, own, relatives, hits, model=True):
        values = features(masses, top, own, relatives, hits)
        recorded.append((masses, eligible(masses, top, values, hits), np.stack(values, axis=2), list(relatives)))
        return masses[:, 0]

    # the estimate as it stands without a model (the one spectra take one by one too)
    with mock.patch.object(mass_model, "choose", record), mock.patch.object(mass_model, "shipped_model", lambda: None):
        estimate_masses([r["relative"] for r in rows], [r["hits"] for r in rows])
    position = {id(r["relative"]): i for i, r in enumerate(rows)}
    index = np.array([position[id(rel)] for *_, relatives in recorded for rel in relatives])
    masses = np.concatenate([m for m, *_ in recorded])
    truth = np.array([rows[i]["mass"] for i in index])
    return {"x": np.concatenate([x for *_, x, _ in recorded]).astype(np.float64),
            "valid": np.concatenate([v for _, v, *_ in recorded]), "right": masses == truth[:, None],
            "masses": masses, "index": index, "truth": truth}


def fit(x: np.ndarray, valid: np.ndarray, right: np.ndarray, l2: float) -> MassModel:
    """Conditional-logit weights (raw feature scale) by L-BFGS on the spectra whose candidates hold the truth."""
    use = (right & valid).any(axis=1)
    x, valid, right = x[use], valid[use], right[use]
    scale = x[valid].std(axis=0)
    scale[scale == 0] = 1.0
    z = x / scale

    z = np.where(valid[..., None], z, 0.0)
    truth = np.argmax(right, axis=1)
    rows = np.arange(len(z))
    closed = np.where(valid, 0.0, -1e9)  # a candidate without evidence: never chosen

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        u = z @ w + closed
        u -= u.max(axis=1, keepdims=True)
        p = np.exp(u)
        total = p.sum(axis=1)
        p /= total[:, None]
        nll = -(u[rows, truth] - np.log(total)).sum()
        grad = np.einsum("nk,nkf->f", p, z) - z[rows, truth].sum(axis=0)
        return nll + l2 * w @ w, grad + 2 * l2 * w

    w0 = np.zeros(x.shape[2])
    w0[FEATURES.index("score_share")] = 1.0
    result = minimize(loss, w0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return MassModel(result.x / scale)


class BoostedTrees:
    """Gradient-boosted trees (sklearn's histogram boosting, a training dependency only: ``.[train]``)
    on the eligible candidates, each labelled right or not; measured against the logit and not kept,
    so nps-id has no run-time form of them: sklearn evaluates them here, its decision function the
    candidate's utility."""

    def __init__(self, x: np.ndarray, valid: np.ndarray, right: np.ndarray, trees: int) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.boosted = HistGradientBoostingClassifier(max_iter=trees, learning_rate=TREE_RATE, max_leaf_nodes=TREE_LEAVES,
                                                      early_stopping=False, random_state=0).fit(x[valid], right[valid])

    def utility(self, values: list[np.ndarray]) -> np.ndarray:
        x = np.stack(values, axis=2)
        return self.boosted.decision_function(x.reshape(-1, x.shape[2])).reshape(x.shape[:2])


def chosen_right(x: np.ndarray, valid: np.ndarray, right: np.ndarray, model: MassModel | BoostedTrees | None) -> np.ndarray:
    """Per spectrum: whether its chosen candidate is the true mass (None: the highest score), as
    :func:`nps_id.match.mass_model.rerank` chooses."""
    if model is None:
        return right[:, 0]
    u = np.where(valid, model.utility(list(np.moveaxis(x, 2, 0))), -np.inf)
    best = np.argmax(u, axis=1)
    best[~valid.any(axis=1)] = 0
    return right[np.arange(len(x)), best]


def share_right(x: np.ndarray, valid: np.ndarray, right: np.ndarray, model: MassModel | BoostedTrees | None) -> float:
    """Share of the spectra whose chosen candidate is the true mass (:func:`chosen_right`)."""
    return float(chosen_right(x, valid, right, model).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swgdrug", type=Path, required=True)
    parser.add_argument("--massbank-ei", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="train_group_model.py's self-search cache")
    parser.add_argument("--l2", type=float, default=L2)
    parser.add_argument("--trees", type=int, default=0, help="gradient-boosted trees (this many) instead of the logit, measured only (never written)")
    parser.add_argument("--folds", type=Path, default=None, help="write each fold's model there (fold-mass-K.npz)")
    parser.add_argument("--write", action="store_true", help=f"write {mass_model.MODEL_PATH} (all spectra)")
    args = parser.parse_args()
    rows = library_rows("swgdrug", args.swgdrug, args.cache) + library_rows("massbank-ei", args.massbank_ei, args.cache)
    data = candidates(rows)
    x, valid, right = data["x"], data["valid"], data["right"]
    print(f"{len(rows)} spectra, {len(x)} scored in chunks; truth among the {TOP} best {right.any(axis=1).mean():.4f}; "
          f"highest score right {share_right(x, valid, right, None):.4f}", flush=True)
    def learn(x, valid, right):
        return BoostedTrees(x, valid, right, args.trees) if args.trees else fit(x, valid, right, args.l2)

    fold = np.array([fold_of(rows[i]["block"], N_FOLDS) for i in data["index"]])
    library = np.array([rows[i]["library"] for i in data["index"]])
    held, outcome = 0.0, np.zeros(len(x), dtype=bool)
    for k in range(N_FOLDS):
        train, test = fold != k, fold == k
        model = learn(x[train], valid[train], right[train])
        outcome[test] = chosen_right(x[test], valid[test], right[test], model)
        part = float(outcome[test].mean())
        held += part * test.sum()
        print(f"  fold {k}: held out right {part:.4f}, highest score {share_right(x[test], valid[test], right[test], None):.4f}",
              flush=True)
        if args.folds is not None and not args.trees:
            save(model, args.folds / f"fold-mass-{k}.npz")
    print(f"out-of-fold right {held / len(x):.4f}" + "".join(
        f"; {name} {outcome[mine].mean():.4f} (highest score {right[mine, 0].mean():.4f})"
        for name in ("swgdrug", "massbank-ei") for mine in [library == name]))
    model = learn(x, valid, right)
    print(f"all spectra: right {share_right(x, valid, right, model):.4f} (in sample)")
    if not args.trees:
        print("weights:", ", ".join(f"{n} {w:+.3g}" for n, w in zip(FEATURES, model.weights)))
    if args.write and not args.trees:
        save(model, mass_model.MODEL_PATH)


def save(model: MassModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, suffix=".npz") as tmp:
        model.save(tmp)


if __name__ == "__main__":
    main()

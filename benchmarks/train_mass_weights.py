"""Fit the weights of the EI molecular-mass estimate (nps_id/match/mass_weights.json) and measure them.

Training data (development libraries only): every spectrum of the SWGDRUG and MassBank EI
libraries searched against its own library (``train_group_model.py``'s self-search, its
``--cache`` folder reused), its own compound's rows dropped from its hits -- the hits a library
without the compound gives, as ``bench_novelty.py`` leaves compounds out. Label: the nominal mass
of the record's formula; records whose spectrum the formula does not explain (an ion above its
molecular-ion cluster: derivatives filed under the parent's formula) are left out.

Features: :func:`nps_id.match.molecular_mass.chunk_scores` term by term (one weight 1, the others
0) for every candidate mass, and where the nitrogen rule penalises. Model: the estimate's own form,
``score = sum_k w_k term_k x parity_penalty**penalised`` (offset weight 1: the scale is free), as
a conditional logit over each spectrum's candidates, ``P(c) ~ score_c**beta``, maximum
likelihood by scipy's L-BFGS-B on the logarithms of the weights (deterministic; no sklearn
needed). ``hit_power`` is chosen on a grid by out-of-fold accuracy.

Folds: every compound is in fold ``bench_novelty.fold_of(block, 5)``; the script prints each fold
model's weights and its accuracy on the held-out fold (estimate == nominal mass), next to the
shipped weights' on the same spectra. ``--write`` writes the weights fitted on all spectra.

    PYTHONPATH=. python benchmarks/train_mass_weights.py --swgdrug swg.h5 --massbank-ei mbei.h5 \\
        --cache DIR [--write]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from bench_novelty import fold_of  # benchmarks share helpers
from train_group_model import _blocks, self_hits

from nps_id._atomic import atomic_output
from nps_id.chem.formula import isotope_reach, nominal_mass
from nps_id.library import Library
from nps_id.match.assess import LibraryFacts
from nps_id.match.molecular_mass import (_CHUNK, HIT_VOTES, WEIGHTS, WEIGHTS_PATH, MassWeights, _shows_hit_mass,
                                         _weak_ions, chunk_scores, fragment_floor, molecular_ion,
                                         nominal_spectrum)
from nps_id.search.reference import Reference

N_FOLDS = 5
#: The additive terms, in :class:`MassWeights` order; "offset" is the fixed unit.
TERMS = ("own", "weak", "offset", "shown", "near", "far")
HIT_POWERS = (2, 3, 4, 6, 8)
#: A candidate without evidence scores this (its logarithm stays finite).
_EPS = 1e-9


def library_rows(name: str, path: Path, cache: Path | None) -> list[dict]:
    """One dict per explained spectrum of the EI library at ``path``: block, relative spectrum,
    true nominal mass and its first :data:`HIT_VOTES` hits (own compound left out) as neighbours."""
    with Library.open(path) as lib:
        reference, spectra = Reference.from_library(lib), list(lib.spectra())
    facts = LibraryFacts(reference)
    hits = self_hits(name, spectra, reference, cache)
    blocks, _ = _blocks(facts)
    starts = np.searchsorted(hits.query, np.arange(len(spectra) + 1))
    rows = []
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
        neighbours = [h for h in neighbours if h.mass is not None and h.similarity > 0]
        rows.append({"block": own, "mass": mass, "relative": relative, "own": ion, "hits": neighbours})
    return rows


def features(rows: list[dict], hit_power: float) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per row: the candidate masses with any evidence, their terms (candidates x :data:`TERMS`)
    and where the nitrogen rule penalises them; candidates below :func:`fragment_floor` dropped, as
    the estimate drops them. Rows in chunks of :data:`_CHUNK`, as :func:`estimate_masses` scores them."""
    units = [MassWeights(**{t: float(t == term) for t in TERMS}, parity_penalty=1.0, hit_power=hit_power)
             for term in TERMS]
    out = []
    for start in range(0, len(rows), _CHUNK):
        part = rows[start:start + _CHUNK]
        chunk = [(0, r["own"], [m - r["own"] for m in _weak_ions(r["relative"], r["own"])], r["hits"],
                  [h.mass - r["own"] if _shows_hit_mass(r["relative"], r["own"], h.mass) else None for h in r["hits"]])
                 for r in part]
        relatives = [r["relative"] for r in part]
        terms, other, below = [], None, 0
        for unit in units:
            scores, other, below = chunk_scores(relatives, chunk, unit)
            terms.append(scores)
        terms = np.stack(terms, axis=2)
        for i, r in enumerate(part):
            candidates = r["own"] - below + np.arange(terms.shape[1])
            keep = (candidates >= fragment_floor(r["relative"], r["own"])) & (terms[i].sum(axis=1) > 0)
            out.append((candidates[keep], terms[i][keep], other[i][keep]))
    return out


def _unpack(theta: np.ndarray, hit_power: float) -> tuple[MassWeights, float]:
    w = np.exp(theta)
    free = dict(zip((t for t in TERMS if t != "offset"), w[:5]))
    return MassWeights(**free, offset=1.0, parity_penalty=float(min(w[5], 1.0)), hit_power=hit_power), float(w[6])


def _vector(weights: MassWeights) -> np.ndarray:
    return np.array([getattr(weights, t) for t in TERMS])


def _stacked(data, labels):
    """Every candidate of every spectrum in one array (spectrum index per row), the label rows."""
    owner = np.concatenate([np.full(len(c), i) for i, (c, _, _) in enumerate(data)])
    terms = np.concatenate([t for _, t, _ in data])
    other = np.concatenate([o for _, _, o in data]).astype(float)
    right = np.concatenate([c == m for (c, _, _), m in zip(data, labels)])
    return owner, terms, other, right


def fit(data, labels, hit_power: float, start: MassWeights) -> MassWeights:
    """Maximum-likelihood weights of the conditional logit (see the module text)."""
    owner, terms, other, right = _stacked(data, labels)
    reachable = np.bincount(owner, weights=right & (terms.sum(axis=1) > 0), minlength=len(data)) > 0
    mask = reachable[owner]
    owner, terms, other, right = owner[mask], terms[mask], other[mask], right[mask]
    owner = np.unique(owner, return_inverse=True)[1]
    n = owner.max() + 1

    firsts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])

    def loss(theta: np.ndarray) -> float:
        w = np.exp(theta)
        weights = np.insert(w[:5], 2, 1.0)
        log_penalty, beta = min(theta[5], 0.0), w[6]
        u = beta * (np.log(terms @ weights + _EPS) + log_penalty * other)
        top = np.maximum.reduceat(u, firsts)
        log_z = np.log(np.add.reduceat(np.exp(u - np.repeat(top, np.diff(np.r_[firsts, u.size]))), firsts)) + top
        return float(log_z.sum() - u[right].sum()) / n

    w0 = _vector(start)
    theta0 = np.log(np.r_[np.delete(w0, 2) + 1e-3, start.parity_penalty, 5.0])
    result = minimize(loss, theta0, method="L-BFGS-B", options={"maxiter": 300})
    return _unpack(result.x, hit_power)[0]


def accuracy(data, labels, weights: MassWeights) -> float:
    """Share of spectra whose highest score (the higher mass on a tie) is the true mass."""
    right = 0
    vector = _vector(weights)
    for (candidates, terms, other), mass in zip(data, labels):
        scores = (terms @ vector) * np.where(other, weights.parity_penalty, 1.0)
        if len(candidates) and scores.max() > 0:
            right += candidates[len(scores) - 1 - np.argmax(scores[::-1])] == mass
    return right / max(len(labels), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swgdrug", type=Path, required=True)
    parser.add_argument("--massbank-ei", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="train_group_model.py's self-search cache")
    parser.add_argument("--write", action="store_true", help=f"write {WEIGHTS_PATH.name} (all spectra)")
    args = parser.parse_args()
    rows = library_rows("swgdrug", args.swgdrug, args.cache) + library_rows("massbank-ei", args.massbank_ei, args.cache)
    labels = [r["mass"] for r in rows]
    fold = np.array([fold_of(r["block"], N_FOLDS) for r in rows])
    print(f"{len(rows)} spectra; shipped weights {tuple(WEIGHTS)}")
    best = None
    for hit_power in HIT_POWERS:
        data = features(rows, hit_power)
        held = []
        for k in range(N_FOLDS):
            train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            weights = fit([data[i] for i in train], [labels[i] for i in train], hit_power, WEIGHTS)
            held.append(accuracy([data[i] for i in test], [labels[i] for i in test], weights) * len(test))
            print(f"  power {hit_power} fold {k}: {', '.join(f'{v:.3g}' for v in weights[:7])}")
        oof = sum(held) / len(rows)
        base = accuracy(data, labels, WEIGHTS._replace(hit_power=hit_power))
        print(f"hit_power {hit_power}: out-of-fold right {oof:.4f}; shipped weights at this power {base:.4f}")
        if best is None or oof > best[0]:
            best = (oof, hit_power, data)
    oof, hit_power, data = best
    weights = fit(data, labels, hit_power, WEIGHTS)
    print(f"all spectra, hit_power {hit_power}: {weights}; in-sample right {accuracy(data, labels, weights):.4f}")
    if args.write:
        shown = {k: round(float(v), 4) for k, v in weights._asdict().items()}
        text = {"about": "estimate_mass's evidence weights (nps_id/match/molecular_mass.py MassWeights), "
                         "fitted by benchmarks/train_mass_weights.py", "weights": shown}
        with atomic_output(WEIGHTS_PATH, suffix=".json") as tmp:
            Path(tmp).write_text(json.dumps(text, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

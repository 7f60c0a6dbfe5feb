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
#: The distances above the highest ion given a factor of their own (MassWeights.steps): the
#: isotope steps, the common losses a highest fragment ion lies below M (McLafferty & Turecek's
#: table), the homologue's 14 and 28; "below" any candidate under the highest ion.
STEPS = ("below", "0", "1", "2", "14", "15", "16", "17", "18", "19", "20", "28", "29", "30", "31", "32", "35", "36",
         "42", "43", "44", "45", "46", "57", "58", "59", "60", "71", "72", "73", "77", "91")
#: L2 penalty on the step factors' logarithms (per spectrum's log-likelihood): small weights.
STEP_L2 = 1e-3
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
            out.append((candidates[keep], terms[i][keep], other[i][keep], candidates[keep] - r["own"]))
    return out


def _unpack(theta: np.ndarray, hit_power: float) -> MassWeights:
    w = np.exp(theta)
    free = dict(zip((t for t in TERMS if t != "offset"), w[:5].round(4).tolist()))
    steps = {k: round(float(v), 4) for k, v in zip(STEPS, w[7:])}
    return MassWeights(**free, offset=1.0, parity_penalty=round(float(w[5]), 4), hit_power=hit_power, steps=steps)


def _vector(weights: MassWeights) -> np.ndarray:
    return np.array([getattr(weights, t) for t in TERMS])


def _stacked(data, labels):
    """Every candidate of every spectrum in one array (spectra contiguous), the label rows."""
    owner = np.concatenate([np.full(len(c), i) for i, (c, *_) in enumerate(data)])
    terms = np.concatenate([t for _, t, _, _ in data])
    other = np.concatenate([o for _, _, o, _ in data]).astype(float)
    steps = np.concatenate([_step_columns(d) for *_, d in data])
    right = np.concatenate([c == m for (c, *_), m in zip(data, labels)])
    return owner, terms, other, steps, right


def _step_columns(distances: np.ndarray) -> np.ndarray:
    return np.stack([distances < 0 if k == "below" else distances == int(k) for k in STEPS], axis=1).astype(float)


def fit(data, labels, hit_power: float) -> MassWeights:
    """Maximum-likelihood weights of the conditional logit (see the module text): analytic
    gradient, L-BFGS-B from the stop-24 weights, the parity penalty at most 1, an L2 penalty
    :data:`STEP_L2` on the step factors' logarithms."""
    owner, terms, other, steps, right = _stacked(data, labels)
    reachable = np.bincount(owner, weights=right, minlength=len(data)) > 0  # the true mass has evidence
    mask = reachable[owner]
    owner, terms, other, steps, right = owner[mask], terms[mask], other[mask], steps[mask], right[mask]
    firsts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    sizes = np.diff(np.r_[firsts, owner.size])
    n = firsts.size

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = np.exp(theta[:5])
        weights = np.insert(w, 2, 1.0)
        log_penalty, beta, v = theta[5], np.exp(theta[6]), theta[7:]
        total = terms @ weights + _EPS
        x = np.log(total) + log_penalty * other + steps @ v
        u = beta * x
        top = np.maximum.reduceat(u, firsts)
        e = np.exp(u - np.repeat(top, sizes))
        z = np.add.reduceat(e, firsts)
        value = float(np.log(z).sum() + top.sum() - u[right].sum()) / n + STEP_L2 * float(v @ v)
        g = (e / np.repeat(z, sizes) - right) / n  # dloss/du
        free = np.delete(np.arange(len(TERMS)), 2)
        grad = np.r_[beta * ((g[:, None] * terms[:, free] / total[:, None]).sum(axis=0) * w),
                     beta * g @ other, g @ u, beta * (g @ steps) + 2 * STEP_L2 * v]
        return value, grad

    start = _vector(WEIGHTS)
    theta0 = np.r_[np.log(np.delete(start, 2)), np.log(WEIGHTS.parity_penalty), np.log(5.0), np.zeros(len(STEPS))]
    bounds = [(None, None)] * 5 + [(None, 0.0), (None, None)] + [(None, None)] * len(STEPS)
    result = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 1000})
    return _unpack(result.x, hit_power)


def accuracy(data, labels, weights: MassWeights) -> float:
    """Share of spectra whose highest score (the higher mass on a tie) is the true mass."""
    right = 0
    vector = _vector(weights)
    for (candidates, terms, other, distances), mass in zip(data, labels):
        scores = (terms @ vector) * np.where(other, weights.parity_penalty, 1.0) * weights.step_factors(distances)
        if len(candidates) and scores.max() > 0:
            right += candidates[len(scores) - 1 - np.argmax(scores[::-1])] == mass
    return right / max(len(labels), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swgdrug", type=Path, required=True)
    parser.add_argument("--massbank-ei", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="train_group_model.py's self-search cache")
    parser.add_argument("--hit-power", type=float, action="append", default=None,
                        help=f"only these hit powers (repeatable; default {HIT_POWERS})")
    parser.add_argument("--write", action="store_true", help=f"write {WEIGHTS_PATH.name} (all spectra)")
    args = parser.parse_args()
    rows = library_rows("swgdrug", args.swgdrug, args.cache) + library_rows("massbank-ei", args.massbank_ei, args.cache)
    labels = [r["mass"] for r in rows]
    fold = np.array([fold_of(r["block"], N_FOLDS) for r in rows])
    print(f"{len(rows)} spectra; shipped weights {tuple(WEIGHTS)}")
    best = None
    for hit_power in args.hit_power or HIT_POWERS:
        data = features(rows, hit_power)
        held = []
        for k in range(N_FOLDS):
            train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            weights = fit([data[i] for i in train], [labels[i] for i in train], hit_power)
            held.append(accuracy([data[i] for i in test], [labels[i] for i in test], weights) * len(test))
            print(f"  power {hit_power} fold {k}: {', '.join(f'{v:.3g}' for v in weights[:7])}; "
                  f"steps {weights.steps}", flush=True)
        oof = sum(held) / len(rows)
        base = accuracy(data, labels, WEIGHTS) if hit_power == WEIGHTS.hit_power else float("nan")
        print(f"hit_power {hit_power}: out-of-fold right {oof:.4f}; shipped weights at this power {base:.4f}")
        if best is None or oof > best[0]:
            best = (oof, hit_power, data)
    oof, hit_power, data = best
    weights = fit(data, labels, hit_power)
    print(f"all spectra, hit_power {hit_power}: {weights}; in-sample right {accuracy(data, labels, weights):.4f}")
    if args.write:
        shown = weights._asdict()
        text = {"about": "estimate_mass's evidence weights (nps_id/match/molecular_mass.py MassWeights), "
                         "fitted by benchmarks/train_mass_weights.py", "weights": shown}
        with atomic_output(WEIGHTS_PATH, suffix=".json") as tmp:
            Path(tmp).write_text(json.dumps(text, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

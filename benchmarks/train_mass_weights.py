"""Fit the weights of the EI molecular-mass estimate (nps_id/match/mass_weights.json) and measure them.

Training data (development libraries only): every spectrum of the SWGDRUG and MassBank EI
libraries searched against its own library (``train_group_model.py``'s self-search, its
``--cache`` folder reused), its own compound's rows dropped from its hits -- the hits a library
without the compound gives, as ``bench_novelty.py`` leaves compounds out. Label: the nominal mass
of the record's formula; records whose spectrum the formula does not explain (an ion above its
molecular-ion cluster: derivatives filed under the parent's formula) are left out.

Features: :func:`nps_id.match.molecular_mass.chunk_scores` term by term (one weight 1, the others
0) for every candidate mass with evidence, and where the nitrogen rule penalises. The estimate's
own form, ``score = sum_k w_k term_k x parity_penalty**penalised`` (offset weight 1: the scale is
free), its weights fitted for what the estimate is for -- the share of spectra whose highest score
is the true mass -- by coordinate ascent from the stop-24 weights (each weight times 0.5 .. 2 in
turn, kept when the share rises; deterministic). A conditional logit's maximum likelihood
(softmax over each spectrum's candidates) read fewer masses right (benchmarks/README.md, stop 37).

Folds: every compound is in fold ``bench_novelty.fold_of(block, 5)``; the script prints each fold's
weights and the out-of-fold share right, next to the shipped weights' on the same spectra.
``--write`` writes the weights fitted on all spectra; ``--check`` exits 1 unless they are the
shipped ones.

    PYTHONPATH=.:benchmarks python benchmarks/train_mass_weights.py --swgdrug swg.h5 \
        --massbank-ei mbei.h5 --cache DIR [--write | --check] [--no-folds]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Collection

import numpy as np

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
#: Coordinate ascent: each weight times these in turn, at most ROUNDS passes.
FACTORS, ROUNDS = (0.5, 0.7, 0.85, 1.18, 1.4, 2.0), 5
#: Where the ascent starts: stop 24's hand-set weights (not the shipped file: the fit must not
#: depend on what it wrote last).
START = MassWeights(own=0.25, weak=0.5, offset=1.0, shown=1.0, near=1.0, far=0.2, parity_penalty=0.3, hit_power=4)
#: Weights the fit leaves at their start.
HELD: tuple[str, ...] = ()


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


def _vector(weights: MassWeights) -> np.ndarray:
    """The weights as one vector: :data:`TERMS`, then the parity penalty."""
    return np.r_[[getattr(weights, t) for t in TERMS], weights.parity_penalty]


def stacked(data: list, labels: list[int]) -> dict[str, np.ndarray]:
    """Every candidate of the spectra in one array (each spectrum's contiguous, ``firsts`` where
    each starts), and which candidates are the true mass."""
    candidates = np.concatenate([c for c, *_ in data])
    sizes = [len(c) for c, *_ in data]
    return {"candidates": candidates, "terms": np.concatenate([t for _, t, _ in data]),
            "other": np.concatenate([o for *_, o in data]),
            "right": np.concatenate([c == m for (c, *_), m in zip(data, labels)]),
            "firsts": np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64), "sizes": np.array(sizes), "n": len(data)}


def share_right(s: dict[str, np.ndarray], vector: np.ndarray) -> float:
    """Share of the spectra whose highest score (the higher mass on a tie, as the estimate
    breaks it) is the true mass (:func:`_vector` weights)."""
    scores = (s["terms"] @ vector[:len(TERMS)]) * np.where(s["other"], vector[-1], 1.0)
    if not scores.size:
        return 0.0
    top = np.maximum.reduceat(scores, s["firsts"])
    best = np.maximum.reduceat(np.where(scores == np.repeat(top, s["sizes"]), s["candidates"], -1), s["firsts"])
    truth = np.maximum.reduceat(np.where(s["right"], s["candidates"], -2), s["firsts"])
    return float(((best == truth) & (top > 0)).sum()) / s["n"]


def fit(s: dict[str, np.ndarray], hit_power: float, held: Collection[str] = HELD) -> MassWeights:
    """Coordinate ascent of :func:`share_right` from :data:`START`, the ``held`` weights kept at
    their start (see the module text)."""
    vector, best = _vector(START), share_right(s, _vector(START))
    fixed = {(*TERMS, "parity_penalty").index(name) for name in ("offset", *held)}  # offset: the unit
    for _ in range(ROUNDS):
        improved = False
        for j in range(vector.size):
            if j in fixed:
                continue
            for factor in FACTORS:
                trial = vector.copy()
                trial[j] = min(trial[j] * factor, 1.0) if j == vector.size - 1 else trial[j] * factor
                share = share_right(s, trial)
                if share > best:
                    best, vector, improved = share, trial, True
        if not improved:
            break
    rounded = [round(float(v), 4) for v in vector]
    return MassWeights(**dict(zip(TERMS, rounded[:-1])), parity_penalty=rounded[-1], hit_power=hit_power)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swgdrug", type=Path, required=True)
    parser.add_argument("--massbank-ei", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="train_group_model.py's self-search cache")
    parser.add_argument("--no-folds", action="store_true", help="skip the cross-validation")
    parser.add_argument("--folds", type=Path, default=None,
                        help="write each fold's weights there (fold-mass-K.json: bench_novelty.py --mass-folds)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"write {WEIGHTS_PATH.name} (all spectra)")
    action.add_argument("--check", action="store_true", help=f"exit 1 unless the fit is {WEIGHTS_PATH.name}'s")
    args = parser.parse_args()
    rows = library_rows("swgdrug", args.swgdrug, args.cache) + library_rows("massbank-ei", args.massbank_ei, args.cache)
    labels = [r["mass"] for r in rows]
    data = features(rows, START.hit_power)
    everything = stacked(data, labels)
    print(f"{len(rows)} spectra; stop 24's weights right {share_right(everything, _vector(START)):.4f}")
    if not args.no_folds:
        fold = np.array([fold_of(r["block"], N_FOLDS) for r in rows])
        held = 0.0
        for k in range(N_FOLDS):
            train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            weights = fit(stacked([data[i] for i in train], [labels[i] for i in train]), START.hit_power)
            part = stacked([data[i] for i in test], [labels[i] for i in test])
            held += share_right(part, _vector(weights)) * len(test)
            if args.folds is not None:
                save_weights(weights, args.folds / f"fold-mass-{k}.json")
            print(f"  fold {k}: {weights[:7]}; held out right {share_right(part, _vector(weights)):.4f}, "
                  f"stop 24's {share_right(part, _vector(START)):.4f}", flush=True)
        print(f"out-of-fold right {held / len(rows):.4f}")
    weights = fit(everything, START.hit_power)
    print(f"all spectra: {weights}; right {share_right(everything, _vector(weights)):.4f}")
    if args.check and weights != WEIGHTS:
        raise SystemExit(f"the fit differs from {WEIGHTS_PATH}")
    if args.write:
        save_weights(weights, WEIGHTS_PATH)


def save_weights(weights: MassWeights, path: Path) -> None:
    """The JSON :func:`nps_id.match.molecular_mass.load_weights` reads."""
    text = {"about": "estimate_mass's evidence weights (nps_id/match/molecular_mass.py MassWeights), "
                     "fitted by benchmarks/train_mass_weights.py", "weights": weights._asdict()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(text, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

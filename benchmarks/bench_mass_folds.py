"""bench_novelty.py with each EI query's estimated mass re-ranked by the mass-model fold that never saw its compound.

The shipped re-ranker (nps_id/match/mass_model.npz) was trained on every SWGDRUG and MassBank EI
library spectrum, the SWGDRUG left-out task's own queries among them; ``train_mass_model.py
--folds DIR`` writes one model per fold of compounds (``bench_novelty.fold_of``). This runs
``bench_novelty.py`` (its arguments after ``--mass-folds DIR``) with every EI query's candidates
read by the model of its compound's fold: the query is known by its nominal spectrum (the dict
the estimate is handed), the same for the remeasured and MassBank queries.

    PYTHONPATH=.:benchmarks python benchmarks/bench_mass_folds.py --mass-folds DIR -- \\
        --swgdrug swg.h5 --massbank-ei mbei.h5 --cache DIR --group-folds DIR --details OUT.tsv
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from unittest import mock

import numpy as np

import bench_novelty
from bench_novelty import DATA, block_of, fold_of, load, remeasured

from nps_id.io import read
from nps_id.match import mass_model
from nps_id.match.molecular_mass import nominal_spectrum

N_FOLDS = 5


def query_folds(swgdrug: Path, massbank_ei: Path) -> dict[tuple, int]:
    """Nominal spectrum (as items) -> its compound's fold, for every EI query of the bench."""
    _, spectra = load(swgdrug)
    queries = spectra + remeasured(spectra)
    for name in ("ei-queries-identity.msp.gz", "ei-queries-analog.msp.gz"):
        queries += list(read(DATA / "massbank" / name))
    return {tuple(nominal_spectrum(q.mz, q.intensity).items()): fold_of(block_of(q), N_FOLDS) for q in queries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mass-folds", type=Path, required=True, help="train_mass_model.py --folds DIR")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="bench_novelty.py's arguments (after --)")
    args = parser.parse_args()
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    models = [mass_model.load_model(args.mass_folds / f"fold-mass-{k}.npz") for k in range(N_FOLDS)]
    known = query_folds(Path(rest[rest.index("--swgdrug") + 1]), Path(rest[rest.index("--massbank-ei") + 1]))
    shipped = mass_model.rerank

    def by_fold(masses, scores, own, relatives, hits, model):
        out = np.empty(len(masses), dtype=masses.dtype)
        fold = np.array([known.get(tuple(r.items()), -1) for r in relatives])
        if (fold < 0).any():
            raise SystemExit("a query the fold map does not know")
        for k in np.unique(fold).tolist():
            rows = np.flatnonzero(fold == k)
            out[rows] = shipped(masses[rows], scores[rows], own[rows], [relatives[i] for i in rows],
                                [hits[i] for i in rows], models[k])
        return out

    with mock.patch.object(mass_model, "rerank", by_fold), mock.patch.object(sys, "argv", [sys.argv[0], *rest]):
        bench_novelty.main()


if __name__ == "__main__":
    main()

"""Measure a learned MS/MS spectrum embedding as analogue-confidence evidence (issue 18, item 5).

Measured, not shipped (benchmarks/README.md, "Analogue confidence", the embedding subsection).
The embedding predicts a spectrum's compound's Morgan fingerprint (RDKit, radius 2, 2,048
bits), the simpler cousin of MS2DeepScore's siamese network: a one-hidden-layer perceptron
(sklearn ``MLPRegressor``, ReLU, :data:`HIDDEN` units, fixed seed) maps a binned spectrum
(:func:`binned`: square-root intensities, fragments at 1 Da to m/z 1,000, neutral losses from
the precursor at 1 Da to 250 Da at half weight, fragments at 0.02 Da hashed into
:data:`FINE_BINS` bins for the mass defect) to the :data:`COMPONENTS` leading SVD components of
the fingerprint. Two cosines then predict structural similarity: the unknown's embedding with a
hit spectrum's embedding (``emb``) and with the hit compound's true fingerprint components
(``fp``).

Trained on the MassBank MS/MS library **without** the compounds of the dev identity queries
(InChIKey first block), so that those queries, searched with their compound removed, measure it
on compounds it never saw; the analogue query file's compounds are in no library. Measures:

1. pairs (each query and its first :data:`~nps_id.search.analogue_confidence.CONSENSUS_K`
   compounds): Pearson correlation with the true Tanimoto of the modified cosine and the two
   embedding cosines;
2. the mean top-1 Tanimoto of the 10/20/35/50/100 % most confident queries ordered by each cosine
   alone, and by the shipped 16-feature logistic model with the embedding's features added
   (grouped 5-fold CV by compound; the model of all dev queries on the analogue file);
3. MS2Query's candidate re-choice of ``train_analogue_confidence.py`` with the embedding's two
   cosines as per-candidate features.

    PYTHONPATH=. python benchmarks/bench_spectrum_embedding.py --massbank-ms2 mbms2.h5 --cache DIR

``--cache`` shares ``train_analogue_confidence.py``'s searched sets (``*-v5.npz``). Run with one
thread (``OMP_NUM_THREADS=1``): about 5 minutes on a quiet 2-core machine, most of it training.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from nps_id.io import read
from nps_id.library import Library
from nps_id.search.analogue_confidence import fingerprint
from nps_id.search.reference import Reference
from train_analogue_confidence import (
    DATA, as_model, at_fractions, candidate_rows, fit, fit_trees, grouped_cv, load_sets, rechosen, table,
)

MZ_BINS, LOSS_BINS, FINE_BINS = 1000, 250, 4096
#: Fingerprint SVD components the embedding predicts, and the perceptron's hidden units.
COMPONENTS, HIDDEN = 128, 512
EPOCHS = 15
SEED = 0


def binned(offsets: np.ndarray, mz: np.ndarray, intensity: np.ndarray, precursor_mz: np.ndarray) -> sp.csr_matrix:
    """Spectra in CSR form (``offsets``, ``mz``, ``intensity``) as unit-length rows of binned
    square-root intensities (each spectrum's highest 1): fragments (1 Da), neutral losses from
    ``precursor_mz`` (1 Da, half weight) and fragments at 0.02 Da hashed into :data:`FINE_BINS`."""
    n = offsets.size - 1
    row = np.repeat(np.arange(n), np.diff(offsets))
    w = np.sqrt(np.maximum(intensity.astype(np.float64), 0.0))
    top = np.zeros(n)
    np.maximum.at(top, row, w)
    w = w / np.where(top[row] > 0, top[row], 1.0)
    width = MZ_BINS + LOSS_BINS + FINE_BINS
    nominal = np.floor(mz + 0.5).astype(np.int64)
    keep = (nominal >= 0) & (nominal < MZ_BINS)
    loss = precursor_mz[row] - mz
    lost = np.isfinite(loss) & (loss > 0.5) & (loss < LOSS_BINS - 0.5)
    fine = np.floor(mz * 100 + 0.5).astype(np.int64) // 2 % FINE_BINS
    cols = np.concatenate([nominal[keep], MZ_BINS + np.floor(loss[lost] + 0.5).astype(np.int64),
                           MZ_BINS + LOSS_BINS + fine])
    rows = np.concatenate([row[keep], row[lost], row])
    vals = np.concatenate([w[keep], 0.5 * w[lost], w])
    x = sp.csr_matrix((vals, (rows, cols)), shape=(n, width))  # duplicates summed
    x.data = np.minimum(x.data, 1.0)
    norm = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return sp.diags(1.0 / np.where(norm > 0, norm, 1.0)) @ x


def unit(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def of_spectra(spectra: list) -> sp.csr_matrix:
    offsets = np.concatenate([[0], np.cumsum([s.mz.size for s in spectra])])
    precursor = np.array([np.nan if s.precursor_mz is None else s.precursor_mz for s in spectra], dtype=float)
    return binned(offsets, np.concatenate([s.mz for s in spectra]), np.concatenate([s.intensity for s in spectra]),
                  precursor)


def train(reference: Reference, held_out: set[str]):
    """The embedding (fitted SVD of fingerprints, perceptron), the unit fingerprint components of
    every library row (zeros without a structure) and the rows' unit embeddings."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    smiles = reference.columns["smiles"].astype(str)
    names, which = np.unique(smiles, return_inverse=True)
    packed = [fingerprint(s) for s in names]
    bits = np.array([np.zeros(2048) if p is None else np.unpackbits(p) for p in packed], dtype=np.float32)
    has = np.array([p is not None for p in packed])
    svd = TruncatedSVD(n_components=COMPONENTS, random_state=SEED).fit(bits[has])
    target = np.where(has[which][:, None], svd.transform(bits)[which], 0.0)
    blocks = np.array([str(k or "")[:14].upper() for k in reference.columns["inchikey"]])
    rows = has[which] & ~np.isin(blocks, sorted(held_out))
    x = binned(reference.peaks.offsets, reference.peaks.mz, reference.peaks.intensity,
               reference.columns["precursor_mz"])
    net = MLPRegressor(hidden_layer_sizes=(HIDDEN,), batch_size=256, max_iter=EPOCHS, random_state=SEED)
    with warnings.catch_warnings():  # a fixed number of epochs, not convergence, is the plan
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(x[rows], target[rows])
    print(f"embedding trained on {int(rows.sum())} of {rows.size} library spectra", flush=True)
    return net, unit(target), unit(net.predict(x))


def cosines(embedded: np.ndarray, rows: np.ndarray, lib_fp: np.ndarray, lib_emb: np.ndarray) -> np.ndarray:
    """Per query and candidate (``rows``, -1 padded): the ``fp`` and ``emb`` cosines, NaN padded,
    shape ``(n, k, 2)``."""
    valid = rows >= 0
    r = np.where(valid, rows, 0)
    out = np.stack([np.einsum("nkd,nd->nk", lib_fp[r], embedded), np.einsum("nkd,nd->nk", lib_emb[r], embedded)], 2)
    return np.where(valid[:, :, None], out, np.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--massbank-ms2", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None, help="train_analogue_confidence.py's cache (npz)")
    args = parser.parse_args()
    names = ("massbank-ms2", "ms2-analog")
    sets = load_sets(SimpleNamespace(cache=args.cache, swgdrug=None, massbank_ei=None,
                                     massbank_ms2=args.massbank_ms2), names)
    queries = {name: list(read(DATA / "massbank" / f"{file}.msp.gz"))
               for name, file in (("massbank-ms2", "ms2-queries-identity"), ("ms2-analog", "ms2-queries-analog"))}
    with Library.open(args.massbank_ms2) as lib:
        reference = Reference.from_library(lib)
    # every compound of the dev identity file, also those of queries without a structure (not measured)
    net, lib_fp, lib_emb = train(reference, {str(q.get("inchikey") or "")[:14].upper() for q in queries["massbank-ms2"]})
    rows, pairs = [], []
    for name in names:
        d = sets[name]
        embedded = unit(net.predict(of_spectra([queries[name][q] for q in d["query"]])))
        d["cos"] = cosines(embedded, d["rows"], lib_fp, lib_emb)
        valid = d["rows"] >= 0
        tk = d["tk"][valid]
        pairs.append((name, int(valid.sum()), *(np.corrcoef(tk, v)[0, 1] for v in
                                                (d["similarity"][valid], d["cos"][valid][:, 1], d["cos"][valid][:, 0]))))
        for label, key in (("modified cosine", d["similarity"][:, 0]), ("embedding cosine (emb)", d["cos"][:, 0, 1]),
                           ("embedding-fingerprint cosine (fp)", d["cos"][:, 0, 0])):
            rows.append((name, label, d["y"].size, at_fractions(key, d["y"])))
        following = np.where(np.isnan(d["cos"][:, 1:, 0]), -np.inf, d["cos"][:, 1:, 0]).max(axis=1)
        lead = d["cos"][:, 0, 0] - np.where(np.isfinite(following), following, 0.0)  # 0 when no other compound
        d["extra"] = np.c_[d["cos"][:, 0, 0], d["cos"][:, 0, 1], lead]
    cv, held = sets["massbank-ms2"], sets["ms2-analog"]
    for label, extra in (("logistic, 16 features (shipped)", slice(0, 0)),
                         ("logistic, + fp and emb cosines of the top hit, fp lead over the next", slice(0, 3))):
        x, xa = np.hstack([cv["x"], cv["extra"][:, extra]]), np.hstack([held["x"], held["extra"][:, extra]])
        rows.append(("massbank-ms2 (compound removed)", label + ", grouped CV", cv["y"].size,
                     at_fractions(grouped_cv(x, cv["y"], cv["group"]), cv["y"])))
        final = as_model({"k": fit(x, cv["y"])}).predict("k", xa)
        rows.append(("ms2-analog", label, held["y"].size, at_fractions(final, held["y"])))
    from sklearn.model_selection import GroupKFold

    for label, extra in (("candidate re-choice, trees", slice(0, 0)), ("candidate re-choice, trees + fp, emb", slice(0, 2))):
        x, y, q = candidate_rows(np.concatenate([cv["candidates"], cv["cos"][:, :, extra]], axis=2), cv["tk"])
        pred = np.zeros(y.size)
        for tr, te in GroupKFold(n_splits=5).split(x, y, cv["group"][q]):
            pred[te] = fit_trees(x[tr], y[tr]).predict(x[te])
        rows.append(("massbank-ms2 (compound removed)", label + ", grouped CV", cv["y"].size,
                     at_fractions(*rechosen(pred, y, q, cv["y"].size))))
        hx, hy, hq = candidate_rows(np.concatenate([held["candidates"], held["cos"][:, :, extra]], axis=2), held["tk"])
        rows.append(("ms2-analog", label, held["y"].size,
                     at_fractions(*rechosen(fit_trees(x, y).predict(hx), hy, hq, held["y"].size))))
    print("| set | pairs | modified cosine | emb | fp |\n|---|---:|---:|---:|---:|")
    for name, n, *r in pairs:
        print(f"| {name} | {n} | " + " | ".join(f"{v:.3f}" for v in r) + " |")
    print()
    print(table(rows))


if __name__ == "__main__":
    main()

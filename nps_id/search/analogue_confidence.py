"""Analogue confidence: how structurally close an analogue search's top hit probably is.

An analogue search always returns a closest library compound; what the analyst needs is how far
to trust it. ``analogue_confidence`` is a per-query number on 0-1: the **predicted Morgan
Tanimoto** (RDKit, radius 2, 2,048 bits) between the unknown's structure and its top analogue
hit's. It is predicted, per spectrum kind (EI, MS/MS), by a small model trained on the
development libraries (``benchmarks/train_analogue_confidence.py``: SWGDRUG and MassBank
queries searched with their own compound removed; weights in ``analogue_confidence.json``,
evaluated with numpy alone). Measured orderings: docs/search.md, "Analogue confidence".

The model reads what a chemist would read from the hit list (:data:`FEATURES`):

- the top hit's spectral similarity (modified cosine) and analogue score, its lead over the next
  compound's best hit, and the mean similarity of the next compounds' best hits;
- the share of the unknown's intensity the top hit explains (fragments direct or shifted by the
  mass difference) and how many peaks that is;
- the mass difference (log), whether it is a listed NPS modification, or zero (an isomer);
- the unknown's mass (precursor m/z; EI: highest m/z at >= 2 % of the base peak) and peak count;
- **structure consensus**: how similar the top hit's structure is to those of the next
  :data:`CONSENSUS_K` - 1 compounds among the hits (similarity-weighted mean Morgan Tanimoto,
  and the best of them) and how alike the first five compounds are to each other, as MS2Query
  reads "the structures of the closest hits": when ten close spectra all belong to one family,
  the unknown very probably does too (compounds, not spectra: one compound may fill many ranks);
- whether the top hit has a structure at all, and how many of the hits are its compound's spectra.

Entry points
------------
- :data:`SEARCH_TOP`, :data:`CONSENSUS_K` -- hits per query the features read (search at least
  ``SEARCH_TOP``), and distinct compounds among them.
- :func:`query_features` -- the feature vector of one query's ranked hits.
- :func:`confidences` -- the confidence of every query of a :class:`~nps_id.search.settings.Hits`.
- :func:`analogue_search` -- search and confidence together, as the commands run them.
- :class:`ConfidenceModel` -- the shipped model (:meth:`ConfidenceModel.load`, :meth:`~ConfidenceModel.predict`).
- :class:`HitStructures` -- compounds and Morgan fingerprints of library rows (RDKit, once per row);
  :func:`fingerprint`, :func:`tanimoto` -- the same for one SMILES, and their similarity.
- :func:`matched_peaks` -- which of the unknown's peaks a hit's match, directly or shifted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nps_id.compound import skeleton

#: Hits per query the features read (search at least this many: a compound may fill many ranks
#: with spectra at several collision energies).
SEARCH_TOP = 50
#: Distinct compounds among them the consensus reads: the top hit's and up to ``CONSENSUS_K - 1`` others.
CONSENSUS_K = 10
#: The model file shipped beside this module.
MODEL_PATH = Path(__file__).with_name("analogue_confidence.json")
#: Feature names, in the model's column order.
FEATURES: tuple[str, ...] = (
    "similarity_1", "score_1", "similarity_gap_2", "similarity_mean_rest", "explained_share",
    "explained_peaks_log", "delta_mass_log", "listed_shift", "isomer_shift", "mass_per_1000", "peaks_log",
    "consensus_mean", "consensus_max", "consensus_top5", "has_structure", "top_compound_spectra_log",
)
#: Fragment tolerance (Da) for the explained share: MS/MS; EI peaks are compared at nominal mass.
_MS2_TOLERANCE_DA = 0.2
_FP_BITS = 2048


class HitStructures:
    """What the features read of library rows: their peaks, their compound (InChIKey first
    block, else SMILES, else the row itself) and their Morgan fingerprint (radius 2, 2,048 bits,
    packed ``uint8``; made once per row; None without a readable structure)."""

    def __init__(self, reference: Any) -> None:
        self.peaks = reference.peaks
        self._smiles = reference.columns["smiles"]
        self._inchikey = reference.columns["inchikey"]
        self._cache: dict[int, np.ndarray | None] = {}

    def compound(self, row: int) -> str:
        return skeleton(self._inchikey[row]) or str(self._smiles[row] or "") or f"row {row}"

    def fingerprint(self, row: int) -> np.ndarray | None:
        if row not in self._cache:
            self._cache[row] = fingerprint(str(self._smiles[row] or ""))
        return self._cache[row]


@lru_cache(maxsize=1)
def _morgan() -> Any:
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=_FP_BITS)


def fingerprint(smiles: str) -> np.ndarray | None:
    """The packed Morgan fingerprint (radius 2, 2,048 bits) of a SMILES; None when empty or
    unreadable."""
    if not smiles:
        return None
    from rdkit import Chem, rdBase

    with rdBase.BlockLogs():  # an unreadable library SMILES has no fingerprint, unsaid (this call only: stop 45)
        mol = Chem.MolFromSmiles(smiles)
    generator = _morgan()
    return None if mol is None else np.packbits(generator.GetFingerprintAsNumPy(mol).astype(bool))


def tanimoto(a: np.ndarray, b: np.ndarray) -> float:
    """Tanimoto of two packed fingerprints (0 when both are empty)."""
    both = int(np.unpackbits(a & b).sum())
    either = int(np.unpackbits(a | b).sum())
    return both / either if either else 0.0


def matched_peaks(query_mz: np.ndarray, ref_mz: np.ndarray, delta: float, ei: bool) -> np.ndarray:
    """Which query peaks a reference peak matches directly or shifted by ``delta`` (query minus
    reference mass): EI at nominal mass, MS/MS within 0.2 Da."""
    if query_mz.size == 0 or ref_mz.size == 0:
        return np.zeros(query_mz.size, dtype=bool)
    half = 0.5 if ei else _MS2_TOLERANCE_DA
    q = np.round(query_mz) if ei else query_mz
    # sentinels at both ends: every query peak has a reference neighbour on each side
    r = np.concatenate(([-np.inf], np.sort(np.round(ref_mz) if ei else ref_mz), [np.inf]))
    hit = np.zeros(q.size, dtype=bool)
    for shift in {0.0, float(np.nan_to_num(delta))}:
        target = q - shift
        pos = np.searchsorted(r, target)
        hit |= np.minimum(r[pos] - target, target - r[pos - 1]) < half
    return hit


def _explained(query_mz: np.ndarray, query_int: np.ndarray, ref_mz: np.ndarray, delta: float,
               ei: bool) -> tuple[float, int]:
    """Share of the query's intensity, and number of its peaks, matched by a reference peak
    directly or shifted by ``delta`` (:func:`matched_peaks`)."""
    hit = matched_peaks(query_mz, ref_mz, delta, ei)
    total = float(query_int.sum())
    return (float(query_int[hit].sum()) / total if total > 0 else 0.0), int(hit.sum())


def query_mass(spectrum: Any) -> float:
    """The unknown's mass for the features: MS/MS precursor m/z; EI the highest m/z at >= 2 % of
    the base peak (the search's molecular-ion estimate)."""
    prec = spectrum.precursor_mz if spectrum.ms_level == 2 else None
    if prec is not None and np.isfinite(prec):
        return float(prec)
    if spectrum.mz.size == 0:
        return 0.0
    return float(spectrum.mz[spectrum.intensity >= 0.02 * spectrum.intensity.max()].max())


def distinct_compounds(rows: np.ndarray, structures: HitStructures) -> np.ndarray:
    """Positions of each compound's best hit among ranked ``rows``, the first :data:`CONSENSUS_K`."""
    seen: set[str] = set()
    keep = []
    for i, row in enumerate(rows.tolist()):
        key = structures.compound(row)
        if key not in seen:
            seen.add(key)
            keep.append(i)
            if len(keep) == CONSENSUS_K:
                break
    return np.array(keep, dtype=np.int64)


def query_features(spectrum: Any, rows: np.ndarray, similarity: np.ndarray, score: np.ndarray,
                   delta: np.ndarray, shift: np.ndarray, structures: HitStructures) -> np.ndarray:
    """The :data:`FEATURES` of one query from its ranked analogue hits (best first; the first
    :data:`SEARCH_TOP` are read, and of them the best hit of each of :data:`CONSENSUS_K`
    compounds).

    Parameters
    ----------
    spectrum : Spectrum
        The unknown.
    rows, similarity, score, delta, shift : arrays
        Its hits' library rows, spectral similarity (0-1), analogue score (0-1), mass difference
        (query minus hit, Da; NaN unknown) and listed-shift code (-1 none, 0 isomer), rank order.
    structures : HitStructures
        Of the library.
    """
    rows = rows[:SEARCH_TOP]
    top_compound = structures.compound(int(rows[0]))
    same = sum(structures.compound(int(r)) == top_compound for r in rows.tolist())
    pick = distinct_compounds(rows, structures)
    rows, sim = rows[pick], similarity[pick]
    k = rows.size
    ei = spectrum.ms_level != 2
    share, n_matched = _explained(spectrum.mz, spectrum.intensity, structures.peaks.row(int(rows[0]))[0], delta[0], ei)
    fps = [structures.fingerprint(int(r)) for r in rows]
    first = fps[0]
    consensus_mean = consensus_max = consensus_top5 = 0.0
    if first is not None:
        pairs = [(tanimoto(first, fp), w) for fp, w in zip(fps[1:], sim[1:]) if fp is not None]
        if pairs:
            t, w = np.array(pairs).T
            consensus_mean = float((t * w).sum() / w.sum()) if w.sum() > 0 else float(t.mean())
            consensus_max = float(t.max())
    five = [fp for fp in fps[:5] if fp is not None]
    if len(five) > 1:
        consensus_top5 = float(np.mean([tanimoto(a, b) for i, a in enumerate(five) for b in five[i + 1:]]))
    dm = float(np.nan_to_num(abs(delta[0])))
    return np.array([
        sim[0], score[0], sim[0] - (sim[1] if k > 1 else 0.0), float(sim[1:].mean()) if k > 1 else 0.0,
        share, np.log1p(n_matched), np.log1p(dm), float(shift[0] >= 0), float(shift[0] == 0),
        query_mass(spectrum) / 1000.0, np.log1p(spectrum.mz.size), consensus_mean, consensus_max, consensus_top5,
        float(first is not None), np.log1p(same),
    ])


@dataclass(frozen=True)
class ConfidenceModel:
    """Per spectrum kind (``"ei"``, ``"ms2"``): a logistic model of the Tanimoto on standardised
    features, ``sigmoid(intercept + coef . (x - mean) / scale)``, read from the shipped JSON."""

    models: dict[str, dict[str, np.ndarray | float]]

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "ConfidenceModel":
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(doc["features"]) != FEATURES:
            raise ValueError(f"{path}: the model's features {doc['features']} are not this code's {list(FEATURES)}")
        models = {kind: {k: (np.asarray(v, dtype=np.float64) if isinstance(v, list) else float(v))
                         for k, v in m.items()} for kind, m in doc["models"].items()}
        return cls(models)

    def predict(self, kind: str, x: np.ndarray) -> np.ndarray:
        """Confidence (0-1) for each row of ``x`` (shape ``(n, len(FEATURES))``)."""
        m = self.models[kind]
        z = m["intercept"] + ((np.atleast_2d(x) - m["mean"]) / m["scale"]) @ m["coef"]
        return 1.0 / (1.0 + np.exp(-z))


@lru_cache(maxsize=1)
def shipped_model() -> ConfidenceModel:
    """The model shipped with nps-id (read once per process)."""
    return ConfidenceModel.load()


def confidences(spectra: Sequence[Any], hits: Any, reference: Any, structures: HitStructures | None = None,
                model: ConfidenceModel | None = None) -> np.ndarray:
    """``analogue_confidence`` per query position of ``spectra``, rounded to 3 decimals once here
    (what is printed is what the verdict compares; NaN for a query without hits), from
    analogue-mode ``hits`` (sorted by query and rank; searched with ``top_k`` at least
    :data:`SEARCH_TOP` for the consensus features to mean what they were trained on)."""
    model = model or shipped_model()
    structures = structures or HitStructures(reference)
    out = np.full(len(spectra), np.nan)
    bounds = np.searchsorted(hits.query, np.arange(len(spectra) + 1))
    for q in np.flatnonzero(np.diff(bounds)):
        sl = slice(bounds[q], bounds[q + 1])
        x = query_features(spectra[q], hits.row[sl], hits.similarity[sl], hits.score[sl], hits.delta_mass[sl],
                           hits.delta_shift[sl], structures)
        out[q] = model.predict("ei" if spectra[q].ms_level != 2 else "ms2", x)[0]
    return np.round(out, 3)


def analogue_search(queries: Sequence[Any], library: Any, settings: Any) -> tuple[Any, np.ndarray]:
    """An analogue search as ``nps-id search`` and ``nps-id match`` run it: at least
    :data:`SEARCH_TOP` hits per query searched for the confidence, ``settings.top_k`` kept.

    Parameters
    ----------
    queries : sequence of Spectrum
    library : Reference or PreparedLibrary
    settings : SearchSettings
        Analogue mode.

    Returns
    -------
    (Hits, confidence per query position) -- :func:`confidences`.
    """
    from dataclasses import replace

    from nps_id.search.engine import search

    top = max(settings.top_k, SEARCH_TOP)  # and never fewer prefiltered candidates than that
    hits = search(queries, library, replace(settings, top_k=top, analog_prefilter=max(settings.analog_prefilter, top)))
    reference = getattr(library, "reference", library)  # a PreparedLibrary holds its Reference
    return hits.top(settings.top_k), confidences(queries, hits, reference)

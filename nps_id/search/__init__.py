"""Spectral search: preprocessing, similarity scores, index and engine.

Map
---
- :mod:`nps_id.search.preprocess` -- EI nominal-mass binning (:func:`preprocess_ei`) and MS/MS
  cleaning identical to ms_entropy's (:func:`clean_ms2`).
- :mod:`nps_id.search.kernels` -- pure numba/NumPy kernels over arrays; bulk entry point for the
  engine: :func:`composite_mf_many` (EI MF and RMF of one query against many references).
- :mod:`nps_id.search.scores` -- thin score classes with ``pair``/``matrix``/``to_dict`` returning
  :class:`ScoreResult`: :class:`CompositeMatchFactor`, :class:`Cosine`, :class:`ModifiedCosine`,
  :class:`EntropySimilarity`, :class:`HybridEntropy`.
- :mod:`nps_id.search.index` / :mod:`nps_id.search.engine` -- the search index and batched engine.

Formulas, scales, parameters and citations of every score: ``docs/scores.md``.
"""
from nps_id.search.kernels import composite_mf_many, composite_parts_many
from nps_id.search.preprocess import bin_nominal, clean_ms2, nominal_mass, preprocess_ei
from nps_id.search.scores import (
    CompositeMatchFactor,
    Cosine,
    EntropySimilarity,
    HybridEntropy,
    ModifiedCosine,
    ScoreResult,
    to_999,
)

__all__ = [
    "CompositeMatchFactor",
    "Cosine",
    "EntropySimilarity",
    "HybridEntropy",
    "ModifiedCosine",
    "ScoreResult",
    "bin_nominal",
    "clean_ms2",
    "composite_mf_many",
    "composite_parts_many",
    "nominal_mass",
    "preprocess_ei",
    "to_999",
]

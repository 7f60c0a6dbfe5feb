"""Spectral search: preprocessing, similarity scores, index and engine.

Map
---
- :mod:`nps_id.search.preprocess` -- EI nominal-mass binning (:func:`preprocess_ei`) and MS/MS
  cleaning identical to ms_entropy's (:func:`clean_ms2`).
- :mod:`nps_id.search.kernels` -- pure numba/NumPy kernels over arrays.
- :mod:`nps_id.search.scores` -- the score registry, one module per score; each score is one
  object with ``pair``/``matrix``/``to_dict`` that the engine also runs: :class:`CompositeMatchFactor`,
  :class:`ReverseMatchFactor`, :class:`DotProduct`, :class:`Cosine`, :class:`ModifiedCosine`,
  :class:`EntropySimilarity`, :class:`HybridEntropy`.
- :mod:`nps_id.search.index` -- the search indexes; :mod:`nps_id.search.prepared` -- a library
  made ready once; :mod:`nps_id.search.engine` -- batching and threads, with
  :mod:`~nps_id.search.ei`, :mod:`~nps_id.search.ms2` and :mod:`~nps_id.search.ranking`;
  :mod:`nps_id.search.settings` -- settings and results.

Formulas, scales, parameters and citations of every score: ``docs/scores.md``.
"""
from nps_id.search.kernels import composite_mf_many, composite_parts_many
from nps_id.search.preprocess import bin_nominal, clean_ms2, nominal_mass, preprocess_ei
from nps_id.search.scores import (
    CompositeMatchFactor,
    Cosine,
    DotProduct,
    EntropySimilarity,
    HybridEntropy,
    ModifiedCosine,
    ReverseMatchFactor,
    ScoreResult,
    to_999,
)

__all__ = [
    "CompositeMatchFactor",
    "Cosine",
    "DotProduct",
    "EntropySimilarity",
    "HybridEntropy",
    "ModifiedCosine",
    "ReverseMatchFactor",
    "ScoreResult",
    "bin_nominal",
    "clean_ms2",
    "composite_mf_many",
    "composite_parts_many",
    "nominal_mass",
    "preprocess_ei",
    "to_999",
]

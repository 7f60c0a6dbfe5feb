"""Spectral search: preprocessing, similarity scores, index and engine.

Map
---
- :mod:`nps_id.search.preprocess` -- EI nominal-mass binning (:func:`preprocess_ei`) and MS/MS
  cleaning.
- :mod:`nps_id.search.kernels` -- pure numba/NumPy kernels over arrays (bulk entry point for the
  engine: :func:`~nps_id.search.kernels.composite_mf_many`).
- :mod:`nps_id.search.scores` -- thin score classes with ``pair``/``matrix``/``to_dict`` returning
  :class:`ScoreResult`.
- ``index`` / ``engine`` -- the search index and batched engine.

Formulas and citations for every score: ``docs/scores.md``.
"""
from nps_id.search.kernels import composite_mf_many, composite_parts_many
from nps_id.search.preprocess import bin_nominal, nominal_mass, preprocess_ei
from nps_id.search.scores import CompositeMatchFactor, ScoreResult, to_999

__all__ = [
    "CompositeMatchFactor",
    "ScoreResult",
    "bin_nominal",
    "composite_mf_many",
    "composite_parts_many",
    "nominal_mass",
    "preprocess_ei",
    "to_999",
]

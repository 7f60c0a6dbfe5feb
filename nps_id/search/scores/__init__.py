"""The score registry: every similarity score nps-id offers, one module each.

A score is one frozen dataclass (:class:`~nps_id.search.scores.base.Score`): its fields are the
parameters with the defaults that ``nps-id search``, ``nps-id match`` and the engine use, and it
declares its name, spectrum kinds and modes. The CLI ``--score`` choices, the validation of
:class:`~nps_id.search.settings.SearchSettings` and the table in ``docs/scores.md`` are read from
:data:`REGISTRY`. Adding a score: one module here (a :class:`Score` subclass) listed in
:data:`REGISTRY`, plus its row in ``docs/scores.md`` (a test checks the table against the registry).

Every score offers ``pair(a, b) -> ScoreResult``, ``matrix(queries, references)`` and
``to_dict()``. Formulas, scales and citations: ``docs/scores.md``.

Entry points
------------
- :data:`REGISTRY`, :func:`get`, :func:`names`, :func:`default`.
- The scores: :class:`CompositeMatchFactor`, :class:`ReverseMatchFactor`, :class:`DotProduct`,
  :class:`Cosine`, :class:`ModifiedCosine`, :class:`EntropySimilarity`, :class:`HybridEntropy`.
- :class:`ScoreResult`, :func:`to_999`, :func:`to_999_column`.
"""
from __future__ import annotations

from nps_id.search.scores.base import KINDS, MODES, Candidates, Score, ScoreResult, to_999, to_999_column
from nps_id.search.scores.composite import CompositeMatchFactor, ReverseMatchFactor
from nps_id.search.scores.cosine import Cosine
from nps_id.search.scores.dot import DotProduct
from nps_id.search.scores.entropy import EntropySimilarity
from nps_id.search.scores.hybrid_entropy import HybridEntropy
from nps_id.search.scores.modified_cosine import ModifiedCosine

#: Every score by name, in the order ``--help`` and the docs list them.
REGISTRY: dict[str, type[Score]] = {
    cls.name: cls
    for cls in (CompositeMatchFactor, ReverseMatchFactor, DotProduct, Cosine, ModifiedCosine,
                EntropySimilarity, HybridEntropy)
}


def get(name: str) -> type[Score]:
    """The score class registered as ``name`` (``KeyError`` names the choices)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no score {name!r}; choose from {list(REGISTRY)}") from None


def names(kind: str | None = None, mode: str | None = None) -> tuple[str, ...]:
    """Registered score names serving ``kind`` and ``mode`` (None: any), in registry order."""
    return tuple(name for name, cls in REGISTRY.items()
                 if any(kind in (None, k) and mode in (None, m) for k, m in cls.serves))


def default(kind: str, mode: str) -> str:
    """The score a search of ``kind`` spectra in ``mode`` uses when none is asked for (the one
    whose ``default_for`` lists them)."""
    return next(name for name, cls in REGISTRY.items() if (kind, mode) in cls.default_for)


__all__ = [
    "KINDS", "MODES", "REGISTRY", "Candidates", "CompositeMatchFactor", "Cosine", "DotProduct",
    "EntropySimilarity", "HybridEntropy", "ModifiedCosine", "ReverseMatchFactor", "Score",
    "ScoreResult", "default", "get", "names", "to_999", "to_999_column",
]

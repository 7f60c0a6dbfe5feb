"""A library made ready for searching, once: indexes, compound codes, and what each score needs.

Everything a search derives from the library -- the indexes, compound and formula codes, and per
index the composite weights, molecular-ion estimates and whatever a score's
:meth:`~nps_id.search.scores.base.Score.prepare` returns -- is kept in one explicit object the
caller owns and passes to every :func:`~nps_id.search.engine.search` (nothing is attached to the
frozen index or reference objects).

Entry points
------------
- :class:`PreparedLibrary` -- ``PreparedLibrary(reference, settings)`` or with prebuilt indexes.
- :class:`SearchContext` -- one search's settings and library, as the kind modules receive them.
- :func:`formula_codes` -- the formula code of every library row, as the ranking compares them.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from nps_id.search.index import FragmentIndex, NominalIndex, load_indexes
from nps_id.search.reference import Reference
from nps_id.search.scores import Score
from nps_id.search.settings import SearchSettings


def formula_codes(formula: np.ndarray) -> np.ndarray:
    """An integer per library row, equal for equal formulas (-1: none); numbered in order of
    appearance (codes are only compared: no sort of the strings)."""
    values = list(map(str, formula.tolist()))
    # dict.fromkeys keeps first appearances in order; both maps run in C (a Python loop over the
    # 69,220 rows of MassBank MS/MS cost a one-spectrum search ~0.02 s)
    codes = {f: code for code, f in enumerate(f for f in dict.fromkeys(values) if f != "")}
    codes[""] = -1
    return np.fromiter(map(codes.__getitem__, values), dtype=np.int64, count=len(values))


def index_parameters(settings: SearchSettings) -> dict[str, dict[str, float]]:
    """The :func:`~nps_id.search.index.load_indexes` parameters ``settings`` ask for."""
    return {"ei": {"mz_power": settings.mz_power, "intensity_power": settings.intensity_power,
                   "min_mz": settings.min_mz, "noise": settings.ei_noise},
            "ms2": {"noise": settings.noise}}


class PreparedLibrary:
    """A reference with its indexes and the per-index data searches reuse, made on first use.

    Parameters
    ----------
    reference
        The library.
    settings
        Used only to load indexes with the right parameters when ``indexes`` is None.
    indexes
        Prebuilt indexes (:func:`~nps_id.search.index.load_indexes`).
    """

    def __init__(self, reference: Reference, settings: SearchSettings | None = None,
                 indexes: dict[str, NominalIndex | FragmentIndex] | None = None) -> None:
        self.reference = reference
        self.indexes = indexes if indexes is not None else load_indexes(
            reference, **index_parameters(settings or SearchSettings()))
        # Compound code (InChIKey first block, else normalised name) of every row: string work
        # that took ~25 ms of every search of MassBank EI, done once (and kept in the cache folder).
        self.compound = reference.compound()
        self._made: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    @functools.cached_property
    def formula(self) -> np.ndarray:
        """Formula code of every row (-1: none; :func:`formula_codes`),
        made once, when a batch of many queries is first ranked."""
        return formula_codes(self.reference.columns["formula"])

    def formula_of(self, rows: np.ndarray) -> np.ndarray:
        """Formula codes by library row, equal for equal formulas among ``rows`` (-1 elsewhere):
        all the ranking of those candidates compares. Until :attr:`formula` is made, only those
        rows' formulas are coded: a one-spectrum search against the 69,220 rows of MassBank
        MS/MS coded every row's (~0.03 s)."""
        if "formula" in self.__dict__:
            return self.formula
        wanted = np.array(sorted(set(np.asarray(rows).ravel().tolist())), dtype=np.int64)  # (np.unique: numpy.ma's import)
        codes = np.full(self.reference.n_spectra, -1, dtype=np.int64)
        codes[wanted] = formula_codes(self.reference.column_rows("formula", wanted))
        return codes

    def derived(self, key: tuple, make: Callable[[], Any]) -> Any:
        """``make()`` once per ``key`` (an index name and what is derived from it)."""
        with self._lock:
            if key not in self._made:
                self._made[key] = make()
            return self._made[key]

    def for_score(self, kind: str, score: Score) -> Any:
        """What ``score`` prepares from the ``kind`` index (:meth:`Score.prepare`), made once."""
        return self.derived((kind, "score", score), lambda: score.prepare(self.indexes[kind], self.reference))


@dataclass(frozen=True)
class SearchContext:
    """One search: its settings, the library, and the score object per spectrum kind."""

    settings: SearchSettings
    library: PreparedLibrary

    def score(self, kind: str) -> Score:
        return self.settings.score_for(kind)

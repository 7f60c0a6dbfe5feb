"""What a search is asked (:class:`SearchSettings`) and what it answers (:class:`Hits`).

Defaults are set here once (and, for the index preprocessing, in
:data:`nps_id.search.index.DEFAULT_EI` / :data:`~nps_id.search.index.DEFAULT_MS2`); the score
names a search accepts come from the registry (:mod:`nps_id.search.scores`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nps_id.search import scores
from nps_id.search.index import DEFAULT_EI, DEFAULT_MS2
from nps_id.search.scores.base import MODES
from nps_id.tolerance import Tolerance


@dataclass(frozen=True)
class SearchSettings:
    """Parameters of a search (defaults tuned on the development queries only).

    Attributes
    ----------
    mode : {"identity", "analog"}
        Identity: the same compound. Analogue: structurally related compounds, scored with
        fragments matched directly or shifted by the precursor (EI: molecular-ion) mass difference.
    score : str or None
        Exact score, a name from the registry (:func:`nps_id.search.scores.names`) that serves
        ``mode``; used for the spectrum kinds it serves, the others get their default
        (:func:`nps_id.search.scores.default`). None = the default for every kind.
    top_k : int
        Hits kept per query.
    prefilter : int
        Candidates per query the cheap indexed score passes to the exact score (EI identity).
    analog_prefilter : int
        The same for analogue search (EI and MS/MS), where the cheap score is a poorer guide.
    tolerance : Tolerance or None
        MS/MS fragment tolerance (Da or ppm); None = the score's own default (cosine 0.2 Da,
        entropy 0.02 Da).
    precursor_tolerance : Tolerance
        MS/MS identity precursor window, half-width (Da or ppm).
    mz_power, intensity_power : float
        EI peak weight ``mz**a * intensity**b``.
    min_mz : float
        EI low-mass cut-off (nominal m/z) applied to query and library alike; 0 = none.
    ei_noise : float
        EI nominal bins below this fraction of the spectrum's largest bin are dropped (query and
        library alike); 0 = none. The default 0.01 raised EI top-1 on the development queries
        from 0.764 to 0.781 and makes the search ~1.4x faster (docs/search.md).
    ms2_intensity_power : float
        MS/MS cosine peak weight ``intensity**p``.
    noise : float
        MS/MS peaks below this fraction of the base peak are dropped (query and library).
    isomer_margin : float
        A different compound with the same formula within this score difference (0-1 scale)
        raises the isomer alert.
    mass_prior : bool
        Analogue mode: rank by the analogue score (spectral similarity plus a bonus when the
        mass difference is a common NPS modification, minus a little per 100 Da;
        :mod:`nps_id.search.analogue`). False: rank by the spectral similarity alone.
    batch_size : int
        Queries per vectorised batch (bounds memory: batch x library scores at once).
    threads : int
        EI and MS/MS identity batches searched at once (the compiled batch loops release the GIL;
        1.85x with 2 threads on the EI development queries). MS/MS analogue batches run one at a
        time: their per-query Python prefilter holds the GIL, so threads only slowed them. Queries are independent, so the
        hits are the same, bit for bit, for any number of threads (tested).
    """

    mode: str = "identity"
    score: str | None = None
    top_k: int = 5
    prefilter: int = 200
    analog_prefilter: int = 1000
    tolerance: Tolerance | None = None
    precursor_tolerance: Tolerance = field(default_factory=lambda: Tolerance(20.0, "ppm"))
    mz_power: float = DEFAULT_EI["mz_power"]
    intensity_power: float = DEFAULT_EI["intensity_power"]
    min_mz: float = DEFAULT_EI["min_mz"]
    ei_noise: float = DEFAULT_EI["noise"]
    ms2_intensity_power: float = scores.Cosine.intensity_power
    noise: float = DEFAULT_MS2["noise"]
    isomer_margin: float = 0.02
    mass_prior: bool = True
    batch_size: int = 256
    threads: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if min(self.top_k, self.prefilter, self.analog_prefilter, self.batch_size, self.threads) < 1:
            raise ValueError("top_k, prefilter, analog_prefilter, batch_size and threads must be positive")
        known = scores.names(mode=self.mode)
        if self.score is not None and self.score not in known:
            raise ValueError(f"score {self.score!r} is not available in {self.mode} mode; choose from {list(known)}")

    def score_for(self, kind: str) -> scores.Score:
        """The score object that ranks spectra of ``kind`` (``"ei"``/``"ms2"``), with these
        settings applied to its parameters."""
        chosen = self.score if self.score in scores.names(kind, self.mode) else scores.default(kind, self.mode)
        return scores.get(chosen)().for_search(kind, self)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tolerance"] = None if self.tolerance is None else str(self.tolerance)
        out["precursor_tolerance"] = str(self.precursor_tolerance)
        return out


@dataclass(frozen=True)
class Hits:
    """Search results, one row per (query, rank), as columns of equal length.

    Attributes
    ----------
    query : int64 -- 0-based position of the query in the input.
    rank : int64 -- 1-based rank.
    row : int64 -- library row of the hit.
    score : float64 -- the exact score, 0-1.
    mf, rmf : float64 -- EI composite match factor and reverse match factor, 0-1 (NaN for MS/MS).
    delta_mass : float64 -- query minus hit precursor (EI: molecular-ion) mass, Da (NaN if unknown).
    similarity : float64 -- the spectral score alone, 0-1: equal to ``score`` except in analogue
        mode with ``mass_prior``, where ``score`` is the analogue score built on it.
    delta_shift : int64 -- analogue mode: index into
        :data:`~nps_id.search.analogue.ANALOGUE_SHIFTS` of the listed modification ``delta_mass``
        matches (-1: none, or not analogue mode).
    gap : float64 -- score minus the best score of a different compound (NaN when none scored above 0).
    isomer_alert : bool -- a different compound with the same formula scored within the margin.
    """

    query: np.ndarray
    rank: np.ndarray
    row: np.ndarray
    score: np.ndarray
    mf: np.ndarray
    rmf: np.ndarray
    delta_mass: np.ndarray
    similarity: np.ndarray
    delta_shift: np.ndarray
    gap: np.ndarray
    isomer_alert: np.ndarray

    def __len__(self) -> int:
        return int(self.query.size)

    def top(self, k: int) -> "Hits":
        """The hits of rank ``<= k`` (a search made with a larger ``top_k``, cut to what was asked)."""
        return self._take(self.rank <= k)

    def rows(self, start: int, stop: int) -> "Hits":
        """The hits ``start:stop`` (a range of whole queries: a forked worker's share of the rows)."""
        return self._take(slice(start, stop))

    def _take(self, index: Any) -> "Hits":
        return Hits(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})

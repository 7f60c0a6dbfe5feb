"""Similarity scores as thin classes over the kernels in :mod:`nps_id.search.kernels`.

Every class holds its parameters and offers the same three methods:

- ``pair(a, b) -> ScoreResult`` -- one query ``a`` against one reference ``b``;
- ``matrix(queries, references) -> np.ndarray`` -- float64 scores, shape (n_queries, n_refs),
  the same numbers ``pair`` gives;
- ``to_dict()`` -- the score's name and every parameter, for reports.

``ScoreResult.score`` is always on 0-1. Formulas, scales and citations: ``docs/scores.md``.

Entry points
------------
- :class:`ScoreResult`
- :class:`CompositeMatchFactor` -- EI identity, NIST-style composite MF / reverse MF (RMF).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from nps_id.peaks import CSRPeaks
from nps_id.search import kernels
from nps_id.search.preprocess import NOMINAL_SPLIT, bin_nominal
from nps_id.spectrum import Spectrum


@dataclass(frozen=True)
class ScoreResult:
    """Outcome of one comparison.

    Attributes
    ----------
    score : float
        Similarity on 0-1 (1 = identical).
    matched_peaks : int
        Number of peak pairs that contributed.
    parts : Mapping[str, float]
        Score-specific components (e.g. ``mf``/``rmf`` on 0-999 for the composite).
    """

    score: float
    matched_peaks: int
    parts: Mapping[str, float] = field(default_factory=dict)


def to_999(score: float | np.ndarray) -> int | np.ndarray:
    """A 0-1 score on the NIST 0-999 display scale, rounded half away from zero to an int."""
    scaled = np.floor(np.asarray(score, dtype=np.float64) * 999.0 + 0.5).astype(np.int64)
    return int(scaled) if scaled.ndim == 0 else scaled


def _nominal_csr(spectra: Sequence[Spectrum], split: float) -> CSRPeaks:
    binned = [bin_nominal(s.mz, s.intensity, split) for s in spectra]
    return CSRPeaks.from_spectra(Spectrum(mz, inten) for mz, inten in binned)


@dataclass(frozen=True)
class CompositeMatchFactor:
    """NIST-style composite match factor for unit-mass EI spectra (Stein & Scott 1994).

    ``MF = (N_U * F_D + N_U&R * F_R) / (N_U + N_U&R)`` where ``F_D`` is the squared cosine of
    peak weights ``mz**mz_power * intensity**intensity_power`` and ``F_R`` the mean
    adjacent-peak intensity-ratio agreement over the matched peaks. The reverse match factor
    (RMF) is the same formula after removing the query peaks absent from the reference.

    Spectra are put on the nominal-mass axis first (:func:`~nps_id.search.preprocess.bin_nominal`,
    a no-op on spectra that already are); the score does not depend on intensity scale.

    Parameters
    ----------
    mz_power : float, default 3.0
        ``a`` in the weight ``mz**a * intensity**b`` (Stein & Scott's optimum on the NIST library;
        the engine's default is chosen by benchmark on the development queries).
    intensity_power : float, default 0.6
        ``b`` in the weight.
    reverse : bool, default False
        ``score`` is the RMF instead of the MF (both are always in ``parts``).
    split : float, default 0.7
        Nominal-mass rounding, see :func:`~nps_id.search.preprocess.nominal_mass`.

    Examples
    --------
    >>> s = Spectrum([41.0, 43.0, 58.0], [200, 999, 350])
    >>> r = CompositeMatchFactor().pair(s, s)
    >>> r.parts["mf"], r.parts["rmf"], r.matched_peaks
    (999, 999, 3)
    """

    mz_power: float = 3.0
    intensity_power: float = 0.6
    reverse: bool = False
    split: float = NOMINAL_SPLIT

    name = "composite"

    def pair(self, a: Spectrum, b: Spectrum) -> ScoreResult:
        """Score query ``a`` against reference ``b``."""
        q_mz, q_int = bin_nominal(a.mz, a.intensity, self.split)
        r_mz, r_int = bin_nominal(b.mz, b.intensity, self.split)
        row = kernels.composite_parts_many(
            q_mz, q_int, np.array([0, r_mz.size], dtype=np.int64), r_mz, r_int,
            np.zeros(1, dtype=np.int64), float(self.mz_power), float(self.intensity_power),
        )[0]
        mf, rmf, f_d, f_d_rev, f_r, n_match, n_u = row
        parts = {
            "mf": to_999(mf), "rmf": to_999(rmf), "mf_raw": float(mf), "rmf_raw": float(rmf),
            "dot": float(f_d), "dot_reverse": float(f_d_rev), "ratio": float(f_r),
            "query_peaks": int(n_u),
        }
        return ScoreResult(float(rmf if self.reverse else mf), int(n_match), parts)

    def matrix(self, queries: Sequence[Spectrum], references: Sequence[Spectrum]) -> np.ndarray:
        """MF (or RMF if ``reverse``) of every query against every reference, 0-1, float64."""
        refs = _nominal_csr(references, self.split)
        cand = np.arange(refs.n_spectra, dtype=np.int64)
        column = 1 if self.reverse else 0
        out = np.zeros((len(queries), refs.n_spectra), dtype=np.float64)
        for i, q in enumerate(queries):
            q_mz, q_int = bin_nominal(q.mz, q.intensity, self.split)
            out[i] = kernels.composite_parts_many(
                q_mz, q_int, refs.offsets, refs.mz, refs.intensity, cand,
                float(self.mz_power), float(self.intensity_power),
            )[:, column]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mz_power": self.mz_power, "intensity_power": self.intensity_power,
                "reverse": self.reverse, "split": self.split}

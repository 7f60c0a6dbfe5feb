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
- :class:`Cosine` -- cosine with greedy or optimal (Hungarian) peak pairing (as matchms).
- :class:`ModifiedCosine` -- cosine that also pairs peaks shifted by the precursor (or, for EI,
  molecular) mass difference (as matchms ``ModifiedCosineGreedy``/``ModifiedCosineHungarian``).
- :class:`EntropySimilarity` -- spectral entropy similarity, weighted or not (as ms_entropy).
- :class:`HybridEntropy` -- entropy similarity over direct and neutral-loss peak matches
  (as ms_entropy's hybrid search), for analogues.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from nps_id.errors import InputError
from nps_id.peaks import CSRPeaks
from nps_id.search import kernels
from nps_id.search.preprocess import NOMINAL_SPLIT, bin_nominal, clean_ms2
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance


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


def _pairwise(score: Any, queries: Sequence[Spectrum], references: Sequence[Spectrum]) -> np.ndarray:
    """Matrix of ``score.pair(q, r).score`` for scores without a bulk kernel."""
    out = np.zeros((len(queries), len(references)), dtype=np.float64)
    for i, q in enumerate(queries):
        for j, r in enumerate(references):
            out[i, j] = score.pair(q, r).score
    return out


def _label(spectrum: Spectrum) -> str:
    where = spectrum.get("source_file")
    record = spectrum.get("scan_index")
    name = spectrum.name or spectrum.get("source_id") or "unnamed spectrum"
    if where is not None:
        return f"{name!r} ({where}, record {record})"
    return repr(name)


def _mass(spectrum: Spectrum, key: str) -> float:
    value = spectrum.get(key)
    if value is None or not value > 0:
        raise InputError(
            f"spectrum {_label(spectrum)} has no positive {key}: this score needs the "
            f"{'precursor m/z' if key == 'precursor_mz' else 'molecular mass'} of both spectra"
        )
    return float(value)


def _tolerance(value: Tolerance | str | float) -> Tolerance:
    return Tolerance.parse(value)


@dataclass(frozen=True)
class Cosine:
    """Cosine similarity of peak weights ``mz**mz_power * intensity**intensity_power``.

    ``score = sum over paired peaks of w_a * w_b / (||w_a|| * ||w_b||)``, each peak paired at
    most once, peaks pair when ``|mz_a - mz_b| <= tolerance`` (Da, or ppm of ``a``'s peak).
    Pairing ``"greedy"`` takes pairs by decreasing product (matchms ``CosineGreedy``);
    ``"hungarian"`` finds the pairing with the largest sum (matchms ``CosineHungarian``).

    Parameters
    ----------
    tolerance : Tolerance or str, default "0.1 Da"
        Peak matching half-width (matchms' default).
    mz_power : float, default 0.0
    intensity_power : float, default 1.0
    pairing : {"greedy", "hungarian"}, default "greedy"

    Examples
    --------
    >>> a = Spectrum([100.0, 150.0, 200.0], [0.7, 0.2, 0.1])
    >>> b = Spectrum([100.0, 140.0, 190.0], [0.4, 0.2, 0.1])
    >>> r = Cosine(tolerance="0.2 Da").pair(a, b)
    >>> round(r.score, 2), r.matched_peaks
    (0.83, 1)
    """

    tolerance: Tolerance | str = "0.1 Da"
    mz_power: float = 0.0
    intensity_power: float = 1.0
    pairing: str = "greedy"

    name = "cosine"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tolerance", _tolerance(self.tolerance))
        if self.pairing not in ("greedy", "hungarian"):
            raise ValueError(f"pairing must be 'greedy' or 'hungarian', got {self.pairing!r}")

    def _kernel(self, a: Spectrum, b: Spectrum, shift: float) -> tuple[float, int]:
        tol = self.tolerance
        func = kernels.cosine_greedy if self.pairing == "greedy" else kernels.cosine_hungarian
        return func(a.mz, a.intensity, b.mz, b.intensity, float(tol.value), tol.unit == "ppm",
                    float(shift), float(self.mz_power), float(self.intensity_power))

    def pair(self, a: Spectrum, b: Spectrum) -> ScoreResult:
        score, n = self._kernel(a, b, 0.0)
        return ScoreResult(float(score), int(n), {})

    def matrix(self, queries: Sequence[Spectrum], references: Sequence[Spectrum]) -> np.ndarray:
        return _pairwise(self, queries, references)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tolerance": str(self.tolerance), "mz_power": self.mz_power,
                "intensity_power": self.intensity_power, "pairing": self.pairing}


@dataclass(frozen=True)
class ModifiedCosine(Cosine):
    """Cosine that also pairs peaks shifted by the mass difference of the two compounds.

    Candidate pairs are the direct ones and those with ``|mz_a - (mz_b + M_a - M_b)| <=
    tolerance`` (a fragment that kept the modification, equivalently a shared neutral loss).
    ``M`` is the precursor m/z (MS/MS) or, with ``mass_key="exact_mass"``, the molecular mass
    (EI, where the molecular ion plays the precursor's part). If ``|M_a - M_b|`` is within the
    tolerance (at ``M_a`` for ppm) only direct pairs are used -- as matchms does.

    Parameters
    ----------
    tolerance, mz_power, intensity_power, pairing
        As :class:`Cosine`.
    mass_key : {"precursor_mz", "exact_mass"}, default "precursor_mz"
        Metadata key holding ``M``; a spectrum without it raises :class:`~nps_id.errors.InputError`.
    """

    mass_key: str = "precursor_mz"

    name = "modified_cosine"

    def pair(self, a: Spectrum, b: Spectrum) -> ScoreResult:
        mass_a = _mass(a, self.mass_key)
        shift = mass_a - _mass(b, self.mass_key)
        if abs(shift) <= self.tolerance.window_da(mass_a):
            shift = 0.0
        score, n = self._kernel(a, b, shift)
        return ScoreResult(float(score), int(n), {"mass_shift": float(shift)})

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "mass_key": self.mass_key}


@dataclass(frozen=True)
class EntropySimilarity:
    """Spectral entropy similarity (Li et al. 2021, Nat Methods 18:1524), as ms_entropy.

    With ``clean`` (default) both spectra go through
    :func:`~nps_id.search.preprocess.clean_ms2` with a minimum peak distance of twice the
    tolerance, ``noise_threshold`` and ``max_peaks`` -- exactly what
    ``ms_entropy.calculate_entropy_similarity`` does -- and, if ``precursor_removal_da`` is
    set, the precursor window is removed first (ms_entropy's library search uses 1.6 Da).
    Then ``S = sum over matched peaks of f(a + b) - f(a) - f(b), halved``, ``f(x) = x log2 x``,
    on intensities summing to 1 (entropy-weighted when ``weighted``).

    Parameters
    ----------
    tolerance : Tolerance or str, default "0.02 Da"
    weighted : bool, default True
    clean : bool, default True
        False only for spectra already cleaned with the same settings.
    noise_threshold : float or None, default 0.01
    max_peaks : int or None, default None
    precursor_removal_da : float or None, default None
    min_peak_distance : Tolerance or str or None, default None
        Peaks closer than this are merged when cleaning; None means twice the tolerance
        (``calculate_entropy_similarity``); ms_entropy's ``FlashEntropySearch`` uses "0.05 Da".
    """

    tolerance: Tolerance | str = "0.02 Da"
    weighted: bool = True
    clean: bool = True
    noise_threshold: float | None = 0.01
    max_peaks: int | None = None
    precursor_removal_da: float | None = None
    min_peak_distance: Tolerance | str | None = None

    name = "entropy"

    def __post_init__(self) -> None:
        tol = _tolerance(self.tolerance)
        object.__setattr__(self, "tolerance", tol)
        distance = self.min_peak_distance
        distance = Tolerance(2 * tol.value, tol.unit) if distance is None else _tolerance(distance)
        object.__setattr__(self, "min_peak_distance", distance)

    def prepare(self, spectrum: Spectrum) -> Spectrum:
        """The spectrum as this score sees it (cleaned when ``clean``)."""
        if not self.clean:
            return spectrum
        return clean_ms2(
            spectrum, min_distance=self.min_peak_distance,
            precursor_removal_da=self.precursor_removal_da,
            noise_threshold=self.noise_threshold, max_peaks=self.max_peaks,
        )

    def _score(self, a: Spectrum, b: Spectrum) -> tuple[float, int]:
        tol = self.tolerance
        return kernels.entropy_similarity(a.mz, a.intensity, b.mz, b.intensity, float(tol.value),
                                          tol.unit == "ppm", bool(self.weighted))

    def pair(self, a: Spectrum, b: Spectrum) -> ScoreResult:
        score, n = self._score(self.prepare(a), self.prepare(b))
        return ScoreResult(float(score), int(n), {})

    def matrix(self, queries: Sequence[Spectrum], references: Sequence[Spectrum]) -> np.ndarray:
        prepared_q = [self.prepare(q) for q in queries]
        prepared_r = [self.prepare(r) for r in references]
        out = np.zeros((len(queries), len(references)), dtype=np.float64)
        for i, q in enumerate(prepared_q):
            for j, r in enumerate(prepared_r):
                out[i, j] = self._score(q, r)[0]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tolerance": str(self.tolerance), "weighted": self.weighted,
                "clean": self.clean, "noise_threshold": self.noise_threshold,
                "max_peaks": self.max_peaks, "precursor_removal_da": self.precursor_removal_da,
                "min_peak_distance": str(self.min_peak_distance)}


@dataclass(frozen=True)
class HybridEntropy(EntropySimilarity):
    """Entropy similarity over direct and neutral-loss peak matches (ms_entropy hybrid search).

    A query peak pairs a reference peak directly (``|mz_a - mz_b| <= tolerance``) or by neutral
    loss (``|(M_a - mz_a) - (M_b - mz_b)| <= tolerance``, the same as a fragment shifted by
    ``M_a - M_b``); a neutral-loss pair counts only if neither peak has a direct partner.
    ``M`` is the precursor m/z, or with ``mass_key="exact_mass"`` the molecular mass (EI).
    Parameters as :class:`EntropySimilarity` plus ``mass_key``.
    """

    mass_key: str = "precursor_mz"

    name = "hybrid_entropy"

    def _score(self, a: Spectrum, b: Spectrum) -> tuple[float, int]:
        tol = self.tolerance
        return kernels.hybrid_entropy_similarity(
            a.mz, a.intensity, _mass(a, self.mass_key), b.mz, b.intensity, _mass(b, self.mass_key),
            float(tol.value), tol.unit == "ppm", bool(self.weighted))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "mass_key": self.mass_key}

"""What every score shares: the result type, the 0-999 rounding, and the base class.

A score is one frozen dataclass (a subclass of :class:`Score`) in its own module: the fields are
its parameters with *the* defaults -- the engine, ``nps-id search`` and ``nps-id match`` run that
object -- and class attributes declare its name, the (spectrum kind, mode) pairs it serves
(kinds ``"ei"``/``"ms2"``, modes ``"identity"``/``"analog"``), those it is the default for, and
its row of the table in ``docs/scores.md``.

A score supplies
- :meth:`Score.exact` -- its exact kernel on one query's candidates (flat peak arrays of the
  index), the step the engine calls;
- :meth:`Score.prepare` -- what it needs from a library index beyond the index itself, made once
  per (index, score) by :class:`~nps_id.search.prepared.PreparedLibrary` (default: nothing);
- :meth:`Score.pair_peaks` -- the same kernel on one pair of prepared spectra, behind the
  public ``pair`` / ``matrix``;
- optionally ``batch``, a kernel that replaces the engine's per-query loop (the composite MF).

Entry points
------------
- :class:`ScoreResult`, :func:`to_999_column` / :func:`to_999` (the one rounding to the NIST 0-999 scale).
- :class:`Score`, :class:`Candidates`.
- :func:`search_peaks` -- a spectrum's peaks as the search prepares them for its kind.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from nps_id.errors import InputError, record_number
from nps_id.peaks import CSRPeaks
from nps_id.search.index import DEFAULT_EI, DEFAULT_MS2, nominal_csr, trim_ms2_csr
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance

KINDS = ("ei", "ms2")
MODES = ("identity", "analog")


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


def to_999_column(scores: Any) -> list[int | None]:
    """0-1 scores on the NIST 0-999 scale: ``floor(999 x + 0.5)``, i.e. rounded half up
    (798.5 -> 799); None where a score is missing (NaN). The one rounding every output uses,
    a column at a time (:func:`to_999` is the same for one score)."""
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    finite = np.isfinite(values)
    scaled = np.floor(np.where(finite, values, 0.0) * 999.0 + 0.5).astype(np.int64).tolist()
    if finite.all():  # most columns: no Python loop over the rows (~0.1 s of 61,750 MS/MS x10 rows)
        return scaled
    return [v if ok else None for v, ok in zip(scaled, finite.tolist())]


def to_999(score: float) -> int | None:
    """One 0-1 score on the 0-999 scale (:func:`to_999_column`)."""
    return to_999_column(score)[0]


def kind_of(spectrum: Spectrum) -> str:
    """``"ms2"`` for an MS/MS spectrum (``ms_level`` 2), else ``"ei"`` -- the engine's rule."""
    return "ms2" if spectrum.ms_level == 2 else "ei"


def search_peaks(spectrum: Spectrum, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``(mz, intensity)`` of ``spectrum`` as the search index prepares its kind with the default
    parameters: EI on nominal mass with the noise floor, MS/MS without the precursor window and
    noise (:func:`~nps_id.search.index.nominal_csr`, :func:`~nps_id.search.index.trim_ms2_csr`)."""
    peaks = CSRPeaks.from_spectra([spectrum])
    if kind == "ei":
        return nominal_csr(peaks, DEFAULT_EI["min_mz"], DEFAULT_EI["noise"]).row(0)
    precursor = np.array([np.nan if spectrum.precursor_mz is None else spectrum.precursor_mz])
    return trim_ms2_csr(peaks, precursor, DEFAULT_MS2["noise"], DEFAULT_MS2["precursor_margin_da"]).row(0)


def spectrum_label(spectrum: Spectrum) -> str:
    where = spectrum.get("source_file")
    name = spectrum.name or spectrum.get("source_id") or "unnamed spectrum"
    return (f"{name!r} ({where}, record {record_number(spectrum.get('scan_index', '?'))})" if where is not None
            else repr(name))


def required_mass(spectrum: Spectrum, key: str) -> float:
    """Metadata ``key`` of ``spectrum`` (a positive mass), or :class:`~nps_id.errors.InputError`."""
    value = spectrum.get(key)
    if value is None or not value > 0:
        what = "precursor m/z" if key == "precursor_mz" else "molecular mass"
        raise InputError(f"spectrum {spectrum_label(spectrum)} has no positive {key}: this score needs the "
                         f"{what} of both spectra")
    return float(value)


@dataclass(frozen=True)
class Candidates:
    """One query and its candidates, as the engine hands them to :meth:`Score.exact`.

    Attributes
    ----------
    mz, intensity
        Query peaks as the index prepares them (EI nominal, MS/MS trimmed).
    spectrum
        The query as read, for scores that prepare peaks their own way (entropy).
    positions
        Candidate positions in the index (int64).
    delta
        Query minus candidate precursor m/z (EI: estimated molecular ion), Da; NaN if unknown.
    parts
        EI: the composite parts of the candidates (columns of
        :func:`~nps_id.search.kernels.composite_parts_many`); None for MS/MS.
    prefilter
        EI identity: the index's weighted cosine of the candidates; else None.
    """

    mz: np.ndarray
    intensity: np.ndarray
    spectrum: Spectrum
    positions: np.ndarray
    delta: np.ndarray
    parts: np.ndarray | None = None
    prefilter: np.ndarray | None = None


@dataclass(frozen=True)
class Score:
    """Base of every score; see the module docstring. Subclasses are frozen dataclasses."""

    name: ClassVar[str]
    serves: ClassVar[tuple[tuple[str, str], ...]]
    default_for: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: docs/scores.md table: what the 0-1 score is, and the implementation it is tested against.
    describes: ClassVar[str]
    reference: ClassVar[str]
    #: Optional compiled batch path: ``batch(prepared, index, nominal, weight, ctx) -> CSR hits``.
    batch: ClassVar[Any] = None

    def prepare(self, index: Any, reference: Any) -> Any:
        """Library data this score needs besides ``index``, made once per (index, score)."""
        return None

    def exact(self, prepared: Any, index: Any, query: Candidates) -> np.ndarray:
        """Similarity (0-1, float64) of ``query`` against each of its candidates."""
        raise NotImplementedError

    def exact_batch(self, prepared: Any, index: Any, queries: CSRPeaks, spectra: Sequence[Spectrum],
                    pair_query: np.ndarray, positions: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """:meth:`exact` of several queries at once: pair ``k`` is row ``pair_query[k]`` of
        ``queries`` (peaks as the index prepares them; pairs grouped by query) against index
        position ``positions[k]``, precursor difference ``delta[k]``. Here: query by query; a
        score with a compiled kernel runs all pairs in one call."""
        out = np.empty(positions.size)
        bounds = np.flatnonzero(np.r_[True, pair_query[1:] != pair_query[:-1], True]) if positions.size else [0]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            q = int(pair_query[lo])
            mz, intensity = queries.row(q)
            out[lo:hi] = self.exact(prepared, index, Candidates(mz, intensity, spectra[q], positions[lo:hi],
                                                                delta[lo:hi]))
        return out

    def for_search(self, kind: str, settings: Any) -> "Score":
        """This score with the search settings that override its parameters (e.g. the MS/MS
        tolerance); default: itself."""
        return self

    def pair_peaks(self, kind: str, a: Spectrum, b: Spectrum) -> ScoreResult:
        """The exact kernel on one pair (both spectra of ``kind``, raw peaks)."""
        raise NotImplementedError

    def pair(self, a: Spectrum, b: Spectrum) -> ScoreResult:
        """Score query ``a`` against reference ``b``, as ``nps-id search`` scores that pair."""
        served = {k for k, _ in self.serves}
        # A score for one kind treats every spectrum as that kind; one for both goes by ms_level.
        kind = kind_of(a) if len(served) > 1 else served.pop()
        return self.pair_peaks(kind, a, b)

    def matrix(self, queries: Sequence[Spectrum], references: Sequence[Spectrum]) -> np.ndarray:
        """``pair(q, r).score`` of every query against every reference, float64."""
        out = np.zeros((len(queries), len(references)), dtype=np.float64)
        for i, q in enumerate(queries):
            for j, r in enumerate(references):
                out[i, j] = self.pair(q, r).score
        return out

    def to_dict(self) -> dict[str, Any]:
        """The score's name and every parameter, for reports."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values = {k: str(v) if isinstance(v, Tolerance) else v for k, v in values.items()}
        return {"name": self.name, **values}

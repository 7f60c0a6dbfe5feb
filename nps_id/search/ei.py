"""EI search of one batch: nominal-mass queries, the index prefilter, the exact score.

Per query: the binned query's bins are scatter-added against the :class:`NominalIndex`
(:func:`~nps_id.search.kernels.nominal_scatter_add`), giving a weighted cosine per library
spectrum; identity keeps the best ``prefilter`` by that cosine, analogue the best
``analog_prefilter`` plus, with the mass prior, spectra at a listed modification's mass
difference. The composite parts (MF, RMF, ...) of every candidate are computed, then the score
object's exact step (:meth:`~nps_id.search.scores.base.Score.exact`) gives the similarity. A
score with a batch kernel (the composite MF) replaces that loop in identity mode.

Entry points
------------
- :func:`search_ei` -- one batch -> hit columns (the engine's EI job).
- :class:`EIWeights` -- the composite weights of an index, made once per prepared library.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nps_id.peaks import CSRPeaks
from nps_id.search.analogue import LISTED_NOMINAL_MASSES, match_shift
from nps_id.search.index import NominalIndex, nominal_csr, weigh
from nps_id.search import few, jit
from nps_id.search.kernels import (common_peak_bits, composite_parts_many_w, composite_reference_weights,
                                   nominal_scatter_add)
from nps_id.search.prepared import SearchContext
from nps_id.search.ranking import not_listed, rank_batch, rank_candidates, top_indices
from nps_id.search.scores import Candidates
from nps_id.search.scores.modified_cosine import molecular_ion
from nps_id.search.settings import Hits
from nps_id.spectrum import Spectrum


@dataclass(frozen=True)
class EIWeights:
    """Composite peak weights of a nominal index's spectra (no ``pow`` per candidate peak at
    search time): ``ref_w``/``ref_norm2`` (:func:`~nps_id.search.kernels.composite_reference_weights`),
    the CSR ``offsets`` and the m/z as int32 (half the bytes of float64 to fetch per candidate;
    the composite kernel rounds either to the same integer), and ``bits``: each spectrum's peaks as
    bits of their m/z (:func:`~nps_id.search.kernels.common_peak_bits`, ~1.2 MB for MassBank EI),
    from which the composite batch kernel finds a candidate's common peaks."""

    offsets: np.ndarray
    nominal_int: np.ndarray
    ref_w: np.ndarray
    ref_norm2: np.ndarray
    bits: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, index: NominalIndex) -> "EIWeights":
        ref_w, ref_norm2 = composite_reference_weights(
            index.spec_offsets, index.spec_mz, index.spec_intensity, index.mz_power, index.intensity_power)
        bits = common_peak_bits(index.spec_offsets, index.spec_mz, ref_w)
        return cls(index.spec_offsets, index.spec_mz.astype(np.int32), ref_w, ref_norm2, bits)


def _query_nominal(spectra: Sequence[Spectrum], index: NominalIndex) -> tuple[CSRPeaks, np.ndarray]:
    nominal = nominal_csr(CSRPeaks.from_spectra(spectra), index.min_mz, index.noise)
    return nominal, weigh(nominal, index.mz_power, index.intensity_power)


class _Scatter:
    """Work arrays of the per-query prefilter, allocated once per batch."""

    def __init__(self, index: NominalIndex) -> None:
        self.index = index
        self.acc = np.zeros(index.n)
        self.count = np.zeros(index.n, dtype=np.float32)
        self.touched = np.empty(index.n, dtype=np.int64)
        self.no_dense = np.full(index.bin_offsets.size - 1, -1, dtype=np.int64)
        self.dense = np.empty((0, index.n), dtype=np.float32)

    def __call__(self, q_mz: np.ndarray, q_weight: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, cosine)`` of every library spectrum sharing a nominal m/z with the query
        (first-touch order); leaves the work arrays zeroed for the next query."""
        index = self.index
        n = nominal_scatter_add(q_mz, q_weight, lo, hi, index.bin_offsets, index.peak_position, index.peak_weight,
                                self.no_dense, self.dense, self.acc, self.count, self.touched)
        positions = self.touched[:n].copy()
        cosine = self.acc[positions]
        self.acc[positions] = 0.0
        self.count[positions] = 0.0
        return positions, cosine


def search_ei(spectra: Sequence[Spectrum], batch: np.ndarray, index: NominalIndex,
              ctx: SearchContext) -> list[Hits]:
    s = ctx.settings
    score = ctx.score("ei")
    prepared = ctx.library.for_score("ei", score)
    nominal, weight = _query_nominal(spectra, index)
    if s.mode == "identity" and score.batch is not None:
        # The main path runs in one compiled loop over the batch (no per-query Python); a few
        # queries in NumPy, with the library weights of their candidates only.
        numpy_path = jit.few_queries(len(batch))
        weights = None if numpy_path else ctx.library.derived(("ei", "weights"), lambda: EIWeights.of(index))
        offsets, cand, similarity, mf, rmf = score.batch(prepared, weights, index, nominal, weight, s,
                                                         ctx.library.compound[index.rows])
        rows = index.rows[cand]
        return [rank_batch(batch, offsets, rows, similarity, mf, rmf, np.full(rows.size, np.nan),
                           not_listed(rows.size), ctx)]
    if s.mode == "analog":
        q_mass = molecular_ion(nominal)
        lib_mass = ctx.library.derived(("ei", "molecular_ion"), lambda: molecular_ion(index.spectra))
    # A search of a few queries by another score (cosine, RMF, F_D) or in analogue mode: the same
    # loop with the NumPy forms of its kernels, numba not loaded (the library weights of the
    # candidates only).
    few_queries = jit.few_queries(len(batch), s.mode)
    if few_queries:
        def scatter(q_mz: np.ndarray, q_weight: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
            return few.nominal_scatter(q_mz, q_weight, lo, hi, index.bin_offsets, index.peak_position,
                                       index.peak_weight, index.n)
    else:
        weights = ctx.library.derived(("ei", "weights"), lambda: EIWeights.of(index))
        scatter = _Scatter(index)
    q_weight = weight.astype(np.float64)
    out = []
    for i in range(len(batch)):
        q_mz, q_int = nominal.row(i)
        positions, cosine = scatter(nominal.mz, q_weight, nominal.offsets[i], nominal.offsets[i + 1])
        if positions.size == 0:
            continue
        prefilter = None
        if s.mode == "analog":
            cand = positions[top_indices(cosine, s.analog_prefilter)]
            if s.mass_prior:
                # As for MS/MS: spectra at a listed modification's mass difference join the
                # candidates (the best half-prefilter of them by cosine; all of them cost 30 %
                # more time for no gain on the development queries), since the prior favours them.
                at_listed = np.flatnonzero(np.isin(np.abs(q_mass[i] - lib_mass[positions]), LISTED_NOMINAL_MASSES))
                at_listed = at_listed[top_indices(cosine[at_listed], s.analog_prefilter // 2)]
                cand = np.union1d(cand, positions[at_listed])
            delta = q_mass[i] - lib_mass[cand]
            listed = match_shift(delta, 0.0, nominal=True)
        else:
            top = top_indices(cosine, s.prefilter)
            cand, prefilter = positions[top], cosine[top]
            delta = np.full(cand.size, np.nan)
            listed = not_listed(cand.size)
        if few_queries:
            parts = few.composite_parts(q_mz, q_int, index.spec_offsets, index.spec_mz, index.spec_intensity, cand,
                                        index.mz_power, index.intensity_power)
        else:
            parts = composite_parts_many_w(q_mz, q_int, weights.offsets, index.spec_mz, weights.ref_w,
                                           weights.ref_norm2, cand, index.mz_power, index.intensity_power)
        similarity = score.exact(prepared, index, Candidates(q_mz, q_int, spectra[i], cand, delta, parts, prefilter))
        out.append((i, index.rows[cand], similarity, parts[:, 0].copy(), parts[:, 1].copy(), delta, listed))
    return [rank_candidates(batch, out, ctx)]

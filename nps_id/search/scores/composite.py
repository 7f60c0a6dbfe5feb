"""NIST-style composite match factor (MF) and reverse match factor (RMF) for unit-mass EI.

``MF = (N_U * F_D + N_U&R * F_R) / (N_U + N_U&R)`` (Stein & Scott 1994) where ``F_D`` is the
squared cosine of peak weights ``mz**mz_power * intensity**intensity_power`` and ``F_R`` the mean
adjacent-peak intensity-ratio agreement over the matched peaks; the RMF is the same after removing
the query peaks absent from the reference. Kernels: :mod:`nps_id.search.kernels` (``composite_*``).

Entry points
------------
- :class:`CompositeMatchFactor` (``composite``), :class:`ReverseMatchFactor` (``reverse``).
- :func:`composite_parts` -- the parts of one prepared EI pair, as a ``ScoreResult``.
- :func:`composite_batch` -- the compiled EI identity search of a whole batch (the composite's
  batch override of the engine's per-query loop).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nps_id.search.jit import njit  # numba on first use
from nps_id.search import few, kernels
from nps_id.search.index import DEFAULT_EI, NominalIndex
from nps_id.search.kernels import (composite_query_weights, composite_row_bits, composite_row_w, dense_peak_counts,
                                   nominal_scatter_add, query_bits, row_scratch)
from nps_id.search.scores.base import Candidates, Score, ScoreResult, search_peaks, to_999
from nps_id.spectrum import Spectrum

#: A nominal bin holding peaks of more than this share of the library spectra is added as a
#: dense column in :func:`composite_batch` (measured on the MassBank EI library: 0.1-0.2
#: equally fast, ~1.4x faster than scattering every bin).
DENSE_SHARE = 0.15


@dataclass(frozen=True)
class DenseBins:
    """The composite batch's dense columns of a nominal index: ``dense_column[m]`` is the row of
    ``dense`` holding bin ``m`` (-1: scattered), ``dense`` a float32 ``(columns, n)`` array of the
    index weights, 0 where a spectrum has no peak, and ``present`` a uint64 ``(ceil(columns / 64),
    n)`` array of where it has one (bit ``c % 64`` of word ``c // 64`` for column ``c``: an index
    weight may have rounded to 0, and the peak still counts). Memory: ~4 bytes x spectra per dense
    bin (about 110 bins on MassBank EI)."""

    dense_column: np.ndarray
    dense: np.ndarray
    present: np.ndarray

    @classmethod
    def of(cls, index: NominalIndex) -> "DenseBins":
        sizes = np.diff(index.bin_offsets)
        bins = np.flatnonzero(sizes > DENSE_SHARE * index.n)
        dense_column = np.full(sizes.size, -1, dtype=np.int64)
        dense_column[bins] = np.arange(bins.size)
        dense = np.zeros((bins.size, index.n), dtype=np.float32)
        present = np.zeros((-(-bins.size // 64), index.n), dtype=np.uint64)
        for column, m in enumerate(bins):
            peaks = slice(index.bin_offsets[m], index.bin_offsets[m + 1])
            dense[column, index.peak_position[peaks]] = index.peak_weight[peaks]
            present[column // 64, index.peak_position[peaks]] |= np.uint64(1) << np.uint64(column % 64)
        return cls(dense_column, dense, present)


def composite_parts(a: Spectrum, b: Spectrum, mz_power: float, intensity_power: float) -> ScoreResult:
    """MF of EI query ``a`` against reference ``b`` (both prepared as the search prepares EI),
    with every part: ``mf``/``rmf`` on 0-999, the raw values, ``dot`` (F_D), ``dot_reverse``,
    ``ratio`` (F_R) and ``query_peaks`` (N_U)."""
    (q_mz, q_int), (r_mz, r_int) = search_peaks(a, "ei"), search_peaks(b, "ei")
    row = kernels.composite_parts_many(
        q_mz, q_int, np.array([0, r_mz.size], dtype=np.int64), r_mz, r_int, np.zeros(1, dtype=np.int64),
        float(mz_power), float(intensity_power),
    )[0]
    mf, rmf, f_d, f_d_rev, f_r, n_match, n_u = row
    parts = {"mf": to_999(mf), "rmf": to_999(rmf), "mf_raw": float(mf), "rmf_raw": float(rmf),
             "dot": float(f_d), "dot_reverse": float(f_d_rev), "ratio": float(f_r), "query_peaks": int(n_u)}
    return ScoreResult(float(mf), int(n_match), parts)


@dataclass(frozen=True)
class CompositeMatchFactor(Score):
    """NIST-style composite match factor for unit-mass EI spectra (Stein & Scott 1994).

    Both spectra are prepared as the search prepares EI (nominal mass by
    :func:`~nps_id.search.preprocess.nominal_mass`, bins below 1 % of the base bin dropped:
    :func:`~nps_id.search.scores.base.search_peaks`); the score does not depend on intensity scale.

    Parameters
    ----------
    mz_power : float, default 1.0
        ``a`` in the weight ``mz**a * intensity**b``. The search's value, tuned on the
        development queries (``docs/search.md``); Stein & Scott's optimum on the NIST library
        was 3.0 / 0.6.
    intensity_power : float, default 0.5
        ``b`` in the weight.

    Examples
    --------
    >>> s = Spectrum([41.0, 43.0, 58.0], [200, 999, 350])
    >>> r = CompositeMatchFactor().pair(s, s)
    >>> r.parts["mf"], r.parts["rmf"], r.matched_peaks
    (999, 999, 3)
    """

    mz_power: float = DEFAULT_EI["mz_power"]
    intensity_power: float = DEFAULT_EI["intensity_power"]

    name = "composite"
    serves = (("ei", "identity"), ("ei", "analog"))
    default_for = (("ei", "identity"),)
    describes = "MF, the composite match factor"
    reference = "NIST MS Search (closed source): formula by hand values; F_D = matchms cosine²"
    #: Which column of the composite parts this score ranks by (0 MF, 1 RMF, 2 F_D).
    column = 0

    def for_search(self, kind: str, settings: Any) -> "CompositeMatchFactor":
        return type(self)(mz_power=settings.mz_power, intensity_power=settings.intensity_power)

    def exact(self, prepared: Any, index: Any, query: Candidates) -> np.ndarray:
        return query.parts[:, self.column]

    def pair_peaks(self, kind: str, a: Spectrum, b: Spectrum) -> ScoreResult:
        result = composite_parts(a, b, self.mz_power, self.intensity_power)
        if self.column == 0:
            return result
        key = ("mf_raw", "rmf_raw", "dot")[self.column]
        return ScoreResult(result.parts[key], result.matched_peaks, result.parts)

    def prepare(self, index: Any, reference: Any) -> DenseBins | None:
        return DenseBins.of(index) if type(self).batch is not None else None

    def batch(self, dense: DenseBins, weights: Any, index: NominalIndex, nominal: Any, weight: np.ndarray,
              settings: Any, compound: np.ndarray) -> tuple[np.ndarray, ...]:
        """EI identity for a whole batch in one compiled loop (:func:`composite_batch`):
        ``(offsets, positions, similarity, mf, rmf)`` per query slot, CSR-like. ``weights`` None
        (a few queries, :func:`~nps_id.search.jit.few_queries`): the same in NumPy
        (:func:`nps_id.search.few.composite_batch`), numba not loaded."""
        if weights is None:
            offsets, cand, mf, rmf = few.composite_batch(
                nominal.offsets, nominal.mz, nominal.intensity, weight.astype(np.float64), index.bin_offsets,
                index.peak_position, index.peak_weight, index.spec_offsets, index.spec_mz, index.spec_intensity,
                index.mz_power, index.intensity_power, settings.prefilter, compound, settings.top_k,
                settings.isomer_margin,
            )
            return offsets, cand, mf, mf, rmf
        offsets, cand, mf, rmf = composite_batch(
            nominal.offsets, nominal.mz, nominal.intensity, weight.astype(np.float64), index.bin_offsets,
            index.peak_position, index.peak_weight, dense.dense_column, dense.dense, dense.present, weights.offsets,
            weights.nominal_int, weights.ref_w, weights.ref_norm2, *weights.bits, index.mz_power, index.intensity_power,
            settings.prefilter, compound, settings.top_k, settings.isomer_margin,
        )
        return offsets, cand, mf, mf, rmf


@dataclass(frozen=True)
class ReverseMatchFactor(CompositeMatchFactor):
    """The reverse match factor (RMF) of :class:`CompositeMatchFactor`: the composite after
    removing the query peaks absent from the reference (a mixture's extra peaks cost nothing).
    Parameters as :class:`CompositeMatchFactor`."""

    name = "reverse"
    serves = (("ei", "identity"),)
    default_for = ()
    describes = "RMF, the reverse match factor"
    reference = "NIST MS Search (closed source): formula by hand values"
    column = 1
    batch = None


#: Proxy histogram resolution for the candidate cut of :func:`composite_batch`.
_PROXY_BUCKETS = 4096
#: Added to :func:`composite_upper` in :func:`composite_batch`: the bound comes from the index's
#: float32 weights, whose cosine squared is within ~3e-7 of the row's F_D.
UPPER_SLACK = 1e-6
#: Slack of :func:`ratio_deficit_limit`, in ratio-term units: the float64 rounding of a row's
#: ratio sum (a few ulps of at most ~1,000 terms, < 1e-12) many times over.
_DEFICIT_SLACK = 1e-9


@njit(cache=True, nogil=True, error_model="numpy")
def composite_upper(c2, n_u, n_m):
    """The composite MF ``(N_U F_D + N_m F_R) / (N_U + N_m)`` at its ratio term's maximum F_R = 1,
    with ``F_D = c2``: a query of ``n_u`` peaks against a spectrum sharing ``n_m`` of them (NaN
    for no peaks at all: numpy's division, without the zero test that keeps a loop off SIMD)."""
    return (n_u * c2 + n_m) / (n_u + n_m)


@njit(cache=True, nogil=True)
def ratio_deficit_limit(upper, floor, n_u, n_m):
    """The ratio terms' deficit ``pairs - sum(ratio)`` beyond which a row's MF is below ``floor``:
    :func:`~nps_id.search.kernels.composite_row_w` gives up there (its ``give_up``).

    ``upper`` is the candidate's bound :func:`composite_upper` + :data:`UPPER_SLACK` from the index's
    cosine ``c`` and matched-peak count ``N = n_m`` (:func:`composite_batch`, step 2), ``n_u`` the
    query's peaks. Proof: the row has ``n <= N`` common peaks (``N`` counts an index peak
    whose float32 weight rounded to 0, the row does not), so ``n - 1`` ratio terms, each in
    [0, 1]; after some of them the deficit is ``D``, and the rest add at most their number, so
    ``sum(ratio) <= n - 1 - D`` and ``MF = (N_U F_D + n sum(ratio) / (n - 1)) / (N_U + n)
    <= (N_U F_D + n - n D / (n - 1)) / (N_U + n)``. That is ``1 - (N_U (1 - F_D) + n D / (n - 1))
    / (N_U + n)``, which grows with ``n`` (``F_D <= 1``), so it is at most its value at ``N``;
    with ``F_D <= c2 + UPPER_SLACK`` (the slack the stop rule relies on too) it is at most
    ``upper - N D / ((N - 1) (N_U + N))``, below ``floor`` once
    ``D > (upper - floor) (N_U + N) (N - 1) / N``. The deficit never falls as terms are added
    (in exact arithmetic: ``_DEFICIT_SLACK`` covers the float64 sums), so a row given up at a
    floor, which only rises afterwards, is below every later floor too.
    Tested on real spectra: ``tests/search/test_composite_bound.py``.
    """
    if n_m < 2:
        return np.inf  # no ratio term
    return (upper - floor) * (n_u + n_m) * (n_m - 1) / n_m + _DEFICIT_SLACK


@njit(cache=True, nogil=True, error_model="numpy")
def _proxy_buckets(acc, count, n_u, bucket):
    """Step 2 of :func:`composite_batch` for every spectrum: the histogram bucket of its proxy MF,
    -1 where it shares no peak with the query. No branch and numpy's division (no zero test), so
    the loop runs on SIMD lanes: 8 spectra at a time, ~3x faster than one by one; IEEE division
    and truncation give every lane the bits of the scalar form."""
    for r in range(acc.shape[0]):
        n_m = count[r]
        c2 = acc[r] * acc[r]
        # One division serves both: 0.5 * x / y == 0.5 * (x / y) exactly (x >= 1).
        proxy = 0.5 * c2 + 0.5 * composite_upper(c2, n_u, n_m)
        b = min(np.int32(proxy * _PROXY_BUCKETS), np.int32(_PROXY_BUCKETS))  # as int(): 0 <= proxy <= 1
        bucket[r] = b if n_m > 0 else -1


@njit(cache=True, nogil=True)
def composite_batch(q_offsets, q_mz, q_int, q_weight, bin_offsets, peak_position, peak_weight,
                        dense_column, dense, present, lib_offsets, lib_mz, ref_w, ref_norm2, first, word_offsets,
                        valid, every, rank, a, b, size, compound, top_k, margin):
    """Composite MF and RMF of the likeliest ``size`` candidates of every query in a batch.

    Step 1: the query's weighted cosine and matched-peak count with every library spectrum
    (:func:`~nps_id.search.kernels.nominal_scatter_add`, bins most spectra share added as dense
    columns, up to four in one pass, their peaks counted by
    :func:`~nps_id.search.kernels.dense_peak_counts`).
    Step 2: candidates are ranked by a proxy of the composite MF --
    ``MF = (N_U F_D + N_m F_R) / (N_U + N_m)`` with ``F_D = cosine**2`` and the ratio term F_R
    unknown, so the proxy averages its extremes F_R = cosine**2 and F_R = 1 (on the development
    data every brute-force top-5 hit ranks within the first 160; cosine alone needs 1,920). The
    cut is found with a histogram of the proxy (O(n), no sort); in the bucket at the cut, lower
    positions go first. Low-mass bins hold nearly every spectrum, so scanning all ``n`` spectra
    costs less than tracking which ones were touched. Step 3: the exact score
    (:func:`~nps_id.search.kernels.composite_row_w`) of those candidates, one at a time, in
    order of decreasing upper bound ``(N_U cosine**2 + N_m) / (N_U + N_m)`` (F_R <= 1); it stops
    as soon as the next bound is below both the k-th best MF minus ``margin`` and the best MF of
    a compound other than the top hit's: no candidate left could then enter the top ``top_k``,
    change a gap or raise an isomer alert. A candidate whose row shows, partway through, that its
    ratio term cannot lift it to that floor is left there (:func:`ratio_deficit_limit`, the
    proof; since stop 39: 127 of the 164 rows an EI development query reaches with ``top_k`` 20,
    after about half their common peaks). A row's common peaks come from the library's
    :func:`~nps_id.search.kernels.common_peak_bits` (``first`` ... ``rank``; ``word_offsets`` empty:
    each row's peaks scanned instead, :func:`~nps_id.search.kernels.composite_row_w`) -- the same
    values, and a row given up stops there instead of scanning all its peaks first (EI x10, a worker
    range: the kernel -9 to -14 %). Only fully scored candidates are returned.

    Returns CSR-like ``(offsets, candidate positions, mf, rmf)``; ``compound`` is the compound
    code of every position.
    """
    nq = q_offsets.shape[0] - 1
    n = compound.shape[0]
    out_offsets = np.zeros(nq + 1, dtype=np.int64)
    cand_all = np.empty(nq * size, dtype=np.int64)
    mf_all = np.empty(nq * size)
    rmf_all = np.empty(nq * size)
    acc = np.zeros(n)  # weighted cosine
    count = np.zeros(n, dtype=np.float32)  # matched peaks (exact integers; half the bytes)
    hist = np.zeros(_PROXY_BUCKETS + 2, dtype=np.int64)  # hist[b + 1]: spectra in bucket b (-1: untouched)
    bucket = np.zeros(n, dtype=np.int32)
    ties = np.empty(n, dtype=np.int64)
    row = np.empty(7)
    common = row_scratch(lib_offsets, np.arange(n))
    no_touch = np.empty(0, dtype=np.int64)
    best_k = np.empty(top_k)
    bits = word_offsets.shape[0] == n + 1
    q_bits = np.zeros(16, dtype=np.uint64)
    total = 0
    for q in range(nq):
        lo, hi = q_offsets[q], q_offsets[q + 1]
        # Step 1
        nominal_scatter_add(q_mz, q_weight, lo, hi, bin_offsets, peak_position, peak_weight, dense_column, dense,
                            acc, count, no_touch)
        dense_peak_counts(q_mz, lo, hi, dense_column, present, count)
        # Step 2
        n_u = hi - lo
        _proxy_buckets(acc, count, n_u, bucket)
        hist[:] = 0
        for r in range(n):
            hist[bucket[r] + 1] += 1
        n_touched = n - hist[0]
        cut = 0
        if n_touched > size:
            seen = 0
            for h in range(_PROXY_BUCKETS, -1, -1):
                seen += hist[h + 1]
                if seen >= size:
                    cut = h
                    break
        m = min(size, n_touched)
        cand = np.empty(m, dtype=np.int64)
        k = 0
        n_ties = 0
        for r in range(n):  # strictly above the cut bucket first, then the cut bucket
            in_bucket = bucket[r]
            if in_bucket > cut:
                cand[k] = r
                k += 1
            elif in_bucket == cut:
                ties[n_ties] = r
                n_ties += 1
        cand[k:] = ties[: m - k]
        # Step 3
        cand_upper = np.empty(m)
        n_common = np.empty(m)  # the index's matched-peak count of each candidate
        for c in range(m):
            r = cand[c]
            n_common[c] = count[r]
            cand_upper[c] = composite_upper(acc[r] * acc[r], n_u, count[r]) + UPPER_SLACK
        acc[:] = 0.0
        count[:] = np.float32(0.0)
        # Any order of equal bounds gives the same hits (the stop rule holds for all of them).
        order = np.argsort(-cand_upper)
        cand, upper, n_common = cand[order], cand_upper[order], n_common[order]
        q_w, q_norm2, n_q = composite_query_weights(q_mz[lo:hi], q_int[lo:hi], a, b)
        if bits:
            q_bits = query_bits(q_w, q_bits)
        best_k[:] = -1.0  # the top_k best MFs so far, descending
        top_score = -1.0  # best MF so far and its compound
        top_compound = -1
        other = -1.0  # best MF of a compound other than top_compound
        done = 0
        for c in range(m):
            r = cand[c]
            give_up = np.inf
            if done >= top_k:
                floor = min(best_k[top_k - 1] - margin, other)
                if upper[c] < floor:
                    break
                give_up = ratio_deficit_limit(upper[c], floor, n_u, n_common[c])
            s_lo, s_hi = lib_offsets[r], lib_offsets[r + 1]
            if bits:
                scored = composite_row_bits(q_w, q_bits, q_norm2, n_q, first[r], word_offsets[r], word_offsets[r + 1],
                                            valid, every, rank, ref_w[s_lo:s_hi], ref_norm2[r], row, give_up)
            else:
                scored = composite_row_w(q_w, q_norm2, n_q, lib_mz[s_lo:s_hi], ref_w[s_lo:s_hi], ref_norm2[r], row,
                                         give_up, common)
            if not scored:
                continue
            score = row[0]
            cand_all[total + done] = r
            mf_all[total + done] = score
            rmf_all[total + done] = row[1]
            done += 1
            i = top_k - 1
            if score > best_k[i]:
                while i > 0 and best_k[i - 1] < score:
                    best_k[i] = best_k[i - 1]
                    i -= 1
                best_k[i] = score
            if score > top_score:
                if compound[r] != top_compound:
                    other = top_score
                top_score = score
                top_compound = compound[r]
            elif compound[r] != top_compound and score > other:
                other = score
        total += done
        out_offsets[q + 1] = total
    return out_offsets, cand_all[:total], mf_all[:total], rmf_all[:total]

"""The kernels a search of a few queries runs, in NumPy: the compiled kernels' numbers bit for bit.

A search of at most :data:`~nps_id.search.jit.FEW_QUERIES` identity queries (one spectrum, a
handful) or :data:`~nps_id.search.jit.FEW_ANALOGUE_QUERIES` analogue ones runs these instead of the numba kernels while numba is not loaded: numba's import and its first
cached kernel cost ~0.4 s CPU, these a few milliseconds per query (:mod:`nps_id.search.jit`).
Each reproduces its kernel's arithmetic, not only its formula:

- every peak weight is ``math.pow(mz, a) * math.pow(intensity, b)``: libm's ``pow``, which the
  compiled ``**`` calls (NumPy's ``power`` may take a SIMD ``pow`` that differs in the last bit);
- every sum a kernel takes term by term is taken term by term, in its order (``np.cumsum``, or a
  Python loop; ``np.sum`` and ``sum`` add otherwise);
- mixed float32 / float64 arithmetic is widened as numba widens it (float64), never left to
  NumPy's promotion of a Python number with a float32 array (float32);
- sorts that order ties are stable where the kernel's are (mergesort); the EI candidates' order
  by upper bound (numba's quicksort) is not reproduced: any order of equal bounds scores the
  same hits (:func:`~nps_id.search.scores.composite.composite_batch`'s stop rule), and only
  those are returned.

``tests/search/test_few.py`` compares every query's rows of both paths on real spectra.

Entry points
------------
- :func:`composite_batch` -- :func:`nps_id.search.scores.composite.composite_batch` (EI identity).
- :func:`nominal_scatter`, :func:`composite_parts` -- the EI prefilter and composite parts of the
  per-query loop (EI identity by another score: ``--score cosine``, ``reverse``, ``dot``).
- :func:`rank` -- :func:`nps_id.search.ranking._rank_kernel`.
- :func:`cosine_pairs` -- :func:`nps_id.search.scores.cosine._cosine_pairs` (MS/MS, greedy cosine).
- :func:`cosine_many` -- :func:`nps_id.search.scores.cosine._cosine_many` (EI analogue, modified cosine).
"""
from __future__ import annotations

import math

import numpy as np

#: As :data:`nps_id.search.scores.composite._PROXY_BUCKETS` (a test checks they are equal).
PROXY_BUCKETS = 4096


def peak_weights(mz: np.ndarray, intensity: np.ndarray, a: float, b: float) -> np.ndarray:
    """``mz**a * intensity**b`` per peak (0 where intensity <= 0), as
    :func:`nps_id.search.kernels.peak_weight` computes it."""
    pow_ = math.pow
    return np.array([pow_(m, a) * pow_(i, b) if i > 0 else 0.0 for m, i in zip(mz.tolist(), intensity.tolist())],
                    dtype=np.float64)


def sequential_sum(values: np.ndarray) -> float:
    """``total = 0.0; for v in values: total += v`` (``np.sum`` adds pairwise)."""
    return float(np.cumsum(values)[-1]) if values.size else 0.0


def _nominal(mz: np.ndarray) -> np.ndarray:
    """``int(np.rint(mz))`` per peak."""
    return np.rint(mz).astype(np.int64)


def query_weights(q_mz: np.ndarray, q_int: np.ndarray, a: float, b: float) -> tuple[np.ndarray, float, int]:
    """:func:`nps_id.search.kernels.composite_query_weights`: ``(q_w, q_norm2, n_u)``."""
    m = _nominal(q_mz)
    dense = np.zeros(max(int(m.max()), 0) + 1 if m.size else 1)
    positive = q_int > 0
    np.add.at(dense, m[positive], q_int[positive].astype(np.float64))  # in peak order, as the loop
    held = np.flatnonzero(dense > 0)
    w = peak_weights(held.astype(np.float64), dense[held], a, b)
    dense[held] = w
    return dense, sequential_sum(w * w), int(held.size)


def composite_row(q_w: np.ndarray, q_norm2: float, n_u: int, ref_mz: np.ndarray, ref_w: np.ndarray,
                  r_norm2: float) -> tuple[float, float, float]:
    """MF, RMF and F_D of :func:`nps_id.search.kernels.composite_row_w` (its ``out[0:3]``)."""
    keep = ref_w > 0
    m, wr = _nominal(ref_mz[keep]), ref_w[keep]
    inside = m < q_w.size
    m, wr = m[inside], wr[inside]
    wq = q_w[m]
    common = wq > 0
    wq, wr = wq[common], wr[common]
    n_match = int(wq.size)
    if n_match == 0:
        return 0.0, 0.0, 0.0
    dot = sequential_sum(wq * wr)
    q_sub2 = sequential_sum(wq * wq)
    f_d = dot * dot / (q_norm2 * r_norm2)
    f_d_rev = dot * dot / (q_sub2 * r_norm2)
    if n_match < 2:
        return min(f_d, 1.0), min(f_d_rev, 1.0), min(f_d, 1.0)
    ratio = (wr[1:] * wq[:-1]) / (wr[:-1] * wq[1:])
    ratio = np.where(ratio > 1.0, 1.0 / ratio, ratio)
    f_r = sequential_sum(ratio) / (n_match - 1)
    mf = (n_u * f_d + n_match * f_r) / (n_u + n_match)
    rmf = 0.5 * (f_d_rev + f_r)
    return min(mf, 1.0), min(rmf, 1.0), min(f_d, 1.0)


def library_weights(lib_offsets: np.ndarray, lib_mz: np.ndarray, lib_int: np.ndarray, r: int, a: float, b: float
                    ) -> tuple[np.ndarray, float]:
    """Index spectrum ``r``'s peak weights and their sum of squares, as
    :func:`nps_id.search.kernels.composite_reference_weights` gives them for the whole library."""
    lo, hi = lib_offsets[r], lib_offsets[r + 1]
    ref_w = peak_weights(_nominal(lib_mz[lo:hi]).astype(np.float64), lib_int[lo:hi], a, b)
    return ref_w, sequential_sum(ref_w * ref_w)


def _row_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """:func:`sequential_sum` of each row ``values[starts[k]:starts[k + 1]]``: term by term in row
    order, all rows at once (one step per position in a row)."""
    counts = np.diff(starts)
    out = np.zeros(counts.size)
    for k in range(int(counts.max()) if counts.size else 0):
        rows = np.flatnonzero(counts > k)
        out[rows] += values[starts[rows] + k]
    return out


def _candidate_weights(offsets: np.ndarray, mz: np.ndarray, intensity: np.ndarray, rows: np.ndarray, a: float,
                       b: float, nominal: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`peak_weights` of library spectra ``rows`` in one call (of their m/z rounded to
    integers when ``nominal``, as :func:`library_weights`): ``(weights, starts, norm2, peak)``,
    row ``k``'s weights ``weights[starts[k]:starts[k + 1]]``, their sum of squares term by term,
    and the index of each weight's peak in ``mz``."""
    lo, hi = offsets[rows].astype(np.int64), offsets[rows + 1].astype(np.int64)
    counts = hi - lo
    starts = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    peak = np.repeat(lo - starts[:-1], counts) + np.arange(starts[-1])
    w = peak_weights(_nominal(mz[peak]).astype(np.float64) if nominal else mz[peak], intensity[peak], a, b)
    return w, starts, _row_sums(w * w, starts), peak


def nominal_scatter(q_mz: np.ndarray, q_weight: np.ndarray, lo: int, hi: int, bin_offsets: np.ndarray,
                    peak_position: np.ndarray, peak_weight: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The EI prefilter of one query (:class:`nps_id.search.ei._Scatter`, i.e.
    :func:`nps_id.search.kernels.nominal_scatter_add` without dense bins): ``(positions, cosine)``
    of every index spectrum sharing a nominal m/z with query peaks ``lo:hi``, in the order the
    kernel first reaches them (ties of the prefilter's cut are kept by that order), each cosine
    summed term by term in query order (``np.add.at``)."""
    n_bins = bin_offsets.size - 1
    held = [(int(bin_offsets[m]), int(bin_offsets[m + 1]), float(q_weight[p]))
            for p in range(lo, hi) if (m := int(q_mz[p])) < n_bins]
    if not held:
        return np.empty(0, dtype=np.int64), np.empty(0)
    position = np.concatenate([peak_position[a:b] for a, b, _ in held]).astype(np.int64)
    terms = np.concatenate([w * peak_weight[a:b].astype(np.float64) for a, b, w in held])
    acc = np.zeros(n)
    np.add.at(acc, position, terms)
    _, first = np.unique(position, return_index=True)
    touched = position[np.sort(first)]
    return touched, acc[touched]


def composite_parts(q_mz: np.ndarray, q_int: np.ndarray, lib_offsets: np.ndarray, lib_mz: np.ndarray,
                    lib_int: np.ndarray, cand: np.ndarray, a: float, b: float) -> np.ndarray:
    """Columns 0-2 (MF, RMF, F_D) of :func:`nps_id.search.kernels.composite_parts_many_w` for one
    query's candidates, the library weights of those candidates only: :func:`composite_row` of
    every candidate at once (its sums term by term per candidate, :func:`_row_sums`)."""
    q_w, q_norm2, n_u = query_weights(q_mz, q_int, a, b)
    ref_w, starts, r_norm2, peak = _candidate_weights(lib_offsets, lib_mz, lib_int, cand, a, b, nominal=True)
    owner = np.repeat(np.arange(cand.size), np.diff(starts))
    m = _nominal(lib_mz[peak])
    keep = (ref_w > 0) & (m < q_w.size)
    wq, wr, owner = q_w[m[keep]], ref_w[keep], owner[keep]
    common = wq > 0
    wq, wr, owner = wq[common], wr[common], owner[common]
    n_match = np.bincount(owner, minlength=cand.size)
    at = np.zeros(cand.size + 1, dtype=np.int64)
    np.cumsum(n_match, out=at[1:])
    dot, q_sub2 = _row_sums(wq * wr, at), _row_sums(wq * wq, at)
    # The ratios of consecutive matched peaks of one candidate (n_match - 1 of them per candidate).
    ratio = (wr[1:] * wq[:-1]) / (wr[:-1] * wq[1:]) if wq.size else np.empty(0)
    ratio = ratio[owner[1:] == owner[:-1]] if wq.size else ratio
    ratio = np.where(ratio > 1.0, 1.0 / ratio, ratio)
    at_ratio = np.zeros(cand.size + 1, dtype=np.int64)
    np.cumsum(np.maximum(n_match - 1, 0), out=at_ratio[1:])
    with np.errstate(divide="ignore", invalid="ignore"):  # candidates without 2 matches are set below
        f_d = dot * dot / (q_norm2 * r_norm2)
        f_d_rev = dot * dot / (q_sub2 * r_norm2)
        f_r = _row_sums(ratio, at_ratio) / (n_match - 1)
        mf = (n_u * f_d + n_match * f_r) / (n_u + n_match)
        rmf = 0.5 * (f_d_rev + f_r)
    two = n_match >= 2
    out = np.column_stack([np.minimum(np.where(two, mf, f_d), 1.0), np.minimum(np.where(two, rmf, f_d_rev), 1.0),
                           np.minimum(f_d, 1.0)])
    out[n_match == 0] = 0.0
    return out


def composite_batch(q_offsets: np.ndarray, q_mz: np.ndarray, q_int: np.ndarray, q_weight: np.ndarray,
                    bin_offsets: np.ndarray, peak_position: np.ndarray, peak_weight: np.ndarray,
                    lib_offsets: np.ndarray, lib_mz: np.ndarray, lib_int: np.ndarray, a: float, b: float,
                    size: int, compound: np.ndarray, top_k: int, margin: float,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`nps_id.search.scores.composite.composite_batch` for a few queries: the same
    ``(offsets, candidate positions, mf, rmf)``, the candidates of a query possibly in another
    order, and with the rows the compiled kernel gives up partway (its ratio-term bound,
    :func:`~nps_id.search.scores.composite.ratio_deficit_limit`): they score below every floor,
    so the hits are the same, and a NumPy row costs no more whole than in part. Every bin is
    scattered (the kernel adds most-shared bins as dense columns: the same sums, a spectrum
    without the peak adding 0.0), and the library weights are computed for the
    scored candidates only (the kernel takes them from :class:`~nps_id.search.ei.EIWeights`, the
    whole library's)."""
    nq = q_offsets.size - 1
    n = compound.size
    n_bins = bin_offsets.size - 1
    out_offsets = np.zeros(nq + 1, dtype=np.int64)
    cand_all: list[int] = []
    mf_all: list[float] = []
    rmf_all: list[float] = []
    for q in range(nq):
        lo, hi = int(q_offsets[q]), int(q_offsets[q + 1])
        # Step 1: per spectrum, the query bins' terms in query order (np.add.at: unbuffered, in order).
        acc = np.zeros(n)
        count = np.zeros(n, dtype=np.float32)
        for p in range(lo, hi):
            m = int(q_mz[p])
            if m >= n_bins:
                continue
            peaks = slice(bin_offsets[m], bin_offsets[m + 1])
            np.add.at(acc, peak_position[peaks], float(q_weight[p]) * peak_weight[peaks].astype(np.float64))
            np.add.at(count, peak_position[peaks], np.float32(1.0))
        # Step 2
        n_u = hi - lo
        n_m = count.astype(np.float64)
        touched = count > 0
        c2 = acc * acc
        bound = (n_u * c2 + n_m) / (n_u + n_m)
        proxy = 0.5 * c2 + 0.5 * bound
        bucket = np.where(touched, np.minimum((proxy * PROXY_BUCKETS).astype(np.int64), PROXY_BUCKETS), -1)
        upper = bound + 1e-6
        n_touched = int(touched.sum())
        cut = 0
        if n_touched > size:
            seen = np.cumsum(np.bincount(bucket[touched], minlength=PROXY_BUCKETS + 1)[::-1])
            cut = PROXY_BUCKETS - int(np.argmax(seen >= size))
        above = np.flatnonzero(bucket > cut)
        at_cut = np.flatnonzero(bucket == cut)
        cand = np.concatenate([above, at_cut[: min(size, n_touched) - above.size]])
        # Step 3 (a stable order of equal bounds; any scores the same hits)
        cand = cand[np.argsort(-upper[cand], kind="stable")]
        q_w, q_norm2, n_q = query_weights(q_mz[lo:hi], q_int[lo:hi], a, b)
        best_k = [-1.0] * top_k
        top_score, top_compound, other = -1.0, -1, -1.0
        done = 0
        for r in cand.tolist():
            if done >= top_k and upper[r] < min(best_k[top_k - 1] - margin, other):
                break
            ref_w, r_norm2 = library_weights(lib_offsets, lib_mz, lib_int, r, a, b)
            score, rmf, _ = composite_row(q_w, q_norm2, n_q, lib_mz[lib_offsets[r]:lib_offsets[r + 1]], ref_w, r_norm2)
            cand_all.append(r)
            mf_all.append(score)
            rmf_all.append(rmf)
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
                top_score, top_compound = score, compound[r]
            elif compound[r] != top_compound and score > other:
                other = score
        out_offsets[q + 1] = len(cand_all)
    return (out_offsets, np.array(cand_all, dtype=np.int64), np.array(mf_all, dtype=np.float64),
            np.array(rmf_all, dtype=np.float64))


def rank(offsets: np.ndarray, rows: np.ndarray, score: np.ndarray, compound: np.ndarray, formula: np.ndarray,
         top_k: int, margin: float) -> tuple[np.ndarray, ...]:
    """:func:`nps_id.search.ranking._rank_kernel`: ``(pick, slot, rank, gap, alert)``."""
    pick, slot, rank_, gap, alert = [], [], [], [], []
    for q in range(offsets.size - 1):
        lo, hi = int(offsets[q]), int(offsets[q + 1])
        if hi == lo:
            continue
        by_row = lo + np.argsort(rows[lo:hi], kind="stable")
        order = by_row[np.argsort(-score[by_row], kind="stable")]
        comp, form, s = compound[rows[order]], formula[rows[order]], score[order]
        for r in range(min(top_k, hi - lo)):
            others = comp != comp[r]
            first = int(np.argmax(others)) if others.any() else -1
            # the first other compound is the best one; one that scored 0 matched nothing: no gap
            gap.append(s[r] - s[first] if first >= 0 and s[first] > 0 else np.nan)
            alert.append(bool(form[r] >= 0 and np.any(others & (form == form[r]) & (np.abs(s - s[r]) <= margin))))
            pick.append(order[r])
            slot.append(q)
            rank_.append(r + 1)
    return (np.array(pick, dtype=np.int64), np.array(slot, dtype=np.int64), np.array(rank_, dtype=np.int64),
            np.array(gap, dtype=np.float64), np.array(alert, dtype=np.bool_))


def peak_pairs(mz_a: np.ndarray, mz_b: np.ndarray, tol: float, ppm: bool, shift: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nps_id.search.kernels.peak_pairs`: every ``(i, j)`` with ``mz_b[j] + shift`` within
    the window of ``mz_a[i]``, i then j ascending (both ascending, as the kernel's merge walk needs)."""
    window = tol * 1e-6 * mz_a if ppm else tol
    mz2 = mz_b.astype(np.float64) + shift
    lo = np.searchsorted(mz2, mz_a - window, "left")
    hi = np.searchsorted(mz2, mz_a + window, "right")
    counts = np.maximum(hi - lo, 0)
    ia = np.repeat(np.arange(mz_a.size), counts)
    return ia, np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts) + np.arange(counts.sum())


def cosine_greedy_weighted(mz_a: np.ndarray, w_a: np.ndarray, norm_a: float, mz_b: np.ndarray, w_b: np.ndarray,
                           norm_b: float, tol: float, ppm: bool, shift: float) -> float:
    """The score of :func:`nps_id.search.kernels.cosine_greedy_weighted`."""
    ia, ib = peak_pairs(mz_a, mz_b, tol, ppm, 0.0)
    if shift != 0.0:
        sa, sb = peak_pairs(mz_a, mz_b, tol, ppm, shift)
        ia, ib = np.concatenate((ia, sa)), np.concatenate((ib, sb))
    if ia.size == 0:
        return 0.0
    prod = w_a[ia] * w_b[ib]
    # Descending by product; equal products in reverse input order (the kernel's mergesort, reversed).
    order = np.argsort(prod, kind="stable")[::-1]
    used_a, used_b = set(), set()
    total = 0.0
    for i, j, p in zip(ia[order].tolist(), ib[order].tolist(), prod[order].tolist()):
        if i not in used_a and j not in used_b:
            total += p
            used_a.add(i)
            used_b.add(j)
    norm = norm_a * norm_b
    return 0.0 if norm == 0.0 else total / norm


def cosine_pairs(q_offsets: np.ndarray, q_mz: np.ndarray, q_int: np.ndarray, pair_query: np.ndarray,
                 offsets: np.ndarray, r_mz: np.ndarray, r_int: np.ndarray, cand: np.ndarray, tol: float, ppm: bool,
                 shift: np.ndarray, mz_power: float, intensity_power: float) -> np.ndarray:
    """:func:`nps_id.search.scores.cosine._cosine_pairs`: the greedy cosine (at most 1) of every
    (query, library spectrum) pair."""
    weighed: dict[tuple[str, int], tuple[np.ndarray, float]] = {}

    def weights(side: str, k: int, offs: np.ndarray, mz: np.ndarray, inten: np.ndarray) -> tuple[np.ndarray, float]:
        if (side, k) not in weighed:
            w = peak_weights(mz[offs[k]:offs[k + 1]], inten[offs[k]:offs[k + 1]], mz_power, intensity_power)
            weighed[side, k] = w, math.sqrt(sequential_sum(w * w))
        return weighed[side, k]

    out = np.zeros(cand.size)
    for k, (q, c) in enumerate(zip(pair_query.tolist(), cand.tolist())):
        q_w, q_norm = weights("query", q, q_offsets, q_mz, q_int)
        r_w, r_norm = weights("library", c, offsets, r_mz, r_int)
        out[k] = min(cosine_greedy_weighted(q_mz[q_offsets[q]:q_offsets[q + 1]], q_w, q_norm,
                                            r_mz[offsets[c]:offsets[c + 1]], r_w, r_norm, tol, ppm,
                                            float(shift[k])), 1.0)
    return out


def cosine_many(q_mz: np.ndarray, q_int: np.ndarray, offsets: np.ndarray, r_mz: np.ndarray, r_int: np.ndarray,
                cand: np.ndarray, tol: float, ppm: bool, shift: np.ndarray, mz_power: float,
                intensity_power: float) -> np.ndarray:
    """:func:`nps_id.search.scores.cosine._cosine_many`: the greedy (modified) cosine, at most 1,
    of one query against library spectra ``cand`` (the analogue search's exact step), the
    candidates' peak weights made in one step."""
    q_w = peak_weights(q_mz, q_int, mz_power, intensity_power)
    q_norm = math.sqrt(sequential_sum(q_w * q_w))
    r_w, starts, r_norm2, _ = _candidate_weights(offsets, r_mz, r_int, cand, mz_power, intensity_power)
    out = np.zeros(cand.size)
    for k, c in enumerate(cand.tolist()):
        out[k] = min(cosine_greedy_weighted(q_mz, q_w, q_norm, r_mz[offsets[c]:offsets[c + 1]],
                                            r_w[starts[k]:starts[k + 1]], math.sqrt(r_norm2[k]), tol, ppm,
                                            float(shift[k])), 1.0)
    return out

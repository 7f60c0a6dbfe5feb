"""Pure array kernels behind every similarity score (numba, ``fastmath`` off).

Each kernel sees only NumPy arrays and numbers, never a :class:`~nps_id.spectrum.Spectrum`;
the thin classes in :mod:`nps_id.search.scores` hold the parameters and call these. Formulas,
scales and citations are in ``docs/scores.md``. ``fastmath`` stays off everywhere so that a
forensic result reproduces bit for bit on every run and machine.

Entry points
------------
EI, nominal (unit-mass) spectra -- m/z must already be integers (see
:func:`nps_id.search.preprocess.bin_nominal`), unique and ascending:

- :func:`composite_mf_many` -- NIST-style composite match factor (MF) and reverse match factor
  (RMF) of one query against many candidate references in CSR form; raw 0-1 values.
- :func:`composite_parts_many` -- the same plus the parts (dot products, ratio term, counts).
- :func:`composite_reference_weights` + :func:`composite_mf_many_w` /
  :func:`composite_parts_many_w` -- the same numbers from library weights precomputed once;
  :func:`composite_query_weights` + :func:`composite_row_w` -- the same, one reference at a time
  (for engines that decide after each score whether to go on).
  The ``composite_mf_*`` functions and :func:`composite_parts_many` refuse peaks the kernels
  cannot index by (:func:`check_composite_input`: a NaN m/z read outside the query's array);
  the ``_w`` kernels and the row kernels take them unchecked -- from a search, whose spectra and
  library the :class:`~nps_id.spectrum.Spectrum` and the library store have checked.

High-resolution (or any) centroids, m/z ascending; tolerances are a half-width ``tol`` in Da,
or in ppm of the first spectrum's peak m/z when ``ppm`` is True:

- :func:`cosine_greedy` / :func:`cosine_hungarian` -- cosine with greedy / optimal peak pairing,
  optionally with a precursor (modified cosine) ``shift``; the same numbers as matchms
  (:func:`cosine_greedy_weighted`: the same from peak weights computed once).
- :func:`entropy_similarity` -- spectral entropy similarity (weighted or not), as ms_entropy.
- :func:`hybrid_entropy_similarity` -- entropy similarity over direct and neutral-loss matches,
  as ms_entropy's hybrid search.
- :func:`entropy_weight` -- the entropy intensity weighting of Li et al. 2021.
- :func:`peak_weight` -- the peak weight ``mz**a * intensity**b`` every kernel uses.
- :func:`nominal_scatter_add` -- the EI index prefilter: query bins scatter-added per spectrum.
- :func:`clean_peaks_f32` -- ms_entropy's MS/MS cleaning (centroid, noise, normalise) in float32.

The kernels are compiled with :func:`nps_id.search.jit.njit`: numba is imported when one is
first called; a search of a few queries runs their NumPy forms (:mod:`nps_id.search.few`) instead.
"""
from __future__ import annotations

import numpy as np

from nps_id.search.jit import njit
from nps_id.spectrum import MAX_MZ

# -- EI composite match factor (Stein & Scott 1994) ----------------------------------------


@njit(cache=True, nogil=True)
def _query_weights(q_mz, q_int, a, b):
    """Query weights ``m**a * I**b`` on a dense nominal axis (index = m/z; repeated m/z summed
    first), their sum of squares and the number of peaks."""
    top = 0
    for i in range(q_mz.shape[0]):
        m = int(np.rint(q_mz[i]))
        if m > top:
            top = m
    dense = np.zeros(top + 1, dtype=np.float64)
    for i in range(q_mz.shape[0]):
        if q_int[i] > 0:
            dense[int(np.rint(q_mz[i]))] += q_int[i]
    norm2 = 0.0
    n = 0
    for m in range(top + 1):
        if dense[m] > 0:
            dense[m] = peak_weight(m, dense[m], a, b)
            norm2 += dense[m] * dense[m]
            n += 1
    return dense, norm2, n


@njit(cache=True, nogil=True)
def peak_weight(mz, intensity, a, b):
    """The peak weight of every score here, ``mz**a * intensity**b`` (0 for intensity <= 0).

    The one compiled copy; :func:`nps_id.search.index.weigh` is the NumPy form for the index
    (NumPy's ``pow`` can differ from this one in the last bit, and stored indexes keep theirs).
    """
    if intensity <= 0:
        return 0.0
    return mz ** a * np.float64(intensity) ** b


@njit(cache=True, nogil=True, inline="always")
def _ratio_term(wr, wq, prev_r, prev_q):
    """The ratio term of two adjacent common peaks (weights ``wr``, ``wq`` after ``prev_r``, ``prev_q``):
    the m/z factors of the weights cancel in this ratio; min(x, 1/x) is the value of "1/x if x > 1"
    without a branch (mispredicted for half the ratios)."""
    ratio = (wr * prev_q) / (prev_r * wq)
    return min(ratio, 1.0 / ratio)


@njit(cache=True, nogil=True, inline="always")
def _row_values(dot, q_sub2, ratio_sum, n_match, n_u, q_norm2, r_norm2, out):
    """Fill ``out`` with a row's 7 values from its sums over the common peaks (:func:`_composite_row`,
    :func:`composite_row_bits`)."""
    f_d = 0.0
    f_d_rev = 0.0
    if n_match > 0:
        f_d = dot * dot / (q_norm2 * r_norm2)
        f_d_rev = dot * dot / (q_sub2 * r_norm2)
    if n_match >= 2:
        f_r = ratio_sum / (n_match - 1)
        mf = (n_u * f_d + n_match * f_r) / (n_u + n_match)
        # Reverse: the unknown reduced to the reference's m/z, so its N_U is N_U&R.
        rmf = 0.5 * (f_d_rev + f_r)
    else:
        # Fewer than two common peaks: no adjacent pair, the ratio term is undefined.
        f_r = 0.0
        mf = f_d
        rmf = f_d_rev
    out[0] = min(mf, 1.0)
    out[1] = min(rmf, 1.0)
    out[2] = min(f_d, 1.0)
    out[3] = min(f_d_rev, 1.0)
    out[4] = f_r
    out[5] = n_match
    out[6] = n_u


@njit(cache=True, nogil=True)
def _composite_row(q_w, q_norm2, n_u, ref_mz, ref_w, r_norm2, out, give_up, common):
    """Fill ``out`` (7 values) for one reference given its peak weights (0 = absent) and return
    True; or return False (``out`` unfilled) as soon as the ratio terms' deficit
    ``pairs - sum(ratio)`` exceeds ``give_up`` (``np.inf``: never). ``common`` is scratch space
    of at least ``len(ref_mz)`` integers."""
    top = q_w.shape[0] - 1
    # First the reference peaks the query shares, without a branch (~40 % of a search
    # candidate's peaks are: a branch per peak was often mispredicted); then the sums over them
    # alone, term by term in m/z order as before: the same numbers.
    n_match = 0
    for j in range(ref_mz.shape[0]):
        m = int(np.rint(ref_mz[j]))
        common[n_match] = j
        n_match += (m <= top) & (not ref_w[j] <= 0) & (q_w[min(m, top)] > 0)
    dot = 0.0
    q_sub2 = 0.0
    ratio_sum = 0.0
    prev_q = 0.0
    prev_r = 0.0
    for t in range(n_match):
        j = common[t]
        wr = ref_w[j]
        wq = q_w[int(np.rint(ref_mz[j]))]
        dot += wq * wr
        q_sub2 += wq * wq
        if t > 0:
            ratio_sum += _ratio_term(wr, wq, prev_r, prev_q)
            if t - ratio_sum > give_up:
                return False
        prev_q = wq
        prev_r = wr
    _row_values(dot, q_sub2, ratio_sum, n_match, n_u, q_norm2, r_norm2, out)
    return True


@njit(cache=True, nogil=True)
def composite_reference_weights(ref_offsets, ref_mz, ref_int, a, b):
    """Peak weights ``mz**a * intensity**b`` of a whole CSR library and each spectrum's sum of
    squared weights: precompute once per (library, a, b) for :func:`composite_parts_many_w`.

    Returns ``(ref_w, ref_norm2)``: float64 arrays of length ``len(ref_mz)`` and ``n_refs``.
    """
    ref_w = np.empty(ref_mz.shape[0], dtype=np.float64)
    ref_norm2 = np.zeros(ref_offsets.shape[0] - 1, dtype=np.float64)
    for r in range(ref_offsets.shape[0] - 1):
        total = 0.0
        for j in range(ref_offsets[r], ref_offsets[r + 1]):
            w = peak_weight(int(np.rint(ref_mz[j])), ref_int[j], a, b)
            ref_w[j] = w
            total += w * w
        ref_norm2[r] = total
    return ref_w, ref_norm2


def check_composite_input(q_mz: np.ndarray, q_int: np.ndarray, ref_offsets: np.ndarray, ref_mz: np.ndarray,
                          ref_values: np.ndarray, cand_idx: np.ndarray) -> np.ndarray:
    """``cand_idx`` as int64 once the arrays are ones the composite kernels may index with, or the
    ``ValueError`` (one line) that says why not. The kernels take ``int(rint(mz))`` as an array
    index unchecked: a NaN, negative or huge m/z read or wrote outside the query's weights (a
    segmentation fault, or a spurious match), a candidate out of range outside the library.
    Only the candidates' rows are checked (a per-query check of the whole library would cost
    more than the scoring); ``ref_values``: intensities or weights, one per ``ref_mz``.
    The command line never gets here with such peaks: :class:`~nps_id.spectrum.Spectrum` and
    the library store refuse them first."""
    cand_idx = np.asarray(cand_idx, dtype=np.int64)
    if q_mz.ndim != 1 or q_mz.shape != q_int.shape or ref_mz.ndim != 1 or ref_mz.shape != ref_values.shape:
        raise ValueError("m/z and intensity arrays must be one-dimensional and of equal length")
    if q_mz.size and not (np.isfinite(q_int).all() and 0 < q_mz.min() and q_mz.max() <= MAX_MZ):
        raise ValueError(f"query peaks: m/z must be in (0, {MAX_MZ:g}] and intensities finite")
    n_refs = ref_offsets.size - 1
    if n_refs < 0 or ref_offsets[0] != 0 or ref_offsets[-1] > ref_mz.size or (np.diff(ref_offsets) < 0).any():
        raise ValueError("reference offsets must rise from 0 to at most the number of peaks")
    if cand_idx.size and (cand_idx.min() < 0 or cand_idx.max() >= n_refs):
        raise ValueError(f"candidate indices must be in [0, {n_refs})")
    bad = _first_bad_peak(ref_offsets, ref_mz, ref_values, cand_idx, MAX_MZ)
    if bad >= 0:
        raise ValueError(f"reference peak {bad}: m/z must be in (0, {MAX_MZ:g}] and intensity finite "
                         f"(found m/z {ref_mz[bad]:g}, value {ref_values[bad]:g})")
    return cand_idx


@njit(cache=True, nogil=True)
def _first_bad_peak(ref_offsets, ref_mz, ref_values, cand_idx, max_mz):
    """The first peak of the rows ``cand_idx`` whose m/z is not in (0, max_mz] or whose value is
    not finite; -1 if none is."""
    for k in range(cand_idx.shape[0]):
        for j in range(ref_offsets[cand_idx[k]], ref_offsets[cand_idx[k] + 1]):
            if not (0 < ref_mz[j] <= max_mz and np.isfinite(ref_values[j])):
                return j
    return -1


def composite_parts_many(q_mz: np.ndarray, q_int: np.ndarray, ref_offsets: np.ndarray, ref_mz: np.ndarray,
                         ref_int: np.ndarray, cand_idx: np.ndarray, a: float, b: float) -> np.ndarray:
    """Composite MF/RMF and their parts for one query against candidate references.

    Parameters
    ----------
    q_mz, q_int : 1-D float arrays
        Query peaks on the nominal-mass axis (integer-valued m/z, unique); zero-intensity
        peaks are ignored.
    ref_offsets : int64 array, shape (n_refs + 1,)
        CSR offsets: reference ``r`` owns peaks ``ref_offsets[r]:ref_offsets[r+1]``.
    ref_mz, ref_int : 1-D float arrays
        Reference peaks, integer-valued m/z, unique and ascending within each reference.
    cand_idx : 1-D int array
        Indices of the references to score, in any order (the output keeps it).
    a, b : float
        Weight exponents: every peak weighs ``mz**a * intensity**b``.

    Returns
    -------
    out : float64 array, shape (len(cand_idx), 7)
        Columns: MF, RMF, F_D (forward weighted dot), F_D reverse, F_R (ratio term),
        matched peaks N_U&R, query peaks N_U. MF, RMF, F_D and F_R are on 0-1.

    Raises
    ------
    ValueError
        If a query m/z, or a candidate's, is not in (0, :data:`~nps_id.spectrum.MAX_MZ`], an
        intensity is not finite, or the offsets or candidates do not fit the arrays
        (:func:`check_composite_input`).
    """
    cand_idx = check_composite_input(q_mz, q_int, ref_offsets, ref_mz, ref_int, cand_idx)
    return _parts_many(q_mz, q_int, ref_offsets, ref_mz, ref_int, cand_idx, float(a), float(b))


@njit(cache=True, nogil=True)
def _parts_many(q_mz, q_int, ref_offsets, ref_mz, ref_int, cand_idx, a, b):
    """:func:`composite_parts_many` of checked peaks."""
    q_w, q_norm2, n_u = _query_weights(q_mz, q_int, a, b)
    out = np.zeros((cand_idx.shape[0], 7), dtype=np.float64)
    scratch = np.empty(0, dtype=np.float64)
    common = row_scratch(ref_offsets, cand_idx)
    for k in range(cand_idx.shape[0]):
        lo = ref_offsets[cand_idx[k]]
        hi = ref_offsets[cand_idx[k] + 1]
        if scratch.shape[0] < hi - lo:
            scratch = np.empty(2 * (hi - lo), dtype=np.float64)
        r_norm2 = 0.0
        for j in range(lo, hi):
            w = peak_weight(int(np.rint(ref_mz[j])), ref_int[j], a, b)
            scratch[j - lo] = w
            r_norm2 += w * w
        _composite_row(q_w, q_norm2, n_u, ref_mz[lo:hi], scratch[: hi - lo], r_norm2, out[k], np.inf, common)
    return out


@njit(cache=True, nogil=True)
def composite_parts_many_w(q_mz, q_int, ref_offsets, ref_mz, ref_w, ref_norm2, cand_idx, a, b):
    """:func:`composite_parts_many` with the library weights precomputed by
    :func:`composite_reference_weights` (same numbers, bit for bit; no ``pow`` per library peak).
    """
    q_w, q_norm2, n_u = _query_weights(q_mz, q_int, a, b)
    out = np.zeros((cand_idx.shape[0], 7), dtype=np.float64)
    common = row_scratch(ref_offsets, cand_idx)
    for k in range(cand_idx.shape[0]):
        r = cand_idx[k]
        lo = ref_offsets[r]
        hi = ref_offsets[r + 1]
        _composite_row(q_w, q_norm2, n_u, ref_mz[lo:hi], ref_w[lo:hi], ref_norm2[r], out[k], np.inf, common)
    return out


@njit(cache=True, nogil=True)
def row_scratch(ref_offsets, cand_idx):
    """Scratch space for :func:`_composite_row` (:func:`composite_row_w`) of any of the references
    ``cand_idx`` of the CSR ``ref_offsets``."""
    longest = 0
    for k in range(cand_idx.shape[0]):
        longest = max(longest, ref_offsets[cand_idx[k] + 1] - ref_offsets[cand_idx[k]])
    return np.empty(longest, dtype=np.int64)


@njit(cache=True, nogil=True)
def composite_query_weights(q_mz, q_int, a, b):
    """The query side of :func:`composite_parts_many_w`, computed once per query: dense weights
    ``m**a * I**b`` indexed by nominal m/z, their sum of squares and the number of peaks
    ``(q_w, q_norm2, n_u)``, for :func:`composite_row_w`."""
    return _query_weights(q_mz, q_int, a, b)


@njit(cache=True, nogil=True)
def composite_row_w(q_w, q_norm2, n_u, ref_mz, ref_w, r_norm2, out, give_up, common):
    """One row of :func:`composite_parts_many_w` (the same 7 values, bit for bit) from
    :func:`composite_query_weights` and one reference's precomputed weights: fills ``out`` and
    returns True, or returns False (``out`` unfilled) as soon as the ratio terms' deficit
    ``pairs - sum(ratio)`` exceeds ``give_up`` -- the caller's bound (np.inf: never). ``common``:
    scratch space of at least ``len(ref_mz)`` integers."""
    return _composite_row(q_w, q_norm2, n_u, ref_mz, ref_w, r_norm2, out, give_up, common)


#: Most words :func:`common_peak_bits` gives a library, per peak (a reference spanning a wide m/z range
#: with few peaks would need many empty words: such a library is scanned peak by peak instead).
_WORDS_PER_PEAK = 4


@njit(cache=True, nogil=True)
def common_peak_bits(ref_offsets, ref_mz, ref_w):
    """Every reference's peaks as bits of their nominal m/z, for :func:`composite_row_bits`:
    ``(first, offsets, valid, every, rank)`` -- reference ``r`` owns words ``offsets[r]:offsets[r + 1]``,
    its k-th word holding m/z ``64 * (first[r] + k)`` to ``64 * (first[r] + k) + 63``; ``every`` has a
    bit for each of its peaks, ``valid`` for those whose weight is not <= 0 (the ones
    :func:`_composite_row` may count as common), ``rank[w]`` the number of the reference's peaks
    before word ``w``. Made once per library. ``offsets`` is empty when a reference's m/z are not
    integers in [1, :data:`~nps_id.spectrum.MAX_MZ`], unique and ascending, or the words would pass
    :data:`_WORDS_PER_PEAK` a peak:
    the caller then scans the peaks (:func:`composite_row_w`)."""
    n = ref_offsets.shape[0] - 1
    first = np.zeros(n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    none = np.zeros(0, dtype=np.uint64)
    for r in range(n):
        lo, hi = ref_offsets[r], ref_offsets[r + 1]
        words = 0
        if hi > lo:
            if not ref_mz[lo] >= 1:
                return first, offsets[:0], none, none, offsets[:0]
            for j in range(lo + 1, hi):
                if not ref_mz[j] > ref_mz[j - 1] or ref_mz[j] != np.rint(ref_mz[j]):
                    return first, offsets[:0], none, none, offsets[:0]
            if ref_mz[lo] != np.rint(ref_mz[lo]) or not ref_mz[hi - 1] <= MAX_MZ:
                return first, offsets[:0], none, none, offsets[:0]
            first[r] = np.int64(ref_mz[lo]) // 64
            words = np.int64(ref_mz[hi - 1]) // 64 - first[r] + 1
        offsets[r + 1] = offsets[r] + words
    if offsets[n] > _WORDS_PER_PEAK * ref_mz.shape[0] + n:
        return first, offsets[:0], none, none, offsets[:0]
    valid = np.zeros(offsets[n], dtype=np.uint64)
    every = np.zeros(offsets[n], dtype=np.uint64)
    rank = np.zeros(offsets[n], dtype=np.int64)
    for r in range(n):
        for j in range(ref_offsets[r], ref_offsets[r + 1]):
            m = np.int64(ref_mz[j])
            w = offsets[r] + m // 64 - first[r]
            bit = np.uint64(1) << np.uint64(m % 64)
            every[w] |= bit
            if not ref_w[j] <= 0:
                valid[w] |= bit
        before = 0
        for w in range(offsets[r], offsets[r + 1]):
            rank[w] = before
            before += np.int64(_popcount(every[w]))
    return first, offsets, valid, every, rank


@njit(cache=True, nogil=True)
def query_bits(q_w, out):
    """The nominal m/z of the query weights ``q_w`` (:func:`composite_query_weights`) that are > 0, as
    bits in ``out`` (grown when too short; returned) -- the query side of :func:`composite_row_bits`."""
    words = q_w.shape[0] // 64 + 1
    if out.shape[0] < words:
        out = np.zeros(2 * words, dtype=np.uint64)
    out[:words] = 0
    for m in range(q_w.shape[0]):
        if q_w[m] > 0:
            out[m // 64] |= np.uint64(1) << np.uint64(m % 64)
    return out


@njit(cache=True, nogil=True)
def composite_row_bits(q_w, q_bits, q_norm2, n_u, first, w_lo, w_hi, valid, every, rank, ref_w, r_norm2, out,
                       give_up):
    """:func:`composite_row_w` of a reference given as its :func:`common_peak_bits` (words ``w_lo:w_hi``,
    the first at m/z ``64 * first``; ``ref_w`` its weights) and the query's :func:`query_bits` (``q_bits``,
    as long as :func:`query_bits` made it): the same 7 values bit for bit, or False as soon as the
    ratio terms' deficit exceeds ``give_up``. The common peaks come from the AND of the two bit sets
    (a peak's place in the reference by the popcount of the bits below it), in ascending m/z as the
    scan finds them, and the sums take the same terms in the same order -- but a row given up stops
    there, where the scan had first looked at every peak of the reference (half a row's cost: the EI
    search gives up ~3 of 4 rows it scores, about halfway)."""
    top = q_w.shape[0] - 1
    words = top // 64 + 1
    n_match = 0
    dot = 0.0
    q_sub2 = 0.0
    ratio_sum = 0.0
    prev_q = 0.0
    prev_r = 0.0
    for w in range(w_lo, w_hi):
        word = first + (w - w_lo)
        if word >= words:
            break  # above the query's highest m/z
        x = valid[w] & q_bits[word]
        if x == 0:
            continue
        before = rank[w]
        row_bits = every[w]
        while x != 0:
            low = x & (~x + np.uint64(1))  # the lowest common m/z left in the word
            below = low - np.uint64(1)
            wr = ref_w[before + np.int64(_popcount(row_bits & below))]
            wq = q_w[word * 64 + np.int64(_popcount(below))]
            dot += wq * wr
            q_sub2 += wq * wq
            if n_match > 0:  # as _composite_row, term by term in m/z order
                ratio_sum += _ratio_term(wr, wq, prev_r, prev_q)
                if n_match - ratio_sum > give_up:
                    return False
            prev_q = wq
            prev_r = wr
            n_match += 1
            x ^= low
    _row_values(dot, q_sub2, ratio_sum, n_match, n_u, q_norm2, r_norm2, out)
    return True


def composite_mf_many(
    q_mz: np.ndarray,
    q_int: np.ndarray,
    ref_offsets: np.ndarray,
    ref_mz: np.ndarray,
    ref_int: np.ndarray,
    cand_idx: np.ndarray,
    a: float,
    b: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Composite match factor and reverse match factor of one query against many references.

    Same inputs as :func:`composite_parts_many`. Returns ``(mf, rmf)``, two float64 arrays of
    length ``len(cand_idx)`` on the raw 0-1 scale (multiply by 999 for the NIST scale).

    Examples
    --------
    >>> import numpy as np
    >>> mz, inten = np.array([41.0, 43.0, 58.0]), np.array([200.0, 999.0, 350.0])
    >>> mf, rmf = composite_mf_many(mz, inten, np.array([0, 3]), mz, inten, np.array([0]), 3.0, 0.6)
    >>> round(float(mf[0]), 12), round(float(rmf[0]), 12)
    (1.0, 1.0)
    """
    # No dtype conversion of the library arrays: a copy per query would cost more than the
    # scoring; numba compiles one specialisation per dtype (float32 intensities included).
    parts = composite_parts_many(q_mz, q_int, ref_offsets, ref_mz, ref_int, cand_idx, a, b)
    return parts[:, 0].copy(), parts[:, 1].copy()


def composite_mf_many_w(
    q_mz: np.ndarray,
    q_int: np.ndarray,
    ref_offsets: np.ndarray,
    ref_mz: np.ndarray,
    ref_w: np.ndarray,
    ref_norm2: np.ndarray,
    cand_idx: np.ndarray,
    a: float,
    b: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``(mf, rmf)`` as :func:`composite_mf_many`, from library weights precomputed once with
    ``ref_w, ref_norm2 = composite_reference_weights(ref_offsets, ref_mz, ref_int, a, b)``.
    Several times faster when many candidates are scored with the same ``a``, ``b``. Raises
    ``ValueError`` as :func:`composite_parts_many` does."""
    cand_idx = check_composite_input(q_mz, q_int, ref_offsets, ref_mz, ref_w, cand_idx)
    if ref_norm2.shape != (ref_offsets.size - 1,):
        raise ValueError("ref_norm2 must hold one value per reference")
    parts = composite_parts_many_w(q_mz, q_int, ref_offsets, ref_mz, ref_w, ref_norm2, cand_idx, float(a), float(b))
    return parts[:, 0].copy(), parts[:, 1].copy()


# -- Cosine family (matchms-compatible) -----------------------------------------------------


@njit(cache=True, nogil=True)
def peak_pairs(mz_a, mz_b, tol, ppm, shift):
    """Every (i, j) with ``|mz_a[i] - (mz_b[j] + shift)| <= window(mz_a[i])``, i then j ascending.

    ``window`` is ``tol`` Da, or ``tol * 1e-6 * mz_a[i]`` when ``ppm``. Both m/z arrays must be
    ascending. Returns two int64 arrays.
    """
    cap = 16
    while True:  # arrays 4x larger, and the pairs again, while they do not fit
        ia = np.empty(cap, dtype=np.int64)
        ib = np.empty(cap, dtype=np.int64)
        n = pairs_into(mz_a, mz_b, tol, ppm, shift, ia, ib, 0)
        if n >= 0:
            return ia[:n], ib[:n]
        cap *= 4


@njit(cache=True, nogil=True)
def pairs_into(mz_a, mz_b, tol, ppm, shift, ia, ib, n):
    """:func:`peak_pairs` written into ``ia``, ``ib`` after their first ``n``: the new count, or -1
    when the arrays cannot hold them all."""
    lowest = 0
    for i in range(mz_a.shape[0]):
        window = tol * 1e-6 * mz_a[i] if ppm else tol
        low = mz_a[i] - window
        high = mz_a[i] + window
        for j in range(lowest, mz_b.shape[0]):
            mz2 = mz_b[j] + shift
            if mz2 > high:
                break
            if mz2 < low:
                lowest = j + 1
            else:
                if n == ia.shape[0]:
                    return -1
                ia[n] = i
                ib[n] = j
                n += 1
    return n


@njit(cache=True, nogil=True)
def _peak_weights(mz, intensity, mz_power, intensity_power):
    out = np.empty(mz.shape[0], dtype=np.float64)
    for i in range(mz.shape[0]):
        out[i] = peak_weight(mz[i], intensity[i], mz_power, intensity_power)
    return out


@njit(cache=True, nogil=True)
def _all_pairs(mz_a, mz_b, tol, ppm, shift):
    """Direct pairs, then (if ``shift`` is non-zero) the pairs at ``shift``; duplicates kept."""
    ia, ib = peak_pairs(mz_a, mz_b, tol, ppm, 0.0)
    if shift == 0.0:
        return ia, ib
    sa, sb = peak_pairs(mz_a, mz_b, tol, ppm, shift)
    return np.concatenate((ia, sa)), np.concatenate((ib, sb))


@njit(cache=True, nogil=True)
def cosine_greedy(mz_a, int_a, mz_b, int_b, tol, ppm, shift, mz_power, intensity_power):
    """Cosine similarity with greedy peak pairing (matchms ``CosineGreedy`` / ``ModifiedCosineGreedy``).

    Candidate pairs (:func:`peak_pairs`, plus pairs at ``shift = precursor_a - precursor_b``
    applied to ``b`` when ``shift`` is non-zero) are taken by decreasing weight product
    ``w_a * w_b`` with ``w = mz**mz_power * intensity**intensity_power``; each peak is used once.
    score = sum of taken products / (||w_a|| * ||w_b||).

    Returns
    -------
    (score, matched_peaks) : (float, int)
    """
    w_a = _peak_weights(mz_a, int_a, mz_power, intensity_power)
    w_b = _peak_weights(mz_b, int_b, mz_power, intensity_power)
    return cosine_greedy_weighted(mz_a, w_a, weight_norm(w_a), mz_b, w_b, weight_norm(w_b), tol, ppm, shift)


@njit(cache=True, nogil=True)
def weight_norm(w):
    """``||w||`` as :func:`cosine_greedy` divides by it."""
    return np.sqrt(np.sum(w * w))


@njit(cache=True, nogil=True)
def cosine_greedy_weighted(mz_a, w_a, norm_a, mz_b, w_b, norm_b, tol, ppm, shift):
    """:func:`cosine_greedy` from the peak weights and their :func:`weight_norm` s: a search
    weighs a query once for all its candidates, a library spectrum once for all its queries."""
    ia, ib = _all_pairs(mz_a, mz_b, tol, ppm, shift)
    if ia.shape[0] == 0:
        return 0.0, 0
    prod = np.empty(ia.shape[0], dtype=np.float64)
    for k in range(ia.shape[0]):
        prod[k] = w_a[ia[k]] * w_b[ib[k]]
    # Descending by product; equal products in reverse input order, exactly as matchms.
    order = np.argsort(prod, kind="mergesort")[::-1]
    used_a = np.zeros(mz_a.shape[0], dtype=np.bool_)
    used_b = np.zeros(mz_b.shape[0], dtype=np.bool_)
    total = 0.0
    n = 0
    for k in order:
        if not used_a[ia[k]] and not used_b[ib[k]]:
            total += prod[k]
            used_a[ia[k]] = True
            used_b[ib[k]] = True
            n += 1
    norm = norm_a * norm_b
    if norm == 0.0:
        return 0.0, 0
    return total / norm, n


def cosine_hungarian(
    mz_a: np.ndarray, int_a: np.ndarray, mz_b: np.ndarray, int_b: np.ndarray,
    tol: float, ppm: bool, shift: float, mz_power: float, intensity_power: float,
) -> tuple[float, int]:
    """Cosine similarity with the optimal peak pairing (matchms ``CosineHungarian`` /
    ``ModifiedCosineHungarian``).

    Same candidate pairs and weights as :func:`cosine_greedy`; the pairing that maximises the
    sum of products is found with :func:`scipy.optimize.linear_sum_assignment` (a pair found both
    directly and at the shift keeps the larger product). Returns ``(score, matched_peaks)``.
    """
    from scipy.optimize import linear_sum_assignment

    mz_a = np.asarray(mz_a, dtype=np.float64)
    mz_b = np.asarray(mz_b, dtype=np.float64)
    ia, ib = _all_pairs(mz_a, mz_b, float(tol), bool(ppm), float(shift))
    if ia.size == 0:
        return 0.0, 0
    w_a = _peak_weights(mz_a, int_a, float(mz_power), float(intensity_power))
    w_b = _peak_weights(mz_b, int_b, float(mz_power), float(intensity_power))
    rows, row_of = np.unique(ia, return_inverse=True)
    cols, col_of = np.unique(ib, return_inverse=True)
    weights = np.zeros((rows.size, cols.size))
    # np.maximum.at: a duplicated (i, j) keeps its larger product, never the last one written.
    np.maximum.at(weights, (row_of, col_of), w_a[ia] * w_b[ib])
    r, c = linear_sum_assignment(weights, maximize=True)
    taken = weights[r, c]
    norm = np.sqrt(np.sum(w_a * w_a)) * np.sqrt(np.sum(w_b * w_b))
    if norm == 0.0:
        return 0.0, 0
    return float(taken.sum() / norm), int(np.count_nonzero(taken > 0))


# -- Spectral entropy (Li et al. 2021; ms_entropy-compatible) -------------------------------


@njit(cache=True, nogil=True)
def entropy_weight(intensity):
    """Entropy intensity weighting (Li et al. 2021) of intensities that sum to 1.

    If the spectral entropy ``S = -sum(p ln p)`` is below 3, intensities are raised to
    ``0.25 + 0.25 * S`` and renormalised to sum 1; otherwise they are returned unchanged (copy).
    """
    out = intensity.astype(np.float64)
    if out.shape[0] == 0:
        return out
    entropy = 0.0
    for x in out:
        entropy -= x * np.log(x)
    if entropy < 3.0:
        power = 0.25 + 0.25 * entropy
        out = out ** power
        out /= np.sum(out)
    return out


@njit(cache=True, nogil=True)
def _entropy_term(x, y):
    s = x + y
    return s * np.log2(s) - x * np.log2(x) - y * np.log2(y)


@njit(cache=True, nogil=True)
def entropy_similarity(mz_a, int_a, mz_b, int_b, tol, ppm, weighted):
    """Spectral entropy similarity of two cleaned spectra (Li et al. 2021, Nat Methods 18:1524).

    Both spectra must be cleaned (:func:`nps_id.search.preprocess.clean_ms2`: intensities sum to
    1, peaks at least ``2 * tol`` apart). With ``weighted`` the entropy weighting
    (:func:`entropy_weight`) is applied first. Peaks are paired by one ascending merge walk
    (each peak at most once); similarity = ``sum f(a+b) - f(a) - f(b)`` over pairs / 2 with
    ``f(x) = x log2 x``, on 0-1. Returns ``(score, matched_peaks)``.
    """
    if mz_a.shape[0] == 0 or mz_b.shape[0] == 0:
        return 0.0, 0
    p_a = entropy_weight(int_a) if weighted else int_a.astype(np.float64)
    p_b = entropy_weight(int_b) if weighted else int_b.astype(np.float64)
    i = 0
    j = 0
    total = 0.0
    n = 0
    while i < mz_a.shape[0] and j < mz_b.shape[0]:
        window = mz_a[i] * tol * 1e-6 if ppm else tol
        diff = mz_a[i] - mz_b[j]
        if diff < -window:
            i += 1
        elif diff > window:
            j += 1
        else:
            total += _entropy_term(p_a[i], p_b[j])
            n += 1
            i += 1
            j += 1
    return total / 2.0, n


@njit(cache=True, nogil=True)
def hybrid_entropy_similarity(mz_a, int_a, precursor_a, mz_b, int_b, precursor_b, tol, ppm, weighted):
    """Entropy similarity over direct fragment matches and neutral-loss matches (hybrid search).

    As ms_entropy's ``FlashEntropySearch.hybrid_search``: a query peak ``i`` (spectrum ``a``)
    pairs a reference peak ``j`` directly when ``|mz_a[i] - mz_b[j]| <= window``, or by neutral
    loss when ``|(precursor_a - mz_a[i]) - (precursor_b - mz_b[j])| <= window``. A neutral-loss
    pair is dropped when ``i`` already has a direct partner or ``j`` is directly matched by any
    query peak. Contributions are summed as in :func:`entropy_similarity`. The window is taken at
    the query peak (ppm) -- for neutral losses at the loss mass. Returns
    ``(score, direct_pairs + loss_pairs)``.
    """
    if mz_a.shape[0] == 0 or mz_b.shape[0] == 0:
        return 0.0, 0
    p_a = entropy_weight(int_a) if weighted else int_a.astype(np.float64)
    p_b = entropy_weight(int_b) if weighted else int_b.astype(np.float64)
    direct_a = np.zeros(mz_a.shape[0], dtype=np.bool_)
    direct_b = np.zeros(mz_b.shape[0], dtype=np.bool_)
    total = 0.0
    n = 0
    ia, ib = peak_pairs(mz_a, mz_b, tol, ppm, 0.0)
    for k in range(ia.shape[0]):
        total += _entropy_term(p_a[ia[k]], p_b[ib[k]])
        direct_a[ia[k]] = True
        direct_b[ib[k]] = True
        n += 1
    # Neutral losses, ascending: loss_a = precursor_a - mz_a (reversed to keep it ascending).
    loss_a = precursor_a - mz_a[::-1]
    loss_b = precursor_b - mz_b[::-1]
    la, lb = peak_pairs(loss_a, loss_b, tol, ppm, 0.0)
    last_a = mz_a.shape[0] - 1
    last_b = mz_b.shape[0] - 1
    for k in range(la.shape[0]):
        i = last_a - la[k]
        j = last_b - lb[k]
        if direct_a[i] or direct_b[j]:
            continue
        total += _entropy_term(p_a[i], p_b[j])
        n += 1
    return total / 2.0, n


# -- MS/MS cleaning (ms_entropy's compiled clean_spectrum, in float32) ----------------------
# ms_entropy runs its cleaning in C on float32 peaks; matching its scores to 1e-6 needs the
# same arithmetic, the same in-place merge order and the same intensity sort, so those are
# reproduced here rather than re-imagined (see docs/scores.md, "MS/MS cleaning").


@njit(cache=True, nogil=True)
def _argsort_desc(intensity, n):
    """Indices of ``intensity[:n]`` by decreasing value: Lomuto quicksort (pivot = last, ``>=``),
    the order -- ties included -- of ms_entropy's ``calculate_spectrum_argsort``."""
    order = np.arange(n)
    stack = np.empty(2 * n + 4, dtype=np.int64)
    stack[0] = 0
    stack[1] = n - 1
    top = 2
    while top > 0:
        high = stack[top - 1]
        low = stack[top - 2]
        top -= 2
        if low >= high:
            continue
        pivot = intensity[order[high]]
        i = low - 1
        for j in range(low, high):
            if intensity[order[j]] >= pivot:
                i += 1
                order[i], order[j] = order[j], order[i]
        order[i + 1], order[high] = order[high], order[i + 1]
        p = i + 1
        stack[top] = low
        stack[top + 1] = p - 1
        stack[top + 2] = p + 1
        stack[top + 3] = high
        top += 4
    return order


@njit(cache=True, nogil=True)
def _compact(mz, intensity, n):
    """Keep entries with intensity > 0, sorted by m/z (stable); returns the new length."""
    keep = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if intensity[i] > 0:
            keep[m] = i
            m += 1
    keep = keep[:m]
    order = keep[np.argsort(mz[keep], kind="mergesort")]
    new_mz = mz[order]
    new_int = intensity[order]
    mz[:m] = new_mz
    intensity[:m] = new_int
    return m


@njit(cache=True, nogil=True)
def _needs_centroid(mz, n, min_diff, ppm):
    for i in range(n - 1):
        limit = np.float32(mz[i + 1] * min_diff * 1e-6) if ppm else min_diff
        if mz[i + 1] - mz[i] < limit:
            return True
    return False


@njit(cache=True, nogil=True)
def _centroid_pass(mz, intensity, n, min_diff, ppm):
    """From the most intense peak down, each live peak absorbs (in place) every entry within
    ``min_diff`` on either side into an intensity-weighted centroid; returns the new length."""
    order = _argsort_desc(intensity, n)
    left = min_diff
    right = min_diff
    for k in range(n):
        idx = order[k]
        if ppm:
            left = np.float32(mz[idx] * min_diff * 1e-6)
            right = np.float32(mz[idx] / (1.0 - min_diff * 1e-6) - mz[idx])
        if intensity[idx] > 0:
            lo = idx - 1
            while lo >= 0 and mz[idx] - mz[lo] <= left:
                lo -= 1
            hi = idx + 1
            while hi < n and mz[hi] - mz[idx] <= right:
                hi += 1
            # float32 products summed in float64, as ms_entropy's compiled build evaluates it.
            total = 0.0
            weighted = 0.0
            for t in range(lo + 1, hi):
                total += np.float64(intensity[t])
                weighted += np.float64(intensity[t] * mz[t])
                intensity[t] = np.float32(0.0)
            mz[idx] = np.float32(weighted / total)
            intensity[idx] = np.float32(total)
    return _compact(mz, intensity, n)


@njit(cache=True, nogil=True)
def clean_peaks_f32(mz, intensity, min_mz, max_mz, noise_threshold, min_diff, ppm, max_peaks):
    """ms_entropy's ``clean_spectrum`` on float32 copies of the peaks.

    Steps: (1) drop peaks with ``mz <= min_mz``, ``mz >= max_mz`` (if ``max_mz > 0``) or
    intensity <= 0; (2) merge passes until every gap is >= ``min_diff`` (Da, or ppm);
    (3) drop intensity < ``noise_threshold`` x base peak (if ``noise_threshold > 0``); (4) keep
    the ``max_peaks`` most intense (if > 0); (5) intensities divided by their sum.
    All thresholds are float32 scalars. Returns new float32 ``(mz, intensity)``.
    """
    mz = mz.astype(np.float32)
    intensity = intensity.astype(np.float32)
    n = mz.shape[0]
    # Step 1
    for i in range(n):
        if mz[i] <= min_mz or (max_mz > 0 and mz[i] >= max_mz):
            intensity[i] = np.float32(0.0)
    n = _compact(mz, intensity, n)
    # Step 2
    while _needs_centroid(mz, n, min_diff, ppm):
        n = _centroid_pass(mz, intensity, n, min_diff, ppm)
    # Step 3
    if noise_threshold > 0 and n > 0:
        top = intensity[:n].max()
        floor = noise_threshold * top
        for i in range(n):
            if intensity[i] < floor:
                intensity[i] = np.float32(0.0)
    # Step 4
    if max_peaks > 0 and max_peaks < n:
        order = _argsort_desc(intensity, n)
        for k in range(max_peaks, n):
            intensity[order[k]] = np.float32(0.0)
    n = _compact(mz, intensity, n)
    # Step 5
    total = np.float32(0.0)
    for i in range(n):
        total += intensity[i]
    if total > 0:
        for i in range(n):
            intensity[i] = intensity[i] / total
    return mz[:n].copy(), intensity[:n].copy()


# -- the nominal (EI) index's scatter-add --------------------------------------------------


@njit(cache=True, nogil=True)
def _add_dense1(acc, h1, w1):
    for r in range(acc.shape[0]):
        acc[r] += w1 * h1[r]


@njit(cache=True, nogil=True)
def _add_dense2(acc, h1, h2, w1, w2):
    for r in range(acc.shape[0]):
        acc[r] = (acc[r] + w1 * h1[r]) + w2 * h2[r]


@njit(cache=True, nogil=True)
def _add_dense4(acc, h1, h2, h3, h4, w1, w2, w3, w4):
    for r in range(acc.shape[0]):
        acc[r] = (((acc[r] + w1 * h1[r]) + w2 * h2[r]) + w3 * h3[r]) + w4 * h4[r]


@njit(cache=True, nogil=True, inline="always")
def _popcount(x):
    """Set bits of a uint64 (the bit-twiddling form, which LLVM compiles to the popcount instruction)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True)
def dense_peak_counts(q_mz, lo, hi, dense_column, present, count):
    """Add to ``count`` every spectrum's peaks in the dense bins among query peaks ``lo:hi``
    (:func:`nominal_scatter_add` adds the others): ``present[w, r]`` holds bit ``c % 64`` of word
    ``w = c // 64`` where spectrum ``r`` has a peak in dense column ``c``. A popcount per 64 dense
    bins and spectrum instead of a float add per bin: counts are exact integers in any order."""
    n_bins = dense_column.shape[0]
    words = np.zeros(present.shape[0], dtype=np.uint64)
    for p in range(lo, hi):
        m = int(q_mz[p])
        if m < n_bins and dense_column[m] >= 0:
            c = dense_column[m]
            words[c // 64] |= np.uint64(1) << np.uint64(c % 64)
    for w in range(words.shape[0]):
        bits = words[w]
        if bits == 0:
            continue
        row = present[w]
        for r in range(count.shape[0]):
            count[r] += np.float32(_popcount(row[r] & bits))


@njit(cache=True, nogil=True)
def nominal_scatter_add(q_mz, q_weight, lo, hi, bin_offsets, peak_position, peak_weight, dense_column, dense,
                        acc, count, touched):
    """Add query peaks ``lo:hi`` into per-spectrum weighted cosines ``acc`` and matched-peak
    counts ``count`` (float32), the Flash-entropy layout of :class:`~nps_id.search.index.NominalIndex`.

    Each query bin's slice of the index is added in a sequential loop, so repeated positions add
    up. A bin with ``dense_column[m] >= 0`` is added instead as the whole row ``dense[column]``
    to ``acc`` alone (one weight per position, 0 = no peak; :func:`dense_peak_counts` adds their
    counts): cheaper than scattering a bin most spectra share, and the same sums bit for bit
    (``w * 0.0`` adds nothing; terms still arrive in ascending m/z).
    Up to four consecutive dense query bins are added in one pass over the spectra (each sum
    still takes its terms one by one in query order: the same bits, a quarter of the loads and
    stores of ``acc`` and ``count``; the EI identity search ~12 % faster).
    When ``touched`` is not empty (use no dense bins then) the positions reached for the first
    time are written to it in that order. Returns how many were.
    """
    n_bins = bin_offsets.shape[0] - 1
    track = touched.shape[0] > 0
    nt = 0
    p = lo
    while p < hi:
        m = int(q_mz[p])
        if m >= n_bins:
            p += 1
            continue  # above the library's highest m/z: matches nothing
        column = dense_column[m]
        if column >= 0:
            run = 1  # the dense bins that follow this one, up to four in all
            while run < 4 and p + run < hi and int(q_mz[p + run]) < n_bins and dense_column[int(q_mz[p + run])] >= 0:
                run += 1
            c = dense_column[int(q_mz[p + run - 1])]
            if run == 4:
                _add_dense4(acc, dense[column], dense[dense_column[int(q_mz[p + 1])]],
                            dense[dense_column[int(q_mz[p + 2])]], dense[c],
                            q_weight[p], q_weight[p + 1], q_weight[p + 2], q_weight[p + 3])
            elif run >= 2:
                _add_dense2(acc, dense[column], dense[dense_column[int(q_mz[p + 1])]], q_weight[p], q_weight[p + 1])
                if run == 3:
                    _add_dense1(acc, dense[c], q_weight[p + 2])
            else:
                _add_dense1(acc, dense[column], q_weight[p])
            p += run
            continue
        w = q_weight[p]
        for j in range(bin_offsets[m], bin_offsets[m + 1]):
            pos = peak_position[j]
            if track and count[pos] == 0:
                touched[nt] = pos
                nt += 1
            acc[pos] += w * peak_weight[j]
            count[pos] += np.float32(1.0)
        p += 1
    return nt

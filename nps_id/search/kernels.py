"""Pure array kernels behind every similarity score (numba, ``fastmath`` off).

Each kernel sees only NumPy arrays and numbers, never a :class:`~nps_id.spectrum.Spectrum`;
the thin classes in :mod:`nps_id.search.scores` hold the parameters and call these. Formulas,
scales and citations are in ``docs/scores.md``. ``fastmath`` stays off everywhere so that a
forensic result reproduces bit for bit on every run and machine.

Entry points
------------
EI, nominal (unit-mass) spectra -- m/z must already be integers (see
:func:`nps_id.search.preprocess.to_nominal`), unique and ascending:

- :func:`composite_mf_many` -- NIST-style composite match factor (MF) and reverse match factor
  (RMF) of one query against many candidate references in CSR form; raw 0-1 values.
- :func:`composite_parts_many` -- the same plus the parts (dot products, ratio term, counts).
"""
from __future__ import annotations

import numpy as np
from numba import njit

# -- EI composite match factor (Stein & Scott 1994) ----------------------------------------


@njit(cache=True)
def _dense_query(q_mz, q_int):
    """Query intensities on a dense nominal-mass axis (index = m/z); repeated m/z are summed."""
    n = q_mz.shape[0]
    top = 0
    for i in range(n):
        m = int(np.rint(q_mz[i]))
        if m > top:
            top = m
    dense = np.zeros(top + 1, dtype=np.float64)
    for i in range(n):
        if q_int[i] > 0:
            dense[int(np.rint(q_mz[i]))] += q_int[i]
    return dense


@njit(cache=True)
def composite_parts_many(q_mz, q_int, ref_offsets, ref_mz, ref_int, cand_idx, a, b):
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
    """
    dense = _dense_query(q_mz, q_int)
    top = dense.shape[0] - 1
    q_norm2 = 0.0
    n_u = 0
    for m in range(top + 1):
        if dense[m] > 0:
            w = m ** a * dense[m] ** b
            q_norm2 += w * w
            n_u += 1
    out = np.zeros((cand_idx.shape[0], 7), dtype=np.float64)
    for k in range(cand_idx.shape[0]):
        r = cand_idx[k]
        dot = 0.0
        r_norm2 = 0.0
        q_sub2 = 0.0
        ratio_sum = 0.0
        n_match = 0
        prev_q = 0.0
        prev_r = 0.0
        for j in range(ref_offsets[r], ref_offsets[r + 1]):
            ir = ref_int[j]
            if ir <= 0:
                continue
            m = int(np.rint(ref_mz[j]))
            wr = m ** a * ir ** b
            r_norm2 += wr * wr
            if m <= top and dense[m] > 0:
                iq = dense[m]
                wq = m ** a * iq ** b
                dot += wq * wr
                q_sub2 += wq * wq
                if n_match > 0:
                    # Adjacent matched pair: m/z weights cancel, only intensities remain.
                    ratio = ((ir * prev_q) / (prev_r * iq)) ** b
                    if ratio > 1.0:
                        ratio = 1.0 / ratio
                    ratio_sum += ratio
                n_match += 1
                prev_q = iq
                prev_r = ir
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
        out[k, 0] = min(mf, 1.0)
        out[k, 1] = min(rmf, 1.0)
        out[k, 2] = min(f_d, 1.0)
        out[k, 3] = min(f_d_rev, 1.0)
        out[k, 4] = f_r
        out[k, 5] = n_match
        out[k, 6] = n_u
    return out


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
    parts = composite_parts_many(
        q_mz, q_int, ref_offsets, ref_mz, ref_int, np.asarray(cand_idx, dtype=np.int64), float(a), float(b)
    )
    return parts[:, 0].copy(), parts[:, 1].copy()

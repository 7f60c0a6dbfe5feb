"""Ranking: the top ``k`` of every query's exactly scored candidates, with hit confidence.

Per query, candidates are sorted by score descending, then library row ascending; for each of
the first ``k``, the gap to the best candidate of a *different* compound and an isomer alert when
a different compound with the same formula scores within the margin.

Entry points
------------
- :func:`rank_candidates` -- per-query candidate tuples -> one batch of :class:`~nps_id.search.settings.Hits`.
- :func:`rank_batch` -- the same from CSR-like candidate arrays (the compiled EI batch's output).
- :func:`assemble` -- batches -> :class:`~nps_id.search.settings.Hits`, sorted by query and rank.
- :func:`without` -- hits with some rows taken out, ranked again (a library without them).
- :func:`top_indices`, :func:`not_listed` -- small helpers the candidate steps share.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nps_id.search import few, jit
from nps_id.search.jit import njit
from nps_id.search.analogue import analogue_score
from nps_id.search.settings import Hits

if TYPE_CHECKING:
    from nps_id.search.prepared import SearchContext


def top_indices(values: np.ndarray, size: int) -> np.ndarray:
    """Indices of the ``size`` largest ``values`` (all if fewer), by ``argpartition``."""
    if values.size <= size:
        return np.arange(values.size)
    return np.argpartition(-values, size - 1)[:size]



def not_listed(size: int) -> np.ndarray:
    return np.full(size, -1, dtype=np.int64)


def without(hits: Hits, keep: np.ndarray, compound: np.ndarray, formula: np.ndarray, top_k: int,
            margin: float) -> Hits:
    """The hits ``keep`` marks, ranked again by :func:`rank_batch`'s kernel: ranks, gaps and isomer
    alerts as a search of a library without the other rows would give them (``compound`` and
    ``formula``: the library's codes, :meth:`~nps_id.search.reference.Reference.compound` and
    :func:`~nps_id.search.prepared.formula_codes`). Exact as far as ``hits`` reach: searched with
    ``top_k`` equal to the prefilter, they hold every candidate the search scored. The
    leave-compound-out benchmark."""
    kept = np.flatnonzero(keep)
    query = np.asarray(hits.query, dtype=np.int64)[kept]
    batch, counts = np.unique(query, return_counts=True)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    rows = np.asarray(hits.row, dtype=np.int64)[kept]
    pick, slot, rank, gap, alert = _rank(offsets, rows, np.asarray(hits.score, dtype=np.float64)[kept],
                                         compound, formula, top_k, margin)
    picked = kept[pick]
    return Hits(query=batch[slot], rank=rank, row=rows[pick], score=hits.score[picked], mf=hits.mf[picked],
                rmf=hits.rmf[picked], delta_mass=hits.delta_mass[picked], similarity=hits.similarity[picked],
                delta_shift=hits.delta_shift[picked], gap=gap, isomer_alert=alert)


def rank_candidates(batch: np.ndarray, found: list[tuple], ctx: SearchContext) -> Hits:
    """:func:`rank_batch` of per-query candidate tuples
    ``(slot, rows, similarity, mf, rmf, delta, listed_shift)``."""
    offsets = np.zeros(len(batch) + 1, dtype=np.int64)
    for slot, rows, *_ in found:
        offsets[slot + 1] = rows.size
    np.cumsum(offsets, out=offsets)
    columns = [np.concatenate([f[c] for f in found]) if found else np.empty(0) for c in range(1, 7)]
    rows = columns[0].astype(np.int64)
    return rank_batch(batch, offsets, rows, *columns[1:5], columns[5].astype(np.int64), ctx)


def rank_batch(
    batch: np.ndarray, offsets: np.ndarray, rows: np.ndarray, similarity: np.ndarray, mf: np.ndarray,
    rmf: np.ndarray, delta: np.ndarray, listed: np.ndarray, ctx: SearchContext,
) -> Hits:
    """Top-k of every query's exactly scored candidates (CSR by query slot), with gap and alert.
    The ranking score is the similarity, or in analogue mode with the mass prior the analogue
    score built on it."""
    s = ctx.settings
    score = similarity
    if s.mode == "analog" and s.mass_prior:
        score = analogue_score(similarity, delta, listed)
    # a few queries' candidates: their formulas alone (the NumPy kernel, a one-spectrum search)
    library = ctx.library
    formula = library.formula_of(rows) if jit.few_queries(offsets.size - 1) else library.formula
    pick, slot, rank, gap, alert = _rank(offsets, rows, score, library.compound, formula, s.top_k, s.isomer_margin)
    return Hits(query=np.asarray(batch, dtype=np.int64)[slot], rank=rank, row=rows[pick], score=score[pick],
                mf=mf[pick], rmf=rmf[pick], delta_mass=delta[pick], similarity=similarity[pick],
                delta_shift=listed[pick], gap=gap, isomer_alert=alert)


def _rank(offsets: np.ndarray, rows: np.ndarray, score: np.ndarray, compound: np.ndarray, formula: np.ndarray,
          top_k: int, margin: float) -> tuple[np.ndarray, ...]:
    """:func:`_rank_kernel`, in NumPy for a few queries (:func:`nps_id.search.few.rank`)."""
    kernel = few.rank if jit.few_queries(offsets.size - 1) else _rank_kernel
    return kernel(offsets, rows, score, compound, formula, top_k, margin)


@njit(cache=True, nogil=True)
def _rank_kernel(offsets, rows, score, compound, formula, top_k, margin):
    """Per query: candidates sorted by score descending, then library row ascending (two stable
    sorts); for each of the first ``top_k``, the gap to the best candidate of another compound
    and whether another compound with the same formula scores within ``margin``.

    Returns ``(pick, slot, rank, gap, alert)``: indices into the candidate arrays, query slot,
    1-based rank, gap (NaN when no other compound scored above 0) and isomer alert.
    """
    nq = offsets.shape[0] - 1
    n_out = 0
    for q in range(nq):
        n_out += min(top_k, offsets[q + 1] - offsets[q])
    pick = np.empty(n_out, dtype=np.int64)
    slot = np.empty(n_out, dtype=np.int64)
    rank = np.empty(n_out, dtype=np.int64)
    gap = np.full(n_out, np.nan)
    alert = np.zeros(n_out, dtype=np.bool_)
    o = 0
    for q in range(nq):
        lo, hi = offsets[q], offsets[q + 1]
        m = hi - lo
        if m == 0:
            continue
        by_row = lo + np.argsort(rows[lo:hi], kind="mergesort")
        order = by_row[np.argsort(-score[by_row], kind="mergesort")]
        for r in range(min(top_k, m)):
            i = order[r]
            c = compound[rows[i]]
            f = formula[rows[i]]
            for t in range(m):
                j = order[t]
                if compound[rows[j]] != c:
                    # the first other compound is the best one; one that scored 0 matched nothing
                    # (an MS/MS record in the precursor window without a common fragment): no gap
                    if score[j] > 0:
                        gap[o] = score[i] - score[j]
                    break
            if f >= 0:
                for t in range(m):
                    j = order[t]
                    if compound[rows[j]] != c and formula[rows[j]] == f and abs(score[j] - score[i]) <= margin:
                        alert[o] = True
                        break
            pick[o] = i
            slot[o] = q
            rank[o] = r + 1
            o += 1
    return pick, slot, rank, gap, alert


def assemble(parts: list[Hits]) -> Hits:
    names = [f for f in Hits.__dataclass_fields__]
    if not parts:
        empty = {"query": np.int64, "rank": np.int64, "row": np.int64, "delta_shift": np.int64, "isomer_alert": bool}
        return Hits(**{n: np.empty(0, dtype=empty.get(n, np.float64)) for n in names})
    cols = {n: np.concatenate([getattr(p, n) for p in parts]) for n in names}
    order = np.lexsort((cols["rank"], cols["query"]))
    return Hits(**{n: v[order] for n, v in cols.items()})

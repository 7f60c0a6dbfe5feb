"""Compiled decision trees: each class's score of a boosted ensemble, its trees' leaf values summed.

The group models' trees (:class:`nps_id.match.group_model.Trees`, ~1,000 trees of depth up to 14)
walked level by level in NumPy cost ~100-170 us a spectrum; this kernel ~15-20 us (stop 44). It
lives here, not beside the model: numba's cache of every nps-id kernel is stamped with the text of
``nps_id/search``'s kernel modules (:func:`nps_id.search.jit.kernel_sources_digest`), so a kernel
elsewhere would keep running its stale cached code after an edit.

Entry point: :func:`tree_scores`.
"""
from __future__ import annotations

import numpy as np

from nps_id.search.jit import njit

#: Rows walked through one tree together: their paths are independent, so the processor overlaps
#: them (one path's next node waits on its last load), and the tree's nodes stay in cache across
#: the block (16 fastest of 4-128 on the EI model).
ROW_BLOCK = 16


@njit(cache=True, nogil=True)
def tree_scores(x, nodes, threshold, value, root, depth, label, n_labels):
    """(rows, n_labels) float64: for each row of ``x`` (C-contiguous float64) and label, the sum of
    the ``value`` of the leaf each of that ``label``'s trees reaches, tree by tree in their order
    from 0.0. ``nodes`` holds each node's feature, left and right child (nodes, 3); a tree starts at
    ``root[t]`` and takes ``depth[t]`` steps, each from ``node`` to its left child when ``x[row,
    feature] <= threshold[node]``, else (a NaN included) to its right one; a leaf is its own
    children, so a path that ends early stays there. The step is arithmetic, not a branch (which way
    a row goes is unpredictable: a branch was mispredicted half the time); ``nodes``, ``root`` and
    ``label`` are unsigned (uint64): numba checks a signed index for wrap-around, ~40 % of the time;
    a node's feature and children side by side: one cache line (~10 % faster than three arrays).
    Summed here, not returned per tree: a search's one call of ~4,000 rows wrote ~35 MB of leaf
    values to fresh pages first (45 against 80 ms)."""
    n, trees = x.shape[0], root.shape[0]
    out = np.zeros((n, n_labels), dtype=np.float64)
    at = np.empty(ROW_BLOCK, dtype=np.uint64)
    for first in range(0, n, ROW_BLOCK):
        rows = min(n - first, ROW_BLOCK)
        for t in range(trees):
            for i in range(rows):
                at[i] = root[t]
            for _ in range(depth[t]):
                for i in range(rows):
                    node = at[i]
                    at[i] = nodes[node, 1 + np.uint64(not x[first + i, nodes[node, 0]] <= threshold[node])]
            for i in range(rows):
                out[first + i, label[t]] += value[at[i]]
    return out

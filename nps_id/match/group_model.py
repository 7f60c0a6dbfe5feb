"""The suspected group of an unknown no library compound explains: small learned classifiers.

An early warning names the EWA group (or subclass) a new substance probably belongs to. The
closest library compounds' groups alone (:func:`nps_id.match.substance_group._family`) leave most
phenethylamines, cannabinoids and cathinones without a group when those hits are far or split;
the spectrum itself carries the series' ions (iminium, tropylium, acylium, methoxybenzyl). These
models read both and name a group only when it is probable: a wrong group is worse than none.

Features (:func:`features`), per spectrum kind:

- both: the spectrum, sqrt of each nominal m/z's intensity relative to the base peak, m/z 1 to
  :data:`MAX_MZ`;
- EI: the neutral losses from its molecular ion (:func:`~nps_id.match.molecular_mass.molecular_ion`,
  1-:data:`MAX_LOSS` Da: a series loses the same groups from molecules of any mass -- the spectrum
  alone places them at a different m/z in each member); the differences between its ions
  (1-:data:`MAX_DIFFERENCE` u, the ions >= :data:`DIFFERENCE_LEVEL` of the base peak; per
  difference the sum of the two ions' sqrt intensities' products, as a share of all: which small
  pieces the molecule loses from ion to ion -- CO from an acylium, C2H2 from a tropylium); the
  diagnostic ion sets of :mod:`nps_id.chem.diagnostic_ions` (one indicator each); the vote of the closest distinct library compounds (the first :data:`VOTE_COMPOUNDS`): per group
  label the model knows (and "no group"), its share of their similarity**4 weight and its best
  similarity; the best similarity overall; per label again the closest compound's similarity (in
  its label's slot alone), the share of the compounds of that label and the similarity**4 share
  times the best similarity (a linear model cannot multiply: a share from far hits is not one from
  close ones); the spectrum's shape (:func:`_shape`): its molecular ion and base peak in
  :data:`MASS_BIN` u bins, the log count of its ions >= 5 % of the base peak, the share of its
  intensity below m/z 100 and the molecular ion / 500 (a series spans a mass range, one weight
  per m/z cannot say "heavy");
- MS/MS: neutral losses from the precursor (1-:data:`MAX_LOSS` Da), the precursor m/z and its
  polarity (no vote: an identity search's MS/MS hits share the precursor mass; the caller asks
  the hits' vote first).

Model: multinomial logistic regression on standardised features, softmax over the labels and
"none" (no group); since version 4 its probabilities averaged with gradient-boosted trees'
(:class:`Trees`, on the raw features: a tree reads "a close hit of group G and a light molecular
ion", a sum of weights cannot; EI since stop 41, MS/MS since stop 42); :meth:`GroupModel.predict` names the
most probable label when its probability reaches ``min_probability``, else None. Trained by ``benchmarks/train_group_model.py`` on the
development libraries (EI: SWGDRUG and MassBank EI, each spectrum with its own compound left out
of its hits; MS/MS: MassBank MS/MS); shipped as :data:`MODEL_PATHS` (plain arrays, read without
pickle, evaluated in numpy; the trees by a compiled kernel once numba is loaded). Measured: docs/match.md, "New substances".

Entry points: :func:`features`, :func:`hit_votes`, :func:`distinct_compounds`,
:class:`GroupModel` (:meth:`~GroupModel.load`, :meth:`~GroupModel.predict`,
:meth:`~GroupModel.save`), :class:`Trees`, :func:`shipped_group_model`, :data:`MODEL_PATHS`.
"""
from __future__ import annotations

import functools
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from nps_id.chem.diagnostic_ions import ION_SETS
from nps_id.errors import LibraryError
from nps_id.match.molecular_mass import molecular_ion
from nps_id.search import jit
from nps_id.search import trees as tree_kernel

#: The shipped model of each spectrum kind.
MODEL_PATHS = {kind: Path(__file__).with_name(f"group_model_{kind}.npz") for kind in ("ei", "ms2")}
#: Format of the model file this code writes with trees (2: the EI features hold the losses from
#: the molecular ion and the differences between ions; 3: the EI features hold the closest
#: compound, the vote's counts and its share times the best similarity, and the spectrum's shape;
#: 4: version 3's linear model and gradient-boosted trees on the same features, their
#: probabilities averaged).
MODEL_VERSION = 4
#: Versions this code reads: 3 (the linear model alone, the same features) and 4.
READ_VERSIONS = (3, MODEL_VERSION)
#: The tree arrays of a version 4 file (:class:`Trees`).
TREE_ARRAYS = ("tree_feature", "tree_threshold", "tree_left", "tree_right", "tree_value", "tree_root",
               "tree_label", "tree_baseline")
#: Most nodes from a tree's root to its leaf a model file may hold: its trees are evaluated one
#: level per array step (the shipped and fold trees' deepest paths are 13-14 steps).
MAX_TREE_DEPTH = 64
#: Highest nominal m/z of the spectrum features.
MAX_MZ = 500
#: Largest neutral loss (Da, nominal) from the precursor of the MS/MS loss features.
MAX_LOSS = 200
#: Largest difference (u) between two EI ions of the ion-difference features.
MAX_DIFFERENCE = 60
#: The EI ions (relative to the base peak) whose differences are features: the spectrum's own
#: ions, not the noise a pair count would multiply.
DIFFERENCE_LEVEL = 0.02
#: Distinct library compounds (closest first) whose groups vote.
VOTE_COMPOUNDS = 10
#: The label of "no group" among the model's classes.
NONE_LABEL = ""
#: Largest magnitude of a model file's weights, means and scales (the shipped models' are below
#: 100): above, the softmax overflows and every probability is NaN.
MAX_WEIGHT = 1e6
#: Smallest scale of a feature (a feature's standard deviation over the training spectra: ~1e-4
#: for one seen in a single spectrum): below, the standardised feature overflows.
MIN_SCALE = 1e-12
#: Probabilities this close (to the threshold, or best to second best) are recomputed one spectrum
#: at a time by :meth:`GroupModel.predict_many`: a batched matrix product differs from a single
#: row's by ~1e-16 (BLAS gemm against gemv), never 1e-9.
TIE_MARGIN = 1e-9
#: Width (u) of the molecular-ion and base-peak bins of the EI shape features.
MASS_BIN = 25
#: Bins of each (the last holds everything from (MASS_BINS - 1) * MASS_BIN up).
MASS_BINS = 20
#: Shape features: molecular-ion bins and "no molecular ion", base-peak bins, three numbers.
SHAPE_FEATURES = 2 * MASS_BINS + 1 + 3
#: The molecular ion the shape's "molecular ion / 500" reads at most (u): the training spectra's
#: highest m/z is 2,457 (MassBank EI). Beyond it a linear model only extrapolates -- a stray ion at
#: m/z 4,000 gave an alkane-like spectrum a group by itself (0.58; 0.96 at 8,000; attack40a).
MAX_SHAPE_PARENT = 2500


#: What the model reads of one spectrum: its nominal spectrum, ranked hits, their
#: :class:`~nps_id.match.library_facts.LibraryFacts` and its MS/MS (precursor m/z, ion mode).
ModelInput = tuple[dict[int, float], Sequence[Any], Any, "tuple[float, str] | None"]


def distinct_compounds(hits: Iterable[Any], facts: Any, min_similarity: float = 0.0) -> Iterator[Any]:
    """The first hit of each compound (InChIKey first block) among ``hits`` (best first) at
    ``min_similarity`` or more; ``facts`` is a :class:`~nps_id.match.library_facts.LibraryFacts`."""
    seen = set()
    for hit in hits:
        block = facts.block(hit.row)
        if hit.similarity < min_similarity or block in seen:
            continue
        seen.add(block)
        yield hit


def hit_votes(hits: Sequence[Any], facts: Any, n: int = VOTE_COMPOUNDS) -> list[tuple[str | None, float]]:
    """(group, similarity) of the first ``n`` distinct compounds among ``hits`` (best first)."""
    # distinct_compounds inlined: a generator step per hit cost ~3 us a query (~3,700 EI queries)
    votes: list[tuple[str | None, float]] = []
    seen = set()
    for hit in hits:
        if len(votes) >= n:
            break
        block = facts.block(hit.row)
        if block not in seen:
            seen.add(block)
            votes.append((facts.group(hit.row), float(hit.similarity)))
    return votes


def features(kind: str, relative: dict[int, float], votes: Sequence[tuple[str | None, float]],
             labels: Sequence[str], precursor: tuple[float, str] | None = None) -> np.ndarray:
    """The feature vector of one spectrum of ``kind`` (``"ei"``, ``"ms2"``): ``relative`` is its
    :func:`~nps_id.match.molecular_mass.nominal_spectrum`, ``votes`` its :func:`hit_votes` (EI),
    ``labels`` the group labels the vote is counted for (:data:`NONE_LABEL` among them),
    ``precursor`` (MS/MS) its (m/z, ion mode)."""
    # array steps, not a NumPy call per peak (~1 us each, twice per MS/MS spectrum); sqrt is
    # correctly rounded either way, so the same bits
    nominal = np.fromiter(relative, np.int64, len(relative))
    values = np.fromiter(relative.values(), np.float64, len(relative))
    roots = np.sqrt(values)
    spectrum = np.zeros(MAX_MZ)
    inside = (nominal >= 1) & (nominal <= MAX_MZ)
    spectrum[nominal[inside] - 1] = roots[inside]
    if kind == "ms2":
        return np.concatenate([spectrum, _losses(nominal, roots, None if precursor is None else precursor[0]), [
            0.0 if precursor is None else precursor[0] / 1000.0,
            float(precursor is not None and precursor[1] == "negative")]])
    parent = molecular_ion(relative)
    losses = _losses(nominal, roots, parent)
    differences = _differences(nominal, roots)
    index = _label_index(tuple(labels))
    none = index[NONE_LABEL]
    # the vote in Python floats, then one array each: the same double sums and maxima as adding
    # into the arrays item by item (a NumPy scalar per item cost ~10 us a query, ~3,800 queries)
    shares, bests, counts, first = [0.0] * len(labels), [0.0] * len(labels), [0.0] * len(labels), [0.0] * len(labels)
    for n, (group, similarity) in enumerate(votes):
        i = index.get(group or NONE_LABEL, none)  # a group the model never saw: none
        shares[i] += similarity ** 4
        bests[i] = max(bests[i], similarity)
        counts[i] += 1.0 / VOTE_COMPOUNDS
        if n == 0:
            first[i] = similarity
    share, best = np.array(shares), np.array(bests)
    total = share.sum()
    if total > 0:
        share /= total
    top = max((s for _, s in votes), default=0.0)
    ions = [float(all(relative.get(m, 0.0) >= ion_set.min_relative for m in ion_set.ions)) for ion_set in ION_SETS]
    return np.concatenate([spectrum, losses, differences, ions, share, best, [top], first, counts, share * top,
                           _shape(nominal, values, parent)])


def _shape(nominal: np.ndarray, values: np.ndarray, parent: int | None) -> np.ndarray:
    """The EI shape features (:data:`SHAPE_FEATURES`) of a nominal spectrum (its m/z and relative
    intensities) with molecular ion ``parent``: one-hot molecular-ion bin (or "none"),
    one-hot base-peak bin, log(1 + ions >= 5 % of the base peak), the share of the intensity below
    m/z 100, the molecular ion (at most :data:`MAX_SHAPE_PARENT`) / 500 (0: none)."""
    out = np.zeros(SHAPE_FEATURES)
    if not nominal.size:
        return out
    out[MASS_BINS if parent is None else min(int(parent) // MASS_BIN, MASS_BINS - 1)] = 1.0
    base = int(nominal[np.argmax(values)])  # the first of equal base peaks, as max() over the dict
    out[MASS_BINS + 1 + min(base // MASS_BIN, MASS_BINS - 1)] = 1.0
    out[-3:] = (np.log1p(np.count_nonzero(values >= 0.05)), values[nominal < 100].sum() / values.sum(),
                min(parent or 0, MAX_SHAPE_PARENT) / 500.0)
    return out


@functools.lru_cache(maxsize=16)
def _label_index(labels: tuple[str, ...]) -> dict[str, int]:
    """Label -> its position in ``labels`` (a model's ``vote_labels``: the same few tuples for every query)."""
    return {label: i for i, label in enumerate(labels)}


def _losses(nominal: np.ndarray, roots: np.ndarray, parent: float | None) -> np.ndarray:
    """sqrt relative intensity (``roots``, > 0: a nominal spectrum's) per nominal neutral loss
    1-:data:`MAX_LOSS` Da from ``parent`` (the MS/MS precursor m/z, the EI molecular ion; None: no
    losses); ``nominal`` holds distinct m/z, so one value a loss."""
    out = np.zeros(MAX_LOSS)
    if parent is None or not np.isfinite(parent):
        return out
    loss = int(round(parent)) - nominal
    inside = (loss >= 1) & (loss <= MAX_LOSS)
    out[loss[inside] - 1] = roots[inside]
    return out


def _differences(nominal: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Per difference 1-:data:`MAX_DIFFERENCE` u between two ions >= :data:`DIFFERENCE_LEVEL` of the
    base peak, the sum of their sqrt intensities' (``roots``) products, as a share of all (zeros
    when no two ions are that close)."""
    keep = roots >= np.sqrt(DIFFERENCE_LEVEL)
    mz, root = nominal[keep], roots[keep]
    gap = mz[:, None] - mz[None, :]
    inside = (gap >= 1) & (gap <= MAX_DIFFERENCE)
    out = np.bincount(gap[inside] - 1, (root[:, None] * root[None, :])[inside], MAX_DIFFERENCE)
    total = out.sum()
    return out / total if total > 0 else out


def n_features(kind: str, n_labels: int) -> int:
    return MAX_MZ + MAX_LOSS + (2 if kind == "ms2" else MAX_DIFFERENCE + len(ION_SETS) + 5 * n_labels + 1 + SHAPE_FEATURES)


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted regression trees (sklearn's HistGradientBoostingClassifier, converted by
    ``benchmarks/train_group_model.py``) evaluated in NumPy or compiled: every tree's nodes in one set of
    arrays, a node's children after it (a leaf is its own children: feature 0, threshold +inf).
    A class's score is ``baseline`` plus its trees' leaf values; the probabilities their softmax.
    Written by hand (no sklearn at run time): the trees are plain arrays read without pickle."""

    feature: np.ndarray  # (nodes,) the feature a node splits on
    threshold: np.ndarray  # (nodes,) x[feature] <= threshold: left child, else right
    left: np.ndarray  # (nodes,)
    right: np.ndarray  # (nodes,)
    value: np.ndarray  # (nodes,) a leaf's score
    root: np.ndarray  # (trees,)
    label: np.ndarray  # (trees,) the class (index into the model's labels) a tree scores
    baseline: np.ndarray  # (labels,)
    depth: int  # the most steps from a root to a leaf

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Softmax over the labels of each row of ``x`` (raw features, not standardised): the
        compiled walk (:func:`nps_id.search.trees.tree_scores`) once numba is loaded, NumPy's
        before (a search of a few queries never loads it: ~0.4 s of a one-spectrum process); the
        same leaves summed in the same order, so the same numbers to the last bit."""
        x = np.atleast_2d(x)
        z = self.baseline + (self._compiled_scores(x) if jit.loaded() else self._scores(x))
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def _scores(self, x: np.ndarray) -> np.ndarray:
        """(rows, labels) each label's trees' leaf values summed for each row of ``x``, tree by tree
        in their order (as the kernel adds them: until stop 44 a matrix product, whose order BLAS
        chooses), in NumPy: every tree's path of every row one level per array step."""
        n, trees = len(x), len(self.root)
        node = np.tile(self.root, n)  # row r's tree t at r * trees + t
        start = np.repeat(np.arange(n) * x.shape[1], trees)  # its row in the flat features
        flat = x.ravel()
        active = np.flatnonzero(self.left[node] != node)
        for _ in range(self.depth):  # one level per step, of the paths not yet at a leaf
            at = node[active]
            step = np.where(flat[start[active] + self.feature[at]] <= self.threshold[at], self.left[at], self.right[at])
            node[active] = step
            active = active[self.left[step] != step]
        out = np.zeros((n, len(self.baseline)))
        np.add.at(out, (np.repeat(np.arange(n), trees), np.tile(self.label, n)), self.value[node])  # in index order
        return out

    def _compiled_scores(self, x: np.ndarray) -> np.ndarray:
        """:meth:`_scores` by the compiled kernel."""
        return tree_kernel.tree_scores(np.ascontiguousarray(x, dtype=np.float64), *self._compiled)

    @functools.cached_property
    def _compiled(self) -> tuple[Any, ...]:
        """The kernel's arguments: each node's feature and children side by side, threshold, value, root
        and label (indices unsigned), each tree's own depth (a path walks no further), the number of labels."""
        nodes = np.stack([self.feature, self.left, self.right], axis=1).astype(np.uint64)
        return (nodes, self.threshold, self.value, self.root.astype(np.uint64),
                _heights(self.left, self.right, self.depth)[self.root], self.label.astype(np.uint64), len(self.baseline))

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(zip(TREE_ARRAYS, (self.feature, self.threshold, self.left, self.right, self.value, self.root,
                                      self.label, self.baseline)))

    @classmethod
    def checked(cls, data: dict[str, np.ndarray], n_features: int, n_labels: int) -> "Trees":
        """The trees of a version 4 file's arrays, every index in range and every path finite:
        a node's children lie after it (no cycle), a leaf is its own children."""
        whole = {key: data[key] for key in ("tree_feature", "tree_left", "tree_right", "tree_root", "tree_label")}
        for key, array in whole.items():
            if array.dtype.kind not in "iu" or array.ndim != 1:
                raise ValueError(f"'{key}' is not whole numbers")
        real = {key: data[key] for key in ("tree_threshold", "tree_value", "tree_baseline")}
        for key, array in real.items():
            if array.dtype.kind not in "fiu" or array.ndim != 1:
                raise ValueError(f"'{key}' is not real numbers")
        feature, left, right, root, label = (np.asarray(a, dtype=np.int64) for a in whole.values())
        threshold, value, baseline = (np.asarray(a, dtype=np.float64) for a in real.values())
        n = len(feature)
        if not n or any(len(a) != n for a in (threshold, left, right, value)):
            raise ValueError("the tree node arrays differ in length")
        if len(baseline) != n_labels or len(label) != len(root) or not len(root):
            raise ValueError("'tree_baseline' is not one per label, or 'tree_label' not one per tree")
        node = np.arange(n)
        leaf = (left == node) & (right == node)
        if np.any(~leaf & ((left <= node) | (right <= node) | (left >= n) | (right >= n))):
            raise ValueError("a tree node's children do not lie after it")
        if np.any((feature < 0) | (feature >= n_features)) or np.any((root < 0) | (root >= n)) \
                or np.any((label < 0) | (label >= n_labels)):
            raise ValueError("a tree's feature, root or label is out of range")
        if np.any(np.isnan(threshold)) or np.any(~leaf & np.isinf(threshold)) or np.any(leaf & (threshold != np.inf)):
            raise ValueError("'tree_threshold' is not finite at a split and +inf at a leaf")
        for key, array in (("tree_value", value), ("tree_baseline", baseline)):
            if not np.all(np.abs(array) <= MAX_WEIGHT):
                raise ValueError(f"'{key}' is not finite numbers within +-{MAX_WEIGHT:g}")
        return cls(feature, threshold, left, right, value, root, label, baseline, _depth(root, left, right))


def _heights(left: np.ndarray, right: np.ndarray, depth: int) -> np.ndarray:
    """Steps from each node to its deepest leaf, for the nodes of trees at most ``depth`` deep
    (:func:`_depth`): ``depth`` rounds of "one more than its deeper child" over every node at once
    (after k rounds a node holds min(its height, k)), not a loop over ~30,000 nodes."""
    node = np.arange(len(left))
    inner = np.flatnonzero((left != node) | (right != node))
    heights = np.zeros(len(left), dtype=np.int64)
    for _ in range(depth):
        heights[inner] = 1 + np.maximum(heights[left[inner]], heights[right[inner]])
    return heights


def _depth(root: np.ndarray, left: np.ndarray, right: np.ndarray) -> int:
    """Steps from the roots to their deepest leaf (at most :data:`MAX_TREE_DEPTH`)."""
    level, depth = np.unique(root), 0
    while True:
        inner = level[(left[level] != level) | (right[level] != level)]
        if not inner.size:
            return depth
        depth += 1
        if depth > MAX_TREE_DEPTH:
            raise ValueError(f"a tree is deeper than {MAX_TREE_DEPTH} nodes")
        level = np.unique(np.concatenate([left[inner], right[inner]]))


@dataclass(frozen=True)
class GroupModel:
    """Softmax over ``labels`` of ``intercept + ((x - mean) / scale) @ coef``, ``x`` the
    :func:`features` with the vote counted for ``vote_labels`` (every label of the training data:
    a fold model may lack a class its fold holds no compound of); with ``trees`` (version 4) the
    weighted mean of that and the trees' probabilities, ``tree_weight`` the trees' share."""

    kind: str
    labels: tuple[str, ...]
    vote_labels: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (features, labels)
    intercept: np.ndarray  # (labels,)
    min_probability: float
    trees: Trees | None = None
    tree_weight: float = 0.0  # in (0, 1) with trees

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return self._probabilities(x, everywhere=True)

    def _probabilities(self, x: np.ndarray, everywhere: bool) -> np.ndarray:
        """The probabilities of each row of ``x``; not ``everywhere``: the trees are evaluated only
        where a group could reach ``min_probability`` (the linear model's best group at
        (min_probability - tree_weight) / (1 - tree_weight) or more) -- elsewhere no group is named
        whatever the trees say, and the row keeps the linear model's share alone. Stop 42's models: 3 % of
        the MassBank EI library's spectra needed the trees, 83 % of SWGDRUG's; ~3-5 % of MassBank MS/MS ones;
        the EI model since stop 44, its trees' share 0.6 above its threshold 0.56: every EI spectrum. The trees
        cost ~80-170 us a spectrum batched walked in NumPy, ~15-20 us compiled; the linear model ~4 us."""
        x = np.atleast_2d(x)
        z = self.intercept + ((x - self.mean) / self.scale) @ self.coef
        z = np.exp(z - z.max(axis=1, keepdims=True))
        p = z / z.sum(axis=1, keepdims=True)
        if self.trees is None:
            return p
        reach = (self.min_probability - self.tree_weight - TIE_MARGIN) / (1.0 - self.tree_weight)
        if everywhere or reach <= 0:  # every row (the EI model's trees' share is above its threshold): no copy of x
            p *= 1.0 - self.tree_weight
            p += self.tree_weight * self.trees.probabilities(x)
            return p
        rows = np.flatnonzero(p[:, self._groups].max(axis=1, initial=0.0) >= reach)
        p *= 1.0 - self.tree_weight
        if rows.size:
            p[rows] += self.tree_weight * self.trees.probabilities(x[rows])
        return p

    @functools.cached_property
    def _groups(self) -> np.ndarray:
        """The positions of the labels that name a group (all but "none")."""
        return np.array([i for i, label in enumerate(self.labels) if label != NONE_LABEL], dtype=np.int64)

    def predict(self, relative: dict[int, float], hits: Sequence[Any], facts: Any,
                precursor: tuple[float, str] | None = None) -> str | None:
        """The suspected group of one spectrum of the model's kind (its nominal spectrum, ranked
        hits and MS/MS precursor), or None when the most probable class is "none" or below
        ``min_probability``."""
        return self.predict_many([(relative, hits, facts, precursor)])[0]

    def predict_many(self, spectra: Sequence[ModelInput]) -> list[str | None]:
        """:meth:`predict` of each (nominal spectrum, ranked hits, facts, MS/MS precursor) of
        ``spectra``, their probabilities in one matrix product (one NumPy pass per search range,
        not ~10 calls per spectrum). The same labels as one at a time: a batched product may differ
        from a single row's in the last bits, so a row whose best class is within
        :data:`TIE_MARGIN` of the threshold or of the second class is decided alone."""
        return [group for group, _ in self.scored_many(spectra)]

    def scored_many(self, spectra: Sequence[ModelInput]) -> list[tuple[str | None, float | None]]:
        """:meth:`predict_many`'s group of each spectrum and the model's probability of it (0-1; None
        where it names none): a lead at 0.53 and one at 0.99 are not the same lead."""
        rows = [i for i, spectrum in enumerate(spectra) if spectrum[0]]  # no peaks: no evidence of any series
        out: list[tuple[str | None, float | None]] = [(None, None)] * len(spectra)
        if not rows:
            return out
        x = np.array([self._features(*spectra[i]) for i in rows])
        p = self._probabilities(x, everywhere=False)
        for j in np.flatnonzero(self._near_tie(p)) if len(rows) > 1 else ():
            p[j] = self._probabilities(x[j], everywhere=False)[0]
        best = np.argmax(p, axis=1)
        top = p[np.arange(len(rows)), best]
        for i, b, probability in zip(rows, best.tolist(), top.tolist()):
            group = (self.labels[b] or None) if probability >= self.min_probability else None
            out[i] = (group, None if group is None else probability)
        return out

    def _features(self, relative: dict[int, float], hits: Sequence[Any], facts: Any,
                  precursor: tuple[float, str] | None) -> np.ndarray:
        votes = hit_votes(hits, facts) if self.kind == "ei" else ()
        return features(self.kind, relative, votes, self.vote_labels, precursor)

    def _near_tie(self, p: np.ndarray) -> np.ndarray:
        """Per row of probabilities, whether its label could change with the last bits of its
        product: its best class within :data:`TIE_MARGIN` of ``min_probability`` or of the second."""
        two = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.c_[np.full(len(p), -np.inf), p]
        return (np.abs(two[:, 1] - self.min_probability) <= TIE_MARGIN) | (two[:, 1] - two[:, 0] <= TIE_MARGIN)

    def with_min_probability(self, value: float) -> "GroupModel":
        return replace(self, min_probability=float(value))

    def save(self, path: Path) -> None:
        """Write the model as ``.npz`` (plain arrays; :meth:`load` reads it without pickle)."""
        from nps_id._atomic import atomic_output

        trees = {} if self.trees is None else {**self.trees.arrays(), "tree_weight": np.float64(self.tree_weight)}
        with atomic_output(Path(path), suffix=".npz") as tmp:
            np.savez_compressed(tmp, version=np.int64(MODEL_VERSION if trees else 3), kind=np.array(self.kind),
                                labels=np.array(self.labels, dtype=str), vote_labels=np.array(self.vote_labels, dtype=str),
                                mean=self.mean, scale=self.scale, coef=self.coef, intercept=self.intercept,
                                min_probability=np.float64(self.min_probability), **trees)

    @classmethod
    def load(cls, path: str | Path, kind: str | None = None) -> "GroupModel":
        """Read and check a model file (of ``kind`` spectra when given: another kind's file computes
        its own features from the spectra and names groups silently wrong); a missing, damaged or
        mismatched one raises :class:`~nps_id.errors.LibraryError` (one line naming it, exit 4)."""
        path = Path(path)
        try:
            with open(path, "rb") as fh:  # np.load reads a bare .npy too, and any other file as a pickle
                if not zipfile.is_zipfile(fh):  # ("load it unsafely", it advised)
                    raise ValueError("not an .npz archive of named arrays")
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            if not all(isinstance(value, np.ndarray) for value in arrays.values()):
                raise ValueError("a member is no .npy array")  # np.load gives such a member's raw bytes
            model = cls._checked(arrays)
            if kind is not None and model.kind != kind:
                raise ValueError(f"a model of {model.kind!r} spectra where one of {kind!r} spectra is expected")
            return model
        except (OSError, EOFError, ValueError, TypeError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            raise LibraryError(f"{path}: not a usable group model ({exc}); "
                               f"retrain it with benchmarks/train_group_model.py") from None

    @classmethod
    def _checked(cls, data: dict[str, np.ndarray]) -> "GroupModel":
        version = data["version"]
        if version.shape or version.dtype.kind not in "iu":  # int("3") or int(3.7) would pass as 3
            raise ValueError(f"version {version.tolist()!r} is not a whole number")
        if int(version) not in READ_VERSIONS:
            raise ValueError(f"version {int(version)}, this nps-id reads versions {' and '.join(map(str, READ_VERSIONS))}")
        labels = tuple(str(label) for label in data["labels"])
        vote_labels = tuple(str(label) for label in data["vote_labels"])
        for what, names in (("labels", labels), ("vote_labels", vote_labels)):
            if NONE_LABEL not in names or len(set(names)) != len(names):
                raise ValueError(f"'{what}' must be distinct and hold the 'none' label ('')")
        kind = str(data["kind"])
        if kind not in MODEL_PATHS:
            raise ValueError(f"kind {kind!r} is not one of {sorted(MODEL_PATHS)}")
        size, k = n_features(kind, len(vote_labels)), len(labels)
        shapes = {"mean": (size,), "scale": (size,), "coef": (size, k), "intercept": (k,)}
        for key, shape in shapes.items():  # real numbers, not text or complex ones cast
            if data[key].dtype.kind not in "fiu" or data[key].shape != shape:
                raise ValueError(f"'{key}' is not {shape} real numbers")
        arrays = {key: np.asarray(data[key], dtype=np.float64) for key in shapes}
        for key, shape in shapes.items():
            # a trained model's weights are small; past the bound softmax overflows to NaN and names no group, silently
            if not np.all(np.abs(arrays[key]) <= MAX_WEIGHT):
                raise ValueError(f"'{key}' is not {shape} finite numbers within +-{MAX_WEIGHT:g}")
        if np.any(arrays["scale"] < MIN_SCALE):
            raise ValueError(f"'scale' holds a value below {MIN_SCALE:g}")
        if data["min_probability"].shape or data["min_probability"].dtype.kind not in "fiu":  # float("0.5") would pass
            raise ValueError(f"min_probability {data['min_probability'].tolist()!r} is not a number")
        min_probability = float(data["min_probability"])
        if not 0 <= min_probability <= 1:
            raise ValueError(f"min_probability {min_probability} is not in 0-1")
        model = cls(kind, labels, vote_labels, arrays["mean"], arrays["scale"], arrays["coef"], arrays["intercept"],
                    min_probability)
        if int(version) == 3:
            return model
        tree_weight = data["tree_weight"]
        if tree_weight.shape or tree_weight.dtype.kind != "f" or not 0 < float(tree_weight) < 1:
            raise ValueError(f"tree_weight {tree_weight.tolist()!r} is not a number in (0, 1)")
        return replace(model, trees=Trees.checked(data, size, k), tree_weight=float(tree_weight))


@functools.lru_cache(maxsize=2)
def shipped_group_model(kind: str) -> GroupModel:
    """The model shipped with nps-id for spectra of ``kind`` (read once per process)."""
    return GroupModel.load(MODEL_PATHS[kind], kind)

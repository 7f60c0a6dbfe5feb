"""EI molecular mass: a learned re-ranker of the estimate's best candidate masses.

:func:`nps_id.match.molecular_mass.estimate_masses` scores every candidate mass by its evidence
terms (own ion, faint ions, the hits' offsets, masses and losses, the nitrogen rule) and reads the
highest. :func:`choose` makes that last step: the :data:`TOP` best candidates of each unknown are
read again with evidence the terms lack -- the ions at the candidate and one or two units around it
(13C, 37Cl/81Br, a self-protonated [M+H]+), the common losses from it (15, 17, 18, 28, 31, 43 ...),
an ion an impossible loss below it, ions above it, its parity against the hits' and the hits' own
masses -- by a conditional logit (:class:`MassModel`, plain arrays in :data:`MODEL_PATH`, trained by
``benchmarks/train_mass_model.py`` on the development libraries, their compounds left out). Without
the file, or with :data:`MODEL_PATH` None, the highest score wins (the higher mass on a tie).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

#: The shipped re-ranker (None: the highest score wins).
MODEL_PATH: Path | None = Path(__file__).with_name("mass_model.npz")
#: Candidates re-read per unknown (the best by score).
TOP = 8
#: Losses from a candidate whose ions the model reads (McLafferty & Turecek's common losses).
LOSSES = (1, 2, 15, 16, 17, 18, 19, 20, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 42, 43, 44, 45, 46, 57, 59, 60,
          73, 77, 91)
#: A neutral loss no molecular ion shows (as ``molecular_mass._IMPOSSIBLE_LOSSES``).
_IMPOSSIBLE = np.array([*range(3, 15), *range(21, 26)])
#: 13C per unit of mass (one carbon per 12 u at most, 1.1 % each), as ``molecular_mass``.
_CARBON13 = 0.011 / 12
#: Feature names, in the model's order (:func:`features`).
FEATURES = ("score_share", "log_score_share", "top", "rank", "at_own", "above_own", "below_own", "distance",
            "root_at", "shown", "carbon13_peak", "heavy_isotope_peak", "up1", "up1_carbon", "down1", "up2", "down2", "has_up1", "has_down1",
            *(f"loss_{d}" for d in LOSSES), "impossible", "impossible_root", "above_root", "above_any",
            "hit_mass", "hit_offset", "hit_homologue", "parity_share", "odd")


class MassModel(NamedTuple):
    """A conditional logit over each unknown's :data:`TOP` candidates: utility = features @
    ``weights`` (raw feature scale); the highest utility wins."""

    weights: np.ndarray  #: one per :data:`FEATURES`

    def save(self, path: str | Path) -> None:
        """Plain arrays (:func:`load_model` reads them without pickle)."""
        np.savez(path, weights=self.weights, features=np.array(FEATURES))


def load_model(path: str | Path) -> MassModel:
    """The model at ``path``; ValueError when its features are not :data:`FEATURES`."""
    with np.load(path, allow_pickle=False) as data:
        if tuple(data["features"].tolist()) != FEATURES:
            raise ValueError(f"{path}: the mass model's features are not this version's")
        return MassModel(np.asarray(data["weights"], dtype=np.float64))


@functools.lru_cache(maxsize=1)
def shipped_model() -> MassModel | None:
    """The model at :data:`MODEL_PATH`, None when there is none."""
    return None if MODEL_PATH is None or not MODEL_PATH.exists() else load_model(MODEL_PATH)


def choose(scores: np.ndarray, own: np.ndarray, below: int, relatives: Sequence[Mapping[int, float]],
           hits: Sequence[Sequence], model: MassModel | None | bool = True) -> np.ndarray:
    """The estimated mass of each unknown (rows of ``scores``: column c is the candidate mass own -
    ``below`` + c, 0 for no evidence): the highest score, the higher mass on a tie, or with
    ``model`` (True: :func:`shipped_model`) the best utility among the :data:`TOP` best.
    ``relatives``: the unknowns' nominal spectra; ``hits``: the neighbours that voted."""
    model = shipped_model() if model is True else model or None
    last = scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)
    if model is None:
        return own + last - below
    k = min(TOP, scores.shape[1])
    columns = np.lexsort((-np.arange(scores.shape[1])[None, :].repeat(len(scores), 0), -scores), axis=1)[:, :k]
    return rerank(own[:, None] + columns - below, np.take_along_axis(scores, columns, axis=1), own, relatives,
                  hits, model)


def choose_one(scores: Mapping[int, float], own: int, relative: Mapping[int, float], hits: Sequence,
               model: MassModel | None | bool = True) -> int:
    """:func:`choose` of one unknown whose scores are a mapping mass -> score (the same mass)."""
    model = shipped_model() if model is True else model or None
    best = sorted(scores.items(), key=lambda kv: (-kv[1], -kv[0]))[:TOP]
    if model is None:
        return best[0][0]
    masses, values = (np.array([[v for v in column]]) for column in zip(*best))
    return int(rerank(masses.astype(np.int64), values.astype(np.float64), np.array([own]), [relative], [hits],
                      model)[0])


def rerank(masses: np.ndarray, scores: np.ndarray, own: np.ndarray, relatives: Sequence[Mapping[int, float]],
           hits: Sequence[Sequence], model: MassModel) -> np.ndarray:
    """The candidate of best utility per unknown among ``masses`` (unknowns x candidates, best score
    first; :func:`eligible` ones only)."""
    values = features(masses, scores, own, relatives, hits)
    utility = np.zeros(masses.shape)
    for j, value in enumerate(values):
        utility += value * model.weights[j]  # one feature at a time: the same bits for one unknown or many
    utility[~eligible(masses, scores, values, hits)] = -np.inf
    best = np.argmax(utility, axis=1)
    best[~np.isfinite(utility[np.arange(len(masses)), best])] = 0  # no evidence at all: the first
    return masses[np.arange(len(masses)), best]


def eligible(masses: np.ndarray, scores: np.ndarray, values: Sequence[np.ndarray], hits: Sequence[Sequence]) -> np.ndarray:
    """The candidates the re-ranker may choose besides the scores' own choice: with evidence (score
    > 0); no 13C peak of the ion one unit below (the test the estimate's votes obey,
    ``molecular_mass._carbon13_peak``: a hit one unit heavier than the unknown's M+ is not shown by
    its 13C peak); not the first hit's mass where the unknown shows no ion -- the estimate checks that
    hit (``molecular ion inconsistent``), and the hits' say-so alone must not make it agree:
    tricosane (no ion above 197) re-ranked to docosane's 310 was identified as docosane
    (benchmarks/README.md, stop 41)."""
    carbon13 = values[FEATURES.index("carbon13_peak")].astype(bool)
    first = np.array([votes[0].mass if votes else -1 for votes in hits])
    unshown = (masses == first[:, None]) & (values[FEATURES.index("root_at")] == 0)
    closed = carbon13 | unshown
    closed[:, 0] = False
    return (scores > 0) & ~closed


def features(masses: np.ndarray, scores: np.ndarray, own: np.ndarray, relatives: Sequence[Mapping[int, float]],
             hits: Sequence[Sequence]) -> list[np.ndarray]:
    """:data:`FEATURES` of the candidates ``masses`` (unknowns x candidates, best score first), one array each."""
    n, k = masses.shape
    share = scores / np.maximum(scores[:, :1], 1e-300)
    ions = _Ions(relatives)

    def at(offset: int) -> np.ndarray:
        return ions.at(masses + offset)

    r, up1, down1, up2, down2 = at(0), at(1), at(-1), at(2), at(-2)
    safe = np.maximum(r, 1e-6)
    impossible = np.max([at(-d) for d in _IMPOSSIBLE], axis=0)
    above = ions.above(masses)
    hit_mass, hit_offset, hit_homologue, parity = _hit_features(hits, own, masses)
    ones = np.ones((n, 1))
    mine = own[:, None]
    return [share, np.log(np.maximum(share, 1e-3)), (np.arange(k) == 0)[None, :] * ones, np.arange(k)[None, :] / TOP * ones,
            masses == mine, masses > mine, masses < mine, np.clip((masses - mine) / 50, -2, 2),
            np.sqrt(r), r >= 0.001,
            (r > 0) & (down1 >= 1.5 * r) & (r <= down1 * _CARBON13 * masses * 2),  # as molecular_mass._carbon13_peak
            (r > 0) & (down2 >= 0.6 * r) & ((down1 < down2) | (down2 >= 0.8 * r)),  # 37Cl / 81Br: _heavy_isotope_peak
            _log_ratio(up1, r), np.clip(up1 / (safe * _CARBON13 * np.maximum(masses, 1)), 0, 10) * (r > 0),
            _log_ratio(down1, r), _log_ratio(up2, r), _log_ratio(down2, r), up1 > 0, down1 > 0,
            *(np.sqrt(at(-d)) for d in LOSSES),
            (impossible >= r) & (r > 0), np.sqrt(impossible), np.sqrt(above), above >= 0.005,
            hit_mass, hit_offset, hit_homologue, parity, masses % 2 == 1]


def _log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log10 a / b, clipped to -3..3 (0 where both are absent)."""
    return np.clip(np.log10(np.maximum(a, 1e-6) / np.maximum(b, 1e-6)), -3, 3)


class _Ions:
    """The unknowns' ions as one sorted key array (unknown, m/z): look-ups of many masses at once,
    whatever their m/z (a stray 10**12 asks for no large array)."""

    _SHIFT = 1 << 42  # m/z above it are read as it

    def __init__(self, relatives: Sequence[Mapping[int, float]]) -> None:
        sizes = [len(r) for r in relatives]
        masses = np.fromiter((m for r in relatives for m in r), dtype=np.int64, count=sum(sizes))
        values = np.fromiter((v for r in relatives for v in r.values()), dtype=np.float64, count=sum(sizes))
        keys = np.repeat(np.arange(len(relatives)), sizes) * self._SHIFT + np.clip(masses, 0, self._SHIFT - 1)
        order = np.argsort(keys, kind="stable")
        self.keys, self.values = keys[order], values[order]
        self.ends = np.cumsum(sizes)
        # the strongest ion at or above each position of its unknown (suffix maxima, unknown by unknown)
        self.suffix = np.zeros(self.values.size)
        for a, b in zip(np.r_[0, self.ends[:-1]], self.ends):
            self.suffix[a:b] = np.maximum.accumulate(self.values[a:b][::-1])[::-1]

    def _keys(self, masses: np.ndarray) -> np.ndarray:
        return np.arange(len(masses))[:, None] * self._SHIFT + np.clip(masses, 0, self._SHIFT - 1)

    def at(self, masses: np.ndarray) -> np.ndarray:
        """Intensity at each mass (unknowns x candidates), 0 where none (and below m/z 0)."""
        if not self.keys.size:
            return np.zeros(masses.shape)
        keys = self._keys(masses)
        i = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        return np.where((self.keys[i] == keys) & (masses >= 0), self.values[i], 0.0)

    def above(self, masses: np.ndarray) -> np.ndarray:
        """The strongest ion above each mass, 0 where none."""
        keys = self._keys(masses) + 1
        i = np.searchsorted(self.keys, keys)
        inside = i < self.ends[:, None]
        return np.where(inside, self.suffix[np.minimum(i, max(self.keys.size - 1, 0))] if self.keys.size else 0.0, 0.0)


def _hit_features(hits: Sequence[Sequence], own: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per candidate: the share of the hits' weight (similarity**4) whose own mass is the candidate,
    whose offset vote (hit mass + own - hit ion) is, whose mass is 14 u off (a homologue); the share
    of the first five hits' weight with the candidate's parity (0.5 without hits)."""
    n, k = mass.shape
    out = [np.zeros((n, k)) for _ in range(3)]
    parity = np.full((n, k), 0.5)
    for i, votes in enumerate(hits):
        if not votes:
            continue
        weight = np.array([h.similarity ** 4 for h in votes])
        masses = np.array([h.mass for h in votes], dtype=np.int64)
        offsets = np.array([-10 ** 9 if h.ion is None else h.mass + int(own[i]) - h.ion for h in votes], dtype=np.int64)
        total = weight.sum()
        if total <= 0:
            continue
        cand = mass[i][:, None]
        out[0][i] = (weight * (masses == cand)).sum(axis=1) / total
        out[1][i] = (weight * (offsets == cand)).sum(axis=1) / total
        out[2][i] = (weight * (np.abs(masses - cand) == 14)).sum(axis=1) / total
        first = weight[:5]
        parity[i] = (first * (masses[:5] % 2 == cand % 2)).sum(axis=1) / first.sum()
    return (*out, parity)

"""EI molecular mass: a learned re-ranker of the estimate's best candidate masses.

:func:`nps_id.match.molecular_mass.estimate_masses` scores every candidate mass by its evidence
terms (own ion, faint ions, the hits' offsets, masses and losses, the nitrogen rule) and reads the
highest. :func:`choose` makes that last step: the :data:`TOP` best candidates of each unknown are
read again with evidence the terms lack -- the ions at the candidate and one or two units around it
(13C, 37Cl/81Br, a self-protonated [M+H]+), the common losses from it (15, 17, 18, 28, 31, 43 ...),
an ion an impossible loss below it, ions above it, its parity against the hits' and the hits' own
masses, a TMS derivative's M-15 -- by a conditional logit (:class:`MassModel`, plain arrays in
:data:`MODEL_PATH`, trained by ``benchmarks/train_mass_model.py`` on the development libraries,
their compounds left out). Without the file, or with :data:`MODEL_PATH` None, the highest score
wins (the higher mass on a tie).
"""
from __future__ import annotations

import functools
import zipfile
import zlib
from itertools import chain, repeat
from operator import attrgetter
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from nps_id.errors import LibraryError

#: The shipped re-ranker (None: the highest score wins).
MODEL_PATH: Path | None = Path(__file__).with_name("mass_model.npz")
#: Candidates re-read per unknown (the best by score).
TOP = 8
#: The re-ranker moves the estimate at most this far above the scores' choice (:func:`eligible`).
REACH = 100
#: Losses from a candidate whose ions the model reads (McLafferty & Turecek's common losses).
LOSSES = (1, 2, 15, 16, 17, 18, 19, 20, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 42, 43, 44, 45, 46, 57, 59, 60,
          73, 77, 91)
#: A neutral loss no molecular ion shows (as ``molecular_mass._IMPOSSIBLE_LOSSES``).
_IMPOSSIBLE = np.array([*range(3, 15), *range(21, 26)])
#: An ion at >= this share of the base peak is shown (``molecular_mass.WEAK_FLOOR``, which reads
#: the unknown's ion at its estimated mass).
_SHOWN = 0.001
#: The hits the features read (the estimate's ``HIT_VOTES``).
_VOTES = 10
#: 13C per unit of mass (one carbon per 12 u at most, 1.1 % each), as ``molecular_mass``.
_CARBON13 = 0.011 / 12
#: :meth:`_Ions.at` reads a row's ions from a dense table when its masses span less than this (u).
_DENSE = 1024
#: Feature names, in the model's order (:func:`features`).
FEATURES = ("score_share", "log_score_share", "top", "rank", "at_own", "above_own", "below_own", "distance",
            "root_at", "shown", "carbon13_peak", "heavy_isotope_peak", "up1", "up1_carbon", "down1", "up2", "down2", "has_up1", "has_down1",
            *(f"loss_{d}" for d in LOSSES), "impossible", "impossible_root", "above_root", "above_any",
            "hit_mass", "hit_offset", "hit_homologue", "parity_share", "odd", "silyl_loss15", "silyl_above")
#: A trimethylsilyl derivative's ions (:func:`_silyl`): m/z 73 at >= :data:`SILYL_BASE` of the base
#: peak with 75 or 147 above :data:`SILYL_SIDE` (benchmarks/README.md, stop 43's "silyl").
SILYL_BASE, SILYL_SIDE = 0.1, 0.02


class MassModel(NamedTuple):
    """A utility per candidate, the highest wins: a conditional logit's ``weights`` (raw feature
    scale). Boosted trees were measured and not kept (benchmarks/README.md, "Stop 41 (branch
    mass41)"; ``benchmarks/train_mass_model.py --trees`` evaluates them with sklearn)."""

    weights: np.ndarray  #: one per :data:`FEATURES`

    def utility(self, values: Sequence[np.ndarray]) -> np.ndarray:
        """Unknowns x candidates, from :func:`features`' arrays; element by element, so the same bits
        for one unknown or many."""
        out = np.zeros(values[0].shape)
        for j, value in enumerate(values):
            out += value * self.weights[j]
        return out

    def save(self, path: str | Path) -> None:
        """Plain arrays (:func:`load_model` reads them without pickle)."""
        np.savez(path, features=np.array(FEATURES), **self._asdict())


def load_model(path: str | Path) -> MassModel:
    """The model at ``path``, checked; a missing, damaged or mismatched file (other features, weights
    of another shape or not finite) raises :class:`~nps_id.errors.LibraryError` (one line naming
    it, exit 4)."""
    try:
        with open(path, "rb") as fh:  # np.load reads any other file as a pickle
            if not zipfile.is_zipfile(fh):
                raise ValueError("not an .npz archive of named arrays")
        with np.load(path, allow_pickle=False) as data:
            if tuple(data["features"].tolist()) != FEATURES:
                raise ValueError("the mass model's features are not this version's")
            weights = data["weights"]
        if weights.dtype.kind not in "fiu" or weights.shape != (len(FEATURES),) or not np.isfinite(weights).all():
            raise ValueError(f"'weights' is not {len(FEATURES)} finite numbers")
    except (OSError, EOFError, ValueError, TypeError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise LibraryError(f"{path}: not a usable mass model ({exc})") from None
    return MassModel(np.asarray(weights, dtype=np.float64))


@functools.lru_cache(maxsize=1)
def shipped_model() -> MassModel | None:
    """The model at :data:`MODEL_PATH`, None when there is none."""
    return None if MODEL_PATH is None or not MODEL_PATH.exists() else load_model(MODEL_PATH)


def top(scores: np.ndarray, own: np.ndarray, below: int) -> tuple[np.ndarray, np.ndarray]:
    """The :data:`TOP` best candidates of each unknown (rows of ``scores``: column c is the candidate
    mass own - ``below`` + c): their masses and scores, best score first, the higher mass on a tie."""
    k, width = min(TOP, scores.shape[1]), scores.shape[1]
    # one stable sort of the columns read right to left: equal scores keep the higher mass first
    # (a lexsort on (-column, -score) sorted a second key and built its index matrix: ~1.5x the time)
    columns = width - 1 - np.argsort(-scores[:, ::-1], axis=1, kind="stable")[:, :k]
    return own[:, None] + columns - below, np.take_along_axis(scores, columns, axis=1)


def choose(masses: np.ndarray, scores: np.ndarray, own: np.ndarray, relatives: Sequence[Mapping[int, float]],
           hits: Sequence[Sequence], model: MassModel | None | bool = True) -> np.ndarray:
    """The estimated mass of each unknown from its :func:`top` candidates (0 for no evidence): the
    highest score, or with ``model`` (True: :func:`shipped_model`) the best utility among them.
    ``relatives``: the unknowns' nominal spectra; ``hits``: the neighbours that voted. Row by row
    the same masses for one unknown or many: a search re-ranks all its queries in one call."""
    model = shipped_model() if model is True else model or None
    if model is None:
        return masses[:, 0]
    return rerank(masses, scores, own, relatives, hits, model)


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
    utility = model.utility(values)
    utility[~eligible(masses, scores, values, hits)] = -np.inf
    best = np.argmax(utility, axis=1)
    best[~np.isfinite(utility[np.arange(len(masses)), best])] = 0  # no evidence at all: the first
    return masses[np.arange(len(masses)), best]


def eligible(masses: np.ndarray, scores: np.ndarray, values: Sequence[np.ndarray], hits: Sequence[Sequence]) -> np.ndarray:
    """The candidates the re-ranker may choose besides the scores' own choice (the first): with
    evidence (score > 0); no 13C peak of the ion one unit below (the test the estimate's votes obey,
    ``molecular_mass._carbon13_peak``: a hit one unit heavier than the unknown's M+ is not shown by
    its 13C peak); and an ion at >= :data:`_SHOWN` when the first has one -- the verdict rules check
    a candidate against the unknown's ion at its estimated mass (``molecular_ions_disagree``), and a
    move to a mass without one would silence them: tricosane (ions up to 197, estimated 197)
    re-ranked to 254 was identified as docosane (benchmarks/README.md, stop 41) -- but for a TMS
    derivative's mass 15 above its highest ion (``silyl_loss15``: its M+ often absent, stop 44);
    and no more than :data:`REACH` above the first: the features see ions up to 91 u below a candidate, nothing that
    ties a far heavier mass to the spectrum (MassBank's TMS derivatives: phenoxyacetic acid 152 ->
    491 lost its identification; on the dev bench 48 of 54 such moves were wrong); nor the first
    hit's mass where the unknown shows no ion -- the hit's say-so alone must not make the estimate
    agree with the hit it checks (iso-mephedrone 177 -> 225, the top hit's mass, lost its flag).
    Out of fold the four cost 0.65 points (0.7810 -> 0.7745)."""
    closed = values[FEATURES.index("carbon13_peak")].astype(bool)
    shown = values[FEATURES.index("shown")].astype(bool)
    # a TMS derivative's M-15 as its highest ion opens the mass 15 above it (its M+ often absent)
    silyl_m15 = values[FEATURES.index("silyl_loss15")].astype(bool)
    closed |= (shown[:, :1] & ~shown & ~silyl_m15) | (masses > masses[:, :1] + REACH)
    first = np.array([votes[0].mass if votes else -1 for votes in hits])
    closed |= (masses == first[:, None]) & (values[FEATURES.index("root_at")] == 0)
    closed[:, 0] = False
    return (scores > 0) & ~closed


def features(masses: np.ndarray, scores: np.ndarray, own: np.ndarray, relatives: Sequence[Mapping[int, float]],
             hits: Sequence[Sequence]) -> list[np.ndarray]:
    """:data:`FEATURES` of the candidates ``masses`` (unknowns x candidates, best score first), one array each."""
    n, k = masses.shape
    share = scores / np.maximum(scores[:, :1], 1e-300)
    # every ion the features read, in one look-up: at the candidate, +-1, +-2, the losses, the impossible losses
    offsets = np.array([0, 1, -1, 2, -2, *(-d for d in LOSSES), *(-_IMPOSSIBLE)])
    ions = _Ions(relatives)
    near = ions.at(masses[:, :, None] + offsets)
    r, up1, down1, up2, down2 = (near[:, :, j] for j in range(5))
    lost = near[:, :, 5:5 + len(LOSSES)]
    safe = np.maximum(r, 1e-6)
    impossible = near[:, :, 5 + len(LOSSES):].max(axis=2)
    above = ions.above(masses)
    hit_mass, hit_offset, hit_homologue, parity = _hit_features(hits, own, masses)
    ones = np.ones((n, 1))
    mine = own[:, None]
    silyl = _silyl(ions, n)[:, None]
    return [share, np.log(np.maximum(share, 1e-3)), (np.arange(k) == 0)[None, :] * ones, np.arange(k)[None, :] / TOP * ones,
            masses == mine, masses > mine, masses < mine, np.clip((masses - mine) / 50, -2, 2),
            np.sqrt(r), r >= _SHOWN,
            (r > 0) & (down1 >= 1.5 * r) & (r <= down1 * _CARBON13 * masses * 2),  # as molecular_mass._carbon13_peak
            (r > 0) & (down2 >= 0.6 * r) & ((down1 < down2) | (down2 >= 0.8 * r)),  # 37Cl / 81Br: _heavy_isotope_peak
            _log_ratio(up1, r), np.clip(up1 / (safe * _CARBON13 * np.maximum(masses, 1)), 0, 10) * (r > 0),
            _log_ratio(down1, r), _log_ratio(up2, r), _log_ratio(down2, r), up1 > 0, down1 > 0,
            *np.moveaxis(np.sqrt(lost), 2, 0),
            (impossible >= r) & (r > 0), np.sqrt(impossible), np.sqrt(above), above >= 0.005,
            hit_mass, hit_offset, hit_homologue, parity, masses % 2 == 1,
            silyl & (masses == mine + 15), silyl & (masses > mine)]


def _silyl(ions: _Ions, n: int) -> np.ndarray:
    """Per unknown: whether it shows a trimethylsilyl derivative's ions (73 with 75 or 147): its
    highest ion is then often M-15 and its M+ absent (benchmarks/README.md, "Stop 44 (branch
    mass44)")."""
    tms = ions.at(np.broadcast_to(np.array([73, 75, 147]), (n, 3)))
    return (tms[:, 0] >= SILYL_BASE) & ((tms[:, 1] > SILYL_SIDE) | (tms[:, 2] > SILYL_SIDE))


def _log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log10 a / b, clipped to -3..3 (0 where both are absent)."""
    return np.clip(np.log10(np.maximum(a, 1e-6) / np.maximum(b, 1e-6)), -3, 3)


class _Ions:
    """The unknowns' ions as one sorted key array (unknown, m/z): look-ups of many masses at once,
    whatever their m/z (a stray 10**12 asks for no large array)."""

    _SHIFT = 1 << 42  # m/z above it are read as it

    def __init__(self, relatives: Sequence[Mapping[int, float]]) -> None:
        sizes = [len(r) for r in relatives]
        count = sum(sizes)
        masses = np.fromiter(chain.from_iterable(relatives), dtype=np.int64, count=count)
        values = np.fromiter(chain.from_iterable(r.values() for r in relatives), dtype=np.float64, count=count)
        keys = np.repeat(np.arange(len(relatives)), sizes) * self._SHIFT + np.clip(masses, 0, self._SHIFT - 1)
        order = np.argsort(keys, kind="stable")
        self.keys, self.values = keys[order], values[order]
        self.ends = np.cumsum(sizes)

    def _keys(self, masses: np.ndarray) -> np.ndarray:
        owner = np.arange(len(masses)).reshape(-1, *(1,) * (masses.ndim - 1))
        return owner * self._SHIFT + np.clip(masses, 0, self._SHIFT - 1)

    def at(self, masses: np.ndarray) -> np.ndarray:
        """Intensity at each mass (unknowns x any), 0 where none (and below m/z 0). A row whose
        masses span less than :data:`_DENSE` u reads a dense table of its ions over that span (one
        gather: a binary search per mass costs several times more); a wider row searches."""
        n = len(masses)
        mz = np.clip(masses, 0, self._SHIFT - 1).reshape(n, -1)
        out = np.zeros(mz.shape)
        if self.keys.size and mz.size:
            low = mz.min(axis=1)
            span = mz.max(axis=1) - low
            width = np.where(span < _DENSE, span + 1, 0)  # 0: a wide row
            start = np.cumsum(width) - width
            owner, ion = self.keys // self._SHIFT, self.keys % self._SHIFT
            place = ion - low[owner]
            inside = (place >= 0) & (place < width[owner])
            table = np.zeros(int(width.sum()) + 1)  # the last: where a wide row's masses point first
            table[start[owner[inside]] + place[inside]] = self.values[inside]
            index = (start - low)[:, None] + mz
            wide = np.flatnonzero(width == 0)
            if wide.size:
                index[wide] = table.size - 1
            out = table[index]
            keys = wide[:, None] * self._SHIFT + mz[wide]
            i = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
            out[wide] = np.where(self.keys[i] == keys, self.values[i], 0.0)
        return np.where(masses >= 0, out.reshape(masses.shape), 0.0)

    def above(self, masses: np.ndarray) -> np.ndarray:
        """The strongest ion above each mass, 0 where none: one ``maximum.reduceat`` over the ranges
        (first ion above, the unknown's end), an empty range masked."""
        start = np.searchsorted(self.keys, self._keys(masses) + 1)
        end = np.broadcast_to(self.ends.reshape(-1, *(1,) * (masses.ndim - 1)), masses.shape)
        bounds = np.stack([start, end], axis=-1).ravel()
        strongest = np.maximum.reduceat(np.append(self.values, 0.0), bounds)[::2].reshape(masses.shape)
        return np.where(start < end, strongest, 0.0)


def _hit_features(hits: Sequence[Sequence], own: np.ndarray, mass: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per candidate: the share of the hits' weight (similarity**4; the first :data:`_VOTES`) whose
    own mass is the candidate, whose offset vote (hit mass + own - hit ion) is, whose mass is 14 u
    off (a homologue); the share of the first five hits' weight with the candidate's parity (0.5
    without hits). The hits padded to :data:`_VOTES` slots of weight 0: the same sums for one
    unknown or many."""
    n = len(hits)
    weight, masses, offsets = np.zeros((n, _VOTES)), np.zeros((n, _VOTES), dtype=np.int64), np.zeros((n, _VOTES), dtype=np.int64)
    counts = np.array([min(len(votes), _VOTES) for votes in hits], dtype=np.int64)
    flat = [h for votes in hits for h in votes[:_VOTES]]
    if flat:  # every hit into its (unknown, slot) at once
        where = np.repeat(np.arange(n), counts), np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)
        hit_mass, ion, similarity = (list(map(attrgetter(name), flat)) for name in ("mass", "ion", "similarity"))
        weight[where] = list(map(pow, similarity, repeat(4)))  # Python's pow: numpy's differs in the last bit
        masses[where] = hit_mass
        offsets[where] = [-10 ** 9 if i is None else m + o - i for m, i, o in zip(hit_mass, ion, np.repeat(own, counts).tolist())]
    total, first = weight.sum(axis=1)[:, None], weight[:, :5].sum(axis=1)[:, None]
    cand, w = mass[:, :, None], weight[:, None, :]

    def share(match: np.ndarray, of: np.ndarray, default: float) -> np.ndarray:
        summed = (w[..., :match.shape[2]] * match).sum(axis=2)
        return np.where(of > 0, summed / np.where(of > 0, of, 1.0), default)

    return (share(masses[:, None, :] == cand, total, 0.0), share(offsets[:, None, :] == cand, total, 0.0),
            share(np.abs(masses[:, None, :] - cand) == 14, total, 0.0),
            share(masses[:, None, :5] % 2 == cand % 2, first, 0.5))

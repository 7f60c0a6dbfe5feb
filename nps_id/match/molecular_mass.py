"""EI molecular mass: estimate it for an unknown, and check a candidate against the spectrum.

- :func:`nominal_spectrum` -- a spectrum on the nominal-mass axis, relative to its base peak:
  built once per spectrum, read by the functions below; :func:`nominal_spectra` builds many at once.
- :func:`molecular_ion` -- the highest ion that is not an isotope peak of a lower one (a 13C peak
  only as intense as the carbons of its mass allow: the molecular ion when the spectrum shows one;
  a fragment when it does not).
- :func:`estimate_mass` -- nominal molecular mass of an unknown from its own spectrum and its
  closest library spectra (:class:`Neighbour`): a library compound whose spectrum resembles the
  unknown's usually loses the same fragments, so its offset (``hit mass - hit's highest ion``) and
  its neutral losses from M (M-15, M-18, M-43 up to 59 u, and apart the far ones to 99 u: NIST
  hybrid-search logic) place the unknown's absent molecular ion; faint ions above the highest
  significant one, a hit's own mass where the unknown shows an ion, and the nitrogen rule (the
  hits' mass parity) weigh in (development data: SWGDRUG leave-compound-out 0.801 right, highest
  ion alone 0.64; docs/match.md).
- :func:`estimate_masses` -- the same for many unknowns at once (a search's queries), bit for bit.
- :func:`ions_above` -- significant ions of the unknown above the candidate's molecular-ion
  cluster (and above its reference spectrum's own ions): a candidate lighter than ions the
  spectrum holds cannot be the compound (unless the spectrum is a mixture).
- :func:`confirmed_ion_above` -- the same for the unknown's molecular ion at any abundance, when
  the estimated mass confirms it.
- :func:`ions_missing` -- the reverse: significant ions of the candidate above everything the
  unknown shows (a heavier homologue or derivative).
- :func:`unexplained_molecular_ion` -- the unknown's confirmed molecular ion, lighter than the
  candidate, that the candidate's own spectrum never shows.
- :func:`without_column_bleed` -- the unknown's weak polysiloxane column-bleed ions (and the ions a
  GC run's background explains) set aside before its molecular ion is read; at ``level``
  :data:`KEEP_BLEED_IONS` only the background ions are.
- :func:`molecular_ions_disagree` -- each spectrum shows a molecular ion the other lacks: the
  candidate's highest ion above the unknown's estimated mass, the unknown's ion at that mass not in
  the candidate's spectrum (tridecane and pentadecane).
"""
from __future__ import annotations

import functools
import math
from collections import Counter
from itertools import chain, compress, islice
from operator import le, lt
from typing import Collection, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from nps_id.chem.formula import isotope_reach
from nps_id.chem.formula import nominal_mass as formula_mass
from nps_id.match import mass_model
from nps_id.search.preprocess import nominal_mass

#: Ions below this fraction of the base peak are not used to find the molecular ion.
ION_FLOOR = 0.005
#: A peak with a neighbour one (two) mass units lower this many times as intense is an isotope peak.
_ISOTOPE_RATIO = 1.5
#: Estimate (chosen on the development data, docs/match.md): weights of the unknown's own highest
#: ion and of a weak ion above it, next to the hits' similarity**HIT_POWER; the first HIT_VOTES hits.
OWN_WEIGHT, WEAK_WEIGHT, HIT_POWER, HIT_VOTES = 0.25, 0.5, 4, 10
#: A weak ion down to this fraction of the base peak may be a faint molecular ion.
WEAK_FLOOR = 0.001
#: The ion one unit below the unknown's highest significant ion is a candidate (:func:`_ion_below`)
#: at BELOW_WEIGHT when that highest ion is under SELF_CI_LEVEL of the base peak and the ion below
#: holds >= SELF_CI_RATIO of it: a self-protonated [M+H]+ above a weaker M+ (MassBank's magnetic-
#: sector records), for the re-ranker to weigh. Wider (6 %, 35 %; or any ion below) the candidate
#: also takes SWGDRUG's [M-H]+ under a weak M+ (left out -7 to -13 masses on fold models; weight
#: 0.25: phenoxyacetic acid's identification lost; benchmarks/README.md, "Stop 43 (branch mass43)").
BELOW_WEIGHT, SELF_CI_LEVEL, SELF_CI_RATIO = 0.1, 0.03, 0.5
#: Candidate masses: the unknown's highest ion up to CANDIDATE_SPAN above it; neutral losses
#: 0..LOSS_SPAN-1 compared, and the far ones LOSS_SPAN..FAR_LOSS_SPAN-1 (benzyl 91, phenyl 77,
#: a cathinone's aroyl ion 72-86 u below M) as a cosine of their own at FAR_LOSS_WEIGHT (0.5
#: reads more masses right, SWGDRUG left out 0.813 against 0.801, but the alkane series then
#: moves tricosane's estimate to docosane's mass, and docosane is identified; docs/match.md).
CANDIDATE_SPAN, LOSS_SPAN, FAR_LOSS_SPAN, FAR_LOSS_WEIGHT = 150, 60, 100, 0.2
_LOSSES = np.arange(FAR_LOSS_SPAN)
#: Nitrogen rule: the first PARITY_HITS hits agreeing by PARITY_AGREEMENT (weight share) on the
#: mass parity multiply a candidate of the other parity by PARITY_PENALTY.
PARITY_HITS, PARITY_AGREEMENT, PARITY_PENALTY = 5, 0.9, 0.3
#: 13C: at most one carbon per 12 u of the ion, 1.1 % each; a peak one unit above a stronger one
#: beyond _CARBON13_MARGIN times that is no 13C peak (an [M-H]+ stronger than M+: amines, aldehydes).
_CARBON13, _CARBON13_MARGIN = 0.011 / 12, 2.0
#: The margin :func:`molecular_ion` allows (wider: MassBank's self-protonated [M+H]+ ions, stronger
#: than 13C, must stay isotope peaks there; the library's ions and the verdict rules read it).
_ION_CARBON13_MARGIN = 3.0
#: An ion at >= this share of the base peak that :func:`molecular_ion` sets aside (an impossible
#: loss above the base peak: a FAME's m/z 87 above its McLafferty ion 74) is still the compound's
#: ion: the estimate is never lighter (:func:`fragment_floor`). The verdict's level for ions above
#: a candidate (``VerdictThresholds.ions_above_level``).
FRAGMENT_FLOOR_LEVEL = 0.05
#: Neutral losses no molecular ion shows (3-14 and 21-25 u; McLafferty & Turecek, Interpretation
#: of Mass Spectra, 4th ed., table of losses): an ion this far below a stronger ion is no M+.
_IMPOSSIBLE_LOSSES = (*range(3, 15), *range(21, 26))
#: The near and far losses' columns of a loss vector.
_SPANS = (slice(0, LOSS_SPAN), slice(LOSS_SPAN, FAR_LOSS_SPAN))
_LOSS_WEIGHTS = (1.0, FAR_LOSS_WEIGHT)


def nominal_spectrum(mz: np.ndarray, intensity: np.ndarray) -> dict[int, float]:
    """Nominal m/z -> intensity relative to the base peak (the search's nominal binning,
    :func:`nps_id.search.preprocess.nominal_mass`). Built once per spectrum; the functions below
    read it. The intensities are Python floats (the same float64 values): the rules compare them
    again and again, and a NumPy scalar compares several times slower."""
    nominal = nominal_mass(mz)
    if not nominal.size:
        return {}
    low = int(nominal.min())
    summed = np.bincount(nominal - low, weights=np.asarray(intensity, dtype=np.float64))
    base = summed.max()
    if base <= 0:
        return {}
    kept = np.flatnonzero(summed > 0)
    return dict(zip((kept + low).tolist(), (summed[kept] / base).tolist()))


def nominal_spectra(spectra: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[dict[int, float]]:
    """:func:`nominal_spectrum` of many ``(mz, intensity)`` spectra, the same dicts bit for bit
    (each bin summed in peak order by one ``bincount``, divided by its spectrum's base peak), as
    array steps across spectra instead of a Python call each (a search's queries)."""
    out: list[dict[int, float]] = [{} for _ in spectra]
    mzs = [np.asarray(mz) for mz, _ in spectra]
    sizes = np.array([mz.size for mz in mzs], dtype=np.int64)
    if not sizes.sum():
        return out
    # one dtype (the usual case) bins as each spectrum alone would; mixed ones are not upcast
    nominal = (nominal_mass(np.concatenate(mzs)) if len({mz.dtype for mz in mzs}) == 1
               else np.concatenate([nominal_mass(mz) for mz in mzs])).astype(np.int64)
    owner = np.repeat(np.arange(len(spectra)), sizes)
    low = nominal.min()
    span = nominal.max() - low + 1
    keys, bin_of = np.unique(owner * span + (nominal - low), return_inverse=True)
    summed = np.bincount(bin_of.reshape(-1),
                         weights=np.concatenate([np.asarray(i, dtype=np.float64) for _, i in spectra]))
    bin_owner = keys // span
    firsts = np.flatnonzero(np.r_[True, bin_owner[1:] != bin_owner[:-1]])
    base = np.repeat(np.maximum.reduceat(summed, firsts), np.diff(np.r_[firsts, summed.size]))
    kept = np.flatnonzero((summed > 0) & ~(base <= 0))  # NaN base: kept, as nominal_spectrum does
    mz_of = (keys[kept] % span + low).tolist()
    value = (summed[kept] / base[kept]).tolist()
    bounds = np.r_[0, np.cumsum(np.bincount(bin_owner[kept], minlength=len(spectra)))].tolist()
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        if b > a:
            out[i] = dict(zip(mz_of[a:b], value[a:b]))
    return out


def molecular_ion(relative: Mapping[int, float], floor: float = ION_FLOOR) -> int | None:
    """Highest nominal m/z of a :func:`nominal_spectrum` at >= ``floor`` of the base peak that is
    not a 13C (one unit up; :func:`_carbon13_peak`, margin :data:`_ION_CARBON13_MARGIN`) or
    37Cl/81Br/34S (two units up) isotope peak of a more intense neighbour, nor an ion with the base
    peak an impossible loss below (MassBank's phenanthrene shows a stray 184 at 1.2 % over its base
    peak M+ 178; any ion as intense, as :func:`_weak_ions` asks, lowered SWGDRUG left-out mass
    right 0.801 -> 0.793: docs/match.md); None for no peaks."""
    for m in sorted(relative, reverse=True):
        if relative[m] >= floor and not _isotope_peak(relative, m) and not _after_impossible_loss(relative, m, 1.0):
            return m
    return None


def _after_impossible_loss(relative: Mapping[int, float], m: int, at_least: float | None = None) -> bool:
    """Whether an ion at least as intense as ``m`` (or as ``at_least``, relative to the base peak)
    sits one of :data:`_IMPOSSIBLE_LOSSES` below it: ``m`` is then a fragment or background, no
    molecular ion."""
    floor = relative[m] if at_least is None else at_least
    get = relative.get
    for d in _IMPOSSIBLE_LOSSES:  # a loop, not any() over a generator: ~40,000 calls a search, 17 look-ups each
        if get(m - d, 0.0) >= floor:
            return True
    return False


def _shows_hit_mass(relative: Mapping[int, float], own: int, mass: int) -> bool:
    """Whether the unknown shows an ion at a hit's ``mass`` above its highest significant ion
    ``own``, at >= :data:`WEAK_FLOOR`, that is no 13C peak of the ion one unit below
    (:func:`_carbon13_peak`: a molecular ion weaker than its [M-H]+ still counts, the 13C peak of
    an M+ one unit lighter than the hit does not)."""
    return mass > own and relative.get(mass, 0.0) >= WEAK_FLOOR and not _carbon13_peak(relative, mass)


def _isotope_peak(relative: Mapping[int, float], m: int) -> bool:
    return _carbon13_peak(relative, m, _ION_CARBON13_MARGIN) or _heavy_isotope_peak(relative, m)


def _heavy_isotope_peak(relative: Mapping[int, float], m: int) -> bool:
    """37Cl/81Br/34S: m-2 carries the lighter isotope (Br: about as intense)."""
    r, below1, below2 = relative[m], relative.get(m - 1, 0.0), relative.get(m - 2, 0.0)
    return below2 >= 0.4 * _ISOTOPE_RATIO * r and (below1 < below2 or below2 >= 0.8 * r)


def _carbon13_peak(relative: Mapping[int, float], m: int, margin: float = _CARBON13_MARGIN) -> bool:
    """Whether the ion at ``m`` (0 when absent) can be the 13C peak of the ion one unit below: that
    one is :data:`_ISOTOPE_RATIO` times as intense, and ``m`` holds no more than the carbons of
    its mass give (:data:`_CARBON13` x ``margin``)."""
    r, below = relative.get(m, 0.0), relative.get(m - 1, 0.0)
    return below >= _ISOTOPE_RATIO * r and r <= below * _CARBON13 * m * margin


def fragment_floor(relative: Mapping[int, float], own: int) -> int:
    """The lightest mass the molecule can have: its highest ion at >= :data:`FRAGMENT_FLOOR_LEVEL`
    of the base peak above ``own`` (its :func:`molecular_ion`) that is no isotope peak -- an ion
    :func:`molecular_ion` set aside because the base peak sits an impossible loss below it, so no
    molecular ion but a fragment of a heavier molecule (methyl laurate's m/z 87, 13 u above its
    McLafferty ion 74) --, else ``own`` (every candidate stands)."""
    above = [m for m in filter(functools.partial(lt, own), relative)  # m > own, in C
             if relative[m] >= FRAGMENT_FLOOR_LEVEL and not _isotope_peak(relative, m)]
    return max(above, default=own)


class Neighbour(NamedTuple):
    """A close library spectrum as :func:`estimate_mass` reads it."""

    mass: int | None  #: nominal mass from its formula
    ion: int | None  #: its :func:`molecular_ion`
    relative: Mapping[int, float]  #: its :func:`nominal_spectrum`
    similarity: float  #: to the unknown, 0-1
    formula: str | None = None  #: its molecular formula (the reach of its molecular-ion cluster)
    #: its :func:`hit_losses` when the caller keeps them per library row (computed when None)
    losses: tuple[np.ndarray, float, float] | None = None


def estimate_mass(relative: Mapping[int, float], hits: Iterable[Neighbour]) -> int | None:
    """Nominal molecular mass of an unknown from its :func:`nominal_spectrum` and its closest
    library spectra (best first; the first :data:`HIT_VOTES` count); None without peaks.

    Every candidate mass from the unknown's :func:`molecular_ion` up to :data:`CANDIDATE_SPAN`
    above it is scored by the evidence a mass spectrometrist weighs:

    - the unknown's own highest significant ion (:data:`OWN_WEIGHT`), and weak ions above it that
      may be a faint molecular ion (:data:`WEAK_WEIGHT`, :func:`_weak_ions`);
    - each hit's offset vote ``hit mass + own ion - hit's highest ion`` (a hit that loses a
      fragment from its molecular ion makes the same correction for the unknown), similarity**4;
    - each hit's mass vote (:func:`_shows_hit_mass`), similarity**4 again: a hit whose own mass
      the unknown shows as an ion above its highest significant one (a faint M+, or one the
      isotope test read as an isotope peak) is a relative of that mass (a positional isomer);
    - the hits' neutral losses (:func:`_loss_alignment`): the candidate at which the unknown's
      high-mass ions sit at the losses the hits show from *their* molecular mass (M-15, M-18,
      M-43, ... up to M-59; M-60 to M-99, M-77 and M-91 among them, apart at
      :data:`FAR_LOSS_WEIGHT`);
    - the nitrogen rule (:func:`_parity`): a candidate whose parity the closest hits' parity
      contradicts is multiplied by :data:`PARITY_PENALTY` (an odd highest ion of an N-free
      family is a fragment, not M+).

    No candidate below :func:`fragment_floor` counts when that lies above the unknown's own ion:
    the spectrum's top ions are then fragments (a FAME's 87 above its McLafferty base peak 74), and
    votes anchored on a lower ion would claim a mass lighter than an ion it shows; without evidence
    above that ion the estimate is None. (Candidates below ``own`` stand otherwise: a hit filed
    under its parent's formula, a TMS derivative, votes below its ions.) The best-scored
    candidates are then re-read by :mod:`nps_id.match.mass_model` (a learned re-ranker; without
    its model file the highest score wins, the higher mass on a tie).
    """
    own = molecular_ion(relative)
    if own is None:
        return None
    hits = [h for h in islice(hits, HIT_VOTES) if h.mass is not None and h.similarity > 0]
    scores = Counter({own: OWN_WEIGHT})
    if _ion_below(relative, own):
        scores[own - 1] += BELOW_WEIGHT
    for m in _weak_ions(relative, own):
        scores[m] += WEAK_WEIGHT
    for h in hits:
        if h.ion is not None:
            scores[h.mass + own - h.ion] += h.similarity ** HIT_POWER
        if _shows_hit_mass(relative, own, h.mass):
            scores[h.mass] += h.similarity ** HIT_POWER
    for m, value in _loss_alignment(relative, own, hits).items():
        scores[m] += value
    parity = _parity(hits)
    if parity is not None:
        for m in scores:
            if m % 2 != parity:
                scores[m] *= PARITY_PENALTY
    floor = fragment_floor(relative, own)
    if floor > own:  # the top ions are fragments: only a heavier molecule explains them
        scores = Counter({m: v for m, v in scores.items() if m >= floor and v > 0})
        if not scores:
            return None
    best = mass_model.choose_one(scores, own, relative, hits)
    return best if best > 0 else None


#: :func:`estimate_masses`: an unknown whose votes lie within own - _BELOW .. own + _ABOVE - 1
#: is estimated in the arrays (hits of derivatives filed under the parent's formula vote far
#: below their ions); one with a vote further out, a stray ion, takes :func:`estimate_mass`.
#: Unknowns per array step: the loss-alignment matrices, ``_CHUNK`` x 150 x 100 float64 at most
#: (~8 MB), stay within the cache.
_BELOW, _ABOVE, _CHUNK = 1024, 1024, 64
#: The loss-alignment matrix of an unknown as one window of its ions: row c (candidate own + c),
#: column l (loss l) reads m/z own + c - l, i.e. window position c - l + FAR_LOSS_SPAN - 1.
_WINDOW = CANDIDATE_SPAN + FAR_LOSS_SPAN - 1


def estimate_masses(relatives: Sequence[Mapping[int, float]],
                    hits: Sequence[Iterable[Neighbour]]) -> list[int | None]:
    """:func:`estimate_mass` of many unknowns (``relatives[i]`` with ``hits[i]``), the same values
    bit for bit: the same sums in the same order, done as array steps across unknowns instead of
    a Python loop each (the loss alignment is one BLAS matrix product per unknown, of the same
    shapes either way: :func:`_alignment`). A search's queries are estimated a few times faster."""
    out: list[int | None] = [None] * len(relatives)
    batch: list[tuple[int, int, list[int], list[Neighbour], list[int | None]]] = []
    for i, (relative, neighbours) in enumerate(zip(relatives, hits)):
        own = molecular_ion(relative)
        if own is None:
            continue
        votes = [h for h in islice(neighbours, HIT_VOTES) if h.mass is not None and h.similarity > 0]
        weak = [-1] * _ion_below(relative, own) + [m - own for m in _weak_ions(relative, own)]
        offsets = [h.mass - h.ion for h in votes if h.ion is not None]
        shown = [h.mass - own if _shows_hit_mass(relative, own, h.mass) else None for h in votes]
        # a spectrum whose top ions are fragments (:func:`fragment_floor`; rare) takes the scalar path
        if fragment_floor(relative, own) == own and all(
                -_BELOW <= d < _ABOVE for d in chain(weak, offsets, (d for d in shown if d is not None))):
            batch.append((i, own, weak, votes, shown))
        else:
            out[i] = estimate_mass(relative, votes)
    # the votes' loss spectra stacked once for the whole batch (a search's hits share few rows)
    which, *stacked = _stacked_losses([h for c in batch for h in c[3]])
    first = 0
    tops: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, len(batch), _CHUNK):
        chunk = batch[start:start + _CHUNK]
        last = first + sum(len(c[3]) for c in chunk)
        tops.append(_estimate_chunk([relatives[i] for i, *_ in chunk], chunk, (which[first:last], *stacked)))
        first = last
    if batch:
        # the best candidates re-read in one call for the whole batch: the re-ranker's array steps
        # cost per call, not per unknown, and give each row the same bits however many rows
        masses, scores = (np.concatenate(part) for part in zip(*tops))
        best = mass_model.choose(masses, scores, np.array([c[1] for c in batch], dtype=np.int64),
                                 [relatives[c[0]] for c in batch], [c[3] for c in batch])
        for (i, *_), mass in zip(batch, best.tolist()):
            out[i] = mass if mass > 0 else None
    return out


def _estimate_chunk(relatives: list[Mapping[int, float]],
                    chunk: list[tuple[int, int, list[int], list[Neighbour], list[int | None]]],
                    losses: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`estimate_mass`'s scores for a chunk of unknowns (rows: unknowns; columns: candidate
    masses own - below .. own + width - below - 1, every vote of the chunk inside), added in its
    order -- own ion, weak ions, each hit's offset and mass votes, the loss alignment -- then the parity
    penalty, then the best candidates' masses and scores (:func:`nps_id.match.mass_model.top`, for
    :func:`~nps_id.match.mass_model.choose`). ``losses``: the votes' :func:`_stacked_losses`, in the
    chunk's order."""
    n = len(chunk)
    own = np.array([c[1] for c in chunk], dtype=np.int64)
    # every vote of the chunk in one pass: (slot, unknown), similarity**4, mass, the offset and mass
    # votes' candidate offsets from own (None: no such vote)
    at: list[tuple[int, int]] = []
    weights: list[float] = []
    masses: list[int] = []
    offsets: list[int | None] = []
    shown: list[int | None] = []
    for k, (_, _, _, votes, shown_k) in enumerate(chunk):
        for j, h in enumerate(votes):
            at.append((j, k))
            weights.append(h.similarity ** HIT_POWER)
            masses.append(h.mass)
            offsets.append(None if h.ion is None else h.mass - h.ion)
        shown += shown_k
    weak_at = [(k, d) for k, c in enumerate(chunk) for d in c[2]]
    known = [d for d in chain(offsets, shown) if d is not None] + [d for _, d in weak_at]
    below = max(0, -min(known, default=0))
    scores = np.zeros((n, below + max(CANDIDATE_SPAN, max(known, default=0) + 1)))
    scores[:, below] = OWN_WEIGHT
    if weak_at:
        rows, cols = np.array(weak_at).T
        scores[rows, cols + below] += np.where(cols < 0, BELOW_WEIGHT, WEAK_WEIGHT)  # -1: the ion below own
    # The hits slot by slot (slot j: every unknown's j-th vote); an empty slot or a hit without
    # losses weighs 0 there, and adding 0.0 leaves a sum as it was.
    slots = max(len(c[3]) for c in chunk)
    weight = np.zeros((slots, n))
    mass = np.zeros((slots, n), dtype=np.int64)
    column = np.full((slots, n), -1, dtype=np.int64)  # of the hit's offset vote; -1: none
    shown_column = np.full((slots, n), -1, dtype=np.int64)  # of its mass vote; -1: none
    at_array = np.array(at, dtype=np.int64).reshape(-1, 2).T
    if at:
        where = tuple(at_array)
        weight[where] = weights
        mass[where] = masses
        column[where] = [-1 if d is None else d + below for d in offsets]
        shown_column[where] = [-1 if d is None else d + below for d in shown]
    for j in range(slots):
        voting = np.flatnonzero(column[j] >= 0)
        scores[voting, column[j, voting]] += weight[j, voting]
        voting = np.flatnonzero(shown_column[j] >= 0)
        scores[voting, shown_column[j, voting]] += weight[j, voting]
    columns = _hit_columns(n, at_array, losses, weight[tuple(at_array)])
    scores[:, below:below + CANDIDATE_SPAN] += _alignment(_loss_windows(relatives, own), *columns)
    parity = _parity_chunk(weight, mass)
    # candidate own + d has the other parity when d's parity differs from (parity - own)'s
    other = ((np.arange(scores.shape[1]) - below)[None, :] % 2 != ((parity - own) % 2)[:, None]) & (parity[:, None] >= 0)
    np.multiply(scores, PARITY_PENALTY, out=scores, where=other)
    return mass_model.top(scores, own, below)


def _loss_windows(relatives: Sequence[Mapping[int, float]], own: np.ndarray) -> np.ndarray:
    """The unknowns' ions own - FAR_LOSS_SPAN + 1 .. own + CANDIDATE_SPAN - 1 (unknowns x
    :data:`_WINDOW`, 0 where none; a stray m/z 10**12 is simply outside): every loss of every
    candidate mass reads this window."""
    sizes = [len(r) for r in relatives]
    masses = np.fromiter(chain.from_iterable(relatives), dtype=np.int64, count=sum(sizes))
    values = np.fromiter(chain.from_iterable(r.values() for r in relatives), dtype=np.float64, count=sum(sizes))
    which = np.repeat(np.arange(len(relatives)), sizes)
    at = masses - own[which] + FAR_LOSS_SPAN - 1
    inside = (at >= 0) & (at < _WINDOW)
    window = np.zeros((len(relatives), _WINDOW))
    window[which[inside], at[inside]] = values[inside]
    return window


def _stacked_losses(hits: Sequence[Neighbour]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The hits' :func:`hit_losses` as arrays: each distinct loss spectrum once (a search's hits share
    their library row's, :meth:`~nps_id.match.library_facts.LibraryFacts.neighbour`: stacked once per
    row, not once per hit) -- (the index of each hit's, the vectors, their near and far norms)."""
    index: dict[int, int] = {}
    unique: list[tuple[np.ndarray, float, float]] = []
    which = []
    for h in hits:
        losses = h.losses if h.losses is not None else hit_losses(h)  # kept in ``unique``: no id reused
        at = index.setdefault(id(losses), len(unique))
        if at == len(unique):
            unique.append(losses)
        which.append(at)
    if not unique:
        return np.zeros(0, dtype=np.int64), np.zeros((0, FAR_LOSS_SPAN)), np.zeros(0), np.zeros(0)
    vectors, near, far = zip(*unique)
    return np.array(which, dtype=np.int64), np.array(vectors), np.array(near), np.array(far)


def _hit_columns(n: int, at: np.ndarray, losses: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                 weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hits' loss spectra of ``n`` unknowns as one matrix each (unknowns x losses x 2
    :data:`HIT_VOTES` columns: the hit in slot j has its near losses in column 2j, its far ones in
    2j + 1, zeros elsewhere), the columns' norms (1 where none) and weights (``weight``,
    similarity**4, times :data:`FAR_LOSS_WEIGHT` for the far ones; 0 where the hit has no such
    losses): one matrix product aligns every hit, near and far apart. ``at``: (slot, unknown)
    of each hit, as rows; ``losses``: the hits' :func:`_stacked_losses`."""
    # filled as (unknown, column) rows of losses -- each hit's part one contiguous run, not an element-wise
    # scatter over three index arrays (~2x the time) -- then laid out losses x columns for the gemm
    by_column = np.zeros((n, 2 * HIT_VOTES, FAR_LOSS_SPAN))
    norm, weights = np.ones((n, 2 * HIT_VOTES)), np.zeros((n, 2 * HIT_VOTES))
    which, vectors, *norms = losses
    for part, (span, part_norm, scale) in enumerate(zip(_SPANS, norms, _LOSS_WEIGHTS)):
        part_norm = part_norm[which]
        kept = np.flatnonzero(part_norm != 0)
        unknown, col = at[1][kept], 2 * at[0][kept] + part
        by_column[unknown, col, span] = vectors[which[kept], span]
        norm[unknown, col] = part_norm[kept]
        weights[unknown, col] = weight[kept] * scale
    return np.ascontiguousarray(by_column.transpose(0, 2, 1)), norm, weights


def _alignment(window: np.ndarray, hit_matrix: np.ndarray, hit_norm: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Unknowns x candidates: the sum over the hits' columns (:func:`_hit_columns`, one set per
    unknown) of weight x cosine**2 between the unknown's losses from the candidate (its
    :func:`_loss_windows`, square roots) and the column's, column by column -- the same steps
    for one unknown (:func:`_loss_alignment`) as for a chunk, so the sums are the same bits."""
    root = np.sqrt(window)
    # the candidates' losses (row c, loss l: root[c - l + FAR_LOSS_SPAN - 1]) as a strided view of
    # the window, copied whole for the gemm (a fancy-index take cost 3-5x the copy)
    step = root.strides[1]
    losses = np.lib.stride_tricks.as_strided(root[:, FAR_LOSS_SPAN - 1:], shape=(len(window), CANDIDATE_SPAN,
                                             FAR_LOSS_SPAN), strides=(root.strides[0], step, -step), writeable=False)
    # one BLAS gemm per unknown over all 100 losses: a near / far split into two gemms is half the
    # products but not the same bits (OpenBLAS sums a shorter inner dimension in another order)
    dots = np.ascontiguousarray(losses) @ hit_matrix
    # sums of squares (the ions' intensities) over each candidate's near and far losses: candidate c's
    # run from summed[c + FAR_LOSS_SPAN] down, by slices (no gathered copies)
    n = len(window)
    summed = np.concatenate([np.zeros((n, 1)), np.cumsum(window, axis=1)], axis=1)
    middle = summed[:, FAR_LOSS_SPAN - LOSS_SPAN:FAR_LOSS_SPAN - LOSS_SPAN + CANDIDATE_SPAN]
    squares = np.empty((n, CANDIDATE_SPAN, 2))
    np.subtract(summed[:, FAR_LOSS_SPAN:FAR_LOSS_SPAN + CANDIDATE_SPAN], middle, out=squares[:, :, 0])
    np.subtract(middle, summed[:, :CANDIDATE_SPAN], out=squares[:, :, 1])
    squares[squares <= 0] = np.inf  # no ions at its losses: aligns with nothing
    # weight x cosine**2, as weight / |hit|**2 x dot**2 / |candidate|**2, in place in the same order;
    # the columns as (hit, near / far) pairs, each divided by its part's squares (broadcast, not tiled)
    np.multiply(dots, dots, out=dots)
    dots *= (weight / (hit_norm * hit_norm))[:, None, :]
    weighted = dots.reshape(n, CANDIDATE_SPAN, HIT_VOTES, 2)
    # divided by the squares repeated for every hit, not broadcast: a broadcast's innermost run is the
    # (near, far) pair, two values a call of the ufunc loop (~4x the division's time, ~0.04 s a range)
    weighted /= np.repeat(squares[:, :, None, :], HIT_VOTES, axis=2)
    hit_totals = weighted[..., 0] + weighted[..., 1]  # near + far, hit by hit
    total = np.zeros(dots.shape[:2])
    for j in range(HIT_VOTES):
        total += hit_totals[:, :, j]
    return total


def _parity_chunk(weight: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """:func:`_parity` per unknown of a chunk (slots x unknowns), -1 for None."""
    parts = np.zeros((2, weight.shape[1]))
    everyone = np.arange(weight.shape[1])
    for j in range(min(PARITY_HITS, weight.shape[0])):
        parts[mass[j] % 2, everyone] += weight[j]
    total = parts[0] + parts[1]
    parity = (parts[1] > parts[0]).astype(np.int64)
    agreed = (total > 0) & (parts[parity, everyone] >= PARITY_AGREEMENT * total)
    return np.where(agreed, parity, -1)


def _weak_ions(relative: Mapping[int, float], own: int) -> list[int]:
    """Ions above ``own`` at >= :data:`WEAK_FLOOR` that may be a faint molecular ion: not isotope
    peaks (a 13C peak only within the carbons its mass holds, :func:`_carbon13_peak`: an M+ under
    a stronger [M-H]+ -- aromatic amines, aldehydes -- is kept), and no ion as intense 3-14 or
    21-25 u below (losses no molecular ion shows: such an ion is a fragment or background).
    Amphetamines and oxazolidines show M+ at 0.1-0.3 %."""
    return [m for m in filter(functools.partial(lt, own), relative)  # m > own, in C
            if relative[m] >= WEAK_FLOOR and not _heavy_isotope_peak(relative, m)
            and not _carbon13_peak(relative, m) and not _after_impossible_loss(relative, m)]


def _ion_below(relative: Mapping[int, float], own: int) -> bool:
    """Whether ``own`` (the unknown's highest significant ion) may be a self-protonated [M+H]+
    above a weaker M+ one unit below: ``own`` under :data:`SELF_CI_LEVEL` of the base peak, the
    ion below it shown (>= :data:`WEAK_FLOOR`) at >= :data:`SELF_CI_RATIO` of it. The highest ion
    is M+1 in ~4 % of MassBank's EI library (tristearin: 891 over M+ 890) and the votes rarely
    name M there; in SWGDRUG's such an ion below is an [M-H]+ (betahistine, clomiphene)."""
    below, top = relative.get(own - 1, 0.0), relative[own]
    return below >= WEAK_FLOOR and top < SELF_CI_LEVEL and below >= SELF_CI_RATIO * top


def _loss_alignment(relative: Mapping[int, float], own: int, hits: list[Neighbour]) -> dict[int, float]:
    """Candidate mass -> sum over hits of similarity**4 x cosine**2 of the neutral-loss spectra
    (losses 0..:data:`LOSS_SPAN`-1 u, square-root intensities) of the unknown at the candidate
    and of the hit at its own mass, plus :data:`FAR_LOSS_WEIGHT` times the same for the far
    losses (:data:`LOSS_SPAN`..:data:`FAR_LOSS_SPAN`-1 u, a cosine of their own: in one vector
    with the near ones they drag an alkane's 14 u series along): the fragment-plus-loss matching
    of NIST's hybrid search (Moorthy et al., Anal. Chem. 89, 13261, 2017) asked which mass makes
    the losses agree. A hit whose spectrum holds ions above its formula's mass (a derivative filed
    under its parent's formula) has no losses to offer and is skipped."""
    candidates = np.arange(own, own + CANDIDATE_SPAN)
    at = np.array([np.arange(len(hits)), np.zeros(len(hits), dtype=np.int64)])
    columns = _hit_columns(1, at, _stacked_losses(hits), np.array([h.similarity ** HIT_POWER for h in hits]))
    total = _alignment(_loss_windows([relative], np.array([own])), *columns)[0]
    kept = np.flatnonzero(total > 0)
    return dict(zip(candidates[kept].tolist(), total[kept].tolist()))


def hit_losses(h: Neighbour) -> tuple[np.ndarray, float, float]:
    """A hit's neutral-loss spectrum from its own molecular mass (losses 0..:data:`FAR_LOSS_SPAN`-1
    u, square-root intensities) and the norms of its near and far parts, as :func:`_loss_alignment`
    compares them; norms 0 (no losses to offer) for a hit without a molecular ion or a derivative
    (ions above its formula's mass). A property of the library row alone: callers may keep it per
    row (a search meets the same rows again and again)."""
    if h.mass is None or h.ion is None or h.ion > h.mass + isotope_reach(h.formula):
        return np.zeros(FAR_LOSS_SPAN), 0.0, 0.0
    vector = _root_at(h.relative, h.mass - _LOSSES)
    near, far = (_norm(vector[span]) for span in _SPANS)
    return vector, near, far


def _norm(part: np.ndarray) -> float:
    """``float(np.linalg.norm(part))`` of a contiguous 1-D float64 slice, bit for bit: the same
    ``part.dot(part)`` (one BLAS ddot) and a correctly rounded square root, without norm's checks
    (1.2 -> 0.4 us a call; two a library row, for every row a search's hits meet, in each worker)."""
    return math.sqrt(part.dot(part))


def hit_losses_many(hits: Sequence[Neighbour]) -> list[tuple[np.ndarray, float, float]]:
    """:func:`hit_losses` of many library rows, the same vectors and norms bit for bit (the same
    intensities' square roots; each norm the same call on the row's own 100 values), the
    vectors as one array step across rows instead of a window per row (a search's ~5,000 hit rows)."""
    out: list[tuple[np.ndarray, float, float]] = [(np.zeros(FAR_LOSS_SPAN), 0.0, 0.0)] * len(hits)
    todo = [i for i, h in enumerate(hits)
            if not (h.mass is None or h.ion is None or h.ion > h.mass + isotope_reach(h.formula))]
    sizes = [len(hits[i].relative) for i in todo]
    masses = np.fromiter(chain.from_iterable(hits[i].relative for i in todo), dtype=np.int64, count=sum(sizes))
    values = np.fromiter(chain.from_iterable(hits[i].relative.values() for i in todo), dtype=np.float64,
                         count=sum(sizes))
    which = np.repeat(np.arange(len(todo)), sizes)
    loss = np.array([hits[i].mass for i in todo], dtype=np.int64)[which] - masses
    inside = (loss >= 0) & (loss < FAR_LOSS_SPAN)
    window = np.zeros((len(todo), FAR_LOSS_SPAN))
    window[which[inside], loss[inside]] = values[inside]
    for i, vector in zip(todo, np.sqrt(window)):
        out[i] = (vector, *(_norm(vector[span]) for span in _SPANS))
    return out


def _root_at(relative: Mapping[int, float], mz: np.ndarray) -> np.ndarray:
    """Square-root intensities (weak high-mass ions count) at the integer m/z of ``mz`` (0 where
    none): only the window they span is read, so memory does not grow with the m/z value (a stray
    m/z 10**12)."""
    low, high = int(mz.min()), int(mz.max())
    masses = np.fromiter(relative.keys(), dtype=np.int64, count=len(relative))
    values = np.fromiter(relative.values(), dtype=np.float64, count=len(relative))
    inside = (masses >= low) & (masses <= high)
    window = np.zeros(high - low + 1)
    window[masses[inside] - low] = values[inside]
    return np.sqrt(window[mz - low])


def _parity(hits: list[Neighbour]) -> int | None:
    """The nominal-mass parity (nitrogen rule: odd mass, odd N count) at least
    :data:`PARITY_AGREEMENT` of the first :data:`PARITY_HITS` hits' similarity**4 weight agrees
    on; None when they disagree."""
    weight = [0.0, 0.0]
    for h in hits[:PARITY_HITS]:
        weight[h.mass % 2] += h.similarity ** HIT_POWER
    total = sum(weight)
    if total == 0:
        return None
    parity = int(weight[1] > weight[0])
    return parity if weight[parity] >= PARITY_AGREEMENT * total else None


def ions_above(relative: Mapping[int, float], formula: str | None, min_relative: float,
               reference_ion: int | None = None) -> list[tuple[int, float]]:
    """``(m/z, relative intensity)`` of the unknown's ions (a :func:`nominal_spectrum`) at >=
    ``min_relative`` of its base peak above the candidate's nominal mass plus its isotope cluster;
    empty when the formula is unknown (the check is then not evaluated:
    :func:`nps_id.chem.formula.nominal_mass` is None).

    ``reference_ion``: the :func:`molecular_ion` of the candidate's own reference spectrum. Ions
    up to it are the candidate's as it was measured, not "above" it: libraries file derivatives
    under the parent's formula (MassBank's TMS-derivatised metabolites: L-glutamic acid, M 147,
    with ions up to m/z 363), and a record matching a spectrum of the same derivative must not
    fail the check."""
    mass = formula_mass(formula)  # memoised in chem.formula
    if mass is None:
        return []
    limit = max(mass, reference_ion or 0) + isotope_reach(formula)
    return _ions_between(relative, limit, float("inf"), min_relative)


def _ions_between(relative: Mapping[int, float], low: float, high: float,
                  min_relative: float) -> list[tuple[int, float]]:
    """``(m/z, relative intensity rounded to 3)`` of the ions low < m/z <= high at >= ``min_relative``,
    by m/z (the m/z window filtered first, in C: most ions lie below it)."""
    return [(m, _rounded(relative[m], 3)) for m in sorted(filter(functools.partial(lt, low), relative))
            if m <= high and relative[m] >= min_relative]


def _rounded(value: float, digits: int) -> float:
    """``value`` rounded as NumPy rounds a float64 (times 10**digits, to even, divided back): the
    nominal spectra held NumPy floats until stop 41 and the criteria texts keep the digits they had
    (Python's own round is correctly rounded and differs on a few halves: 0.0005 -> 0.001, not 0.0).
    NumPy's steps in Python floats: a NumPy scalar's round cost ~20x this."""
    scale = 10.0 ** digits
    scaled = value * scale
    if not math.isfinite(scaled):
        return scaled / scale  # NaN, inf: as NumPy's rint leaves them
    return math.copysign(float(round(scaled)), scaled) / scale  # round(): to even, as rint; -0.0 kept


def confirmed_ion_above(relative: Mapping[int, float], estimated: int | None, formula: str | None,
                        reference_ion: int | None = None, own: int | None = None,
                        faint: float = 0.0) -> list[tuple[int, float]]:
    """The unknown's :func:`molecular_ion` (any abundance >= :data:`ION_FLOOR`) when its estimated
    mass confirms it (the closest library spectra vote for the same mass) and it lies above the
    candidate's molecular-ion cluster (and its reference spectrum's, as in :func:`ions_above`). Alcohols, esters and alkanes show molecular ions of 1-5 %,
    below :func:`ions_above`'s level: 1-phenyl-2-propanol (M+ 136, ~3 %) matched toluene (M 92).
    ``own``: the unknown's :func:`molecular_ion` when the caller has it (computed when None).
    ``faint`` (> 0): also the unknown's ion at its estimated mass above ``own``, at >= ``faint`` of
    the base peak (not a 13C peak), when the candidate's reference holds no ion above its own
    formula's cluster (a derivative's record filed under its parent is read by its own ions):
    docosapentaenoic acid methyl ester (M+ 344 at 0.3 %, below :data:`ION_FLOOR`) matched the C21:5
    ester (M 330) at MF 919. An estimate one unit below ``own`` (:func:`_ion_below`: ``own`` read as
    the [M+H]+ of a weaker M+) confirms ``own`` too: methyl octadecanoate (M+ 298 at 0.3 %, 299 at
    0.7 %), estimated 298 by a wider rule for that candidate (measured, not kept), was otherwise
    identified as methyl heptadecanoate (M 284) at MF 906."""
    own = molecular_ion(relative) if own is None else own
    if own is None:
        return []
    # an estimate one unit below reads ``own`` as its self-protonated [M+H]+: still the compound's ion
    if own != estimated and estimated != own - 1:
        mass = formula_mass(formula)
        if (not faint or estimated is None or mass is None or estimated <= own or relative.get(estimated, 0.0) < faint
                or _carbon13_peak(relative, estimated) or (reference_ion or 0) > mass + isotope_reach(formula)):
            return []
        own = estimated
    return ions_above({own: relative[own]}, formula, 0.0, reference_ion)


def ions_missing(relative: Mapping[int, float], reference: Mapping[int, float], formula: str | None,
                 min_relative: float, acquired_max: float | None = None) -> list[tuple[int, float]]:
    """``(m/z, relative intensity)`` of the candidate's own ions (``reference``, a
    :func:`nominal_spectrum`) at >= ``min_relative`` of its base peak above the unknown's highest
    ion (and its isotope cluster), inside the acquired range: a candidate heavier than everything
    the spectrum shows would have shown them."""
    if not relative:
        return []
    highest = max(compress(relative, map(functools.partial(le, ION_FLOOR), relative.values())))  # r >= floor
    limit = highest + isotope_reach(formula)
    top = float("inf") if acquired_max is None else acquired_max
    return _ions_between(reference, limit, top, min_relative)


def unexplained_molecular_ion(relative: Mapping[int, float], estimated: int | None, reference: Mapping[int, float],
                              candidate_mass: int | None, min_relative: float,
                              own: int | None = None) -> list[tuple[int, float]] | None:
    """The unknown's :func:`molecular_ion` as ``[(m/z, relative intensity)]`` when its estimated
    mass confirms it, it holds >= ``min_relative`` of the base peak, it is lighter than the
    candidate, and the candidate's reference spectrum (a :func:`nominal_spectrum`) lacks it (below
    :data:`ION_FLOOR`); empty when the candidate shows it; None when the criterion does not apply
    (no such confirmed molecular ion, or one above the candidate's mass -- :func:`ions_above` reads
    that --, or one at its mass that its spectrum lacks), so that a report never lists "the
    spectrum's molecular ion is in the candidate's spectrum" as met for a spectrum without one.
    Every spectrum of a compound shows the same molecular ion, so a lighter compound's one the
    candidate never shows rules the candidate out: 1-phenyl-1-propanone (M+ 134 at 17 %) matched
    1-phenyl-1,2-propanedione (M 148, no ion at 134) at MF 826. ``own``: as :func:`confirmed_ion_above`."""
    own = molecular_ion(relative) if own is None else own
    if own is None or own != estimated or candidate_mass is None or relative[own] < min_relative:
        return None
    shown = reference.get(own, 0.0) >= ION_FLOOR
    if own > candidate_mass or (own == candidate_mass and not shown):
        return None
    return [] if shown or own == candidate_mass else [(own, _rounded(relative[own], 3))]


def molecular_ions_disagree(relative: Mapping[int, float], estimated: int | None, reference: Mapping[int, float],
                            candidate_mass: int | None, level: float,
                            acquired_max: float | None = None,
                            reference_ion: int | None = None) -> list[tuple[int, float, int, float]] | None:
    """``[(candidate's ion, its relative intensity, the unknown's estimated mass, its relative
    intensity)]`` when the two spectra each show a molecular ion the other lacks; empty when they do
    not; None when the criterion does not apply (the candidate's highest ion is not above the
    estimate, or is a derivative's, or outside the acquired range; the unknown shows no ion at its
    estimate: not evaluated, silently).

    The candidate's highest ion (its :func:`molecular_ion` at >= ``level`` of its base peak: its M+
    when it shows one) must be a fragment of its own formula (at most ``candidate_mass``: a record
    with ions above it is a derivative filed under its parent, which mass rules cannot read), inside
    the acquired range, above the unknown's ``estimated`` mass and absent from the unknown (below
    :data:`WEAK_FLOOR`); and the unknown must show an ion at its estimated mass (>= WEAK_FLOOR) that
    the candidate's spectrum lacks. A compound's molecular ion is in every spectrum of it, however
    weak: tridecane (M+ 184 at 0.1 %) matched pentadecane (M+ 212 at 0.8 %, no ion 184) at MF 941.
    ``level`` 0: off; never below :data:`ION_FLOOR`, where ``reference_ion`` (the reference's
    :func:`molecular_ion`, when the caller keeps it) is read instead of computed."""
    if level <= 0 or estimated is None or candidate_mass is None or not reference:
        return None
    ion = (reference_ion if reference_ion is not None and level <= ION_FLOOR
           else molecular_ion(reference, max(level, ION_FLOOR)))
    if (ion is None or ion > candidate_mass or ion <= estimated or (acquired_max is not None and ion > acquired_max)
            or relative.get(estimated, 0.0) < WEAK_FLOOR):
        return None
    if relative.get(ion, 0.0) >= WEAK_FLOOR or reference.get(estimated, 0.0) >= WEAK_FLOOR:
        return []
    return [(ion, _rounded(reference[ion], 4), estimated, _rounded(relative[estimated], 4))]


#: The ions of a polysiloxane GC column's bleed (cyclic siloxanes less a methyl: D3 207, D4 281, D5 355,
#: D6 429) with their 29Si/30Si isotope peaks. A deconvoluted component keeps them at a few per cent
#: (LRCFS runs: 207 at 1.4-5 %, 281 at 0.3-0.9 % under etizolam and flubromazepam). Not 73 / 147 / 221
#: (trimethylsilyl ions, also every TMS derivative's): with 147 and 221 the dev data lost 7 flags.
COLUMN_BLEED_IONS = frozenset(m + k for m in (207, 281, 355, 429) for k in (0, 1, 2))
#: The ``level`` of :func:`without_column_bleed` that keeps every column-bleed ion and sets aside only
#: the run's ``background`` ions (the bleed rule off). The estimated mass reads the spectrum so; a
#: ``column_bleed_level`` of 0 (``VerdictThresholds``) is this level too.
KEEP_BLEED_IONS = 0.0


def without_column_bleed(relative: Mapping[int, float], level: float,
                         background: Collection[int] = ()) -> Mapping[int, float]:
    """``relative`` without its :data:`COLUMN_BLEED_IONS` below ``level`` of the base peak and without
    the ``background`` ions (the same mapping when it holds none): what the molecular-ion rules read as
    the unknown's molecular ion. A bleed ion at 0.5 % above a lighter drug read as its confirmed
    molecular ion made toluene, p-cymene or 5-APDI "molecular ion inconsistent" (benchmarks/README.md,
    stop 32, attack32). ``level`` :data:`KEEP_BLEED_IONS` (0): the bleed masses are kept.
    ``background``: the ions a GC run's own background explains
    (:func:`nps_id.gcms.background.background_ions`; ``match`` only, a library spectrum has no run),
    set aside at any ``level``."""
    # a look-up per bleed mass, not a set built of the spectrum; `not v >= level`: a NaN is weak
    drop = [m for m in COLUMN_BLEED_IONS if m in relative and not relative[m] >= level] if level > 0 else []
    drop += [m for m in background if m in relative]
    if not drop:
        return relative  # nothing to remove: no copy (many EI spectra hold a strong 207-209)
    kept = dict(relative)  # copied in C, then the few ions deleted: the same order as before
    for m in drop:
        kept.pop(m, None)  # a background ion may be a bleed ion too
    return kept

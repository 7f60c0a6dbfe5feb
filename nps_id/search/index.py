"""Search indexes: every library peak in flat columns sorted by m/z, plus where each bin starts.

The layout is Flash entropy search's (Li & Fiehn 2023): a query becomes a few slices of sorted
columns and one scatter-add, instead of a loop over library spectra. Two kinds:

- :class:`NominalIndex` -- unit-mass EI libraries. Bins are integer m/z, so a bin's peaks are
  one slice ``bin_offsets[m]:bin_offsets[m+1]`` and the prefilter scatter-adds those slices
  (:func:`nps_id.search.kernels.nominal_scatter_add`).
- :class:`FragmentIndex` -- high-resolution MS/MS. Spectra are ordered by precursor m/z (a
  precursor window is one slice); fragments and neutral losses are sorted by m/z for open and
  hybrid (analogue) search with a tolerance in Da or ppm.

Both also keep the preprocessed peaks per spectrum (CSR) for the exact score of the candidates,
and ``rows``, the library row of every indexed spectrum (input order is never lost).

Entry points
------------
- :func:`build_indexes` -- ``(peaks, columns) -> {name: (arrays, attrs)}``, the hook the library
  builder calls to store indexes under ``/indexes/<name>`` in the library file.
- :func:`load_indexes` -- the indexes for a :class:`~nps_id.search.reference.Reference`: the stored
  ones when their parameters match, else from the cache, else built once and cached.
- :func:`nominal_csr`, :func:`trim_ms2_csr` -- the preprocessing, vectorised over a whole library.
- :func:`expand_ranges` -- ``(i, p)`` for every ``p`` in ``range(lo[i], hi[i])`` (the slices of
  many ``searchsorted`` windows at once).
  (``trim_ms2_csr`` only removes peaks; ms_entropy's cleaning, which also merges close peaks and
  normalises, is :func:`nps_id.search.preprocess.clean_ms2`, used by the entropy scores.)
"""
from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from dataclasses import dataclass, field, fields
from functools import cached_property
from math import isfinite
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from nps_id.errors import InputError, LibraryError
from nps_id.peaks import CSRPeaks
from nps_id.search.preprocess import nominal_mass

INDEX_VERSION = 3  # 2: EI noise floor; 3: MS/MS spectra without a precursor left out of the EI index

#: Default index parameters (the engine's defaults; tuned on the development queries only,
#: see docs/search.md).
DEFAULT_EI = {"mz_power": 1.0, "intensity_power": 0.5, "min_mz": 0.0, "noise": 0.01}
DEFAULT_MS2 = {"noise": 0.01, "precursor_margin_da": 1.6}
#: The arrays of a :class:`FragmentIndex` that only open and hybrid (analogue) search read.
OPEN_SEARCH = ("frag_mz", "frag_intensity", "frag_position", "loss_mz", "loss_intensity", "loss_position")
#: A :class:`FragmentIndex`'s peaks (CSR with ``spec_offsets``): a stored index reads them when
#: first used, or only the span of positions a few queries score (:meth:`FragmentIndex.peaks_of`).
SPEC_PEAKS = ("spec_mz", "spec_intensity")
#: :meth:`FragmentIndex.peaks_of` reads a span of a stored index's peaks by slices when it holds at
#: most this share of them (one MS/MS query's precursor window: a chunk or two of 16 MB), else whole.
PART_SHARE = 0.05


# -- preprocessing, vectorised over a whole CSR library -----------------------------------------


def _segment_ids(offsets: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(offsets.size - 1, dtype=np.int64), np.diff(offsets))


def _offsets_from_ids(ids: np.ndarray, n: int) -> np.ndarray:
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ids, minlength=n), out=offsets[1:])
    return offsets


def nominal_csr(peaks: CSRPeaks, min_mz: float = 0.0, noise: float = 0.0) -> CSRPeaks:
    """Unit-mass version of every spectrum, as :func:`~nps_id.search.preprocess.bin_nominal` does
    it for one (nominal mass by :func:`~nps_id.search.preprocess.nominal_mass`, intensities of
    a bin summed), vectorised over the whole library; nominal m/z below ``min_mz`` dropped, and
    bins below ``noise`` times the spectrum's largest bin.

    Returns integer-valued float64 m/z, unique and ascending within each spectrum, float32
    intensities; empty bins are dropped.
    """
    spec = _segment_ids(peaks.offsets)
    mz = nominal_mass(peaks.mz)
    keep = (peaks.intensity > 0) & (mz > 0) & (mz >= min_mz)
    spec, mz, inten = spec[keep], mz[keep], peaks.intensity[keep].astype(np.float64)
    key = spec * (int(mz.max(initial=0)) + 1) + mz
    # Sorted by (spectrum, m/z) already (m/z ascend inside a spectrum), so the first index of
    # each key starts its run and reduceat sums the run.
    _, start = np.unique(key, return_index=True)
    summed = np.add.reduceat(inten, start) if start.size else inten[:0]
    spec, mz = spec[start], mz[start]
    if noise > 0:
        base = np.zeros(peaks.n_spectra)
        np.maximum.at(base, spec, summed)
        keep = summed >= noise * base[spec]
        spec, mz, summed = spec[keep], mz[keep], summed[keep]
    return CSRPeaks(_offsets_from_ids(spec, peaks.n_spectra), mz.astype(np.float64), summed.astype(np.float32))


def trim_ms2_csr(
    peaks: CSRPeaks, precursor_mz: np.ndarray, noise: float, precursor_margin_da: float
) -> CSRPeaks:
    """MS/MS peaks for the index and the cosine scores: drop peaks within ``precursor_margin_da``
    of the precursor or above it (the unfragmented precursor says nothing about structure), and
    peaks below ``noise`` times the base peak of what remains. ``precursor_mz`` NaN keeps all peaks
    of that spectrum. Peaks are only removed -- not merged, not normalised, not rounded -- unlike
    :func:`~nps_id.search.preprocess.clean_ms2` (ms_entropy's cleaning).
    """
    spec = _segment_ids(peaks.offsets)
    limit = np.where(np.isfinite(precursor_mz), precursor_mz - precursor_margin_da, np.inf)
    keep = (peaks.mz < limit[spec]) & (peaks.intensity > 0)
    spec, mz, inten = spec[keep], peaks.mz[keep], peaks.intensity[keep]
    base = np.zeros(peaks.n_spectra, dtype=np.float32)
    np.maximum.at(base, spec, inten)
    keep = inten >= noise * base[spec]
    spec, mz, inten = spec[keep], mz[keep], inten[keep]
    return CSRPeaks(_offsets_from_ids(spec, peaks.n_spectra), mz, inten)


# -- the two index kinds ------------------------------------------------------------------------


class _IndexedSpectra:
    """What both index kinds share: ``rows`` and the per-position peaks ``spec_*`` (CSR)."""

    rows: np.ndarray
    spec_offsets: np.ndarray
    spec_mz: np.ndarray
    spec_intensity: np.ndarray

    @property
    def n(self) -> int:
        return int(self.rows.size)

    @property
    def spectra(self) -> CSRPeaks:
        return CSRPeaks(self.spec_offsets, self.spec_mz, self.spec_intensity)

    def peaks_of(self, positions: np.ndarray) -> tuple[CSRPeaks, np.ndarray]:
        """The peaks of index ``positions`` as ``(CSR, the positions in it)``: :attr:`spectra`."""
        return self.spectra, positions


@dataclass(frozen=True)
class NominalIndex(_IndexedSpectra):
    """Index of unit-mass (EI) spectra.

    Attributes
    ----------
    rows : int64 (n,)
        Library row of each indexed spectrum; "position" below means an index into ``rows``.
    spec_offsets, spec_mz, spec_intensity
        Nominal peaks per position (CSR; m/z integer-valued float64, intensity float32).
    bin_offsets : int64 (max_mz + 2,)
        Peaks of nominal m/z ``m`` are ``bin_offsets[m]:bin_offsets[m+1]`` of the next two arrays.
    peak_position : int32
        Position (spectrum) of every binned peak.
    peak_weight : float32
        ``mz**mz_power * intensity**intensity_power``, divided by the spectrum's L2 norm, so that a
        dot product of two weight vectors is a weighted cosine (0-1).
    mz_power, intensity_power : float
        Weight exponents the ``peak_weight`` column was made with.
    min_mz : float
        Low-mass cut-off applied to the library (queries get the same one), nominal m/z.
    noise : float
        Nominal bins below this fraction of the spectrum's largest bin are dropped (library and
        queries alike).
    """

    rows: np.ndarray
    spec_offsets: np.ndarray
    spec_mz: np.ndarray
    spec_intensity: np.ndarray
    bin_offsets: np.ndarray
    peak_position: np.ndarray
    peak_weight: np.ndarray
    mz_power: float
    intensity_power: float
    min_mz: float
    noise: float

    kind = "nominal"

    @classmethod
    def build(
        cls, peaks: CSRPeaks, rows: np.ndarray, mz_power: float, intensity_power: float,
        min_mz: float = 0.0, noise: float = 0.0,
    ) -> "NominalIndex":
        """Index the spectra ``rows`` of ``peaks`` (raw peaks; made nominal here)."""
        nominal = nominal_csr(_take_rows(peaks, rows), min_mz, noise)
        position = _segment_ids(nominal.offsets).astype(np.int32)
        weight = weigh(nominal, mz_power, intensity_power)
        mz_int = nominal.mz.astype(np.int64)
        # Step 1: stable sort by bin keeps positions ascending inside a bin (deterministic sums).
        order = np.argsort(mz_int, kind="stable")
        n_bins = int(mz_int.max(initial=0)) + 1
        return cls(
            rows=np.asarray(rows, dtype=np.int64),
            spec_offsets=nominal.offsets,
            spec_mz=nominal.mz,
            spec_intensity=nominal.intensity,
            bin_offsets=_offsets_from_ids(mz_int, n_bins),
            peak_position=position[order],
            peak_weight=weight[order],
            mz_power=float(mz_power),
            intensity_power=float(intensity_power),
            min_mz=float(min_mz),
            noise=float(noise),
        )

    def params(self) -> dict[str, Any]:
        return {"mz_power": self.mz_power, "intensity_power": self.intensity_power, "min_mz": self.min_mz,
                "noise": self.noise}


@dataclass(frozen=True)
class FragmentIndex(_IndexedSpectra):
    """Index of high-resolution MS/MS spectra, ordered by precursor m/z.

    Attributes
    ----------
    rows : int64 (n,)
        Library row of each position; positions are in ascending precursor m/z.
    precursor_mz : float64 (n,)
        Ascending; a precursor window is ``searchsorted`` twice.
    precursor_precision : float64 (n,)
        Half the last recorded decimal of each precursor m/z (0.5 for "318", 0.05 for "318.9",
        0 from four decimals on): low-resolution records widen the window by this much.
    ion_mode : int8 (n,)
        +1 positive, -1 negative, 0 unknown.
    spec_offsets, spec_mz, spec_intensity
        Cleaned peaks per position (CSR), for the exact score; ``spec_mz`` and ``spec_intensity``
        are ``peaks`` by name (:data:`SPEC_PEAKS`), which an index read from a library file may
        read when first used, or in part (:meth:`peaks_of`).
    frag_mz, frag_intensity, frag_position
        Every cleaned fragment sorted by m/z (intensity normalised to sum 1 per spectrum).
    loss_mz, loss_intensity, loss_position
        The same as neutral losses (precursor m/z minus fragment m/z), sorted.
    noise, precursor_margin_da : float
        Cleaning parameters the arrays were made with.
    open_search
        The six arrays above (:data:`OPEN_SEARCH`) by name: for open and hybrid (analogue)
        search only, so an index read from a library file may read them when first used.
    """

    rows: np.ndarray
    precursor_mz: np.ndarray
    precursor_precision: np.ndarray
    ion_mode: np.ndarray
    spec_offsets: np.ndarray
    noise: float
    precursor_margin_da: float
    open_search: Mapping[str, np.ndarray] = field(repr=False, compare=False)
    peaks: Mapping[str, np.ndarray] = field(repr=False, compare=False)

    kind = "fragment"

    spec_mz = property(lambda self: self.peaks["spec_mz"])
    spec_intensity = property(lambda self: self.peaks["spec_intensity"])

    def peaks_of(self, positions: np.ndarray) -> tuple[CSRPeaks, np.ndarray]:
        """The peaks of index ``positions`` as ``(CSR, the positions in it)``: :attr:`spectra`, or
        -- an index from a library file whose peaks are not read yet, asked for a span of
        positions holding at most :data:`PART_SHARE` of them (the precursor windows of a few
        queries are neighbours) -- that span alone. A kernel reads the same numbers either way."""
        part = getattr(self.peaks, "part", None)
        if part is not None:
            first, last = (int(positions.min()), int(positions.max()) + 1) if positions.size else (0, 0)
            lo, hi = int(self.spec_offsets[first]), int(self.spec_offsets[last])
            if hi - lo <= PART_SHARE * int(self.spec_offsets[-1]):
                read = part(lo, hi)
                if read is not None:
                    return CSRPeaks(self.spec_offsets[first:last + 1] - lo, *read), positions - first
        return self.spectra, positions

    frag_mz = property(lambda self: self._open["frag_mz"])
    frag_intensity = property(lambda self: self._open["frag_intensity"])
    frag_position = property(lambda self: self._open["frag_position"])
    loss_mz = property(lambda self: self._open["loss_mz"])
    loss_intensity = property(lambda self: self._open["loss_intensity"])
    loss_position = property(lambda self: self._open["loss_position"])

    @cached_property
    def _open(self) -> Mapping[str, np.ndarray]:
        # An index stored in a library file reads (and checks) these only when an analogue
        # search first needs them: identity search never does, and they are 60 % of its bytes.
        return {name: self.open_search[name] for name in OPEN_SEARCH}

    @classmethod
    def build(
        cls,
        peaks: CSRPeaks,
        rows: np.ndarray,
        precursor_mz: np.ndarray,
        ion_mode: np.ndarray,
        noise: float,
        precursor_margin_da: float,
    ) -> "FragmentIndex":
        """Index spectra ``rows`` of ``peaks``; ``precursor_mz``/``ion_mode`` are per library row."""
        rows = np.asarray(rows, dtype=np.int64)
        rows = rows[np.argsort(precursor_mz[rows], kind="stable")]
        prec = precursor_mz[rows].astype(np.float64)
        clean = trim_ms2_csr(_take_rows(peaks, rows), prec, noise, precursor_margin_da)
        position = _segment_ids(clean.offsets).astype(np.int32)
        total = np.bincount(position, weights=clean.intensity, minlength=rows.size)
        share = (clean.intensity / np.where(total > 0, total, 1.0)[position]).astype(np.float32)
        order = np.argsort(clean.mz, kind="stable")
        loss = prec[position] - clean.mz
        loss_order = np.argsort(loss, kind="stable")
        return cls(
            rows=rows,
            precursor_mz=prec,
            precursor_precision=recorded_precision(prec),
            ion_mode=ion_mode_codes(ion_mode[rows]),
            spec_offsets=clean.offsets,
            noise=float(noise),
            precursor_margin_da=float(precursor_margin_da),
            open_search={"frag_mz": clean.mz[order], "frag_intensity": share[order],
                         "frag_position": position[order], "loss_mz": loss[loss_order],
                         "loss_intensity": share[loss_order], "loss_position": position[loss_order]},
            peaks={"spec_mz": clean.mz, "spec_intensity": clean.intensity},
        )

    def params(self) -> dict[str, Any]:
        return {"noise": self.noise, "precursor_margin_da": self.precursor_margin_da}

    @cached_property
    def widest_precision(self) -> float:
        """Largest :attr:`precursor_precision`, found once per index rather than per query."""
        return float(self.precursor_precision.max(initial=0.0))

    def window(self, precursor_mz: float, half_width_da: float) -> np.ndarray:
        """Positions whose precursor m/z is within ``half_width_da`` of the query's, widened by
        the library record's :attr:`precursor_precision` (ascending positions)."""
        return self.windows(np.array([precursor_mz], dtype=np.float64), np.array([half_width_da]))[1]

    def windows(self, precursor_mz: np.ndarray, half_width_da: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`window` of many precursors at once: ``(i, position)`` pairs, grouped by ``i``,
        positions ascending within each."""
        widest = half_width_da + self.widest_precision
        which, pos = expand_ranges(np.searchsorted(self.precursor_mz, precursor_mz - widest, "left"),
                                   np.searchsorted(self.precursor_mz, precursor_mz + widest, "right"))
        near = (np.abs(self.precursor_mz[pos] - precursor_mz[which])
                <= half_width_da[which] + self.precursor_precision[pos])
        return which[near], pos[near]


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(i, p)`` for every ``p`` in ``range(lo[i], hi[i])``, in order: one vectorised expansion."""
    counts = np.maximum(hi - lo, 0)
    which = np.repeat(np.arange(lo.size), counts)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return which, starts + np.arange(counts.sum())


def recorded_precision(mz: np.ndarray, max_decimals: int = 4) -> np.ndarray:
    """Half a unit of the last decimal each value was recorded with (0 from ``max_decimals`` on).

    ``125.0`` -> 0.5, ``220.9`` -> 0.05, ``152.107`` -> 0.0005, ``147.0441`` -> 0. Values read
    from text keep their decimals exactly enough for this test (1e-9 relative).

    Examples
    --------
    >>> recorded_precision(np.array([125.0, 220.9, 152.107, 147.0441])).tolist()
    [0.5, 0.05, 0.0005, 0.0]
    """
    mz = np.asarray(mz, dtype=np.float64)
    out = np.zeros(mz.shape)
    undecided = np.isfinite(mz)
    for decimals in range(max_decimals):
        exact = undecided & (np.abs(np.round(mz, decimals) - mz) <= 1e-9 * np.abs(mz))
        out[exact] = 0.5 * 10.0**-decimals
        undecided &= ~exact
    return out


def recorded_precision_of(mz: float, max_decimals: int = 4) -> float:
    """:func:`recorded_precision` of one value, in Python floats: the verdict asks it of every MS/MS
    query's precursor, where the array version's four numpy passes over one value cost ~25 us a query
    (~0.3 s of issue 16's 12,350-query MS/MS workload).

    >>> [recorded_precision_of(x) for x in (125.0, 220.9, 152.107, 147.0441, float("nan"))]
    [0.5, 0.05, 0.0005, 0.0, 0.0]
    """
    scaled = mz * 10.0 ** (max_decimals - 1)
    if max_decimals > 0 and isfinite(scaled):  # NaN, infinity (or a product beyond the floats): the loop, as before
        # A value that passes the test below at some number of decimals lies within ~1e-9 of its size of a multiple
        # of 10**-(max_decimals - 1); one further off passes none. That is every accurate m/z (147.0441), told by one
        # multiply and round instead of four round(mz, n) -- CPython rounds to n digits through the decimal string,
        # ~2 us each: the verdict asks every MS/MS query's precursor twice (stop 49). The bound is twice the test's
        # tolerance plus far more than the product's rounding error: nearer values take the loop, as before.
        if abs(scaled - round(scaled)) > 2e-9 * abs(scaled) + 1e-6:
            return 0.0
    for decimals in range(max_decimals):
        if abs(round(mz, decimals) - mz) <= 1e-9 * abs(mz):  # False for NaN and inf: 0, as the array version
            return 0.5 * 10.0**-decimals
    return 0.0


def ion_mode_codes(ion_mode: np.ndarray) -> np.ndarray:
    """+1 positive, -1 negative, 0 unknown, from strings like 'positive', 'P', 'Neg', '+'."""
    # each value's text by Python's str methods, not numpy.char's: importing numpy.char cost a
    # one-spectrum MS/MS search ~5 ms (~2.5 %) for the one query's ion mode
    text = np.asarray(ion_mode, dtype=str)
    codes = np.array([_ion_mode_code(value) for value in text.ravel().tolist()], dtype=np.int8)
    return codes.reshape(text.shape)


def _ion_mode_code(value: str) -> int:
    """One ion mode's code, by the words the readers know (io.metadata.normalise_ion_mode, MGF's "pos..."):
    a word that merely starts with n -- an MGF's IONMODE=Neutral, a NaN -- is unknown, not negative (until stop
    43 it was, and the query was searched against the negative spectra alone)."""
    word = value.strip().lower()
    if word.startswith("pos") or word in ("p", "+"):
        return 1
    if word.startswith("neg") or word in ("n", "-"):
        return -1
    return 0


def weigh(nominal: CSRPeaks, mz_power: float, intensity_power: float) -> np.ndarray:
    """Per-peak ``mz**a * intensity**b`` normalised to unit L2 norm per spectrum (float32)."""
    w = nominal.mz ** mz_power * nominal.intensity.astype(np.float64) ** intensity_power
    spec = _segment_ids(nominal.offsets)
    norm = np.sqrt(np.bincount(spec, weights=w * w, minlength=nominal.n_spectra))
    return (w / np.where(norm > 0, norm, 1.0)[spec]).astype(np.float32)


def _take_rows(peaks: CSRPeaks, rows: np.ndarray) -> CSRPeaks:
    """The CSR sub-library of ``rows`` (in that order)."""
    rows = np.asarray(rows, dtype=np.int64)
    starts, counts = peaks.offsets[rows], np.diff(peaks.offsets)[rows]
    offsets = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    take = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1], dtype=np.int64)
    return CSRPeaks(offsets, peaks.mz[take], peaks.intensity[take])


# -- which spectra go into which index ----------------------------------------------------------


def split_rows(columns: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(EI rows, MS2 rows): MS2 = ms_level 2 with a precursor m/z; EI = any other level (1, or
    0 = not recorded). An MS/MS spectrum without a precursor m/z is in neither: it is no EI
    spectrum, and MS/MS search needs the precursor (MassBank writes ``PrecursorMZ: NA``)."""
    level = np.asarray(columns.get("ms_level", np.zeros(n, np.int64)))
    prec = np.asarray(columns.get("precursor_mz", np.full(n, np.nan)), dtype=np.float64)
    ms2 = (level == 2) & np.isfinite(prec)
    return np.flatnonzero(level != 2), np.flatnonzero(ms2)


def _build(peaks: CSRPeaks, columns: dict[str, np.ndarray], ei: dict, ms2: dict) -> dict[str, Any]:
    n = peaks.n_spectra
    ei_rows, ms2_rows = split_rows(columns, n)
    out: dict[str, Any] = {}
    if ei_rows.size:
        out["ei"] = NominalIndex.build(peaks, ei_rows, **ei)
    if ms2_rows.size:
        prec = np.asarray(columns["precursor_mz"], dtype=np.float64)
        mode = np.asarray(columns.get("ion_mode", np.full(n, "", dtype=object)))
        out["ms2"] = FragmentIndex.build(peaks, ms2_rows, prec, mode, **ms2)
    return out


def _to_stored(index: NominalIndex | FragmentIndex) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    arrays = {f.name: getattr(index, f.name) for f in fields(index) if isinstance(getattr(index, f.name), np.ndarray)}
    if isinstance(index, FragmentIndex):
        arrays.update({name: getattr(index, name) for name in (*SPEC_PEAKS, *OPEN_SEARCH)})
    attrs = {"kind": index.kind, "index_version": INDEX_VERSION, **index.params()}
    return arrays, attrs


#: Index arrays that hold integers (positions, offsets, rows, codes); every other array is float.
_INTEGER_ARRAYS = frozenset({"rows", "spec_offsets", "bin_offsets", "peak_position", "frag_position",
                             "loss_position", "ion_mode"})


def _check_csr(offsets: np.ndarray, count: int, length: int, what: str) -> None:
    if (offsets.size == 0 or offsets.size != count + 1 or offsets[0] != 0 or offsets[-1] != length
            or (np.diff(offsets) < 0).any()):
        raise ValueError(f"{what} are not {count + 1} non-decreasing offsets from 0 to {length}")


def _check_positions(positions: np.ndarray, n: int, what: str) -> None:
    if positions.size and (positions.min() < 0 or positions.max() >= n):
        raise ValueError(f"{what} points outside 0..{n - 1}")


def _usable(arrays: Mapping[str, np.ndarray], names: tuple[str, ...] | list[str]) -> dict[str, np.ndarray]:
    """``names`` of ``arrays``, each 1-D and of the kind the builder makes (integers, or finite
    float32/float64); ValueError naming the first that is not."""
    out = {}
    for name in names:
        arr = arrays.get(name)
        if arr is None or arr.ndim != 1:
            raise ValueError(f"array {name!r} is missing or not 1-D")
        integer = name in _INTEGER_ARRAYS
        # float16 and long double would reach numba as types it cannot compile
        usable = (arr.dtype.kind in "iu" if integer
                  else arr.dtype in (np.float32, np.float64) and bool(np.isfinite(arr).all()))
        if not usable:
            raise ValueError(f"array {name!r} is {arr.dtype}, expected "
                             f"{'integers' if integer else 'finite float32 or float64 values'}")
        out[name] = arr
    return out


def _checked_arrays(cls: type, arrays: Mapping[str, np.ndarray], n_spectra: int) -> dict[str, np.ndarray]:
    """The array fields of ``cls`` from ``arrays``, after every bound the compiled kernels rely on.

    The search kernels index with these arrays without bounds checks (numba): one offset out of
    range reads or writes outside memory. So every array must be 1-D and of the kind the builder
    makes (integers, or finite float32/float64), CSR offsets must run from 0 to their data's
    length, and positions and rows must point inside their arrays. Raises ValueError naming the
    array. (A :class:`FragmentIndex`'s :data:`OPEN_SEARCH` arrays: :func:`_checked_open`; its
    :data:`SPEC_PEAKS`: :func:`_checked_peaks`, of the length its last offset gives.)
    """
    a = _usable(arrays, [f.name for f in fields(cls) if f.type in ("np.ndarray", np.ndarray)])
    n = a["rows"].size
    _check_positions(a["rows"], n_spectra, "rows")
    offsets = a["spec_offsets"]
    _check_csr(offsets, n, a["spec_mz"].size if cls is NominalIndex else int(offsets[-1]) if offsets.size else 0,
               "spec_offsets")
    if cls is NominalIndex:
        if a["spec_intensity"].size != a["spec_mz"].size or (a["spec_mz"].size and a["spec_mz"].min() < 0):
            raise ValueError("spec_mz and spec_intensity differ in length, or an m/z is negative")
        _check_csr(a["bin_offsets"], a["bin_offsets"].size - 1, a["peak_position"].size, "bin_offsets")
        if a["peak_weight"].size != a["peak_position"].size or (
                a["spec_mz"].size and a["spec_mz"].max() >= a["bin_offsets"].size - 1):
            raise ValueError("peak_weight and peak_position differ in length, or an m/z has no bin")
        _check_positions(a["peak_position"], n, "peak_position")
    elif len({a[k].size for k in ("precursor_mz", "precursor_precision", "ion_mode")} | {n}) != 1:
        raise ValueError("arrays precursor_mz, precursor_precision, ion_mode differ in length (or from rows)")
    return a


def _checked_peaks(arrays: Mapping[str, np.ndarray], length: int) -> dict[str, np.ndarray]:
    """The :data:`SPEC_PEAKS` of ``arrays``, usable (:func:`_usable`), ``length`` long and no m/z
    negative (all of them, or the part of them a few queries read)."""
    a = _usable(arrays, SPEC_PEAKS)
    if a["spec_mz"].size != length or a["spec_intensity"].size != length or (length and a["spec_mz"].min() < 0):
        raise ValueError("spec_mz and spec_intensity differ in length (or from spec_offsets), or an m/z is negative")
    return a


def _checked_open(arrays: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The :data:`OPEN_SEARCH` arrays of a fragment index of ``n`` spectra, checked as
    :func:`_checked_arrays` checks the others."""
    a = _usable(arrays, OPEN_SEARCH)
    for group in (OPEN_SEARCH[:3], OPEN_SEARCH[3:]):
        if len({a[k].size for k in group}) != 1:
            raise ValueError(f"arrays {', '.join(group)} differ in length")
    _check_positions(a["frag_position"], n, "frag_position")
    _check_positions(a["loss_position"], n, "loss_position")
    return a


def _damaged(where: str | None, name: str, exc: Exception) -> LibraryError:
    return LibraryError(f"{where or 'library'}: damaged search index /indexes/{name}: {exc}; rebuild the library")


class _CheckedOnRead(Mapping):
    """Arrays ``names`` of an MS/MS index stored in a library file, read and checked together when
    first used (``check``: :func:`_checked_open`, :func:`_checked_peaks`); a damaged one is then
    the LibraryError it is at load."""

    def __init__(self, arrays: Mapping[str, np.ndarray], names: tuple[str, ...], check: Any,
                 where: str | None) -> None:
        self._arrays, self._names, self._check, self._where = arrays, names, check, where

    @cached_property
    def _checked(self) -> dict[str, np.ndarray]:
        return self._checked_now(self._arrays)

    def _checked_now(self, arrays: Mapping[str, np.ndarray], *args: Any) -> dict[str, np.ndarray]:
        try:
            return self._check(arrays, *args)
        except (ValueError, KeyError, TypeError) as exc:
            raise _damaged(self._where, "ms2", exc) from None

    def __getitem__(self, name: str) -> np.ndarray:
        return self._checked[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _PeaksOnRead(_CheckedOnRead):
    """:data:`SPEC_PEAKS` read and checked when first used, and until then :meth:`part` of them."""

    def part(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Elements ``lo:hi`` of both, checked as the whole would be (None: the store reads arrays
        only whole, or they are read already)."""
        if "_checked" in self.__dict__ or not hasattr(self._arrays, "part"):
            return None
        read = self._checked_now({name: self._arrays.part(name, lo, hi) for name in SPEC_PEAKS}, hi - lo)
        return read["spec_mz"], read["spec_intensity"]


def _from_stored(arrays: Mapping[str, np.ndarray], attrs: dict[str, Any], n_spectra: int,
                 where: str | None = None) -> NominalIndex | FragmentIndex:
    """An index from stored arrays and attributes, for a library of ``n_spectra`` spectra.

    Raises ValueError when the arrays are not what :func:`build_indexes` makes (see
    :func:`_checked_arrays`): checked here, once, before any compiled kernel sees them. With
    ``where`` (the library file), a fragment index's open-search arrays and peaks are read and
    checked when first used instead (``arrays`` may read each array when asked for it, and its
    peaks in part: :meth:`FragmentIndex.peaks_of`).
    """
    kind = attrs.get("kind")
    if kind not in ("nominal", "fragment"):
        raise ValueError(f"unknown index kind {kind!r}")
    cls = NominalIndex if kind == "nominal" else FragmentIndex
    checked = _checked_arrays(cls, arrays, n_spectra)
    values = {f.name: checked[f.name] if f.name in checked else float(attrs[f.name])
              for f in fields(cls) if f.name not in ("open_search", "peaks")}
    if cls is FragmentIndex:
        n, length = checked["rows"].size, int(checked["spec_offsets"][-1])
        if where is None:
            values["open_search"], values["peaks"] = _checked_open(arrays, n), _checked_peaks(arrays, length)
        else:
            values["open_search"] = _CheckedOnRead(arrays, OPEN_SEARCH, lambda a: _checked_open(a, n), where)
            values["peaks"] = _PeaksOnRead(arrays, SPEC_PEAKS, lambda a, size=length: _checked_peaks(a, size), where)
    return cls(**values)


def build_indexes(
    peaks: CSRPeaks, columns: dict[str, np.ndarray]
) -> dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]]:
    """Indexes to store in a library file, with the default parameters.

    The hook :func:`nps_id.library.build_library` calls: returns ``{"ei": (arrays, attrs),
    "ms2": (arrays, attrs)}`` (only the kinds the library holds). ``attrs`` record the kind,
    the index format version and the parameters, so a search can tell whether they fit.
    """
    return {name: _to_stored(index) for name, index in _build(peaks, columns, DEFAULT_EI, DEFAULT_MS2).items()}


# -- finding an index for a search: stored, cached, or built once --------------------------------


def _matches(attrs: dict[str, Any], kind: str, params: dict[str, Any]) -> bool:
    return (
        attrs.get("kind") == kind
        and int(attrs.get("index_version", -1)) == INDEX_VERSION
        and all(np.isclose(float(attrs.get(k, np.nan)), float(v)) for k, v in params.items())
    )


def load_indexes(
    reference: Any, ei: dict[str, float] | None = None, ms2: dict[str, float] | None = None,
    use_cache: bool = True,
) -> dict[str, NominalIndex | FragmentIndex]:
    """The indexes for ``reference`` (a :class:`~nps_id.search.reference.Reference`).

    Uses, in order: indexes stored in the library file whose parameters equal the requested
    ones; an ``.npz`` file in the library's cache folder (:func:`nps_id._paths.library_cache_dir`,
    removed with it) keyed by the library's sha256 and the parameters;
    else builds them (and caches them when the library has a sha256 and ``use_cache``).
    Cache files hold plain arrays only (``allow_pickle=False``: loading them runs no code).
    Stored and cached arrays are bounds-checked before use: a stored index that fails is a
    damaged library (:class:`~nps_id.errors.LibraryError`, exit code 4); a cached one that fails
    is rebuilt with a warning.
    """
    ei = {**DEFAULT_EI, **(ei or {})}
    ms2 = {**DEFAULT_MS2, **(ms2 or {})}
    wanted = {"ei": ("nominal", ei), "ms2": ("fragment", ms2)}
    stored = {}
    for name, (kind, params) in wanted.items():
        if name in reference.indexes and _matches(reference.indexes[name][1], kind, params):
            try:
                stored[name] = _from_stored(*reference.indexes[name], reference.n_spectra,
                                            reference.path or "library")
            except (ValueError, KeyError, TypeError) as exc:
                raise _damaged(reference.path, name, exc) from None
    ei_rows, ms2_rows = split_rows(reference.columns, reference.n_spectra)
    needed = {name for name, rows in (("ei", ei_rows), ("ms2", ms2_rows)) if rows.size}
    if needed <= set(stored):
        return stored
    key = hashlib.sha256(
        json.dumps([reference.sha256, INDEX_VERSION, ei, ms2], sort_keys=True).encode()
    ).hexdigest()[:32]
    cacheable = use_cache and reference.sha256 is not None
    if cacheable:
        from nps_id._paths import library_cache_dir, warn_unwritten_cache

        path = library_cache_dir(reference.sha256) / f"index-{key}.npz"
    if cacheable and path.exists():
        try:
            return {**_read_npz(path, reference.n_spectra), **stored}
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            warnings.warn(f"index cache {path} is damaged ({exc}); rebuilt", stacklevel=2)
    built = _build(reference.peaks, reference.columns, ei, ms2)
    if cacheable:
        try:
            _write_npz(path, built)
        except (OSError, InputError) as exc:  # the cache only saves time: search on without it
            warn_unwritten_cache("index cache", path.parent, exc, "the index is rebuilt next time")
    return {**built, **stored}


def _write_npz(path: Path, indexes: dict[str, Any]) -> None:
    from nps_id._atomic import atomic_output

    flat: dict[str, np.ndarray] = {}
    for name, index in indexes.items():
        arrays, attrs = _to_stored(index)
        flat.update({f"{name}/{k}": v for k, v in arrays.items()})
        flat[f"{name}/attrs"] = np.array(json.dumps(attrs))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **flat)


def _read_npz(path: Path, n_spectra: int) -> dict[str, NominalIndex | FragmentIndex]:
    out = {}
    with np.load(path, allow_pickle=False) as npz:
        names = {k.split("/")[0] for k in npz.files}
        for name in names:
            attrs = json.loads(str(npz[f"{name}/attrs"]))
            arrays = {k.split("/", 1)[1]: npz[k] for k in npz.files if k.startswith(name + "/") and not k.endswith("/attrs")}
            out[name] = _from_stored(arrays, attrs, n_spectra)
    return out


__all__ = [
    "NominalIndex", "FragmentIndex", "build_indexes", "load_indexes", "nominal_csr", "trim_ms2_csr",
]

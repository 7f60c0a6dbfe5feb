"""LC-MS/MS runs: MS2 scans grouped by precursor and retention time, merged into consensus spectra.

A data-dependent run fragments the same precursor several times while it elutes; those replicate
scans describe one compound and are searched as one spectrum. Grouping is two greedy splits
(sort by precursor m/z and cut where the gap exceeds the precursor tolerance; within a
precursor, sort by retention time and cut where the gap exceeds ``rt_tolerance_seconds``). A scan
without a retention time is a group of its own, its time unknown (None): no time tells whether two
such scans saw one elution.

Entry points
------------
- :func:`group_ms2` -- MS2 :class:`~nps_id.spectrum.Spectrum` list -> list of :class:`MS2Group`.
- :func:`consensus_spectrum` -- merge replicate scans: fragments clustered within a tolerance,
  kept when present in at least ``min_fraction`` of the scans, intensities averaged after
  scaling each scan to its base peak.
- :func:`product_ion_precision`, :func:`unit_resolution` -- what the product-ion m/z of a scan are
  written to: a unit-resolution instrument's scans are merged and scored at the nominal ion, not 0.01 Da.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nps_id.search.index import recorded_precision
from nps_id.spectrum import Spectrum
from nps_id.tolerance import Tolerance

#: Product ions written to at most one decimal (half a unit of it: 0.05 Da) are a unit-resolution
#: instrument's (a triple quadrupole's, an ion trap's): of the MassBank MS/MS identity queries, the 148
#: whose product ions all read so are LC-ESI-QQ (141) and -IT (7) records, none of a TOF or FT
#: instrument (stop 48, benchmarks/README.md); 2 decimals are accurate instruments' values whose
#: trailing zeros were dropped (11 ITFT / QTOF / QFT records).
UNIT_RESOLUTION_DA = 0.05


@dataclass(frozen=True)
class MS2Group:
    """Replicate MS2 scans of one precursor.

    Attributes
    ----------
    precursor_mz : float
        Median precursor m/z of the scans.
    rt_seconds : float or None
        Median retention time, seconds; None when the scan carries none.
    scan_indices : tuple of int
        ``scan_index`` of every merged scan (file order).
    spectrum : Spectrum
        The consensus spectrum (carries ``precursor_mz`` and ``retention_time``).
    """

    precursor_mz: float
    rt_seconds: float | None
    scan_indices: tuple[int, ...]
    spectrum: Spectrum

    @property
    def rt_minutes(self) -> float | None:
        return None if self.rt_seconds is None else self.rt_seconds / 60.0

    @property
    def rt_min(self) -> float | None:
        """Minutes as the results show them (4 decimals); None when unknown."""
        return None if self.rt_seconds is None else round(self.rt_seconds / 60.0, 4)


def group_ms2(
    spectra: list[Spectrum],
    precursor_tolerance: Tolerance = Tolerance(0.01, "Da"),
    rt_tolerance_seconds: float = 30.0,
    fragment_tolerance: Tolerance = Tolerance(0.01, "Da"),
    min_fraction: float = 0.5,
    unit_fragment_tolerance: Tolerance | None = None,
) -> list[MS2Group]:
    """Group MS2 scans by precursor m/z and retention time and merge each group.

    Parameters
    ----------
    spectra
        MS2 scans with ``precursor_mz`` (scans without one are ignored) and, ideally,
        ``retention_time`` (seconds; a scan without one is a group of its own).
    precursor_tolerance
        Scans whose precursors differ by more than this start a new group.
    rt_tolerance_seconds
        Scans of one precursor separated by a larger retention-time gap are separate groups.
    fragment_tolerance, min_fraction
        See :func:`consensus_spectrum`.
    unit_fragment_tolerance
        The tolerance a group whose scans' product ions are all written to unit resolution
        (:func:`unit_resolution`) is merged at, its m/z then written to their decimals
        (:func:`_unit_consensus`); None: ``fragment_tolerance`` for every group.

    Returns
    -------
    list of MS2Group
        Ordered by retention time, then precursor m/z; unknown times last, in file order.
    """
    usable = [s for s in spectra if s.precursor_mz is not None and len(s)]
    if not usable:
        return []
    precursors = np.array([s.precursor_mz for s in usable])
    rts = np.array([np.nan if s.retention_time is None else s.retention_time for s in usable])
    timed = np.flatnonzero(~np.isnan(rts))
    order = timed[np.argsort(precursors[timed], kind="stable")]
    blocks = [members for block in _split(order, precursors, lambda a, b: b - a > precursor_tolerance.window_da(a))
              for members in _split(block[np.argsort(rts[block], kind="stable")], rts,
                                    lambda a, b: b - a > rt_tolerance_seconds) if members.size]
    blocks += [np.array([i]) for i in np.flatnonzero(np.isnan(rts))]
    groups: list[MS2Group] = []
    for members in blocks:
        members = np.sort(members)
        scans = [usable[i] for i in members]
        precursor = float(np.median(precursors[members]))
        rt = None if np.isnan(rts[members[0]]) else float(np.median(rts[members]))
        merged = _unit_consensus(scans, unit_fragment_tolerance, min_fraction) if unit_fragment_tolerance else None
        if merged is None:
            merged = consensus_spectrum(scans, fragment_tolerance, min_fraction)
        meta = {k: v for k, v in scans[0].metadata.items() if k in ("ion_mode", "precursor_charge", "collision_energy")}
        spectrum = merged.replace(precursor_mz=precursor, retention_time=rt, ms_level=2, **meta)
        indices = tuple(int(s.get("scan_index", i)) for s, i in zip(scans, members))
        groups.append(MS2Group(precursor, rt, indices, spectrum))
    groups.sort(key=lambda g: (g.rt_seconds is None, g.scan_indices[0] if g.rt_seconds is None else g.rt_seconds,
                               g.precursor_mz))
    return groups


def _split(order: np.ndarray, values: np.ndarray, is_gap) -> list[np.ndarray]:
    """Cut ``order`` (indices sorted by ``values``) wherever consecutive values are a gap apart."""
    sorted_values = values[order]
    cuts = [i + 1 for i in range(order.size - 1) if is_gap(sorted_values[i], sorted_values[i + 1])]
    return np.split(order, cuts)


def consensus_spectrum(
    scans: list[Spectrum], tolerance: Tolerance = Tolerance(0.01, "Da"), min_fraction: float = 0.5,
    one_ion_per_scan: bool = False,
) -> Spectrum:
    """Merge replicate scans of one precursor into one spectrum.

    Every scan is scaled to its base peak (= 1); all peaks are pooled, sorted by m/z and cut into
    clusters wherever neighbours are further apart than ``tolerance`` (``one_ion_per_scan``: and each cut
    at its widest gap until it holds one peak of each scan, :func:`_one_ion_per_scan`). A cluster is kept when it
    holds peaks from at least ``min_fraction`` of the scans (one-off noise is dropped); its m/z is
    the intensity-weighted mean and its intensity the mean over all scans (absent = 0), scaled
    to 999. A single scan is returned scaled, unchanged otherwise.
    """
    if len(scans) == 1:
        only = scans[0]
        top = float(only.intensity.max()) if len(only) else 1.0
        return Spectrum(only.mz, only.intensity / top * 999.0, {})
    mz = np.concatenate([s.mz for s in scans])
    intensity = np.concatenate([s.intensity / max(float(s.intensity.max()), 1e-30) for s in scans])
    owner = np.concatenate([np.full(len(s), i) for i, s in enumerate(scans)])
    order = np.argsort(mz, kind="stable")
    mz, intensity, owner = mz[order], intensity[order], owner[order]
    gaps = np.diff(mz) > tolerance.window_da(mz[:-1])
    cluster = np.concatenate([[0], np.cumsum(gaps)])
    if one_ion_per_scan:
        cluster = _one_ion_per_scan(mz, cluster, owner)
    n_clusters = int(cluster[-1]) + 1 if cluster.size else 0
    weight = np.bincount(cluster, weights=intensity, minlength=n_clusters)
    mean_mz = np.bincount(cluster, weights=mz * intensity, minlength=n_clusters) / np.maximum(weight, 1e-30)
    # Distinct scans per cluster: count unique (cluster, scan) pairs.
    pairs = np.unique(cluster * len(scans) + owner)
    support = np.bincount(pairs // len(scans), minlength=n_clusters)
    keep = support >= max(1.0, min_fraction * len(scans))
    mean_intensity = weight / len(scans)
    out_mz, out_int = mean_mz[keep], mean_intensity[keep]
    top = float(out_int.max()) if out_int.size else 1.0
    return Spectrum(out_mz, out_int / top * 999.0, {})


def _one_ion_per_scan(mz: np.ndarray, cluster: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """``cluster`` (ids of the peaks ``mz``, sorted, non-decreasing) cut again, each cluster that holds two peaks
    of one scan (``owner``) at its widest gap until none does. At a unit-resolution group's 0.5 Da two ions
    of one scan 0.1-0.5 Da apart (1,084 of Keio's QQ records in MassBank hold such a pair: aspartate's "59.3"
    and "59.8") are two ions the instrument wrote, not one read twice: merged, even two identical scans lost
    one (attack49). The widest gap, not the second ion's place: a cut there could leave one scan's "69.2"
    beside another's "69.1" and "69.2", two clusters written 69.2."""
    starts = np.flatnonzero(np.diff(cluster)) + 1
    bounds = np.array([[0, *starts.tolist()], [*starts.tolist(), cluster.size]])
    # the few clusters to cut: fewer distinct scans than peaks (a pass over each of 12,000 clusters: ~0.1 s a run)
    scans = np.bincount(np.unique(cluster * (int(owner.max()) + 1) + owner) // (int(owner.max()) + 1))
    pending = [tuple(b) for b in bounds[:, scans < bounds[1] - bounds[0]].T.tolist()]
    cuts: list[int] = []
    while pending:
        lo, hi = pending.pop()
        if np.unique(owner[lo:hi]).size == hi - lo:
            continue
        at = lo + 1 + int(np.argmax(np.diff(mz[lo:hi])))
        cuts.append(at)
        pending += [(lo, at), (at, hi)]
    if not cuts:
        return cluster
    new = np.zeros(cluster.size, dtype=bool)
    new[starts] = True
    new[cuts] = True
    return np.cumsum(new)


def _unit_consensus(scans: list[Spectrum], tolerance: Tolerance, min_fraction: float) -> Spectrum | None:
    """:func:`consensus_spectrum` of replicate scans whose product ions are all written to unit resolution
    (:func:`unit_resolution`, judged on every ion of every scan) at ``tolerance``, the group's, each ion's m/z
    written to the decimals the scans were (a mean of 120.1 and 120.2 is no 120.15: the group stays what its
    instrument measured, and is scored so); None for any other group, or one scan (nothing to merge). At
    the accurate 0.01 Da a triple quadrupole's scans of one precursor kept an ion only where they wrote the
    same value: one reading 69.1 and the next 69.2 lost it (stop 48, "Left"; stop 49)."""
    if len(scans) < 2:
        return None
    precision = product_ion_precision(np.concatenate([s.mz for s in scans]))
    if precision < UNIT_RESOLUTION_DA:
        return None
    merged = consensus_spectrum(scans, tolerance, min_fraction, one_ion_per_scan=True)
    # 0.05 Da: one decimal, 0.5 Da: whole numbers
    return merged.replace(mz=np.round(merged.mz, int(round(-np.log10(2 * precision)))))


def product_ion_precision(mz: np.ndarray) -> float:
    """Half a unit of the last decimal a scan's product-ion m/z are written to, the finest over its ions
    (0.5: whole numbers, 0.05: one decimal at most, 0.005: two; 0: some written to 3 or more decimals, or
    no ion). Judged on every product ion, not on the precursor: a converter's 32-bit float precursor
    reads as 2 decimals above accurate fragments (the RaMS run, stop 47 newuser47). A 32-bit float's
    rendering of a value of fewer decimals (120.09999847 of an mzML's float32 120.1) reads as that value."""
    mz = np.asarray(mz, dtype=np.float64)
    mz = mz[np.isfinite(mz) & (mz > 0)]
    if not mz.size:
        return 0.0
    written = recorded_precision(mz, max_decimals=3)
    single = mz.astype(np.float32).astype(np.float64) == mz
    for decimals in range(3):  # a 32-bit rendering reads as its value of the fewest decimals
        as_single = single & (np.abs(np.round(mz, decimals).astype(np.float32).astype(np.float64) - mz) <= 1e-9 * mz)
        written[as_single] = np.maximum(written[as_single], 0.5 * 10.0**-decimals)
        single &= ~as_single
    return float(written.min())


def unit_resolution(mz: np.ndarray) -> bool:
    """Whether product ions of m/z ``mz`` are a unit-resolution instrument's: every one written to at
    most one decimal (:data:`UNIT_RESOLUTION_DA`)."""
    return product_ion_precision(mz) >= UNIT_RESOLUTION_DA

"""Check a library file completely: checksums, invariants and the content hash.

Entry point: :func:`validate_library` -> :class:`ValidationResult`; raises
:class:`~nps_id.errors.LibraryError` (exit code 4) with one line naming the first problem.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nps_id.errors import LibraryError
from nps_id.library.store import Library, content_sha256
from nps_id.peaks import CSRPeaks


@dataclass(frozen=True)
class ValidationResult:
    """A library that passed every check."""

    path: Path
    n_spectra: int
    n_peaks: int
    n_columns: int
    sha256: str


def _check_peaks(lib: Library) -> CSRPeaks:
    """Read every peak chunk (Fletcher-32 is verified on read) and check the CSR invariants."""
    peaks = lib.peaks()  # LibraryError names the dataset if a chunk fails its checksum
    offsets, mz, intensity = peaks.offsets, peaks.mz, peaks.intensity
    where = f"{lib.path}: invalid library"
    if peaks.n_spectra != lib.n_spectra:
        raise LibraryError(f"{where}: /peaks/offsets holds {peaks.n_spectra} spectra, "
                           f"the root attribute n_spectra says {lib.n_spectra}")
    counts = np.diff(offsets)
    if (counts < 0).any():
        raise LibraryError(f"{where}: /peaks/offsets decreases at spectrum {int(np.argmax(counts < 0))}")
    if not (np.isfinite(mz).all() and np.isfinite(intensity).all()):
        raise LibraryError(f"{where}: /peaks holds NaN or infinite values")
    if mz.size and (mz.min() <= 0 or intensity.min() < 0):
        raise LibraryError(f"{where}: /peaks holds m/z <= 0 or negative intensities")
    # m/z ascending within each spectrum: a decrease is allowed only where a spectrum starts.
    drops = np.flatnonzero(np.diff(mz) < 0) + 1
    starts = np.zeros(mz.size + 1, dtype=bool)
    starts[offsets] = True
    bad = drops[~starts[drops]]
    if bad.size:
        spectrum = int(np.searchsorted(offsets, bad[0], side="right") - 1)
        raise LibraryError(f"{where}: m/z not ascending within spectrum {spectrum}")
    return peaks


def validate_library(path: str | Path) -> ValidationResult:
    """Validate ``path`` fully (reads every chunk of every dataset).

    Checks, in order: the file opens and its format version is supported; every chunk passes its
    Fletcher-32 checksum; offsets are non-decreasing and end at the number of peaks; m/z are
    ascending within each spectrum, positive and finite; every metadata column has
    ``n_spectra`` rows; every precomputed index reads; the content SHA-256 recomputed from
    peaks and metadata equals the stored one.

    Raises
    ------
    LibraryError
        One line naming the file and the first failed check.
    """
    with Library.open(path) as lib, lib.guard("the file"):
        peaks = _check_peaks(lib)
        columns = {}
        for name in lib.columns:
            values = lib.column(name)
            if len(values) != lib.n_spectra:
                raise LibraryError(f"{lib.path}: invalid library: column {name!r} has "
                                   f"{len(values)} rows, expected {lib.n_spectra}")
            columns[name] = (lib.encoding(name), values)
        for index in lib.index_names():
            lib.read_index(index)
        lib.provenance()
        digest = content_sha256(peaks, columns)
        if digest != lib.sha256:
            raise LibraryError(
                f"{lib.path}: content does not match its SHA-256 (stored {lib.sha256[:16]}..., "
                f"recomputed {digest[:16]}...): the file was modified or is corrupt"
            )
        return ValidationResult(lib.path, lib.n_spectra, int(peaks.mz.size), len(columns), digest)

"""Check a library file completely, and open one only once it has been checked.

Entry points
------------
- :func:`open_verified` -- THE way a command opens a library it relies on (search, match,
  report, batch, ``library info/export/build --append``): the file is checked completely the
  first time, and its identity is remembered in the user cache so that later opens of the same
  unchanged file cost a ``stat``.
- :func:`validate_library` -> :class:`ValidationResult` -- ``nps-id library validate``: always
  the full check.
- :func:`check_library` -- the full check of an open :class:`Library`: every MUST of
  docs/library-format.md, every Fletcher-32 checksum, the CSR invariants, and the content hash
  (peaks, metadata and, from format 2.0, the stored indexes).

All raise :class:`~nps_id.errors.LibraryError` (exit code 4) with one line naming the file and
the first problem.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nps_id._paths import cache_dir, warn_unwritten_cache
from nps_id._words import counted
from nps_id.errors import InputError, LibraryError
from nps_id.library.store import (
    ENC_TYPE,
    ENC_VERSION,
    FLOAT,
    FORMAT_NAME,
    INT,
    KIND,
    MIN_PEAKS,
    REQUIRED_COLUMNS,
    STRING,
    STRING_LIST,
    STRUCTURE_COLUMNS,
    STRUCTURES_FROM,
    Library,
    _attr,
    content_sha256,
)
from nps_id.peaks import CSRPeaks

#: Bumped whenever the checks change, so that files verified by an older nps-id are checked again.
CHECKS_VERSION = 2

_ROOT_TEXT = ("name", "release", "created", "software_version", "format", "format_version")
_CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Attributes every /provenance/sources/NNNN record MUST have.
_SOURCE_ATTRS = ("file", "sha256", "size_bytes", "format", "read", "kept", "rejected", "rejected_reasons",
                 "inchikey_filled", "added")
#: (dtype kind, item size) each peaks dataset MUST have.
_PEAK_DTYPES = {"offsets": ("i", 8), "mz": ("f", 8), "intensity": ("f", 4)}
#: Dataset dtypes of the metadata column encodings (string columns: their two members).
_COLUMN_DTYPES = {FLOAT: {"": ("f", 8)}, INT: {"": ("i", 8)},
                  STRING: {"offsets": ("i", 8), "data": ("u", 1)}}
_COLUMN_DTYPES[STRING_LIST] = _COLUMN_DTYPES[STRING]


@dataclass(frozen=True)
class ValidationResult:
    """A library that passed every check."""

    path: Path
    n_spectra: int
    n_peaks: int
    n_columns: int
    sha256: str


# -- the format's MUSTs ----------------------------------------------------------------------------
def _check_root(lib: Library) -> None:
    """The root attributes' MUSTs (types and formats)."""
    where = f"{lib.path}: invalid library"
    for key in _ROOT_TEXT:
        if not isinstance(lib.info.get(key), str):
            raise LibraryError(f"{where}: root attribute {key!r} must be a string, got {lib.info.get(key)!r}")
    if lib.info["format"] != FORMAT_NAME or lib.info["format_version"] != lib.info.get(ENC_VERSION):
        raise LibraryError(f"{where}: root attributes format/format_version disagree with encoding-type/-version")
    if not _CREATED.fullmatch(lib.info["created"]):
        raise LibraryError(f"{where}: root attribute 'created' is not ISO 8601 UTC ({lib.info['created']!r})")
    if not isinstance(lib._h5.attrs.get("n_spectra"), (int, np.integer)):
        raise LibraryError(f"{where}: root attribute 'n_spectra' must be an integer")
    if not _SHA256.fullmatch(str(lib.info.get("sha256", ""))):
        raise LibraryError(f"{where}: root attribute 'sha256' is not 64 lower-case hex digits")


def _check_layout(lib: Library) -> None:
    """Every MUST of docs/library-format.md that is about types, attributes and filters."""
    h5 = lib._h5
    where = f"{lib.path}: invalid library"

    def element(name: str, obj: Any) -> None:
        for key in obj.attrs:
            kind = obj.attrs.get_id(key).dtype.kind
            if kind not in "iufbS":  # "O": variable-length (global heap); "V": opaque or compound
                raise LibraryError(f"{where}: attribute {key!r} of /{name} is neither a number nor a "
                                   "fixed-length UTF-8 string")
        if ENC_TYPE not in obj.attrs or ENC_VERSION not in obj.attrs:
            raise LibraryError(f"{where}: /{name} has no encoding-type/encoding-version")
        if not hasattr(obj, "dtype"):
            return
        if obj.dtype.kind not in "iufb":
            raise LibraryError(f"{where}: dataset /{name} is not numeric ({obj.dtype})")
        checked = name.split("/")[0] in ("peaks", "metadata", "indexes")
        exempt = name.startswith("indexes/") and obj.ndim != 1  # 0-d and multidimensional index arrays
        if checked and not exempt and not (obj.chunks and obj.fletcher32):
            raise LibraryError(f"{where}: dataset /{name} has no Fletcher-32 checksum")

    with lib.guard("the file's layout"):
        _check_root(lib)
        element("", h5)
        h5.visititems(element)
        for key, (kind, size) in _PEAK_DTYPES.items():
            _check_dtype(lib, f"peaks/{key}", kind, size)
        _check_columns(lib)
        for group, encoding in (("provenance", "provenance"), ("provenance/sources", "dict"), ("indexes", "indexes")):
            if group == "indexes" and group not in h5:
                continue  # indexes/ MAY be absent
            if group not in h5 or _attr(h5[group].attrs.get(ENC_TYPE)) != encoding:
                raise LibraryError(f"{where}: /{group} is missing or not of encoding-type {encoding!r}")
        for key, record in h5["provenance/sources"].items():
            missing = [k for k in _SOURCE_ATTRS if k not in record.attrs]
            if missing:
                raise LibraryError(f"{where}: /provenance/sources/{key} lacks the attribute {missing[0]!r}")
        for name in h5.get("indexes", {}):
            if lib.indexes_hashed and lib.index_attrs(name).get("library_sha256") != lib.sha256:
                raise LibraryError(f"{where}: /indexes/{name} was not built from this library (library_sha256)")


def _check_dtype(lib: Library, name: str, kind: str, size: int) -> None:
    dset = lib._h5.get(name)
    if dset is None or not hasattr(dset, "dtype"):
        raise LibraryError(f"{lib.path}: invalid library: dataset /{name} is missing")
    if dset.dtype.kind != kind or dset.dtype.itemsize != size or dset.ndim != 1:
        expected = {"i": "int", "u": "uint", "f": "float"}[kind] + str(8 * size)
        raise LibraryError(f"{lib.path}: invalid library: /{name} is {dset.dtype} {dset.shape}, "
                           f"the format requires 1-D {expected}")


def _check_columns(lib: Library) -> None:
    meta = lib._h5["metadata"]
    where = f"{lib.path}: invalid library"
    order = [str(c) for c in np.atleast_1d(_attr(meta.attrs.get("column-order", [])))]
    if sorted(order) != sorted(meta) or len(set(order)) != len(order):
        raise LibraryError(f"{where}: /metadata column-order does not name every column exactly once")
    required = [c for c in REQUIRED_COLUMNS if lib.version >= STRUCTURES_FROM or c not in STRUCTURE_COLUMNS]
    missing = [c for c in required if c not in meta]
    if missing:
        raise LibraryError(f"{where}: required metadata column {missing[0]!r} is missing")
    for name in order:
        encoding = lib.encoding(name)
        if encoding not in KIND:
            continue  # unknown encodings MAY be present; nothing reads them
        for member, (kind, size) in _COLUMN_DTYPES[encoding].items():
            _check_dtype(lib, f"metadata/{name}/{member}".rstrip("/"), kind, size)
        attrs = meta[name].attrs
        if (encoding == INT and "fill" not in attrs) or (encoding == STRING_LIST and "separator" not in attrs):
            raise LibraryError(f"{where}: /metadata/{name} ({encoding}) lacks its "
                               f"{'fill' if encoding == INT else 'separator'} attribute")


# -- the invariants and the hash -----------------------------------------------------------------
def _check_peaks(lib: Library) -> CSRPeaks:
    """Read every peak chunk (Fletcher-32 is verified on read) and check the CSR invariants."""
    peaks = lib.peaks()  # LibraryError names the dataset if a chunk fails its checksum
    offsets, mz, intensity = peaks.offsets, peaks.mz, peaks.intensity
    where = f"{lib.path}: invalid library"
    if peaks.n_spectra != lib.n_spectra:
        raise LibraryError(f"{where}: /peaks/offsets holds {counted(peaks.n_spectra, 'spectrum', 'spectra')}, "
                           f"the root attribute n_spectra says {lib.n_spectra}")
    counts = np.diff(offsets)
    if (counts < MIN_PEAKS).any():
        raise LibraryError(f"{where}: spectrum {int(np.argmax(counts < MIN_PEAKS))} has fewer than "
                           f"{MIN_PEAKS} peaks (/peaks/offsets)")
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


def check_library(lib: Library) -> ValidationResult:
    """Check the open ``lib`` fully (reads every chunk of every dataset).

    Checks, in order: every MUST of docs/library-format.md about types, attributes, encodings
    and filters; every chunk passes its Fletcher-32 checksum; offsets start at 0, are
    non-decreasing, give every spectrum at least 2 peaks and end at the number of peaks; m/z are
    ascending within each spectrum, positive and finite; every metadata column has
    ``n_spectra`` rows; the content SHA-256 recomputed from peaks, metadata and (format 2.0 and
    later) the stored indexes equals the stored one. A format 1.x file's indexes are not
    hashed; they are read to check their checksums but never used (see
    :meth:`Library.read_index`).

    Raises
    ------
    LibraryError
        One line naming the file and the first failed check.
    """
    with lib.guard("the file"):
        _check_layout(lib)
        peaks = _check_peaks(lib)
        columns = {}
        for name in lib.columns:
            values = lib.column(name)
            if len(values) != lib.n_spectra:
                raise LibraryError(f"{lib.path}: invalid library: column {name!r} has "
                                   f"{counted(len(values), 'row')}, expected {lib.n_spectra}")
            columns[name] = (lib.encoding(name), values)
        indexes = {}
        for name in lib.index_names():
            arrays = {key: lib._read(f"indexes/{name}/{key}") for key in lib._h5[f"indexes/{name}"]}
            indexes[name] = (arrays, lib.index_attrs(name))
        lib.provenance()
        digest = content_sha256(peaks, columns, indexes if lib.indexes_hashed else None)
        if digest != lib.sha256:
            raise LibraryError(
                f"{lib.path}: content does not match its SHA-256 (stored {lib.sha256[:16]}..., "
                f"recomputed {digest[:16]}...): the file was modified or is corrupt"
            )
        return ValidationResult(lib.path, lib.n_spectra, int(peaks.mz.size), len(columns), digest)


# -- verified once per file identity -------------------------------------------------------------
def _record_path(lib: Library) -> Path:
    key = hashlib.sha256(os.path.realpath(lib.path).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return cache_dir() / "verified" / f"{key}.json"


def _record(lib: Library, identity: tuple[int, ...]) -> dict[str, Any]:
    return {"identity": list(identity), "sha256": lib.sha256, "checks": CHECKS_VERSION}


def _was_verified(lib: Library, identity: tuple[int, ...]) -> bool:
    try:
        return json.loads(_record_path(lib).read_text(encoding="utf-8")) == _record(lib, identity)
    except (OSError, ValueError):
        return False


def _recorded_sha256(path: Path) -> str | None:
    """The ``sha256`` of the verification record ``path`` (None: no record, or unreadable)."""
    try:
        sha256 = json.loads(path.read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError):  # AttributeError: a record that is no JSON object
        return None
    return sha256 if isinstance(sha256, str) else None


def _forget_replaced(lib: Library, before: str | None) -> None:
    """The file ``lib`` held the content ``before`` when it was last verified and holds another
    now (rebuilt, or replaced): remove that content's cache folder, unless another verified file
    still has it (a copy of the library elsewhere) or a process is reading it. A record of a file
    since deleted keeps its folder until the copies tidy (most recently used) removes it."""
    if before is None or before == lib.sha256 or not re.fullmatch(r"[0-9a-f]{64}", before):
        return
    from nps_id.library.copies import remove_library

    try:
        records = list((cache_dir() / "verified").glob("*.json"))
    except OSError:
        return
    if any(_recorded_sha256(record) == before for record in records):
        return
    remove_library(before)


def _remember(lib: Library, identity: tuple[int, ...]) -> None:
    from nps_id._atomic import atomic_output

    path = _record_path(lib)
    try:
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(_record(lib, identity)), encoding="utf-8")
    except (OSError, InputError) as exc:  # only saves time: the next open checks the file again
        warn_unwritten_cache("library verification record", path.parent, exc,
                             f"{lib.path.name} will be checked again next time", stacklevel=3)


def open_verified(path: str | Path, copies: bool = False) -> Library:
    """Open the library ``path`` for a command that relies on it; use as a context manager.

    The first time a file is opened it is checked completely (:func:`check_library`; about
    2.5 s for the 69,000-spectrum MassBank MS/MS library), and its identity -- device, inode,
    size, modification and change time of the open file, with its SHA-256 -- is recorded in
    ``$NPS_ID_CACHE/verified`` (default ``~/.cache/nps-id``). Later opens of the same unchanged
    file are not checked again. Any write to the file changes its change time, so a modified
    library is checked again and refused. A file that passes with another ``sha256`` than its
    record's (rebuilt) has its old content's cache folder removed (``_forget_replaced``).

    ``copies``: then read its datasets from uncompressed copies in the cache folder, made the
    first time each is read (:mod:`nps_id.library.copies`; a command that opens the same library
    in process after process, as ``search``, ``match`` and ``batch`` workers are run).

    Raises
    ------
    LibraryError
        The file is missing, not a library, or fails a check (one line, exit code 4).
    """
    lib = Library.open(path)
    try:
        identity = lib.identity()  # before the check: a write during it changes the identity
        if not _was_verified(lib, identity):
            check_library(lib)
            before = _recorded_sha256(_record_path(lib))
            _remember(lib, identity)
            _forget_replaced(lib, before)
        if copies:
            lib.read_from_copies(identity)
    except BaseException:
        lib.close()
        raise
    return lib


def validate_library(path: str | Path) -> ValidationResult:
    """Validate ``path`` fully (always: a recorded earlier verification is not trusted here).

    See :func:`check_library` for the checks. A file that passes is recorded as verified, so the
    next command that opens it does not check it again.
    """
    with Library.open(path) as lib:
        identity = lib.identity()
        result = check_library(lib)
        _remember(lib, identity)
        return result


__all__ = ["ValidationResult", "check_library", "open_verified", "validate_library", "CHECKS_VERSION"]

"""Write an nps-id reference library file (docs/library-format.md, version 2.0).

Entry points
------------
- :func:`columns_from_spectra` -- turn spectra's metadata into typed columns.
- :func:`write_library` -- write peaks, columns, provenance and indexes to one HDF5 file.

The writer does not make the write atomic; :func:`nps_id.library.build.build_library` calls it
on a temporary path inside :func:`nps_id._atomic.atomic_output`.
"""
from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from nps_id.library.store import (
    ENC_TYPE,
    ENC_VERSION,
    FLOAT,
    FORMAT_NAME,
    FORMAT_VERSION,
    INT,
    INT_FILL,
    REQUIRED_COLUMNS,
    STRING,
    STRING_LIST,
    SYNONYM_SEPARATOR,
    column_encoding,
    content_sha256,
)
from nps_id.peaks import CSRPeaks
from nps_id.spectrum import METADATA_KEYS, Spectrum

#: Elements per chunk of the peak arrays (256 KiB of m/z): small enough that reading one
#: spectrum decompresses little, large enough that gzip compresses well.
PEAK_CHUNK = 32768
#: Rows per chunk of metadata columns and offsets.
ROW_CHUNK = 4096
#: Keys of Spectrum metadata that are not stored as a column of that name.
_NOT_STORED = {"source_file"}


def utc_now() -> str:
    """Current time as ISO 8601 UTC with a Z, second resolution."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _string_value(key: str, value: Any) -> str:
    if key == "synonyms":
        return SYNONYM_SEPARATOR.join(str(v).replace(SYNONYM_SEPARATOR, " ") for v in value)
    return str(value)


def columns_from_spectra(
    spectra: Sequence[Spectrum], sources: Sequence[str]
) -> dict[str, np.ndarray]:
    """Typed metadata columns for ``spectra``.

    Parameters
    ----------
    spectra
        The spectra, in library order.
    sources
        For each spectrum, the file name it came from (the ``source`` column).

    Returns
    -------
    dict
        Column name -> array: object arrays of str (``""`` absent), float64 (NaN absent) or
        int64 (the column's fill absent). Required columns first, then the other
        :data:`~nps_id.spectrum.METADATA_KEYS`, then extra keys sorted.
    """
    n = len(spectra)
    values: dict[str, list[Any]] = {}
    for i, s in enumerate(spectra):  # one pass over the spectra; columns filled sparsely
        for key, value in s.metadata.items():
            if key in _NOT_STORED:
                continue
            if key not in values:
                values[key] = [None] * n
            values[key][i] = value
    ordered = list(REQUIRED_COLUMNS)
    ordered += [k for k in METADATA_KEYS if k in values and k not in ordered]
    ordered += sorted(set(values) - set(ordered))
    columns: dict[str, np.ndarray] = {}
    for name in ordered:
        encoding = column_encoding(name)
        raw = values.get(name, [None] * n)
        if name == "source":
            columns[name] = np.array(list(sources), dtype=object)
        elif encoding == FLOAT:
            columns[name] = np.array([np.nan if v is None else v for v in raw], dtype=np.float64)
        elif encoding == INT:
            fill = INT_FILL[name]
            columns[name] = np.array([fill if v is None else v for v in raw], dtype=np.int64)
        else:
            arr = np.empty(n, dtype=object)
            arr[:] = ["" if v is None else _string_value(name, v) for v in raw]
            columns[name] = arr
    return columns


def set_attr(obj: Any, key: str, value: Any) -> None:
    """Set an attribute; strings (and lists of strings) as *fixed-length* UTF-8.

    h5py's default variable-length string attributes live in the file's global heap, where one
    corrupted byte can make HDF5 hang while opening the object; fixed-length strings live in the
    object header, next to the attribute.
    """
    import h5py

    if isinstance(value, str) or (isinstance(value, (list, tuple)) and value
                                  and all(isinstance(v, str) for v in value)):
        encoded = np.array(value, dtype=object)
        data = np.array([v.encode("utf-8") for v in np.ravel(encoded)]).reshape(encoded.shape)
        width = max(1, data.dtype.itemsize)
        obj.attrs.create(key, data, dtype=h5py.string_dtype("utf-8", width))
    else:
        obj.attrs[key] = value


def _set_encoding(obj: Any, encoding_type: str, version: str = "1.0") -> None:
    set_attr(obj, ENC_TYPE, encoding_type)
    set_attr(obj, ENC_VERSION, version)


def _array(group: Any, name: str, data: np.ndarray, chunk: int) -> Any:
    """A chunked, shuffled, gzip-compressed, Fletcher-32-checked dataset."""
    if data.dtype.kind not in "iufb":
        raise ValueError(f"dataset {name!r}: only numeric arrays are stored (got {data.dtype})")
    return group.create_dataset(
        name,
        data=data,
        chunks=(chunk,),
        maxshape=(None,),  # lets a chunk be larger than a short array (and an empty one)
        compression="gzip",
        compression_opts=4,
        shuffle=True,
        fletcher32=True,
    )


def _write_strings(group: Any, name: str, values: Sequence[str], encoding: str) -> Any:
    """A string column as UTF-8 bytes in CSR form: ``offsets`` (int64, n + 1) and ``data`` (uint8).

    Not HDF5 variable-length strings, which live in the global heap: HDF5 can neither checksum
    nor compress them, stores each (even ``""``) as a separate object of ~16 bytes overhead, and
    hangs on some corrupted heaps instead of failing (see docs/library-format.md).
    """
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    sub = group.create_group(name)
    _set_encoding(sub, encoding)
    _set_encoding(_array(sub, "offsets", offsets, ROW_CHUNK), "array")
    _set_encoding(_array(sub, "data", np.frombuffer(b"".join(encoded), dtype=np.uint8), PEAK_CHUNK), "array")
    return sub


def _write_columns(h5: Any, columns: Mapping[str, np.ndarray]) -> None:
    meta = h5.create_group("metadata")
    _set_encoding(meta, "columns")
    set_attr(meta, "column-order", list(columns))
    for name, values in columns.items():
        encoding = column_encoding(name)
        if encoding in (STRING, STRING_LIST):
            element = _write_strings(meta, name, values, encoding)
        else:
            element = _array(meta, name, np.asarray(values), ROW_CHUNK)
            _set_encoding(element, encoding)
        if encoding == INT:
            element.attrs["fill"] = INT_FILL[name]
        if encoding == STRING_LIST:
            set_attr(element, "separator", SYNONYM_SEPARATOR)


def _write_provenance(h5: Any, records: Iterable[Mapping[str, Any]],
                      structures: Iterable[Mapping[str, Any]] = ()) -> None:
    group = h5.create_group("provenance")
    _set_encoding(group, "provenance")
    for name, kind, items in (("sources", "source-record", records),
                              ("structures", "structure-step", structures)):
        parent = group.create_group(name)
        _set_encoding(parent, "dict")
        for k, record in enumerate(items):
            sub = parent.create_group(f"{k:04d}")
            _set_encoding(sub, kind)
            for key, value in record.items():
                if isinstance(value, dict):
                    value = json.dumps(value, sort_keys=True)
                set_attr(sub, key, value)


def _write_indexes(
    h5: Any, indexes: Mapping[str, tuple[Mapping[str, np.ndarray], Mapping[str, Any]]], sha256: str
) -> None:
    group = h5.create_group("indexes")
    _set_encoding(group, "indexes")
    for name, (arrays, attrs) in indexes.items():
        sub = group.create_group(name)
        _set_encoding(sub, "search-index")
        for key, value in attrs.items():
            set_attr(sub, key, value)
        set_attr(sub, "library_sha256", sha256)
        for key, arr in arrays.items():
            arr = np.asarray(arr)
            if arr.dtype.kind not in "iufb":
                raise ValueError(f"index {name!r} array {key!r}: only numeric arrays are stored")
            if arr.ndim == 1:
                dset = _array(sub, key, arr, max(1, min(PEAK_CHUNK * 4, arr.size)))
            else:
                dset = sub.create_dataset(key, data=arr)
            _set_encoding(dset, "array")


def write_library(
    path: str | Path,
    peaks: CSRPeaks,
    columns: Mapping[str, np.ndarray],
    *,
    name: str,
    release: str,
    provenance: Sequence[Mapping[str, Any]] = (),
    indexes: Mapping[str, tuple[Mapping[str, np.ndarray], Mapping[str, Any]]] | None = None,
    created: str | None = None,
    structure_provenance: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Write a complete library file at ``path`` (overwriting it) and return its content sha256.

    The HDF5 file is assembled in memory and written to ``path`` with one plain write: a full
    disk is then an ordinary :class:`OSError` (ENOSPC, EFBIG), not HDF5 failing half-way through
    its own writes (hundreds of lines of error stack, then a crash while closing).

    Parameters
    ----------
    path
        Output file (callers pass a temporary path and rename it).
    peaks
        All peaks, CSR.
    columns
        Metadata columns as :func:`columns_from_spectra` returns them; each must have
        ``peaks.n_spectra`` rows.
    name, release
        Library name and release label (root attributes).
    provenance
        One mapping per source file (see docs/library-format.md, "Provenance").
    indexes
        Optional precomputed indexes: name -> (arrays, attributes).
    created
        ISO UTC creation time; now when None.
    structure_provenance
        One mapping per structure step (``provenance/structures``, docs/library-format.md).
    """
    import h5py

    from nps_id import __version__

    n = peaks.n_spectra
    for col, values in columns.items():
        if len(values) != n:
            raise ValueError(f"column {col!r} has {len(values)} rows, expected {n}")
    typed = {col: (column_encoding(col), values) for col, values in columns.items()}
    sha = content_sha256(peaks, typed, indexes)
    # An in-memory file (core driver, no backing store); block_size is how much it grows at once.
    # Its name is no existing file: HDF5 opens an existing one (O_RDWR), and opening and closing a
    # named pipe ``-o`` gave its reader end of file before the library's bytes came.
    in_memory = os.path.join(tempfile.gettempdir(), f"nps-id-in-memory-{uuid.uuid4().hex}.h5")
    with h5py.File(in_memory, "w", libver=("v110", "v110"), driver="core", backing_store=False,
                   block_size=1 << 24) as h5:
        _set_encoding(h5, FORMAT_NAME, FORMAT_VERSION)
        for key, value in (
            {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "name": name,
                "release": release,
                "created": created or utc_now(),
                "software_version": __version__,
                "n_spectra": n,
                "n_peaks": int(peaks.mz.size),
                "sha256": sha,
            }
        ).items():
            set_attr(h5, key, value)
        group = h5.create_group("peaks")
        _set_encoding(group, "csr-peaks")
        for key, data, chunk in (
            ("offsets", np.asarray(peaks.offsets, dtype=np.int64), ROW_CHUNK),
            ("mz", np.asarray(peaks.mz, dtype=np.float64), PEAK_CHUNK),
            ("intensity", np.asarray(peaks.intensity, dtype=np.float32), PEAK_CHUNK),
        ):
            _set_encoding(_array(group, key, data, chunk), "array")
        _write_columns(h5, columns)
        _write_provenance(h5, provenance, structure_provenance)
        if indexes:
            _write_indexes(h5, indexes, sha)
        h5.flush()
        image = h5.id.get_file_image()
    with open(path, "wb") as fh:
        fh.write(image)
    return sha

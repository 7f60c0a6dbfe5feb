"""Read an nps-id reference library (the HDF5 layout of ``docs/library-format.md``).

Entry points
------------
- :meth:`Library.open` -- open a library (a context manager; closes the file on exit).
- :class:`Library` -- ``n_spectra``, ``sha256``, ``info``, ``columns``, :meth:`Library.column`,
  :meth:`Library.peaks`, :meth:`Library.spectrum`, :meth:`Library.spectra`,
  :meth:`Library.read_index`, :meth:`Library.provenance`.
- Reading only what is used, while the library stays open (a one-spectrum search reads a few
  rows, not 69,000): :meth:`Library.stored_peaks` (:class:`StoredPeaks`),
  :meth:`Library.stored_columns` (:class:`StoredColumns`), ``read_index(name, lazy=True)``.
- :func:`content_sha256` -- the content hash of peaks + metadata columns (shared with the writer).
- Format constants (``FORMAT_NAME``, ``FORMAT_VERSION``, column kinds, ``MIN_PEAKS``) used by the
  writer, the build and the check.

Every element is read by dispatching on its ``encoding-type`` attribute; every HDF5 failure is
turned into a :class:`~nps_id.errors.LibraryError` naming the file and the dataset.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import MutableMapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import numpy as np

from nps_id.errors import LibraryError, shorten
from nps_id.peaks import CSRPeaks
from nps_id.spectrum import INTENSITY_DTYPE, MZ_DTYPE, Spectrum

if TYPE_CHECKING:
    import h5py

FORMAT_NAME = "nps-id-library"
FORMAT_VERSION = "2.0"
#: From this format version on, the content hash covers the stored indexes (1.x: peaks and
#: metadata only, so a 1.x file's indexes are not trusted and never read for a search).
INDEXES_HASHED = (2, 0)
ENC_TYPE = "encoding-type"
ENC_VERSION = "encoding-version"

#: Column kinds: encoding-type of the dataset -> kind used by the hash and the reader.
#: String columns are groups holding UTF-8 bytes in CSR form (``offsets`` int64, ``data`` uint8),
#: not HDF5 variable-length strings: see docs/library-format.md, "Why not variable-length strings".
STRING, STRING_LIST, FLOAT, INT = "utf8-array", "utf8-list-array", "float-array", "int-array"
KIND = {STRING: "str", STRING_LIST: "str", FLOAT: "float", INT: "int"}
SYNONYM_SEPARATOR = "\n"

#: Columns every library has (docs/library-format.md, "Metadata").
REQUIRED_COLUMNS = (
    "name", "synonyms", "formula", "inchikey", "smiles", "inchi", "cas", "exact_mass", "ms_level",
    "precursor_mz", "precursor_type", "ion_mode", "instrument_type", "collision_energy",
    "retention_index", "source", "source_id", "licence", "comments",
    "structure_source", "structure_status",  # format 2.0; absent from 1.0 files (no structures)
)
#: Required from format STRUCTURES_FROM on only: 1.0 files have no structure columns.
STRUCTURE_COLUMNS = ("structure_source", "structure_status")
STRUCTURES_FROM = (2, 0)
FLOAT_COLUMNS = ("exact_mass", "precursor_mz", "retention_time", "retention_index")
#: Integer columns and the value that means "absent".
INT_FILL = {"ms_level": 0, "precursor_charge": 0, "scan_index": -1}
#: Every spectrum of a library has at least this many peaks: the build rejects fewer, the check
#: of a library file refuses them.
MIN_PEAKS = 2

#: Attributes of an index group the content hash leaves out: the encoding (checked on its own)
#: and the hash itself.
UNHASHED_INDEX_ATTRS = (ENC_TYPE, ENC_VERSION, "library_sha256")

#: A selection of fewer rows than this is read row by row (an HDF5 slice decompresses only the
#: chunks it touches); from this many on, the whole dataset at once.
FEW_ROWS = 16

# h5py's low-level failures (bad checksum, truncated heap, broken B-tree) surface as these.
H5_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, UnicodeDecodeError)


def column_encoding(name: str) -> str:
    """The encoding-type a metadata column of this name is written with."""
    if name == "synonyms":
        return STRING_LIST
    if name in FLOAT_COLUMNS:
        return FLOAT
    if name in INT_FILL:
        return INT
    return STRING


def _record(h: "hashlib._Hash", tag: str, payload: bytes) -> None:
    tag_b = tag.encode("utf-8")
    h.update(len(tag_b).to_bytes(8, "little") + tag_b + len(payload).to_bytes(8, "little"))
    h.update(payload)


def content_sha256(
    peaks: CSRPeaks,
    columns: Mapping[str, tuple[str, np.ndarray]],
    indexes: Mapping[str, tuple[Mapping[str, np.ndarray], Mapping[str, Any]]] | None = None,
) -> str:
    """SHA-256 over peaks, metadata and stored indexes, as docs/library-format.md specifies it
    ("The content hash").

    Parameters
    ----------
    peaks
        The CSR peaks.
    columns
        name -> (encoding-type, values) with values as :meth:`Library.column` returns them.
    indexes
        name -> (arrays, attributes) of the stored indexes, as :meth:`Library.read_index` and
        :meth:`Library.index_attrs` return them (format 2.0 and later; None for a 1.0 hash).
        ``encoding-type``, ``encoding-version`` and ``library_sha256`` are not hashed.

    Returns
    -------
    str
        64 lower-case hex digits.
    """
    h = hashlib.sha256()
    _record(h, "peaks/offsets", np.ascontiguousarray(peaks.offsets, dtype="<i8").tobytes())
    _record(h, "peaks/mz", np.ascontiguousarray(peaks.mz, dtype="<f8").tobytes())
    _record(h, "peaks/intensity", np.ascontiguousarray(peaks.intensity, dtype="<f4").tobytes())
    for name in sorted(columns):
        encoding, values = columns[name]
        kind = KIND[encoding]
        if kind == "float":
            arr = np.array(values, dtype="<f8")
            arr[np.isnan(arr)] = np.nan  # one canonical NaN bit pattern
            payload = arr.tobytes()
        elif kind == "int":
            payload = np.ascontiguousarray(values, dtype="<i8").tobytes()
        else:
            encoded = [str(v).encode("utf-8") for v in values]
            lengths = np.fromiter(map(len, encoded), dtype="<u8", count=len(encoded))
            payload = lengths.tobytes() + b"".join(encoded)
        _record(h, f"metadata/{name}:{kind}", payload)
    for name in sorted(indexes or {}):
        arrays, attrs = indexes[name]  # type: ignore[index]
        hashed = {k: _attr(np.asarray(v)[()]) for k, v in attrs.items() if k not in UNHASHED_INDEX_ATTRS}
        _record(h, f"indexes/{name}:attrs", json.dumps(hashed, sort_keys=True).encode("utf-8"))
        for key in sorted(arrays):
            arr = np.asarray(arrays[key])
            little = arr.dtype.newbyteorder("<") if arr.dtype.byteorder not in "|=<" else arr.dtype
            shape = ",".join(map(str, arr.shape))
            _record(h, f"indexes/{name}/{key}:{little.str}:({shape})",
                    np.ascontiguousarray(arr, dtype=little).tobytes())
    return h.hexdigest()


def _attr(value: Any) -> Any:
    """HDF5 attribute value as plain Python (bytes -> str, numpy scalars -> int/float)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_attr(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _version_tuple(text: str) -> tuple[int, int]:
    major, _, minor = str(text).partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return (10**6, 0)  # unparseable: treat as "newer than anything we know"


class Library:
    """An open nps-id reference library. Use :meth:`open` as a context manager.

    Attributes
    ----------
    path : Path
        The file.
    n_spectra : int
        Number of reference spectra.
    sha256 : str
        Content hash (peaks + metadata), hex; what reports quote.
    info : dict
        Root attributes (format, format_version, name, release, created, software_version,
        n_spectra, sha256, ...).
    columns : list of str
        Metadata column names, in the file's column order.
    version : (int, int)
        Format version (major, minor) of the file.
    """

    def __init__(self, path: Path, h5: "h5py.File") -> None:
        self.path = path
        self._h5 = h5
        self.info: dict[str, Any] = {k: _attr(v) for k, v in h5.attrs.items()}
        self.n_spectra = int(self.info.get("n_spectra", 0))
        self.sha256 = str(self.info.get("sha256", ""))
        self.version = _version_tuple(str(self.info.get(ENC_VERSION, "")))
        meta = self._group("metadata")
        order = [str(c) for c in _attr(meta.attrs.get("column-order", []))] or sorted(meta)
        self._encodings: dict[str, str] = {}
        self._separators: dict[str, str] = {}  # string-list columns -> their separator
        self._fills: dict[str, int] = {}  # int columns -> their "absent" value
        for name in order:
            if name not in meta:
                continue
            attrs = meta[name].attrs
            self._encodings[name] = str(_attr(attrs.get(ENC_TYPE, "")))
            if "separator" in attrs:
                self._separators[name] = str(_attr(attrs["separator"]))
            if self._encodings[name] == INT:
                self._fills[name] = int(_attr(attrs.get("fill", 0)))
        self.columns = [c for c in order if self._encodings.get(c) in KIND]
        self._offsets: np.ndarray | None = None
        self._copies: Any = None  # nps_id.library.copies.Copies once read_from_copies() is called

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> "Library":
        """Open ``path`` read-only.

        Raises
        ------
        LibraryError
            Missing file, not HDF5, truncated or corrupt structure, not an nps-id library, or a
            format version newer than this nps-id reads -- always one line saying which.
        """
        import h5py

        path = Path(path)
        if not path.exists():
            raise LibraryError(f"{path}: no such library file")
        if path.is_dir():
            raise LibraryError(f"{path}: is a folder, not a library file (.h5)")
        try:
            is_hdf5 = h5py.is_hdf5(str(path))
        except OSError as exc:
            raise LibraryError(f"{path}: cannot read the library ({exc})") from None
        if not is_hdf5:
            raise LibraryError(f"{path}: not an HDF5 file, so not an nps-id library")
        try:
            h5 = h5py.File(path, "r")
        except H5_ERRORS as exc:
            raise LibraryError(f"{path}: corrupt or truncated library file ({_short(exc)})") from None
        try:
            cls._check_version(path, h5)
            return cls(path, h5)
        except LibraryError:
            h5.close()
            raise
        except H5_ERRORS as exc:
            h5.close()
            raise LibraryError(f"{path}: corrupt library file ({_short(exc)})") from None

    @staticmethod
    def _check_version(path: Path, h5: "h5py.File") -> None:
        enc = _attr(h5.attrs.get(ENC_TYPE, ""))
        if enc != FORMAT_NAME:
            raise LibraryError(
                f"{path}: HDF5 file but not an nps-id library (encoding-type {enc!r}, "
                f"expected {FORMAT_NAME!r}); build one with 'nps-id library build'"
            )
        version = str(_attr(h5.attrs.get(ENC_VERSION, "")))
        newer = _version_tuple(version)[0] > _version_tuple(FORMAT_VERSION)[0]
        for group, expected in (("peaks", "csr-peaks"), ("metadata", "columns")):
            found = _attr(h5[group].attrs.get(ENC_TYPE, "")) if group in h5 else None
            if found != expected and not newer:
                raise LibraryError(
                    f"{path}: corrupt library: /{group} has encoding-type {found!r}, "
                    f"expected {expected!r}"
                )
        if newer:
            from nps_id import __version__

            raise LibraryError(
                f"{path}: library format version {version} is newer than this nps-id "
                f"({__version__}) can read (format {FORMAT_VERSION}); upgrade nps-id or rebuild "
                f"the library with this version"
            )

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._h5 is not None and self._h5.id.valid:
            self._h5.close()
        if self._copies is not None:
            self._copies.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self.n_spectra

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r}, {self.n_spectra} spectra, sha256={self.sha256[:12]})"

    def identity(self) -> tuple[int, ...]:
        """(device, inode, size, mtime_ns, ctime_ns) of the file *this object has open*.

        Taken from the open descriptor, not the path, so a library renamed over the path after
        opening cannot lend its identity to the one being read. The change time is set by the
        kernel on every write, so restoring the modification time does not hide a change.
        """
        with self.guard("the file"):
            stat = os.fstat(self._h5.id.get_vfd_handle())
        return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)

    @property
    def indexes_hashed(self) -> bool:
        """Whether the content hash covers the stored indexes (format 2.0 and later)."""
        return self.version >= INDEXES_HASHED

    # -- low-level access ----------------------------------------------------------------
    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Turn h5py failures while reading ``what`` into a one-line :class:`LibraryError`."""
        try:
            yield
        except H5_ERRORS as exc:
            raise LibraryError(f"{self.path}: corrupt library: cannot read {what} ({_short(exc)})") from None

    def _group(self, name: str) -> "h5py.Group":
        try:
            return self._h5[name]
        except KeyError:
            raise LibraryError(f"{self.path}: corrupt library: group /{name} is missing") from None

    def read_from_copies(self, checked: tuple[int, ...]) -> None:
        """From now on read each dataset from its uncompressed copy in the cache folder, made the
        first time it is read (:mod:`nps_id.library.copies`). Only for a file whose content was
        checked against its sha256 while its :meth:`identity` was ``checked``
        (:func:`nps_id.library.open_verified` does both): a copy is made only while it still is."""
        from nps_id.library.copies import Copies

        if self.sha256:
            self._copies = Copies(self.sha256, lambda: self.identity() == checked, self.path)

    def _read(self, name: str, selection: Any = ()) -> np.ndarray:
        """Read ``selection`` of dataset ``name`` (from its copy, :meth:`read_from_copies`); HDF5
        failures become one-line LibraryErrors."""
        if self._copies is not None:
            return self._copies.read(name, selection, lambda: self._read_file(name))
        return self._read_file(name, selection)

    def _read_file(self, name: str, selection: Any = ()) -> np.ndarray:
        try:
            dset = self._h5[name]
            return dset[selection]
        except H5_ERRORS as exc:
            raise LibraryError(
                f"{self.path}: corrupt library: cannot read dataset /{name} ({_short(exc)})"
            ) from None

    def _row_number(self, i: int, what: str) -> int:
        """``i`` as 0 .. n_spectra - 1 (negative counts from the end); IndexError outside."""
        if not -self.n_spectra <= i < self.n_spectra:
            raise IndexError(f"{what} {i} out of range for a library of {self.n_spectra}")
        return int(i) % self.n_spectra

    def _offsets_array(self) -> np.ndarray:
        if self._offsets is None:
            self._offsets = np.asarray(self._read("peaks/offsets"), dtype=np.int64)
        return self._offsets

    # -- metadata ------------------------------------------------------------------------
    def encoding(self, name: str) -> str:
        """encoding-type of metadata column ``name``."""
        if name not in self._encodings:
            raise LibraryError(f"{self.path}: no metadata column {name!r}")
        return self._encodings[name]

    def column(self, name: str, rows: Any = ()) -> np.ndarray:
        """Values of metadata column ``name`` (all rows, or the ``rows`` selection).

        Returns
        -------
        numpy.ndarray
            str columns: object array of str (``""`` where absent; synonyms joined by ``"\\n"``);
            float columns: float64 (NaN absent); int columns: int64 (the column's fill absent,
            0 for ``ms_level``).
        """
        encoding = self.encoding(name)
        if encoding not in KIND:
            raise LibraryError(
                f"{self.path}: column {name!r} has encoding {encoding!r}, unknown to this nps-id"
            )
        if KIND[encoding] == "str":
            return self._strings(name, rows)
        values = self._read(f"metadata/{name}", rows)
        return np.asarray(values, dtype=np.float64 if KIND[encoding] == "float" else np.int64)

    def _strings(self, name: str, rows: Any) -> np.ndarray | str:
        """Rows of a UTF-8 CSR column: one scalar row, or a selection as an object array."""
        if isinstance(rows, (int, np.integer)):
            rows = self._row_number(rows, "row")
            lo, hi = (int(v) for v in self._read(f"metadata/{name}/offsets", slice(rows, rows + 2)))
            return self._decode(name, self._read(f"metadata/{name}/data", slice(lo, hi)).tobytes())
        few = np.asarray(rows)
        if few.ndim == 1 and few.dtype.kind in "iu" and few.size < FEW_ROWS:
            values = np.empty(few.size, dtype=object)
            values[:] = [self._strings(name, int(i)) for i in few.tolist()]
            return values
        offsets = np.asarray(self._read(f"metadata/{name}/offsets"), dtype=np.int64)
        buf = self._read(f"metadata/{name}/data").tobytes()
        if offsets.size != self.n_spectra + 1 or offsets[-1] != len(buf) or (np.diff(offsets) < 0).any():
            raise LibraryError(f"{self.path}: corrupt library: /metadata/{name}/offsets is inconsistent")
        whole = isinstance(rows, tuple) and not rows
        # a selection of row numbers: those rows' strings only (ranking a one-spectrum search's
        # candidates against the 69,220 rows of MassBank MS/MS sliced every row's)
        picked = not whole and few.ndim == 1 and few.dtype.kind in "iu" and bool((few >= 0).all())
        starts, ends = (offsets[few], offsets[few + 1]) if picked else (offsets[:-1], offsets[1:])
        bounds = zip(starts.tolist(), ends.tolist())
        if buf.isascii():  # most columns: one decode, then slices (a byte offset is a character's)
            text = buf.decode("ascii")
            strings = [text[lo:hi] for lo, hi in bounds]
        else:
            strings = [self._decode(name, buf[lo:hi]) for lo, hi in bounds]
        values = np.empty(len(strings), dtype=object)
        values[:] = strings
        return values if whole or picked else values[rows]

    def _decode(self, name: str, value: bytes) -> str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise LibraryError(
                f"{self.path}: corrupt library: /metadata/{name} holds invalid UTF-8"
            ) from None

    def columns_dict(self) -> dict[str, np.ndarray]:
        """Every metadata column, read whole."""
        return {name: self.column(name) for name in self.columns}

    # -- peaks ---------------------------------------------------------------------------
    def peaks(self) -> CSRPeaks:
        """All peaks as :class:`~nps_id.peaks.CSRPeaks` (reads the three peak datasets whole)."""
        offsets = self._offsets_array()
        mz = np.asarray(self._read("peaks/mz"), dtype=MZ_DTYPE)
        intensity = np.asarray(self._read("peaks/intensity"), dtype=INTENSITY_DTYPE)
        try:
            return CSRPeaks(offsets, mz, intensity)
        except ValueError as exc:
            raise LibraryError(f"{self.path}: corrupt library: /peaks: {exc}") from None

    def stored_peaks(self) -> "StoredPeaks":
        """The peaks, read as they are used (:class:`StoredPeaks`); the library must stay open."""
        return StoredPeaks(self)

    def stored_columns(self, names: Any) -> "StoredColumns":
        """Metadata columns ``names``, read as they are used (:class:`StoredColumns`); the
        library must stay open."""
        return StoredColumns(self, names)

    def _row_metadata(self, values: Mapping[str, Any]) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        for name, value in values.items():
            encoding = self._encodings[name]
            if name in self._separators:
                if value:
                    meta[name] = tuple(value.split(self._separators[name]))
            elif KIND[encoding] == "str":
                if value:
                    meta["source_file" if name == "source" else name] = value
            elif encoding == FLOAT:
                if not np.isnan(value):
                    meta[name] = float(value)
            elif int(value) != self._fills[name]:
                meta[name] = int(value)
        return meta

    def spectrum(self, i: int) -> Spectrum:
        """Spectrum ``i`` (0-based): reads only its peak slice and its metadata row.

        The ``source`` column comes back as the ``source_file`` metadata key.
        """
        i = self._row_number(i, "spectrum")
        lo, hi = (int(v) for v in self._read("peaks/offsets", slice(i, i + 2)))
        mz = self._read("peaks/mz", slice(lo, hi))
        intensity = self._read("peaks/intensity", slice(lo, hi))
        row = {c: self.column(c, i) for c in self.columns}
        return Spectrum(mz, intensity, self._row_metadata(row))

    def spectra(self) -> Iterator[Spectrum]:
        """Every spectrum in order (reads peaks and metadata once, then yields)."""
        peaks = self.peaks()
        cols = self.columns_dict()
        for i in range(self.n_spectra):
            mz, intensity = peaks.row(i)
            row = {c: values[i] for c, values in cols.items()}
            yield Spectrum(mz, intensity, self._row_metadata(row))

    # -- provenance and indexes ----------------------------------------------------------
    def provenance(self) -> list[dict[str, Any]]:
        """One dict per source file (attributes of ``/provenance/sources/NNNN``), build order."""
        with self.guard("/provenance"):
            return self._provenance()

    def _provenance(self) -> list[dict[str, Any]]:
        sources = self._group("provenance").get("sources")
        if sources is None:
            return []
        out = []
        for key in sorted(sources):
            record = {k: _attr(v) for k, v in sources[key].attrs.items()}
            record.pop(ENC_TYPE, None)
            record.pop(ENC_VERSION, None)
            if isinstance(record.get("rejected_reasons"), str):
                record["rejected_reasons"] = json.loads(record["rejected_reasons"])
            out.append(record)
        return out

    def structure_provenance(self) -> list[dict[str, Any]]:
        """One dict per structure step (``/provenance/structures/NNNN``); [] for format 1.0."""
        with self.guard("/provenance/structures"):
            steps = self._group("provenance").get("structures")
            records = [{k: _attr(v) for k, v in steps[key].attrs.items()}
                       for key in sorted(steps or ())]
            return [{k: v for k, v in r.items() if k not in (ENC_TYPE, ENC_VERSION)} for r in records]

    def index_names(self) -> list[str]:
        """Names of the precomputed indexes in ``/indexes`` (empty for files without any)."""
        with self.guard("/indexes"):
            group = self._h5.get("indexes")
            return sorted(group) if group is not None else []

    def index_attrs(self, name: str) -> dict[str, Any]:
        """Attributes of ``/indexes/<name>`` ({} when absent)."""
        with self.guard(f"/indexes/{name}"):
            group = self._h5.get(f"indexes/{name}")
            return {k: _attr(v) for k, v in group.attrs.items()} if group is not None else {}

    def read_index(self, name: str, lazy: bool = False) -> Mapping[str, np.ndarray] | None:
        """Arrays of ``/indexes/<name>`` (each read whole), or None when the file has none;
        ``lazy``: each read when first asked for (the library must stay open).

        Also None for a format 1.x file: its content hash does not cover the indexes, so they
        are not trusted (a search builds its own from the peaks, once, in the user cache).
        """
        if not self.indexes_hashed:
            return None
        with self.guard(f"/indexes/{name}"):
            group = self._h5.get(f"indexes/{name}")
            if group is None:
                return None
            arrays = _ReadOnUse(lambda key: np.asarray(self._read(f"indexes/{name}/{key}")), list(group),
                                lambda key, part: np.asarray(self._read(f"indexes/{name}/{key}", part)))
            return arrays if lazy else dict(arrays)


class _ReadOnUse(MutableMapping):
    """``name -> read(name)`` for the ``names`` given, each read once, when first asked for; values
    set here (or names outside ``names``) are kept as given."""

    def __init__(self, read: Any, names: Any, read_part: Any = None) -> None:
        self._load, self._names, self._values = read, list(names), {}
        self._read_part = read_part

    def part(self, name: str, lo: int, hi: int) -> Any:
        """Elements ``lo:hi`` of ``name``: read alone (an HDF5 slice decompresses only the chunks
        it touches) while the whole is not read and a ``read_part(name, slice)`` was given."""
        if name in self._values or self._read_part is None:
            return self[name][lo:hi]
        if name not in self._names:
            raise KeyError(name)
        return self._read_part(name, slice(lo, hi))

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            if name not in self._names:
                raise KeyError(name)
            self._values[name] = self._load(name)
        return self._values[name]

    def __contains__(self, name: object) -> bool:  # without reading it
        return name in self._values or name in self._names

    def __setitem__(self, name: str, value: Any) -> None:
        self._values[name] = value

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._values.pop(name, None)
        if name in self._names:
            self._names.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._names, *self._values]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*self._names, *self._values]))


class StoredColumns(_ReadOnUse):
    """Metadata columns of an open library as a mapping (name -> the whole column, read when
    first asked for), and :meth:`rows` to read a few rows of one without the rest."""

    def __init__(self, lib: Library, names: Any) -> None:
        super().__init__(lib.column, names)
        self._lib = lib

    def rows(self, name: str, rows: np.ndarray) -> np.ndarray:
        """``self[name][rows]``, reading only those rows while the column is not read whole."""
        if name in self._values or name not in self._names or KIND[self._lib.encoding(name)] != "str":
            return self[name][rows]
        return self._lib.column(name, np.asarray(rows, dtype=np.int64))


class StoredPeaks(CSRPeaks):
    """The peaks of an open library, read as they are used: the offsets at once, :meth:`row` by
    slices for the first :data:`FEW_ROWS` rows, ``mz`` and ``intensity`` whole when asked for
    (and for every row after that)."""

    def __init__(self, lib: Library) -> None:  # a CSRPeaks whose arrays are not read yet
        object.__setattr__(self, "offsets", lib._offsets_array())
        object.__setattr__(self, "_lib", lib)
        object.__setattr__(self, "_rows_read", 0)

    @cached_property
    def _whole(self) -> CSRPeaks:
        return self._lib.peaks()

    @cached_property
    def mz(self) -> np.ndarray:  # type: ignore[override]
        return self._whole.mz

    @cached_property
    def intensity(self) -> np.ndarray:  # type: ignore[override]
        return self._whole.intensity

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if "_whole" in self.__dict__ or self._rows_read >= FEW_ROWS:
            return self._whole.row(i)
        object.__setattr__(self, "_rows_read", self._rows_read + 1)
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return (np.asarray(self._lib._read("peaks/mz", slice(lo, hi)), dtype=MZ_DTYPE),
                np.asarray(self._lib._read("peaks/intensity", slice(lo, hi)), dtype=INTENSITY_DTYPE))


def _short(exc: BaseException) -> str:
    """One line of an h5py error message."""
    return shorten(" ".join(str(exc).split()), 160)

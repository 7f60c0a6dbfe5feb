"""The in-memory reference a search runs against: CSR peaks plus the metadata columns a hit needs.

Entry points
------------
- :class:`Reference` -- peaks (:class:`~nps_id.peaks.CSRPeaks`) and columns, one row per spectrum.
- :meth:`Reference.from_spectra` -- from any iterable of :class:`~nps_id.spectrum.Spectrum`.
- :meth:`Reference.from_library` -- from an open :class:`nps_id.library.Library` (a small adapter;
  ``lazy=True`` reads each array when first used).
- :meth:`Reference.column_rows` -- a few rows of a column (of a lazy reference: only those read).
- :attr:`Reference.identity` -- the compound identity of every row (:mod:`nps_id.compound`: codes
  for hit confidence, stereo notes for hits). For a library file it is kept in the library's cache
  folder (:func:`nps_id._paths.library_cache_dir`), keyed by the library's sha256, the code that
  makes it and the RDKit version: it takes seconds per process (RDKit InChIKeys of stereoisomers).

Columns follow the library's conventions: strings are ``object`` arrays with ``''`` for absent,
floats are float64 with NaN for absent, integers int64.
"""
from __future__ import annotations

import functools
import hashlib
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any, Iterable, MutableMapping

import numpy as np

from nps_id.compound import CompoundIdentity, compound_identity
from nps_id.peaks import CSRPeaks
from nps_id.spectrum import Spectrum

#: The metadata columns a search reads, with their kind ("str", "float" or "int").
COLUMNS: dict[str, str] = {
    "source_id": "str",
    "name": "str",
    "synonyms": "str",  # newline-separated, as the library stores them (compound identity reads them)
    "inchikey": "str",
    "formula": "str",
    "smiles": "str",
    "structure_source": "str",
    "structure_status": "str",
    "ion_mode": "str",
    "precursor_type": "str",
    "precursor_mz": "float",
    "exact_mass": "float",
    "ms_level": "int",
}

def _column(values: list[Any], kind: str) -> np.ndarray:
    if kind == "str":  # a list value (a spectrum's synonyms) is joined as the library stores it
        return np.array(["" if v is None else "\n".join(v) if isinstance(v, (list, tuple)) else str(v)
                         for v in values], dtype=object)
    if kind == "float":
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return np.array([0 if v is None else int(v) for v in values], dtype=np.int64)


@dataclass(frozen=True)
class Reference:
    """Reference spectra for a search.

    Attributes
    ----------
    peaks
        Raw (unprocessed) peaks of every spectrum, in library row order.
    columns
        Metadata columns named in :data:`COLUMNS`, each of length ``n_spectra``.
    sha256
        Content hash of the library file (keys the index cache); ``None`` for in-memory spectra.
    indexes
        Index arrays stored with the library (name -> (arrays, attrs)); empty when none.
        Bounds-checked when :func:`~nps_id.search.index.load_indexes` turns them into indexes.
    path
        The library file, for messages; ``None`` for in-memory spectra.
    """

    peaks: CSRPeaks
    columns: MutableMapping[str, np.ndarray]
    sha256: str | None = None
    indexes: dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]] = field(default_factory=dict)
    path: str | None = None

    def __post_init__(self) -> None:
        for key, kind in COLUMNS.items():
            if key not in self.columns:
                self.columns[key] = _column([None] * self.n_spectra, kind)
            elif isinstance(self.columns, dict) and len(self.columns[key]) != self.n_spectra:
                # (columns read from a library when used have its row count)
                raise ValueError(f"column {key!r} has {len(self.columns[key])} rows, expected {self.n_spectra}")

    def column_rows(self, key: str, rows: np.ndarray) -> np.ndarray:
        """``columns[key][rows]``; of a library read lazily, only those rows are read."""
        take = getattr(self.columns, "rows", None)
        return take(key, rows) if take is not None else self.columns[key][rows]

    @property
    def n_spectra(self) -> int:
        return self.peaks.n_spectra

    @functools.cached_property
    def identity(self) -> CompoundIdentity:
        """Compound codes and stereo notes of every row (:func:`nps_id.compound.compound_identity`),
        made once per reference."""
        c = self.columns

        def make() -> CompoundIdentity:
            return compound_identity(c["inchikey"], c["name"], c["smiles"], c["structure_status"], c["synonyms"])

        return make() if self.sha256 is None else _cached_identity(self.sha256, self.n_spectra, make)

    def compound(self) -> np.ndarray:
        """Compound code per row: equal codes = the same compound (see :mod:`nps_id.compound`)."""
        return self.identity.codes

    @classmethod
    def from_spectra(cls, spectra: Iterable[Spectrum], sha256: str | None = None) -> "Reference":
        """Build from spectra (e.g. ``nps_id.io.read("library.msp")``)."""
        spectra = list(spectra)
        columns = {key: _column([s.get(key) for s in spectra], kind) for key, kind in COLUMNS.items()}
        return cls(CSRPeaks.from_spectra(spectra), columns, sha256)

    @classmethod
    def from_library(cls, lib: Any, lazy: bool = False) -> "Reference":
        """Adapter for an open :class:`nps_id.library.Library`: its peaks, columns, stored indexes.

        Open the library with :func:`nps_id.library.open_verified` (as every command does): this
        adapter trusts what it reads. ``lazy``: each array is read when first used (a column
        whole, or only the rows :meth:`column_rows` asks for; peaks by rows for few rows), so
        the library must stay open while the reference is used: a search of one spectrum
        against 69,000 reads a fraction of the file.
        """
        present = [key for key in COLUMNS if key in set(lib.columns)]
        columns = lib.stored_columns(present) if lazy else {key: np.asarray(lib.column(key)) for key in present}
        indexes = {}
        for name in ("ei", "ms2"):
            arrays = lib.read_index(name, lazy=lazy)
            if arrays is not None:
                indexes[name] = (arrays, dict(lib.index_attrs(name)))
        return cls(lib.stored_peaks() if lazy else lib.peaks(), columns, lib.sha256, indexes, str(lib.path))


def _cached_identity(sha256: str, n_spectra: int, make: Any) -> CompoundIdentity:
    """``make()``, through an ``.npz`` in the library's cache folder (plain arrays; notes stored
    once each and indexed per row; removed with the folder, :mod:`nps_id.library.copies`). A
    damaged file is rebuilt with a warning; an unwritable folder only costs the time."""
    from pathlib import Path

    from nps_id import compound
    from nps_id._installed import package_version
    from nps_id._atomic import atomic_output
    from nps_id.errors import InputError
    from nps_id._paths import library_cache_dir, warn_unwritten_cache

    code = hashlib.sha256(Path(compound.__file__).read_bytes()).hexdigest()
    key = hashlib.sha256(json.dumps([sha256, code, package_version("rdkit")]).encode()).hexdigest()[:32]
    path = library_cache_dir(sha256) / f"identity-{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                codes, note_of, notes = npz["codes"], npz["note_of"], npz["notes"]
            if codes.shape != (n_spectra,) or note_of.shape != (n_spectra,) or (
                    n_spectra and not 0 <= note_of.min() <= note_of.max() < len(notes)):
                raise ValueError("arrays do not fit the library")
            return CompoundIdentity(codes.astype(np.int64), np.array(notes.tolist(), dtype=object)[note_of])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            warnings.warn(f"identity cache {path} is damaged ({exc}); rebuilt", stacklevel=2)
    identity = make()
    notes, note_of = np.unique(identity.notes.astype(str), return_inverse=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, codes=identity.codes, note_of=note_of.reshape(-1), notes=notes)
    except (OSError, InputError) as exc:  # the cache only saves time
        warn_unwritten_cache("identity cache", path.parent, exc, "the compounds are told apart again next time")
    return identity

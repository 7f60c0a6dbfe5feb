"""Seeded generator of damaged copies of an nps-id library, made at test time (never committed).

Each damage copies a good library and changes it with h5py the way an adversary or a broken tool
would: datasets are rewritten whole, so HDF5 recomputes their Fletcher-32 checksums and only the
content hash (or a MUST of docs/library-format.md) can tell. ``rehash`` plays the careful
adversary who also recomputes the root ``sha256``.

Entry points
------------
- :data:`DAMAGES` -- name -> function(path) that damages the file in place.
- :func:`damaged_copy` -- copy ``source`` to a folder and apply one damage.
- :func:`rehash` -- recompute and store the content hash of a (damaged) file.
- :func:`as_format_1_0` -- turn a library into a format-1.0 file (indexes not in the hash).
- :func:`write_queries` -- a few library spectra as an MSP query / source file.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np

SEED = 12


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, *name.encode()])


def _rewrite(h5: h5py.File, name: str, data: np.ndarray, *, fletcher32: bool = True) -> None:
    """Replace dataset ``name`` by ``data``, keeping its attributes (checksums recomputed)."""
    attrs = dict(h5[name].attrs)
    del h5[name]
    if data.dtype.kind in "SU" or data.ndim == 0 or data.size == 0:
        dset = h5.create_dataset(name, data=data)
    else:
        dset = h5.create_dataset(name, data=data, chunks=(min(4096, data.size),), maxshape=(None,),
                                 compression="gzip", shuffle=True, fletcher32=fletcher32)
    for key, value in attrs.items():
        dset.attrs[key] = value


def _strings(h5: h5py.File, name: str) -> list[str]:
    offsets = h5[f"{name}/offsets"][()]
    data = h5[f"{name}/data"][()].tobytes()
    return [data[a:b].decode() for a, b in zip(offsets[:-1], offsets[1:])]


def _write_strings(h5: h5py.File, name: str, values: list[str]) -> None:
    encoded = [v.encode() for v in values]
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in encoded])]).astype(np.int64)
    _rewrite(h5, f"{name}/offsets", offsets)
    _rewrite(h5, f"{name}/data", np.frombuffer(b"".join(encoded) or b"\0", np.uint8)[: offsets[-1]])


def _edit(function: Callable[[h5py.File], Any]) -> Callable[[Path], None]:
    """A damage of an open file as one of a path (opened read-write)."""
    @functools.wraps(function)
    def damage(path: Path) -> None:
        with h5py.File(path, "r+") as h5:
            function(h5)

    return damage


# -- item 4: a tampered index (checksums rewritten, sha256 left as it was) -----------------------
@_edit
def index_rows_reversed(h5: h5py.File) -> None:
    """/indexes/ei/rows reversed: every hit points at another library row."""
    _rewrite(h5, "indexes/ei/rows", h5["indexes/ei/rows"][()][::-1].copy())


@_edit
def index_weights_changed(h5: h5py.File) -> None:
    """/indexes/ei/peak_weight scaled by random factors: different scores."""
    weight = h5["indexes/ei/peak_weight"][()]
    _rewrite(h5, "indexes/ei/peak_weight", (weight * _rng("w").uniform(0.2, 2.0, weight.size)).astype(weight.dtype))


# -- item 5: an index array that points outside its arrays --------------------------------------
@_edit
def index_offset_huge(h5: h5py.File) -> None:
    """One value of /indexes/ei/spec_offsets set to 10**12."""
    offsets = h5["indexes/ei/spec_offsets"][()]
    offsets[_rng("o").integers(1, offsets.size - 1)] = 10**12
    _rewrite(h5, "indexes/ei/spec_offsets", offsets)


def index_offset_huge_rehashed(path: Path) -> None:
    """index_offset_huge, and the root sha256 recomputed to match (a careful adversary)."""
    index_offset_huge(path)
    rehash(path)


@_edit
def index_position_negative(h5: h5py.File) -> None:
    """One /indexes/ei/peak_position set to -10**9."""
    position = h5["indexes/ei/peak_position"][()]
    position[_rng("p").integers(position.size)] = -10**9
    _rewrite(h5, "indexes/ei/peak_position", position)


# -- item 6: changed content that a search would quote ------------------------------------------
@_edit
def name_changed(h5: h5py.File) -> None:
    """The name of one spectrum emptied."""
    names = _strings(h5, "metadata/name")
    names[int(_rng("n").integers(len(names)))] = ""
    _write_strings(h5, "metadata/name", names)


@_edit
def column_deleted(h5: h5py.File) -> None:
    """metadata/inchikey deleted (and dropped from column-order)."""
    del h5["metadata/inchikey"]
    order = [c for c in h5["metadata"].attrs["column-order"] if c != b"inchikey"]
    h5["metadata"].attrs.create("column-order", np.array(order), dtype=h5["metadata"].attrs["column-order"].dtype)


@_edit
def rows_reordered(h5: h5py.File) -> None:
    """The rows of metadata/inchikey shuffled."""
    keys = _strings(h5, "metadata/inchikey")
    _write_strings(h5, "metadata/inchikey", [keys[i] for i in _rng("r").permutation(len(keys))])


# -- item 6: MUSTs of docs/library-format.md the content hash cannot see -------------------------
@_edit
def mz_float32(h5: h5py.File) -> None:
    """peaks/mz stored as float32 (SWGDRUG's integer m/z survive, so the hash still matches)."""
    _rewrite(h5, "peaks/mz", h5["peaks/mz"][()].astype(np.float32))


@_edit
def mz_without_fletcher32(h5: h5py.File) -> None:
    """peaks/mz rewritten without its Fletcher-32 checksum."""
    _rewrite(h5, "peaks/mz", h5["peaks/mz"][()], fletcher32=False)


@_edit
def offsets_float(h5: h5py.File) -> None:
    """peaks/offsets stored as float64."""
    _rewrite(h5, "peaks/offsets", h5["peaks/offsets"][()].astype(np.float64))


@_edit
def root_name_not_string(h5: h5py.File) -> None:
    """The root attribute name is the integer 42."""
    h5.attrs["name"] = 42


@_edit
def sha256_variable_length(h5: h5py.File) -> None:
    """The root attribute sha256 as a variable-length string (same value)."""
    value = h5.attrs["sha256"]
    h5.attrs.create("sha256", value.decode() if isinstance(value, bytes) else value, dtype=h5py.string_dtype())


# -- item 7: damage that used to give a traceback in search and match ---------------------------
@_edit
def exact_mass_string(h5: h5py.File) -> None:
    """metadata/exact_mass stored as fixed-length strings."""
    _rewrite(h5, "metadata/exact_mass", h5["metadata/exact_mass"][()].astype("S24"))


@_edit
def ms_level_short(h5: h5py.File) -> None:
    """metadata/ms_level one row short."""
    _rewrite(h5, "metadata/ms_level", h5["metadata/ms_level"][()][:-1].copy())


DAMAGES: dict[str, Callable[[Path], None]] = {
    f.__name__: f
    for f in (
        index_rows_reversed, index_weights_changed, index_offset_huge, index_offset_huge_rehashed,
        index_position_negative, name_changed, column_deleted, rows_reordered, mz_float32,
        mz_without_fletcher32, offsets_float, root_name_not_string, sha256_variable_length,
        exact_mass_string, ms_level_short,
    )
}


def damaged_copy(source: Path, folder: Path, damage: str) -> Path:
    """A copy of ``source`` in ``folder`` (named after the damage) with ``damage`` applied."""
    out = folder / f"{damage}.h5"
    shutil.copyfile(source, out)
    DAMAGES[damage](out)
    return out


def rehash(path: Path) -> str:
    """Recompute the content hash as nps-id defines it and store it (root and index groups)."""
    from nps_id.library import Library
    from nps_id.library.store import content_sha256

    with Library.open(path) as lib:
        columns = {c: (lib.encoding(c), lib.column(c)) for c in lib.columns}
        indexes = {name: ({key: dset[()] for key, dset in lib._h5[f"indexes/{name}"].items()},
                          lib.index_attrs(name)) for name in lib.index_names()}
        digest = content_sha256(lib.peaks(), columns, indexes if lib.indexes_hashed else None)
    with h5py.File(path, "r+") as h5:
        h5.attrs.create("sha256", digest.encode(), dtype=h5py.string_dtype("utf-8", len(digest)))
        for group in h5.get("indexes", {}).values():
            group.attrs.create("library_sha256", digest.encode(), dtype=h5py.string_dtype("utf-8", len(digest)))
    return digest


def as_format_1_0(path: Path) -> str:
    """Make ``path`` a format-1.0 library: version attributes 1.0, hash without the indexes."""
    with h5py.File(path, "r+") as h5:
        for key in ("encoding-version", "format_version"):
            h5.attrs.create(key, b"1.0", dtype=h5py.string_dtype("utf-8", 3))
    return rehash(path)


def write_queries(library: Path, rows: range | list[int], out: Path) -> Path:
    """Spectra ``rows`` of ``library`` written as MSP (queries, or a source to build from)."""
    from nps_id.io import write
    from nps_id.library import Library

    with Library.open(library) as lib:
        write([lib.spectrum(i) for i in rows], out)
    return out

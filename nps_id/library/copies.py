"""Uncompressed copies of a verified library's datasets, kept in the cache folder.

A library file stores every array gzip-compressed in chunks (docs/library-format.md), so each
process that reads an array decompresses it again: for a one-spectrum EI search against MassBank
EI that was ~46 ms CPU of ~0.4 s (the stored index's four big arrays), and a few rows of a
dataset cost a whole chunk each. :class:`Copies` keeps each dataset a command reads as a plain
file (its bytes, little-endian) in ``$NPS_ID_CACHE/copies/<library sha256>/`` the first time it is read, and later
processes read that copy instead (page cache, no inflate).

Why the key is safe: a library is opened by :func:`nps_id.library.open_verified`, which checks a
file whose identity changed against its ``sha256`` before anything is read, and the content hash
covers every dataset read here (peaks, metadata, stored indexes; format 2.0), so one sha256 is one
content -- as long as the file is the one checked: a file written into while a search has it open
(``cp new.h5 lib.h5`` overwrites it in place) may give that search the new file's bytes, so a
dataset is copied only when the file's identity (its change time) is still the checked one after
it was read. A copy's own damage (a truncated or altered file in the cache) is caught by the CRC-32
of its bytes, in its name and checked when it is first used in a process: the copy is then
removed, the dataset read from the library and copied again, with a warning.

The folder is the library's cache folder: the other files derived from one library content --
its compound identity (``identity-*.npz``), search index (``index-*.npz``), row facts
(``facts-*.json``) and library isomer pairs (``isomer-pairs-*.json``, MS/MS and EI; ``ms2pairs-*.json`` before
stop 46, tidied as stale by :mod:`nps_id._json_cache`) -- are kept in it too
(:func:`nps_id._paths.library_cache_dir`), so they go with its copies.

Old folders are removed: a rebuilt library has a new sha256, so each rebuild left a folder of ~3-4x
the file. When a process makes a library's folder, the folders beyond the
:data:`KEEP_LIBRARIES` most recently used ones are removed, and when a library file is found
rebuilt or changed (:func:`nps_id.library.open_verified`), its old content's folder is removed
(:func:`remove_library`) unless another verified file still has that content -- never one in use:
each process that reads a folder holds a shared ``flock`` on its ``.in-use`` file (whose modification
time says when it was last used) until the library is closed, and a folder is removed only under an
exclusive lock, renamed away first, so a process that waited for it makes a new folder instead. The
per-library files of nps-id before stop 35, loose in the cache folder, are removed by the same tidy.

Entry points: :class:`Copies` (``Library.read_from_copies`` turns it on for an open library),
:func:`remove_library`, :func:`is_copy`.
"""
from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import re
import shutil
import warnings
import zlib
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import numpy as np

from nps_id._paths import library_cache_dir, warn_unwritten_cache
from nps_id.errors import InputError


#: A copy is not made when it would leave its disk with less free space than this share of the
#: disk or this many bytes, whichever is more: the copies only save time (MassBank MS/MS: up to
#: 135 MB), and a disk they filled would refuse the results and reports written next.
KEEP_FREE_SHARE = 0.05
KEEP_FREE_BYTES = 1 << 30


#: The copies of this many library files (the most recently used) are kept; older folders are removed
#: when another library's copies are made. Six: a laboratory's few libraries in turn (SWGDRUG, a
#: vendor's, MassBank EI and MS/MS, an in-house one) keep theirs; a library rebuilt 20 times leaves
#: at most six folders, not 20 (MassBank MS/MS: up to 135 MB each).
KEEP_LIBRARIES = 6

#: In each copies folder: the file a reading process holds a shared lock on (dot: not a copy).
IN_USE = ".in-use"

#: A library's derived files as nps-id before stop 35 kept them, loose in the cache folder (their
#: names hash the library's sha256, so whose they are cannot be told): removed by :func:`_tidy`. (The pairs
#: file, ``isomer-pairs-KEY.json`` since stop 46, was never kept loose under that name.)
LOOSE = re.compile(r"(identity|index)-[0-9a-f]{32}\.npz|(facts|ms2pairs)-[0-9a-f]{32}\.json")


def is_copy(name: str) -> bool:
    """Whether the file ``name`` in a library's cache folder is a dataset's copy
    (``<quoted dataset name>.<dtype>.<CRC-32>``): not one being written (``.tmp-``), the lock
    file, nor a derived file (``identity-KEY.npz``, ``facts-KEY.json``, ...)."""
    return not name.startswith(".") and name.count(".") == 2


def remove_library(sha256: str) -> None:
    """Remove the cache folder of the library content ``sha256`` unless a process is reading it
    (then it stays, to be tidied later); silent when it is missing or cannot be removed."""
    folder = library_cache_dir(sha256)
    if folder.is_dir():
        _remove_unless_in_use(folder)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not removed or replaced meanwhile)."""
    try:
        here, held = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)


def _hold(folder: Path) -> int | None:
    """A shared lock on ``folder``'s :data:`IN_USE` file (``folder`` made when missing, and then
    the older folders beside it tidied): while it is held no process removes the folder. Its time
    is set to now (last used). None when the folder cannot be made or locked (read-only cache)."""
    for _ in range(3):  # a removal between our mkdir and open, or open and lock: make the folder again
        try:
            made = not folder.is_dir()
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / IN_USE, os.O_RDONLY | os.O_CREAT, 0o644)
        except FileNotFoundError:  # renamed away by another process's tidy since our mkdir
            continue
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a removal holds it (a rename)
        except OSError:
            os.close(fd)
            return None
        if _same_file(fd, folder / IN_USE):
            with contextlib.suppress(OSError):
                os.utime(fd)
            if made:
                _tidy(folder.parent, keep=folder)
            return fd
        os.close(fd)
    return None


def _tidy(root: Path, keep: Path) -> None:
    """Remove the copies folders in ``root`` beyond the :data:`KEEP_LIBRARIES` most recently used
    (``keep`` counted first), each only when no process holds it; what an interrupted removal left;
    and the :data:`LOOSE` files of nps-id before stop 35 beside ``root``."""
    with contextlib.suppress(OSError):
        for loose in root.parent.iterdir():
            if LOOSE.fullmatch(loose.name):
                loose.unlink(missing_ok=True)
    used = []
    with contextlib.suppress(OSError):
        for folder in root.iterdir():
            if folder.name.startswith(".removed-"):
                shutil.rmtree(folder, ignore_errors=True)
            elif folder != keep and folder.is_dir() and not folder.name.startswith("."):
                try:  # a folder of nps-id before stop 32 has no IN_USE file: its own time
                    used.append(((folder / IN_USE).stat().st_mtime, folder.name, folder))
                except OSError:
                    with contextlib.suppress(OSError):
                        used.append((folder.stat().st_mtime, folder.name, folder))
    for *_, folder in sorted(used, reverse=True)[KEEP_LIBRARIES - 1:]:
        _remove_unless_in_use(folder)


def _remove_unless_in_use(folder: Path) -> None:
    """Remove ``folder`` when no process holds its :data:`IN_USE` lock: renamed away under an
    exclusive lock (a reader waiting for the lock then finds no folder and makes a new one)."""
    try:
        fd = os.open(folder / IN_USE, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not _same_file(fd, folder / IN_USE):  # another process removed it meanwhile
            return
        gone = folder.with_name(f".removed-{folder.name}-{os.getpid()}")
        os.rename(folder, gone)
    except OSError:  # in use (the lock is held), or gone
        return
    finally:
        os.close(fd)
    shutil.rmtree(gone, ignore_errors=True)


def _room_for(folder: Path, size: int) -> bool:
    """Whether ``size`` bytes written in ``folder`` (or where it would be made) leave its disk
    the free space :data:`KEEP_FREE_SHARE` / :data:`KEEP_FREE_BYTES` ask for; True when unknown."""
    for place in (folder, *folder.parents):
        try:
            disk = os.statvfs(place)
        except OSError:  # not made yet: ask its parent
            continue
        if disk.f_blocks == 0:  # no size (/proc, /sys): not "nearly full"; a write there names its own failure
            return True
        total, free = disk.f_blocks * disk.f_frsize, disk.f_bavail * disk.f_frsize
        return free - size >= max(KEEP_FREE_SHARE * total, KEEP_FREE_BYTES)
    return True


def _stem(name: str) -> str:
    """A dataset's name as a file name without ``/`` or ``.``."""
    return quote(name, safe="").replace(".", "%2E")


class Copies:
    """The datasets of the library with content hash ``sha256``, each read from its copy in the
    cache folder (made from ``read_whole`` when missing or damaged, while ``unchanged()``: the
    file ``source`` is still the one whose content was checked against ``sha256``)."""

    def __init__(self, sha256: str, unchanged: Callable[[], bool], source: Path) -> None:
        self.folder = library_cache_dir(sha256)
        self._unchanged = unchanged
        self._source = source
        self._mapped: dict[str, np.ndarray] = {}
        self._listing: dict[str, str] | None = None
        self._writable = True
        self._held = _hold(self.folder)

    def close(self) -> None:
        """Release the folder (another process may remove it now); the arrays already read stay valid."""
        if self._held is not None:
            os.close(self._held)
            self._held = None

    def read(self, name: str, selection: Any, read_whole: Callable[[], np.ndarray]) -> np.ndarray:
        """``selection`` of dataset ``name`` as a new array (the caller may change it)."""
        mapped = self._mapped.get(name)
        if mapped is None:
            mapped = self._open(name)
            if mapped is None:  # read from the library once, kept for this process's next reads
                mapped = read_whole()
                if self._unchanged():  # after the read: a write during it changed the identity
                    self._write(name, mapped)
                elif self._writable:
                    self._writable = False
                    warnings.warn(f"{self._source}: the library file changed while it was read "
                                  f"(written in place?); no copy of it kept", stacklevel=4)
            self._mapped[name] = mapped
        return np.array(mapped[selection])

    def _open(self, name: str) -> np.ndarray | None:
        """The copy of ``name`` mapped read-only, its CRC checked; None when there is none."""
        if self._listing is None:
            try:  # file name: <quoted dataset name>.<dtype kind and size>.<CRC-32 hex>
                self._listing = {p.name.split(".")[0]: p.name for p in self.folder.iterdir() if is_copy(p.name)}
            except OSError:
                self._listing = {}
        file = self._listing.get(_stem(name))
        if file is None:
            return None
        path = self.folder / file
        try:
            _, kind, crc = file.split(".")
            dtype = np.dtype("<" + kind)
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                raw = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            if f"{zlib.crc32(raw):08x}" != crc or size % dtype.itemsize or dtype.hasobject:
                raise ValueError("its CRC-32 or length does not match")
            return np.frombuffer(raw, dtype=dtype)
        except (OSError, ValueError, TypeError) as exc:
            warnings.warn(f"library copy {path} is damaged ({exc}); read from the library again", stacklevel=4)
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            del self._listing[_stem(name)]
            return None

    def _write(self, name: str, whole: np.ndarray) -> None:
        if not self._writable or whole.ndim != 1:  # every dataset of the format is 1-D
            return
        from nps_id._atomic import atomic_output

        dtype = whole.dtype.newbyteorder("<")
        data = np.ascontiguousarray(whole, dtype=dtype).tobytes()
        path = self.folder / f"{_stem(name)}.{dtype.kind}{dtype.itemsize}.{zlib.crc32(data):08x}"
        if not _room_for(self.folder, len(data)):
            self._writable = False
            warnings.warn(f"library copies {self.folder} not written: its disk is nearly full (a copy leaves "
                          f"{KEEP_FREE_SHARE:.0%} of it, and 1 GiB, free); the library is read instead", stacklevel=4)
            return
        try:
            with atomic_output(path) as tmp:
                Path(tmp).write_bytes(data)
        except (OSError, InputError) as exc:  # the copies only save time: read the library instead
            self._writable = False
            warn_unwritten_cache("library copies", self.folder, exc, "the library is read instead", stacklevel=4)

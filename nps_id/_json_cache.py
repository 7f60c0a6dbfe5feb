"""A dict of JSON values kept in one file of the cache folder across processes (:class:`JsonCache`).

The search caches of :mod:`nps_id.match.library_facts` (isomer enumerations, library row facts, MS/MS
pairs) subclass it: it reads the file lazily, checks each value as it is asked, and saves by
merging with what other processes wrote, under a lock beside the file. Written by hand: no
library offers a multi-process, merge-on-save JSON store with per-value validation (``shelve`` and
``dbm`` are neither safe across processes nor checked).
"""
from __future__ import annotations

import abc
import contextlib
import fcntl
import functools
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator


class JsonCache(abc.ABC):
    """A dict of JSON values kept in one file of the cache folder across processes: read on first
    use, written back (atomically, merged with what other processes wrote meanwhile) by
    :meth:`save` when something was added. A damaged file is ignored with a warning; an
    unwritable folder only costs the time.

    A value read from the file is decoded and checked when it is first asked for, not the whole
    file at once: after a few searches the file holds tens of thousands of entries, and checking
    them all cost a one-spectrum search ~0.02 s of its ~0.3 s. A value found damaged is made again;
    the file's other values stay (each is checked when asked). :meth:`save` checks the whole file
    before it merges it, so a damaged entry is never written back (one no search asked is reported
    then), and holds a lock beside the file while it reads, merges and replaces it, so two
    processes saving at once keep each other's values."""

    label = "cache"
    #: Names this cache's files had under earlier nps-id (``kind`` of ``kind-KEY.json``): their files are
    #: tidied as this kind's files of another key are (:func:`_remove_stale`), never read -- their key is
    #: another code's.
    former_kinds: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._file: dict[str, Any] | None = None  # the file's entries as JSON, checked when asked
        self._decoded: dict[str, Any] = {}  # values asked for or added in this process
        self._added = False
        self._reported = False  # a damaged file is reported once

    @functools.cached_property
    def path(self) -> Path:
        return self._folder() / self._file_name()

    def _folder(self) -> Path:
        """The folder the file is kept in: the cache folder (a library's file: its cache folder)."""
        from nps_id._paths import cache_dir

        return cache_dir()

    @abc.abstractmethod
    def _file_name(self) -> str:
        """The file's name in the cache folder (it carries the cache key)."""

    def _decode_value(self, key: str, value: Any) -> Any:
        """The value of ``key`` as the rules use it; ValueError, TypeError or AttributeError when
        it is not what this cache writes."""
        return value

    def _encode_value(self, value: Any) -> Any:
        return value

    def value(self, key: str, make: Callable[[], Any]) -> Any:
        """The value kept under ``key``; ``make()``'s, added, when there is none."""
        try:
            return self._decoded[key]
        except KeyError:
            pass
        entries = self._entries()
        if key in entries:
            try:
                self._decoded[key] = self._decode_value(key, entries[key])
                return self._decoded[key]
            except (ValueError, TypeError, AttributeError) as exc:
                self._report(exc)
                del entries[key]  # this value only: the others are checked as they are asked
        self.add(key, make())
        return self._decoded[key]

    def decoded_items(self) -> Iterator[tuple[str, Any]]:
        """Every value of the file that decodes, with its key (decoded here, not kept: a damaged
        one is left for :meth:`value` to report and make again when a search asks for it)."""
        for key, value in self._entries().items():
            if key in self._decoded:
                yield key, self._decoded[key]
                continue
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                yield key, self._decode_value(key, value)

    def add(self, key: str, value: Any) -> None:
        self._entries()  # a damaged file is reported when first used, whatever the use
        self._decoded[key] = value
        self._added = True

    def _entries(self) -> dict[str, Any]:
        if self._file is None:
            self._file = self._read()
        return self._file

    def _report(self, exc: BaseException, stacklevel: int = 4) -> None:
        if not self._reported:  # once per process, however many values are damaged
            warnings.warn(f"{self.label} {self.path} is damaged ({exc}); rebuilt", stacklevel=stacklevel)
            self._reported = True

    def _damaged(self, exc: BaseException, warn: bool = True) -> dict[str, Any]:
        """The whole file unreadable: {} (and reported when ``warn``)."""
        if warn:
            self._report(exc, stacklevel=5)
        self._file = {}
        return self._file

    def _read(self, warn: bool = True) -> dict[str, Any]:
        """The file's entries as JSON (not decoded); {} when there is no file or it is damaged."""
        from nps_id._paths import not_a_regular_file

        if not self.path.exists():
            return {}
        try:
            special = not_a_regular_file(self.path)  # a FIFO would block the search forever
            if special:
                raise ValueError(special)
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"a JSON {type(data).__name__}, not an object")
            return data
        # RecursionError: valid JSON nested deeper than the parser's stack
        except (OSError, ValueError, TypeError, AttributeError, RecursionError) as exc:
            return self._damaged(exc, warn)
        except MemoryError:  # a file grown (or written) past the memory the search has: an 84 MB one at 1.2 GB
            return self._damaged(MemoryError(f"{self.path.stat().st_size:,} bytes, too large to read"), warn)

    def _checked_file(self) -> dict[str, Any]:
        """The file's entries as JSON that decode (what :meth:`save` merges: a damaged value no
        search asked is found, reported and dropped here)."""
        checked = {}
        for key, value in self._read().items():
            try:
                self._decode_value(key, value)
            except (ValueError, TypeError, AttributeError) as exc:
                self._report(exc)
                continue
            checked[key] = value
        return checked

    def save(self) -> None:
        if not self._added:
            return
        from nps_id._atomic import atomic_output
        from nps_id._paths import not_a_regular_file, warn_unwritten_cache
        from nps_id.errors import InputError

        try:
            # atomic_output writes a FIFO in place (a stream output): here that would wait forever
            special = self.path.exists() and not_a_regular_file(self.path)
            if special:
                raise InputError(special)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(self.path):
                # What other processes wrote since this one read the file (`batch` workers) is kept:
                # each replaces the file whole, so without the merge the last one would drop the
                # others', and without the lock two saves at once would each merge before the other wrote.
                merged = {**self._checked_file(), **{key: self._encode_value(v) for key, v in self._decoded.items()}}
                with atomic_output(self.path) as tmp:
                    Path(tmp).write_text(json.dumps(merged), encoding="utf-8")
            self._file, self._added = merged, False
            for kind in (None, *self.former_kinds):
                _remove_stale(self.path, kind)
        except (OSError, InputError) as exc:
            warn_unwritten_cache(self.label, self.path.parent, exc, "its values are made again next time",
                                 stacklevel=2)


#: A cache file of another key (older code, another RDKit) not written for this many days is removed
#: when a file of its kind beside it is saved: each release that changes the code a key covers left
#: its files (0.5-7 MB each) and their locks in the cache folder for good (attack38). Days, not at
#: once: two installed versions of nps-id may share one cache folder, each using its own file.
STALE_DAYS = 30


def _remove_stale(path: Path, kind: str | None = None) -> None:
    """Remove the files of ``path``'s kind (``facts-*.json`` beside ``facts-KEY.json``), or of ``kind``
    (a former name of that kind) beside it, and their locks, not written for :data:`STALE_DAYS` days."""
    kind = kind or path.name.rsplit("-", 1)[0]
    before = time.time() - STALE_DAYS * 86400
    with contextlib.suppress(OSError):
        for other in path.parent.glob(f"{kind}-*.json"):
            with contextlib.suppress(OSError):
                if other != path and other.stat().st_mtime < before:
                    other.unlink()
                    other.with_name(f".{other.name}.lock").unlink(missing_ok=True)


#: How long a save waits for another process's lock on its cache file before it gives the save up
#: (warned; the values are made again by the next search): a save holds the lock for the read-merge-write
#: of one file (under a second at 30,000 values), so only a stopped or hung holder keeps it this long --
#: without a limit, a `match` or `search` waited for it forever before writing its report (attack38).
LOCK_WAIT_S = 60.0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``.NAME.lock`` beside ``path`` while the block runs. No lock where
    none can be had -- a read-only folder (the write that follows fails with its own warning), a lock
    path that is a folder or a symbolic link (never followed: it would create a file elsewhere), a file
    system without ``flock`` (NFS: ENOLCK) -- and the block runs unlocked, as saves did before stop 38;
    OSError when another process holds the lock past :data:`LOCK_WAIT_S`."""
    try:
        # read-only: flock needs no write access, and another user's lock file (0644 in a shared
        # cache folder) is then locked too, not skipped; non-blocking: a FIFO opened read-only
        # would wait for a writer forever (attack38)
        flags = os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(path.with_name(f".{path.name}.lock"), flags, 0o666)
    except OSError:
        yield
        return
    try:
        _lock(fd)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _lock(fd: int) -> None:
    """Take ``fd``'s exclusive flock, waiting at most :data:`LOCK_WAIT_S` (then TimeoutError, an OSError);
    none where the file system cannot lock."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"another process has held its lock for {LOCK_WAIT_S:.0f} s") from None
            time.sleep(0.05)
        except OSError:  # ENOLCK, EINVAL: no lock to wait for
            return

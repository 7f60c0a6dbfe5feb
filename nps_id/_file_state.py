"""Whether an input file changed while nps-id read it.

A file still being copied in, cut short or rewritten while a command reads it reads as a shorter or
mixed file without any error (attack50: a query file cut short mid-run gave exit 0 and a third of its
rows). The commands take a file's state before they read it and compare it before they write what
they made of it.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable

from nps_id._atomic import boot_id as _boot_id, host_name
from nps_id.errors import InputError

FileState = tuple[int, int, int, int, int]


def file_state(path: str | Path) -> FileState | None:
    """A regular file's size, device, inode, modification and change times, as
    :meth:`nps_id.library.store.Library.identity` reads a library (a file renamed over the path, or
    copied in with its old modification time kept, changes the inode or the change time); None for a
    folder (an Agilent .D run), a pipe, a device, /dev/stdin: they are read once as they come."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_size, info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns


def this_machine() -> str:
    """This machine as a file state's place (``elsewhere`` of :func:`require_unchanged`): its host name and, on
    Linux, this boot's id. Cloned machines keep one host name: by it alone, Dask workers on two VMs both called
    "ubuntu" compared a network share's device numbers and inodes, and every unchanged run read as changed
    (attack51, reasoned from the code); a container shares its host's kernel, so the boot id, and its device
    numbers and inodes."""
    return f"{host_name()} {_boot_id()}".strip()  # no boot id outside Linux: the host name alone


def require_unchanged(path: str | Path, as_read: FileState | None, consequence: str, advice: str, *,
                      elsewhere: bool = False, same_bytes: Callable[[], bool] | None = None) -> None:
    """Raise :class:`InputError` (exit 3) when ``path`` is no longer the file whose state was
    ``as_read``: gone, replaced by what is not a file, or changed (size, inode or times).
    ``consequence`` says what the command did not write ("nothing written"), ``advice`` what to do.
    ``elsewhere``: ``as_read`` was taken on another machine (a Dask worker's shared folder), where the
    device number, and on some network file systems the inode and change time, differ for the same
    file: only its size and modification time are compared. ``same_bytes``: when only the change time
    moved, whether the file still holds the bytes the caller hashed before it read them (``batch``,
    hours between hashing and a late run's check: a ``chmod`` or a hard link made meanwhile failed the
    run, attack51); a rewrite in place of those same bytes, its time put back, then passes unseen."""
    if as_read is None:
        return
    try:
        now = file_state(path)
    except OSError as exc:
        raise InputError(f"{path}: gone while it was read ({exc.strerror}); {consequence}") from None
    if now is None:
        raise InputError(f"{path}: replaced by what is not a file while it was read; {consequence}")
    if (now[0], now[3]) != (as_read[0], as_read[3]) if elsewhere else now != as_read:
        if not elsewhere and now[:4] == as_read[:4] and same_bytes is not None and _holds(same_bytes):
            return
        raise InputError(f"{path}: changed while it was read ({as_read[0]:,} -> {now[0]:,} bytes"
                         f"{_how_changed(as_read, now) if now[0] == as_read[0] else ''}); {consequence}: {advice}")


def _how_changed(as_read: FileState, now: FileState) -> str:
    """What changed of a file whose size did not. Only the change time: rewritten in place with its
    modification time put back (``cp -p``), or only its permissions, owner, links or attributes
    changed (``chmod``, a hard link made to it): the state cannot tell them apart and counts it as a
    change (attack51: it said "replaced or modified" of a file only given a hard link)."""
    if now[:4] == as_read[:4]:
        return (", its change time only: rewritten keeping its modification time, or its permissions, "
                "links or attributes changed")
    return ", replaced" if now[1:3] != as_read[1:3] else ", modified"


def _holds(same_bytes: Callable[[], bool]) -> bool:
    """``same_bytes()``; False when the file cannot be read again (it is then said changed)."""
    try:
        return same_bytes()
    except OSError:
        return False

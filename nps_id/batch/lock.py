"""One batch at a time in an output folder: an exclusive ``flock`` on ``OUT_DIR/.nps-id-batch.lock``.

Two ``nps-id batch`` processes writing one OUT_DIR at once each read the manifest before the other wrote
it, so both did every run, wrote the same outputs over each other, and the last manifest written won
(stop 46). The second now stops at once with one line naming the first's process id.

Why ``flock``: the kernel releases it when its holder ends however it ends (SIGKILL, a crash, a power
cut: the file's lock goes with the machine), so no stale lock of a dead batch ever blocks the next one,
and no pid has to be checked for being alive. The file stays in OUT_DIR (hidden: no batch takes it as a
run): removing it on exit would let a process that opened it just before lock a file no longer in the
folder while a third locks a new one.

Entry point: :func:`out_dir_lock`.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import stat
from pathlib import Path
from typing import Iterator

from nps_id.errors import InputError

LOCK_NAME = ".nps-id-batch.lock"


@contextlib.contextmanager
def out_dir_lock(out_dir: Path) -> Iterator[None]:
    """Hold the batch lock of ``out_dir`` (made when missing) while the block runs; :class:`InputError`
    (exit 3) when another process holds it. On a file system that cannot lock (an NFS mount without a
    lock daemon: ENOLCK) the batch runs unlocked, as before stop 46."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = _open(out_dir / LOCK_NAME)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW's refusal reads "Too many levels of symbolic links"
            raise InputError(f"{out_dir}: cannot take the output folder's batch lock {LOCK_NAME}: it is a "
                             "symbolic link (never followed); remove it") from None
        raise InputError(f"{out_dir}: cannot take the output folder's batch lock {LOCK_NAME} "
                         f"({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{out_dir / LOCK_NAME}: not a regular file (the batch lock); remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{out_dir} is in use by another nps-id batch (pid {_holder(fd)}); wait for it "
                             "to end, or choose another -o") from None
        except OSError:  # ENOLCK, EINVAL: no lock to take here
            pass
        else:
            with contextlib.suppress(OSError):  # only for the message of a batch that finds it held
                os.ftruncate(fd, 0)
                # with the host: on a folder shared by machines (NFS, --scheduler) a pid alone names
                # another process on the machine of the batch that reads it
                os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _open(path: Path) -> int:
    """The lock file, opened for writing (its holder's pid), or only for reading when this user may not
    write it: a lab's shared output folder made by a colleague's batch (flock needs no write access;
    the pid then says the last batch that could write it)."""
    # O_NOFOLLOW: a symbolic link of that name would have us write a pid into a file elsewhere;
    # O_NONBLOCK: a FIFO of that name would wait for a writer forever (refused by the caller)
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        # 0o666: as writable as the batch's other outputs (atomic_output's files); the umask decides
        # (attack46a: with 0o644 a colleague's batch on a group-writable -o was refused)
        return os.open(path, os.O_RDWR | os.O_CREAT | flags, 0o666)
    except PermissionError as denied:
        try:
            return os.open(path, os.O_RDONLY | flags)
        except FileNotFoundError:  # a folder this user may not write: say that, not "no such file"
            raise denied from None


def _holder(fd: int) -> str:
    """The process id the lock's holder wrote, with its host when that is not this one ("4242 on node7"),
    or "unknown" (it has not written it yet). A file of stop 46's first build holds the pid alone."""
    try:
        words = os.pread(fd, 320, 0).decode("utf-8").split()  # a pid and a host name (<= 255 bytes)
    except (OSError, UnicodeDecodeError):
        return "unknown"
    if not words or not words[0].isdigit():
        return "unknown"
    if len(words) == 1 or words[1] == socket.gethostname():
        return words[0]
    return f"{words[0]} on {words[1]}"

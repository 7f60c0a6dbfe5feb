"""Atomic file replacement: write to a temporary file beside the target, then rename.

Entry point: :func:`atomic_output`, the one place every command writes an output file through.
A process killed half-way (even with SIGKILL) leaves the previous target untouched; only a stray
``.tmp-*`` file may remain, never a partial target, and the next write of that target removes it
(:func:`_remove_stale_temporaries`: its name holds the writer's host and process id, and that
process is gone). A full disk (or ``-o /dev/full``) is one
:class:`~nps_id.errors.InputError` line: the previous target intact, the temporary file removed.
"""
from __future__ import annotations

import contextlib
import errno
import glob
import os
import socket
import tempfile
import zlib
from pathlib import Path
from typing import Iterator

from nps_id.errors import InputError

#: Write errors that mean "no room for this output" (a full disk, a quota, a file-size limit).
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


@contextlib.contextmanager
def atomic_output(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success fsync it and rename onto ``target``.

    An output that cannot be created (its folder is a file or read-only, the target is a folder)
    raises :class:`~nps_id.errors.InputError` naming it, so commands stop with one line, not a
    traceback; so does running out of room while writing (``ENOSPC``, ``EDQUOT``, ``EFBIG``, also
    inside the ``with`` block). Other errors raised inside the block are left as they are. A target
    that is a device or a FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is a stream, not a
    file to replace: it is yielded itself and written in place. A target that is a symbolic link
    is written through: the file it points to is replaced and the link stays, as ``open()`` would.
    """
    target = Path(target)
    if target.is_symlink():  # replacing the link itself would cut it from the file it names
        target = Path(os.path.realpath(target))
    if is_stream(target):
        with _no_room_is_input_error(target):
            yield target
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(target)
        fd, tmp_name = tempfile.mkstemp(prefix=f"{_temporary_prefix(target)}{os.getpid()}-",
                                        suffix=suffix, dir=target.parent)
    except OSError as exc:
        reason = "a file is in the way of its folder" if isinstance(exc, FileExistsError) else exc.strerror or exc
        raise InputError(f"{target}: cannot write the output here ({reason})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _no_room_is_input_error(target):
            yield tmp
            # mkstemp creates 0600; give the result the permissions an ordinary open() would.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise InputError(f"{target}: cannot write the output here ({exc.strerror or exc})") from None
        with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _temporary_prefix(target: Path) -> str:
    """``.NAME.tmp-HOST-``: this host's temporaries of ``target`` (HOST a CRC-32 of the host name)."""
    host = zlib.crc32(socket.gethostname().encode("utf-8", "surrogateescape"))
    return f".{target.name}.tmp-{host:08x}-"


def _remove_stale_temporaries(target: Path) -> None:
    """Remove the temporaries of ``target`` left by killed writers on this host.

    A ``library build`` killed with SIGKILL leaves its half-written ``.NAME.tmp-*`` file (tens of
    MB) beside the library; nothing else ever removes it. A temporary whose writer process no longer
    exists is such a leftover. One of another host (a shared folder) or of a live process -- a
    concurrent writer, or a new process that happens to reuse the id -- is kept: its owner may
    still rename it.
    """
    prefix = _temporary_prefix(target)
    for path in target.parent.glob(f"{glob.escape(prefix)}*"):
        pid = path.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _process_exists(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _process_exists(pid: int) -> bool:
    if os.name != "posix":  # signal 0 is a probe only on POSIX (on Windows it is CTRL_C_EVENT)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def is_stream(path: Path) -> bool:
    """True for an existing device or FIFO: written in place, never replaced or locked."""
    return path.exists() and not path.is_file() and not path.is_dir()


@contextlib.contextmanager
def _no_room_is_input_error(target: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            raise
        raise InputError(f"{target}: cannot write the output here ({exc.strerror}); "
                         "the previous file, if any, is unchanged") from None

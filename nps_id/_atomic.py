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
import os
import re
import stat
import sys
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
    made: list[Path] = []  # the temporary, named before it exists: see _new_temporary
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            prefix = _temporary_prefix(target, suffix)
            _remove_stale_temporaries(target, prefix, suffix)
            _new_temporary(target.parent, prefix, suffix, made)
        except OSError as exc:
            reason = "a file is in the way of its folder" if isinstance(exc, FileExistsError) else exc.strerror or exc
            raise InputError(f"{target}: cannot write the output here ({reason})") from None
        tmp = made[0]
        with _no_room_is_input_error(target):
            yield tmp
        try:
            # the temporary is created 0600; give the result the permissions an ordinary open() would.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            with open(tmp, "rb+") as fh, _no_room_is_input_error(target):
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:  # e.g. the temporary removed meanwhile by another process or a user
            raise InputError(f"{target}: cannot write the output here ({exc.strerror or exc}); "
                             "the previous file, if any, is unchanged") from None
        with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        for path in made:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _new_temporary(folder: Path, prefix: str, suffix: str, made: list[Path]) -> None:
    """Create an empty file ``{prefix}{pid}-{8 random hex}{suffix}`` in ``folder`` (mode 0600, exclusively, as
    ``tempfile.mkstemp`` does), its path appended to ``made`` *before* it exists. By hand, not mkstemp: mkstemp
    names the file only once it exists, and a SIGTERM or Ctrl-C in between (its handler raises at the next
    bytecode) left the temporary behind, unnamed -- CI saw it under load (stop 44). A signal mask cannot close
    that window: it holds a signal from one thread, and the kernel gives it to another."""
    for _ in range(100):
        path = folder / f"{prefix}{os.getpid()}-{os.urandom(4).hex()}{suffix}"
        made.append(path)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600))
            return
        except FileExistsError:
            made.pop()
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


#: The longest file name (bytes) most file systems take (ext4, XFS, btrfs, APFS, NTFS's 255 units);
#: a folder's own limit where it reports a shorter one.
_NAME_MAX = 255
#: What a temporary's name adds to the prefix: the writer's id (pid_max is at most 2**22: 7 digits; 10
#: allowed), a dash, 8 random characters.
_AFTER_PREFIX = 10 + 1 + 8
#: The random part: :func:`_new_temporary`'s 8 hex digits, or mkstemp's 8 characters (``tempfile._RandomNameSequence``'s)
#: of the temporaries versions before stop 44 left.
_RANDOM = "[a-z0-9_]{8}"


def _temporary_prefix(target: Path, suffix: str = "") -> str:
    """``.NAME.tmp-HOST-``: this host's temporaries of ``target``. HOST: a CRC-32 of the host name and
    the process-id space (:func:`_process_space`), so a writer whose process ids mean other processes
    -- in a container that shares the host name (``--network host``, ``unshare -p``), on another
    machine of the same name (two "localhost"s sharing a folder) -- is another host, its ids never
    probed here. A NAME too long for the temporary's name to fit the folder's longest name
    (:func:`_name_max`) is cut and ended by ``~`` and its CRC-32 (a name that fitted before stop 41's
    longer prefix still writes)."""
    host = zlib.crc32(f"{host_name()}\0{_process_space()}".encode("utf-8", "surrogateescape"))
    tail = f".tmp-{host:08x}-"
    room = _name_max(target.parent) - 1 - len(os.fsencode(tail + suffix)) - _AFTER_PREFIX
    name = target.name
    if len(os.fsencode(name)) > room:
        mark = f"~{zlib.crc32(os.fsencode(name)):08x}"
        while name and len(os.fsencode(name + mark)) > room:
            name = name[:-1]
        name += mark
    return f".{name}{tail}"


def host_name() -> str:
    """This machine's name: on POSIX uname's node name, what ``socket.gethostname()`` returns there (both
    read it from the kernel) without importing socket (~2.5 ms of every search with ``-o``); socket's
    elsewhere (no ``os.uname`` on Windows)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) ``folder``'s file system takes (eCryptfs: 143), else :data:`_NAME_MAX`."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no pathconf on Windows
        longest = os.pathconf(folder, "PC_NAME_MAX")
        if longest > 0:  # -1: no limit
            return min(longest, _NAME_MAX)
    return _NAME_MAX


def _process_space() -> str:
    """Where this process's id means this process, on Linux: the running kernel's boot id and the PID
    namespace (``pid:[4026531836]``, the same inode on every machine's first namespace); "" elsewhere
    or without ``/proc``. A writer killed before a reboot is of another boot: its temporary is kept."""
    boot = boot_id()
    with contextlib.suppress(OSError):
        if boot:
            return f"{boot} {os.readlink('/proc/self/ns/pid')}"
    return ""


def boot_id() -> str:
    """Linux's id of the running kernel's boot; "" elsewhere or without ``/proc``."""
    with contextlib.suppress(OSError):
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    return ""


def _remove_stale_temporaries(target: Path, prefix: str, suffix: str = "") -> None:
    """Remove the temporaries of ``target`` (named ``prefix``, :func:`_temporary_prefix`) left by killed
    writers on this host.

    A ``library build`` killed with SIGKILL leaves its half-written ``.NAME.tmp-*`` file (tens of
    MB) beside the library; nothing else ever removes it. A temporary whose writer process no longer
    exists is such a leftover. One of another host (a shared folder) or of a live process -- a
    concurrent writer, or a new process that happens to reuse the id -- is kept: its owner may
    still rename it. Only a regular file named exactly as :func:`atomic_output` names them is a
    temporary (not a symbolic link, not another target's ``.NAME.tmp-HOST-1-x.tmp-...``); on Linux
    without ``/proc`` (no namespace to tell this host's writers apart) nothing is removed.
    """
    if sys.platform.startswith("linux") and not _process_space():
        return
    name = re.compile(f"{re.escape(prefix)}([0-9]+)-{_RANDOM}{re.escape(suffix)}")
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        # the prefix first (a plain comparison): a batch's folder of thousands of outputs is read at
        # every write (20,000 files: 34 -> 22 ms a write with a regex per name)
        for entry in entries:
            found = name.fullmatch(entry.name) if entry.name.startswith(prefix) else None
            if found and _is_regular(entry) and not _process_exists(int(found[1])):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _is_regular(entry: os.DirEntry) -> bool:
    with contextlib.suppress(OSError):
        return stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode)
    return False


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

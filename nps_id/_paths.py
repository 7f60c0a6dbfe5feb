"""Paths: per-user folders, file names as they can be printed, and what counts as a readable file.

Entry points: :func:`user_cache_dir` (downloads, regression libraries), :func:`cache_dir`
(library verifications, isomer enumerations), :func:`library_cache_dir` (what is derived from one
library: copies, indexes, facts), :func:`user_data_dir` (the default reference
library), :func:`printable` and :data:`PRINTABLE` (text with file names that are not UTF-8, made
safe to print or write), :func:`not_a_regular_file` (why a path must not be opened as an input: a
FIFO, a device, a socket), :func:`warn_unwritten_cache` (a cache that cannot be written, said once;
:func:`unwritten_caches_said` and :func:`count_as_said` carry that to a spawned worker).
"""
from __future__ import annotations

import codecs
import os
import stat
import warnings
from pathlib import Path

#: The codec error handler that writes what a UTF-8 codec cannot: a byte of a non-UTF-8 file name
#: (decoded by Python as a lone surrogate, "surrogateescape") as ``\xff``, anything else as
#: ``backslashreplace`` would. Used for the console streams and for text outputs (CSV, HTML).
PRINTABLE = "nps-id-printable"


def _escape_unencodable(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = []
    for char in exc.object[exc.start:exc.end]:
        code = ord(char)
        text.append(f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF
                    else char.encode("ascii", "backslashreplace").decode("ascii"))
    return "".join(text), exc.end


codecs.register_error(PRINTABLE, _escape_unencodable)


def printable(text: str) -> str:
    """``text`` with every character UTF-8 cannot encode written as an escape
    (``bad\\xff\\xfename.mzML`` for the file name ``b"bad\\xff\\xfename.mzML"``)."""
    return text.encode("utf-8", PRINTABLE).decode("utf-8")


def not_a_regular_file(path: str | Path) -> str | None:
    """Why ``path`` must not be read as an input (None when it is a regular file or a folder).

    A FIFO blocks the reader forever, ``/dev/zero`` never ends, a socket cannot be read: a
    command names them instead of hanging. Symlinks are followed (a link to ``/dev/zero`` is
    refused too).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "special")
    return f"not a regular file ({kind})"


def is_inside(path: str | Path, folder: str | Path) -> bool:
    """True when ``path``, with every symlink resolved, is ``folder`` or lies below it."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nps-id``, else ``~/.cache/nps-id``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nps-id"


def cache_dir() -> Path:
    """``$NPS_ID_CACHE``, else :func:`user_cache_dir`: where derived data (search indexes, which
    library files were verified) is kept."""
    if os.environ.get("NPS_ID_CACHE"):
        return Path(os.environ["NPS_ID_CACHE"])
    return user_cache_dir()


def library_cache_dir(sha256: str) -> Path:
    """``cache_dir()/copies/<sha256>``: where everything derived from the library content
    ``sha256`` is kept -- its uncompressed copies, compound identity, search index, row facts and
    MS/MS pairs -- so that :mod:`nps_id.library.copies` removes them together."""
    return cache_dir() / "copies" / sha256


#: Cache folders already said unwritable in this process: every cache below :func:`cache_dir` counts
#: as that one folder. A `match` with an unwritable cache folder said it five times a run (the
#: verification record, the library copies, the compound identity, the row facts, the isomers) and
#: once more after every run's save until stop 40.
_UNWRITTEN: set[tuple[Path, bool]] = set()


def warn_unwritten_cache(what: str, folder: Path, exc: BaseException, consequence: str, *,
                         stacklevel: int = 2) -> None:
    """Warn that the cache ``what`` in ``folder`` was not written (``exc``) and ``consequence`` --
    once per process for all the caches under :func:`cache_dir` (or once for ``folder``, outside it);
    a lock another process held too long (TimeoutError) once per ``folder`` besides."""
    root = Path(os.path.abspath(cache_dir()))
    # by the path's words, not resolved: a cache folder that is a symlink loop cannot be resolved
    # (RuntimeError), and every cache path is built from cache_dir() anyway
    place = root if Path(os.path.abspath(folder)).is_relative_to(root) else Path(folder)
    # another process holding a cache's lock (TimeoutError) is not the folder's fault: said per cache
    held = isinstance(exc, TimeoutError)
    key = (Path(folder) if held else place, held)
    if key in _UNWRITTEN:
        return
    _UNWRITTEN.add(key)
    more = (f"; other caches under {root} not written are not said again in this run"
            if key == (root, False) else "")
    warnings.warn(f"{what} {folder} not written ({exc}); {consequence}{more}", stacklevel=stacklevel + 1)


def unwritten_caches_said() -> frozenset[tuple[Path, bool]]:
    """The cache folders :func:`warn_unwritten_cache` said in this process (each with whether it was a
    lock another process held): a spawned worker is given
    them (:func:`count_as_said`), its parent said them."""
    return frozenset(_UNWRITTEN)


def count_as_said(folders: frozenset[tuple[Path, bool]]) -> None:
    """Count ``folders`` (with whether a held lock was said) as said in this process
    (:func:`unwritten_caches_said` of its parent)."""
    _UNWRITTEN.update(folders)


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/nps-id``, else ``~/.local/share/nps-id``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "nps-id"

"""The one SHA-256 of an input: a file, or a folder such as an Agilent ``.D`` run.

Entry points: :func:`sha256_path` and its result :class:`PathDigest` (hex digest, byte size).
Results (``run.sha256``), batch manifests, library provenance and the regression cache all quote
this digest, so one input has one SHA-256 wherever nps-id records it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

_BLOCK = 1 << 20


class PathDigest(NamedTuple):
    """SHA-256 (64 lower-case hex digits) and size in bytes of a file or folder."""

    sha256: str
    size_bytes: int


def sha256_path(path: str | Path) -> PathDigest:
    """SHA-256 and size of a file, or of a folder's files with their relative paths.

    For a file: the SHA-256 of its bytes, as ``sha256sum`` prints it. For a folder (an Agilent
    ``.D`` run): every regular file below it, at any depth, sorted by relative path compared
    component by component as strings (``AcqData/MSScan.bin`` < ``GC.ini`` < ``acqmeth.txt``);
    each file adds its relative path with ``/`` separators in UTF-8, one NUL byte, then its
    bytes. The paths are hashed so that a renamed or moved file changes the digest. The size
    counts file bytes only.

    Parameters
    ----------
    path
        A file, or a folder.

    Returns
    -------
    PathDigest
        ``(sha256, size_bytes)``.

    Raises
    ------
    OSError
        The file (or a file in the folder) cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "abc").write_bytes(b"abc")
    ...     sha256_path(Path(tmp) / "abc").sha256[:16], sha256_path(tmp) == sha256_path(tmp)
    ('ba7816bf8f01cfea', True)
    """
    path = Path(path)
    digest = hashlib.sha256()
    size = 0
    if path.is_dir():
        files = sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).parts)
    else:
        files = [path]
    for file in files:
        if file is not path:
            relative = file.relative_to(path).as_posix()
            digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        with open(file, "rb") as fh:
            while block := fh.read(_BLOCK):
                digest.update(block)
                size += len(block)
    return PathDigest(digest.hexdigest(), size)

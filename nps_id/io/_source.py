"""Shared plumbing for readers: opening files (``.gz`` transparent) and the read report.

Entry points: :func:`open_binary`, :func:`head_bytes`, :class:`ReadReport`.
"""
from __future__ import annotations

import gzip
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from nps_id.errors import InputError, ReaderError

GZIP_MAGIC = b"\x1f\x8b"


def open_binary(path: str | Path) -> IO[bytes]:
    """Open ``path`` for binary reading, decompressing gzip transparently (by magic bytes)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def open_text(path: str | Path, encoding: str = "utf-8") -> IO[str]:
    """Text stream of ``path``; undecodable bytes become U+FFFD rather than aborting a read."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors="replace", newline=None)


def head_bytes(path: str | Path, size: int = 4096) -> bytes:
    """The first ``size`` bytes of the (decompressed) file, for format sniffing."""
    try:
        with open_binary(path) as fh:
            return fh.read(size)
    except (OSError, EOFError) as exc:
        raise ReaderError(path, f"cannot read the file ({exc})") from None


@dataclass
class ReadReport:
    """What a reader kept, skipped and why.

    ``skip(reason)`` counts records left out on purpose (empty scans, chromatograms, a level
    filter). ``bad(...)`` handles a malformed record: strict mode raises :class:`ReaderError`;
    lenient mode records it in :attr:`quarantine` and lets the reader go on.
    """

    path: str
    format: str = ""
    lenient: bool = False
    read: int = 0
    skipped: Counter = field(default_factory=Counter)
    quarantine: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    def bad(
        self,
        message: str,
        *,
        record: int | str | None = None,
        line: int | None = None,
        text: str | None = None,
    ) -> None:
        error = ReaderError(self.path, message, record=record, line=line, text=text)
        if not self.lenient:
            raise error
        self.quarantine.append(
            {"file": self.path, "record": record, "line": line, "error": message, "text": text}
        )
        self.skipped["malformed record"] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "format": self.format,
            "read": self.read,
            "skipped": dict(self.skipped),
            "quarantine": list(self.quarantine),
        }

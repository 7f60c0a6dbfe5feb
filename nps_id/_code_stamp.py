"""What made a result: a stamp of nps-id's own code and the data files it ships.

Results depend on more than ``nps_id.__version__``, which changes only on a release: a checkout
updated in place, or a fixed build installed under the same version, changes the code and the
shipped data (``nps_id/match/*.npz``, ``isomer_rates.json``, the EWA taxonomy, ...) that make the
verdicts. Anything that keeps results across runs (the batch manifest, the library facts caches)
keys them by the SHA-256 of those files, computed here one way.

Entry points: :func:`file_digests` (the SHA-256 of each of some files), :func:`package_files` (the
files of the installed package), :func:`code_stamp` (one SHA-256 of them all: ~3 MB in ~140
files).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

#: The installed package's folder (this module lives at its top).
PACKAGE_DIR = Path(__file__).resolve().parent


def file_digests(files: Iterable[Path]) -> list[str]:
    """The SHA-256 (hex) of each file's bytes, in order."""
    return [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files]


def package_files(root: Path = PACKAGE_DIR) -> list[Path]:
    """Every file below ``root`` that can change a result: source and shipped data, sorted by
    relative path. Left out: ``__pycache__`` (bytecode and numba's compiled kernels, written by
    running the code, not part of it) and hidden files (an editor's swap file)."""
    return sorted(
        (p for p in root.rglob("*") if p.is_file() and not any(
            part == "__pycache__" or part.startswith(".") for part in p.relative_to(root).parts)),
        key=lambda p: p.relative_to(root).parts)


def code_stamp(root: Path = PACKAGE_DIR) -> str:
    """SHA-256 (hex) of the files of :func:`package_files` with their relative paths: any edit,
    added or removed module or data file gives another stamp. Not cached: a caller computes it
    once per batch, and a long-lived process must see an update."""
    files = package_files(root)
    parts = [[f.relative_to(root).as_posix(), digest] for f, digest in zip(files, file_digests(files))]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

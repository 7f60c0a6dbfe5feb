"""What made a result: a stamp of nps-id's own code and the data files it ships, and the versions of
the packages it computes with.

Results depend on more than ``nps_id.__version__``, which changes only on a release: a checkout
updated in place, or a fixed build installed under the same version, changes the code and the
shipped data (``nps_id/match/*.npz``, ``isomer_rates.json``, the EWA taxonomy, ...) that make the
verdicts. Anything that keeps results across runs (the batch manifest, the library facts caches)
keys them by the SHA-256 of those files, computed here one way.

The packages nps-id computes with change results too (an RDKit release canonicalises or perceives a
structure another way, a numpy or numba release sums in another order, a reader library parses a file
another way), and upgrading them changes none of nps-id's files: :func:`dependency_versions` names their
versions, read from their installed metadata without importing them (RDKit's import alone is ~0.3 s).

Entry points: :func:`file_digests` (the SHA-256 of each of some files), :func:`package_files` (the
files of the installed package), :func:`code_stamp` (one SHA-256 of them all: ~3 MB in ~140
files), :func:`dependency_versions` (the version of each of :data:`DEPENDENCIES`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

from nps_id._installed import package_version

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


#: The installed packages (distribution names) whose code makes what a batch run's results hold: the
#: arrays and sums (numpy, scipy, numba), structures and groups (RDKit), the library file (h5py), the
#: readers (pyteomics, lxml; rainbow-api for Agilent .D folders). Not the report's drawing (matplotlib:
#: it changes a report's picture, not what it says) nor the command line's (click).
DEPENDENCIES = ("numpy", "scipy", "numba", "rdkit", "h5py", "pyteomics", "lxml", "rainbow-api")

#: The version recorded for a package that is not installed (rainbow-api is needed only for .D folders).
NOT_INSTALLED = "not installed"
#: The version recorded for a package installed with metadata that name none (a dist-info without a
#: ``Version`` field: importlib.metadata says None) or that cannot be read (a header not in UTF-8).
UNREADABLE = "version unreadable"


def dependency_versions(names: Iterable[str] = DEPENDENCIES) -> dict[str, str]:
    """The installed version of each package of ``names`` (:data:`NOT_INSTALLED` for one that is not,
    :data:`UNREADABLE` for one whose metadata say none), from its metadata: ~1 ms each (pyteomics, a
    namespace package, through importlib.metadata, which `nps-id batch` imports anyway), none imported.
    Always a string: the manifest refuses any other value as damaged (attack46a: a None recorded there
    stopped every later batch on that output folder)."""
    versions = {}
    for name in names:
        try:
            version = package_version(name)
        except ImportError:  # importlib.metadata's PackageNotFoundError
            version = NOT_INSTALLED
        # UnicodeDecodeError: a METADATA header in Latin-1; KeyError: no Version field, as the importlib_metadata
        # backport says it once another package has imported it (the standard library's says None) (attack46a)
        except (OSError, ValueError, KeyError):
            version = UNREADABLE
        versions[name] = version if isinstance(version, str) and version else UNREADABLE
    return versions

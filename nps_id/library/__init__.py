"""The nps-id reference library: an HDF5 file labs can build, trust, inspect and ship.

Entry points
------------
- :func:`open_verified` (:mod:`nps_id.library.validate`) -- open a library a command relies on:
  checked completely once per file identity, refused (exit code 4) when damaged or modified.
- :class:`Library` (:mod:`nps_id.library.store`) -- open and read a library (no checks).
- :func:`build_library` (:mod:`nps_id.library.build`) -- build one from spectrum files, with QA.
- :func:`validate_library` (:mod:`nps_id.library.validate`) -- checksums, invariants, hash.
- :func:`export_library` (:mod:`nps_id.library.export`) -- write a library out as MSP/MGF.
- :func:`write_library` (:mod:`nps_id.library.writer`) -- the low-level writer.

The file layout is specified in ``docs/library-format.md``.
"""
from __future__ import annotations

import importlib
from typing import Any

from nps_id.library.store import FORMAT_VERSION, Library
from nps_id.library.validate import open_verified, validate_library

# Imported when first used: a search opens a library and never builds one (~30 ms of start-up).
_ON_USE = {"build_library": "build", "BuildSummary": "build", "export_library": "export",
           "write_library": "writer"}


def __getattr__(name: str) -> Any:
    if name in _ON_USE:
        return getattr(importlib.import_module(f"nps_id.library.{_ON_USE[name]}"), name)
    raise AttributeError(f"module 'nps_id.library' has no attribute {name!r}")

__all__ = [
    "Library",
    "build_library",
    "BuildSummary",
    "validate_library",
    "open_verified",
    "export_library",
    "write_library",
    "FORMAT_VERSION",
]

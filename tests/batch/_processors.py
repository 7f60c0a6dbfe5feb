"""Picklable stand-in processors for testing the batch machinery on real files.

They live in a module of their own (not in a test file) so that spawned worker processes can
import them by name.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import nps_id.io


def count_spectra(path: Path, params: Mapping[str, Any], digests: Mapping[str, str]) -> dict:
    """Read every spectrum of the run (so unreadable files fail as they would in ``match``)."""
    n = sum(1 for _ in nps_id.io.read(path))
    return {"run": {"file": str(path)}, "parameters": dict(params), "n_spectra": n, "findings": []}


def describe(path: Path, params: Mapping[str, Any], digests: Mapping[str, str]) -> dict:
    """Cheap but real: the run's size and its first spectrum's retention time and peak count."""
    first = next(iter(nps_id.io.read(path)))
    return {"run": {"file": path.name, "bytes": path.stat().st_size}, "parameters": dict(params),
            "first_rt": first.metadata.get("rt_seconds"), "first_peaks": len(first.mz), "findings": []}


def crash_on(path: Path, params: Mapping[str, Any], digests: Mapping[str, str]) -> dict:
    """Kill the worker process itself (as an out-of-memory kill would) for one named file."""
    if path.name == params["crash_name"]:
        os._exit(9)
    return describe(path, params, digests)


def sleep_on(path: Path, params: Mapping[str, Any], digests: Mapping[str, str]) -> dict:
    """Hang (an hour) on the run named ``params["slow_name"]`` (``"*"``: every run), as a reader
    stuck on a pipe would; first leave the worker's pid in ``params["pid_dir"]`` when given."""
    import time

    if params.get("pid_dir"):
        (Path(params["pid_dir"]) / str(os.getpid())).touch()
    if params["slow_name"] in ("*", path.name):
        time.sleep(3600)
    return describe(path, params, digests)


def grow_once(path: Path, params: Mapping[str, Any], digests: Mapping[str, str]) -> dict:
    """Read the run, then, while ``params["marker"]`` exists, append to it (the instrument PC still
    writing the file the batch hashed) and remove the marker."""
    results = describe(path, params, digests)
    marker = Path(params["marker"])
    if path.name == params["grow_name"] and marker.exists():
        with open(path, "ab") as fh:
            fh.write(b"\n")
        marker.unlink()
    return results

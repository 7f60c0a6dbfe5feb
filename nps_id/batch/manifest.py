"""The resumable manifest of a batch: what was done, from which inputs, with which settings.

Entry points: :class:`Manifest` (``load``, ``redo_reason``, ``record``), :class:`Entry`,
:func:`file_sha256`, :func:`params_hash`.

``OUT_DIR/manifest.json`` holds one entry per run key::

    {"format": "nps-id-batch-manifest", "version": 3,
     "entries": {"220223030.mzML": {"input": "...", "sha256": "...", "params_hash": "...",
                                     "library_sha256": "...", "code_stamp": "...",
                                     "dependencies": {"numpy": "2.4.6", "rdkit": "2026.9.1", ...},
                                     "status": "done",
                                     "outputs": {"runs/220223030.mzML/220223030.mzML.match.json": "<sha256>"},
                                     "error": null, "seconds": 1.9, "finished": "2026-...Z"}}}

Trust rule: a run is skipped on a re-run only when its entry says ``done``, the input's SHA-256,
the parameter hash (with the nps-id version), the library SHA-256, the code stamp (nps-id's code
and shipped data, :func:`nps_id._code_stamp.code_stamp`) and the versions of the packages it computes
with (:func:`nps_id._code_stamp.dependency_versions`) are unchanged, and every output listed
still exists with the SHA-256 recorded. A version 1 manifest (before stop 45) recorded no code stamp,
a version 2 one (stop 45) no package versions: both are read, and their runs are redone once. A manifest whose entries list outputs outside OUT_DIR is damaged
(:class:`~nps_id.errors.InputError`): a batch never removes or writes a file outside OUT_DIR. Outputs are written (atomically) before their entry, and the manifest
itself is replaced atomically, so a batch killed at any instant leaves either a complete entry
whose outputs exist, or no entry -- never one a re-run would trust wrongly. During a batch the
file is rewritten at most once a second (and at the end, also after Ctrl-C): a run finished in
the last second before a SIGKILL is simply redone. Failed runs are always retried.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from nps_id import __version__
from nps_id._atomic import atomic_output
from nps_id._code_stamp import UNREADABLE
from nps_id._hashing import sha256_path
from nps_id._paths import is_inside
from nps_id.errors import InputError

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "nps-id-batch-manifest"
FORMAT_VERSION = 3
#: Versions this nps-id reads; version 1 entries have no ``code_stamp``, version 2 ones no
#: ``dependencies`` (their runs are redone once).
READ_VERSIONS = (1, 2, 3)
_READ_VERSIONS_SAID = ", ".join(map(str, READ_VERSIONS[:-1])) + f" and {READ_VERSIONS[-1]}"  # "1, 2 and 3"


def _refuse_newer(path: Path, version: object) -> None:
    """A manifest of a later version is a newer nps-id's record, not a damaged file: removing it, as the
    damaged manifest's message advises, would throw away that nps-id's runs (stop 45 attack45)."""
    if type(version) is int and version > FORMAT_VERSION:
        raise InputError(f"{path}: written by a newer nps-id (manifest version {version}; this one reads "
                         f"{_READ_VERSIONS_SAID}); run the batch with that nps-id, or choose "
                         "another -o (the manifest is left as it is)")


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file or ``.D`` folder, as :func:`nps_id._hashing.sha256_path` defines it
    (the digest ``nps-id match`` records under ``run.sha256``)."""
    return sha256_path(path).sha256


def params_hash(params: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``params`` plus the nps-id version (a new release may
    change results, so it counts as a parameter)."""
    canonical = json.dumps({"params": params, "nps_id": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Entry:
    """The manifest record of one run (see the module docstring)."""

    input: str
    sha256: str
    params_hash: str
    library_sha256: str
    status: str  # "done" or "failed"
    code_stamp: str = ""  # nps-id's code and shipped data when the run was done; "" in a version 1 manifest
    #: the packages nps-id computed with (name -> version); {} in a version 1 or 2 manifest
    dependencies: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # path relative to OUT_DIR -> sha256
    error: str | None = None
    seconds: float = 0.0
    finished: str = ""


def _check_outputs(out_dir: Path, key: str, entry: Entry) -> None:
    """A batch only ever removes or replaces files below OUT_DIR: an entry listing an output
    elsewhere (``../x``, an absolute path, a link leading out) makes the manifest damaged."""
    if not isinstance(entry.outputs, dict):
        raise ValueError(f"run {key!r}: 'outputs' is not a table")
    for rel in entry.outputs:
        if not isinstance(rel, str) or Path(rel).is_absolute() or ".." in Path(rel).parts \
                or not is_inside(out_dir / rel, out_dir):
            raise ValueError(f"run {key!r} lists an output outside {out_dir}: {rel!r}")


def _checked_versions(key: str, dependencies: object) -> dict[str, str]:
    """``dependencies`` (name -> version), with the nulls stop 46's first build (28f0674) wrote for a
    package whose metadata said no version read as :data:`~nps_id._code_stamp.UNREADABLE` (what is
    recorded for it now); ValueError for anything else that is no table of versions (an edited manifest)."""
    if isinstance(dependencies, dict) and all(isinstance(k, str) and (v is None or isinstance(v, str))
                                              for k, v in dependencies.items()):
        return {name: UNREADABLE if version is None else version for name, version in dependencies.items()}
    raise ValueError(f"run {key!r}: 'dependencies' is not a table of versions")


def dependency_changes(was: Mapping[str, str], now: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The packages of ``now`` whose version is not the one of ``was`` (name -> (was, now)); a package
    ``was`` does not name (one added to the list by a later nps-id) counts as changed."""
    return {name: (was.get(name, "not recorded"), version)
            for name, version in now.items() if was.get(name) != version}


class Manifest:
    """``OUT_DIR/manifest.json``: load, check, and record runs (only the batch's main process
    writes it)."""

    def __init__(self, out_dir: Path, entries: dict[str, Entry] | None = None, version: int = FORMAT_VERSION) -> None:
        self.out_dir = Path(out_dir)
        self.entries: dict[str, Entry] = entries or {}
        self.version = version  # the file's, as read (what an older manifest's runs are redone for)
        #: :meth:`record` rewrites the file at most this often (seconds); :meth:`save` always does.
        #: Rewriting a manifest of thousands of runs after every run would cost more than the runs;
        #: an entry not yet saved when the batch dies only means that run is redone.
        self.save_interval = 0.0
        self._saved_at = float("-inf")

    @property
    def path(self) -> Path:
        return self.out_dir / MANIFEST_NAME

    @classmethod
    def load(cls, out_dir: str | Path) -> Manifest:
        """The manifest in ``out_dir``, or an empty one when there is none yet."""
        out_dir = Path(out_dir)
        path = out_dir / MANIFEST_NAME
        if not path.exists():
            return cls(out_dir)
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))  # -sig: a BOM from a Windows editor
            if data.get("format") != FORMAT_NAME:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT_NAME!r}")
            _refuse_newer(path, data.get("version"))
            if isinstance(data.get("version"), bool) or data.get("version") not in READ_VERSIONS:  # True == 1
                raise ValueError(f"version {data.get('version')!r}, this nps-id reads "
                                 f"{_READ_VERSIONS_SAID}")
            entries = {key: Entry(**value) for key, value in data["entries"].items()}
            for key, entry in entries.items():
                _check_outputs(out_dir, key, entry)
                if not isinstance(entry.code_stamp, str):  # an edited manifest; the batch quotes it
                    raise ValueError(f"run {key!r}: 'code_stamp' is not a string")
                entry.dependencies = _checked_versions(key, entry.dependencies)  # quoted ("rdkit 2025.3.1 -> ...")
        # RecursionError: valid JSON nested deeper than the parser's stack (an edited manifest)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise InputError(
                f"{path}: not a usable batch manifest ({exc}); remove it (or choose another -o) "
                "to start the batch afresh"
            ) from None
        return cls(out_dir, entries, data["version"])

    def redo_reason(self, key: str, sha256: str, phash: str, library_sha256: str, code_stamp: str,
                    dependencies: Mapping[str, str]) -> str | None:
        """None when ``key`` was done with these inputs, settings, library, nps-id code and package
        versions and its outputs are intact; else why it must be (re)done: "new", "failed", "input",
        "settings", "library", "code" (another code stamp), "no code stamp" (a version 1 entry),
        "dependencies" (another version of a package of ``dependencies``), "no dependency versions"
        (a version 1 or 2 entry) or "outputs". The first that applies, in that order."""
        entry = self.entries.get(key)
        if entry is None:
            return "new"
        if entry.status != "done":
            return "failed"
        for reason, was, now in (("input", entry.sha256, sha256), ("settings", entry.params_hash, phash),
                                 ("library", entry.library_sha256, library_sha256)):
            if was != now:
                return reason
        if entry.code_stamp != code_stamp:
            return "code" if entry.code_stamp else "no code stamp"
        if not entry.dependencies:
            return "no dependency versions"
        if dependency_changes(entry.dependencies, dependencies):
            return "dependencies"
        for rel, digest in entry.outputs.items():
            target = self.out_dir / rel
            if not target.is_file() or file_sha256(target) != digest:
                return "outputs"
        return None

    def record(self, key: str, entry: Entry) -> None:
        """Add or replace ``key``'s entry; rewrite the manifest (atomically) unless it was saved
        less than :attr:`save_interval` seconds ago."""
        if not entry.finished:
            entry.finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.entries[key] = entry
        if time.monotonic() - self._saved_at >= self.save_interval:
            self.save()

    def save(self) -> None:
        """Rewrite ``manifest.json`` atomically (temp file + rename)."""
        self._saved_at = time.monotonic()
        data = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "entries": {key: asdict(entry) for key, entry in sorted(self.entries.items())},
        }
        with atomic_output(self.path) as tmp:
            tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


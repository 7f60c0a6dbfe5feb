"""Find the runs a batch should process below one or more folders.

Entry points: :func:`discover` (folders and files -> :class:`Discovery`), :class:`Run`,
:func:`natural_key` (the sequence order used everywhere in a batch).

Rules
-----
- A file is a run when :func:`nps_id.io.detect_format` recognises it, its format holds
  instrument runs (not a reference-spectrum collection such as MSP or MassBank records) and its
  content says it is one (:func:`nps_id.io.content_mismatch`: a licence text named ``.jdx`` is
  not a JCAMP-DX run, nor a note that quotes ``##TITLE`` a JCAMP-DX file); everything else below
  a folder is listed in :attr:`Discovery.ignored` with the reason. A file of a run's name that is
  empty, zero-filled or cut short in its compression is a damaged run, not another file: it is
  taken, and fails with its reason (the batch exits 1), rather than dropping out of the batch.
- An Agilent ``.D`` folder is one run: it is never descended into.
- Hidden files and folders (``.name``) are ignored, so a batch's own temporary files are too.
- A batch's own outputs (``outputs``: its output folder's ``runs/``, manifest and summaries) are never runs: an
  output folder inside an input folder (``batch IN -o IN/out``) is not searched again by the next batch (stop 45;
  before, every report and results file of it was listed as ignored, a line each). Only those: a run of the
  user's in the output folder is still found (and the batch refuses to write over it).
- Symlinks are followed, but each real folder is searched once (a link back to a folder already
  searched, ``ln -s . loop``, is ignored with its reason): a loop never hangs a batch or repeats a run.
- Only regular files (and ``.D`` folders) are runs: a FIFO, a device (a link to ``/dev/zero``) or a
  socket would block or never end; it is ignored with its reason, also when named explicitly.
- A file named explicitly on the command line is taken whatever its format; it fails later,
  with its reason recorded, if it cannot be processed.
- ``include`` / ``exclude`` are glob patterns (case-insensitive, as on the Windows shares labs
  use) matched against the path relative to the folder given, from the right, so ``*.mzML``
  matches at any depth and ``blanks/*`` matches files in any folder named ``blanks``.
- Runs come back in sequence order: by folder, then by file name with digit runs compared as
  numbers (``run2`` before ``run10``), which is acquisition order for instrument sequences.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

from nps_id._paths import not_a_regular_file
from nps_id.errors import InputError, NpsIdError
from nps_id.io import UNKNOWN_FORMAT, content_mismatch, find_format

# Formats that hold a collection of reference spectra rather than one acquisition.
NOT_RUN_FORMATS = frozenset({"msp", "massbank"})


@dataclass(frozen=True)
class Run:
    """One run of a batch.

    ``key`` is the run's path relative to the folder it was found in (POSIX separators),
    prefixed with that folder's name when several folders are given; it names the run's
    output folder and its manifest entry, so it is unique within a batch.
    """

    path: Path
    key: str
    format: str | None


@dataclass
class Discovery:
    runs: list[Run] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def unknown_format(self) -> int:
        """How many ignored files are of no format nps-id reads."""
        return sum(reason == UNKNOWN_FORMAT for _, reason in self.ignored)


def natural_key(text: str) -> tuple:
    """Sort key comparing digit runs as numbers: ``a2`` < ``a10``."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text))


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    path = PurePosixPath(rel.lower())
    return any(path.match(p.lower()) for p in patterns)


def _classify(path: Path) -> tuple[str | None, str | None]:
    """(format, None) for a run, (None, reason) for anything else."""
    special = not_a_regular_file(path)
    if special:  # checked before find_format opens it: a FIFO would block right there
        return None, special
    try:
        fmt = find_format(path)
    except NpsIdError as exc:
        reason = str(exc)
        return None, reason.removeprefix(f"{path}: ")  # the caller prints the path already
    if fmt is None:  # the batch names the formats it reads once, not for every such file
        return None, UNKNOWN_FORMAT
    if fmt in NOT_RUN_FORMATS:
        return None, f"{fmt} reference spectra, not an instrument run"
    try:
        mismatch = content_mismatch(path, fmt)
    except NpsIdError:  # its head cannot be read (a .gz cut short): a damaged run, failed with its reason
        mismatch = None
    if mismatch:
        return None, mismatch
    return fmt, None


def _walk(root: Path, ignored: list[tuple[Path, str]], outputs: "_Outputs") -> Iterable[Path]:
    """Candidate paths below ``root``: files and ``.D`` folders, never inside a ``.D``; each real
    folder once (symlink loops are recorded in ``ignored``); none of ``outputs``."""
    searched: dict[tuple[int, int], Path] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        st = here.stat()
        first = searched.setdefault((st.st_dev, st.st_ino), here)
        if first != here:
            ignored.append((here, f"a link to a folder already searched ({first})"))
            dirnames[:] = []
            continue
        keep = []
        for name in dirnames:
            if name.startswith(".") or outputs.holds(here, name):
                continue
            if name.lower().endswith(".d"):
                yield here / name
            else:
                keep.append(name)
        dirnames[:] = keep  # prune in place: os.walk then skips .D and hidden folders
        for name in filenames:
            if not name.startswith(".") and not outputs.holds(here, name):
                yield here / name


class _Outputs:
    """Paths a batch writes, told by their file identity (a link to the folder is the folder); a name
    compared first, so that only a path of an output's name is looked at."""

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self.names = {Path(p).name for p in paths}
        self.ids = {_file_id(Path(p)) for p in paths} - {None}

    def holds(self, folder: Path, name: str) -> bool:
        return name in self.names and _file_id(folder / name) in self.ids


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def discover(
    inputs: Sequence[str | Path],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    outputs: Sequence[str | Path] = (),
) -> Discovery:
    """Runs below ``inputs`` (folders are searched recursively, files taken as given).

    Parameters
    ----------
    inputs
        Folders and/or run files (an Agilent ``.D`` folder counts as a file).
    include
        Glob patterns; when given, only runs matching one of them are kept.
    exclude
        Glob patterns; runs matching any of them are left out.
    outputs
        Files and folders the batch writes (below an input folder when its output folder is there):
        never searched, never listed as ignored.

    Returns
    -------
    Discovery
        ``runs`` in sequence order (see the module docstring) and ``ignored`` paths with reasons.

    Raises
    ------
    InputError
        When an input does not exist, or two inputs yield the same run key.
    """
    found = Discovery()
    own = _Outputs(outputs)
    roots = [Path(p) for p in inputs]
    for root in roots:
        if not root.exists():
            raise InputError(f"{root}: no such file or folder")
    prefix_roots = sum(1 for r in roots if _is_folder_input(r)) > 1
    for root in dict.fromkeys(roots):  # the same input named twice is one input
        if not _is_folder_input(root):
            special = not_a_regular_file(root)
            if special:
                found.ignored.append((root, special))
                continue
            fmt, _ = _classify(root)
            found.runs.append(Run(root, root.name, fmt))
            continue
        root_runs = []
        for path in _walk(root, found.ignored, own):
            rel = path.relative_to(root).as_posix()
            if (include and not _matches(rel, include)) or (exclude and _matches(rel, exclude)):
                continue
            fmt, reason = _classify(path)
            if fmt is None:
                found.ignored.append((path, reason or "not a run"))
                continue
            key = f"{root.resolve().name}/{rel}" if prefix_roots else rel
            root_runs.append(Run(path, key, fmt))
        found.runs.extend(root_runs)
    found.runs.sort(key=lambda r: (natural_key(str(PurePosixPath(r.key).parent)), natural_key(r.path.name)))
    _check_unique(found.runs)
    return found


def _is_folder_input(path: Path) -> bool:
    return path.is_dir() and not path.name.lower().endswith(".d")


def _check_unique(runs: list[Run]) -> None:
    seen: dict[str, Path] = {}
    for run in runs:
        if run.key in seen:
            raise InputError(
                f"{run.path} and {seen[run.key]} would share the output name {run.key!r}; "
                "give their folders instead of the files, or rename one"
            )
        seen[run.key] = run.path


def is_blank(run: Run, blank_pattern: str) -> bool:
    """True when the run's file name matches ``blank_pattern`` (glob, case-insensitive)."""
    return PurePosixPath(run.path.name.lower()).match(blank_pattern.lower())


def pair_blanks(runs: Sequence[Run], blank_pattern: str | None) -> tuple[dict[str, str | None], set[str]]:
    """Pair each run with the blank acquired before it.

    Parameters
    ----------
    runs
        Runs in sequence order (as :func:`discover` returns them).
    blank_pattern
        Glob for blank file names; ``None`` pairs nothing.

    Returns
    -------
    (pairs, blank_keys)
        ``pairs[key]``: the key of the nearest earlier blank in the same folder (``None`` for the
        blanks themselves and for runs before the first blank); ``blank_keys``: the blanks.
    """
    pairs: dict[str, str | None] = {run.key: None for run in runs}
    if blank_pattern is None:
        return pairs, set()
    blank_keys = {run.key for run in runs if is_blank(run, blank_pattern)}
    last_blank: dict[str, str] = {}  # folder -> key of the latest blank seen in it
    for run in runs:
        folder = str(PurePosixPath(run.key).parent)
        if run.key in blank_keys:
            last_blank[folder] = run.key
        else:
            pairs[run.key] = last_blank.get(folder)
    return pairs, blank_keys

"""Options and parameter types shared by several commands, defined once and stacked.

Entry points: :data:`TOLERANCE` (a click ``ParamType``), :class:`Number` (a float that is one),
:class:`ScoreChoice` (``--score``
choices from the score registry), :func:`library_option`, :func:`lenient_option`,
:func:`resolve_library`, :func:`typed_command_line`, :func:`refuse_output_onto_inputs` (the one
output-onto-input guard of every writing command), :class:`EvidenceHitsHelp` (help naming the hits a
verdict reads).
"""
from __future__ import annotations

import math
import os
import shlex
import sys
import stat
from pathlib import Path
from typing import Callable, Iterable

import click

from nps_id._paths import user_data_dir
from nps_id.errors import InputError, LibraryError
from nps_id.tolerance import Tolerance

LIBRARY_ENV = "NPS_ID_LIBRARY"


class ToleranceType(click.ParamType):
    """Click type for "0.5 Da" / "10 ppm" / "0.01"."""

    name = "TOLERANCE"

    def convert(self, value, param, ctx) -> Tolerance:
        try:
            return Tolerance.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


TOLERANCE = ToleranceType()


class Number(click.FloatRange):
    """A float option (optionally bounded, as :class:`click.FloatRange`) that refuses "nan": NaN
    compares false with every limit, so a NaN threshold would keep or drop everything silently."""

    name = "number"

    def _describe_range(self) -> str:
        # click would show "x<=None" in --help for an unbounded range
        return super()._describe_range() if self.min is not None or self.max is not None else ""

    def convert(self, value, param, ctx) -> float:
        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


class ScoreChoice(click.Choice):
    """``--score`` choices: the score registry's names (:func:`nps_id.search.scores.names`) that
    serve every ``(kind, mode)`` given, read when click first needs them (the registry loads
    numba, and ``nps-id --help`` must stay instant; ``click.Choice`` itself reads its choices at
    once)."""

    def __init__(self, *served: tuple[str, str]) -> None:
        self.served = served
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        from nps_id.search.scores import names

        if not self.served:
            return names()
        return tuple(n for n in names() if all(n in names(kind, mode) for kind, mode in self.served))


def default_library_path() -> Path:
    """The default library location in the user data directory (XDG on Linux)."""
    return user_data_dir() / "default.h5"


def resolve_library(path: Path | None) -> Path:
    """The library a command should use: ``path``, else ``$NPS_ID_LIBRARY``, else the default.

    Raises :class:`LibraryError` (exit 4) with instructions when none exists.
    """
    if path is not None:
        candidate, origin = Path(path), "--library"
    elif os.environ.get(LIBRARY_ENV):
        candidate, origin = Path(os.environ[LIBRARY_ENV]), f"${LIBRARY_ENV}"
    else:
        candidate, origin = default_library_path(), "the default location"
    if not candidate.exists():
        raise LibraryError(
            f"no library at {candidate} ({origin}); build one with "
            f"'nps-id library build SWGDRUG-3.4.msp.gz -o {candidate} --name SWGDRUG --release 3.4 --ms-level 1' "
            f"or name one with --library / ${LIBRARY_ENV}"
        )
    return candidate


def library_option(f: Callable) -> Callable:
    return click.option(
        "--library",
        "-l",
        "library",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"Reference library (.h5). Default: ${LIBRARY_ENV}, else {default_library_path()}.",
    )(f)


def refuse_output_onto_inputs(outputs: Iterable[Path | None], inputs: Iterable[Path | None], *,
                              folders: bool = False) -> None:
    """Stop (exit 3, one line) before any work when a command would write onto one of its inputs.

    The one guard every writing command calls. An output is refused when it is an input --
    the same path once symlinks are resolved, or the same file (``st_dev``, ``st_ino``: a hard
    link) -- or lies inside an input folder (an Agilent ``.D`` run). With ``folders=True`` the
    outputs are folders a command writes below (``batch -o OUT_DIR``): refused when one is an input
    or holds one. ``None`` entries (options not given) and ``-`` (stdout) are skipped.

    An output file that exists and is write-protected (no write bit for anyone, or not writable
    by this user) is refused too: outputs are replaced by a rename, which a file's own permissions
    do not stop, and a read-only reference library or signed result must not be replaced.
    """
    candidates = [(Path(p), _identity(Path(p))) for p in inputs if p is not None and str(p) != "-"]
    for output in outputs:
        if output is None or str(output) == "-":
            continue
        output = Path(output)
        if not folders and _write_protected(output):
            raise InputError(f"{output}: is write-protected; make it writable to replace it, "
                             "or write the output somewhere else")
        out_id = _identity(output)
        for source, source_id in candidates:
            same = out_id[0] == source_id[0] or (out_id[1] is not None and out_id[1] == source_id[1])
            inside = (source_id[0].is_relative_to(out_id[0]) if folders
                      else _is_run_folder(source) and out_id[0].is_relative_to(source_id[0]))
            if same or inside:
                raise InputError(f"{output}: is an input of this command ({source}); "
                                 "write the output somewhere else")


def _write_protected(path: Path) -> bool:
    """An existing regular file without any write permission bit (root may write anything: the
    bits are the owner's intent), or one this user may not write."""
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and (not st.st_mode & 0o222 or not os.access(path, os.W_OK))


def _is_run_folder(path: Path) -> bool:
    """An Agilent ``.D`` folder is one input file (a folder of spectrum files may hold outputs)."""
    return path.suffix.lower() == ".d" and path.is_dir()


def _identity(path: Path) -> tuple[Path, tuple[int, int] | None]:
    """Resolved path and, when it exists, (device, inode). A symbolic link loop names no file to
    read or write: :class:`~nps_id.errors.InputError` (Python 3.11 raises RuntimeError, later
    versions OSError ELOOP)."""
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):
        raise InputError(f"{path}: is a symbolic link loop; name a file") from None
    try:
        st = path.stat()
    except OSError:
        return resolved, None
    return resolved, (st.st_dev, st.st_ino)


_CHECKOUT_CLI = Path(__file__).resolve().parents[2] / "cli.py"


def typed_command_line() -> str | None:
    """The command as typed, when nps-id runs as a program (None when called from Python, e.g.
    click's test runner, where sys.argv belongs to someone else): recorded in results and reports."""
    program = Path(sys.argv[0])
    # `nps-id ...`, `python -m nps_id ...` (not another program's __main__.py, e.g. pytest's) or the
    # checkout's `python cli.py ...` (README: its reports said "Match command line: —")
    if program.name != "nps-id" and (program.name, program.parent.name) != ("__main__.py", "nps_id") and (
            program.name != "cli.py" or program.resolve() != _CHECKOUT_CLI):
        return None
    return shlex.join(["nps-id", *sys.argv[1:]])


def lenient_option(f: Callable) -> Callable:
    return click.option(
        "--lenient",
        is_flag=True,
        # Not every command lists what it skipped in a file (convert does, search names them on
        # stderr): each command's own help says where they go.
        help="Skip malformed records instead of stopping at the first one.",
    )(f)


class EvidenceHitsHelp(click.Option):
    """An option whose help names how many hits the verdicts read (:data:`~nps_id.match.assess.EVIDENCE_HITS`,
    written where ``{evidence_hits}`` stands), looked up when the help is shown: importing the
    verdict code for every command line would load numba."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from nps_id.match.assess import EVIDENCE_HITS

        record = super().get_help_record(ctx)
        return None if record is None else (record[0], record[1].replace("{evidence_hits}", str(EVIDENCE_HITS)))

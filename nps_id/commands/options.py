"""Options and parameter types shared by several commands, defined once and stacked.

Entry points: :data:`TOLERANCE` (a click ``ParamType``), :class:`ScoreNames` (``--score``
choices from the score registry), :func:`library_option`, :func:`lenient_option`,
:func:`resolve_library`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import click

from nps_id._paths import user_data_dir
from nps_id.errors import LibraryError
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


class ScoreNames(Sequence[str]):
    """Names from the score registry (:func:`nps_id.search.scores.names`) that serve every
    ``(kind, mode)`` given, read when click first needs them (the registry loads numba, and
    ``nps-id --help`` must stay instant)."""

    def __init__(self, *served: tuple[str, str]) -> None:
        self.served = served

    def _names(self) -> tuple[str, ...]:
        from nps_id.search.scores import names

        if not self.served:
            return names()
        return tuple(n for n in names() if all(n in names(kind, mode) for kind, mode in self.served))

    def __getitem__(self, i):  # type: ignore[override]
        return self._names()[i]

    def __len__(self) -> int:
        return len(self._names())


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
            f"'nps-id library build SWGDRUG-3.4.msp.gz -o {candidate}' "
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


def refuse_output_onto_inputs(output: Path, inputs: dict[str, Path], what: str) -> None:
    """A usage error (exit 2) when ``-o`` names one of the command's inputs: the atomic replace
    would silently destroy it. ``inputs`` maps how the message names each input to its path;
    ``what`` is what the output holds ("the hits", "the library")."""
    for name, path in inputs.items():
        if output.exists() and output.samefile(path):
            raise click.BadParameter(f"{output} is {name}; write {what} to another file",
                                     param_hint="'-o' / '--output'")


def lenient_option(f: Callable) -> Callable:
    return click.option(
        "--lenient",
        is_flag=True,
        # Not every command lists what it skipped in a file (convert does, search names them on
        # stderr): each command's own help says where they go.
        help="Skip malformed records instead of stopping at the first one.",
    )(f)

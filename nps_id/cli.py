"""The ``nps-id`` command line: one click group, subcommands loaded on demand.

Subcommands live in :mod:`nps_id.commands` (one module each) and are imported only when
invoked, so ``nps-id --help`` stays instant (no numba, h5py or rdkit at start-up).
Project errors (:class:`~nps_id.errors.NpsIdError`) are caught here, once, and printed as one
line on stderr with their documented exit code; ``--debug`` shows the traceback instead.
Console output never fails on a file name that is not UTF-8 (:data:`nps_id._paths.PRINTABLE`).
:func:`main` runs Python's cyclic garbage collector rarely (:data:`GC_THRESHOLDS`).
"""
from __future__ import annotations

import atexit
import errno
import gc
import importlib
import io
import os
import signal
import sys
import warnings

import click

from nps_id import __version__
from nps_id._paths import PRINTABLE
from nps_id.errors import EXIT_BAD_INPUT, EXIT_TERMINATED, NpsIdError, Terminated, one_line_warning

#: The cyclic collector's thresholds for a command (Python's: 700, 10, 10). A command holds
#: hundreds of thousands of long-lived objects (spectra, hits, library rows) that every full
#: collection rescans: a 9,670-query EI search collected 773 times for 0.40 s of its ~6 s CPU
#: (0.13 s of a one-spectrum search, mostly while importing); with these, 9 times for 0.08 s, in
#: the same peak memory (benchmarks/README.md, stop 23). Never off: a batch may run for hours.
GC_THRESHOLDS = (50_000, 20, 10)

# name -> "module:attribute"; order is the order of `nps-id --help`.
COMMANDS = {
    "inspect": "nps_id.commands.inspect:inspect",
    "convert": "nps_id.commands.convert:convert",
    "library": "nps_id.commands.library:library",
    "search": "nps_id.commands.search:search",
    "match": "nps_id.commands.match:match",
    "report": "nps_id.commands.report:report",
    "batch": "nps_id.commands.batch:batch",
    "regress": "nps_id.commands.regress:regress",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported when used, and that turns project errors into
    one-line messages with exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS) + sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, ctx: click.Context):
        try:
            try:
                return super().invoke(ctx)
            finally:  # what is still buffered fails here, not in a traceback at exit (`> /dev/full`)
                sys.stdout.flush()
        except OSError as exc:
            if exc.errno not in _NO_ROOM or (ctx.obj and ctx.obj.get("debug")):
                raise
            _say_no_room(exc)
            ctx.exit(EXIT_BAD_INPUT)
        except NpsIdError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"nps-id: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            # Ctrl-C: the shell convention 128 + SIGINT, so scripts can tell it from a failure
            # (click would print "Aborted!" and exit 1). Outputs are atomic: nothing half-written.
            if isinstance(exc, Terminated):
                click.echo("nps-id: terminated", err=True)
                ctx.exit(EXIT_TERMINATED)
            click.echo("nps-id: interrupted", err=True)
            ctx.exit(130)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM raised where the command is, to end as Ctrl-C does (:class:`~nps_id.errors.Terminated`)."""
    raise Terminated()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="nps-id")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Identify new psychoactive substances in GC-MS and LC-MS/MS data.

    \b
    Exit codes: 0 ran, 1 --fail-on matched / regression / a batch run failed, 2 usage,
                3 bad input file, 4 bad or missing library, 130 interrupted, 143 terminated.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints as bad\xff, never crashes
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors=PRINTABLE)
    if not debug:  # a warning is one line on stderr, like an error (with --debug: Python's own form)
        warnings.showwarning = one_line_warning


#: A write refused for want of room: a full disk (`> /dev/full`), a quota, a file-size limit.
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _say_no_room(exc: OSError) -> None:
    """One line for a write refused for want of room. Files are written by ``atomic_output``,
    which says so itself: what reaches here is a stream (no file name), standard output."""
    _discard_stdout()
    click.echo(f"nps-id: error: {exc.filename or 'standard output'}: cannot write ({os.strerror(exc.errno)}); "
               "what was written of it is incomplete", err=True)


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's flush at exit does not fail again
    (Python would print "Exception ignored" and exit 120)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def main() -> None:
    """Console-script entry point."""
    gc.set_threshold(*GC_THRESHOLDS)
    # The interpreter's collections at exit traverse every object the command made: 0.3 s of wall
    # after a 12,350-query MS/MS search had written and closed its output (stop 39). Frozen first (the
    # last exit handler), they are skipped; nothing waits on them -- nps-id closes its files and saves
    # its caches before it returns, and no object of it has a finalizer.
    atexit.register(gc.freeze)
    # psims (pulled in by matchms and the mzML writer) warns about an optional HDF5 plugin for
    # mzMLb, a format nps-id never writes; the warning would only confuse users.
    warnings.filterwarnings("ignore", message="hdf5plugin is missing", category=UserWarning)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli(prog_name="nps-id")
    except OSError as exc:  # `--version` / `--help` (printed before any command runs)
        if exc.errno not in _NO_ROOM:
            raise
        _say_no_room(exc)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    sys.exit(main())

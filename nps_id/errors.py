"""Project exceptions and the exit codes the command line maps them to.

Every error a user can cause is an :class:`NpsIdError`; the CLI prints its message as one
line on stderr and exits with :attr:`NpsIdError.exit_code` (a warning too is one line:
:func:`one_line_warning`). Exit codes (a documented contract):

====  ==========================================================
0     ran (whatever was found)
1     ``--fail-on`` matched, or a regression / batch item failed, or a worker process of
      ``search`` died (:class:`WorkerDied`)
2     wrong command-line usage (click)
3     bad input file (:class:`ReaderError`, :class:`InputError`)
4     bad or missing reference library (:class:`LibraryError`), or one holding no spectra of
      the input's kind (nothing could be searched), or a damaged isomer rates file or
      suspected-group model (``nps_id/match/isomer_rates.json``, ``group_model_*.npz``, learned
      from libraries)
130   interrupted (Ctrl-C)
143   terminated (SIGTERM: ``kill``, ``timeout``, a job scheduler; :class:`Terminated`)
====  ==========================================================
"""
from __future__ import annotations

import functools
from pathlib import Path

def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` of the command line (and of its spawned workers): one line on stderr,
    like an error, without Python's source line (with ``--debug``: Python's own form)."""
    import click

    click.echo(f"nps-id: warning: {message}", err=True)


EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_BAD_LIBRARY = 4
EXIT_TERMINATED = 143  # 128 + SIGTERM, the shell's convention


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is (the CLI's handler), so that it ends as Ctrl-C does:
    temporary output files and a build's lock removed, one line. Python's default ended the
    process on the spot and left them behind (a ``.out.mzML.tmp-*`` beside the output)."""


class NpsIdError(Exception):
    """Base class of every error nps-id raises on purpose."""

    exit_code = EXIT_BAD_INPUT


class InputError(NpsIdError):
    """An input the user named cannot be used (missing, unsupported, inconsistent)."""

    exit_code = EXIT_BAD_INPUT


class ReaderError(InputError):
    """A file could not be parsed.

    The message names the file and, where known, the 1-based line, the record (counted from 1
    as lines are: :func:`record_number`), what was found and what was expected. The
    ``record`` attribute keeps the 0-based spectrum index (as ``scan_index``) or the scan id.
    """

    def __init__(
        self,
        path: str | Path | None,
        message: str,
        *,
        record: int | str | None = None,
        line: int | None = None,
        text: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.record = record
        self.line = line
        self.text = text
        self.detail = message
        super().__init__(self._format())

    def __reduce__(self) -> tuple:
        # pickled with its fields (a forked worker of ``nps-id search`` hands it to the command)
        return functools.partial(type(self), record=self.record, line=self.line, text=self.text), (self.path, self.detail)

    def _format(self) -> str:
        where = [self.path or "<stream>"]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {record_number(self.record)}")
        msg = f"{', '.join(where)}: {self.detail}"
        if self.text:
            msg += f" (got {shorten(self.text.strip())!r})"
        return msg


class NoSpectraError(ReaderError):
    """A readable file that holds no mass spectra, only chromatograms (a chromatogram-only ANDI/AIA
    file): ``inspect`` describes it (exit 0, as a chromatogram-only mzML), a command that needs
    spectra refuses it (exit 3)."""


def record_number(record: int | str) -> int | str:
    """How a message names a record: its 0-based index counted from 1, as lines are (index 1 ->
    ``2``: a user counts "the second record"); a scan id as it is.

    >>> record_number(0), record_number("scan=7")
    (1, 'scan=7')
    """
    return record + 1 if isinstance(record, int) else record


def shorten(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters ending in ``...``: what a one-line error quotes of
    a value from a user's file, which may be megabytes long."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


class WorkerDied(NpsIdError):
    """A worker process the command forked died before it was done (killed, out of memory, a crash
    in native code): as a batch run whose worker died, exit 1; nothing was written."""

    exit_code = EXIT_FOUND


class LibraryError(NpsIdError):
    """A reference library is missing, corrupt, or of an unsupported format version."""

    exit_code = EXIT_BAD_LIBRARY

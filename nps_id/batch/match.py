"""The per-run work of ``nps-id batch``: the very pipeline of ``nps-id match``, and the reports.

Entry points: :class:`MatchProcessor` and :class:`ReportWriter` -- small picklable objects; a
worker process (local or Dask) calls them once per run. The library, the alkane ladder and blank
components are loaded once per worker process and cached, not once per run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from nps_id.errors import LibraryError
from nps_id.match.parameters import MatchParameters
from nps_id.match.pipeline import match_run, prepare_blank
from nps_id.match.reference_library import ReferenceLibrary
from nps_id.match.results import BLANK_ITSELF_NOTE

# Per worker process: (library path) -> opened library; (blank path, params) -> blank components.
_LIBRARIES: dict[str, ReferenceLibrary] = {}
_BLANKS: dict[tuple[str, MatchParameters], tuple[dict, list]] = {}
_LADDERS: dict[str, Any] = {}


@dataclass(frozen=True)
class MatchProcessor:
    """``processor(path, params, digests) -> results dict`` for :func:`nps_id.batch.runner.run_batch`.

    Parameters
    ----------
    library
        Path of the nps-id library; every worker opens it (a shared path on a cluster).
    library_sha256
        The content hash of ``library`` when the batch checked it (the manifest's): a worker that
        finds another content at that path (the file replaced or rebuilt since) matches no run
        against it -- each such run fails, saying so. None: not checked.
    match
        The settings of ``nps-id match``.
    alkanes
        Optional n-alkane ladder (run or CSV) for retention indices.
    lenient
        Let readers skip malformed scans.
    command_line
        The ``nps-id batch`` command as typed (None when unknown), recorded in each run's results
        as ``command_line`` (the report's "Match command line"). Not a setting: a batch resumed
        with another command line keeps the runs it already has.

    The ``params`` passed per run carry only ``"blank"``: the path of the blank run paired with
    it by ``--blank-pattern`` (or ``None``), and ``"is_blank"`` for a blank itself (its results get
    the note of ``match --blank``'s blank: its reports and EWA export are a blank's); the rest of the settings live in this object, and
    :meth:`describe` gives them to the batch's parameter hash. ``digests`` (path -> SHA-256 of
    the run and its blank, computed once by the batch) go into the results unchanged.
    """

    library: str
    match: MatchParameters = field(default_factory=MatchParameters)
    alkanes: str | None = None
    lenient: bool = False
    command_line: str | None = None
    library_sha256: str | None = None

    def describe(self) -> dict[str, Any]:
        """The settings that decide the results (hashed by the manifest)."""
        return {"match": self.match.to_dict(), "alkanes": self.alkanes, "lenient": self.lenient}

    def __call__(self, path: Path, params: Mapping[str, Any], digests: Mapping[str, str]) -> dict:
        library = _LIBRARIES.get(self.library)
        if library is None or (self.library_sha256 and library.info["sha256"] != self.library_sha256):
            # (a worker kept from an earlier batch opens a library rebuilt since then again)
            library = _LIBRARIES[self.library] = ReferenceLibrary(self.library)
        found = library.info["sha256"]
        if self.library_sha256 and found != self.library_sha256:
            # the manifest records the checked library for this run: results of another would pass as its
            raise LibraryError(f"{self.library}: the library file changed since the batch checked it (sha256 "
                               f"{self.library_sha256[:12]}..., now {found[:12]}...; replaced or rebuilt?): "
                               "not matched against it; run the batch again")
        blank_path = params.get("blank")
        blank = None
        if blank_path:
            key = (str(blank_path), self.match)
            if key not in _BLANKS:
                _BLANKS[key] = prepare_blank(blank_path, self.match, sha256=digests.get(str(blank_path)))
            blank = _BLANKS[key]
        results = match_run(path, library, self.match, blank=blank, ladder=self._ladder(), lenient=self.lenient,
                            sha256=digests.get(str(path)))
        if params.get("is_blank") and BLANK_ITSELF_NOTE not in results["notes"]:  # a --blank-pattern run: what the blank holds, never a sample's leads
            results["notes"].append(BLANK_ITSELF_NOTE)
        if self.command_line:
            results["command_line"] = self.command_line
        return results

    def _ladder(self) -> Any:
        if self.alkanes is None:
            return None
        if self.alkanes not in _LADDERS:
            from nps_id.gcms.retention_index import load_alkanes

            _LADDERS[self.alkanes] = load_alkanes(self.alkanes)
        return _LADDERS[self.alkanes]


@dataclass(frozen=True)
class ReportWriter:
    """``writer(results, run_dir) -> [paths]``: the reports of ``nps-id report`` for one run.

    Parameters
    ----------
    formats
        Report formats (see :data:`nps_id.report.FORMATS`).
    sample_info
        A ``--sample-info`` TOML shared by the whole batch (laboratory, analyst, ...), or None.
    library
        Library for the mirror plots (the batch's library).
    """

    formats: tuple[str, ...]
    sample_info: str | None = None
    library: str | None = None

    def __call__(self, results: dict, run_dir: Path) -> list[Path]:
        from nps_id.report import write_reports

        return write_reports(results, self.formats, run_dir, self.sample_info, library_path=self.library)

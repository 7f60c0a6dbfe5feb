"""Reports: the analyst report (HTML, PDF), the EWA export, the LIMS table, and their data model.

Every output is rendered from one validated report document (:mod:`nps_id.report.document`,
schema ``schema/report-v1.json``, described in ``docs/report-schema.md``).

Entry points
------------
- :func:`write_reports` -- results dict of ``nps-id match`` -> report files in a folder;
  :func:`render_reports` the same files rendered, not yet written (what ``nps-id match --report
  FORMAT`` calls before it replaces any file), :func:`write_files` writes them.
- :func:`render` -- report document + format -> {suffix: bytes}.
- :func:`prepare_document` -- a results or report JSON file -> report document.
- :mod:`nps_id.chem.ewa_groups` -- UNODC EWA substance groups.

Formats: ``html``, ``pdf``, ``ewa`` (CSV + JSON), ``csv`` / ``tsv`` (LIMS), ``json`` (the
report document itself).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
from pathlib import Path
from typing import Any, Iterable, Mapping

from nps_id._atomic import atomic_output
from nps_id.errors import InputError

FORMATS = ("html", "pdf", "ewa", "csv", "tsv", "json")

#: Output file suffixes per format (``ewa`` writes two files).
SUFFIXES = {"html": (".html",), "pdf": (".pdf",), "ewa": (".csv", ".json"), "csv": (".csv",),
            "tsv": (".tsv",), "json": (".json",)}
#: What write_reports() puts between the run name and the suffix.
_KIND = {"html": ".report", "pdf": ".report", "ewa": ".ewa", "csv": ".lims", "tsv": ".lims", "json": ".report"}


def _utf8(text: str) -> bytes:
    """UTF-8; a file name that is not UTF-8 (surrogate escapes) shows as ``\\udcXX`` text."""
    return text.encode("utf-8", "backslashreplace")


def render(doc: Mapping[str, Any], fmt: str) -> dict[str, bytes]:
    """Render the report document; returns {suffix: content}. Deterministic for a given document."""
    if fmt == "html":
        from nps_id.report.html import render_html

        return {".html": _utf8(render_html(doc))}
    if fmt == "pdf":
        from nps_id.report.pdf import render_pdf

        return {".pdf": render_pdf(doc)}
    if fmt == "ewa":
        from nps_id.report.ewa import render_ewa_csv, render_ewa_json

        return {".csv": _utf8(render_ewa_csv(doc)), ".json": _utf8(render_ewa_json(doc))}
    if fmt in ("csv", "tsv"):
        from nps_id.report.lims import render_lims

        return {f".{fmt}": _utf8(render_lims(doc, "," if fmt == "csv" else "\t"))}
    if fmt == "json":
        from nps_id.report.jsondoc import report_json_bytes, validate_report

        validate_report(doc)
        return {".json": report_json_bytes(doc)}
    raise InputError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


def write_rendered(doc: Mapping[str, Any], fmt: str, output: str | Path, *, allow_draft: bool = False) -> list[Path]:
    """Render ``fmt`` and write it to ``output`` (``ewa``: two files, OUTPUT.csv and OUTPUT.json).

    Files are replaced atomically. Returns the paths written. A draft is not exported to the EWA
    unless ``allow_draft`` (:class:`InputError`, exit 3): nobody has reviewed it yet.
    """
    return write_files(rendered_files(doc, fmt, output, allow_draft=allow_draft))


def rendered_files(doc: Mapping[str, Any], fmt: str, output: str | Path, *, allow_draft: bool = False
                   ) -> dict[Path, bytes]:
    """:func:`write_rendered`'s files, rendered and not written: {path: content}."""
    if fmt == "ewa" and doc["status"] == "draft" and not allow_draft:
        raise InputError(f"report {doc['report_id']} is a draft: sign it off first (--status reviewed with "
                         "--analyst/--reviewer and their signing times), or pass --allow-draft to export it "
                         "marked DRAFT")
    targets = dict(zip(SUFFIXES[fmt], rendered_paths(fmt, output)))
    return {targets[suffix]: content for suffix, content in render(doc, fmt).items()}


def write_files(files: Mapping[Path, bytes]) -> list[Path]:
    """Write ``files`` ({path: content}) as one set: every file to its temporary file first, then
    each renamed over its target. A write that fails (a full disk; ``--json /dev/full``) replaces
    none of them, and a kill leaves at most the renames' instant in which some are new: an EWA CSV
    no longer lands beside the JSON of an earlier export. Returns the paths written."""
    with contextlib.ExitStack() as stack:
        for target, content in files.items():
            stack.enter_context(atomic_output(target)).write_bytes(content)
    return list(files)


def rendered_paths(fmt: str, output: str | Path) -> list[Path]:
    """The files :func:`write_rendered` writes for ``fmt`` (in :data:`SUFFIXES` order)."""
    output = Path(output)
    suffixes = SUFFIXES[fmt]
    return [output] if len(suffixes) == 1 else [_sibling(output, suffix) for suffix in suffixes]


def report_paths(stem: str, formats: Iterable[str], out_dir: str | Path) -> list[Path]:
    """The files :func:`write_reports` writes for a run named ``stem``: the report JSON first."""
    paths = [_report_path(stem, "json", out_dir)]
    for fmt in dict.fromkeys(formats):
        if fmt != "json":
            paths += rendered_paths(fmt, _report_path(stem, fmt, out_dir))
    return paths


def _report_path(stem: str, fmt: str, out_dir: str | Path) -> Path:
    """``<stem>.report.html``, ``<stem>.ewa.csv``, ``<stem>.lims.tsv``, ...: what write_reports names."""
    return Path(out_dir) / f"{stem}{_KIND[fmt]}{SUFFIXES[fmt][0]}"


def _sibling(output: Path, suffix: str) -> Path:
    """``out.csv`` -> ``out.json``; ``out.ewa`` -> ``out.ewa.json`` (only .csv/.json are replaced)."""
    return output.with_suffix(suffix) if output.suffix in (".csv", ".json") else Path(f"{output}{suffix}")


def prepare_document(
    path: str | Path,
    sample_info: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    sample_info_file: str | Path | None = None,
    library_path: str | Path | None = None,
    overrides_file: str | Path | None = None,
    command_line: str | None = None,
) -> dict[str, Any]:
    """Report document from a results JSON (built) or a report JSON (checked, used as it is).

    ``sample_info`` (from command-line options) wins over ``sample_info_file`` key by key. A
    report JSON cannot take new sample details: a changed report is a new, amended report.
    """
    from nps_id.report.document import build_report
    from nps_id.report.inputs import load_sample_info, merge_sample_info, read_document
    from nps_id.report.jsondoc import REPORT_SCHEMA, validate_report

    path = Path(path)
    data, raw = read_document(path)
    if data["schema"] == REPORT_SCHEMA:
        if sample_info_file or any(v for table in (sample_info or {}).values() for v in table.values()) \
                or overrides_file:
            raise InputError(f"{path}: is a report JSON, rendered as it is; sample details and EWA "
                             "overrides apply when building from a 'nps-id match' results JSON")
        validate_report(data, source=str(path))
        return data
    file_info = load_sample_info(sample_info_file) if sample_info_file else None
    overrides, overrides_info = _overrides(overrides_file)
    return build_report(
        data, merge_sample_info(file_info, sample_info), results_bytes=raw,
        results_file=path.name, library_path=library_path, overrides=overrides, overrides_info=overrides_info,
        command_line=command_line,
    )


def _overrides(path: str | Path | None):
    """The laboratory's EWA overrides table and what the provenance records about it."""
    if path is None:
        return None, None
    from nps_id._hashing import sha256_path
    from nps_id.chem.ewa_groups import load_overrides

    path = Path(path)
    table = load_overrides(path)
    return table, {"file": path.name, "sha256": sha256_path(path).sha256, "entries": len(table)}


def write_reports(results: Mapping[str, Any], formats: Iterable[str], out_dir: str | Path,
                  sample_info: Mapping[str, Mapping[str, Any]] | str | Path | None = None, **options: Any) -> list[Path]:
    """Build the report of one ``nps-id match`` results dict and write it in each format: the
    files of :func:`render_reports` (arguments and keyword ``options`` as there), none replaced
    before all are rendered. Returns the files written, report JSON first."""
    return write_files(render_reports(results, formats, out_dir, sample_info, **options))


def render_reports(
    results: Mapping[str, Any],
    formats: Iterable[str],
    out_dir: str | Path,
    sample_info: Mapping[str, Mapping[str, Any]] | str | Path | None = None,
    *,
    library_path: str | Path | None = None,
    command_line: str | None = None,
    now: _dt.datetime | None = None,
) -> dict[Path, bytes]:
    """The report of one ``nps-id match`` results dict in each format, rendered and not written:
    {path: content} (a run stopped while one renders replaces none of the earlier files).

    Parameters
    ----------
    results
        The results dict of one run, as :func:`nps_id.match.pipeline.match_run` returns it.
    formats
        Any of :data:`FORMATS`. The report document (``<run>.report.json``) is always written
        too, so every rendering can be reproduced from it.
    out_dir
        Folder for ``<run stem>.report.html``, ``.report.pdf``, ``.ewa.csv`` + ``.ewa.json``,
        ``.lims.csv`` / ``.lims.tsv``, ``.report.json``.
    sample_info
        Tables as in ``--sample-info`` (a dict), or the path of that TOML file, or None.
    library_path
        Library for the mirror-plot reference spectra (default: the one the results name).
    command_line
        Recorded in the provenance.

    Returns
    -------
    dict of Path to bytes
        The files to write, report JSON first.
    """
    from nps_id.report.document import build_report
    from nps_id.report.inputs import load_sample_info
    from nps_id.report.jsondoc import report_json_bytes

    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"unknown report format(s) {unknown}; expected some of {', '.join(FORMATS)}")
    if isinstance(sample_info, (str, Path)):
        sample_info = load_sample_info(sample_info)
    doc = build_report(results, sample_info, library_path=library_path, command_line=command_line, now=now)
    stem = Path((results.get("run") or {}).get("file") or "run").stem
    files = {_report_path(stem, "json", out_dir): report_json_bytes(doc)}
    for fmt in formats:
        if fmt == "json":
            continue
        # `match --report ewa` asks for the export of a report match itself makes: a draft, marked so
        files.update(rendered_files(doc, fmt, _report_path(stem, fmt, out_dir), allow_draft=True))
    return files

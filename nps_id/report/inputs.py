"""What a report is built from: the results or report JSON file, the sample information TOML,
the library's reference spectra (HDF5) and the git commit of the running source.

Entry points
------------
- :func:`read_document` / :func:`load_document` -- a results or report JSON file (results checked
  against ``schema/match-results-v1.json``).
- :func:`load_sample_info` / :func:`merge_sample_info` -- the ``--sample-info`` TOML file and the
  command-line options over it; :data:`SAMPLE_INFO_KEYS` lists what it may hold.
- :func:`sample_reference_standards` -- the reference standard runs the TOML names (``{name, run}``
  entries of ``[item] reference_standards_run``), for ``nps-id match`` to compare the findings with.
- :func:`library_entries` -- the library entries the findings name (content SHA-256 checked).
- :func:`git_commit` -- the commit of the nps-id checkout, for the provenance.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any, Mapping

from nps_id._paths import printable
from nps_id.errors import InputError, LibraryError
from nps_id.report.jsondoc import REPORT_SCHEMA, RESULTS_SCHEMA, validate_results

# The keys --sample-info may hold, by table; anything else is a typo and is refused.
SAMPLE_INFO_KEYS = {
    "laboratory": {"name", "country", "address", "contact", "accreditation"},
    "analyst": {"name", "signed_at"},
    "reviewer": {"name", "signed_at"},
    "item": {"lab_sample_id", "case_id", "nature", "description", "date_received", "date_seized",
             "country_of_seizure", "physical_form", "internal_standards", "reference_standards_run",
             "other_techniques"},
    "report": {"status", "report_id", "issued_at", "amends", "amendment_reason"},
    "acquisition": {"instrument", "method"},
    # substance name (or InChIKey) -> the other techniques that confirmed it, e.g. ["FTIR-ATR"]
    "confirmations": None,
}


def load_document(path: str | Path) -> dict[str, Any]:
    """Read a results or report JSON file; raises :class:`InputError` naming the file."""
    return read_document(path)[0]


def read_document(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """:func:`load_document`, and the file's bytes as read (what ``provenance.results_sha256``
    hashes: the file is read once, so the hash is of the very bytes the report was built from)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        # utf-8-sig: a file saved by a Windows editor starts with a byte order mark; read past it.
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=_not_a_json_number)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); expected a JSON file") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:  # [[[[...: no results file nests a thousand levels
        raise InputError(f"{path}: not valid nps-id JSON (nested too deeply)") from None
    except ValueError:  # an integer of more than 4,300 digits (the limit of Python's int())
        raise InputError(f"{path}: not valid nps-id JSON (a number of more than 4,300 digits)") from None
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    kind = data.get("schema") if isinstance(data, dict) else None
    if kind not in (RESULTS_SCHEMA, REPORT_SCHEMA):
        raise InputError(
            f"{path}: expected a 'nps-id match' results JSON or an nps-id report JSON "
            f"(schema {RESULTS_SCHEMA!r} or {REPORT_SCHEMA!r}), got schema {kind!r}"
        )
    if kind == RESULTS_SCHEMA:
        _check_results(data, path)
    return data, raw


def _not_a_json_number(name: str) -> None:
    # NaN/Infinity are Python's, not JSON's; a report hashes its input as strict JSON.
    raise InputError(f"not valid JSON ({name} is not a JSON number)")


def _check_results(data: Mapping[str, Any], path: Path) -> None:
    """Refuse a results file a report cannot be built from faithfully (hand-edited, truncated by
    hand, another version): :class:`InputError` with the JSON paths of what is wrong."""
    validate_results(data, f"{path}: not a usable 'nps-id match' results file")


def load_sample_info(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read the ``--sample-info`` TOML file (tables laboratory, analyst, reviewer, item, report).

    Unknown tables or keys raise :class:`InputError` (a typo must not silently drop a field).
    Dates may be TOML dates or ``YYYY-MM-DD`` strings.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (pyproject marker)
        import tomli as tomllib

    path = Path(path)
    try:
        # utf-8-sig: Windows editors write a byte order mark, which TOML parsers refuse.
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    for table, values in data.items():
        if table not in SAMPLE_INFO_KEYS or not isinstance(values, dict):
            raise InputError(f"{path}: unknown table [{table}]; expected {sorted(SAMPLE_INFO_KEYS)}")
        if SAMPLE_INFO_KEYS[table] is None:  # [confirmations]: substance = [techniques]
            continue
        unknown = set(values) - SAMPLE_INFO_KEYS[table]
        if unknown:
            raise InputError(f"{path}: [{table}]: unknown key(s) {sorted(unknown)}; "
                             f"expected some of {sorted(SAMPLE_INFO_KEYS[table])}")
    _check_reference_standards(data.get("item", {}).get("reference_standards_run"), path)
    return {table: {k: _plain(v) for k, v in values.items()} for table, values in data.items()}


#: What one ``reference_standards_run`` entry may say: a substance name, or a table naming the run too.
_REFERENCE_ENTRY = 'a substance name or { name = "Etizolam", run = "220223010.mzML" }'


def _reference_entries(entries: Any) -> list[Any]:
    """``reference_standards_run`` as a list: one entry written alone is that one entry."""
    return [] if entries is None else list(entries) if isinstance(entries, (list, tuple)) else [entries]


def _check_reference_standards(entries: Any, path: Path) -> None:
    """Refuse a ``reference_standards_run`` entry that is neither a name nor ``{name, run}``."""
    for entry in _reference_entries(entries):
        if not (isinstance(entry, str) or isinstance(entry, dict) and set(entry) <= {"name", "run"}
                and isinstance(entry.get("name"), str) and isinstance(entry.get("run", ""), str)):
            raise InputError(f"{path}: [item] reference_standards_run: {entry!r}: expected {_REFERENCE_ENTRY}")


def reference_standard_names(entries: Any) -> list[str]:
    """The substances of ``reference_standards_run`` (names, or the ``name`` of ``{name, run}`` tables)."""
    return [str(e["name"]) if isinstance(e, dict) else str(e) for e in _reference_entries(entries)]


def sample_reference_standards(info: Mapping[str, Mapping[str, Any]], path: str | Path) -> list[tuple[Path, str]]:
    """(run, substance) of every ``{ name, run }`` entry of ``[item] reference_standards_run`` in
    the TOML file ``path`` -- what ``--reference-standard RUN NAME`` gives. A relative run is read
    from the TOML file's folder (the card and its runs travel together).

    Raises
    ------
    InputError
        When a named run does not exist (the comparison would silently be missing).
    """
    out = []
    for entry in _reference_entries(info.get("item", {}).get("reference_standards_run")):
        if not isinstance(entry, dict) or "run" not in entry:
            continue
        run = Path(path).parent / Path(entry["run"]).expanduser()
        if not run.exists():
            raise InputError(f"{path}: [item] reference_standards_run: run {entry['run']!r} of {entry['name']} "
                             f"not found ({run}; a relative run is read from the TOML file's folder)")
        out.append((run, entry["name"]))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value


def merge_sample_info(*layers: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Later layers win key by key (command-line options over the TOML file); None is skipped, and
    so is an empty list in a later layer (a repeatable option not given) -- but the first layer's
    empty list stays: ``reference_standards_run = []`` in the TOML says none was run."""
    merged: dict[str, dict[str, Any]] = {table: {} for table in SAMPLE_INFO_KEYS}
    for number, layer in enumerate(layers):
        for table, values in (layer or {}).items():
            merged.setdefault(table, {}).update(
                {k: v for k, v in values.items() if v is not None and (number == 0 or v not in ((), []))})
    return merged


def library_entries(results: Mapping[str, Any], library_path: str | Path | None):
    """The library entries the findings name: {library_row: {spectrum, synonyms, smiles, inchi}},
    and a note on where the mirror-plot reference spectra come from.

    The library named by the results (or ``library_path``) is opened and its content SHA-256
    checked, so a plot never shows a spectrum from another library version. The synonyms and
    structure feed the EWA classification. Without the library, reference spectra embedded in
    the results (``reference_spectrum`` per finding) are used, or the plot says there is none.
    """
    findings = results.get("findings") or []
    rows = sorted({int(f["library_row"]) for f in findings if f.get("library_row") is not None})
    embedded = bool(findings) and all(f.get("reference_spectrum") for f in findings)
    library = results.get("library") or {}
    path = Path(library_path) if library_path else (Path(library["path"]) if library.get("path") else None)
    if library_path and not path.is_file():  # named on purpose: a typo must not drop the reference spectra
        raise LibraryError(f"{path}: no such library file")
    if not rows or path is None or not path.exists():
        if embedded or not findings:
            return {}, "results file" if findings else "none needed"
        # A report without the reference spectra cannot be reviewed: stop, as the help says.
        raise LibraryError(f"{printable(str(path))}: library named by the results not found (moved?); "
                           "pass the same library with --library PATH")
    from nps_id.library import open_verified

    with open_verified(path) as lib:
        if library.get("sha256") and lib.sha256 != library["sha256"]:
            raise LibraryError(
                f"{path}: content SHA-256 {lib.sha256[:12]}... differs from the library the results were "
                f"matched against ({str(library['sha256'])[:12]}...); pass that library with --library"
            )
        if rows[-1] >= lib.n_spectra:
            raise InputError(f"a finding names library row {rows[-1]}, but {path.name} has {lib.n_spectra} "
                             "spectra: the results file was edited or belongs to another library")
        out = {}
        for row in rows:
            spectrum = lib.spectrum(row)
            meta = spectrum.metadata
            out[row] = {
                "spectrum": {"mz": [float(m) for m in spectrum.mz],
                             "intensity": [float(v) for v in spectrum.intensity]},
                "synonyms": list(meta.get("synonyms", ())),
                "comments": meta.get("comments"),
                "smiles": meta.get("smiles"),
                "inchi": meta.get("inchi"),
                "structure_source": meta.get("structure_source"),
                "structure_status": meta.get("structure_status"),
            }
    source = "results file" if embedded else f"library {path.name} (sha256 {lib.sha256[:12]}..., checked)"
    return out, source


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The git commit of the nps-id source tree, when it runs from a checkout (else None)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None



"""The report's JSON: schema names and files, validation, canonical bytes and the hashes of them.

Entry points
------------
- :func:`validate_report` / :func:`validate_results` -- check a document against its JSON Schema
  (``schema/report-v1.json``, ``schema/match-results-v1.json``); :class:`InputError` naming the paths.
- :func:`report_json_bytes` -- the report document as written to disk.
- :func:`canonical_json` / :func:`parameters_sha256` -- the bytes and the parameter hash quoted in reports.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from nps_id._finite import not_finite
from nps_id.errors import InputError, shorten

SCHEMA_PATH = Path(__file__).with_name("schema") / "report-v1.json"
#: What a results file must hold for a report to be built from it (a subset of docs/match.md).
RESULTS_SCHEMA_PATH = Path(__file__).with_name("schema") / "match-results-v1.json"
REPORT_SCHEMA = "nps-id/report"
REPORT_SCHEMA_VERSION = "1.1"
RESULTS_SCHEMA = "nps-id/match-results"


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no whitespace: the same data always gives the same bytes.

    Floats use Python's shortest round-trip repr, so 0.1 and 0.10000000000000001 hash the same
    and 0.1 and 0.2 do not.
    """
    # surrogateescape: a non-UTF-8 file name (decoded by Python as lone surrogates) hashes as its bytes
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8", "surrogateescape")


def parameters_sha256(parameters: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a parameters dict.

    >>> parameters_sha256({"a": 1}) == parameters_sha256({"a": 1.0})
    False
    """
    return hashlib.sha256(canonical_json(parameters)).hexdigest()


@functools.lru_cache(maxsize=2)
def _validator(schema_path: Path):
    import jsonschema

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def validate_report(doc: Mapping[str, Any], source: str = "report") -> None:
    """Raise :class:`InputError` listing (up to five) schema violations with their JSON paths."""
    _raise_schema_errors(SCHEMA_PATH, doc, f"{source}: does not match {SCHEMA_PATH.name}")


def validate_results(data: Mapping[str, Any], what: str) -> None:
    """:func:`validate_report` for a ``nps-id match`` results dict; ``what`` opens the message."""
    _raise_schema_errors(RESULTS_SCHEMA_PATH, data, what)


def _raise_schema_errors(schema_path: Path, doc: Mapping[str, Any], what: str) -> None:
    errors = sorted(_validator(schema_path).iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [f"/{'/'.join(str(p) for p in e.absolute_path)}: {shorten(' '.join(e.message.split()), 200)}" for e in errors[:5]]
        raise InputError(f"{what}: " + "; ".join(lines))
    fault = _unpaired(doc, "") or not_finite(doc)
    if fault:
        raise InputError(f"{what}: {fault}")


#: Lists that pair up with an ``intensity`` list beside them: a spectrum's m/z, a TIC's times.
_PAIRED = {"mz": "m/z", "rt_min": "times"}


def _unpaired(node: Any, where: str) -> str | None:
    """The first spectrum or chromatogram below ``node`` whose lists do not pair up (or with an
    m/z <= 0 or an intensity < 0), in words with its JSON path; the schema cannot say so and the
    plots need it."""
    if isinstance(node, list):
        items: Any = enumerate(node)
    elif isinstance(node, dict):
        intensity = node.get("intensity")
        for key, called in _PAIRED.items():
            values = node.get(key)
            if isinstance(values, list) and isinstance(intensity, list):
                if len(values) != len(intensity):
                    return f"{where or '/'} has {len(values)} {called} but {len(intensity)} intensities"
                if key == "mz" and (any(m <= 0 for m in values) or any(v < 0 for v in intensity)):
                    return f"{where or '/'} has an m/z <= 0 or an intensity < 0"
        items = node.items()
    else:
        return None
    for key, child in items:
        fault = _unpaired(child, f"{where}/{key}")
        if fault:
            return fault
    return None


def report_json_bytes(doc: Mapping[str, Any]) -> bytes:
    """The report as written to disk: indented, sorted keys, UTF-8, trailing newline."""
    # A file name that is not UTF-8 (surrogate escapes) is written as a JSON \udcXX escape: valid
    # JSON text that reads back to the same name.
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
            + "\n").encode("utf-8", "backslashreplace")

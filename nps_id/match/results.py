"""The results file of ``nps-id match`` as it is written: one serialiser for every writer.

Entry points
------------
- :func:`results_json` -- a results dict (or ``{"runs": [...]}``) as the JSON text every output uses.
- :func:`write_results_json` -- that text written atomically (what ``nps-id match -o/--json`` and
  every ``nps-id batch`` worker write).

The contract of the content is ``docs/match.md``; the part a report relies on is the JSON Schema
``nps_id/report/schema/match-results-v1.json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from nps_id._atomic import atomic_output


def _to_json(value: Any) -> Any:
    """json.dumps fallback for numpy scalars/arrays and paths in results."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def results_json(results: Mapping[str, Any]) -> str:
    """The results as JSON text: indented by one space, no trailing newline."""
    return json.dumps(results, indent=1, default=_to_json)


def write_results_json(results: Mapping[str, Any], path: Path) -> Path:
    """Write ``results`` to ``path`` atomically (temp file + rename)."""
    with atomic_output(path) as tmp:
        tmp.write_text(results_json(results) + "\n", encoding="utf-8")
    return path

"""The first NaN or infinity in a JSON-like tree, by its JSON path: JSON has no such number, and a file that
holds one (Python writes ``NaN``) is one other tools cannot read.

Entry point: :func:`not_finite`, used by every results and report writer and reader (stop 45: the results
writers -- ``match``, ``batch`` -- wrote what the report's validation refuses)."""
from __future__ import annotations

import math
from typing import Any


def not_finite(node: Any, where: str = "") -> str | None:
    """The JSON path of the first NaN or infinity below ``node`` (dicts, lists, floats), in words; None if none.
    JSON Schema's bounds pass NaN (every comparison with it is false: a probability of NaN met "0-1")."""
    if isinstance(node, float) and not math.isfinite(node):
        return f"{where or '/'} is {node!r}, not a finite number"
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        fault = not_finite(child, f"{where}/{key}")
        if fault:
            return fault
    return None

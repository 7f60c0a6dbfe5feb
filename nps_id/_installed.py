"""The version of an installed package, without importing :mod:`importlib.metadata`.

Cache keys name the RDKit version (its results are cached per version), and a one-spectrum search
asks for it in every process: ``importlib.metadata``'s import alone cost ~0.02 s CPU (it brings in
``email``, ``zipfile``, ``csv``, ...), a tenth of what the whole search may take (issue 16).

Entry point: :func:`package_version`.
"""
from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path


def package_version(name: str) -> str:
    """``importlib.metadata.version(name)``: read from the ``Version`` field of the one
    ``<name>-*.dist-info`` beside the package (how pip installs it); through importlib.metadata
    when there is not exactly one."""
    spec = find_spec(name)
    if spec is not None and spec.origin:
        found = list(Path(spec.origin).parent.parent.glob(f"{name}-*.dist-info"))
        if len(found) == 1:
            try:
                # the header's Version line is ASCII; a Latin-1 byte elsewhere must not stop every search
                with open(found[0] / "METADATA", encoding="utf-8", errors="replace") as fh:
                    for line in fh:  # the header ends at the first empty line
                        if not line.strip():
                            break
                        if line.startswith("Version:"):
                            return line.split(":", 1)[1].strip()
            except OSError:
                pass
    from importlib.metadata import version

    return version(name)

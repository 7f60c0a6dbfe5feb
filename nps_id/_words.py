"""Words for counts, shared by every layer (io reports, library checks, batch progress, reports).

Entry point: :func:`counted` ("1 component", "2 components"). It lives at the bottom of the
layers (docs/architecture.md) so that a reader or a library check can count in words without
importing the report package above it.
"""
from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 component``, ``2 components``: a count with its noun in the right number; ``plural``
    for a noun that does not take an ``s`` (default: ``noun + "s"``).

    >>> counted(1, "component"), counted(0, "component"), counted(1, "query", "queries"), counted(2, "query", "queries")
    ('1 component', '0 components', '1 query', '2 queries')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"

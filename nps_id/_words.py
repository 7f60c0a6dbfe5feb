"""Words for counts, shared by every layer (io reports, library checks, batch progress, reports).

Entry points: :func:`counted` ("1 component", "2 components"); :func:`agreeing` for a word that
agrees with a count said elsewhere ("its" / "their"). It lives at the bottom of the
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
    return f"{n} {agreeing(n, noun, plural or noun + 's')}"


def agreeing(n: int, one: str, many: str) -> str:
    """``one`` for a count of 1, else ``many``: a word that agrees with a count said beside it
    ("1 run ... since it was done", "2 runs ... since they were done").

    >>> agreeing(1, "its", "their"), agreeing(3, "its", "their"), agreeing(0, "was", "were")
    ('its', 'their', 'were')
    """
    return one if n == 1 else many

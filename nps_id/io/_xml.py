"""Safe XML parsing for the XML-based readers (mzML, mzXML).

Entry points: :func:`reject_doctype` (scan the head of a document for a DTD) and
:func:`safe_iterparse` (lxml ``iterparse`` with entities, DTD loading and network off).

No mass-spectrometry XML format uses a DTD, so a ``<!DOCTYPE`` is refused outright: that closes
entity expansion ("billion laughs") and external entities (XXE) before the parser sees them.
The parser flags are a second fence in case a DOCTYPE is hidden past the scanned head.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Iterator

from lxml import etree

from nps_id.errors import ReaderError
from nps_id.io._source import open_binary

# The DOCTYPE must precede the root element; 1 MiB covers any real prolog (comments included).
_HEAD_LIMIT = 1 << 20
_ROOT_RE = re.compile(rb"<(?![?!])[A-Za-z_]")
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def reject_doctype(path: str | Path) -> None:
    """Raise :class:`ReaderError` if the XML prolog of ``path`` declares a DOCTYPE or entities."""
    with open_binary(path) as fh:
        try:
            head = fh.read(_HEAD_LIMIT)
        except (OSError, EOFError) as exc:
            raise ReaderError(path, f"cannot read the file ({exc})") from None
    root = _ROOT_RE.search(head)
    if root is None and len(head) == _HEAD_LIMIT:
        raise ReaderError(path, f"no XML root element in the first {_HEAD_LIMIT >> 20} MiB; not mzML/mzXML")
    prolog = head[: root.start()] if root else head
    if _DOCTYPE_RE.search(prolog):
        raise ReaderError(
            path,
            "the file declares a DOCTYPE/entities, which mass-spectrometry XML never needs; "
            "refused for safety (entity expansion or external entity access)",
        )


def safe_iterparse(source: IO[bytes], tag: tuple[str, ...]) -> Iterator[tuple[str, etree._Element]]:
    """``lxml.etree.iterparse`` over ``source`` yielding ``end`` events of ``tag``, hardened.

    Entities are not resolved, no DTD is loaded, the network is off and libxml2's limits on
    huge documents stay on.
    """
    return etree.iterparse(
        source,
        events=("end",),
        tag=tag,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
    )

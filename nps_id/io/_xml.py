"""Safe XML parsing for the XML-based readers (mzML, mzXML).

Entry points: :func:`refuse_dtd` (parse a document's prolog and refuse any DTD) and
:func:`safe_iterparse` (lxml ``iterparse`` with entities, DTD loading and network off).

No mass-spectrometry XML format uses a DTD, so a document with one is refused outright: that
closes entity expansion ("billion laughs", and internal entities that libxml2 expands in
attributes even with ``resolve_entities=False``) and external entities (XXE). The DTD is found by
the parser itself (its ``doctype`` callback), not by scanning text, so no comment,
processing instruction or encoding (UTF-16) hides it. Every later parse of a document that passed
has no entity but the five predefined ones: pyteomics (mzXML) can build its own parser safely.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import IO, Iterator

from lxml import etree

from nps_id.errors import ReaderError
from nps_id.io._source import open_binary

# Entities are not resolved, no DTD is loaded, the network is off and libxml2's limits on huge
# documents (10 MB text nodes, entity amplification) stay on.
_HARDENED = {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": False,
             "remove_comments": True}


class _Unnamed:
    """A binary stream without a ``name``: lxml takes a file object's name as the document URL
    and encodes it strictly as UTF-8, which fails for a file name that is not UTF-8."""

    def __init__(self, source: IO[bytes]) -> None:
        self.read = source.read


class _PrologEnd(Exception):
    """Raised by :class:`_Prolog` where the prolog ends: at a DTD (``dtd`` True) or the root element."""

    def __init__(self, dtd: bool) -> None:
        self.dtd = dtd


class _Prolog:
    """A parser target that stops at the document type declaration or the root element's start tag,
    whichever comes first. The parser reports the DTD itself (no text scan), and before anything
    after it is parsed: with lxml 6.2, ``iterparse`` raised the syntax error of an entity in a later
    attribute before it delivered the root's start event."""

    def doctype(self, name: str | None, public_id: str | None, system_url: str | None) -> None:
        raise _PrologEnd(True)

    def start(self, tag: str, attrib: dict, nsmap: dict | None = None) -> None:
        raise _PrologEnd(False)

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass

    def close(self) -> None:
        return None


def refuse_dtd(path: str | Path) -> None:
    """Raise :class:`ReaderError` if ``path`` (``.gz`` transparent) is not XML or declares a DTD.

    Parses only up to the DTD or the start of the root element, where the prolog (the only place a
    DTD may stand) is complete.
    """
    parser = etree.XMLParser(target=_Prolog(), **_HARDENED)
    try:
        with open_binary(path) as fh:
            while chunk := fh.read(1 << 16):
                parser.feed(chunk)
            parser.close()  # no root element: a syntax error
    except _PrologEnd as end:
        if end.dtd:
            raise ReaderError(
                path,
                "the file declares a DTD (<!DOCTYPE ...>), which mass-spectrometry XML never "
                "needs; refused for safety (entity expansion or external entity access)",
            ) from None
    except etree.XMLSyntaxError as exc:
        raise ReaderError(path, f"not well-formed XML before the root element: {exc.msg}", line=exc.lineno) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ReaderError(path, f"cannot read the file ({exc})") from None


def safe_iterparse(source: IO[bytes], tag: tuple[str, ...]) -> Iterator[tuple[str, etree._Element]]:
    """``lxml.etree.iterparse`` over ``source`` yielding ``end`` events of ``tag``, hardened."""
    return etree.iterparse(_Unnamed(source), events=("end",), tag=tag, **_HARDENED)

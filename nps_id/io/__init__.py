"""Read and write mass spectra in every format a forensic laboratory meets.

Entry points
------------
- :func:`read` -- stream :class:`~nps_id.spectrum.Spectrum` objects from a file; the format is
  taken from the extension, or from the first bytes when the extension is ambiguous or unknown.
- :func:`write` -- write spectra as MSP, MGF or mzML.
- :func:`detect_format` -- the format name :func:`read` would use (:func:`find_format`: None
  when no reader fits; :func:`supported_formats` lists them).
- :func:`content_mismatch` -- why a file's content is not of the format its name gives (a licence
  text named ``.jdx``), for ``nps-id batch``, which takes a file below a folder only when its content
  says it is a run.
- :class:`ReadReport` -- counts of what a read kept and skipped, and the quarantine of bad records;
  :func:`skipped_text` -- its skips in words ("66 chromatograms (not mass spectra)").

One module per format (pyteomics style); each exposes ``read(path, report=None, **opts)`` and,
where it makes sense, ``write(spectra, path)``. ``.gz`` compression is transparent everywhere.
"""
from __future__ import annotations

import codecs
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from nps_id._paths import not_a_regular_file
from nps_id.errors import InputError
from nps_id.io._source import ReadReport, head_bytes, open_binary, skipped_text
from nps_id.spectrum import Spectrum

__all__ = ["read", "write", "detect_format", "find_format", "content_mismatch", "supported_formats",
           "UNKNOWN_FORMAT", "ReadReport", "FORMATS", "open_binary", "skipped_text"]


@dataclass(frozen=True)
class Format:
    name: str
    module: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes], bool]
    writable: bool = False
    is_folder: bool = False


def _has(*needles: bytes) -> Callable[[bytes], bool]:
    return lambda head: any(n in head for n in needles)


_MSP_RE = re.compile(rb"(?im)^\s*(name|num peaks)\s*:")
_MS12_RE = re.compile(rb"(?m)^[HSZI]\t")
# JCAMP-DX labels open a line (a UTF-8 byte-order mark may precede the first); "##TITLE" inside a
# sentence (a PROVENANCE note counting a file's "##TITLE blocks") is no JCAMP-DX file.
_JCAMP_RE = re.compile(rb"(?im)^(?:\xef\xbb\xbf)?[ \t]*##[ \t]*(?:title|jcamp)")
# A JCAMP-DX file holds spectra when one of its data-table labels opens a line (the labels the
# reader reads tables from, nps_id.io.jcamp; ##NTUPLES= opens the pages that hold ##DATA TABLE=).
_JCAMP_TABLE_RE = re.compile(rb"(?im)^[ \t]*##[ \t]*(?:xy[ _-]?data|peak[ _/-]?table|xy[ _-]?points|data[ _/-]?table|ntuples)[ \t]*=")

FORMATS: dict[str, Format] = {
    f.name: f
    for f in [
        Format("mzml", "nps_id.io.mzml", (".mzml",), _has(b"<mzML", b"<indexedmzML"), writable=True),
        Format("mzxml", "nps_id.io.mzxml", (".mzxml",), _has(b"<mzXML")),
        Format("mgf", "nps_id.io.mgf", (".mgf",), _has(b"BEGIN IONS"), writable=True),
        Format("massbank", "nps_id.io.massbank", (".txt",), _has(b"ACCESSION:")),
        Format("jcamp", "nps_id.io.jcamp", (".jdx", ".dx", ".jcamp", ".jcm"), lambda h: bool(_JCAMP_RE.search(h))),
        Format("msp", "nps_id.io.msp", (".msp", ".msl"), lambda h: bool(_MSP_RE.search(h)), writable=True),
        Format("andi", "nps_id.io.andi", (".cdf", ".nc"), lambda h: h[:3] == b"CDF"),
        Format("ms1", "nps_id.io.ms1", (".ms1", ".ms2"), lambda h: bool(_MS12_RE.search(h))),
        Format("agilent", "nps_id.io.agilent", (".d",), lambda h: False, is_folder=True),
    ]
}


def _strip_gz(path: Path) -> str:
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def _utf8_head(head: bytes) -> bytes:
    """``head`` as UTF-8 when it starts with a UTF-16 byte-order mark (Notepad's "Unicode"), so
    the markers the formats are sniffed by are found; the readers decode such files themselves."""
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return head.decode("utf-16", errors="replace").encode("utf-8")
    return head


def _readable(path: str | Path) -> Path:
    """``path`` when it exists and is a regular file or a folder; a FIFO, device or socket named
    as an input would block or never end (one line, exit 3, instead of a hang)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    why = not_a_regular_file(path)
    if why:
        raise InputError(f"{path}: {why}")
    return path


def detect_format(path: str | Path) -> str:
    """Name of the format of ``path`` (a key of :data:`FORMATS`).

    Raises :class:`~nps_id.errors.InputError` when no reader fits.
    """
    fmt = find_format(path)
    if fmt is None:
        raise InputError(f"{path}: {UNKNOWN_FORMAT} (supported: {supported_formats()})")
    return fmt


#: Why :func:`find_format` found no format (without the file and the format list: a batch lists
#: many such files and the formats once).
UNKNOWN_FORMAT = "cannot tell the file format from its name or first bytes"


def find_format(path: str | Path) -> str | None:
    """:func:`detect_format`, but None when no reader fits (an unusable path still raises
    :class:`~nps_id.errors.InputError`: missing, not a regular file, a folder other than ``.D``)."""
    path = _readable(path)
    if path.is_dir():
        if path.suffix.lower() == ".d":
            return "agilent"
        raise InputError(f"{path}: is a folder, not a run (only Agilent .D folders are runs)")
    name = _strip_gz(path)
    by_ext = [f for f in FORMATS.values() if any(name.endswith(e) for e in f.extensions)]
    if len(by_ext) == 1 and by_ext[0].name not in ("massbank",):
        return by_ext[0].name
    head = _utf8_head(head_bytes(path))
    for fmt in FORMATS.values():
        if fmt.sniff(head):
            return fmt.name
    return None


#: How much of a file :func:`content_mismatch` reads: the real runs' first data table starts within
#: 1 KB of the file's start (the JCAMP-DX runs of ../shared/data at bytes 545 and 561).
CONTENT_HEAD_BYTES = 65536


def content_mismatch(path: str | Path, fmt: str) -> str | None:
    """Why the content of ``path`` is not ``fmt`` (a name of :data:`FORMATS`), or None when it is.

    :func:`find_format` trusts an unambiguous extension; this reads the file's first
    :data:`CONTENT_HEAD_BYTES` and asks the format's own sniff (``<mzML``, ``BEGIN IONS``, a
    netCDF header, ...), and of a JCAMP-DX file also a data table, so a licence text named
    ``LICENSE-gcms.jdx`` is not taken for a run. An Agilent ``.D`` folder is not checked. An empty
    or zero-filled file has no content to be another file by: None (a run whose writing was cut off,
    or lost in a crash, fails as a run with its reason instead of dropping out of a batch).
    """
    spec = FORMATS[fmt]
    if spec.is_folder:
        return None
    raw = head_bytes(path, CONTENT_HEAD_BYTES)
    if not raw.strip(b"\0"):
        return None
    head = _utf8_head(raw)
    if not spec.sniff(head):
        return f"named as {fmt} ({' '.join(spec.extensions)}), but its content is not {fmt}"
    if fmt == "jcamp" and not _JCAMP_TABLE_RE.search(head):
        return ("a JCAMP-DX header without spectra (no ##XYDATA=, ##PEAK TABLE=, ##XYPOINTS= or ##NTUPLES= "
                f"in its first {CONTENT_HEAD_BYTES // 1024} KiB)")
    return None


def supported_formats() -> str:
    """The formats :func:`read` knows, each with its extensions: ``"mzml (.mzml), ...; files
    optionally .gz"`` (".txt" alone would read as "any text file")."""
    return ", ".join(f"{f.name} ({' '.join(f.extensions)})" for f in FORMATS.values()) + "; files optionally .gz"


def read(
    path: str | Path,
    format: str | None = None,
    *,
    lenient: bool = False,
    report: ReadReport | None = None,
    **options,
) -> Iterator[Spectrum]:
    """Stream the spectra of ``path``.

    Parameters
    ----------
    path
        A file (``.gz`` is transparent) or an Agilent ``.D`` folder.
    format
        Force a reader (a key of :data:`FORMATS`); default: detect.
    lenient
        Skip malformed records (recorded in ``report.quarantine``) instead of raising
        :class:`~nps_id.errors.ReaderError`.
    report
        A :class:`ReadReport` to fill with counts; one is made if not given.
    options
        Reader-specific options (e.g. ``ms_level=1`` for mzML).

    The format is checked before this returns; spectra are parsed lazily as you iterate.
    """
    fmt = FORMATS[format] if format else FORMATS[detect_format(path)]
    _readable(path)
    if report is None:
        report = ReadReport(str(path))
    report.format = fmt.name
    report.lenient = lenient
    module = importlib.import_module(fmt.module)
    return _counting(module.read(str(path), report=report, **options), report)


def _counting(spectra: Iterator[Spectrum], report: ReadReport) -> Iterator[Spectrum]:
    for spectrum in spectra:
        report.read += 1
        yield spectrum


def write(spectra: Iterable[Spectrum], path: str | Path, format: str | None = None) -> int:
    """Write ``spectra`` to ``path`` as MSP, MGF or mzML (from the extension unless ``format``).

    Returns the number of spectra written. A name ending in ``.gz`` is gzipped. The file is
    written to a temporary name beside ``path`` and renamed when complete, so an interrupted
    write never leaves a partial file.
    """
    path = Path(path)
    if format is None:
        name = _strip_gz(path)
        matches = [f for f in FORMATS.values() if f.writable and any(name.endswith(e) for e in f.extensions)]
        if not matches:
            raise InputError(f"{path}: cannot write this format; use .msp, .mgf or .mzML")
        format = matches[0].name
    fmt = FORMATS.get(format)
    if fmt is None or not fmt.writable:
        raise InputError(f"cannot write format {format!r}; use msp, mgf or mzml")
    module = importlib.import_module(fmt.module)
    if path.name.lower().endswith(".gz"):
        return _write_gzipped(module, spectra, path)
    return module.write(spectra, str(path))


def _write_gzipped(module, spectra: Iterable[Spectrum], path: Path) -> int:
    """``module.write`` into a temporary folder, then gzip the file atomically onto ``path``.

    The plain file keeps the target's name without ``.gz`` (the mzML run id comes from it), and
    the gzip header carries no name or time, so the same spectra always give the same bytes.
    """
    import gzip
    import shutil
    import tempfile

    from nps_id._atomic import atomic_output

    with atomic_output(path) as tmp, tempfile.TemporaryDirectory(dir=tmp.parent) as folder:
        plain = Path(folder) / path.name[:-3]
        count = module.write(spectra, str(plain))
        with open(plain, "rb") as src, open(tmp, "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
            shutil.copyfileobj(src, out)
    return count

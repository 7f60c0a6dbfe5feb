"""Shared plumbing for readers: opening files (``.gz`` transparent) and the read report.

Entry points: :func:`open_binary`, :func:`open_range`, :func:`head_bytes`, :func:`line_batches`, :func:`numbered_lines`,
:func:`cut_spans` (a file cut into byte ranges, :class:`Span`), :func:`lazy_read`, :func:`guard_io`,
:func:`inflate`, :func:`scan_peaks`, :func:`is_missing`, :func:`parse_float`, :func:`decimal_numbers` (a text's
numbers at once, each ``float()``'s),
:func:`peak_fault` (why a text peak would be refused, so a reader names its own line), :class:`ReadReport`
and :func:`skipped_text` (its skips in words, :data:`SKIP_PLURALS`).

Limits every reader shares (a hostile file must not take the memory of the machine): a spectrum
holds at most :data:`MAX_POINTS` points, however a file declares or encodes it; a zlib payload
inflates only to the size its spectrum declares (:func:`inflate`); a text line is at most
:data:`MAX_LINE_CHARS` characters long.
"""
from __future__ import annotations

import bisect
import codecs
import functools
import gzip
import itertools
import math
import mmap
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping, TypeVar

import numpy as np

from nps_id._words import counted
from nps_id.errors import InputError, ReaderError
from nps_id.spectrum import INTENSITY_DTYPE, MAX_MZ

GZIP_MAGIC = b"\x1f\x8b"
T = TypeVar("T")

#: The most points one spectrum may hold (an FT-ICR profile scan has a few million); a file that
#: declares or expands to more is refused before the points are allocated.
MAX_POINTS = 10_000_000
#: The longest line a text reader accepts, in characters (a whole peak list on one line fits).
MAX_LINE_CHARS = 8 << 20

# Values that mean "not known" in the wild; such a field is dropped rather than kept as text.
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "none", "null", "unknown", "-"})
_LONGEST_MISSING = max(map(len, MISSING_VALUES))


def is_missing(value: str, *, dash_is_value: bool = False) -> bool:
    """Whether a text field means "not known" (one of :data:`MISSING_VALUES`, any case).

    Parameters
    ----------
    value
        The field as read; surrounding white space is ignored.
    dash_is_value
        Read ``"-"`` as a value rather than as a missing marker (MGF writes ``IONMODE=-`` for
        negative mode).

    >>> is_missing(" N/A "), is_missing("-"), is_missing("-", dash_is_value=True)
    (True, True, False)
    """
    text = value.strip()
    if len(text) > _LONGEST_MISSING:  # most values: decided without lower-casing them
        return False
    if dash_is_value and text == "-":
        return False
    return text.lower() in MISSING_VALUES


# Byte classes of :func:`decimal_numbers`: 0 refused, 1 digit, 2 point, 3 space or tab, 4 a byte of
# an exponent or sign (such a token is read by ``float()`` itself).
_NUMBER_BYTES = np.zeros(256, np.uint8)
_NUMBER_BYTES[ord("0"):ord("9") + 1] = 1
_NUMBER_BYTES[ord(".")] = 2
_NUMBER_BYTES[[ord(" "), ord("\t")]] = 3
_NUMBER_BYTES[[ord("e"), ord("E"), ord("+"), ord("-")]] = 4
#: Digits of a number :func:`decimal_numbers` reads itself: below 2**53, the integer of its digits
#: is exact in a float64.
_EXACT_DIGITS = 15
_POWERS_OF_TEN = 10.0 ** np.arange(_EXACT_DIGITS + 1)  # each exact in a float64
#: The longest text :func:`decimal_numbers` reads (its arrays take ~45 bytes a character; an MSP
#: batch is ~1 MB): a record of millions of peaks is read by ``float()``, as before.
_MOST_NUMBER_CHARS = 2 << 20


@functools.lru_cache(maxsize=None)
def _byte_kinds(separators: str) -> np.ndarray:
    """:data:`_NUMBER_BYTES` with ``separators`` (ASCII) read as spaces."""
    kinds = _NUMBER_BYTES.copy()
    kinds[[ord(c) for c in separators]] = 3
    return kinds


def decimal_numbers(texts: list[str], separators: str = "") -> tuple[np.ndarray, np.ndarray] | None:
    """The numbers of ``texts`` (each numbers separated by spaces, tabs or ``separators``), bit for
    bit what ``float()`` gives each token of ``str.split()`` (the separators made spaces), all texts'
    in one float64 array, and the count of each text's; None when a text holds anything else (a
    letter, another separator, a non-ASCII character, a token ``float()`` might refuse) or the texts
    are longer than :data:`_MOST_NUMBER_CHARS`: the caller reads them by ``float()``.

    Why by hand: ``float()`` per token and numpy's own text parsers (``fromstring``, ``loadtxt``)
    take ~0.17 us a number, 0.2 s of the 1.2 million numbers of 9,670 EI queries; pandas' parser is
    fast but its import costs more than it saves. Here a plain decimal of at most 15 digits is the
    integer of its digits (exact) divided by a power of ten (exact): one IEEE division, correctly
    rounded -- the value ``float()`` gives (Clinger's fast path). A token with an exponent or a
    sign is given to ``float()`` itself.
    """
    if sum(map(len, texts)) > _MOST_NUMBER_CHARS:
        return None
    try:
        buf = " ".join(texts).encode("ascii")
    except UnicodeEncodeError:
        return None
    chars = np.frombuffer(buf, np.uint8)
    kind = _byte_kinds(separators)[chars]
    if not kind.all():
        return None
    word = kind != 3
    first = np.empty_like(word)  # a token's first byte
    first[:1] = word[:1]
    np.greater(word[1:], word[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    if not starts.size:  # no text, or spaces only
        return np.empty(0), np.zeros(len(texts), np.int64)
    token = np.cumsum(first, dtype=np.int32) - 1  # each byte's token
    digit = kind == 1
    counted = np.cumsum(digit, dtype=token.dtype)  # digits up to and with each byte
    last = np.r_[starts[1:], chars.size] - 1  # the byte before the next token (a space, or the token's last)
    to_end = counted[last]  # digits up to each token's end
    digits = to_end - counted[starts] + digit[starts]
    if digits.size and (digits.min() < 1 or digits.max() > _EXACT_DIGITS):  # no digit, or too many
        return None
    special = np.flatnonzero(kind == 4)  # an exponent or a sign: float() reads its token
    point = np.flatnonzero(kind == 2)
    point_token = token[point]
    if (point_token[1:] == point_token[:-1]).any():  # two points
        return None
    at = np.flatnonzero(digit)
    at_token = token[at]
    place = to_end[at_token] - counted[at]  # the digits after it in its token
    integer = np.bincount(at_token, weights=(chars[at] - 48) * _POWERS_OF_TEN[place], minlength=starts.size)
    decimals = np.zeros(starts.size, np.intp)
    decimals[point_token] = to_end[point_token] - counted[point]
    values = integer / _POWERS_OF_TEN[decimals]
    stops = np.flatnonzero(np.diff(np.r_[word, False].view(np.int8)) < 0) + 1  # past each token's last byte
    for i in sorted(set(token[special].tolist())):  # (np.unique would import numpy.ma: ~6 ms of one spectrum)
        try:  # the token's own bytes: "+85;" would refuse a separator float() never sees
            values[i] = float(buf[starts[i]:stops[i]])
        except ValueError:
            return None
    bounds = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)) + 1) - 1  # each text's end
    return values, np.diff(np.searchsorted(starts, bounds), prepend=0)


def parse_float(text: str, what: str, *, finite: bool = True, decimal_comma: bool = False) -> float:
    """The number in a text field, or a ``ValueError`` that names the field and quotes the text.

    Parameters
    ----------
    text
        The field as read (white space around the number is allowed).
    what
        How the message names the field: ``"selected ion m/z"`` gives ``selected ion m/z 'abc'
        is not a number``; a name ending in ``=`` is followed directly by the text, as the
        ``KEY=value`` line stands in the file (``PEPMASS='abc' is not a number``).
    finite
        Reject ``nan`` and ``inf`` (also ``1e400``, which overflows to infinity). With
        ``finite=False`` they are returned as read.
    decimal_comma
        Read a single comma as the decimal point (``"123,45"``, from exports written under a
        European locale).

    Raises
    ------
    ValueError
        ``text`` is not a number, or (``finite=True``) not a finite one.

    >>> parse_float(" 91.05 ", "m/z"), parse_float("0,5", "RI", decimal_comma=True)
    (91.05, 0.5)
    """
    if decimal_comma and text.count(",") == 1:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{_named(what, text)} is not a number") from None
    if finite and not math.isfinite(value):
        raise ValueError(f"{_named(what, text)} is not a finite number")
    return value


#: The largest intensity a Spectrum holds; a larger one overflows its float32 dtype.
FLOAT32_MAX = float(np.finfo(INTENSITY_DTYPE).max)
#: A text peak line whose m/z is written ``nan`` or ``inf``: a peak line, so that its error names
#: its own line (``Info: ...``, ``inf: ...`` and ``INFO=...`` stay metadata lines).
NON_FINITE_PEAK = re.compile(r"(?i)(?:nan|inf(?:inity)?)(?=[\s;,()]|$)")


def peak_fault(mz: float, intensity: float) -> str | None:
    """Why :class:`~nps_id.spectrum.Spectrum` would refuse this peak, as a reader's error text;
    None for a good peak. Text readers check each peak themselves so the error names the peak's
    own line, not the record's first.

    >>> peak_fault(91.0, 999.0) is None, peak_fault(float("nan"), 5.0)
    (True, 'peak m/z must be a positive finite number and intensity finite and >= 0')
    """
    if not (math.isfinite(mz) and math.isfinite(intensity) and mz > 0 and intensity >= 0):
        return "peak m/z must be a positive finite number and intensity finite and >= 0"
    if mz > MAX_MZ:
        return f"peak m/z above {MAX_MZ:g}: no mass spectrometer measures such ions"
    if intensity > FLOAT32_MAX:
        return f"peak intensity above {FLOAT32_MAX:g}, the largest float32"
    return None


def _named(what: str, text: str) -> str:
    return f"{what}{text!r}" if what.endswith("=") else f"{what} {text!r}"


def open_binary(path: str | Path) -> IO[bytes]:
    """Open ``path`` for binary reading, decompressing gzip transparently (by magic bytes)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def head_bytes(path: str | Path, size: int = 4096) -> bytes:
    """The first ``size`` bytes of the (decompressed) file, for format sniffing."""
    try:
        with open_binary(path) as fh:
            return fh.read(size)
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a .gz whose deflate data is damaged
        raise ReaderError(path, f"cannot read the file ({exc})") from None


def lazy_read(path: str | Path, report: ReadReport | None, parse: Callable[..., Iterator[T]],
              *args: Any) -> Iterator[T]:
    """``parse(path, report, *args)`` as the iterator a text reader's ``read`` returns.

    The file is opened (and closed) now, so a missing or unreadable file fails when the reader
    is called, not at the first ``next()``; ``parse`` opens it itself once iterated, so a reader
    never started holds no file. ``report`` defaults to a fresh (strict) one. A truncated or
    corrupt (gzip) stream met while iterating is a :class:`ReaderError`.
    """
    path = str(path)
    open_binary(path).close()
    return guard_io(parse(path, report if report is not None else ReadReport(path), *args), path)


def guard_io(records: Iterator[T], path: str) -> Iterator[T]:
    """``records`` with a truncated or corrupt (gzip) stream, or an overlong text line, met while
    iterating turned into a :class:`ReaderError` naming ``path``."""
    try:
        yield from records
    except (OSError, EOFError, zlib.error) as exc:
        raise ReaderError(path, f"cannot read the file, it is truncated or corrupt ({exc})") from None
    except _LineTooLong as exc:
        raise ReaderError(path, f"a line longer than {MAX_LINE_CHARS >> 20} MiB; not a spectrum file "
                          "(or a damaged one)", line=exc.line) from None


def inflate(data: bytes, max_bytes: int) -> bytes:
    """The zlib-decompressed ``data``, never more than ``max_bytes`` of it.

    Raises ``ValueError`` when the stream would inflate to more (a compression bomb is stopped
    after ``max_bytes + 1`` bytes, not after gigabytes) and ``zlib.error`` when it is corrupt or
    truncated.
    """
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, max_bytes + 1)
    if len(out) > max_bytes:
        raise ValueError(f"inflates to more than {max_bytes} bytes")
    if not inflater.eof:  # all input used up (output was below the limit) and no end marker
        raise zlib.error("incomplete or truncated stream")
    return out


_CHUNK_BYTES = 1 << 20
_FALLBACK_ENCODING = "cp1252"  # old NIST / AMDIS exports written on Windows


def _text_chunks(raw: IO[bytes], encoding: str | None) -> Iterator[str]:
    """Decoded text in ~1 MB pieces with line ends normalised to ``\\n``.

    ``encoding=None``: UTF-8, switching to Windows-1252 from the first byte sequence that is
    not UTF-8 (so "µ", "°", "é" of old exports are read right, not as U+FFFD); UTF-16 when the
    file opens with its byte-order mark (Notepad's "Unicode").
    """
    decoder = codecs.getincrementaldecoder(encoding or "utf-8")(
        errors="strict" if encoding is None else "replace")
    carried_cr = ""
    first = True
    while True:
        data = raw.read(_CHUNK_BYTES)
        final = not data
        if first and data.startswith(codecs.BOM_UTF8):  # a byte-order mark is not text
            data = data[len(codecs.BOM_UTF8):]
        elif first and encoding is None and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")  # drops the BOM itself
        first = False
        pending = decoder.getstate()[0]  # at most 3 bytes of a split UTF-8 sequence
        try:
            text = decoder.decode(data, final)
        except UnicodeDecodeError:
            decoder = codecs.getincrementaldecoder(_FALLBACK_ENCODING)(errors="replace")
            text = decoder.decode(pending + data, final)
        text = carried_cr + text
        carried_cr = ""
        if text.endswith("\r") and not final:  # a CRLF split between two chunks
            text, carried_cr = text[:-1], "\r"
        yield text.replace("\r\n", "\n").replace("\r", "\n")
        if final:
            return


class _LineTooLong(Exception):
    """Internal: line ``line`` (1-based) is longer than :data:`MAX_LINE_CHARS`."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _lines(chunks: Iterator[str], done: int = 0) -> Iterator[list[str]]:
    """The lines of ``chunks`` in lists of about 1 MB: iterating a list is twice as fast as a
    (gzip) text stream line by line, which re-checks the stream state on every line.

    A line longer than :data:`MAX_LINE_CHARS` raises ``_LineTooLong`` as soon as that much of it
    has been read (one endless line in a gzip would otherwise grow without limit); ``done``: the
    lines of the file before ``chunks`` (a byte range's), for that line's number.
    """
    tail = ""
    for chunk in chunks:
        lines = (tail + chunk).split("\n")
        tail = lines.pop()
        # Only the first line can carry an earlier tail; the others fit in one chunk.
        if lines and len(lines[0]) > MAX_LINE_CHARS:
            raise _LineTooLong(done + 1)
        if len(tail) > MAX_LINE_CHARS:
            raise _LineTooLong(done + len(lines) + 1)
        if lines:
            done += len(lines)
            yield lines
    if tail:
        yield [tail]


def line_batches(raw: IO[bytes], encoding: str | None = None, first_line: int = 0) -> Iterator[list[str]]:
    """The lines (without line ends) of a binary stream in lists of about 1 MB, decoded as
    UTF-8 with a Windows-1252 fallback (``encoding=None``) or as ``encoding``; ``first_line``:
    lines of the file before the stream (a byte range of it, :func:`open_range`)."""
    return _lines(_text_chunks(raw, encoding), first_line)


class open_range:
    """The bytes ``start:stop`` of a file, or of ``data`` (its text, decompressed), as a binary
    stream for :func:`line_batches`: a worker reads its part of a query file (``nps-id search``)."""

    def __init__(self, path: str | Path, start: int, stop: int, data: bytes | None = None) -> None:
        self._raw = open(path, "rb") if data is None else None
        self._data = memoryview(data) if data is not None else None
        if self._raw is not None:
            self._raw.seek(start)
        self._at, self._stop = start, stop

    def read(self, size: int) -> bytes:
        size = min(size, self._stop - self._at)
        data = self._raw.read(size) if self._raw is not None else bytes(self._data[self._at:self._at + size])
        self._at += len(data)
        return data

    def __enter__(self) -> "open_range":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._raw is not None:
            self._raw.close()


@dataclass
class Span:
    """Bytes ``start:stop`` of a text spectrum file, from the start of a record, with the lines and
    records of the file before it (:func:`cut_spans`) and what a reader carries into it from them
    (``carried``: MGF's global ``KEY=value`` pairs); ``last``: the range that ends the file. A
    reader of the range sets ``end_record`` and ``end_carried``: the next range's first record and
    carried pairs as the whole file's read has them there (``end_record`` None: that read would
    join the next range's first lines to this range's last record)."""

    start: int
    stop: int
    line: int
    record: int
    carried: tuple[tuple[str, str], ...] = ()
    last: bool = False
    end_record: int | None = None
    end_carried: tuple[tuple[str, str], ...] = ()

    def ends_before(self, after: "Span | None") -> bool:
        """Whether this range, read, ends where ``after`` (the next range; None: no next range)
        starts as the whole file's read has it there."""
        return after is None or (self.end_record, self.end_carried) == (after.record, after.carried)


def cut_spans(path: str | Path, first: int, parts: int, least: int,
              record_start: bytes) -> tuple[list[Span], bytes | None] | None:
    """A text file of ``least`` records or more, each opening with a line that the regular
    expression ``record_start`` matches from its start, cut at such lines into a range of its
    first ``first`` records and ``parts`` ranges of the rest of about equal size, for reading in
    parallel, with the file's text when it is gzipped (decompressed here, for a reader's ``data``;
    a plain file is memory-mapped, never copied whole, and read by each range itself); None for a
    file that cannot be cut so that each range reads as in the whole file: fewer records, not
    UTF-8 (the reader would switch to Windows-1252 part-way), lone carriage returns (line ends the
    reader counts that the cut does not), or a damaged gzip stream (the whole file's read tells it).
    The records are counted by the lines the expression matches; each range's reader checks the
    count where it stops (:meth:`Span.ends_before`)."""
    with open(path, "rb") as fh:
        if fh.peek(2)[:2] == GZIP_MAGIC:
            try:
                with open_binary(path) as raw:
                    text = raw.read()
            except (OSError, EOFError, zlib.error):
                return None
            cut = _cut(text, first, parts, least, record_start)
            return None if cut is None else (cut, text)
        if not fh.seek(0, 2):
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            cut = _cut(data, first, parts, least, record_start)
            return None if cut is None else (cut, None)


def _cut(data: Any, first: int, parts: int, least: int, record_start: bytes) -> list[Span] | None:
    """:func:`cut_spans` of the bytes ``data`` (bytes, a memory map)."""
    starts = [0] * bool(re.match(record_start, data)) + [
        m.start() + 1 for m in re.finditer(b"\n" + record_start, data)]
    if len(starts) < max(least, first + parts) or _LONE_CR.search(data) or not _utf8(data):
        return None
    size, rest = len(data), starts[first]
    cuts = sorted({first, *(bisect.bisect_left(starts, rest + (size - rest) * k // parts, first)
                            for k in range(1, parts))} - {len(starts)})
    bounds = [0, *(starts[c] for c in cuts), size]
    lines = [0]
    for a, b in zip(bounds[:-2], bounds[1:-1]):
        lines.append(lines[-1] + sum(data[at:min(at + _PIECE, b)].count(b"\n") for at in range(a, b, _PIECE)))
    ranges = [Span(a, b, line, record) for a, b, line, record in zip(bounds[:-1], bounds[1:], lines, [0, *cuts])]
    ranges[-1].last = True
    return ranges


_PIECE = 1 << 22
_LONE_CR = re.compile(rb"\r(?!\n)")


def _utf8(data: Any) -> bool:
    """Whether ``data`` (bytes, a memory map) is UTF-8 throughout, read in pieces."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for at in range(0, len(data), _PIECE):
            piece = data[at:at + _PIECE]
            if not piece.isascii() or decoder.getstate()[0]:
                decoder.decode(piece)
        decoder.decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def numbered_lines(raw: IO[bytes], encoding: str | None = None, first_line: int = 0) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line end) of a binary stream, decoded as by
    :func:`line_batches`; shared by the text readers (MGF, MS1/MS2, MassBank, JCAMP-DX);
    ``first_line``: lines of the file before the stream (a byte range of it)."""
    return enumerate(itertools.chain.from_iterable(line_batches(raw, encoding, first_line)), start=first_line + 1)


ZERO_MZ_SKIP = "peak at m/z 0 (dropped; not an ion)"
#: Skip reason for chromatograms (``inspect`` uses it to say a file holds no spectra).
CHROMATOGRAM_SKIP = "chromatogram (not a mass spectrum)"
#: Skip reason of MS1 scans a run leaves out for having no time (:func:`nps_id.gcms.run.load_run`).
UNTIMED_MS1 = "MS1 scan without a retention time"
#: The plural of each fixed skip reason, for a count of them in words ("66 chromatograms (not mass
#: spectra)"; "66 chromatogram" read as a typo). A reason not listed (the level filters' "ms level 2
#: (kept only ms level 1)") counts as it reads.
SKIP_PLURALS = {
    "empty spectrum": "empty spectra",
    "malformed record": "malformed records",
    ZERO_MZ_SKIP: "peaks at m/z 0 (dropped; not ions)",
    CHROMATOGRAM_SKIP: "chromatograms (not mass spectra)",
    UNTIMED_MS1: "MS1 scans without a retention time",
}


def skipped_text(skipped: Mapping[str, int]) -> str:
    """A :attr:`ReadReport.skipped` count in words, or "none".

    >>> skipped_text({CHROMATOGRAM_SKIP: 66, "empty spectrum": 1})
    '66 chromatograms (not mass spectra); 1 empty spectrum'
    """
    return "; ".join(counted(n, reason, SKIP_PLURALS.get(reason, reason)) for reason, n in skipped.items()) or "none"


def scan_peaks(mz: np.ndarray, intensity: np.ndarray,
               report: ReadReport) -> tuple[np.ndarray, np.ndarray] | None:
    """The peaks of a decoded mzML / mzXML scan without the m/z 0 points some converters and
    synthetic test files write (counted as :data:`ZERO_MZ_SKIP`); None, counted as an
    ``"empty spectrum"``, when no peak is left.

    The zero points go first, so a scan of only m/z 0 points is skipped as empty (not
    rejected by :class:`~nps_id.spectrum.Spectrum`) in both XML readers alike.
    """
    zero = mz == 0
    if zero.any():
        report.skip(ZERO_MZ_SKIP, int(zero.sum()))
        mz, intensity = mz[~zero], intensity[~zero]
    if mz.size == 0:
        report.skip("empty spectrum")
        return None
    return mz, intensity


@dataclass
class ReadReport:
    """What a reader kept, skipped and why.

    ``skip(reason)`` counts records left out on purpose (empty scans, chromatograms, a level
    filter). ``bad(...)`` handles a malformed record: strict mode raises :class:`ReaderError`;
    lenient mode records it in :attr:`quarantine` and lets the reader go on.
    """

    path: str
    format: str = ""
    lenient: bool = False
    read: int = 0
    skipped: Counter = field(default_factory=Counter)
    quarantine: list[dict[str, Any]] = field(default_factory=list)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    def bad(
        self,
        message: str,
        *,
        record: int | str | None = None,
        line: int | None = None,
        text: str | None = None,
    ) -> None:
        error = ReaderError(self.path, message, record=record, line=line, text=text)
        if not self.lenient:
            raise error
        self.quarantine.append(
            {"file": self.path, "record": record, "line": line, "error": message, "text": text}
        )
        self.skipped["malformed record"] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "format": self.format,
            "read": self.read,
            "skipped": dict(self.skipped),
            "quarantine": list(self.quarantine),
        }

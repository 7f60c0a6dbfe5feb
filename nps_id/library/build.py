"""Build an nps-id reference library from spectrum files, with quality control.

Entry points
------------
- :func:`build_library` -- sources (files or folders) -> one library file, atomically.
- :class:`BuildSummary` / :class:`SourceSummary` / :class:`Duplicate` -- what was kept, rejected
  and why, per source; duplicate groups.
- :func:`expand_sources` -- the readable files among files and folders.

Steps of a build (matched by ``# Step n`` comments in :func:`build_library`):

1. Expand folders into readable files (``nps_id.io.detect_format``); note the others.
2. With ``append``, load the existing library's spectra and provenance.
3. Hash each source (:func:`nps_id._hashing.sha256_path`), read it, apply QA (at least 2 peaks,
   some intensity > 0; the reader itself rejects m/z <= 0 and non-finite values), treat a formula
   that is no formula ("C12H??") as absent (a note), fill missing InChIKeys from SMILES/InChI.
4. Structures: verify the records' own, add verified ones from other libraries, tables and
   names (:func:`nps_id.library.structures.resolve_structures`).
5. Find duplicates (same InChIKey; same name + formula with unit-binned cosine > 0.99).
6. Build the optional search indexes, then write everything into a temporary file beside the
   target and rename it over the target (a killed build leaves the old library intact; a full
   disk is one line, exit code 3, and leaves it intact too).

Steps 2-6 hold an exclusive lock (``fcntl.flock`` on ``.NAME.lock`` beside the target -- the file
a symbolic link names, not the link --, removed when the build ends), so two builds onto one file
run one after the other: a second ``--append`` reads the library the first one wrote, and no
append is lost.

Duplicates are reported, not removed: a library legitimately holds several spectra of one
compound (instruments, collision energies, laboratories).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from nps_id._atomic import atomic_output, is_stream
from nps_id._hashing import PathDigest, sha256_path
from nps_id.errors import InputError, ReaderError, record_number, shorten
from nps_id.library.store import MIN_PEAKS
from nps_id.library.structures import (
    UNVERIFIED,
    Chemistry,
    StructureStep,
    coverage,
    parse_formula,
    resolve_structures,
)
from nps_id.library.writer import utc_now
from nps_id.peaks import CSRPeaks
from nps_id.spectrum import Spectrum, spectra_count

IndexBuilder = Callable[
    [CSRPeaks, dict[str, np.ndarray]], dict[str, tuple[dict[str, np.ndarray], dict[str, Any]]]
]

#: Two spectra of the same name and formula are duplicates above this unit-binned cosine.
DUPLICATE_COSINE = 0.99
#: How many near-identical name+formula pairs a build lists (all are counted).
DUPLICATE_PAIRS_LISTED = 100
#: Cells of a group's Gram matrix computed at once (8 MB of float64).
_GRAM_CELLS = 1 << 20


@dataclass
class SourceSummary:
    """What one source file contributed.

    ``rejected`` maps a reason to a count; ``read`` is what the reader returned (before QA).
    """

    path: str
    format: str = ""
    sha256: str = ""
    size_bytes: int = 0
    read: int = 0
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    inchikey_filled: int = 0
    not_selected: int = 0  # left out by the build's ``select`` filter (not a QA rejection)
    url: str = ""  # where the file was downloaded from, when it was

    @property
    def n_rejected(self) -> int:
        return int(sum(self.rejected.values()))

    def provenance(self) -> dict[str, Any]:
        """The ``/provenance/sources/NNNN`` attributes of this source."""
        return {
            "file": Path(self.path).name,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "format": self.format,
            "read": self.read,
            "kept": self.kept,
            "rejected": self.n_rejected,
            "rejected_reasons": dict(self.rejected),
            "inchikey_filled": self.inchikey_filled,
            "not_selected": self.not_selected,
            "url": self.url,
            "added": utc_now(),
        }


@dataclass(frozen=True)
class Duplicate:
    """A group of library rows that look like the same reference.

    ``kind`` is ``"inchikey"`` (rows sharing an InChIKey) or ``"name+formula"`` (a pair of rows
    with the same name and formula whose unit-binned cosine is ``cosine``).
    """

    kind: str
    key: str
    rows: tuple[int, ...]
    cosine: float | None = None


@dataclass
class BuildSummary:
    """Result of :func:`build_library`."""

    output: Path
    n_spectra: int = 0
    sha256: str = ""
    sources: list[SourceSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: InChIKey groups, then the first :data:`DUPLICATE_PAIRS_LISTED` name+formula pairs
    duplicates: list[Duplicate] = field(default_factory=list)
    #: all near-identical name+formula pairs (listed or not)
    name_formula_pairs: int = 0
    previous_spectra: int = 0
    indexes: list[str] = field(default_factory=list)
    structures: list[StructureStep] = field(default_factory=list)
    structure_coverage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "n_spectra": self.n_spectra,
            "sha256": self.sha256,
            "previous_spectra": self.previous_spectra,
            "sources": [
                {**s.provenance(), "path": s.path} for s in self.sources
            ],
            "notes": list(self.notes),
            "duplicates": {"inchikey": sum(d.kind == "inchikey" for d in self.duplicates),
                           "name+formula": self.name_formula_pairs},
            "indexes": list(self.indexes),
            "structures": {**self.structure_coverage,
                           "steps": [s.provenance() for s in self.structures]},
        }


# -- Step 1: sources ---------------------------------------------------------------------------
def expand_sources(sources: Iterable[str | Path]) -> tuple[list[tuple[Path, str]], list[str]]:
    """Readable files among ``sources`` (folders walked in sorted order) and notes on the rest.

    Returns
    -------
    files : list of (path, format name)
    notes : list of str
        One line per skipped file ("not a spectrum file").
    """
    from nps_id.io import detect_format

    files: list[tuple[Path, str]] = []
    notes: list[str] = []
    for source in sources:
        source = Path(source)
        if not source.exists():
            raise InputError(f"{source}: no such file or folder")
        if not source.is_dir() or source.suffix.lower() == ".d":
            files.append((source, detect_format(source)))  # named explicitly: must be readable
            continue
        for root, dirs, names in os.walk(source):
            dirs.sort()
            runs = [d for d in dirs if d.lower().endswith(".d")]
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in runs]
            for name in sorted(names) + runs:
                if name.startswith("."):
                    continue
                path = Path(root) / name
                try:
                    files.append((path, detect_format(path)))
                except (InputError, ReaderError) as exc:
                    notes.append(f"skipped {path}: not a readable spectrum file ({exc})")
    return files, notes


# -- Step 3: QA and InChIKeys ------------------------------------------------------------------
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _reader_reason(message: str) -> str:
    """A reader's quarantine message as a countable reason (numbers replaced by N)."""
    if "positive" in message or "finite" in message:
        return "m/z <= 0 or non-finite value"
    return _NUMBER.sub("N", message)


def qa_reason(spectrum: Spectrum) -> str | None:
    """Why ``spectrum`` cannot go into a library, or None when it can.

    m/z <= 0 and non-finite values cannot occur here: :class:`Spectrum` refuses them, so the
    reader already rejected such records.
    """
    if len(spectrum) == 0:
        return "no peaks"
    if len(spectrum) < MIN_PEAKS:
        return "only one peak"
    if not (spectrum.intensity > 0).any():
        return "all intensities zero"
    return None


def _read_source(
    summary: SourceSummary,
    lenient: bool,
    chemistry: Chemistry,
    select: Callable[[Spectrum], bool] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> list[Spectrum]:
    """Read ``summary.path``, apply QA, fill InChIKeys; counts go into ``summary``."""
    from nps_id.io import ReadReport, read

    path = Path(summary.path)
    report = ReadReport(str(path))
    kept: list[Spectrum] = []
    for spectrum in read(path, format=summary.format, lenient=lenient, report=report):
        if select is not None and not select(spectrum):
            summary.not_selected += 1
            continue
        reason = qa_reason(spectrum)
        if reason is not None:
            summary.rejected[reason] += 1
            continue
        # A structure_status means the record comes from an nps-id library (an export), whose
        # InChIKey column is authoritative: an unverified structure there has no key on purpose.
        if (not spectrum.get("inchikey") and not spectrum.get("structure_status")
                and (spectrum.get("smiles") or spectrum.get("inchi"))):
            found = chemistry.identity(spectrum.get("smiles") or "", spectrum.get("inchi") or "")
            if found:  # the key says nothing about whether the structure is right: unverified
                spectrum = spectrum.replace(inchikey=found.inchikey, structure_status=UNVERIFIED)
                summary.inchikey_filled += 1
        missing = {k: v for k, v in (defaults or {}).items() if spectrum.get(k) is None}
        if missing:
            spectrum = spectrum.replace(**missing)
        kept.append(spectrum)
    summary.read = report.read
    summary.kept = len(kept)
    for reason, count in report.skipped.items():
        if reason != "malformed record":  # itemised from the quarantine below
            summary.rejected[reason] += count
    for entry in report.quarantine:
        summary.rejected[_reader_reason(str(entry["error"]))] += 1
    return kept


def _without_bad_formulas(spectra: list[Spectrum], path: Path) -> tuple[list[Spectrum], str | None]:
    """``spectra`` with every formula that is no molecular formula (:func:`parse_formula`:
    "C12H??", a typo) dropped, and a note counting them with the first (file, record, name, text);
    None when all read. Stored, such a text gave no mass to check and no isomers, silently."""
    bad = [i for i, s in enumerate(spectra) if s.get("formula") and parse_formula(str(s.get("formula"))) is None]
    if not bad:
        return spectra, None
    first = spectra[bad[0]]
    record = f"record {record_number(first.get('scan_index', bad[0]))}" + (f" ({shorten(first.name)})" if first.name else "")
    whose = "1 record's formula is" if len(bad) == 1 else f"{len(bad)} records' formulas are"
    note = (f"{whose} no molecular formula (first: {path.name} {record}: "
            f"{shorten(str(first.get('formula')))!r}): treated as absent")
    spectra = list(spectra)
    for i in bad:
        spectra[i] = spectra[i].replace(formula=None)
    return spectra, note


def _placeholder_names_note(spectra: list[Spectrum], path: Path) -> str | None:
    """A note counting the records named only "Unknown", "N/A", "-" or the like, with the first
    (file, record, name); None when there are none. The name is stored as written (a lab's
    library of unknowns), but it names no compound: a hit on such a record says so by its name."""
    from nps_id.io._source import is_missing

    named = [i for i, s in enumerate(spectra) if s.name and is_missing(s.name)]
    if not named:
        return None
    first = spectra[named[0]]
    whose = "1 record is" if len(named) == 1 else f"{len(named)} records are"
    return (f"{whose} named with a placeholder for a name (first: {path.name} record "
            f"{record_number(first.get('scan_index', named[0]))}: {first.name!r}): stored as written; "
            "such a record names no compound")


# -- Step 4: duplicates ------------------------------------------------------------------------
def _unit_binned(peaks: CSRPeaks) -> Any:
    """Spectra x integer-m/z sparse matrix with L2-normalised rows (intensities summed per bin)."""
    from scipy import sparse

    bins = np.rint(peaks.mz).astype(np.int64)
    rows = peaks.spectrum_index()
    matrix = sparse.csr_matrix(
        (peaks.intensity.astype(np.float64), (rows, bins)),
        shape=(peaks.n_spectra, int(bins.max(initial=0)) + 1),
    )
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ matrix


def find_duplicates(peaks: CSRPeaks, columns: dict[str, np.ndarray], *,
                    listed: int = DUPLICATE_PAIRS_LISTED) -> tuple[list[Duplicate], int]:
    """Duplicate groups: rows sharing an InChIKey; same-name+formula pairs with cosine > 0.99.

    A name+formula pair whose two rows share an InChIKey is not counted again. Returns the
    InChIKey groups followed by the first ``listed`` name+formula pairs (in row order), and the
    number of all such pairs: 4,000 records of one name and spectrum are 8 million pairs, which
    as objects took 3 GB (stop 29); counted, they take no memory.
    """
    found: list[Duplicate] = []
    inchikeys = columns["inchikey"]
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(inchikeys):
        if key:
            by_key[key].append(i)
    found += [Duplicate("inchikey", k, tuple(v)) for k, v in by_key.items() if len(v) > 1]

    by_name: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (name, formula) in enumerate(zip(columns["name"], columns["formula"])):
        if name:
            by_name[(name.strip().casefold(), formula.strip())].append(i)
    groups = [v for v in by_name.values() if len(v) > 1]
    if not groups:
        return found, 0
    # Rows of each group made contiguous once: slicing a CSR matrix by a row range is cheap,
    # fancy-indexing it thousands of times is not.
    order = np.concatenate([np.array(g) for g in groups])
    binned = _unit_binned(peaks)[order]
    key_codes = {key: code for code, key in enumerate(by_key, start=1)}  # 0: no InChIKey
    pairs: list[Duplicate] = []
    n_pairs, start = 0, 0
    for rows in groups:
        block = binned[start:start + len(rows)]
        start += len(rows)
        codes = np.array([key_codes.get(inchikeys[i], 0) for i in rows])
        for x, y, cosine in _near_identical(block, codes):
            n_pairs += len(x)
            for a, b, c in zip(*(v[:listed - len(pairs)].tolist() for v in (x, y, cosine))):
                i, j = rows[a], rows[b]
                label = f"{columns['name'][i]} {columns['formula'][i]}".strip()
                pairs.append(Duplicate("name+formula", label, (i, j), c))
    return found + pairs, n_pairs


def _near_identical(block: Any, codes: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The pairs (x < y) of ``block``'s rows with cosine > :data:`DUPLICATE_COSINE` and no
    InChIKey in common (``codes``, 0 for none), as arrays x, y, cosine, in row order, a slice of
    rows at a time: a group's Gram matrix is never whole (4,000 rows of one name were 128 MB)."""
    n = block.shape[0]
    step = max(1, _GRAM_CELLS // n)
    columns = np.arange(n)
    for top in range(0, n, step):
        gram = (block[top:top + step] @ block.T).toarray()
        x = columns[top:top + step, None]
        close = (gram > DUPLICATE_COSINE) & (columns[None, :] > x) & ~(
            (codes[x] == codes[None, :]) & (codes[None, :] > 0))
        a, b = np.nonzero(close)
        yield a + top, b, gram[a, b]


def _unsearchable_ms2_note(columns: Mapping[str, Any]) -> list[str]:
    """A note on MS/MS spectra without a usable precursor m/z (missing, 0, text, out of range):
    they are stored, but the MS/MS index orders spectra by precursor, so no search returns them."""
    lacking = np.flatnonzero((np.asarray(columns["ms_level"]) == 2)
                             & ~np.isfinite(np.asarray(columns["precursor_mz"], dtype=float)))
    if not len(lacking):
        return []
    first = shorten(str(columns["name"][lacking[0]] or f"row {lacking[0]}"))  # a name may be megabytes
    return [f"{len(lacking)} MS/MS spectr{'um has' if len(lacking) == 1 else 'a have'} no usable precursor "
            f"m/z (first: {first}): stored, but no MS/MS search can return "
            f"{'it' if len(lacking) == 1 else 'them'}"]


# -- the build ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _build_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``.NAME.lock`` beside ``output`` (waits for another build).

    The holder removes the lock file before it lets go (also on an error or Ctrl-C), so no
    ``.NAME.lock`` stays beside the library. A build that was waiting on that file then holds
    the lock of a file no longer at the path: it sees so and locks the file at the path again,
    so two builds never hold "the" lock at once. After SIGKILL the file stays; it is harmless
    (the kernel released its lock) and the next build reuses and removes it. A device or FIFO
    (``-o /dev/null``) is written in place and has nothing to protect: no lock.
    """
    if is_stream(output):
        yield
        return
    real = Path(os.path.realpath(output))  # one lock per file, whichever link or path names it
    lock = real.parent / f".{real.name}.lock"
    while True:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)  # the real file's folder, not the link's
            fh = open(lock, "a")
        except OSError as exc:
            raise InputError(f"{output}: cannot write the library here ({exc.strerror or exc})") from None
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        if _is_at(lock, fh.fileno()):
            break
        fh.close()  # the previous holder removed this file: wait on the one at the path now
    with fh:
        try:
            yield
        finally:  # removed while still locked: a waiter on this file retries, see above
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _is_at(path: Path, fd: int) -> bool:
    """True when the open file ``fd`` is the file at ``path`` (not one removed from it)."""
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (at_path.st_dev, at_path.st_ino) == (opened.st_dev, opened.st_ino)


def build_library(
    sources: Sequence[str | Path],
    output: str | Path,
    *,
    name: str,
    release: str,
    append: bool = False,
    lenient: bool = False,
    index_builder: IndexBuilder | None = None,
    select: Callable[[Spectrum], bool] | None = None,
    source_urls: Mapping[str, str] | None = None,
    source_digests: Mapping[str, PathDigest] | None = None,
    defaults: Mapping[str, Any] | None = None,
    structures_from: Sequence[str | Path] = (),
    structure_tables: Sequence[str | Path] | None = None,
    names_to_structures: bool = True,
) -> BuildSummary:
    """Build (or, with ``append``, extend) the library ``output`` from spectrum files.

    Parameters
    ----------
    sources
        Files in any readable format, or folders (walked; unreadable files are skipped with a
        note in :attr:`BuildSummary.notes`).
    output
        The library file. Replaced atomically: it is written beside, then renamed.
    name, release
        Library name and release label. With ``append``, empty strings keep the old ones.
    append
        Keep the spectra and provenance of the existing ``output`` and add the sources (a
        source whose SHA-256 is already in the provenance is skipped with a note).
    lenient
        Count malformed records as rejected instead of stopping at the first one.
    index_builder
        Optional ``(peaks, columns) -> {name: (arrays, attrs)}``; each index is stored under
        ``/indexes/<name>`` in the same atomic write.
    select
        Optional predicate; spectra it refuses are left out and counted as ``not_selected``
        (e.g. "EI only" when building from a mixed MassBank export).
    source_urls
        Download URL per source path, recorded in the provenance.
    source_digests
        SHA-256 and size per source path (as :func:`nps_id._hashing.sha256_path` gives them)
        that the caller already computed, e.g. to check a download; those sources are not read
        a second time to hash them.
    defaults
        Metadata for spectra whose file does not say, e.g. ``{"ms_level": 1}`` for SWGDRUG
        (an EI library whose MSP has no spectrum type). Values a file gives are never replaced.
    structures_from
        Other nps-id libraries whose verified structures are copied to records with the same
        full InChIKey.
    structure_tables
        Structure tables (TSV/CSV: ``inchikey`` and ``smiles`` or ``inchi``) consulted by full
        InChIKey; None means the tables shipped in ``libraries/``.
    names_to_structures
        Turn names and synonyms into structures with OPSIN (needs Java; without it the step is
        skipped with a note and the skip is recorded in the provenance).

    Returns
    -------
    BuildSummary

    Raises
    ------
    ReaderError
        A malformed record in strict mode (exit code 3).
    InputError
        No source, nothing left to put in the library, or the library cannot be written (a full
        disk: the previous library is left as it was).
    LibraryError
        ``append`` onto a file that is not a library, or one that fails its checks
        (:func:`~nps_id.library.validate.open_verified`): damage is never carried into a new
        library under a fresh hash.
    """
    output = Path(output)
    summary = BuildSummary(output)
    # Step 1: sources
    files, summary.notes = expand_sources(sources)
    with _build_lock(output):
        _build_locked(summary, files, output, name, release, append, lenient, index_builder, select,
                      source_urls, source_digests, defaults, structures_from, structure_tables,
                      names_to_structures)
    return summary


def _build_locked(
    summary: BuildSummary,
    files: list[tuple[Path, str]],
    output: Path,
    name: str,
    release: str,
    append: bool,
    lenient: bool,
    index_builder: IndexBuilder | None,
    select: Callable[[Spectrum], bool] | None,
    source_urls: Mapping[str, str] | None,
    source_digests: Mapping[str, PathDigest] | None,
    defaults: Mapping[str, Any] | None,
    structures_from: Sequence[str | Path],
    structure_tables: Sequence[str | Path] | None,
    names_to_structures: bool,
) -> None:
    """Steps 2-6 of :func:`build_library`, under its lock; fills ``summary``."""
    from nps_id.library.validate import open_verified
    from nps_id.library.writer import columns_from_spectra, write_library

    # Step 2: the existing library, when appending
    spectra: list[Spectrum] = []
    origin: list[str] = []
    provenance: list[dict[str, Any]] = []
    structure_provenance: list[dict[str, Any]] = []
    if append and output.exists():
        with open_verified(output) as old:
            spectra = list(old.spectra())
            origin = [str(s) for s in old.column("source")]
            provenance = old.provenance()
            structure_provenance = old.structure_provenance()
            name = name or str(old.info.get("name", ""))
            release = release or str(old.info.get("release", ""))
        summary.previous_spectra = len(spectra)
    elif append:
        summary.notes.append(f"{output} does not exist yet: building a new library")
    known = {p.get("sha256") for p in provenance}
    # Step 3: read, QA, InChIKeys
    chemistry = Chemistry()
    for path, fmt in files:
        source = SourceSummary(str(path), fmt)
        given = (source_digests or {}).get(str(path))
        source.sha256, source.size_bytes = given or sha256_path(path)
        if source.sha256 in known:
            summary.notes.append(f"skipped {path}: already in the library (same SHA-256)")
            continue
        known.add(source.sha256)
        source.url = (source_urls or {}).get(str(path), "")
        kept = _read_source(source, lenient, chemistry, select, defaults)
        kept, note = _without_bad_formulas(kept, path)
        summary.notes += [n for n in (note, _placeholder_names_note(kept, path)) if n]
        spectra += kept
        origin += [path.name] * len(kept)
        summary.sources.append(source)
        provenance.append(source.provenance())
    if not spectra:
        left_out = sum(s.not_selected for s in summary.sources)
        why = "no spectrum passed QA" if not left_out else (
            f"the filter left out {spectra_count(left_out)} and no other passed QA")
        raise InputError(f"nothing to build: {why} in " + ", ".join(str(path) for path, _ in files))
    peaks = CSRPeaks.from_spectra(spectra)
    columns = columns_from_spectra(spectra, origin)
    unknown_level = int((np.asarray(columns["ms_level"]) == 0).sum())
    if unknown_level and not (defaults or {}).get("ms_level"):
        summary.notes.append(
            f"{spectra_count(unknown_level)} {'does not say its' if unknown_level == 1 else 'do not say their'}"
            + " MS level (e.g. SWGDRUG's MSP): stored as unknown and "
            "searched as EI; pass --ms-level 1 for an EI library (--ms-level changes the library's SHA-256)")
    summary.notes += _unsearchable_ms2_note(columns)
    del spectra  # the CSR arrays and columns now hold everything; free the objects
    # Step 4: structures
    summary.structures = resolve_structures(columns, libraries=structures_from,
                                            tables=structure_tables, names=names_to_structures,
                                            chemistry=chemistry)
    summary.notes += [s.skipped for s in summary.structures if s.skipped]
    summary.structure_coverage = coverage(columns["structure_source"], columns["structure_status"])
    structure_provenance += [s.provenance() for s in summary.structures]
    # Step 5: duplicates
    summary.duplicates, summary.name_formula_pairs = find_duplicates(peaks, columns)
    # Step 6: indexes, then the atomic write
    indexes = index_builder(peaks, columns) if index_builder is not None else None
    summary.indexes = sorted(indexes or {})
    try:
        with atomic_output(output, suffix=".h5") as tmp:
            summary.sha256 = write_library(
                tmp, peaks, columns, name=name, release=release, provenance=provenance, indexes=indexes,
                structure_provenance=structure_provenance,
            )
    except OSError as exc:  # ENOSPC, EFBIG, EIO: the temporary file is gone, the old library intact
        raise InputError(f"{output}: cannot write the library ({exc.strerror or exc}); "
                         "any previous library there is unchanged") from None
    summary.n_spectra = peaks.n_spectra


__all__ = [
    "build_library",
    "BuildSummary",
    "SourceSummary",
    "Duplicate",
    "expand_sources",
    "find_duplicates",
    "qa_reason",
]

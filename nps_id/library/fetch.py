"""Download public reference libraries named in ``libraries/catalogue.toml`` and build them.

Entry points
------------
- :func:`load_catalogue` -- the catalogue as :class:`CatalogueEntry` objects.
- :func:`obtain` -- the source file of an entry: from a ``--mirror`` folder or URL, or downloaded
  (resumable, SHA-256 checked where pinned).
- :func:`fetch_library` -- obtain + build into an nps-id library (atomic).

Downloads go to ``NAME.part`` in the cache folder and are renamed only when complete and
verified, so an interrupted or corrupt download never reaches the library builder. Plain
``urllib`` is used on purpose: the one HTTP feature needed beyond a GET is a ``Range`` header
for resuming, and it avoids a dependency.
"""
from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from nps_id._hashing import PathDigest, sha256_path
from nps_id._paths import user_cache_dir
from nps_id.errors import InputError, LibraryError
from nps_id.library.build import BuildSummary, build_library
from nps_id.spectrum import Spectrum

CATALOGUE_ENV = "NPS_ID_CATALOGUE"
_CHUNK = 1 << 20

ProgressCallback = Callable[[int, int | None], None]  # (bytes done, total or None)
#: The keys a catalogue entry's ``filter`` table may hold (see :meth:`CatalogueEntry.accepts`).
FILTER_KEYS = frozenset({"ms_level", "instrument_type_contains"})


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable library (a table of ``catalogue.toml``)."""

    name: str
    description: str
    licence: str
    url: str
    filename: str
    format: str
    release: str
    sha256: str = ""
    homepage: str = ""
    filter: dict[str, Any] = field(default_factory=dict)

    def accepts(self, spectrum: Spectrum) -> bool:
        """Whether ``spectrum`` passes this entry's filter (e.g. EI only)."""
        level = self.filter.get("ms_level")
        if level is not None and spectrum.ms_level != level:
            return False
        needle = self.filter.get("instrument_type_contains")
        if needle and needle.lower() not in str(spectrum.get("instrument_type", "")).lower():
            return False
        return True


def default_catalogue_path() -> Path:
    """``$NPS_ID_CATALOGUE``, else ``libraries/catalogue.toml`` of this checkout."""
    if os.environ.get(CATALOGUE_ENV):
        return Path(os.environ[CATALOGUE_ENV])
    return Path(__file__).resolve().parents[2] / "libraries" / "catalogue.toml"


def load_catalogue(path: Path | None = None) -> dict[str, CatalogueEntry]:
    """Parse the catalogue; :class:`InputError` naming the file and entry when it is malformed."""
    path = path or default_catalogue_path()
    try:
        # utf-8-sig: a catalogue saved by a Windows editor starts with a byte order mark
        data = tomllib.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise InputError(f"{path}: library catalogue not found (set ${CATALOGUE_ENV})") from None
    except OSError as exc:  # a folder, no permission
        raise InputError(f"{path}: cannot read the library catalogue ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); expected a TOML catalogue") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not a valid TOML catalogue ({exc})") from None
    entries = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            continue
        try:
            entries[name] = CatalogueEntry(name=name, **table)
        except TypeError as exc:
            raise InputError(f"{path}: catalogue entry [{name}] is malformed ({exc})") from None
        unknown = sorted(set(entries[name].filter) - FILTER_KEYS)
        if unknown:  # a misspelt key would otherwise filter nothing and build the wrong library
            raise InputError(f"{path}: [{name}.filter] has unknown keys {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(FILTER_KEYS))})")
    return entries


def download(
    url: str, dest: Path, *, progress: ProgressCallback | None = None, timeout: float = 60.0
) -> None:
    """Download ``url`` to ``dest``, resuming from ``dest.part`` when a previous try was cut.

    Raises :class:`LibraryError` with the URL and the HTTP status or network reason.
    """
    part = dest.with_name(dest.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "nps-id"})
    if done:
        request.add_header("Range", f"bytes={done}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if done and response.status != 206:  # server ignored the range: start again
                done = 0
            length = response.headers.get("Content-Length")
            total = done + int(length) if length is not None else None
            with open(part, "ab" if done else "wb") as out:
                while block := response.read(_CHUNK):
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and done:  # range past the end: the part file is already complete
            part.replace(dest)
            return
        raise LibraryError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LibraryError(
            f"download of {url} was interrupted or failed ({reason}); run the same command "
            f"again to resume, or use --mirror"
        ) from None
    if total is not None and done < total:
        raise LibraryError(
            f"download of {url} ended early ({done} of {total} bytes); run the same command again to resume"
        )
    part.replace(dest)


def obtain(
    entry: CatalogueEntry,
    cache_dir: Path,
    *,
    mirror: str | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[Path, PathDigest, str]:
    """The entry's source file, its SHA-256 and size (the SHA-256 checked when the catalogue
    pins one) and where it came from (URL or mirror path).

    ``mirror`` is a folder holding ``entry.filename`` or a base URL to fetch it from. Downloads
    are cached per release, so two entries built from one release file download it once.
    """
    if mirror and not mirror.startswith(("http://", "https://", "file://")):
        source = Path(mirror) / entry.filename
        origin = str(source)
        if not source.exists():
            raise LibraryError(f"mirror folder {mirror} has no {entry.filename}")
    else:
        origin = mirror.rstrip("/") + "/" + entry.filename if mirror else entry.url
        cache_dir = cache_dir / "".join(c if c.isalnum() or c in "._-" else "_" for c in entry.release)
        cache_dir.mkdir(parents=True, exist_ok=True)
        source = cache_dir / entry.filename
        if not source.exists():
            download(origin, source, progress=progress)
    digest = sha256_path(source)
    if entry.sha256 and digest.sha256 != entry.sha256.lower():
        if source.parent == cache_dir:  # never keep a file that failed its check
            source.unlink()
        raise LibraryError(
            f"{entry.filename}: SHA-256 {digest.sha256} does not match the catalogue's {entry.sha256}; "
            "the file was not used"
        )
    return source, digest, origin


def default_cache_dir() -> Path:
    """Where downloads are kept: ``$XDG_CACHE_HOME/nps-id/downloads`` (``~/.cache`` by default)."""
    return user_cache_dir() / "downloads"


def fetch_library(
    entry: CatalogueEntry,
    output: Path,
    *,
    mirror: str | None = None,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    index_builder: Callable | None = None,
) -> BuildSummary:
    """Obtain ``entry``'s file and build it (filtered as the catalogue says) into ``output``.

    The build is atomic: a failed download, a wrong checksum or a failed build leaves any
    previous ``output`` untouched. The file's SHA-256 and URL go into the library provenance.
    """
    source, digest, origin = obtain(entry, cache_dir or default_cache_dir(), mirror=mirror, progress=progress)
    summary = build_library(
        [source],
        output,
        name=entry.name,
        release=entry.release,
        lenient=True,  # a public export has a few odd records; they are counted, not fatal
        index_builder=index_builder,
        select=entry.accepts if entry.filter else None,
        source_urls={str(source): origin},
        source_digests={str(source): digest},  # hashed once, by obtain()
    )
    pinned = "pinned, verified" if entry.sha256 else "recorded; not pinned in the catalogue"
    summary.notes.append(f"{entry.filename}: SHA-256 {digest.sha256} ({pinned})")
    return summary

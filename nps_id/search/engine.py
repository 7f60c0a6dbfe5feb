"""The search engine: rank a reference library for many query spectra, fast and exactly.

How a batch of queries is searched
----------------------------------
1. Queries are split by kind (EI: any MS level but 2; MS/MS: level 2 with a precursor m/z) and
   into batches; EI and MS/MS identity batches run on ``threads`` threads (the compiled loops
   release the GIL).
2. Each batch is prepared like the index, its candidates are picked by a cheap indexed step and
   scored exactly by the score object (:mod:`nps_id.search.ei`, :mod:`nps_id.search.ms2`; the
   scores: :mod:`nps_id.search.scores`).
3. The top ``k`` per query are kept (score descending, library row ascending on ties) with the
   gap to the best hit of a *different* compound and an isomer alert (:mod:`nps_id.search.ranking`).

A search of a few queries (:func:`nps_id.search.jit.few_queries`: identity, one spectrum to ten;
analogue, up to eight) runs the NumPy forms of the compiled kernels (:mod:`nps_id.search.few`: EI
with the composite MF, the cosine, RMF or F_D, the modified cosine of analogue mode, MS/MS with
the cosine; the same hits bit for bit) and does not import numba, whose start-up costs ~0.4 s CPU
(and compiling, on an empty numba cache, ~10-30 s); any other search imports it first.

Entry points
------------
- :func:`search` -- ``(queries, library, settings) -> Hits``.
- :func:`unsearchable` -- what :func:`search` cannot give hits, by reason;
  :func:`require_searchable` (:func:`refuse_unsearchable` of counts) raises when that is every query.
- :class:`SearchSettings`, :class:`Hits` (:mod:`nps_id.search.settings`) and
  :class:`PreparedLibrary` (:mod:`nps_id.search.prepared`), re-exported here.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from nps_id.errors import InputError, LibraryError
from nps_id.search import jit
from nps_id.search.ei import search_ei
from nps_id.search.index import split_rows
from nps_id.search.ms2 import search_ms2
from nps_id.search.prepared import PreparedLibrary, SearchContext
from nps_id.search.ranking import assemble
from nps_id.search.reference import Reference
from nps_id.search.settings import MODES, Hits, SearchSettings
from nps_id.spectrum import Spectrum

_JOBS = {"ei": search_ei, "ms2": search_ms2}


def search(
    queries: Sequence[Spectrum],
    reference: Reference | PreparedLibrary,
    settings: SearchSettings | None = None,
    indexes: dict[str, Any] | None = None,
) -> Hits:
    """Search every query against ``reference``.

    Parameters
    ----------
    queries
        Query spectra. MS/MS (``ms_level`` 2 with a precursor m/z) go to the MS/MS index; MS/MS
        without a precursor m/z are not searched (:func:`unsearchable` counts them); all others
        go to the EI index. A query whose index the library lacks gets no hits.
    reference
        The library: a :class:`~nps_id.search.reference.Reference`, or a
        :class:`~nps_id.search.prepared.PreparedLibrary` to reuse for many searches (what is
        derived from the library is then made once).
    settings
        :class:`SearchSettings`; defaults if None.
    indexes
        Prebuilt indexes (from :func:`~nps_id.search.index.load_indexes`) for a ``Reference``;
        loaded if None.

    Returns
    -------
    Hits
        Sorted by query, then rank.
    """
    settings = settings or SearchSettings()
    if not jit.few_queries(len(queries), settings.mode):
        # Numba first, before any thread: every batch then runs compiled, however small
        # (jit.few_queries decides per batch). An analogue search scores ~1,000 candidates per
        # query: ~0.1-0.15 s each in NumPy, so only one or two run there.
        jit.load()
    library = reference if isinstance(reference, PreparedLibrary) else PreparedLibrary(reference, settings, indexes)
    context = SearchContext(settings, library)
    is_ei, is_ms2 = _query_kinds(queries)
    jobs = []
    for kind, mask in (("ei", is_ei), ("ms2", is_ms2)):
        positions = np.flatnonzero(mask)
        index = library.indexes.get(kind)
        if positions.size == 0 or index is None:
            continue
        # Made before any thread starts, so threads share them rather than race to make them.
        library.for_score(kind, context.score(kind))
        # With several threads, batches small enough that every thread gets one.
        threads = settings.threads if _threaded(kind, settings) else 1
        size = min(settings.batch_size, -(-positions.size // threads))
        for start in range(0, positions.size, size):
            batch = positions[start : start + size]
            jobs.append((kind, [queries[i] for i in batch], batch, index))

    def run(job: tuple) -> list[Hits]:
        kind, spectra, batch, index = job
        return _JOBS[kind](spectra, batch, index, context)

    pooled = [job for job in jobs if _threaded(job[0], settings)]
    if settings.threads > 1 and len(pooled) > 1:
        from concurrent.futures import ThreadPoolExecutor

        library.formula  # every row's formula codes, made before the threads race to read the column

        with ThreadPoolExecutor(max_workers=settings.threads) as pool:
            results = list(pool.map(run, pooled)) + [run(job) for job in jobs if not _threaded(job[0], settings)]
    else:
        results = [run(job) for job in jobs]
    return assemble([part for result in results for part in result])


def _threaded(kind: str, settings: SearchSettings) -> bool:
    """Whether batches of ``kind`` run on the search's threads: EI, and MS/MS identity (array steps
    and one compiled call for the scores, which release the GIL); an MS/MS analogue batch runs a
    per-query Python prefilter, which holds it (threads only slowed those)."""
    return kind == "ei" or settings.mode == "identity"


#: Reasons of :func:`unsearchable` that are the library's: it holds no spectra of the query's
#: kind (``search`` stops with a :class:`~nps_id.errors.LibraryError` when no query is left).
NO_EI_IN_LIBRARY = "EI / full-scan spectra, and the library holds none"
NO_MS2_IN_LIBRARY = "MS/MS spectra, and the library holds none with a precursor m/z"
#: The reasons of :func:`unsearchable`, in the order it gives them.
UNSEARCHABLE = ("MS/MS spectra have no precursor m/z", NO_EI_IN_LIBRARY, NO_MS2_IN_LIBRARY)


def unsearchable(queries: Sequence[Spectrum], reference: Reference) -> dict[str, int]:
    """Queries :func:`search` cannot give hits, by reason (only reasons that occur): MS/MS
    without a precursor m/z, or a spectrum kind the library holds none of."""
    ei_rows, ms2_rows = split_rows(reference.columns, reference.n_spectra)
    is_ei, is_ms2 = _query_kinds(queries)
    counts = (int(np.sum(~is_ei & ~is_ms2)), int(is_ei.sum()) if ei_rows.size == 0 else 0,
              int(is_ms2.sum()) if ms2_rows.size == 0 else 0)
    return {reason: n for reason, n in zip(UNSEARCHABLE, counts) if n}


def require_searchable(source: str, queries: Sequence[Spectrum], reference: Reference) -> dict[str, int]:
    """:func:`unsearchable` of ``queries`` (read from ``source``), raising when it is all of them:
    an empty hit table would read as "no match". :class:`~nps_id.errors.LibraryError` (exit 4,
    as ``match`` against a library of the other kind) when the library lacks a query kind,
    else :class:`~nps_id.errors.InputError` (exit 3: MS/MS without precursor m/z)."""
    return refuse_unsearchable(source, unsearchable(queries, reference), len(queries))


def refuse_unsearchable(source: str, skipped: dict[str, int], queries: int) -> dict[str, int]:
    """:func:`require_searchable` of ``queries`` spectra of which :func:`unsearchable` found
    ``skipped`` (``nps-id search`` adds them up over the ranges of a file read in parts)."""
    if sum(skipped.values()) < queries:
        return skipped
    why = "; ".join(_counted(count, reason) for reason, count in skipped.items())
    if skipped.keys() & {NO_EI_IN_LIBRARY, NO_MS2_IN_LIBRARY}:
        raise LibraryError(f"{source}: nothing searched: {why}; search them against a library that holds "
                           "spectra of their kind (EI for EI, MS/MS with precursor m/z for MS/MS)")
    raise InputError(f"{source}: nothing searched: {why}; MS/MS spectra need their precursor m/z")


def _counted(count: int, reason: str) -> str:
    """'3 MS/MS spectra have no precursor m/z', '1 MS/MS spectrum has ...': each reason names its spectra."""
    return f"{count} " + (reason.replace("spectra have", "spectrum has", 1).replace("spectra", "spectrum", 1)
                          if count == 1 else reason)


def _query_kinds(queries: Sequence[Spectrum]) -> tuple[np.ndarray, np.ndarray]:
    """(EI, MS/MS) masks of the queries, by the rule of :func:`~nps_id.search.index.split_rows`:
    MS/MS = ``ms_level`` 2 with a precursor m/z, EI = any other level; an MS/MS spectrum without
    a precursor is neither."""
    is_ei = np.array([q.ms_level != 2 for q in queries], dtype=bool)
    return is_ei, np.array([_is_ms2(q) for q in queries], dtype=bool)


def _is_ms2(spectrum: Spectrum) -> bool:
    prec = spectrum.precursor_mz
    return spectrum.ms_level == 2 and prec is not None and np.isfinite(prec)


__all__ = ["MODES", "UNSEARCHABLE", "Hits", "PreparedLibrary", "SearchSettings", "refuse_unsearchable",
           "require_searchable", "search", "unsearchable"]

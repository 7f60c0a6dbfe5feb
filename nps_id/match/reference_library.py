"""A reference library opened once for many runs (:class:`ReferenceLibrary`): the search reference,
its indexes, the columns a finding quotes (:meth:`~ReferenceLibrary.record`) and the library facts
the verdict rules read."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nps_id.errors import LibraryError
from nps_id.gcms.run import Technique
from nps_id.match.library_facts import LibraryFacts
from nps_id.match.results import LibraryRecord


class ReferenceLibrary:
    """A library opened once: search reference, indexes, and the columns a finding quotes.

    Parameters
    ----------
    path
        An nps-id HDF5 library. Raises :class:`~nps_id.errors.LibraryError` (exit 4) when it
        cannot be opened or fails its checks (:func:`nps_id.library.open_verified`).
    """

    def __init__(self, path: str | Path) -> None:
        from nps_id.library import open_verified
        from nps_id.search.index import load_indexes
        from nps_id.search.prepared import PreparedLibrary
        from nps_id.search.reference import Reference

        # From uncompressed copies in the cache folder, as `search` reads it (no gzip per process or
        # batch worker; nps_id/library/copies.py): the reference is read whole here, then closed.
        with open_verified(path, copies=True) as lib:
            self.reference = Reference.from_library(lib)
            present = set(lib.columns)
            self.cas = np.asarray(lib.column("cas")) if "cas" in present else None
            self.ri = np.asarray(lib.column("retention_index"), dtype=np.float64) if "retention_index" in present else None
            self.info = {
                "name": str(lib.info.get("name", "")),
                "release": str(lib.info.get("release", "")),
                "sha256": lib.sha256,
                "n_spectra": int(lib.n_spectra),
                # Absolute: nps-id report opens it from wherever it runs (mirror-plot spectra).
                "path": str(Path(path).resolve()),
            }
        self.indexes = load_indexes(self.reference)
        self.prepared = PreparedLibrary(self.reference, indexes=self.indexes)  # made once for every run
        self.columns = self.reference.columns
        self.compound = self.reference.compound()
        self.facts = LibraryFacts(self.reference)

    def record(self, row: int) -> LibraryRecord:
        """Name, identifiers, formula and structure of library row ``row`` (what a hit quotes)."""
        col = self.columns
        return LibraryRecord(
            name=str(col["name"][row]),
            library_id=str(col["source_id"][row]) or None,
            library_row=int(row),
            inchikey=str(col["inchikey"][row]) or None,
            formula=str(col["formula"][row]) or None,
            cas=(str(self.cas[row]) or None) if self.cas is not None else None,
            smiles=str(col["smiles"][row]) or None,
            structure_source=str(col["structure_source"][row]) or None,
            structure_status=str(col["structure_status"][row]) or None,
        )

    def require(self, technique: Technique, run_name: str) -> None:
        """Raise :class:`~nps_id.errors.LibraryError` (exit 4) when the library holds no spectra
        of the kind ``technique`` is searched against, or when nothing can identify its spectra
        (a full scan of a soft ionisation): a run searched against the wrong spectra would read
        as "no findings"."""
        kind = technique.library_kind
        if kind in self.indexes:
            return
        library = f"library {Path(self.info['path']).name} ({self.info['name']} {self.info['release']})"
        if kind is None:
            raise LibraryError(
                f"{run_name}: {technique.name} run ({technique.basis}) cannot be matched against {library} "
                "or any other: nps-id identifies electron-ionisation full scans against EI spectra and "
                "MS/MS scans against MS/MS spectra"
            )
        what = "EI spectra" if kind == "ei" else "MS/MS spectra with a precursor m/z"
        raise LibraryError(
            f"{run_name} was acquired by {technique.name}, but {library} holds no {what}; match it against a library "
            "that does"
        )

    def library_ri(self, row: int) -> float | None:
        if self.ri is None or not np.isfinite(self.ri[row]):
            return None
        return float(self.ri[row])


"""Export a library's spectra to MSP or MGF (or mzML) through :func:`nps_id.io.write`.

Entry point: :func:`export_library`. Every metadata field goes to the writer; what survives is
what the target format can hold (MSP keeps names, synonyms, structures, precursor and
free-form keys; MGF keeps fewer).
"""
from __future__ import annotations

from pathlib import Path

from nps_id.library.validate import open_verified


def export_library(library: str | Path, output: str | Path, format: str | None = None) -> int:
    """Write every spectrum of ``library`` to ``output`` (format from its extension).

    Returns the number of spectra written. The write is atomic (see :func:`nps_id.io.write`).
    """
    from nps_id.io import write

    with open_verified(library) as lib:
        spectra = list(lib.spectra())  # read, then close the library before the slow write
    return write(spectra, output, format=format)

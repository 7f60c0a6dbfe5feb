"""A MassBank MS/MS library cut down to the two real LC-MS/MS runs (built once per run of the suite)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import built_once, data_path

PESTMIX = ("lcms", "openms-pestmix", "PestMix1_slice_430-470s.mzML")
RAMS = ("lcms", "rams", "DDApos_2.mzML.gz")
#: Neutral-mass shifts of the adducts a record of the same compound may carry (M + shift = m/z).
_SHIFTS = (1.007276, 22.989218, 18.033823, 38.963158, -1.007276, 44.998201, 1.007276 - 18.010565)


@pytest.fixture(scope="session")
def lcms_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MassBank MS/MS records whose precursor m/z is within 0.05 of a precursor of either run, or
    whose compound's exact mass gives one under a common adduct (its other adducts' records)."""
    runs = [data_path(*run) for run in (PESTMIX, RAMS)]
    source = data_path("massbank", "ms2-library.msp.gz")

    def build(folder: Path) -> Path:
        from nps_id import io
        from nps_id.library import build_library
        from nps_id.search.index import build_indexes

        precursors = np.unique(np.round([s.precursor_mz for run in runs for s in io.read(run)
                                         if (s.ms_level or 1) >= 2 and s.precursor_mz], 2))

        def near(mz: float | None) -> bool:
            if mz is None or not np.isfinite(mz):
                return False
            i = np.searchsorted(precursors, mz)
            return any(abs(precursors[j] - mz) <= 0.05 for j in (i - 1, i) if 0 <= j < precursors.size)

        def select(spectrum) -> bool:
            mass = spectrum.get("exact_mass")
            return near(spectrum.precursor_mz) or (mass is not None and any(near(float(mass) + s) for s in _SHIFTS))

        out = folder / "massbank-ms2-lcms.h5"
        build_library([source], out, name="MassBank MS2 (LC runs)", release="test", lenient=True,
                      index_builder=build_indexes, select=select, names_to_structures=False)
        return out

    return built_once(tmp_path_factory, "lcms-library", build)


def _matched_once(tmp_path_factory: pytest.TempPathFactory, lcms_library: Path, run: tuple[str, ...]) -> dict:
    """``match_run`` of ``run`` against :func:`lcms_library`, default settings, once per run of the suite."""
    def match(_folder: Path) -> dict:
        from nps_id.match.pipeline import match_run
        from nps_id.match.reference_library import ReferenceLibrary

        return match_run(data_path(*run), ReferenceLibrary(lcms_library))

    return built_once(tmp_path_factory, f"lcms-results-{run[1]}", match)


@pytest.fixture(scope="session")
def pestmix_results(tmp_path_factory: pytest.TempPathFactory, lcms_library: Path) -> dict:
    """The pesticide mix slice (:data:`PESTMIX`) matched against :func:`lcms_library`, default settings:
    once per run of the suite for every module that reads it (each matched it, per worker, until stop 48).
    Read-only: a test that changes the results copies them."""
    return _matched_once(tmp_path_factory, lcms_library, PESTMIX)


@pytest.fixture(scope="session")
def rams_results(tmp_path_factory: pytest.TempPathFactory, lcms_library: Path) -> dict:
    """The metabolite run (:data:`RAMS`) matched like :func:`pestmix_results`."""
    return _matched_once(tmp_path_factory, lcms_library, RAMS)

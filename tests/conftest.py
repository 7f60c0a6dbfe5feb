"""Shared fixtures: the real third-party data in ../shared/data (skips cleanly when absent).

Libraries built from the real files are session fixtures, built once and shared by every module
that needs the same build; tests must copy one before changing it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from click.testing import Result

    from nps_id.library import BuildSummary
    from nps_id.spectrum import Spectrum

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_path(*parts: str) -> Path:
    """Path below ../shared/data; skips the calling test when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _suite_cache(tmp_path_factory: pytest.TempPathFactory):
    """The suite's own cache folders, never the user's ``~/.cache/nps-id``: what a test computes
    must not land in the cache the user's searches read, nor the suite pass on what the user's
    cache happens to hold. ``$NPS_ID_CACHE`` (indexes, library facts) and ``$XDG_CACHE_HOME``
    (downloads, regression builds) point into the run's temporary folder, one for all xdist
    workers of a run (the caches merge what other processes wrote), so the second worker reuses
    what the first computed; subprocesses inherit them."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # popen-gwN's parent: the run's
    saved = {name: os.environ.get(name) for name in ("NPS_ID_CACHE", "XDG_CACHE_HOME")}
    os.environ["NPS_ID_CACHE"] = str(root / "nps-id-cache")
    os.environ["XDG_CACHE_HOME"] = str(root / "xdg-cache")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def shared_data() -> Path:
    if not DATA.exists():
        pytest.skip(f"real test data not found: {DATA} (a checkout outside the nps-id team)")
    return DATA


@pytest.fixture(scope="session")
def swgdrug_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BuildSummary]:
    """(source, library, build summary) of SWGDRUG 3.4 built as ``nps-id library build`` makes
    it, with its search indexes; built once per session and shared."""
    source = data_path("swgdrug", "SWGDRUG-3.4.msp.gz")
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    out = tmp_path_factory.mktemp("swgdrug-library") / "swgdrug.h5"
    summary = build_library([source], out, name="SWGDRUG", release="3.4", index_builder=build_indexes)
    return source, out, summary


@pytest.fixture(scope="session")
def swgdrug_library(swgdrug_build: tuple[Path, Path, BuildSummary]) -> Path:
    """The session's SWGDRUG 3.4 library (see :func:`swgdrug_build`)."""
    return swgdrug_build[1]


@pytest.fixture(scope="session")
def swgdrug_cli_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """(library, click result) of ``nps-id library build SWGDRUG-3.4.msp.gz --name SWGDRUG
    --release 3.4``, run once per session; read-only for the tests that use it."""
    from click.testing import CliRunner

    from nps_id.cli import cli

    out = tmp_path_factory.mktemp("swgdrug-cli") / "swgdrug.h5"
    result = CliRunner().invoke(cli, ["library", "build", str(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")),
                                      "-o", str(out), "--name", "SWGDRUG", "--release", "3.4"])
    return out, result


SWGDRUG_SUBSET = 300  # records: enough for the tests that append 200 of them back; a build takes seconds


@pytest.fixture(scope="session")
def swgdrug_subset_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BuildSummary]:
    """(source, library, build summary) of the first :data:`SWGDRUG_SUBSET` records of SWGDRUG 3.4,
    copied verbatim (real records) and built with search indexes, once per session.

    For the append, concurrency and crash-safety tests: an append re-resolves the structures of
    every record already in the library, so on the whole library each one took ~40 s; what they
    assert does not depend on its size. Whole-library builds are checked on :func:`swgdrug_build`."""
    import gzip

    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    records = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).split(b"\r\n\r\n")
    folder = tmp_path_factory.mktemp("swgdrug-subset")
    source = folder / "swgdrug-subset.msp"
    source.write_bytes(b"\r\n\r\n".join(records[:SWGDRUG_SUBSET]) + b"\r\n")
    out = folder / "swgdrug-subset.h5"
    summary = build_library([source], out, name="SWGDRUG", release="3.4", index_builder=build_indexes)
    assert summary.n_spectra == SWGDRUG_SUBSET
    return source, out, summary


@pytest.fixture(scope="session")
def massbank_ei_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BuildSummary]:
    """(source, library, build summary) of the MassBank EI library (11,051 records) built with the
    default options; built once per session and shared."""
    source = data_path("massbank", "ei-library.msp.gz")
    from nps_id.library import build_library

    out = tmp_path_factory.mktemp("massbank-ei-library") / "massbank-ei.h5"
    return source, out, build_library([source], out, name="MassBank EI", release="2025.05.1")


@pytest.fixture(scope="session")
def massbank_ms2_spectra() -> tuple[Spectrum, ...]:
    """Every record of the MassBank MS/MS library (73,288), read once per session (~6 s, ~280 MB)
    for the modules that look through all of it."""
    from nps_id.io import read

    return tuple(read(data_path("massbank", "ms2-library.msp.gz")))

"""Shared fixtures: the real third-party data in ../shared/data (skips cleanly when absent).

Libraries built from the real files are session fixtures, built once per run for every module and
both xdist workers (:func:`built_once`); tests must copy one before changing it."""
from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable, TypeVar

import pytest

if TYPE_CHECKING:
    from nps_id.library import BuildSummary
    from nps_id.spectrum import Spectrum

T = TypeVar("T")

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_path(*parts: str) -> Path:
    """Path below ../shared/data; skips the calling test when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found: {path} (see ../shared/data/README.md)")
    return path


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary folder, one for all xdist workers (each worker's own is ``popen-gwN`` in it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]) -> T:
    """``build(folder)``'s result, made once per run for all xdist workers: the first worker to ask
    builds into the run's folder while holding a lock, the others wait for it and read its result.

    For session fixtures that build libraries or match real runs: each worker made its own before
    (stop 47), and a library file of other bytes also filled its own caches (indexes, library facts,
    isomer pairs are kept per file SHA-256). What is built is read-only for the tests, as before.
    The result goes between the workers of this run as a pickle in the run's own temporary folder."""
    shared = run_folder(tmp_path_factory) / "built-once"
    shared.mkdir(exist_ok=True)
    folder, result_file = shared / name, shared / f"{name}.pickle"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if build() fails
        if result_file.exists():
            return pickle.loads(result_file.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)  # what a failed or skipped build left
        folder.mkdir()
        result = build(folder)
        result_file.write_bytes(pickle.dumps(result))
        return result


@pytest.fixture(scope="session", autouse=True)
def _suite_cache(tmp_path_factory: pytest.TempPathFactory):
    """The suite's own cache folders, never the user's ``~/.cache/nps-id``: what a test computes
    must not land in the cache the user's searches read, nor the suite pass on what the user's
    cache happens to hold. ``$NPS_ID_CACHE`` (indexes, library facts) and ``$XDG_CACHE_HOME``
    (downloads, regression builds) point into the run's temporary folder, one for all xdist
    workers of a run (the caches merge what other processes wrote), so the second worker reuses
    what the first computed; subprocesses inherit them."""
    root = run_folder(tmp_path_factory)
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


def _swgdrug_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, SimpleNamespace, BuildSummary]:
    """(source, library, what the command said, build summary) of ``nps-id library build
    SWGDRUG-3.4.msp.gz --name SWGDRUG --release 3.4``, run once per run (:func:`built_once`).

    The summary is the one ``build_library`` returned inside that command (recorded on its way
    back, the call unchanged): the suite's one whole SWGDRUG build serves both the library tests
    and the command's (there were two builds of the same content until stop 48; that a rebuild
    gives the same content hash is asserted on the subset, tests/library/test_build.py)."""
    source = data_path("swgdrug", "SWGDRUG-3.4.msp.gz")

    def build(folder: Path) -> tuple[Path, Path, SimpleNamespace, BuildSummary]:
        from click.testing import CliRunner

        import nps_id.library
        from nps_id.cli import cli

        out = folder / "swgdrug.h5"
        real, summaries = nps_id.library.build_library, []

        def recorded(*args, **kwargs):
            summaries.append(real(*args, **kwargs))
            return summaries[-1]

        with pytest.MonkeyPatch.context() as patch:  # the command imports it when it runs
            patch.setattr(nps_id.library, "build_library", recorded)
            result = CliRunner().invoke(cli, ["library", "build", str(source), "-o", str(out),
                                              "--name", "SWGDRUG", "--release", "3.4"])
        assert len(summaries) == 1, result.output
        # click's Result holds the traceback of its SystemExit, which does not go between processes
        said = SimpleNamespace(exit_code=result.exit_code, output=result.output, stdout=result.stdout,
                               stderr=result.stderr)
        return source, out, said, summaries[0]

    return built_once(tmp_path_factory, "swgdrug-cli", build)


@pytest.fixture(scope="session")
def swgdrug_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BuildSummary]:
    """(source, library, build summary) of SWGDRUG 3.4 built by ``nps-id library build`` (with its
    search indexes, no ``--ms-level``); built once per run and shared (:func:`_swgdrug_cli`)."""
    source, out, _, summary = _swgdrug_cli(tmp_path_factory)
    return source, out, summary


@pytest.fixture(scope="session")
def swgdrug_library(swgdrug_build: tuple[Path, Path, BuildSummary]) -> Path:
    """The session's SWGDRUG 3.4 library (see :func:`swgdrug_build`)."""
    return swgdrug_build[1]


@pytest.fixture(scope="session")
def swgdrug_cli_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimpleNamespace]:
    """(library, what the command said: ``exit_code``, ``output``, ``stdout``, ``stderr`` of click's result)
    of ``nps-id library build SWGDRUG-3.4.msp.gz --name SWGDRUG --release 3.4`` (:func:`_swgdrug_cli`);
    read-only for the tests that use it."""
    _, out, said, _ = _swgdrug_cli(tmp_path_factory)
    return out, said


SWGDRUG_SUBSET = 300  # records: enough for the tests that append 200 of them back; a build takes seconds


@pytest.fixture(scope="session")
def swgdrug_subset_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BuildSummary]:
    """(source, library, build summary) of the first :data:`SWGDRUG_SUBSET` records of SWGDRUG 3.4,
    copied verbatim (real records) and built with search indexes, once per run (:func:`built_once`).

    For the append, concurrency and crash-safety tests: an append re-resolves the structures of
    every record already in the library, so on the whole library each one took ~40 s; what they
    assert does not depend on its size. Whole-library builds are checked on :func:`swgdrug_build`."""
    whole = data_path("swgdrug", "SWGDRUG-3.4.msp.gz")

    def build(folder: Path) -> tuple[Path, Path, BuildSummary]:
        import gzip

        from nps_id.library import build_library
        from nps_id.search.index import build_indexes

        records = gzip.decompress(whole.read_bytes()).split(b"\r\n\r\n")
        source = folder / "swgdrug-subset.msp"
        source.write_bytes(b"\r\n\r\n".join(records[:SWGDRUG_SUBSET]) + b"\r\n")
        out = folder / "swgdrug-subset.h5"
        summary = build_library([source], out, name="SWGDRUG", release="3.4", index_builder=build_indexes)
        assert summary.n_spectra == SWGDRUG_SUBSET
        return source, out, summary

    return built_once(tmp_path_factory, "swgdrug-subset", build)


@pytest.fixture(scope="session")
def massbank_ei_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BuildSummary]:
    """(source, library, build summary) of the MassBank EI library (11,051 records) built with the
    default options; built once per run (:func:`built_once`) and shared."""
    source = data_path("massbank", "ei-library.msp.gz")

    def build(folder: Path) -> tuple[Path, Path, BuildSummary]:
        from nps_id.library import build_library

        out = folder / "massbank-ei.h5"
        return source, out, build_library([source], out, name="MassBank EI", release="2025.05.1")

    return built_once(tmp_path_factory, "massbank-ei-library", build)


@pytest.fixture(scope="session")
def massbank_ms2_spectra() -> tuple[Spectrum, ...]:
    """Every record of the MassBank MS/MS library (73,288), read once per session (~6 s, ~280 MB)
    for the modules that look through all of it."""
    from nps_id.io import read

    return tuple(read(data_path("massbank", "ms2-library.msp.gz")))


@pytest.fixture(scope="session")
def two_runs_batch(swgdrug_library: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(inputs, out) of one ``nps-id batch`` of tests/batch/_inputs.py's ``TWO_RUNS`` against the session's
    SWGDRUG with its ``TWO_RUNS_OPTIONS``, run once per run of the suite (:func:`built_once`): the first
    batch of the tests about what a later batch redoes, and why, each of which ran it anew until stop 48.
    Read-only: a test batches again into its own copy (``done_before``)."""
    from click.testing import CliRunner

    from nps_id.cli import cli
    from tests.batch._inputs import TWO_RUNS_OPTIONS, two_runs

    def batch(folder: Path) -> tuple[Path, Path]:
        inputs, out = two_runs(folder / "in"), folder / "out"
        done = CliRunner().invoke(cli, ["batch", str(inputs), "-l", str(swgdrug_library), "-o", str(out),
                                        *TWO_RUNS_OPTIONS])
        assert done.exit_code == 0 and "Traceback" not in done.output, done.output
        assert "2 runs: 2 done (0 already done before)" in done.stdout, done.stdout
        return inputs, out

    return built_once(tmp_path_factory, "batch-two-runs", batch)

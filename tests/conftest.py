"""Shared fixtures: the real third-party data in ../shared/data (skips cleanly when absent).

Libraries built from the real files are session fixtures, built once per run for every module and
both xdist workers (:func:`built_once`); tests must copy one before changing it."""
from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable, ContextManager, Iterator, Sequence, TypeVar

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
    The result goes between the workers of this run as a pickle in the run's own temporary folder
    (also from a build started ahead in the background, :func:`pytest_collection_finish`)."""
    shared = _built_once_folder(run_folder(tmp_path_factory))
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if build() fails
        return _build_locked(shared, name, build)


def _built_once_folder(root: Path) -> Path:
    shared = root / "built-once"
    shared.mkdir(exist_ok=True)
    return shared


def _build_locked(shared: Path, name: str, build: Callable[[Path], T]) -> T:
    """What :func:`built_once` does holding the lock: read the result if there, else build it."""
    folder, result_file = shared / name, shared / f"{name}.pickle"
    if result_file.exists():
        return pickle.loads(result_file.read_bytes())
    shutil.rmtree(folder, ignore_errors=True)  # what a failed, skipped or stopped build left
    folder.mkdir()
    result = build(folder)
    # whole or not at all: a build stopped at the session's end must not leave half a pickle
    part = shared / f"{name}.pickle.part"
    part.write_bytes(pickle.dumps(result))
    os.replace(part, result_file)
    return result


def _suite_cache_env(root: Path) -> dict[str, str]:
    """The suite's cache folders in the run's folder ``root`` (:func:`_suite_cache`)."""
    return {"NPS_ID_CACHE": str(root / "nps-id-cache"), "XDG_CACHE_HOME": str(root / "xdg-cache")}


@pytest.fixture(scope="session", autouse=True)
def _suite_cache(tmp_path_factory: pytest.TempPathFactory):
    """The suite's own cache folders, never the user's ``~/.cache/nps-id``: what a test computes
    must not land in the cache the user's searches read, nor the suite pass on what the user's
    cache happens to hold. ``$NPS_ID_CACHE`` (indexes, library facts) and ``$XDG_CACHE_HOME``
    (downloads, regression builds) point into the run's temporary folder, one for all xdist
    workers of a run (the caches merge what other processes wrote), so the second worker reuses
    what the first computed; subprocesses inherit them."""
    ours = _suite_cache_env(run_folder(tmp_path_factory))
    saved = {name: os.environ.get(name) for name in ours}
    os.environ.update(ours)
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


SwgdrugCli = tuple[Path, Path, SimpleNamespace, "BuildSummary", dict[str, "str | None"]]


def _build_swgdrug_cli(source: Path, folder: Path) -> SwgdrugCli:
    """:func:`_swgdrug_cli`'s build into ``folder`` (also run ahead by :func:`_build_ahead`)."""
    from click.testing import CliRunner

    import nps_id.library
    import nps_id.library.structures
    from nps_id.cli import cli

    out = folder / "swgdrug.h5"
    real, summaries = nps_id.library.build_library, []
    real_opsin, opsin = nps_id.library.structures.opsin_smiles, {}

    def recorded(*args, **kwargs):
        summaries.append(real(*args, **kwargs))
        return summaries[-1]

    def opsin_recorded(names):  # what it answered, for the builds of SWGDRUG with compounds left out
        parsed = real_opsin(names)
        opsin.update({name: parsed.get(name) for name in names})
        return parsed

    with pytest.MonkeyPatch.context() as patch:  # the command imports it when it runs
        patch.setattr(nps_id.library, "build_library", recorded)
        patch.setattr(nps_id.library.structures, "opsin_smiles", opsin_recorded)
        result = CliRunner().invoke(cli, ["library", "build", str(source), "-o", str(out),
                                          "--name", "SWGDRUG", "--release", "3.4"])
    assert len(summaries) == 1, result.output
    # click's Result holds the traceback of its SystemExit, which does not go between processes
    said = SimpleNamespace(exit_code=result.exit_code, output=result.output, stdout=result.stdout,
                           stderr=result.stderr)
    return source, out, said, summaries[0], opsin


SWGDRUG_CLI = "swgdrug-cli"  # built_once's name of the session's whole SWGDRUG build
# fixtures that need it: the tests using them come last, and it is built ahead in the background
NEEDS_SWGDRUG = frozenset({"swgdrug_build", "swgdrug_cli_build", "swgdrug_opsin"})
_ahead: list[subprocess.Popen] = []


def _needs_swgdrug(item: pytest.Item) -> bool:
    return not NEEDS_SWGDRUG.isdisjoint(getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules with a test that needs the session's whole SWGDRUG build run after all others
    (each module kept whole and in its order, so module fixtures are still made once): under
    ``-n 2`` a worker had nothing to do for the ~1 min the other built it (stop 48); now both run
    library-free tests while it is built ahead (:func:`pytest_collection_finish`). Every worker sorts
    the same collection the same way, as pytest-xdist requires."""
    late = {item.module.__name__ for item in items if isinstance(item, pytest.Function) and _needs_swgdrug(item)}
    items.sort(key=lambda item: isinstance(item, pytest.Function) and item.module.__name__ in late)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the session's whole SWGDRUG build in a background process as soon as a collection holds
    a test that needs it (the first process of the run to get here; none when the data are absent
    or with ``--collect-only``), so the tests before it run meanwhile. It holds :func:`built_once`'s
    lock until its result is written: a test that needs it waits as before, and one that finds no
    result (the build failed or was stopped) builds it itself and shows why. Stopped at the end of
    the session (:func:`pytest_unconfigure`)."""
    config = session.config
    source = DATA / "swgdrug" / "SWGDRUG-3.4.msp.gz"
    if config.option.collectonly or not source.exists() or not any(map(_needs_swgdrug, session.items)):
        return
    root = run_folder(config._tmp_path_factory)  # what the tmp_path_factory fixture returns
    shared = _built_once_folder(root)
    try:  # the first worker of the run starts it; the other finds the mark
        os.close(os.open(shared / f"{SWGDRUG_CLI}.ahead", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    with open(shared / f"{SWGDRUG_CLI}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a test is building it already
            return
        if (shared / f"{SWGDRUG_CLI}.pickle").exists():
            return
        code = ("import sys; from pathlib import Path; from tests.conftest import _build_ahead; "
                "_build_ahead(Path(sys.argv[1]), Path(sys.argv[2]))")
        with open(shared / f"{SWGDRUG_CLI}.ahead.log", "w") as log:
            # the child's copy of the locked file keeps the lock after ours closes
            _ahead.append(subprocess.Popen([sys.executable, "-c", code, str(shared), str(source)],
                                           cwd=config.rootpath, env={**os.environ, **_suite_cache_env(root)},
                                           stdout=log, stderr=subprocess.STDOUT, pass_fds=(lock.fileno(),)))


def _build_ahead(shared: Path, source: Path) -> None:
    """The background process of :func:`pytest_collection_finish` (it inherited the lock)."""
    import warnings

    from nps_id._workers import die_with_parent

    # ends with the worker that started it, even one killed; Ctrl-C is for that worker to handle
    die_with_parent(os.getppid())
    with warnings.catch_warnings(record=True):  # as pytest does: recorded, never in the command's output
        _build_locked(shared, SWGDRUG_CLI, partial(_build_swgdrug_cli, source))


def pytest_unconfigure(config: pytest.Config) -> None:
    """No build ahead outlives its session, also one ended early or by Ctrl-C."""
    for process in _ahead:
        if process.poll() is None:
            process.terminate()
        process.wait()


def _swgdrug_cli(tmp_path_factory: pytest.TempPathFactory) -> SwgdrugCli:
    """(source, library, what the command said, build summary, OPSIN's answers) of ``nps-id library build
    SWGDRUG-3.4.msp.gz --name SWGDRUG --release 3.4``, run once per run (:func:`built_once`).

    The summary is the one ``build_library`` returned inside that command (recorded on its way
    back, the call unchanged): the suite's one whole SWGDRUG build serves both the library tests
    and the command's (there were two builds of the same content until stop 48; that a rebuild
    gives the same content hash is asserted on the subset, tests/library/test_build.py)."""
    source = data_path("swgdrug", "SWGDRUG-3.4.msp.gz")

    return built_once(tmp_path_factory, SWGDRUG_CLI, partial(_build_swgdrug_cli, source))


@pytest.fixture(scope="session")
def swgdrug_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, BuildSummary]:
    """(source, library, build summary) of SWGDRUG 3.4 built by ``nps-id library build`` (with its
    search indexes, no ``--ms-level``); built once per run and shared (:func:`_swgdrug_cli`)."""
    source, out, _, summary, _ = _swgdrug_cli(tmp_path_factory)
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
    _, out, said, _, _ = _swgdrug_cli(tmp_path_factory)
    return out, said


@pytest.fixture(scope="session")
def swgdrug_opsin(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], ContextManager[None]]:
    """A context in which a library build asks OPSIN (a Java process, over half of a whole SWGDRUG
    build's CPU: 17.9 -> 7.0 s without it, stop 50) only for the names the session's SWGDRUG build did not ask it (:func:`_swgdrug_cli`),
    and takes that build's answers for the others: the same SMILES per name, so a build of SWGDRUG
    with a few compounds left out (the tests of a compound missing from the library) writes the
    library a build without it writes, and asks OPSIN nothing."""
    *_, answers = _swgdrug_cli(tmp_path_factory)
    return partial(_opsin_answered, answers)


@contextlib.contextmanager
def _opsin_answered(answers: dict[str, str | None]) -> Iterator[None]:
    """:func:`swgdrug_opsin`'s context: ``answers`` (name -> SMILES, None where OPSIN parsed none) first."""
    import nps_id.library.structures as structures

    real = structures.opsin_smiles

    def answered(names: Sequence[str]) -> dict[str, str]:
        parsed = {name: smiles for name in names if (smiles := answers.get(name))}
        return {**parsed, **real([name for name in names if name not in answers])}

    with pytest.MonkeyPatch.context() as patch:  # the build looks it up in its module when it runs
        patch.setattr(structures, "opsin_smiles", answered)
        yield


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

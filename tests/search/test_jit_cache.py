"""Numba's on-disk cache of the kernels: an edit of one kernel module reaches its callers elsewhere."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nps_id
from tests.conftest import data_path

# A search of 12 real EI spectra against 40: past jit.FEW_QUERIES, so numba's composite_batch
# (scores/composite.py) scores the rows with composite_row_w (kernels.py), compiled into it.
_SEARCH = """
import itertools, sys
from nps_id.io import read
from nps_id.search.engine import SearchSettings, search
from nps_id.search.reference import Reference
spectra = list(itertools.islice(read(sys.argv[1]), 40))
hits = search(spectra[:12], Reference.from_spectra(spectra), SearchSettings(top_k=3, threads=1))
print(max(hits.mf))
"""


@pytest.mark.slow
def test_an_edited_kernel_module_reaches_its_callers_cached_in_another(tmp_path: Path) -> None:
    path = data_path("massbank", "ei-queries-identity.msp.gz")
    # The same search here first: its kernels are then in this package's numba cache (the suite's other
    # searches use it too), and the copy below takes that cache with it -- numba's in-tree cache beside
    # each kernel module, read by a content stamp (jit.kernel_sources_digest), not by the file's path or
    # time -- so the first run loads them and only the run after the edit compiles (both compiled on an
    # empty cache until stop 49). Were the cache not read there, the first run compiles, as before.
    expected = _best_mf(path)
    package = tmp_path / "nps_id"
    # not numba's half-written files (``*.tmp.<uuid>``, renamed when whole): the other worker may be writing one
    shutil.copytree(Path(nps_id.__file__).parent, package, ignore=shutil.ignore_patterns("*.pyc", "*.tmp.*"))
    env = {name: value for name, value in os.environ.items() if name != "NUMBA_CACHE_DIR"}  # the in-tree cache
    env["PYTHONPATH"] = str(tmp_path)

    def best_mf() -> float:
        done = subprocess.run([sys.executable, "-c", _SEARCH, str(path)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return float(done.stdout)

    before = best_mf()  # the copied cache, or compiled and cached
    assert before == pytest.approx(expected, abs=1e-6)
    kernels = package / "search" / "kernels.py"
    text = kernels.read_text()
    assert text.count("    out[0] = min(mf, 1.0)\n") == 1
    kernels.write_text(text.replace("    out[0] = min(mf, 1.0)\n", "    out[0] = min(mf, 1.0) * 0.5\n"))
    # Numba stamps a cache by its function's own file: composite_batch's kept the old row MF.
    assert best_mf() == pytest.approx(before * 0.5, abs=1e-3)


def _best_mf(path: Path) -> float:
    """:data:`_SEARCH` in this process, with this package."""
    import itertools

    from nps_id.io import read
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference

    spectra = list(itertools.islice(read(path), 40))
    return float(max(search(spectra[:12], Reference.from_spectra(spectra), SearchSettings(top_k=3, threads=1)).mf))


def test_every_kernel_module_is_in_the_cache_stamp() -> None:
    # jit.kernel_sources_digest reads nps_id/search alone: a kernel elsewhere would not be in it.
    root = Path(nps_id.__file__).parent
    elsewhere = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "@njit" in p.read_text() and "search" not in p.relative_to(root).parts[:1]]
    assert elsewhere == []


# One tree of one split (feature 0 at 0.5), leaves 1 and 2: numba compiles tree_scores, caches it.
_TREE = """
import numpy as np
from nps_id.search.trees import tree_scores
nodes = np.array([[0, 1, 2], [0, 1, 1], [0, 2, 2]], dtype=np.uint64)
x = np.array([[0.0], [1.0], [np.nan]])
print(tree_scores(x, nodes, np.array([0.5, np.inf, np.inf]), np.array([0.0, 1.0, 2.0]), np.zeros(1, np.uint64),
                  np.ones(1, np.int64), np.zeros(1, np.uint64), 1).ravel().tolist())
"""


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["index", "data"])
def test_a_damaged_cache_file_is_compiled_anew_not_a_traceback(damage: str, tmp_path: Path) -> None:
    """A cache file that does not unpickle (truncated, overwritten): numba raised it from every call
    (``EOFError: Ran out of input``) until the file was deleted by hand."""
    env = {**os.environ, "PYTHONPATH": str(Path(nps_id.__file__).parent.parent), "NUMBA_CACHE_DIR": str(tmp_path)}

    def scores() -> str:
        done = subprocess.run([sys.executable, "-c", _TREE], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0 and not done.stderr, done.stderr
        return done.stdout

    assert scores() == "[1.0, 2.0, 2.0]\n"  # compiled, and cached
    files = list(tmp_path.rglob("trees.tree_scores-*.nbi" if damage == "index" else "trees.tree_scores-*.nbc"))
    assert files
    for path in files:
        path.write_bytes(b"" if damage == "index" else b"\xfb not a pickle")
    assert scores() == scores() == "[1.0, 2.0, 2.0]\n"  # compiled anew, then read from the cache it rewrote

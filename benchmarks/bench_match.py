"""``nps-id match`` on LRCFS GC-MS runs against SWGDRUG: whole process, stages, scaling.

Usage::

    PYTHONPATH=. python benchmarks/bench_match.py [--library swgdrug.h5] [--repeat N]

Prints three tables:

1. Whole process (``python -m nps_id match RUN -l LIB`` in a subprocess, as a user runs it):
   wall and CPU (user + sys) time for one 2,430-scan run and for all six runs in one command
   (a folder of runs must scale linearly: the library and imports are paid once).
2. Stages inside one process: reading the run, component extraction, search + verdicts.
3. Peak finding: :func:`nps_id.gcms.peaks.find_apexes` against ``scipy.signal.find_peaks``, and
   what importing ``scipy.signal`` costs (why match does not use it).

Without ``--library`` a SWGDRUG library is built in a temporary folder first (not timed).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RUNS = [DATA / "gcms" / "lrcfs" / f"{n}.mzML" for n in
        ("220223001", "220223002", "220223008", "220223010", "220223016", "220223030")]


def build_library(folder: Path) -> Path:
    from nps_id.library import build_library as build
    from nps_id.search.index import build_indexes

    out = folder / "swgdrug.h5"
    build([DATA / "swgdrug" / "SWGDRUG-3.4.msp.gz"], out, name="SWGDRUG", release="3.4", index_builder=build_indexes)
    return out


def whole_process(runs: list[Path], library: Path, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``nps-id match RUNS -l LIB`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nps_id", "match", *map(str, runs), "-l", str(library)],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def stages(run: Path, library: Path) -> list[tuple[str, float]]:
    from nps_id.gcms.deconvolution import extract_components
    from nps_id.gcms.run import load_run
    from nps_id.match.pipeline import match_run
    from nps_id.match.reference_library import ReferenceLibrary

    t0 = time.perf_counter()
    lib = ReferenceLibrary(library)
    t1 = time.perf_counter()
    loaded, _ = load_run(run)
    t2 = time.perf_counter()
    extract_components(loaded)
    t3 = time.perf_counter()
    match_run(run, lib)  # warm (numba kernels compiled) whole run
    t4 = time.perf_counter()
    match_run(run, lib)
    t5 = time.perf_counter()
    return [("open library + indexes", t1 - t0), ("read run (nps_id.io) + matrix", t2 - t1),
            ("baseline + components", t3 - t2), ("match_run, first (compiles kernels)", t4 - t3),
            ("match_run, warm", t5 - t4)]


def peak_finding() -> list[tuple[str, float]]:
    import numpy as np

    from nps_id.gcms.peaks import find_apexes

    rng = np.random.default_rng(0)
    x = rng.normal(size=2430).cumsum() + rng.normal(size=2430) * 3
    code = "import scipy.signal"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    scipy_import = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import scipy.ndimage"], check=True)
    ndimage_import = time.perf_counter() - start
    from scipy.signal import find_peaks

    def best(fn):
        times = []
        for _ in range(20):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    ours = best(lambda: find_apexes(x, 0.0, 2.0, 41))
    theirs = best(lambda: find_peaks(x, height=0.0, prominence=2.0, wlen=41))
    return [("python -c 'import scipy.ndimage' (needed anyway)", ndimage_import),
            ("python -c 'import scipy.signal'", scipy_import),
            ("scipy.signal.find_peaks, 2,430 points", theirs),
            ("nps_id find_apexes, 2,430 points", ours)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = args.library or build_library(Path(tmp))
        one_wall, one_cpu = whole_process(RUNS[-1:], library, args.repeat)
        six_wall, six_cpu = whole_process(RUNS, library, max(1, args.repeat // 2))
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print("\n| command | runs | wall s | CPU s | wall s / run |")
        print("|---|---:|---:|---:|---:|")
        print(f"| nps-id match 220223030.mzML | 1 | {one_wall:.2f} | {one_cpu:.2f} | {one_wall:.2f} |")
        print(f"| nps-id match (six LRCFS runs) | 6 | {six_wall:.2f} | {six_cpu:.2f} | {six_wall / 6:.2f} |")
        print("\n| stage (one process, 220223030) | seconds |")
        print("|---|---:|")
        for name, seconds in stages(RUNS[-1], library):
            print(f"| {name} | {seconds:.3f} |")
    print("\n| peak finding | milliseconds |")
    print("|---|---:|")
    for name, seconds in peak_finding():
        print(f"| {name} | {seconds * 1000:.2f} |")


if __name__ == "__main__":
    main()

"""CPU seconds (this process and its children, e.g. OPSIN's JVM) and wall time of the library builds
the slowest tests made (stop 28, trim28): whole SWGDRUG and MassBank EI builds, an append to the whole
SWGDRUG library, and the same on the 300-record subset the append tests now use.

    PYTHONPATH=. python benchmarks/bench_test_builds.py /tmp/bench-test-builds
"""
from __future__ import annotations

import gzip
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

from nps_id.library import build_library
from nps_id.search.index import build_indexes

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SUBSET = 300  # tests/conftest.py SWGDRUG_SUBSET


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, step: Callable[[], object]) -> None:
    cpu, wall = cpu_seconds(), time.perf_counter()
    step()
    print(f"{label}: cpu {cpu_seconds() - cpu:.1f} s, wall {time.perf_counter() - wall:.1f} s", flush=True)


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    swgdrug, analog = DATA / "swgdrug" / "SWGDRUG-3.4.msp.gz", DATA / "massbank" / "ei-queries-analog.msp.gz"
    records = gzip.decompress(swgdrug.read_bytes()).split(b"\r\n\r\n")
    (folder / "subset.msp").write_bytes(b"\r\n\r\n".join(records[:SUBSET]) + b"\r\n")
    timed("SWGDRUG whole build (+indexes)", lambda: build_library(
        [swgdrug], folder / "whole.h5", name="SWGDRUG", release="3.4", index_builder=build_indexes))
    shutil.copyfile(folder / "whole.h5", folder / "whole-appended.h5")
    timed("append 150 analog queries to the whole library", lambda: build_library(
        [analog], folder / "whole-appended.h5", name="", release="", append=True))
    timed(f"{SUBSET}-record subset build (+indexes)", lambda: build_library(
        [folder / "subset.msp"], folder / "subset.h5", name="SWGDRUG", release="3.4", index_builder=build_indexes))
    shutil.copyfile(folder / "subset.h5", folder / "subset-appended.h5")
    timed("append 150 analog queries to the subset", lambda: build_library(
        [analog], folder / "subset-appended.h5", name="", release="", append=True))
    timed("MassBank EI whole build", lambda: build_library(
        [DATA / "massbank" / "ei-library.msp.gz"], folder / "massbank-ei.h5", name="MassBank EI",
        release="2025.05.1"))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

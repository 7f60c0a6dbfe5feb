"""Benchmark the HDF5 reference library: build time, peak memory, file size, random access.

Usage (from the project root)::

    PYTHONPATH=. python benchmarks/bench_library.py                 # SWGDRUG + MassBank MS2
    PYTHONPATH=. python benchmarks/bench_library.py --with-indexes  # also build search indexes

Each build runs in its own child process so that its peak memory (``ru_maxrss``) is its own.
Then, for each built library, it compares three ways of getting one reference spectrum:
``Library.open`` + ``spectrum(i)``, loading the whole library (``peaks()`` + every column),
and streaming the gzipped MSP to record ``i`` -- with wall time and bytes read from disk
(``rchar`` of ``/proc/self/io``, Linux).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = {
    "SWGDRUG 3.4": DATA / "swgdrug" / "SWGDRUG-3.4.msp.gz",
    "MassBank EI": DATA / "massbank" / "ei-library.msp.gz",
    "MassBank MS2": DATA / "massbank" / "ms2-library.msp.gz",
}


def rchar() -> int:
    """Bytes this process has read through read()/pread() so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def build_one(source: str, output: str, with_indexes: bool) -> None:
    """Child process: build, then print seconds and peak RSS as JSON."""
    from nps_id.library import build_library

    builder = None
    if with_indexes:
        from nps_id.search.index import build_indexes as builder
    start = time.perf_counter()
    summary = build_library([Path(source)], Path(output), name="bench", release="1",
                            index_builder=builder)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "n": summary.n_spectra}))


def access(library: Path, source: Path) -> list[tuple[str, float, int]]:
    """(method, seconds, bytes read) for getting the middle spectrum three ways."""
    import h5py  # noqa: F401  -- imported up front so that module files do not count as reads

    from nps_id.io import read
    from nps_id.library import Library

    rows = []
    start, before = time.perf_counter(), rchar()
    with Library.open(library) as lib:
        i = lib.n_spectra // 2
        wanted = lib.spectrum(i)
    rows.append(("Library.open + spectrum(i)", time.perf_counter() - start, rchar() - before))
    start, before = time.perf_counter(), rchar()
    with Library.open(library) as lib:
        lib.peaks()
        lib.columns_dict()
    rows.append(("load whole library", time.perf_counter() - start, rchar() - before))
    start, before = time.perf_counter(), rchar()
    target = wanted.get("scan_index")
    for k, spectrum in enumerate(read(source)):
        if spectrum.get("scan_index") == target:
            break
    rows.append(("stream the .msp.gz to record i", time.perf_counter() - start, rchar() - before))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="*", default=["SWGDRUG 3.4", "MassBank MS2"],
                        choices=list(SOURCES))
    parser.add_argument("--with-indexes", action="store_true",
                        help="pass nps_id.search.index.build_indexes, as 'nps-id library build' does")
    parser.add_argument("--one", nargs=2, metavar=("SOURCE", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        build_one(*args.one, args.with_indexes)
        return
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with tempfile.TemporaryDirectory() as tmp:
        print("| source | spectra kept | build (s) | peak RSS (MB) | .h5 (MB) | .msp.gz (MB) | .h5 / .msp.gz |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        built = []
        for label in args.sources:
            source = SOURCES[label]
            out = Path(tmp) / f"{source.name}.h5"
            cmd = [sys.executable, __file__, "--one", str(source), str(out)]
            if args.with_indexes:
                cmd.append("--with-indexes")
            result = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True,
                                               text=True).stdout.strip().splitlines()[-1])
            h5_mb, gz_mb = out.stat().st_size / 1e6, source.stat().st_size / 1e6
            print(f"| {label} | {result['n']:,} | {result['seconds']:.1f} | {result['peak_mb']:.0f} | "
                  f"{h5_mb:.1f} | {gz_mb:.1f} | {h5_mb / gz_mb:.2f} |")
            built.append((label, out, source))
        print()
        print("| library | method | seconds | bytes read | of file size |")
        print("|---|---|---:|---:|---:|")
        for label, out, source in built:
            size = out.stat().st_size
            for method, seconds, nbytes in access(out, source):
                print(f"| {label} | {method} | {seconds:.4f} | {nbytes:,} | {nbytes / size:.1%} |")


if __name__ == "__main__":
    main()

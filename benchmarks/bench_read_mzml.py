"""Read a 2,430-scan GC-MS mzML: nps-id's reader against a plain pyteomics loop, side by side.

Usage::

    python benchmarks/bench_read_mzml.py [FILE.mzML] [--repeat N]

Both sides decode every m/z and intensity array; nps-id additionally builds validated
``Spectrum`` objects with normalised metadata (retention time in seconds, scan id, ...).
Prints the best-of-N wall time per reader and the ratio.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "gcms" / "lrcfs" / "220223008.mzML"


def pyteomics_loop(path: str) -> int:
    from pyteomics import mzml

    n = 0
    with mzml.read(path) as reader:
        for scan in reader:
            scan["m/z array"], scan["intensity array"]
            n += 1
    return n


def nps_id_read(path: str) -> int:
    from nps_id.io import mzml

    n = 0
    for spectrum in mzml.read(path):
        spectrum.mz, spectrum.intensity
        n += 1
    return n


def best_of(func, path: str, repeat: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = func(path)
        times.append(time.perf_counter() - start)
    return min(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for name, func in [("pyteomics.mzml.read loop", pyteomics_loop), ("nps_id.io.mzml.read", nps_id_read)]:
        func(args.file)  # warm-up: imports and the OS file cache
        seconds, count = best_of(func, args.file, args.repeat)
        rows.append((name, count, seconds))
    base = rows[0][2]
    print(f"file: {args.file}  (best of {args.repeat})")
    print(f"{'reader':<28}{'spectra':>8}{'seconds':>10}{'scans/s':>10}{'speed-up':>10}")
    for name, count, seconds in rows:
        print(f"{name:<28}{count:>8}{seconds:>10.3f}{count / seconds:>10.0f}{base / seconds:>9.2f}x")


if __name__ == "__main__":
    main()

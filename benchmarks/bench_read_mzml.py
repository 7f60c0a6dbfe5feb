"""Read a 2,430-scan GC-MS mzML: nps-id's reader against a plain pyteomics loop, side by side.

Usage::

    python benchmarks/bench_read_mzml.py [FILE.mzML] [--repeat N]

Both sides decode every m/z and intensity array; nps-id additionally builds validated
``Spectrum`` objects with normalised metadata (retention time in seconds, scan id, ...).
Prints the best-of-N wall time per reader and the ratio. When the Agilent .D folder of the same
run is beside the mzML (``agilent-D/<run>.D``), reading it with ``nps_id.io.agilent`` (rainbow-api)
is timed too, for comparison with reading the converted mzML.
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


def nps_id_agilent(path: str) -> int:
    from nps_id.io import agilent

    return sum(1 for _ in agilent.read(path))


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
    candidates = [("pyteomics.mzml.read loop", pyteomics_loop, args.file),
                  ("nps_id.io.mzml.read", nps_id_read, args.file)]
    folder = Path(args.file).parent / "agilent-D" / (Path(args.file).stem + ".D")
    if folder.is_dir():
        candidates.append(("nps_id.io.agilent.read (.D)", nps_id_agilent, str(folder)))
    rows = []
    for name, func, source in candidates:
        func(source)  # warm-up: imports and the OS file cache
        seconds, count = best_of(func, source, args.repeat)
        rows.append((name, count, seconds))
    base = rows[0][2]
    print(f"file: {args.file}  (best of {args.repeat})")
    print(f"{'reader':<28}{'spectra':>8}{'seconds':>10}{'scans/s':>10}{'speed-up':>10}")
    for name, count, seconds in rows:
        print(f"{name:<28}{count:>8}{seconds:>10.3f}{count / seconds:>10.0f}{base / seconds:>9.2f}x")


if __name__ == "__main__":
    main()

"""`nps-id match` on the two real LC-MS/MS runs, beside a plain pyteomics read of the same file.

Usage::

    python benchmarks/bench_lcms.py LIBRARY.h5 [--repeat N]

For each run (../shared/data/lcms: the TripleTOF pesticide slice and the Q Exactive metabolite
run) prints the best-of-N wall and CPU (process) time of a pyteomics loop that decodes every
scan's arrays, and of ``match_run`` (read, MS2 grouping, MS1 features, identity and analogue
search, verdicts) with the library opened once beforehand (its opening time is printed apart).
The CPU time is the steadier number on a machine shared with other jobs.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lcms"
RUNS = (DATA / "openms-pestmix" / "PestMix1_slice_430-470s.mzML", DATA / "rams" / "DDApos_2.mzML.gz")


def pyteomics_read(path: Path) -> int:
    import gzip

    from pyteomics import mzml

    n = 0
    source = gzip.open(path, "rb") if path.suffix == ".gz" else str(path)
    with mzml.read(source) as reader:
        for scan in reader:
            scan["m/z array"], scan["intensity array"]
            n += 1
    return n


def best_of(repeat: int, call) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) of ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from nps_id.match.pipeline import match_run
    from nps_id.match.reference_library import ReferenceLibrary

    start = time.perf_counter()
    library = ReferenceLibrary(args.library)
    print(f"library open: {time.perf_counter() - start:.2f} s ({library.info['n_spectra']} spectra)")
    for run in RUNS:
        read = best_of(args.repeat, lambda: pyteomics_read(run))
        match = best_of(args.repeat, lambda: match_run(run, library))
        results = match_run(run, library)
        print(f"{run.name}: pyteomics read {read[0]:.2f} s (CPU {read[1]:.2f} s), match {match[0]:.2f} s "
              f"(CPU {match[1]:.2f} s, {match[1] / read[1]:.1f}x); {len(results['findings'])} findings, "
              f"{len(results['unassigned_features'])} unassigned features")


if __name__ == "__main__":
    main()

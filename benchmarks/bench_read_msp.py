"""Read the 73,288-spectrum MassBank MS/MS library: nps-id's MSP reader against matchms, side by side.

Usage::

    python benchmarks/bench_read_msp.py [FILE.msp.gz] [--repeat N] [--skip-matchms-harmonised]

``matchms.importing.load_from_msp`` cannot read gzip, so the file is first decompressed to a
temporary file and every reader reads that same plain file (nps-id is also timed on the
``.gz``). matchms runs twice: with its default metadata harmonisation and with it off (its
fastest setting). nps-id builds validated ``Spectrum`` objects (sorted float64 m/z, float32
intensity, normalised metadata: CAS checksum, retention time in seconds, ion mode, licence).
Prints the best-of-N wall time per reader and the speed-up over matchms' default.
"""
from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "massbank" / "ms2-library.msp.gz"


def nps_id_reader(path: str) -> int:
    from nps_id.io import msp

    return sum(1 for _ in msp.read(path))


def matchms_reader(harmonise: bool) -> Callable[[str], int]:
    def run(path: str) -> int:
        from matchms.importing import load_from_msp

        return sum(1 for _ in load_from_msp(path, metadata_harmonization=harmonise))

    return run


def best_of(func: Callable[[str], int], path: str, repeat: int) -> tuple[int, float, float]:
    """Spectra read, best wall time and best CPU time (s) over ``repeat`` runs.

    CPU time is reported too because the machine is shared: it is what the reader itself
    costs, whatever else is running.
    """
    best_wall = best_cpu = float("inf")
    count = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        count = func(path)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return count, best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs (default 1)")
    parser.add_argument("--skip-matchms-harmonised", action="store_true",
                        help="leave out matchms with harmonisation (the slowest run)")
    args = parser.parse_args()
    import matchms  # imported before timing: its import cost (numba) stays out of the table
    import matchms.importing  # noqa: F401

    matchms.set_matchms_logger_level("ERROR")  # else one log line per odd record
    import nps_id.io.msp  # noqa: F401

    with tempfile.TemporaryDirectory() as folder:
        plain = str(Path(folder) / "library.msp")
        with gzip.open(args.file, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
        runs = [("nps_id.io.msp.read (.gz)", nps_id_reader, args.file),
                ("nps_id.io.msp.read (plain)", nps_id_reader, plain),
                ("matchms load_from_msp, harmonisation off", matchms_reader(False), plain)]
        if not args.skip_matchms_harmonised:
            runs.append(("matchms load_from_msp (default)", matchms_reader(True), plain))
        results = [(label, *best_of(func, path, args.repeat)) for label, func, path in runs]

    ref_wall, ref_cpu = results[-1][2], results[-1][3]
    print(f"{Path(args.file).name}, best of {args.repeat}; speed-up relative to the last row")
    print("| reader | spectra | wall s | CPU s | spectra/s (CPU) | speed-up wall | speed-up CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, count, wall, cpu in results:
        print(f"| {label} | {count} | {wall:.2f} | {cpu:.2f} | {count / cpu:,.0f} "
              f"| {ref_wall / wall:.1f}x | {ref_cpu / cpu:.1f}x |")


if __name__ == "__main__":
    main()

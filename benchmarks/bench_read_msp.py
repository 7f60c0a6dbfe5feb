"""Read the 73,288-spectrum MassBank MS/MS library: nps-id's MSP reader against matchms, side by side.

Usage::

    python benchmarks/bench_read_msp.py [FILE.msp.gz] [--repeat N] [--skip-matchms-harmonised]
    python benchmarks/bench_read_msp.py --against OLD_CHECKOUT

``--against``: instead, every MSP, MSL and MGF file of the shared data read by ``OLD_CHECKOUT``'s
code (e.g. a ``git archive`` of the branch point) and by this checkout, strict and ``--lenient``, each
in its own process: every spectrum (its peaks' bytes, dtypes and flags, its metadata) and the read's
report or error must be the same (exit 1 and the files that differ otherwise).

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
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT = DATA / "massbank" / "ms2-library.msp.gz"
ROOT = Path(__file__).resolve().parents[1]


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


def text_files() -> list[Path]:
    """Every MSP, MSL and MGF file (gzipped too) of the shared data."""
    return sorted(p for p in DATA.rglob("*") if p.is_file()
                  and p.name.lower().endswith((".msp", ".msp.gz", ".msl", ".msl.gz", ".mgf", ".mgf.gz")))


def digests() -> dict[str, list[str]]:
    """Per file: (spectra read, sha256 of every spectrum and of the report or error), strict and lenient."""
    from nps_id.io import read
    from nps_id.io._source import ReadReport

    out = {}
    for path in text_files():
        out[str(path.relative_to(DATA))] = []
        for lenient in (False, True):
            digest, report, count = hashlib.sha256(), ReadReport(str(path), lenient=lenient), 0
            try:
                for s in read(path, report=report):
                    count += 1
                    digest.update(s.mz.tobytes() + s.intensity.tobytes() + repr((
                        s.mz.dtype, s.intensity.dtype, s.mz.flags.writeable, s.intensity.flags.writeable,
                        s.mz.flags.c_contiguous, sorted(s.metadata.items()))).encode())
            except Exception as exc:  # the error's text is part of what must not change
                digest.update(f"{type(exc).__name__}: {exc}".encode())
            digest.update(repr(vars(report)).encode())
            out[str(path.relative_to(DATA))].append(f"{count}:{digest.hexdigest()[:16]}")
    return out


def against(old: Path) -> int:
    """Exit status of the ``--against`` check: 0 when ``old``'s reader and this one read the same."""
    runs = {}
    for root in (old.resolve(), ROOT):
        env = dict(os.environ, PYTHONPATH=str(root))
        runs[root] = json.loads(subprocess.run([sys.executable, __file__, "--digests"], env=env, check=True,
                                               capture_output=True, text=True).stdout)
    before, now = runs.values()
    differ = [name for name in before.keys() | now.keys() if before.get(name) != now.get(name)]
    for name in sorted(before):
        print(name, *now.get(name, ["missing"]), "" if name not in differ else f"DIFFERS (before: {before[name]})")
    print(f"{len(before)} files, strict and lenient: {'identical' if not differ else f'{len(differ)} DIFFER'}")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs (default 1)")
    parser.add_argument("--skip-matchms-harmonised", action="store_true",
                        help="leave out matchms with harmonisation (the slowest run)")
    parser.add_argument("--against", type=Path, metavar="OLD_CHECKOUT",
                        help="instead: every shared MSP/MSL/MGF file read the same by OLD_CHECKOUT's reader and this one")
    parser.add_argument("--digests", action="store_true", help=argparse.SUPPRESS)  # --against's child
    args = parser.parse_args()
    if args.digests:
        print(json.dumps(digests()))
        return
    if args.against:
        sys.exit(against(args.against))
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

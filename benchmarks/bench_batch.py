"""Throughput of ``nps-id batch``: runs per minute with 1 and 2 local workers, and on a Dask
LocalCluster (2 worker processes), on the LRCFS GC-MS runs against SWGDRUG.

Each configuration processes the same runs into a fresh OUT_DIR, whole batch wall time
(local worker start-up and one library load per worker included; the LocalCluster's own start-up
is printed apart, as a laboratory's cluster is already running), then a re-run of the finished
batch (everything skipped by the manifest). The runs are the six LRCFS mzML files, repeated ``--repeat``
times under different names so that start-up is amortised as in a real sequence.

    PYTHONPATH=. python benchmarks/bench_batch.py --repeat 2
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from nps_id.batch.discover import discover
from nps_id.batch.match import MatchProcessor
from nps_id.batch.runner import run_batch
from nps_id.library import Library, build_library

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _inputs(folder: Path, repeat: int) -> list:
    folder.mkdir()
    for i in range(repeat):
        for run in sorted((DATA / "gcms" / "lrcfs").glob("*.mzML")):
            (folder / f"r{i}-{run.name}").symlink_to(run)
    return discover([folder]).runs


def _time(label: str, runs: list, out: Path, processor: MatchProcessor, sha: str, **where) -> tuple:
    start = time.perf_counter()
    result = run_batch(runs, out, processor, processor.describe(), sha, **where)
    seconds = time.perf_counter() - start
    if result.failed:
        raise SystemExit(f"{label}: {len(result.failed)} runs failed: {result.failed[:2]}")
    start = time.perf_counter()
    again = run_batch(runs, out, processor, processor.describe(), sha, **where)
    resume = time.perf_counter() - start
    assert again.skipped == len(runs)
    return label, len(runs), seconds, len(runs) / seconds * 60, resume


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="copies of the six LRCFS runs")
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        library = tmp / "swgdrug.h5"
        build_library([DATA / "swgdrug" / "SWGDRUG-3.4.msp.gz"], library, name="SWGDRUG", release="3.4")
        with Library.open(library) as lib:
            sha = lib.sha256
        runs = _inputs(tmp / "in", args.repeat)
        processor = MatchProcessor(str(library))
        rows = [_time("local, 1 worker", runs, tmp / "w1", processor, sha, workers=1),
                _time("local, 2 workers", runs, tmp / "w2", processor, sha, workers=2)]
        if not args.no_dask:
            from distributed import LocalCluster

            start = time.perf_counter()
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                cluster_start = time.perf_counter() - start
                rows.append(_time("Dask LocalCluster, 2 workers", runs, tmp / "dask", processor, sha,
                                  scheduler=cluster.scheduler_address))
            print(f"LocalCluster start-up (not in its row: a lab's cluster is already running): {cluster_start:.1f} s")
    base = rows[0][3]
    print(f"{os.cpu_count()} cores; {len(runs)} LRCFS runs (2,430 scans each) against SWGDRUG 3.4\n")
    print("| configuration | runs | seconds | runs/min | vs 1 worker | re-run (all skipped), s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, n, seconds, per_minute, resume in rows:
        print(f"| {label} | {n} | {seconds:.1f} | {per_minute:.1f} | {per_minute / base:.2f}x | {resume:.2f} |")


if __name__ == "__main__":
    main()

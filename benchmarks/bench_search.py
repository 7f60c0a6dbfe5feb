"""Search accuracy and speed: nps-id against ms_entropy (Flash entropy) and matchms, in one run.

Tasks (../shared/data, development queries only):

- EI identity: massbank ei-queries-identity vs ei-library; right = top hit shares the InChIKey
  first block. SWGDRUG: every 4th spectrum, re-measured (m/z jitter 0.1, 10 % intensity noise),
  vs the whole library; right = top hit has the same normalised name or InChIKey block.
- MS2 identity: ms2-queries-identity vs ms2-library (cross-laboratory).
- Analogues: ei/ms2-queries-analog vs their libraries; mean Tanimoto (RDKit Morgan r=2,
  2048 bits) between query and top hit.

Every engine runs in a forked child (after the data are loaded) so that its peak memory is its
own: ``peak MB`` is the child's VmHWM minus its RSS at the fork. Speed = queries / wall time of
the search, best of ``--repeat`` (3) runs (index build timed separately; matchms runs once). matchms has no index: it scores a subsample of the
queries against the whole library (``--matchms-queries``), MS2 identity within the precursor
window. ``--million`` instead measures a 1,000,000-spectrum library (replicated MassBank MS2
spectra with m/z jitter) for peak RSS.

``--whole-process`` times what a user runs (issue 16): ``python -m nps_id search FILE --library
LIB --top 5 --format jsonl -o OUT`` as a fresh process (imports, reading, search, verdicts,
writing), beside Flash entropy's query loop with its index prebuilt, in the same run, on the
MassBank EI identity queries x10 (9,670) vs the EI library and the MS/MS ones x10 (12,350) vs
the MS/MS library; then a one-spectrum search against ``python -c "import numpy, scipy, h5py,
click"`` (start-up). Libraries are built with ``nps-id library build`` into a temporary folder
unless ``--ei-library`` / ``--ms2-library`` name prebuilt ones.

Usage::

    PYTHONPATH=. python benchmarks/bench_search.py [--matchms-queries 100] [--json out.json]
    PYTHONPATH=. python benchmarks/bench_search.py --million
    PYTHONPATH=. python benchmarks/bench_search.py --whole-process [--ei-library mbei.h5 --ms2-library mbms2.h5]
    PYTHONPATH=. python benchmarks/bench_search.py --whole-process --against OLD_CHECKOUT --repeat 5 \
        --ei-library mbei.h5 --ms2-library mbms2.h5

``--against`` times the same commands from another checkout (before) and this one (now) as
alternating processes on a shared machine, and checks that their outputs are the same bytes.
``--workload EI`` (or ``MS/MS``) runs one workload of either.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import json
import multiprocessing as mp
import os
import re
import resource
import subprocess
import sys
import tempfile
from typing import Sequence
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: Searches per engine and task; the fastest counts (the machine is shared, load varies).
REPEAT = 3


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def in_child(func, *args):
    """Run ``func(*args)`` in a forked child; returns (result, peak MB above the fork's RSS)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()

    def target():
        base = rss_mb()
        try:
            out = func(*args)
        except Exception as exc:  # report it in the parent instead of leaving it waiting
            queue.put((exc, 0.0))
            raise
        queue.put((out, rss_mb("VmHWM") - base))

    proc = ctx.Process(target=target)
    proc.start()
    result = queue.get()
    proc.join()
    if isinstance(result[0], Exception):
        raise RuntimeError(f"{func.__name__} failed in the child") from result[0]
    return result


# -- data -----------------------------------------------------------------------------------------


def load(name: str):
    from nps_id.io import read

    return list(read(DATA / "massbank" / f"{name}.msp.gz"))


def key(spectrum) -> str:
    ik = spectrum.get("inchikey") or ""
    return ik[:14] if ik else re.sub(r"[^0-9a-z]", "", (spectrum.name or "").lower())


def swgdrug_queries(library, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for s in library[::4]:
        mz = s.mz + rng.uniform(-0.1, 0.1, len(s))
        inten = s.intensity * rng.uniform(0.9, 1.1, len(s))
        out.append(s.replace(mz=np.clip(mz, 1.0, None), intensity=inten))
    return out


# -- engines --------------------------------------------------------------------------------------


def run_nps(library, queries, mode, threads=1):
    from nps_id.search.engine import PreparedLibrary, SearchSettings, search
    from nps_id.search.index import load_indexes
    from nps_id.search.reference import Reference

    settings = SearchSettings(mode=mode, top_k=5, threads=threads)
    t0 = time.perf_counter()
    ref = Reference.from_spectra(library)
    prepared = PreparedLibrary(ref, indexes=load_indexes(ref, use_cache=False))
    search(queries[:2], prepared, settings)  # JIT warm-up and per-library data, not timed as search
    t1 = time.perf_counter()
    seconds = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        hits = search(queries, prepared, settings)
        seconds.append(time.perf_counter() - t)
    top = [[] for _ in queries]
    for q, row in zip(hits.query, hits.row):
        top[q].append(int(row))
    return top, t1 - t0, min(seconds)


def _flash_peaks(s, ei: bool):
    from nps_id.search.preprocess import bin_nominal

    if ei:
        mz, inten = bin_nominal(s.mz, s.intensity)
        return np.column_stack([mz, inten]).astype(np.float32)
    return np.column_stack([s.mz, s.intensity]).astype(np.float32)


def _flash_precursor(s, peaks, ei: bool) -> float:
    # EI has no precursor: one above every peak so that no fragment is removed.
    return float(peaks[:, 0].max() + 10.0) if ei and len(peaks) else float(s.precursor_mz or 0.0)


def run_flash(library, queries, method, ei):
    from ms_entropy import FlashEntropySearch

    t0 = time.perf_counter()
    entries = []
    for i, s in enumerate(library):
        peaks = _flash_peaks(s, ei)
        if len(peaks) == 0:
            continue
        entries.append({"precursor_mz": _flash_precursor(s, peaks, ei), "peaks": peaks, "row": i})
    # ms_entropy needs cleaned peaks at least 2 x max tolerance apart (min difference 0.05 Da).
    engine = FlashEntropySearch(max_ms2_tolerance_in_da=0.05 if ei else 0.024)
    entries = engine.build_index(entries)
    rows = np.array([e["row"] for e in entries])
    tol = 0.05 if ei else 0.02
    t1 = time.perf_counter()
    seconds = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        top = []
        for s in queries:
            peaks = _flash_peaks(s, ei)
            if len(peaks) == 0:
                top.append([])
                continue
            prec = _flash_precursor(s, peaks, ei)
            clean = engine.clean_spectrum_for_search(prec, peaks)
            if method == "identity":
                scores = engine.identity_search(prec, clean, ms1_tolerance_in_da=0.01, ms2_tolerance_in_da=tol)
            elif method == "open":
                scores = engine.open_search(clean, ms2_tolerance_in_da=tol)
            else:
                scores = engine.hybrid_search(prec, clean, ms2_tolerance_in_da=tol)
            best = np.argsort(-scores, kind="stable")[:5]
            top.append([int(rows[b]) for b in best if scores[b] > 0])
        seconds.append(time.perf_counter() - t)
    return top, t1 - t0, min(seconds)


def run_matchms(library, queries, modified, ei, window):
    from matchms.similarity import CosineGreedy, ModifiedCosineGreedy

    from nps_id.spectrum import to_matchms

    def conv(s):
        if ei:
            from nps_id.search.preprocess import bin_nominal

            mz, inten = bin_nominal(s.mz, s.intensity)
            s = s.replace(mz=mz, intensity=inten)
        m = to_matchms(s)
        if s.precursor_mz is None:
            m.set("precursor_mz", float(s.mz.max()) if len(s) else 0.0)
        return m

    t0 = time.perf_counter()
    refs = [conv(s) for s in library]
    ref_prec = np.array([r.get("precursor_mz") or 0.0 for r in refs])
    tol = 0.5 if ei else 0.02
    sim = ModifiedCosineGreedy(tolerance=tol) if modified else CosineGreedy(tolerance=tol, intensity_power=0.5 if ei else 1.0)
    t1 = time.perf_counter()
    top = []
    for s in queries:
        q = conv(s)
        cand = np.arange(len(refs))
        if window:
            prec = q.get("precursor_mz")
            cand = np.flatnonzero(np.abs(ref_prec - prec) <= max(20e-6 * prec, 0.01))
        if cand.size == 0:
            top.append([])
            continue
        scores = np.array([sim.pair(q, refs[c]) for c in cand], dtype=object)
        vals = np.array([float(x["score"]) if not np.isscalar(x) else float(x) for x in scores])
        best = np.argsort(-vals, kind="stable")[:5]
        top.append([int(cand[b]) for b in best])
    t2 = time.perf_counter()
    return top, t1 - t0, t2 - t1


# -- accuracy -------------------------------------------------------------------------------------


def identity_accuracy(top, library, queries):
    keys = [key(s) for s in library]
    t1 = np.mean([bool(t) and keys[t[0]] == key(q) for t, q in zip(top, queries)])
    t5 = np.mean([any(keys[r] == key(q) for r in t[:5]) for t, q in zip(top, queries)])
    return float(t1), float(t5)


_FP: dict[str, object] = {}


def _fingerprint(smiles: str):
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    if smiles not in _FP:
        mol = Chem.MolFromSmiles(smiles) if smiles else None
        gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
        _FP[smiles] = gen.GetFingerprint(mol) if mol is not None else None
    return _FP[smiles]


def analog_tanimoto(top, library, queries) -> float:
    from rdkit import DataStructs, RDLogger

    RDLogger.DisableLog("rdApp.*")
    values = []
    for t, q in zip(top, queries):
        fq = _fingerprint(q.get("smiles") or "")
        if fq is None:
            continue
        fh = _fingerprint(library[t[0]].get("smiles") or "") if t else None
        values.append(DataStructs.TanimotoSimilarity(fq, fh) if fh is not None else 0.0)
    return float(np.mean(values))


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--matchms-queries", type=int, default=100, help="queries per task for matchms")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--million", action="store_true", help="only the 1,000,000-spectrum memory test")
    parser.add_argument("--task", action="append", default=None,
                        help="run only this task (repeatable), e.g. --task 'EI identity'")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="time the search this many times, keep the best")
    parser.add_argument("--scale", type=int, nargs="+", default=None, metavar="N",
                        help="only the scale table: libraries of N spectra (e.g. 10000 100000 1000000)")
    parser.add_argument("--whole-process", action="store_true",
                        help="only `nps-id search` as a process vs Flash's query loop, and start-up")
    parser.add_argument("--ei-library", type=Path, default=None, help="--whole-process: prebuilt MassBank EI .h5")
    parser.add_argument("--ms2-library", type=Path, default=None, help="--whole-process: prebuilt MassBank MS2 .h5")
    parser.add_argument("--against", type=Path, default=None, metavar="OLD_CHECKOUT",
                        help="--whole-process: instead, before (OLD_CHECKOUT's code) -> now as alternating "
                             "processes, --repeat rounds, and their outputs compared")
    parser.add_argument("--workload", action="append", choices=[w[0] for w in WORKLOADS], default=None,
                        help="--whole-process: only this workload (repeatable; default: all)")
    args = parser.parse_args()
    globals()["REPEAT"] = max(args.repeat, 1)
    workloads = args.workload or [w[0] for w in WORKLOADS]
    if args.million:
        million()
        return
    if args.scale:
        scale(args.scale)
        return
    if args.whole_process and args.against:
        if ("EI" in workloads and not args.ei_library) or ("MS/MS" in workloads and not args.ms2_library):
            parser.error("--against needs --ei-library and --ms2-library (the same files for both codes)")
        alternate(args.against, args.ei_library, args.ms2_library, max(args.repeat, 1), workloads=workloads)
        return
    if args.whole_process:
        whole_process(args.ei_library, args.ms2_library, workloads=workloads)
        return
    t = time.perf_counter()
    tasks = load_tasks(args.task)
    print(f"data loaded in {time.perf_counter() - t:.0f} s")
    rows = []
    for task, (lib, queries, mode, ei) in tasks.items():
        engines = [("nps-id", run_nps, (lib, queries, mode), queries)]
        if ei and mode == "identity":  # the EI batch loop uses every core it is given
            engines.append(("nps-id, 2 threads", run_nps, (lib, queries, mode, 2), queries))
        sub = queries[: args.matchms_queries]
        if mode == "identity":
            # EI spectra have no precursor: Flash open search is its identity search there.
            flash_methods = ["open"] if ei else ["identity"]
            engines += [(f"Flash {m}", run_flash, (lib, queries, m, ei), queries) for m in flash_methods]
            engines.append((f"matchms CosineGreedy ({len(sub)} q)", run_matchms, (lib, sub, False, ei, not ei), sub))
        else:
            engines.append(("Flash hybrid", run_flash, (lib, queries, "hybrid", ei), queries))
            sub = queries[: max(args.matchms_queries // 2, 1)]
            engines.append((f"matchms ModifiedCosine ({len(sub)} q)", run_matchms, (lib, sub, True, ei, False), sub))
        for name, func, fargs, qs in engines:
            (top, build_s, search_s), peak = in_child(func, *fargs)
            row = {"task": task, "engine": name, "queries": len(qs), "build_s": round(build_s, 2),
                   "queries_per_s": round(len(qs) / search_s, 1), "peak_mb": round(peak)}
            if mode == "identity":
                row["top1"], row["top5"] = (round(x, 3) for x in identity_accuracy(top, lib, qs))
            else:
                row["tanimoto"] = round(analog_tanimoto(top, lib, qs), 3)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


def load_tasks(only: list[str] | None) -> dict:
    """(library, queries, mode, is_ei) per task name, reading only what the chosen tasks need."""
    from nps_id.io import read

    specs = {
        "EI identity": ("ei-library", "ei-queries-identity", "identity", True),
        "MS2 identity": ("ms2-library", "ms2-queries-identity", "identity", False),
        "EI analogue": ("ei-library", "ei-queries-analog", "analog", True),
        "MS2 analogue": ("ms2-library", "ms2-queries-analog", "analog", False),
        "SWGDRUG identity": (None, None, "identity", True),
    }
    libraries: dict[str, list] = {}
    tasks = {}
    for name, (lib_name, query_name, mode, ei) in specs.items():
        if only and name not in only:
            continue
        if lib_name is None:
            sw = list(read(DATA / "swgdrug" / "SWGDRUG-3.4.msp.gz"))
            tasks[name] = (sw, swgdrug_queries(sw), mode, ei)
            continue
        if lib_name not in libraries:
            libraries[lib_name] = load(lib_name)
        tasks[name] = (libraries[lib_name], load(query_name), mode, ei)
    return tasks


def print_table(rows) -> None:
    print("\n| task | engine | queries | top-1 | top-5 | Tanimoto | queries/s | speed vs Flash | index build s | peak MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        flash = [x for x in rows if x["task"] == r["task"] and x["engine"].startswith("Flash")]
        ratio = f"{r['queries_per_s'] / flash[0]['queries_per_s']:.1f}x" if flash else ""
        cells = [r["task"], r["engine"], r["queries"], r.get("top1", ""), r.get("top5", ""), r.get("tanimoto", ""),
                 r["queries_per_s"], ratio, r["build_s"], r["peak_mb"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")


def replicated(base, n_target: int, rng):
    """``base`` (a Reference) tiled to ``n_target`` spectra, every copy with 0.001 Da m/z and
    0.0005 Da precursor jitter so that no two copies are identical."""
    from nps_id.peaks import CSRPeaks
    from nps_id.search.reference import COLUMNS, Reference

    reps = -(-n_target // base.n_spectra)
    counts = np.tile(base.peaks.counts, reps)[:n_target]
    offsets = np.zeros(n_target + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    mz = np.tile(base.peaks.mz, reps)[: offsets[-1]]
    mz = mz + rng.normal(0, 0.001, mz.size)
    inten = np.tile(base.peaks.intensity, reps)[: offsets[-1]]
    # jitter can swap two close peaks: restore ascending m/z within each spectrum
    spec = np.repeat(np.arange(n_target), counts)
    order = np.lexsort((mz, spec))
    cols = {name: np.tile(base.columns[name], reps)[:n_target] for name in COLUMNS}
    cols["precursor_mz"] = cols["precursor_mz"] + rng.normal(0, 0.0005, n_target)
    return Reference(CSRPeaks(offsets, np.abs(mz[order]), inten[order]), cols)


def scale(sizes: list[int], n_queries: int = 300) -> None:
    """Query throughput and peak memory against libraries of ``sizes`` spectra (MassBank EI and
    MS/MS replicated with jitter), nps-id beside Flash entropy search, and the slope of each."""
    from nps_id.search.reference import Reference

    rows = []
    for task, lib_name, query_name, ei in (("EI", "ei-library", "ei-queries-identity", True),
                                           ("MS/MS", "ms2-library", "ms2-queries-identity", False)):
        base = Reference.from_spectra(load(lib_name))
        queries = load(query_name)[:n_queries]
        for n in sizes:
            for engine in ("nps-id", "Flash"):
                (seconds, build_s), peak = in_child(_scale_run, engine, base, n, queries, ei)
                row = {"task": task, "spectra": n, "engine": engine, "queries_per_s": round(len(queries) / seconds, 1),
                       "ms_per_query": round(1000 * seconds / len(queries), 3), "build_s": round(build_s, 1),
                       "peak_mb": round(peak)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| task | engine | spectra | queries/s | ms/query | index build s | peak MB (child, above fork) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['task']} | {r['engine']} | {r['spectra']:,} | {r['queries_per_s']} | {r['ms_per_query']} | "
              f"{r['build_s']} | {r['peak_mb']} |")
    print("\nslope (log ms/query vs log spectra, first to last size) and ms/query extrapolated to 10^9 spectra:")
    for task in ("EI", "MS/MS"):
        for engine in ("nps-id", "Flash"):
            pts = [(r["spectra"], r["ms_per_query"]) for r in rows if r["task"] == task and r["engine"] == engine]
            (n0, t0), (n1, t1) = pts[0], pts[-1]
            b = np.log(t1 / t0) / np.log(n1 / n0)
            print(f"  {task} {engine}: slope {b:.2f}, {t1 * (1e9 / n1) ** b / 1000:.3g} s/query at 10^9 "
                  f"(linear: {t1 * 1e9 / n1 / 1000:.3g} s)")


def _scale_run(engine: str, base, n: int, queries, ei: bool):
    """(search seconds for ``queries``, index build seconds) in a child, on ``base`` tiled to ``n``."""
    rng = np.random.default_rng(1)
    ref = replicated(base, n, rng)
    if engine == "nps-id":
        from nps_id.search.engine import PreparedLibrary, SearchSettings, search
        from nps_id.search.index import load_indexes

        t0 = time.perf_counter()
        prepared = PreparedLibrary(ref, indexes=load_indexes(ref, use_cache=False))
        settings = SearchSettings(top_k=5)
        search(queries[:2], prepared, settings)  # JIT and per-library data, as in the other rows
        build_s = time.perf_counter() - t0
        t = time.perf_counter()
        search(queries, prepared, settings)
        return time.perf_counter() - t, build_s
    from nps_id.spectrum import Spectrum

    precursor, level = ref.columns["precursor_mz"].tolist(), ref.columns["ms_level"].tolist()
    library = [Spectrum(*ref.peaks.row(i), {"precursor_mz": precursor[i] if np.isfinite(precursor[i]) else None,
                                             "ms_level": level[i] or None}) for i in range(ref.n_spectra)]
    del ref
    _, build_s, search_s = run_flash(library, queries, "open" if ei else "identity", ei)
    return search_s, build_s


def million(n_target: int = 1_000_000) -> None:
    """Peak RSS of building the index for and searching a 1,000,000-spectrum MS2 + EI library."""
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.index import load_indexes
    from nps_id.search.reference import Reference

    base_lib = load("ms2-library") + load("ei-library")
    queries = load("ms2-queries-identity")[:300] + load("ei-queries-identity")[:300]
    base = Reference.from_spectra(base_lib)
    del base_lib
    reps = -(-n_target // base.n_spectra)
    rng = np.random.default_rng(1)
    print(f"replicating {base.n_spectra} spectra x {reps}; RSS now {rss_mb():.0f} MB", flush=True)

    def run():
        ref = replicated(base, n_target, rng)
        t0 = time.perf_counter()
        indexes = load_indexes(ref, use_cache=False)
        t1 = time.perf_counter()
        hits = search(queries, ref, SearchSettings(top_k=5), indexes)
        t2 = time.perf_counter()
        return ref.n_spectra, len(hits), t1 - t0, t2 - t1, rss_mb("VmHWM")

    (n, n_hits, build_s, search_s, hwm), _ = in_child(run)
    print(f"| spectra | index build s | {len(queries)} queries s | queries/s | peak RSS MB (whole process) |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {n} | {build_s:.1f} | {search_s:.1f} | {len(queries) / search_s:.0f} | {hwm:.0f} |")


# -- the whole process (issue 16) ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _nps_id(*args: str) -> list[str]:
    return [sys.executable, "-m", "nps_id", *map(str, args)]


@functools.cache
def _pycache() -> Path:
    """Byte code of the checkouts' modules, compiled by their first (untimed) process, as an
    installed package has it: with ``PYTHONDONTWRITEBYTECODE`` set (as on the development machine)
    every process compiled nps-id's modules again, ~0.07 s CPU of a one-spectrum search."""
    return Path(tempfile.mkdtemp(prefix="bench-pyc-"))


def _run(cmd: list[str], cache: Path | None = None, root: Path = ROOT) -> tuple[float, float]:
    """(wall s, user + system CPU s) of one child process run from ``root`` (default: this
    checkout) with its code, and ``cache`` as its cache folder (``NPS_ID_CACHE``) when given."""
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONPYCACHEPREFIX=str(_pycache()),
               **({"NPS_ID_CACHE": str(cache)} if cache else {}))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _timed(cmd: list[str], cache: Path | None = None) -> float:
    """Wall seconds of :func:`_run`."""
    return _run(cmd, cache)[0]


WORKLOADS = (("EI", "ei-library", "ei-queries-identity"), ("MS/MS", "ms2-library", "ms2-queries-identity"))


def _query_files(tmp: Path, query_name: str, copies: int) -> tuple[Path, Path]:
    """The queries x ``copies`` as one MSP file, and the first query alone."""
    text = gzip.decompress((DATA / "massbank" / f"{query_name}.msp.gz").read_bytes())
    queries_file = tmp / f"{query_name}-x{copies}.msp"
    queries_file.write_bytes((text.rstrip(b"\n") + b"\n\n") * copies)
    one = tmp / f"{query_name}-one.msp"
    one.write_bytes(text.split(b"\n\n")[0] + b"\n\n")
    return queries_file, one


def whole_process(ei_library: Path | None, ms2_library: Path | None, copies: int = 10,
                  workloads: Sequence[str] = ("EI", "MS/MS")) -> None:
    """`nps-id search` as a process vs Flash entropy's query loop (index prebuilt), one run."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-whole-"))
    rows = []
    for (task, lib_name, query_name), given in zip(WORKLOADS, (ei_library, ms2_library)):
        if task not in workloads:
            continue
        queries_file, one = _query_files(tmp, query_name, copies)
        library = given or tmp / f"{lib_name}.h5"
        if given is None:
            build_s = _timed(_nps_id("library", "build", DATA / "massbank" / f"{lib_name}.msp.gz", "-o", library))
            print(f"built {library} in {build_s:.0f} s", flush=True)
        queries = load(query_name) * copies
        out = tmp / "hits.jsonl"
        command = _nps_id("search", queries_file, "--library", library, "--top", 5, "--format", "jsonl", "-o", out)
        # First with an empty cache folder (the library's compound identity, its hit rows' facts
        # and isomers are made then), then as every later search runs.
        loadavg = [os.getloadavg()[0]]
        cold_s = _timed(command, tmp / f"cache-{lib_name}")
        nps_s = min(_timed(command, tmp / f"cache-{lib_name}") for _ in range(REPEAT))
        n_rows = sum(1 for _ in out.open())
        (_, _, flash_s), _ = in_child(run_flash, load(lib_name), queries, "open" if task == "EI" else "identity",
                                      task == "EI")
        loadavg.append(os.getloadavg()[0])
        row = {"task": task, "queries": len(queries), "rows": n_rows, "nps_id_process_s": round(nps_s, 2),
               "cold_s": round(cold_s, 2), "load": f"{min(loadavg):.1f}-{max(loadavg):.1f}",
               "flash_loop_s": round(flash_s, 2), "ratio": round(flash_s / nps_s, 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        one_s = min(_timed(_nps_id("search", one, "--library", library, "-o", tmp / "one.tsv"), tmp / f"cache-{lib_name}")
                    for _ in range(REPEAT))
        rows.append({"task": f"{task}, one spectrum", "queries": 1, "nps_id_process_s": round(one_s, 2)})
    imports_s = min(_timed([sys.executable, "-c", "import numpy, scipy, h5py, click"]) for _ in range(REPEAT))
    print(f"\n`python -c \"import numpy, scipy, h5py, click\"`: {imports_s:.2f} s (best of {REPEAT})")
    print("\n| workload | queries | nps-id search, whole process s | first run, empty cache s | Flash query loop s "
          "| nps-id vs Flash | vs the imports | load average |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        flash = f"{r['flash_loop_s']:.2f}" if "flash_loop_s" in r else ""
        ratio = f"**{r['ratio']:.1f}x** ({r['flash_loop_s'] / r['cold_s']:.1f}x)" if "ratio" in r else ""
        cold = f"{r['cold_s']:.2f}" if "cold_s" in r else ""
        print(f"| {r['task']} | {r['queries']:,} | {r['nps_id_process_s']:.2f} | {cold} | {flash} | {ratio} | "
              f"{r['nps_id_process_s'] / imports_s:.1f}x | {r.get('load', '')} |")
    print(f"\n(nps-id: best of {REPEAT} processes; Flash: best of {REPEAT} loops, index built before; files in {tmp})")


def alternate(old: Path, ei_library: Path | None, ms2_library: Path | None, rounds: int, copies: int = 10,
              workloads: Sequence[str] = ("EI", "MS/MS")) -> None:
    """Before -> now on this machine as it is: the whole-process commands run from ``old`` (another
    checkout of nps-id, e.g. ``git archive`` of the branch point) and from this one as alternating
    processes (one untimed run each first, each with its own warm cache folder), ``rounds``
    times; then the outputs of the two, and of this one with ``--threads 1``, are compared byte
    for byte."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-alt-"))
    codes = {"before": old.resolve(), "now": ROOT}
    print("| workload | before wall s, best (median) | now wall s, best (median) | before CPU s | now CPU s "
          "| outputs | load average |\n|---|---:|---:|---:|---:|---|---|", flush=True)
    for (task, _, query_name), library in zip(WORKLOADS, (ei_library, ms2_library)):
        if task not in workloads:
            continue
        queries_file, one = _query_files(tmp, query_name, copies)
        for label, file, extra in ((task, queries_file, ("--top", 5, "--format", "jsonl")),
                                   (f"{task}, one spectrum", one, ())):
            times: dict[str, list[tuple[float, float]]] = {code: [] for code in codes}
            loads = [os.getloadavg()[0]]
            for n in range(rounds + 1):
                for code, root in codes.items():
                    out = tmp / f"{code}.out"
                    run = _run(_nps_id("search", file, "--library", library, *extra, "-o", out), tmp / f"cache-{code}",
                               root)
                    if n:  # the first round fills the caches and is not timed
                        times[code].append(run)
                loads.append(os.getloadavg()[0])
            # ... and this checkout on one thread (the search, then each batch's verdict columns,
            # on the command's thread) against its default (the verdicts beside the search threads).
            _run(_nps_id("search", file, "--library", library, *extra, "--threads", 1, "-o", tmp / "now-1.out"),
                 tmp / "cache-now")
            same = len({(tmp / f"{name}.out").read_bytes() for name in ("before", "now", "now-1")}) == 1
            cells = []
            for code in codes:
                wall = [w for w, _ in times[code]]
                cells.append(f"{min(wall):.2f} ({np.median(wall):.2f})")
            cpu = [f"{np.median([c for _, c in times[code]]):.2f}" for code in codes]
            print(f"| {label} | {cells[0]} | {cells[1]} | {cpu[0]} | {cpu[1]} | {'identical' if same else 'DIFFER'} "
                  f"| {min(loads):.1f}-{max(loads):.1f} |", flush=True)
    print(f"\n({rounds} alternating rounds; CPU: user + system, median; files in {tmp})")


if __name__ == "__main__":
    main()

"""Mutation fuzzing of every reader: seeded byte and line mutations of real small files.

Usage (from the project root; ~10 minutes on one core for the default count)::

    python benchmarks/fuzz_readers.py --seed 12 --count 1500 [--minutes 10] [--keep DIR]

Each mutant of a real file from ``../shared/data/formats`` (and a few real runs) is read through
:func:`nps_id.io.read` in strict and in lenient mode, consuming every spectrum. The only
acceptable outcomes are spectra or the project's :class:`~nps_id.errors.NpsIdError` (one line,
exit 3 in the CLI). Anything else is a defect and is listed with the mutant's seed: another
exception (a traceback in the CLI), more than 10 s (a hang), or ``MemoryError`` (the process runs
under a 1.5 GB address-space limit, the memory goal of issue 12). ``--keep DIR`` saves the
mutants that found a defect. Not a test: the tests cover each defect found, with its own file.
"""
from __future__ import annotations

import argparse
import collections
import gzip
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nps_id.errors import NpsIdError  # noqa: E402
from nps_id.io import FORMATS, read  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
REAL_RUNS = ["gcms/andi/agilent-gcms.cdf", "gcms/jcamp/gcms.jdx", "formats/cheminfo-mzdata-tests/small_zlib.pwiz.1.1.mzML"]
MAX_SEED_BYTES = 700_000
SECONDS_PER_READ = 10
ADDRESS_SPACE = 1536 << 20
EXTENSIONS = {ext for fmt in FORMATS.values() for ext in fmt.extensions if not fmt.is_folder}
INTERESTING = [b"0", b"-1", b"1e39", b"nan", b"inf", b"99999999999", b"\x00", b"\xff\xfe", b"<", b">", b"&",
               b"\"", b"=", b"\n", b"\r\n", b"##", b"Num Peaks: 3\n", b"END IONS\n", b"BEGIN IONS\n", b"\xc2\xb2"]


def seed_files() -> list[Path]:
    """The real files mutated: small files of every format, plus a few real runs."""
    files = [p for p in sorted((DATA / "formats").rglob("*"))
             if p.is_file() and p.stat().st_size <= MAX_SEED_BYTES
             and any(p.name.lower().removesuffix(".gz").endswith(ext) for ext in EXTENSIONS)]
    return files + [DATA / run for run in REAL_RUNS if (DATA / run).exists()]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """``data`` after 1-8 random byte or line mutations (the same seed gives the same bytes)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.choice(["flip", "insert", "delete", "splice", "line_drop", "line_dup", "number", "truncate"])
        at = rng.randrange(len(buf) + 1)
        if op == "flip" and buf:
            buf[min(at, len(buf) - 1)] = rng.randrange(256)
        elif op == "insert":
            buf[at:at] = rng.choice(INTERESTING)
        elif op == "delete":
            del buf[at:at + rng.randint(1, 64)]
        elif op == "splice" and buf:  # a copy of another stretch of the file, maybe repeated
            start = rng.randrange(len(buf))
            buf[at:at] = bytes(buf[start:start + rng.randint(1, 512)]) * rng.choice([1, 1, 2, 50])
        elif op in ("line_drop", "line_dup"):
            lines = bytes(buf).split(b"\n")
            i = rng.randrange(len(lines))
            if op == "line_drop":
                del lines[i]
            else:
                lines.insert(i, lines[i])
            buf = bytearray(b"\n".join(lines))
        elif op == "number":  # a digit run replaced by a hostile number
            digit = next((j for j in range(at, min(at + 4096, len(buf))) if chr(buf[j]).isdigit()), None)
            if digit is not None:
                buf[digit:digit + 1] = rng.choice(INTERESTING[:6])
        elif op == "truncate":
            del buf[at:]
    return bytes(buf)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def read_all(path: Path, lenient: bool) -> str:
    """``ok``, ``refused`` (an NpsIdError) or a defect label for one read of ``path``."""
    signal.alarm(SECONDS_PER_READ)
    try:
        for _ in read(path, lenient=lenient):
            pass
        return "ok"
    except NpsIdError:
        return "refused"
    except _Timeout:
        return "DEFECT hang"
    except MemoryError:
        return "DEFECT memory"
    except Exception as exc:  # noqa: BLE001 -- every other exception is what this looks for
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return f"DEFECT {type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}: {str(exc)[:100]}"
    finally:
        signal.alarm(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--minutes", type=float, default=10.0, help="stop after this long")
    parser.add_argument("--keep", type=Path, help="save the mutants that found a defect here")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    signal.signal(signal.SIGALRM, _alarm)
    seeds = seed_files()
    rng = random.Random(args.seed)
    outcomes: collections.Counter = collections.Counter()
    defects: dict[str, list[str]] = collections.defaultdict(list)
    deadline = time.monotonic() + args.minutes * 60
    done = 0
    with tempfile.TemporaryDirectory() as folder:
        for n in range(args.count):
            if time.monotonic() > deadline:
                break
            source = rng.choice(seeds)
            mutant_seed = rng.randrange(2 ** 32)
            data = source.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            data = mutate(data, random.Random(mutant_seed))
            name = source.name.removesuffix(".gz")
            if rng.random() < 0.15:  # some mutants travel gzipped
                data, name = gzip.compress(data, mtime=0), name + ".gz"
            path = Path(folder) / f"m{n:05d}-{name}"
            path.write_bytes(data)
            for lenient in (False, True):
                outcome = read_all(path, lenient)
                outcomes[outcome.split(" at ")[0] if outcome.startswith("DEFECT") else outcome] += 1
                if outcome.startswith("DEFECT"):
                    defects[outcome].append(f"{source.relative_to(DATA)} mutant seed {mutant_seed} "
                                            f"({'lenient' if lenient else 'strict'})")
                    if args.keep:
                        args.keep.mkdir(parents=True, exist_ok=True)
                        (args.keep / path.name).write_bytes(data)
            path.unlink()
            done += 1
    print(f"seed {args.seed}: {done} mutants of {len(seeds)} real files, {sum(outcomes.values())} reads")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome}: {count}")
    for defect, where in sorted(defects.items()):
        print(f"{defect}\n    {len(where)}x, e.g. {where[0]}")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())

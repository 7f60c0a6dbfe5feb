"""Seeded generator of hostile folders and files for the command tests (issue 12).

Everything is made at test time in a temporary folder from small real files of ../shared/data
(nothing hostile is committed). Each maker takes a ``seed``: names and the order of the tricks
come from ``random.Random(seed)``, so a failure reproduces with the seed it printed.

Makers
------
- :func:`run_folder` -- a folder of small real runs (pyteomics' ``test.ms1``) under seeded names.
- :func:`symlink_loop_folder` -- runs plus ``ln -s . loop`` (one or two loops).
- :func:`special_files_folder` -- a real run beside a FIFO named ``*.mzML`` and a symlink to ``/dev/zero``.
- :func:`bad_name_run` -- a run whose file name is not UTF-8 (``bad\\xff\\xfename.ms1``).
- :func:`hostile_manifest` -- a batch ``manifest.json`` whose entry names outputs outside OUT_DIR.
- :func:`regress_suite` -- a regress suite TOML with one case; :data:`HOSTILE_SUITE_VALUES` lists
  the values a strict suite check must refuse.
"""
from __future__ import annotations

import json
import os
import random
import string
from pathlib import Path

from tests.conftest import data_path

SMALL_RUN = ("formats", "pyteomics-tests", "test.ms1")  # 2 scans: a run matched in well under a second
SMALL_LIBRARY_SOURCE = ("formats", "matchms-tests", "MoNA-export-GC-MS-first10.msp")  # 10 EI spectra
TIC_ONLY_RUN = ("gcms", "andi", "agilent-gcms-tic.cdf")  # a run file that always fails: no spectra
BAD_NAME = os.fsdecode(b"bad\xff\xfename.ms1")

#: (case key, TOML value, what the one-line error must mention): suite values a strict check refuses.
HOSTILE_SUITE_VALUES = [
    ("limit", "-5", "limit"),
    ("limit", "0", "limit"),
    ("expect", '[{ substance = "X", rt_min = [nan, inf] }]', "rt_min"),
    ("expect", '[{ substance = "X", rt_min = [1.0, inf] }]', "rt_min"),
    ("expect", "[{ substance = 5 }]", "substance"),
    ("expect", '[{ substance = "" }]', "substance"),
    ("expect", "[5]", "expect"),
    ("name", "5", "name"),
    ("absent", "[5]", "absent"),
    ("min_rate", "nan", "min_rate"),
    # the levels were listed as "(<Level.IDENTIFIED: 'identified'>, ...)"
    ("expect", '[{ substance = "X", verdict = "probable" }]',
     "verdict must be one of identified, tentative, inconclusive, got 'probable'"),
]


def _name(rng: random.Random, suffix: str) -> str:
    return "".join(rng.choices(string.ascii_lowercase + string.digits, k=8)) + suffix


def run_folder(root: Path, seed: int, n: int = 2) -> Path:
    """``root`` with ``n`` copies of a small real run under seeded names (``*.ms1``)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    content = data_path(*SMALL_RUN).read_bytes()
    for _ in range(n):
        (root / _name(rng, ".ms1")).write_bytes(content)
    return root


def symlink_loop_folder(root: Path, seed: int, loops: int) -> Path:
    """Runs below ``root`` and ``loops`` symlinks to the folder itself (``ln -s . loopN``), one of
    them in a sub-folder when there are two (a walk that follows links never ends)."""
    rng = random.Random(seed)
    run_folder(root, seed)
    sub = root / _name(rng, "")
    run_folder(sub, seed + 1, n=1)
    places = [root, sub][:loops] if rng.random() < 0.5 else [sub, root][:loops]
    for i, place in enumerate(places):
        (place / f"loop{i}").symlink_to(os.path.relpath(root, place))
    return root


def special_files_folder(root: Path, seed: int) -> Path:
    """One real run beside a FIFO named like an mzML and a symlink to ``/dev/zero`` (readers block
    or read forever on both)."""
    rng = random.Random(seed)
    run_folder(root, seed, n=1)
    os.mkfifo(root / _name(rng, ".mzML"))
    (root / _name(rng, ".ms1")).symlink_to("/dev/zero")
    return root


def bad_name_run(folder: Path) -> Path:
    """A small real run named ``bad\\xff\\xfename.ms1`` (bytes no UTF-8 decoder accepts)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / BAD_NAME
    path.write_bytes(data_path(*SMALL_RUN).read_bytes())
    return path


def hostile_manifest(out_dir: Path, key: str, outputs: list[str], status: str = "failed") -> Path:
    """``out_dir/manifest.json`` with an entry for run ``key`` that lists ``outputs`` (paths a batch
    would remove when the run fails again, e.g. ``../victim.txt`` or an absolute path)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entry = {"input": key, "sha256": "0" * 64, "params_hash": "0" * 64, "library_sha256": "0" * 64,
             "status": status, "outputs": {rel: "0" * 64 for rel in outputs}, "error": None,
             "seconds": 0.0, "finished": "2026-01-01T00:00:00Z"}
    path = out_dir / "manifest.json"
    path.write_text(json.dumps({"format": "nps-id-batch-manifest", "version": 1, "entries": {key: entry}}))
    return path


def regress_suite(path: Path, library: Path, case: dict[str, str]) -> Path:
    """A suite TOML with one library and one case; ``case`` maps keys to TOML value text, written
    as given (so NaN, wrong types and control characters reach the parser unchanged)."""
    lines = [f"library = {json.dumps(str(library))}", "", "[[case]]"]
    lines += [f"{key} = {value}" for key, value in case.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

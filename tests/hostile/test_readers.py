"""Hostile and damaged files through the command line (issue 12, items 8, 11, 14).

Each file is made at test time by :mod:`tests.hostile.readers`; ``nps-id inspect`` runs in a
subprocess, as a user runs it, and must end with one line on stderr and exit 3 (or, with
``--lenient``, skip the bad record and exit 0). Memory bombs also have their peak resident
memory (VmHWM) checked: far below what the old readers took, and far below the 1.5 GB goal.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile import readers as hostile

SEED = 12
# The bombs below inflate to 256-512 MiB; the old readers took 0.5-5 GB on them.
PEAK_LIMIT_MB = 512
# Runs the CLI and, at exit, writes the process's peak resident memory (kB) to argv[1].
_MEASURED_CLI = (
    "import atexit, runpy, sys\n"
    "out = sys.argv.pop(1)\n"
    "def peak():\n"
    "    kb = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
    "    open(out, 'w').write(kb)\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'nps-id'\n"
    "runpy.run_module('nps_id', run_name='__main__')\n"
)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(SEED)


def _nps_id(tmp_path: Path, *args: str, timeout: float = 60) -> tuple[int, list[str], str, float]:
    """(exit code, non-empty stderr lines, stdout, peak resident memory in MB) of ``nps-id args``."""
    peak = tmp_path / "peak.kb"
    done = subprocess.run([sys.executable, "-c", _MEASURED_CLI, str(peak), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=Path(__file__).parents[2])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return done.returncode, lines, done.stdout, int(peak.read_text()) / 1024 if peak.exists() else float("nan")


def _refused(tmp_path: Path, path: Path, expected: str, *options: str) -> float:
    code, err, _, peak_mb = _nps_id(tmp_path, "inspect", *options, str(path))
    assert (code, len(err)) == (3, 1), err[-3:]
    assert err[0].startswith(f"nps-id: error: {path}") and expected in err[0], err[0]
    return peak_mb


pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc for VmHWM")


# -- item 8: memory bombs -------------------------------------------------------------------------
def test_mzml_zlib_bomb_is_refused_without_inflating_it(tmp_path, rng):
    path = hostile.mzml_zlib_bomb(tmp_path, rng, megabytes=512)
    assert path.stat().st_size < 1 << 20
    peak = _refused(tmp_path, path, "more than the 3 values its defaultArrayLength declares")
    assert peak < PEAK_LIMIT_MB


def test_mzxml_zlib_bomb_is_refused_without_inflating_it(tmp_path, rng):
    path = hostile.mzxml_zlib_bomb(tmp_path, rng, megabytes=512)
    assert _refused(tmp_path, path, "inflates to more than the 1 pairs its peaksCount declares") < PEAK_LIMIT_MB


@pytest.mark.parametrize("npoints,expected", [(10, "more than the 10 points its ##NPOINTS= declares"),
                                              (None, "more than 10,000,000 points")])
def test_jcamp_dup_bomb_is_refused_at_the_declared_or_the_sane_count(tmp_path, rng, npoints, expected):
    path = hostile.jcamp_dup_bomb(tmp_path, rng, tokens=100, npoints=npoints)
    assert path.stat().st_size < 8192
    assert _refused(tmp_path, path, expected) < PEAK_LIMIT_MB


def test_gzipped_andi_bomb_is_refused(tmp_path, rng):
    path = hostile.andi_gzip_bomb(tmp_path, rng, megabytes=320)
    assert path.stat().st_size < 1 << 20
    assert _refused(tmp_path, path, "decompresses to more than 256 MiB") < PEAK_LIMIT_MB


@pytest.mark.parametrize("suffix", [".msp", ".mgf", ".jdx"])
def test_an_endless_line_in_a_gzipped_text_file_is_refused(tmp_path, rng, suffix):
    path = hostile.endless_line(tmp_path, rng, suffix, megabytes=512)
    assert _refused(tmp_path, path, "longer than 8 MiB") < PEAK_LIMIT_MB


# -- item 11: tracebacks become one line (strict) or a skipped record (lenient) -------------------
def _lenient_summary(tmp_path: Path, path: Path) -> dict:
    code, err, out, _ = _nps_id(tmp_path, "inspect", "--lenient", "--json", str(path))
    assert code == 0 and not err, err
    return json.loads(out)[0]


def test_jcamp_intensity_beyond_float32_is_a_bad_record(tmp_path, rng):
    path = hostile.jcamp_huge_intensity(tmp_path, rng)
    _refused(tmp_path, path, "intensity")
    summary = _lenient_summary(tmp_path, path)
    assert (summary["spectra"], summary["quarantined"]) == (1, 1)


def test_numpress_fixed_point_zero_is_a_bad_record(tmp_path, rng):
    path = hostile.mzml_numpress_zero_fixed_point(tmp_path, rng)
    _refused(tmp_path, path, "fixed point")
    assert _lenient_summary(tmp_path, path)["quarantined"] == 1


def test_mzml_index_that_is_no_ascii_number_is_refused(tmp_path, rng):
    path = hostile.mzml_odd_index(tmp_path, rng)
    _refused(tmp_path, path, "index")
    assert _lenient_summary(tmp_path, path)["quarantined"] == 1


@pytest.mark.parametrize("shorten", ["counts", "times"])
def test_andi_arrays_shorter_than_the_scan_list_are_bad_scans(tmp_path, rng, shorten):
    path = hostile.andi_file(tmp_path, rng, scans=3, **{shorten: 2})
    _refused(tmp_path, path, "holds 2 values for 3 scans")
    summary = _lenient_summary(tmp_path, path)
    assert (summary["spectra"], summary["quarantined"]) == (2, 1)


def test_andi_scans_that_overlap_are_bad_scans(tmp_path, rng):
    # Found by benchmarks/fuzz_readers.py: overlapping scans made a 2.5 MB file read for minutes.
    path = hostile.andi_file(tmp_path, rng, scans=3, overlap=True)
    _refused(tmp_path, path, "overlaps the previous scan")
    summary = _lenient_summary(tmp_path, path)
    assert (summary["spectra"], summary["quarantined"]) == (1, 2)


@pytest.mark.parametrize("scale", ["abc", [1.0, 2.0]])
def test_andi_scale_factor_that_is_no_number_is_refused(tmp_path, rng, scale):
    path = hostile.andi_file(tmp_path, rng, mass_scale=scale)
    _refused(tmp_path, path, "scale_factor")


# -- item 14: a DTD is refused by the parser, wherever it hides ------------------------------------
@pytest.mark.parametrize("root", ["mzML", "mzXML"])
@pytest.mark.parametrize("trick", hostile.DTD_TRICKS)
def test_a_dtd_is_refused_however_it_is_hidden(tmp_path, rng, root, trick):
    path = hostile.xml_with_dtd(tmp_path, rng, root, trick)
    _refused(tmp_path, path, "DTD")
    code, err, _, _ = _nps_id(tmp_path, "convert", "--lenient", str(path), "-o", str(tmp_path / "out.mgf"))
    assert code == 3 and len(err) == 1
    assert not (tmp_path / "out.mgf").exists()


def test_a_peak_at_an_impossible_m_z_is_a_bad_record_not_a_memory_error(tmp_path):
    # m/z 1e9 once reached the nominal binning and asked for gigabytes (MemoryError traceback)
    path = tmp_path / "stray.msp"
    path.write_text("Name: stray\nNum Peaks: 3\n58 999\n91 500\n1000000000 10\n\n"
                    "Name: fine\nNum Peaks: 2\n58 999\n91 500\n\n", encoding="utf-8")
    _refused(tmp_path, path, "line 5, record 1: peak m/z above 1e+06")
    summary = _lenient_summary(tmp_path, path)
    assert (summary["spectra"], summary["quarantined"]) == (1, 1)

"""One SHA-256 per input (nps_id._hashing): files, and Agilent .D folders as results record them."""
from __future__ import annotations

import doctest
import hashlib
import shutil

from nps_id import _hashing
from nps_id._hashing import sha256_path
from nps_id.library import Library, build_library
from tests.conftest import data_path

# run.sha256 of 220223008.D in results and batch manifests written before the hashing code was
# shared (by nps_id.gcms.run.file_sha256): the folder digest must not change under stored results.
D_SHA256 = "2a59a16cd07f5cc397eb64a61eb34bc94e1699f566507f4d296bcd1986a0cd59"


def test_docstring_examples_run():
    assert doctest.testmod(_hashing).failed == 0


def test_a_file_hashes_like_sha256sum_and_reports_its_size():
    path = data_path("gcms", "lrcfs", "220223008.mzML")
    data = path.read_bytes()
    assert sha256_path(path) == (hashlib.sha256(data).hexdigest(), len(data))


def test_agilent_folder_digest_is_the_one_stored_results_carry():
    folder = data_path("gcms", "lrcfs", "agilent-D", "220223008.D")
    digest = sha256_path(folder)
    assert digest.sha256 == D_SHA256
    assert digest.size_bytes == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_folder_digest_depends_on_names_and_bytes_not_on_location(tmp_path):
    copy = tmp_path / "elsewhere" / "renamed.D"
    shutil.copytree(data_path("gcms", "lrcfs", "agilent-D", "220223008.D"), copy)
    assert sha256_path(copy).sha256 == D_SHA256
    (copy / "runstart.txt").rename(copy / "runstart.bak")
    renamed = sha256_path(copy).sha256
    assert renamed != D_SHA256
    (copy / "runstart.bak").rename(copy / "runstart.txt")
    with open(copy / "AcqData" / "MSScan.bin", "r+b") as fh:
        first = fh.read(1)
        fh.seek(0)
        fh.write(bytes([first[0] ^ 1]))
    assert sha256_path(copy).sha256 not in (D_SHA256, renamed)


def test_library_provenance_records_the_same_folder_digest(tmp_path):
    folder = data_path("gcms", "lrcfs", "agilent-D", "220223008.D")
    summary = build_library([folder], tmp_path / "run.h5", name="run as library", release="1")
    with Library.open(tmp_path / "run.h5") as lib:
        (prov,) = lib.provenance()
    assert prov["sha256"] == summary.sources[0].sha256 == D_SHA256
    assert prov["size_bytes"] == sha256_path(folder).size_bytes

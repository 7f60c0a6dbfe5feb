"""The installed-package version that cache keys name (:mod:`nps_id._installed`)."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pytest

from nps_id._installed import package_version


@pytest.mark.parametrize("name", ["rdkit", "numpy", "h5py", "click"])
def test_a_package_version_is_the_one_importlib_metadata_gives(name):
    # The caches keyed by RDKit's version (row facts, isomers, compound identity) stay valid.
    assert package_version(name) == version(name)


def test_a_package_that_is_not_installed_is_the_error_importlib_metadata_raises():
    with pytest.raises(PackageNotFoundError):
        package_version("nps_id_no_such_package")


def test_a_metadata_file_with_a_latin1_byte_still_gives_its_version(tmp_path, monkeypatch):
    # attack46a: a METADATA written in Latin-1 before its Version line stopped every search (the RDKit
    # cache keys ask for the version) with a UnicodeDecodeError traceback.
    package = tmp_path / "npsid_latin1_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    info = tmp_path / "npsid_latin1_pkg-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_bytes(b"Metadata-Version: 2.1\nName: npsid_latin1_pkg\nAuthor: Jos\xe9\nVersion: 1.2.3\n\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert package_version("npsid_latin1_pkg") == "1.2.3"

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

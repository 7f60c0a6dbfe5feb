"""The compound identity of a library file is made once and then read from the user cache."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.io import read
from nps_id.search.reference import Reference
from tests.conftest import data_path


@pytest.fixture(scope="module")
def spectra():
    # SWGDRUG's stereoisomers (ephedrine / pseudoephedrine, ...) give notes as well as codes.
    return list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))


def test_identity_is_cached_per_library_and_read_back_equal(spectra, tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    made = Reference.from_spectra(spectra, sha256="ab" * 32).identity
    assert len(list(tmp_path.rglob("identity-*.npz"))) == 1
    import nps_id.search.reference as reference

    monkeypatch.setattr(reference, "compound_identity", lambda *a: pytest.fail("recomputed, not read from the cache"))
    read_back = Reference.from_spectra(spectra, sha256="ab" * 32).identity
    assert np.array_equal(read_back.codes, made.codes) and read_back.notes.tolist() == made.notes.tolist()
    assert any(made.notes)


def test_damaged_identity_cache_is_rebuilt_with_a_warning(spectra, tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    made = Reference.from_spectra(spectra[:300], sha256="cd" * 32).identity
    (cached,) = tmp_path.rglob("identity-*.npz")
    cached.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="damaged"):
        again = Reference.from_spectra(spectra[:300], sha256="cd" * 32).identity
    assert np.array_equal(again.codes, made.codes) and again.notes.tolist() == made.notes.tolist()


def test_spectra_without_a_library_hash_are_not_cached(spectra, tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    Reference.from_spectra(spectra[:50]).identity
    assert not list(tmp_path.rglob("identity-*"))

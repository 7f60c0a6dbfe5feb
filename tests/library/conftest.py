"""Fixtures of the library tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from nps_id.library.copies import _room_for


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A new cache folder (``NPS_ID_CACHE``) on a disk with room for library copies."""
    if not _room_for(tmp_path, 64 << 20):
        pytest.skip(f"{tmp_path}'s disk has too little free space for library copies (5 % and 1 GiB kept free)")
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"

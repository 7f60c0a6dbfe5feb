"""Shared fixtures: the real third-party data in ../shared/data (skips cleanly when absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_path(*parts: str) -> Path:
    """Path below ../shared/data; skips the calling test when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture
def shared_data() -> Path:
    if not DATA.exists():
        pytest.skip(f"real test data not found: {DATA} (a checkout outside the nps-id team)")
    return DATA

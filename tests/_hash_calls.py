"""Count calls of the one input-hashing function, :func:`nps_id._hashing.sha256_path`.

Kept out of conftest.py so that test folders import it by name (as tests/batch/_inputs.py is).
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from nps_id import _hashing


def count_hash_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Wrap ``sha256_path`` in every loaded module that imported it; returns path -> calls
    (paths as ``str(Path(path))``), filled in as the code under test hashes inputs."""
    original = _hashing.sha256_path
    calls: Counter[str] = Counter()

    def counting(path):
        calls[str(Path(path))] += 1
        return original(path)

    monkeypatch.setattr(_hashing, "sha256_path", counting)
    for module in list(sys.modules.values()):
        # vars(), not getattr(): a module-level __getattr__ must not run (or warn) here
        if module is not None and vars(module).get("sha256_path") is original:
            monkeypatch.setattr(module, "sha256_path", counting)
    return calls

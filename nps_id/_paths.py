"""Per-user folders (XDG base directories on Linux), defined once.

Entry points: :func:`user_cache_dir` (downloads, regression libraries), :func:`cache_dir`
(search indexes and library verifications) and :func:`user_data_dir` (the default reference
library).
"""
from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nps-id``, else ``~/.cache/nps-id``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nps-id"


def cache_dir() -> Path:
    """``$NPS_ID_CACHE``, else :func:`user_cache_dir`: where derived data (search indexes, which
    library files were verified) is kept."""
    if os.environ.get("NPS_ID_CACHE"):
        return Path(os.environ["NPS_ID_CACHE"])
    return user_cache_dir()


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/nps-id``, else ``~/.local/share/nps-id``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "nps-id"

"""How many cores this process may use: the default for ``nps-id search --threads`` and
``nps-id batch --workers``."""
from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores in this process's affinity mask where the OS has one (a container or ``taskset``
    may allow fewer than the machine has), else all of them; at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1

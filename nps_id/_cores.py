"""How many cores this process may use: the default for ``nps-id search --threads`` and
``nps-id batch --workers``."""
from __future__ import annotations

import os

#: How ``--help`` names the default of :func:`usable_cores` (``search --threads``, ``batch --workers``):
#: "all cores" (search, until stop 34) was not what either uses in a container or under ``taskset``.
USABLE_CORES = "all usable cores"
#: What "usable" means, said in the help of every option that defaults to :func:`usable_cores`.
USABLE_CORES_MEANING = ("usable cores: those this process may run on (its CPU affinity), fewer than the machine "
                        "has in a container or under taskset")


def usable_cores() -> int:
    """Cores in this process's affinity mask where the OS has one (a container or ``taskset``
    may allow fewer than the machine has), else all of them; at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1

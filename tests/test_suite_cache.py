"""The test suite keeps its caches to itself: a user running it must not find the suite's
indexes, library facts or regression builds in ``~/.cache/nps-id``, and the suite must not pass
on what that cache happens to hold."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nps_id._paths import cache_dir, is_inside, user_cache_dir


def test_the_suite_never_reads_or_writes_the_users_cache(tmp_path_factory):
    users = Path(os.path.expanduser("~")) / ".cache"
    run_folder = tmp_path_factory.getbasetemp()
    run_folder = run_folder.parent if os.environ.get("PYTEST_XDIST_WORKER") else run_folder
    for folder in (cache_dir(), user_cache_dir()):
        assert not is_inside(folder, users), folder
        assert is_inside(folder, run_folder), folder
    # a command the tests start as a process inherits it
    shown = subprocess.run([sys.executable, "-c", "from nps_id._paths import cache_dir; print(cache_dir())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(shown) == cache_dir()

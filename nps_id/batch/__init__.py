"""``nps-id batch``: many runs in parallel, resumable, with a summary across the batch.

Modules (one concern each)
--------------------------
- :mod:`~nps_id.batch.discover` -- find runs below folders (include/exclude globs, ``.D`` folders
  are runs), sequence order, blank pairing.
- :mod:`~nps_id.batch.manifest` -- ``OUT_DIR/manifest.json``: input SHA-256, parameter and library
  hashes, status and outputs per run; the trust rule that makes a re-run skip finished work.
- :mod:`~nps_id.batch.runner` -- :func:`~nps_id.batch.runner.run_batch`: local worker processes
  or a Dask cluster, one failed run never stops the others.
- :mod:`~nps_id.batch.summary` -- substances x runs table (CSV, HTML), blanks, carry-over hints.
- :mod:`~nps_id.batch.progress` -- bar with ETA on a terminal, JSON-lines events otherwise.
"""
from nps_id.batch.discover import Run, discover
from nps_id.batch.runner import BatchResult, run_batch

__all__ = ["Run", "discover", "run_batch", "BatchResult"]

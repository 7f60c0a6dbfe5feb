"""The same batch on a Dask cluster (two worker processes) gives the same results as locally."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from tests.batch._inputs import batch_inputs  # noqa: F401 (fixture)

from nps_id.batch.discover import discover
from nps_id.batch.match import MatchProcessor
from nps_id.batch.runner import results_path, run_batch
from nps_id.match.parameters import MatchParameters

distributed = pytest.importorskip("distributed", reason="Dask is optional: pip install 'nps-id[dask]'")

KEYS = ["220223030.mzML"]


def _findings(out, key):
    return json.loads(results_path(out, key).read_text())["findings"]


def test_local_cluster_results_are_identical_to_local_processes(batch_inputs, tmp_path, swgdrug_library):
    runs = discover([batch_inputs], include=["*030.mzml", "corrupt.*"]).runs
    assert [r.key for r in runs] == KEYS + ["corrupt.mzML"]
    # A non-default setting, to see that it reaches the Dask workers too (default top_k: 5).
    processor = MatchProcessor(str(swgdrug_library), match=replace(MatchParameters(), top_k=2))
    params = processor.describe()
    local = run_batch(runs, tmp_path / "local", processor, params, "lib", workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_batch(runs, tmp_path / "dask", processor, params, "lib",
                           scheduler=cluster.scheduler_address)
    assert [f[0] for f in local.failed] == [f[0] for f in remote.failed] == ["corrupt.mzML"]
    assert local.failed[0][2] == remote.failed[0][2]
    for key in KEYS:
        assert _findings(tmp_path / "dask", key) == _findings(tmp_path / "local", key)
        findings = _findings(tmp_path / "dask", key)
        assert any(f["name"] == "Etizolam" and f["rule"].startswith("isomer not excluded") for f in findings)
        assert findings and all(len(f["top_hits"]) == 2 for f in findings)

"""Van den Dool-Kratz retention indices from an alkane table or a ladder run."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.errors import ReaderError
from nps_id.gcms.retention_index import AlkaneLadder, ladder_from_run, load_alkanes
from nps_id.gcms.run import Run


def test_csv_in_minutes_and_the_formula(tmp_path):
    table = tmp_path / "alkanes.csv"
    table.write_text("carbon,rt_min\n10,4.00\n12,6.00\n11,5.00\n")
    ladder = load_alkanes(table)
    assert ladder.carbons.tolist() == [10, 11, 12]
    # RI = 100 (n + (t - t_n) / (t_n+1 - t_n)): 4.5 min lies halfway between C10 and C11.
    assert ladder.ri(4.5 * 60) == pytest.approx(1050.0)
    assert ladder.ri(6.0 * 60) == pytest.approx(1200.0)
    assert ladder.ri(3.0 * 60) is None and ladder.ri(7.0 * 60) is None  # never extrapolated
    assert np.isnan(ladder.ri(np.array([100.0, 270.0]))[0])


def test_csv_in_seconds_and_tab_separated(tmp_path):
    table = tmp_path / "alkanes.tsv"
    table.write_text("n\trt_s\n20\t600\n22\t720\n")
    assert load_alkanes(table).ri(660.0) == pytest.approx(2100.0)  # gap of two carbons


def test_bad_table_names_file_and_line(tmp_path):
    table = tmp_path / "alkanes.csv"
    table.write_text("carbon,rt\n10,4.0\n11,five\n")
    with pytest.raises(ReaderError, match=r"alkanes.csv, line 3"):
        load_alkanes(table)
    table.write_text("when,what\n1,2\n3,4\n")
    with pytest.raises(ReaderError, match="carbon"):
        load_alkanes(table)


def test_ladder_must_increase():
    with pytest.raises(ValueError):
        AlkaneLadder(np.array([2.0, 1.0]), np.array([10, 11]))


def test_ladder_from_a_synthetic_run():
    """C10-C13 alkanes: m/z 57 base peak, molecular ion 14n + 2 at 1 %."""
    n_scans, mz_min = 400, 40
    t = np.arange(n_scans)
    matrix = np.zeros((n_scans, 160), dtype=np.float32)
    for k, carbons in enumerate(range(10, 14)):
        shape = 1e5 * np.exp(-0.5 * ((t - (60 + 80 * k)) / 2.0) ** 2)
        for mz, rel in ((57, 1.0), (71, 0.6), (85, 0.4), (14 * carbons + 2, 0.01)):
            matrix[:, mz - mz_min] += rel * shape
    ladder = ladder_from_run(Run("ladder", t * 0.5, mz_min, matrix))
    assert ladder.carbons.tolist() == [10, 11, 12, 13]
    assert ladder.rt_seconds.tolist() == [30.0, 70.0, 110.0, 150.0]

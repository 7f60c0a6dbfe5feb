"""Agilent .D folders (rainbow-api) against the mzML of the same runs."""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from tests.conftest import data_path

from nps_id.errors import ReaderError
from nps_id.io import ReadReport, agilent, mzml
from nps_id.io import read as io_read

pytest.importorskip("rainbow")


def _compare(run_spectra, mzml_path):
    reference = list(mzml.read(mzml_path))
    assert len(run_spectra) == len(reference) == 2430  # spectrumList count="2430"
    rts = np.array([s.retention_time for s in reference])
    scan_interval = float(np.median(np.diff(rts)))  # ~0.29 s
    for ours, theirs in zip(run_spectra, reference):
        assert abs(ours.retention_time - theirs.retention_time) < scan_interval
        assert np.array_equal(ours.mz, theirs.mz) and np.array_equal(ours.intensity, theirs.intensity)
        assert ours.get("scan_id") == theirs.get("scan_id")


@pytest.mark.parametrize("run", ["220223008", "220223030"])
def test_d_folder_gives_the_same_scans_as_the_mzml_of_the_run(run):
    folder = data_path("gcms", "lrcfs", "agilent-D", f"{run}.D")
    report = ReadReport(str(folder))
    spectra = list(io_read(folder, report=report))
    assert report.format == "agilent"
    assert {s.ms_level for s in spectra} == {1}
    _compare(spectra, data_path("gcms", "lrcfs", f"{run}.mzML"))


def test_chemstation_data_ms_alone_reads_the_same(tmp_path):
    # Without AcqData/ (a ChemStation-only folder) the reader falls back to data.ms on the 0.05 Da grid.
    source = data_path("gcms", "lrcfs", "agilent-D", "220223008.D")
    folder = tmp_path / "220223008.D"
    folder.mkdir()
    shutil.copy(source / "data.ms", folder / "data.ms")
    _compare(list(agilent.read(folder)), data_path("gcms", "lrcfs", "220223008.mzML"))


def test_folder_without_ms_data_names_what_it_holds(monkeypatch, tmp_path):
    import rainbow

    folder = tmp_path / "uv.D"
    folder.mkdir()
    uv = SimpleNamespace(detector="UV", name="DAD1A.ch")
    fid = SimpleNamespace(detector="FID", name="FID1A.ch")
    monkeypatch.setattr(rainbow, "read", lambda *a, **k: SimpleNamespace(datafiles=[uv, fid]))
    with pytest.raises(ReaderError, match=r"no mass spectra in this \.D folder: it holds only FID \(FID1A.ch\), UV"):
        agilent.read(folder)


def test_empty_folder_and_truncated_data_ms(tmp_path):
    empty = tmp_path / "empty.D"
    empty.mkdir()
    with pytest.raises(ReaderError, match="no mass spectra in this .D folder"):
        agilent.read(empty)
    broken = tmp_path / "broken.D"
    broken.mkdir()
    data = (data_path("gcms", "lrcfs", "agilent-D", "220223008.D") / "data.ms").read_bytes()
    (broken / "data.ms").write_bytes(data[:5000])
    with pytest.raises(ReaderError, match="rainbow-api cannot decode"):
        agilent.read(broken)


def test_a_file_is_not_a_run(tmp_path):
    path = tmp_path / "x.D"
    path.write_text("not a folder")
    with pytest.raises(ReaderError, match="is a .D folder, not a file"):
        agilent.read(path)

"""The technique of a run comes from what the file declares (ionisation CV term, MS levels), and
a run whose spectra the library cannot identify is refused (exit 4, one line), not "no findings"."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.gcms.run import decide_technique, load_run

from tests.conftest import data_path


def _technique(*parts: str):
    run, ms2 = load_run(data_path(*parts))
    acquisition = run.metadata["acquisition"] if run is not None else {}
    return decide_technique(acquisition, run.n_scans if run is not None else 0, len(ms2)), acquisition


@pytest.mark.parametrize("parts, name, ionization, analyzer", [
    (("gcms", "lrcfs", "220223030.mzML"), "GC-EI-MS", "electron ionization", "quadrupole"),
    (("lcms", "openms-pestmix", "PestMix1_slice_430-470s.mzML"), "LC-MS/MS", "electrospray ionization",
     "quadrupole, time-of-flight"),
    (("lcms", "rams", "DDApos_2.mzML.gz"), "LC-MS/MS", "electrospray ionization", "quadrupole"),
    (("gcms", "andi", "agilent-gcms.cdf"), "GC-EI-MS", None, None),  # ANDI declares no ionisation
])
def test_real_runs_keep_their_technique_and_say_what_decided_it(parts, name, ionization, analyzer):
    technique, acquisition = _technique(*parts)
    assert technique.name == name
    assert acquisition.get("ionization") == ionization and acquisition.get("analyzer") == analyzer
    assert (ionization or "no ionisation") in technique.basis


@pytest.fixture
def esi_full_scan(tmp_path):
    """An LRCFS run whose instrument configuration says electrospray + Orbitrap: a full-scan ESI
    run (MS1 only), as a Q Exactive full-scan acquisition converted by msconvert looks."""
    text = data_path("gcms", "lrcfs", "220223016.mzML").read_text(encoding="utf-8")
    for old, new in (('accession="MS:1000389" name="electron ionization"', 'accession="MS:1000073" name="electrospray ionization"'),
                     ('accession="MS:1000081" name="quadrupole"', 'accession="MS:1000484" name="orbitrap"')):
        assert text.count(old) == 1
        text = text.replace(old, new)
    path = tmp_path / "esi-full-scan.mzML"
    path.write_text(text, encoding="utf-8")  # the index offsets are not used by the reader
    return path


def test_esi_full_scan_is_not_matched_against_an_ei_library(esi_full_scan, swgdrug_library, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["match", str(esi_full_scan), "-l", str(swgdrug_library), "-o", str(out)])
    assert result.exit_code == 4, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("nps-id: error: esi-full-scan.mzML: ESI-MS full scan run (")
    assert "the file declares electrospray ionization" in line and "SWGDRUG 3.4" in line
    assert not out.exists() or not any(out.iterdir())


def test_declared_electron_ionisation_is_recorded_in_the_results(swgdrug_library, tmp_path):
    result = CliRunner().invoke(cli, ["match", str(data_path("gcms", "lrcfs", "220223016.mzML")),
                                      "-l", str(swgdrug_library), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "r.json").read_text())["run"]
    assert (run["technique"], run["ionization"], run["analyzer"]) == ("GC-EI-MS", "electron ionization", "quadrupole")
    assert run["technique_basis"] == "MS1 scans only; the file declares electron ionization"

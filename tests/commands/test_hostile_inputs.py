"""Hostile query files through the commands: what a user sees (one line, documented exit code),
never a traceback and never a hit for a spectrum that cannot be real."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.errors import EXIT_BAD_INPUT

COUMARIN = """BEGIN IONS
TITLE=Coumarin
PEPMASS={pepmass}
CHARGE=1+
91.0542 5000
103.0542 20000
119.0491 3000
147.0441 86897.4
END IONS
"""


def _search(*args, cache) -> "CliRunner":
    return CliRunner().invoke(cli, ["search", *map(str, args)], env={"NPS_ID_CACHE": str(cache)})


def test_a_precursor_at_the_float_limit_is_bad_input_not_a_hit(ms2_library, tmp_path):
    query = tmp_path / "q.mgf"
    query.write_text(COUMARIN.format(pepmass="1e308"), encoding="utf-8")
    result = _search(query, "-l", ms2_library, "--top", 1, cache=tmp_path / "cache")
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stdout == ""
    assert result.stderr.count("nps-id: error:") == 1 and "precursor m/z" in result.stderr


ONE_RECORD = "Name: propyl isobutyrate\nNum Peaks: 3\n43 100\n71 48\n89 34\n"


def _build(source, library, cache):
    return CliRunner().invoke(cli, ["library", "build", str(source), "-o", str(library), "--ms-level", "1"],
                              env={"NPS_ID_CACHE": str(cache)})


@pytest.fixture
def one_record(tmp_path):
    """(source MSP, EI library built from it) of one spectrum."""
    source = tmp_path / "one.msp"
    source.write_text(ONE_RECORD, encoding="utf-8")
    library = tmp_path / "reference.h5"
    assert _build(source, library, tmp_path / "cache").exit_code == 0
    return source, library


def test_a_write_protected_output_is_never_replaced(tmp_path, one_record):
    """A lab's read-only reference library (chmod 444) survived nothing: the atomic rename
    replaced it with whatever `library build -o` was given. Every writing command refuses it first."""
    source, library = one_record
    hits = tmp_path / "hits.tsv"
    hits.write_text("signed results\n", encoding="utf-8")
    before = {path: path.read_bytes() for path in (library, hits)}
    for path in before:
        path.chmod(0o444)
    rebuilt = _build(source, library, tmp_path / "cache")
    searched = _search(source, "-l", library, "-o", hits, cache=tmp_path / "cache")
    for result, path in ((rebuilt, library), (searched, hits)):
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert result.stderr.count("nps-id: error:") == 1 and f"{path}: is write-protected" in result.stderr
    assert {path: path.read_bytes() for path in before} == before


def test_a_query_record_without_peaks_is_counted_not_silently_dropped(tmp_path, one_record):
    """A duplicated Name line (or a 'Num Peaks: 0' placeholder) makes a record without peaks; the
    search left it out without a word, and the rows' query numbers were the only trace."""
    _, library = one_record
    queries = tmp_path / "q.msp"
    queries.write_text("Name: unknown 1\n" + ONE_RECORD.replace("propyl isobutyrate", "unknown 1"), encoding="utf-8")
    result = _search(queries, "-l", library, cache=tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert f"note: {queries}: 1 skipped: empty spectrum" in result.stderr


@pytest.mark.parametrize("fmt, rt", [("mgf", "1e300"), ("mgf", "-1e300"), ("mzML", "1e300"), ("mgf", "-0.5"),
                                     ("mzML", "-0.5"), ("mgf", "inf"), ("mgf", "-inf")])
def test_a_retention_time_no_run_lasts_is_bad_input(tmp_path, fmt, rt):
    """A scan at 1e300 s was matched: the run summary printed a 300-digit 'min' range and the
    results JSON carried it. It is a damaged file, refused as a precursor m/z above 1e6 is; so is
    a time before the injection (-0.5 s was accepted) and an infinite one (read as unknown)."""
    from tests.conftest import data_path

    if fmt == "mgf":
        text = ("BEGIN IONS\nPEPMASS=183.057\nMSLEVEL=2\nRTINSECONDS=60\n70.1 200\n91.05 500\nEND IONS\n"
                f"BEGIN IONS\nPEPMASS=183.057\nMSLEVEL=2\nRTINSECONDS={rt}\n70.1 200\n91.05 500\nEND IONS\n")
    else:
        text = data_path("formats", "matchms-tests", "testdata.mzml").read_text(encoding="utf-8")
        start = 'name="scan start time" value="'
        at = text.index(start) + len(start)
        text = text[:at] + rt + text[text.index('"', at):]
    path = tmp_path / f"run.{fmt}"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["inspect", str(path)])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stderr.count("\n") == 1 and "retention time must be 0 to 1e+09 s" in result.stderr
    assert f"(found {float(rt):g} s)" in result.stderr and f"run.{fmt}" in result.stderr


def test_a_refused_mgf_spectrum_is_named_once(tmp_path):
    """A titled MGF spectrum with a time before the injection named its title twice: "spectrum
    'Coumarin': retention time must be ... (got 'Coumarin')", as if the title were the bad value."""
    path = tmp_path / "run.mgf"
    path.write_text("BEGIN IONS\nTITLE=Coumarin\nPEPMASS=147.04\nMSLEVEL=2\nRTINSECONDS=-5\n"
                    "70.1 200\n91.05 500\nEND IONS\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["inspect", str(path)])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stderr.count("Coumarin") == 1 and "(found -5 s)" in result.stderr, result.stderr

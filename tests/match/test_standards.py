"""Internal standard, blank and reference standard runs on the real LRCFS runs (issue 15).

Every LRCFS vial holds the internal standard bupivacaine (~6.51 min, README of ../shared/data);
220223001 is a methanol blank (bupivacaine only), 220223010 the etizolam check standard and
220223030 a seized card with flubromazepam and etizolam.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from tests.conftest import data_path


def _run(name: str) -> str:
    return str(data_path("gcms", "lrcfs", f"{name}.mzML"))


def _match(library, tmp_path, *args: str) -> tuple[dict, str]:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["match", _run("220223030"), "-l", str(library), "--json", str(out), *args])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), result.output


def _by_name(doc: dict) -> dict[str, dict]:
    return {f["name"]: f for f in doc["findings"]}


def test_internal_standard_is_labelled_and_checked(swgdrug_library, tmp_path):
    doc, output = _match(swgdrug_library, tmp_path, "--internal-standard", "bupivacaine@6.51")
    found = _by_name(doc)
    assert found["Bupivacaine"]["role"] == "internal_standard"
    assert {f["role"] for n, f in found.items() if n != "Bupivacaine"} == {"analyte"}
    (check,) = doc["internal_standards"]
    assert check["found"] and check["library_name"] == "Bupivacaine"
    assert check["finding"] == doc["findings"].index(found["Bupivacaine"])
    assert check["rt_min"] == found["Bupivacaine"]["rt_min"] and check["area"] == found["Bupivacaine"]["area"] > 0
    assert check["delta_rt_min"] == pytest.approx(found["Bupivacaine"]["rt_min"] - 6.51, abs=1e-4)
    assert check["within"] is True and check["rt_window_min"] == 0.1
    assert doc["parameters"]["internal_standards"] == [{"name": "bupivacaine", "rt_min": 6.51}]
    assert "Bupivacaine (IS)" in output and "internal standard bupivacaine: found at 6.511 min" in output


def test_internal_standard_far_from_its_expected_rt_or_by_inchikey(swgdrug_library, tmp_path):
    doc, output = _match(swgdrug_library, tmp_path, "--internal-standard", "LEBVLXFERQHONN@7.0")
    (check,) = doc["internal_standards"]
    assert check["found"] and check["library_name"] == "Bupivacaine" and check["within"] is False
    assert "OUTSIDE +/-0.1" in output


@pytest.mark.parametrize("value, message", [
    ("Bupivacain", "standard 'Bupivacain' is not in library SWGDRUG 3.4 (give its library name or InChIKey; "
                   "closest library names: Bupivacaine)"),
    ("Qwertyxyz", "standard 'Qwertyxyz' is not in library SWGDRUG 3.4 (give its library name or InChIKey)\n"),
    ("Bupivacaine@soon", "the expected retention time after '@' must be minutes"),
])
def test_unknown_internal_standard_is_one_line(swgdrug_library, value, message):
    result = CliRunner().invoke(cli, ["match", _run("220223016"), "-l", str(swgdrug_library),
                                      "--internal-standard", value])
    assert result.exit_code in (2, 3) and message in result.output
    assert "Traceback" not in result.output


def test_blank_keeps_the_internal_standard_and_says_what_it_removed(swgdrug_library, tmp_path):
    blank = ["--blank", _run("220223001")]
    plain, plain_out = _match(swgdrug_library, tmp_path, *blank)
    # Without being told, the blank's bupivacaine removes the sample's (the same level in both).
    (removed,) = plain["blank_subtracted"]
    assert removed["best_hit"] == "Bupivacaine" and removed["similarity"] >= 0.9
    assert "spectrum similarity" in removed["reason"] and "the blank's height" in removed["reason"]
    assert "Bupivacaine" not in _by_name(plain)
    assert "blank 220223001.mzML: removed 1 of the run's components (RT 6.511 min)" in plain_out
    # Told it is the internal standard, nothing the blank has removes it.
    kept, kept_out = _match(swgdrug_library, tmp_path, *blank, "--internal-standard", "Bupivacaine")
    assert kept["blank_subtracted"] == [] and _by_name(kept)["Bupivacaine"]["role"] == "internal_standard"
    assert "blank 220223001.mzML: removed 0 of the run's components (its note says why)" in kept_out
    # The drugs are untouched either way; the blank's TIC is there to draw beside the sample's.
    for doc in (plain, kept):
        assert {"Etizolam", "Flubromazepam"} <= set(_by_name(doc))
        assert doc["blank"]["file"] == "220223001.mzML" and doc["blank"]["n_components"] >= 1
        assert len(doc["blank"]["tic"]["rt_min"]) == len(doc["blank"]["tic"]["intensity"]) == 2430


def test_a_blank_of_another_method_says_why_it_removed_nothing(swgdrug_library, tmp_path):
    """An Agilent ANDI run of another method as the blank: its components near the sample's in time
    have other spectra, so none is removed -- the notes say which test failed and where each run's
    components lie (they said nothing; the terminal only "removed 0")."""
    doc, output = _match(swgdrug_library, tmp_path, "--blank", str(data_path("gcms", "andi", "agilent-gcms.cdf")))
    assert doc["blank_subtracted"] == [] and doc["blank"]["n_removed"] == 0
    (note,) = [n for n in doc["notes"] if n.startswith("--blank agilent-gcms.cdf:")]
    assert "removed none of the run's" in note and "none with a spectrum alike (best cosine 0." in note
    assert "the blank's components: 1.57-22.77 min, m/z 12-295; the run's: 3.98-10.40 min" in note
    assert note in output
    # The same-method blank told bupivacaine is the internal standard: nothing else it holds is near
    kept, _ = _match(swgdrug_library, tmp_path, "--blank", _run("220223001"), "--internal-standard", "Bupivacaine")
    (note,) = [n for n in kept["notes"] if n.startswith("--blank 220223001.mzML:")]
    assert "the internal standard (never removed) aside, no component of the blank elutes within 6 s" in note
    assert "(the blank's components: 6.52 min, m/z" in note  # its bupivacaine alone, not "6.52-6.52 min"
    # A blank that removes a component needs no such note
    plain, _ = _match(swgdrug_library, tmp_path, "--blank", _run("220223001"))
    assert plain["blank"]["n_removed"] == 1 and not [n for n in plain["notes"] if n.startswith("--blank")]


def test_a_blank_note_counts_one_component_in_the_singular(swgdrug_library, tmp_path):
    """The seized paper 220223016 holds one component (its bupivacaine): the note read "removed none of
    the run's 1 components" (a new user, stop 43)."""
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["match", _run("220223016"), "-l", str(swgdrug_library), "--json", str(out),
                                      "--blank", _run("220223001"), "--internal-standard", "Bupivacaine"])
    assert result.exit_code == 0, result.output
    (note,) = [n for n in json.loads(out.read_text())["notes"] if n.startswith("--blank 220223001.mzML:")]
    assert "removed none of the run's 1 component: the internal standard" in note


def test_a_blank_of_another_technique_is_bad_input(swgdrug_library):
    """An LC-MS/MS run as a GC-EI-MS run's blank: exit 3, one line naming both techniques, as a
    reference standard of another technique (its survey scans were subtracted as GC components
    and a note told of blank components "within 6 s, none alike": attack40a)."""
    lc = data_path("lcms", "openms-pestmix", "PestMix1_slice_430-470s.mzML")
    result = CliRunner().invoke(cli, ["match", _run("220223030"), "-l", str(swgdrug_library), "--blank", str(lc)])
    assert result.exit_code == 3, result.output
    assert result.stderr.strip() == ("nps-id: error: --blank PestMix1_slice_430-470s.mzML: acquired by LC-MS/MS, "
                                     "220223030.mzML by GC-EI-MS: a blank is a run of the samples' method")
    assert not result.stdout


def test_a_copy_of_the_run_given_as_its_blank_is_the_blank_itself(swgdrug_library, tmp_path):
    """The run's very bytes under another name as its --blank: matched unsubtracted with the blank's
    note (it subtracted itself: all 10 components removed, the drugs with them: attack40a)."""
    copy = tmp_path / "blank.mzML"
    copy.write_bytes(Path(_run("220223030")).read_bytes())
    doc, output = _match(swgdrug_library, tmp_path, "--blank", str(copy))
    assert not doc.get("blank_subtracted") and {"Etizolam", "Flubromazepam", "Bupivacaine"} <= set(_by_name(doc))
    assert "note: 220223030.mzML: this run is the --blank: matched without blank subtraction" in output


def test_the_runs_own_scans_in_another_format_as_its_blank_are_the_blank_itself(swgdrug_library):
    """The Agilent .D run with its own mzML export as the blank (other bytes, the same scans):
    matched unsubtracted with the blank's note (the export removed all 3 of its components: attack40a)."""
    run = data_path("gcms", "lrcfs", "agilent-D", "220223008.D")
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(swgdrug_library), "--blank", _run("220223008")])
    assert result.exit_code == 0, result.output
    assert "note: 220223008.D: this run is the --blank: matched without blank subtraction" in result.output
    assert "removed" not in result.output and "(1 identified, 1 tentative" in result.output


@pytest.mark.parametrize("sample, standard, said", [
    # the library (SWGDRUG, EI only) holds nothing of the standard's technique: the standard is wrong
    (("gcms", "lrcfs", "220223030.mzML"), ("lcms", "openms-pestmix", "PestMix1_slice_430-470s.mzML"),
     "PestMix1_slice_430-470s.mzML etizolam: acquired by LC-MS/MS, and library"),
    # the standard suits the library, the sample is another technique: named with both techniques
    (("lcms", "openms-pestmix", "PestMix1_slice_430-470s.mzML"), ("gcms", "lrcfs", "220223010.mzML"),
     "220223010.mzML etizolam: acquired by GC-EI-MS, PestMix1_slice_430-470s.mzML by LC-MS/MS"),
])
def test_a_reference_standard_of_another_technique_is_bad_input(swgdrug_library, sample, standard, said):
    """Exit 3 (bad input, docs/guarantees.md), one line naming the standard run and both techniques;
    it was exit 4, the code of a library without spectra of the run's kind."""
    result = CliRunner().invoke(cli, ["match", str(data_path(*sample)), "-l", str(swgdrug_library),
                                      "--reference-standard", str(data_path(*standard)), "etizolam"])
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("nps-id: error: --reference-standard ") and said in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not result.stdout


def test_reference_standard_run_gives_the_rt_comparison(swgdrug_library, tmp_path):
    standard = ["--reference-standard", _run("220223010"), "etizolam"]
    doc, _ = _match(swgdrug_library, tmp_path, *standard)
    (entry,) = doc["reference_standards"]
    assert (entry["run"], entry["found"], entry["library_name"]) == ("220223010.mzML", True, "Etizolam")
    etizolam = _by_name(doc)["Etizolam"]
    ref = etizolam["reference_standard"]
    assert ref["run"] == "220223010.mzML" and ref["rt_min"] == entry["rt_min"]
    assert ref["delta_rt_min"] == pytest.approx(etizolam["rt_min"] - entry["rt_min"], abs=1e-4)
    assert 0.02 < ref["delta_rt_min"] < 0.05 and ref["window_min"] == 0.1 and ref["within"] is True
    assert _by_name(doc)["Flubromazepam"]["reference_standard"] is None  # no standard of it was run
    assert doc["parameters"]["reference_standards"][0]["sha256"] == entry["sha256"]
    narrow, _ = _match(swgdrug_library, tmp_path, *standard, "--standard-rt-window", "0.01")
    assert _by_name(narrow)["Etizolam"]["reference_standard"]["within"] is False

"""``nps-id match`` end to end on real runs, against the SWGDRUG library.

Expected findings are the laboratory's (../shared/data/README.md, issue 5): bupivacaine (internal
standard, ~6.51 min) in all six LRCFS runs; etizolam (~10.2-10.3 min) in the two calibrants, the
check standard and card FL22/009-2 (220223030); flubromazepam (~7.42 min) in that card only;
nothing else identified. The library is built once and every LRCFS run matched once per session,
with the internal standard and its expected RT given (`--internal-standard Bupivacaine@6.51`).

GC-MS alone cannot tell etizolam and flubromazepam from their positional isomers (a 3'- or
4'-fluoro flubromazepam is not in the library, and EI spectra of such isomers match as one
compound's; docs/match.md "New substances"): they are `tentative`, "isomer not excluded", unless a
reference standard run at the same RT excludes the isomers; the internal standard at its expected
RT does, so bupivacaine is `identified`.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import built_once, data_path
from nps_id.cli import cli
from nps_id.match.verdict import VerdictThresholds

LRCFS = ["220223001", "220223002", "220223008", "220223010", "220223016", "220223030"]
EXPECTED_FOUND = {
    "220223001": {"Bupivacaine"},  # methanol blank: the internal standard only
    "220223002": {"Bupivacaine", "Etizolam"},  # 25 ug/mL calibrant, a small peak
    "220223008": {"Bupivacaine", "Etizolam"},
    "220223010": {"Bupivacaine", "Etizolam"},
    "220223016": {"Bupivacaine"},  # seized paper: nothing besides the internal standard
    "220223030": {"Bupivacaine", "Etizolam", "Flubromazepam"},
}
CATHINONES = {"MPHP", ".alpha.-Pyrrolidinohexanophenone"}  # share bupivacaine's base peak m/z 140


@pytest.fixture(scope="session")
def lrcfs(swgdrug_library, tmp_path_factory) -> tuple[dict[str, dict], str, Path]:
    """Results of one ``nps-id match`` over the six LRCFS runs: (per run, terminal text, out dir); once
    per run of the suite (``built_once``)."""
    runs = [str(data_path("gcms", "lrcfs", f"{name}.mzML")) for name in LRCFS]

    def match(out: Path) -> tuple[dict[str, dict], str, Path]:
        result = CliRunner().invoke(cli, ["match", *runs, "--library", str(swgdrug_library), "-o", str(out),
                                          "--internal-standard", "Bupivacaine@6.51"])
        assert result.exit_code == 0, result.output
        results = {name: json.loads((out / f"{name}.mzML.match.json").read_text()) for name in LRCFS}
        return results, result.output, out

    return built_once(tmp_path_factory, "match-lrcfs", match)


def _findings(results, name, verdict=None):
    return [f for f in results[name]["findings"] if verdict is None or f["verdict"] == verdict]


@pytest.mark.parametrize("run", LRCFS)
def test_identified_substances_are_exactly_the_laboratory_s(lrcfs, run):
    results, _, _ = lrcfs
    assert {f["name"] for f in _findings(results, run, "identified")} == {"Bupivacaine"}
    isomers = {f["name"] for f in _findings(results, run, "tentative") if f["rule"].startswith("isomer not excluded")}
    assert isomers | {"Bupivacaine"} == EXPECTED_FOUND[run]  # the drugs: the hit or an isomer absent from the library
    for f in _findings(results, run):
        if f["name"] in isomers:
            assert f["isomers_not_excluded"] and all(not i["in_library"] for i in f["isomers_not_excluded"])
            assert f["new_substance"] is False and f["suspected_group"] == "Benzodiazepines"


def test_a_reference_standard_run_excludes_the_isomers(swgdrug_library, tmp_path):
    card, standard = (str(data_path("gcms", "lrcfs", f"{name}.mzML")) for name in ("220223030", "220223010"))
    out = tmp_path / "030.json"
    result = CliRunner().invoke(cli, ["match", card, "-l", str(swgdrug_library), "--json", str(out),
                                      "--reference-standard", standard, "Etizolam"])
    assert result.exit_code == 0, result.output
    (etizolam,) = [f for f in json.loads(out.read_text())["findings"] if f["name"] == "Etizolam"]
    assert etizolam["verdict"] == "identified" and etizolam["reference_standard"]["within"]
    assert any(c.startswith("isomers excluded by the reference standard run 220223010") for c in etizolam["criteria_met"])


def test_a_run_named_as_its_own_reference_standard_is_said_to_be_so(swgdrug_library):
    # the seized card named as flubromazepam's standard made it 'identified' with no word of it
    card = str(data_path("gcms", "lrcfs", "220223030.mzML"))
    result = CliRunner().invoke(cli, ["match", card, "-l", str(swgdrug_library),
                                      "--reference-standard", card, "Flubromazepam"])
    assert result.exit_code == 0, result.output
    assert ("reference standard Flubromazepam: run 220223030.mzML, at 7.4" in result.stdout
            and "the run matched itself: its findings are compared with themselves" in result.stdout), result.stdout


def test_a_run_named_as_its_own_reference_standard_confirms_nothing_but_other_runs_use_it(swgdrug_library, tmp_path):
    # Until stop 36 the card named as flubromazepam's standard made it 'identified' ("isomers excluded
    # by the reference standard run 220223030.mzML") in the JSON, PDF and EWA export (reference_standard_run
    # "yes"); only the table warned. The check standard 010 as etizolam's standard: the card (another
    # injection) uses it, 010's own etizolam does not -- as in `batch`, where the standard is among the runs.
    from nps_id.report.present import check_lines

    card, standard = (str(data_path("gcms", "lrcfs", f"{name}.mzML")) for name in ("220223030", "220223010"))
    result = CliRunner().invoke(cli, ["match", card, standard, "-l", str(swgdrug_library), "-o", str(tmp_path),
                                      "--reference-standard", card, "Flubromazepam",
                                      "--reference-standard", standard, "Etizolam", "--report", "json", "--report", "ewa"])
    assert result.exit_code == 0, result.output
    results = {name: json.loads((tmp_path / f"{name}.mzML.match.json").read_text()) for name in ("220223030", "220223010")}
    (flubromazepam,) = [f for f in results["220223030"]["findings"] if f["name"] == "Flubromazepam"]
    assert flubromazepam["verdict"] == "tentative" and flubromazepam["rule_id"] == "isomer_not_excluded"
    assert flubromazepam["reference_standard"]["same_run"] is True
    assert not any("reference standard" in c for c in flubromazepam["criteria_met"])
    assert any(c.startswith("reference standard run: not compared -- the reference standard run 220223030.mzML is "
                            "this run itself (same SHA-256)") for c in flubromazepam["criteria_not_evaluated"])
    (card_etizolam,) = [f for f in results["220223030"]["findings"] if f["name"] == "Etizolam"]
    assert card_etizolam["verdict"] == "identified" and "same_run" not in card_etizolam["reference_standard"]
    (own_etizolam,) = [f for f in results["220223010"]["findings"] if f["name"] == "Etizolam"]
    assert own_etizolam["verdict"] == "tentative" and own_etizolam["reference_standard"]["same_run"] is True
    assert [r.get("same_run") for r in results["220223010"]["reference_standards"]] == [None, True]
    # the report document (what the PDF and HTML render) and the EWA export say so too
    doc = json.loads((tmp_path / "220223030.report.json").read_text())
    (flub,) = [f for f in doc["findings"] if f["name"] == "Flubromazepam"]
    assert flub["reference_standard_run"] != "yes"
    assert any(line.startswith("Reference standard Flubromazepam: run 220223030.mzML, this run itself (same SHA-256)")
               for line in check_lines(doc))
    ewa = {row["substance"]: row for row in json.loads((tmp_path / "220223030.ewa.json").read_text())["substances"]}
    assert ewa["Flubromazepam"]["reference_standard_same_run"] is True
    assert ewa["Flubromazepam"]["verdict"] == "tentative" and "isomer" in ewa["Flubromazepam"]["identification_level"]
    assert ewa["Etizolam"]["reference_standard_same_run"] is False and ewa["Etizolam"]["reference_standard_run"] == "yes"


def test_the_same_injection_in_vendor_form_or_gzip_ed_is_no_separate_reference_standard(swgdrug_library, tmp_path):
    # 220223030.D is the card's injection as the instrument wrote it, 220223030.mzML its conversion:
    # other bytes (another SHA-256), the same 2,430 scans. Stop 36's SHA-256 test took either copy for
    # a separate injection and made flubromazepam 'identified' (isomers excluded by it).
    import gzip

    card = data_path("gcms", "lrcfs", "220223030.mzML")
    packed = tmp_path / "220223030-copy.mzML.gz"
    packed.write_bytes(gzip.compress(card.read_bytes()))
    for standard in (data_path("gcms", "lrcfs", "agilent-D", "220223030.D"), packed):
        out = tmp_path / f"out-{standard.name}"
        result = CliRunner().invoke(cli, ["match", str(card), "-l", str(swgdrug_library), "-o", str(out),
                                          "--reference-standard", str(standard), "Flubromazepam"])
        assert result.exit_code == 0, result.output
        assert "the run matched itself" in result.stdout, result.stdout
        results = json.loads((out / "220223030.mzML.match.json").read_text())
        (entry,) = results["reference_standards"]
        assert entry["sha256"] != results["run"]["sha256"] and entry["same_run_by"] == "scans"
        (flubromazepam,) = [f for f in results["findings"] if f["name"] == "Flubromazepam"]
        assert flubromazepam["verdict"] == "tentative" and flubromazepam["rule_id"] == "isomer_not_excluded"
        assert flubromazepam["reference_standard"]["not_used"].startswith(
            f"the reference standard run {standard.name} is this run itself (another file of the same scans")
    # a separate injection (the etizolam calibrant, 250 ug/mL: its own scans) still confirms the card's etizolam
    out = tmp_path / "separate"
    result = CliRunner().invoke(cli, ["match", str(card), "-l", str(swgdrug_library), "-o", str(out),
                                      "--reference-standard", str(data_path("gcms", "lrcfs", "220223008.mzML")),
                                      "Etizolam"])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "220223030.mzML.match.json").read_text())
    (etizolam,) = [f for f in results["findings"] if f["name"] == "Etizolam"]
    assert etizolam["verdict"] == "identified" and "same_run" not in etizolam["reference_standard"]


def test_the_reference_standard_in_the_sample_toml_does_what_the_option_does(swgdrug_library, tmp_path):
    # docs/card.toml names the etizolam check standard run, relative to the card's folder
    card_toml = Path(__file__).resolve().parents[2] / "docs" / "card.toml"
    card, standard = (str(data_path("gcms", "lrcfs", f"{name}.mzML")) for name in ("220223030", "220223010"))
    outputs = {}
    for how, extra in (("option", ["--reference-standard", standard, "Etizolam"]),
                       ("toml", ["--sample-info", str(card_toml)]),
                       ("both", ["--sample-info", str(card_toml), "--reference-standard",
                                 str(Path(standard).parent / ".." / "lrcfs" / "220223010.mzML"), "Etizolam"])):
        out = tmp_path / f"{how}.json"
        result = CliRunner().invoke(cli, ["match", card, "-l", str(swgdrug_library), "--json", str(out), *extra])
        assert result.exit_code == 0, (how, result.output)
        assert result.stdout.count("reference standard Etizolam: run 220223010.mzML, at 10.2") == 1, how
        outputs[how] = json.loads(out.read_text())
    for how in ("toml", "both"):  # the same standard named twice is matched once
        assert len(outputs[how]["reference_standards"]) == 1, how
        for key in ("run", "sha256", "rt_min", "ri", "found", "verdict"):
            assert outputs[how]["reference_standards"][0][key] == outputs["option"]["reference_standards"][0][key]
        assert [(f["name"], f["verdict"], f["reference_standard"]) for f in outputs[how]["findings"]] == \
            [(f["name"], f["verdict"], f["reference_standard"]) for f in outputs["option"]["findings"]]
    (etizolam,) = [f for f in outputs["toml"]["findings"] if f["name"] == "Etizolam"]
    assert etizolam["verdict"] == "identified" and etizolam["reference_standard"]["run"] == "220223010.mzML"


def test_the_shipped_card_works_from_any_folder(swgdrug_library, tmp_path, monkeypatch):
    """README's report commands from another folder than the checkout (stop 44): only the card's own path
    changes; its reference standard run is read from the card's folder, never from the working folder."""
    card_toml = Path(__file__).resolve().parents[2] / "docs" / "card.toml"
    card = data_path("gcms", "lrcfs", "220223030.mzML")
    elsewhere = tmp_path / "a" / "b"  # deep enough that the card's ../../shared/data is nothing from here
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(cli, ["match", str(card), "-l", str(swgdrug_library), "--internal-standard",
                                      "Bupivacaine@6.51", "--sample-info", str(card_toml), "--json", "030.match.json"])
    assert result.exit_code == 0, result.output
    assert "reference standard Etizolam: run 220223010.mzML, at 10.2" in result.stdout
    report = CliRunner().invoke(cli, ["report", "030.match.json", "-f", "html", "-o", "030.html", "--sample-info",
                                      str(card_toml)])
    assert report.exit_code == 0, report.output
    assert "FL22/009-2" in (elsewhere / "030.html").read_text(encoding="utf-8")


def test_a_toml_naming_the_run_as_its_own_standard_gives_no_standard_run_in_the_report_and_ewa(swgdrug_library, tmp_path):
    # Until stop 36 (newuser36) the card named in its own sample TOML as etizolam's standard left the
    # finding `tentative` but its report line read "Reference standard run: yes: not compared ..." and the
    # EWA export reference_standard_run "yes" beside reference_standard_same_run true.
    card = str(data_path("gcms", "lrcfs", "220223030.mzML"))
    toml = tmp_path / "card.toml"
    toml.write_text(f'[item]\nreference_standards_run = [{{ name = "Etizolam", run = "{card}" }}]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["match", card, "-l", str(swgdrug_library), "-o", str(tmp_path / "out"),
                                      "--sample-info", str(toml), "--report", "json", "--report", "ewa"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "220223030.report.json").read_text())
    (etizolam,) = [f for f in doc["findings"] if f["name"] == "Etizolam"]
    assert etizolam["verdict"] == "tentative" and etizolam["reference_standard"]["same_run"] is True
    assert etizolam["reference_standard_run"] == "no"
    assert any("is this run itself" in line for line in etizolam["limitations"])
    ewa = {row["substance"]: row for row in json.loads((tmp_path / "out" / "220223030.ewa.json").read_text())["substances"]}
    assert ewa["Etizolam"]["reference_standard_same_run"] is True and ewa["Etizolam"]["reference_standard_run"] == "no"


@pytest.mark.parametrize("entry, expected", [
    ('[{ name = "Etizolam", run = "no-such-run.mzML" }]', "run 'no-such-run.mzML' of Etizolam not found"),
    ('[{ name = "Etizolam", file = "x.mzML" }]', "expected a substance name or { name = "),
    ('[42]', "expected a substance name or { name = "),
    ('42', "expected a substance name or { name = "),
])
def test_a_reference_standard_the_toml_cannot_give_is_one_line_exit_3(swgdrug_library, tmp_path, entry, expected):
    toml = tmp_path / "card.toml"
    toml.write_text(f"[item]\nreference_standards_run = {entry}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["match", str(data_path("gcms", "lrcfs", "220223001.mzML")),
                                      "-l", str(swgdrug_library), "--sample-info", str(toml), "-o", str(out)])
    assert result.exit_code == 3, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr and "card.toml" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("run", LRCFS)
def test_internal_standard_ranked_above_the_cathinones(lrcfs, run):
    results, _, _ = lrcfs
    (bupi,) = [f for f in _findings(results, run, "identified") if f["name"] == "Bupivacaine"]
    assert 6.45 <= bupi["rt_min"] <= 6.57
    assert bupi["runner_up"]["name"] in CATHINONES
    assert bupi["gap"] == bupi["score"] - bupi["runner_up"]["score"] >= 30
    assert bupi["top_hits"][0]["name"] == "Bupivacaine"
    # Every other candidate (cathinones sharing base peak m/z 140) scores at least the gap lower.
    assert all(h["score"] <= bupi["score"] - 30 for h in bupi["top_hits"][1:])


def test_etizolam_and_flubromazepam_retention_times(lrcfs):
    results, _, _ = lrcfs
    for run in ("220223002", "220223008", "220223010", "220223030"):
        (f,) = [f for f in _findings(results, run) if f["name"] == "Etizolam"]
        assert 10.15 <= f["rt_min"] <= 10.35, run
    (f,) = [f for f in _findings(results, "220223030") if f["name"] == "Flubromazepam"]
    assert 7.37 <= f["rt_min"] <= 7.47


def test_blank_and_seized_paper_have_only_the_internal_standard(lrcfs):
    results, _, _ = lrcfs
    for run in ("220223001", "220223016"):
        assert [f["name"] for f in results[run]["findings"]] == ["Bupivacaine"]


def test_findings_below_identified_say_why(lrcfs):
    results, _, _ = lrcfs
    others = [f for r in results.values() for f in r["findings"] if f["verdict"] != "identified"]
    for f in others:
        assert f["criteria_failed"], f["name"]
        assert f["rule"]
    from nps_id.match.verdict import RuleId

    # every finding names its rule by a stable id too (the text stays as it was)
    every = [f for r in results.values() for f in r["findings"]]
    assert {(f["rule_id"], f["rule"].split(":")[0]) for f in every} >= {("identity", "identity"),
                                                                      ("isomer_not_excluded", "isomer not excluded")}
    assert all(f["rule_id"] in set(RuleId) for f in every)


def test_results_json_contract(lrcfs, swgdrug_library):
    results, _, _ = lrcfs
    doc = results["220223030"]
    path = data_path("gcms", "lrcfs", "220223030.mzML")
    assert doc["run"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc["run"]["n_scans"] == 2430
    assert doc["run"]["rt_range_min"] == pytest.approx([3.0917, 14.6586], abs=1e-3)
    from nps_id.library import Library

    with Library.open(swgdrug_library) as lib:
        assert doc["library"]["sha256"] == lib.sha256
        assert doc["library"]["n_spectra"] == 2988
    assert (doc["library"]["name"], doc["library"]["release"]) == ("SWGDRUG", "3.4")
    assert doc["software"]["name"] == "nps-id" and doc["software"]["version"]
    verdict = doc["parameters"]["verdict"]
    assert (verdict["identified_mf"], verdict["identified_rmf"], verdict["min_gap"]) == (800, 850, 30)
    assert doc["parameters"]["peaks"]["min_snr"] == 10.0
    assert len(doc["tic"]["rt_min"]) == len(doc["tic"]["intensity"]) == 2430
    assert all({"rt_min", "area", "height"} <= set(c) for c in doc["components"])
    required = {"name", "verdict", "criteria_met", "criteria_failed", "rt_min", "ri", "mf", "rmf", "score",
                "library_id", "inchikey", "formula", "top_hits", "gap", "isomer_alert", "delta_mass", "spectrum"}
    for f in doc["findings"]:
        assert required <= set(f)
        assert len(f["spectrum"]["mz"]) == len(f["spectrum"]["intensity"]) == f["n_ions"]
        assert doc["components"][f["component"]]["finding"] == doc["findings"].index(f)
        assert all({"name", "mf", "rmf", "score", "library_id"} <= set(h) for h in f["top_hits"])


def test_terminal_table(lrcfs):
    results, output, _ = lrcfs
    assert output.count("library SWGDRUG 3.4") == 6
    (f,) = [f for f in results["220223030"]["findings"] if f["name"] == "Flubromazepam"]
    line = next(l for l in output.splitlines() if "Flubromazepam" in l)
    assert line.split()[:7] == [f"{f['rt_min']:.3f}", "-", "tentative", "Flubromazepam", str(f["score"]),
                                str(f["mf"]), str(f["rmf"])]


def test_fail_on_and_json_to_stdout(swgdrug_library):
    run = str(data_path("gcms", "lrcfs", "220223016.mzML"))
    runner = CliRunner()
    found = runner.invoke(cli, ["match", run, "-l", str(swgdrug_library), "--fail-on", "identified", "--json", "-"])
    assert found.exit_code == 1
    assert json.loads(found.stdout)["findings"][0]["name"] == "Bupivacaine"
    # the exit is explained: one line naming the findings that tripped it (it said nothing)
    (said,) = found.stderr.splitlines()
    assert said.startswith("nps-id: --fail-on identified: ") and "220223016.mzML: Bupivacaine (identified, 6.5" in said
    # the internal standard is in every vial by design: named so, it no longer trips the gate
    standard = runner.invoke(cli, ["match", run, "-l", str(swgdrug_library), "--fail-on", "identified",
                                   "--internal-standard", "Bupivacaine@6.51"])
    assert standard.exit_code == 0 and "--fail-on" not in standard.stderr, standard.output
    assert "Bupivacaine (IS)" in standard.stdout
    # Outside the internal standard's retention time there is nothing to find.
    quiet = runner.invoke(cli, ["match", run, "-l", str(swgdrug_library), "--fail-on", "tentative",
                                "--rt-window", "8", "14"])
    assert quiet.exit_code == 0 and "no findings" in quiet.output


def test_fail_on_counts_the_blank_runs_own_findings_and_names_them_as_the_blanks(swgdrug_library):
    # the etizolam check standard used as the blank: a blank holding a drug (carry-over). A lab script
    # must still see exit 1 (a QA failure), but the line must not read as "the sample contains etizolam"
    lrcfs = data_path("gcms", "lrcfs")
    sample, blank = str(lrcfs / "220223016.mzML"), str(lrcfs / "220223010.mzML")
    result = CliRunner().invoke(cli, ["match", sample, blank, "--blank", blank, "-l", str(swgdrug_library),
                                      "--internal-standard", "Bupivacaine@6.51", "--fail-on", "tentative"])
    assert result.exit_code == 1, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("nps-id: --fail-on")]
    assert said == [said[0]] and said[0].startswith(
        "nps-id: --fail-on tentative: 1 finding at this level or stronger (1 of them in the --blank run itself, "
        "not a sample's): 220223010.mzML (the --blank run: carry-over or contamination): Etizolam (tentative, 10.2")
    assert "220223016.mzML" not in said[0]  # the sample holds only the internal standard


def test_blank_subtraction_and_alkanes(swgdrug_library, tmp_path):
    alkanes = tmp_path / "alkanes.csv"
    alkanes.write_text("carbon,rt_min\n16,5.0\n18,7.0\n20,9.0\n22,11.0\n")
    result = CliRunner().invoke(cli, [
        "match", str(data_path("gcms", "lrcfs", "220223030.mzML")), "-l", str(swgdrug_library),
        "--blank", str(data_path("gcms", "lrcfs", "220223001.mzML")), "--alkanes", str(alkanes),
        "--json", str(tmp_path / "r.json"),
    ])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "r.json").read_text())
    # The internal standard is in the blank at the same level: subtracted; the drugs are not.
    assert [round(c["rt_min"], 1) for c in doc["blank_subtracted"]] == [6.5]
    names = {f["name"]: f for f in doc["findings"] if f["rule"].startswith("isomer not excluded")}
    assert set(names) == {"Etizolam", "Flubromazepam"}
    # 7.425 min between C18 (7.0) and C20 (9.0): RI = 100 * (18 + 2 * 0.425 / 2.0) = 1842.5
    assert names["Flubromazepam"]["ri"] == pytest.approx(1842.5, abs=0.5)
    assert doc["parameters"]["blank"]["file"] == "220223001.mzML"
    # SWGDRUG has no retention indices: the RI criterion is reported as not evaluated.
    assert any("RI" in c for c in names["Etizolam"]["criteria_not_evaluated"])


def test_agilent_d_folder_gives_the_same_findings_as_its_mzml(lrcfs, swgdrug_library, tmp_path):
    results, _, _ = lrcfs
    run = data_path("gcms", "lrcfs", "agilent-D", "220223030.D")
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(swgdrug_library),
                                      "--json", str(tmp_path / "d.json"), "--internal-standard", "Bupivacaine@6.51"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "d.json").read_text())
    as_mzml = [(f["name"], f["verdict"], f["rt_min"]) for f in results["220223030"]["findings"]]
    assert [(f["name"], f["verdict"], f["rt_min"]) for f in doc["findings"]] == as_mzml


OTHER_RUNS = {"agilent-gcms.cdf": ("andi", 6401), "ELEY_1_SUBTRACT.JDX": ("jcamp", 2103),
              "gcms.jdx": ("jcamp", 2420)}


@pytest.fixture(scope="session")
def other_runs(swgdrug_library, tmp_path_factory) -> dict[str, dict]:
    """Results of the ANDI and JCAMP-DX runs, each matched once per run of the suite (``built_once``)."""
    runs = {name: data_path("gcms", folder, name) for name, (folder, _) in OTHER_RUNS.items()}

    def match(out: Path) -> dict[str, dict]:
        docs = {}
        for name, path in runs.items():
            result = CliRunner().invoke(cli, ["match", str(path), "-l", str(swgdrug_library),
                                              "--json", str(out / f"{name}.json")])
            assert result.exit_code == 0, result.output
            docs[name] = json.loads((out / f"{name}.json").read_text())
        return docs

    return built_once(tmp_path_factory, "match-other-runs", match)


@pytest.mark.parametrize("name", OTHER_RUNS)
def test_other_run_formats_go_through(other_runs, name):
    doc = other_runs[name]
    assert doc["run"]["n_scans"] == OTHER_RUNS[name][1]  # README: 6,401 and 2,103 scans
    assert doc["run"]["format"] == OTHER_RUNS[name][0] and doc["components"]


def test_methylindanes_are_no_early_warning_leads(other_runs):
    """The ANDI run's methylindanes (14.94, 15.27 min: M+ 132 at ~40 %) match 5-APDI at MF ~730 by
    its C10H12+ fragment 132, without its iminium base peak 44 (nor 58, 72, 86): suspected new
    substances of no group -- unknowns to examine -- not suspected new phenethylamines for the EWA
    (docs/match.md, "No drug group from a shared fragment"). Nor, since stop 30, the dimethylnaphthalenes
    at 22.40 / 22.77 min, which resemble barbiturates only by their molecular-ion cluster (docs/match.md,
    "No drug group from the molecular ion alone")."""
    from nps_id.report.findings import is_new_substance_lead

    # a match finding as the report reads it (no internal standard in this run)
    findings = {round(f["rt_min"], 2): {**f, "internal_standard": False}
                for f in other_runs["agilent-gcms.cdf"]["findings"]}
    for rt in (14.94, 15.27):
        assert findings[rt]["new_substance"] and findings[rt]["name"] == "5-APDI", rt
        assert findings[rt]["suspected_group"] is None and not is_new_substance_lead(findings[rt]), rt
    assert not [rt for rt, f in findings.items() if is_new_substance_lead(f)]


def test_a_naphthalene_co_eluting_with_an_aliphatic_compound_is_no_suspected_barbiturate(other_runs, swgdrug_library,
                                                                                          monkeypatch):
    """ELEY_1_SUBTRACT.JDX 17.41 min: a dimethylnaphthalene (M+ 156, 141, 155, 153, 128, 115) whose
    component carries a co-eluting aliphatic compound's 69, 83, 55, 56, 84 at 47-77 % of its base peak.
    Beyond its molecular-ion cluster it resembled barbital only by those hydrocarbon ions, which
    barbital's ring ions share by nominal mass (55, 69, 83, 98), and the EWA export listed it as a
    suspected new barbiturate. A spectrum showing an aliphatic series lends its hydrocarbon ions to no
    group (docs/match.md "No drug group from the molecular ion alone"): a new substance of no group."""
    import nps_id.match.substance_group as substance_group
    from nps_id.library import Library
    from nps_id.match.assess import assess_search
    from nps_id.match.molecular_mass import nominal_spectrum
    from nps_id.report.findings import is_new_substance_lead
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference
    from nps_id.spectrum import Spectrum

    (found,) = [f for f in other_runs["ELEY_1_SUBTRACT.JDX"]["findings"] if 17.35 < f["rt_min"] < 17.45]
    spectrum = found["spectrum"]
    assert found["name"] == "Barbital" and found["new_substance"] and found["estimated_mass"] == 156
    assert found["suspected_group"] is None and not is_new_substance_lead({**found, "internal_standard": False})
    assert substance_group.aliphatic_series(nominal_spectrum(spectrum["mz"], spectrum["intensity"]))
    # the same spectrum searched: the hydrocarbon ions alone were what named the barbiturates
    query = [Spectrum(spectrum["mz"], spectrum["intensity"], {"ms_level": 1})]
    with Library.open(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    hits = search(query, reference, SearchSettings(top_k=20))
    assert assess_search(query, hits, reference, analog=False)[0].suspected_group is None
    monkeypatch.setattr(substance_group, "aliphatic_series", lambda relative: False)
    assert assess_search(query, hits, reference, analog=False)[0].suspected_group.startswith("Other sedatives")


def test_one_compound_is_identified_at_one_retention_time_only(other_runs):
    """Two peaks of the ANDI run (a hydrocarbon mixture; most likely 2- and 1-methylnaphthalene,
    19.4 and 19.9 min) both have 2-methylnaphthalene as best hit -- SWGDRUG lacks the 1-isomer.
    One compound elutes once, so neither may be called identified."""
    findings = other_runs["agilent-gcms.cdf"]["findings"]
    methyl = [f for f in findings if f["name"] == "2-Methylnaphthalene"]
    assert len(methyl) >= 2 and {f["verdict"] for f in methyl} == {"tentative"}
    assert all(any(c.startswith("best hit at no other retention time") for c in f["criteria_failed"])
               for f in methyl)
    for doc in other_runs.values():
        identified = [f["name"] for f in doc["findings"] if f["verdict"] == "identified"]
        assert len(identified) == len(set(identified))


def test_an_analogue_finding_quotes_no_identity_score_it_was_not_given(other_runs):
    """The ANDI run's analogue findings (e.g. 5.56 min, n-tridecane's relative, MF 589 in its
    row) failed the identity criteria by construction: the criteria say so, never "(mf 0)"."""
    analogues = [f for doc in other_runs.values() for f in doc["findings"] if f["match_mode"] == "analogue"]
    assert analogues
    for finding in analogues:
        assert finding["mf"] > 0
        failed = " ".join(finding["criteria_failed"])
        assert "(mf 0)" not in failed and "(rmf 0)" not in failed
        assert "mf >= 800 (no identity hit, an analogue-mode one)" in finding["criteria_failed"]


def test_a_run_written_to_while_it_is_matched_is_one_line_exit_3_and_the_runs_before_it_keep_their_results(
        swgdrug_library, tmp_path, monkeypatch):
    # a run the instrument PC is still writing reads as a shorter run without an error: its findings
    # would be of other bytes than its recorded SHA-256 (stop 51; search checked its query file since stop 50)
    import shutil

    from nps_id.match import pipeline

    runs = []
    for name in ("220223001.mzML", "220223016.mzML"):
        runs.append(tmp_path / name)
        shutil.copyfile(data_path("gcms", "lrcfs", name), runs[-1])
    read = pipeline.load_run

    def still_written(path, **kwargs):
        made = read(path, **kwargs)
        if Path(path).name == "220223016.mzML":
            with open(path, "ab") as fh:
                fh.write(b"\n")
        return made

    monkeypatch.setattr(pipeline, "load_run", still_written)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["match", *map(str, runs), "-l", str(swgdrug_library), "-o", str(out)])
    assert result.exit_code == 3, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("nps-id: error:")]
    assert len(errors) == 1 and "220223016.mzML: changed while it was read" in errors[0], result.stderr
    assert "nothing written for it" in errors[0]
    assert sorted(p.name for p in out.iterdir()) == ["220223001.mzML.match.json"]
    # the same for the blank, read once before the runs
    result = CliRunner().invoke(cli, ["match", str(runs[0]), "--blank", str(runs[1]), "-l", str(swgdrug_library),
                                      "-o", str(tmp_path / "blanked")])
    assert result.exit_code == 3 and "220223016.mzML: changed while it was read" in result.stderr, result.output
    assert "nothing matched against it" in result.stderr and not (tmp_path / "blanked").exists()
    # advice that holds in batch too, where nobody gives the blank (attack51: "give it again")
    assert "nothing matched against it: match again once the file is complete" in result.stderr
    monkeypatch.setattr(pipeline, "load_run", read)  # the file left alone: matched
    again = CliRunner().invoke(cli, ["match", str(runs[1]), "-l", str(swgdrug_library), "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "220223016.mzML.match.json").read_text())["run"]["sha256"] == hashlib.sha256(
        runs[1].read_bytes()).hexdigest()


def test_a_run_or_blank_deleted_after_it_was_read_is_one_line_exit_3_and_nothing_written(
        swgdrug_library, tmp_path, monkeypatch):
    # attack51: the run's SHA-256, taken after reading it, met a file no longer there: a traceback, exit 1
    import shutil

    from nps_id.match import pipeline

    read = pipeline.load_run

    def deleted_once_read(path, **kwargs):
        made = read(path, **kwargs)
        if Path(path).parent == tmp_path:  # never the shared data
            Path(path).unlink()
        return made

    monkeypatch.setattr(pipeline, "load_run", deleted_once_read)
    for option in ([], ["--blank"]):
        run = tmp_path / "220223001.mzML"
        shutil.copyfile(data_path("gcms", "lrcfs", "220223001.mzML"), run)
        args = [*option, str(run)] if option else [str(run)]
        other = [str(data_path("gcms", "lrcfs", "220223016.mzML"))] if option else []
        out = tmp_path / "out.json"
        result = CliRunner().invoke(cli, ["match", *other, *args, "-l", str(swgdrug_library), "--json", str(out)])
        assert result.exit_code == 3, (option, result.output, result.exception)
        errors = [line for line in result.stderr.splitlines() if line.startswith("nps-id: error:")]
        assert len(errors) == 1 and "220223001.mzML: gone while it was read" in errors[0], result.stderr
        assert not out.exists()


def test_chromatogram_only_file_is_exit_3_with_one_line(swgdrug_library):
    result = CliRunner().invoke(cli, ["match", str(data_path("gcms", "andi", "agilent-gcms-tic.cdf")),
                                      "-l", str(swgdrug_library)])
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1 and "chromatogram" in result.output


def test_bad_library_is_exit_4(tmp_path):
    fake = tmp_path / "fake.h5"
    fake.write_text("not a library")
    run = str(data_path("gcms", "lrcfs", "220223001.mzML"))
    assert CliRunner().invoke(cli, ["match", run, "-l", str(fake)]).exit_code == 4
    assert CliRunner().invoke(cli, ["match", run, "-l", str(tmp_path / "missing.h5")]).exit_code == 4


def test_lc_msms_run_each_precursor_found_in_its_own_library(tmp_path):
    """The 10 MS2 scans of matchms' test mzML become a library (one named compound each); the
    run matched against it finds every precursor as its own compound."""
    from nps_id import io
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    run = data_path("formats", "matchms-tests", "testdata.mzml")
    ms2 = [s for s in io.read(run) if s.ms_level == 2]
    assert len(ms2) == 10  # grep -c 'ms level" value="2"' testdata.mzml
    named = [s.replace(name=f"compound {i}", source_id=f"C{i}") for i, s in enumerate(ms2)]
    io.write(named, tmp_path / "lib.mgf")
    build_library([tmp_path / "lib.mgf"], tmp_path / "lib.h5", name="self", release="1",
                  index_builder=build_indexes)
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(tmp_path / "lib.h5"),
                                      "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["run"]["technique"] == "LC-MS/MS" and doc["run"]["n_ms2_scans"] == 10
    assert len(doc["components"]) == 10
    by_precursor = {round(f["precursor_mz"], 3): f for f in doc["findings"]}
    for i, s in enumerate(ms2):
        f = by_precursor[round(s.precursor_mz, 3)]
        # Found as itself; not `identified`: a library without structures cannot exclude isomers.
        assert (f["name"], f["verdict"], f["score"]) == (f"compound {i}", "tentative", 999)
        assert any("no verified structure" in c for c in f["criteria_failed"])
        assert f["mf"] is None and f["match_mode"] == "identity"


@pytest.mark.parametrize("bad, note", [((3, 7), "2 MS/MS scans have no precursor m/z (not matched)"),
                                       ((3,), "1 MS/MS scan has no precursor m/z (not matched)")])
def test_lc_msms_scans_with_a_zero_or_negative_precursor_are_noted_not_matched(tmp_path, bad, note):
    """matchms' 10 MS2 scans as MGF with PEPMASS=0 and a negative PEPMASS in two blocks: those
    two were matched at a precursor of 0 / -m/z; now they are an unknown precursor, said in notes."""
    from nps_id import io
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes

    ms2 = [s for s in io.read(data_path("formats", "matchms-tests", "testdata.mzml")) if s.ms_level == 2]
    io.write([s.replace(name=f"compound {i}", source_id=f"C{i}") for i, s in enumerate(ms2)], tmp_path / "lib.mgf")
    build_library([tmp_path / "lib.mgf"], tmp_path / "lib.h5", name="self", release="1", index_builder=build_indexes)
    io.write(ms2, tmp_path / "run.mgf")
    lines = (tmp_path / "run.mgf").read_text().splitlines()
    pepmass = [i for i, line in enumerate(lines) if line.startswith("PEPMASS=")]
    lines[pepmass[3]], lines[pepmass[7]] = "PEPMASS=0", lines[pepmass[7]].replace("=", "=-" if 7 in bad else "=")
    (tmp_path / "run.mgf").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["match", str(tmp_path / "run.mgf"), "-l", str(tmp_path / "lib.h5"),
                                      "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert len(doc["components"]) == 10 - len(bad) and {f["name"] for f in doc["findings"]} == {
        f"compound {i}" for i in range(10) if i not in bad}
    assert note in doc["notes"]


@pytest.mark.parametrize("parts, technique", [
    (("pyteomics-tests", "test.ms1"), "GC-EI-MS"),
    (("pyteomics-tests", "test.mzXML"), "LC-MS/MS"),
    (("pyteomics-tests", "test.ms2"), "LC-MS/MS"),
])
def test_small_runs_in_the_other_formats(swgdrug_library, ms2_library, parts, technique, tmp_path):
    library = swgdrug_library if technique == "GC-EI-MS" else ms2_library
    result = CliRunner().invoke(cli, ["match", str(data_path("formats", *parts)), "-l", str(library),
                                      "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["run"]["technique"] == technique


@pytest.mark.parametrize("run, library, kind, missing", [
    (("gcms", "lrcfs", "220223001.mzML"), "ms2_library", "acquired by GC-EI-MS", "no EI spectra"),
    (("formats", "pyteomics-tests", "test.ms2"), "swgdrug_library", "acquired by LC-MS/MS",
     "no MS/MS spectra with a precursor m/z"),
])
def test_run_against_a_library_of_the_other_kind_is_exit_4_not_no_findings(run, library, kind, missing, request,
                                                                           tmp_path):
    """Searching a GC-EI run against MS/MS spectra (or the reverse) finds nothing by construction;
    "no findings" would read as "no drugs", so the run stops with one line instead, naming
    the run's technique in words that read right for each ("a LC-MS/MS run" did not)."""
    lib = request.getfixturevalue(library)
    result = CliRunner().invoke(cli, ["match", str(data_path(*run)), "-l", str(lib), "-o", str(tmp_path / "out")])
    assert result.exit_code == 4
    assert len(result.output.strip().splitlines()) == 1 and missing in result.output and kind in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_two_runs_with_one_name_are_refused_before_either_overwrites_the_other(swgdrug_library, tmp_path):
    # Outputs are named after the run file: a/x.mzML's results would be silently replaced by b/x.mzML's.
    for folder, run in (("a", "220223030"), ("b", "220223001")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.mzML").write_bytes(data_path("gcms", "lrcfs", f"{run}.mzML").read_bytes())
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["match", str(tmp_path / "a" / "x.mzML"), str(tmp_path / "b" / "x.mzML"),
                                      "-l", str(swgdrug_library), "-o", str(out)])
    assert result.exit_code == 2
    assert "would both write x.mzML.match.json" in result.stderr
    assert not out.exists()
    # The same run named twice writes the same file twice: not a clash.
    same = CliRunner().invoke(cli, ["match", str(tmp_path / "a" / "x.mzML"), str(tmp_path / "a" / ".." / "a" / "x.mzML"),
                                    "-l", str(swgdrug_library), "-o", str(out)])
    assert same.exit_code == 0, same.output


def test_results_of_another_analysis_are_refused_before_the_first_run_is_written(swgdrug_library, tmp_path):
    # The third run's results in -o DIR came from other settings: refused before run 1 is written.
    out = tmp_path / "out"
    first, second, third = (str(data_path("gcms", "lrcfs", f"{name}.mzML")) for name in ("220223001", "220223016", "220223010"))
    earlier = CliRunner().invoke(cli, ["match", third, "-l", str(swgdrug_library), "-o", str(out), "--min-snr", "20"])
    assert earlier.exit_code == 0, earlier.output
    kept = (out / "220223010.mzML.match.json").read_bytes()
    result = CliRunner().invoke(cli, ["match", first, second, third, "-l", str(swgdrug_library), "-o", str(out),
                                      "--report", "csv"])
    assert result.exit_code == 3, result.output
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "220223010.mzML.match.json: holds earlier results of another analysis (different parameters)" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["220223010.mzML.match.json"]  # nothing of runs 1 and 2
    assert (out / "220223010.mzML.match.json").read_bytes() == kept
    # the same analysis again may rewrite its own results
    again = CliRunner().invoke(cli, ["match", third, "-l", str(swgdrug_library), "-o", str(out), "--min-snr", "20"])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("text", ['{"a":' * 100_000 + "1" + "}" * 100_000, '{"run": ' + "9" * 5000 + "}"])
def test_an_unreadable_earlier_results_file_is_refused_as_another_analysis(tmp_path, text):
    """A results file in -o DIR nested too deeply stopped match with a RecursionError traceback."""
    from nps_id.commands.match import refuse_replacing_other_results
    from nps_id.errors import InputError
    from tests.report.conftest import make_results

    target = tmp_path / "x.mzML.match.json"
    target.write_text(text)
    with pytest.raises(InputError, match="holds earlier results of another analysis"):
        refuse_replacing_other_results(target, make_results())
    assert target.read_text() == text


def test_earlier_results_saved_with_a_byte_order_mark_are_the_same_analysis(tmp_path):
    """Results opened and saved in a Windows editor (a BOM added) read as another analysis."""
    from nps_id.commands.match import refuse_replacing_other_results
    from tests.report.conftest import make_results

    target = tmp_path / "x.mzML.match.json"
    target.write_bytes(b"\xef\xbb\xbf" + json.dumps(make_results()).encode("utf-8"))
    refuse_replacing_other_results(target, make_results())  # the same analysis: no refusal


def test_the_terminal_table_counts_in_words():
    from nps_id.commands.match import format_table
    from tests.report.conftest import make_results

    results = make_results()
    results.update(components=results["components"][:1], findings=[])
    assert "1 component; library" in format_table(results)
    results["run"]["n_scans"] = 1  # an LC-MS/MS file of one MS/MS scan read "1 scans"
    assert ", 1 scan, " in format_table(results)


@pytest.mark.parametrize("option", ["-o", "--json"])
def test_an_output_below_a_file_is_one_line_exit_3(swgdrug_library, tmp_path, option):
    (tmp_path / "afile").write_text("")
    result = CliRunner().invoke(cli, ["match", str(data_path("gcms", "lrcfs", "220223001.mzML")),
                                      "-l", str(swgdrug_library), option, str(tmp_path / "afile" / "x.json")])
    assert result.exit_code == 3
    assert result.stderr.startswith("nps-id: error: ") and "cannot write the output here" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_terminal_table_flags_why_a_drug_hit_is_held_back_and_a_suspected_new_substance():
    # the table alone must not read as "Flubromazepam" or as the hit's name for an unknown
    from nps_id.commands.match import format_table
    from tests.report.conftest import make_results

    results = make_results()
    first, second = results["findings"][:2]
    # the flag follows the rule id, whatever the rule's wording
    first.update(verdict="tentative", rule="the substance is the hit or an isomer ...", rule_id="isomer_not_excluded",
                 new_substance=False)
    second.update(verdict="inconclusive", rule="below the tentative floor", rule_id="below_tentative_floor",
                  new_substance=True)
    lines = format_table(results).splitlines()
    assert next(l for l in lines if first["name"] in l).endswith("[isomer not excluded]")
    (row,) = [l for l in lines if "unknown compound" in l]
    # its best hit only in the closing note, for orientation, never in the name column; of no group
    # it is an unknown compound, not a "suspected new substance" (stop 35)
    assert row.split()[3:5] == ["unknown", "compound"] and "suspected new substance" not in "\n".join(lines)
    assert row.endswith(f"[not in the library; no NPS group indicated; the score is of the closest library hit: {second['name']}]")
    second["suspected_group"] = "Synthetic cathinones"
    (row,) = [l for l in format_table(results).splitlines() if second["name"] in l.split("[")[-1]]
    assert row.split()[3:6] == ["suspected", "new", "substance"]
    assert row.endswith(f"[Synthetic cathinones; the score is of the closest library hit: {second['name']}]")
    # the group model's probability where the model named it (stop 42): how sure the lead is
    second["suspected_group_probability"] = 0.834
    (row,) = [l for l in format_table(results).splitlines() if second["name"] in l.split("[")[-1]]
    # with its band's measured rate, short (stop 43): the probability alone read as one
    assert row.endswith(f"[Synthetic cathinones, group model's probability 0.834 (at 0.8-0.9 right 161 of "
                        f"189 in the EI tests); the score is of the closest library hit: {second['name']}]")
    second["lc"] = {"precursor_mz": 250.1}  # the reports' field: a results finding has none, still GC-EI-MS
    (row,) = [l for l in format_table(results).splitlines() if second["name"] in l.split("[")[-1]]
    assert "(at 0.8-0.9 right 161 of 189 in the EI tests)" in row
    # an LC-MS/MS finding, as its results carry it (precursor_mz, ms1): the EI bands do not apply -- until
    # stop 43's review the table looked for the reports' "lc", which no results finding has
    del second["lc"]
    second.update(precursor_mz=250.1, ms1={"feature": None, "adduct": "[M+H]+"})
    (row,) = [l for l in format_table(results).splitlines() if second["name"] in l.split("[")[-1]]
    assert "probability 0.834 (LC-MS/MS: too few groups in the tests to rate, 5 of 8 right);" in row
    del second["precursor_mz"], second["ms1"]
    second["suspected_group_probability"] = 0.597  # shown as held: two decimals read "0.60" beside the 0.56-0.6 band
    (row,) = [l for l in format_table(results).splitlines() if second["name"] in l.split("[")[-1]]
    assert "probability 0.597 (at 0.56-0.6 right" in row
    second["suspected_group_probability"] = 0.3  # a results file no model wrote: no band's rate, as in the reports
    (row,) = [l for l in format_table(results).splitlines() if second["name"] in l.split("[")[-1]]
    assert "probability 0.300 (below 0.56: no rate measured)" in row


def test_the_terminal_table_names_the_rule_that_held_each_hit_back(swgdrug_library):
    """A `tentative` drug row without a bracket left a new user asking why (stop 40): the seized
    card's benzocaine (MF 846, RMF 846, 4 ions) says "weak match"; an identified row says nothing."""
    result = CliRunner().invoke(cli, ["match", str(data_path("gcms", "lrcfs", "220223030.mzML")),
                                      "-l", str(swgdrug_library), "--internal-standard", "Bupivacaine@6.51"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[3]: line for line in result.output.splitlines() if line.startswith("  ") and " min" not in line}
    assert rows["Benzocaine"].split()[2] == "tentative" and rows["Benzocaine"].endswith("[weak match]")
    assert rows["Bupivacaine"].split()[2] == "identified" and not rows["Bupivacaine"].endswith("]")
    help_text = " ".join(CliRunner().invoke(cli, ["match", "--help"]).output.split())
    assert "[...] at the end of a row whose hit is not identified: the rule that held it back" in help_text


def test_how_many_hits_are_kept_never_changes_a_findings_verdict_mass_or_group(swgdrug_library, tmp_path):
    # `--top-k` keeps N hits per finding; the verdict, estimated mass and group read the evidence
    # hits whatever N is (the seized card's bupivacaine was estimated at 288 with --top-k 1 and 197
    # with the default 5, its gap 130 / 131)
    run = str(data_path("gcms", "lrcfs", "220223030.mzML"))
    answers = []
    for top in (1, 10):
        out = tmp_path / f"top{top}.json"
        result = CliRunner().invoke(cli, ["match", run, "--library", str(swgdrug_library), "--top-k", str(top),
                                          "--json", str(out)])
        assert result.exit_code == 0, result.output
        findings = json.loads(out.read_text())["findings"]
        assert findings and max(len(f["top_hits"]) for f in findings) == top
        answers.append([(f["name"], f["verdict"], f["rule"], f["gap"], f.get("new_substance"), f.get("estimated_mass"),
                         f.get("suspected_group")) for f in findings])
    assert answers[0] == answers[1]


def test_the_ms2_gap_has_its_own_option_and_the_ei_gap_leaves_it_alone():
    """MS/MS findings need a gap of 75 (min_gap_ms2), EI ones 30: `--min-gap` alone used to be
    the only gap option, and since the MS/MS gap got its own threshold it would have silently
    stopped applying to LC-MS/MS runs."""
    from nps_id.commands.match import match
    from nps_id.commands.match_options import MATCH_OPTION_NAMES, match_parameters_from_options
    from nps_id.match.assess import EVIDENCE_HITS

    def verdict(*options: str):
        ctx = match.make_context("match", ["run.mzML", *options], resilient_parsing=True)
        return match_parameters_from_options(**{n: ctx.params[n] for n in MATCH_OPTION_NAMES}).verdict

    assert (verdict().min_gap, verdict().min_gap_ms2) == (30, 75)
    assert (verdict("--min-gap", "50").min_gap, verdict("--min-gap", "50").min_gap_ms2) == (50, 75)
    assert verdict("--min-gap-ms2", "120").min_gap_ms2 == 120
    help_text = " ".join(CliRunner().invoke(cli, ["match", "--help"]).output.split())
    assert "--min-gap-ms2 INTEGER LC-MS/MS: the same gap" in help_text
    assert f"always read the first {EVIDENCE_HITS}. [default: 5" in help_text


def test_match_help_gives_each_printed_score_column_its_scale():
    """A chemist reading the printed table learns from --help what `score` is (it differs from
    MF on analogue rows: ANDI run 5.56 min, score 805, MF 589) and what the new-substance row means."""
    help_text = " ".join(CliRunner().invoke(cli, ["match", "--help"]).output.split())
    assert "score the hit's ranking score, 0-999: EI the match factor" in help_text
    assert "an analogue row the analogue score" in help_text
    assert "MF RMF EI match factor and reverse match factor, 0-999" in help_text
    assert '"suspected new substance": no library compound explains the spectrum' in help_text
    assert "a learned model reading it and its closest compounds (MS/MS: their vote first)" in help_text
    assert "a lead to check, not an identification" in help_text  # the group is a model's, not a finding
    assert '"unknown compound": no library compound explains it and no NPS group is indicated' in help_text
    assert "not necessarily an NPS" in help_text


def test_match_help_says_what_excludes_an_unexcluded_isomer_with_options_match_has():
    """A chemist whose row ends "[isomer not excluded]" learns from --help what it means for the case
    (the hit or an isomer, perhaps a new substance) and what to run next, by options `match` takes
    (a new user, stop 44: the table's tag was explained nowhere in --help)."""
    from nps_id.commands.match import match
    help_text = " ".join(CliRunner().invoke(cli, ["match", "--help"]).output.split())
    entry = help_text.split('"isomer not excluded": ', 1)[1].split(" Exit codes", 1)[0]
    assert entry.startswith("the substance is the hit or an isomer its spectrum cannot tell from it")
    assert "a new substance" in entry and entry.endswith("excludes them")
    named = {word.strip("(),;") for word in entry.split() if word.startswith(("--", "(--"))}
    assert named == {"--reference-standard", "--alkanes"}
    assert named <= {opt for param in match.params for opt in param.opts}
    # the group probability's band rate says on what it was measured
    assert "its confidence, not a measured rate" in help_text
    assert "on the development data, EI: SWGDRUG compounds left out of the library" in help_text


def test_match_help_explains_the_runner_up_column_and_the_lc_product_ions():
    """The table's last column ("next closest: X" on an unknown's row since stop 37) and why an LC
    hit of score 928 with no runner-up stays tentative (fluopicolide, one product ion) are in --help:
    a new user found neither there (stop 37)."""
    help_text = " ".join(CliRunner().invoke(cli, ["match", "--help"]).output.split())
    assert 'runner-up (score) that best different compound; "next closest: X (score)"' in help_text
    assert "not a second candidate identity" in help_text
    # "tentative unknown compound" (PestMix 7.525 min, a close analogue) read as a tentative identification
    assert '"tentative": a relative of that hit, "inconclusive": nothing matches well enough), not an' in help_text
    assert (f"'identified', which also needs >= {VerdictThresholds().min_product_ions} of the reference's "
            "product ions matched") in help_text


def test_match_keeps_the_library_facts_and_isomers_for_the_next_process(swgdrug_library, tmp_path, monkeypatch):
    """`nps-id match` writes the row facts and isomer enumerations it computed into the cache
    folder, as `search` does: the next match of the run computes none of them (RDKit) and gives
    the same results."""
    from nps_id.match.library_facts import LibraryFacts

    run = str(data_path("gcms", "lrcfs", "220223030.mzML"))
    env = {"NPS_ID_CACHE": str(tmp_path / "cache")}

    def results(name: str) -> dict:
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(cli, ["match", run, "-l", str(swgdrug_library), "--json", str(out)], env=env)
        assert result.exit_code == 0, result.output
        found = json.loads(out.read_text())
        del found["created"]
        found.pop("command_line", None)
        return found

    first = results("first")
    (facts,) = (tmp_path / "cache").rglob("facts-*.json")
    (isomers,) = (tmp_path / "cache").glob("isomers-*.json")
    assert any(key.startswith("structure:") for key in json.loads(facts.read_text()))
    assert json.loads(isomers.read_text())
    with monkeypatch.context() as m:
        for made in ("_structure", "_group"):
            m.setattr(LibraryFacts, made, lambda self, row: pytest.fail("row fact made again"))
        m.setattr("nps_id.chem.isomers.enumerate_isomers", lambda smiles: pytest.fail("isomers enumerated again"))
        assert results("second") == first


def test_gc_scans_without_a_retention_time_are_counted_not_dropped_silently(swgdrug_library, tmp_path):
    """Three scans of the seized-paper run with their time (MS:1000016) blanked out, byte offsets
    kept: they were left out of the chromatogram and nothing said so."""
    import re

    seen = iter(range(10**6))
    run = tmp_path / "220223016-three-untimed.mzML"
    run.write_bytes(re.sub(rb"<cvParam[^>]*MS:1000016[^>]*/>",
                           lambda m: b" " * len(m.group(0)) if next(seen) in (100, 1000, 2000) else m.group(0),
                           data_path("gcms", "lrcfs", "220223016.mzML").read_bytes()))
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(swgdrug_library), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    note = "3 MS1 scans have no retention time: left out of the chromatogram"
    assert f"note: {run.name}: {note}" in result.stderr.splitlines()
    doc = json.loads((tmp_path / "r.json").read_text())
    assert note in doc["notes"] and doc["run"]["read"]["skipped"]["MS1 scan without a retention time"] == 3
    assert doc["run"]["n_scans"] == 2427


def test_a_run_stopped_while_its_reports_render_leaves_the_earlier_outputs_as_they_were(swgdrug_library, tmp_path,
                                                                                       monkeypatch):
    """`match -o DIR --report ...` replaced the results JSON and the report JSON, then stopped while
    the HTML rendered (Ctrl-C, a crash): the folder held the new analysis's JSON beside the old
    analysis's HTML and LIMS table. Everything is rendered before the first file is replaced."""
    run, out = str(data_path("gcms", "lrcfs", "220223016.mzML")), tmp_path / "out"
    args = ["match", run, "-l", str(swgdrug_library), "-o", str(out), "--report", "csv", "--report", "html"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def stopped(doc):
        raise KeyboardInterrupt

    monkeypatch.setattr("nps_id.report.html.render_html", stopped)
    result = CliRunner().invoke(cli, [*args, "--min-snr", "20", "--overwrite"])
    assert result.exit_code != 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.fixture(scope="module")
def eley_without_molecular_ion_check(swgdrug_library) -> dict:
    """ELEY_1_SUBTRACT.JDX matched with "No drug group from the molecular ion alone" off
    (``group_beyond_molecular_ion`` 0): its 17.30 and 17.41 min components, an alkylnaphthalene's
    molecular-ion cluster, are suspected new barbiturates again -- real inconclusive leads."""
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.pipeline import match_files

    parameters = MatchParameters(verdict=VerdictThresholds(group_beyond_molecular_ion=0))
    ((_, results),) = list(match_files([data_path("gcms", "jcamp", "ELEY_1_SUBTRACT.JDX")], swgdrug_library, parameters))
    return results


def test_the_ewa_export_lists_suspected_new_substances_as_not_identified(other_runs, eley_without_molecular_ion_check):
    """The EWA export lists identified/tentative NPS and suspected new substances of a group (issue
    18), whatever the library search's verdict -- ELEY_1_SUBTRACT.JDX's lead is `inconclusive`
    -- and says so: "not identified", the search's verdict and rule, never "tentative library match"
    (stop 28 wrote that for an inconclusive lead). nps_reportable counts the same findings."""
    from nps_id.report.document import build_report
    from nps_id.report.ewa import ewa_rows
    from nps_id.report.findings import is_ewa_reportable, is_new_substance_lead

    verdicts = set()
    for results in (other_runs["ELEY_1_SUBTRACT.JDX"], other_runs["gcms.jdx"], eley_without_molecular_ion_check):
        doc = build_report(results, None)
        rows = ewa_rows(doc)
        leads = [f for f in doc["findings"] if is_new_substance_lead(f)]
        named = [f for f in doc["findings"] if is_ewa_reportable(f) and not f["new_substance"]]
        assert doc["summary"]["nps_reportable"] == len(leads) + len(named)
        new_rows = [r for r in rows if r["suspected_new_substance"]]
        assert len(new_rows) == len(leads) and len(rows) - len(new_rows) <= len(named)
        for row, lead in zip(new_rows, leads):
            level = row["identification_level"]
            assert level.startswith(f"not identified: suspected new substance of {lead['suspected_group']} -- ")
            assert "library match" not in level and f"library search {lead['verdict']}: " in level
            assert row["verdict"] == lead["verdict"] and row["inchikey"] is None
            # how sure the group model was of the group the row is filed under (stop 42)
            assert row["suspected_group_probability"] == lead["suspected_group_probability"]
            assert 0.5 <= row["suspected_group_probability"] <= 1
            verdicts.add(row["verdict"])
        # nothing else: a finding with a group that is not new, or new without a group, is not listed
        exported = {r["substance"] for r in rows}
        for f in doc["findings"]:
            if not (is_new_substance_lead(f) or is_ewa_reportable(f)):
                assert f["name"] not in exported or any(g["name"] == f["name"] and is_ewa_reportable(g)
                                                        for g in doc["findings"])
    # ELEY's barbiturate leads with the molecular-ion check off (on, since stop 42 no lead is left: its 17.41
    # min one was an aliphatic compound's ions); gcms.jdx's tentative one, closest to coca alkaloids, has no
    # group since taxonomy 2026.5 (a cocaine sample's impurity profile is no early warning)
    assert verdicts == {"inconclusive"}


def test_a_suspected_new_substance_s_estimated_mass_says_which_bleed_ions_it_set_aside(other_runs):
    """ELEY_1_SUBTRACT.JDX 20.66 min (best hit pantoyllactone, MF 617): its 207 (2.1 %) is the column's,
    set aside in its estimated mass 218 (docs/match.md, the run's background). The reports read "218"
    beside a spectrum showing 207, with no word of why; the results' background_ions now reach them."""
    from nps_id.report import render
    from nps_id.report.document import build_report
    from nps_id.report.present import new_substance_fields

    doc = build_report(other_runs["ELEY_1_SUBTRACT.JDX"], None)
    (unknown,) = [f for f in doc["findings"] if f.get("background_ions") and f["new_substance"]]
    assert unknown["background_ions"] == [207] and unknown["estimated_mass"] == 218
    text = dict(new_substance_fields(unknown))["Estimated nominal mass"]
    assert text == "218 (m/z 207 set aside: column bleed, at most 2x the run's background around the component)"
    assert f"<td>{text}</td>".replace("'", "&#x27;") in render(doc, "html")[".html"].decode()
    # a finding without bleed ions set aside carries no background_ions and reads its mass alone
    plain = [f for f in doc["findings"] if f["new_substance"] and not f.get("background_ions")]
    assert plain and "background_ions" not in plain[0]
    assert dict(new_substance_fields(plain[0]))["Estimated nominal mass"] == str(plain[0]["estimated_mass"])


def test_the_blank_among_the_runs_is_matched_without_subtracting_itself(swgdrug_library, tmp_path):
    # `match runs/*.mzML --blank runs/220223001.mzML` subtracted the blank from itself: every
    # component gone, its internal standard and any carry-over with them
    blank = data_path("gcms", "lrcfs", "220223001.mzML")
    card = data_path("gcms", "lrcfs", "220223030.mzML")
    result = CliRunner().invoke(cli, ["match", str(blank), str(card), "-l", str(swgdrug_library),
                                      "--blank", f"{blank.parent}/./{blank.name}", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    blank_results, card_results = json.loads((tmp_path / "r.json").read_text())["runs"]
    assert blank_results.get("blank") is None and not blank_results.get("blank_subtracted")
    assert "Bupivacaine" in {f["name"] for f in blank_results["findings"]}
    assert ("note: 220223001.mzML: this run is the --blank: matched without blank subtraction (what the blank "
            "itself holds)") in result.output
    # the other runs are subtracted as before
    assert card_results["blank"]["file"] == "220223001.mzML" and card_results["blank"]["n_removed"] >= 1
    assert "220223030.mzML: this run is the --blank" not in result.output


def test_the_blank_s_own_report_says_it_is_the_blank(swgdrug_library, tmp_path):
    # `match runs/* --blank runs/blank --report html`: the blank's results carried the note, its
    # report did not -- a report of the blank read as a sample's, its carry-over as the item's
    blank = data_path("gcms", "lrcfs", "220223001.mzML")
    result = CliRunner().invoke(cli, ["match", str(blank), "-l", str(swgdrug_library), "--blank", str(blank),
                                      "-o", str(tmp_path), "--report", "html"])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "220223001.report.json").read_text())
    assert doc["acquisitions"][0]["checks"]["blank_itself"] is True
    html = (tmp_path / "220223001.report.html").read_text()
    assert "This run is the blank (--blank): matched without blank subtraction" in html


def test_the_blank_s_own_ewa_export_lists_no_early_warning_leads(swgdrug_library, tmp_path):
    # A blank with carry-over of NPS (here the card's run given as its own --blank): its EWA
    # export listed flubromazepam and etizolam as a sample's leads. What a blank holds is
    # carry-over or contamination: nothing exported, each finding excluded with that reason.
    run = data_path("gcms", "lrcfs", "220223030.mzML")
    result = CliRunner().invoke(cli, ["match", str(run), "-l", str(swgdrug_library), "--blank", str(run),
                                      "-o", str(tmp_path), "--report", "ewa", "--report", "json"])
    assert result.exit_code == 0, result.output
    export = json.loads((tmp_path / "220223030.ewa.json").read_text(encoding="utf-8"))
    assert export["substances"] == []
    assert (tmp_path / "220223030.ewa.csv").read_text(encoding="utf-8").count("\n") == 1  # the header only
    reasons = {e["substance"]: e["reason"] for e in export["excluded"]}
    for name in ("Flubromazepam", "Etizolam"):
        assert "found in the blank run itself (--blank)" in reasons[name]
    doc = json.loads((tmp_path / "220223030.report.json").read_text(encoding="utf-8"))
    assert doc["summary"]["nps_reportable"] == 0 and all(f["blank_run"] for f in doc["findings"])


def test_match_and_batch_read_the_library_from_its_copies(swgdrug_library, tmp_path, monkeypatch):
    """`match` (and each `batch` worker) reads the library as `search` does: the first run keeps each
    dataset as an uncompressed copy in the cache folder, the next reads none from the library file
    (no gzip per process), and the results are the same."""
    import shutil
    from collections import Counter

    from nps_id.library.copies import _room_for
    from nps_id.library.store import Library

    if not _room_for(tmp_path, 64 << 20):  # the copies are not made on a nearly full disk
        pytest.skip(f"{tmp_path}'s disk has too little free space for library copies (5 % and 1 GiB kept free)")
    run = data_path("gcms", "lrcfs", "220223030.mzML")

    def results(folder: Path) -> dict:
        found = json.loads(next(folder.rglob("*.match.json")).read_text())
        return {k: v for k, v in found.items() if k not in ("created", "command_line")}

    env = {"NPS_ID_CACHE": str(tmp_path / "cache")}
    first = CliRunner().invoke(cli, ["match", str(run), "-l", str(swgdrug_library), "-o", str(tmp_path / "a")], env=env)
    assert first.exit_code == 0, first.output
    copies = {p.name.split(".")[0] for p in (tmp_path / "cache" / "copies").glob("*/*")}
    assert {"indexes%2Fei%2Fpeak_weight", "peaks%2Fmz", "metadata%2Fname%2Fdata"} <= copies
    shutil.rmtree(tmp_path / "cache" / "copies")  # the file is verified now: no check reads it below
    from_file: list[str] = []
    read_file = Library._read_file
    monkeypatch.setattr(Library, "_read_file", lambda lib, name, *a: from_file.append(name) or read_file(lib, name, *a))
    copied = CliRunner().invoke(cli, ["match", str(run), "-l", str(swgdrug_library), "-o", str(tmp_path / "b")], env=env)
    assert copied.exit_code == 0 and set(Counter(from_file).values()) == {1}
    from_file.clear()
    again = CliRunner().invoke(cli, ["match", str(run), "-l", str(swgdrug_library), "-o", str(tmp_path / "c")], env=env)
    assert again.exit_code == 0 and from_file == []
    assert results(tmp_path / "c") == results(tmp_path / "b") == results(tmp_path / "a")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / run.name).symlink_to(run)
    env = {"NPS_ID_CACHE": str(tmp_path / "batch-cache")}  # its worker process makes the copies
    batch = CliRunner().invoke(cli, ["batch", str(tmp_path / "runs"), "-l", str(swgdrug_library), "-o",
                                     str(tmp_path / "d"), "--workers", "1"], env=env)
    assert batch.exit_code == 0, batch.output
    assert copies <= {p.name.split(".")[0] for p in (tmp_path / "batch-cache" / "copies").glob("*/*")}
    assert results(tmp_path / "d")["findings"] == results(tmp_path / "a")["findings"]  # run.path: the link


def test_the_readme_fail_on_example_gates_on_the_sample_not_its_internal_standard(swgdrug_library, tmp_path):
    # the README's `--fail-on identified` line on the seized card exited 1 for its bupivacaine alone:
    # it named no --internal-standard, and every LRCFS vial holds one
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (line,) = [l for l in readme.splitlines() if l.startswith("nps-id match ") and "--fail-on identified" in l]
    data = data_path("gcms", "lrcfs").parents[1]
    words = [w.replace("../shared/data", str(data)) for w in shlex.split(line, comments=True)[1:]]
    words = [{"swgdrug.h5": str(swgdrug_library), "run.json": str(tmp_path / "run.json")}.get(w, w) for w in words]
    result = CliRunner().invoke(cli, words)
    assert result.exit_code == 0 and "--fail-on" not in result.stderr, result.output
    findings = json.loads((tmp_path / "run.json").read_text())["findings"]
    assert [f["name"] for f in findings if f["verdict"] == "identified"] == ["Bupivacaine"]


def test_match_help_says_what_hrms_criteria_not_met_means_and_what_a_unit_resolution_run_can_reach():
    """A chemist whose LC-MS/MS row ends "[HRMS criteria not met]" -- since stop 48 every finding of a
    unit-resolution run (MassBank's Keio API3000 records as an MGF) -- learns from --help what failed, that
    such a run never meets those criteria, and what would (a new user at stop 48: the tag was named in
    --help, never explained)."""
    help_text = " ".join(CliRunner().invoke(cli, ["match", "--help"]).output.split())
    entry = help_text.split('"HRMS criteria not met": ', 1)[1].split(' "isomer not excluded": ', 1)[0]
    assert entry.startswith("an LC-MS/MS spectrum that matches, but whose precursor's MS1 peak, exact mass or "
                            "matched product ions fall short")
    assert "unit-resolution run's (product ions written to at most 1 decimal) never meet them" in entry
    assert "findings stay tentative" in entry and "HRMS, run of the sample can meet them" in entry

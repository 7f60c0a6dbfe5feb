"""The report document: schema, parameter hash, sample information, EWA rule (synthetic results)."""
from __future__ import annotations

import copy
import json

import pytest

from nps_id.errors import InputError, LibraryError
from nps_id.report.document import STATEMENT_17025, build_report
from nps_id.report.findings import is_ewa_reportable, monoisotopic_mass
from nps_id.report.inputs import load_sample_info
from nps_id.report.jsondoc import parameters_sha256, report_json_bytes, validate_report
from tests.report.conftest import FIXED_NOW, REPORT_ID, SAMPLE_INFO, make_results


def _doc(results=None, info=SAMPLE_INFO):
    return build_report(results or make_results(), info, now=FIXED_NOW)


def test_document_validates_and_carries_the_envelope():
    doc = _doc()
    validate_report(doc)
    assert doc["report_id"] == REPORT_ID
    assert doc["status"] == "draft"
    assert doc["issued_at"] == "2026-01-15T10:00:00+00:00"
    assert doc["statement"] == STATEMENT_17025
    assert "relate only to the items tested" in doc["statement"]
    acq = doc["acquisitions"][0]
    assert (acq["technique"], acq["swgdrug_category"]) == ("GC-EI-MS", "A")
    assert "category A" in doc["technique_statement"]
    assert "not correlated" in doc["technique_statement"]
    assert doc["laboratory"] == {"name": "Example Forensic Laboratory (synthetic)", "country": "GB",
                                 "address": None, "contact": "nps-desk@example.invalid", "accreditation": None}


@pytest.mark.parametrize("declared", ["LEBVLXFERQHONN-UHFFFAOYSA-N", "lebvlxferqhonn-uhfffaoysa-n", "BUPIVACAINE"])
def test_an_internal_standard_is_known_by_its_inchikey_or_its_name_in_any_case(declared):
    info = copy.deepcopy(SAMPLE_INFO)
    info["item"]["internal_standards"] = [declared]
    flagged = [f["name"] for f in _doc(info=info)["findings"] if f["internal_standard"]]
    assert flagged == ["Bupivacaine"]


def test_nothing_is_invented_without_sample_information():
    doc = build_report(make_results(), None, now=FIXED_NOW)
    assert doc["analyst"]["name"] is None and doc["reviewer"]["name"] is None
    assert doc["laboratory"]["name"] is None and doc["laboratory"]["country"] is None
    assert all(v in (None, []) for v in doc["item"].values())
    assert doc["issued_at"] == "2026-01-15T09:30:00+00:00"  # the build time, as given
    assert {f["reference_standard_run"] for f in doc["findings"]} == {"unknown"}
    # Without a declared internal standard, bupivacaine is still not an NPS.
    assert [f["name"] for f in doc["findings"] if is_ewa_reportable(f)] == ["Flubromazepam", "Etizolam", ".alpha.-PVP"]


def test_findings_carry_identity_ewa_group_and_limitations():
    doc = _doc()
    by_name = {f["name"]: f for f in doc["findings"]}
    flubro = by_name["Flubromazepam"]
    assert flubro["monoisotopic_mass"] == pytest.approx(331.9961, abs=1e-4)  # C15H10BrFN2O, 79Br
    assert (flubro["ewa"]["group"], flubro["ewa"]["subclass"], flubro["ewa"]["nps"]) == (
        "other_substances", "benzodiazepines", True)
    assert by_name["Etizolam"]["cas"] == "40054-69-5"  # SWGDRUG CASNO without dashes, re-dashed
    assert by_name["Bupivacaine"]["internal_standard"] is True
    assert by_name["Bupivacaine"]["ewa"]["nps"] is False
    assert by_name["Etizolam"]["reference_standard_run"] == "yes"
    assert by_name["Flubromazepam"]["reference_standard_run"] == "no"
    assert any("second, uncorrelated technique" in text for text in flubro["limitations"])
    assert any("internal standard" in text.lower() for text in by_name["Bupivacaine"]["limitations"])
    assert doc["summary"] == {"identified": 3, "tentative": 1, "inconclusive": 1, "nps_reportable": 3}
    assert by_name["Bupivacaine"]["runner_up"]["name"] == "MPHP"


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, path + (key,))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _leaves(sub, path + (i,))
    else:
        yield path, value


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    return f"{value}x"


def test_changing_any_parameter_changes_the_parameter_hash():
    results = make_results()
    base = parameters_sha256(results["parameters"])
    leaves = list(_leaves(results["parameters"]))
    assert len(leaves) >= 8
    seen = {base}
    for path, value in leaves:
        params = copy.deepcopy(results["parameters"])
        target = params
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = _changed(value)
        digest = parameters_sha256(params)
        assert digest not in seen, path
        seen.add(digest)
    # Key order does not matter; the value's type does (1 vs 1.0 are different settings).
    reordered = dict(reversed(list(results["parameters"].items())))
    assert parameters_sha256(reordered) == base
    assert parameters_sha256({"a": 1}) != parameters_sha256({"a": 1.0})


def test_report_records_the_parameter_hash_and_changes_with_a_parameter():
    results = make_results()
    first = _doc(results)
    results["parameters"]["verdict"]["min_gap"] = 31
    second = _doc(results)
    assert first["provenance"]["parameters_sha256"] == parameters_sha256(make_results()["parameters"])
    assert first["provenance"]["parameters_sha256"] != second["provenance"]["parameters_sha256"]


def test_json_round_trip_is_byte_identical():
    doc = _doc()
    text = report_json_bytes(doc)
    again = json.loads(text)
    validate_report(again)
    assert report_json_bytes(again) == text


def test_schema_rejects_a_bad_document():
    doc = _doc()
    doc["status"] = "final"
    doc["findings"][0]["verdict"] = "certain"
    with pytest.raises(InputError, match=r"/findings/0/verdict.*/status|/status"):
        validate_report(doc)


def test_a_schema_error_quotes_a_huge_value_shortened():
    # a hostile results file: the one stderr line stays readable, not the whole value echoed
    doc = _doc()
    doc["findings"][0]["verdict"] = "x" * 100_000
    with pytest.raises(InputError, match=r"/findings/0/verdict: 'xxx.*\.\.\.") as info:
        validate_report(doc)
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize("table,key,value,message", [
    ("report", "status", "final", "status must be one of"),
    ("report", "report_id", "not-a-uuid", "report_id must be a UUID"),
    ("report", "issued_at", "2026-01-15T10:00:00", "needs a time zone"),
    ("item", "nature", "powder", "nature must be one of"),
    ("item", "country_of_seizure", "United Kingdom", "ISO 3166-1 alpha-2"),
    ("item", "date_received", "10/02/2022", "YYYY-MM-DD"),
    ("reviewer", "signed_at", "tomorrow", "reviewer signed_at must be an ISO 8601 date-time"),
    ("reviewer", "signed_at", "2026-01-16T08:00:00", "reviewer signed_at needs a time zone"),
])
def test_bad_sample_information_is_refused(table, key, value, message):
    info = copy.deepcopy(SAMPLE_INFO)
    info[table][key] = value
    with pytest.raises(InputError, match=message):
        _doc(info=info)


def test_amended_report_names_what_it_amends():
    info = copy.deepcopy(SAMPLE_INFO)
    info["report"]["status"] = "amended"
    with pytest.raises(InputError, match="must name the report it amends"):
        _doc(info=info)
    info["report"].update(amends="11111111-2222-4333-8444-555555555555", amendment_reason="CAS corrected")
    doc = _doc(info=info)
    assert (doc["status"], doc["amends"]) == ("amended", "11111111-2222-4333-8444-555555555555")
    doc["amends"] = None
    with pytest.raises(InputError, match="amends"):
        validate_report(doc)


def test_sample_info_toml(tmp_path):
    path = tmp_path / "card.toml"
    path.write_text(
        '[laboratory]\nname = "Lab"\ncountry = "gb"\n[analyst]\nname = "A. Analyst"\n'
        '[item]\nlab_sample_id = "FL22/009-2"\nnature = "seizure"\ndate_received = 2022-02-10\n'
        'internal_standards = ["Bupivacaine"]\n',
        encoding="utf-8",
    )
    info = load_sample_info(path)
    assert info["item"]["date_received"] == "2022-02-10"  # a TOML date becomes ISO text
    doc = build_report(make_results(), info, now=FIXED_NOW)
    assert doc["laboratory"]["country"] == "GB"
    assert doc["item"]["lab_sample_id"] == "FL22/009-2"


def test_reference_standards_in_the_toml_by_name_or_with_their_run(tmp_path):
    from nps_id.report import prepare_document

    path = tmp_path / "card.toml"
    results = tmp_path / "r.json"
    results.write_text(json.dumps(make_results()), encoding="utf-8")
    options = {"report": {"report_id": REPORT_ID}}
    for entries, expected, etizolam in (('[{ name = "Etizolam", run = "std.mzML" }]', ["Etizolam"], "yes"),
                                        ('["Etizolam"]', ["Etizolam"], "yes"),
                                        ("[]", [], "no")):  # stated: none was run
        path.write_text(f"[item]\nreference_standards_run = {entries}\n", encoding="utf-8")
        doc = prepare_document(results, options, sample_info_file=path)
        assert doc["item"]["reference_standards_run"] == expected, entries
        assert [f["reference_standard_run"] for f in doc["findings"]][2] == etizolam, entries
    # a standard `match` compared the finding with was run, whatever the card says
    compared = make_results()
    compared["findings"][1]["reference_standard"] = {"run": "std.mzML", "name": "Flubromazepam", "rt_min": 7.4,
                                                     "delta_rt_min": 0.021, "ri": None, "delta_ri": None,
                                                     "window_min": 0.1, "within": True}
    doc = build_report(compared, {"item": {"reference_standards_run": []}}, now=FIXED_NOW)
    assert [f["reference_standard_run"] for f in doc["findings"]][:3] == ["no", "yes", "no"]


def test_sample_info_typo_is_refused(tmp_path):
    path = tmp_path / "card.toml"
    path.write_text('[item]\nlab_sampleid = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"card.toml: \[item\]: unknown key\(s\) \['lab_sampleid'\]"):
        load_sample_info(path)


def test_monoisotopic_mass():
    # Etizolam C17H15ClN4S: 17*12 + 15*1.0078250319 + 34.96885268 + 4*14.0030740052 + 31.97207100
    assert monoisotopic_mass("C17H15ClN4S") == pytest.approx(342.0706, abs=1e-4)
    assert monoisotopic_mass(None) is None
    # a deuterated internal standard's mass was blank in reports (pyteomics knows no "D")
    assert monoisotopic_mass("C23H25D5N2O") == pytest.approx(355.2672, abs=1e-4)  # butyryl fentanyl-d5
    assert monoisotopic_mass("C10H14CoO4") == pytest.approx(257.0224, abs=1e-4)  # an organometallic record


def test_a_library_that_has_moved_stops_the_report_not_the_reference_spectra():
    # The help says exit 4; a report without its reference spectra cannot be reviewed.
    results = make_results()
    for f in results["findings"]:
        del f["reference_spectrum"]
    with pytest.raises(LibraryError, match=r"/nonexistent/lib.h5: library named by the results not found "
                                           r"\(moved\?\); pass the same library with --library PATH"):
        _doc(results)


def test_instrument_and_method_come_from_the_run_file_else_the_sample_toml():
    from nps_id.report import render

    info = copy.deepcopy(SAMPLE_INFO)
    info["acquisition"] = {"instrument": "GC-MS (EI, single quadrupole)", "method": "LRCFS drug screen"}
    acq = build_report(make_results(), info, now=FIXED_NOW)["acquisitions"][0]
    assert (acq["instrument"], acq["method"]) == ("Synthetic GC-MS", "LRCFS drug screen")  # the run file says
    silent = make_results()
    silent["run"]["instrument"] = None
    doc = build_report(silent, info, now=FIXED_NOW)
    assert doc["acquisitions"][0]["instrument"] == "GC-MS (EI, single quadrupole)"
    html = render(doc, "html")[".html"].decode("utf-8")
    assert "<td>GC-MS (EI, single quadrupole)</td><td>LRCFS drug screen</td>" in html


def test_isomers_the_internal_standard_s_rt_excluded_are_not_listed_as_open():
    # an identified internal standard must not carry "isomers not excluded ... may be a new substance"
    results = make_results()
    bupi = results["findings"][0]
    excluded = "isomers excluded by the internal standard's expected RT (6.51 min, dRT +0.002, window 0.1)"
    bupi.update(isomers_not_excluded=[{"name": None, "smiles": "CCCCN1CCCCC1C(O)=Nc1ccc(C)cc1C",
                                       "move": "ring_position:N", "in_library": False, "inseparable_rate": 0.61}],
                criteria_met=bupi["criteria_met"] + [excluded])
    (finding,) = [f for f in build_report(results, SAMPLE_INFO, now=FIXED_NOW)["findings"] if f["name"] == "Bupivacaine"]
    assert not any(n.startswith("Isomers not excluded") for n in finding["limitations"])
    assert any("excluded by the internal standard's expected RT" in n for n in finding["limitations"])


@pytest.mark.parametrize("where, peaks, message", [
    ("spectrum", {"mz": [91.0, 120.0, 165.0], "intensity": [999.0]}, "3 m/z but 1 intensities"),
    ("apex_spectrum", {"mz": [91.0, -5.0], "intensity": [999.0, 1.0]}, "m/z <= 0 or an intensity < 0"),
    ("spectrum", {"mz": [91.0], "intensity": [-1.0]}, "m/z <= 0 or an intensity < 0"),
])
def test_a_hand_edited_finding_spectrum_is_one_clear_error(tmp_path, where, peaks, message):
    # peak lists of different lengths rendered a PDF as far as the mirror plot, then a traceback
    from click.testing import CliRunner

    from nps_id.cli import cli

    results = make_results()
    results["findings"][0][where] = peaks
    path = tmp_path / "run.match.json"
    path.write_text(json.dumps(results))
    result = CliRunner().invoke(cli, ["report", str(path), "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 3, result.output
    assert f"/findings/0/{where}" in result.output and message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r.pdf").exists()


def test_a_blank_tic_whose_lists_do_not_pair_up_is_one_clear_error(tmp_path):
    from click.testing import CliRunner

    from nps_id.cli import cli

    results = make_results()
    results["blank"] = {"file": "blank.mzML", "path": "/nonexistent/blank.mzML", "sha256": "ef" * 32,
                        "tic": {"rt_min": [1.0, 2.0, 3.0], "intensity": [1.0]}, "n_components": 0, "n_removed": 0}
    path = tmp_path / "run.match.json"
    path.write_text(json.dumps(results))
    result = CliRunner().invoke(cli, ["report", str(path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 3, result.output
    assert "/blank/tic has 3 times but 1 intensities" in result.output


@pytest.mark.parametrize("key", ["spectrum", "reference_spectrum", "apex_spectrum"])
def test_a_hand_edited_report_document_spectrum_is_one_clear_error(key):
    # re-rendering a report JSON whose lists do not pair up reached the plots: a traceback
    doc = _doc()
    doc["findings"][0][key] = {"mz": [91.0, 120.0, 165.0], "intensity": [999.0]}
    with pytest.raises(InputError, match=f"/findings/0/{key} has 3 m/z but 1 intensities"):
        validate_report(doc)

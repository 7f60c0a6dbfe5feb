"""LC-MS/MS matching on two real DDA runs: one finding per compound, MS1 evidence, adducts."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.conftest import data_path
from tests.lcms.conftest import PESTMIX, RAMS
from nps_id.match.pipeline import match_run
from nps_id.match.reference_library import ReferenceLibrary
from nps_id.match.verdict import VerdictThresholds

PRODUCT_IONS = "product ions matched against the reference standard run >= 2"


@pytest.fixture(scope="module")
def library(lcms_library):
    return ReferenceLibrary(lcms_library)


@pytest.fixture(scope="module")
def pestmix(pestmix_results):
    return copy.deepcopy(pestmix_results)  # this module's own, as when it matched the run itself


@pytest.fixture(scope="module")
def metabolites(rams_results):
    return copy.deepcopy(rams_results)


def _by_name(results):
    return {f["name"].lower(): f for f in results["findings"] if f["match_mode"] == "identity"}


def test_metabolite_run_reports_each_compound_once(metabolites):
    keys = [f["inchikey"][:14] for f in metabolites["findings"] if f["match_mode"] == "identity"]
    assert len(keys) == len(set(keys))
    unknowns = [(f["name"], round(f["precursor_mz"], 2)) for f in metabolites["findings"]
                if f["match_mode"] == "analogue"]
    assert len(unknowns) == len(set(unknowns))
    found = _by_name(metabolites)
    proline = found["l-proline"]
    # Its other elution is named and counted, not a second finding.
    assert proline["other_elutions"] and "separate MS1 peaks" in proline["elution_note"]
    assert any(c.startswith("best hit at no other retention time (1 other)") for c in proline["criteria_failed"])
    assert proline["n_scans"] >= 21 and abs(proline["ms1"]["mass_error_ppm"]) <= 5
    # A second elution without an MS1 peak of its own is no finding, but still says the library
    # cannot tell the compound from what eluted there (acetyl-L-carnitine at 10.67 min).
    carnitine = found["acetyl-l-carnitine"]
    assert [round(e["rt_min"], 1) for e in carnitine["other_elutions"]] == [10.7]
    assert carnitine["verdict"] == "tentative"


@pytest.mark.parametrize("run", ["pestmix", "metabolites"])
def test_every_lc_finding_rests_on_an_ms1_peak_within_the_mass_window(run, request):
    results = request.getfixturevalue(run)
    window = VerdictThresholds().precursor_ppm
    assert results["findings"]
    for finding in results["findings"]:
        ms1 = finding["ms1"]
        if finding["match_mode"] == "identity":
            assert ms1["feature"] is not None and abs(ms1["mass_error_ppm"]) <= window, finding["name"]
        else:
            assert ms1["feature"] is not None or finding["new_substance"], finding["name"]
        # the XIC behind it, for the report's plot: the apex is on it
        xic, apex = ms1["xic"], ms1["feature"]["apex_rt_min"]
        assert len(xic["rt_min"]) == len(xic["intensity"]) >= ms1["feature"]["n_points"]
        at = min(range(len(xic["rt_min"])), key=lambda k: abs(xic["rt_min"][k] - apex))
        assert xic["intensity"][at] == pytest.approx(ms1["feature"]["height"], rel=1e-3), finding["name"]


def test_a_precursor_off_the_candidates_exact_mass_is_an_unassigned_feature_with_the_reason(pestmix):
    # Paclobutrazol's MS/MS scores 909, but its MS1 peak reads -5.5 ppm on every flank scan
    rows = [u for u in pestmix["unassigned_features"] if abs(u["precursor_mz"] - 294.1337) < 0.005]
    assert len(rows) == 1 and rows[0]["best_hits"][0]["name"].lower().startswith("paclobutrazol")
    assert "precursor mass error -5.5 ppm outside +/-5 ppm" in rows[0]["reason"]
    assert all(u["reason"] for u in pestmix["unassigned_features"])


def test_exact_mass_comes_from_the_formula_not_a_wrong_exact_mass_field(metabolites):
    # the MassBank butyryl carnitine record's exact_mass is the average mass (-624 ppm against it)
    butyryl = next(f for f in metabolites["findings"] if f["name"].lower().startswith("butyryl carnitine"))
    assert butyryl["ms1"]["theoretical_mz"] == pytest.approx(232.15433, abs=1e-4)


def test_isotope_cluster_and_in_source_ions_support_their_compound(pestmix):
    found = _by_name(pestmix)
    ions = {name: {(r["ion"].split(" (")[0], round(r["precursor_mz"], 2)) for r in found[name]["related_ions"]}
            for name in ("fluopicolide", "fenamiphos", "azinphos methyl")}
    # the DDA fragmented fluopicolide's 37Cl isotope peak, and an ion that falls apart into its [M+H]+
    assert {("isotope M+2", 384.97), ("cluster ion", 428.03)} <= ions["fluopicolide"]
    assert ("cluster ion", 349.17) in ions["fenamiphos"]
    # azinphos-methyl's 160.05 (a fragment of its library spectra, absent from the TripleTOF's)
    assert {("in-source fragment", 160.05), ("[M+Na]+", 340.0), ("[M+K]+", 355.97)} <= ions["azinphos methyl"]
    taken = {mz for found_ions in ions.values() for _, mz in found_ions}
    assert not [f for f in pestmix["findings"] if round(f["precursor_mz"], 2) in taken]


def test_a_precursor_that_is_a_found_compounds_13c_peak_joins_its_finding(metabolites, pestmix):
    # betaine's M+1 (119.09, fragmented twice at 6.42 min) was an unassigned feature of its own
    betaine = _by_name(metabolites)["betaine"]
    heavy = [r for r in betaine["isotope_precursors"] if abs(r["precursor_mz"] - 119.09) < 0.002]
    assert len(heavy) == 1 and heavy[0]["ion"] == "isotope M+1 (13C)" and heavy[0]["ms2"].startswith("set aside")
    assert not [u for u in metabolites["unassigned_features"] if u["component"] == heavy[0]["component"]]
    # (its 119.09 at 9.40 min co-elutes with no 118.09: still an unassigned feature of its own)
    assert [u for u in metabolites["unassigned_features"] if abs(u["precursor_mz"] - 119.09) < 0.002]
    component = metabolites["components"][heavy[0]["component"]]
    assert component["ion_of"]["ion"] == "isotope M+1 (13C)"
    # with no finding for its monoisotopic ion (this library lacks the phosphocholine's analogues),
    # the M+1 is an unassigned feature that says whose isotope peak it is, never searched alone
    row = next(u for u in pestmix["unassigned_features"] if abs(u["precursor_mz"] - 543.3233) < 0.002)
    assert row["reason"].startswith("13C isotope peak (M+1) of component") and "542.318" in row["reason"]


def test_pesticide_slice_isolation_window_precursors(pestmix):
    found = _by_name(pestmix)
    # myclobutanil (972) was `identified` until stop 46; its absent isomers' kinds (ring positions, ring
    # nitrogens, methyl shifts) match that well in >= 5 % of MassBank MS/MS's own pairs, which an MS/MS hit
    # reads since: a reference standard run at the same RT identifies it (docs/match.md)
    myclobutanil = found["myclobutanil"]
    assert myclobutanil["verdict"] == "tentative" and myclobutanil["rule"].startswith("isomer not excluded")
    assert "not in the library (methyl shift, ring nitrogen, ring position)" in myclobutanil["rule"]
    # cyproconazole scores 94 above uniconazole (C15H18ClN3O too), but the library's own records of
    # the two match at 938 (triazole 70 and chlorobenzyl 125 ions): the spectrum does not exclude it
    assert found["cyproconazole"]["rule"].startswith("isomer not excluded")
    assert "Uniconazole" in found["cyproconazole"]["rule"]
    # the failed criterion says why: their records match (the margin holds enumerated isomers only); of
    # the absent ones 3 are ring openings, which an MS/MS hit reads at the MS/MS pool since stop 50 (6 before)
    assert ("isomers not excluded: 0 in the library within the margin, 1 in the library whose records "
            "match the hit's, 9 not in the library") in found["cyproconazole"]["criteria_failed"]
    for name in ("fenamiphos", "fluopicolide"):
        assert found[name]["rule"].startswith("isomer not excluded")
    # held by its isomers, and by its one product ion too: both listed (only the isomers' rule is named)
    assert "product ions matched for an identification >= 2 (1: the reference has 1 major fragment)" \
        in found["fluopicolide"]["criteria_failed"]
    azinphos = found["azinphos methyl"]
    assert azinphos["adduct"] == "[M+H]+"
    sodium = [ion for ion in azinphos["related_ions"] if ion["ion"] == "[M+Na]+"]
    assert sodium and sodium[0]["precursor_mz"] == pytest.approx(339.996, abs=0.01)
    assert not any(abs(f["precursor_mz"] - 339.996) < 0.01 for f in pestmix["findings"])
    assert pestmix["unassigned_features"] and all("best_hits" in u for u in pestmix["unassigned_features"])
    # issue 17: an analogue finding passes the close-analogue rule (similarity and confidence)
    t = VerdictThresholds()
    for finding in pestmix["findings"]:
        if finding["match_mode"] == "analogue":
            assert finding["rule"].startswith("close analogue") and finding["analogue_confidence"] >= t.analogue_confidence
        else:
            assert finding["analogue_confidence"] is None


def test_reports_show_each_lc_findings_ion_mass_error_fragments_and_xic(pestmix, tmp_path):
    import csv
    import io
    import json

    from nps_id.report import prepare_document, render

    results = tmp_path / "pest.match.json"
    results.write_text(json.dumps(pestmix), encoding="utf-8")
    overrides = tmp_path / "lab.csv"  # a pesticide is no NPS: make one exportable to see its columns
    overrides.write_text("key,group,subclass,nps\nMyclobutanil,synthetic_cathinones,,yes\n", encoding="utf-8")
    doc = prepare_document(results, overrides_file=overrides)
    myclobutanil = next(f for f in doc["findings"] if f["name"] == "Myclobutanil")
    assert myclobutanil["lc"]["adduct"] == "[M+H]+" and abs(myclobutanil["lc"]["mass_error_ppm"]) <= 5
    html = render(doc, "html")[".html"].decode()
    section = html[html.index('id="finding-' + str(myclobutanil["index"])):]
    section = section[:section.index("</section>")]
    assert "LC-HRMS evidence" in section and "[M+H]+, m/z 289.12" in section
    assert f"{myclobutanil['lc']['mass_error_ppm']:+.1f} ppm" in section and "3 of 3 reference fragments" in section
    assert '<figure class="xic"><svg' in section
    rows = list(csv.DictReader(io.StringIO(render(doc, "ewa")[".csv"].decode())))
    row = next(r for r in rows if r["substance"] == "Myclobutanil")
    assert row["precursor_ion"].startswith("[M+H]+ 289.12") and row["matched_fragments"] == "3 of 3"
    assert float(row["precursor_mass_error_ppm"]) == myclobutanil["lc"]["mass_error_ppm"]
    assert len(row["precursor_xic"].split(";")) == len(myclobutanil["lc"]["xic"]["rt_min"])
    assert render(doc, "pdf")[".pdf"].startswith(b"%PDF")


def test_a_signed_pdf_gives_each_lc_findings_rule_and_criteria_whole(pestmix, tmp_path):
    """The PDF cut a finding page's rule and criteria behind "..." where they did not fit above the
    plots (azinphos-methyl's criteria met, cyproconazole's rule; with the full MassBank library an
    analogue's criteria too); the HTML gave them whole. The text now goes on over a continuation page."""
    import datetime as dt
    import json
    import re
    import shutil
    import subprocess

    from click.testing import CliRunner

    from nps_id.cli import cli

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    results, pdf = tmp_path / "pest.match.json", tmp_path / "pest.pdf"
    results.write_text(json.dumps(pestmix), encoding="utf-8")
    signed = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    out = CliRunner().invoke(cli, ["report", str(results), "-f", "pdf", "-o", str(pdf), "--status", "reviewed",
                                   "--analyst", "A. Analyst", "--analyst-signed-at", signed,
                                   "--reviewer", "R. Reviewer", "--reviewer-signed-at", signed])
    assert out.exit_code == 0, out.output
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True,
                           timeout=60).stdout.split("\f")

    def body(page: str) -> str:  # the text read across page breaks: no footer, mark or repeated title
        if "(continued on the next page)" in page:
            # a continued finding's text stops where its figures begin (the structure's caption first): a paragraph
            # may break mid-sentence there, as print does, and go on after the next page's "(continued)" title
            page = page.split("Structure of the library entry")[0]
        page = re.sub(r"Report \S+ \u00b7 \S+ \u00b7 page \d+ of \d+", "", page)
        page = re.sub(r"^\s*#\d+ [^\n]*(\n[^\n]*)?\(continued\)", "", page.replace("(continued on the next page)", ""))
        return " ".join(page.split())

    from nps_id.report import prepare_document

    text = " ".join(body(p) for p in pages)
    # the rule as the report words it (since stop 36 an isomer rule's "it may be a new substance" by the
    # hit's class: Cyproconazole's "it may be a compound not in the library")
    shown = [f["rule"] for f in prepare_document(results)["findings"]]
    assert len(shown) == len(pestmix["findings"]) and "it may be a new substance" not in " ".join(shown)
    for f, rule in zip(pestmix["findings"], shown):
        for line in (f"Rule: {rule}", "Criteria met: " + ", ".join(f["criteria_met"]),
                     "Criteria failed: " + (", ".join(f["criteria_failed"]) or "none")):
            assert " ".join(line.split()) in text, (f["name"], line)
    # this run's pages need continuation pages
    assert [p for p in pages if re.match(r"\s*#\d+ [^\n]*(\n[^\n]*)?\(continued\)", p)]


def test_an_analogue_finding_claims_no_fragment_count(metabolites):
    # an analogue finding (here the metabolite run's; against the whole MassBank MS/MS library the
    # pesticide slice's 7.51, 7.53 and 7.77 min unknowns too) read "Matched fragments: 0 of 0 reference
    # fragments" in the reports and the results: no reference compound's fragments were compared
    from nps_id.report.document import build_report
    from nps_id.report.ewa import ewa_rows
    from nps_id.report.present import lc_evidence_fields

    analogues = [f for f in metabolites["findings"] if f["match_mode"] == "analogue"]
    assert analogues
    assert all(f["ms1"]["matched_fragments"] is None and f["ms1"]["reference_fragments"] is None for f in analogues)
    doc = build_report(metabolites, None)
    shown = {f["index"]: dict(lc_evidence_fields(f))["Matched fragments"] for f in doc["findings"]}
    for f in doc["findings"]:
        if f["match_mode"] == "analogue":
            assert shown[f["index"]].startswith("not compared"), shown[f["index"]]
        else:
            # an identity hit whose reference holds no major fragment but its precursor: nothing to count either
            expected = (f"{f['lc']['matched_fragments']} of " if f["lc"]["reference_fragments"]
                        else "none to compare")
            assert shown[f["index"]].startswith(expected), shown[f["index"]]
    for f in doc["findings"]:  # exported as leads (the run has none of a group): no "0 of 0" either
        f["suspected_group"] = f["suspected_group"] or "Phenethylamines"
    rows = [r for r in ewa_rows(doc) if r["suspected_new_substance"]]
    assert rows and all(r["matched_fragments"] is None for r in rows)


def test_a_reference_without_fragments_is_no_fragment_criterion_met(metabolites):
    # betaine's and L-histidine's references hold no major fragment besides the precursor: the
    # findings listed "reference fragments matched >= 0 (0 of 0)" among the criteria met (attack34)
    from nps_id.match.verdict import FRAGMENTS_NOT_COMPARED

    none = [f for f in metabolites["findings"] if f["ms1"]["reference_fragments"] == 0]
    assert none
    for f in none:
        assert FRAGMENTS_NOT_COMPARED in f["criteria_not_evaluated"], f["name"]
        assert not any("0 of 0" in c for c in f["criteria_met"] + f["criteria_failed"]), f["name"]


def _separate_injection(run: tuple[str, ...], folder: Path) -> Path:
    """The run with every scan 0.3 s later (its scan start times, in seconds in both LC files): another
    file standing in for a separate injection of a standard of the same method -- the shared data hold
    no LC standard run; a run named as its own standard confirms nothing (stop 36), nor does a
    byte-different copy of it with the same scans (:func:`_same_injection_other_bytes`)."""
    import gzip
    import re

    raw = data_path(*run).read_bytes()
    raw = gzip.decompress(raw) if run[-1].endswith(".gz") else raw
    copy = folder / ("later-" + Path(run[-1]).name.removesuffix(".gz"))
    copy.write_bytes(re.sub(rb'(name="scan start time" value=")([0-9.]+)"',
                            lambda m: m.group(1) + b"%.4f" % (float(m.group(2)) + 0.3) + b'"', raw))
    return copy


def _same_injection_other_bytes(run: tuple[str, ...], folder: Path) -> Path:
    """The run's bytes with its XML declaration's encoding name in the other case (same meaning, same
    byte offsets): another file of another SHA-256 holding the same scans -- one injection."""
    import gzip
    import re

    raw = data_path(*run).read_bytes()
    raw = gzip.decompress(raw) if run[-1].endswith(".gz") else raw
    copy = folder / Path(run[-1]).name.removesuffix(".gz")
    copy.write_bytes(re.sub(rb'encoding="([^"]+)"', lambda m: b'encoding="' + m.group(1).swapcase() + b'"', raw, count=1))
    return copy


def test_azinphos_methyl_is_identified_only_against_a_reference_standard_run(library, pestmix, tmp_path):
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.pipeline import measure_reference_standards
    from nps_id.match.standards import ReferenceStandard

    # The library route: best record 715 (an Orbitrap ion-trap record at 60 % NCE; the three
    # TripleTOF scans score 699-726 against it, 320-599 against the QTOF and HCD records), its 142.99 ion
    # (41-62 % in seven records) absent from every scan: tentative, whatever its adducts say.
    azinphos = _by_name(pestmix)["azinphos methyl"]
    assert azinphos["verdict"] == "tentative" and azinphos["score"] == 715
    # The slice named as its own standard is no separate injection: compared with itself it confirms
    # nothing (until stop 36 this made azinphos-methyl "identity confirmed against a reference standard run")
    names = ("Azinphos methyl", "Fluopicolide")
    own = measure_reference_standards([ReferenceStandard(str(data_path(*PESTMIX)), name) for name in names],
                                      library, MatchParameters())
    itself = _by_name(match_run(data_path(*PESTMIX), library, reference_standards=own))["azinphos methyl"]
    assert itself["verdict"] == "tentative" and itself["reference_standard"]["same_run"] is True
    assert not any(c.startswith(("ion ratios", PRODUCT_IONS)) for c in itself["criteria_met"] + itself["criteria_failed"])
    # nor is a copy of it in other bytes (another SHA-256, the same scans: a re-converted or gzip-ed copy
    # of the injection; stop 36's SHA-256 test took it for a separate injection and confirmed azinphos-methyl)
    copy = measure_reference_standards([ReferenceStandard(str(_same_injection_other_bytes(PESTMIX, tmp_path)), name)
                                        for name in names], library, MatchParameters())
    copied = match_run(data_path(*PESTMIX), library, reference_standards=copy)
    assert copied["reference_standards"][0]["sha256"] != copied["run"]["sha256"]
    assert [s.get("same_run") for s in copied["reference_standards"]] == [True, True]
    assert not any("_content" in s for s in copied["reference_standards"])
    azinphos_copied = _by_name(copied)["azinphos methyl"]
    assert azinphos_copied["verdict"] == "tentative" and azinphos_copied["reference_standard"]["same_run"] is True
    # A standard run of the same method (a copy of the slice standing in for one: no azinphos-methyl
    # standard run is in the shared data) gives RT and ion ratios: the SANTE/11312/2021 identification.
    standards = measure_reference_standards([ReferenceStandard(str(_separate_injection(PESTMIX, tmp_path)), name)
                                             for name in names], library, MatchParameters())
    results = match_run(data_path(*PESTMIX), library, reference_standards=standards)
    azinphos = _by_name(results)["azinphos methyl"]
    assert azinphos["verdict"] == "identified" and azinphos["rule"].startswith("identity confirmed against a reference")
    assert any(c.startswith("ion ratios within +/-30%") for c in azinphos["criteria_met"])
    assert PRODUCT_IONS + " (5 of 5: 77.0387, 104.0496, 105.0329, 124.9821, 132.0442)" in azinphos["criteria_met"]
    # Fluopicolide's standard spectrum has one product ion >= 10 % of its base peak (172.96): compared
    # on it alone (and two ions under 5 %), main called it "identity confirmed against a reference
    # standard run"; a standard confirms only with >= 2 product ions matched (SWGDRUG, ASB 036)
    fluopicolide = _by_name(results)["fluopicolide"]
    assert fluopicolide["rule_id"] != "standard_confirmed"
    # the standard at the same RT excludes its isomers, but its library record has one major fragment:
    # one product ion matched is no identification (SWGDRUG, ENFSI, EU 2021/808: >= 2) -- "identified"
    # until stop 37, resting on the library's 1 of 1
    assert (fluopicolide["verdict"], fluopicolide["rule_id"]) == ("tentative", "hrms_not_met")
    assert fluopicolide["criteria_failed"] == [
        "product ions matched for an identification >= 2 (1: the reference has 1 major fragment)"]
    assert [c for c in fluopicolide["criteria_not_evaluated"] if c.startswith(PRODUCT_IONS)] == [
        PRODUCT_IONS + ": not compared (the standard's spectrum has 1 product ion >= 10% of its base peak)"]


def test_a_standard_confirms_only_with_two_product_ions_compared_none_of_them_the_precursors_isotope(library, tmp_path):
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.pipeline import measure_reference_standards
    from nps_id.match.standards import ReferenceStandard

    # the metabolite run as its standard (a copy: :func:`_separate_injection`): L-histidine's library record has no major fragment
    # to compare (criterion not evaluated) and main made it "identified" against the standard without
    # naming a product-ion comparison; betaine's "product ions" were 58.07 and 59.07 (5-6 % of base)
    # and 119.09 -- its precursor's own 13C peak
    names = ("L-Histidine", "Betaine")
    standards = measure_reference_standards([ReferenceStandard(str(_separate_injection(RAMS, tmp_path)), n) for n in names],
                                            library, MatchParameters())
    results = match_run(data_path(*RAMS), library, reference_standards=standards)
    found = _by_name(results)
    histidine, betaine = found["l-histidine"], found["betaine"]
    assert histidine["verdict"] == "identified" and histidine["rule_id"] == "standard_confirmed"
    assert PRODUCT_IONS + " (3 of 3: 58.0659, 110.0717, 111.0689)" in histidine["criteria_met"]
    assert betaine["rule_id"] != "standard_confirmed"
    assert PRODUCT_IONS + (": not compared (the standard's spectrum has 0 product ions >= 10% of its base "
                           "peak)") in betaine["criteria_not_evaluated"]
    ratios = next(c for c in betaine["criteria_met"] + betaine["criteria_failed"] if c.startswith("ion ratios"))
    assert "119.09" not in ratios
    for finding in results["findings"]:
        if finding["rule_id"] == "standard_confirmed":
            assert any(c.startswith(PRODUCT_IONS + " (") for c in finding["criteria_met"]), finding["name"]


def test_the_reports_component_table_says_why_an_lc_precursor_is_no_finding(pestmix):
    from nps_id.report.findings import report_chromatogram

    notes = {c["index"]: c["note"] for c in report_chromatogram(pestmix, pestmix["findings"])["components"]}
    paclobutrazol = next(u for u in pestmix["unassigned_features"] if abs(u["precursor_mz"] - 294.1337) < 0.005)
    assert notes[paclobutrazol["component"]].startswith("no finding: precursor mass error -5.5 ppm")
    azinphos = next(i for i, f in enumerate(pestmix["findings"]) if f["name"] == "Azinphos methyl")
    sodium = next(r for r in pestmix["findings"][azinphos]["related_ions"] if r["ion"] == "[M+Na]+")
    assert notes[sodium["component"]] == f"[M+Na]+ of finding #{azinphos + 1} (Azinphos methyl)"


def test_the_reports_component_table_gives_each_lc_component_its_precursor_and_ms1_area(pestmix, tmp_path):
    # an LC-MS/MS component has no model ion, top ions or area of its own: the table showed 144 rows
    # of dashes beside their RT, so a reviewer could not tell which precursor a note was about
    import json

    from nps_id.report import prepare_document, render
    from nps_id.report.jsondoc import validate_report
    from nps_id.report.present import display_number

    results = tmp_path / "pest.match.json"
    results.write_text(json.dumps(pestmix), encoding="utf-8")
    doc = prepare_document(results)
    validate_report(doc)  # precursor_mz is in the schema
    html = render(doc, "html")[".html"].decode()
    table = html.split('<h2 id="components">Components</h2>', 1)[1].split("</table>", 1)[0]
    assert "<th>Area</th><th>Precursor m/z</th>" in table
    by_index = {c["index"]: c for c in pestmix["components"]}
    shown = doc["chromatograms"][0]["components"]
    assert len(shown) == len(by_index)
    for c in shown:
        source = by_index[c["index"]]
        assert c["precursor_mz"] == source["precursor_mz"]
        assert c["area"] == (source.get("ms1_feature") or {}).get("area")
    azinphos = next(i for i, f in enumerate(pestmix["findings"]) if f["name"] == "Azinphos methyl")
    note = f"finding #{azinphos + 1} (Azinphos methyl)"  # its [M+H]+; its other ions' notes say "... of finding"
    component = next(c for c in shown if c["note"] == note)
    row = table.split(f">{display_number(component['precursor_mz'], 4)}<", 1)[1].split("</tr>", 1)[0]
    assert f">{note}<" in row and abs(component["precursor_mz"] - 318.013) < 0.001


@pytest.mark.parametrize("run", ["pestmix", "metabolites"])
def test_findings_are_in_retention_time_order_with_every_reference_to_them_kept(run, request):
    # The metabolite run listed L-proline (11.5 min) first, betaine (12.5) sixth and its analogue
    # finding (6.7) last: identity findings by their compound's first elution, analogues after them.
    results = request.getfixturevalue(run)
    findings = results["findings"]
    assert [f["rt_min"] for f in findings] == sorted(f["rt_min"] for f in findings)
    for component in results["components"]:
        if component.get("finding") is not None and component.get("ion_of") is None:
            finding = findings[component["finding"]]
            assert component["index"] == finding["component"] or component["index"] in finding["merged_components"] \
                or any(component["index"] in e["components"] for e in finding["other_elutions"])
        if component.get("ion_of") is not None:
            finding = findings[component["ion_of"]["finding"]]
            listed = finding["related_ions"] + finding["isotope_precursors"]
            assert component["index"] in [r["component"] for r in listed]


def test_the_metabolite_run_has_an_analogue_finding_among_its_identity_findings(metabolites):
    modes = [f["match_mode"] for f in metabolites["findings"]]
    assert "analogue" in modes and modes[-1] == "identity"  # the analogue is placed by its RT, not last


def test_a_gap_is_measured_only_against_a_compound_that_matched(pestmix):
    """docs/match.md: gap = score minus the runner-up's (the best different compound's) score.
    Fenamiphos and myclobutanil showed gap = their score (864, 972) and no runner-up -- the
    other compound in their precursor window shares no fragment (score 0) -- while azinphos-methyl
    and fluopicolide, with no other compound in the window, showed "-": the same kind of finding."""
    identity = [f for f in pestmix["findings"] if f["match_mode"] == "identity"]
    assert {f["name"].lower() for f in identity} >= {"fenamiphos", "myclobutanil", "azinphos methyl", "fluopicolide"}
    for f in identity:
        runner = f["runner_up"]
        if runner is not None:
            assert runner["score"] > 0 and f["gap"] == f["score"] - runner["score"], f["name"]
        assert f["gap"] != f["score"], f["name"]  # never a gap to a compound that matched nothing
        unscored = f"gap to next different compound >= {VerdictThresholds().min_gap_ms2} (no other compound scored)"
        assert (f["gap"] is None) == (unscored in f["criteria_not_evaluated"]), f["name"]


def test_the_terminal_table_marks_a_cut_name_with_an_ellipsis(metabolites):
    # "Butyryl carnitine (isomer of 9" read as a whole name: a name or runner-up cut to its column
    # ends in an ellipsis, in the LC table as in the GC one (one table)
    from nps_id.commands.match import format_table

    rows = format_table(metabolites).splitlines()[2:-1]
    names = [f["name"] for f in metabolites["findings"]]
    runners = [f["runner_up"]["name"] for f in metabolites["findings"] if f["runner_up"]]
    assert max(map(len, names)) > 30 and max(map(len, runners)) > 28  # the run has such names
    def cuts(text: str, most: int) -> list[str]:  # the end cut, or the middle one (the end kept)
        if len(text) <= most:
            return [text]
        return [text[:most - 1] + "\u2026", text[:most - 1 - most // 2] + "\u2026" + text[-(most // 2):]]

    apart = 0
    for finding, row in zip(metabolites["findings"], rows):
        name = finding["name"] if finding["match_mode"] == "identity" else f"analogue of {finding['name']}"
        assert any(f" {shown} " in row for shown in cuts(name, 30)) or finding.get("new_substance"), row
        runner = finding["runner_up"]
        if runner:
            assert any(f"  {shown} ({runner['score']})" in row or f"  next closest: {shown} ({runner['score']})" in row
                       for shown in cuts(runner["name"], 28)), row
        if runner and finding["match_mode"] == "identity" and name != runner["name"] and name[:29] == runner["name"][:29]:
            # "Butyryl carnitine (isomer of 920)" and "... (isomer of 919)": cut at the end both read
            # "Butyryl carnitine (isomer o..." (stop 39, a new user); their ends are shown instead
            assert name[-15:] in row and runner["name"][-14:] in row, row
            apart += 1
    assert apart  # the run has such a pair


def test_the_terminal_table_names_an_unknowns_runner_up_the_next_closest_compound(metabolites):
    # an analogue or unknown row's "runner-up" is its second closest library compound, not a second
    # candidate identity as on an identity row (a new user read it so on the PestMix slice, stop 36)
    from nps_id.commands.match import format_table

    rows = format_table(metabolites).splitlines()[2:-1]
    named = [(f, row) for f, row in zip(metabolites["findings"], rows) if f["runner_up"]]
    unknown = [row for f, row in named if f["new_substance"] or f["match_mode"] != "identity"]
    identity = [row for f, row in named if not (f["new_substance"] or f["match_mode"] != "identity")]
    assert unknown and identity  # the run has both
    assert all("  next closest: " in row for row in unknown)
    assert not any("next closest" in row for row in identity)


@pytest.fixture(scope="module")
def pestmix_without_rt(tmp_path_factory):
    """The pesticide slice with every scan's retention time (MS:1000016) blanked out, byte offsets kept."""
    import re

    raw = data_path(*PESTMIX).read_bytes()
    path = tmp_path_factory.mktemp("no-rt") / "pestmix-no-rt.mzML"
    path.write_bytes(re.sub(rb"<cvParam[^>]*MS:1000016[^>]*/>", lambda m: b" " * len(m.group(0)), raw))
    return path


def test_a_run_without_retention_times_reports_them_unknown_never_0(library, pestmix_without_rt, tmp_path):
    # findings read "0.00 min" and replicate scans of one precursor merged because all were "0"
    from nps_id.commands.match import format_table
    from nps_id.report.jsondoc import validate_results

    results = match_run(pestmix_without_rt, library)
    validate_results(results, "results")
    assert results["findings"] and results["run"]["rt_range_min"] is None
    assert {f["rt_min"] for f in results["findings"]} == {None}
    assert {c["rt_min"] for c in results["components"]} == {None}
    assert {c["n_scans"] for c in results["components"]} == {1}  # nothing merged on a time never measured
    assert len(results["components"]) == 213
    # one finding per compound all the same (replicates are not "other elutions")
    names = [f["name"] for f in results["findings"] if f["match_mode"] == "identity"]
    assert len(names) == len(set(names)) and "Myclobutanil" in names
    assert not any(f["other_elutions"] for f in results["findings"])
    table = format_table(results)
    assert "0.000" not in table and "0.00-0.00" not in table
    rows = table.splitlines()[2:-1]
    assert rows and all(row.split()[0] == "-" for row in rows)
    # the reports render the unknown time as a dash (they failed on it: float(None), an XIC line at None)
    import json

    from click.testing import CliRunner

    from nps_id.cli import cli

    source = tmp_path / "no-rt.match.json"
    source.write_text(json.dumps(results))
    for fmt in ("html", "pdf", "csv"):
        done = CliRunner().invoke(cli, ["report", str(source), "-f", fmt, "-o", str(tmp_path / f"r.{fmt}")])
        assert done.exit_code == 0, done.output
    html = (tmp_path / "r.html").read_text()
    assert "at \u2014 min:" in html and " at 0.000 min" not in html


@pytest.fixture(scope="module")
def pestmix_half_rt(tmp_path_factory):
    """The pesticide slice with every other scan's retention time blanked out, byte offsets kept."""
    import re

    raw = data_path(*PESTMIX).read_bytes()
    path = tmp_path_factory.mktemp("half-rt") / "pestmix-half-rt.mzML"
    seen = iter(range(10**6))
    path.write_bytes(re.sub(rb"<cvParam[^>]*MS:1000016[^>]*/>",
                            lambda m: b" " * len(m.group(0)) if next(seen) % 2 == 0 else m.group(0), raw))
    return path


@pytest.fixture(scope="module")
def half_rt_results(library, pestmix_half_rt):
    return match_run(pestmix_half_rt, library)


def test_a_run_with_some_scans_timed_draws_its_tic_without_the_untimed(half_rt_results, tmp_path):
    """Some scans with a time, some without: the TIC exists, so the HTML and PDF reports drew it
    and failed placing a component at time None (a traceback, no report). The timed components
    are marked; the TIC says how many were not."""
    import json

    from click.testing import CliRunner

    from nps_id.cli import cli

    results = half_rt_results
    untimed = sum(c["rt_min"] is None for c in results["components"])
    assert 0 < untimed < len(results["components"])
    source = tmp_path / "half-rt.match.json"
    source.write_text(json.dumps(results))
    for fmt in ("html", "pdf"):
        done = CliRunner().invoke(cli, ["report", str(source), "-f", fmt, "-o", str(tmp_path / f"r.{fmt}")])
        assert done.exit_code == 0, done.output
    html = (tmp_path / "r.html").read_text()
    assert f"{untimed} components without a retention time are not marked" in html


def test_rt_window_keeps_only_what_elutes_in_it_and_counts_the_groups_without_a_time(library, half_rt_results,
                                                                                     pestmix_half_rt):
    # --rt-window was ignored for LC-MS/MS runs: every group of the run was matched
    from nps_id.gcms.peaks import PeakParameters
    from nps_id.match.parameters import MatchParameters

    times = sorted(c["rt_min"] for c in half_rt_results["components"] if c["rt_min"] is not None)
    distinct = sorted(set(times))  # the window's edges midway between two times shown to 4 decimals
    low, high = ((distinct[k - 1] + distinct[k]) / 2 for k in (len(distinct) // 3, 2 * len(distinct) // 3))
    windowed = match_run(pestmix_half_rt, library,
                         MatchParameters(peaks=PeakParameters(rt_min_minutes=low, rt_max_minutes=high)))
    inside = [c for c in half_rt_results["components"] if c["rt_min"] is not None and low <= c["rt_min"] <= high]
    assert 0 < len(windowed["components"]) == len(inside) < len(times)
    for row in windowed["findings"] + windowed["unassigned_features"]:
        assert low <= row["rt_min"] <= high
    untimed = len(half_rt_results["components"]) - len(times)
    assert f"{untimed} MS/MS scan groups have no retention time: outside --rt-window (not matched)" in windowed["notes"]
    assert not any("--rt-window" in note for note in half_rt_results["notes"])


@pytest.fixture(scope="module")
def pestmix_one_untimed(tmp_path_factory):
    """The pesticide slice with the retention time of its first MS/MS scan blanked out (one group
    without a time), byte offsets kept."""
    import re

    raw = data_path(*PESTMIX).read_bytes()
    block = next(m for m in re.finditer(rb"<spectrum .*?</spectrum>", raw, re.S)
                 if b'name="ms level" value="2"' in m.group(0))
    rt = re.search(rb"<cvParam[^>]*MS:1000016[^>]*/>", block.group(0))
    start, end = block.start() + rt.start(), block.start() + rt.end()
    path = tmp_path_factory.mktemp("one-untimed") / "pestmix-one-untimed.mzML"
    path.write_bytes(raw[:start] + b" " * (end - start) + raw[end:])
    return path


def test_one_untimed_scan_group_is_counted_in_the_singular(library, pestmix_one_untimed):
    from nps_id.gcms.peaks import PeakParameters
    from nps_id.match.parameters import MatchParameters

    windowed = match_run(pestmix_one_untimed, library, MatchParameters(peaks=PeakParameters(rt_min_minutes=0,
                                                                                            rt_max_minutes=100)))
    assert "1 MS/MS scan group has no retention time: outside --rt-window (not matched)" in windowed["notes"]


def test_an_all_time_window_keeps_the_scan_group_without_a_time(library, pestmix_one_untimed):
    """``--rt-window -inf inf`` is the whole run: it dropped the untimed group as any window does
    (and wrote -Infinity into the results JSON); an infinite bound is now no bound."""
    import json

    from nps_id.gcms.peaks import PeakParameters
    from nps_id.match.parameters import MatchParameters

    whole = match_run(pestmix_one_untimed, library)
    endless = match_run(pestmix_one_untimed, library,
                        MatchParameters(peaks=PeakParameters(rt_min_minutes=-float("inf"), rt_max_minutes=float("inf"))))
    assert len(endless["components"]) == len(whole["components"])
    assert sum(c["rt_min"] is None for c in endless["components"]) == 1
    assert not any("--rt-window" in note for note in endless["notes"])
    assert "Infinity" not in json.dumps(endless["parameters"])
    opened = match_run(pestmix_one_untimed, library,
                       MatchParameters(peaks=PeakParameters(rt_min_minutes=0, rt_max_minutes=float("inf"))))
    assert len(opened["components"]) == len(whole["components"]) - 1  # a real bound: the untimed group is out


def test_the_reports_findings_table_shows_each_lc_findings_score(pestmix, tmp_path):
    # an LC-MS/MS finding has no MF or RMF: its row on page 1 showed no score at all (the terminal prints it)
    import json
    import shutil
    import subprocess

    from nps_id.report import prepare_document, render

    results = tmp_path / "pest.match.json"
    results.write_text(json.dumps(pestmix), encoding="utf-8")
    doc = prepare_document(results)
    html = render(doc, "html")[".html"].decode()
    table = html.split("<h2>Findings</h2>", 1)[1].split("</table>", 1)[0]
    assert "<th>Score</th><th>MF</th>" in table
    for f in doc["findings"]:
        assert f["mf"] is None and f["score"] is not None
        row = table.split(f'href="#finding-{f["index"]}"', 1)[1].split("</tr>", 1)[0]
        assert f'<td class="num">{f["score"]}</td><td class="num">\u2014</td>' in row, row
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    path = tmp_path / "pest.pdf"
    path.write_bytes(render(doc, "pdf")[".pdf"])
    first = subprocess.run(["pdftotext", "-layout", "-l", "1", str(path), "-"], capture_output=True, text=True,
                           check=True, timeout=60).stdout
    for f in doc["findings"]:
        assert f" {f['score']} " in " ".join(first.split()), f["name"]


def test_amino_acids_of_the_metabolite_run_are_no_early_warning_lead(metabolites):
    """L-phenylalanine (identified) and L-histidine (tentative) carried the group "Phenethylamines"
    and the EWA export listed both as NPS: the structure rule read an amino acid's chain as a
    phenethylamine's (taxonomy 2026.6: no group for an alpha-amino acid, nor an azole's ethylamine)."""
    from nps_id.report.document import build_report
    from nps_id.report.ewa import ewa_rows

    found = _by_name(metabolites)
    for name in ("l-phenylalanine", "l-histidine"):
        assert found[name]["suspected_group"] is None, name
    assert [row["substance"] for row in ewa_rows(build_report(metabolites, None))] == []


def test_the_absent_isomers_of_the_pesticide_runs_hits_are_compounds_not_in_the_library_not_new_substances(pestmix):
    # The PestMix slice's pesticide hits (Azinphos methyl, Fenamiphos: no NPS rule places them) read
    # "... or an isomer the evidence does not exclude (8 isomers, 8 not in the library), possibly a new
    # substance" in the report, and their limitations "the substance may be one of them, or a new
    # substance": the early-warning words for compounds nothing points to an NPS for (stop 35). (Its
    # unknowns of no group need the whole MassBank MS/MS library, which this subset is not: the LRCFS
    # card's and the ANDI run's unknown compounds are tested in tests/report.)
    from nps_id.report import render
    from nps_id.report.document import build_report
    from nps_id.report.present import isomers_open

    doc = build_report(pestmix)
    azinphos = next(f for f in doc["findings"] if f["name"] == "Azinphos methyl")
    assert azinphos["ewa"]["nps"] is None
    assert isomers_open(azinphos).endswith("not in the library), possibly a compound not in the library")
    # LC has no retention index: a standard's retention time on the same method is what is missing (stop 48)
    assert any(n.endswith("the substance may be one of them, or a compound not in the library, unless a reference "
                          "standard run on the same method excludes them.") for n in azinphos["limitations"])
    assert not any("retention index measured" in n for n in azinphos["limitations"])
    # the isomer rule's own text too (stop 36): Fenamiphos read "...; it may be a new substance; a reference
    # standard run at the same RT excludes them" -- in the results too until stop 37
    in_results = next(f for f in pestmix["findings"] if f["name"] == "Fenamiphos")
    assert "; it may be a compound not in the library; " in in_results["rule"]
    fenamiphos = next(f for f in doc["findings"] if f["name"] == "Fenamiphos")
    assert fenamiphos["rule_id"] == "isomer_not_excluded" and fenamiphos["ewa"]["nps"] is not True
    assert "; it may be a compound not in the library; a reference standard run at the same RT excludes them" \
        in fenamiphos["rule"]
    html = render(doc, "html")[".html"].decode()
    assert "possibly a new substance" not in html and "or a new substance," not in html
    assert "it may be a new substance" not in html


def test_a_blank_given_to_an_lc_run_is_said_not_to_be_subtracted(library, pestmix):
    # attack39b: the LC-MS/MS path ignored --blank silently while parameters.blank named it, so the
    # results read as blank-subtracted; blank subtraction works on GC-EI components only
    from nps_id.match.pipeline import prepare_blank
    from nps_id.match.parameters import MatchParameters

    blank = prepare_blank(data_path(*RAMS), MatchParameters())
    results = match_run(data_path(*PESTMIX), library, blank=blank)
    assert results["parameters"]["blank"]["file"] == "DDApos_2.mzML.gz"
    assert any("--blank DDApos_2.mzML.gz: not subtracted" in note for note in results["notes"])
    assert [f["name"] for f in results["findings"]] == [f["name"] for f in pestmix["findings"]]
    assert not any("--blank" in note for note in pestmix["notes"])


def test_a_gc_blank_given_to_an_lc_run_is_bad_input(library):
    """A GC-EI-MS blank for an LC-MS/MS run: bad input, as an LC blank of a GC run is (attack40a) -- the
    LC run said only "not subtracted" and went on (stop 40: the same rule either way round)."""
    from nps_id.errors import InputError
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.pipeline import prepare_blank

    blank = prepare_blank(data_path("gcms", "lrcfs", "220223001.mzML"), MatchParameters())
    with pytest.raises(InputError, match=r"--blank 220223001.mzML: acquired by GC-EI-MS, PestMix1.* by LC-MS/MS"):
        match_run(data_path(*PESTMIX), library, blank=blank)

"""A suspected new substance in the reports: its own section, and in the EWA export by its group,
never under the name or identifiers of the library compound it resembles (issue 18)."""
from __future__ import annotations

import csv
import io
import json

import pytest

from nps_id.chem.ewa_groups import load_taxonomy
from nps_id.report import render
from nps_id.report.document import build_report
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO, make_results


def _doc():
    results = make_results()
    (cathinone,) = [f for f in results["findings"] if f["verdict"] == "tentative"]
    cathinone.update(new_substance=True, suspected_group="Synthetic cathinones", suspected_group_probability=0.912,
                     estimated_mass=261,
                     closest_compounds=[{"name": "MPHP", "similarity": 0.91, "delta_mass": 14,
                                         "delta_mass_match": "CH2", "smiles": None}],
                     core_smiles="CN1CCCC1C(=O)c1ccccc1")
    return build_report(results, SAMPLE_INFO, now=FIXED_NOW), cathinone["name"], cathinone["inchikey"]


def test_new_substance_section_and_ewa_row_never_carry_the_analogues_name():
    doc, library_name, library_key = _doc()
    html = render(doc, "html")[".html"].decode()
    assert 'id="new-substances"' in html and "suspected new substance (Synthetic cathinones)" in html
    assert "CH2" in html and "<svg" in html.split('id="new-substances"')[1].split("<section")[0]
    rendered = render(doc, "ewa")
    rows = list(csv.DictReader(io.StringIO(rendered[".csv"].decode())))
    new = [r for r in rows if r["suspected_new_substance"] == "True"]
    assert [r["substance"] for r in new] == ["suspected new substance (Synthetic cathinones)"]
    assert new[0]["inchikey"] == new[0]["cas"] == new[0]["formula"] == ""
    assert new[0]["ewa_group"] == "Synthetic cathinones" and new[0]["estimated_nominal_mass"] == "261"
    assert new[0]["closest_known_compounds"] == "MPHP (CH2)"
    # how sure the group model was (stop 42): the last column, and in the report's section
    assert list(new[0])[-1] == "suspected_group_probability" and new[0]["suspected_group_probability"] == "0.912"
    section = html.split('id="new-substances"')[1].split("<section")[0]
    # with how often a group of that band was right, for its technique (a GC-EI-MS finding: the EI figures)
    assert ("Group model&#x27;s probability (0-1)</th><td>0.912 (GC-EI-MS, SWGDRUG compounds left out of the "
            "library: a group at 0.9-1 was right for 724 of 763)</td>") in section
    # the group is inferred (EI: by a learned model), a lead; it read "from its closest known compounds and ions"
    assert new[0]["identification_level"].endswith(
        "group inferred from its spectrum and closest known compounds, a lead to check, one technique")
    assert library_name not in {r["substance"] for r in rows}
    assert library_key not in rendered[".json"].decode().split('"substances"')[1].split('"excluded"')[0]
    assert json.loads(rendered[".json"])["substances"]


@pytest.mark.parametrize("group, filed, effect", [
    ("Other sedatives/hypnotics (barbiturates, Z-drugs, quinazolinones, carbamates)",
     ("Other substances", "Other sedatives/hypnotics (barbiturates, Z-drugs, quinazolinones, carbamates)"),
     "Sedatives/hypnotics"),
    ("Benzodiazepines", ("Other substances", "Benzodiazepines"), "Sedatives/hypnotics"),
    ("Synthetic cathinones", ("Synthetic cathinones", ""), "Stimulants"),
    ("Phenethylamines", ("Phenethylamines", ""), ""),  # stimulants or classic hallucinogens: the group does not say which
])
def test_a_suspected_new_substances_ewa_row_is_filed_and_has_the_effect_group_of_its_suspected_group(
        group, filed, effect):
    # the row's ewa_effect_group was empty for every suspected new substance: a new barbiturate's
    # read no "Sedatives/hypnotics" (stop 35); a suspected new benzodiazepine's ewa_group read
    # "Benzodiazepines" beside an identified etizolam's "Other substances" / "Benzodiazepines",
    # one class counted under two groups (stop 40); the LIMS row files it by the same ids as etizolam's
    doc, _, _ = _doc()
    (lead,) = [f for f in doc["findings"] if f.get("new_substance")]
    lead["suspected_group"] = group
    (row,) = [r for r in csv.DictReader(io.StringIO(render(doc, "ewa")[".csv"].decode()))
              if r["suspected_new_substance"] == "True"]
    assert (row["ewa_group"], row["ewa_subclass"], row["ewa_effect_group"]) == (*filed, effect)
    (lims,) = [r for r in csv.DictReader(io.StringIO(render(doc, "csv")[".csv"].decode())) if r["new_substance"] == "yes"]
    taxonomy = load_taxonomy()
    group_id = next(key for key, entry in taxonomy["groups"].items() if entry["label"] == filed[0])
    subclass_id = next((key for key, entry in taxonomy["subclasses"].items() if entry["label"] == filed[1]), "")
    assert (lims["ewa_group"], lims["ewa_subclass"]) == (group_id, subclass_id)


def test_a_new_substance_without_a_group_is_an_unknown_compound_not_a_suspected_new_substance():
    # "suspected new substance (group not determined)" read as a possible new psychoactive substance for
    # unknowns whose closest hits are pesticides or lipids (stop 35): only a group makes it one
    from nps_id.report.present import finding_label

    label = finding_label({"name": "Ethyl heptanoate", "new_substance": True, "suspected_group": None})
    assert label == "unknown compound (not in the library; no NPS group indicated)"
    label = finding_label({"name": "MPHP", "new_substance": True, "suspected_group": "Synthetic cathinones"})
    assert label == "suspected new substance (Synthetic cathinones)"


def test_only_a_new_substance_with_a_group_is_called_an_early_warning_lead():
    # an unexplained 4-ion background component (no group) is an unknown to examine, not an EWA lead
    doc, _, _ = _doc()
    (lead,) = [f for f in doc["findings"] if f.get("new_substance")]
    unknown = {**lead, "index": lead["index"] + 100, "suspected_group": None}
    doc["findings"].append(unknown)
    section = render(doc, "html")[".html"].decode().split('id="new-substances"')[1].split('<section')[0]
    assert section.startswith(">Suspected new substances and unknown compounds</h2>")
    assert "unknown compounds (no NPS group indicated, not necessarily psychoactive)" in section
    assert section.count("Early-warning lead</th><td>yes (exported to the EWA)") == 1
    assert section.count("Early-warning lead</th><td>no (no NPS group indicated: an unknown compound to examine)") == 1
    assert section.count("unknown compound (not in the library; no NPS group indicated)</h3>") == 1


def pdf_section(pdf: bytes, tmp_path, mode: str = "-layout") -> tuple[str, int]:
    """(text, images drawn) of the PDF pages holding the "Suspected new substances" section (headed
    "Unknown compounds (not in the library)" when none has a group; pdftotext, pdfimages; Debian
    poppler-utils). ``mode`` "-raw": the words in the order drawn -- a table row's cells together, where
    the layout reading, thrown by the draft's watermark across the table, gives them column by column."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("pdftotext") is None or shutil.which("pdfimages") is None:
        pytest.skip("pdftotext/pdfimages (Debian poppler-utils) are not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    pages = subprocess.run(["pdftotext", mode, str(path), "-"], capture_output=True, text=True, check=True,
                           timeout=60).stdout.split("\f")
    numbers = [n for n, text in enumerate(pages, start=1)
               if "Suspected new substances" in text or "Unknown compounds (not in the library)" in text]
    listed = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True,
                            timeout=60).stdout.splitlines()[2:]  # page, num, type (image / smask), ...
    images = sum(1 for line in listed if int(line.split()[0]) in numbers and line.split()[2] == "image")
    return " ".join(" ".join(pages[n - 1] for n in numbers).split()), images  # words, as a reader sees them


def test_the_pdf_has_the_suspected_new_substances_section_of_the_html(tmp_path):
    doc, library_name, _ = _doc()
    text, images = pdf_section(render(doc, "pdf")[".pdf"], tmp_path)
    assert "not necessarily psychoactive" in text
    assert "suspected new substance (Synthetic cathinones)" in text
    for shown in ("Estimated nominal mass: 261", "Suspected group: Synthetic cathinones",
                  "Early-warning lead: yes (exported to the EWA)", "Closest known compound", "CH2",
                  "Core structure the closest compounds share", "CN1CCCC1C(=O)c1ccccc1"):
        assert shown in text, shown
    raw, _ = pdf_section(render(doc, "pdf")[".pdf"], tmp_path, "-raw")
    assert "MPHP 0.910 14 CH2" in raw  # the closest compound: similarity, mass difference and its reading
    assert images == 1  # the core structure, drawn
    assert library_name not in text


def test_both_reports_say_what_the_estimated_mass_and_the_suspected_group_rest_on_and_how_sure(tmp_path):
    # "Estimated nominal mass 261" and "Suspected group: Synthetic cathinones" stood bare, read as a measured
    # molecular ion and a finding; both are inferred -- the group by a learned model -- and right only so often
    doc, _, _ = _doc()
    html = render(doc, "html")[".html"].decode().split('id="new-substances"')[1].split("<section")[0]
    pdf, _ = pdf_section(render(doc, "pdf")[".pdf"], tmp_path)
    for text in (" ".join(html.split()), pdf):
        assert "The estimated nominal mass is inferred, not measured" in text
        assert "The suspected group is a learned model's reading" in text
        assert "it was the compound's own group 87 % of the time" in text
        assert "probability beside a group is the model's confidence, not a measured rate" in text
        assert "A lead to check, not an identification: what checks it is a reference standard" in text
        # how (stop 44): the options that do it, named as `match` takes them
        for check in ("(--reference-standard)", "a second technique such as LC-MS/MS", "(--alkanes)"):
            assert check in text, check


def test_a_library_name_with_dollar_signs_is_printed_as_typed_not_as_mathtext(tmp_path):
    # names come from third-party MSP files: "$...$" must not be parsed as matplotlib mathtext
    # (an unknown command stopped the PDF and the HTML plots with a traceback)
    doc, _, _ = _doc()
    (lead,) = [f for f in doc["findings"] if f.get("new_substance")]
    lead["closest_compounds"][0]["name"] = lead["name"] = r"Salt $\bogus$ 5"  # the name: in the mirror plot
    text, _ = pdf_section(render(doc, "pdf")[".pdf"], tmp_path)
    assert r"Salt $\bogus$ 5" in text
    assert r"$\bogus$" in render(doc, "html")[".html"].decode()


def test_a_name_with_a_line_break_stays_on_its_row_of_the_pdf_table(tmp_path):
    doc, _, _ = _doc()
    (lead,) = [f for f in doc["findings"] if f.get("new_substance")]
    lead["closest_compounds"][0]["name"] = "MPHP\r\nhydrochloride"  # a line break would overprint the next row
    doc["status"] = "final"  # no DRAFT across the table: pdftotext's layout reading keeps a row a row
    text, _ = pdf_section(render(doc, "pdf")[".pdf"], tmp_path)
    assert "MPHP hydrochloride 0.910 14 CH2" in text


def test_the_component_that_gave_a_new_substance_is_labelled_by_its_group_not_the_library_name():
    # the components table and the TIC markers of the HTML report named it "finding #1 (Methyl Palmitate)"
    doc, library_name, _ = _doc()
    (lead,) = [f for f in doc["findings"] if f.get("new_substance")]
    (component,) = [c for c in doc["chromatograms"][0]["components"] if c.get("finding") == lead["index"]]
    assert component["label"] == "suspected new substance (Synthetic cathinones)"
    assert library_name not in component["note"]


def test_the_ewa_row_of_a_drug_whose_isomers_are_not_excluded_says_it_may_be_an_isomer_or_new():
    # LRCFS flubromazepam: "tentative library match, one technique" read as a weak flubromazepam,
    # not as "flubromazepam or a ring-position isomer no library holds" (issue 18: say both)
    results = make_results()
    (flubro,) = [f for f in results["findings"] if f["name"] == "Flubromazepam"]
    isomer = {"in_library": False, "inseparable_rate": 0.92, "move": "ring_position:ring", "name": None,
              "smiles": "O=C1CN=C(c2ccc(F)cc2)c2cc(Br)ccc2N1"}
    flubro.update(verdict="tentative", rule="isomer not excluded: ...", rule_id="isomer_not_excluded",
                  isomers_not_excluded=[isomer, isomer])
    (etizolam,) = [f for f in results["findings"] if f["name"] == "Etizolam"]
    etizolam.update(isomers_not_excluded=[{**isomer, "in_library": True}], criteria_met=[
        *etizolam["criteria_met"], "isomers excluded by the reference standard run 010.mzML (dRT +0.033 min)"])
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    rows = {r["substance"]: r for r in csv.DictReader(io.StringIO(render(doc, "ewa")[".csv"].decode()))}
    assert rows["Flubromazepam"]["identification_level"] == (
        "tentative library match, one technique: Flubromazepam or an isomer the evidence does not exclude "
        "(2 isomers, 2 not in the library), possibly a new substance")
    # once a reference standard run excludes them, the row says the match alone
    assert rows["Etizolam"]["identification_level"] == "library match, one technique"


def test_a_new_substance_page_says_its_identifiers_are_the_closest_library_entrys():
    # the finding page of a suspected new substance showed the library entry's formula, InChIKey and
    # CAS under "suspected new substance (...)" with no word that they are not the substance's
    doc, library_name, library_key = _doc()
    (lead,) = [f for f in doc["findings"] if f.get("new_substance")]
    html = render(doc, "html")[".html"].decode()
    page = html[html.index(f'id="finding-{lead["index"]}"'):]
    page = page[:page.index(library_key)]  # what a reader sees before the InChIKey
    assert f"those of the closest library entry, {library_name}" in page


def test_the_findings_table_flags_a_drug_whose_isomers_are_not_excluded_as_the_terminal_does():
    # page 1 read "Flubromazepam  tentative" where `nps-id match` prints "[isomer not excluded]"
    results = make_results()
    (flubro,) = [f for f in results["findings"] if f["name"] == "Flubromazepam"]
    flubro.update(verdict="tentative", rule_id="isomer_not_excluded", isomers_not_excluded=[
        {"in_library": False, "inseparable_rate": 0.92, "move": "ring_position:ring", "name": None, "smiles": "C"}])
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    html = render(doc, "html")[".html"].decode()
    table = html[html.index("<h2>Findings</h2>"):html.index("<h2>Findings</h2>") + 20000].split("</table>")[0]
    row = next(r for r in table.split("<tr") if "Flubromazepam" in r)
    assert "Flubromazepam or an isomer the evidence does not exclude (1 isomer, 1 not in the library), possibly a new " \
           "substance" in row


def test_the_lims_row_of_a_new_substance_carries_no_identifier_of_the_closest_compound():
    # its row read "suspected new substance" beside the CAS, InChIKey and formula of the library hit:
    # a LIMS keyed on CAS files it as that compound
    doc, library_name, library_key = _doc()
    rows = list(csv.DictReader(io.StringIO(render(doc, "csv")[".csv"].decode())))
    (new,) = [r for r in rows if r["new_substance"] == "yes"]
    assert new["substance"] == "suspected new substance (Synthetic cathinones)"
    assert new["inchikey"] == new["cas"] == new["formula"] == new["monoisotopic_mass"] == ""
    assert new["suspected_group"] == "Synthetic cathinones" and new["estimated_mass"] == "261"
    assert new["ewa_group"] == "synthetic_cathinones"  # its own group, as the EWA export files it, by the id other rows use
    assert new["library_entry"] == library_name  # the closest compound, in a column that says so
    known = next(r for r in rows if r["new_substance"] == "no" and r["inchikey"])
    assert known["library_entry"] == known["substance"]
    assert list(rows[0])[-7:] == ["new_substance", "suspected_group", "estimated_mass", "library_entry",
                                  "finding_number", "suspected_group_probability", "suspected_group_band_rate"]


def test_the_tic_labels_a_suspected_new_substance_by_its_group_not_the_library_name(lrcfs_results):
    # the card's TIC (HTML and PDF) marked component 1 "#1 Methyl Palmitate", its closest library hit
    from nps_id.report.plots import figure_svg, tic_figure

    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    (new,) = [f for f in doc["findings"] if f.get("new_substance")]
    svg = figure_svg(tic_figure(doc["chromatograms"][0], doc["findings"]))
    assert f"#{new['index'] + 1} unknown compound (not in the library; no NPS group indicated)" in svg
    assert new["name"] not in svg


def test_a_closest_hit_that_is_not_an_nps_is_labelled_as_the_hits_not_the_new_substances(tmp_path):
    """A suspected new substance whose closest hit is a local anaesthetic read, in the findings
    table and its page, "suspected new substance (...) | Other substances (not an NPS)": as if the
    new substance were known not to be one. The label belongs to the hit."""
    from nps_id.report.present import ewa_label
    from tests.report.test_pdf_tables import _pdf_pages

    results = make_results()
    (new,) = [f for f in results["findings"] if f["verdict"] == "tentative"]
    new.update(name="Lidocaine", inchikey="NNJVILVZKWQKPM-UHFFFAOYSA-N", smiles="CCN(CC)CC(=O)Nc1c(C)cccc1C",
               new_substance=True, suspected_group=None, estimated_mass=248, closest_compounds=[])
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    (lead,) = [f for f in doc["findings"] if f.get("new_substance")]
    assert lead["ewa"]["nps"] is False
    label = ewa_label(lead)
    assert label == "closest hit: Other substances (the hit is not an NPS)"
    html = render(doc, "html")[".html"].decode()
    assert html.count("(not an NPS)") == 2  # bupivacaine's row and page: that finding is the compound
    assert html.count(label) == 2  # the findings table and the finding's page
    (row,) = [r for r in csv.DictReader(io.StringIO(render(doc, "csv")[".csv"].decode())) if r["new_substance"] == "yes"]
    assert row["nps"] == "unknown"  # the LIMS row said "no": the hit's status
    assert row["ewa_group"] == row["ewa_subclass"] == ""  # no group determined: not the hit's "Other substances"
    pdf = " ".join(_pdf_pages(render(doc, "pdf")[".pdf"], tmp_path))
    assert pdf.count("(not an NPS)") == 2 and pdf.count("(the hit is not an NPS)") == 2


def test_a_closest_hit_of_no_ewa_group_is_not_read_as_a_hit_named_unknown(lrcfs_results, tmp_path):
    # LRCFS 220223030: the fatty-acid methyl ester component (5.17 min) is a suspected new substance
    # whose closest hit, methyl palmitate, the taxonomy leaves unclassified; its EWA group cell read
    # "closest hit: Unknown (not classified)" -- as if the closest hit were named "Unknown".
    from tests.report.test_pdf_tables import _pdf_pages

    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    (new,) = [f for f in doc["findings"] if f.get("new_substance")]
    assert new["ewa"]["group_label"] == "Unknown (not classified)"
    html = render(doc, "html")[".html"].decode()
    pdf = " ".join(_pdf_pages(render(doc, "pdf")[".pdf"], tmp_path))
    for text in (html, pdf):
        assert "closest hit: Unknown" not in text
        assert "closest hit: not classified" in text
    # and what placed it: "(by none)" (PDF), "EWA group decided by: none (-)" (HTML) read as if someone
    # had decided on no group; a classified finding keeps "(by structure)"
    assert new["ewa"]["source"] == "none"
    assert "none (-)" not in html and "(by none)" not in pdf
    assert "<td>no taxonomy rule (name or structure) places it</td>" in html
    assert "closest hit: not classified (no taxonomy rule (name or" in pdf  # the line wraps there
    assert "Benzodiazepines (by structure)" in pdf


def test_a_suspected_new_substance_does_not_list_its_closest_hits_isomers_as_inseparable(lrcfs_results):
    # LRCFS 220223030: the 5.17 min ester (MF 621 to methyl palmitate, molecular ion inconsistent) is
    # no methyl palmitate, yet its limitations read "Isomers not excluded (1; 1 not in the library):
    # their spectra cannot be told from this one" -- of a hit whose own spectrum it does not match
    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    (new,) = [f for f in doc["findings"] if f.get("new_substance")]
    assert new["isomers_not_excluded"]  # the hit's isomers are still in the results
    assert not any("cannot be told from this one" in n for n in new["limitations"])
    assert any(n.startswith("Unknown compound: no library compound explains the spectrum and nothing indicates an NPS "
                            "group") for n in new["limitations"])
    (flubro,) = [f for f in doc["findings"] if f["name"] == "Flubromazepam"]
    assert any(n.startswith("Isomers not excluded (8; 8 not in the library)") for n in flubro["limitations"])


def test_an_absent_isomer_of_a_cutting_agent_is_a_compound_not_in_the_library_not_a_new_substance(lrcfs_results):
    # LRCFS 220223030: benzocaine (a local anaesthetic, cutting agent) at a weak match with two
    # absent isomers read "Benzocaine or ... , possibly a new substance" -- the early-warning words
    # for a hit the taxonomy calls no NPS. An NPS hit's absent isomers keep them.
    from nps_id.report.present import isomers_open

    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    notes = {f["name"]: isomers_open(f) for f in doc["findings"]}
    (benzocaine,) = [f for f in doc["findings"] if f["name"] == "Benzocaine"]
    assert benzocaine["ewa"]["nps"] is False
    assert notes["Benzocaine"].endswith(", possibly a compound not in the library")
    nps = [name for name, note in notes.items() if note and "new substance" in note]
    assert nps and all(f["ewa"]["nps"] is not False for f in doc["findings"] if f["name"] in nps)


def test_every_identified_or_tentative_finding_of_a_real_run_is_exported_or_listed_as_excluded(andi_results):
    # the ANDI run's tentative suspected new substances of no group were in neither list of the EWA JSON:
    # a reviewer could not tell whether they were forgotten (docs/report-schema.md: "every other ... under
    # `excluded` with its reason")
    from nps_id.report.findings import finding_label

    results = andi_results
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    export = json.loads(render(doc, "ewa")[".json"])
    exported = {row["substance"] for row in export["substances"]}
    excluded = {row["substance"]: row["reason"] for row in export["excluded"]}
    reported = [f for f in results["findings"] if f["verdict"] in ("identified", "tentative")]
    unknowns = [f for f in reported if f.get("new_substance") and not f.get("suspected_group")]
    assert unknowns
    for f in reported:
        assert finding_label(f) in exported | set(excluded), finding_label(f)
    # each entry says which finding it is: the unknowns' entries read alike otherwise
    by_index = {f["index"]: f for f in doc["findings"]}
    for entry in export["excluded"]:
        assert by_index[entry["finding"]]["rt_min"] == entry["rt_min"]
        assert finding_label(by_index[entry["finding"]]) == entry["substance"]
        for seen in entry["findings"]:  # and each of its findings, with its RT and verdict
            f = by_index[seen["finding"]]
            assert (finding_label(f), f["rt_min"], f["verdict"]) == (entry["substance"], seen["rt_min"], seen["verdict"])
    assert len({e["finding"] for e in export["excluded"]}) == len(export["excluded"]) > len(unknowns)
    # one entry per substance, as the export's rows: p-cymene's seven peaks made seven entries; an unknown
    # of no group stays one entry per finding (two unknowns are not known to be one substance)
    names = [e["substance"] for e in export["excluded"]]
    (cymene,) = [e for e in export["excluded"] if e["substance"] == "p-Cymene"]
    assert len(cymene["findings"]) == sum(finding_label(f) == "p-Cymene" for f in reported) >= 7
    assert len(set(names) - {finding_label(unknowns[0])}) == len(names) - names.count(finding_label(unknowns[0]))
    assert names.count(finding_label(unknowns[0])) == len(unknowns)
    assert sorted(s["finding"] for e in export["excluded"] for s in e["findings"]) == sorted(
        f["index"] for f in doc["findings"]
        if f["verdict"] in ("identified", "tentative") and finding_label(f) not in exported)
    assert excluded[finding_label(unknowns[0])] == (
        "unknown compound (not in the library; no NPS group indicated) is not exported: nothing indicates an NPS "
        "group, so it is an unknown compound to examine, not an early-warning lead.")
    # a solvent the taxonomy does not classify: no advice to export it (it read "add a laboratory override ... to
    # export it")
    assert excluded["Toluene"] == ("Toluene is not exported: the EWA taxonomy gives it no NPS group (if it is an NPS, "
                                   "a laboratory override, --ewa-overrides, exports it).")


def test_a_results_file_calling_a_suspected_new_substance_identified_is_refused(lrcfs_results, tmp_path):
    # A hand-edited (or corrupted) results file: LRCFS 220223030's unexplained component made a
    # suspected new substance of a group *and* `identified`. The EWA export listed it with verdict
    # "identified" and "not identified: ... (library search identified ...)"; a new substance is
    # never the library's compound, so the report refuses it (exit 3, one line).
    from click.testing import CliRunner

    from nps_id.cli import cli

    results, _ = lrcfs_results["220223030"]
    hostile = json.loads(json.dumps(results))
    lead = next(f for f in hostile["findings"] if f["new_substance"])
    lead.update(suspected_group="Synthetic cathinones", verdict="identified", criteria_failed=[])
    path = tmp_path / "hostile.match.json"
    path.write_text(json.dumps(hostile), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(path), "-f", "ewa", "--allow-draft", "-o", str(tmp_path / "ewa.json")])
    assert result.exit_code == 3, result.output
    assert "new_substance" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.glob("ewa.*"))
    lead.update(verdict="tentative")  # the same lead as the pipeline writes it is exported
    path.write_text(json.dumps(hostile), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(path), "-f", "ewa", "--allow-draft", "-o", str(tmp_path / "ewa.json")])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "ewa.json").read_text(encoding="utf-8"))["substances"]
    assert [r["verdict"] for r in rows if r["suspected_new_substance"]] == ["tentative"]


def test_the_andi_runs_dimethylnaphthalenes_are_no_suspected_barbiturates(andi_results, swgdrug_library):
    # Two components at 22.4 and 22.8 min (M+ 156 base peak, 141, 155, 152, 128: C12H12, alkylnaphthalenes;
    # the closest SWGDRUG compounds barbital, probarbital, pentobarbital and 2-ethylnaphthalene) were
    # exported to the EWA as suspected new barbiturates: barbital's McLafferty ion C6H8N2O3+ is m/z 156
    # and its M-15 141. Beyond its molecular-ion cluster the unknown shares nothing with them
    # (docs/match.md "No drug group from the molecular ion alone"); with that rule off they are named
    # barbiturates again (since stop 41's averaged trees, the first of the two: the second stays below 0.5).
    from nps_id.library import Library
    from nps_id.match.assess import assess_search
    from nps_id.match.verdict import VerdictThresholds
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference
    from nps_id.spectrum import Spectrum

    sedatives = "Other sedatives/hypnotics (barbiturates, Z-drugs, quinazolinones, carbamates)"
    leads = [f for f in andi_results["findings"] if 22.3 < f["rt_min"] < 22.9]
    assert len(leads) == 2
    for f in leads:
        assert f["new_substance"] and f["suspected_group"] is None
        assert max(zip(f["spectrum"]["intensity"], f["spectrum"]["mz"]))[1] == 156
    export = json.loads(render(build_report(andi_results, SAMPLE_INFO, now=FIXED_NOW), "ewa")[".json"])
    assert sedatives not in {row["ewa_group"] for row in export["substances"]}
    queries = [Spectrum(f["spectrum"]["mz"], f["spectrum"]["intensity"], {"ms_level": 1}) for f in leads]
    with Library.open(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    hits = search(queries, reference, SearchSettings(top_k=20))
    off = assess_search(queries, hits, reference, analog=False, thresholds=VerdictThresholds(group_beyond_molecular_ion=0))
    on = assess_search(queries, hits, reference, analog=False)
    assert sedatives in {off[q].suspected_group for q in range(2)}
    assert [on[q].suspected_group for q in range(2)] == [None, None]


def test_a_cocaine_runs_alkaloids_and_impurities_are_not_exported_as_nps(swgdrug_library):
    # gcms.jdx, a cocaine sample: its EWA export listed anhydroecgonine methyl ester (the smoking
    # pyrolysis product), methyl ecgonine TMS (a hydrolysis product, derivatized), tropacocaine,
    # cis-cinnamoylcocaine and 3',4',5'-trimethoxycocaine (coca alkaloids) as NPS, and an unknown
    # among them as a suspected new "other stimulant". They are cocaine's own chemistry: excluded as
    # not NPS, like cocaine itself (taxonomy 2026.5); no early-warning lead is left.
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.pipeline import match_files
    from tests.conftest import data_path

    ((_, results),) = list(match_files([data_path("gcms", "jcamp", "gcms.jdx")], swgdrug_library, MatchParameters()))
    export = json.loads(render(build_report(results, SAMPLE_INFO, now=FIXED_NOW), "ewa")[".json"])
    assert export["substances"] == []
    excluded = {row["substance"]: row["reason"] for row in export["excluded"]}
    for name in ("Anhydroecgonine methyl ester", "Methyl Ecgonine TMS Derivative", "Tropacocaine",
                 "cis-Cinnamoylcocaine", "3', 4', 5'-Trimethoxycocaine", "Cocaine"):
        assert "not a new psychoactive substance" in excluded[name], (name, excluded[name])
    (unknown,) = [f for f in results["findings"] if f["new_substance"] and 4.2 < f["rt_min"] < 4.4]
    assert unknown["suspected_group"] is None


def test_a_report_without_sample_information_says_the_reference_standard_run_was_not_given(lrcfs_results):
    # LRCFS 220223030 reported without a sample TOML: every finding read "Reference standard run: unknown",
    # as if a record had been looked at and left it open -- none was named at all (stop 37). The field
    # keeps its documented value (yes / no / unknown: the EWA and LIMS exports' contract).
    import copy

    from nps_id.report.pdf import finding_fields

    results, _ = lrcfs_results["220223030"]
    bare = build_report(results, None, now=FIXED_NOW)
    assert {f["reference_standard_run"] for f in bare["findings"]} == {"unknown"}
    html = render(bare, "html")[".html"].decode()
    assert "<th>Reference standard run</th><td>not given (the sample information names no reference standard run)" in html
    assert "<th>Reference standard run</th><td>unknown" not in html
    (etizolam,) = [f for f in bare["findings"] if f["name"] == "Etizolam"]
    assert dict(finding_fields(etizolam, stated=False))["Reference standard run"].startswith("not given")
    # a TOML that names the runs: yes / no as before
    named = build_report(results, copy.deepcopy(SAMPLE_INFO), now=FIXED_NOW)
    html = render(named, "html")[".html"].decode()
    assert "not given (the sample" not in html and "<th>Reference standard run</th><td>yes" in html


def test_an_lc_msms_findings_group_probability_does_not_carry_the_ei_rates():
    """Until stop 43 the report and the EWA column's text gave every group model's probability the EI (SWGDRUG)
    band rates; the MS/MS model's groups on the development data are too few (8) to rate by band."""
    from nps_id.report.present import NEW_SUBSTANCES_NOTE, group_probability_text

    lc = {"precursor_mz": 262.18, "measured_mz": 262.1802}
    shown = group_probability_text({"suspected_group": "Synthetic cathinones", "suspected_group_probability": 0.95,
                                    "lc": lc})
    assert shown.startswith("0.950 (LC-MS/MS: too few groups") and "SWGDRUG" not in shown and "5 of 8" in shown
    assert "LC-MS/MS the development data hold too few of its groups" in NEW_SUBSTANCES_NOTE


def test_a_group_probability_below_the_models_floor_is_given_no_band_rate():
    """A results file may hold a probability neither model names a group at (the schema allows 0-1): its
    report read "0.300 (... a group at 0.52-0.6 was right for 40 of 66)", a rate no band measured."""
    from nps_id.report.present import group_probability_text

    results = make_results()
    (finding,) = [f for f in results["findings"] if f["verdict"] == "tentative"]
    finding.update(new_substance=True, suspected_group="Synthetic cathinones", suspected_group_probability=0.3)
    html = render(build_report(results, SAMPLE_INFO, now=FIXED_NOW), "html")[".html"].decode()
    section = html.split('id="new-substances"')[1].split("<section")[0]
    assert "<td>0.300 (below 0.56, where the model names no group: no rate measured" in section
    assert "24 of 41" not in section
    lc = {"precursor_mz": 262.18}
    shown = group_probability_text({"suspected_group": "X", "suspected_group_probability": 0.55, "lc": lc})
    assert shown.startswith("0.550 (below 0.6,") and "5 of 8" not in shown
    from nps_id.match.group_model import shipped_group_model
    from nps_id.report.present import EI_GROUP_BANDS, MS2_GROUP_FLOOR

    # the floors are the shipped models' (a retrained model with another one must move them)
    assert (EI_GROUP_BANDS[0][0], MS2_GROUP_FLOOR) == tuple(shipped_group_model(k).min_probability for k in ("ei", "ms2"))
    empty = group_probability_text({"suspected_group": "X", "suspected_group_probability": 0.95, "lc": {}})
    assert "LC-MS/MS" in empty and "SWGDRUG" not in empty  # evidence emptied by hand: still an LC-MS/MS finding

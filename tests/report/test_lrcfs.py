"""Reports on the real LRCFS runs (novel benzodiazepines in seized prison samples) matched
against SWGDRUG 3.4: schema, EWA export of card FL22/009-2, parameter hash, reproducibility."""
from __future__ import annotations

import copy
import csv
import io
import json

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.errors import LibraryError
from nps_id.library import Library
from nps_id.report import render
from nps_id.report.document import build_report
from nps_id.report.jsondoc import parameters_sha256, validate_report
from tests.report.conftest import FIXED_NOW, LRCFS_RUNS, make_results

CARD = {
    "laboratory": {"name": "LRCFS (data: doi 10.5281/zenodo.8046760)", "country": "GB"},
    "item": {"lab_sample_id": "FL22/009-2", "nature": "seizure", "physical_form": "paper card",
             "country_of_seizure": "GB", "date_received": "2022-02-23"},
    "report": {"report_id": "7b0c9a8e-61a2-4a57-b1c3-0d5e2f4a9b10", "issued_at": "2026-01-15T10:00:00+00:00"},
}


@pytest.mark.parametrize("run", LRCFS_RUNS)
def test_every_lrcfs_report_validates(lrcfs_results, run):
    results, _ = lrcfs_results[run]
    doc = build_report(results, None, now=FIXED_NOW)
    validate_report(doc)
    assert doc["acquisitions"][0]["file"] == f"{run}.mzML"
    assert doc["provenance"]["libraries"][0]["n_spectra"] == 2988  # SWGDRUG 3.4 record count
    names = {f["name"] for f in doc["findings"] if f["verdict"] == "identified"}
    assert "Bupivacaine" in names  # the internal standard is in every run
    # mirror plots have their reference, read from the library and equal to its record
    with Library.open(results["library"]["path"]) as lib:
        for f in doc["findings"]:
            reference = lib.spectrum(f["library_row"])
            assert f["reference_spectrum"]["mz"] == [float(m) for m in reference.mz]
            assert lib.spectrum(f["library_row"]).metadata["name"] == f["name"]


def test_card_ewa_export_lists_the_benzodiazepines_not_bupivacaine(lrcfs_results):
    results, _ = lrcfs_results["220223030"]
    for info in (CARD, {**CARD, "item": {**CARD["item"], "internal_standards": ["Bupivacaine"]}}):
        doc = build_report(results, info, now=FIXED_NOW)
        out = render(doc, "ewa")
        rows = list(csv.DictReader(io.StringIO(out[".csv"].decode("utf-8"))))
        assert sorted(r["substance"] for r in rows) == ["Etizolam", "Flubromazepam"]
        assert {r["ewa_subclass"] for r in rows} == {"Benzodiazepines"}
        assert {(r["country"], r["year"], r["sample_nature"]) for r in rows} == {("GB", "2022", "seizure")}
        excluded = {e["substance"]: e["reason"] for e in json.loads(out[".json"])["excluded"]}
        assert "Bupivacaine" in excluded


def test_ewa_excluded_and_lims_rows_carry_the_number_the_report_shows(lrcfs_results):
    """`finding` counts from 0 (a contract); `finding_number` is the report's "#N" beside it."""
    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, CARD, now=FIXED_NOW)
    html = render(doc, "html")[".html"].decode("utf-8")
    (entry,) = [e for e in json.loads(render(doc, "ewa")[".json"])["excluded"] if e["substance"] == "Bupivacaine"]
    assert entry["finding_number"] == entry["finding"] + 1 == entry["findings"][0]["finding_number"]
    assert f"#{entry['finding_number']} Bupivacaine" in html
    rows = list(csv.DictReader(io.StringIO(render(doc, "csv")[".csv"].decode("utf-8"))))
    assert [int(r["finding_number"]) for r in rows] == [int(r["finding"]) + 1 for r in rows]
    for row in rows:
        assert f"#{row['finding_number']} {row['substance']}" in html.replace("&#x27;", "'")


def test_blank_exports_nothing(lrcfs_results):
    results, _ = lrcfs_results["220223001"]
    doc = build_report(results, CARD, now=FIXED_NOW)
    assert render(doc, "ewa")[".csv"].decode("utf-8").count("\n") == 1  # header only


def test_changing_any_real_parameter_changes_the_hash(lrcfs_results):
    results, _ = lrcfs_results["220223030"]
    params = results["parameters"]
    base = parameters_sha256(params)
    assert build_report(results, None, now=FIXED_NOW)["provenance"]["parameters_sha256"] == base
    count = 0
    for section, values in params.items():
        if not isinstance(values, dict):
            changed = copy.deepcopy(params)
            changed[section] = (not values) if isinstance(values, bool) else (
                (values + 1) if isinstance(values, (int, float)) else f"{values} ")
            assert parameters_sha256(changed) != base, section
            count += 1
            continue
        for key, value in values.items():
            if isinstance(value, (dict, list)) or value is None:
                continue
            changed = copy.deepcopy(params)
            changed[section][key] = (not value) if isinstance(value, bool) else (
                (value + 1) if isinstance(value, (int, float)) else f"{value} ")
            assert parameters_sha256(changed) != base, (section, key)
            count += 1
    assert count >= 20  # the match command has that many settings


def test_library_changed_since_the_match_is_refused(lrcfs_results):
    results, _ = lrcfs_results["220223030"]
    tampered = copy.deepcopy(results)
    tampered["library"]["sha256"] = "0" * 64
    with pytest.raises(LibraryError, match="differs from the library the results were matched against"):
        build_report(tampered, None, now=FIXED_NOW)


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_report_and_rerender_is_identical(lrcfs_results, tmp_path):
    _, match_json = lrcfs_results["220223030"]
    first, saved = tmp_path / "first.html", tmp_path / "030.report.json"
    result = _run("report", match_json, "-f", "html", "-o", first, "--json", saved,
                  "--internal-standard", "Bupivacaine", "--country", "GB", "--nature", "seizure")
    assert result.exit_code == 0, result.output
    # as `match`: the result on stdout, where the files went on stderr ("wrote" was on stdout)
    assert result.stdout.startswith("report ") and "wrote" not in result.stdout
    assert result.stderr.splitlines() == [f"wrote {first}", f"wrote {saved}"]
    second = tmp_path / "second.html"
    assert _run("report", saved, "-f", "html", "-o", second).exit_code == 0
    assert second.read_bytes() == first.read_bytes()
    # the card's EWA export from the saved report: the two benzodiazepines only
    assert _run("report", saved, "-f", "ewa", "-o", tmp_path / "ewa.csv", "--allow-draft").exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "ewa.csv").read_text(encoding="utf-8"))))
    assert sorted(r["substance"] for r in rows) == ["Etizolam", "Flubromazepam"]
    # a saved report takes no new details: a changed report is an amended one
    result = CliRunner().invoke(cli, ["report", str(saved), "-o", str(tmp_path / "x.html"), "--analyst", "B"])
    assert result.exit_code == 3 and "rendered as it is" in result.output


def test_cli_library_changed_since_the_match_exits_4(swgdrug_library, tmp_path):
    results = make_results()
    for f in results["findings"]:
        del f["reference_spectrum"]
    results["library"]["path"] = str(swgdrug_library)  # a real library, but not the one matched
    path = tmp_path / "r.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(path), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 4 and "differs from the library" in result.output


def test_library_synonyms_decide_the_group(swgdrug_library):
    # "DOET" and "Benzedrone" say nothing by themselves; their SWGDRUG synonyms
    # ("2,5-Dimethoxy-4-ethylamphetamine", "4-methyl-N-benzylcathinone") do.
    with Library.open(swgdrug_library) as lib:
        names = [str(n) for n in lib.column("name")]
        info = {"name": "SWGDRUG", "release": "3.4", "sha256": lib.sha256, "n_spectra": lib.n_spectra,
                "path": str(swgdrug_library)}
    results = make_results()
    results["library"] = info
    results["findings"] = results["findings"][1:3]
    for finding, name in zip(results["findings"], ("DOET", "Benzedrone")):
        finding.update(name=name, library_row=names.index(name), inchikey=None)
        del finding["reference_spectrum"]
    doc = build_report(results, None, now=FIXED_NOW)
    # the library now carries verified structures for these (issue 14), which decide first
    assert [f["ewa"]["group"] for f in doc["findings"]] == ["phenethylamines", "synthetic_cathinones"]
    assert all(f["reference_spectrum"]["mz"] for f in doc["findings"])
    assert doc["provenance"]["reference_spectra"].startswith("library swgdrug.h5")


def test_a_finding_beyond_the_library_is_one_line_exit_3(lrcfs_results, tmp_path):
    results, _ = lrcfs_results["220223030"]
    edited = json.loads(json.dumps(results))
    edited["findings"][0]["library_row"] = 999999
    path = tmp_path / "r.json"
    path.write_text(json.dumps(edited), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(path), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 3 and "library row 999999" in result.stderr


def test_card_report_draws_the_structure_of_each_finding_that_has_one(lrcfs_results):
    """The report of card FL22/009-2 against SWGDRUG (whose build verified structures for its
    records from the project's structure table and names) draws the structure of each finding that
    has one, inline SVG with its source, and none for a finding without."""
    from html import escape as html_escape

    from nps_id.report.present import structure_caption

    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, CARD, now=FIXED_NOW)
    drawn = {f["name"] for f in doc["findings"] if f["smiles"]}
    assert {"Etizolam", "Flubromazepam", "Bupivacaine"} <= drawn
    html = render(doc, "html")[".html"].decode("utf-8")
    for f in doc["findings"]:
        section = html[html.index(f'id="finding-{f["index"]}"'):]
        section = section[:section.index("</section>")]
        assert ('<figure class="structure"><svg' in section) == bool(f["smiles"]), f["name"]
        if f["smiles"]:  # with where the structure came from
            assert f["structure_source"] and html_escape(structure_caption(f)) in section, f["name"]


def test_a_hand_edited_huge_structure_is_not_drawn(lrcfs_results, tmp_path):
    """A results file whose finding claims a 20,000-atom structure (hand-edited, or matched against a
    crafted library): RDKit's drawing of it kept `report` busy more than 5 minutes (2,000 atoms:
    35 s, 1 MB of SVG). It is not drawn; the other findings' structures are."""
    import time

    results, _ = lrcfs_results["220223030"]
    edited = copy.deepcopy(results)
    (etizolam,) = [f for f in edited["findings"] if f["name"] == "Etizolam"]
    etizolam["smiles"] = "C" * 20_000
    path = tmp_path / "edited.match.json"
    path.write_text(json.dumps(edited), encoding="utf-8")
    started = time.perf_counter()
    result = _run("report", path, "-f", "html", "-o", tmp_path / "edited.html")
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 60
    html = (tmp_path / "edited.html").read_text(encoding="utf-8")
    sections = [part[:part.index("</section>")] for part in html.split('<section class="finding"')[1:]]
    drawn = {name for name in ("Etizolam", "Flubromazepam", "Bupivacaine") for section in sections
             if name in section[:section.index("</h2>")] and '<figure class="structure"><svg' in section}
    assert drawn == {"Flubromazepam", "Bupivacaine"}


def test_card_report_names_each_library_entry_by_its_comment_cas_and_systematic_name(lrcfs_results):
    # What SWGDRUG itself says of the entry a finding names, in the report and in the EWA export.
    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, CARD, now=FIXED_NOW)
    (etizolam,) = [f for f in doc["findings"] if f["name"] == "Etizolam"]
    assert etizolam["cas"] == "40054-69-1"
    assert etizolam["library_comment"].startswith("ENFSI / SKL, Sweden; confirmed by NMR")
    assert etizolam["iupac_name"].startswith("4-(2-chlorophenyl)-2-ethyl-9-methyl-6H-thieno")
    html = render(doc, "html")[".html"].decode("utf-8")
    section = html[html.index(f'id="finding-{etizolam["index"]}"'):]
    for label, value in (("CAS", "40054-69-1"), ("Library entry comment", "ENFSI / SKL, Sweden"),
                         ("IUPAC name (library synonym", "4-(2-chlorophenyl)-2-ethyl-9-methyl-6H-thieno")):
        assert label in section and value in section, label
    rows = {r["substance"]: r for r in csv.DictReader(io.StringIO(render(doc, "ewa")[".csv"].decode("utf-8")))}
    assert rows["Etizolam"]["iupac_name"] == etizolam["iupac_name"] and rows["Etizolam"]["cas"] == "40054-69-1"


def test_each_finding_shows_the_raw_apex_scan_beside_the_deconvoluted_spectrum(lrcfs_results, tmp_path):
    from nps_id.report.present import finding_label
    from tests.report.test_render import _pdf_pages

    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, CARD, now=FIXED_NOW)
    html = render(doc, "html")[".html"].decode("utf-8")
    texts, _ = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    for f in doc["findings"]:
        d = f["deconvolution"]
        assert f["apex_spectrum"]["mz"] and d["model_mz"] and d["scan_range"] and d["purity"] is not None
        section = html[html.index(f'id="finding-{f["index"]}"'):].split("</section>")[0]
        figure = section[section.index('<figure class="apex">'):]
        assert figure.index("<svg") < figure.index("</figure>") and "raw scan at the apex" in figure
        assert f"model ion m/z {d['model_mz']}" in figure
        for label in ("Model ion (m/z)", "Scan range", "Purity (share of the TIC at the apex)"):
            assert label in section, label
        page = next(p for p in (" ".join(t.split()) for t in texts) if f"#{f['index'] + 1} {finding_label(f)}" in p)
        assert f"Deconvolution: Model ion (m/z) {d['model_mz']}; Apex scan {d['scan']}; Scan range" in page
        assert "raw scan at the apex" in page and "deconvoluted (extracted)" in page


def test_the_card_pdf_shows_its_suspected_new_substance_with_the_closest_compounds(lrcfs_results, tmp_path):
    # the card's 4-ion fatty-acid ester component: no library compound explains it, no group
    from nps_id.report.present import display_number
    from tests.report.test_new_substance_report import pdf_section

    results, _ = lrcfs_results["220223030"]
    (new,) = [f for f in results["findings"] if f.get("new_substance")]
    assert new["closest_compounds"] and new["core_smiles"]
    text, images = pdf_section(render(build_report(results, CARD, now=FIXED_NOW), "pdf")[".pdf"], tmp_path)
    assert "Unknown compounds (not in the library)" in text and "Suspected new substances" not in text
    assert "unknown compound (not in the library; no NPS group indicated)" in text
    assert f"Estimated nominal mass: {new['estimated_mass']}" in text
    assert "Early-warning lead: no (no NPS group indicated: an unknown compound to examine)" in text
    for closest in new["closest_compounds"]:
        row = f"{closest['name']} {closest['similarity']:.3f} {display_number(closest['delta_mass'])}"
        assert row in text, row
    assert new["core_smiles"] in text and images == 1


def test_the_card_new_substances_core_heavier_than_its_estimated_mass_says_both_cannot_hold(lrcfs_results, tmp_path):
    # the FAME at 5.17 min: its closest compounds (longer methyl esters) share a C13O2 core, 188 u
    # of heavy atoms alone, above the estimated mass 130 -- the report drew that core without a word
    from nps_id.report.present import core_atoms_mass
    from tests.report.test_new_substance_report import pdf_section

    results, _ = lrcfs_results["220223030"]
    (new,) = [f for f in results["findings"] if f.get("new_substance")]
    weight = core_atoms_mass(new["core_smiles"])
    assert weight is not None and weight > new["estimated_mass"]
    warning = f"its atoms alone weigh {weight} u, more than the estimated nominal mass {new['estimated_mass']}"
    html = render(build_report(results, CARD, now=FIXED_NOW), "html")[".html"].decode()
    assert warning in html
    text, _ = pdf_section(render(build_report(results, CARD, now=FIXED_NOW), "pdf")[".pdf"], tmp_path)
    # the draft's watermark letters (D R A F T) are text too and land between lines where the layout puts them
    assert warning in " ".join(word for word in text.split() if word not in set("DRAFT"))


def test_the_card_fatty_acid_ester_gets_no_mass_below_an_ion_it_shows(lrcfs_results):
    # the FAME at 5.17 min, four ions: the McLafferty ion 74 (base peak) and 87 at 67 %; 87 is no
    # molecular ion (13 u above the base peak), so 74 was taken as M+ and the estimate claimed
    # mass 74 -- lighter than the 87 the spectrum shows (docs/match.md, estimated mass)
    results, _ = lrcfs_results["220223030"]
    (fame,) = [f for f in results["findings"] if abs(f["rt_min"] - 5.17) < 0.02]
    ions = dict(zip(fame["spectrum"]["mz"], fame["spectrum"]["intensity"]))
    assert max(ions, key=ions.get) == 74 and ions[87] > 0.6 * ions[74]
    assert fame["new_substance"] and fame["estimated_mass"] != 74
    assert fame["estimated_mass"] is None or fame["estimated_mass"] > 87
    # spectra showing their molecular ion keep their estimate
    masses = {f["name"]: f["estimated_mass"] for f in results["findings"]}
    assert masses["Flubromazepam"] == 332 and masses["Etizolam"] == 342 and masses["Benzocaine"] == 165


def test_every_score_column_of_the_card_report_names_its_scale(lrcfs_results, tmp_path):
    # a reviewer signing the report must not guess whether MF 846 is out of 1,000, nor why the closest
    # compounds' Similarity reads 0.622 where the library hits' reads 621
    import shutil
    import subprocess

    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, CARD, now=FIXED_NOW)
    html = render(doc, "html")[".html"].decode()
    findings_table = html.split("<h2>Findings</h2>", 1)[1].split("<h2", 1)[0]
    assert "MF / RMF: EI match factor and reverse match factor, 0\u2013999" in findings_table
    assert "Gap: the hit&#x27;s score minus that of the best different compound, on the same 0\u2013999 scale" in findings_table
    sections = html.split('<section class="finding"')[1:]
    assert len(sections) == len(results["findings"])
    for section in sections:
        hits = section.split("<h3>Library hits</h3>", 1)[1]
        assert "Score: the ranking score, 0\u2013999" in hits and "Similarity: the spectral score alone, 0\u2013999" in hits
    assert "<th>Similarity (0\u20131)</th>" in html.split('id="new-substances"', 1)[1].split("<section", 1)[0]
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    path = tmp_path / "card.pdf"
    path.write_bytes(render(doc, "pdf")[".pdf"])
    pages = [" ".join(page.split()) for page in subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True, timeout=60).stdout.split("\f")]
    # page 1, under the findings table: its scores' scales and those of the finding pages' hit tables
    assert "MF / RMF: EI match factor and reverse match factor, 0\u2013999" in pages[0]
    assert "Score: the ranking score, 0\u2013999 (EI: the match factor" in pages[0]


def test_the_card_reports_conclude_on_its_suspected_new_substance_not_on_the_closest_library_entry(lrcfs_results,
                                                                                                    tmp_path):
    # the conclusion read "... no conclusion about Methyl Palmitate", as if methyl palmitate had been looked for
    from tests.report.test_render import _pdf_pages

    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, CARD, now=FIXED_NOW)
    (new,) = [f for f in doc["findings"] if f.get("new_substance")]
    # of no group: an unknown compound, not a suspected new (psychoactive) substance (stop 35)
    said = ("GC-EI-MS: an unknown compound (not in the library; no NPS group indicated: an unknown to examine), not "
            f"identified; closest library entry, for orientation only: {new['name']}.")
    html = render(doc, "html")[".html"].decode("utf-8")
    section = html[html.index(f'id="finding-{new["index"]}"'):].split("</section>")[0]
    assert f'<p class="conclusion">{said}</p>' in section
    assert "no conclusion about" not in html
    texts, _ = _pdf_pages(render(doc, "pdf")[".pdf"], tmp_path)
    page = next(p for p in (" ".join(t.split()) for t in texts) if f"#{new['index'] + 1} unknown compound" in p)
    assert said in page


def test_match_internal_standard_is_never_an_ewa_lead(swgdrug_library, tmp_path):
    """docs/match.md: a `match --internal-standard` finding (``role: "internal_standard"``) is never
    treated as a constituent by the reports or the EWA export. A laboratory adding etizolam to every
    vial of card FL22/009-2 gets only flubromazepam exported; etizolam is excluded as the internal
    standard and marked so in the report (it was exported as an NPS, the flag read from a key the
    results never hold)."""
    from tests.conftest import data_path

    run = data_path("gcms", "lrcfs", "220223030.mzML")
    result = _run("match", run, "-l", swgdrug_library, "-o", tmp_path, "--internal-standard", "Etizolam@10.27",
                  "--report", "ewa", "--report", "json")
    assert result.exit_code == 0, result.output
    ewa = json.loads((tmp_path / "220223030.ewa.json").read_text(encoding="utf-8"))
    assert [r["substance"] for r in ewa["substances"]] == ["Flubromazepam"]
    (excluded,) = [e for e in ewa["excluded"] if e["substance"] == "Etizolam"]
    assert "internal standard" in excluded["reason"]
    doc = json.loads((tmp_path / "220223030.report.json").read_text(encoding="utf-8"))
    assert [f["internal_standard"] for f in doc["findings"] if f["name"] == "Etizolam"] == [True]


def test_the_card_tic_numbers_only_findings_as_hash_n_so_hash_3_is_one_peak(lrcfs_results):
    # finding #3 (bupivacaine) is component 4: the TIC labelled it "#3 Bupivacaine" and component 3
    # (5.744 min, no finding) a bare grey "3", so a chemist looking for "#3" found two peaks
    import re

    from nps_id.report.findings import finding_label

    results, _ = lrcfs_results["220223030"]
    doc = build_report(results, CARD, now=FIXED_NOW)
    html = render(doc, "html")[".html"].decode("utf-8")
    tic = html[html.index("<svg"):html.index("</svg>")]  # the first figure is the TIC
    labels = [text.strip() for text in re.findall(r"<text[^>]*>([^<]*)</text>", tic)]
    by_index = {f["index"]: f for f in doc["findings"]}
    components = doc["chromatograms"][0]["components"]
    assert len(components) > len(doc["findings"])  # components without a finding are marked too
    for c in components:
        finding = by_index.get(c.get("finding"))
        expected = (f"#{finding['index'] + 1} {finding_label(finding)}" if finding else f"C{c['index'] + 1}")
        assert expected in labels, expected
    hashes = [label for label in labels if label.startswith("#")]
    assert len(hashes) == len(doc["findings"])  # "#N" only ever names finding N
    bupivacaine = next(f for f in doc["findings"] if f["name"] == "Bupivacaine")
    component = next(c for c in components if c.get("finding") == bupivacaine["index"])
    assert component["index"] != bupivacaine["index"]  # the two numberings differ on this card
    # the Components table gives the same CN as the TIC and the finding's #N
    table = re.sub(r"<[^>]+>", " ", html[html.index('id="components"'):])
    assert re.search(rf"\bC{component['index'] + 1} +{component['rt_min']:.3f} .*? finding #{bupivacaine['index'] + 1} "
                     r"\(Bupivacaine\)", table)
    # and its number column is headed "CN", as its caption says: a "#" header read as finding numbers
    header = re.findall(r"<th>([^<]*)</th>", html[html.index('id="components"'):].split("</thead>", 1)[0])
    assert header[0] == "CN" and "#" not in header

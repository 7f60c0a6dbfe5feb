"""HTML, PDF, EWA and LIMS renderings of a (synthetic) report document."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from html import escape
from html.parser import HTMLParser

import pytest

from nps_id.errors import InputError
from nps_id.report import render, write_reports
from nps_id.report.ewa import EWA_FIELDS, PREPARED_FOR
from nps_id.report.lims import LIMS_COLUMNS
from nps_id.report.document import build_report
from nps_id.report.present import item_fields, provenance_fields, responsibility_fields
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO, make_results


@pytest.fixture(scope="module")
def doc():
    return build_report(make_results(), SAMPLE_INFO, now=FIXED_NOW)


@pytest.fixture(scope="module")
def rendered(doc):
    """Each format rendered once (matplotlib drawing is the slow part of these tests)."""
    return {fmt: render(doc, fmt) for fmt in ("html", "pdf", "ewa", "csv")}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained_with_plots_and_tables(doc, rendered):
    html = rendered["html"][".html"].decode("utf-8")
    parser = _Tags()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    # one TIC + one mirror plot per finding, all inline
    assert tags.count("svg") == 1 + len(doc["findings"])
    assert not [a for t, a in parser.tags if t in ("img", "script", "link") or a.get("src")]
    assert not re.search(r'(href|src)="(https?:|//)', html)  # nothing fetched from outside
    assert html.count('class="top-hits"') == len(doc["findings"])
    for finding in doc["findings"]:
        assert f'id="finding-{finding["index"]}"' in html
    assert "relate only to the items tested" in html
    assert doc["provenance"]["parameters_sha256"] in html
    assert "SWGDRUG category" in html
    # the TIC labels every component that gave a finding
    for name in ("#1 Bupivacaine", "#2 Flubromazepam", "#3 Etizolam", "#5 Methyl palmitate"):
        assert name in html
    assert html.index('id="provenance"') > html.index('id="finding-4"')  # provenance at the end


def test_renderings_are_deterministic(doc, rendered):
    again = json.loads(json.dumps(doc))  # through JSON, as a saved report is re-rendered
    for fmt in ("html", "pdf", "ewa", "csv"):
        assert render(again, fmt) == rendered[fmt], fmt


def test_pdf_has_one_page_per_finding_plus_three(doc, rendered):
    pdf = rendered["pdf"][".pdf"]
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages == len(doc["findings"]) + 3  # summary, TIC + components, findings, provenance
    assert b"CreationDate" not in pdf


def _pdf_pages(pdf: bytes, tmp_path):
    """Every page as text and as a greyscale image (pdftotext, pdftoppm)."""
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        pytest.skip("pdftoppm/pdftotext (Debian poppler-utils) are not installed")
    import numpy as np
    from matplotlib.image import imread

    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-png", str(path), str(tmp_path / "page")], check=True, timeout=60)
    images = [imread(p) for p in sorted(tmp_path.glob("page-*.png"))]
    texts = [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", str(path), "-"], capture_output=True,
                            text=True, check=True, timeout=60).stdout for n in range(1, len(images) + 1)]
    return texts, [np.asarray(i, dtype=float) for i in images]


def test_pdf_pages_looked_at_one_by_one(doc, rendered, tmp_path):
    import numpy as np

    texts, images = _pdf_pages(rendered["pdf"][".pdf"], tmp_path)
    n = len(images)
    assert n == len(doc["findings"]) + 3
    for number, (text, image) in enumerate(zip(texts, images), start=1):
        assert f"page {number} of {n}" in text, number
        assert "DRAFT" in text, number  # every page of a draft says so
        grey = image.mean(axis=2) if image.ndim == 3 else image
        # rows with ink (the pale DRAFT mark is not ink); no blank band over 40% of the page
        # above the footer -- the last page ends where the report ends
        inked = np.flatnonzero((grey < 0.6).any(axis=1)[: int(0.95 * grey.shape[0])])
        gaps = np.diff(np.r_[0, inked])
        assert gaps.max() < 0.4 * grey.shape[0], f"page {number} is mostly blank"
    # page 2: the TIC heading above the plot (not inside its axes), then the components table
    tic = texts[1]
    assert tic.index("Total ion chromatogram") < tic.index("Retention time") < tic.index("Components")
    assert "no finding" in tic  # the component without a finding, and why
    # one rounding of the RT: the finding page shows what the findings table shows
    assert "7.421" in texts[0] and "7.421" in texts[3]
    assert "End of report" in texts[-1] and "Signature" in texts[-1]
    assert "laboratory not given" not in texts[0]  # the fixture names its laboratory


def test_findings_and_components_are_numbered_from_1_where_a_chemist_reads_them(doc, rendered, tmp_path):
    # the reports numbered them from #0; the documents' index (a contract) still counts from 0
    assert [f["index"] for f in doc["findings"]] == list(range(len(doc["findings"])))
    html = rendered["html"][".html"].decode("utf-8")
    texts, _ = _pdf_pages(rendered["pdf"][".pdf"], tmp_path)
    pdf = [" ".join(text.split()) for text in texts]
    for f in doc["findings"]:
        number = f["index"] + 1
        assert f'<a href="#finding-{f["index"]}">{number}</a>' in html  # the findings table
        assert re.search(rf'<h2 [^>]*>#{number} {re.escape(f["name"])}', html)
        assert any(f"#{number} {f['name']} " in page for page in pdf), number
    assert not re.search(r"#0\b", html) and not any(re.search(r"#0\b", page) for page in pdf)
    assert "CN RT min Area Model Top ions" in pdf[1]  # headed as its caption names it, not "#" (findings')
    components = pdf[1].split("Finding, or why none", 1)[1]
    # components are "CN" (C1, ...), findings "#N": a bare "3" on the TIC was read as finding #3 (stop 32)
    assert components.lstrip().startswith("C1 ") and "finding #1 (Bupivacaine)" in components


def test_html_conclusions_components_signatures_and_end(doc, rendered):
    html = rendered["html"][".html"].decode("utf-8")
    assert html.count('class="conclusion"') == len(doc["findings"])
    assert "Internal standard added by the laboratory; not a constituent of the item." in html
    assert "a tentative indication, not an identification" in html
    assert html.count('<span class="verdict identified">meets library-match criteria (GC-EI-MS only)</span>') == 6
    components = html[html.index('id="components"'):html.index('id="finding-0"')]
    assert components.count("<tr>") == 1 + len(doc["chromatograms"][0]["components"])
    assert 'id="signatures"' in html and html.rstrip().endswith("</body></html>")
    assert html.index('id="end-of-report"') > html.index('id="provenance"')
    assert 'counter(page) " of " counter(pages)' in html  # printed: page x of y


def test_pdf_shows_the_same_item_and_provenance_as_the_html(doc, rendered, tmp_path):
    # The PDF once left out the date seized, the reference standards run and the report schema.
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(rendered["pdf"][".pdf"])
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    html = rendered["html"][".html"].decode("utf-8")
    for label, value in item_fields(doc) + responsibility_fields(doc) + provenance_fields(doc):
        assert label in text and label in html, label
        if value is not None:
            assert str(value) in text.replace("\n", " ") and escape(str(value)) in html, (label, value)
    assert "2022-02-01" in text and "Etizolam" in text  # date seized, reference standards run


def test_ewa_export_lists_the_nps_not_the_internal_standard(rendered):
    out = rendered["ewa"]
    rows = list(csv.DictReader(io.StringIO(out[".csv"].decode("utf-8"))))
    assert [r["substance"] for r in rows] == ["Flubromazepam", "Etizolam", ".alpha.-PVP"]
    assert list(rows[0]) == list(EWA_FIELDS)
    assert rows[0]["ewa_group"] == "Other substances" and rows[0]["ewa_subclass"] == "Benzodiazepines"
    assert rows[2]["ewa_group"] == "Synthetic cathinones" and rows[2]["verdict"] == "tentative"
    # what the evidence is, in words: one technique, as nothing else is recorded for these substances
    assert [r["identification_level"] for r in rows] == [
        "library match, one technique", "library match, one technique", "tentative library match, one technique"]
    assert {r["country"] for r in rows} == {"GB"} and {r["year"] for r in rows} == {"2022"}
    assert {r["date"] for r in rows} == {"2022-02-01"}  # the full date of seizure
    assert rows[0]["ewa_effect_group"] == "Sedatives/hypnotics" and rows[2]["ewa_effect_group"] == "Stimulants"
    assert rows[1]["molecular_mass"] == "342.0706"
    assert [r["reference_standard_run"] for r in rows] == ["no", "yes", "no"]
    assert rows[0]["techniques"] == "GC-EI-MS"
    assert rows[0]["laboratory_contact"] == "Example Forensic Laboratory (synthetic), nps-desk@example.invalid"
    assert {r["report_status"] for r in rows} == {"DRAFT"}  # every row of a draft says so
    payload = json.loads(out[".json"])
    assert payload["prepared_for"] == PREPARED_FOR and "UNODC" in PREPARED_FOR
    assert payload["report_status"] == "DRAFT"
    assert [r["substance"] for r in payload["substances"]] == ["Flubromazepam", "Etizolam", ".alpha.-PVP"]
    assert payload["excluded"] == [{"substance": "Bupivacaine", "verdict": "identified",
                                    "reason": "Bupivacaine is not exported: it is the internal standard added "
                                              "by the laboratory.", "finding": 0, "finding_number": 1, "rt_min": 6.512,
                                    "findings": [{"finding": 0, "finding_number": 1, "rt_min": 6.512,
                                                  "verdict": "identified"}]}]
    assert set(payload["fields"]) == set(EWA_FIELDS)


def test_ewa_export_says_a_second_technique_only_for_the_substance_it_was_recorded_for():
    info = json.loads(json.dumps(SAMPLE_INFO))
    info["confirmations"] = {"Etizolam": ["FTIR-ATR"]}
    info["item"]["other_techniques"] = ["colour test"]  # applied to the item, evaluated for nothing here
    doc = build_report(make_results(), info, now=FIXED_NOW)
    rows = {r["substance"]: r for r in csv.DictReader(io.StringIO(render(doc, "ewa")[".csv"].decode("utf-8")))}
    assert rows["Etizolam"]["identification_level"] == "library match and FTIR-ATR: 2 techniques"
    assert rows["Etizolam"]["techniques"] == "GC-EI-MS; FTIR-ATR"
    assert rows["Flubromazepam"]["identification_level"] == "library match, one technique"
    assert rows["Flubromazepam"]["techniques"] == "GC-EI-MS"
    html = render(doc, "html")[".html"].decode("utf-8")
    etizolam = html[html.index('id="finding-2"'):html.index('id="finding-3"')]
    assert ">identified</span>" in etizolam and "FTIR-ATR is recorded for this substance" in etizolam
    flubro = html[html.index('id="finding-1"'):html.index('id="finding-2"')]
    assert ">meets library-match criteria (GC-EI-MS only)</span>" in flubro
    assert ("GC-EI-MS library match meets the laboratory&#x27;s criteria; a second, independent technique is "
            "required for identification (SWGDRUG category A).") in flubro


def test_a_confirmation_naming_no_finding_is_refused():
    info = json.loads(json.dumps(SAMPLE_INFO))
    info["confirmations"] = {"Etizolan": ["FTIR-ATR"]}
    with pytest.raises(InputError, match="'Etizolan' is not a substance of these results"):
        build_report(make_results(), info, now=FIXED_NOW)


def test_ewa_exclusion_reasons_read_as_sentences():
    results = make_results()
    results["findings"][1].update(name="Diazepam", inchikey="AAOVKJBEBIDNHE-UHFFFAOYSA-N", cas=None)
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    reasons = {e["substance"]: e["reason"] for e in json.loads(render(doc, "ewa")[".json"])["excluded"]}
    assert reasons["Diazepam"].startswith("Diazepam is not exported: it is not a new psychoactive substance (")
    assert reasons["Diazepam"].endswith(").") and "not an NPS" not in reasons["Diazepam"]


def test_lims_csv_and_tsv_one_row_per_finding(doc, rendered):
    rows = list(csv.DictReader(io.StringIO(rendered["csv"][".csv"].decode("utf-8"))))
    assert len(rows) == len(doc["findings"]) and list(rows[0]) == list(LIMS_COLUMNS)
    assert [r["internal_standard"] for r in rows] == ["yes", "no", "no", "no", "no"]
    assert rows[4]["verdict"] == "inconclusive" and rows[4]["nps"] == "unknown"
    tsv = render(doc, "tsv")[".tsv"].decode("utf-8").splitlines()
    assert len(tsv) == 1 + len(doc["findings"]) and tsv[0].split("\t") == list(LIMS_COLUMNS)


def test_write_reports_for_match(rendered, tmp_path):
    written = write_reports(make_results(), ["html", "ewa", "csv"], tmp_path, SAMPLE_INFO, now=FIXED_NOW)
    names = sorted(p.name for p in written)
    assert names == ["synthetic-run.ewa.csv", "synthetic-run.ewa.json", "synthetic-run.lims.csv",
                     "synthetic-run.report.html", "synthetic-run.report.json"]
    saved = json.loads((tmp_path / "synthetic-run.report.json").read_text(encoding="utf-8"))
    # the same document as the fixture's (same inputs, same fixed clock): the same HTML, byte
    # for byte, and the saved JSON is that document
    assert (tmp_path / "synthetic-run.report.html").read_bytes() == rendered["html"][".html"]
    assert render(saved, "csv") == rendered["csv"]


def test_html_in_headless_chromium(doc, rendered, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    path = tmp_path / "report.html"
    path.write_bytes(rendered["html"][".html"])
    shot = tmp_path / "report.png"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(common + ["--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=90,
                         check=True).stdout
    parser = _Tags()
    parser.feed(dom)
    tags = [t for t, _ in parser.tags]
    assert tags.count("svg") == 1 + len(doc["findings"])  # the browser parsed every inline plot
    assert tags.count("table") >= 3 + 3 * len(doc["findings"])
    assert "Flubromazepam" in dom and "relate only to the items tested" in dom
    assert 'id="components"' in dom and "End of report" in dom and 'id="draft"' in dom
    pdf = tmp_path / "printed.pdf"  # printed by the browser: page x of y in the page margin
    subprocess.run(common + ["--no-pdf-header-footer", f"--print-to-pdf={pdf}", path.as_uri()], capture_output=True,
                   timeout=90, check=True)
    if shutil.which("pdftotext"):
        printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        pages = printed.count("\f")
        assert pages > 1 and f"page 1 of {pages}" in printed and f"page {pages} of {pages}" in printed
    subprocess.run(common + ["--hide-scrollbars", "--window-size=1100,2400", f"--screenshot={shot}", path.as_uri()],
                   capture_output=True, timeout=90, check=True)
    assert shot.stat().st_size > 20000


def test_documented_ewa_fields_match_the_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "report-schema.md").read_text(encoding="utf-8")
    section = doc.split("## EWA export fields", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)
    assert documented == list(EWA_FIELDS)


def test_ewa_export_has_one_row_per_substance():
    results = make_results()
    twin = json.loads(json.dumps(results["findings"][2]))  # etizolam seen again at another RT
    twin.update(rt_min=10.4, verdict="tentative", component=5)
    results["findings"].append(twin)
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    rows = list(csv.DictReader(io.StringIO(render(doc, "ewa")[".csv"].decode("utf-8"))))
    assert [(r["substance"], r["verdict"]) for r in rows] == [
        ("Flubromazepam", "identified"), ("Etizolam", "identified"), (".alpha.-PVP", "tentative")]


def test_lc_msms_results_render_without_a_tic():
    results = make_results()
    results["run"]["technique"] = "LC-MS/MS"
    results["tic"] = None
    finding = results["findings"][2]  # etizolam [M+H]+ 343.0779 and product ions, accurate mass
    finding["spectrum"] = {"mz": [314.0513, 343.0779], "intensity": [40.0, 100.0]}
    finding["reference_spectrum"] = {"mz": [314.0510, 343.0775, 259.0091], "intensity": [35.0, 100.0, 10.0]}
    results["findings"] = [finding]
    results["components"] = [{"index": 0, "rt_min": 10.262, "finding": 0}]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    assert (doc["acquisitions"][0]["technique"], doc["acquisitions"][0]["swgdrug_category"]) == ("LC-MS/MS", "A")
    html = render(doc, "html")[".html"].decode("utf-8")
    assert html.count("<svg") == 1  # the mirror plot only: no TIC for MS/MS-only data
    assert ">343.08<" in html and ">259.01<" in html  # accurate m/z labels, not nominal


ETIZOLAM_SMILES = "CCc1cc2c(s1)-n1c(C)nnc1CN=C2c1ccccc1Cl"


def test_a_finding_with_a_structure_is_drawn_with_its_source():
    results = make_results()
    results["findings"][2].update(smiles=ETIZOLAM_SMILES, structure_source="opsin:Etizolam",
                                  structure_status="verified")
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    html = render(doc, "html")[".html"].decode("utf-8")
    section = html[html.index('id="finding-2"'):html.index('id="finding-3"')]
    figure = section[section.index('<figure class="structure">'):]
    assert figure.index("<svg") < figure.index("</figure>")
    assert "from opsin:Etizolam, InChIKey verified against the record" in figure
    assert html.count('<figure class="structure">') == 1  # the others have no structure
    assert render(doc, "html") == render(doc, "html")  # the drawing is deterministic
    pdf = render(doc, "pdf")[".pdf"]
    assert pdf.startswith(b"%PDF") and b"/Image" in pdf and pdf == render(doc, "pdf")[".pdf"]

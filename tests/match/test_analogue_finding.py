"""A substance missing from the library is reported as an analogue on real data: the LRCFS
etizolam calibrant matched against SWGDRUG with etizolam taken out."""
from __future__ import annotations

import pytest

from nps_id.library import build_library
from nps_id.match.parameters import MatchParameters
from nps_id.match.pipeline import match_files
from nps_id.match.verdict import VerdictThresholds
from nps_id.search.index import build_indexes
from tests.conftest import data_path


@pytest.fixture(scope="module")
def library(tmp_path_factory, swgdrug_opsin):
    source = data_path("swgdrug", "SWGDRUG-3.4.msp.gz")
    out = tmp_path_factory.mktemp("no-etizolam") / "swgdrug-no-etizolam.h5"
    with swgdrug_opsin():  # the names' structures as the session's SWGDRUG build had them from OPSIN
        build_library([source], out, name="SWGDRUG without etizolam", release="3.4", index_builder=build_indexes,
                      select=lambda s: "etizolam" not in (s.name or "").lower(), defaults={"ms_level": 1})
    return out


def _match(library, thresholds: VerdictThresholds) -> dict:
    run = data_path("gcms", "lrcfs", "220223008.mzML")
    return next(iter(match_files([run], library, MatchParameters(verdict=thresholds))))[1]


@pytest.fixture(scope="module")
def results(library):
    # Etizolam's closest SWGDRUG spectra score MF ~610 and modified cosine ~720-780, and the
    # closest of them (flutoprazepam, a 1,4-benzodiazepine; etizolam is a thienotriazolodiazepine)
    # is a distant relative (Morgan Tanimoto 0.26, analogue confidence ~0.30). The floors are
    # lowered to let the analogue path decide this peak: identity below 650 is not reported, an
    # analogue from similarity 700 and confidence 0.25 is.
    return _match(library, VerdictThresholds(report_score=650, analogue_score=700, analogue_confidence=0.25))


def test_a_distant_analogue_is_no_close_analogue_finding(library):
    results = _match(library, VerdictThresholds(report_score=650, analogue_score=700))  # default confidence
    near = [f for f in results["findings"] if abs(f["rt_min"] - 10.29) < 0.1]
    assert not near, "a predicted Tanimoto of ~0.30 is below the close-analogue confidence: no finding"


def test_missing_substance_comes_out_as_a_named_analogue(results):
    near = [f for f in results["findings"] if abs(f["rt_min"] - 10.29) < 0.1]
    assert near, "the etizolam peak at ~10.29 min still gives a finding"
    finding = near[0]
    assert finding["match_mode"] == "analogue"
    assert "etizolam" not in finding["name"].lower()
    assert (finding["verdict"], finding["rule"].split(":")[0]) == ("tentative", "close analogue")
    # The verdict quotes the spectral similarity, not the mass-prior ranking score.
    assert 700 <= finding["similarity"] <= 999 and isinstance(finding["delta_mass"], float)
    assert f"modified cosine {finding['similarity']}" in " ".join(finding["criteria_met"])
    assert 0.25 <= finding["analogue_confidence"] < 0.45
    assert f"predicted Tanimoto {finding['analogue_confidence']:.2f}" in " ".join(finding["criteria_met"])
    # Hits are ranked by the analogue score; each names the listed modification it matches, if any.
    scores = [h["score"] for h in finding["top_hits"]]
    assert scores == sorted(scores, reverse=True)
    assert any(h["delta_mass_match"] for h in finding["top_hits"])
    for hit in finding["top_hits"]:
        assert hit["delta_mass_match"] is None or abs(hit["delta_mass"]) < 130


def test_reports_name_the_analogue_and_never_export_it_as_the_library_substance(results, tmp_path):
    from nps_id.report import render
    from nps_id.report.document import build_report
    from nps_id.report.ewa import ewa_rows, excluded

    doc = build_report(results, {"item": {"internal_standards": ["Bupivacaine"]}})
    analogue = next(f for f in doc["findings"] if f["match_mode"] == "analogue")
    name = analogue["name"]
    # Etizolam is not in this library: its closest spectra are benzodiazepines, so the finding is a
    # suspected new benzodiazepine -- named by its group, never as the library entry (issue 18).
    assert analogue["new_substance"] and analogue["suspected_group"] == "Benzodiazepines"
    label = "suspected new substance (Benzodiazepines)"
    html = render(doc, "html")
    text = next(iter(html.values())).decode()
    assert label in text and 'id="new-substances"' in text and "Similarity" in text
    assert "are those of the closest library entry" in text  # its formula and InChIKey are not the unknown's
    lims = next(iter(render(doc, "csv").values())).decode()
    assert f"{label},tentative,analogue" in lims
    # The EWA export must not report the library entry as found: only the suspected new substance.
    rows = ewa_rows(doc)
    assert name not in {row["substance"] for row in rows}
    (new,) = [row for row in rows if row["suspected_new_substance"]]
    assert new["substance"] == label and new["inchikey"] is None and name in new["closest_known_compounds"]
    assert label not in {e["substance"] for e in excluded(doc)}


def test_the_etizolam_peak_without_etizolam_in_the_library_is_a_suspected_new_benzodiazepine(library):
    """Default thresholds, the seized card (etizolam at ~10.26 min): its best remaining hit,
    flutoprazepam, shares etizolam's nominal mass (342) at similarity ~0.61 -- not the same compound
    measured elsewhere (EI SAME_MASS_SIMILARITY 0.7): the peak is a suspected new benzodiazepine,
    never named as a library compound."""
    results = next(iter(match_files([data_path("gcms", "lrcfs", "220223030.mzML")], library, MatchParameters())))[1]
    near = [f for f in results["findings"] if abs(f["rt_min"] - 10.27) < 0.1]
    assert near, "the etizolam peak gives a finding"
    finding = near[0]
    assert finding["verdict"] != "identified" and finding["new_substance"] is True
    assert finding["suspected_group"] == "Benzodiazepines"

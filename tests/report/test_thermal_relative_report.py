"""A GC injector relative (phenibut for its lactam, 4-phenyl-2-pyrrolidinone) in the reports: the
report must say what the verdict says -- it elutes as the hit, so neither a reference standard
run nor a retention index excludes it -- and must not call it an isomer (it is not one)."""
from __future__ import annotations

from nps_id.report import render
from nps_id.report.document import build_report
from nps_id.report.present import isomers_open
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO, make_results

RULE = ("isomer not excluded: the substance is the hit or a compound the spectrum cannot tell from it -- not in the "
        "library, a compound the GC injector turns into the hit (lactam closure, -H2O): NCC(CC(=O)O)c1ccccc1 (elutes "
        "as the same compound: derivatisation or LC-MS tells them apart); it may be a new substance; derivatisation "
        "or LC-MS -- not a standard run or a retention index -- excludes them")


def _lactam_doc(standard_at_same_rt: bool) -> dict:
    results = make_results()
    finding = next(f for f in results["findings"] if f["verdict"] == "tentative")
    finding.update(name="4-Phenyl-2-Pyrrolidinone", rule=RULE, rule_id="isomer_not_excluded",
                   criteria_failed=["isomers not excluded: 0 in the library within the margin, 1 not in the library"],
                   isomers_not_excluded=[{"name": None, "smiles": "NCC(CC(=O)O)c1ccccc1", "in_library": False,
                                          "move": "thermal_precursor:lactam", "inseparable_rate": 1.0}])
    if standard_at_same_rt:  # the verdict stays tentative: the precursor elutes as its lactam
        finding["reference_standard"] = {"run": "std.mzML", "name": finding["name"], "rt_min": finding["rt_min"],
                                         "delta_rt_min": 0.0, "ri": None, "delta_ri": None, "window_min": 0.1,
                                         "within": True}
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    return next(f for f in doc["findings"] if f["name"] == "4-Phenyl-2-Pyrrolidinone"), doc


def test_a_standard_at_the_same_rt_is_not_said_to_exclude_an_injector_relative():
    shown, doc = _lactam_doc(standard_at_same_rt=True)
    assert not any("excluded by the reference standard" in note for note in shown["limitations"])
    assert any("neither a retention index nor a reference standard" in note for note in shown["limitations"])
    # the lactam hit is placed by no NPS taxonomy rule here, but its open relative is phenibut, an NPS by its
    # own structure: "possibly a new substance" (until stop 36 the hit's class decided: "a compound not in
    # the library"); the rule text says the same
    assert shown["ewa"]["nps"] is None
    assert isomers_open(shown) == ("4-Phenyl-2-Pyrrolidinone or a compound the GC injector turns into it "
                                   "(NCC(CC(=O)O)c1ccccc1, not in the library), possibly a new substance")
    assert "; it may be a new substance; derivatisation or LC-MS" in shown["rule"]
    assert isomers_open(shown) in render(doc, "html")[".html"].decode()


def test_an_injector_relative_is_not_called_an_isomer_nor_left_to_a_standard():
    shown, _ = _lactam_doc(standard_at_same_rt=False)
    assert "isomer" not in isomers_open(shown)
    notes = " ".join(shown["limitations"])
    assert "unless a retention index or a reference standard excludes" not in notes
    assert "derivatisation or LC-MS" in notes


# -- real data: SWGDRUG's phenibut and 4-phenyl-2-pyrrolidinone records, and a real GC-MS run ----------

def _swgdrug_record(name: str):
    from nps_id import io
    from tests.conftest import data_path

    return next(s for s in io.read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")) if s.name == name)


def test_phenibut_and_its_lactam_name_each_other_as_injector_relatives(swgdrug_library):
    """SWGDRUG's phenibut record is its lactam's spectrum (M+ 161): each record's spectrum scores the
    other within the gap (25). The rule names the other one and the injector reaction -- until stop 27
    "isomer ambiguity ... a library compound that scores as close", naming neither."""
    from nps_id.match.assess import assess_search
    from nps_id.library import Library
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference

    with Library.open(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    queries = [_swgdrug_record("Phenibut"), _swgdrug_record("4-Phenyl-2-Pyrrolidinone")]
    hits = search(queries, reference, SearchSettings(top_k=20))
    assessed = assess_search(queries, hits, reference, analog=False)
    fields = [assessed[i].fields() for i in range(2)]
    rules = [f["verdict_rule"] for f in fields]
    assert [f["verdict"] for f in fields] == ["tentative", "tentative"]
    assert ("4-Phenyl-2-Pyrrolidinone, a compound the GC injector makes of the hit (lactam closure, -H2O)"
            in rules[0])
    assert "Phenibut, a compound the GC injector turns into the hit (lactam closure, -H2O)" in rules[1]
    assert all(r.endswith("derivatisation or LC-MS -- not a standard run or a retention index -- excludes them")
               for r in rules)


def test_a_lactam_peak_in_a_real_run_reaches_the_ewa_export_as_phenibut_s_group(swgdrug_library, tmp_path):
    """The LRCFS methanol blank with the lactam's SWGDRUG spectrum added as a peak at 12.0 min: the
    taxonomy cannot place 4-phenyl-2-pyrrolidinone, so the finding was not exported -- the early
    warning missed the phenibut it may be. Now it is exported in phenibut's group, the rule naming
    phenibut, and its identification level names phenibut too."""
    import numpy as np

    from nps_id import io
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.pipeline import match_files
    from nps_id.report.ewa import ewa_rows
    from nps_id.spectrum import Spectrum
    from tests.conftest import data_path

    lactam = _swgdrug_record("4-Phenyl-2-Pyrrolidinone")
    scans = []
    for scan in io.read(data_path("gcms", "lrcfs", "220223001.mzML")):
        weight = np.exp(-0.5 * ((scan.retention_time - 720.0) / 1.2) ** 2)
        if weight > 1e-3:
            mz = np.concatenate([scan.mz, lactam.mz])
            intensity = np.concatenate([scan.intensity, lactam.intensity / lactam.intensity.max() * 2e6 * weight])
            order = np.argsort(mz, kind="stable")
            scan = Spectrum(mz[order], intensity[order], metadata=scan.metadata)
        scans.append(scan)
    run = tmp_path / "blank-with-lactam.mzML"
    io.write(scans, run)
    [(_, results)] = list(match_files([run], swgdrug_library, MatchParameters()))
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    found = next(f for f in doc["findings"] if f["name"] == "4-Phenyl-2-Pyrrolidinone")
    assert found["verdict"] == "tentative" and "Phenibut, a compound the GC injector turns into" in found["rule"]
    # since stop 28 by its own structure (the phenibut type's lactam), before by phenibut's class
    assert found["ewa"]["subclass"] == "other_sedatives" and found["ewa"]["rule"] == "aryl_gaba_lactam"
    [row] = [r for r in ewa_rows(doc) if r["substance"] == "4-Phenyl-2-Pyrrolidinone"]
    assert row["ewa_effect_group"] == "Sedatives/hypnotics"
    assert "a compound the GC injector turns into it (Phenibut, in the library)" in row["identification_level"]


def test_phenibut_is_no_phenethylamine():
    # beta-phenyl-GABA has the phenethylamine chain; the taxonomy's structure rule took it (a
    # stimulant) before the name rule that files it with the sedatives (taxonomy 2026.3)
    from nps_id.chem.ewa_groups import classify

    found = classify("Phenibut", (), smiles="NCC(CC(=O)O)c1ccccc1")
    assert (found.group, found.subclass, found.nps) == ("other_substances", "other_sedatives", True)
    assert classify("Amphetamine-like", (), smiles="CC(N)Cc1ccccc1").group == "phenethylamines"


def test_a_hit_the_taxonomy_cannot_place_is_exported_in_its_injector_relative_s_class():
    # Since taxonomy 2026.4 phenibut's own lactam has a structure rule; a hit the taxonomy still
    # cannot place (here the N-methyl lactam) takes the class of the NPS its injector relative is,
    # the rule naming it -- else the early warning would miss the NPS it may be.
    results = make_results()
    finding = next(f for f in results["findings"] if f["verdict"] == "tentative")
    finding.update(name="1-Methyl-4-phenyl-2-pyrrolidinone", smiles="CN1CC(CC1=O)c1ccccc1", inchikey=None,
                   rule=RULE, rule_id="isomer_not_excluded",
                   isomers_not_excluded=[{"name": "Phenibut", "smiles": "NCC(CC(=O)O)c1ccccc1", "in_library": True,
                                          "move": "thermal_precursor:lactam", "inseparable_rate": 1.0}])
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    found = next(f for f in doc["findings"] if f["name"] == "1-Methyl-4-phenyl-2-pyrrolidinone")
    assert found["ewa"]["subclass"] == "other_sedatives"
    assert "as Phenibut, a compound the GC injector turns into the hit" in found["ewa"]["rule"]

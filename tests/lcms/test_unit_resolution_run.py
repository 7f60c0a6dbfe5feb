"""`nps-id match` of a unit-resolution LC-MS/MS run (stop 48): real MassBank MS/MS records of a triple
quadrupole (Keio's API3000: mecamylamine "168", phenylethylamine "122", product ions to one decimal) converted
to an MGF run found nothing at the default 0.01 Da fragment tolerance, silently (stop 47 newuser47). A scan
group whose product ions are all written to at most one decimal is now scored at the nominal ion (0.5 Da), the
run's notes say so, and its HRMS fragment criterion is failed with the reason; an explicit
``--fragment-tolerance`` applies to every scan (a unit-resolution scan still meets no HRMS criterion, and the note
says the tolerance given; attack48); an accurate run (the RaMS DDA run, whose one 32-bit precursor
reads as 2 decimals) has no unit-resolution group."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rdkit")

from nps_id import io  # noqa: E402
from nps_id.lcms.groups import group_ms2, product_ion_precision, unit_resolution  # noqa: E402
from nps_id.match.parameters import MatchParameters  # noqa: E402
from nps_id.match.pipeline import match_run  # noqa: E402
from nps_id.match.reference_library import ReferenceLibrary  # noqa: E402
from nps_id.spectrum import Spectrum  # noqa: E402
from tests.conftest import built_once, data_path  # noqa: E402
from tests.lcms.conftest import RAMS  # noqa: E402

#: Keio's API3000 records of the two queries (MassBank accessions) and the compounds they are.
KEIO = {"MSBNK-Keio_Univ-KO003399": "Mecamylamine", "MSBNK-Keio_Univ-KO003793": "Phenylethylamine"}
UNIT_NOTE = "have product ions written to at most 1 decimal (unit resolution): scored with a 0.5 Da fragment tolerance"


def _keio_queries():
    found = {s.get("source_id"): s for s in io.read(data_path("massbank", "ms2-queries-identity.msp.gz"))
             if s.get("source_id") in KEIO}
    return [found[accession] for accession in KEIO]


@pytest.fixture(scope="module")
def unit_library_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MassBank MS/MS records within 1 Da of the two queries' precursors (their own compounds' records of
    other laboratories among them), as a library file."""
    precursors = [float(q.precursor_mz) for q in _keio_queries()]

    def build(folder: Path) -> Path:
        from nps_id.library import build_library
        from nps_id.search.index import build_indexes

        def select(spectrum) -> bool:
            mz = spectrum.precursor_mz
            return mz is not None and any(abs(float(mz) - p) <= 1.0 for p in precursors)

        out = folder / "massbank-ms2-unit.h5"
        build_library([data_path("massbank", "ms2-library.msp.gz")], out, name="MassBank MS2 (unit queries)",
                      release="test", lenient=True, index_builder=build_indexes, select=select,
                      names_to_structures=False)
        return out

    return built_once(tmp_path_factory, "unit-resolution-library", build)


@pytest.fixture(scope="module")
def unit_library(unit_library_path: Path) -> ReferenceLibrary:
    return ReferenceLibrary(unit_library_path)


@pytest.fixture(scope="module")
def unit_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two Keio records as an MGF run (what `nps-id convert` writes of them)."""
    path = tmp_path_factory.mktemp("unit-run") / "keio.mgf"
    io.write(_keio_queries(), path)
    return path


def test_the_records_product_ions_are_read_as_unit_resolution():
    for query in _keio_queries():
        assert product_ion_precision(query.mz) == 0.05 and unit_resolution(query.mz)
    # a 32-bit float's rendering of one-decimal values (an mzML's float32 m/z array) reads as one decimal
    assert unit_resolution(np.array([120.1, 91.1, 65.0], dtype=np.float32))
    # accurate product ions, even when some lost their trailing zeros, are not
    assert not unit_resolution(np.array([120.0813, 91.054, 65.04]))
    assert product_ion_precision(np.array([120.08, 91.05])) == 0.005


def test_a_unit_resolution_run_is_scored_at_the_nominal_ion_and_says_so(unit_library, unit_run):
    results = match_run(unit_run, unit_library)
    assert any(UNIT_NOTE in note and note.startswith("2 of 2 MS/MS scan groups (2 scans)") for note in results["notes"])
    found = {f["name"]: f for f in results["findings"]}
    assert set(found) == set(KEIO.values())
    for finding in found.values():
        # scored, but no HRMS identification: unit-resolution fragments say nominal ions, not formulae
        assert finding["verdict"] == "tentative" and finding["score"] >= 800
        assert any(c.startswith("reference fragments matched at accurate mass (not possible: the product ions are "
                                "written to unit resolution") for c in finding["criteria_failed"])
    # the Keio "168" record is still held by its unit precursor (another library formula at that nominal ion)
    assert any("precursor m/z 168 written to fewer than 3 decimals" in c for c in found["Mecamylamine"]["criteria_failed"])


def test_an_explicit_fragment_tolerance_applies_to_every_scan(unit_library, unit_run):
    # --fragment-tolerance given (even its default value): one tolerance for every scan (match_options)
    from nps_id.commands.match import match
    from nps_id.commands.match_options import fragment_tolerance_given

    assert fragment_tolerance_given(match.make_context("match", ["run.mgf", "--fragment-tolerance", "0.01 Da"],
                                                       resilient_parsing=True))
    assert not fragment_tolerance_given(match.make_context("match", ["run.mgf"], resilient_parsing=True))
    # at 0.01 Da for every scan, as until stop 48: the run has no finding and no note
    results = match_run(unit_run, unit_library, MatchParameters(unit_fragment_tolerance=None))
    assert not results["findings"] and not any(UNIT_NOTE in note for note in results["notes"])


def test_the_command_says_so_and_an_explicit_tolerance_wins(unit_library_path, unit_run, tmp_path):
    from click.testing import CliRunner

    from nps_id.cli import cli

    library = str(unit_library_path)
    out = CliRunner().invoke(cli, ["match", str(unit_run), "-l", library, "-o", str(tmp_path / "a")])
    assert out.exit_code == 0 and "Mecamylamine" in out.output and UNIT_NOTE in " ".join(out.output.split()), out.output
    given = CliRunner().invoke(cli, ["match", str(unit_run), "-l", library, "-o", str(tmp_path / "b"),
                                     "--fragment-tolerance", "0.2 Da"])
    assert given.exit_code == 0 and UNIT_NOTE not in given.output, given.output


def test_an_accurate_run_has_no_unit_resolution_group():
    # RaMS: a Q Exactive DDA run; one 32-bit precursor reads as 2 decimals, its product ions are accurate
    groups = group_ms2([s for s in io.read(data_path(*RAMS)) if (s.ms_level or 1) >= 2])
    assert groups and not any(unit_resolution(g.spectrum.mz) for g in groups)


def test_a_given_fragment_tolerance_scores_unit_scans_but_meets_no_hrms_criterion(unit_library, unit_run):
    # attack48: given "0.5 Da" (or stop 47's advised "0.2 Da"), a unit-resolution scan's fragments counted as
    # "reference fragments matched >= 2": 2 of the 148 unit-resolution MassBank queries were `identified` so
    from nps_id.tolerance import Tolerance

    wide = match_run(unit_run, unit_library,
                     MatchParameters(fragment_tolerance=Tolerance(0.5, "Da"), unit_fragment_tolerance=None))
    mecamylamine = {f["name"]: f for f in wide["findings"]}["Mecamylamine"]
    assert not any(c.startswith("reference fragments matched >=") for c in mecamylamine["criteria_met"])
    assert any(c.startswith("reference fragments matched at accurate mass (not possible: the product ions are written "
                            "to unit resolution; ") and c.endswith(" within 0.5 Da)") for c in mecamylamine["criteria_failed"])
    assert any(n.startswith("2 of 2 MS/MS scan groups (2 scans) have product ions written to at most 1 decimal (unit "
                            "resolution): scored with the given --fragment-tolerance 0.5 Da; their HRMS criteria are "
                            "not met") for n in wide["notes"])
    # a finer one matches none of the library's accurate records: said, not a bare "no findings"
    fine = match_run(unit_run, unit_library, MatchParameters(fragment_tolerance=Tolerance(20, "ppm"),
                                                             unit_fragment_tolerance=None))
    assert not fine["findings"]
    assert any("scored with the given --fragment-tolerance 20 ppm, finer than they are written (unset, they are "
               "scored at 0.5 Da); their HRMS criteria are not met" in n for n in fine["notes"])


def test_the_report_of_a_unit_resolution_run_names_the_compounds_of_another_formula(unit_library, unit_run):
    # attack48: "HRMS criteria not met" decides first, and held_by stayed empty: the report read "Mecamylamine or an
    # isomer ... (9 isomers ...)" and nothing for phenylethylamine, while their criteria name compounds of another
    # formula at the unit precursor (newuser47 found the same of the "isomer not excluded" verdict)
    from nps_id.report.document import build_report
    from nps_id.report.present import isomers_open
    from tests.report.conftest import FIXED_NOW, SAMPLE_INFO

    results = match_run(unit_run, unit_library)
    found = {f["name"]: f for f in results["findings"]}
    assert {f["rule_id"] for f in found.values()} == {"hrms_not_met"}
    # and, since stop 49 (ms2iso49's chain_position), its amino group moved along the chain: 1-phenylethylamine
    assert found["Phenylethylamine"]["held_by"] == ["isomer", "other_formula"]
    assert "other_formula" in found["Mecamylamine"]["held_by"]
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    shown = {f["name"]: f for f in doc["findings"]}
    other = "a compound of another formula within the precision of the precursor m/z"
    assert isomers_open(shown["Phenylethylamine"]) == ("Phenylethylamine or an isomer the evidence does not exclude "
                                                       f"(1 isomer, 1 not in the library) or {other}, possibly a "
                                                       "compound not in the library")
    assert f" or {other}" in isomers_open(shown["Mecamylamine"])
    assert any(n.startswith("A compound of another formula within the precision of the precursor m/z not excluded")
               for n in shown["Mecamylamine"]["limitations"])


#: Keio's API3000 records of phenylephrine ([M+H]+ "168", the unit library's window) at 20, 30 and 40 V: one
#: compound on one triple quadrupole, its product ions written to one decimal, the same ion read 0.1-0.2 apart
#: from record to record (91.0 / 91.2, 107.0 / 107.1).
PHENYLEPHRINE = ("MSBNK-Keio_Univ-KO003779", "MSBNK-Keio_Univ-KO003780", "MSBNK-Keio_Univ-KO003781")


@pytest.fixture(scope="module")
def phenylephrine(massbank_ms2_spectra) -> dict[str, object]:
    wanted = set(PHENYLEPHRINE)
    return {s.get("source_id"): s for s in massbank_ms2_spectra if s.get("source_id") in wanted}


def _scans(records, rt_seconds: float) -> list:
    """``records`` as replicate scans of one precursor, 2 s apart from ``rt_seconds``."""
    return [s.replace(retention_time=rt_seconds + 2 * i, scan_index=i) for i, s in enumerate(records)]


def _run(records, path: Path, rt_seconds: float) -> Path:
    """:func:`_scans` written as an MGF run."""
    io.write(_scans(records, rt_seconds), path)
    return path


def test_replicate_unit_resolution_scans_merge_at_the_nominal_ion(unit_library, phenylephrine, tmp_path, monkeypatch):
    # stop 48 left their consensus at 0.01 Da: an ion kept only where two scans wrote the same value (a third of
    # 572 Keio compounds' 20/30/40 V records so merged kept no ion at all; benchmarks/README, stop 49)
    import nps_id.lcms.groups as groups

    scans = _scans([phenylephrine[k] for k in PHENYLEPHRINE], 120.0)
    unit = MatchParameters().unit_fragment_tolerance
    merged, exact = group_ms2(scans, unit_fragment_tolerance=unit), group_ms2(scans)
    assert len(merged) == len(exact) == 1
    merged, exact = merged[0].spectrum, exact[0].spectrum
    # still what the instrument wrote (one decimal), so scored as unit resolution; more of the shared ions
    assert unit_resolution(merged.mz) and product_ion_precision(merged.mz) == 0.05
    assert len(merged) > len(exact)
    shared = [m for m in scans[1].mz if all(np.min(np.abs(s.mz - m)) <= 0.5 for s in scans)]
    assert all(np.min(np.abs(merged.mz - m)) <= 0.5 for m in shared)  # every ion all three show, kept
    run = _run(scans, tmp_path / "phenylephrine.mgf", 120.0)
    new = {f["name"]: f for f in match_run(run, unit_library)["findings"]}
    monkeypatch.setattr(groups, "_unit_consensus", lambda *args: None)  # merged at 0.01 Da, as until stop 49
    old = {f["name"]: f for f in match_run(run, unit_library)["findings"]}
    name = next(n for n in new if "henylephrine" in n)
    assert len(new[name]["spectrum"]["mz"]) == len(merged)
    assert new[name]["score"] > old.get(name, {"score": 0})["score"]


def test_a_reference_standard_at_unit_resolution_is_compared_at_the_nominal_ion(unit_library, phenylephrine, tmp_path):
    # the standard's product ions and ion ratios were compared at --fragment-tolerance: its base ion 91.0 "absent"
    # from the sample's 91.2, 1 of 9 product ions held (stop 49)
    from nps_id.match.lcms_evidence import product_ions
    from nps_id.match.pipeline import measure_reference_standards
    from nps_id.match.standards import ReferenceStandard

    sample = _run([phenylephrine[PHENYLEPHRINE[2]]], tmp_path / "sample.mgf", 120.0)  # 40 V
    standard = _run([phenylephrine[PHENYLEPHRINE[1]]], tmp_path / "standard.mgf", 123.0)  # 30 V, 0.05 min later
    params = MatchParameters()
    standards = measure_reference_standards([ReferenceStandard(str(standard), "Phenylephrine")], unit_library, params)
    finding = next(f for f in match_run(sample, unit_library, params, reference_standards=standards)["findings"]
                   if "henylephrine" in f["name"])
    assert finding["reference_standard"]["within"]
    # the standard's major product ions that the sample shows within the nominal window, counted here from both files
    ref, own = phenylephrine[PHENYLEPHRINE[1]], phenylephrine[PHENYLEPHRINE[2]]
    major = ref.mz[product_ions(ref.mz, 168.0) & (ref.intensity >= params.verdict.major_ion_level * ref.intensity.max())]
    near = [np.min(np.abs(own.mz - m)) for m in major]
    held = sum(d <= 0.5 for d in near)
    assert held > sum(d <= 0.01 for d in near) and held >= 2
    products = [c for c in finding["criteria_met"] if c.startswith("product ions matched against the reference standard")]
    assert products and f"({held} of {len(major)}: " in products[0]
    # its ion ratios are compared (30 V against 40 V: they differ, said so), not failed on a 0.2 Da jitter
    ratios = [c for c in finding["criteria_met"] + finding["criteria_failed"] if c.startswith("ion ratios")]
    assert ratios and ratios[0].startswith("ion ratios within +/-30% of the reference standard run's (")


def test_a_unit_resolution_standards_ions_are_printed_as_written(unit_library, phenylephrine, tmp_path):
    # newuser49: "(12 of 12: 42.1000, 77.1000, ...)" and "107.00/91.20", digits the instrument did not write
    from nps_id.match.pipeline import measure_reference_standards
    from nps_id.match.standards import ReferenceStandard

    sample = _run([phenylephrine[PHENYLEPHRINE[2]]], tmp_path / "sample.mgf", 120.0)
    standard = _run([phenylephrine[PHENYLEPHRINE[1]]], tmp_path / "standard.mgf", 123.0)
    params = MatchParameters()
    standards = measure_reference_standards([ReferenceStandard(str(standard), "Phenylephrine")], unit_library, params)
    finding = next(f for f in match_run(sample, unit_library, params, reference_standards=standards)["findings"]
                   if "henylephrine" in f["name"])
    criteria = finding["criteria_met"] + finding["criteria_failed"]
    products = next(c for c in criteria if c.startswith("product ions matched against the reference standard"))
    ratios = next(c for c in criteria if c.startswith("ion ratios"))
    listed = products.split(": ", 1)[1].rstrip(")").split(", ")
    pairs = ratios.split("(", 1)[1].rstrip(")").split(", ")
    ions = [p.split(" ")[0] for p in pairs]
    # each m/z exactly as the standard's file writes it: one decimal, or a whole number
    written = {f"{m:g}" for m in phenylephrine[PHENYLEPHRINE[1]].mz}
    assert listed and all(m in written for m in listed), products
    assert ions and all(a in written and b in written for a, b in (i.split("/") for i in ions)), ratios


def test_the_note_of_one_merged_unit_group_says_its_and_merged(unit_library, phenylephrine, tmp_path):
    # newuser49: "1 of 1 MS/MS scan group (3 scans) has ...; their HRMS criteria are not met" -- one group, and its
    # three scans merged at 0.5 Da into one spectrum (rows49) unsaid
    run = _run([phenylephrine[k] for k in PHENYLEPHRINE], tmp_path / "phenylephrine.mgf", 120.0)
    notes = match_run(run, unit_library)["notes"]
    assert ("1 of 1 MS/MS scan group (3 scans, merged at 0.5 Da) has product ions written to at most 1 decimal (unit "
            "resolution): scored with a 0.5 Da fragment tolerance, not 0.01 Da; its HRMS criteria are not met "
            "(--fragment-tolerance sets one tolerance for every scan)") in notes


def test_two_ions_of_one_unit_resolution_scan_stay_two(massbank_ms2_spectra):
    # at 0.5 Da the consensus merged two ions one scan wrote 0.1-0.5 Da apart (aspartate's 59.3 and 59.8): a record
    # repeated as two identical scans lost ions, 1,257 of MassBank's 7,736 unit-resolution records (attack49)
    unit = MatchParameters().unit_fragment_tolerance
    record = next(s for s in massbank_ms2_spectra if s.get("source_id") == "MSBNK-Keio_Univ-KO000030")
    assert unit_resolution(record.mz) and np.min(np.diff(np.sort(record.mz))) <= 0.5
    merged = group_ms2(_scans([record, record], 60.0), unit_fragment_tolerance=unit)[0].spectrum
    assert np.sort(merged.mz).tolist() == np.sort(record.mz).tolist()
    # one ion read 69.1 and 69.2 by two scans is still one; the second ion of a scan, 0.5 Da on, its own
    scans = [Spectrum(np.array([69.1, 69.6]), np.array([100.0, 50.0]), {"precursor_mz": 150.0}),
             Spectrum(np.array([69.2, 69.6]), np.array([50.0, 100.0]), {"precursor_mz": 150.0})]
    merged = group_ms2(_scans(scans, 60.0), unit_fragment_tolerance=unit)[0].spectrum
    assert merged.mz.tolist() == [69.1, 69.6]
    # one scan's 69.2 beside another's 69.1 and 69.2: two ions, not 69.2 written twice
    scans = [Spectrum(np.array([69.2]), np.array([100.0]), {"precursor_mz": 150.0}),
             Spectrum(np.array([69.1, 69.2]), np.array([10.0, 100.0]), {"precursor_mz": 150.0})]
    merged = group_ms2(_scans(scans, 60.0), unit_fragment_tolerance=unit)[0].spectrum
    assert merged.mz.tolist() == [69.1, 69.2]


def test_a_standard_at_the_same_rt_excludes_the_isomers_of_a_finding_held_by_another_rule(unit_library, phenylephrine,
                                                                                          tmp_path):
    # newuser49: the 40 V record as the sample and as its standard 2 s later is a "weak match" (Synephrine within
    # the gap); the standard was applied to "isomer not excluded" verdicts only, so its criteria kept "isomers
    # excluded (not possible ...)" and held_by ["isomer", "other_formula"] while the report said the standard
    # excluded them. The standard excludes them whatever else fails; the weak match stays a weak match.
    from nps_id.match.pipeline import measure_reference_standards
    from nps_id.match.standards import ReferenceStandard
    from nps_id.match.verdict import ISOMER_CRITERIA
    from nps_id.report.document import build_report
    from tests.report.conftest import FIXED_NOW, SAMPLE_INFO

    record = phenylephrine[PHENYLEPHRINE[2]]
    sample = _run([record], tmp_path / "sample.mgf", 120.0)
    standard = _run([record], tmp_path / "standard.mgf", 122.0)
    params = MatchParameters()
    standards = measure_reference_standards([ReferenceStandard(str(standard), "Phenylephrine")], unit_library, params)
    with_standard = match_run(sample, unit_library, params, reference_standards=standards)
    without = {f["name"]: f for f in match_run(sample, unit_library, params)["findings"]}
    finding = next(f for f in with_standard["findings"] if f["name"] == "Phenylephrine")
    alone = without["Phenylephrine"]
    assert finding["reference_standard"]["within"]
    # the case: a rule other than "isomer not excluded", whose isomer criterion failed without the standard
    assert alone["rule_id"] != "isomer_not_excluded" and alone["held_by"]
    assert any(c.startswith(ISOMER_CRITERIA) for c in alone["criteria_failed"])
    # with it: the isomer criterion met by the standard, nothing left holding it; the rule and level unchanged
    assert not any(c.startswith(ISOMER_CRITERIA) for c in finding["criteria_failed"])
    assert any(c.startswith("isomers excluded by the reference standard run standard.mgf") for c in finding["criteria_met"])
    assert finding["held_by"] == []
    assert (finding["verdict"], finding["rule_id"]) == (alone["verdict"], alone["rule_id"])
    assert [c for c in finding["criteria_failed"]] == [c for c in alone["criteria_failed"]
                                                       if not c.startswith(ISOMER_CRITERIA)]
    # the report says what the criteria say: excluded by the standard, no compound of another formula left open
    shown = next(f for f in build_report(with_standard, SAMPLE_INFO, now=FIXED_NOW)["findings"]
                 if f["name"] == "Phenylephrine")
    assert any("are excluded by the reference standard run standard.mgf" in n for n in shown["limitations"])
    assert not any(n.startswith("A compound of another formula") for n in shown["limitations"])

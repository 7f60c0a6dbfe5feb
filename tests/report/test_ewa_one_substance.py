"""The EWA export counts substances: findings named Atropine and Hyoscyamine (SWGDRUG holds both:
a racemate and its enantiomer, one compound -- docs/compound-identity.md) are one row naming
both; Ephedrine and Pseudoephedrine (diastereomers, two compounds) stay two rows. The findings
carry the real SWGDRUG records' identifiers and the names the match pipeline gives them."""
from __future__ import annotations

import numpy as np
import pytest

from nps_id.chem.ewa_groups import Override
from nps_id.library import Library
from nps_id.match.findings_build import compound_names
from nps_id.report.document import build_report
from nps_id.report.ewa import ewa_rows
from nps_id.search.reference import Reference
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO, make_results


@pytest.fixture(scope="module")
def swgdrug(swgdrug_library):
    with Library.open(swgdrug_library) as lib:
        return Reference.from_library(lib)


def _doc(reference: Reference, names: tuple[str, str]) -> dict:
    """The synthetic run's two identified benzodiazepine findings renamed as the two SWGDRUG
    records, with their identifiers; a laboratory override makes both exportable (SWGDRUG's
    tropane and ephedra alkaloids are not NPS in the taxonomy)."""
    results = make_results()
    findings = [f for f in results["findings"] if f["name"] in ("Flubromazepam", "Etizolam")]
    columns = reference.columns
    for finding, name in zip(findings, names):
        row = int(np.flatnonzero(columns["name"] == name)[0])
        finding.update(name=name, inchikey=columns["inchikey"][row], formula=columns["formula"][row],
                       smiles=columns["smiles"][row] or None, structure_status=columns["structure_status"][row] or None,
                       library_row=row, compound_names=compound_names(reference, row))
    overrides = {name.lower(): Override(group="plant_based", subclass=None, nps=True, key=name.lower())
                 for name in names}
    return build_report(results, SAMPLE_INFO, overrides=overrides, now=FIXED_NOW)


def test_atropine_and_hyoscyamine_findings_are_one_ewa_row_naming_both(swgdrug):
    atropine = int(np.flatnonzero(swgdrug.columns["name"] == "Atropine")[0])
    assert compound_names(swgdrug, atropine) == ["Atropine", "Hyoscyamine"]
    rows = [r for r in ewa_rows(_doc(swgdrug, ("Atropine", "Hyoscyamine"))) if r["ewa_group"] == "Plant-based substances"]
    assert len(rows) == 1
    assert {rows[0]["substance"], rows[0]["also_found_as"]} == {"Atropine", "Hyoscyamine"}


def test_diastereomer_findings_stay_two_ewa_rows(swgdrug):
    assert compound_names(swgdrug, int(np.flatnonzero(swgdrug.columns["name"] == "Ephedrine")[0])) is None
    rows = [r for r in ewa_rows(_doc(swgdrug, ("Ephedrine", "Pseudoephedrine"))) if r["ewa_group"] == "Plant-based substances"]
    assert sorted(r["substance"] for r in rows) == ["Ephedrine", "Pseudoephedrine"]
    assert all(r["also_found_as"] is None for r in rows)


def test_compound_names_never_join_findings_their_identifiers_tell_apart(swgdrug):
    """A hand-edited results file whose Ephedrine finding lists Pseudoephedrine among its compound's
    names (diastereomers), or whose Etizolam lists Flubromazepam (another skeleton): the export
    keeps two rows (stop 29: one, the other substance only "also found as")."""
    doc = _doc(swgdrug, ("Ephedrine", "Pseudoephedrine"))
    ephedrine = next(f for f in doc["findings"] if f["name"] == "Ephedrine")
    ephedrine["compound_names"] = ["Ephedrine", "Pseudoephedrine"]
    rows = [r for r in ewa_rows(doc) if r["ewa_group"] == "Plant-based substances"]
    assert sorted(r["substance"] for r in rows) == ["Ephedrine", "Pseudoephedrine"]
    doc = build_report(make_results(), SAMPLE_INFO, now=FIXED_NOW)
    etizolam = next(f for f in doc["findings"] if f["name"] == "Etizolam")
    assert etizolam["inchikey"] and next(f for f in doc["findings"] if f["name"] == "Flubromazepam")["inchikey"]
    etizolam["compound_names"] = ["Etizolam", "Flubromazepam"]
    assert {"Etizolam", "Flubromazepam"} <= {r["substance"] for r in ewa_rows(doc)}

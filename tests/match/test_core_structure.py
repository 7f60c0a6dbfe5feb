"""The core structure a suspected new substance's closest compounds share (``core_smiles``, issue 18
item 4): a SMILES a chemist or another tool reads as a structure, a substructure of every closest
compound it was made from, and drawn in the reports. Until stop 44 it was the MCS's SMARTS read back,
query atoms and ':' bonds (``C1:C:C:C:C:C:1``), and for one core in nine not a substructure of them.

Real data: the LRCFS card FL22/009-2 matched against SWGDRUG 3.4 without its benzodiazepines
(README, "Quick tour"), and those benzodiazepines searched against that library."""
from __future__ import annotations

import gzip
import json

import pytest
from click.testing import CliRunner

from nps_id.batch.runner import results_path
from nps_id.cli import cli
from nps_id.match.assess import core_structure
from nps_id.report import render
from nps_id.report.document import build_report
from tests.batch import test_summary_group_probability as benzodiazepines_out
from tests.conftest import data_path
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO, make_results

Chem = pytest.importorskip("rdkit.Chem")
LEFT_OUT = benzodiazepines_out.LEFT_OUT
card_batch = benzodiazepines_out.card_batch  # the library without them, and the card's batch run on it


def assert_a_core_of(core: str, smiles: list[str]) -> None:
    """``core`` parses as SMILES (not SMARTS: no ':' bond between aliphatic atoms) and each structure holds it."""
    parsed = Chem.MolFromSmiles(core)
    assert parsed is not None and parsed.GetNumAtoms() >= 4, core
    assert ":" not in core, core  # an aromatic ring is written lowercase
    for s in smiles:
        assert Chem.MolFromSmiles(s).HasSubstructMatch(parsed), (core, s)


def test_the_card_leads_cores_are_smiles_their_closest_compounds_hold_and_the_report_draws(card_batch, tmp_path):
    out, _ = card_batch
    results = json.loads(results_path(out, "220223030.mzML").read_text(encoding="utf-8"))
    leads = [f for f in results["findings"] if f.get("suspected_group") == "Benzodiazepines" and f["new_substance"]]
    assert len(leads) == 2
    for lead in leads:
        closest = [c["smiles"] for c in lead["closest_compounds"] if c.get("smiles")]
        assert len(closest) >= 2 and lead["core_smiles"], lead["closest_compounds"]
        assert_a_core_of(lead["core_smiles"], closest)
        assert Chem.MolFromSmiles(lead["core_smiles"]).GetRingInfo().NumRings() >= 1  # not a chain of the rings' atoms
    html = render(build_report(results, SAMPLE_INFO, now=FIXED_NOW), "html")[".html"].decode()
    section = html.split('id="new-substances"')[1].split("<section")[0]
    for lead in leads:
        assert f"(maximum common substructure): {lead['core_smiles']}" in section
    assert section.count("<svg") >= 2


def test_left_out_benzodiazepines_searched_get_cores_their_closest_compounds_hold(card_batch, tmp_path):
    _, library = card_batch
    records = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).split(b"\r\n\r\n")
    left = [r for r in records if any(r.startswith(b"Name: " + name + b"\r\n") for name in LEFT_OUT)]
    (tmp_path / "left.msp").write_bytes(b"\r\n\r\n".join(left) + b"\r\n")
    ran = CliRunner().invoke(cli, ["search", str(tmp_path / "left.msp"), "-l", str(library), "--format", "jsonl",
                                   "-o", str(tmp_path / "hits.jsonl"), "--top", "10"])
    assert ran.exit_code == 0, ran.output
    closest: dict[str, dict[str, str]] = {}
    for line in (tmp_path / "hits.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        hits = closest.setdefault(row["query_name"], {})
        if row.get("smiles") and len(hits) < 3:
            hits.setdefault(row["name"], row["smiles"])
    cores = {q: core_structure(list(hits.values())) for q, hits in closest.items()}
    assert len(cores) == len(left) and sum(c is not None for c in cores.values()) >= len(left) - 1, cores
    for query, core in cores.items():
        if core is not None:
            assert_a_core_of(core, list(closest[query].values()))


@pytest.mark.parametrize("old_core", ["C1:C:C:C:C:C:1", "[#6]1:[#6]:[#6]:[#6]:[#6]:[#6]:1", "C1:C:C"])
def test_results_written_before_stop_44_still_render(old_core, tmp_path):
    """A results file holds the old form (a SMARTS read back) or worse: the report renders, drawing it
    with its caption where it parses, leaving both out where it does not."""
    results = make_results()
    finding = next(f for f in results["findings"] if f["verdict"] == "tentative")
    finding.update(new_substance=True, suspected_group="Synthetic cathinones", estimated_mass=261,
                   closest_compounds=[], core_smiles=old_core)
    doc = build_report(results, SAMPLE_INFO, now=FIXED_NOW)
    section = render(doc, "html")[".html"].decode().split('id="new-substances"')[1].split("<section")[0]
    drawn = Chem.MolFromSmiles(old_core) is not None
    assert ("<svg" in section) == (f"(maximum common substructure): {old_core}" in section) == drawn
    assert render(doc, "pdf")[".pdf"].startswith(b"%PDF")


@pytest.mark.parametrize("smiles, expected", [
    (["C[C@H](N)Cc1ccccc1", "C[C@@H](N)Cc1ccc(F)cc1"], "CC(N)Cc1ccccc1"),  # enantiomers: no configuration
    (["C/C=C/c1ccccc1", "C/C=C\\c1ccc(F)cc1"], "CC=Cc1ccccc1"),  # E and Z: none either
    (["[13CH3]NC(C)Cc1ccccc1", "CNC(C)Cc1ccc(F)cc1"], "CNC(C)Cc1ccccc1"),  # a labelled first compound
])
def test_a_core_claims_no_stereo_or_isotope_the_compounds_do_not_share(smiles, expected):
    """The MCS compares neither stereo nor isotopes: until then the core was written with the first
    compound's (an (S) core for an (S) and an (R) compound), or, labelled, refused by the check."""
    core = core_structure(smiles)
    assert core is not None and Chem.CanonSmiles(core) == Chem.CanonSmiles(expected), core
    assert_a_core_of(core, smiles)


@pytest.mark.parametrize("smiles", [
    ["C[NH2+]CC(C)c1ccccc1", "CNCC(C)c1ccc(F)cc1"],  # charged and not: None, never a core one lacks
    ["xx", "C1CC", "CNC(C)Cc1ccccc1"],  # two that do not parse: fewer than two structures
    ["[CH2]CCCc1ccccc1", "CCCCc1ccccc1"],  # a radical
    ["CC(=O)O[Hg]c1ccccc1", "CC(=O)O[Hg]c1ccc(C)cc1"],  # a metal
    ["C" * 300, "C" * 299 + "O"],  # huge
])
def test_odd_closest_structures_give_none_or_a_core_each_holds(smiles):
    core = core_structure(smiles)
    if core is not None:
        assert_a_core_of(core, [s for s in smiles if Chem.MolFromSmiles(s) is not None])


def test_a_call_leaves_the_callers_rdkit_logging_as_it_was(capfd):
    """core_structure silenced RDKit's log for the whole process (RDLogger.DisableLog, stop 45): a library user's
    own parse errors went unsaid after one call. Now silent for the call only."""
    from rdkit import RDLogger, rdBase

    before = rdBase.LogStatus()
    RDLogger.EnableLog("rdApp.error")  # what a library user sets to see RDKit's errors
    try:
        status = rdBase.LogStatus()
        # nordazepam, diazepam, flubromazepam, and one that does not parse: left out, unsaid
        core = core_structure(["O=C1CN=C(c2ccccc2)c2cc(Cl)ccc2N1", "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",
                               "O=C1CN=C(c2ccccc2F)c2cc(Br)ccc2N1", "C1CC(not smiles"])
        assert core is not None
        assert rdBase.LogStatus() == status
        assert "SMILES Parse Error" not in capfd.readouterr().err
        assert Chem.MolFromSmiles("C1CC(") is None
        assert "SMILES Parse Error" in capfd.readouterr().err  # the caller's own error, said
    finally:
        for line in before.splitlines():
            level, state = line.split(":")
            (RDLogger.EnableLog if state == "enabled" else RDLogger.DisableLog)(level)

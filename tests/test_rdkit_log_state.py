"""nps_id as a library leaves RDKit's log as its caller set it (stop 45).

Ten modules called ``RDLogger.DisableLog("rdApp.*")`` -- one at import time -- so a chemist's own
RDKit errors went unsaid for the rest of the process once an nps_id function had run. Each now
blocks RDKit's log for its own call only (``rdBase.BlockLogs``): its expected parse failures stay
unsaid, the caller's are said.
"""
from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from rdkit import Chem, RDLogger, rdBase

from nps_id.io import read
from tests.conftest import data_path

#: Not a SMILES: RDKit logs "SMILES Parse Error" at rdApp.error when it reads it.
UNPARSABLE = "C1CC(not smiles"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def structures() -> list[str]:
    """The first 40 SMILES of the MassBank EI library, and one that does not parse."""
    spectra = read(data_path("massbank", "ei-library.msp.gz"))
    return [s.get("smiles") for s in itertools.islice((s for s in spectra if s.get("smiles")), 40)] + [UNPARSABLE]


@pytest.fixture
def caller_logging():
    """The caller's choice: RDKit's errors and warnings said; restored afterwards."""
    before = rdBase.LogStatus()
    RDLogger.EnableLog("rdApp.error")
    RDLogger.EnableLog("rdApp.warning")
    yield rdBase.LogStatus()
    for line in before.splitlines():
        level, state = line.split(":")
        (RDLogger.EnableLog if state == "enabled" else RDLogger.DisableLog)(level)


def _thermal(smiles: list[str]) -> Any:
    from nps_id.chem.thermal import thermal_relatives

    return [thermal_relatives(s, 300) for s in smiles]


def _stereo(smiles: list[str]) -> Any:
    from nps_id.chem.stereo import diastereomer_classes

    return [diastereomer_classes(s) for s in smiles]


def _ewa(smiles: list[str]) -> Any:
    from nps_id.chem.ewa_groups import classify_structures, decided_by_structure

    return [decided_by_structure(s) for s in smiles], classify_structures(smiles[-3:])


def _identity(smiles: list[str]) -> Any:
    from nps_id.library.structures import Chemistry

    chemistry = Chemistry()
    return [chemistry.identity(s, "") for s in smiles]


def _drawing(smiles: list[str]) -> Any:
    from nps_id.report.plots import structure_svg

    return [structure_svg(s) for s in smiles]


def _fingerprint(smiles: list[str]) -> Any:
    from nps_id.search.analogue_confidence import fingerprint

    return [fingerprint(s) for s in smiles]


def _isomers(smiles: list[str]) -> Any:
    from nps_id.chem.isomers import enumerate_isomers

    return [enumerate_isomers(s) for s in smiles]


def _relation(smiles: list[str]) -> Any:
    from nps_id.compound import structure_relation

    return [structure_relation(a, b) for a, b in zip(smiles, smiles[1:])]


@pytest.mark.parametrize("use", [_thermal, _stereo, _ewa, _identity, _drawing, _fingerprint, _isomers, _relation],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_call_leaves_the_callers_rdkit_logging_as_it_was(use: Callable[[list[str]], Any], structures,
                                                          caller_logging, capfd):
    capfd.readouterr()
    use(structures)
    assert rdBase.LogStatus() == caller_logging
    assert capfd.readouterr().err == ""  # its own expected failures and warnings, unsaid
    assert Chem.MolFromSmiles("C1CC(") is None
    assert "SMILES Parse Error" in capfd.readouterr().err  # the caller's own error, said


def test_library_facts_structures_leave_the_callers_rdkit_logging_as_it_was(massbank_ei_build, caller_logging,
                                                                           capfd):
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.reference import Reference

    with open_verified(massbank_ei_build[1]) as lib:
        facts = LibraryFacts(Reference.from_library(lib))
    capfd.readouterr()
    verified = [facts.structure(row) for row in range(200)]
    assert sum(s is not None for s in verified) > 100  # the structures were read
    assert rdBase.LogStatus() == caller_logging
    assert capfd.readouterr().err == ""
    assert Chem.MolFromSmiles("C1CC(") is None
    assert "SMILES Parse Error" in capfd.readouterr().err


@pytest.mark.parametrize("module", ["nps_id.chem.thermal", "nps_id.chem.isomers", "nps_id.chem.stereo", "nps_id.chem.ewa_groups",
                                    "nps_id.library.structures", "nps_id.report.plots",
                                    "nps_id.search.analogue_confidence", "nps_id.compound",
                                    "nps_id.match.library_facts"])
def test_importing_a_module_leaves_rdkit_logging_on(module: str):
    """nps_id.chem.thermal disabled RDKit's log when imported: a fresh process's own errors went
    unsaid before it called anything."""
    code = f"import {module}\nfrom rdkit import Chem\nChem.MolFromSmiles('C1CC(')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "SMILES Parse Error" in done.stderr

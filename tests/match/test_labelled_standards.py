"""Isotope-labelled standards in real libraries never stand for their parent compound.

A labelled standard shares its parent's InChIKey first block, but its ions are shifted: when the
parent is not in the library, "the library holds <parent>" from the standard's record would let
an unknown's low score against it exclude the parent (stop 22's butyryl fentanyl-d5 case). Only
SWGDRUG writes deuterium into the formula; MassBank writes the parent's formula and marks the label
in the name ("-[d8]", "-[1-13C]", "(D6)") and, where it has one, in the InChI's isotopic layer.
"""
from __future__ import annotations

import pytest

from nps_id.io import read
from nps_id.match.library_facts import LibraryFacts
from nps_id.search.reference import Reference
from tests.conftest import data_path

FILES = {"ei": ("massbank", "ei-library.msp.gz"), "swgdrug": ("swgdrug", "SWGDRUG-3.4.msp.gz")}


@pytest.fixture(scope="module")
def libraries(massbank_ms2_spectra):
    """The three libraries' records; the MS/MS library's from the session's one read of it."""
    return {"ms2": massbank_ms2_spectra} | {key: list(read(data_path(*parts))) for key, parts in FILES.items()}


def _holds(spectra, name: str) -> str | None:
    """What LibraryFacts says the library holds under ``name``'s first block, when the library
    keeps the records named ``name`` and none other of that block (the parent left out)."""
    kept = [s for s in spectra if s.name == name]
    assert kept, name
    block = str(kept[0].get("inchikey"))[:14]
    others = [s for s in spectra if str(s.get("inchikey") or "")[:14] != block][:50]
    return LibraryFacts(Reference.from_spectra(kept + others)).name_of_block(block)


@pytest.mark.parametrize("library,name", [
    ("swgdrug", "Butyryl fentanyl-d5"),                   # formula C23H25D5N2O
    ("ei", "Citric acid-[1,2,3,4,5,6-13C6]"),             # formula C6H8O7, InChI /i layer
    ("ei", "4-METHYLBENZOIC ACID (ALPHA-13C)"),
    ("ei", "PHTHALIC ACID DIMETHYL ESTER (D6)"),
    ("ei", "(2,2,2,-2H3)ACETOPHENONE"),                   # the InChI's /i layer only
    ("ms2", "AA-[d8]"),                                   # the name only: InChI and formula unlabelled
    ("ms2", "Resolvin D2-[d5]"),
    ("ms2", "Citric acid-[1-13C]"),
])
def test_a_labelled_standard_does_not_make_the_library_hold_its_parent(libraries, library, name):
    assert _holds(libraries[library], name) is None


@pytest.mark.parametrize("library,name", [
    ("ms2", "Cer[AS] d34:1"),      # d18:1/16:0 sphingoid base notation, not deuterium
    ("ms2", "Cer[NP] t36:0"),      # t: trihydroxy base, not tritium
    ("ms2", "D-(+)-Malic acid"),
    ("ms2", "Calciferol"),
    ("ei", "T2 TOXIN"),
    ("ei", "3-D1FLUORAMINO-1,2,3-TRIFLUORODIAZIRIDINE"),  # MassBank's typo for DIFLUORAMINO
])
def test_names_that_only_look_labelled_are_the_compound(libraries, library, name):
    assert _holds(libraries[library], name) == name


def test_a_hostile_library_name_is_read_in_linear_time():
    # A record named by a run of commas made the name pattern rescan the run from every comma
    # (quadratic: 45 s for 100,000 characters) the first time a search asked what the library holds.
    import time

    import numpy as np

    from nps_id.spectrum import Spectrum

    block = "KWTSXDURSIMDCE"
    spectra = [Spectrum(np.array([44.0, 91.0]), np.array([999.0, 300.0]),
                        {"name": name, "inchikey": f"{block}-UHFFFAOYSA-N", "formula": "C9H13N"})
               for name in ("Amphetamine" + "," * 100_000, "Amphetamine-[5,6,8,9-d4]")]
    facts = LibraryFacts(Reference.from_spectra(spectra))
    start = time.perf_counter()
    assert facts.name_of_block(block).startswith("Amphetamine,")
    assert time.perf_counter() - start < 2
    assert LibraryFacts(Reference.from_spectra(spectra[1:])).name_of_block(block) is None

"""A heavier compound not excluded, EI (stop 47, docs/match.md "A heavier compound, EI"): a spectrum without an ion
at the hit's nominal mass may be a heavier compound's fragments, so it is not ``identified`` as the hit when the
library's own compounds without a molecular ion match a heavier compound as well (the ``heavier`` curve of
isomer_rates.json, ``benchmarks/train_isomer_rates.py --heavier``). Real MassBank EI records: triacetin (218), whose
spectrum ends at m/z 145, against a library without it, which holds 1,3-diacetin (176)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("rdkit")

from nps_id.errors import LibraryError  # noqa: E402
from nps_id.match import isomer_rule  # noqa: E402
from nps_id.match.assess import assess_search  # noqa: E402
from nps_id.match.molecular_mass import nominal_spectrum  # noqa: E402
from nps_id.match.verdict import VerdictThresholds  # noqa: E402
from nps_id.search.engine import SearchSettings, search  # noqa: E402
from nps_id.search.reference import Reference  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _found(name: str, library_names: set[str], thresholds: VerdictThresholds = VerdictThresholds()):
    """(the MassBank EI identity query ``name``, its top hit's name, its assessment) against the library records
    of those names."""
    from nps_id.io import read
    from tests.conftest import data_path

    (query,) = [s for s in read(data_path("massbank", "ei-queries-identity.msp.gz")) if s.get("name") == name]
    library = [s for s in read(data_path("massbank", "ei-library.msp.gz")) if s.get("name") in library_names]
    reference = Reference.from_spectra(library)
    hits = search([query], reference, SearchSettings(top_k=20))
    found = assess_search([query], hits, reference, analog=False, thresholds=thresholds)[0]
    return query, str(reference.columns["name"][hits.row[0]]), found


@pytest.fixture(scope="module")
def triacetin_left_out():
    return _found("TRIACETIN", {"1,3-DIACETIN", "MONOACETIN"})


def test_triacetin_left_out_is_not_identified_as_diacetin(triacetin_left_out):
    query, hit, found = triacetin_left_out
    assert hit == "1,3-DIACETIN" and found.isomers.heavier == 176
    assert nominal_spectrum(query.mz, query.intensity).get(176, 0.0) == 0.0  # why: no ion at the hit's mass
    assert found.verdict.verdict == "tentative" and found.verdict.rule_id == "isomer_not_excluded"
    assert any(c.startswith("a heavier compound excluded (not possible from the spectrum alone: it shows no ion at "
                            "the hit's mass, 176") for c in found.verdict.criteria_failed)
    assert "a heavier compound is not excluded" in found.verdict.rule
    assert "or an isomer the spectrum" not in found.verdict.rule  # one reason, and it is no isomer


def test_switched_off_the_absent_compound_is_named_as_the_lighter_one():
    # what the rule is for: without it triacetin's spectrum is "identified" as 1,3-diacetin
    _, hit, found = _found("TRIACETIN", {"1,3-DIACETIN", "MONOACETIN"}, VerdictThresholds(isomer_heavier_ion_level=0))
    assert hit == "1,3-DIACETIN" and found.verdict.verdict == "identified" and found.isomers.heavier == 0


def test_a_hit_whose_molecular_ion_the_spectrum_shows_stays_identified():
    # phenylurethane (165) matches its record at MF ~858, where the heavier curve is above the bound: only
    # its molecular ion keeps a heavier compound excluded
    query, hit, found = _found("PHENYLURETHANE", {"PHENYLURETHAN", "1,3-DIACETIN"})
    assert hit == "PHENYLURETHAN" and nominal_spectrum(query.mz, query.intensity).get(165, 0.0) >= 0.005
    _, _, without_ion = _found("PHENYLURETHANE", {"PHENYLURETHAN"}, VerdictThresholds(isomer_heavier_ion_level=2.0))
    assert without_ion.isomers.heavier == 165  # read as if no ion were there (above any base-peak fraction)
    assert found.isomers.heavier == 0 and found.verdict.verdict == "identified"


@pytest.mark.parametrize("damage", [lambda c: c[:19], lambda c: ["high", *c[1:]], lambda c: [*c[:-1], 7]])
def test_a_malformed_heavier_curve_is_refused_as_any_curve(tmp_path, damage):
    data = json.loads(isomer_rule.RATES_PATH.read_text(encoding="utf-8"))
    entry = data["contexts"]["other"][isomer_rule.HEAVIER]
    entry["rate_at_score"] = damage(entry["rate_at_score"])
    path = tmp_path / "isomer_rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LibraryError) as caught:
        isomer_rule.load_rates(path)
    assert "other/heavier" in str(caught.value) and "\n" not in str(caught.value)


def test_the_shipped_file_has_a_heavier_curve_per_ei_context_falling_with_the_score():
    rates = isomer_rule.load_rates()
    for context in ("drug", "other"):
        curve = rates[context][isomer_rule.HEAVIER]
        assert curve[0] > 0.045 > curve[-1] and list(curve) == sorted(curve, reverse=True)


def test_heavier_without_add_to_is_one_line_exit_3(tmp_path):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "train_isomer_rates.py"), str(tmp_path / "lib.h5"),
                             "--heavier", "-o", str(tmp_path / "out.json")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("train_isomer_rates: error: --heavier adds the 'heavier' curves to a rates file: "
                                     "give it with --add-to")
    assert not (tmp_path / "out.json").exists()


def test_the_short_forms_say_a_heavier_compound_not_an_isomer(triacetin_left_out):
    """``nps-id match``'s row tag, the reports' note and their reference-standard line read "an isomer" of
    1,3-diacetin for triacetin's spectrum (a new user, stop 47): they say what the rule says it may be."""
    from nps_id.commands.match import _held_back
    from nps_id.report.present import isomers_open, reference_standard_field
    _, hit, found = triacetin_left_out
    finding = {"name": hit, "verdict": found.verdict.verdict, "rule": found.verdict.rule,
               "rule_id": found.verdict.rule_id, "criteria_met": found.verdict.criteria_met, "isomers_not_excluded": [],
               "held_by": found.verdict.held_by, "rt_min": 8.104,  # a GC run's finding (one without an RT: test_held_by)
               "new_substance": False,
               "reference_standard_run": "unknown", "reference_standard": None}
    assert _held_back(finding) == " [isomer not excluded: the hit or a heavier compound]"
    assert isomers_open(finding) == "1,3-DIACETIN or a heavier compound the evidence does not exclude"
    assert reference_standard_field(finding).endswith(": one run at this RT would exclude a heavier compound")

"""A homologue not excluded, EI (stop 51, docs/match.md "A homologue, EI"): a spectrum showing neither the hit's
molecular ion nor its homologue's cannot tell a long chain from one CH2 longer or shorter, so it is not ``identified``
when the library's own homologue pairs match that well (the ``homologue`` curve of isomer_rates.json,
``benchmarks/train_isomer_rates.py --homologue``). Real MassBank EI records: 10-undecenyl acetate (212), whose
spectrum ends near m/z 152, against a library without it that holds 11-dodecenyl acetate (226)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("rdkit")

from nps_id.match import isomer_rule  # noqa: E402
from nps_id.match.assess import assess_search  # noqa: E402
from nps_id.match.molecular_mass import nominal_spectrum  # noqa: E402
from nps_id.match.verdict import VerdictThresholds, held_words  # noqa: E402
from nps_id.search.engine import SearchSettings, search  # noqa: E402
from nps_id.search.reference import Reference  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
ACETATES = {"10-UNDECENYL ACETATE", "11-DODECENYL ACETATE", "TRANS-2-DODECENYL ACETATE", "(Z)-3-DODECEN-1-OL"}


def _found(query_name: str, library_names: set[str], thresholds: VerdictThresholds = VerdictThresholds()):
    """(the MassBank EI library record ``query_name`` as an unknown, its top hit's name, its assessment) against the
    library records of ``library_names`` (the query's own left out when not named)."""
    from nps_id.io import read
    from tests.conftest import data_path

    records = [s for s in read(data_path("massbank", "ei-library.msp.gz")) if s.get("name") in library_names | {query_name}]
    (query,) = [s for s in records if s.get("name") == query_name]
    reference = Reference.from_spectra([s for s in records if s.get("name") in library_names])
    hits = search([query], reference, SearchSettings(top_k=20))
    found = assess_search([query], hits, reference, analog=False, thresholds=thresholds)[0]
    return query, str(reference.columns["name"][hits.row[0]]), found


@pytest.fixture(scope="module")
def undecenyl_left_out():
    return _found("10-UNDECENYL ACETATE", ACETATES - {"10-UNDECENYL ACETATE"})


def test_undecenyl_acetate_left_out_is_not_identified_as_its_homologue(undecenyl_left_out):
    query, hit, found = undecenyl_left_out
    assert hit == "11-DODECENYL ACETATE"
    relative = nominal_spectrum(query.mz, query.intensity)
    assert relative.get(226, 0.0) == 0.0 and relative.get(212, 0.0) == 0.0  # why: neither molecular ion
    assert found.verdict.verdict == "tentative" and found.verdict.rule_id == "isomer_not_excluded"
    assert "homologue" in found.verdict.held_by
    # the absent compound itself is among the homologues named (one CH2 fewer)
    assert any(n.name is None and n.move == isomer_rule.HOMOLOGUE and n.smiles == "C=CCCCCCCCCCOC(C)=O"
               for n in found.isomers.homologues)
    assert any(c.startswith("a homologue excluded (not possible from the spectrum alone") or
               c.startswith("a heavier compound excluded (not possible") for c in found.verdict.criteria_failed)
    assert "a homologue (one or two CH2 more or fewer)" in found.verdict.rule


def test_switched_off_the_absent_compound_is_named_as_its_homologue():
    # what the rule is for: without it (and without the heavier-compound hold, which does not read a lighter
    # unknown) 10-undecenyl acetate's spectrum is "identified" as 11-dodecenyl acetate
    off = VerdictThresholds(isomer_homologue_ion_level=0)
    _, hit, found = _found("10-UNDECENYL ACETATE", ACETATES - {"10-UNDECENYL ACETATE"}, off)
    assert hit == "11-DODECENYL ACETATE" and found.isomers.homologues == ()
    assert found.verdict.verdict == "identified"


def test_with_its_own_record_in_the_library_the_compound_is_identified():
    # its own record matches it far above where the library's homologue pairs reach the bound: nothing held
    _, hit, found = _found("10-UNDECENYL ACETATE", ACETATES)
    assert hit == "10-UNDECENYL ACETATE" and found.isomers.homologues == ()
    assert found.verdict.verdict == "identified"


def test_the_shipped_file_has_a_homologue_curve_for_other_compounds_only_falling_with_the_score():
    rates = isomer_rule.load_rates()
    curve = rates["other"][isomer_rule.HOMOLOGUE]
    assert all(a >= b for a, b in zip(curve, curve[1:]))
    # the library's drug series hold no homologue pair of a chain of 8 carbons or more: the rule never holds a drug
    assert isomer_rule.HOMOLOGUE not in rates["drug"]


def test_held_words_say_every_reason_that_is_no_isomer():
    assert held_words(["homologue"]) == "a homologue (one or two CH2 more or fewer)"
    assert held_words(["heavier_compound", "homologue"]) == "a heavier compound or a homologue (one or two CH2 more or fewer)"
    assert held_words(["isomer", "homologue"]) == "an isomer or a homologue (one or two CH2 more or fewer)"
    assert held_words(["isomer"]) is None


def test_homologue_without_add_to_is_one_line_exit_3(tmp_path):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "train_isomer_rates.py"), str(tmp_path / "lib.h5"),
                             "--homologue", "-o", str(tmp_path / "out.json")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3
    assert result.stderr.strip() == ("train_isomer_rates: error: --homologue adds the 'homologue' curves to a rates "
                                     "file: give it with --add-to")


def test_a_malformed_homologue_curve_is_refused_as_any_curve(tmp_path):
    data = json.loads(isomer_rule.RATES_PATH.read_text(encoding="utf-8"))
    data["contexts"]["other"][isomer_rule.HOMOLOGUE]["rate_at_score"] = [1.5] * 20
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(Exception) as caught:
        isomer_rule.load_rates(path)
    assert "other/homologue" in str(caught.value)


@pytest.mark.parametrize("extra, unread", [
    (["--heavier"], "--homologue"), (["--pairs-out", "{tmp}/pairs.tsv"], "--pairs-out"),
    (["--ms2-moves", "double_bond"], "--ms2-moves"),
])
def test_homologue_with_an_option_its_run_does_not_read_is_one_line_exit_3(tmp_path, extra, unread):
    # attack51b: --heavier --homologue learned the heavier curves alone, and --homologue --pairs-out wrote no pairs,
    # both exiting 0 -- refused before any library is opened
    result = subprocess.run([sys.executable, str(BENCHMARKS / "train_isomer_rates.py"), str(tmp_path / "lib.h5"),
                             "--homologue", *(e.format(tmp=tmp_path) for e in extra), "--add-to", str(isomer_rule.RATES_PATH),
                             "-o", str(tmp_path / "out.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    first = "--heavier" if unread == "--homologue" else "--homologue"
    assert result.stderr.strip() == (f"train_isomer_rates: error: {first} learns only its own curves and does not read "
                                     f"{unread}: run them one at a time")
    assert not (tmp_path / "out.json").exists()


def test_homologue_on_a_library_without_homologue_pairs_writes_nothing_exit_3(tmp_path):
    # attack51b: given an MS/MS library (no EI record), --homologue wrote the rates file with every 'homologue' curve
    # removed -- the rule switched off -- and exited 0; onto the shipped file (the documented update in place) silently
    from nps_id.library import build_library
    from nps_id.search.index import build_indexes
    from tests.conftest import data_path

    taken = iter(range(40))
    library = tmp_path / "ms2.h5"
    build_library([data_path("massbank", "ms2-library.msp.gz")], library, name="MS2", release="test", lenient=True,
                  index_builder=build_indexes, select=lambda _: next(taken, None) is not None, names_to_structures=False)
    rates = tmp_path / "rates.json"
    rates.write_bytes(isomer_rule.RATES_PATH.read_bytes())
    result = subprocess.run([sys.executable, str(BENCHMARKS / "train_isomer_rates.py"), str(library), "--homologue",
                             "--add-to", str(rates), "-o", str(rates)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "train_isomer_rates: error: ms2.h5: no homologue pair of a chain of 8 or more carbons (EI records with verified "
        "structures); every 'homologue' curve would be removed -- nothing written")
    assert rates.read_bytes() == isomer_rule.RATES_PATH.read_bytes()

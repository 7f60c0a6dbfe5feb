"""An MS/MS hit's isomer curves (stop 49): an acyclic hit's chain-position isomers are checked on MS/MS-learned
curves -- the left-out 4-methylmorpholine N-oxide is no longer `identified` as 5-aminopentanoic acid -- and an
EI hit never reads the move (stop 36 measured it for EI and did not keep it); a finer kind MS/MS pairs never
showed reads its MS/MS coarser kind, not an EI curve (mCPP left out was `identified` as oCPP on the EI drug
ring-chlorine curve)."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from nps_id.match import isomer_rule  # noqa: E402
from tests.match.test_ms2_unit_precursor import _query, _searched  # noqa: E402


def test_a_left_out_n_oxide_is_not_identified_as_an_acyclic_amino_acid(massbank_ms2_spectra):
    query = _query("4-Methylmorpholine-N-oxide")
    found, hit = _searched(massbank_ms2_spectra, query, left_out=True)
    assert hit == "Homopiperidinic acid"  # 5-aminopentanoic acid, the same formula, a unit-resolution record
    assert found.verdict.verdict == "tentative" and found.verdict.rule.startswith("isomer not excluded")
    moves = {n.move for n in found.isomers.not_excluded}
    # what holds it: the hit's chain isomers, which no move enumerated until now (the hit had no isomer)
    assert moves and all(m.startswith("chain_position") for m in moves)
    # norvaline, a chain isomer the library holds and the unknown matches far worse, is excluded
    assert "SNDPXSYFESPGGJ" not in {n.inchikey[:14] for n in found.isomers.not_excluded}


def test_an_ei_hit_never_reads_the_chain_position_move():
    rates = isomer_rule.load_rates()

    def kinds(context: str) -> set[str]:
        check = isomer_rule.check_isomers("NCCCCC(=O)O", context, 882, lambda block: None, {}, min_rate=0.0,
                                          margin=100, rates=rates)
        return {n.move.split(":")[0] for n in check.not_excluded}

    assert kinds("other-ms2") == {"chain_position"}
    assert kinds("other") == set()  # as before stop 49: an EI hit of it has no isomer to hold


def test_a_finer_kind_ms2_pairs_never_showed_reads_the_ms2_coarser_kind():
    rates = isomer_rule.load_rates()
    drug = rates["drug-ms2"]
    # a drug's ring-fluorine positions: no MS/MS pair; the drug MS/MS ring-position curve (its pool), not the
    # EI drug curve, which is 0 from 980 where the MS/MS one never falls under 0.05
    assert "ring_position:F" not in drug
    assert isomer_rule.rate_of("ring_position:F", drug) == drug["ring_position"]
    assert isomer_rule.rate_at(isomer_rule.rate_of("ring_position:F", rates["drug"]), 985) == 0
    assert isomer_rule.rate_at(drug["ring_position"], 985) >= 0.05
    # a kind with no MS/MS curve at any level keeps its EI one
    assert isomer_rule.rate_of("ring_size", rates["other-ms2"]) == rates["other"]["ring_size"]
    # the left-out mCPP's case: its pair was the drug MS/MS ring-chlorine kind's only one
    data = isomer_rule.json.loads(isomer_rule.RATES_PATH.read_text(encoding="utf-8"))
    del data["contexts"]["drug-ms2"]["ring_position:Cl"]
    without = isomer_rule.parse_rates(data)["drug-ms2"]
    assert isomer_rule.rate_of("ring_position:Cl", without) == drug["ring_position"]

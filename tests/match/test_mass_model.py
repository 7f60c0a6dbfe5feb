"""The estimated mass's re-ranker (nps_id/match/mass_model.py) on real spectra and its model file."""
from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from nps_id.errors import LibraryError
from nps_id.match import mass_model
from nps_id.match.mass_model import FEATURES, MassModel, load_model
from nps_id.match.molecular_mass import estimate_masses


def _massbank_with_hits(library, leave_out: bool = False):
    """MassBank EI identity queries, their hits in ``library`` as the estimate reads them (SWGDRUG's:
    compounds mostly not in it, the re-ranker never saw them; ``leave_out``:
    the records of the query's own compound, by InChIKey skeleton, dropped) and their formulas'
    nominal masses."""
    from nps_id.chem.formula import nominal_mass
    from nps_id.io import read
    from nps_id.library import open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.match.molecular_mass import nominal_spectrum
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference
    from tests.conftest import data_path

    queries = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))
    with open_verified(library) as lib:
        reference = Reference.from_library(lib)
    hits = search(queries, reference, SearchSettings(top_k=40 if leave_out else 10))
    facts, keys = LibraryFacts(reference), reference.columns["inchikey"]
    relatives, neighbours, truth = [], [], []
    for q in np.unique(hits.query).tolist():
        own = str(queries[q].get("inchikey") or "")[:14] if leave_out else ""
        at = [j for j in np.flatnonzero(hits.query == q) if not own or str(keys[hits.row[j]])[:14] != own]
        relatives.append(nominal_spectrum(queries[q].mz, queries[q].intensity))
        neighbours.append([facts.neighbour(int(hits.row[j]))._replace(similarity=float(hits.similarity[j]))
                           for j in at[:10]])
        truth.append(nominal_mass(queries[q].get("formula")))
    return relatives, neighbours, truth


def test_the_re_ranker_reads_more_masses_right_on_compounds_it_never_saw(swgdrug_library):
    # MassBank EI spectra searched in SWGDRUG (another library than most of them come from): the
    # re-ranked estimate names the formula's nominal mass more often than the highest score does
    relatives, neighbours, truth = _massbank_with_hits(swgdrug_library)
    with_model = estimate_masses(relatives, neighbours)
    with mock.patch.object(mass_model, "shipped_model", lambda: None):
        without = estimate_masses(relatives, neighbours)
    right = sum(m == t for m, t in zip(with_model, truth))
    before = sum(m == t for m, t in zip(without, truth))
    assert with_model != without
    assert right > before


def test_the_re_ranker_never_silences_the_molecular_ion_checks(swgdrug_library):
    # the verdict rules read the unknown's ion at its estimated mass: where the highest score names
    # a mass the spectrum shows (>= 0.1 %), the re-ranked one is shown too -- but for a TMS
    # derivative's M 15 above its highest ion --, and it never lies more than REACH above the
    # highest score's (MassBank's TMS derivatives: phenoxyacetic acid 152 -> 491)
    from nps_id.match.molecular_mass import molecular_ion

    relatives, neighbours, _ = _massbank_with_hits(swgdrug_library)
    with_model = estimate_masses(relatives, neighbours)
    with mock.patch.object(mass_model, "shipped_model", lambda: None):
        without = estimate_masses(relatives, neighbours)
    moved = [(r, a, b) for r, a, b in zip(relatives, with_model, without) if a != b]
    assert moved
    silyl_m15 = 0
    for relative, new, old in moved:
        assert new <= old + mass_model.REACH
        if relative.get(old, 0.0) >= 0.001 and relative.get(new, 0.0) < 0.001:
            assert mass_model._silyl(mass_model._Ions([relative]), 1)[0] and new == molecular_ion(relative) + 15
            silyl_m15 += 1
    assert silyl_m15 < len(moved)


def test_a_tms_derivative_whose_highest_ion_is_m_minus_15_is_read_at_m(massbank_ei_build):
    # MassBank EI identity queries searched in the MassBank EI library, their own compound's records
    # left out: of the TMS derivatives (73 with 75 or 147) whose highest ion is M-15 the estimate
    # names M for 10 of 13, without the TMS features 6; where the highest ion is M+ it costs <= 1
    from nps_id.match.molecular_mass import molecular_ion

    relatives, neighbours, truth = _massbank_with_hits(massbank_ei_build[1], leave_out=True)
    with_tms = estimate_masses(relatives, neighbours)
    with mock.patch.object(mass_model, "_silyl", lambda ions, n: np.zeros(n, dtype=bool)):
        without = estimate_masses(relatives, neighbours)
    silyl = mass_model._silyl(mass_model._Ions(relatives), len(relatives))

    def right(offset: int) -> tuple[int, int, int]:
        chosen = [i for i in np.flatnonzero(silyl) if truth[i] is not None and molecular_ion(relatives[i]) == truth[i] - offset]
        return len(chosen), sum(with_tms[i] == truth[i] for i in chosen), sum(without[i] == truth[i] for i in chosen)

    count, now, before = right(15)
    assert count >= 10 and now >= 8 and now >= before + 3
    count, now, before = right(0)
    assert count >= 20 and now >= before - 1


def test_a_self_protonated_highest_ion_is_read_as_the_ion_one_below(swgdrug_library):
    # MassBank EI spectra whose highest ion is a weak [M+H]+ above M+ (self-protonation in the ion
    # source; 35 with SWGDRUG hits): with the ion one unit below among the candidates the estimate
    # names M for 10, without it for none (no vote reaches M); where the highest ion is M+ (565) the
    # candidate below costs 1 (549 -> 548: an [M-H]+ read as M)
    from nps_id.match import molecular_mass
    from nps_id.match.molecular_mass import molecular_ion

    relatives, neighbours, truth = _massbank_with_hits(swgdrug_library)
    with_below = estimate_masses(relatives, neighbours)
    with mock.patch.object(molecular_mass, "_ion_below", lambda relative, own: False):
        without = estimate_masses(relatives, neighbours)
    protonated = [i for i, (r, t) in enumerate(zip(relatives, truth)) if t is not None and molecular_ion(r) == t + 1]
    assert len(protonated) >= 10
    right = sum(with_below[i] == truth[i] for i in protonated)
    assert right >= 5 and right > sum(without[i] == truth[i] for i in protonated)
    shown = [i for i, (r, t) in enumerate(zip(relatives, truth)) if t is not None and molecular_ion(r) == t]
    assert sum(with_below[i] == truth[i] for i in shown) >= sum(without[i] == truth[i] for i in shown) - 1


def test_a_model_file_of_other_features_is_refused(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, weights=np.ones(3), features=np.array(["score_share", "top", "rank"]))
    with pytest.raises(LibraryError, match="features are not this version's"):
        load_model(path)
    MassModel(np.arange(len(FEATURES), dtype=float)).save(tmp_path / "new.npz")
    assert load_model(tmp_path / "new.npz").weights.tolist() == list(range(len(FEATURES)))


@pytest.mark.parametrize("arrays, says", [
    ({"weights": np.ones(4)}, "finite numbers"),
    ({"weights": np.full(len(FEATURES), np.nan)}, "finite numbers"),
    ({"weights": np.array(["1"] * len(FEATURES))}, "finite numbers"),
    ({}, "weights"),  # no weights at all
])
def test_a_damaged_model_file_is_one_line_naming_it(tmp_path, arrays, says):
    good = tmp_path / "good.npz"
    MassModel(np.ones(len(FEATURES))).save(good)
    assert load_model(good).weights.tolist() == [1.0] * len(FEATURES)
    bad = tmp_path / "bad.npz"
    np.savez(bad, features=np.array(FEATURES), **arrays)
    with pytest.raises(LibraryError, match=f"bad.npz: not a usable mass model .*{says}"):
        load_model(bad)
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(LibraryError, match="text.npz: not a usable mass model .*not an .npz archive"):
        load_model(tmp_path / "text.npz")


def test_a_damaged_shipped_model_stops_a_search_with_one_line_exit_4(tmp_path, swgdrug_library):
    from click.testing import CliRunner

    from nps_id.cli import cli
    from tests.conftest import data_path

    damaged = tmp_path / "mass_model.npz"
    damaged.write_bytes(mass_model.MODEL_PATH.read_bytes()[:200])
    mass_model.shipped_model.cache_clear()
    try:
        with mock.patch.object(mass_model, "MODEL_PATH", damaged):
            result = CliRunner().invoke(cli, ["search", str(data_path("massbank", "ei-queries-identity.msp.gz")), "-l",
                                              str(swgdrug_library), "--threads", "1", "-o", str(tmp_path / "out.tsv")])
    finally:
        mass_model.shipped_model.cache_clear()
    assert result.exit_code == 4, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"nps-id: error: {damaged}: not a usable mass model ("), lines
    assert not (tmp_path / "out.tsv").exists()


def test_one_re_rank_of_a_whole_search_chooses_what_each_chunk_would(swgdrug_library):
    # estimate_masses re-reads every query's best candidates in one call: on real spectra each
    # query's features, and so its chosen mass, are bit for bit those of its chunk of 64 alone
    from nps_id.match.molecular_mass import _CHUNK

    relatives, neighbours, _ = _massbank_with_hits(swgdrug_library)
    calls = []
    rerank = mass_model.rerank
    with mock.patch.object(mass_model, "rerank", lambda *args: calls.append(args) or rerank(*args)):
        estimate_masses(relatives, neighbours)
    masses, scores, own, rels, hits, model = max(calls, key=lambda args: len(args[0]))  # the batch's (choose_one: one each)
    assert len(masses) > 2 * _CHUNK
    values = np.stack(mass_model.features(masses, scores, own, rels, hits), axis=2)
    chosen = rerank(masses, scores, own, rels, hits, model)
    for start in [*range(0, len(masses), _CHUNK), len(masses) - 1]:
        part = slice(start, start + _CHUNK)
        alone = np.stack(mass_model.features(masses[part], scores[part], own[part], rels[part], hits[part]), axis=2)
        assert alone.tobytes() == values[part].tobytes()
        assert rerank(masses[part], scores[part], own[part], rels[part], hits[part], model).tolist() == chosen[part].tolist()


def test_the_best_candidates_are_ordered_by_score_then_the_higher_mass(swgdrug_library):
    # top() (one stable sort per chunk) must order each query's candidates as choose_one does one
    # query's -- by score, the higher mass first on a tie -- on real score rows, full of ties (zeros)
    from nps_id.match.molecular_mass import estimate_masses

    relatives, neighbours, _ = _massbank_with_hits(swgdrug_library)
    calls = []
    top = mass_model.top
    with mock.patch.object(mass_model, "top", lambda *args: calls.append((args, top(*args))) or calls[-1][1]):
        estimate_masses(relatives, neighbours)
    assert len(calls) > 2
    ties = 0
    for (scores, own, below), (masses, best) in calls:
        for row, o, got_masses, got_scores in zip(scores.tolist(), own.tolist(), masses.tolist(), best.tolist()):
            expected = sorted(((o - below + c, v) for c, v in enumerate(row)), key=lambda mv: (-mv[1], -mv[0]))
            assert list(zip(got_masses, got_scores)) == expected[:mass_model.TOP]
            ties += len({v for _, v in expected[:mass_model.TOP]}) < mass_model.TOP
    assert ties >= 5  # the tie rule was exercised (10 rows of the MassBank queries)

"""``nps-id search``'s verdict columns (``assess_search(fields_only=True)``, the fast path with
its caches) equal what :func:`nps_id.match.assess.assess` gives query by query with every field
computed -- on real EI and MS/MS queries, identity and analogue mode, cold and warm cache."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")

from nps_id.io import read  # noqa: E402
from nps_id.library import open_verified  # noqa: E402
from nps_id.match.assess import assess, assess_search, major_ions_present  # noqa: E402
from nps_id.match.library_facts import LibraryFacts  # noqa: E402
from nps_id.match.ranked_hit import ranked_hit  # noqa: E402
from nps_id.match.verdict import VerdictThresholds  # noqa: E402
from nps_id.search.engine import SearchSettings, search  # noqa: E402
from nps_id.search.analogue_confidence import analogue_search, query_mass  # noqa: E402
from nps_id.search.reference import Reference  # noqa: E402
from nps_id.search.scores.base import kind_of, to_999  # noqa: E402
from tests.conftest import data_path  # noqa: E402


def _one_by_one(spectra, hits, reference, analog, confidence):
    """The oracle: each query's hits as :func:`ranked_hit` reads them, :func:`assess` in full."""
    facts = LibraryFacts(reference)
    level = VerdictThresholds().major_ion_level
    out = {}
    for q in np.unique(hits.query).tolist():
        at = np.flatnonzero(hits.query == q)
        spectrum = spectra[q]
        kind = kind_of(spectrum)
        ranked = [ranked_hit(hits, int(j), kind, analog) for j in at]
        extra = {"analogue_score": ranked[0].score, "analogue_confidence": float(confidence[q])} if analog else {}
        if analog and np.isfinite(hits.delta_mass[at[0]]):  # the close-analogue mass bound
            extra.update(analogue_delta_mass=float(hits.delta_mass[at[0]]), analogue_query_mass=query_mass(spectrum))
        if kind == "ei":
            extra["major_ions"] = major_ions_present(spectrum.mz, *reference.peaks.row(ranked[0].row), level,
                                                     (float(spectrum.mz.min()), float(spectrum.mz.max())))
            extra["n_ions"] = int(spectrum.mz.size)
        if kind == "ms2" and spectrum.get("retention_time") is None:  # the rule text names no RT it lacks (stop 48)
            extra["without_rt"] = True
        precursor = None
        if kind == "ms2" and spectrum.precursor_mz:
            precursor = (float(spectrum.precursor_mz), str(spectrum.get("ion_mode") or "positive").lower())
        out[q] = assess(spectrum.mz, spectrum.intensity, kind, ranked, facts, gap=to_999(hits.gap[at[0]]),
                        isomer_alert=bool(hits.isomer_alert[at[0]]), precursor=precursor, identity=not analog,
                        **extra).fields()
    return out


def _compare(spectra, reference, mode, monkeypatch, tmp_path):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path / mode))
    confidence = None
    if mode == "analog":  # as the search command runs it: the close-analogue rule needs the confidence
        hits, confidence = analogue_search(spectra, reference, SearchSettings(mode=mode, top_k=5))
    else:
        hits = search(spectra, reference, SearchSettings(mode=mode, top_k=5))
    expected = _one_by_one(spectra, hits, reference, mode == "analog", confidence)
    verdicts = {f["verdict"] for f in expected.values()}
    for run in ("cold cache", "warm cache"):
        found = {q: a.fields() for q, a in
                 assess_search(spectra, hits, reference, analog=mode == "analog", fields_only=True,
                               analogue_confidence=confidence).items()}
        assert found == expected, run
    return verdicts


@pytest.mark.parametrize("mode", ["identity", "analog"])
def test_ei_verdict_columns_equal_the_full_assessment(swgdrug_library, mode, monkeypatch, tmp_path):
    rng = np.random.default_rng(11)
    swg = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[::25]
    remeasured = [s.replace(mz=s.mz + rng.uniform(-0.2, 0.2, len(s)), intensity=s.intensity * rng.uniform(0.8, 1.2, len(s)))
                  for s in swg]
    massbank = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[::4]
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    verdicts = _compare(remeasured + massbank, reference, mode, monkeypatch, tmp_path)
    assert len(verdicts) >= 2  # the queries reach more than one rule


@pytest.mark.parametrize("mode", ["identity", "analog"])
def test_ms2_verdict_columns_equal_the_full_assessment(mode, monkeypatch, tmp_path):
    queries = list(read(data_path("massbank", "ms2-queries-identity.msp.gz")))
    reference = Reference.from_spectra(queries[::3])
    verdicts = _compare(queries[:600], reference, mode, monkeypatch, tmp_path)
    assert len(verdicts) >= 2


@pytest.mark.parametrize("mode", ["identity", "analog"])
def test_a_batch_mixing_ei_and_ms2_queries_gives_each_its_one_at_a_time_verdict_and_group(mode, monkeypatch, tmp_path):
    # the search decides every verdict first, then asks each kind's group model once for all its new
    # substances (stop 40): in one batch of EI and MS/MS queries, interleaved, each query still gets
    # the verdict, new-substance call and group `nps-id match` gives it alone (assess, its own model)
    rng = np.random.default_rng(40)
    swg = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))
    ms2 = list(read(data_path("massbank", "ms2-queries-identity.msp.gz")))
    ei = [s.replace(mz=s.mz + rng.uniform(-0.2, 0.2, len(s)), intensity=s.intensity * rng.uniform(0.5, 1.5, len(s)))
          for s in swg[1::40]]
    queries = ms2[1:400:5]
    absent = {str(s.get("inchikey"))[:14] for s in queries[::2]}  # half the MS/MS queries' compounds left out
    spectra = [s for pair in zip(ei, queries) for s in pair]
    reference = Reference.from_spectra(swg[::2] + [s for s in ms2[::3] if str(s.get("inchikey"))[:14] not in absent])
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    _compare(spectra, reference, mode, monkeypatch, tmp_path)
    if mode == "identity":  # new substances of both kinds in the batch, EI ones with the model's group
        found = assess_search(spectra, search(spectra, reference, SearchSettings(top_k=5)), reference, analog=False)
        assert {kind_of(spectra[q]) for q, a in found.items() if a.new_substance} == {"ei", "ms2"}
        assert any(a.new_substance and a.suspected_group for q, a in found.items() if kind_of(spectra[q]) == "ei")


def test_left_out_views_with_their_own_group_models_batched_give_each_querys_alone(swgdrug_library, tmp_path, monkeypatch):
    # the dev bench's path: each query its compound left out of the library (a view of the facts) and
    # its fold's group model; the models are asked once per range for all their queries (stop 40) --
    # every query gets what it gets searched and assessed alone with its view and model
    from nps_id.match.group_model import shipped_group_model
    from nps_id.search.prepared import formula_codes
    from nps_id.search.ranking import without

    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    swg = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[3::60]
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    facts = LibraryFacts(reference)
    left_out = {q: frozenset({str(s.get("inchikey"))[:14]}) for q, s in enumerate(swg)}
    shipped = shipped_group_model("ei")
    folds = [shipped, shipped.with_min_probability(0.3), shipped.with_min_probability(0.7)]

    def model_of(q):
        return folds[q % 3]
    settings = SearchSettings(top_k=50, prefilter=50)
    codes = reference.compound(), formula_codes(reference.columns["formula"])

    def left_out_hits(found, views):  # the bench's task_hits: the library without each query's compound
        keep = np.array([facts.block(r) not in views[q] for q, r in zip(found.query.tolist(), found.row.tolist())])
        return without(found, keep, *codes, 20, settings.isomer_margin)
    batch = assess_search(swg, left_out_hits(search(swg, reference, settings), left_out), reference, analog=False,
                          fields_only=True, facts=facts, left_out=left_out, group_model_of=model_of)
    assert sum(a.new_substance and a.suspected_group is not None for a in batch.values()) >= 5
    for q, query in enumerate(swg):
        alone = assess_search([query], left_out_hits(search([query], reference, settings), {0: left_out[q]}),
                              reference, analog=False, fields_only=True, facts=LibraryFacts(reference),
                              left_out={0: left_out[q]}, group_model_of=lambda _, q=q: model_of(q))
        assert alone[0].fields() == batch[q].fields(), query.name


def test_a_library_rows_major_ions_are_numpys_distinct_nominal_ions():
    """:func:`_major_ions` sorts the distinct nominal m/z by Python (np.unique imports numpy.ma, ~6 ms of a
    one-spectrum search): for every 7th SWGDRUG record, at three levels, the list np.unique gave."""
    from nps_id.match.assess import _major_ions
    from nps_id.search.preprocess import nominal_mass

    spectra = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[::7]
    assert len(spectra) > 300
    for s in spectra:
        for level in (0.0, 0.1, 0.5):
            ions, every = _major_ions(s.mz, s.intensity, level)
            kept = nominal_mass(s.mz)[s.intensity >= level * s.intensity.max()] if s.intensity.size else np.empty(0, int)
            assert ions == np.unique(kept).tolist() and every == frozenset(ions)
            assert all(type(i) is int for i in ions)

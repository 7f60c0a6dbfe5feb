"""Analogue confidence: the shipped model loads, ranks real analogue answers by structural
closeness, and reaches ``nps-id search`` as the last column of every analogue row."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from nps_id.io import read, write
from nps_id.search.analogue_confidence import (
    FEATURES, MODEL_PATH, SEARCH_TOP, ConfidenceModel, confidences, fingerprint, tanimoto,
)
from nps_id.search.engine import SearchSettings, search
from nps_id.search.index import load_indexes
from nps_id.search.reference import Reference
from tests.conftest import data_path


def test_shipped_model_is_small_numpy_only_and_names_its_features():
    assert MODEL_PATH.stat().st_size < 8000
    model = ConfidenceModel.load()
    assert set(model.models) == {"ei", "ms2"}
    for kind in ("ei", "ms2"):
        for part in ("mean", "scale", "coef"):
            assert model.models[kind][part].shape == (len(FEATURES),)
        # a confident-looking hit list scores higher than a weak one, and both stay on 0-1
        strong = model.models[kind]["mean"] + 2 * model.models[kind]["scale"] * np.sign(model.models[kind]["coef"])
        weak = model.models[kind]["mean"] - 2 * model.models[kind]["scale"] * np.sign(model.models[kind]["coef"])
        high, low = model.predict(kind, np.vstack([strong, weak]))
        assert 0 < low < high < 1


def test_a_model_for_other_features_is_refused(tmp_path):
    doc = json.loads(MODEL_PATH.read_text())
    doc["features"] = doc["features"][:-1]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="features"):
        ConfidenceModel.load(path)


@pytest.fixture(scope="module")
def ei_analogues():
    """The MassBank EI analogue queries (compounds absent from the library) against the MassBank
    EI library, as ``nps-id search --mode analog`` searches them for the confidence."""
    library = list(read(data_path("massbank", "ei-library.msp.gz")))
    queries = list(read(data_path("massbank", "ei-queries-analog.msp.gz")))
    reference = Reference.from_spectra(library)
    hits = search(queries, reference, SearchSettings(mode="analog", top_k=SEARCH_TOP),
                  load_indexes(reference, use_cache=False))
    return queries, reference, hits


def test_confident_answers_on_real_ei_analogues_are_close_relatives(ei_analogues):
    queries, reference, hits = ei_analogues
    conf = confidences(queries, hits, reference)
    top1 = hits.top(1)
    truth = []
    for q, row in zip(top1.query.tolist(), top1.row.tolist()):
        own, hit = fingerprint(queries[q].get("smiles") or ""), fingerprint(reference.columns["smiles"][row])
        truth.append(tanimoto(own, hit) if own is not None and hit is not None else 0.0)
    truth, conf = np.array(truth), conf[top1.query]
    assert np.all((conf >= 0) & (conf <= 1)) and np.all(conf == np.round(conf, 3))
    order = np.argsort(-conf, kind="mergesort")
    third = len(order) // 3
    # measured (benchmarks/README.md): the 35 % most confident average Tanimoto ~0.68, all ~0.40
    assert truth[order[:third]].mean() >= 0.6
    assert truth[order[:third]].mean() > truth.mean() + 0.15 > truth[order[-third:]].mean() + 0.15
    # the most confident answer is a close relative; the least confident is not
    assert truth[order[0]] >= 0.6 and truth[order[-1]] < 0.4


def test_confidence_reads_the_hits_searched_not_only_those_printed(ei_analogues):
    queries, reference, hits = ei_analogues
    # the features read SEARCH_TOP hits: cutting the list first changes the consensus
    full = confidences(queries, hits, reference)
    cut = confidences(queries, hits.top(1), reference)
    assert not np.allclose(full, cut)


@pytest.fixture(scope="module")
def swgdrug_queries(tmp_path_factory):
    spectra = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))
    path = tmp_path_factory.mktemp("q") / "unknowns.msp"
    write([spectra[i].replace(source_id=None) for i in (2, 500, 1433)], path)
    return path


def _search(*args):
    from nps_id.cli import cli

    return CliRunner().invoke(cli, ["search", *map(str, args)])


def test_search_rows_carry_analogue_confidence_after_the_verdict_columns(swgdrug_library, swgdrug_queries, tmp_path):
    # the last column until stop 42, which added suspected_group_probability after it
    from nps_id.commands.search import COLUMNS

    assert list(COLUMNS)[-2] == "analogue_confidence" and COLUMNS["analogue_confidence"] == "AnalogueConfidence"
    analog = _search(swgdrug_queries, "-l", swgdrug_library, "--mode", "analog", "--top", 3, "--format", "jsonl")
    assert analog.exit_code == 0, analog.output
    rows = [json.loads(line) for line in analog.output.splitlines()]
    assert len(rows) == 9 and list(rows[0])[-3] == "analogue_confidence"  # JSON lines end with held_by (stop 49)
    by_query: dict[int, set] = {}
    for r in rows:  # one value per query, on every row of it
        assert 0 <= r["analogue_confidence"] <= 1
        by_query.setdefault(r["query"], set()).add(r["analogue_confidence"])
    assert all(len(v) == 1 for v in by_query.values()) and len(by_query) == 3
    # --top 1 prints the same confidence: it is computed from the hits searched, not printed
    one = _search(swgdrug_queries, "-l", swgdrug_library, "--mode", "analog", "--top", 1, "--format", "jsonl")
    assert {json.loads(x)["query"]: json.loads(x)["analogue_confidence"] for x in one.output.splitlines()} == {
        q: v.pop() for q, v in by_query.items()}
    tsv = _search(swgdrug_queries, "-l", swgdrug_library, "--mode", "analog", "--top", 1).output.splitlines()
    assert tsv[0].split("\t")[-2] == "AnalogueConfidence" and tsv[1].split("\t")[-2] != ""
    identity = _search(swgdrug_queries, "-l", swgdrug_library, "--format", "csv").output.splitlines()
    assert identity[0].split(",")[-2] == "analogue_confidence" and identity[1].split(",")[-2] == ""

"""The suspected-group model file: the shipped models load; a damaged, old or inconsistent file
is refused with one line naming it (exit 4), never a traceback; an improbable group is not named."""
from __future__ import annotations

import pickle
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nps_id.errors import LibraryError
from nps_id.match.group_model import MODEL_PATHS, GroupModel, features, shipped_group_model


@pytest.mark.parametrize("kind", ["ei", "ms2"])
def test_the_shipped_models_load_and_give_probabilities(kind):
    model = shipped_group_model(kind)
    assert model.kind == kind and "" in model.labels
    p = model.probabilities(features(kind, {58: 1.0, 91: 0.3}, [], model.vote_labels, (150.1, "positive")))
    assert p.shape == (1, len(model.labels)) and abs(p.sum() - 1) < 1e-9


def _saved(tmp_path, **changes):
    path = tmp_path / "model.npz"
    replace(shipped_group_model("ei"), **changes).save(path)
    return path


def test_a_model_saved_and_loaded_is_the_same(tmp_path):
    again = GroupModel.load(_saved(tmp_path))
    model = shipped_group_model("ei")
    assert again.labels == model.labels and np.array_equal(again.coef, model.coef)


@pytest.mark.parametrize("content, expected", [
    (b"not a zip", "not a usable group model"),
    (b"", "not a usable group model"),
    (b"\x93NUMPY", "not a usable group model"),
])
def test_a_damaged_file_is_one_clear_error(tmp_path, content, expected):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(LibraryError, match=expected) as info:
        GroupModel.load(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 4


def test_a_model_with_damaged_compressed_data_is_one_clear_error(tmp_path):
    # a flipped byte inside a member's deflate stream fails in zlib before any CRC check
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    for i in range(200, 250):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(LibraryError, match="not a usable group model") as info:
        GroupModel.load(path)
    assert "\n" not in str(info.value)


def test_a_bare_array_or_a_missing_array_is_one_clear_error(tmp_path):
    bare = tmp_path / "bare.npy"
    np.save(bare, np.zeros(3))
    with pytest.raises(LibraryError, match="not an .npz archive"):
        GroupModel.load(bare)
    partial = tmp_path / "partial.npz"
    np.savez(partial, version=np.int64(1))
    with pytest.raises(LibraryError, match="not a usable group model"):
        GroupModel.load(partial)


def test_a_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(LibraryError, match="retrain it with benchmarks/train_group_model.py"):
        GroupModel.load(tmp_path / "absent.npz")


@pytest.mark.parametrize("changes, expected", [
    ({"coef": np.zeros((3, 2))}, "'coef' is not"),
    ({"intercept": np.full(len(shipped_group_model("ei").labels), np.nan)}, "'intercept' is not"),
    ({"scale": np.zeros_like(shipped_group_model("ei").scale)}, "'scale' holds a value below"),
    # finite but past any trained weight: softmax overflowed, every probability NaN, no group named, silently
    ({"coef": np.full_like(shipped_group_model("ei").coef, 1e308)}, "'coef' is not .* within"),
    ({"scale": np.full_like(shipped_group_model("ei").scale, 1e-300)}, "'scale' holds a value below"),
    # text or complex numbers cast to floats were read as weights
    ({"coef": shipped_group_model("ei").coef.astype(str)}, "'coef' is not .* real numbers"),
    ({"intercept": shipped_group_model("ei").intercept.astype(complex)}, "'intercept' is not .* real numbers"),
    ({"min_probability": 1.5}, "min_probability 1.5 is not in 0-1"),
    ({"labels": ("a", "b")}, "hold the 'none' label"),
    ({"kind": "uv"}, "kind 'uv'"),
])
def test_an_inconsistent_model_is_refused(tmp_path, changes, expected):
    with pytest.raises(LibraryError, match=expected):
        GroupModel.load(_saved(tmp_path, **changes))


@pytest.mark.parametrize("version", [np.float64(3.7), np.array("3"), np.array([3])])
def test_a_version_that_is_no_whole_number_is_refused(tmp_path, version):
    # int() read 3.7 and "3" as version 3
    path = _saved(tmp_path)
    with np.load(path) as data:
        arrays = dict(data)
    np.savez(path, **{**arrays, "version": version})
    with pytest.raises(LibraryError, match="version .* is not a whole number"):
        GroupModel.load(path)


@pytest.mark.parametrize("content", [b"hello", pickle.dumps({"coef": [1.0]})])
def test_a_file_that_is_no_archive_is_not_advised_to_be_loaded_unsafely(tmp_path, content):
    # np.load took it for a pickle: "If you trust the file you can load it unsafely ..."
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(LibraryError, match="not an .npz archive") as info:
        GroupModel.load(path)
    assert "unsafely" not in str(info.value)


def test_a_model_of_another_version_is_refused(tmp_path, monkeypatch):
    import nps_id.match.group_model as group_model

    path = _saved(tmp_path)
    monkeypatch.setattr(group_model, "READ_VERSIONS", (5, 6))
    with pytest.raises(LibraryError, match="version 4, this nps-id reads versions 5 and 6"):
        GroupModel.load(path)


@pytest.mark.parametrize("version", [1, 2])
def test_a_model_of_an_older_feature_layout_is_refused(tmp_path, version):
    # version 1 EI files read no losses, version 2 no closest compound nor shape: their
    # coefficients would meet the wrong features
    path = tmp_path / "old.npz"
    model = shipped_group_model("ms2")
    np.savez(path, version=np.int64(version), kind=np.array(model.kind), labels=np.array(model.labels),
             vote_labels=np.array(model.vote_labels), mean=model.mean, scale=model.scale, coef=model.coef,
             intercept=model.intercept, min_probability=np.float64(model.min_probability))
    with pytest.raises(LibraryError, match=f"version {version}, this nps-id reads versions 3 and 4"):
        GroupModel.load(path)


def test_ring_substituted_homologues_lose_their_amine_at_one_ei_feature():
    # methamphetamine (M+ 149: iminium 58, benzyl 91) and 4-methylmethamphetamine (M+ 163: 58, 105)
    # lose C3H8N (58) alike: the spectrum features place their ring ions apart, the losses together
    labels = shipped_group_model("ei").vote_labels
    first = features("ei", {58: 1.0, 91: 0.25, 149: 0.04}, [], labels)
    second = features("ei", {58: 1.0, 105: 0.25, 163: 0.04}, [], labels)
    assert first[90] > 0 and second[90] == 0  # m/z 91: the first's alone
    losses = slice(500, 700)
    shared = np.flatnonzero((first[losses] > 0) & (second[losses] > 0)) + 1
    assert shared.tolist() == [58]


class _Facts:
    def block(self, row):
        return str(row)

    def group(self, row):
        return "Phenethylamines"


def test_an_improbable_group_is_not_named():
    # a wrong group misleads an early warning more than none: below min_probability, None
    model = shipped_group_model("ei")
    spectrum = {44: 1.0, 91: 0.2, 65: 0.05}
    hits = [type("Hit", (), {"row": i, "similarity": 0.8})() for i in range(3)]
    named = model.with_min_probability(0.0).predict(spectrum, hits, _Facts())
    assert named is not None
    assert model.with_min_probability(1.0).predict(spectrum, hits, _Facts()) is None


def test_search_with_a_damaged_shipped_model_exits_4_with_one_line(swgdrug_library, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from nps_id.cli import cli
    from tests.conftest import data_path

    queries = data_path("massbank", "ei-queries-analog.msp.gz")
    damaged = tmp_path / "group_model_ei.npz"
    damaged.write_bytes(b"damaged")
    monkeypatch.setitem(MODEL_PATHS, "ei", damaged)
    shipped_group_model.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["search", str(queries), "--library", str(swgdrug_library)],
                                    env={"NPS_ID_CACHE": str(tmp_path / "cache")})
    finally:
        shipped_group_model.cache_clear()
    assert result.exit_code == 4, result.output
    assert "not a usable group model" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("kind", ["ei", "ms2"])
def test_a_spectrum_without_peaks_names_no_group(kind):
    # even a model leaning to a group whatever it reads (intercept; its linear part alone: the trees'
    # share would hold it below the threshold) names none without evidence
    model = shipped_group_model(kind)
    leaning = np.where(np.array(model.labels) == "Phenethylamines", 50.0, 0.0)
    model = replace(model, intercept=leaning, trees=None, tree_weight=0.0)
    assert model.predict({91: 1.0}, [], _Facts(), (300.0, "positive")) == "Phenethylamines"
    assert model.predict({}, [], _Facts(), (300.0, "positive")) is None


def _features_peak_by_peak(relative, precursor):
    """The spectrum and loss features as they were computed until stop 31, a NumPy call per
    peak: the array steps must give them bit for bit (the model's probabilities, so its groups,
    follow)."""
    from nps_id.match.group_model import MAX_LOSS, MAX_MZ

    spectrum = np.zeros(MAX_MZ)
    for mz, value in relative.items():
        if 1 <= mz <= MAX_MZ:
            spectrum[mz - 1] = np.sqrt(value)
    losses = np.zeros(MAX_LOSS)
    if precursor is not None and np.isfinite(precursor[0]):
        top = int(round(precursor[0]))
        for mz, value in relative.items():
            if 1 <= top - mz <= MAX_LOSS:
                losses[top - mz - 1] = max(losses[top - mz - 1], np.sqrt(value))
    return spectrum, losses


@pytest.mark.parametrize("name, kind", [("ms2-queries-identity.msp.gz", "ms2"), ("ei-queries-identity.msp.gz", "ei")])
def test_features_of_real_spectra_are_the_peak_by_peak_ones(name, kind):
    import itertools

    from nps_id.io import read
    from nps_id.match.group_model import MAX_LOSS, MAX_MZ
    from nps_id.match.molecular_mass import molecular_ion, nominal_spectrum
    from tests.conftest import data_path

    labels = shipped_group_model(kind).vote_labels
    for spectrum in itertools.islice(read(data_path("massbank", name)), 0, None, 10):
        relative = nominal_spectrum(spectrum.mz, spectrum.intensity)
        precursors = [None] if kind == "ei" else [None, (spectrum.precursor_mz, "positive"),
                                                  (spectrum.precursor_mz + 250.0, "negative")]
        for precursor in precursors:
            x = features(kind, relative, [(labels[1], 0.8)] if kind == "ei" else (), labels, precursor)
            # EI: the losses from the spectrum's own molecular ion
            parent = (molecular_ion(relative), "") if kind == "ei" else precursor
            expected, losses = _features_peak_by_peak(relative, None if parent is None or parent[0] is None else parent)
            assert x[:MAX_MZ].tobytes() == expected.tobytes()
            assert x[MAX_MZ:MAX_MZ + MAX_LOSS].tobytes() == losses.tobytes()


def _vote_features_item_by_item(votes, labels):
    """The vote features as they were computed until stop 34, into NumPy arrays item by item: the
    Python-float sums and maxima must give them bit for bit."""
    index = {label: i for i, label in enumerate(labels)}
    share, best = np.zeros(len(labels)), np.zeros(len(labels))
    for group, similarity in votes:
        i = index.get(group or "", index[""])
        share[i] += similarity ** 4
        best[i] = max(best[i], similarity)
    total = share.sum()
    if total > 0:
        share /= total
    return np.concatenate([share, best])


def test_the_vote_features_of_real_hits_are_the_item_by_item_ones(swgdrug_library):
    """Every 4th MassBank EI identity query searched against SWGDRUG 3.4: its closest compounds'
    vote (groups, repeats, 'no group') as the EI model reads it, and the odd votes (a group the
    model never saw, None, none at all, one similarity 0)."""
    from nps_id.io import read
    from nps_id.library import open_verified
    from nps_id.match.assess import EVIDENCE_HITS
    from nps_id.match.ranked_hit import ranked_hit
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.match.group_model import ION_SETS, MAX_DIFFERENCE, MAX_LOSS, MAX_MZ, hit_votes
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference
    from tests.conftest import data_path

    labels = shipped_group_model("ei").vote_labels
    queries = list(read(data_path("massbank", "ei-queries-identity.msp.gz")))[::4]
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
        hits = search(queries, reference, SearchSettings(top_k=EVIDENCE_HITS))
        facts = LibraryFacts(reference)
        votes = [hit_votes([ranked_hit(hits, int(j), "ei", False) for j in np.flatnonzero(hits.query == q)], facts)
                 for q in np.unique(hits.query).tolist()]
    votes += [[("no such group", 0.9), (None, 0.5), (labels[1], 0.7), (labels[1], 0.95)], [], [(labels[2], 0.0)]]
    assert len({group for vote in votes for group, _ in vote}) >= 5  # the queries reach several groups
    start = MAX_MZ + MAX_LOSS + MAX_DIFFERENCE + len(ION_SETS)
    for vote in votes:
        x = features("ei", {91: 1.0}, vote, labels)
        assert x[start:start + 2 * len(labels)].tobytes() == _vote_features_item_by_item(vote, labels).tobytes()


def test_an_acylium_and_a_tropylium_ion_differ_in_the_pieces_they_lose():
    # a cathinone's benzoyl ion 105 loses CO (-> 77), an amphetamine's tropylium 91 loses C2H2 (-> 65):
    # at the same m/z offsets for any ring substituent, where the spectrum features see other m/z
    from nps_id.match.group_model import MAX_DIFFERENCE, MAX_LOSS, MAX_MZ

    labels = shipped_group_model("ei").vote_labels
    block = slice(MAX_MZ + MAX_LOSS, MAX_MZ + MAX_LOSS + MAX_DIFFERENCE)
    for ions, lost in (({58: 1.0, 105: 0.3, 77: 0.2}, 28), ({58: 1.0, 91: 0.3, 65: 0.1}, 26),
                       ({58: 1.0, 135: 0.3, 107: 0.2}, 28)):  # a methoxybenzoyl ion too
        differences = features("ei", ions, [], labels)[block]
        assert differences[lost - 1] > 0 and differences[(54 - lost) - 1] == 0
        assert abs(differences.sum() - 1) < 1e-12
    # a faint ion (below 2 % of the base peak) pairs with nothing
    assert not features("ei", {58: 1.0, 77: 0.01}, [], labels)[block].any()


def test_a_vote_of_close_compounds_is_not_one_of_far_ones():
    # the same shares from compounds at 0.9 and at 0.4: the linear model reads them apart only
    # through the share times the best similarity and the closest compound's own slot
    from nps_id.match.group_model import ION_SETS, MAX_DIFFERENCE, MAX_LOSS, MAX_MZ

    labels = shipped_group_model("ei").vote_labels
    group = labels.index("Phenethylamines")
    n, start = len(labels), MAX_MZ + MAX_LOSS + MAX_DIFFERENCE + len(ION_SETS)
    close, far = ([("Phenethylamines", s), ("Phenethylamines", s), (None, s)] for s in (0.9, 0.4))
    a, b = (features("ei", {58: 1.0, 91: 0.3}, vote, labels) for vote in (close, far))
    assert np.allclose(a[start:start + n], b[start:start + n])  # the similarity**4 shares alike
    first, counts, weighted = (slice(start + 2 * n + 1 + k * n, start + 3 * n + 1 + k * n) for k in range(3))
    assert a[first][group] == 0.9 and b[first][group] == 0.4 and a[first].sum() == 0.9
    assert np.allclose(a[counts], b[counts]) and np.isclose(a[counts][group], 0.2)
    assert np.isclose(a[weighted][group], 0.9 * 2 / 3) and np.isclose(b[weighted][group], 0.4 * 2 / 3)


def test_the_shape_places_light_and_heavy_spectra_apart():
    # methamphetamine (M+ 149, base 58) and a cannabinoid-like spectrum (M+ 341, base 144): the
    # molecular-ion and base-peak bins, the ion count, the share below m/z 100, the mass
    from nps_id.match.group_model import MASS_BINS, SHAPE_FEATURES

    labels = shipped_group_model("ei").vote_labels
    light = features("ei", {58: 1.0, 91: 0.25, 149: 0.05}, [], labels)[-SHAPE_FEATURES:]
    heavy = features("ei", {144: 1.0, 214: 0.4, 341: 0.3, 55: 0.02}, [], labels)[-SHAPE_FEATURES:]
    assert np.flatnonzero(light[:MASS_BINS + 1]).tolist() == [149 // 25]
    assert np.flatnonzero(heavy[:MASS_BINS + 1]).tolist() == [341 // 25]
    assert np.flatnonzero(light[MASS_BINS + 1:2 * MASS_BINS + 1]).tolist() == [58 // 25]
    assert np.flatnonzero(heavy[MASS_BINS + 1:2 * MASS_BINS + 1]).tolist() == [144 // 25]
    assert np.isclose(light[-3], np.log(4)) and np.isclose(heavy[-3], np.log(4))  # 3 ions >= 5 %
    assert np.isclose(light[-2], 1.25 / 1.3) and np.isclose(heavy[-2], 0.02 / 1.72)
    assert np.isclose(light[-1], 149 / 500) and np.isclose(heavy[-1], 341 / 500)
    # an empty spectrum has no shape
    assert features("ei", {}, [], labels)[-SHAPE_FEATURES:].sum() == 0


def test_a_stray_ion_beyond_the_training_masses_names_no_group_of_its_own():
    """An alkane-like spectrum (ions 43/57/71/85) with one stray ion far above any training spectrum's
    (m/z 2,457): the model read "molecular ion / 500" without bound and a stray ion at m/z 4,000 made a
    synthetic cannabinoid of such a spectrum (0.58; 0.96 at 8,000; attack40a); beyond MAX_SHAPE_PARENT
    it reads as at the bound."""
    from nps_id.match.group_model import MAX_SHAPE_PARENT

    model = shipped_group_model("ei")
    alkane = {43: 0.8, 57: 1.0, 71: 0.6, 85: 0.35, 99: 0.1}
    p = {mz: model.probabilities(features("ei", {**alkane, mz: 0.03}, [], model.vote_labels))[0]
         for mz in (MAX_SHAPE_PARENT, 4000, 8000)}
    assert np.array_equal(p[4000], p[MAX_SHAPE_PARENT]) and np.array_equal(p[8000], p[MAX_SHAPE_PARENT])
    assert model.predict({**alkane, 8000: 0.03}, [], None) is None  # as without the stray ion


def _model_inputs_of_swgdrug(swgdrug_library, n):
    """(nominal spectrum, ranked hits, facts, None) of every 5th SWGDRUG 3.4 record (n of them),
    searched against SWGDRUG 3.4 without its own compound (as a new substance's hits)."""
    from nps_id.io import read
    from nps_id.library import open_verified
    from nps_id.match.assess import EVIDENCE_HITS
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.match.molecular_mass import nominal_spectrum
    from nps_id.match.ranked_hit import ranked_hit
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference
    from tests.conftest import data_path

    queries = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[::5][:n]
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
        hits = search(queries, reference, SearchSettings(top_k=EVIDENCE_HITS + 5))
        facts = LibraryFacts(reference)
        inputs = []
        for q, query in enumerate(queries):
            ranked = [ranked_hit(hits, int(j), "ei", False) for j in np.flatnonzero(hits.query == q)]
            own = facts.block(ranked[0].row) if ranked else None  # the closest: the record itself
            inputs.append((nominal_spectrum(query.mz, query.intensity),
                           [h for h in ranked if facts.block(h.row) != own], facts, None))
    return inputs


def _model_inputs_of_massbank_ms2(n):
    from nps_id.io import read
    from nps_id.match.molecular_mass import nominal_spectrum
    from tests.conftest import data_path

    queries = [q for q in read(data_path("massbank", "ms2-queries-identity.msp.gz")) if q.precursor_mz][:n]
    return [(nominal_spectrum(q.mz, q.intensity), [], None,
             (float(q.precursor_mz), str(q.get("ion_mode") or "positive").lower())) for q in queries]


@pytest.mark.parametrize("kind", ["ei", "ms2"])
def test_the_groups_of_a_batch_are_the_one_at_a_time_ones(kind, request):
    """500 real spectra (EI: SWGDRUG records without their own compound among their hits; MS/MS:
    MassBank queries): the batched probabilities equal each spectrum's alone to 1e-12 and every
    label is the same (a search asks the model once per range, a benchmark once per spectrum)."""
    model = shipped_group_model(kind)
    if kind == "ei":
        inputs = _model_inputs_of_swgdrug(request.getfixturevalue("swgdrug_library"), 500)
    else:
        inputs = _model_inputs_of_massbank_ms2(500)
    assert len(inputs) == 500
    alone = [model.predict(*one) for one in inputs]
    assert model.predict_many(inputs) == alone
    x = np.array([model._features(*one) for one in inputs])
    full = model.probabilities(x)
    assert np.abs(full - np.vstack([model.probabilities(row) for row in x])).max() <= 1e-12
    assert len({label for label in alone if label}) >= 2  # the spectra reach several groups
    # the trees evaluated only where a group can reach the threshold: the labels of every row's all
    best = full.argmax(axis=1)
    assert alone == [(model.labels[b] or None) if p[b] >= model.min_probability else None for p, b in zip(full, best)]


@pytest.mark.parametrize("kind", ["ei", "ms2"])
def test_the_compiled_trees_give_the_numpy_walks_numbers_bit_for_bit(kind, request, monkeypatch):
    """The shipped models' trees walked by the compiled kernel (once numba is loaded: a search of
    many queries) and in NumPy (a search of a few) on 500 real spectra: the same sums of leaf values,
    the same probabilities to the last bit, the same groups."""
    from nps_id.search import jit

    model = shipped_group_model(kind)
    if kind == "ei":
        inputs = _model_inputs_of_swgdrug(request.getfixturevalue("swgdrug_library"), 500)
    else:
        inputs = _model_inputs_of_massbank_ms2(500)
    x = np.array([model._features(*one) for one in inputs])
    assert np.array_equal(model.trees._compiled_scores(x), model.trees._scores(x))
    walked = {}
    for compiled in (False, True):
        monkeypatch.setattr(jit, "loaded", lambda: compiled)
        walked[compiled] = model.probabilities(x), model.predict_many(inputs)
    assert np.array_equal(walked[True][0], walked[False][0]) and walked[True][1] == walked[False][1]
    assert len({label for label in walked[True][1] if label}) >= 2  # the spectra reach several groups
    # and both are the trees: a plain walk, node by node, of the first 40 rows (main's matrix product to ~1e-15)
    trees = model.trees
    assert np.abs(trees.probabilities(x[:40]) - np.array([_plain_walk(trees, row) for row in x[:40]])).max() < 1e-12


def _plain_walk(trees, row):
    """The trees' softmax for one feature row, walked node by node in Python."""
    z = trees.baseline.copy()
    for root, label in zip(trees.root, trees.label):
        node = root
        while trees.left[node] != node:
            node = trees.left[node] if row[trees.feature[node]] <= trees.threshold[node] else trees.right[node]
        z[label] += trees.value[node]
    z = np.exp(z - z.max())
    return z / z.sum()


def test_a_row_at_a_tie_with_the_threshold_is_decided_as_alone():
    # a model whose threshold is one row's own probability: the batch must not name it otherwise
    model = shipped_group_model("ms2")
    inputs = _model_inputs_of_massbank_ms2(50)
    x = np.array([model._features(*one) for one in inputs])
    p = model.probabilities(x[7])[0]
    at = model.with_min_probability(float(p.max()))
    assert at._near_tie(model.probabilities(x))[7]
    assert at.predict_many(inputs) == [at.predict(*one) for one in inputs]
    assert at.predict(*inputs[7]) is not None or p.argmax() == at.labels.index("")


def _two_ion_trees(model):
    """Trees naming the model's first group when features 57 AND 90 (m/z 58 and 91) are both
    present, whatever else: one tree of depth 2 on that group, one leaf on every other class."""
    group = next(i for i, label in enumerate(model.labels) if label)
    k = len(model.labels)
    # node 0: m/z 58 > 0.3 ? node 2 : leaf 1; node 2: m/z 91 > 0.3 ? leaf 4 (+20) : leaf 3
    feature = np.array([57, 0, 90, 0, 0] + [0] * (k - 1))
    threshold = np.array([0.3, np.inf, 0.3, np.inf, np.inf] + [np.inf] * (k - 1))
    node = np.arange(len(feature))
    left, right = node.copy(), node.copy()
    left[0], right[0], left[2], right[2] = 1, 2, 3, 4
    value = np.zeros(len(feature))
    value[4] = 20.0
    others = [i for i in range(k) if i != group]
    return {"tree_feature": feature, "tree_threshold": threshold, "tree_left": left, "tree_right": right,
            "tree_value": value, "tree_root": np.array([0] + list(range(5, 5 + k - 1))),
            "tree_label": np.array([group] + others), "tree_baseline": np.zeros(k)}


def _with_trees(tmp_path, weight=0.95, **changes):
    from nps_id.match.group_model import Trees

    model = shipped_group_model("ms2")
    arrays = {**_two_ion_trees(model), **changes}
    trees = Trees.checked(arrays, len(model.mean), len(model.labels))
    path = tmp_path / "trees.npz"
    replace(model, trees=trees, tree_weight=weight).save(path)
    return path


@pytest.mark.parametrize("compiled", [False, True])
def test_trees_name_a_group_for_two_ions_together_and_not_for_either_alone(tmp_path, monkeypatch, compiled):
    from nps_id.search import jit

    monkeypatch.setattr(jit, "loaded", lambda: compiled)  # the trees walked in NumPy, or compiled
    model = GroupModel.load(_with_trees(tmp_path)).with_min_probability(0.5)
    group = next(label for label in model.labels if label)
    assert model.trees is not None and model.trees.depth == 2
    named = [model.predict(spectrum, [], None, (200.1, "positive"))
             for spectrum in ({58: 1.0, 91: 0.5}, {58: 1.0}, {91: 1.0}, {44: 1.0, 91: 0.5})]
    assert named[0] == group and group not in named[1:]


def test_a_model_with_trees_is_saved_as_version_4_and_a_linear_one_as_version_3(tmp_path):
    with np.load(_with_trees(tmp_path, weight=0.4)) as data:
        assert int(data["version"]) == 4 and float(data["tree_weight"]) == 0.4
    with np.load(_saved(tmp_path, trees=None, tree_weight=0.0)) as data:
        assert int(data["version"]) == 3 and "tree_feature" not in data.files
    for kind in ("ei", "ms2"):  # both shipped models have trees (MS/MS since stop 42)
        with np.load(MODEL_PATHS[kind]) as data:
            assert int(data["version"]) == 4 and len(data["tree_root"]) > 0


@pytest.mark.parametrize("change, expected", [
    ({"tree_left": np.array([1, 1, 0, 3, 4, 5])}, "children do not lie after it"),  # node 2 back to 0: a cycle
    ({"tree_feature": np.array([57, 0, 10 ** 6, 0, 0, 0])}, "out of range"),
    ({"tree_label": np.array([0, 99])}, "out of range"),
    ({"tree_threshold": np.array([0.3, 0.5, 0.3, np.inf, np.inf, np.inf])}, "\\+inf at a leaf"),
    ({"tree_threshold": np.array([np.nan, np.inf, 0.3, np.inf, np.inf, np.inf])}, "not finite at a split"),
    ({"tree_value": np.array([0, 0, 0, 0, np.inf, 0])}, "'tree_value' is not finite"),
    ({"tree_feature": np.array([57.0, 0, 90, 0, 0, 0])}, "'tree_feature' is not whole numbers"),
    ({"tree_baseline": np.zeros(2)}, "one per label"),
    ({"tree_weight": np.float64(1.5)}, "tree_weight 1.5 is not a number"),
    ({"tree_root": None}, "tree_root"),
])
def test_a_model_with_damaged_trees_is_refused(tmp_path, change, expected):
    path = _with_trees(tmp_path)
    with np.load(path) as data:
        arrays = dict(data)
    k = len(arrays["labels"])
    key, value = next(iter(change.items()))
    if value is None:
        del arrays[key]
    elif key in ("tree_feature", "tree_left", "tree_threshold", "tree_value"):  # node arrays: pad to length
        arrays[key] = np.concatenate([value, arrays[key][len(value):]]) if len(value) <= len(arrays[key]) else value
    else:
        arrays[key] = value if key != "tree_label" else np.concatenate([value, arrays[key][len(value):]])
    assert k > 2
    np.savez(path, **arrays)
    with pytest.raises(LibraryError, match=expected) as info:
        GroupModel.load(path)
    assert "\n" not in str(info.value)


def test_trees_converted_from_sklearn_give_its_probabilities():
    pytest.importorskip("sklearn")
    from sklearn.ensemble import HistGradientBoostingClassifier

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from train_group_model import trees_of

    rng = np.random.default_rng(0)
    x = rng.random((300, 12))
    y = np.where(x[:, 3] + x[:, 7] > 1.2, "a", np.where(x[:, 1] > 0.5, "b", ""))
    clf = HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=7, random_state=0).fit(x, y)
    trees = trees_of(clf, x)
    assert np.abs(trees.probabilities(x) - clf.predict_proba(x)).max() < 1e-12
    assert trees.depth >= 2 and len(trees.root) == 3 * clf.n_iter_


def test_class_weights_weigh_a_rare_group_up_and_keep_the_mean():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from train_group_model import class_weights

    y = np.array([""] * 80 + ["a"] * 16 + ["b"] * 4)
    w = class_weights(y, 0.5)
    assert abs(w.mean() - 1) < 1e-12 and len(set(w[y == "a"])) == 1
    assert w[y == "a"][0] / w[0] == pytest.approx(5 ** 0.5)  # (80 / 16) ** 0.5: none's spectra weigh least
    assert w[y == "b"][0] / w[y == "a"][0] == pytest.approx(2.0)  # 4 spectra against 16: twice the weight
    assert np.all(class_weights(y, 0.0) == 1.0)


def test_an_archive_member_that_is_no_array_is_one_clear_error(tmp_path):
    # np.load hands back a member without the .npy header as raw bytes (stop 42: AttributeError traceback)
    import zipfile

    with np.load(MODEL_PATHS["ei"]) as data:
        arrays = {key: data[key] for key in data.files}
    path = tmp_path / "member.npz"
    np.savez(path, **arrays)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("extra.npy", b"not an array")
    with pytest.raises(LibraryError, match="a member is no .npy array"):
        GroupModel.load(path)


def test_a_threshold_written_as_text_is_refused(tmp_path):
    with np.load(MODEL_PATHS["ei"]) as data:
        arrays = {key: data[key] for key in data.files}
    path = tmp_path / "text.npz"
    np.savez(path, **{**arrays, "min_probability": np.array("0.52")})
    with pytest.raises(LibraryError, match="min_probability '0.52' is not a number"):
        GroupModel.load(path)


def test_the_ms2_model_where_the_ei_one_is_expected_exits_4_with_one_line(swgdrug_library, tmp_path, monkeypatch):
    # a model computes its own kind's features: the MS/MS file read for EI spectra named groups silently
    from click.testing import CliRunner

    from nps_id.cli import cli
    from tests.conftest import data_path

    monkeypatch.setitem(MODEL_PATHS, "ei", MODEL_PATHS["ms2"])
    shipped_group_model.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["search", str(data_path("massbank", "ei-queries-analog.msp.gz")),
                                          "--library", str(swgdrug_library)],
                                    env={"NPS_ID_CACHE": str(tmp_path / "cache")})
    finally:
        shipped_group_model.cache_clear()
    assert result.exit_code == 4, result.output
    assert "a model of 'ms2' spectra where one of 'ei' spectra is expected" in result.output
    assert "Traceback" not in result.output

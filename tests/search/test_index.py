"""The search indexes: preprocessing equal to the per-spectrum functions, consistent columns,
stored/cached without rebuilds, precursor windows."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from nps_id.io import read
from nps_id.search import index as index_mod
from nps_id.search.index import (
    FragmentIndex,
    NominalIndex,
    build_indexes,
    load_indexes,
    nominal_csr,
    recorded_precision,
    recorded_precision_of,
)
from nps_id.search.preprocess import bin_nominal
from nps_id.search.reference import Reference
from tests.conftest import data_path

SWGDRUG_SPECTRA = 2988  # grep -c '^Name:' on the decompressed file


@pytest.fixture(scope="module")
def swgdrug() -> Reference:
    return Reference.from_spectra(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))


def test_every_swgdrug_spectrum_is_indexed_in_input_order(swgdrug):
    ix = load_indexes(swgdrug, use_cache=False)
    assert set(ix) == {"ei"}  # unit-mass EI only: no MS/MS index
    assert ix["ei"].n == SWGDRUG_SPECTRA
    assert np.array_equal(ix["ei"].rows, np.arange(SWGDRUG_SPECTRA))


def test_vectorised_nominal_binning_equals_the_per_spectrum_function(swgdrug):
    nominal = nominal_csr(swgdrug.peaks)
    for i in range(swgdrug.n_spectra):
        mz, intensity = bin_nominal(*swgdrug.peaks.row(i))
        got_mz, got_int = nominal.row(i)
        assert np.array_equal(got_mz, mz), i
        np.testing.assert_allclose(got_int, intensity, rtol=1e-6)


def test_noise_floor_drops_bins_below_the_share_of_each_spectrums_base_bin(swgdrug):
    floored = nominal_csr(swgdrug.peaks, noise=0.01)
    dropped = 0
    for i in range(swgdrug.n_spectra):
        mz, intensity = bin_nominal(*swgdrug.peaks.row(i))
        keep = intensity >= 0.01 * intensity.max() if intensity.size else intensity > 0
        dropped += int(np.count_nonzero(~keep))
        assert np.array_equal(floored.row(i)[0], mz[keep]), i
    assert dropped > 1000  # SWGDRUG lists many peaks under 1 % of the base peak
    assert floored.mz.size == nominal_csr(swgdrug.peaks).mz.size - dropped


def test_bin_columns_hold_each_spectrums_normalised_weights(swgdrug):
    ix = NominalIndex.build(swgdrug.peaks, np.arange(swgdrug.n_spectra), 1.0, 0.5)
    # Every bin's slice holds exactly the spectra that have a peak at that nominal m/z.
    for m in (43, 58, 91, 105, 300):
        lo, hi = ix.bin_offsets[m], ix.bin_offsets[m + 1]
        expected = [p for p in range(ix.n) if m in ix.spectra.row(p)[0]]
        assert sorted(ix.peak_position[lo:hi].tolist()) == expected
    # Weights are unit-norm per spectrum: squared weights sum to 1 for every non-empty spectrum.
    norms = np.bincount(ix.peak_position, weights=ix.peak_weight.astype(np.float64) ** 2, minlength=ix.n)
    np.testing.assert_allclose(norms[ix.spectra.counts > 0], 1.0, rtol=1e-5)


def test_build_indexes_round_trips_through_stored_arrays(swgdrug):
    stored = build_indexes(swgdrug.peaks, swgdrug.columns)
    arrays, attrs = stored["ei"]
    assert attrs["kind"] == "nominal" and attrs["mz_power"] == index_mod.DEFAULT_EI["mz_power"]
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    ref = Reference(swgdrug.peaks, dict(swgdrug.columns), "x" * 64, indexes=stored)
    # Stored indexes with matching parameters are used as they are: nothing is rebuilt.
    loaded = load_indexes(ref, use_cache=False)
    assert np.array_equal(loaded["ei"].peak_weight, arrays["peak_weight"])


def test_index_is_cached_and_not_rebuilt(swgdrug, tmp_path, monkeypatch):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    ref = Reference(swgdrug.peaks, dict(swgdrug.columns), "ab" * 32)
    first = load_indexes(ref)
    assert len(list(tmp_path.rglob("index-*.npz"))) == 1

    def no_rebuild(*args, **kwargs):
        raise AssertionError("index rebuilt although cached")

    monkeypatch.setattr(index_mod, "_build", no_rebuild)
    second = load_indexes(ref)
    assert np.array_equal(first["ei"].peak_position, second["ei"].peak_position)
    # Other parameters are another cache entry.
    monkeypatch.undo()
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path))
    load_indexes(ref, ei={"mz_power": 2.0})
    assert len(list(tmp_path.rglob("index-*.npz"))) == 2


def test_fragment_index_orders_by_precursor_and_keeps_row_mapping():
    spectra = list(read(data_path("massbank", "ms2-queries-analog.msp.gz")))
    ref = Reference.from_spectra(spectra)
    ix = load_indexes(ref, use_cache=False)["ms2"]
    assert isinstance(ix, FragmentIndex) and ix.n == 200  # grep -c '^Name:' ms2-queries-analog
    assert np.all(np.diff(ix.precursor_mz) >= 0)
    np.testing.assert_array_equal(ix.precursor_mz, ref.columns["precursor_mz"][ix.rows])
    assert np.all(np.diff(ix.frag_mz) >= 0) and np.all(np.diff(ix.loss_mz) >= 0)
    # No fragment at or above precursor - 1.6 Da survives cleaning.
    assert np.all(ix.spec_mz < np.repeat(ix.precursor_mz, ix.spectra.counts) - 1.6 + 1e-9)
    # The window of a library precursor contains that spectrum.
    p = 17
    assert p in ix.window(ix.precursor_mz[p], 1e-6)


def test_recorded_precision_widens_low_resolution_precursors():
    assert recorded_precision(np.array([125.0, 220.9, 85.05, 152.107, 147.0441, np.nan])).tolist() == [
        0.5, 0.05, 0.005, 0.0005, 0.0, 0.0
    ]


def test_one_precursors_recorded_precision_is_the_arrays(massbank_ms2_spectra):
    # the verdict reads each query's precursor by the scalar version (stop 45): every MassBank MS/MS
    # record's precursor (written to 0-6 decimals) gets the same half-decimal as the index built from them
    mz = np.array([s.precursor_mz for s in massbank_ms2_spectra if s.precursor_mz is not None])
    scalar = [recorded_precision_of(float(x)) for x in mz]
    assert scalar == recorded_precision(mz).tolist()
    assert {0.5, 0.05, 0.0005, 0.0} <= set(scalar)


def _precision_by_rounding(mz: float, max_decimals: int = 4) -> float:
    """recorded_precision_of's definition, by Python's round to n decimals alone (its loop until stop 49)."""
    for decimals in range(max_decimals):
        if abs(round(mz, decimals) - mz) <= 1e-9 * abs(mz):
            return 0.5 * 10.0**-decimals
    return 0.0


def test_one_precursors_recorded_precision_is_its_decimals_at_every_scale_and_tolerance_edge():
    # stop 49 tells an accurate m/z by one multiply and round before the loop: it must give the loop's answer for
    # values a decimal apart, on its 1e-9 tolerance and just either side (where a shortcut's own bound would show),
    # one float off a multiple, 32-bit renderings, huge, tiny, negative and non-finite values
    rng = np.random.default_rng(49)
    values = [0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1.7976931348623157e308, 1e16, 2.0**53 + 1, 147.0441]
    for decimals in range(7):
        for base in rng.integers(0, 2 * 10**(decimals + 4), 300) / 10**decimals:
            values += [base, -base, np.nextafter(base, np.inf), np.nextafter(base, -np.inf), float(np.float32(base))]
            values += [base * (1 + rel) for rel in (1e-9, -1e-9, 0.999e-9, 1.001e-9, -1.001e-9, 2e-9, 3e-9, 1e-8)]
    values += (10.0 ** rng.uniform(-12, 15, 3000)).tolist() + rng.uniform(0, 2000, 3000).tolist()
    for max_decimals in (4, 0, 1, 3, 6):
        assert [recorded_precision_of(float(x), max_decimals) for x in values] == \
            [_precision_by_rounding(float(x), max_decimals) for x in values]


def test_msms_spectra_without_precursor_are_in_neither_index():
    # MassBank writes `PrecursorMZ: NA` for some MS2 records (ACES_SU, among the first 1,100).
    spectra = list(itertools.islice(read(data_path("massbank", "ms2-library.msp.gz")), 1100))
    no_precursor = [i for i, s in enumerate(spectra) if s.precursor_mz is None]
    assert no_precursor and all(spectra[i].ms_level == 2 for i in no_precursor)
    indexes = load_indexes(Reference.from_spectra(spectra), use_cache=False)
    assert "ei" not in indexes  # an MS/MS spectrum is never searched as EI
    assert not set(no_precursor) & set(indexes["ms2"].rows.tolist())
    assert indexes["ms2"].n == len(spectra) - len(no_precursor)


def test_an_unwritable_index_cache_costs_time_not_the_search(tmp_path, monkeypatch):
    spectra = list(itertools.islice(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")), 50))
    ref = Reference.from_spectra(spectra)
    object.__setattr__(ref, "sha256", "0" * 64)  # a library identity, so the index is cacheable
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("NPS_ID_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="index cache .* not written"):
        indexes = load_indexes(ref)
    assert indexes["ei"].rows.size == 50


def test_a_stored_fragment_index_reads_its_open_search_arrays_when_first_used():
    """Identity search never reads the fragment and loss arrays (60 % of a stored MS/MS index):
    a stored index defers them, reads them when an analogue search first asks, and checks them
    then -- a damaged one is still a one-line LibraryError, never a read outside memory."""
    from nps_id.errors import LibraryError

    spectra = list(read(data_path("massbank", "ms2-queries-analog.msp.gz")))
    ref = Reference.from_spectra(spectra)
    arrays, attrs = build_indexes(ref.peaks, ref.columns)["ms2"]
    asked: list[str] = []

    class Reading(dict):  # a library group: each array read when asked for
        def __getitem__(self, key):
            asked.append(key)
            return super().__getitem__(key)

        def get(self, key, default=None):
            return self[key] if key in self else default

    stored = load_indexes(Reference(ref.peaks, dict(ref.columns), "x" * 64, {"ms2": (Reading(arrays), attrs)},
                                    path="lib.h5"), use_cache=False)["ms2"]
    built = load_indexes(ref, use_cache=False)["ms2"]
    assert stored.window(built.precursor_mz[17], 1e-6).tolist() == built.window(built.precursor_mz[17], 1e-6).tolist()
    assert not set(asked) & set(index_mod.OPEN_SEARCH)
    for name in index_mod.OPEN_SEARCH:
        assert np.array_equal(getattr(stored, name), getattr(built, name))
    bad = {**arrays, "loss_position": arrays["loss_position"].copy()}
    bad["loss_position"][3] = 10**6
    damaged = load_indexes(Reference(ref.peaks, dict(ref.columns), "x" * 64, {"ms2": (bad, attrs)}, path="lib.h5"),
                           use_cache=False)["ms2"]
    assert damaged.window(built.precursor_mz[17], 1e-6).size  # identity search still reads it
    with pytest.raises(LibraryError, match=r"^lib.h5: damaged search index /indexes/ms2: loss_position points"):
        damaged.frag_mz


def test_a_stored_fragment_index_reads_only_the_peaks_a_few_queries_score():
    """One MS/MS query scores the spectra of its precursor window, neighbours in the index: a
    stored index reads that span of its peaks (a chunk or two of the file) instead of all of them
    (16 MB of MassBank MS/MS), the same numbers, checked as the whole would be; many queries
    read the whole once."""
    from nps_id.errors import LibraryError

    spectra = list(read(data_path("massbank", "ms2-queries-analog.msp.gz")))
    ref = Reference.from_spectra(spectra)
    arrays, attrs = build_indexes(ref.peaks, ref.columns)["ms2"]
    asked: list[str] = []
    parts: list[tuple[str, int, int]] = []

    class Reading(dict):  # a library group: each array read whole when asked for, or in part
        def __getitem__(self, key):
            asked.append(key)
            return super().__getitem__(key)

        def get(self, key, default=None):
            return self[key] if key in self else default

        def part(self, key, lo, hi):
            parts.append((key, lo, hi))
            return dict.__getitem__(self, key)[lo:hi]

    def stored(group):
        return load_indexes(Reference(ref.peaks, dict(ref.columns), "x" * 64, {"ms2": (Reading(group), attrs)},
                                      path="lib.h5"), use_cache=False)["ms2"]

    built = load_indexes(ref, use_cache=False)["ms2"]
    index = stored(arrays)
    positions = built.window(built.precursor_mz[17], 0.5)
    assert 0 < positions.size < 10
    peaks, local = index.peaks_of(positions)
    assert not set(asked) & set(index_mod.SPEC_PEAKS)
    assert {key for key, _, _ in parts} == set(index_mod.SPEC_PEAKS)
    assert sum(hi - lo for _, lo, hi in parts) < 0.05 * 2 * built.spec_mz.size
    for p, q in zip(positions.tolist(), local.tolist()):
        for mine, whole in zip(peaks.row(q), built.spectra.row(p)):
            assert mine.dtype == whole.dtype and np.array_equal(mine, whole)
    everything = np.arange(index.n)
    peaks, local = index.peaks_of(everything)
    assert set(index_mod.SPEC_PEAKS) <= set(asked) and np.array_equal(local, everything)
    assert np.array_equal(peaks.mz, built.spec_mz) and np.array_equal(peaks.intensity, built.spec_intensity)
    bad = {**arrays, "spec_mz": arrays["spec_mz"].copy()}
    bad["spec_mz"][built.spec_offsets[positions[0]]] = np.nan
    with pytest.raises(LibraryError, match=r"^lib.h5: damaged search index /indexes/ms2: array 'spec_mz'"):
        stored(bad).peaks_of(positions)


def test_ion_modes_coded_by_python_strings_as_numpy_char_coded_them():
    """:func:`ion_mode_codes` reads each value's text with Python's str methods (numpy.char's import
    cost a one-spectrum search ~5 ms): the codes numpy.char gave for the ion modes of the 1,435
    MassBank MS/MS queries; odd values by the readers' words, where a word that merely starts with n is
    unknown (numpy.char's rule read an MGF's IONMODE=Neutral, or a NaN, as negative: the query lost
    every positive-mode spectrum)."""
    def by_numpy_char(ion_mode):
        text = np.char.lower(np.asarray(ion_mode, dtype=str))
        codes = np.zeros(text.shape, dtype=np.int8)
        codes[np.char.startswith(text, "p")] = 1
        codes[np.char.startswith(text, "n")] = -1
        return codes

    modes = [q.get("ion_mode") or "" for name in ("ms2-queries-identity.msp.gz", "ms2-queries-analog.msp.gz")
             for q in read(data_path("massbank", name))]
    assert {"positive", "negative"} <= {str(m).lower() for m in modes}
    got, expected = index_mod.ion_mode_codes(np.array(modes, dtype=object)), by_numpy_char(np.array(modes, dtype=object))
    assert got.dtype == np.int8 and np.array_equal(got, expected) and (got != 0).sum() > 1000
    odd = {"P": 1, "n": -1, "Negative": -1, "": 0, None: 0, " positive": 1, "neutral": 0, "pos\x00": 1, "İon": 0,
           1.0: 0, float("nan"): 0, "ｐ": 0, "unknown": 0, "+": 1, "-": -1, "NEG": -1, "none": 0, "n/a": 0}
    assert index_mod.ion_mode_codes(np.array(list(odd), dtype=object)).tolist() == list(odd.values())
    assert index_mod.ion_mode_codes(np.array("Positive")).tolist() == 1 and index_mod.ion_mode_codes([]).shape == (0,)


def test_an_mgf_querys_neutral_ion_mode_is_unknown_not_negative(tmp_path):
    """The MGF reader keeps an ion mode it does not know as written ("neutral"); the search read every
    word starting with n as negative and searched such a query against the negative spectra alone."""
    path = tmp_path / "q.mgf"
    path.write_text("BEGIN IONS\nTITLE=q\nPEPMASS=173.1648\nIONMODE=Neutral\n57.07 100\n74.06 50\nEND IONS\n")
    (query,) = read(path)
    assert index_mod.ion_mode_codes(np.array([query.get("ion_mode") or ""], dtype=object)).tolist() == [0]

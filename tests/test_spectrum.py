"""The peak checks of Spectrum: what it refuses, with which message, and how it sorts.

Every reader hands its peaks to Spectrum, so a wrong message or a silently accepted NaN here
reaches the user through every format.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps_id.spectrum import MAX_MZ, Spectrum

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("mz, intensity, message", [
    ([50.0, NAN, 90.0], [1, 2, 3], "must be finite"),          # NaN in the middle of sorted m/z
    ([NAN], [1], "must be finite"),
    ([50.0, 90.0], [1, INF], "must be finite"),
    ([50.0, 90.0], [NAN, 1], "must be finite"),
    ([50.0, 90.0], [1, 1e39], "must be finite"),               # overflows float32
    ([50.0, INF], [1, 1], "must be finite"),
    ([-INF, 50.0], [1, 1], "must be finite"),
    ([90.0, 0.0], [1, 1], r"m/z must be positive \(found 0\)"),
    ([-3.0], [1], r"m/z must be positive \(found -3\)"),
    ([50.0, 2e6], [1, 1], r"m/z must be at most 1e\+06 \(found 2e\+06\)"),
    ([50.0, 90.0], [1, -2], r"intensities must not be negative \(found -2\)"),
])
def test_refused_peaks_are_named(mz: list[float], intensity: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Spectrum(mz, intensity)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.floats(allow_nan=True, allow_infinity=True, width=64)), max_size=8))
def test_accepts_exactly_finite_positive_peaks_and_sorts_stably(peaks: list[tuple[float, float]]) -> None:
    mz = np.array([p[0] for p in peaks], dtype=np.float64)
    with np.errstate(over="ignore"):
        intensity = np.array([p[1] for p in peaks], dtype=np.float64).astype(np.float32)
    valid = bool(np.isfinite(mz).all() and np.isfinite(intensity).all() and (mz > 0).all()
                 and (mz <= MAX_MZ).all() and (intensity >= 0).all())
    if not valid:
        with pytest.raises(ValueError):
            Spectrum(mz, intensity)
        return
    spectrum = Spectrum(mz, intensity)
    order = np.argsort(mz, kind="stable")
    assert spectrum.mz.tobytes() == mz[order].tobytes()
    assert spectrum.intensity.tobytes() == intensity[order].tobytes()


def test_metadata_is_normalised_as_documented() -> None:
    meta = Spectrum([50.0], [1.0], {
        "Name": "cocaine", "COMMENTS": "  ", "formula": None, "Scan_Index": "3", "precursor_mz": "304.15",
        "retention_time": NAN, "exact_mass": INF, "synonyms": "benzoylmethylecgonine", "ms_level": 2.0,
        "extra": 7,
    }).metadata
    assert dict(meta) == {"name": "cocaine", "scan_index": 3, "precursor_mz": 304.15,
                          "synonyms": ("benzoylmethylecgonine",), "ms_level": 2, "extra": 7}


@pytest.mark.parametrize("precursor", [0, 0.0, -183.057, "-1"])
def test_a_precursor_mz_of_zero_or_below_is_unknown(precursor) -> None:
    # MoNA writes "PrecursorMZ: 0" on EI records; a negative one was searched as a real precursor
    assert Spectrum([50.0], [1.0], {"precursor_mz": precursor}).precursor_mz is None


@pytest.mark.parametrize("precursor", [2e6, 1e308, "1.7e308"])
def test_a_precursor_mz_no_instrument_measures_is_refused(precursor) -> None:
    # 1e308 overflowed the precursor window to infinity, and the query hit an unrelated compound
    with pytest.raises(ValueError, match=r"precursor m/z must be at most 1e\+06"):
        Spectrum([50.0], [1.0], {"precursor_mz": precursor})


@pytest.mark.parametrize("seconds", [-0.001, -60, INF, -INF, 1.5e9])
def test_a_retention_time_before_the_injection_or_beyond_any_run_is_refused(seconds) -> None:
    # every reader builds its scans here: one check, one message (file and scan added by the reader)
    with pytest.raises(ValueError, match=r"retention time must be 0 to 1e\+09 s \(found"):
        Spectrum([50.0], [1.0], {"retention_time": seconds})
    assert Spectrum([50.0], [1.0], {"retention_time": 0.0}).retention_time == 0.0
    assert Spectrum([50.0], [1.0], {"retention_time": NAN}).retention_time is None  # unknown, as a library stores it


def test_to_matchms_prints_no_library_warning():
    # matchms imports psims' mzMLb writer, which warned "hdf5plugin is missing! Only the slower
    # GZIP compression ..." on stderr: noise about a format nps-id never writes. A fresh process,
    # as a user's first conversion is.
    import subprocess
    import sys

    code = ("from nps_id.spectrum import Spectrum, to_matchms, from_matchms\n"
            "s = from_matchms(to_matchms(Spectrum([50.0, 91.0], [1.0, 2.0], {'name': 'x'})))\n"
            "print(s.name, len(s))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "x 2\n"
    assert done.stderr == ""


def test_spectra_packed_for_another_process_come_back_bit_for_bit():
    """The MassBank MS/MS queries and SWGDRUG records (as the search's read ahead hands a range of
    them to a worker: :func:`pack_spectra` pickled): each spectrum back with the same m/z and
    intensity bytes, dtypes and read-only peaks and the same metadata, types included (precursor
    m/z a float, scan index an int, synonyms a tuple); an empty range is empty."""
    import itertools
    import pickle

    from nps_id.io import read
    from nps_id.spectrum import pack_spectra, unpack_spectra
    from tests.conftest import data_path

    for parts in (("massbank", "ms2-queries-identity.msp.gz"), ("swgdrug", "SWGDRUG-3.4.msp.gz")):
        spectra = list(itertools.islice(read(data_path(*parts)), 500))
        back = unpack_spectra(pickle.loads(pickle.dumps(pack_spectra(spectra), protocol=pickle.HIGHEST_PROTOCOL)))
        assert len(back) == len(spectra) == 500
        for one, two in zip(spectra, back):
            assert one.mz.tobytes() == two.mz.tobytes() and one.intensity.tobytes() == two.intensity.tobytes()
            assert (two.mz.dtype, two.intensity.dtype) == (np.float64, np.float32)
            assert not two.mz.flags.writeable and not two.intensity.flags.writeable
            assert list(one.metadata.items()) == list(two.metadata.items())
            assert [type(v) for v in one.metadata.values()] == [type(v) for v in two.metadata.values()]
    assert unpack_spectra(pack_spectra([])) == []

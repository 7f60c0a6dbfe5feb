"""Array kernels: hand-computed values, limiting cases, bulk vs single, determinism."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nps_id.io import read
from nps_id.peaks import CSRPeaks
from nps_id.search.kernels import (
    composite_mf_many, composite_mf_many_w, composite_parts_many, composite_parts_many_w,
    composite_reference_weights,
)
from nps_id.search.preprocess import preprocess_ei
from nps_id.search.scores import CompositeMatchFactor
from nps_id.search.scores.base import search_peaks
from nps_id.spectrum import Spectrum
from tests.conftest import data_path


def _one(q: Spectrum, r: Spectrum, a: float = 3.0, b: float = 0.6) -> tuple[float, float]:
    mf, rmf = composite_mf_many(q.mz, q.intensity, np.array([0, len(r)]), r.mz, r.intensity,
                                np.array([0]), a, b)
    return float(mf[0]), float(rmf[0])


def _reference_parts(q: dict, r: dict, a: float, b: float) -> tuple[float, float]:
    """Stein & Scott 1994 written out with dicts (independent of the kernel's loop): F_D, F_R."""
    w = lambda m, i: m**a * i**b  # noqa: E731
    common = sorted(set(q) & set(r))
    f_d = sum(w(m, q[m]) * w(m, r[m]) for m in common) ** 2 / (
        sum(w(m, i) ** 2 for m, i in q.items()) * sum(w(m, i) ** 2 for m, i in r.items()))
    ratios = []
    for lo, hi in zip(common, common[1:]):
        x = (w(hi, r[hi]) * w(lo, q[lo])) / (w(lo, r[lo]) * w(hi, q[hi]))
        ratios.append(min(x, 1 / x))
    return f_d, sum(ratios) / len(ratios)


def test_composite_hand_computed():
    # a=0, b=1: F_D = 15000^2 / (12600 * 20400); ratio of (50, 51) = min(2, 1/2);
    # MF = (3 F_D + 2 * 0.5) / 5; RMF = (15000^2 / (12500 * 20400) + 0.5) / 2.
    q = Spectrum([50, 51, 52], [100, 50, 10])
    r = Spectrum([50, 51, 60], [100, 100, 20])
    mf, rmf = _one(q, r, a=0.0, b=1.0)
    assert mf == pytest.approx((3 * 225 / 257.04 + 1.0) / 5, abs=1e-12)
    assert rmf == pytest.approx((225 / 255 + 0.5) / 2, abs=1e-12)


def test_composite_matches_written_out_formula():
    q = {41: 120.0, 43: 999.0, 58: 310.0, 71: 45.0, 86: 12.0, 99: 3.0}
    r = {41: 150.0, 43: 999.0, 57: 40.0, 58: 280.0, 71: 60.0, 86: 20.0}
    qs, rs = Spectrum(list(q), list(q.values())), Spectrum(list(r), list(r.values()))
    q_in_r = {m: i for m, i in q.items() if m in r}  # RMF: m/z 99 is not in the reference
    for a, b in [(3.0, 0.6), (1.0, 0.5), (0.0, 1.0), (2.0, 0.3)]:
        f_d, f_r = _reference_parts(q, r, a, b)
        f_d_rev, _ = _reference_parts(q_in_r, r, a, b)
        mf, rmf = _one(qs, rs, a, b)
        assert mf == pytest.approx((6 * f_d + 5 * f_r) / 11, abs=1e-12)
        assert rmf == pytest.approx((f_d_rev + f_r) / 2, abs=1e-12)


def test_composite_limits():
    s = Spectrum([41, 43, 58, 99], [200, 999, 350, 40])
    assert _one(s, s) == pytest.approx((1.0, 1.0), abs=1e-12)
    assert _one(s, Spectrum([40, 44, 59], [1, 2, 3])) == (0.0, 0.0)
    assert _one(Spectrum([], []), s) == (0.0, 0.0)
    # Intensity scale does not matter.
    assert _one(s, Spectrum(s.mz, s.intensity * 7.5)) == pytest.approx((1.0, 1.0), abs=1e-12)
    # A single common peak: no adjacent pair, MF is the weighted dot alone.
    one = Spectrum([91], [999])
    assert _one(one, one) == pytest.approx((1.0, 1.0))


def test_rmf_ignores_extra_query_peaks():
    ref = Spectrum([41, 43, 58, 71], [200, 999, 350, 80])
    mixture = Spectrum([41, 43, 55, 58, 71, 77, 105], [200, 999, 600, 350, 80, 500, 900])
    mf, rmf = _one(mixture, ref)
    assert rmf == pytest.approx(1.0, abs=1e-12)
    assert mf < 0.9


def test_composite_forward_not_symmetric_reverse_is_about_reference():
    a = Spectrum([41, 43, 58], [200, 999, 350])
    b = Spectrum([41, 43, 58, 71, 85], [200, 999, 350, 300, 150])
    assert _one(a, b)[0] != pytest.approx(_one(b, a)[0])
    # Every query peak is in b: RMF(a, b) == MF(a, b); b's extra peaks vanish in RMF(b, a).
    assert _one(a, b)[1] == pytest.approx(_one(a, b)[0])
    assert _one(b, a)[1] == pytest.approx(1.0)


def _ei_queries(n: int) -> list[Spectrum]:
    path = data_path("massbank", "ei-queries-identity.msp.gz")
    return [preprocess_ei(s, min_mz=40) for s in itertools.islice(read(path), n)]


def test_bulk_equals_single_and_pair_on_real_spectra():
    # Prepared as the search prepares EI, which CompositeMatchFactor.pair does itself.
    spectra = [s.replace(mz=mz, intensity=i) for s in _ei_queries(40) for mz, i in [search_peaks(s, "ei")]]
    refs = CSRPeaks.from_spectra(spectra)
    cand = np.array([5, 0, 39, 17, 17, 3])
    score = CompositeMatchFactor()
    a, b = score.mz_power, score.intensity_power
    for q in spectra[:8]:
        mf, rmf = composite_mf_many(q.mz, q.intensity, refs.offsets, refs.mz, refs.intensity, cand, a, b)
        for k, c in enumerate(cand):
            result = score.pair(q, spectra[c])
            assert mf[k] == result.parts["mf_raw"] == result.score
            assert rmf[k] == result.parts["rmf_raw"]
    matrix = score.matrix(spectra[:8], spectra)
    assert matrix.shape == (8, 40)
    assert np.array_equal(np.diag(matrix[:, :8]).round(12), np.ones(8))
    assert matrix[3, 11] == score.pair(spectra[3], spectra[11]).score


def test_composite_deterministic_and_dtype_independent():
    spectra = _ei_queries(30)
    refs = CSRPeaks.from_spectra(spectra)
    cand = np.arange(30)
    q = spectra[4]
    first = composite_parts_many(q.mz, q.intensity, refs.offsets, refs.mz, refs.intensity, cand, 3.0, 0.6)
    again = composite_parts_many(q.mz, q.intensity, refs.offsets, refs.mz, refs.intensity, cand, 3.0, 0.6)
    as64 = composite_parts_many(q.mz, q.intensity.astype(np.float64), refs.offsets, refs.mz,
                                refs.intensity.astype(np.float64), cand, 3.0, 0.6)
    assert np.array_equal(first, again)
    assert np.array_equal(first, as64)


def test_precomputed_weights_give_the_same_bits():
    spectra = _ei_queries(40)
    refs = CSRPeaks.from_spectra(spectra)
    cand = np.array([39, 2, 2, 0, 17])
    for a, b in [(3.0, 0.6), (1.0, 0.5)]:
        ref_w, ref_norm2 = composite_reference_weights(refs.offsets, refs.mz, refs.intensity, a, b)
        assert ref_w.shape == refs.mz.shape and ref_norm2.shape == (40,)
        for q in spectra[:10]:
            args = (q.mz, q.intensity, refs.offsets, refs.mz)
            on_the_fly = composite_parts_many(*args, refs.intensity, cand, a, b)
            assert np.array_equal(on_the_fly, composite_parts_many_w(*args, ref_w, ref_norm2, cand, a, b))
            mf, rmf = composite_mf_many_w(*args, ref_w, ref_norm2, cand, a, b)
            assert np.array_equal(mf, on_the_fly[:, 0]) and np.array_equal(rmf, on_the_fly[:, 1])


def test_ms2_kernels_deterministic_on_real_spectra():
    from nps_id.search.kernels import (
        clean_peaks_f32, cosine_greedy, entropy_similarity, hybrid_entropy_similarity,
    )

    path = data_path("massbank", "ms2-queries-identity.msp.gz")
    spectra = [s for s in itertools.islice(read(path), 60) if s.precursor_mz]
    f32 = np.float32
    cleaned = [clean_peaks_f32(s.mz, s.intensity, f32(0), f32(s.precursor_mz - 1.6), f32(0.01), f32(0.05), False, -1)
               for s in spectra]
    again = [clean_peaks_f32(s.mz, s.intensity, f32(0), f32(s.precursor_mz - 1.6), f32(0.01), f32(0.05), False, -1)
             for s in spectra]
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(cleaned, again))
    def scores(spectra, cleaned, copy):
        # ``copy``: every input in fresh memory, so a kernel reading uninitialised or shared
        # scratch memory, or depending on the buffers' addresses, gives other numbers.
        c = (lambda x: np.array(x, copy=True)) if copy else (lambda x: x)
        out = []
        for (a, (ma, ia)), (b, (mb, ib)) in zip(zip(spectra, cleaned), zip(spectra[1:], cleaned[1:])):
            out.append(cosine_greedy(c(a.mz), c(a.intensity), c(b.mz), c(b.intensity), 0.02, False,
                                     a.precursor_mz - b.precursor_mz, 0.0, 1.0))
            out.append(entropy_similarity(c(ma).astype(np.float64), c(ia), c(mb).astype(np.float64), c(ib), 0.02,
                                          False, True))
            out.append(hybrid_entropy_similarity(c(ma).astype(np.float64), c(ia), a.precursor_mz,
                                                 c(mb).astype(np.float64), c(ib), b.precursor_mz, 0.02, False, True))
        return out

    first = scores(spectra, cleaned, copy=False)
    assert first == scores(spectra, cleaned, copy=False) == scores(spectra, cleaned, copy=True)
    assert sum(score > 0.3 for score, _ in first) >= 8  # real peak matching, not zeros
    for mz, inten in cleaned:  # every spectrum is identical to itself: 1, all peaks matched
        if mz.size:
            m = mz.astype(np.float64)
            assert entropy_similarity(m, inten, m, inten, 0.02, False, True) == (pytest.approx(1.0, abs=1e-6), mz.size)
    for (ma, ia), (mb, ib) in zip(cleaned, cleaned[1:]):  # entropy similarity is symmetric
        ab = entropy_similarity(ma.astype(np.float64), ia, mb.astype(np.float64), ib, 0.02, False, True)
        ba = entropy_similarity(mb.astype(np.float64), ib, ma.astype(np.float64), ia, 0.02, False, True)
        assert ab[0] == pytest.approx(ba[0], abs=1e-12)


def test_compiled_code_takes_numba_from_the_jit_module():
    """Every module with compiled code decorates it with nps_id.search.jit.njit, which imports numba
    on a kernel's first call (a search of a few queries never does), its array maths without
    scipy.linalg first (~0.1 s CPU of every process)."""
    from pathlib import Path

    import nps_id

    root = Path(nps_id.__file__).parent
    direct = [str(path.relative_to(root)) for path in root.rglob("*.py") if path.name != "jit.py"
              and any(line.lstrip().startswith(("import numba", "from numba")) for line in path.read_text().splitlines())]
    assert direct == []


def test_a_kernel_called_before_numba_loads_is_numba_s_dispatcher_after():
    """A compiled kernel calling another finds numba's dispatcher in its module's globals (the
    lazy stand-in is replaced everywhere on the first call), with the same numbers as its Python."""
    from nps_id.search import jit, kernels
    from nps_id.search.scores import composite

    mz, inten = np.array([41.0, 43.0, 58.0]), np.array([200.0, 999.0, 350.0])
    mf, _ = kernels.composite_mf_many(mz, inten, np.array([0, 3]), mz, inten, np.array([0]), 3.0, 0.6)
    assert mf[0] == pytest.approx(1.0)
    assert jit.loaded()
    for module in (kernels, composite):
        assert not [name for name, value in vars(module).items() if isinstance(value, jit.LazyKernel)]
    assert type(kernels.peak_weight).__name__ == "CPUDispatcher"


_IMPORT_IN_THE_WINDOW = """
import importlib.machinery, sys, threading
seen = {}

def other_thread():
    try:
        import scipy.linalg  # noqa: F401
        seen["other"] = "ok"
    except ImportError as exc:
        seen["other"] = repr(exc)

class WhileArrayMathsLoad:  # runs the other thread as numba.np.arraymath executes (not under the import lock)
    def find_spec(self, name, path=None, target=None):
        if name != "numba.np.arraymath" or "other" in seen:
            return None
        seen["other"] = "not run"
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        real = spec.loader

        class Loader:
            def create_module(self, spec):
                return real.create_module(spec)

            def exec_module(self, module):
                thread = threading.Thread(target=other_thread)
                thread.start()
                thread.join(120)
                real.exec_module(module)

        spec.loader = Loader()
        return spec

sys.meta_path.insert(0, WhileArrayMathsLoad())
from nps_id.search import jit
jit.load()
print(seen.get("other"))
"""


def test_another_thread_imports_scipy_linalg_while_the_kernels_load():
    """The kernels load numba's array maths without scipy.linalg in their own thread only: a
    thread of the same process importing scipy.linalg meanwhile (a web server, a Dask worker)
    gets it, not ``ModuleNotFoundError`` (alone, the probe skips it: test_search_cli)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", _IMPORT_IN_THE_WINDOW], capture_output=True, text=True,
                         env=env, timeout=300, check=True).stdout
    assert out.strip() == "ok"


@pytest.mark.parametrize("side", ["query", "reference"])
@pytest.mark.parametrize("bad_mz", [np.nan, np.inf, -3.0, -5e9, 0.0, 2e6])
def test_composite_api_refuses_peaks_it_cannot_index(side, bad_mz):
    # The kernels index the query's weights by int(rint(mz)): a NaN m/z read or wrote outside
    # them, -3 matched the query's third peak from the top, -5e9 crashed the process.
    spectra = _ei_queries(3)
    refs = CSRPeaks.from_spectra(spectra)
    q_mz, ref_mz = spectra[0].mz.copy(), refs.mz.copy()
    (q_mz if side == "query" else ref_mz)[1] = bad_mz
    ref_w, ref_norm2 = composite_reference_weights(refs.offsets, ref_mz, refs.intensity, 3.0, 0.6)
    with pytest.raises(ValueError, match=r"m/z must be in \(0, 1e\+06\]"):
        composite_parts_many(q_mz, spectra[0].intensity, refs.offsets, ref_mz, refs.intensity, np.arange(3), 3.0, 0.6)
    with pytest.raises(ValueError, match=r"m/z must be in \(0, 1e\+06\]"):
        composite_mf_many_w(q_mz, spectra[0].intensity, refs.offsets, ref_mz, ref_w, ref_norm2, [2, 0], 3.0, 0.6)


def test_composite_api_refuses_candidates_and_offsets_outside_the_library():
    spectra = _ei_queries(3)
    refs = CSRPeaks.from_spectra(spectra)
    q = spectra[0]
    with pytest.raises(ValueError, match=r"candidate indices must be in \[0, 3\)"):
        composite_mf_many(q.mz, q.intensity, refs.offsets, refs.mz, refs.intensity, [3], 3.0, 0.6)
    with pytest.raises(ValueError, match="reference offsets must rise"):
        composite_mf_many(q.mz, q.intensity, refs.offsets + 1, refs.mz, refs.intensity, [0], 3.0, 0.6)
    nan_int = q.intensity.astype(np.float64)
    nan_int[0] = np.nan
    with pytest.raises(ValueError, match="intensities finite"):
        composite_mf_many(q.mz, nan_int, refs.offsets, refs.mz, refs.intensity, [0], 3.0, 0.6)

"""Numba on first use: compiled kernels that import numba only when one is called.

Importing numba and loading its first cached kernel costs ~0.4 s CPU of every process (its import
0.22-0.28 s, its CPU target's registries 0.12-0.20 s), more than half of a one-spectrum search. An
identity search of a few queries runs the NumPy forms of its kernels instead (:mod:`nps_id.search.few`,
the same numbers bit for bit) and never imports numba; every other search imports it before it
starts (:func:`nps_id.search.engine.search`), any other caller when it first calls a kernel.

Every module with compiled code decorates it with this module's :func:`njit`. It returns a
:class:`LazyKernel`; the first call of any of them (or of an attribute numba's dispatcher has)
imports numba (:func:`load`: its array maths without scipy.linalg first), makes every kernel's
numba dispatcher -- the same ``cache=True`` machine code as before, nothing is recompiled -- and
puts each in place of its :class:`LazyKernel` in the globals of every nps-id module, so that
compiled code calling another kernel finds numba's dispatcher there.

Entry points
------------
- :func:`njit` -- ``numba.njit`` on first use.
- :func:`few_queries` -- whether a search of ``n`` queries (identity or analogue) takes the NumPy path.
- :func:`load`, :func:`loaded`.
- :func:`kernel_sources_digest` -- the source stamp of every kernel's numba cache (all kernel
  modules' text: a kernel's cached code holds its callees', which numba's per-file stamp missed).
"""
from __future__ import annotations

import hashlib
import sys
import threading
from pathlib import Path
from typing import Any, Callable

#: An identity search of at most this many queries runs the NumPy kernels (:mod:`nps_id.search.few`)
#: while numba is not loaded: a query costs them ~6 ms more than numba's kernels against MassBank
#: EI (10 ms at 100,000 spectra), numba's start-up ~0.4-0.6 s; whole processes of 40 queries are
#: still cheaper in NumPy (benchmarks/README.md, "Whole process", stop 29). Kept low because the
#: NumPy EI prefilter's cost grows with the library.
FEW_QUERIES = 10
#: An analogue search of at most this many queries runs them too: it scores ~1,000 candidates a
#: query by a Python loop (the greedy modified cosine), ~0.06-0.11 s a query, against numba's
#: start-up of ~0.4 s with its cache warm and ~10-30 s of compiling on an empty cache -- what the
#: first ``match`` after an install paid for a card's few unknown components (6 on LRCFS
#: 220223030; benchmarks/README.md, "Whole process", stop 32, branch speed32b).
FEW_ANALOGUE_QUERIES = 8

_kernels: list["LazyKernel"] = []
_lock = threading.RLock()
_numba_njit: Callable[..., Any] | None = None


def loaded() -> bool:
    """Whether numba's dispatchers are made (a kernel was called, or :func:`load` was)."""
    return _numba_njit is not None


def few_queries(n: int, mode: str = "identity") -> bool:
    """Whether ``n`` queries of a search in ``mode`` are searched with the NumPy kernels: a few
    (:data:`FEW_QUERIES`, :data:`FEW_ANALOGUE_QUERIES`), and numba not loaded yet (once it is,
    its kernels are the faster for any number)."""
    return n <= (FEW_QUERIES if mode == "identity" else FEW_ANALOGUE_QUERIES) and not loaded()


class LazyKernel:
    """A function to compile with ``numba.njit(**options)`` when first called."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func = func
        self.options = options
        self.dispatcher: Any = None
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __call__(self, *args: Any) -> Any:
        if self.dispatcher is None:
            load()
        return self.dispatcher(*args)

    def __getattr__(self, name: str) -> Any:  # signatures, stats, ...: the dispatcher's
        if name.startswith("__") or name in ("dispatcher", "py_func", "options"):
            raise AttributeError(name)
        if self.dispatcher is None:
            load()
        return getattr(self.dispatcher, name)

    def __repr__(self) -> str:
        return f"<LazyKernel {self.__module__}.{self.__qualname__}>"


def njit(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit(**options)`` made when first called; numba's own dispatcher once numba is
    loaded. Used as ``@njit(cache=True, nogil=True)`` (or bare ``@njit``)."""
    def decorate(f: Callable[..., Any]) -> Any:
        with _lock:
            if _numba_njit is not None:
                return _numba_njit(**options)(f)
            kernel = LazyKernel(f, options)
            _kernels.append(kernel)
            return kernel
    return decorate if func is None else decorate(func)


def load() -> None:
    """Import numba and make every kernel's dispatcher, in place of its :class:`LazyKernel` in
    the globals of every loaded nps-id module (compiled callers look their callees up there)."""
    global _numba_njit
    with _lock:
        if _numba_njit is not None:
            return
        _load_numba_array_maths()
        _stamp_caches_by_every_kernel_source()
        _damaged_cache_files_as_absent()
        from numba import njit as numba_njit

        made = {id(kernel): numba_njit(**kernel.options)(kernel.py_func) for kernel in _kernels}
        for name, module in list(sys.modules.items()):
            if name.split(".")[0] != "nps_id" or module is None:
                continue
            space = vars(module)
            for key, value in list(space.items()):
                if isinstance(value, LazyKernel):
                    space[key] = made[id(value)]
        # Only now may another thread call a dispatcher (its compiled callees are in place).
        for kernel in _kernels:
            kernel.dispatcher = made[id(kernel)]
        _numba_njit = numba_njit


def kernel_sources_digest() -> bytes:
    """SHA-256 of every module of ``nps_id/search`` with compiled code (``@njit``), names and text."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        text = path.read_bytes()
        if b"@njit" in text:
            digest.update(str(path.relative_to(Path(__file__).parent)).encode() + b"\0" + text)
    return digest.digest()


def _stamp_caches_by_every_kernel_source() -> None:
    """Make :func:`kernel_sources_digest` the source stamp of every nps-id kernel's numba cache.

    Numba stamps a kernel's cached machine code with its own file's text alone, but that code holds
    its callees' compiled in: after an edit of ``kernels.py`` alone, ``composite_batch``
    (``scores/composite.py``) ran the old ``composite_row_w`` from its cache (measured at stop 39:
    a search's MF unchanged by a halved row MF until the cache was emptied). With every kernel
    module in the stamp, an edit of any recompiles them all once (~10-30 s; an install changes
    no file). Numba's own locators, subclassed, keep choosing the cache folder; a numba without
    them keeps its per-file stamps (``tests/search/test_jit_cache.py`` would fail)."""
    try:
        from numba.core import caching

        bases = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator, caching.UserWideCacheLocator)
        locators = caching.CacheImpl._locator_classes
    except (ImportError, AttributeError):
        return
    if any(getattr(cls, "nps_id_stamp", False) for cls in locators):
        return
    digest = kernel_sources_digest()

    def stamped(base: type) -> type:
        def from_function(cls: type, py_func: Any, py_file: str) -> Any:
            if not py_func.__module__.startswith("nps_id."):
                return None  # another package's function: numba's own locators
            return super(locator, cls).from_function(py_func, py_file)

        locator = type(f"NpsId{base.__name__}", (base,), {
            "nps_id_stamp": True, "from_function": classmethod(from_function),
            "get_source_stamp": lambda self: digest})
        return locator

    caching.CacheImpl._locator_classes = [stamped(base) for base in bases] + list(locators)


def _damaged_cache_files_as_absent() -> None:
    """Read a numba cache index or data file that does not unpickle (truncated, overwritten) as no
    cache: the kernel compiles and its entry is written anew. Numba raised it from every call of the
    kernel (``EOFError: Ran out of input``, a traceback of every search) until the file was deleted
    by hand; it writes its files whole (a temporary file renamed), so two processes compiling at
    once leave none such. Any error: whatever fails to read a cache costs a compile, nothing more."""
    try:
        from numba.core.caching import IndexDataCacheFile
    except ImportError:
        return
    if getattr(IndexDataCacheFile, "nps_id_tolerant", False):
        return
    load_index, load = getattr(IndexDataCacheFile, "_load_index", None), getattr(IndexDataCacheFile, "load", None)
    if load_index is None or load is None:  # another numba's private layout: its own behaviour stands
        return

    def tolerant_load_index(self: Any) -> dict:
        try:
            return load_index(self)
        except Exception:  # noqa: BLE001 -- see above
            return {}

    def tolerant_load(self: Any, key: Any) -> Any:
        try:
            return load(self, key)
        except Exception:  # noqa: BLE001
            return None

    IndexDataCacheFile._load_index, IndexDataCacheFile.load = tolerant_load_index, tolerant_load
    IndexDataCacheFile.nps_id_tolerant = True


class _NoScipyLinalgInThisThread:
    """A ``sys.meta_path`` finder refusing ``scipy.linalg`` to the thread that made it alone: other
    threads of the process import it as usual meanwhile (a ``None`` in ``sys.modules`` would make
    their ``import scipy.linalg`` fail)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "scipy.linalg" and threading.get_ident() == self.thread:
            raise ModuleNotFoundError("scipy.linalg is not loaded for numba's BLAS probe", name=name)
        return None


def _load_numba_array_maths() -> None:
    """Import ``numba.np.arraymath`` (which numba's CPU target loads before its first compile or
    cached kernel) without the ``import scipy.linalg`` of its BLAS probe: ~0.1 s CPU of every
    process (scipy's array-API layer loads ``numpy.f2py`` and ``numpy.testing``). The probe's
    answer only chooses how numba compiles ``np.correlate`` and ``np.convolve`` (BLAS or a loop),
    which no kernel here uses; ``np.dot``, ``@`` and ``np.linalg`` in compiled code still import
    BLAS when compiled. A process that has scipy.linalg already loses nothing, and it is probed as
    usual; so is one whose numba fails to import arraymath this way (numba imports it again, as it
    always does). Only this thread is refused scipy.linalg, and ``sys.meta_path`` is replaced,
    never changed in place, so that an import running in another thread meanwhile neither fails
    nor skips a finder."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    refuse = _NoScipyLinalgInThisThread()
    sys.meta_path = [refuse, *sys.meta_path]
    try:
        import numba.np.arraymath  # noqa: F401
    except ImportError:
        pass
    finally:
        sys.meta_path = [finder for finder in sys.meta_path if finder is not refuse]

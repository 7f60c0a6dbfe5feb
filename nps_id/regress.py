"""Regression suites: re-run reference runs and spectra, compare with the expected outcome.

Entry points
------------
- :func:`load_suite` -- a suite TOML file -> :class:`Suite` (checked up front: every key, every
  path; errors name the file, the case and the key).
- :func:`run_suite` -- run every case -> :class:`SuiteResult`.
- :func:`format_table`, :func:`write_junit`, :func:`exit_code` -- the pass/fail table, JUnit XML
  for CI systems, and the command's exit code (0 all pass, 1 a regression, 3 / 4 input /
  library errors).

The suite format is documented in ``docs/regress.md``. Two kinds of case:

- ``run``: a chromatographic run goes through the ``nps-id match`` pipeline; each expected
  substance must be found at (at least) a verdict, with a minimum MF and inside an RT window
  (a suspected new substance named after it is not it);
  ``absent`` substances must not be reported (identified or tentative); ``only = true`` fails on
  any other identified substance.
- ``spectra``: a file of reference spectra is searched (``nps-id search`` engine); the top hit
  must have the query's name (``match_by = "name"``) or InChIKey first block
  (``match_by = "inchikey"``) for at least ``min_rate`` of the queries.

Libraries are nps-id HDF5 files (``path``), or built once from spectrum files (``build``) into a
cache folder keyed by the sources' SHA-256, so a suite over public MSP files needs no setup.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI (pyproject marker)
    import tomli as tomllib

from nps_id import __version__
from nps_id._atomic import atomic_output
from nps_id._hashing import sha256_path
from nps_id._paths import not_a_regular_file, printable, user_cache_dir
from nps_id._words import counted
from nps_id.errors import EXIT_BAD_INPUT, EXIT_BAD_LIBRARY, EXIT_FOUND, InputError, LibraryError, NpsIdError
from nps_id.match.results import Finding
from nps_id.match.verdict import IDENTIFIED, LEVELS, TENTATIVE, at_least, names_the_compound

_VAR = re.compile(r"\$(\w+)|\$\{(\w+)\}")


# -- the suite ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """A substance a run must show: name, weakest acceptable verdict, MF floor, RT window (min)."""

    substance: str
    verdict: str = IDENTIFIED
    min_mf: int | None = None
    rt_min: tuple[float, float] | None = None

    def describe(self) -> str:
        parts = [f"{self.substance} {self.verdict}"]
        if self.min_mf is not None:
            parts.append(f"MF >= {self.min_mf}")
        if self.rt_min is not None:
            parts.append(f"RT {self.rt_min[0]:g}-{self.rt_min[1]:g} min")
        return ", ".join(parts)


@dataclass(frozen=True)
class LibrarySpec:
    """A library of the suite: an existing file, or spectrum files to build one from."""

    key: str
    path: Path | None = None
    build: tuple[Path, ...] = ()
    name: str = ""
    release: str = ""


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "run" or "spectra"
    path: Path
    library: str
    expect: tuple[Expectation, ...] = ()
    absent: tuple[str, ...] = ()
    only: bool = False
    every: int = 1
    limit: int | None = None
    match_by: str = "name"
    min_rate: float = 1.0


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    libraries: dict[str, LibrarySpec]
    cases: tuple[Case, ...]


def suite_inputs(suite: Suite) -> list[Path]:
    """Every file the suite reads: itself, its libraries (or their build sources), its runs."""
    paths = [suite.path]
    for spec in suite.libraries.values():
        paths += [spec.path] if spec.path is not None else list(spec.build)
    return paths + [case.path for case in suite.cases]


def _resolve(value: Any, base: Path, where: str) -> Path:
    """A path from the suite: ``$VAR`` / ``${VAR}`` expanded, relative to the suite's folder."""
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: expected a path (a non-empty string), got {value!r}")

    def expand(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in os.environ:
            raise InputError(f"{where}: environment variable ${name} is not set (used in {value!r})")
        return os.environ[name]

    path = Path(_VAR.sub(expand, value)).expanduser()
    return path if path.is_absolute() else (base / path)


def _get(table: dict, key: str, kind: type | tuple, where: str, default: Any = None) -> Any:
    value = table.get(key, default)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # TOML booleans are Python ints: refuse `min_mf = true` explicitly; NaN and inf are floats
    # no check can be meant with.
    wrong = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds) \
        or (isinstance(value, float) and not math.isfinite(value))
    if value is not None and wrong:
        raise InputError(f"{where}: '{key}' must be {_kind_name(kind)}, got {value!r}")
    return value


def _kind_name(kind: type | tuple) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({str: "a string", int: "an integer", float: "a finite number", bool: "true or false",
                        list: "a list", dict: "a table"}.get(k, k.__name__) for k in kinds)


def _text(table: dict, key: str, where: str, default: str | None = None) -> str | None:
    """A non-empty string value (names, substances)."""
    value = _get(table, key, str, where, default)
    if value is not None and not value.strip():
        raise InputError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:  # a typo must not silently turn a check off
        raise InputError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(allowed)}")


def load_suite(path: str | Path) -> Suite:
    """Read and check a suite TOML file (see ``docs/regress.md``).

    Raises
    ------
    InputError
        Unreadable TOML, an unknown or mistyped key, a missing library build source, an undefined
        library. (A missing run or spectrum file is an error of its case, at run time.)
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # -sig: a BOM from a Windows editor
    except FileNotFoundError:
        raise InputError(f"{path}: no such suite file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    base = path.resolve().parent
    _check_keys(data, {"name", "library", "libraries", "case"}, str(path))
    libraries = _load_libraries(data, base, path)
    raw_cases = data.get("case", [])
    if not isinstance(raw_cases, list) or not raw_cases:
        raise InputError(f"{path}: no [[case]] tables; a suite needs at least one case")
    cases = tuple(_load_case(raw, i, base, path, libraries) for i, raw in enumerate(raw_cases))
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{path}: case names must be unique; repeated: {duplicates}")
    return Suite(str(data.get("name", path.stem)), path, libraries, cases)


def _load_libraries(data: dict, base: Path, path: Path) -> dict[str, LibrarySpec]:
    libraries: dict[str, LibrarySpec] = {}
    if "library" in data:
        libraries["default"] = LibrarySpec("default", path=_resolve(data["library"], base, f"{path}: library"))
    for key, table in _get(data, "libraries", dict, str(path), {}).items():
        where = f"{path}: [libraries.{key}]"
        if not isinstance(table, dict):
            raise InputError(f"{where}: expected a table with 'path' or 'build'")
        _check_keys(table, {"path", "build", "name", "release"}, where)
        if ("path" in table) == ("build" in table):
            raise InputError(f"{where}: give exactly one of 'path' (an nps-id library) or 'build' (spectrum files)")
        if "path" in table:
            libraries[key] = LibrarySpec(key, path=_resolve(table["path"], base, where))
            continue
        sources = table["build"] if isinstance(table["build"], list) else [table["build"]]
        build = tuple(_resolve(s, base, f"{where} build") for s in sources)
        for source in build:
            if not source.exists():
                raise InputError(f"{where}: build source {source} does not exist")
        libraries[key] = LibrarySpec(key, build=build, name=str(table.get("name", key)),
                                     release=str(table.get("release", "")))
    return libraries


def _load_case(raw: Any, i: int, base: Path, path: Path, libraries: dict[str, LibrarySpec]) -> Case:
    where = f"{path}: case {i + 1}"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a [[case]] table")
    name = _text(raw, "name", where, f"case {i + 1}")
    where = f"{path}: case {i + 1} ({name})"
    _check_keys(raw, {"name", "run", "spectra", "library", "expect", "absent", "only", "every", "limit",
                      "match_by", "min_rate"}, where)
    if ("run" in raw) == ("spectra" in raw):
        raise InputError(f"{where}: give exactly one of 'run' (a chromatographic run) or 'spectra' (a spectrum file)")
    kind = "run" if "run" in raw else "spectra"
    # A missing run or spectrum file is an error of its case (table, JUnit), not of the suite:
    # the other cases still run, and CI shows which one could not.
    target = _resolve(raw[kind], base, f"{where} {kind}")
    library = _get(raw, "library", str, where, "default" if "default" in libraries else None)
    if library is None and len(libraries) == 1:
        library = next(iter(libraries))
    if library not in libraries:
        raise InputError(f"{where}: library {library!r} is not defined (defined: {sorted(libraries)})")
    expect = tuple(_expectation(e, f"{where} expect {j + 1}") for j, e in enumerate(_get(raw, "expect", list, where, [])))
    match_by = _get(raw, "match_by", str, where, "name")
    if match_by not in ("name", "inchikey"):
        raise InputError(f"{where}: match_by must be 'name' or 'inchikey', got {match_by!r}")
    min_rate = float(_get(raw, "min_rate", (int, float), where, 1.0))
    if not 0.0 <= min_rate <= 1.0:
        raise InputError(f"{where}: 'min_rate' must be within 0-1, got {min_rate!r}")
    every = _get(raw, "every", int, where, 1)
    limit = _get(raw, "limit", int, where)
    for key, value in (("every", every), ("limit", limit)):
        if value is not None and value < 1:  # limit = -5 would mean "all but the last 5"
            raise InputError(f"{where}: '{key}' must be an integer >= 1, got {value!r}")
    absent = _get(raw, "absent", list, where, [])
    for j, value in enumerate(absent):
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{where}: 'absent' item {j + 1} must be a substance name (a non-empty string), "
                             f"got {value!r}")
    if kind == "run" and not (expect or raw.get("absent") or raw.get("only")):
        raise InputError(f"{where}: a run case needs 'expect', 'absent' or 'only' (else it checks nothing)")
    return Case(
        name=name, kind=kind, path=target, library=library, expect=expect,
        absent=tuple(absent), only=bool(_get(raw, "only", bool, where, False)),
        every=every, limit=limit, match_by=match_by, min_rate=min_rate,
    )


def _expectation(raw: Any, where: str) -> Expectation:
    if isinstance(raw, str) and raw.strip():
        return Expectation(raw)
    if not isinstance(raw, dict) or "substance" not in raw:
        raise InputError(f"{where}: 'expect' items must be a substance name or a table with 'substance', "
                         f"got {raw!r}")
    _check_keys(raw, {"substance", "verdict", "min_mf", "rt_min"}, where)
    substance = _text(raw, "substance", where)
    verdict = _get(raw, "verdict", str, where, IDENTIFIED)
    if verdict not in LEVELS:
        levels = ", ".join(level.value for level in LEVELS)
        raise InputError(f"{where}: verdict must be one of {levels}, got {verdict!r}")
    window = _get(raw, "rt_min", list, where)
    if window is not None and (len(window) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                           and math.isfinite(v) for v in window)
                               or window[0] > window[1]):
        raise InputError(f"{where}: 'rt_min' must be [from, to] in minutes (finite, from <= to), got {window!r}")
    min_mf = _get(raw, "min_mf", int, where)
    if min_mf is not None and not 0 <= min_mf <= 999:  # else the check can never pass (or never fail)
        raise InputError(f"{where}: min_mf is on the 0-999 scale, got {min_mf}")
    return Expectation(substance, verdict, min_mf,
                       (float(window[0]), float(window[1])) if window else None)


# -- running it -----------------------------------------------------------------------------------


@dataclass
class CaseResult:
    """Outcome of one case: ``pass``, ``fail`` (a regression) or ``error`` (could not run)."""

    case: Case
    status: str
    detail: str
    checks: list[str] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0  # for errors: 3 input, 4 library


@dataclass
class SuiteResult:
    suite: Suite
    cases: list[CaseResult]
    seconds: float = 0.0


def default_cache_dir() -> Path:
    """Where libraries built from a suite's ``build`` sources are kept (XDG cache on Linux)."""
    return user_cache_dir() / "regress"


def cached_build_path(spec: LibrarySpec, cache_dir: Path) -> Path:
    """Where the build of ``spec``'s sources is cached: keyed by nps-id's version, the library's
    name and release, and the sources' SHA-256 (``build_library`` with no other options)."""
    digest = hashlib.sha256(f"{__version__}|{spec.name}|{spec.release}".encode())
    for source in spec.build:
        digest.update(bytes.fromhex(sha256_path(source).sha256))
    return cache_dir / f"{spec.key}-{digest.hexdigest()[:16]}.h5"


def _library_file(spec: LibrarySpec, cache_dir: Path,
                  on_build: Callable[[LibrarySpec, Path], None] | None = None) -> Path:
    """The library file of ``spec``: its path, or the cached build of its sources (``on_build`` is
    told before a build starts)."""
    if spec.path is not None:
        if not spec.path.exists():
            raise LibraryError(f"library {spec.key!r}: no library at {spec.path}")
        return spec.path
    from nps_id.library import build_library

    target = cached_build_path(spec, cache_dir)
    if not target.exists():  # build_library writes atomically: a cached file is always whole
        if on_build is not None:
            on_build(spec, target)
        build_library(list(spec.build), target, name=spec.name, release=spec.release)
    return target


def run_suite(suite: Suite, cache_dir: str | Path | None = None,
              on_case: Callable[[CaseResult], None] | None = None,
              on_build: Callable[[LibrarySpec, Path], None] | None = None) -> SuiteResult:
    """Run every case of ``suite`` (libraries are opened once each).

    Parameters
    ----------
    suite
        From :func:`load_suite`.
    cache_dir
        Folder for libraries built from ``build`` sources; default :func:`default_cache_dir`.
    on_case
        Called with each :class:`CaseResult` as it finishes (progress).
    on_build
        Called with a library's spec and cache path before it is built from its sources (a build
        takes a minute: say so). A case's ``seconds`` leave out its library's build and opening.
    """
    from nps_id.match.reference_library import ReferenceLibrary

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    opened: dict[str, ReferenceLibrary] = {}
    matched: dict[tuple[Path, str], list[dict]] = {}  # several cases may check one run
    results = []
    start = time.perf_counter()
    for case in suite.cases:
        t0 = time.perf_counter()
        try:
            if case.library not in opened:
                opened[case.library] = ReferenceLibrary(_library_file(suite.libraries[case.library], cache,
                                                                      on_build))
                t0 = time.perf_counter()  # the build is the suite's time, not the first case's
            library = opened[case.library]
            if not case.path.exists():
                raise InputError(f"{case.kind} {case.path} does not exist")
            special = not_a_regular_file(case.path)
            if special:  # a FIFO or /dev/zero would block the suite for good
                raise InputError(f"{case.kind} {case.path}: {special}")
            if case.kind == "run":
                if (case.path, case.library) not in matched:
                    matched[case.path, case.library] = _findings(case.path, library)
                result = _run_case(case, matched[case.path, case.library])
            else:
                result = _spectra_case(case, library)
        except NpsIdError as exc:  # this case cannot run; the others still can
            result = CaseResult(case, "error", str(exc), exit_code=exc.exit_code)
        result.seconds = time.perf_counter() - t0
        results.append(result)
        if on_case is not None:
            on_case(result)
    return SuiteResult(suite, results, time.perf_counter() - start)


def _findings(path: Path, library: Any) -> list[Finding]:
    from nps_id.match.pipeline import match_run

    return [Finding.from_dict(f) for f in match_run(path, library)["findings"]]


def _run_case(case: Case, findings: list[Finding]) -> CaseResult:
    checks, failed = [], []
    for exp in case.expect:
        same = [f for f in findings if f.record.name.casefold() == exp.substance.casefold()]
        # a suspected new substance only resembles the library compound it is named after
        good = [f for f in same if not f.assessment.get("new_substance") and at_least(f.verdict.verdict, exp.verdict)
                and (exp.min_mf is None or (f.mf or 0) >= exp.min_mf)
                and (exp.rt_min is None or exp.rt_min[0] <= f.rt_min <= exp.rt_min[1])]
        if good:
            best = max(good, key=lambda f: f.mf or 0)
            checks.append(f"ok: {exp.describe()} (found {best.verdict.verdict}, {best.rt_min:.2f} min, MF {best.mf})")
        else:
            seen = "; ".join(("suspected new substance, closest to it, " if f.assessment.get("new_substance") else "")
                             + f"{f.verdict.verdict} {f.rt_min:.2f} min MF {f.mf}" for f in same) or "not found"
            failed.append(f"expected {exp.describe()}: {seen}")
    for name in case.absent:
        hits = [f for f in findings
                if f.record.name.casefold() == name.casefold() and at_least(f.verdict.verdict, TENTATIVE)]
        if hits:
            failed.append(f"expected no {name}: found {hits[0].verdict.verdict} at {hits[0].rt_min:.2f} min")
        else:
            checks.append(f"ok: no {name}")
    if case.only:
        allowed = {e.substance.casefold() for e in case.expect}
        extra = sorted({f.record.name for f in findings if names_the_compound(f.verdict)
                        and f.record.name.casefold() not in allowed})
        if extra:
            failed.append(f"found (identified, or isomer not excluded) but not expected: {', '.join(extra)}")
        else:
            checks.append("ok: nothing else found")
    detail = "; ".join(failed) if failed else f"{counted(len(checks), 'check')} passed"
    return CaseResult(case, "fail" if failed else "pass", detail, checks + [f"FAIL: {f}" for f in failed])


def _spectra_case(case: Case, library: Any) -> CaseResult:
    import nps_id.io
    from nps_id.search.engine import SearchSettings, search

    queries = list(nps_id.io.read(case.path))[:: case.every][: case.limit]
    key = "name" if case.match_by == "name" else "inchikey"
    queries = [q for q in queries if q.metadata.get(key)]
    if not queries:
        raise InputError(f"{case.path}: no query spectrum has a {key} to compare with")
    column = library.columns[key]
    if not any(str(v) for v in column):
        raise LibraryError(f"{library.info['path']}: no spectrum has a {key}; nothing to compare the queries "
                           "with (a library built by an incompatible nps-id? delete it to rebuild)")
    hits = search(queries, library.reference, SearchSettings(top_k=1), library.indexes)
    top = {int(q): int(r) for q, r, rank in zip(hits.query, hits.row, hits.rank) if rank == 1}

    def same(query: Any, row: int | None) -> bool:
        if row is None:
            return False
        a, b = str(query.metadata[key]), str(column[row])
        return a.casefold() == b.casefold() if key == "name" else a[:14] == b[:14]

    misses = [(q, top.get(i)) for i, q in enumerate(queries) if not same(q, top.get(i))]
    rate = 1 - len(misses) / len(queries)
    detail = (f"top hit right for {len(queries) - len(misses)}/{counted(len(queries), 'query', 'queries')} "
              f"({rate:.1%}; required {case.min_rate:.1%})")
    checks = [f"miss: {q.metadata.get('name', '?')} -> {'no hit' if r is None else library.columns['name'][r]}"
              for q, r in misses[:10]]
    return CaseResult(case, "pass" if rate >= case.min_rate else "fail", detail, checks)


# -- output ---------------------------------------------------------------------------------------


def exit_code(result: SuiteResult) -> int:
    """4 if a case hit a library error, else 3 for an input error, else 1 for a regression, else 0."""
    errors = {c.exit_code for c in result.cases if c.status == "error"}
    if EXIT_BAD_LIBRARY in errors:
        return EXIT_BAD_LIBRARY
    if errors:
        return EXIT_BAD_INPUT
    return EXIT_FOUND if any(c.status == "fail" for c in result.cases) else 0


def format_table(result: SuiteResult) -> str:
    """The pass/fail table printed by ``nps-id regress``."""
    width = max(len(c.case.name) for c in result.cases)
    lines = [f"{'status':<6}  {'case':<{width}}  {'time':>6}  detail"]
    for c in result.cases:
        lines.append(f"{c.status.upper():<6}  {c.case.name:<{width}}  {c.seconds:>5.1f}s  {c.detail}")
    counts = {s: sum(c.status == s for c in result.cases) for s in ("pass", "fail", "error")}
    lines.append(f"{counted(len(result.cases), 'case')}: {counts['pass']} passed, {counts['fail']} failed, "
                 f"{counted(counts['error'], 'error')} ({result.seconds:.1f} s)")
    return "\n".join(lines)


#: Characters XML 1.0 cannot hold at all (not even escaped): control characters, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """``text`` as XML can hold it: a character XML forbids is written as its escape (``\\x1b``),
    so a case named with a control character still gives a JUnit file every CI parser reads."""
    return _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), printable(text))


def write_junit(result: SuiteResult, path: str | Path) -> Path:
    """JUnit XML (the common subset Jenkins, GitLab and GitHub reporters read), atomically."""
    cases = result.cases
    suite = ET.Element("testsuite", {
        "name": _xml_text(result.suite.name), "tests": str(len(cases)),
        "failures": str(sum(c.status == "fail" for c in cases)),
        "errors": str(sum(c.status == "error" for c in cases)), "time": f"{result.seconds:.3f}",
    })
    for c in cases:
        element = ET.SubElement(suite, "testcase", {
            "classname": f"nps-id.regress.{c.case.kind}", "name": _xml_text(c.case.name), "time": f"{c.seconds:.3f}"})
        if c.status in ("fail", "error"):
            tag = "failure" if c.status == "fail" else "error"
            ET.SubElement(element, tag, {"message": _xml_text(c.detail)}).text = _xml_text("\n".join(c.checks) or c.detail)
        elif c.checks:
            ET.SubElement(element, "system-out").text = _xml_text("\n".join(c.checks))
    root = ET.Element("testsuites")
    root.append(suite)
    path = Path(path)
    with atomic_output(path) as tmp:
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    return path

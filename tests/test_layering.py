"""The layering as a test: the import graph of ``nps_id`` (module -> module) has no cycle.

Every import is read from the source with :mod:`ast`, wherever it stands: at module level, inside a
function (a lazy import), under ``if TYPE_CHECKING:``, relative (``from . import x``,
``from ..errors import E``), and ``importlib.import_module("nps_id....")`` with a literal name. A
lazy or type-only import still ties the two modules together (one cannot be moved or read without
the other), so it counts as much as a module-level one.

How a package counts: its ``__init__.py`` is the module named by the package (``nps_id.search``).
``import nps_id.search`` and ``from nps_id.search import Name`` depend on that ``__init__``;
``from nps_id.search import few`` and ``import nps_id.search.few`` depend on the submodule ``few``
only, not on the ``__init__`` Python runs first: a package runs before any of its submodules, and
an ``__init__`` that re-exports its submodules would otherwise make every submodule that imports a
sibling a "cycle". A submodule that imports names from its own package's ``__init__`` is a cycle.
Not seen: ``import_module`` with a computed name (``nps_id/library/__init__.py``'s ``_ON_USE``,
``nps_id/cli.py``'s command table, ``nps_id/io``'s format table -- all import downwards).
"""
from __future__ import annotations

import ast
import functools
import graphlib
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

PACKAGE = Path(__file__).resolve().parents[1] / "nps_id"


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, a package named by its ``__init__.py``."""
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """The dotted names ``tree`` imports (``from P import x``: ``P.x``, a submodule or a name in P)."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


@functools.cache  # both tests read it: parsed once (~0.6 s)
def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ``nps_id`` it imports (itself left out); the tests do not change it."""
    files = module_files()
    graph = {}
    for module, path in files.items():
        targets = set()
        for name in imported(ast.parse(path.read_text(), str(path)), module, path.name == "__init__.py"):
            # ``from a.b import Name`` (no submodule) -> a.b, its ``__init__`` if a package;
            # ``from a.b import sub`` -> a.b.sub only
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
        targets.discard(module)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[frozenset[str], list[str]]]:
    """Each strongly connected group of more than one module, with one cycle through it named."""
    names = sorted(graph)
    number = {name: i for i, name in enumerate(names)}
    edges = [(number[a], number[b]) for a in names for b in graph[a]]
    rows, cols = (np.array(side, dtype=np.int64) for side in zip(*edges)) if edges else ([], [])
    matrix = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(names), len(names)))
    _, label = connected_components(matrix, directed=True, connection="strong")
    found = []
    for group in np.unique(label):
        members = {names[i] for i in np.flatnonzero(label == group)}
        if len(members) > 1:
            try:  # graphlib names one cycle of the group (the reader's way in)
                graphlib.TopologicalSorter({m: graph[m] & members for m in members}).prepare()
            except graphlib.CycleError as error:
                found.append((frozenset(members), error.args[1]))
    return found


def test_the_import_graph_of_nps_id_has_no_cycle():
    """No exceptions: stop 39 removed the last two (search.prepared <-> search.ranking,
    library.build <-> library.validate) by moving the shared name down."""
    found = [" -> ".join(cycle) for _, cycle in cycles(import_graph())]
    assert not found, "import cycle(s) in nps_id (see docs/architecture.md): " + "; ".join(found)


def test_the_layers_import_downwards_only():
    """The layers (``io``, ``library``, ``search``, ``match``, ... and the top-level modules) import
    one another without a cycle: ``io.x -> library.y`` and ``library.z -> io.w`` is an upward
    import even though no two modules import each other."""
    layer = {module: ".".join(module.split(".")[:2]) for module in module_files()}
    graph: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        graph.setdefault(layer[module], set()).update(layer[t] for t in targets if layer[t] != layer[module])
    found = [" -> ".join(cycle) for _, cycle in cycles(graph)]
    assert not found, "layers importing upwards (see docs/architecture.md): " + "; ".join(found)


def test_the_check_sees_lazy_type_only_relative_and_package_imports():
    """A cycle made of each kind of import is found, and a re-exporting ``__init__`` is none."""
    def parsed(source: str, module: str, is_package: bool = False) -> set[str]:
        return imported(ast.parse(source), module, is_package)

    lazy = parsed("def f():\n    from nps_id.search.prepared import SearchContext\n", "nps_id.search.ranking")
    typed = parsed("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .ranking import x\n",
                   "nps_id.search.prepared")
    assert "nps_id.search.prepared.SearchContext" in lazy and "nps_id.search.ranking.x" in typed
    assert "nps_id.errors.E" in parsed("from ..errors import E\n", "nps_id.search.ranking")
    assert "nps_id.search.few" in parsed("from . import few\n", "nps_id.search", is_package=True)
    [(members, cycle)] = cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert members == frozenset("abc") and cycle[0] == cycle[-1] and set(cycle) == set("abc")
    assert cycles({"pkg": {"pkg.sub"}, "pkg.sub": set()}) == []

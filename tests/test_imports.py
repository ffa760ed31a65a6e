"""The package's import direction: no cycles between its folders and top-level modules.

Every ``import hwr.x`` and ``from hwr.x import y`` counts, at module top or
inside a function: an import deferred into a function still ties the two
parts together, it only hides the loop from Python. The unit is a folder of
``hwr/`` (``runs``, ``training``, ...) or a top-level module (``stats``,
``preprocess``, ...); imports within one unit are free.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import hwr

PACKAGE = Path(hwr.__file__).parent


def _unit(module: str) -> str | None:
    """``hwr.runs.report`` -> ``runs``; ``hwr.stats`` -> ``stats``; ``hwr`` -> None (the front door)."""
    parts = module.split(".")
    if parts[0] != "hwr" or len(parts) < 2:
        return None
    name = parts[1]
    return name if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file() else None


def import_graph() -> dict[str, dict[str, list[str]]]:
    """unit -> imported unit -> the ``file:line`` places of those imports."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent)
        source = _unit(".".join(rel.with_suffix("").parts))
        if source is None or source == "api":  # hwr/__init__.py and hwr/api.py are the front door: they import all
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                target = _unit(name)
                if target not in (None, source):
                    graph[source][target].append(f"{rel}:{node.lineno}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_folders():
    graph = import_graph()
    loops = cycles(graph)
    detail = ["; ".join(f"{a} -> {b} ({', '.join(graph[a][b][:3])})" for a in loop for b in loop if b in graph[a])
              for loop in loops]
    assert not loops, "import cycles between parts of hwr: " + " | ".join(detail)


def test_the_cycle_finder_finds_a_cycle():
    # the check above can fail: a constructed loop a -> b -> c -> a is found, a chain is not
    graph = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": ["x"]}, "b": {"c": ["y"]}}) == []


def test_the_graph_sees_imports_inside_functions():
    # runs imports training inside functions only in places; the graph must still hold the edge
    graph = import_graph()
    assert "training" in graph["runs"] and "datasets" in graph["training"]

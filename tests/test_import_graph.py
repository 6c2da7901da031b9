"""hmworld's imports point one way: no cycle between modules or packages, even counting
imports inside functions and under TYPE_CHECKING (so none can hide a cycle)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

import hmworld

ROOT = Path(hmworld.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module an import names (`from a.b import c` may name module a.b.c or a name in a.b)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _parents(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    """Module → the hmworld modules it imports anywhere in its text (top level, functions, TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {}
    for mod, path in MODULES.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import; use absolute hmworld.* imports"
                if node.module:
                    names = [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] != "hmworld":
                    continue
                target = _resolve(name)
                if target is not None:
                    targets |= {target, *_parents(target)}
        graph[mod] = targets - {mod, *_parents(mod)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_import_cycle_between_packages() -> None:
    """hmworld.events may not import hmworld.dataset while dataset imports events, and so on."""

    def top(m: str) -> str:
        return ".".join(m.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for mod, targets in import_graph().items():
        packages.setdefault(top(mod), set()).update(top(t) for t in targets if top(t) != top(mod) and t != "hmworld")
    assert cycles(packages) == []


@pytest.mark.parametrize("tool", sorted(p.name for p in (ROOT.parent / "tools").glob("*.py")))
def test_every_tool_imports(tool: str) -> None:
    """A benchmark whose imports broke in a move fails here, not the next time someone measures."""
    path = ROOT.parent / "tools" / tool
    spec = importlib.util.spec_from_file_location(f"_tool_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # their work runs under `if __name__ == "__main__"`
    assert callable(getattr(module, "main", None))

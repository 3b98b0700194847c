"""The package's modules import one another without a circle: each stage
and front end depends only on what comes before it (docs/architecture.md).

Every import is counted, at module level or inside a function (a lazy
import is still a dependency), except those under `if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "smtql"


def module_name(path: Path) -> str:
    parts = ["smtql", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree) -> list[tuple[int, str | None, list[str]]]:
    """(level, module, names) of every import outside TYPE_CHECKING blocks."""
    found = []

    def visit(node):
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                found.append((0, a.name, []))
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(tree)
    return found


def dependencies(name: str) -> set[str]:
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    deps = set()
    for level, module, names in _imports(ast.parse(path.read_text("utf-8"))):
        if level:
            base = package.split(".")
            base = base[:len(base) - (level - 1)]
            target = ".".join(base + ([module] if module else []))
        else:
            target = module or ""
        if not target.startswith("smtql"):
            continue
        for n in names:  # `from . import ast`: the module smtql.language.ast
            if f"{target}.{n}" in MODULES:
                deps.add(f"{target}.{n}")
        if target in MODULES:
            deps.add(target)
    deps.discard(name)
    return deps


GRAPH = {name: dependencies(name) for name in MODULES}


def _package_of(name: str) -> str:
    """A module's package: importing `smtql.a.b` runs `smtql/a/__init__.py`
    first, so a package's own __init__ is not an edge of its modules."""
    return name.rpartition(".")[0]


def find_cycle(graph) -> list[str] | None:
    """A circle of imports, or None (an iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_the_walker_sees_the_imports():
    # a known edge of each kind: relative, from-package-import-module, lazy
    assert "smtql.language.parser" in GRAPH["smtql.api"]
    assert "smtql.language.ast" in GRAPH["smtql.plan.planner"]
    assert any(d.startswith("smtql.stores.django") for d in GRAPH["smtql.stores.registry"])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle():
    # a package's __init__ importing its own modules is not a circle with them
    graph = {n: {d for d in deps if not (MODULES[d].name == "__init__.py"
                                         and n.startswith(d + "."))}
             for n, deps in GRAPH.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


@pytest.mark.parametrize("stage,forbidden", [
    ("smtql.language", ("smtql.plan", "smtql.stores", "smtql.statements", "smtql.render",
                        "smtql.frontends", "smtql.executor", "smtql.api")),
    ("smtql.plan", ("smtql.stores", "smtql.statements", "smtql.render", "smtql.frontends",
                    "smtql.executor", "smtql.api")),
    ("smtql.stores", ("smtql.statements", "smtql.render", "smtql.frontends", "smtql.executor",
                      "smtql.api")),
    ("smtql.render", ("smtql.stores", "smtql.statements", "smtql.frontends", "smtql.executor",
                      "smtql.api")),
    ("smtql.statements", ("smtql.frontends", "smtql.api", "smtql.executor")),
])
def test_stages_depend_only_on_earlier_ones(stage, forbidden):
    bad = sorted(f"{n} imports {d}" for n, deps in GRAPH.items()
                 if n == stage or n.startswith(stage + ".")
                 for d in deps if d.startswith(forbidden))
    assert not bad, "\n".join(bad)


def test_front_ends_run_programs_through_the_api():
    """No front end parses a program or builds an executor itself."""
    for name in ("smtql.frontends.cli", "smtql.frontends.repl", "smtql.frontends.magic"):
        deps = GRAPH[name]
        assert "smtql.executor" not in deps, name
        assert "smtql.api" in deps, name

"""The shape of the house: dependencies point one way, without cycles or private names.

    app.py, pages/ -> ui/ -> generation/ -> access/ -> queries/ -> metrics/ -> data_access/

A package may import the packages after it (skipping some is fine), never one before it; no two
modules import each other, directly or through others, even from inside a function; and no module
imports another module's underscore names.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LAYERS = ["pages", "ui", "generation", "access", "queries", "metrics", "data_access"]
RANK = {name: i for i, name in enumerate(LAYERS)} | {"app": 0}


def _modules() -> dict[str, Path]:
    out = {"app": ROOT / "app.py"}
    for package in LAYERS:
        for path in sorted((ROOT / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import in the file, at any depth."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [a.name for a in node.names]
            # `from package import module` imports the module
            subs = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in MODULES]
            out += [(s, [], node.lineno) for s in subs]
            rest = [n for n in names if f"{node.module}.{n}" not in MODULES]
            if rest or not subs:
                out.append((node.module, rest, node.lineno))
    return [(m, n, line) for m, n, line in out if m.split(".")[0] in RANK]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in _imports(path):
            if target in MODULES and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_dependencies_point_one_way():
    upward = []
    for name, path in MODULES.items():
        mine = RANK[name.split(".")[0]]
        for target, _, line in _imports(path):
            theirs = RANK[target.split(".")[0]]
            if theirs < mine:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert upward == []


def test_no_private_names_across_modules():
    private = []
    for name, path in MODULES.items():
        for target, names, line in _imports(path):
            for n in names:
                if n.startswith("_") and target != name:
                    private.append(f"{path.relative_to(ROOT)}:{line} takes {target}.{n}")
    assert private == []


def test_pages_never_import_sqlalchemy_nor_name_a_source():
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        text = path.read_text()
        assert "sqlalchemy" not in text, path.name
        for word in ("genlens_facts", "genlens_rollup", "data_access.facts", "metrics.sources", "metrics.scope"):
            assert word not in text, (path.name, word)


def test_one_settings_reader():
    """Settings come from the environment or secrets.toml through data_access.config only."""
    readers = []
    for name, path in MODULES.items():
        text = path.read_text()
        if name != "data_access.config" and ("tomllib" in text or 'secrets.toml"' in text):
            readers.append(name)
    assert readers == []


def test_pages_reach_the_services_through_their_facades():
    """access/ and generation/ are services: app.py and pages/ import their packages, not modules."""
    deep = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for target, _, line in _imports(path):
            if target.split(".")[0] in ("access", "generation") and "." in target:
                deep.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert deep == []

"""The folder tree of `core` is its architecture (docs/architecture.md §1): rooms form a ladder,
no module imports a higher room, and the import graph has no cycle even counting the imports
made inside functions — so no such import exists to dodge one."""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "core"

# Lowest first. A room may import its own modules and any room of a lower rung.
LADDER = [
    {"errors", "version"},
    {"store"},
    {"content"},
    {"domain"},
    {"access"},
    {"query"},
    {"devices"},
    {"jobs"},
    {"actions", "indexer", "extraction", "ai", "sync"},
    {"agents"},
    {"extensions"},
    {"host"},
    {"library"},
    {"__init__"},
    {"cli", "sdk"},
]
RUNG = {room: i for i, rooms in enumerate(LADDER) for room in rooms}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in CORE.rglob("*.py")}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The core modules an import statement loads (a name that is a submodule counts as it)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target
                 for a in node.names]
    found = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.append(name)
    return found


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported core module: line}, every import outside TYPE_CHECKING blocks."""
    graph: dict[str, dict[str, int]] = defaultdict(dict)

    def visit(module: str, path: Path, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                for sub in child.orelse:
                    visit(module, path, sub)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(module, path, child):
                    graph[module].setdefault(target, child.lineno)
            visit(module, path, child)

    for module, path in MODULES.items():
        visit(module, path, ast.parse(path.read_text(encoding="utf-8")))
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in MODULES:
        if root in index:
            continue
        work = [(root, iter(graph.get(root, {})))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph.get(nxt, {}))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    """The check below could fail: a planted two-module cycle is reported."""
    planted = {k: dict(v) for k, v in GRAPH.items()}
    planted.setdefault("core.store.db", {})["core.domain.tags"] = 1
    planted.setdefault("core.domain.tags", {})["core.store.db"] = 1
    assert ["core.domain.tags", "core.store.db"] in _cycles(planted)


def test_core_imports_have_no_cycle_even_counting_imports_inside_functions():
    assert _cycles(GRAPH) == []


def test_every_room_is_on_the_ladder_and_says_what_it_holds():
    rooms = {p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in CORE.glob("*.py")}
    assert rooms | modules <= set(RUNG), f"not on the ladder: {sorted(rooms | modules - set(RUNG))}"
    for room in rooms:
        doc = ast.get_docstring(ast.parse((CORE / room / "__init__.py").read_text()))
        assert doc and len(doc) > 40, f"core/{room}/__init__.py should say what the room holds"


def test_no_room_imports_a_higher_room():
    bad = []
    for module, targets in GRAPH.items():
        for target, line in targets.items():
            a, b = _room(module), _room(target)
            if a != b and RUNG[b] >= RUNG[a]:
                bad.append(f"{MODULES[module].relative_to(REPO)}:{line} imports {target}")
    assert bad == []


def test_the_ladder_is_the_one_the_architecture_doc_draws():
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn = re.search(r"<!-- rooms -->\n(.*?)<!-- /rooms -->", doc, re.S)
    assert drawn, "docs/architecture.md lost its rooms ladder"
    for rooms in LADDER:
        for room in rooms - {"__init__"}:
            assert room in drawn.group(1), f"docs/architecture.md does not place {room}"


@pytest.mark.parametrize("rule", ["lib.service(", "ExtensionManager.of(", "actions_for("])
def test_features_have_one_entry_point(rule):
    """`lib.extensions`, `lib.actions`, `lib.engine` … are typed properties of Library; the
    string-keyed service lookup and the second doors next to them are gone."""
    users = [str(p.relative_to(REPO)) for root in ("core", "kernel_ext", "tests")
             for p in (REPO / root).rglob("*.py")
             if rule in p.read_text(encoding="utf-8") and p.name != "test_core_rooms.py"]
    assert users == []


def test_library_is_never_taken_as_bare_any():
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                for arg in args:
                    if arg.arg in ("lib", "library") and arg.annotation is not None \
                            and ast.unparse(arg.annotation) == "Any":
                        bad.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}({arg.arg})")
    assert bad == []


def test_imports_across_rooms_name_the_room():
    """Inside a room imports are relative; an import from another room is absolute
    (`from core.domain.tags import …`), so every arrow between rooms can be found with grep."""
    bad = []
    for module, path in MODULES.items():
        if path.parent == CORE:
            continue        # core's top-level modules (library.py, host.py …) stand over the rooms
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                for target in _targets(module, path, node):
                    if _room(target) != _room(module):
                        bad.append(f"{path.relative_to(REPO)}:{node.lineno} imports {target} "
                                   "relatively")
    assert bad == []

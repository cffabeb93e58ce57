"""Dependencies point one way. Every module under `debate/` is walked (no hand-written list of
modules): each folder has a layer, a module imports only its own folder and lower layers, and
the import graph, imports inside functions included, has no circle. Imports made only for type
hints (`if TYPE_CHECKING:`) are not imports at run time and are left out."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# lowest first; folders of one layer never import each other
LAYERS = [
    ["debate"],  # ground: records, config, registry, seeds, evidence, usage, run folder, calls
    ["debate.stats"],
    ["debate.pixels"],  # the MNIST pixel game: data, sparse judge, debaters, evaluation
    ["debate.models"],
    ["debate.tasks"],
    ["debate.match"],  # match, judge interface and view, protocol, prompts, chosen quotes
    ["debate.protocols", "debate.judges"],
    ["debate.present"],  # reads records and draws them: reports, plots, viewer, show
    ["debate.run"],
    ["debate.suites"],
    ["debate.training"],
    ["debate.cli", "debate.api"],  # the two ways in: the command line and the Python API
]
# The one sanctioned upward reference: `debate.run(...)`, `debate.arun(...)`, ... are the Python
# API's, reached from the package's own `__init__` (debate/__init__.py) and from the callable
# package debate/run/__init__.py, both imported only when called (PEP 562 / a module __call__).
API_FACADES = {("debate", "debate.api"), ("debate", "debate.run"), ("debate.run", "debate.api")}
RANK = {folder: rank for rank, folders in enumerate(LAYERS) for folder in folders}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "debate").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def folder_of(module: str, all_modules: dict[str, Path]) -> str:
    """The package a module lives in (`debate` for the ground modules)."""
    path = all_modules[module]
    parts = list(path.relative_to(ROOT).parent.parts)
    return ".".join(parts[:2])


def runtime_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names]
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges = {}
    for name, path in mods.items():
        targets = set()
        for imported in runtime_imports(path):
            if imported in mods and imported != name and not name.startswith(f"{imported}."):
                targets.add(imported)
        # `from debate.x import y` names module debate.x.y when there is one: the package
        # itself is only an edge when something is imported from its __init__
        targets -= {t for n, t in API_FACADES if n == name}
        edges[name] = {t for t in targets
                       if not any(o.startswith(f"{t}.") for o in targets) or mods[t].name != "__init__.py"}  # fmt: skip
    return edges


def test_every_folder_has_a_layer():
    mods = modules()
    unplaced = sorted({folder_of(m, mods) for m in mods} - set(RANK))
    assert unplaced == [], f"place these folders in LAYERS: {unplaced}"


def test_dependencies_point_down():
    mods, wrong = modules(), []
    for a, targets in graph().items():
        fa = folder_of(a, mods)
        for b in targets:
            fb = folder_of(b, mods)
            if fa != fb and RANK[fb] >= RANK[fa]:
                wrong.append(f"{a} ({fa}) imports {b} ({fb})")
    assert wrong == []


def test_the_import_graph_has_no_circle():
    edges, circles = graph(), []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert circles == []

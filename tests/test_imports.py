"""No import cycles inside microlab, counting the imports inside functions.

The graph is read from the source (``ast``), not from ``sys.modules``, so an import that only
runs when a function is called counts as much as one at the top of a module: a cycle that works
today because one side imports late breaks as soon as someone moves the import up, and it hides
the layering.

What counts as an edge ``A -> B``:

* every ``import`` / ``from ... import`` of a ``microlab`` module anywhere in ``A`` (module top,
  functions, methods, ``try`` blocks), except inside ``if TYPE_CHECKING:``.  Those never run, so
  they cannot make an import fail, and the engine modules (loop, metrics, interop) name
  :class:`~microlab.project.Project` in their annotations that way on purpose;
* ``from pkg import name`` points at ``pkg.name`` when that is a submodule, else at ``pkg``
  (its ``__init__.py``);
* importing ``pkg.sub.mod`` also runs ``pkg/__init__.py`` and ``pkg/sub/__init__.py``: those
  packages count too, unless ``A`` lives inside them (then they are already being imported).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str  # "microlab/project.py:344"


def module_names(root: Path, package: str) -> dict[str, Path]:
    """``{"pkg.sub.mod": path}`` for every ``.py`` file of ``root / package``."""
    out: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement except those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of a dotted name that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(root: Path, package: str) -> list[Edge]:
    """The package-internal import edges (see the module docstring for what counts)."""
    modules = module_names(root, package)
    edges: list[Edge] = []
    for source, path in modules.items():
        is_package = path.name == "__init__.py"
        own_package = source if is_package else source.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _runtime_imports(tree):
            named: list[str] = []
            if isinstance(node, ast.Import):
                named = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = own_package.split(".")[: len(own_package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    named.append(sub if sub in modules else base)
            for name in named:
                target = _known(name, modules)
                if target is None:
                    continue
                # The packages the import runs on its way down, except those A sits in.
                parts = target.split(".")
                ran = [".".join(parts[:i]) for i in range(1, len(parts))] + [target]
                for module in ran:
                    implicit = module != target
                    inside = source == module or source.startswith(module + ".")
                    if module == source or (implicit and inside) or module not in modules:
                        continue
                    where = f"{path.relative_to(root).as_posix()}:{node.lineno}"
                    edges.append(Edge(source, module, where))
    return list(dict.fromkeys(edges))  # `from m import a, b` is one edge


def strongly_connected(edges: list[Edge]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module, sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(components)


def spell_cycle(component: list[str], edges: list[Edge]) -> str:
    """One cycle through the component's first module, each step with the line that imports."""
    members = set(component)
    start = component[0]
    first: dict[tuple[str, str], Edge] = {}
    for e in edges:
        if e.source in members and e.target in members:
            first.setdefault((e.source, e.target), e)
    # Breadth-first from start back to start: the shortest cycle through it.
    paths: dict[str, list[Edge]] = {start: []}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for (s, t), e in sorted(first.items()):
            if s != v:
                continue
            if t == start:
                steps = [*paths[v], e]
                return " -> ".join([start] + [f"{x.target} ({x.where})" for x in steps])
            if t not in paths:
                paths[t] = [*paths[v], e]
                queue.append(t)
    return ", ".join(component)  # unreachable for a real component


def test_microlab_has_no_import_cycles() -> None:
    edges = import_graph(ROOT, "microlab")
    assert len(edges) > 50, "the graph should see microlab's imports; is ROOT right?"
    cycles = [spell_cycle(c, edges) for c in strongly_connected(edges)]
    assert not cycles, "import cycles (each step names the importing line):\n" + "\n".join(cycles)


#: The layers of README.md's "How it works" table, bottom up: a module may import its own layer
#: and those before it (microlab/__init__ re-exports, so it sits outside the layers).
LAYERS = [
    {"errors", "_version"}, {"boxes"}, {"actions"}, {"frames", "sequences"}, {"store"},
    {"segments", "sampling"}, {"model"}, {"tracking", "labeller", "calibration"}, {"loop"},
    {"metrics", "stopping", "interop"}, {"project"}, {"tagging"}, {"datasets"},
    {"simulate", "simulation_result", "baselines"}, {"multi"}, {"collection"},
    {"benchmark", "benchmark_multi"}, {"plots", "spline"},
    {"widgets"}, {"cli"},
]


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package itself
    name = "cli" if parts[1:3] == ["interop", "cli"] else parts[1]
    return next((i for i, layer in enumerate(LAYERS) if name in layer), -1)


def test_modules_import_only_their_layer_or_lower() -> None:
    edges = import_graph(ROOT, "microlab")
    unknown = sorted({e.source for e in edges if _layer(e.source) == -1})
    assert not unknown, f"modules missing from LAYERS (and README's table): {unknown}"
    upward = [f"{e.source} -> {e.target} ({e.where})" for e in edges
              if _layer(e.source) is not None and _layer(e.target) is not None
              and _layer(e.target) > _layer(e.source)]
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


# ---------------------------------------------------------------------- the checker itself
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"pkg/__init__.py": "", "pkg/a.py": "import pkg.b\n",
             "pkg/b.py": "def f():\n    from pkg import a\n"},
            [["pkg.a", "pkg.b"]],
            id="import-inside-a-function-counts",
        ),
        pytest.param(
            {"pkg/__init__.py": "", "pkg/a.py": "import pkg.b\n",
             "pkg/b.py": "from typing import TYPE_CHECKING\n"
                         "if TYPE_CHECKING:\n    from pkg.a import X\n"},
            [],
            id="type-checking-only-is-skipped",
        ),
        pytest.param(
            {"pkg/__init__.py": "from pkg.a import A\n", "pkg/a.py": "A = 1\n",
             "pkg/b.py": "from pkg import a\n"},
            [],
            id="from-package-import-submodule-points-at-the-submodule",
        ),
        pytest.param(
            {"pkg/__init__.py": "from pkg.b import B\n__version__ = '1'\n",
             "pkg/b.py": "from pkg import __version__\nB = 1\n"},
            [["pkg", "pkg.b"]],
            id="from-package-import-name-points-at-its-init",
        ),
        pytest.param(
            {"pkg/__init__.py": "import pkg.low\n", "pkg/low.py": "",
             "pkg/sub/__init__.py": "from pkg.sub.x import X\n",
             "pkg/sub/x.py": "import pkg.low\nX = 1\n",
             "pkg/mid.py": "from pkg.sub.x import X\n",
             "pkg/sub/y.py": "import pkg.mid\n"},
            [],
            id="a-subpackage-import-runs-its-init",
        ),
        pytest.param(
            {"pkg/__init__.py": "", "pkg/mid.py": "from pkg.sub.x import X\n",
             "pkg/sub/__init__.py": "from pkg.sub.y import Y\n",
             "pkg/sub/x.py": "X = 1\n", "pkg/sub/y.py": "import pkg.mid\nY = 1\n"},
            [["pkg.mid", "pkg.sub", "pkg.sub.y"]],
            id="cycle-through-a-subpackage-init",
        ),
        pytest.param(
            {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/a.py": "from . import b\n",
             "pkg/sub/b.py": "from .a import f\n"},
            [["pkg.sub.a", "pkg.sub.b"]],
            id="relative-imports",
        ),
    ],
)
def test_cycle_checker(tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    root = _package(tmp_path, files)
    assert strongly_connected(import_graph(root, "pkg")) == expected


def test_cycle_is_spelled_out_with_lines(tmp_path: Path) -> None:
    root = _package(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "import os\nimport pkg.b\n",
                               "pkg/b.py": "def f():\n    import pkg.a\n"})
    edges = import_graph(root, "pkg")
    [component] = strongly_connected(edges)
    assert spell_cycle(component, edges) == "pkg.a -> pkg.b (pkg/a.py:2) -> pkg.a (pkg/b.py:2)"

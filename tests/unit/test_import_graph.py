"""The `assistant` package has no import cycles: its modules form layers (../shared/DESIGN.md).

The graph is built statically with `ast` from every `import` in the package, including imports
inside functions and under `TYPE_CHECKING`: a lazy import still ties two modules together, and
the layers are a design rule, not only a load-order one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "assistant"

# Imports that close a cycle we know of and have not removed yet, each as (importer, imported).
# The graph minus these edges must be acyclic, so any new cycle fails the test. Remove an entry
# when its cycle is broken; an entry whose import no longer exists does no harm.
ALLOWED_CYCLE_EDGES: dict[tuple[str, str], str] = {}


# The layers of ../shared/DESIGN.md, lowest first: a module imports only modules of its own layer
# (inside a subpackage) or of layers before it. `dedup` sits on the store (its index reads it)
# and under retrieval; `partial`, `evidence` and `conflicts` on citations and under the chain;
# `serialize` (JSON shapes) on the records; `retriever` (LangChain) and `timeline` on the
# chain's `Assistant`; `api` over the ui it mounts; the package's `__init__` is the public
# facade over everything.
LAYERS = [
    "config",
    "errors",
    "types",
    "prompts",
    "loaders",
    # the web beside the loaders: fetch talks HTTP; web turns pages and feeds into Articles
    "fetch",
    "web",
    "chunking",
    # pure text functions: words, stems, numbers (text), then citations over chunks and hits,
    # below everything that stores or retrieves; places (a gazetteer) under text
    "places",
    "text",
    "citations",
    "partial",
    "conflicts",
    "embeddings",
    "models",
    "llm",
    "records",
    "writelock",
    # the C allocator's arenas and trimming, under the store (Chroma's threads allocate)
    "memory",
    "lexical_cache",
    "serialize",
    "store",
    "dedup",
    "retrieve",
    "evidence",
    "review",
    "chain",
    # followed feeds and their refresh, over Assistant.ingest_articles
    "feeds",
    "retriever",
    "timeline",
    "evals",
    "ui",
    "api",
    "cli",
    "__main__",
    "",
]

# Imports that go up the layers, each with why it is still there.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}

# The modules of `assistant/evals/` in their own order, lowest first: each imports only modules
# before it (`__init__`, "", re-exports them all).
EVALS_LAYERS = [
    "metrics",
    "cases",
    "builders",
    "suite",
    "results",
    "runner",
    "formatting",
    "report",
    "compare",
    "ablation",
    "",
]


def layer(module: str) -> int:
    """The DESIGN.md layer of a module: `assistant.loaders.txt` is in `loaders`."""
    parts = module.split(".")
    return LAYERS.index(parts[1] if len(parts) > 1 else "")


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """`assistant/loaders/files.py` -> `assistant.loaders.files`; a package is its `__init__`."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest prefix of dotted `name` that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _imported(tree: ast.AST, importer: str, is_package: bool, modules: set[str]) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (found := _resolve(alias.name, modules)) is not None:
                    yield found
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = importer.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from assistant import ui` imports the module assistant.ui
                found = _resolve(f"{base}.{alias.name}", modules) or _resolve(base, modules)
                if found is not None:
                    yield found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its source."""
    files = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[name] = {m for m in _imported(tree, name, is_package, modules) if m != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, set(c)) for c in sorted(components)]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module, e.g. [a, b, a]."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def test_the_graph_sees_lazy_and_package_imports() -> None:
    graph = import_graph()
    assert "assistant.loaders" in graph["assistant.chain"]  # imported inside a method
    assert "assistant.ui" in graph["assistant.cli"]
    assert "assistant.loaders.encoding" in graph["assistant.loaders"]


def test_find_cycles_reports_one_cycle_per_component() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_store_and_dedup_do_not_import_each_other() -> None:
    graph = import_graph()
    assert "assistant.dedup" not in graph["assistant.store"]


def test_no_import_cycles_beyond_the_allowed_ones() -> None:
    graph = import_graph()
    for importer, imported in ALLOWED_CYCLE_EDGES:
        graph.get(importer, set()).discard(imported)
    assert find_cycles(graph) == []


def test_imports_only_go_down_the_layers() -> None:
    graph = import_graph()
    assert set(LAYERS) - {""} == {m.split(".")[1] for m in graph if "." in m}, "update LAYERS"
    upward = sorted(
        (importer, imported)
        for importer, imports in graph.items()
        for imported in imports
        if layer(imported) > layer(importer) and (importer, imported) not in ALLOWED_UPWARD
    )
    assert upward == []


def test_evals_modules_import_only_the_ones_before_them() -> None:
    graph = import_graph()
    inside = {m: deps for m, deps in graph.items() if m.split(".")[:2] == ["assistant", "evals"]}

    def rank(module: str) -> int:
        return EVALS_LAYERS.index(".".join(module.split(".")[2:]))

    assert {".".join(m.split(".")[2:]) for m in inside} == set(EVALS_LAYERS), "update EVALS_LAYERS"
    upward = sorted(
        (importer, imported)
        for importer, imports in inside.items()
        for imported in imports
        if imported in inside and rank(imported) > rank(importer)
    )
    assert upward == []

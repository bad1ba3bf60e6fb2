"""The house rules of the package layout, read from the imports (ast, nothing is imported).

- the runtime (``parface_sdk`` except the command-line front ends ``cli`` and ``bench``, which run
  the exporter on request) never imports training or export (``parface_training``,
  ``parface_export``), and nothing in ``parface_sdk`` imports training;
- the core (the top-level modules of ``parface_sdk`` and its runtime folders ``backends``,
  ``detect``, ``nn``, ``models``) never imports an application package: ``video``, ``analysis``,
  ``evaluation``, ``bench`` or ``cli``;
- ``video`` never imports ``analysis``, ``evaluation``, ``bench`` or ``cli``;
- no import circles among the modules of ``parface_sdk``.

Module-level and function-level imports both count (a lazy import is still a dependency);
imports under ``if TYPE_CHECKING:`` count for the rules but not for circles (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("parface_sdk", "parface_training", "parface_export")
APPLICATIONS = ("video", "analysis", "evaluation", "bench", "cli")
CORE_FOLDERS = ("backends", "detect", "nn", "models")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> list[tuple[str, bool]]:
    """``(imported module, under TYPE_CHECKING)`` for every import in ``path``."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            typing_only.update(id(child) for body in node.body for child in ast.walk(body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in typing_only) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                # `from package import submodule` depends on the submodule, else on the module itself
                found.append((sub if sub in modules else base, id(node) in typing_only))
    return found


def _graph() -> dict[str, list[tuple[str, bool]]]:
    paths = [p for package in PACKAGES for p in (REPO / package).rglob("*.py")]
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


GRAPH = _graph()


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _is_core(module: str) -> bool:
    parts = module.split(".")
    if parts[0] != "parface_sdk":
        return False
    return len(parts) <= 2 and (len(parts) == 1 or parts[1] not in APPLICATIONS) or parts[1] in CORE_FOLDERS


def _violations(source, forbidden) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, imports in GRAPH.items()
        if source(module)
        for target, _ in imports
        if forbidden(target)
    )


def test_the_graph_is_read():
    assert "parface_sdk.aligner" in GRAPH and "parface_sdk.video.tracker" in GRAPH
    assert ("parface_sdk.video.smoothing", False) in GRAPH["parface_sdk.video.tracker"]
    assert _is_core("parface_sdk.aligner") and _is_core("parface_sdk.backends.onnxruntime")
    assert not _is_core("parface_sdk.video") and not _is_core("parface_sdk.analysis.simulate")


def _is_runtime(module: str) -> bool:
    return _within(module, "parface_sdk") and not any(
        _within(module, f"parface_sdk.{tool}") for tool in ("cli", "bench")
    )


def test_runtime_never_imports_training_or_export():
    bad = _violations(_is_runtime, lambda t: _within(t, "parface_training") or _within(t, "parface_export"))
    bad += _violations(lambda m: _within(m, "parface_sdk"), lambda t: _within(t, "parface_training"))
    assert not bad, bad


def test_export_never_imports_training():
    bad = _violations(lambda m: _within(m, "parface_export"), lambda t: _within(t, "parface_training"))
    assert not bad, bad


@pytest.mark.parametrize("application", APPLICATIONS)
def test_core_never_imports_an_application(application):
    bad = _violations(_is_core, lambda t: _within(t, f"parface_sdk.{application}"))
    assert not bad, bad


@pytest.mark.parametrize("application", ("analysis", "evaluation", "bench", "cli"))
def test_video_never_imports_analysis_or_apps(application):
    bad = _violations(
        lambda m: _within(m, "parface_sdk.video"), lambda t: _within(t, f"parface_sdk.{application}")
    )
    assert not bad, bad


def _cycles(graph: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), runtime imports only."""
    edges = {
        module: sorted({t for t, typing_only in imports if not typing_only and t in graph and t != module})
        for module, imports in graph.items()
        if _within(module, "parface_sdk")
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, []):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_import_circles():
    assert _cycles(GRAPH) == []


def test_the_circle_finder_finds_circles():
    graph = {
        "parface_sdk.a": [("parface_sdk.b", False)],
        "parface_sdk.b": [("parface_sdk.c", False)],
        "parface_sdk.c": [("parface_sdk.a", False)],
        "parface_sdk.d": [("parface_sdk.a", True)],
        "parface_sdk.e": [("parface_sdk.d", False)],
    }
    assert _cycles(graph) == [["parface_sdk.a", "parface_sdk.b", "parface_sdk.c"]]
    graph["parface_sdk.a"] = [("parface_sdk.d", False)]  # a -> d -> a only under TYPE_CHECKING
    assert _cycles(graph) == []

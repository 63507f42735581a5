"""The shape of the code base: dependencies point one way (no import circles in engine/
or web/, counting imports inside functions), and every change to a workflow goes through
the case run (engine/case_run.py), the one module that deserializes or saves one."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "web")
CASE_RUN = "engine.case_run"


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue  # Alembic loads revisions by file, never by import
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its body (functions included).
    `from . import x` names the submodule x, not the package it comes from."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = [f"{target}.{alias.name}" for alias in node.names
                          if f"{target}.{alias.name}" in modules]
            found.update(submodules)
            if len(submodules) < len(node.names) and target in modules:
                found.add(target)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_reader_sees_imports_inside_functions_and_relative_ones():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    modules = _modules()
    # engine/case_run.py imports `from .case_run ...` nowhere but names its own siblings.
    assert "engine.audit" in _imports(CASE_RUN, modules[CASE_RUN], modules)
    assert "engine.case_run" in _imports("engine.runtime", modules["engine.runtime"], modules)


def test_no_import_circles_in_engine_or_web():
    circles = cycles(import_graph())
    assert circles == [], "modules that import each other: " + "; ".join(
        " <-> ".join(circle) for circle in circles)


def test_engine_never_imports_web_or_flask():
    offenders = []
    for name, path in _modules().items():
        if not name.startswith("engine"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and
                     not node.level else [])
            offenders += [f"{name}: {n}" for n in names
                          if n.split(".")[0] in ("web", "flask", "werkzeug")]
    assert offenders == []


# What loads, runs or saves a workflow: calls of the serializer's entry points, of a new
# workflow and of SpiffWorkflow's run methods, and any use of the table that keeps the
# serialized state.
WORKFLOW_CALLS = {"load_state", "dump_state", "BpmnWorkflow", "do_engine_steps",
                  "refresh_timers", "run_engine", "cancel"}
STATE_TABLE = "InstanceState"


def _uses(path: Path) -> set[str]:
    used = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else None
            if name in WORKFLOW_CALLS and not (name == "cancel" and not _on_workflow(func)):
                used.add(name)
        elif isinstance(node, ast.Attribute) and node.attr in ("do_engine_steps",
                                                               "refresh_timers"):
            used.add(node.attr)  # handed over to be run, e.g. run_engine(w, w.do_engine_steps)
        elif isinstance(node, ast.Name) and node.id == STATE_TABLE:
            used.add(STATE_TABLE)
        elif isinstance(node, ast.ImportFrom):
            used.update(alias.name for alias in node.names if alias.name == STATE_TABLE)
    return used


def _on_workflow(func) -> bool:
    """`workflow.cancel()` stops a case; other objects' cancel() are none of our business."""
    target = func.value if isinstance(func, ast.Attribute) else None
    return "workflow" in ast.unparse(target) if target is not None else False


@pytest.mark.parametrize("module", sorted(m for m in _modules()
                                          if m not in (CASE_RUN, "engine.serialization",
                                                       "engine.models", "engine.specs")))
def test_only_the_case_run_loads_runs_or_saves_a_workflow(module):
    """engine.serialization defines the state format, engine.models the table, and
    engine.specs compiles diagrams (it builds no instance); everything else asks the case
    run."""
    assert _uses(_modules()[module]) == set(), (
        f"{module} handles workflows itself; go through engine.case_run.CaseRun")


def test_the_case_run_is_what_the_rule_protects():
    assert {"load_state", "dump_state", "BpmnWorkflow", "do_engine_steps",
            "refresh_timers", "cancel", STATE_TABLE} <= _uses(_modules()[CASE_RUN])

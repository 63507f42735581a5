"""The suite keeps one shape: helpers shared between test modules live in support/, shared
fixtures in conftest.py. A test module that imports another one runs that module's tests'
setup as a side effect and ties the two together; a fixture defined in several places
drifts apart."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

TESTS = Path(__file__).resolve().parent


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def imported_names(tree: ast.AST) -> Iterator[str]:
    """Every module an import statement names, also the ones inside functions, and each
    name of `from . import x` (which may be a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                yield node.module
            if not node.module or node.level:
                yield from (alias.name for alias in node.names)


def names_a_test_module(name: str) -> bool:
    return any(part.startswith("test_") for part in name.split("."))


def test_no_module_imports_a_test_module():
    offenders = [f"{path.relative_to(TESTS)}: {name}"
                 for path in python_files()
                 for name in imported_names(ast.parse(path.read_text(), str(path)))
                 if names_a_test_module(name)]
    assert offenders == [], "move what is shared into tests/support/ or tests/conftest.py"


def test_imports_inside_functions_and_relative_imports_are_seen():
    source = ("import os\n"
              "def helper():\n"
              "    from test_public import file_online\n"
              "    import tests.test_web\n"
              "from . import test_api\n")
    found = sorted(name for name in imported_names(ast.parse(source)) if names_a_test_module(name))
    assert found == ["test_api", "test_public", "tests.test_web"]


def test_the_desk_fixture_is_defined_once_in_conftest():
    definitions = [str(path.relative_to(TESTS))
                   for path in python_files()
                   for node in ast.walk(ast.parse(path.read_text(), str(path)))
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                   and node.name == "desk"]
    assert definitions == ["conftest.py"]

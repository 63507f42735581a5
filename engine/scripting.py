"""The script environment for BPMN scripts, conditions and DMN cells.

Diagram expressions are Python. Deploying a diagram must not mean deploying arbitrary
code, so everything is compiled with RestrictedPython and run with its guarded builtins:
no imports, no dunder attribute walks, no `open`, no `getattr`/`str.format` tricks. What
the guards would only refuse when a case runs into it is refused when the diagram is
deployed (`refusals`), and every run is bounded in CPU time (`SCRIPT_CPU_SECONDS`): a
loop that never ends fails its step instead of holding the case and the database.
"""
from __future__ import annotations

import ast
import copy
import functools
import operator
import sys
import threading
import time
from contextlib import contextmanager

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_globals
from RestrictedPython.Eval import default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr,
)
from RestrictedPython.Limits import limited_builtins
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand,
}


def _inplacevar(op, target, value):
    try:
        return _INPLACE[op](target, value)
    except KeyError:
        raise SyntaxError(f"operator {op} is not allowed in process scripts") from None


def _guarded_getitem(obj, key):
    if isinstance(key, str) and key.startswith("_"):
        raise KeyError(f"access to {key!r} is not allowed in process scripts")
    return obj[key]


def _restricted_globals() -> dict:
    builtins = dict(safe_globals["__builtins__"])
    builtins.update(limited_builtins)
    for name in ("min", "max", "sum", "any", "all", "sorted", "list", "dict", "tuple",
                 "set", "enumerate", "zip", "map", "filter", "reversed"):
        builtins[name] = __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for unsafe in ("setattr", "delattr", "__build_class__", "id"):
        builtins.pop(unsafe, None)
    return {
        "__builtins__": builtins,
        "_getattr_": safer_getattr,
        "_getitem_": _guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_write_": full_write_guard,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_inplacevar_": _inplacevar,
    }


# Builtins the run-time guards refuse or that reach outside the task data: refused at
# deploy so that a diagram using them never goes live.
REFUSED_CALLS = {
    "open": "files cannot be opened from a diagram",
    "getattr": "use the attribute directly (a.b), not getattr",
    "setattr": "task data is changed by assignment, not setattr",
    "delattr": "task data is changed by assignment, not delattr",
    "globals": "the script environment cannot be inspected",
    "locals": "the script environment cannot be inspected",
    "vars": "the script environment cannot be inspected",
    "dir": "the script environment cannot be inspected",
    "type": "compare values, not their types",
    "compile": "a diagram cannot compile code",
    "input": "a diagram cannot read input",
    "breakpoint": "a diagram cannot start a debugger",
    "memoryview": "a diagram cannot reach memory",
    "help": "a diagram cannot start help",
}
BROAD_HANDLERS = {"BaseException", "ScriptTimeout"}
REFUSED_ATTRIBUTES = {
    "format": "format strings can reach attributes; join text with + or f'{x}'",
    "format_map": "format strings can reach attributes; join text with + or f'{x}'",
}


def refusals(code: str, mode: str) -> list[tuple[int, str]]:
    """(line, reason) for each use that the restricted compiler lets through but the
    run-time guards would refuse, or that has no place in a diagram."""
    try:
        tree = ast.parse(code, mode=mode)
    except SyntaxError:
        return []  # the compiler reports it with its own words
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and (
                node.type is None or any(isinstance(n, ast.Name) and n.id in BROAD_HANDLERS
                                         for n in ast.walk(node.type))):
            found.append((node.lineno, "a bare except (or BaseException) would catch the "
                                       "time limit; name the exceptions expected"))
        if isinstance(node, ast.Try) and node.finalbody:
            found.append((node.finalbody[0].lineno, "finally: runs after the time limit "
                                                    "stopped the script; remove it"))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append((node.lineno, "import: a diagram cannot import modules; the "
                                       "helpers it may call are there without one"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in REFUSED_CALLS:
            found.append((node.lineno, f"{node.func.id}(): {REFUSED_CALLS[node.func.id]}"))
        elif isinstance(node, ast.Attribute) and node.attr in REFUSED_ATTRIBUTES:
            found.append((node.lineno, f".{node.attr}: {REFUSED_ATTRIBUTES[node.attr]}"))
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
                isinstance(node.slice.value, str) and node.slice.value.startswith("_"):
            found.append((node.lineno, f"[{node.slice.value!r}]: keys starting with _ "
                                       "cannot be read"))
    return sorted(set(found))


# --------------------------------------------------------------------------- run time

SCRIPT_CPU_SECONDS = 1.0
SCRIPT_FILENAME = "<diagram script>"


class ScriptTimeout(BaseException):
    """A script or expression ran longer than its CPU time allows. Not an Exception, so
    that `except Exception` in a diagram cannot swallow it (deploy refuses the handlers
    that could, see `refusals`); `element` names the task whose code it stopped."""

    element: str | None = None


_bounded = threading.local()


def _tracer(deadline: float):
    """A trace function that stops the diagram's own code once the thread has used its
    CPU time: a line event comes with every loop turn, so no Python loop escapes it."""
    def local(frame, event, _arg):
        if event == "line" and time.thread_time() > deadline:
            raise ScriptTimeout(f"the script ran longer than {SCRIPT_CPU_SECONDS:g} s of "
                                "CPU time and was stopped")
        return local

    def calls(frame, _event, _arg):
        return local if frame.f_code.co_filename == SCRIPT_FILENAME else None
    return calls


@contextmanager
def cpu_bounded():
    """Run the enclosed diagram code under the CPU time limit (nested uses share the
    outer limit). Code that spends the time inside one builtin call (a huge power) is
    beyond the reach of a trace function."""
    if getattr(_bounded, "active", False):
        yield
        return
    previous = sys.gettrace()
    _bounded.active = True
    sys.settrace(_tracer(time.thread_time() + SCRIPT_CPU_SECONDS))
    try:
        yield
    finally:
        sys.settrace(previous)
        _bounded.active = False


@functools.lru_cache(maxsize=4096)
def _compile_eval(expression: str):
    result = compile_restricted_eval(expression, filename=SCRIPT_FILENAME)
    if result.errors:
        raise SyntaxError("; ".join(result.errors))
    return result.code


@functools.lru_cache(maxsize=1024)
def _compile_exec(script: str):
    result = compile_restricted_exec(script, filename=SCRIPT_FILENAME)
    if result.errors:
        raise SyntaxError("; ".join(result.errors))
    return result.code


def compile_restricted_code(code: str, mode: str):
    """Compile as the engine will; raises SyntaxError with RestrictedPython's reasons."""
    return _compile_eval(code) if mode == "eval" else _compile_exec(code)


class RestrictedEnvironment(TaskDataEnvironment):
    def __init__(self, helpers: dict | None = None):
        environment = _restricted_globals()
        environment.update(helpers or {})
        super().__init__(environment)

    def evaluate(self, expression, context, external_context=None):
        my_globals = copy.copy(self.globals)
        my_globals.update(external_context or {})
        my_globals.update(context)
        code = _compile_eval(expression)
        with cpu_bounded():
            return eval(code, my_globals)

    def call_service(self, context, operation_name=None, operation_params=None, **_kwargs):
        from .connectors import call  # connectors need the database models
        return call(operation_name, operation_params or {})

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        code = _compile_exec(script)
        context.update(copy.copy(self.globals))
        context.update(external_context or {})
        try:
            with cpu_bounded():
                exec(code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


@contextmanager
def _naming_the_task(task):
    try:
        yield
    except ScriptTimeout as exc:
        exc.element = exc.element or task.task_spec.name
        raise


class BoundedScriptEngine(PythonScriptEngine):
    """Names the task whose code ran out of time (SpiffWorkflow only wraps Exceptions)."""

    def evaluate(self, task, expression, external_context=None):
        with _naming_the_task(task):
            return super().evaluate(task, expression, external_context)

    def execute(self, task, script, external_context=None):
        with _naming_the_task(task):
            return super().execute(task, script, external_context)


def make_script_engine(helpers: dict | None = None) -> PythonScriptEngine:
    return BoundedScriptEngine(environment=RestrictedEnvironment(helpers))

"""The script environment for BPMN scripts, conditions and DMN cells.

Diagram expressions are Python. Deploying a diagram must not mean deploying arbitrary
code, so everything is compiled with RestrictedPython and run with its guarded builtins:
no imports, no dunder attribute walks, no `open`, no `getattr`/`str.format` tricks.
"""
from __future__ import annotations

import copy
import functools
import operator

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


@functools.lru_cache(maxsize=4096)
def _compile_eval(expression: str):
    result = compile_restricted_eval(expression)
    if result.errors:
        raise SyntaxError("; ".join(result.errors))
    return result.code


@functools.lru_cache(maxsize=1024)
def _compile_exec(script: str):
    result = compile_restricted_exec(script)
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
        return eval(_compile_eval(expression), my_globals)

    def call_service(self, context, operation_name=None, operation_params=None, **_kwargs):
        from .connectors import call  # connectors need the database models
        return call(operation_name, operation_params or {})

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        code = _compile_exec(script)
        context.update(copy.copy(self.globals))
        context.update(external_context or {})
        try:
            exec(code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


def make_script_engine(helpers: dict | None = None) -> PythonScriptEngine:
    return PythonScriptEngine(environment=RestrictedEnvironment(helpers))

"""Diagram scripts run restricted: known escape payloads fail, ordinary scripts work."""
from __future__ import annotations

import pytest

from engine.scripting import RestrictedEnvironment

# Each payload with the refusal of the guard that stops it: a payload must fail for that
# reason, not for any other, so that removing a guard fails its test.
ESCAPES = [
    ("().__class__.__bases__[0].__subclasses__()", SyntaxError, "starts with \"_\""),
    ("__import__('os').system('id')", SyntaxError, "starts with \"_\""),
    ("open('/etc/passwd').read()", NameError, "'open' is not defined"),
    ("getattr(1, '__class__')", NameError, "'getattr' is not defined"),
    ("'{0.__class__.__mro__}'.format(1)", NotImplementedError, "format*() methods"),
    ("globals()", NameError, "'globals' is not defined"),
    ("eval('1')", SyntaxError, "Eval calls are not allowed"),
    ("exec('x = 1')", SyntaxError, "Exec calls are not allowed"),
    ("compile('1', 'x', 'eval')", NameError, "'compile' is not defined"),
    ("(lambda: 0).__code__", SyntaxError, "starts with \"_\""),
    ("type(1)", NameError, "'type' is not defined"),
    ("vars()", NameError, "'vars' is not defined"),
    ("{}['__class__']", KeyError, "access to '__class__' is not allowed"),
    ("{'_secret': 1}['_secret']", KeyError, "access to '_secret' is not allowed"),
    ("(x for x in ()).gi_frame.f_back", SyntaxError, "\"f_back\" is a restricted name"),
    ("breakpoint()", SyntaxError, "\"breakpoint\" is a reserved name"),
    ("'{0.__class__}'.format_map({0: 1})", NotImplementedError, "format*() methods"),
    ("setattr(1, 'real', 2)", NameError, "'setattr' is not defined"),
    ("dir()", NameError, "'dir' is not defined"),
]


@pytest.mark.parametrize("payload, refusal, reason", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escape_payloads_are_refused_by_their_guard(payload, refusal, reason):
    env = RestrictedEnvironment()
    with pytest.raises(refusal) as refused:
        env.evaluate(payload, {})
    assert reason in str(refused.value)


def test_a_script_cannot_import_a_module():
    with pytest.raises(ImportError) as refused:
        RestrictedEnvironment().execute("import os\nos.system('id')", {})
    assert "__import__ not found" in str(refused.value)


def test_ordinary_scripts_and_expressions_work():
    env = RestrictedEnvironment()
    data = {"rejection_count": 2, "grade": "B", "amount": 5000.01, "items": [3, 1, 2]}
    env.execute("rejection_count += 1\nmajor = grade in ('A', 'B') or amount > 5000\n"
                "ordered = sorted(items)\nfirst, *rest = ordered", data)
    assert data["rejection_count"] == 3 and data["major"] is True
    assert data["ordered"] == [1, 2, 3] and data["first"] == 1 and data["rest"] == [2, 3]
    assert env.evaluate("rejection_count >= 3 and len(items) == 3", data) is True
    assert "__builtins__" not in data  # the environment does not leak into task data

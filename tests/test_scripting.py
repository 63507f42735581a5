"""Diagram scripts run restricted: known escape payloads fail, ordinary scripts work."""
from __future__ import annotations

import pytest

from engine.scripting import RestrictedEnvironment

ESCAPES = [
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os').system('id')",
    "open('/etc/passwd').read()",
    "getattr(1, '__class__')",
    "'{0.__class__.__mro__}'.format(1)",
    "globals()",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'x', 'eval')",
    "(lambda: 0).__code__",
    "type(1)",
    "vars()",
    "{}['__class__']",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_payloads_are_refused(payload):
    env = RestrictedEnvironment()
    with pytest.raises(Exception) as refused:
        env.evaluate(payload, {})
    assert not isinstance(refused.value, AssertionError)


def test_ordinary_scripts_and_expressions_work():
    env = RestrictedEnvironment()
    data = {"rejection_count": 2, "grade": "B", "amount": 5000.01, "items": [3, 1, 2]}
    env.execute("rejection_count += 1\nmajor = grade in ('A', 'B') or amount > 5000\n"
                "ordered = sorted(items)\nfirst, *rest = ordered", data)
    assert data["rejection_count"] == 3 and data["major"] is True
    assert data["ordered"] == [1, 2, 3] and data["first"] == 1 and data["rest"] == [2, 3]
    assert env.evaluate("rejection_count >= 3 and len(items) == 3", data) is True
    assert "__builtins__" not in data  # the environment does not leak into task data

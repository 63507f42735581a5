"""Reading an API request's JSON body: only what the engine can validate and store.

Python's JSON reader takes NaN, Infinity and numbers too large for a float (which become
infinity), and it recurses once per level of nesting; none of that may reach a form."""
from __future__ import annotations

import json
import math
from typing import Any

from flask import request

from engine.forms import FormInvalid

# Far deeper than any form (a record is an object of values, a list at most inside it).
MAX_DEPTH = 32
NOT_JSON = "The request body is not valid JSON."
SEND_JSON = "Send a JSON object with Content-Type: application/json."
FINITE = "Send finite numbers only."


class _Refused(ValueError):
    pass


def _no_constant(_name: str):
    raise _Refused(FINITE)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _Refused(FINITE)
    return number


def _depth(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            pending.extend((child, level + 1)
                           for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse(data: bytes) -> Any:
    """The body's value; raises FormInvalid (422) naming why it cannot be read."""
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        value = None
        reason = f"Nest at most {MAX_DEPTH} levels deep."
    except _Refused as exc:
        raise FormInvalid({"": str(exc)}, NOT_JSON) from None
    except ValueError:  # malformed, not UTF-8, or an integer of thousands of digits
        raise FormInvalid({"": SEND_JSON}, NOT_JSON) from None
    else:
        reason = None if _depth(value) <= MAX_DEPTH else f"Nest at most {MAX_DEPTH} levels deep."
    if reason:
        raise FormInvalid({"": reason}, NOT_JSON)
    return value


def body(required: bool = True) -> Any:
    """The request's JSON body; without one, an error when `required`, else None."""
    data = request.get_data(cache=True)
    if not data.strip() and not required:
        return None
    if not request.is_json:
        raise FormInvalid({"": SEND_JSON}, NOT_JSON)
    return parse(data)


def optional_object() -> dict:
    """The request's JSON object, or an empty one when nothing was sent."""
    value = body(required=False)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormInvalid({"": SEND_JSON}, "The request body must be a JSON object.")
    return value

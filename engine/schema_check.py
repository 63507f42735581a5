"""Whether a document is a valid JSON Schema, decided once per distinct document.

Checking a form against the JSON Schema meta-schema takes several milliseconds, and the
same forms are checked again and again: by every version's form set, by each scenario's
sandbox, by every dry run of a bundle. A document that passed is remembered by its
canonical text; one that failed is checked again each time, so its error is raised afresh.
Only documents of a form's size are remembered, so that what is kept stays small whatever
an editor pastes into the form preview.
"""
from __future__ import annotations

import functools
import json

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

__all__ = ["check_schema", "SchemaError"]

_REMEMBERED = 512
_LONGEST_REMEMBERED = 64 * 1024  # characters of canonical text


def check_schema(document: dict) -> None:
    """Raise SchemaError if `document` is not a valid JSON Schema (draft 2020-12)."""
    try:
        key = json.dumps(document, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):  # not plain JSON data: nothing to remember it by
        key = None
    if key is None or len(key) > _LONGEST_REMEMBERED:
        Draft202012Validator.check_schema(document)
        return
    _check_canonical(key)


@functools.lru_cache(maxsize=_REMEMBERED)
def _check_canonical(text: str) -> None:
    Draft202012Validator.check_schema(json.loads(text))

"""What a value in a form may be beyond its JSON type: numbers that are finite, dates and
times that every reader of a case parses back, e-mail addresses a mail can be sent to.

The forms' JSON Schema validator is built here with these checks, so the API, the pages
and the engine refuse the same values before anything is stored."""
from __future__ import annotations

import datetime as dt
import functools
import math

import orjson

from email_validator import EmailNotValidError, validate_email
from jsonschema import Draft202012Validator, FormatChecker, validators
from rfc3339_validator import validate_rfc3339

# The years a date in a form may have; the schemas document them as a pattern on every
# date and date-time field ("^(20[0-9]{2}|2100)-"), which the validator then enforces.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2100, 12, 31)


def storable_part(text: str) -> str:
    """The text without the characters no database holds: PostgreSQL refuses NUL, and no
    driver encodes a lone surrogate (which a JSON escape such as "\\ud800" carries)."""
    return "".join(character for character in text
                   if character != "\x00" and not "\ud800" <= character <= "\udfff")


def storable(text: str) -> bool:
    return storable_part(text) == text


def storable_params(params) -> dict[str, str]:
    """Query parameters with only the characters a database holds."""
    return {name: storable_part(value) for name, value in params.items()}


def _storable_string(checker, value) -> bool:
    return isinstance(value, str) and storable(value)


def _finite_number(checker, value) -> bool:
    # JSON has no NaN or infinity; Python's float has, and one in a case's data would
    # be written back as `Infinity` (not JSON) and win every comparison it takes part in.
    base = Draft202012Validator.TYPE_CHECKER
    return base.is_type(value, "number") and not (isinstance(value, float)
                                                  and not math.isfinite(value))


FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _moment(value) -> bool:
    """RFC 3339, in the subset Python reads back (no leap second, upper-case T and Z)."""
    if not isinstance(value, str):
        return True
    if not validate_rfc3339(value):
        return False
    dt.datetime.fromisoformat(value)
    return True


@FORMAT_CHECKER.checks("email", raises=EmailNotValidError)
def _address(value) -> bool:
    # No deliverability (DNS) check: the address is checked where it is typed, offline.
    if isinstance(value, str):
        validate_email(value, check_deliverability=False)
    return True


FormValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"number": _finite_number, "string": _storable_string}),
    format_checker=FORMAT_CHECKER,
)


def validator_for(schema: dict):
    """The schema's validator, built once per distinct schema: building one (and the
    subschema lookups its first use makes) costs as much as validating a form. Keyed by
    the schema's content, since forms with database choice lists are rebuilt per request."""
    return _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))


@functools.lru_cache(maxsize=512)
def _validator(schema_text: bytes):
    return FormValidator(orjson.loads(schema_text), format_checker=FORMAT_CHECKER)


def finite_number(text: str):
    """A posted number as int or float, or None when it is none or not finite."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and "." not in text else number

"""Task forms: JSON Schema deployed with each process version (shipped ones in `forms/`),
validated here so the API and the UI agree.

The schema files are content; the engine fills the choices that come from the database
(`"ui:options": {"source": "departments"}`) before rendering or validating.
"""
from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .form_values import EARLIEST_DAY, LATEST_DAY, finite_number, validator_for
from .i18n import Message, N_
from .models import ProcessVersion
from .schema_check import check_schema

RESERVED_FIELDS = {"typename"}  # breaks SpiffWorkflow's deserializer


class FormInvalid(ValueError):
    def __init__(self, fields: dict[str, str], message: str = N_("Some fields need attention.")):
        super().__init__(message)
        self.fields = fields


FORM_SUFFIXES = (".schema.json", ".uischema.json")


def is_form_file(filename: str) -> bool:
    return filename.endswith(FORM_SUFFIXES)


def _checked(filename: str, text: str) -> dict:
    document = json.loads(text)
    if filename.endswith(".schema.json"):
        check_schema(document)
        bad = RESERVED_FIELDS & set(document.get("properties", {}))
        if bad:
            raise ValueError(f"{filename}: reserved field names {sorted(bad)}")
    return document


class FormSet:
    """Forms read by file name, each parsed once."""

    def __init__(self):
        self._cache: dict[str, dict] = {}
        self._lock = threading.Lock()

    def _text(self, filename: str) -> str:
        raise NotImplementedError

    def names(self) -> list[str]:
        raise NotImplementedError

    def _load(self, filename: str) -> dict:
        cached = self._cache.get(filename)
        if cached is None:
            cached = _checked(filename, self._text(filename))
            with self._lock:
                self._cache[filename] = cached
        return cached

    def schema(self, filename: str) -> dict:
        return self._load(filename)

    def text(self, filename: str) -> str:
        """The file as written, for those who edit it."""
        return self._text(filename)

    def ui_schema(self, filename: Optional[str]) -> dict:
        if not filename:
            return {}
        try:
            return self._load(filename)
        except FileNotFoundError:
            return {}


class VersionForms(FormSet):
    """The forms deployed with one process version: they never change afterwards."""

    def __init__(self, sources: Mapping[str, str]):
        super().__init__()
        self._sources = {name: text for name, text in sources.items() if is_form_file(name)}

    def _text(self, filename: str) -> str:
        try:
            return self._sources[filename]
        except KeyError:
            raise FileNotFoundError(filename) from None

    def names(self) -> list[str]:
        return sorted(self._sources)


class FormRegistry(FormSet):
    """The forms in `forms/` on disk, and those of each deployed version.

    A case works with its version's forms, so that editing a form or deploying a new one
    never changes a running case. Versions deployed before forms travelled with them
    carry none: their cases read the directory."""

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = Path(directory)
        self._versions: dict[int, FormSet] = {}

    def _text(self, filename: str) -> str:
        path = (self.directory / filename).resolve()
        if self.directory.resolve() not in path.parents:
            raise FileNotFoundError(filename)
        return path.read_text(encoding="utf-8")

    def names(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir() if is_form_file(p.name))

    def of_version(self, session: Session, version_id: Optional[int]) -> FormSet:
        if version_id is None:
            return self
        found = self._versions.get(version_id)
        if found is None:
            sources = session.execute(select(ProcessVersion.sources).where(
                ProcessVersion.id == version_id)).scalar_one_or_none() or {}
            found = VersionForms(sources) if any(map(is_form_file, sources)) else self
            with self._lock:
                self._versions[version_id] = found
        return found

    def newest(self, session: Session, process_id: str) -> FormSet:
        """The forms of the newest version of a process (its start form, for instance)."""
        return self.of_version(session, session.execute(
            select(ProcessVersion.id).where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc()).limit(1)).scalar_one_or_none())


ChoiceSource = Callable[[str], list[tuple[str, str]]]


def resolve_choices(schema: dict, ui: dict, choices: ChoiceSource) -> dict:
    """A copy of the schema with database-backed choices filled in as oneOf/const."""
    resolved = None
    for field, hints in ui.items():
        if not isinstance(hints, dict):
            continue
        source = (hints.get("ui:options") or {}).get("source")
        if not source or field not in schema.get("properties", {}):
            continue
        if resolved is None:
            resolved = copy.deepcopy(schema)
        options = choices(source)
        prop = resolved["properties"][field]
        # A multi-select (array) takes its choices per item.
        target = prop["items"] if prop.get("type") == "array" and isinstance(
            prop.get("items"), dict) else prop
        target.pop("enum", None)
        target["oneOf"] = [{"const": value, "title": label} for value, label in options] or [
            {"const": "", "title": N_("(no choices available)")}
        ]
    return resolved or schema


CUSTOMER_WORDS = "ui:customer"


def for_customer(schema: dict, ui: dict) -> tuple[dict, dict]:
    """A form as the customer reads it. A form that staff also work speaks of "the
    customer"; its UI schema's `"ui:customer"` says the same to the customer: per field
    hints that win over the staff ones (`ui:title`, `ui:description`), choice titles
    (`oneOf` of const and title), the form's own `ui:title`, and `ui:omit`, fields left off
    because staff set them anyway. Values and validation stay the form's."""
    words = ui.get(CUSTOMER_WORDS)
    if not isinstance(words, dict):
        return schema, ui
    omit = set(words.get("ui:omit") or ())
    properties = {}
    for name, prop in (schema.get("properties") or {}).items():
        if name in omit:
            continue
        override = words.get(name)
        titles = override.get("oneOf") if isinstance(override, dict) else None
        if isinstance(prop, dict) and isinstance(titles, list) and isinstance(
                prop.get("oneOf"), list):
            named = {o.get("const"): o.get("title") for o in titles if isinstance(o, dict)}
            prop = {**prop, "oneOf": [
                {**o, "title": named.get(o.get("const"), o.get("title"))}
                if isinstance(o, dict) else o for o in prop["oneOf"]]}
        properties[name] = prop
    schema = {**schema, "properties": properties,
              "required": [n for n in schema.get("required", []) if n not in omit]}
    merged = {key: value for key, value in ui.items() if key not in omit}
    for name, override in words.items():
        if name.startswith("ui:") or not isinstance(override, dict) or name in omit:
            continue
        hints = {k: v for k, v in override.items() if k != "oneOf"}
        merged[name] = {**(merged.get(name) or {}), **hints}
    if "ui:order" in merged:
        merged["ui:order"] = [n for n in merged["ui:order"] if n not in omit]
    if isinstance(words.get("ui:title"), str):
        merged["ui:title"] = words["ui:title"]
    return schema, merged


def _fields_of(error) -> list[str]:
    """The fields an error is about: one for most, each missing one for `required`."""
    base = ".".join(str(p) for p in error.absolute_path)
    if error.validator != "required":
        return [base]
    missing = [p for p in error.validator_value if isinstance(error.instance, dict)
               and p not in error.instance] or [""]
    return [f"{base}.{name}" if base and name else (name or base) for name in missing]


# Messages are `Message`s: English for the API, the reader's language on a page.
TYPE_MESSAGES = {"number": N_("Enter a number."), "integer": N_("Enter a whole number."),
                 "boolean": N_("Answer yes or no."), "string": N_("Enter text.")}
FORMAT_MESSAGES = {"date": N_("Enter a date as YYYY-MM-DD."),
                   "date-time": N_("Enter a date and time with its time zone."),
                   "email": N_("Enter a valid e-mail address.")}


def _message(error) -> str:
    validator = error.validator
    limit = error.validator_value
    if validator == "required":
        return Message(N_("This field is required."))
    if validator in ("enum", "const", "oneOf"):
        return Message(N_("Choose one of the offered values."))
    if validator == "type" and isinstance(error.instance, str) and "string" in (
            limit if isinstance(limit, list) else [limit]):
        return Message(N_("Remove the characters that cannot be stored, such as NUL."))
    if validator == "type":
        wanted = limit
        if isinstance(wanted, list):  # ["number", "null"]: an optional number
            concrete = [w for w in wanted if w != "null"]
            wanted = concrete[0] if len(concrete) == 1 else " or ".join(wanted)
        if wanted in TYPE_MESSAGES:
            return Message(TYPE_MESSAGES[wanted])
        return Message(N_("Must be of type %(type)s."), type=wanted)
    if validator == "maxLength":
        return Message(N_("At most %(count)s characters."), count=limit)
    if validator == "minLength":
        return Message(N_("This field is required.")) if limit == 1 else \
            Message(N_("At least %(count)s characters."), count=limit)
    if validator == "pattern" and error.schema.get("format") in ("date", "date-time"):
        return Message(N_("Enter a date from %(earliest)s to %(latest)s."),
                       earliest=EARLIEST_DAY.isoformat(), latest=LATEST_DAY.isoformat())
    if validator == "format":
        if limit in FORMAT_MESSAGES:
            return Message(FORMAT_MESSAGES[limit])
        return Message(N_("Not a valid %(format)s."), format=limit)
    if validator == "minimum":
        return Message(N_("Must be at least %(limit)s."), limit=limit)
    if validator == "exclusiveMinimum":
        return Message(N_("Must be more than %(limit)s."), limit=limit)
    if validator in ("maximum", "exclusiveMaximum"):
        return Message(N_("Must be at most %(limit)s."), limit=limit)
    if validator == "additionalProperties":
        return Message(N_("Unexpected field."))
    if validator == "anyOf":
        return Message(N_("Give at least one of the alternatives."))
    return error.message


def _anyof_alternatives(schema: dict, error) -> tuple[str, str]:
    """For `anyOf` of `required` alternatives: the first alternative's field, and a message
    naming every alternative by its title ("Give Phone or E-mail.")."""
    fields = []
    for alternative in error.validator_value:
        required = alternative.get("required") if isinstance(alternative, dict) else None
        if required:
            fields.append(required[0])
    if not fields:
        return "", _message(error)
    titles = [schema.get("properties", {}).get(f, {}).get("title", f) for f in fields]
    if len(titles) == 2:
        return fields[0], Message(N_("Give %(first)s or %(second)s."),
                                  first=Message(titles[0]), second=Message(titles[1]))
    return fields[0], Message(N_("Give one of: %(fields)s."), fields=", ".join(titles))


def validate(schema: dict, data: Any) -> dict:
    """Return the data if valid, else raise FormInvalid with a message per field."""
    if not isinstance(data, dict):
        raise FormInvalid({"": Message(N_("The form data must be a JSON object."))})
    bad = RESERVED_FIELDS & set(data)
    if bad:
        raise FormInvalid({name: Message(N_("This field name is reserved.")) for name in bad})
    validator = validator_for(schema)
    fields: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: e.path):
        if error.validator == "anyOf" and not error.absolute_path:
            field, message = _anyof_alternatives(schema, error)
            fields.setdefault(field, message)
            continue
        message = _message(error)
        for field in _fields_of(error):
            fields.setdefault(field, message)
    if fields:
        raise FormInvalid(fields)
    return data


def field_types(prop: dict) -> list[str]:
    """The JSON types a form field takes, also for fields that only list their choices."""
    declared = prop.get("type")
    if isinstance(declared, list):
        return declared
    if declared:
        return [declared]
    options = prop.get("oneOf") or prop.get("anyOf") or []
    if options and isinstance(options[0], dict) and "const" in options[0]:
        return ["boolean"] if isinstance(options[0]["const"], bool) else ["string"]
    if "enum" in prop and prop["enum"] and isinstance(prop["enum"][0], bool):
        return ["boolean"]
    return ["string"]


def coerce_submission(schema: dict, form: Mapping[str, str]) -> dict:
    """Turn posted strings into typed values; anything unconvertible stays a string so that
    validation reports it beside its field instead of losing it."""
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        types = field_types(prop)
        if "array" in types:
            # A multi-select posts the field once per chosen value.
            values = form.getlist(name) if hasattr(form, "getlist") else form.get(name)
            if isinstance(values, str):
                values = [values]
            if values is not None:
                data[name] = [v.strip() for v in values if v and v.strip()]
            continue
        raw = form.get(name)
        if "boolean" in types:
            # Booleans are rendered as a yes/no choice, so "not answered" stays missing.
            if raw not in (None, ""):
                data[name] = {"true": True, "yes": True, "on": True,
                              "false": False, "no": False}.get(raw.lower(), raw)
            continue
        if raw is None:
            continue
        raw = raw.strip()
        if raw == "":
            if "null" in types:
                data[name] = None
            continue
        if "integer" in types:
            try:
                data[name] = int(raw)
                continue
            except ValueError:
                pass
        if "number" in types:
            number = finite_number(raw)
            if number is not None:
                data[name] = number
                continue
        data[name] = raw
    return data

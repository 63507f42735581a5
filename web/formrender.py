"""Server-side rendering of JSON Schema forms and of the values they hold.

The schema files in `forms/` (JSON Schema 2020-12 plus react-jsonschema-form style UI
hints) are turned into plain HTML here, so task forms work without JavaScript. Every
piece of text that comes from a schema, a value or an error message is escaped.

Also here: how the pages show a stored value (choice titles, Yes/No, times in the
viewer's zone).

Schema texts (titles, descriptions, choice titles, placeholders) and the validator's
messages are English catalog ids, shown in the reader's language.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Iterable, Mapping, Optional

from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from engine.forms import field_types
from engine.i18n import N_, parse_time, zone_label

from .i18n import _, current_zone, local_time, translate

DATETIME_PLACEHOLDER = "2026-11-25T09:30"
DATETIME_HINT = N_("Date and time in your time zone, %(zone)s.")
EMPTY = "—"


def datetime_hint() -> str:
    """Which zone the browser's date-time control is read in: the viewer's."""
    return _(DATETIME_HINT, zone=zone_label(current_zone()))


def datetime_input_value(text: str) -> str:
    """A stored moment as the browser's date-time control takes it, in the viewer's zone
    ("2026-11-25T09:30", seconds only when there are some); what the person typed (no
    zone) as it is, normalised; anything else unchanged, for its error to be seen."""
    moment = parse_time(text)
    if moment is None:
        return text
    try:
        if moment.tzinfo is not None:
            moment = moment.astimezone(current_zone())
    except (OverflowError, ValueError):
        return text
    shown = (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
             f"T{moment.hour:02d}:{moment.minute:02d}")
    return shown + (f":{moment.second:02d}" if moment.second else "")


# --------------------------------------------------------------------------- schema reading

def field_order(schema: dict, ui: Optional[dict]) -> list[str]:
    """Property names in the order of "ui:order" ("*" stands for all the others)."""
    names = list((schema.get("properties") or {}).keys())
    order = (ui or {}).get("ui:order")
    if not order:
        return names
    listed = [n for n in order if n != "*" and n in names]
    rest = [n for n in names if n not in listed]
    if "*" in order:
        at = order.index("*")
        before = [n for n in order[:at] if n in names]
        after = [n for n in order[at + 1:] if n in names]
        return before + rest + after
    return listed + rest


def _hints(ui: Optional[dict], name: str) -> dict:
    hints = (ui or {}).get(name)
    return hints if isinstance(hints, dict) else {}


def choices(prop: dict, hints: Optional[dict] = None) -> Optional[list[tuple[Any, str]]]:
    """(value, label) pairs of an enum or oneOf/anyOf-of-const property, else None."""
    for key in ("oneOf", "anyOf"):
        options = prop.get(key)
        if options and all(isinstance(o, dict) and "const" in o for o in options):
            return [(o["const"], translate(str(o.get("title", o["const"]))))
                    for o in options]
    if "enum" in prop:
        names = (hints or {}).get("ui:enumNames") or []
        return [(v, translate(str(names[i])) if i < len(names) else _enum_label(v))
                for i, v in enumerate(prop["enum"]) if v is not None]
    return None


def _enum_label(value: Any) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def humanize(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def label_of(schema: dict, ui: Optional[dict], name: str) -> str:
    prop = (schema.get("properties") or {}).get(name) or {}
    return translate(str(_hints(ui, name).get("ui:title") or prop.get("title")
                         or humanize(name)))


def is_datetime(prop: dict, hints: dict) -> bool:
    return prop.get("format") == "date-time" or hints.get("ui:widget") == "datetime"


# --------------------------------------------------------------------------- value helpers

def as_text(value: Any) -> str:
    """A value as it goes into an input's value attribute."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def display_value(prop: Optional[dict], value: Any, hints: Optional[dict] = None) -> str:
    """A stored value as a person reads it: choice titles, Yes/No, local times."""
    prop = prop or {}
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, list):
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        return ", ".join(display_value(items, v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    options = choices(prop, hints)
    if options:
        for option_value, label in options:
            if option_value == value and type(option_value) is type(value):
                return label
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if prop.get("format") == "date-time" or (not prop and parse_time(value) is not None):
        return local_time(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- posted data

_DATETIME = re.compile(
    r"^\s*(\d{4}-\d{2}-\d{2})[Tt ]\s*(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*"
    r"(Z|z|[+-]\d{2}:?\d{2})?\s*$"
)


def normalise_datetime(raw: str) -> str:
    """Accept 'YYYY-MM-DD HH:MM' and friends; fill in seconds and the company's offset.

    Anything that does not look like a date and time is returned unchanged so that the
    validator reports it beside its field.
    """
    match = _DATETIME.match(raw or "")
    if not match:
        return raw
    day, hour, minute, second, fraction, offset = match.groups()
    text = f"{day}T{int(hour):02d}:{minute}:{second or '00'}{fraction or ''}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return raw
    if offset is None:
        return moment.replace(tzinfo=current_zone()).isoformat()
    offset = offset.upper()
    if offset != "Z" and ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    return f"{text}{offset}"


def posted(schema: dict, ui: Optional[dict], form: Mapping[str, str]) -> MultiDict:
    """The posted strings of the schema's fields, with date-times made explicit.

    The result goes to `engine.forms.coerce_submission`; the raw form is what the page
    shows again when validation fails, so the person sees exactly what they typed.
    """
    values = MultiDict()
    for name, prop in (schema.get("properties") or {}).items():
        if "array" in field_types(prop) and hasattr(form, "getlist"):
            for item in form.getlist(name):
                values.add(name, item)
            continue
        raw = form.get(name)
        if raw is None:
            continue
        if is_datetime(prop, _hints(ui, name)) and raw.strip():
            raw = normalise_datetime(raw)
        values[name] = raw
    return values


# --------------------------------------------------------------------------- HTML

def _attrs(**attributes: Any) -> Markup:
    parts = []
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        if value is True:
            parts.append(key)
        else:
            parts.append(f'{key}="{escape(value)}"')
    return Markup(" " + " ".join(parts)) if parts else Markup("")


def field_id(name: str) -> str:
    return f"f-{re.sub(r'[^A-Za-z0-9_-]', '-', name)}"


def _label_html(label: str, required: bool) -> Markup:
    marker = Markup(
        ' <span class="req" aria-hidden="true">*</span>'
        '<span class="visually-hidden"> {}</span>'
    ).format(_("(required)")) if required else Markup("")
    return escape(label) + marker


def _selected(value: Any, option_value: Any) -> bool:
    """Is this choice the current value? A null choice stands for "no answer yet"."""
    if option_value is None:
        return value is None or value == ""
    if value is None:
        return False
    return as_text(value) == as_text(option_value)


def render_field(
    name: str,
    prop: dict,
    hints: dict,
    value: Any,
    error: Optional[str],
    required: bool,
) -> Markup:
    fid = field_id(name)
    label = translate(str(hints.get("ui:title") or prop.get("title") or humanize(name)))
    help_parts = [translate(p) for p in (hints.get("ui:description") or prop.get("description"),
                                         hints.get("ui:help")) if p]
    widget = hints.get("ui:widget")
    types = field_types(prop)
    datetime_field = is_datetime(prop, hints)
    if datetime_field:
        help_parts.append(datetime_hint())
    error = translate(error) if error else error
    placeholder = translate(hints["ui:placeholder"]) if hints.get("ui:placeholder") else None
    help_id = f"{fid}-help" if help_parts else None
    error_id = f"{fid}-error" if error else None
    described = " ".join(i for i in (help_id, error_id) if i) or None
    help_html = Markup('<p class="help" id="{}">{}</p>').format(
        help_id, Markup("<br>").join(str(p) for p in help_parts)) if help_parts else Markup("")
    error_html = Markup('<p class="field-error" id="{}"><span class="visually-hidden">{} '
                        '</span>{}</p>').format(error_id, _("Error:"), error) \
        if error else Markup("")
    text = as_text(value)
    readonly = bool(prop.get("readOnly") or hints.get("ui:readonly") or hints.get("ui:disabled"))
    css = "field" + (" field--error" if error else "")
    if widget == "textarea" or readonly:
        css += " field--wide"

    if widget == "hidden":
        return Markup("<input{}>").format(_attrs(type="hidden", name=name, value=text))

    if readonly:
        shown = display_value(prop, value, hints)
        return Markup(
            '<div class="{}"><span class="label">{}</span>{}'
            '<p class="readonly-value" id="{}">{}</p>{}{}</div>'
        ).format(css, _label_html(label, False), help_html, fid, shown,
                 Markup("<input{}>").format(_attrs(type="hidden", name=name, value=text))
                 if value is not None else Markup(""), error_html)

    options = choices(prop, hints)
    if "boolean" in types and options is None:
        options = [(True, _("Yes")), (False, _("No"))]
        widget = widget or "radio"

    if options is not None and (widget == "radio" or "boolean" in types):
        inline = len(options) <= 5 and sum(len(option_label) for _, option_label in options) <= 60
        if not inline:
            css += " field--wide"
        buttons = []
        for index, (option_value, option_label) in enumerate(options):
            option_text = as_text(option_value)
            buttons.append(Markup(
                '<label class="choice"><input{}> <span>{}</span></label>'
            ).format(_attrs(type="radio", name=name, id=f"{fid}-{index}", value=option_text,
                            checked=_selected(value, option_value),
                            required=required and index == 0), option_label))
        return Markup(
            '<fieldset class="{}" id="{}"{}><legend>{}</legend>{}'
            '<div class="choices{}">{}</div>{}</fieldset>'
        ).format(css, fid, _attrs(aria_describedby=described,
                                  aria_invalid="true" if error else None),
                 _label_html(label, required), help_html,
                 " choices--inline" if inline else "",
                 Markup("").join(buttons), error_html)

    common = dict(id=fid, name=name, aria_describedby=described,
                  aria_invalid="true" if error else None, required=required,
                  autofocus=bool(hints.get("ui:autofocus")))
    if options is not None:
        has_null = any(option_value is None for option_value, _ in options)
        opts = [] if has_null else [
            Markup('<option value="">{}</option>').format(_("— Choose —"))]
        for option_value, option_label in options:
            opts.append(Markup("<option{}>{}</option>").format(
                _attrs(value=as_text(option_value), selected=_selected(value, option_value)),
                option_label))
        control = Markup("<select{}>{}</select>").format(_attrs(**common), Markup("").join(opts))
    elif widget == "textarea":
        rows = (hints.get("ui:options") or {}).get("rows") or 4
        control = Markup("<textarea{}>{}</textarea>").format(
            _attrs(rows=rows, maxlength=prop.get("maxLength"),
                   placeholder=placeholder, **common), text)
    elif "integer" in types or "number" in types:
        minimum = prop.get("minimum", prop.get("exclusiveMinimum"))
        maximum = prop.get("maximum", prop.get("exclusiveMaximum"))
        control = Markup("<input{}>").format(_attrs(
            type="number", step="1" if "number" not in types else "any", min=minimum,
            max=maximum, value=text, inputmode="decimal",
            placeholder=placeholder, **common))
    elif prop.get("format") == "date" or widget == "date":
        control = Markup("<input{}>").format(_attrs(
            type="date", value=text[:10] if parse_time(text) else text, **common))
    elif datetime_field:
        # The browser's own picker; a browser without one shows a text box, which takes
        # the same form as the placeholder.
        shown = datetime_input_value(text)
        control = Markup("<input{}>").format(_attrs(
            type="datetime-local", value=shown, autocomplete="off",
            step="1" if len(shown) > 16 else None,
            placeholder=placeholder or DATETIME_PLACEHOLDER,
            class_="input-datetime", **common))
    elif "array" in types and choices(prop.get("items") or {}) is not None:
        chosen = {as_text(v) for v in (value if isinstance(value, (list, tuple)) else
                                       [value] if value not in (None, "") else [])}
        boxes = []
        for index, (option_value, option_label) in enumerate(choices(prop["items"])):
            boxes.append(Markup('<label class="choice"><input{}> <span>{}</span></label>').format(
                _attrs(type="checkbox", name=name, id=f"{fid}-{index}",
                       value=as_text(option_value),
                       checked=as_text(option_value) in chosen), option_label))
        return Markup('<fieldset class="{}" id="{}"{}><legend>{}</legend>{}'
                      '<div class="choices">{}</div>{}</fieldset>').format(
            css, fid, _attrs(aria_describedby=described,
                             aria_invalid="true" if error else None),
            _label_html(label, required), help_html, Markup("").join(boxes), error_html)
    elif "array" in types or "object" in types:
        control = Markup('<p class="readonly-value" id="{}">{}</p>').format(
            fid, display_value(prop, value, hints))
    else:
        input_type = {"email": "email", "uri": "url"}.get(prop.get("format"), "text")
        input_type = (hints.get("ui:options") or {}).get("inputType") or input_type
        control = Markup("<input{}>").format(_attrs(
            type=input_type, value=text, maxlength=prop.get("maxLength"),
            placeholder=placeholder,
            autocomplete=hints.get("ui:autocomplete"),
            class_="input-wide" if (prop.get("maxLength") or 0) > 60 else None, **common))
    return Markup('<div class="{}">{}{}{}{}</div>').format(
        css, Markup('<label for="{}">{}</label>').format(fid, _label_html(label, required)),
        help_html, control, error_html)


def render_fields(
    schema: dict,
    ui: Optional[dict] = None,
    values: Optional[Mapping[str, Any]] = None,
    errors: Optional[Mapping[str, str]] = None,
    skip: Iterable[str] = (),
) -> Markup:
    """The form's fields as HTML, in "ui:order", prefilled with `values`."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    values = values or {}
    errors = errors or {}
    skip = set(skip)
    parts = []
    for name in field_order(schema, ui):
        if name in skip:
            continue
        prop = properties[name] if isinstance(properties[name], dict) else {}
        value = values.getlist(name) if "array" in field_types(prop) and hasattr(
            values, "getlist") else values.get(name)
        parts.append(render_field(name, prop, _hints(ui, name), value,
                                  errors.get(name), name in required))
    if not parts:
        parts.append(Markup('<p class="muted">{}</p>').format(
            _("This step has no form fields; complete it when the work is done.")))
    return Markup("\n").join(parts)


def render_error_summary(schema: dict, ui: Optional[dict], errors: Optional[Mapping[str, str]]) -> Markup:
    """A list of the problems at the top of the form, each linking to its field."""
    if not errors:
        return Markup("")
    properties = schema.get("properties") or {}
    items = []
    ordered = field_order(schema, ui)
    keys = sorted(errors, key=lambda k: ordered.index(k) if k in ordered else -1)
    for key in keys:
        message = translate(errors[key])
        if key in properties:
            items.append(Markup('<li><a href="#{}">{}: {}</a></li>').format(
                field_id(key), label_of(schema, ui, key), message))
        elif key:
            items.append(Markup("<li>{}: {}</li>").format(humanize(key), message))
        else:
            items.append(Markup("<li>{}</li>").format(message))
    return Markup(
        '<div class="error-summary" role="alert" tabindex="-1">'
        '<h2>{}</h2><ul>{}</ul></div>'
    ).format(_("There is a problem"), Markup("").join(items))


def record_rows(schema: dict, ui: Optional[dict], record: Mapping[str, Any],
                include_empty: bool = False) -> list[tuple[str, str, str]]:
    """(name, label, shown value) of a record, in form order, for read-only display."""
    properties = schema.get("properties") or {}
    rows = []
    for name in field_order(schema, ui):
        value = record.get(name)
        if not include_empty and (value is None or value == "" or value == []):
            continue
        rows.append((name, label_of(schema, ui, name),
                     display_value(properties.get(name), value, _hints(ui, name))))
    return rows

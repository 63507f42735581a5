"""The item an approval decides on, as the reader reads it: each field of the reviewed
step under its own heading (the form's title for it, in the reader's language), text of
several lines as a list, dates in the reader's language, amounts with their currency,
choices by their titles, and what changed since the previous round.

Built from the reviewed step's own schema and UI hints (engine/reviewed_items.py), so it
works for any approval whose form names the step it reviews."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

from babel.dates import format_date
from babel.numbers import format_currency

from engine.reviewed_items import ReviewedItem, shown_only

from .. import formrender
from ..i18n import current_locale, translate

# Babel's locale per catalog language: British English writes "1 December 2026".
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en_GB"}
# A line that starts a list item as people type one: "-", "*", "•", "1.", "2)", "(3)".
BULLET = re.compile(r"^\s*(?:[-*•·]|\(?\d{1,2}[.)、）])\s*")
CHANGE_PREVIEW = 240  # characters of a long text shown in the before/after table


def _babel_locale() -> str:
    return BABEL_LOCALES.get(current_locale(), "en_GB")


def _hints(ui: dict, name: str) -> dict:
    hints = ui.get(name)
    return hints if isinstance(hints, dict) else {}


def shown_value(prop: Optional[dict], hints: dict, value: Any) -> str:
    """One value as a person reads it, in the reader's language and zone."""
    prop = prop or {}
    if value is None or value == "" or value == []:
        return formrender.EMPTY
    currency = (hints.get("ui:options") or {}).get("currency")
    if currency and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_currency(value, currency, locale=_babel_locale())
    if prop.get("format") == "date" and isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
        return format_date(day, format="long", locale=_babel_locale())
    return formrender.display_value(prop, value, hints)


def _is_free_text(prop: dict, hints: dict) -> bool:
    types = prop.get("type")
    types = types if isinstance(types, list) else [types]
    return ("string" in types and not prop.get("format") and not formrender.choices(prop, hints))


def field_block(prop: dict, hints: dict, label: str, value: Any) -> dict:
    """{"label", "lines"} for text of several lines (a list), else {"label", "text"}."""
    if _is_free_text(prop, hints) and isinstance(value, str):
        lines = [BULLET.sub("", line).strip() for line in value.splitlines()]
        lines = [line for line in lines if line]
        if len(lines) > 1:
            return {"label": label, "lines": lines}
        return {"label": label, "text": lines[0] if lines else formrender.EMPTY}
    return {"label": label, "text": shown_value(prop, hints, value)}


def _preview(text: str) -> str:
    return text if len(text) <= CHANGE_PREVIEW else text[:CHANGE_PREVIEW].rstrip() + "…"


def present(item: Optional[ReviewedItem]) -> Optional[dict]:
    """The item as the templates show it (None stays None)."""
    if item is None:
        return None
    props = item.schema.get("properties") or {}
    fields = []
    for name in item.fields:
        value = item.current.data.get(name)
        if value is None or value == "" or value == []:
            continue
        fields.append(field_block(props.get(name) or {}, _hints(item.ui, name),
                                  formrender.label_of(item.schema, item.ui, name), value))
    changes = [{"label": formrender.label_of(item.schema, item.ui, name),
                "before": _preview(shown_value(props.get(name), _hints(item.ui, name),
                                               item.previous.data.get(name))),
                "after": _preview(shown_value(props.get(name), _hints(item.ui, name),
                                              item.current.data.get(name)))}
               for name in item.changed()] if item.previous else []
    return {"step": item.step, "title": translate(item.title), "fields": fields,
            "changes": changes, "rounds": item.rounds, "resubmitted": item.previous is not None,
            "at": item.current.at, "actor": item.current.actor_name}


def form_without_copies(schema: dict, ui: dict,
                        item: Optional[ReviewedItem]) -> tuple[dict, dict]:
    """The approving form without its read-only copies of the reviewed item (a one-line
    summary, a plain-text report) when the item itself is shown above it. The case keeps
    those values: a form never takes back what it only shows."""
    if item is None:
        return schema, ui
    copies = shown_only(schema)
    schema = {**schema, "properties": {name: prop for name, prop in
                                       (schema.get("properties") or {}).items()
                                       if name not in copies}}
    ui = {key: hints for key, hints in ui.items() if key not in copies}
    if isinstance(ui.get("ui:order"), list):
        ui["ui:order"] = [name for name in ui["ui:order"] if name not in copies]
    return schema, ui

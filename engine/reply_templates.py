"""Common replies to the customer (forms/reply_templates.json), filled in for one case.

A template is written out in each language; the customer reads the reply, so it is
filled in in the customer's language, whatever language the staff member works in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from . import notes
from .directory import Actor
from .errors import Forbidden, NotFound
from .i18n import DEFAULT_LOCALE, N_, normalize_locale, translator
from .services import Services
from .visibility import visible_case

FILE = "reply_templates.json"
PLACEHOLDERS = ("customer_name", "ticket")


@dataclass(frozen=True)
class ReplyTemplate:
    id: str
    title: str  # English; translated where shown
    texts: dict[str, str]  # locale -> text with {placeholders}


def available(services: Services) -> list[ReplyTemplate]:
    document = json.loads((services.forms.directory / FILE).read_text(encoding="utf-8"))
    return [ReplyTemplate(id=item["id"], title=item["title"], texts=item["text"])
            for item in document["templates"]]


def fill(text: str, values: dict[str, str]) -> str:
    # Plain replacement, not str.format: a brace elsewhere in a text stays as written.
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", values.get(name, ""))
    return text


def prefill(services: Services, session: Session, actor: Actor, ticket: str,
            template_id: str) -> str:
    """The template's text for this case, in the customer's language."""
    instance = visible_case(session, actor, ticket)
    if not notes.may_reply(actor):
        raise Forbidden(N_("Only customer service replies to the customer."))
    chosen = next((t for t in available(services) if t.id == template_id), None)
    if chosen is None:
        raise NotFound(N_("No such reply template."))
    locale = normalize_locale(instance.customer_locale) or DEFAULT_LOCALE
    text = chosen.texts.get(locale) or chosen.texts[DEFAULT_LOCALE]
    name = instance.customer_name or translator(locale)("customer")
    return fill(text, {"customer_name": name, "ticket": instance.ticket})

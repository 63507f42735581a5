"""What the conversation sections of the case page and the status page show.

Both sections are rendered whole (the page) or alone (an htmx request swaps just the
section, see web/htmx.py), from the same template and the same values built here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from engine import notes, reply_templates
from engine.directory import Actor
from engine.i18n import DEFAULT_LOCALE, LOCALE_NAMES, normalize_locale

from .i18n import _


@dataclass
class StaffPanel:
    thread: notes.StaffThread
    templates: list[tuple[str, str]] = field(default_factory=list)  # id, translated title
    reply_text: str = ""
    comment_text: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # note kind -> message
    notice: Optional[str] = None
    chosen_template: str = ""

    @property
    def ticket(self) -> str:
        return self.thread.ticket

    @property
    def customer_language(self) -> str:
        locale = normalize_locale(self.thread.customer_locale) or DEFAULT_LOCALE
        return LOCALE_NAMES[locale]


def staff_panel(services, session, actor: Actor, ticket: str, **state) -> StaffPanel:
    thread = notes.staff_thread(session, actor, ticket)
    templates = ([(t.id, _(t.title)) for t in reply_templates.available(services)]
                 if thread.can_reply else [])
    return StaffPanel(thread=thread, templates=templates, **state)


@dataclass
class CustomerPanel:
    token: str
    thread: notes.CustomerThread
    body: str = ""
    error: Optional[str] = None
    notice: Optional[str] = None

    @property
    def notes(self) -> list[notes.NoteView]:
        return self.thread.notes


def customer_panel(services, token: str, **state) -> CustomerPanel:
    return CustomerPanel(token=token, thread=notes.customer_thread(services, token), **state)


def error_text(exc) -> str:
    """The message of a rejected note body, in the reader's language."""
    return _(str(exc.fields.get("body") or exc))

"""The complaint record as it is filed: its schema and form, and the checks every channel
(the public page, staff registration, the API) applies before a case is started."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Optional

from sqlalchemy.orm import Session

from . import forms
from .directory import Actor
from .errors import Forbidden
from .i18n import Message, N_
from .services import Services
from .task_forms import choice_source

INTAKE_FORM = "intake.schema.json"
INTAKE_UI = "intake.uischema.json"
STAFF_CHANNELS_DEFAULT = "hotline"
# Customer service registers complaints received by phone, at the counter or by another
# system; anyone else who files one files it as a customer would.
REGISTER_ROLES = frozenset({"cs_agent", "cs_supervisor", "admin"})


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def intake_schema(services: Services) -> dict:
    return services.forms.schema(INTAKE_FORM)


def intake_form(services: Services, session: Session) -> tuple[dict, dict]:
    schema = intake_schema(services)
    ui = services.forms.ui_schema(INTAKE_UI)
    return forms.resolve_choices(schema, ui, choice_source(session, None)), ui


def may_register(actor: Optional[Actor]) -> bool:
    """Whether the person registers complaints on a customer's behalf (sets the channel,
    the time of receipt and the staff's assessment)."""
    return actor is not None and bool(actor.roles & REGISTER_ROLES)


def require_registrar(actor: Optional[Actor]) -> None:
    if not may_register(actor):
        raise Forbidden(N_("Only customer service registers complaints."))


def normalise_record(services: Services, record: Any, now: dt.datetime,
                     staff: Optional[Actor]) -> dict:
    """Validate an intake record; the public channel cannot choose channel or time."""
    if not isinstance(record, dict):
        raise forms.FormInvalid({"": Message(N_("The complaint record must be a JSON object."))})
    record = dict(record)
    if staff is None:
        record["channel"] = "web"
        record["received_at"] = now.isoformat()
    else:
        record.setdefault("channel", STAFF_CHANNELS_DEFAULT)
        record.setdefault("received_at", now.isoformat())
    schema = intake_schema(services)
    forms.validate(schema, record)
    received = dt.datetime.fromisoformat(record["received_at"].replace("Z", "+00:00"))
    if received.tzinfo is None:
        raise forms.FormInvalid({"received_at": Message(N_("Give the time with its time zone."))})
    if received > now + dt.timedelta(minutes=5):
        raise forms.FormInvalid({"received_at": Message(N_("The receipt time lies in the future."))})
    full = {name: None for name in schema.get("properties", {})}
    full.update(record)
    return full


def match_key(value) -> Optional[str]:
    """E-mail addresses and order numbers as compared across cases: trimmed, lower case."""
    text = str(value or "").strip().lower()
    return text[:128] or None

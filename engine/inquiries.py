"""Overseas customers' inquiries (004): filed on the public site or registered by the
support team from an e-mail, a call or an online chat, then run by the inquiry process.

An inquiry is a case like a complaint: a ticket, a private status link for the customer,
tasks in the same inbox. Its ticket is the complaint numbering with a "Q" in front, so the
two are never mistaken for each other on the phone.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, Callable, Optional

from sqlalchemy.orm import Session

from . import forms, tickets
from .case_run import CaseRun
from .directory import Actor
from .errors import Forbidden
from .i18n import Message, N_, normalize_locale, zone_or_none
from .intake import match_key, token_digest
from .services import Services
from .tickets import Filed

INQUIRY_PROCESS = "inquiry"
INQUIRY_FORM = "inquiry.schema.json"
INQUIRY_UI = "inquiry.uischema.json"
TICKET_PREFIX = "Q"
REGISTER_ROLES = frozenset({"support_agent", "support_manager", "admin"})
STAFF_CHANNEL_DEFAULT = "email"


def inquiry_form(services: Services, session: Session) -> tuple[dict, dict]:
    """The newest inquiry version's record form, as staff fill it in."""
    version_forms = services.forms.newest(session, INQUIRY_PROCESS)
    return version_forms.schema(INQUIRY_FORM), version_forms.ui_schema(INQUIRY_UI)


def customer_form(services: Services, session: Session) -> tuple[dict, dict]:
    """The inquiry form on the public site: no channel or receipt time (set on receipt)."""
    return forms.for_customer(*inquiry_form(services, session))


def may_register(actor: Optional[Actor]) -> bool:
    return actor is not None and bool(actor.roles & REGISTER_ROLES)


def checked_record(schema: dict, record: Any, now: dt.datetime, staff: Optional[Actor]) -> dict:
    if not isinstance(record, dict):
        raise forms.FormInvalid({"": Message(N_("The inquiry must be a JSON object."))})
    record = dict(record)
    if isinstance(record.get("customer_email"), str):
        record["customer_email"] = record["customer_email"].strip()
    if staff is None:
        # What the customer cannot know or must not choose is set on receipt.
        record["channel"] = "web"
        record["received_at"] = now.isoformat()
    else:
        record.setdefault("channel", STAFF_CHANNEL_DEFAULT)
        record.setdefault("received_at", now.isoformat())
    data = forms.validate(schema, record)
    received = dt.datetime.fromisoformat(str(data["received_at"]).replace("Z", "+00:00"))
    if received.tzinfo is None:
        raise forms.FormInvalid({"received_at": Message(N_("Give the time with its time zone."))})
    if received > now + dt.timedelta(minutes=5):
        raise forms.FormInvalid({"received_at": Message(N_("The receipt time lies in the future."))})
    data["received_at"] = received.astimezone(dt.timezone.utc).isoformat()
    return {**{name: None for name in schema.get("properties", {})}, **data}


def file_inquiry(services: Services, record: Any, staff: Optional[Actor] = None,
                 customer_locale: Optional[str] = None,
                 customer_timezone: Optional[str] = None) -> Filed:
    """Register an inquiry and run it to its first task (the first response).

    Without `staff` it is the customer's own, from the public site. Raises FormInvalid
    or Forbidden; nothing is stored then."""
    if staff is not None and not may_register(staff):
        raise Forbidden(N_("Only the overseas support team registers inquiries."))
    return file_support_case(services, INQUIRY_PROCESS, inquiry_form, TICKET_PREFIX,
                             "inquiry_filed", record, staff, customer_locale,
                             customer_timezone)


def file_support_case(services: Services, process: str, form: Callable, prefix: str,
                      event: str, record: Any, staff: Optional[Actor],
                      customer_locale: Optional[str],
                      customer_timezone: Optional[str]) -> Filed:
    """File a case of an overseas support process (an inquiry, a technical problem) from
    its record form and run it to its first task, in one unit of work."""
    now = services.now()
    preferences = {"customer_locale": normalize_locale(customer_locale),
                   "customer_timezone": customer_timezone
                   if zone_or_none(customer_timezone) else None}
    with services.db.write() as session:
        schema, _ui = form(services, session)
        data = checked_record(schema, record, now, staff)
        ticket = prefix + tickets.next_ticket(session, now)
        token = secrets.token_urlsafe(32)
        data.update(ticket=ticket, **preferences)
        run = CaseRun.start(
            services, session, process, data, ticket, now,
            customer_name=data.get("customer_name"), customer_phone=data.get("customer_phone"),
            customer_email=match_key(data.get("customer_email")),
            order_number=match_key(data.get("order_number")), channel=data.get("channel"),
            received_at=dt.datetime.fromisoformat(data["received_at"]),
            status_token_hash=token_digest(token), **preferences)
        run.record(event, staff.username if staff else None, ticket=ticket,
                   channel=data.get("channel"))
        result = run.commit()
    services.due_changed(result.next_due_at)
    return Filed(ticket=ticket, status_token=token, path=result.path,
                 next_due_at=result.next_due_at)

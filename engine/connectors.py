"""Connectors that diagrams call from service tasks (`spiffworkflow:serviceTaskOperator`).

The built-in ones answer from the `lookup_record` table an admin fills from CSV, so a
company can start without integration and later register a connector to its ERP or
carrier under the same name. They run inside the engine step, in its transaction.
"""
from __future__ import annotations

import contextlib
import contextvars
import csv
from html import escape
import io
import json
from typing import Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import mailer
from .i18n import N_, translator
from .models import LookupRecord, ProcessInstance, utcnow

_session: contextvars.ContextVar[Session] = contextvars.ContextVar("connector_session")
_instance: contextvars.ContextVar[int | None] = contextvars.ContextVar("connector_instance",
                                                                      default=None)


@contextlib.contextmanager
def bound(session: Session, instance_id: int | None) -> Iterator[None]:
    """Give connectors the running step's transaction (and its case)."""
    token_s, token_i = _session.set(session), _instance.set(instance_id)
    try:
        yield
    finally:
        _session.reset(token_s)
        _instance.reset(token_i)


def _lookup(kind: str, key) -> dict | None:
    if key in (None, ""):
        return None
    row = _session.get().get(LookupRecord, (kind, str(key)))
    return row.data if row is not None else None


def lookup_order(order_number=None) -> dict:
    order = _lookup("order", order_number)
    return {"found": order is not None, "order": order or {}}


def track_shipment(order_number=None) -> dict:
    shipment = _lookup("shipment", order_number)
    return {"found": shipment is not None,
            "events": (shipment or {}).get("events", []), "carrier": (shipment or {}).get("carrier")}


REPORT_SUBJECT = N_("Complaint %(ticket)s: complaint handling report")


def email_report(to=None, subject="Your complaint", html="", **_ignored) -> dict:
    """Queue an e-mail with the report attached as an HTML file, in the customer's language
    when the running case is known."""
    if not to:
        return {"queued": False, "reason": "no e-mail address"}
    session, instance_id = _session.get(), _instance.get()
    case = session.get(ProcessInstance, instance_id) if instance_id is not None else None
    _ = translator(case.customer_locale if case is not None else None)
    # The shipped diagram writes this subject in English; the customer reads it in theirs.
    if case is not None and subject == REPORT_SUBJECT % {"ticket": case.ticket}:
        subject = _(REPORT_SUBJECT, ticket=case.ticket)
    document = (f"<!doctype html><meta charset=utf-8><title>{escape(str(subject))}</title>"
                f"{html or ''}")
    message = mailer.queue(session, str(to), str(subject),
                           _("Please find the report on your complaint attached."),
                           instance_id=instance_id,
                           attachment=("complaint-report.html", "text/html", document))
    return {"queued": True, "outbox_id": message.id}


CONNECTORS: dict[str, Callable[..., dict]] = {
    "lookup_order": lookup_order,
    "track_shipment": track_shipment,
    "email_report": email_report,
}


def call(operation_name: str, operation_params: dict) -> str:
    """What SpiffWorkflow's service task expects back: the result as JSON text."""
    connector = CONNECTORS.get(operation_name)
    if connector is None:
        raise ValueError(f"no connector named {operation_name!r}; known: "
                         f"{', '.join(sorted(CONNECTORS))}")
    params = {name: spec.get("value") for name, spec in (operation_params or {}).items()}
    return json.dumps(connector(**params), default=str)


def import_csv(session: Session, kind: str, text: str, key_column: str) -> int:
    """Load rows of a CSV export (orders, shipments) keyed by one column; returns count.

    A column named `events` may hold a JSON list (carrier scan events)."""
    reader = csv.DictReader(io.StringIO(text))
    if key_column not in (reader.fieldnames or []):
        raise ValueError(f"the CSV has no column {key_column!r}")
    count = 0
    for record in reader:
        key = (record.get(key_column) or "").strip()
        if not key:
            continue
        if record.get("events"):
            try:
                record["events"] = json.loads(record["events"])
            except json.JSONDecodeError:
                record["events"] = [record["events"]]
        existing = session.execute(select(LookupRecord).where(
            LookupRecord.kind == kind, LookupRecord.key == key)).scalar_one_or_none()
        if existing is None:
            session.add(LookupRecord(kind=kind, key=key, data=record, imported_at=utcnow()))
        else:
            existing.data, existing.imported_at = record, utcnow()
        count += 1
    return count

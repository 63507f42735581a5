"""Notices the diagram asks for (e.g. the supervisor copied on dispatch).

A task spec with the properties `notifyRole` (who) and either `notifyMessage` (an English
catalog message with %(name)s placeholders) plus `notifyValues` (a Python expression on
the task data giving those values), or the older `notifySubject` (an expression giving the
whole text), writes one row per run of that task, in the same transaction as the step.
Rows with a message are shown to each reader in their language (see `text_of`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, NamedTuple, Optional

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .directory import Actor
from .models import Notification, ProcessInstance
from .prepared import insert_rows
from .extensions import task_property


@dataclass
class Notice:
    ticket: str
    subject: str
    created_at: dt.datetime
    message_id: Optional[str] = None
    values: Optional[dict] = None


class Outgoing(NamedTuple):
    """A notice to store: who, the subject in English, and (if known) the catalog message
    and values it was made from."""
    role: str
    subject: str
    message_id: Optional[str] = None
    values: Optional[dict] = None


def render(message_id: str, values: dict) -> str:
    return message_id % values


def collect(finished: list, script_engine) -> list[Outgoing]:
    """A notice for each notifying task among those a step finished."""
    notices = []
    for task in finished:
        role = task_property(task.task_spec, "notifyRole")
        if not role or task_property(task.task_spec, "slaEvent"):
            continue  # SLA timers notify through their own ladder (engine.sla)
        message = task_property(task.task_spec, "notifyMessage")
        if message:
            expression = task_property(task.task_spec, "notifyValues")
            values = script_engine.evaluate(task, expression) if expression else {}
            values = {str(k): "" if v is None else str(v) for k, v in dict(values).items()}
            notices.append(Outgoing(role, render(message, values)[:255], message, values))
            continue
        expression = task_property(task.task_spec, "notifySubject")
        subject = str(script_engine.evaluate(task, expression)) if expression else \
            task.task_spec.bpmn_name or task.task_spec.name
        notices.append(Outgoing(role, subject[:255]))
    return notices


# Built once (it runs on many steps); inline: no id is read back, so it can be batched.


def store(session: Session, instance_id: int, notices: Iterable[Outgoing],
          now: dt.datetime) -> None:
    rows = []
    for notice in notices:
        notice = Outgoing(*notice)
        rows.append({"instance_id": instance_id, "recipient_role": notice.role,
                     "subject": notice.subject, "body": notice.subject, "created_at": now,
                     "message_id": notice.message_id, "message_values": notice.values,
                     "kind": "notice"})
    insert_rows(session.connection(), Notification.__table__, rows)


def for_actor(session: Session, actor: Actor, limit: int = 20,
              since: Optional[dt.datetime] = None) -> list[Notice]:
    query = (
        select(ProcessInstance.ticket, Notification.subject, Notification.created_at,
               Notification.message_id, Notification.message_values)
        .join(ProcessInstance, Notification.instance_id == ProcessInstance.id)
        .where(or_(Notification.recipient_user_id == actor.id,
                   and_(Notification.recipient_role.in_(sorted(actor.roles) or [""]),
                        # A department's notice is for that department's people only.
                        or_(Notification.recipient_department.is_(None),
                            Notification.recipient_department == actor.department))))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(Notification.created_at >= since)
    return [Notice(ticket=t, subject=s, created_at=c, message_id=m, values=v)
            for t, s, c, m, v in session.execute(query)]


# Values a reader sees in their own words: task titles and department names through the
# catalog, moments in the reader's zone.
TRANSLATED_VALUES = ("task", "department")
MOMENT_VALUES = ("due",)


def text_of(notice: Notice, translate, show_time, department_names: dict[str, str]) -> str:
    """The notice in the reader's language: `translate(msgid)` looks a text up in the
    catalog, `show_time(moment)` formats a moment for the reader. Notices without a
    message keep their stored text."""
    if not notice.message_id:
        return notice.subject
    values = dict(notice.values or {})
    if values.get("department"):
        values["department"] = department_names.get(values["department"],
                                                    values["department"])
    for key in TRANSLATED_VALUES:
        if values.get(key):
            values[key] = translate(values[key])
    for key in MOMENT_VALUES:
        if values.get(key):
            try:
                values[key] = show_time(dt.datetime.fromisoformat(values[key]))
            except ValueError:
                pass
    try:
        return translate(notice.message_id) % values
    except (KeyError, ValueError, TypeError):
        return notice.subject  # a catalog entry that does not fit the values

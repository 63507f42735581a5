"""Notices the diagram asks for (e.g. the supervisor copied on dispatch).

A task spec with the properties `notifyRole` (who) and `notifySubject` (a Python
expression on the task data) writes one row per run of that task into the outbox, in the
same transaction as the step. Delivery by e-mail reads the same table.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from .directory import Actor
from .models import Notification, ProcessInstance
from .extensions import task_property


@dataclass
class Notice:
    ticket: str
    subject: str
    created_at: dt.datetime


def finished_task_ids(workflow: BpmnWorkflow) -> set:
    return {t.id for t in workflow.get_tasks(state=TaskState.COMPLETED)}


def completed_since(workflow: BpmnWorkflow, done_before: set) -> list:
    """The tasks a step finished (one walk of the task tree, shared by its consumers)."""
    return [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.id not in done_before]


def collect(finished: list, script_engine) -> list[tuple[str, str]]:
    """(role, subject) for each notifying task among those a step finished."""
    notices = []
    for task in finished:
        role = task_property(task.task_spec, "notifyRole")
        if not role or task_property(task.task_spec, "slaEvent"):
            continue  # SLA timers notify through their own ladder (engine.sla)
        expression = task_property(task.task_spec, "notifySubject")
        subject = str(script_engine.evaluate(task, expression)) if expression else \
            task.task_spec.bpmn_name or task.task_spec.name
        notices.append((role, subject[:255]))
    return notices


def store(session: Session, instance_id: int, notices: Iterable[tuple[str, str]],
          now: dt.datetime) -> None:
    rows = [{"instance_id": instance_id, "recipient_role": role, "subject": subject,
             "body": subject, "created_at": now} for role, subject in notices]
    if rows:
        session.execute(insert(Notification), rows)


def for_actor(session: Session, actor: Actor, limit: int = 20,
              since: Optional[dt.datetime] = None) -> list[Notice]:
    query = (
        select(ProcessInstance.ticket, Notification.subject, Notification.created_at)
        .join(ProcessInstance, Notification.instance_id == ProcessInstance.id)
        .where(or_(Notification.recipient_user_id == actor.id,
                   Notification.recipient_role.in_(sorted(actor.roles) or [""])))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(Notification.created_at >= since)
    return [Notice(ticket=t, subject=s, created_at=c) for t, s, c in session.execute(query)]

"""What the customer sees and does behind the private status link.

The link's token is the only key: it is stored hashed, not derivable from the ticket, and
every answer for a wrong token is the same "not found". Customer tasks (supplying facts,
deciding on a solution) are completed here by the customer themself.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import customer_follow_up as follow_up
from . import forms, intake, runtime, task_forms, tasks
from .directory import Actor
from .errors import AlreadyCompleted, NotFound, ProcessError
from .form_values import storable_part
from .i18n import Message, N_
from .models import AuditEvent, HumanTask, ProcessInstance
from .services import Services

CUSTOMER = Actor(id=None, username="customer", display_name=N_("Customer"), roles=frozenset(),
                 department=None)
CUSTOMER_LANE = "customer"
# Events the customer may see on their page, in their words.
# Texts are English catalog ids: the status page shows them in the customer's language.
VISIBLE_EVENTS = {
    "complaint_filed": N_("Complaint received"),
    "case_closed": N_("Complaint closed"),
    "case_cancelled": N_("Complaint closed by us"),
    "case_withdrawn": N_("You withdrew the complaint"),
}
VISIBLE_TASKS = {"supply_missing_facts": N_("You supplied more facts"),
                 "customer_decision": N_("You answered our proposed solution"),
                 "verify": N_("We checked the facts"),
                 "approve_solution": N_("A solution was approved"),
                 "execute_solution": N_("The solution was carried out"),
                 "follow_up": N_("Follow-up visit")}


@dataclass
class CustomerTask:
    task: tasks.TaskView
    schema: dict
    ui: dict
    values: dict


@dataclass
class CustomerStatus:
    ticket: str
    status: str
    outcome: Optional[str]
    stage: str
    next_step: str
    due_at: Optional[dt.datetime]
    filed_at: dt.datetime
    history: list[tuple[dt.datetime, str]] = field(default_factory=list)
    tasks: list[CustomerTask] = field(default_factory=list)
    locale: Optional[str] = None  # the customer's language and zone, as recorded at intake
    timezone: Optional[str] = None


def _stages(services: Services) -> dict:
    return json.loads((services.forms.directory / "customer_stages.json").read_text("utf-8"))


def instance_for_token(session: Session, token: str) -> ProcessInstance:
    if not token or len(token) > 200:
        raise NotFound(N_("No complaint for this link."))
    instance = session.execute(select(ProcessInstance).where(
        ProcessInstance.status_token_hash == intake.token_digest(token))).scalar_one_or_none()
    if instance is None:
        raise NotFound(N_("No complaint for this link."))
    return instance


def answerable_by_customer(row: HumanTask) -> bool:
    """The customer's own tasks, and the follow-up visit they may answer online."""
    return row.lane == CUSTOMER_LANE or row.name == follow_up.FOLLOW_UP_TASK


def customer_form(services: Services, session: Session, row: HumanTask) -> tuple[dict, dict]:
    if row.name == follow_up.FOLLOW_UP_TASK:
        version_forms = services.forms.of_version(session, row.instance.version_id)
        return (version_forms.schema(follow_up.CUSTOMER_FORM),
                version_forms.ui_schema(follow_up.CUSTOMER_UI))
    return task_forms.form_for(services, session, row)


def status(services: Services, token: str) -> CustomerStatus:
    with services.db.read() as session:
        instance = instance_for_token(session, token)
        open_rows = list(session.execute(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "ready")
            .order_by(HumanTask.created_at)).scalars())
        stages = _stages(services)
        if instance.status != "open":
            stage = (N_("Your complaint is closed") if instance.status == "closed"
                     else N_("Your complaint was closed before the end"))
            next_step, due = N_("Nothing more is needed from you. Thank you."), None
        else:
            current = open_rows[0].name if open_rows else "_default"
            stage, next_step = stages.get(current, stages["_default"])
            due = min((r.due_at for r in open_rows if r.due_at), default=None)
        own = []
        for row in open_rows:
            if not answerable_by_customer(row):
                continue
            schema, ui = customer_form(services, session, row)
            own.append(CustomerTask(task=tasks.view_of(row), schema=schema, ui=ui,
                                    values=runtime.task_prefill(services, session, row, ui)))
        history = _history(session, instance.id)
        return CustomerStatus(ticket=instance.ticket, status=instance.status,
                              outcome=instance.outcome, stage=stage, next_step=next_step,
                              due_at=due, filed_at=instance.created_at, history=history,
                              tasks=own, locale=instance.customer_locale,
                              timezone=instance.customer_timezone)


def preferences(services: Services, token: str) -> tuple[Optional[str], Optional[str]]:
    """The customer's language and zone behind a status link (NotFound for a bad link)."""
    with services.db.read() as session:
        instance = instance_for_token(session, token)
        return instance.customer_locale, instance.customer_timezone


def _history(session: Session, instance_id: int) -> list[tuple[dt.datetime, str]]:
    entries = []
    for event in session.execute(select(AuditEvent).where(
            AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)).scalars():
        if event.kind in VISIBLE_EVENTS:
            entries.append((event.at, VISIBLE_EVENTS[event.kind]))
        elif event.kind == "task_completed" and event.detail.get("task") in VISIBLE_TASKS:
            entries.append((event.at, VISIBLE_TASKS[event.detail["task"]]))
    return entries


def complete(services: Services, token: str, task_id: str, data: Any) -> dict:
    """The customer answers one of their own tasks."""
    with services.db.read() as session:
        instance_id = instance_for_token(session, token).id
        row = session.get(HumanTask, task_id)
        if row is not None and row.instance_id == instance_id \
                and row.name == follow_up.FOLLOW_UP_TASK:
            # The customer's short form, checked on its own terms, then recorded as the visit.
            answer = forms.validate(customer_form(services, session, row)[0], data)
            data = follow_up.visit_record(answer)

    def permit(row: HumanTask) -> None:
        if row.instance_id != instance_id or not answerable_by_customer(row):
            raise NotFound(N_("No such task."))
        if row.state != "ready":
            raise AlreadyCompleted(N_("This question has already been answered."))

    try:
        with services.db.write() as session:
            result = runtime.complete_in(services, session, CUSTOMER, task_id, data,
                                         permit=permit, on_behalf="self")
    except AlreadyCompleted:
        raise AlreadyCompleted(N_("This question has already been answered.")) from None
    except ProcessError as exc:
        runtime.record_incident(services, exc, CUSTOMER.username, task_id=task_id)
        raise
    services.due_changed(result.pop("next_due_at"))
    return result


def withdraw(services: Services, token: str, reason: str) -> None:
    reason = storable_part(reason or "").strip()
    if not reason:
        raise forms.FormInvalid({"reason": Message(
            N_("Please tell us why you withdraw the complaint."))})
    with services.db.write() as session:
        instance = instance_for_token(session, token)
        runtime.stop_in(services, session, instance.id, CUSTOMER.username, reason[:2000],
                        "withdrawn")

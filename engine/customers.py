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
from . import (
    forms, inquiries, intake, order_support, reviewed_items, runtime, task_forms, tasks,
    technical_support,
)
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
    "inquiry_filed": N_("Inquiry received"),
    "technical_problem_filed": N_("Technical problem received"),
    "order_filed": N_("Order question received"),
}
# An inquiry's page says "inquiry" where a complaint's says "complaint".
INQUIRY_EVENTS = {
    "case_closed": N_("Inquiry closed"),
    "case_cancelled": N_("Inquiry closed by us"),
    "case_withdrawn": N_("You withdrew the inquiry"),
}
TECHNICAL_EVENTS = {
    "case_closed": N_("Technical problem closed"),
    "case_cancelled": N_("Technical problem closed by us"),
    "case_withdrawn": N_("You withdrew the technical problem"),
}
ORDER_EVENTS = {
    "case_closed": N_("Order case closed"),
    "case_cancelled": N_("Order case closed by us"),
    "case_withdrawn": N_("You withdrew the order question"),
}
VISIBLE_TASKS = {"reply_on_social_media": N_("We answered your message on social media"),
                 "check_record": N_("We checked that your complaint is complete"),
                 "supply_missing_facts": N_("You supplied more facts"),
                 "classify": N_("We assessed your complaint"),
                 "dispatch": N_("We passed your complaint to the department responsible"),
                 "confirm_receipt": N_("The department responsible took over your complaint"),
                 "verify": N_("We checked the facts"),
                 "inform_not_true": N_("We told you what we found"),
                 "record_exception": N_("We corrected our mistake and recorded it"),
                 "propose_solution": N_("We worked out a solution"),
                 "approve_solution": N_("A solution was approved"),
                 "customer_decision": N_("You answered our proposed solution"),
                 "handle_rejections": N_("A supervisor reviewed your complaint"),
                 "execute_solution": N_("The solution was carried out"),
                 "confirm_major": N_("Our senior team took over your complaint"),
                 "call_back_customer": N_("We called you back"),
                 "lead_investigation": N_("We investigated what happened"),
                 "capa_plan": N_("We drew up an action plan"),
                 "customer_confirm_plan": N_("You answered our action plan"),
                 "execute_capa": N_("The action plan was carried out"),
                 "inspect_capa": N_("We checked the result"),
                 "compile_final_report": N_("We wrote our report to you"),
                 "follow_up": N_("Follow-up visit"),
                 "first_response": N_("We confirmed your inquiry and said when we will answer"),
                 "classify_inquiry": N_("We looked at your question"),
                 "owner_answer": N_("The department responsible worked on your question"),
                 "coordination_meeting": N_("The departments concerned met about your question"),
                 "send_final_answer": N_("We sent you our answer"),
                 "rate_answer": N_("You rated our answer"),
                 "remote_help": N_("Our engineer helped you remotely"),
                 "schedule_onsite": N_("We planned the engineer's visit"),
                 "record_late_reason": N_("We explained why the visit is later"),
                 "agree_later_visit": N_("You answered about the later visit"),
                 "onsite_service": N_("Our engineer served you on site"),
                 "explain_solution": N_("We explained the cause and the solution"),
                 "confirm_order": N_("We confirmed your order with you"),
                 "follow_up_order": N_("We checked production and delivery and told you"),
                 "decide_delay": N_("We decided how to handle the delay"),
                 "visit_after_delivery": N_("We asked you about the delivery")}
# What the status page repeats of the complaint as filed: the customer's account of it, not
# their contact details (the link may be forwarded).
FILED_LEFT_OUT = frozenset({"customer_name", "customer_phone", "customer_email",
                            "customer_address", "member_account"})


@dataclass
class CustomerTask:
    task: tasks.TaskView
    schema: dict
    ui: dict
    values: dict
    reviewed: Optional[reviewed_items.ReviewedItem] = None  # what the customer confirms


@dataclass(frozen=True)
class Stage:
    title: str  # an English catalog id
    state: str  # done | current | todo


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
    stepper: list[Stage] = field(default_factory=list)
    filed: dict = field(default_factory=dict)  # what the customer filed, as `filed_form` has it
    filed_form: tuple[dict, dict] = ({}, {})
    kind: str = "complaint"  # or "inquiry", "technical", "order": what the page calls the case
    # An inquiry's: our first response, when we promised to answer, our answer, and the
    # complaint it turned into.
    acknowledgement: Optional[str] = None
    promised_at: Optional[dt.datetime] = None
    answer: Optional[str] = None
    linked_ticket: Optional[str] = None
    # A technical problem's: when the engineer will be on site, the cause and solution.
    visit_by: Optional[dt.datetime] = None
    cause: Optional[str] = None
    solution: Optional[str] = None
    # An order's: where it stands and when it is to be delivered.
    order_state: Optional[str] = None  # an English catalog id
    delivery_date: Optional[dt.date] = None


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
        return forms.for_customer(version_forms.schema(follow_up.CUSTOMER_FORM),
                                  version_forms.ui_schema(follow_up.CUSTOMER_UI))
    return forms.for_customer(*task_forms.form_for(services, session, row))


@dataclass(frozen=True)
class _Kind:
    """How the status page speaks of a case that is not a complaint."""
    kind: str
    closed: str      # the stage once closed, and once closed before the end
    cancelled: str
    events: dict
    customer_form: Any
    parts: Any       # the case data the page shows besides the common parts


def _inquiry_parts(data: dict) -> dict:
    promised = data.get("answer_promised_at")
    return {"acknowledgement": data.get("acknowledgement"),
            "promised_at": dt.datetime.fromisoformat(promised) if promised else None,
            "answer": data.get("final_answer"), "linked_ticket": data.get("linked_ticket")}


def _technical_parts(data: dict) -> dict:
    visit_by = data.get("visit_due_at") if data.get("onsite_late") is not None else None
    return {"visit_by": dt.datetime.fromisoformat(visit_by) if visit_by else None,
            "cause": data.get("cause"), "solution": data.get("solution")}


def _order_parts(data: dict) -> dict:
    delivery = data.get("delivery_date")
    return {"order_state": order_support.ORDER_STATES.get(data.get("order_state")),
            "delivery_date": dt.date.fromisoformat(delivery) if delivery else None}


_KINDS = {
    inquiries.INQUIRY_PROCESS: _Kind(
        "inquiry", N_("Your inquiry is closed"), N_("Your inquiry was closed before the end"),
        INQUIRY_EVENTS, inquiries.customer_form, _inquiry_parts),
    technical_support.PROCESS: _Kind(
        "technical", N_("Your technical problem is solved"),
        N_("Your technical problem was closed before the end"), TECHNICAL_EVENTS,
        technical_support.customer_form, _technical_parts),
    order_support.PROCESS: _Kind(
        "order", N_("Your order is delivered and the case closed"),
        N_("Your order case was closed before the end"), ORDER_EVENTS,
        order_support.customer_form, _order_parts),
}


def status(services: Services, token: str) -> CustomerStatus:
    with services.db.read() as session:
        instance = instance_for_token(session, token)
        open_rows = list(session.execute(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "ready")
            .order_by(HumanTask.created_at)).scalars())
        stages = _stages(services)
        kind = _KINDS.get(instance.version.process_id)
        if instance.status != "open":
            if kind is not None:
                stage = kind.closed if instance.status == "closed" else kind.cancelled
            else:
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
                                    values=runtime.task_prefill(services, session, row, ui),
                                    reviewed=reviewed_items.reviewed_item(services, session,
                                                                          row, ui)))
        events = list(session.execute(select(AuditEvent).where(
            AuditEvent.instance_id == instance.id).order_by(AuditEvent.id)).scalars())
        filed_schema, filed_ui = (kind.customer_form if kind is not None
                                  else intake.customer_form)(services, session)
        data = runtime.case_data(services, instance)
        filed = {name: data.get(name) for name in filed_schema.get("properties", {})
                 if name not in FILED_LEFT_OUT and data.get(name) not in (None, "", [])}
        return CustomerStatus(ticket=instance.ticket, status=instance.status,
                              outcome=instance.outcome, stage=stage, next_step=next_step,
                              due_at=due, filed_at=instance.created_at,
                              history=_history(events, kind.events if kind else None),
                              tasks=own,
                              locale=instance.customer_locale,
                              timezone=instance.customer_timezone,
                              stepper=stepper(stages.get("_stepper") or {}, instance,
                                              [r.name for r in open_rows], events),
                              filed=filed, filed_form=(filed_schema, filed_ui),
                              **({"kind": kind.kind, **kind.parts(data)} if kind else {}))


def stepper(definition: dict, instance: ProcessInstance, open_steps: list[str],
            events: list[AuditEvent]) -> list[Stage]:
    """The stages of the complaint's path, the current one being that of an open step (or,
    while only steps outside every stage are open, of the latest completed one); a closed
    complaint stands at the last stage."""
    stages = definition.get(instance.path or "general") or definition.get("general") or []
    if not stages:
        return []
    where = {step: index for index, stage in enumerate(stages)
             for step in stage.get("steps", [])}
    if instance.status != "open":
        current = len(stages) - 1
    else:
        done = [where[e.detail.get("task")] for e in events
                if e.kind == "task_completed" and e.detail.get("task") in where]
        now_open = [where[name] for name in open_steps if name in where]
        current = min(now_open) if now_open else (done[-1] if done else 0)
    return [Stage(title=stage.get("title", ""), state="done" if index < current else
                  "current" if index == current else "todo")
            for index, stage in enumerate(stages)]


def preferences(services: Services, token: str) -> tuple[Optional[str], Optional[str]]:
    """The customer's language and zone behind a status link (NotFound for a bad link)."""
    with services.db.read() as session:
        instance = instance_for_token(session, token)
        return instance.customer_locale, instance.customer_timezone


def _history(events: list[AuditEvent],
             renamed: Optional[dict] = None) -> list[tuple[dt.datetime, str]]:
    """What happened, as the customer reads it; `renamed` words the case's own events for
    a case that is not a complaint."""
    entries = []
    for event in events:
        if renamed and event.kind in renamed:
            entries.append((event.at, renamed[event.kind]))
        elif event.kind in VISIBLE_EVENTS:
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

"""Reading complaints: the case search, the case view and its history (who may see which
case is engine/visibility.py)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from . import audit, intake, runtime, start_forms, tasks
from .case_search import CaseHit, CaseQuery, search
from .directory import Actor
from .i18n import N_
from .models import AuditEvent, HumanTask, ProcessInstance
from .services import Services
from .visibility import visible_case, visible_to

# Who needs the customer's contact data; everyone else sees it masked (confidentiality).
CONTACT_ROLES = {"cs_agent", "cs_supervisor", "cs_director", "compliance", "supervisor", "admin"}
CONTACT_FIELDS = ("customer_phone", "customer_email", "customer_address", "member_account")


def mask(field: str, value):
    if value in (None, ""):
        return value
    text = str(value)
    if field == "customer_phone":
        return text[:3] + "*" * max(len(text) - 7, 1) + text[-4:] if len(text) > 7 else "***"
    if field == "customer_email" and "@" in text:
        name, domain = text.split("@", 1)
        return f"{name[:1]}***@{domain}"
    return "(hidden)"


def masked_for(actor: Actor, values: dict) -> dict:
    if actor.roles & CONTACT_ROLES:
        return values
    return {k: mask(k, v) if k in CONTACT_FIELDS else v for k, v in values.items()}


HISTORY_KINDS = {
    "complaint_filed": N_("Complaint registered"),
    "task_completed": None,  # titled by the task
    "task_claimed": N_("Task claimed"),
    "task_released": N_("Task released"),
    "task_reassigned": N_("Task reassigned"),
    "case_closed": N_("Case closed"),
    "case_cancelled": N_("Case cancelled"),
    "step_failed": N_("A step failed; nothing of it was saved"),
    # Separation of duties: the author was the only approver.
    "approval_moved_up": N_("Approval moved one level up: its author may not approve it"),
}
# The SLA timers that fired on a step, from the marks they left on its task row.
SLA_HISTORY = (("sla_reminder", "reminded_at", N_("SLA reminder sent")),
               ("sla_breach", "breached_at", N_("SLA deadline missed")),
               ("sla_escalation", "escalated_at", N_("SLA escalated to leadership")))


def recent(session: Session, actor: Actor, limit: int = 50) -> list[CaseHit]:
    """The newest cases the actor may see."""
    return search(session, actor, CaseQuery(), limit=limit, count=False).rows


@dataclass
class HistoryEntry:
    at: dt.datetime
    actor: Optional[str]
    kind: str
    title: str
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"at": self.at.isoformat(), "actor": self.actor, "kind": self.kind,
                "title": self.title, "detail": self.detail}


@dataclass
class CaseView:
    ticket: str
    status: str
    path: Optional[str]
    outcome: Optional[str]
    record: dict
    data: dict
    open_tasks: list[tasks.TaskView]
    history: list[HistoryEntry]
    created_at: dt.datetime
    closed_at: Optional[dt.datetime]
    department: Optional[str]
    parent_ticket: Optional[str]
    linked_tickets: list[str]
    process_version: int
    process_id: str = ""
    version_id: Optional[int] = None  # the deployed version's row: its forms show the data
    clock_paused_since: Optional[dt.datetime] = None
    next_due_at: Optional[dt.datetime] = None

    def as_dict(self) -> dict:
        return {
            "ticket": self.ticket,
            "process_id": self.process_id,
            "version": self.process_version,
            "status": self.status,
            "path": self.path,
            "outcome": self.outcome,
            "record": self.record,
            "department": self.department,
            "open_tasks": [t.as_dict() for t in self.open_tasks],
            "history": [h.as_dict() for h in self.history],
            "parent_ticket": self.parent_ticket,
            "linked_tickets": self.linked_tickets,
            "clock_paused_since": self.clock_paused_since.isoformat()
            if self.clock_paused_since else None,
            "created_at": self.created_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


def _history(session: Session, instance_id: int) -> list[HistoryEntry]:
    rows = list(session.execute(
        select(HumanTask).where(HumanTask.instance_id == instance_id)).scalars())
    titles = {row.id: row.title for row in rows}
    entries = []
    for event in session.execute(
        select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
    ).scalars():
        if event.kind not in HISTORY_KINDS:
            continue
        title = HISTORY_KINDS[event.kind] or titles.get(event.detail.get("task_id"),
                                                         event.detail.get("task", ""))
        detail = dict(event.detail)
        detail.pop("task_id", None)
        entries.append(HistoryEntry(at=event.at, actor=event.actor, kind=event.kind,
                                    title=title, detail=detail))
    for row in rows:
        for kind, mark, title in SLA_HISTORY:
            at = getattr(row, mark)
            if at is not None:
                entries.append(HistoryEntry(at=at, actor=None, kind=kind, title=title, detail={
                    "task": row.name, "step": row.title,
                    "due_at": row.due_at.isoformat() if row.due_at else None}))
    # Stable: events of one instant keep the order they were recorded in.
    entries.sort(key=lambda entry: entry.at)
    return entries


def record_form(services: Services, session: Session, case: CaseView) -> tuple[dict, dict]:
    """The form to show a case's record with: its own start form, or the complaint's
    intake form with its choice lists."""
    return (start_forms.record_form(services, session, case.process_id, case.version_id)
            or intake.intake_form(services, session))


def load_case(services: Services, session: Session, actor: Actor, ticket: str) -> CaseView:
    instance = visible_case(session, actor, ticket)
    data = masked_for(actor, runtime.case_data(services, instance))
    own_form = start_forms.record_form(services, session, instance.version.process_id,
                                       instance.version_id)
    record_schema = own_form[0] if own_form else intake.intake_schema(
        services, session, instance.version_id)
    record_fields = record_schema.get("properties", {})
    record = {k: data.get(k) for k in record_fields}
    linked = list(session.execute(
        select(ProcessInstance.ticket).where(ProcessInstance.parent_ticket == ticket)
        .order_by(ProcessInstance.id)
    ).scalars())
    paused_since = session.execute(
        select(func.min(HumanTask.created_at)).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "ready",
            HumanTask.pauses_sla.is_(True))
    ).scalar()
    return CaseView(
        ticket=instance.ticket, status=instance.status, path=instance.path,
        outcome=instance.outcome, record=record, data=data,
        open_tasks=tasks.open_tasks(session, instance.id), history=_history(session, instance.id),
        created_at=instance.created_at, closed_at=instance.closed_at,
        department=instance.department_code, parent_ticket=instance.parent_ticket,
        linked_tickets=linked, process_version=instance.version.version,
        process_id=instance.version.process_id, version_id=instance.version_id,
        clock_paused_since=paused_since, next_due_at=instance.next_due_at,
    )


@dataclass(frozen=True)
class RelatedCase:
    ticket: str
    status: str
    created_at: dt.datetime


def same_customer(session: Session, actor: Actor, ticket: str,
                  limit: int = 20) -> list[RelatedCase]:
    """Other complaints of the same customer (the same phone number, e-mail address or
    order number; each an indexed column), newest first, among the cases the actor may
    see. Cases already linked by a follow-up are left out: the page lists them on their
    own."""
    instance = visible_case(session, actor, ticket)
    same_customer = [column == value for column, value in (
        (ProcessInstance.customer_phone, instance.customer_phone),
        (ProcessInstance.customer_email, instance.customer_email),
        (ProcessInstance.order_number, instance.order_number)) if value]
    if not same_customer:
        return []
    conditions = [
        or_(*same_customer),
        ProcessInstance.id != instance.id,
        or_(ProcessInstance.parent_ticket.is_(None), ProcessInstance.parent_ticket != ticket),
        visible_to(actor),
    ]
    if instance.parent_ticket:
        conditions.append(ProcessInstance.ticket != instance.parent_ticket)
    rows = session.execute(
        select(ProcessInstance.ticket, ProcessInstance.status, ProcessInstance.created_at)
        .where(*conditions)
        .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc()).limit(limit))
    return [RelatedCase(ticket=t, status=s, created_at=c) for t, s, c in rows]


def record_view(services: Services, actor: Actor, ticket: str) -> None:
    """Every look at a case record by staff leaves a trace (who, when, which case)."""
    with services.db.write() as session:
        instance_id = session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket == ticket)).scalar_one_or_none()
        if instance_id is not None:
            audit.record(session, "case_viewed", actor.username, instance_id)

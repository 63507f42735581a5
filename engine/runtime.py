"""The use cases that change complaint instances: file, complete a task, cancel, restore,
and the reads of a case's data that task forms need.

Each opens one unit of work and goes through engine/case_run.py, which loads, runs and
saves the workflow; nothing here touches SpiffWorkflow or the serialized state itself.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from . import (
    announcements, audit, channels, closing, forms, handling_promise, petitions,
    reviewed_items, start_forms, support_cases, tasks, technical_support, tickets,
)
from .case_run import CaseRun, StepResult
from .directory import Actor
from .errors import AlreadyCompleted, Forbidden, ProcessError
from .i18n import Message, N_, normalize_locale, zone_or_none
from .form_values import storable_part
from .intake import match_key, may_register, normalise_record, subject_of, token_digest
from .models import AuditEvent, HumanTask, ProcessInstance
from .services import COMPLAINT_PROCESS, Services
from .visibility import visible_case
from .task_forms import form_for, without_read_only
from .tickets import Filed


def file_complaint(
    services: Services,
    record: Any,
    staff: Optional[Actor] = None,
    parent_ticket: Optional[str] = None,
    session: Optional[Session] = None,
    customer_locale: Optional[str] = None,
    customer_timezone: Optional[str] = None,
) -> Filed:
    """Register a complaint and run it to its first human task.

    `customer_locale` and `customer_timezone` are the language and IANA zone the customer
    reads in (their e-mails and status page); unknown values are not kept."""
    now = services.now()
    data = normalise_record(services, record, now, staff, session)
    preferences = {"customer_locale": normalize_locale(customer_locale),
                   "customer_timezone": customer_timezone
                   if zone_or_none(customer_timezone) else None}
    if session is None:
        with services.db.write() as session:
            filed = _file(services, session, data, staff, parent_ticket, now, preferences)
        services.due_changed(filed.next_due_at)
        return filed
    return _file(services, session, data, staff, parent_ticket, now, preferences)


def _file(services, session, data, staff, parent_ticket, now, preferences) -> Filed:
    ticket = tickets.next_ticket(session, now)
    data["ticket"] = ticket
    data["parent_ticket"] = parent_ticket
    status_token = secrets.token_urlsafe(32)
    received_at = dt.datetime.fromisoformat(data["received_at"].replace("Z", "+00:00"))
    run = CaseRun.start(
        services, session, COMPLAINT_PROCESS, data, ticket, now,
        customer_name=data.get("customer_name"), customer_phone=data.get("customer_phone"),
        subject=subject_of(data), customer_email=match_key(data.get("customer_email")),
        order_number=match_key(data.get("order_number")),
        complaint_type=data.get("complaint_type"), channel=data.get("channel"),
        received_at=received_at, status_token_hash=token_digest(status_token),
        parent_ticket=parent_ticket, **preferences)
    # A complaint registered more than an hour (of the receiving team's time) after its
    # receipt says so in its history.
    late_by = channels.entered_late(
        services.calendars.for_team(channels.receiving_team(data.get("channel"))),
        received_at, now)
    lateness = {"entered_after_minutes": late_by} if late_by is not None else {}
    run.record("complaint_filed", staff.username if staff else None,
               ticket=ticket, channel=data.get("channel"), parent_ticket=parent_ticket,
               **lateness)
    result = run.commit()
    if data.get("customer_email"):
        promise = handling_promise.promise_for(services.calendars, run.workflow, received_at)
        announcements.acknowledgement(services, session, run.case, data, status_token,
                                      promise)
    return Filed(ticket=ticket, status_token=status_token, path=result.path,
                 next_due_at=result.next_due_at)


@dataclass(frozen=True)
class Started:
    process_id: str
    ticket: str
    version: int
    status_token: Optional[str] = None  # a complaint's status link for the customer


def start_case(services: Services, actor: Actor, process_id: str, record: Any) -> Started:
    """Start a case of a startable process with its start form's data, as `actor`: a
    complaint as customer service registers one, an improvement project for a complaint
    the actor may see, a department's petition about a complaint (engine/petitions.py). Raises NotFound, Forbidden, FormInvalid or AlreadyCompleted."""
    with services.db.read() as session:
        form = start_forms.form_for(services, session, actor, process_id)
    if process_id == COMPLAINT_PROCESS and may_register(actor):
        filed = file_complaint(services, record, staff=actor)
    elif process_id in support_cases.FILERS:
        filed = support_cases.FILERS[process_id](services, record, staff=actor)
    else:
        filed = None
    if filed is not None:
        with services.db.read() as session:
            version = _version_of(session, filed.ticket)
        return Started(process_id, filed.ticket, version, filed.status_token)
    data = forms.validate(form.schema, record)
    with services.db.write() as session:
        if process_id == petitions.PETITION_PROCESS:
            complaint = petitions.petitioned_case(
                session, actor, data["ticket"],
                lambda instance: CaseRun.read(services, session, instance.id).data)
            follow_on = petitions.petition_for(session, actor, complaint, data)
            event = "petition_filed"
        else:
            complaint = visible_case(session, actor, data["ticket"])
            follow_on = closing.improvement_for(complaint.ticket, {
                **CaseRun.read(services, session, complaint.id).data,
                **{k: v for k, v in data.items() if v not in (None, "")}})
            event = "improvement_started"
        if session.execute(select(ProcessInstance.id).where(
                ProcessInstance.ticket == follow_on.ticket)).first():
            raise AlreadyCompleted(N_("This complaint already has an improvement project."))
        run = CaseRun.start(services, session, follow_on.process_id, follow_on.data,
                            follow_on.ticket, **follow_on.columns)
        run.record(event, actor.username, ticket=follow_on.ticket,
                   complaint=complaint.ticket)
        result = run.commit()
        version = _version_of(session, result.ticket)
    services.due_changed(result.next_due_at)
    return Started(process_id, result.ticket, version)


def start_by_engine(services: Services, session: Session, process_id: str, ticket: str,
                    data: dict, event: str, **detail) -> StepResult:
    """Start a case of a process the engine starts on its own (the monthly review), in
    the caller's unit of work; the caller announces the result's due time after commit."""
    run = CaseRun.start(services, session, process_id, {**data, "ticket": ticket}, ticket)
    run.record(event, None, ticket=ticket, **detail)
    return run.commit()


def _version_of(session: Session, ticket: str) -> int:
    return session.execute(select(ProcessInstance).where(
        ProcessInstance.ticket == ticket)).scalar_one().version.version


def complete_task(services: Services, actor: Optional[Actor], task_id: str, data: Any = None,
                  *, read_form: Optional[Callable[[dict, dict], Any]] = None,
                  authenticate: Optional[Callable[[Session], Actor]] = None) -> dict:
    """Complete a human task with form data and advance the case.

    `read_form(schema, ui)` turns a posted page into data once the form is known, so that
    a page post reads the task and its choice lists once. `authenticate(session)` gives
    the actor (or raises) first thing in the step's own transaction, for callers that
    know only a credential. Raises NotFound, Forbidden, FormInvalid, AlreadyCompleted or
    ProcessError; on any of them nothing is changed (a ProcessError is recorded on the
    case as an incident, see `record_incident`).
    """
    try:
        with services.db.write() as session:
            if authenticate is not None:
                actor = authenticate(session)
            result = complete_in(services, session, actor, task_id, data, read_form=read_form)
    except ProcessError as exc:
        record_incident(services, exc, actor.username, task_id=task_id)
        raise
    services.due_changed(result.pop("next_due_at"))
    return result


def record_incident(services: Services, exc: ProcessError, actor: Optional[str], *,
                    task_id: Optional[str] = None, instance_id: Optional[int] = None) -> None:
    """Note on the case that a step failed and why, after the step itself was rolled back,
    so that staff and the process owner see it in the case's history. A failure that
    repeats (a timer retried) is noted once."""
    with services.db.write() as session:
        task = None
        if task_id is not None:
            task = session.execute(select(HumanTask.instance_id, HumanTask.name).where(
                HumanTask.id == str(task_id))).first()
            instance_id = task.instance_id if task is not None else None
        if instance_id is None:
            return
        problem = str(exc)[:1000]
        last = session.execute(select(AuditEvent.kind, AuditEvent.detail).where(
            AuditEvent.instance_id == instance_id).order_by(AuditEvent.id.desc())
            .limit(1)).first()
        if last is not None and last.kind == "step_failed" and \
                (last.detail or {}).get("problem") == problem:
            return
        audit.record(session, "step_failed", actor, instance_id,
                     task=task.name if task is not None else None,
                     element=getattr(exc, "element", None), problem=problem)


def complete_in(services: Services, session: Session, actor: Actor, task_id: str, data: Any,
                permit: Optional[Callable[[Any], None]] = None,
                on_behalf: Optional[str] = None,
                read_form: Optional[Callable[[dict, dict], Any]] = None) -> dict:
    """`permit(row)` raises when the actor may not work the row (default: the staff rules);
    `on_behalf` records who the actor acted for (default: the customer, on customer tasks)."""
    run, row = CaseRun.for_task(services, session, task_id)
    (permit or (lambda r: tasks.require_workable(actor, r)))(row)
    schema, ui = form_for(services, session, row)
    if read_form is not None:
        data = read_form(schema, ui)
    data = forms.validate(schema, without_read_only(schema, data))
    if on_behalf is None:
        on_behalf = "customer" if row.lane == "customer" else None

    def file_linked(task_data: dict) -> str:
        return _file_linked(services, session, actor, task_data, run.case)

    explained = (run.process_id == technical_support.PROCESS
                 and row.name == technical_support.EXPLAIN_STEP)
    explained_data = {**run.task_data(row.id), **data} if explained else None
    run.complete(row, actor, data, on_behalf=on_behalf, file_linked=file_linked)
    if explained:
        technical_support.keep_knowledge(session, run.case.id, run.case.ticket, explained_data,
                                         actor.username if actor else None, services.now())
    result = run.commit()
    return {"ticket": result.ticket, "status": result.status, "path": result.path,
            "outcome": result.outcome, "linked_ticket": result.linked_ticket,
            "task_title": row.title, "next_due_at": result.next_due_at}


LINKED_FIELDS = (
    "customer_name", "customer_phone", "customer_email", "customer_address", "member_account",
    "product", "order_number",
)


def _file_linked(services, session, actor, data: dict, parent) -> str:
    record = {k: data.get(k) for k in LINKED_FIELDS if data.get(k) is not None}
    if "product" not in record and data.get("specification"):
        record["product"] = data["specification"]  # an order's goods
    # An inquiry classified as a complaint brings the customer's question along; a
    # follow-up or a delivery visit the problem it found.
    record["description"] = (data.get("new_problem_description") or data.get("question")
                             or "New problem raised at follow-up")
    record["demand"] = "To be clarified with the customer"
    record["channel"] = "other"
    # The same customer: their new complaint speaks their language and shows their zone.
    return file_complaint(services, record, staff=actor, parent_ticket=data.get("ticket"),
                          session=session, customer_locale=parent.customer_locale,
                          customer_timezone=parent.customer_timezone).ticket


CANCEL_ROLES = {"cs_supervisor", "admin"}
# A case's status as a word in a sentence ("The case is already closed.").
STATUS_WORDS = {"open": N_("open"), "closed": N_("closed"), "cancelled": N_("cancelled"),
                "error": N_("error")}


def cancel(services: Services, actor: Actor, ticket: str, reason: str) -> None:
    if not actor.roles & CANCEL_ROLES:
        raise Forbidden(N_("Only a customer-service supervisor can cancel a case."))
    reason = storable_part(reason or "")
    if not reason.strip():
        raise forms.FormInvalid({"reason": Message(N_("Say why the case is cancelled."))})
    with services.db.write() as session:
        run = CaseRun.for_ticket(services, session, ticket)
        if run.case.status != "open":
            raise AlreadyCompleted(Message(N_("The case is already %(status)s."),
                                           status=Message(STATUS_WORDS.get(run.case.status,
                                                                           run.case.status))))
        run.stop(actor.username, reason.strip(), "cancelled")
        run.commit()


def stop_in(services: Services, session: Session, instance_id: int, actor: Optional[str],
            reason: str, outcome: str) -> None:
    """End an open case early in the caller's unit of work (a customer's withdrawal)."""
    run = CaseRun.for_instance(services, session, instance_id)
    if run.case.status != "open":
        raise AlreadyCompleted(N_("The complaint is already closed."))
    run.stop(actor, reason, outcome)
    run.commit()


def task_prefill(services: Services, session: Session, row: HumanTask, ui: dict) -> dict:
    """The values a task form starts with: same-named keys of the case data, except the
    fields marked `"ui:options": {"prefill": false}` (decisions must be made afresh in
    each round of a loop, not inherited from the last one)."""
    values = CaseRun.read(services, session, row.instance_id).task_data(row.id)
    for field, hints in ui.items():
        if isinstance(hints, dict) and (hints.get("ui:options") or {}).get("prefill") is False:
            values.pop(field, None)
    return values


def case_data(services: Services, instance) -> dict:
    """The case data as of now, read in the instance's own session."""
    return CaseRun.read(services, object_session(instance), instance.id).data


@dataclass
class TaskDetail:
    task: "tasks.TaskView"
    schema: dict
    ui: dict
    values: dict
    can_work: bool
    reviewed: Optional[reviewed_items.ReviewedItem] = None  # what an approval decides on
    # Remote help of a technical problem: knowledge records of similar earlier problems.
    similar: Optional[list] = None


def task_detail(services: Services, actor: Actor, task_id: str) -> TaskDetail:
    """A task with its form, for someone allowed to work it (or to see it done)."""
    with services.db.read() as session:
        row = tasks.load_row(session, task_id)
        tasks.require_workable(actor, row)
        schema, ui = form_for(services, session, row)
        values = task_prefill(services, session, row, ui)
        similar = None
        if row.name == technical_support.REMOTE_HELP_STEP and \
                row.instance.version.process_id == technical_support.PROCESS:
            similar = technical_support.similar_records(
                session, values.get("model"), values.get("description"),
                exclude_ticket=row.instance.ticket)
        return TaskDetail(task=tasks.view_of(row), schema=schema, ui=ui, values=values,
                          can_work=True,
                          reviewed=reviewed_items.reviewed_item(services, session, row, ui),
                          similar=similar)


def restore_instance(services: Services, session: Session, version_id: int, ticket: str,
                     state: str) -> int:
    """Store an instance serialized elsewhere (an export, an earlier release's database)
    and project its waiting tasks, so that it continues like any other case; returns its
    id."""
    run = CaseRun.restore(services, session, version_id, ticket, state)
    data = run.data
    run.set_columns(customer_name=data.get("customer_name"),
                    customer_phone=data.get("customer_phone"), subject=subject_of(data),
                    customer_email=match_key(data.get("customer_email")),
                    order_number=match_key(data.get("order_number")))
    run.record("instance_restored", None, ticket=ticket)
    return run.commit().instance_id

"""Start, advance and cancel complaint instances.

Every change happens in one transaction: the serialized state, the human-task rows and
the audit events commit together or not at all. How a step's workflow is loaded, run and
saved is in engine/steps.py, which the timer worker shares.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from uuid import UUID

from . import announcements, audit, connectors, forms, mailer, notifications, sla, specs, tasks, tickets
from .directory import Actor
from .extensions import task_property
from .intake import match_key, normalise_record, token_digest
from .errors import AlreadyCompleted, Forbidden, NotFound, ProcessError
from .i18n import (
    COMPANY_ZONE, Message, N_, local_time, normalize_locale, translator, zone_label,
    zone_or_none,
)
from .models import HumanTask, ProcessInstance
from .serialization import dump_state
from .services import COMPLAINT_PROCESS, Services
from .task_forms import form_for, without_read_only
from .steps import (
    announce_due, case_columns, collect_notices, load_workflow, run_engine, save_step,
    workflow_data, write_state,
)

@dataclass(frozen=True)
class Filed:
    ticket: str
    status_token: str
    path: Optional[str]
    next_due_at: Optional[dt.datetime] = None


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
    data = normalise_record(services, record, now, staff)
    preferences = {"customer_locale": normalize_locale(customer_locale),
                   "customer_timezone": customer_timezone
                   if zone_or_none(customer_timezone) else None}
    if session is None:
        with services.db.write() as session:
            filed = _file(services, session, data, staff, parent_ticket, now, preferences)
        services.due_changed(filed.next_due_at)
        return filed
    return _file(services, session, data, staff, parent_ticket, now, preferences)


def _start(services: Services, session: Session, process_id: str, data: dict, ticket: str,
           now: dt.datetime, **columns) -> tuple[ProcessInstance, BpmnWorkflow]:
    """Start an instance of the newest version of a process and run it to its first wait."""
    version = specs.latest_version(session, process_id)
    if version is None:
        raise ProcessError(f"The process {process_id!r} has not been deployed yet.")
    loaded = services.specs.get(session, version.id)
    workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs,
                            script_engine=services.script_engine)
    workflow.task_tree.data.update(data)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    with connectors.bound(session, None):
        run_engine(workflow, workflow.do_engine_steps)
    notices = collect_notices(services, notifications.completed_since(workflow, set()))
    instance = ProcessInstance(version_id=version.id, version=version, ticket=ticket,
                               status="open", created_at=now, **columns)
    values, _data = case_columns(instance, workflow, now)
    state = values.pop("state")
    for column, value in values.items():
        setattr(instance, column, value)
    session.add(instance)
    session.flush()
    write_state(session, instance.id, state, new=True)
    created = tasks.sync(session, instance.id, workflow, now)
    announcements.new_tasks(services, session, instance, workflow, created, now)
    notifications.store(session, instance.id, notices, now)
    announce_due(session, instance.next_due_at)
    return instance, workflow


def _file(services, session, data, staff, parent_ticket, now, preferences=None) -> Filed:
    ticket = tickets.next_ticket(session, now)
    data["ticket"] = ticket
    data["parent_ticket"] = parent_ticket
    status_token = secrets.token_urlsafe(32)
    instance, _workflow = _start(
        services, session, COMPLAINT_PROCESS, data, ticket, now,
        customer_name=data.get("customer_name"), customer_phone=data.get("customer_phone"),
        customer_email=match_key(data.get("customer_email")),
        order_number=match_key(data.get("order_number")),
        complaint_type=data.get("complaint_type"), channel=data.get("channel"),
        received_at=dt.datetime.fromisoformat(data["received_at"].replace("Z", "+00:00")),
        status_token_hash=token_digest(status_token), parent_ticket=parent_ticket,
        **(preferences or {}))
    audit.record(session, "complaint_filed", staff.username if staff else None, instance.id,
                 ticket=ticket, channel=data.get("channel"), parent_ticket=parent_ticket)
    if data.get("customer_email"):
        _acknowledge(services, session, instance, data, status_token)
    session.flush()
    return Filed(ticket=ticket, status_token=status_token, path=instance.path,
                 next_due_at=instance.next_due_at)


def _acknowledge(services: Services, session: Session, instance: ProcessInstance, data: dict,
                 status_token: str) -> None:
    """The automatic receipt the procedure promises every complainant with an address,
    in the customer's language, with the time of receipt in their zone."""
    _ = translator(instance.customer_locale)
    zone = zone_or_none(instance.customer_timezone) or COMPANY_ZONE
    link = f"{services.public_url}/status/{status_token}"
    body = "\n\n".join([
        _("Dear %(name)s,", name=data.get("customer_name") or _("customer")),
        _("we have received your complaint about %(subject)s and registered it as ticket "
          "%(ticket)s on %(time)s %(zone)s.",
          subject=data.get("product") or _("our service"), ticket=instance.ticket,
          time=local_time(instance.created_at, zone), zone=zone_label(zone, instance.created_at)),
        _("You can follow it, answer our questions and see what happens next here:")
        + "\n" + link,
        _("Keep this link to yourself: anyone who has it can see your complaint."),
        _("Customer service"),
    ])
    try:
        mailer.queue(session, data["customer_email"],
                     _("Complaint %(ticket)s received", ticket=instance.ticket),
                     body, instance_id=instance.id)
    except ValueError:
        audit.record(session, "acknowledgement_skipped", None, instance.id,
                     reason="unusable e-mail address")


IMPROVEMENT_PROCESS = "improvement"
IMPROVEMENT_FIELDS = ("ticket", "lead_department", "department", "root_cause", "capa_measures",
                      "complaint_type", "measures", "path")


def after_close(services: Services, session: Session, instance: ProcessInstance, data: dict,
                actor: Optional[str], now: dt.datetime) -> Optional[str]:
    """A closed major case, or a general one its department flagged, starts a separate
    improvement process linked to it. Returns the improvement's ticket."""
    announcements.case_closed(session, instance, data, now)
    if instance.version.process_id != COMPLAINT_PROCESS:
        return None  # an improvement project carries its complaint's path, not a new one
    if data.get("path") != "major" and not data.get("improvement_requested"):
        return None
    if specs.latest_version(session, IMPROVEMENT_PROCESS) is None:
        return None
    start = {k: data.get(k) for k in IMPROVEMENT_FIELDS}
    start["complaint_ticket"] = instance.ticket
    start.setdefault("lead_department", None)
    start["lead_department"] = start["lead_department"] or data.get("department")
    ticket = f"I{instance.ticket}"
    improvement, _workflow = _start(services, session, IMPROVEMENT_PROCESS, start, ticket, now,
                                    parent_ticket=instance.ticket,
                                    department_code=start["lead_department"],
                                    complaint_type=data.get("complaint_type"))
    audit.record(session, "improvement_started", actor, improvement.id,
                 ticket=ticket, complaint=instance.ticket)
    return ticket


def complete_task(services: Services, actor: Actor, task_id: str, data: Any) -> dict:
    """Complete a human task with form data and advance the case.

    Raises NotFound, Forbidden, FormInvalid, AlreadyCompleted or ProcessError; on any of
    them nothing is changed.
    """
    try:
        with services.db.write() as session:
            result = complete_in(services, session, actor, task_id, data)
    except StaleDataError:
        raise AlreadyCompleted() from None
    services.due_changed(result.pop("next_due_at"))
    return result


def complete_in(services, session, actor, task_id, data, permit=None,
              on_behalf: Optional[str] = None) -> dict:
    """`permit(row)` raises when the actor may not work the row (default: the staff rules);
    `on_behalf` records who the actor acted for (default: the customer, on customer tasks)."""
    now = services.now()
    row = tasks.load_row(session, task_id, for_update=True)
    (permit or (lambda r: tasks.require_workable(actor, r)))(row)
    # Lock the case itself: parallel branches of one case (several departments at once)
    # then complete one after the other on the newest state instead of failing.
    instance = session.execute(
        select(ProcessInstance).where(ProcessInstance.id == row.instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)).scalar_one()
    schema, _ui = form_for(services, session, row)
    data = forms.validate(schema, without_read_only(schema, data))
    workflow = load_workflow(services, instance)
    task = workflow.get_task_from_id(UUID(task_id))
    if task is None or task.state != TaskState.READY:
        raise AlreadyCompleted()
    task.set_data(**data)
    spawn_expression = task_property(task.task_spec, "startsLinkedComplaint")
    linked = None
    if spawn_expression:
        try:
            wanted = services.script_engine.evaluate(task, spawn_expression)
        except Exception as exc:
            raise ProcessError(f"The process failed at {task.task_spec.name}: {exc}",
                               element=task.task_spec.name) from exc
        if wanted:
            linked = _file_linked(services, session, actor, task.data, instance)
            task.set_data(linked_ticket=linked.ticket)
    if row.pauses_sla:
        # Waiting on the customer does not count against the company's deadlines.
        paused = sla.paused_seconds(services.calendars, instance.department_code,
                                    row.created_at, now)
        task.set_data(sla_paused_seconds=(task.data.get("sla_paused_seconds") or 0) + paused)
    record_as = task_property(task.task_spec, "recordActorAs")
    if record_as:
        task.set_data(**{record_as: actor.username})
    done_before = notifications.finished_task_ids(workflow)
    with connectors.bound(session, instance.id):
        run_engine(workflow, task.run)
        run_engine(workflow, workflow.do_engine_steps)
    finished = notifications.completed_since(workflow, done_before)
    notices = collect_notices(services, finished)
    if on_behalf is None:
        on_behalf = "customer" if row.lane == "customer" else None
    values, case_data = case_columns(instance, workflow, now)
    save_step(session, instance, values)
    created = tasks.sync(session, instance.id, workflow, now,
                         completed=(row.id, actor.id, on_behalf))
    announcements.new_tasks(services, session, instance, workflow, created, now)
    notifications.store(session, instance.id, notices, now)
    # A step reopened after its deadline (a loop) fires its SLA timers at once.
    sla.apply_fired(session, instance.id, instance.ticket, finished, now)
    audit.record(session, "task_completed", actor.username, instance.id, task=row.name,
                 task_id=row.id, on_behalf_of=on_behalf, data=data)
    status = values.get("status", instance.status)
    if status == "closed":
        audit.record(session, "case_closed", actor.username, instance.id,
                     outcome=values["outcome"])
        after_close(services, session, instance, case_data, actor.username, now)
    return {"ticket": instance.ticket, "status": status, "path": values["path"],
            "outcome": case_data.get("outcome"), "linked_ticket": linked.ticket if linked else None,
            "next_due_at": values["next_due_at"]}


LINKED_FIELDS = (
    "customer_name", "customer_phone", "customer_email", "customer_address", "member_account",
    "product", "order_number",
)


def _file_linked(services, session, actor, data: dict, parent: ProcessInstance) -> Filed:
    record = {k: data.get(k) for k in LINKED_FIELDS if data.get(k) is not None}
    record["description"] = data.get("new_problem_description") or "New problem raised at follow-up"
    record["demand"] = "To be clarified with the customer"
    record["channel"] = "other"
    # The same customer: their new complaint speaks their language and shows their zone.
    return file_complaint(services, record, staff=actor, parent_ticket=data.get("ticket"),
                          session=session, customer_locale=parent.customer_locale,
                          customer_timezone=parent.customer_timezone)


CANCEL_ROLES = {"cs_supervisor", "admin"}
# A case's status as a word in a sentence ("The case is already closed.").
STATUS_WORDS = {"open": N_("open"), "closed": N_("closed"), "cancelled": N_("cancelled"),
                "error": N_("error")}


def cancel(services: Services, actor: Actor, ticket: str, reason: str) -> None:
    if not actor.roles & CANCEL_ROLES:
        raise Forbidden(N_("Only a customer-service supervisor can cancel a case."))
    if not reason or not reason.strip():
        raise forms.FormInvalid({"reason": Message(N_("Say why the case is cancelled."))})
    try:
        with services.db.write() as session:
            instance = _instance_by_ticket(session, ticket)
            if instance.status != "open":
                raise AlreadyCompleted(Message(N_("The case is already %(status)s."),
                                               status=Message(STATUS_WORDS.get(instance.status,
                                                                  instance.status))))
            now = services.now()
            stop(services, session, instance, actor.username, reason.strip(), "cancelled", now)
    except StaleDataError:
        raise AlreadyCompleted(N_("The case changed while cancelling; try again.")) from None


def stop(services: Services, session: Session, instance: ProcessInstance, actor: str,
         reason: str, outcome: str, now: dt.datetime) -> None:
    """End an open case early (cancelled by staff, withdrawn by the customer)."""
    workflow = load_workflow(services, instance)
    workflow.cancel()
    write_state(session, instance.id, dump_state(workflow))
    instance.status = "cancelled"
    instance.outcome = outcome
    instance.next_due_at = None
    instance.closed_at = now
    instance.updated_at = now
    tasks.cancel_open(session, instance, now)
    audit.record(session, "case_cancelled" if outcome == "cancelled" else "case_withdrawn",
                 actor, instance.id, reason=reason)


def _instance_by_ticket(session: Session, ticket: str) -> ProcessInstance:
    instance = session.execute(
        select(ProcessInstance).where(ProcessInstance.ticket == ticket)
    ).scalar_one_or_none()
    if instance is None:
        raise NotFound(N_("No such complaint."))
    return instance


def task_prefill(services: Services, session: Session, row: HumanTask, ui: dict) -> dict:
    """The values a task form starts with: same-named keys of the case data, except the
    fields marked `"ui:options": {"prefill": false}` (decisions must be made afresh in
    each round of a loop, not inherited from the last one)."""
    workflow = load_workflow(services, row.instance)
    task = workflow.get_task_from_id(UUID(row.id))
    values = dict(task.data) if task is not None else {}
    for field, hints in ui.items():
        if isinstance(hints, dict) and (hints.get("ui:options") or {}).get("prefill") is False:
            values.pop(field, None)
    return values


def case_data(services: Services, instance: ProcessInstance) -> dict:
    return workflow_data(load_workflow(services, instance))


@dataclass
class TaskDetail:
    task: "tasks.TaskView"
    schema: dict
    ui: dict
    values: dict
    can_work: bool


def task_detail(services: Services, actor: Actor, task_id: str) -> TaskDetail:
    """A task with its form, for someone allowed to work it (or to see it done)."""
    with services.db.read() as session:
        row = tasks.load_row(session, task_id)
        tasks.require_workable(actor, row)
        schema, ui = form_for(services, session, row)
        values = task_prefill(services, session, row, ui)
        return TaskDetail(task=tasks.view_of(row), schema=schema, ui=ui, values=values,
                          can_work=True)


def restore_instance(services: Services, session: Session, version_id: int, ticket: str,
                     state: str) -> ProcessInstance:
    """Store an instance serialized elsewhere (an export, an earlier release's database)
    and project its waiting tasks, so that it continues like any other case."""
    now = services.now()
    instance = ProcessInstance(version_id=version_id, ticket=ticket, status="open",
                               created_at=now, updated_at=now)
    session.add(instance)
    session.flush()
    write_state(session, instance.id, state, new=True)
    workflow = load_workflow(services, instance)
    values, data = case_columns(instance, workflow, now)
    write_state(session, instance.id, values.pop("state"))
    for column, value in values.items():
        setattr(instance, column, value)
    instance.customer_name = data.get("customer_name")
    instance.customer_phone = data.get("customer_phone")
    instance.customer_email = match_key(data.get("customer_email"))
    instance.order_number = match_key(data.get("order_number"))
    session.flush()
    tasks.sync(session, instance.id, workflow, now)
    audit.record(session, "instance_restored", None, instance.id, ticket=ticket)
    return instance

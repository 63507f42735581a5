"""One step of a case, persisted: load the workflow, run the engine, save what changed.

Shared by everything that advances a case (engine/runtime.py for people, engine/timers.py
for due timers). The serialized state lives in its own table (instance_state); the case
row carries the columns searched and listed, and a revision that makes a concurrent step
fail cleanly.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, object_session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from . import notifications, sla
from .errors import AlreadyCompleted, ProcessError
from .models import InstanceState, ProcessInstance
from .serialization import dump_state, load_state
from .services import Services


def workflow_data(workflow: BpmnWorkflow) -> dict:
    """The case data as of now: the ready tasks' data while running, else the final data."""
    if workflow.is_completed():
        return workflow.data or (workflow.last_task.data if workflow.last_task else {})
    ready = workflow.get_tasks(state=TaskState.READY)
    if ready:
        merged: dict = {}
        for task in ready:
            merged.update(task.data)
        return merged
    return workflow.last_task.data if workflow.last_task else {}


def run_engine(workflow: BpmnWorkflow, action) -> None:
    try:
        action()
    except (WorkflowException, SpiffWorkflowException) as exc:
        element = getattr(getattr(exc, "task_spec", None), "name", None)
        raise ProcessError(f"The process failed{f' at {element}' if element else ''}: {exc}",
                           element=element) from exc


def collect_notices(services: Services, finished: list):
    try:
        return notifications.collect(finished, services.script_engine)
    except Exception as exc:  # a broken subject expression must not lose the step silently
        raise ProcessError(f"A notification in the diagram failed: {exc}") from exc


_STATES = InstanceState.__table__
_READ_STATE = select(_STATES.c.state).where(_STATES.c.instance_id == bindparam("instance_id"))


def load_workflow(services: Services, instance: ProcessInstance) -> BpmnWorkflow:
    session = object_session(instance)
    loaded = services.specs.get(session, instance.version_id)
    state = session.connection().execute(_READ_STATE, {"instance_id": instance.id}).scalar_one()
    return load_state(state, loaded.spec, loaded.subprocess_specs, services.script_engine)


def write_state(session: Session, instance_id: int, state: str, new: bool = False) -> None:
    connection = session.connection()
    if new:
        connection.execute(insert(_STATES).values(instance_id=instance_id, state=state))
    else:
        connection.execute(update(_STATES).where(_STATES.c.instance_id == instance_id)
                           .values(state=state))


def case_columns(instance: ProcessInstance, workflow: BpmnWorkflow,
                  now: dt.datetime) -> tuple[dict, dict]:
    """The instance row's new column values after a step, and the case data they came from."""
    data = workflow_data(workflow)
    values = {
        "state": dump_state(workflow),
        "updated_at": now,
        "next_due_at": sla.next_due(workflow),
        "path": data.get("path") or instance.path,
        "outcome": data.get("outcome"),
        "department_code": data.get("department") or instance.department_code,
        "complaint_type": data.get("complaint_type") or instance.complaint_type,
    }
    if workflow.is_completed() and instance.status == "open":
        values.update(status="closed", closed_at=now)
    return values, data


def save_step(session: Session, instance: ProcessInstance, values: dict) -> None:
    """Write a step's result; the revision check makes a concurrent step fail cleanly."""
    values = dict(values)
    state = values.pop("state")
    table = ProcessInstance.__table__
    result = session.connection().execute(
        update(table)
        .where(table.c.id == instance.id, table.c.revision == instance.revision)
        .values(revision=table.c.revision + 1, **values)
    )
    if result.rowcount != 1:
        raise AlreadyCompleted()
    write_state(session, instance.id, state)
    announce_due(session, values.get("next_due_at"))


def announce_due(session: Session, due) -> None:
    """Tell timer workers of a new due time (PostgreSQL NOTIFY, sent at commit)."""
    from .timers import announce  # timers builds on this module
    announce(session, due)

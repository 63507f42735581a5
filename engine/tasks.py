"""Human tasks: the rows worklists read, who may work a task, claim and release."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import audit
from .directory import Actor, find_user
from .errors import AlreadyClaimed, AlreadyCompleted, Forbidden, NotFound
from .models import HumanTask, ProcessInstance, User

# Lanes whose tasks are scoped to the department the case was dispatched to.
DEPARTMENT_ROLES = {"dept_handler", "dept_head"}
# Until customers have their own pages, customer service acts for them.
LANE_ROLE = {"customer": "cs_agent"}
LANE_TITLES = {
    "cs_agent": "Customer service",
    "customer": "Customer",
    "dept_handler": "Responsible department",
    "dept_head": "Department head",
    "cs_supervisor": "Customer-service supervisor",
    "leadership": "Leadership group",
}


@dataclass(slots=True)
class TaskView:
    id: str
    name: str
    title: str
    lane: Optional[str]
    ticket: str
    assignee: Optional[str]
    due_at: Optional[dt.datetime]
    created_at: dt.datetime
    state: str
    department: Optional[str]
    role: str

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "lane": self.lane,
            "ticket": self.ticket,
            "assignee": self.assignee,
            "due_at": self.due_at.isoformat() if self.due_at else None,
        }


def view_of(row: HumanTask) -> TaskView:
    return TaskView(
        id=row.id, name=row.name, title=row.title, lane=row.lane, ticket=row.instance.ticket,
        assignee=row.assignee.username if row.assignee else None, due_at=row.due_at,
        created_at=row.created_at, state=row.state, department=row.department_code,
        role=row.role,
    )


def in_queue_of(actor: Actor, row: HumanTask) -> bool:
    """The task belongs to a queue the actor works (whoever holds it now)."""
    if row.role not in actor.roles:
        return False
    return row.department_code is None or row.department_code == actor.department


def can_work(actor: Actor, row: HumanTask) -> bool:
    if row.assignee_id is not None:
        return row.assignee_id == actor.id
    return in_queue_of(actor, row)


def _queue_filter(actor: Actor):
    """Ready tasks the actor may work: assigned to them, or unassigned in their queue."""
    mine = HumanTask.assignee_id == actor.id
    queue = and_(
        HumanTask.assignee_id.is_(None),
        HumanTask.role.in_(actor.roles),
        or_(HumanTask.department_code.is_(None), HumanTask.department_code == actor.department),
    )
    return and_(HumanTask.state == "ready", or_(mine, queue))


def worklist(session: Session, actor: Actor, limit: int = 1000) -> list[TaskView]:
    # Plain columns, no ORM objects: an inbox of a thousand tasks stays a few milliseconds.
    task, instance, user = HumanTask.__table__, ProcessInstance.__table__, User.__table__
    rows = session.connection().execute(
        select(task.c.id, task.c.name, task.c.title, task.c.lane, instance.c.ticket,
               user.c.username, task.c.due_at, task.c.created_at, task.c.state,
               task.c.department_code, task.c.role)
        .select_from(task.join(instance, task.c.instance_id == instance.c.id)
                     .outerjoin(user, task.c.assignee_id == user.c.id))
        .where(_queue_filter(actor))
        .order_by(task.c.due_at.is_(None), task.c.due_at, task.c.created_at)
        .limit(limit)
    )
    return [TaskView(id=r[0], name=r[1], title=r[2], lane=r[3], ticket=r[4], assignee=r[5],
                     due_at=r[6], created_at=r[7], state=r[8], department=r[9], role=r[10])
            for r in rows]


def load_row(session: Session, task_id: str, for_update: bool = False) -> HumanTask:
    query = select(HumanTask).where(HumanTask.id == str(task_id))
    if for_update:
        # The worker needs the serialized state next: fetch it in the same round trip.
        query = query.options(joinedload(HumanTask.instance).undefer(ProcessInstance.state))
        query = query.with_for_update(of=HumanTask)
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound("No such task.")
    return row


def require_workable(actor: Actor, row: HumanTask) -> None:
    """Raise the error the person should see: done already, taken by a colleague, or
    simply not theirs."""
    if row.state != "ready":
        if in_queue_of(actor, row) or row.assignee_id == actor.id or \
                row.completed_by_id == actor.id:
            raise AlreadyCompleted()
        raise Forbidden("This task is not yours to work on.")
    if can_work(actor, row):
        return
    if row.assignee_id is not None and in_queue_of(actor, row):
        raise AlreadyClaimed()
    raise Forbidden("This task is not yours to work on.")


def claim(session: Session, actor: Actor, task_id: str, now: dt.datetime) -> TaskView:
    row = load_row(session, task_id, for_update=True)
    require_workable(actor, row)
    if row.assignee_id is None:
        row.assignee_id = actor.id
        audit.record(session, "task_claimed", actor.username, row.instance_id,
                     task=row.name, task_id=row.id)
    session.flush()
    return view_of(row)


def release(session: Session, actor: Actor, task_id: str) -> TaskView:
    row = load_row(session, task_id, for_update=True)
    require_workable(actor, row)
    if row.assignee_id == actor.id and row.role in actor.roles:
        row.assignee_id = None
        audit.record(session, "task_released", actor.username, row.instance_id,
                     task=row.name, task_id=row.id)
    else:
        raise Forbidden("Only a task claimed from your queue can be released.")
    session.flush()
    return view_of(row)


def task_property(task_spec, name: str) -> Optional[str]:
    return (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get(name)


def sync(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    now: dt.datetime,
    completed: Optional[tuple[str, int, Optional[str]]] = None,
) -> list[HumanTask]:
    """Make the task rows match the workflow's ready user tasks.

    `completed` is (task id, user id, on_behalf_of) of the task just worked.
    Returns the rows created.
    """
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    open_rows = session.execute(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "ready")
    ).scalars().all() if instance.id is not None else []
    for row in open_rows:
        if row.id in ready:
            continue
        if completed and row.id == completed[0]:
            row.state = "completed"
            row.completed_by_id = completed[1]
            row.on_behalf_of = completed[2]
            if row.assignee_id is None:
                row.assignee_id = completed[1]
        else:
            row.state = "cancelled"
        row.completed_at = now
    known = {row.id for row in open_rows}
    created = []
    for task_id, task in ready.items():
        if task_id in known:
            continue
        spec = task.task_spec
        lane = spec.lane
        role = LANE_ROLE.get(lane, lane or "cs_agent")
        assignee_id = None
        assignee_key = task_property(spec, "assignee")
        if assignee_key and task.data.get(assignee_key):
            user = find_user(session, str(task.data[assignee_key]))
            assignee_id = user.id if user is not None and user.active else None
        row = HumanTask(
            id=task_id,
            instance=instance,
            name=spec.name,
            title=spec.bpmn_name or spec.name,
            lane=lane,
            role=role,
            department_code=task.data.get("department") if role in DEPARTMENT_ROLES else None,
            assignee_id=assignee_id,
            form=task_property(spec, "formJsonSchemaFilename"),
            ui_form=task_property(spec, "formUiSchemaFilename"),
            state="ready",
            created_at=now,
        )
        session.add(row)
        created.append(row)
    return created


def cancel_open(session: Session, instance: ProcessInstance, now: dt.datetime) -> None:
    for row in session.execute(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "ready")
    ).scalars():
        row.state = "cancelled"
        row.completed_at = now


def open_tasks(session: Session, instance_id: int) -> list[TaskView]:
    rows = session.execute(
        select(HumanTask)
        .where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
        .order_by(HumanTask.created_at)
    ).scalars()
    return [view_of(row) for row in rows]


def completed_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    return list(session.execute(
        select(HumanTask)
        .where(HumanTask.instance_id == instance_id, HumanTask.state == "completed")
        .order_by(HumanTask.completed_at, HumanTask.created_at)
    ).scalars())


def is_known(session: Session, task_id: str) -> bool:
    return session.get(HumanTask, task_id) is not None

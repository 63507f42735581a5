"""Human tasks: the rows worklists read, who may work a task, claim and release (a head's
reassignment is engine/reassignment.py)."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, lazyload

from . import audit, sla, urgency
from .directory import ROLES, Actor, find_user
from .extensions import task_property
from .errors import AlreadyClaimed, AlreadyCompleted, Forbidden, NotFound
from .i18n import N_
from .models import HumanTask, ProcessInstance, User, UtcDateTime

# Lanes whose tasks are scoped to the department the case was dispatched to.
DEPARTMENT_ROLES = {"dept_handler", "dept_head"}
# Until customers have their own pages, customer service acts for them.
LANE_ROLE = {"customer": "cs_agent"}
LANE_TITLES = {
    "cs_agent": N_("Customer service"),
    "customer": N_("Customer"),
    "dept_handler": N_("Responsible department"),
    "dept_head": N_("Department head"),
    "cs_supervisor": N_("Customer-service supervisor"),
    "cs_director": N_("Customer-service director"),
    "gm_office": N_("General manager's office"),
    "leadership": N_("Leadership group"),
    "supervisor": N_("Supervision department"),
    "support_agent": N_("Overseas customer support"),
    "support_manager": N_("Overseas support manager"),
}
# Roles that have a task queue: the role of every lane.
QUEUE_ROLES = frozenset(LANE_ROLE.get(lane, lane) for lane in LANE_TITLES)


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
    breached_at: Optional[dt.datetime] = None
    customer: Optional[str] = None
    subject: Optional[str] = None          # what the case is about: the product
    assignee_name: Optional[str] = None    # the assignee's display name
    reminded: bool = False                 # the reminder before the deadline went out

    def is_overdue(self, now: dt.datetime) -> bool:
        return self.due_at is not None and self.due_at < now

    def urgency(self, now: dt.datetime) -> Optional[str]:
        """on_time, due_soon, overdue, breached, or None without a deadline."""
        return urgency.state(self.due_at, now, self.reminded, self.breached_at)

    @property
    def queue(self) -> "Queue":
        return Queue(self.role, self.department)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "lane": self.lane,
            "ticket": self.ticket,
            "assignee": self.assignee,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "breached": self.breached_at is not None,
            "subject": self.subject,
            "customer": self.customer,
            "assignee_name": self.assignee_name,
        }


def view_of(row: HumanTask) -> TaskView:
    return TaskView(
        id=row.id, name=row.name, title=row.title, lane=row.lane, ticket=row.instance.ticket,
        assignee=row.assignee.username if row.assignee else None, due_at=row.due_at,
        created_at=row.created_at, state=row.state, department=row.department_code,
        role=row.role, breached_at=row.breached_at, customer=row.instance.customer_name,
        subject=row.instance.subject,
        assignee_name=row.assignee.display_name if row.assignee else None,
        reminded=row.reminded_at is not None,
    )


def in_queue_of(actor: Actor, row: HumanTask) -> bool:
    """The task belongs to a queue the actor works (whoever holds it now)."""
    if row.role not in actor.roles:
        return False
    return row.department_code is None or row.department_code == actor.department


def can_work(actor: Actor, row: HumanTask) -> bool:
    if row.excluded_user_id == actor.id:
        return False
    if row.assignee_id is not None:
        return row.assignee_id == actor.id
    return in_queue_of(actor, row)


@dataclass(frozen=True, slots=True)
class Queue:
    """Where a team's unassigned tasks wait: a role, and for department roles the
    department too ("Department handler · Quality")."""

    role: str
    department: Optional[str] = None

    @property
    def key(self) -> str:
        """The queue as one URL parameter: "cs_agent", "dept_handler:quality"."""
        return f"{self.role}:{self.department}" if self.department else self.role

    @classmethod
    def from_key(cls, key: Optional[str]) -> Optional["Queue"]:
        role, _sep, department = (key or "").strip().partition(":")
        return cls(role, department or None) if role else None


def queues_of(actor: Actor) -> list[Queue]:
    """The queues the actor works, in the order roles are listed in the directory."""
    order = {role: n for n, role in enumerate(ROLES)}
    return [Queue(role, actor.department if role in DEPARTMENT_ROLES else None)
            for role in sorted(actor.roles & QUEUE_ROLES, key=lambda r: (order.get(r, 99), r))]


@dataclass(frozen=True)
class WorklistFilter:
    """Narrows a worklist; empty fields do not filter."""

    queue: Optional[Queue] = None
    overdue: bool = False
    title: str = ""   # the task's title, i.e. its type
    text: str = ""    # part of the ticket, of the customer's name or of the subject

    @property
    def active(self) -> bool:
        return bool(self.queue or self.overdue or self.title or self.text)

    @classmethod
    def from_params(cls, params) -> "WorklistFilter":
        """From query parameters (the inbox page and the API name them alike): `queue`,
        `overdue` (1/true/on), `task` (the title) and `q` (ticket, customer or subject)."""
        return cls(queue=Queue.from_key(params.get("queue", "")[:200]),
                   overdue=params.get("overdue", "").strip().lower() in TRUE_WORDS,
                   title=params.get("task", "").strip()[:255],
                   text=params.get("q", "").strip()[:100])

    def params(self) -> dict[str, str]:
        """The query parameters that give this filter back (none for the empty filter)."""
        values = {"queue": self.queue.key if self.queue else "",
                  "overdue": "1" if self.overdue else "", "task": self.title, "q": self.text}
        return {name: value for name, value in values.items() if value}


TRUE_WORDS = {"1", "true", "on", "yes"}


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_NOW = bindparam("now", type_=UtcDateTime())


def _worklist_conditions(task):
    """Ready tasks the actor may work: assigned to them, or unassigned in their queue."""
    mine = task.c.assignee_id == bindparam("actor_id")
    queue = and_(
        task.c.assignee_id.is_(None),
        task.c.role.in_(bindparam("roles", expanding=True)),
        or_(task.c.department_code.is_(None),
            task.c.department_code == bindparam("department")),
    )
    return [task.c.state == "ready", or_(mine, queue),
            or_(task.c.excluded_user_id.is_(None),
                task.c.excluded_user_id != bindparam("actor_id"))]


# TaskView's fields in the order the worklist statement selects them.
_WORKLIST_FIELDS = ("id", "name", "title", "lane", "ticket", "assignee", "due_at", "created_at",
                    "state", "department", "role", "breached_at", "customer", "subject",
                    "assignee_name", "reminded")


@functools.cache
def _worklist_statement(queue: Optional[str] = None, overdue: bool = False,
                        title: bool = False, text: bool = False):
    """One statement per combination of filters, built once; the values are parameters.
    `queue` is None (any), "role" or "department" (a department role's queue)."""
    task, instance, user = HumanTask.__table__, ProcessInstance.__table__, User.__table__
    conditions = _worklist_conditions(task)
    if queue:
        conditions.append(task.c.role == bindparam("queue_role"))
        conditions.append(task.c.department_code == bindparam("queue_department")
                          if queue == "department" else task.c.department_code.is_(None))
    if overdue:
        conditions.append(task.c.due_at < _NOW)
    if title:
        conditions.append(task.c.title == bindparam("title"))
    if text:
        pattern = bindparam("text")
        conditions.append(or_(instance.c.ticket.like(pattern, escape="\\"),
                              instance.c.customer_name.ilike(pattern, escape="\\"),
                              instance.c.subject.ilike(pattern, escape="\\")))
    return (
        select(task.c.id, task.c.name, task.c.title, task.c.lane, instance.c.ticket,
               user.c.username, task.c.due_at, task.c.created_at, task.c.state,
               task.c.department_code, task.c.role, task.c.breached_at,
               instance.c.customer_name, instance.c.subject, user.c.display_name,
               # A flag, not the time: a thousand rows convert no more times than needed.
               task.c.reminded_at.is_not(None))
        .select_from(task.join(instance, task.c.instance_id == instance.c.id)
                     .outerjoin(user, task.c.assignee_id == user.c.id))
        .where(*conditions)
        # Overdue first, most overdue first, then the soonest due, then those without a
        # deadline by age: all of it is "earliest deadline first", since every overdue
        # deadline lies before every coming one. No clock needed, and the index serves it.
        .order_by(task.c.due_at.is_(None), task.c.due_at, task.c.created_at, task.c.id)
        .limit(bindparam("limit"))
    )


def _actor_parameters(actor: Actor) -> dict:
    return {"actor_id": actor.id, "roles": sorted(actor.roles) or [""],
            "department": actor.department}


def worklist(session: Session, actor: Actor, limit: int = 1000,
             filters: Optional[WorklistFilter] = None,
             now: Optional[dt.datetime] = None) -> list[TaskView]:
    """The actor's ready tasks, overdue first (see the ordering above). Plain columns from
    prebuilt statements: an inbox of a thousand tasks stays a few milliseconds."""
    filters = filters or WorklistFilter()
    parameters = {**_actor_parameters(actor), "limit": limit}
    queue_kind = None
    if filters.queue:
        queue_kind = "department" if filters.queue.department else "role"
        parameters.update(queue_role=filters.queue.role,
                          queue_department=filters.queue.department)
    if filters.overdue:
        if now is None:
            raise ValueError("the overdue filter needs the current time")
        parameters["now"] = now
    if filters.title:
        parameters["title"] = filters.title
    if filters.text:
        parameters["text"] = _like_pattern(filters.text)
    statement = _worklist_statement(queue_kind, filters.overdue, bool(filters.title),
                                    bool(filters.text))
    rows = session.connection().execute(statement, parameters).all()  # one fetch, not one per row
    # The statement selects TaskView's fields in their order (see _WORKLIST_FIELDS):
    # positional construction is the cheapest per row.
    return [TaskView(*row) for row in rows]


@dataclass(frozen=True)
class QueueCount:
    queue: Queue
    open: int
    overdue: int


@dataclass(frozen=True)
class WorklistSummary:
    """What the actor's whole worklist holds, whatever the filters show."""

    queues: list[QueueCount]  # the actor's queues (empty ones too), then any other
    titles: list[str]         # the task titles present, for the task-type filter
    open: int
    overdue: int


def _summary_statement():
    task = HumanTask.__table__
    overdue = func.sum(case((task.c.due_at < _NOW, 1), else_=0))
    return (select(task.c.role, task.c.department_code, task.c.title, func.count(), overdue)
            .where(*_worklist_conditions(task))
            .group_by(task.c.role, task.c.department_code, task.c.title))


_SUMMARY = _summary_statement()


def worklist_summary(session: Session, actor: Actor, now: dt.datetime) -> WorklistSummary:
    """Open and overdue tasks per queue in one grouped query. Counts what the actor's
    inbox lists (their own and the unassigned), so a queue's number matches the list
    the queue filter shows. Tasks assigned to them from another queue add that queue."""
    counts: dict[Queue, list[int]] = {queue: [0, 0] for queue in queues_of(actor)}
    titles: set[str] = set()
    for role, department, title, open_count, overdue_count in session.connection().execute(
            _SUMMARY, {**_actor_parameters(actor), "now": now}):
        total = counts.setdefault(Queue(role, department), [0, 0])
        total[0] += open_count
        total[1] += overdue_count or 0
        titles.add(title)
    queues = [QueueCount(queue, open_count, overdue_count)
              for queue, (open_count, overdue_count) in counts.items()]
    return WorklistSummary(queues=queues, titles=sorted(titles),
                           open=sum(q.open for q in queues),
                           overdue=sum(q.overdue for q in queues))


_ROW = select(HumanTask).where(HumanTask.id == bindparam("task_id"))
# Locking the task row makes a concurrent completion of the same task wait and then see
# it done. The case row is not joined here: whoever changes it locks and loads it next.
_ROW_FOR_UPDATE = _ROW.options(lazyload(HumanTask.instance)).with_for_update(of=HumanTask)


def load_row(session: Session, task_id: str, for_update: bool = False) -> HumanTask:
    row = session.execute(_ROW_FOR_UPDATE if for_update else _ROW,
                          {"task_id": str(task_id)}).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("No such task."))
    return row


def require_workable(actor: Actor, row: HumanTask) -> None:
    """Raise the error the person should see: done already, taken by a colleague, or
    simply not theirs."""
    if row.state != "ready":
        if in_queue_of(actor, row) or row.assignee_id == actor.id or \
                row.completed_by_id == actor.id:
            raise AlreadyCompleted()
        raise Forbidden(N_("This task is not yours to work on."))
    if can_work(actor, row):
        return
    if row.excluded_user_id == actor.id:
        raise Forbidden(N_("Separation of duties: you wrote what this task approves, so "
                           "someone else must do it."))
    if row.assignee_id is not None and in_queue_of(actor, row):
        raise AlreadyClaimed()
    raise Forbidden(N_("This task is not yours to work on."))


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
        raise Forbidden(N_("Only a task claimed from your queue can be released."))
    session.flush()
    return view_of(row)



def _user_id(session: Session, username) -> Optional[int]:
    if not username:
        return None
    user = find_user(session, str(username))
    return user.id if user is not None and user.active else None


def _others_can_approve(session: Session, role: str, department: Optional[str],
                        author_id: int) -> bool:
    """Someone besides the author holds the role (in the department, if it has one)."""
    users = session.execute(select(User).where(User.active.is_(True), User.id != author_id)
                            ).scalars()
    return any(role in u.role_names and (
        department is None or (u.department is not None and u.department.code == department))
        for u in users)


def _move_up_if_author_alone(session: Session, spec, row: dict, moved: Optional[list]) -> None:
    """Separation of duties: the author never approves. When the author is the only one
    who holds the approving role, the approval goes one level up (the diagram's
    `separateEscalateTo`: the customer-service director on the general path, the general
    manager's office on the major path) and the case says why."""
    higher = task_property(spec, "separateEscalateTo")
    author = row["excluded_user_id"]
    if not higher or author is None or row["assignee_id"] not in (None, author):
        return
    if _others_can_approve(session, row["role"], row["department_code"], author):
        return
    moved_from = row["role"]
    row.update(role=higher, department_code=None, assignee_id=None)
    if moved is not None:
        user = session.get(User, author)
        moved.append({"task_id": row["id"], "task": row["name"], "from_role": moved_from,
                      "to_role": higher, "author": user.username if user else None,
                      "reason": "the author is the only one who may approve"})


def task_rows(session: Session, instance_id: int, new_tasks: dict, now: dt.datetime,
              moved: Optional[list] = None) -> list[dict]:
    """The human-task rows of newly ready user tasks, as column values, not yet written."""
    new_rows = []
    for task_id, task in new_tasks.items():
        spec = task.task_spec
        role = LANE_ROLE.get(spec.lane, spec.lane or "cs_agent")
        assignee_id = _user_id(session, task.data.get(task_property(spec, "assignee") or ""))
        excluded_id = _user_id(session, task.data.get(task_property(spec, "separateFrom") or ""))
        department_key = task_property(spec, "departmentFrom") or "department"
        new_rows.append({
            # A multi-instance task's spec is named "<id> [child]"; people know the id.
            "id": task_id, "instance_id": instance_id,
            "name": getattr(spec, "bpmn_id", None) or spec.name,
            "title": spec.bpmn_name or spec.name, "lane": spec.lane, "role": role,
            "department_code": task.data.get(department_key) if role in DEPARTMENT_ROLES
            else None,
            "assignee_id": assignee_id,
            "excluded_user_id": excluded_id,
            "form": task_property(spec, "formJsonSchemaFilename"),
            "ui_form": task_property(spec, "formUiSchemaFilename"),
            "state": "ready", "created_at": now,
            "due_at": sla.breach_due(task),
            "pauses_sla": task_property(spec, "slaPause") == "true",
        })
        if excluded_id is not None:
            _move_up_if_author_alone(session, spec, new_rows[-1], moved)
    return new_rows


def open_tasks(session: Session, instance_id: int) -> list[TaskView]:
    rows = session.execute(
        select(HumanTask)
        .where(HumanTask.instance_id == instance_id, HumanTask.state == "ready")
        .order_by(HumanTask.created_at)
    ).scalars()
    return [view_of(row) for row in rows]


def workable_on_case(session: Session, actor: Actor, ticket: str) -> set[str]:
    """The ids of the case's ready tasks the actor may work now: `can_work`, the rule
    `require_workable` applies to a ready task, asked of this case's tasks alone."""
    rows = session.execute(
        select(HumanTask).join(ProcessInstance, HumanTask.instance_id == ProcessInstance.id)
        .where(ProcessInstance.ticket == ticket, HumanTask.state == "ready")).scalars()
    return {row.id for row in rows if can_work(actor, row)}

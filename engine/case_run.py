"""One case, one step: the only place that loads, runs and saves a workflow.

A `CaseRun` is opened inside the caller's unit of work (`Database.write()`): it reads the
case row (locked on PostgreSQL), its task row when a task is worked, and the serialized
state in one statement, deserializes the workflow once, and offers the operations that
change it: start, complete a task, fire due timers, stop, restore. `commit()` then writes
everything the step produced: the state and case columns behind the revision check, the
human-task rows, mails and notices, SLA marks, the audit events, and what follows a close.
Web routes, the API, customers' pages, timer workers and the CLI all come through here.

The revision check is the one concurrency mechanism: a step saves only if the case still
has the revision it was loaded with, and fails with AlreadyCompleted otherwise. Row locks
(PostgreSQL) only make a second step on the same case wait for the first, so that
parallel branches of one case complete one after the other on the newest state.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable, Optional
from uuid import UUID

from sqlalchemy import String, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from . import announcements, audit, case_facts, connectors, mailer, notifications, sla, specs, tasks
from .closing import follow_on_process
from .db import batched
from .errors import AlreadyCompleted, NotFound, ProcessError
from .extensions import task_property
from .i18n import N_
from .models import HumanTask, InstanceState, ProcessInstance
from .prepared import Prepared, insert_rows
from .scripting import ScriptTimeout
from .serialization import dump_state, load_state
from .services import Services
from .task_walks import TaskStates, TasksBefore, calling_task_id, workflow_data
from .due_signal import announce

_CASES = ProcessInstance.__table__
_STATES = InstanceState.__table__
_TASKS = HumanTask.__table__

# The case columns a step reads; the task's columns come with them when a task is worked.
CASE_COLUMNS = ("id", "version_id", "ticket", "revision", "status", "path", "outcome",
                "department_code", "complaint_type", "customer_locale", "customer_timezone",
                "created_at", "parent_ticket", "lease_owner", "next_due_at", "closed_at",
                "lease_until", "updated_at", *case_facts.FACT_COLUMNS)
# The case columns a step may change.
STEP_COLUMNS = ("updated_at", "next_due_at", "path", "outcome", "department_code",
                "complaint_type", "status", "closed_at", "lease_owner", "lease_until",
                *case_facts.FACT_COLUMNS)
TASK_COLUMNS = tuple(c.name for c in _TASKS.columns)


def _case_select(*extra):
    return (select(*(_CASES.c[name].label(f"case_{name}") for name in CASE_COLUMNS),
                   _STATES.c.state, *extra)
            .join(_STATES, _STATES.c.instance_id == _CASES.c.id))


# Built once: they run on every step, and building a statement costs more than running it.
# The state row is locked with the case row: PostgreSQL re-reads only the locked rows of
# a join after waiting for a lock, and the state must be the one the winner wrote.
_LOAD_BY_TASK = Prepared(_case_select(*_TASKS.columns)
                         .join(_TASKS, _TASKS.c.instance_id == _CASES.c.id)
                         .where(_TASKS.c.id == bindparam("task_id"))
                         .with_for_update(of=[_TASKS, _CASES, _STATES]))
_BY_ID = _case_select().where(_CASES.c.id == bindparam("instance_id"))
_READ_BY_ID = Prepared(_BY_ID)
_LOAD_BY_ID = Prepared(_BY_ID.with_for_update(of=[_CASES, _STATES]))
# A timer worker's group, locked in id order (two workers' groups then never deadlock).
_LOAD_BY_IDS = (_case_select().where(_CASES.c.id.in_(bindparam("instance_ids", expanding=True)))
                .order_by(_CASES.c.id).with_for_update(of=[_CASES, _STATES]))
_LOAD_BY_TICKET = Prepared(_case_select().where(_CASES.c.ticket == bindparam("ticket"))
                           .with_for_update(of=[_CASES, _STATES]))
# Where the state and the task's columns sit in a loaded row.
_STATE_AT = len(CASE_COLUMNS)
_TASK_AT = _STATE_AT + 1
_STATE_UPDATE = (update(_STATES).where(_STATES.c.instance_id == bindparam("case_id"))
                 .values(state=bindparam("new_state")))
_CASE_UPDATE = (update(_CASES)
                .where(_CASES.c.id == bindparam("case_id"),
                       _CASES.c.revision == bindparam("loaded_revision"))
                .values(revision=_CASES.c.revision + 1,
                        **{name: bindparam(f"new_{name}") for name in STEP_COLUMNS}))
_SAVE_STATE = Prepared(_STATE_UPDATE)
_SAVE_CASE = Prepared(_CASE_UPDATE)
# PostgreSQL saves the state in the same statement (one round trip instead of two). A
# lost revision check still reports no row, and the caller's rollback undoes the state.
_SAVE_CASE_AND_STATE = _CASE_UPDATE.add_cte(_STATE_UPDATE.cte("saved_state"))
_COMPLETE_ROW = Prepared(
    update(_TASKS).where(_TASKS.c.id == bindparam("task_id"))
    .values(state="completed", completed_at=bindparam("now"),
            completed_by_id=bindparam("user_id"), on_behalf_of=bindparam("on_behalf"),
            assignee_id=func.coalesce(_TASKS.c.assignee_id, bindparam("user_id"))))


@functools.lru_cache(maxsize=64)
def _save_with_tasks(completed: bool, closed: bool, columns: tuple, new_rows: int):
    """PostgreSQL: the case, its state and its task rows saved by one statement (common
    table expressions of the case's update), one per shape of change, built once."""
    statement = _SAVE_CASE_AND_STATE
    if completed:
        done = _TASKS.c.id == bindparam("done_task_id")
        statement = statement.add_cte(update(_TASKS).where(done).values(
            state="completed", completed_at=bindparam("done_at", type_=_TASKS.c.completed_at.type),
            completed_by_id=bindparam("done_by", type_=_TASKS.c.completed_by_id.type),
            on_behalf_of=bindparam("done_on_behalf", type_=_TASKS.c.on_behalf_of.type),
            assignee_id=func.coalesce(_TASKS.c.assignee_id,
                                      bindparam("done_by", type_=_TASKS.c.assignee_id.type)))
            .cte("completed_task"))
    if closed:
        statement = statement.add_cte(
            update(_TASKS).where(_TASKS.c.id == any_(bindparam("closed_ids",
                                                               type_=ARRAY(String))),
                                 _TASKS.c.state == "ready")
            .values(state="cancelled",
                    completed_at=bindparam("closed_at", type_=_TASKS.c.completed_at.type))
            .cte("closed_tasks"))
    for n in range(new_rows):
        # One insert per row: a multi-row VALUES is not cached by SQLAlchemy, and building
        # a statement costs more than running it.
        statement = statement.add_cte(insert(_TASKS).values({
            name: bindparam(f"new_task_{n}_{name}", type_=_TASKS.c[name].type)
            for name in columns}).cte(f"new_task_{n}"))
    return Prepared(statement)


@dataclass
class CaseRow:
    """The case columns a step reads and changes (attribute names as on ProcessInstance,
    so that mail and notice builders take either)."""
    id: Optional[int]
    version_id: int
    ticket: str
    revision: int = 1
    status: str = "open"
    path: Optional[str] = None
    outcome: Optional[str] = None
    department_code: Optional[str] = None
    complaint_type: Optional[str] = None
    customer_locale: Optional[str] = None
    customer_timezone: Optional[str] = None
    created_at: Optional[dt.datetime] = None
    parent_ticket: Optional[str] = None
    lease_owner: Optional[str] = None
    next_due_at: Optional[dt.datetime] = None
    closed_at: Optional[dt.datetime] = None
    lease_until: Optional[dt.datetime] = None
    updated_at: Optional[dt.datetime] = None
    urgency: Optional[str] = None
    satisfaction: Optional[str] = None
    satisfaction_score: Optional[int] = None
    rejections: int = 0


# The states of tasks that were reached, by the names a replay gives them.
_TRAIL_STATES = {TaskState.COMPLETED: "completed", TaskState.READY: "ready",
                 TaskState.WAITING: "waiting", TaskState.STARTED: "started",
                 TaskState.ERROR: "error", TaskState.CANCELLED: "cancelled"}


@dataclass(frozen=True)
class TrailTask:
    """One task of a case's tree as a replay reads it (`CaseRun.trail`). `element_id` is
    None for the engine's own bookkeeping tasks (splits and joins it adds); `changed_at`
    is when the task last changed state (completed, became ready, began to wait). The
    first task of a subprocess has the calling task as its parent."""
    id: str
    parent_id: Optional[str]
    element_id: Optional[str]
    name: Optional[str]
    kind: str            # the engine's class of the element, e.g. "UserTask"
    lane: Optional[str]
    process_id: str      # the process (or called process) the element belongs to
    state: str
    changed_at: dt.datetime
    multi_instance: bool = False   # the parent of one task per item (or loop pass)
    sla_event: Optional[str] = None
    timer_due: Optional[dt.datetime] = None
    assigned_to: Optional[str] = None  # the user the diagram assigned the task to


@dataclass
class TaskChanges:
    """The human-task rows a step changes: the one completed (id, user id, on behalf of),
    those whose tasks closed without it (a boundary event, a cancelled case), new ones."""
    completed: Optional[tuple] = None
    closed: list = field(default_factory=list)
    new_rows: list = field(default_factory=list)


@dataclass
class _Commit:
    """What a step changed, between `CaseRun._prepare_commit` and its writing."""
    finished: list
    notices: list
    data: dict
    values: dict
    changes: TaskChanges
    state: str
    fired: list = field(default_factory=list)
    mails: list = field(default_factory=list)
    effects: Optional[sla.FiredEffects] = None


def _rows_written(changes: TaskChanges) -> set[str]:
    """The task rows whose read columns a step's save changes (its new rows, and the
    assignee of the one it completed)."""
    written = {row["id"] for row in changes.new_rows}
    if changes.completed is not None:
        written.add(changes.completed[0])
    return written


def _rows_saved(cursor) -> int:
    """The rows a statement sent in a batch changed, read from its cursor once the batch
    has run: psycopg gives the cursor its result only when the batch ends. A count it
    does not know reads as -1, which fails the revision check: the caller then saves
    case by case."""
    return cursor.rowcount


@dataclass
class StepResult:
    """What a committed step changed, for the caller to show or act on."""
    instance_id: int
    ticket: str
    status: str
    path: Optional[str]
    outcome: Optional[str]
    next_due_at: Optional[dt.datetime]
    data: dict
    linked_ticket: Optional[str] = None
    fired: list = field(default_factory=list)
    follow_on_ticket: Optional[str] = None


def run_engine(workflow: BpmnWorkflow, action) -> None:
    try:
        action()
    except (WorkflowException, SpiffWorkflowException) as exc:
        element = getattr(getattr(exc, "task_spec", None), "name", None)
        raise ProcessError(f"The process failed{f' at {element}' if element else ''}: {exc}",
                           element=element) from exc
    except ScriptTimeout as exc:
        raise _stopped(exc) from exc


def _stopped(exc: ScriptTimeout) -> ProcessError:
    element = exc.element
    return ProcessError(f"The process failed{f' at {element}' if element else ''}: {exc}",
                        element=element)


class CaseRun:
    """A case loaded for one step. Create it with `start`, `restore`, `for_task`,
    `for_instance` or `for_ticket`; change it; `commit()` once."""

    def __init__(self, services: Services, session: Session, case: CaseRow,
                 workflow: BpmnWorkflow, now: dt.datetime, new: bool):
        self.services = services
        self.session = session
        self.case = case
        self.workflow = workflow
        self.now = now
        self._new = new
        before = None if new else TasksBefore(workflow)
        self._ready_before = {} if new else before.ready_manual
        self._done_before = set() if new else before.completed_ids
        self._events: list[tuple[str, Optional[str], dict]] = []
        self._completed: Optional[tuple[str, Optional[int], Optional[str]]] = None
        self._stopped: Optional[str] = None  # the outcome of a case ended early
        self._columns: dict = {}
        self._linked_ticket: Optional[str] = None
        self._fired_by: Optional[str] = None
        self._committed = False
        self._loaded_due = case.next_due_at
        # What the statistics count, folded from each form this run completes.
        self._facts = {name: getattr(case, name) for name in case_facts.FACT_COLUMNS}

    # ------------------------------------------------------------------ opening

    @classmethod
    def _loaded(cls, services, session, row, now) -> "CaseRun":
        case = CaseRow(**dict(zip(CASE_COLUMNS, row)))
        spec = services.specs.get(session, case.version_id)
        workflow = load_state(row[_STATE_AT], spec.spec, spec.subprocess_specs,
                              services.script_engine)
        run = cls(services, session, case, workflow, now, new=False)
        run.process_id = spec.process_id
        return run

    @classmethod
    def for_task(cls, services: Services, session: Session, task_id: str,
                 now: Optional[dt.datetime] = None) -> tuple["CaseRun", SimpleNamespace]:
        """The case of a task and the task's row (both locked), in one read."""
        row = _LOAD_BY_TASK.first(session.connection(), {"task_id": str(task_id)})
        if row is None:
            raise NotFound(N_("No such task."))
        run = cls._loaded(services, session, row, now or services.now())
        task_row = SimpleNamespace(**dict(zip(TASK_COLUMNS, row[_TASK_AT:])))
        task_row.instance = run.case
        return run, task_row

    @classmethod
    def _case(cls, services, session, statement, parameters, now) -> "CaseRun":
        row = statement.first(session.connection(), parameters)
        if row is None:
            raise NotFound(N_("No such complaint."))
        return cls._loaded(services, session, row, now or services.now())

    @classmethod
    def for_instance(cls, services: Services, session: Session, instance_id: int,
                     now: Optional[dt.datetime] = None) -> "CaseRun":
        return cls._case(services, session, _LOAD_BY_ID, {"instance_id": instance_id}, now)

    @classmethod
    def for_instances(cls, services: Services, session: Session, instance_ids: list[int],
                      now: Optional[dt.datetime] = None) -> list["CaseRun"]:
        """The cases of these ids that exist, locked in one read (in id order), in the
        order of `instance_ids` (a timer worker's: due order)."""
        if not instance_ids:
            return []
        rows = {row[0]: tuple(row) for row in session.connection().execute(
            _LOAD_BY_IDS, {"instance_ids": list(instance_ids)})}
        now = now or services.now()
        return [cls._loaded(services, session, rows[instance_id], now)
                for instance_id in dict.fromkeys(instance_ids) if instance_id in rows]

    @classmethod
    def for_ticket(cls, services: Services, session: Session, ticket: str,
                   now: Optional[dt.datetime] = None) -> "CaseRun":
        return cls._case(services, session, _LOAD_BY_TICKET, {"ticket": ticket}, now)

    @classmethod
    def read(cls, services: Services, session: Session, instance_id: int) -> "CaseRun":
        """The case as it is, to read its data (no lock; never committed)."""
        run = cls._case(services, session, _READ_BY_ID, {"instance_id": instance_id}, None)
        run._committed = True  # a read is not a step
        return run

    @classmethod
    def start(cls, services: Services, session: Session, process_id: str, data: dict,
              ticket: str, now: Optional[dt.datetime] = None, **columns) -> "CaseRun":
        """A new instance of the newest version of a process, run to its first wait."""
        version = specs.latest_version(session, process_id)
        if version is None:
            raise ProcessError(f"The process {process_id!r} has not been deployed yet.")
        spec = services.specs.get(session, version.id)
        workflow = BpmnWorkflow(spec.spec, spec.subprocess_specs,
                                script_engine=services.script_engine)
        workflow.task_tree.data.update(data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        now = now or services.now()
        case = CaseRow(id=None, version_id=version.id, ticket=ticket, created_at=now,
                       **{k: v for k, v in columns.items() if k in CaseRow.__dataclass_fields__})
        run = cls(services, session, case, workflow, now, new=True)
        run.process_id = process_id
        run._columns.update(columns)
        with connectors.bound(session, None):
            run_engine(workflow, workflow.do_engine_steps)
        return run

    @classmethod
    def restore(cls, services: Services, session: Session, version_id: int, ticket: str,
                state: str, now: Optional[dt.datetime] = None) -> "CaseRun":
        """An instance serialized elsewhere (an export, an earlier release's database),
        to be stored and continued like any other case."""
        spec = services.specs.get(session, version_id)
        workflow = load_state(state, spec.spec, spec.subprocess_specs, services.script_engine)
        now = now or services.now()
        run = cls(services, session, CaseRow(id=None, version_id=version_id, ticket=ticket,
                                             created_at=now), workflow, now, new=True)
        run.process_id = spec.process_id
        return run

    # ------------------------------------------------------------------ reading

    @property
    def data(self) -> dict:
        return workflow_data(self.workflow)

    def task_data(self, task_id: str) -> dict:
        task = self.workflow.get_task_from_id(UUID(str(task_id)))
        return dict(task.data) if task is not None else {}

    def trail(self) -> list["TrailTask"]:
        """Every task of the case's tree that was reached (completed, waiting, ready,
        running, failed or cancelled), in the tree's order, subprocesses included: what a
        replay of the case draws. Predicted tasks (branches not taken yet) are left out."""
        found = []
        for task in self.workflow.get_tasks_iterator():
            state = _TRAIL_STATES.get(task.state)
            if state is None:
                continue
            spec = task.task_spec
            assignee_field = task_property(spec, "assignee")
            found.append(TrailTask(
                id=str(task.id), parent_id=str(task.parent.id) if task.parent else
                calling_task_id(task.workflow),
                element_id=getattr(spec, "bpmn_id", None),
                name=getattr(spec, "bpmn_name", None), kind=type(spec).__name__,
                lane=getattr(spec, "lane", None), process_id=task.workflow.spec.name,
                state=state,
                changed_at=dt.datetime.fromtimestamp(task.last_state_change, dt.timezone.utc),
                multi_instance=isinstance(spec, LoopTask),
                sla_event=task_property(spec, "slaEvent"),
                timer_due=sla.timer_due(task) if isinstance(
                    getattr(spec, "event_definition", None), TimerEventDefinition) else None,
                assigned_to=str(task.data.get(assignee_field) or "") or None
                if assignee_field else None))
        return found

    # ------------------------------------------------------------------ changing

    def record(self, kind: str, actor: Optional[str], **detail) -> None:
        """An audit event of this case, written with the step."""
        self._events.append((kind, actor, detail))

    def set_columns(self, **columns) -> None:
        self._columns.update(columns)

    def complete(self, row, actor, data: dict, on_behalf: Optional[str] = None,
                 file_linked: Optional[Callable[[dict], str]] = None) -> None:
        """Complete a ready human task with validated form data and run to the next wait.

        `file_linked(task_data)` registers a new complaint when the task's
        `startsLinkedComplaint` expression asks for one, and returns its ticket."""
        task = self.workflow.get_task_from_id(UUID(str(row.id)))
        if task is None or task.state != TaskState.READY:
            raise AlreadyCompleted()
        task.set_data(**data)
        spawn_expression = task_property(task.task_spec, "startsLinkedComplaint")
        if spawn_expression and file_linked is not None:
            try:
                wanted = self.services.script_engine.evaluate(task, spawn_expression)
            except (Exception, ScriptTimeout) as exc:
                raise ProcessError(f"The process failed at {task.task_spec.name}: {exc}",
                                   element=task.task_spec.name) from exc
            if wanted:
                self._linked_ticket = file_linked(task.data)
                task.set_data(linked_ticket=self._linked_ticket)
        if row.pauses_sla:
            # Waiting on the customer does not count against the company's deadlines.
            paused = sla.paused_seconds(self.services.calendars, self.case.department_code,
                                        row.created_at, self.now)
            task.set_data(sla_paused_seconds=(task.data.get("sla_paused_seconds") or 0) + paused)
        record_as = task_property(task.task_spec, "recordActorAs")
        if record_as:
            task.set_data(**{record_as: actor.username})
        with connectors.bound(self.session, self.case.id):
            run_engine(self.workflow, task.run)
            run_engine(self.workflow, self.workflow.do_engine_steps)
        self._completed = (str(row.id), actor.id, on_behalf)
        self._facts = case_facts.fold(self._facts, data)
        self.record("task_completed", actor.username, task=row.name, task_id=str(row.id),
                    on_behalf_of=on_behalf, data=data)

    def fire_timers(self, worker: Optional[str] = None) -> None:
        """Fire the timers that are due and run to the next wait."""
        with connectors.bound(self.session, self.case.id):
            run_engine(self.workflow, self.workflow.refresh_timers)
            run_engine(self.workflow, self.workflow.do_engine_steps)
        self._fired_by = worker
        if worker is not None:
            self._columns.update(lease_owner=None, lease_until=None)

    def stop(self, actor: Optional[str], reason: str, outcome: str) -> None:
        """End an open case early (cancelled by staff, withdrawn by the customer)."""
        self.workflow.cancel()
        self._stopped = outcome
        self.record("case_cancelled" if outcome == "cancelled" else "case_withdrawn",
                    actor, reason=reason)

    # ------------------------------------------------------------------ saving

    def _case_values(self, data: dict, after: TaskStates) -> dict:
        case = self.case
        values = {name: getattr(case, name) for name in STEP_COLUMNS}
        values.update({
            "updated_at": self.now,
            "next_due_at": sla.next_due_of(after.waiting),
            "path": data.get("path") or case.path,
            "outcome": data.get("outcome"),
            "department_code": data.get("department") or case.department_code,
            "complaint_type": data.get("complaint_type") or case.complaint_type,
            **self._facts,
        })
        if self._stopped is not None:
            values.update(status="cancelled", outcome=self._stopped, next_due_at=None,
                          closed_at=self.now)
        elif self.workflow.is_completed() and case.status == "open":
            values.update(status="closed", closed_at=self.now)
        values.update(self._columns)
        return values

    def _task_changes(self, after: TaskStates) -> "TaskChanges":
        ready_after = after.ready_manual
        changes = TaskChanges(completed=self._completed)
        completed_id = self._completed[0] if self._completed is not None else None
        changes.closed = sorted(set(self._ready_before) - set(ready_after) - {completed_id})
        new = {task_id: task for task_id, task in ready_after.items()
               if task_id not in self._ready_before}
        moved: list[dict] = []
        changes.new_rows = tasks.task_rows(self.session, self.case.id, new, self.now, moved)
        for detail in moved:
            self.record("approval_moved_up", None, **detail)
        return changes

    def _task_parameters(self, changes: "TaskChanges") -> dict:
        """The values of _save_with_tasks' parameters for these changes."""
        parameters: dict = {}
        if changes.completed is not None:
            parameters.update(zip(("done_task_id", "done_by", "done_on_behalf"),
                                  changes.completed), done_at=self.now)
        if changes.closed:
            parameters.update(closed_ids=changes.closed, closed_at=self.now)
        for n, row in enumerate(changes.new_rows):
            parameters.update({f"new_task_{n}_{name}": value for name, value in row.items()})
        return parameters

    def _write_case(self, values: dict, state: str, changes: "TaskChanges") -> None:
        connection = self.session.connection()
        if self._new:
            row = {**values, "version_id": self.case.version_id, "ticket": self.case.ticket,
                   "status": values.get("status", "open"), "created_at": self.case.created_at,
                   "revision": 1}
            if row.get("status_token_hash"):  # a complaint: by a customer seen before?
                row["repeat_complaint"] = case_facts.is_repeat(connection, row,
                                                               self.case.created_at)
            self.case.id = connection.execute(
                insert(_CASES).returning(_CASES.c.id), row).scalar_one()
            insert_rows(connection, _STATES, [{"instance_id": self.case.id, "state": state}])
            for row in changes.new_rows:
                row["instance_id"] = self.case.id
            self._write_tasks(connection, changes)
            return
        if self._saves_in_one(values):
            self._check_saved(self._save_in_one(values, state, changes).rowcount)
            return
        if set(values) == set(STEP_COLUMNS):
            result = _SAVE_CASE.run(connection, {
                "case_id": self.case.id, "loaded_revision": self.case.revision,
                **{f"new_{name}": value for name, value in values.items()}})
        else:
            result = connection.execute(
                update(_CASES)
                .where(_CASES.c.id == self.case.id, _CASES.c.revision == self.case.revision)
                .values(revision=_CASES.c.revision + 1, **values))
        if result.rowcount != 1:
            raise AlreadyCompleted()
        self.case.revision += 1
        _SAVE_STATE.run(connection, {"case_id": self.case.id, "new_state": state})
        self._write_tasks(connection, changes)

    def _saves_in_one(self, values: dict) -> bool:
        """Whether the case, its state and its task rows are saved by one statement."""
        return not self._new and self.session.get_bind().dialect.name == "postgresql" and \
            set(values) == set(STEP_COLUMNS)

    def _save_in_one(self, values: dict, state: str, changes: "TaskChanges"):
        """PostgreSQL: one statement, one round trip: the state and the task rows are saved
        by common table expressions of the case's update. A lost revision check still
        reports no row (see `_check_saved`), and the caller's rollback undoes the rest."""
        new_rows = changes.new_rows
        statement = _save_with_tasks(changes.completed is not None, bool(changes.closed),
                                     tuple(new_rows[0]) if new_rows else (), len(new_rows))
        return statement.run(self.session.connection(), {
            "case_id": self.case.id, "loaded_revision": self.case.revision,
            "new_state": state, **{f"new_{name}": value for name, value in values.items()},
            **self._task_parameters(changes)})

    def _check_saved(self, rowcount: int) -> None:
        if rowcount != 1:
            raise AlreadyCompleted()
        self.case.revision += 1

    def _write_tasks(self, connection, changes: "TaskChanges") -> None:
        if changes.completed is not None:
            completed_id, user_id, on_behalf = changes.completed
            _COMPLETE_ROW.run(connection, {"task_id": completed_id, "now": self.now,
                                               "user_id": user_id, "on_behalf": on_behalf})
        if changes.closed:
            connection.execute(
                update(_TASKS).where(_TASKS.c.id.in_(changes.closed), _TASKS.c.state == "ready")
                .values(state="cancelled", completed_at=self.now))
        if changes.new_rows:
            insert_rows(connection, _TASKS, changes.new_rows)

    def commit(self, people=None) -> StepResult:
        """Write everything the step produced, in the caller's transaction.

        Reads come first (who is mailed), then the case with its state and task rows in
        one statement where the database allows, then the rest in one batch
        (engine.db.batched). `people(notice)` gives an SLA notice's recipients
        when the caller keeps them (a timer worker's group)."""
        return self._commit_prepared(self._prepare_commit(), people)

    @classmethod
    def commit_group(cls, runs: list["CaseRun"], people=None) -> list[StepResult]:
        """Commit several cases' steps (a timer worker's group) as each `commit()` would,
        in the caller's transaction, with fewer round trips on PostgreSQL: the SLA task
        rows of all cases read at once, then every case's writes in one batch. The
        revision checks are verified once the batch has run (AlreadyCompleted if one
        lost: the caller rolls back). A case the batch cannot take (elsewhere than on
        PostgreSQL, or a step that reads rows it writes) is committed on its own first."""
        steps = []
        results: dict[int, StepResult] = {}
        for position, run in enumerate(runs):
            step = run._prepare_commit()
            step.fired = sla.fired_timers(step.finished, run.now)
            if run._saves_in_one(step.values) and not sla.attached_ids(step.fired) & \
                    _rows_written(step.changes):
                steps.append((position, run, step))
            else:
                results[position] = run._commit_prepared(step, people)
        if steps:
            cls._commit_together(steps, people, results)
        return [results[position] for position in range(len(runs))]

    @classmethod
    def _commit_together(cls, steps: list, people, results: dict) -> None:
        session = steps[0][1].session
        rows = sla.fired_rows(session, set().union(
            *(sla.attached_ids(step.fired) for _p, _run, step in steps)))
        for _position, run, step in steps:
            run._take_values(step)
            step.mails = announcements.new_task_mails(run.services, session, run.case,
                                                      run.workflow, step.changes.new_rows,
                                                      run.now)
            step.effects = sla.effects_of(session, run.case.id, run.case.ticket, step.fired,
                                          rows, run.now, people)
            run._record_outcome(step)
        with batched(session):
            saved = [run._save_in_one(step.values, step.state, step.changes)
                     for _position, run, step in steps]
            cls._write_group_effects(session, [(run, step) for _position, run, step in steps])
        # Read once the batch has run: inside it no statement has its result yet.
        for (_position, run, _step), result in zip(steps, saved):
            run._check_saved(_rows_saved(result))
        for position, run, step in steps:
            results[position] = run._result(step)

    @staticmethod
    def _write_group_effects(session: Session, steps: list) -> None:
        """`_write_effects` of several steps, with the mails, the SLA marks and the SLA
        notices of all of them in one statement each (the cases' rows in the cases'
        order, as case by case)."""
        mailer.queue_many(session, [mail for _run, step in steps
                                    for mail in step.mails + step.effects.mails])
        for run, step in steps:
            notifications.store(session, run.case.id, step.notices, run.now)
        sla.write_all(session, [step.effects for _run, step in steps])
        for run, step in steps:
            audit.append_linked(session, run.case.id, run._events)
            run._announce(step)

    def _commit_prepared(self, step: "_Commit", people) -> StepResult:
        """`commit()` for a step `_prepare_commit` already looked at."""
        self._write_case(step.values, step.state, step.changes)
        self._take_values(step)
        step.mails = announcements.new_task_mails(self.services, self.session, self.case,
                                                  self.workflow, step.changes.new_rows, self.now)
        # A step reopened after its deadline (a loop) fires its SLA timers at once.
        step.effects = sla.fired_effects(self.session, self.case.id, self.case.ticket,
                                         step.finished, self.now, people)
        self._record_outcome(step)
        with batched(self.session):
            self._write_effects(step)
        return self._result(step)

    def _prepare_commit(self) -> "_Commit":
        """What the step changed, compared with the case as loaded; written by the
        caller (`commit`, `commit_group`)."""
        if self._committed:
            raise RuntimeError("a case run commits once")
        self._committed = True
        workflow = self.workflow
        after = TaskStates(workflow)
        finished = [t for t in after.completed if t.id not in self._done_before]
        try:
            notices = notifications.collect(finished, self.services.script_engine)
        except (Exception, ScriptTimeout) as exc:  # a broken subject expression must not lose the step silently
            raise ProcessError(f"A notification in the diagram failed: {exc}") from exc
        data = workflow_data(workflow, after.ready)
        values = self._case_values(data, after)
        changes = self._task_changes(after)
        return _Commit(finished=finished, notices=notices, data=data, values=values,
                       changes=changes, state=dump_state(workflow))

    def _take_values(self, step: "_Commit") -> None:
        for name, value in step.values.items():
            if hasattr(self.case, name):
                setattr(self.case, name, value)

    def _record_outcome(self, step: "_Commit") -> None:
        """The audit events of what the step ended in: timers fired, the case closed."""
        if self._fired_by is not None:
            self.record("timers_fired", None, fired=step.effects.applied, worker=self._fired_by)
        if step.values.get("status") == "closed":
            actor = next((a for kind, a, _d in reversed(self._events)
                          if kind == "task_completed"), None)
            self.record("case_closed", actor, outcome=step.values.get("outcome"))

    def _write_effects(self, step: "_Commit") -> None:
        """Everything after the case's own rows; statements whose results nobody reads,
        so that they can go in a batch (engine.db.batched)."""
        session, case = self.session, self.case
        mailer.queue_many(session, step.mails + step.effects.mails)
        notifications.store(session, case.id, step.notices, self.now)
        step.effects.write(session)
        # On PostgreSQL the chain's head is locked and read by the insert itself.
        audit.append_linked(session, case.id, self._events)
        self._announce(step)

    def _announce(self, step: "_Commit") -> None:
        due, known = step.values.get("next_due_at"), None if self._new else self._loaded_due
        if self._fired_by is None and due is not None and (known is None or due < known):
            # Workers are armed no later than the due time they knew for this case;
            # only an earlier one is news. A timer worker arms for the earliest due
            # time itself after its run (and so does every other worker after theirs).
            announce(self.session, due)

    def _result(self, step: "_Commit") -> StepResult:
        case, data = self.case, step.data
        closed = step.values.get("status") == "closed"
        follow_on = self._after_close(data) if closed else None
        return StepResult(instance_id=case.id, ticket=case.ticket, status=case.status,
                          path=case.path, outcome=data.get("outcome"),
                          next_due_at=step.values.get("next_due_at"), data=data,
                          linked_ticket=self._linked_ticket, fired=step.effects.applied,
                          follow_on_ticket=follow_on)

    def _after_close(self, data: dict) -> Optional[str]:
        """The customer is told; a closed major case (or a general one its department
        flagged) starts a separate improvement process linked to it."""
        announcements.case_closed(self.session, self.case, data, self.now)
        follow_on = follow_on_process(self.process_id, self.case.ticket, data)
        if follow_on is None or specs.latest_version(self.session, follow_on.process_id) is None:
            return None
        actor = next((a for kind, a, _d in reversed(self._events) if kind == "case_closed"),
                     None)
        run = CaseRun.start(self.services, self.session, follow_on.process_id,
                            follow_on.data, follow_on.ticket, self.now, **follow_on.columns)
        run.record("improvement_started", actor, ticket=follow_on.ticket,
                   complaint=self.case.ticket)
        return run.commit().ticket

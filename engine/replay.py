"""Case replay: the path a case took on the diagram of the exact version it ran on.

Built from what the case left behind: its workflow's task tree (read through
engine/case_run.py, the only reader of workflow state), the human-task rows (who, when,
deadlines, SLA marks, pauses) and the case's audit events (the data each step submitted,
claims and reassignments). Every visit of an element is one entry, so a loop shows as a
second pass of the same element; the timeline puts the visits next to the SLA timers, the
pauses while the customer was asked, and who held each task.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import bundles, specs
from .case_run import CaseRun, TrailTask
from .cases import masked_for
from .directory import Actor
from .models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion, User
from .services import Services
from .visibility import visible_case

# The BPMN element each engine class stands for, where the name alone does not say it.
ELEMENT_TYPES = {
    "NoneTask": "task", "SubWorkflowTask": "subProcess",
    "TransactionSubprocess": "transaction", "CallActivity": "callActivity",
}
# Elements a replay lists as "active" while they are reached but not finished: the tasks
# people work, the events that wait, the subprocesses that run. A join waiting for its
# other branches is not where the case is.
WAITING_KINDS = ("IntermediateCatchEvent", "ReceiveTask", "EventBasedGateway")
HIDDEN_WHILE_WAITING = ("BoundaryEvent", "ParallelGateway", "InclusiveGateway",
                        "ExclusiveGateway")
# Case events of the audit trail the timeline shows, by the kind the timeline gives them.
CASE_EVENTS = {"complaint_filed": "filed", "case_closed": "closed",
               "case_cancelled": "cancelled", "case_withdrawn": "withdrawn",
               "step_failed": "failed", "improvement_started": "follow_on",
               "petition_filed": "follow_on"}
ASSIGNMENT_EVENTS = {"task_claimed": "claimed", "task_released": "released",
                     "task_reassigned": "reassigned"}
TRAIL_EVENTS = (*CASE_EVENTS, *ASSIGNMENT_EVENTS, "task_completed")
SLA_MARKS = (("reminder", "reminded_at"), ("breach", "breached_at"),
             ("escalation", "escalated_at"))


def element_type(kind: str) -> str:
    """`UserTask` -> `userTask`: the BPMN element's tag."""
    return ELEMENT_TYPES.get(kind) or (kind[:1].lower() + kind[1:])


@dataclass
class Visit:
    """One pass of the case through one element."""
    element_id: str
    name: str
    type: str
    lane: Optional[str]
    process_id: str
    file: Optional[str]
    state: str                      # completed | active | cancelled | failed
    entered_at: dt.datetime
    left_at: Optional[dt.datetime]
    loop: int = 1                   # 1 for the first pass
    task_id: str = ""
    actor: Optional[str] = None     # who completed it
    on_behalf_of: Optional[str] = None
    assignee: Optional[str] = None  # who holds it (or held it when it was done)
    department: Optional[str] = None
    due_at: Optional[dt.datetime] = None
    breached: bool = False
    paused: bool = False            # waiting on the customer: the SLA clock stood still
    business_seconds: Optional[float] = None
    clock_seconds: Optional[float] = None
    data: dict = field(default_factory=dict)
    reminded_at: Optional[dt.datetime] = None
    breached_at: Optional[dt.datetime] = None
    escalated_at: Optional[dt.datetime] = None
    is_task: bool = False           # a task people work (it has a row)
    assigned_to: Optional[str] = None  # whom the diagram named to do the task

    def as_dict(self) -> dict:
        def iso(value):
            return value.isoformat() if value else None
        return {
            "element_id": self.element_id, "name": self.name, "type": self.type,
            "lane": self.lane, "process_id": self.process_id, "state": self.state,
            "entered_at": iso(self.entered_at), "left_at": iso(self.left_at),
            "actor": self.actor, "on_behalf_of": self.on_behalf_of,
            "assignee": self.assignee, "department": self.department,
            "due_at": iso(self.due_at), "breached": self.breached, "loop": self.loop,
            "sla_clock_paused": self.paused,
            "business_hours": _hours(self.business_seconds),
            "clock_hours": _hours(self.clock_seconds),
            "reminded_at": iso(self.reminded_at), "breached_at": iso(self.breached_at),
            "escalated_at": iso(self.escalated_at), "data": self.data,
        }


def _hours(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else round(seconds / 3600, 2)


@dataclass
class Moment:
    """One line of the timeline."""
    at: dt.datetime
    kind: str
    element_id: Optional[str] = None
    title: str = ""
    actor: Optional[str] = None
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"at": self.at.isoformat(), "kind": self.kind, "element_id": self.element_id,
                "title": self.title, "actor": self.actor, "detail": self.detail}


@dataclass
class Diagram:
    """One diagram file of the version, with what to mark on it."""
    file: str
    name: str
    xml: str
    own: bool
    completed: list[str] = field(default_factory=list)   # elements and flows taken
    active: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)
    loops: dict[str, int] = field(default_factory=dict)  # element -> passes, 2 or more

    @property
    def visited(self) -> bool:
        return bool(self.completed or self.active or self.failing)

    def marks(self) -> dict:
        return {"completed": self.completed, "active": self.active, "failing": self.failing}


@dataclass
class Replay:
    ticket: str
    process_id: str
    version: int
    version_id: int
    deployed_at: dt.datetime
    status: str
    created_at: dt.datetime
    closed_at: Optional[dt.datetime]
    now: dt.datetime
    visits: list[Visit]
    timeline: list[Moment]
    diagrams: list[Diagram]

    @property
    def active(self) -> list[Visit]:
        return [v for v in self.visits if v.state == "active"]

    def as_dict(self) -> dict:
        return {"ticket": self.ticket, "process_id": self.process_id,
                "version": self.version, "status": self.status,
                "elements": [v.as_dict() for v in self.visits],
                "timeline": [m.as_dict() for m in self.timeline]}


# --------------------------------------------------------------------------- building

def replay(services: Services, session: Session, actor: Actor, ticket: str) -> Replay:
    """The replay of a case the actor may see (NotFound otherwise, as for the case)."""
    instance = visible_case(session, actor, ticket)
    return replay_of(services, session, instance, actor)


def replay_of(services: Services, session: Session, instance: ProcessInstance,
              actor: Actor) -> Replay:
    now = services.now()
    trail = CaseRun.read(services, session, instance.id).trail()
    version = session.get(ProcessVersion, instance.version_id)
    files = _bpmn_files(version.sources or {})
    layout = _layout(files)
    rows = {row.id: row for row in session.execute(
        select(HumanTask).where(HumanTask.instance_id == instance.id)).scalars()}
    users = _usernames(session, rows.values())
    # Not the views of the case: every look adds one, and a replay needs none of them.
    events = list(session.execute(
        select(AuditEvent).where(AuditEvent.instance_id == instance.id,
                                 AuditEvent.kind.in_(TRAIL_EVENTS))
        .order_by(AuditEvent.id)).scalars())
    completions = {e.detail.get("task_id"): e for e in events if e.kind == "task_completed"}

    visits, predecessors = _visits(services, trail, rows, users, completions, layout, actor,
                                   now)
    diagrams = _diagrams(files, layout, version.process_id, visits, predecessors)
    return Replay(
        ticket=instance.ticket, process_id=version.process_id, version=version.version,
        version_id=version.id, deployed_at=version.deployed_at, status=instance.status,
        created_at=instance.created_at, closed_at=instance.closed_at, now=now,
        visits=visits, timeline=_timeline(visits, rows, events, instance.created_at),
        diagrams=diagrams)


def _bpmn_files(sources: dict[str, str]) -> dict[str, str]:
    return {name: text for name, text in sorted(sources.items())
            if bundles.kind_of(name) == "bpmn"}


@dataclass
class _Layout:
    process_files: dict[str, str]
    process_names: dict[str, str]
    flows: dict[str, list[tuple[str, str, str]]]  # file -> (flow id, source, target)


def _layout(files: dict[str, str]) -> _Layout:
    found = bundles.analyse({name: text.encode("utf-8") for name, text in files.items()})
    flows = {}
    for name, text in files.items():
        root = specs.parse_xml(text.encode("utf-8"), name)
        flows[name] = [(f.get("id"), f.get("sourceRef"), f.get("targetRef"))
                       for f in root.iter(f"{{{specs.BPMN_NS}}}sequenceFlow")]
    return _Layout(found.process_files, found.process_names, flows)


def _usernames(session: Session, rows) -> dict[int, str]:
    ids = {i for row in rows for i in (row.assignee_id, row.completed_by_id) if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def _reached(task: TrailTask, rows: dict) -> bool:
    """Whether a task of the tree is a visit of its element."""
    if task.element_id is None or task.multi_instance:
        return False
    if task.state == "cancelled":
        return task.id in rows  # a step people had open when the case was stopped
    if task.state in ("waiting", "ready") and task.kind in HIDDEN_WHILE_WAITING:
        return False  # an armed boundary timer, a join waiting for its other branches
    return True


def _visits(services, trail, rows, users, completions, layout, actor, now):
    by_id = {t.id: t for t in trail}
    order = {t.id: n for n, t in enumerate(trail)}

    def entered(task: TrailTask) -> dt.datetime:
        parent = by_id.get(task.parent_id)
        while parent is not None and parent.multi_instance:
            # Its state changes when its last item ends, not when the items began.
            parent = by_id.get(parent.parent_id)
        return parent.changed_at if parent is not None else task.changed_at

    def predecessor(task: TrailTask) -> Optional[TrailTask]:
        child, parent = task, by_id.get(task.parent_id)
        while parent is not None:
            if parent.element_id is not None and not (
                    parent.multi_instance and child.parent_id == parent.id
                    and child.element_id == parent.element_id):
                return parent
            child, parent = parent, by_id.get(parent.parent_id)
        return None

    visits: list[tuple[Visit, TrailTask]] = []
    for task in trail:
        if not _reached(task, rows):
            continue
        row = rows.get(task.id)
        state = {"completed": "completed", "cancelled": "cancelled",
                 "error": "failed"}.get(task.state, "active")
        if row is not None:
            entered_at = row.created_at
            left_at = row.completed_at if row.state != "ready" else None
        else:
            entered_at = min(entered(task), task.changed_at)
            left_at = task.changed_at if state in ("completed", "cancelled") else None
        visit = Visit(
            element_id=task.element_id, name=task.name or task.element_id,
            type=element_type(task.kind), lane=task.lane, process_id=task.process_id,
            file=layout.process_files.get(task.process_id), state=state,
            entered_at=entered_at, left_at=left_at, task_id=task.id)
        if row is not None:
            _with_row(visit, row, users, completions.get(task.id), actor, now)
        end = visit.left_at or now
        calendar = services.calendars.for_team(visit.department)
        visit.clock_seconds = max((end - visit.entered_at).total_seconds(), 0.0)
        visit.business_seconds = calendar.elapsed(visit.entered_at, end).total_seconds()
        if row is not None:
            visit.assigned_to = task.assigned_to
        visits.append((visit, task))
    by_visit = {task.id: visit for visit, task in visits}

    # Passes are counted in the tree's order: a later pass of a loop always runs below
    # the earlier one (times alone can disagree, e.g. in cases restored from elsewhere).
    passes: dict[tuple[str, str], list[str]] = {}
    for visit, task in visits:
        # The items of one multi-instance task are one pass of its element.
        parent = by_id.get(task.parent_id)
        pass_key = parent.id if parent is not None and parent.multi_instance else task.id
        seen = passes.setdefault((task.process_id, task.element_id), [])
        if pass_key not in seen:
            seen.append(pass_key)
        visit.loop = seen.index(pass_key) + 1
    # Listed by time, never before what led to them.
    settled: dict[str, dt.datetime] = {}
    for task in trail:
        parent_time = settled.get(task.parent_id)
        if task.id in by_visit:
            own = by_visit[task.id].entered_at
        elif task.multi_instance:
            own = parent_time or task.changed_at  # it changes when its last item ends
        else:
            own = task.changed_at
        settled[task.id] = own if parent_time is None else max(own, parent_time)
    visits.sort(key=lambda pair: (settled[pair[1].id], order[pair[1].id]))
    predecessors = {}
    for visit, task in visits:
        before = predecessor(task)
        if before is not None:
            predecessors[task.id] = (before.element_id, before.process_id)
    return [v for v, _t in visits], predecessors


def _with_row(visit: Visit, row: HumanTask, users: dict, completion, actor: Actor,
              now: dt.datetime) -> None:
    visit.is_task = True
    visit.actor = users.get(row.completed_by_id)
    if visit.actor is None and completion is not None and row.state == "completed":
        visit.actor = completion.actor
    visit.on_behalf_of = row.on_behalf_of
    visit.assignee = users.get(row.assignee_id)
    visit.department = row.department_code
    visit.due_at = row.due_at
    visit.paused = bool(row.pauses_sla)
    visit.reminded_at, visit.breached_at, visit.escalated_at = (
        row.reminded_at, row.breached_at, row.escalated_at)
    end = visit.left_at or now
    visit.breached = row.breached_at is not None or (
        row.due_at is not None and end > row.due_at)
    if completion is not None:
        visit.data = masked_for(actor, dict(completion.detail.get("data") or {}))


def _diagrams(files, layout: _Layout, process_id: str, visits: list[Visit],
              predecessors: dict) -> list[Diagram]:
    own_file = layout.process_files.get(process_id)
    diagrams = {name: Diagram(file=name, xml=text, own=name == own_file,
                              name=_diagram_name(layout, name, process_id))
                for name, text in files.items()}
    elements_done: dict[str, set] = {name: set() for name in files}
    for visit in visits:
        diagram = diagrams.get(visit.file)
        if diagram is None:
            continue
        target = {"completed": diagram.completed, "active": diagram.active,
                  "failed": diagram.failing}.get(visit.state)
        if target is not None and visit.element_id not in target:
            target.append(visit.element_id)
        if visit.state in ("completed", "active"):
            elements_done[visit.file].add(visit.element_id)
        if visit.breached and visit.element_id not in diagram.breached:
            diagram.breached.append(visit.element_id)
        if visit.loop > 1:
            diagram.loops[visit.element_id] = max(diagram.loops.get(visit.element_id, 1),
                                                  visit.loop)
    taken: dict[str, set] = {name: set() for name in files}
    for visit in visits:
        before = predecessors.get(visit.task_id)
        if visit.file not in taken or before is None or before[1] != visit.process_id:
            continue
        for flow_id, source, target in layout.flows[visit.file]:
            if source == before[0] and target == visit.element_id:
                taken[visit.file].add(flow_id)
        if visit.type in ("parallelGateway", "inclusiveGateway") and visit.state == "completed":
            # A join has one parent in the engine's tree; every branch that reached it
            # came along a flow of its own.
            for flow_id, source, target in layout.flows[visit.file]:
                if target == visit.element_id and source in elements_done[visit.file]:
                    taken[visit.file].add(flow_id)
    for name, diagram in diagrams.items():
        diagram.completed.extend(sorted(taken[name]))
    ordered = sorted(diagrams.values(), key=lambda d: (not d.own, d.file))
    return [d for d in ordered if d.own or d.visited]


def _diagram_name(layout: _Layout, file: str, process_id: str) -> str:
    names = [layout.process_names.get(pid, pid) for pid, name in
             sorted(layout.process_files.items(), key=lambda item: item[0] != process_id)
             if name == file]
    return names[0] if names else file


# Where a kind of moment goes among the moments of one visit at the same instant.
_STEP_ORDER = {kind: n for n, kind in enumerate((
    "subprocess_started", "timer", "opened", "assigned", "paused", "claimed", "released",
    "reassigned", "reminder", "breach", "escalation", "resumed", "completed", "cancelled",
    "failed", "subprocess_ended"))}
_LAST = 1 << 30


def _timeline(visits: list[Visit], rows: dict, events: list[AuditEvent],
              created_at: dt.datetime) -> list[Moment]:
    """What happened, in time order; moments of the same instant (one engine step runs
    many elements) in the order of the path."""
    ranked: list[tuple[dt.datetime, tuple, Moment]] = []
    index = {v.task_id: n for n, v in enumerate(visits)}

    def add(moment: Moment, visit_index: int) -> None:
        ranked.append((moment.at, (visit_index, _STEP_ORDER.get(moment.kind, 50), len(ranked)),
                       moment))

    for event in events:
        kind = CASE_EVENTS.get(event.kind)
        if kind is not None:
            detail = {k: v for k, v in event.detail.items() if v is not None and k in (
                "channel", "outcome", "reason", "problem", "ticket", "parent_ticket")}
            # The filing is recorded as its step commits, a moment after the case began.
            at = min(event.at, created_at) if kind == "filed" else event.at
            add(Moment(at, kind, actor=event.actor, detail=detail),
                -1 if kind == "filed" else _LAST)
            continue
        kind = ASSIGNMENT_EVENTS.get(event.kind)
        if kind is not None:
            task_id = event.detail.get("task_id")
            visit = visits[index[task_id]] if task_id in index else None
            detail = {k: event.detail.get(k) for k in ("previous", "to", "reason")
                      if event.detail.get(k)}
            add(Moment(event.at, kind, visit.element_id if visit else event.detail.get("task"),
                       visit.name if visit else event.detail.get("task", ""), event.actor,
                       detail), index.get(task_id, _LAST))
    for n, visit in enumerate(visits):
        def here(at, kind, actor=None, detail=None):
            add(Moment(at, kind, visit.element_id, visit.name, actor, detail or {}), n)
        if visit.is_task:
            opened = {"lane": visit.lane}
            if visit.department:
                opened["department"] = visit.department
            if visit.due_at:
                opened["due_at"] = visit.due_at.isoformat()
            here(visit.entered_at, "opened", detail=opened)
            first = _first_holder(visit, events) if visit.assigned_to else None
            if first:
                here(visit.entered_at, "assigned", detail={"to": first})
            if visit.paused:
                here(visit.entered_at, "paused")
            row = rows[visit.task_id]
            for stage, mark in SLA_MARKS:
                if getattr(row, mark) is not None:
                    here(getattr(row, mark), stage, detail={
                        "due_at": visit.due_at.isoformat() if visit.due_at else None})
            if visit.left_at is not None:
                if visit.paused:
                    here(visit.left_at, "resumed")
                if visit.state == "completed":
                    here(visit.left_at, "completed", visit.actor,
                         {"on_behalf_of": visit.on_behalf_of} if visit.on_behalf_of else {})
                else:
                    here(visit.left_at, visit.state)
        elif visit.type == "intermediateCatchEvent" and visit.left_at is not None:
            here(visit.left_at, "timer")
        elif visit.type == "callActivity":
            here(visit.entered_at, "subprocess_started")
            if visit.left_at is not None:
                here(visit.left_at, "subprocess_ended")
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [moment for _at, _rank, moment in ranked]


def _first_holder(visit: Visit, events: list[AuditEvent]) -> Optional[str]:
    """Who the task was given to when it opened, if anyone: the one a first reassignment
    took it from, else the person the diagram named (a claim needs an unassigned task)."""
    changes = [e for e in events if e.kind in ASSIGNMENT_EVENTS
               and e.detail.get("task_id") == visit.task_id]
    if changes:
        first = changes[0]
        return first.detail.get("previous") if first.kind == "task_reassigned" else None
    # A name the directory did not know left the task in its queue.
    return visit.assigned_to if visit.assigned_to == visit.assignee else None

"""Exports for process mining and spreadsheets: the cases and their task events as CSV,
and the event log as XES (IEEE 1849-2016).

Every export is a generator of text chunks, so a web response can stream it: cases are
read in keyset-paged batches (by registration time and id, along the case table's
index) and each batch's tasks in one query, so memory stays bounded however many cases
are exported. The batches read inside one transaction, so the export is one consistent
picture on PostgreSQL (and SQLite's single writer cannot change it meanwhile).

The event log: one trace per case, named by its ticket; per case a "registered" event,
for each user task a `schedule` event when it became ready and a `complete` event (by
the user who completed it) or a `withdraw` event (the engine cancelled it), and the
case's close. No customer data leaves through here: tickets, steps, times, user names.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Iterator, Optional

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .errors import ServiceError
from .i18n import N_
from .models import HumanTask, ProcessInstance, ProcessVersion, User
from .statistics import Scope, complaints, improvements

BATCH = 500           # cases per read
CHUNK = 256 * 1024    # characters per piece of the response

KINDS = ("complaint", "improvement", "all")

REGISTERED = "Case registered"
CLOSED = {"closed": "Case closed", "cancelled": "Case cancelled"}


def kind_condition(kind: str):
    if kind == "complaint":
        return complaints()
    if kind == "improvement":
        return improvements()
    if kind == "all":
        return None
    raise ServiceError(N_("kind is one of complaint, improvement or all."))


@dataclass(frozen=True)
class Event:
    ticket: str
    activity: str
    element: str
    lifecycle: str      # schedule | complete | withdraw
    at: dt.datetime
    resource: Optional[str] = None
    task_id: str = ""
    lane: str = ""
    department: str = ""


_CASE_COLUMNS = (ProcessInstance.id, ProcessInstance.ticket, ProcessInstance.status,
                 ProcessInstance.path, ProcessInstance.outcome, ProcessInstance.complaint_type,
                 ProcessInstance.channel, ProcessInstance.department_code,
                 ProcessInstance.parent_ticket, ProcessInstance.received_at,
                 ProcessInstance.created_at, ProcessInstance.closed_at,
                 ProcessVersion.process_id, ProcessVersion.version)


def case_batches(session: Session, scope: Scope, kind: str = "complaint",
                 size: Optional[int] = None) -> Iterator[list]:
    """The cases in scope in registration order, `size` (BATCH) at a time."""
    size = size or BATCH
    conditions = [c for c in (kind_condition(kind), *scope.conditions()) if c is not None]
    after = None
    while True:
        statement = (select(*_CASE_COLUMNS)
                     .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
                     .where(*conditions))
        if after is not None:
            created, last_id = after
            statement = statement.where(or_(
                ProcessInstance.created_at > created,
                and_(ProcessInstance.created_at == created, ProcessInstance.id > last_id)))
        rows = session.execute(statement.order_by(ProcessInstance.created_at,
                                                  ProcessInstance.id).limit(size)).all()
        if not rows:
            return
        yield rows
        after = (rows[-1].created_at, rows[-1].id)


def _task_rows(session: Session, case_ids: list[int]) -> dict[int, list]:
    rows: dict[int, list] = {i: [] for i in case_ids}
    for row in session.execute(
            select(HumanTask.instance_id, HumanTask.id, HumanTask.name, HumanTask.title,
                   HumanTask.lane, HumanTask.department_code, HumanTask.state,
                   HumanTask.created_at, HumanTask.completed_at, User.username)
            .outerjoin(User, User.id == HumanTask.completed_by_id)
            .where(HumanTask.instance_id.in_(case_ids))
            .order_by(HumanTask.instance_id, HumanTask.created_at, HumanTask.id)):
        rows[row.instance_id].append(row)
    return rows


def case_events(case, tasks: list) -> list[Event]:
    """One case's events in the order they happened. Where several share a moment (one
    step completes a task and opens the next), tasks keep the order they were opened in,
    and each task's own events their lifecycle order."""
    timed = [((case.created_at, -1, 0), Event(case.ticket, REGISTERED, "", "complete",
                                              case.created_at))]
    for index, task in enumerate(tasks):
        common = dict(ticket=case.ticket, activity=task.title, element=task.name,
                      task_id=task.id, lane=task.lane or "",
                      department=task.department_code or "")
        timed.append(((task.created_at, index, 0),
                      Event(lifecycle="schedule", at=task.created_at, **common)))
        if task.completed_at is None:
            continue
        if task.state == "completed":
            timed.append(((task.completed_at, index, 1),
                          Event(lifecycle="complete", at=task.completed_at,
                                resource=task.username, **common)))
        elif task.state == "cancelled":
            timed.append(((task.completed_at, index, 1),
                          Event(lifecycle="withdraw", at=task.completed_at, **common)))
    if case.status in CLOSED and case.closed_at is not None:
        timed.append(((case.closed_at, len(tasks), 2),
                      Event(case.ticket, CLOSED[case.status], "", "complete", case.closed_at)))
    timed.sort(key=lambda pair: pair[0])
    return [event for _key, event in timed]


def events_by_case(session: Session, scope: Scope, kind: str = "complaint",
                   size: Optional[int] = None) -> Iterator[tuple[object, list[Event]]]:
    for batch in case_batches(session, scope, kind, size):
        tasks = _task_rows(session, [row.id for row in batch])
        for case in batch:
            yield case, case_events(case, tasks[case.id])


def _moment(value: Optional[dt.datetime]) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds") \
        if value is not None else ""


# --------------------------------------------------------------------------- CSV

CASE_FIELDS = ("ticket", "process", "version", "status", "path", "outcome", "complaint_type",
               "channel", "department", "parent_ticket", "received_at", "registered_at",
               "closed_at")
EVENT_FIELDS = ("case", "activity", "element", "lifecycle", "timestamp", "resource",
                "task_id", "lane", "department")


class _Sheet:
    """CSV rows collected into pieces of about CHUNK characters."""

    def __init__(self, header):
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")
        self.writer.writerow(header)

    def add(self, row) -> Optional[str]:
        self.writer.writerow(row)
        return self.take() if self.buffer.tell() >= CHUNK else None

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def cases_csv(session: Session, scope: Scope, kind: str = "complaint") -> Iterator[str]:
    sheet = _Sheet(CASE_FIELDS)
    for batch in case_batches(session, scope, kind):
        for case in batch:
            piece = sheet.add((
                case.ticket, case.process_id, case.version, case.status, case.path or "",
                case.outcome or "", case.complaint_type or "", case.channel or "",
                case.department_code or "", case.parent_ticket or "",
                _moment(case.received_at), _moment(case.created_at), _moment(case.closed_at)))
            if piece:
                yield piece
    yield sheet.take()


def events_csv(session: Session, scope: Scope, kind: str = "complaint") -> Iterator[str]:
    sheet = _Sheet(EVENT_FIELDS)
    for _case, events in events_by_case(session, scope, kind):
        for e in events:
            piece = sheet.add((e.ticket, e.activity, e.element, e.lifecycle, _moment(e.at),
                               e.resource or "", e.task_id, e.lane, e.department))
            if piece:
                yield piece
    yield sheet.take()


# --------------------------------------------------------------------------- XES

# Characters XML 1.0 cannot carry at all; stored text should not hold them, but an export
# must stay well-formed whatever a diagram's names contain.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                          "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _attr(value) -> str:
    return _NOT_XML.sub("", str(value)).translate(_ESCAPES)


XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- XES (IEEE 1849-2016) event log of the complaint desk -->
<log xes.version="1849.2016">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<global scope="trace">
<string key="concept:name" value="__INVALID__"/>
</global>
<global scope="event">
<string key="concept:name" value="__INVALID__"/>
<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
<string key="lifecycle:transition" value="complete"/>
</global>
<classifier name="Activity" keys="concept:name"/>
<classifier name="ActivityLifecycle" keys="concept:name lifecycle:transition"/>
<string key="concept:name" value="Complaint handling"/>
<string key="lifecycle:model" value="standard"/>
"""
XES_TAIL = "</log>\n"


def _xes_trace(case, events: list[Event]) -> str:
    parts = [f'<trace>\n<string key="concept:name" value="{_attr(case.ticket)}"/>\n'
             f'<string key="process" value="{_attr(case.process_id)}"/>\n'
             f'<int key="version" value="{int(case.version)}"/>\n'
             f'<string key="status" value="{_attr(case.status)}"/>\n']
    for e in events:
        parts.append(f'<event>\n<string key="concept:name" value="{_attr(e.activity)}"/>\n'
                     f'<string key="lifecycle:transition" value="{e.lifecycle}"/>\n'
                     f'<date key="time:timestamp" value="{_moment(e.at)}"/>\n')
        if e.resource:
            parts.append(f'<string key="org:resource" value="{_attr(e.resource)}"/>\n')
        if e.element:
            parts.append(f'<string key="element" value="{_attr(e.element)}"/>\n')
        parts.append("</event>\n")
    parts.append("</trace>\n")
    return "".join(parts)


def events_xes(session: Session, scope: Scope, kind: str = "complaint") -> Iterator[str]:
    pieces, size = [XES_HEAD], len(XES_HEAD)
    for case, events in events_by_case(session, scope, kind):
        trace = _xes_trace(case, events)
        pieces.append(trace)
        size += len(trace)
        if size >= CHUNK:
            yield "".join(pieces)
            pieces, size = [], 0
    pieces.append(XES_TAIL)
    yield "".join(pieces)


EXPORTS = {
    "cases.csv": (cases_csv, "text/csv; charset=utf-8"),
    "task-events.csv": (events_csv, "text/csv; charset=utf-8"),
    "events.xes": (events_xes, "application/xml; charset=utf-8"),
}

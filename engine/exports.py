"""Exports for process mining and spreadsheets: the cases and their task events as CSV,
and the event log as XES (IEEE 1849-2016).

Every export is a generator of text chunks, so a web response can stream it: cases are
read in keyset-paged batches (by registration time and id, along the case table's
index) and each batch's tasks in one query, so memory stays bounded however many cases
are exported. The batches read inside one transaction, so the export is one consistent
picture on PostgreSQL (and SQLite's single writer cannot change it meanwhile).

A log of 100,000 cases holds well over a million events, so the event exports take the
times as the database's text (SQLite keeps them so; PostgreSQL formats them), which
sorts as the times do and becomes the export's form by slicing, and the XES log is
written from pieces of text made once per step and per user.

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
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from typing import Iterator, Optional

from sqlalchemy import String, func, or_, select, type_coerce
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


def _time_text(column, dialect: str):
    """A time column as UTC text with microseconds, as SQLite stores it."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS.US")
    return type_coerce(column, String())


def stamp(text: Optional[str]) -> str:
    """A time as the exports write it: ISO 8601 in UTC to the millisecond."""
    if not text:
        return ""
    if isinstance(text, str) and len(text) == 26 and text[19] == ".":
        return f"{text[:10]}T{text[11:23]}+00:00"
    return _moment(_parsed(text))


def _parsed(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def _moment(value: Optional[dt.datetime]) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds") \
        if value is not None else ""


_CASE_COLUMNS = (ProcessInstance.id, ProcessInstance.ticket, ProcessInstance.status,
                 ProcessInstance.path, ProcessInstance.outcome, ProcessInstance.complaint_type,
                 ProcessInstance.channel, ProcessInstance.department_code,
                 ProcessInstance.parent_ticket, ProcessInstance.created_at,
                 ProcessVersion.process_id, ProcessVersion.version)


@contextmanager
def _unmapped(session: Session):
    """SQLite maps the database file into the process's memory (up to its mmap_size):
    an export reads most of the file once, and every page it touched would count as the
    process's memory. An export reads through SQLite's bounded page cache instead (the
    operating system still caches the file)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    mapped = connection.exec_driver_sql("PRAGMA mmap_size").scalar()
    connection.exec_driver_sql("PRAGMA mmap_size=0")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA mmap_size={int(mapped or 0)}")


def case_batches(session: Session, scope: Scope, kind: str = "complaint",
                 size: Optional[int] = None) -> Iterator[list]:
    """The cases in scope in registration order, `size` (BATCH) at a time; their times
    as text too (`received`, `registered`, `closed`). Read through SQLite's page cache,
    not the mapped file, until the last batch (`_unmapped`)."""
    size = size or BATCH
    connection = session.connection()  # plain rows: no ORM bookkeeping per row
    dialect = connection.dialect.name
    conditions = [c for c in (kind_condition(kind), *scope.conditions()) if c is not None]
    columns = (*_CASE_COLUMNS,
               _time_text(ProcessInstance.received_at, dialect).label("received"),
               _time_text(ProcessInstance.created_at, dialect).label("registered"),
               _time_text(ProcessInstance.closed_at, dialect).label("closed"))
    after = None
    with _unmapped(session):
        while True:
            statement = (select(*columns)
                         .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
                         .where(*conditions))
            if after is not None:
                # The first condition alone bounds the index range: with only the OR,
                # SQLite walks the index from its start for every batch.
                created, last_id = after
                statement = statement.where(
                    ProcessInstance.created_at >= created,
                    or_(ProcessInstance.created_at > created, ProcessInstance.id > last_id))
            rows = connection.execute(statement.order_by(ProcessInstance.created_at,
                                                         ProcessInstance.id).limit(size)).all()
            if not rows:
                return
            yield rows
            after = (rows[-1].created_at, rows[-1].id)


def _task_rows(session: Session, case_ids: list[int]) -> dict[int, list]:
    """Each case's tasks in the order they were opened, as tuples."""
    connection = session.connection()
    rows: dict[int, list] = {i: [] for i in case_ids}
    for case_id, tasks in groupby(connection.execute(
            select(HumanTask.instance_id, HumanTask.id, HumanTask.name, HumanTask.title,
                   HumanTask.lane, HumanTask.department_code, HumanTask.state,
                   _time_text(HumanTask.created_at, connection.dialect.name),
                   _time_text(HumanTask.completed_at, connection.dialect.name),
                   User.username)
            .outerjoin(User, User.id == HumanTask.completed_by_id)
            .where(HumanTask.instance_id.in_(case_ids))
            .order_by(HumanTask.instance_id, HumanTask.created_at, HumanTask.id)),
            key=itemgetter(0)):
        rows[case_id] = list(tasks)
    return rows


def _timeline(case, tasks: list, make) -> list:
    """One case's events in the order they happened, each as `make(activity, element,
    lifecycle, at, resource, task)` returns it. Where several share a moment (one step
    completes a task and opens the next), tasks keep the order they were opened in, and
    each task's own events their lifecycle order."""
    registered = case.registered
    timed = [((registered, -1, 0), make(REGISTERED, "", "complete", registered, None, None))]
    append = timed.append
    for index, task in enumerate(tasks):
        _case_id, _task_id, name, title, _lane, _dept, state, opened, done, username = task
        append(((opened, index, 0), make(title, name, "schedule", opened, None, task)))
        if done is None:
            continue
        if state == "completed":
            append(((done, index, 1), make(title, name, "complete", done, username, task)))
        elif state == "cancelled":
            append(((done, index, 1), make(title, name, "withdraw", done, None, task)))
    if case.status in CLOSED and case.closed is not None:
        append(((case.closed, len(tasks), 2),
                make(CLOSED[case.status], "", "complete", case.closed, None, None)))
    timed.sort(key=_first)
    return [made for _key, made in timed]


def _first(pair):
    return pair[0]


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

    def add_rows(self, rows) -> Optional[str]:
        self.writer.writerows(rows)
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
                stamp(case.received), stamp(case.registered), stamp(case.closed)))
            if piece:
                yield piece
    yield sheet.take()


def events_csv(session: Session, scope: Scope, kind: str = "complaint") -> Iterator[str]:
    sheet = _Sheet(EVENT_FIELDS)
    for batch in case_batches(session, scope, kind):
        tasks = _task_rows(session, [row.id for row in batch])
        for case in batch:
            ticket = case.ticket

            def row(activity, element, lifecycle, at, resource, task) -> tuple:
                if task is None:
                    return (ticket, activity, element, lifecycle, stamp(at), "", "", "", "")
                return (ticket, activity, element, lifecycle, stamp(at), resource or "",
                        task[1], task[4] or "", task[5] or "")
            piece = sheet.add_rows(_timeline(case, tasks[case.id], row))
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


class _XesPieces:
    """The text of events, made once per step title and element and per user: a log has
    a handful of steps and users, and over a million events."""

    def __init__(self):
        self._opening: dict = {}
        self._closing: dict = {}
        self._resources: dict = {}

    def opening(self, activity: str, lifecycle: str) -> str:
        key = (activity, lifecycle)
        text = self._opening.get(key)
        if text is None:
            text = self._opening[key] = (
                f'<event>\n<string key="concept:name" value="{_attr(activity)}"/>\n'
                f'<string key="lifecycle:transition" value="{lifecycle}"/>\n'
                f'<date key="time:timestamp" value="')
        return text

    def closing(self, resource: Optional[str], element: str) -> str:
        key = (resource, element)
        text = self._closing.get(key)
        if text is None:
            text = self._closing[key] = "".join((
                '"/>\n',
                f'<string key="org:resource" value="{_attr(resource)}"/>\n' if resource else "",
                f'<string key="element" value="{_attr(element)}"/>\n' if element else "",
                "</event>\n"))
        return text


def _xes_trace(case, tasks: list, pieces: _XesPieces) -> str:
    opening, closing = pieces.opening, pieces.closing

    def event(activity, element, lifecycle, at, resource, _task) -> str:
        return f"{opening(activity, lifecycle)}{stamp(at)}{closing(resource, element)}"
    return "".join((f'<trace>\n<string key="concept:name" value="{_attr(case.ticket)}"/>\n'
                    f'<string key="process" value="{_attr(case.process_id)}"/>\n'
                    f'<int key="version" value="{int(case.version)}"/>\n'
                    f'<string key="status" value="{_attr(case.status)}"/>\n',
                    *_timeline(case, tasks, event), "</trace>\n"))


def events_xes(session: Session, scope: Scope, kind: str = "complaint") -> Iterator[str]:
    pieces, size = [XES_HEAD], len(XES_HEAD)
    texts = _XesPieces()
    for batch in case_batches(session, scope, kind):
        tasks = _task_rows(session, [row.id for row in batch])
        for case in batch:
            trace = _xes_trace(case, tasks[case.id], texts)
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

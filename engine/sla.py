"""SLA clocks: which calendar a team counts in, the helpers diagrams use in timer
expressions, the clock pause while waiting on the customer, and the escalation ladder
(reminder, breach, leadership) when a boundary timer fires."""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from .calendars import DEFAULT_CALENDAR, TEAM_CALENDARS, BusinessCalendar, default_calendar_of, get_calendar
from .i18n import COMPANY_ZONE, N_, local_time, one_line, translator, zone_or_none
from .models import ClosedDay, Department, HumanTask, Notification, User
from .prepared import Prepared, insert_rows
from .extensions import task_property
from . import mailer, sla_mail

CUSTOMER_SERVICE = "customer_service"
SLA_STAGES = {"reminder": "reminded_at", "breach": "breached_at", "escalation": "escalated_at"}
NOTICE_SUBJECTS = {
    "reminder": (N_("Reminder: %(task)s on %(ticket)s"),
                 N_("Reminder: %(task)s on %(ticket)s (due %(due)s)")),
    "breach": (N_("Overdue: %(task)s on %(ticket)s"),
               N_("Overdue: %(task)s on %(ticket)s (due %(due)s)")),
    "escalation": (N_("Escalated: %(task)s on %(ticket)s"),
                   N_("Escalated: %(task)s on %(ticket)s (due %(due)s)")),
}


def notice_message(stage: str, row, ticket: str) -> tuple[str, dict]:
    """The notice as a catalog message and values, for readers of any language and zone
    (engine.notifications.text_of)."""
    bare, with_due = NOTICE_SUBJECTS[stage]
    values = {"task": one_line(row.title), "ticket": ticket}
    if row.due_at is None:
        return bare, values
    return with_due, {**values, "due": row.due_at.isoformat()}


def notice_subject(session: Session, message_id: str, values: dict, due_at,
                   user_id: Optional[int]) -> str:
    """The stored subject: for one person in their language and zone; for a team in the
    company's (its members may read different languages)."""
    user = session.get(User, user_id) if user_id is not None else None
    translate = translator(user.locale if user is not None else None)
    zone = zone_or_none(user.timezone if user is not None else None) or COMPANY_ZONE
    task = translate(values["task"])
    shown = {**values, "task": task}
    if due_at is not None:
        shown["due"] = f"{local_time(due_at, zone)} {zone.key}"
    return translate(message_id, **shown)


class CalendarBook:
    """Which business calendar each team works on, with the admin's closed days.

    Read from the database and kept for a short while: timer expressions evaluate inside
    engine steps, which must not each query the directory.
    """

    def __init__(self, db, ttl_seconds: float = 60.0):
        self.db = db
        self.ttl = ttl_seconds
        self._loaded_at = -1e9
        self._team_calendar: dict[str, str] = {}
        self._calendars: dict[str, BusinessCalendar] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self._loaded_at = -1e9

    def _load(self) -> None:
        with self.db.read() as session:
            teams = dict(session.execute(select(Department.code, Department.calendar)).all())
            closed: dict[str, list] = {}
            opened: dict[str, list] = {}
            for name, day, is_open in session.execute(
                    select(ClosedDay.calendar, ClosedDay.day, ClosedDay.is_open)):
                (opened if is_open else closed).setdefault(name, []).append(day)
        names = set(teams.values()) | set(TEAM_CALENDARS.values()) | {DEFAULT_CALENDAR}
        calendars = {name: get_calendar(name, closed.get(name, ()), opened.get(name, ()))
                     for name in names}
        with self._lock:
            self._team_calendar, self._calendars = teams, calendars
            self._loaded_at = time.monotonic()

    def for_team(self, department: Optional[str]) -> BusinessCalendar:
        if time.monotonic() - self._loaded_at > self.ttl:
            self._load()
        team = department or CUSTOMER_SERVICE
        name = self._team_calendar.get(team) or default_calendar_of(team)
        return self._calendars.get(name) or get_calendar(name)


    def company(self) -> BusinessCalendar:
        """The company's working calendar with the admin's days, for figures that compare
        teams (statistics) rather than time one team's step."""
        if time.monotonic() - self._loaded_at > self.ttl:
            self._load()
        return self._calendars.get(DEFAULT_CALENDAR) or get_calendar(DEFAULT_CALENDAR)


def _aware(value) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(
        str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"a time without its time zone: {value!r}")
    return moment


def script_helpers(book: CalendarBook, clock: Callable[[], dt.datetime]) -> dict:
    """Functions diagram expressions may call; each returns an aware ISO timestamp (or, for
    `later_than`, whether one time follows another)."""

    def sla_due(received_at, hours, fraction=1.0, department=None, paused_seconds=0) -> str:
        """When a step counted from receipt falls due: `hours` of the team's business time
        (times `fraction`, e.g. 0.75 for the reminder), plus the time paused on the
        customer."""
        calendar = book.for_team(department)
        business = dt.timedelta(hours=float(hours) * float(fraction),
                                seconds=float(paused_seconds or 0))
        return calendar.add(_aware(received_at), business).isoformat()

    def business_due(start, duration, department=None) -> str:
        """`duration` (ISO 8601, days are working days) of the team's business time after
        `start`."""
        return book.for_team(department).add(_aware(start), duration).isoformat()

    def hours_from_now(hours) -> str:
        """Wall-clock hours from now (not business time)."""
        return (clock() + dt.timedelta(hours=float(hours))).isoformat()

    def due_in(hours, fraction=1.0, department=None) -> str:
        """`hours` (times `fraction`) of the team's business time from now: for steps whose
        clock starts when they open (a CAPA plan within 8 working hours)."""
        business = dt.timedelta(hours=float(hours) * float(fraction))
        return book.for_team(department).add(clock(), business).isoformat()

    def days_due_in(days, fraction=1.0, department=None) -> str:
        """`days` working days (times `fraction`) of the team's calendar from now: for steps
        the procedure gives in days (003: a report within 3 days, an opinion within 1)."""
        calendar = book.for_team(department)
        business = calendar.working_day_length() * (float(days) * float(fraction))
        return calendar.add(clock(), business).isoformat()

    def now_iso() -> str:
        return clock().isoformat()

    def later_than(moment, limit) -> bool:
        """Whether `moment` comes after `limit`, whatever zones the two are written in."""
        return _aware(moment) > _aware(limit)

    return {"sla_due": sla_due, "business_due": business_due, "hours_from_now": hours_from_now,
            "due_in": due_in, "days_due_in": days_due_in, "now_iso": now_iso,
            "later_than": later_than}


def timer_due(task) -> Optional[dt.datetime]:
    """When a waiting timer task fires, from the value SpiffWorkflow fixed on arrival."""
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(value, dict):  # a cycle timer keeps its next occurrence
        value = value.get("next")
    return TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None


def next_due_of(waiting: list) -> Optional[dt.datetime]:
    """The earliest firing time among these waiting tasks' timers."""
    dues = [timer_due(t) for t in waiting
            if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]
    dues = [d for d in dues if d is not None]
    return min(dues) if dues else None


def _attached_task(boundary_task):
    """The activity a boundary event belongs to: its sibling under the event split that is
    not itself a boundary event."""
    split = boundary_task.parent
    for sibling in split.children if split is not None else []:
        if not isinstance(sibling.task_spec, BoundaryEvent):
            return sibling
    return None


def breach_due(user_task) -> Optional[dt.datetime]:
    """The due time of a user task: its breach timer's firing time, also once it fired (a
    case registered late reaches its steps past their deadlines, and a deadline stays a
    deadline after it was missed)."""
    for sibling in user_task.parent.children if user_task.parent else []:
        if task_property(sibling.task_spec, "slaEvent") == "breach" and \
                sibling.state in (TaskState.WAITING, TaskState.COMPLETED):
            return timer_due(sibling)
    return None


def paused_seconds(book: CalendarBook, department: Optional[str], since: dt.datetime,
                   until: dt.datetime) -> float:
    return book.for_team(department).elapsed(since, until).total_seconds()


_TASKS = HumanTask.__table__
# Built once: timer workers run these for every case whose timers fire.
_FIRED_ROWS = select(_TASKS.c.id, _TASKS.c.name, _TASKS.c.title, _TASKS.c.role,
                     _TASKS.c.assignee_id, _TASKS.c.department_code, _TASKS.c.due_at,
                     *(_TASKS.c[mark] for mark in SLA_STAGES.values())).where(
    _TASKS.c.id.in_(bindparam("ids", expanding=True)))
_MARKS = tuple(SLA_STAGES.values())
# Marks of stages not reached in this step keep their value.
_MARK_FIRED = Prepared(update(_TASKS).where(_TASKS.c.id == bindparam("task_id")).values(
    {_TASKS.c[mark]: func.coalesce(bindparam(f"fired_{mark}", type_=_TASKS.c[mark].type),
                                   _TASKS.c[mark])
     for mark in _MARKS}))


def apply_fired(session: Session, instance_id: int, ticket: str, finished: list,
                now: dt.datetime) -> list[str]:
    """Mark the tasks whose SLA timers fired in this step and notify up the ladder.

    Returns the stages applied, in due order (for the audit trail).
    """
    effects = fired_effects(session, instance_id, ticket, finished, now)
    effects.write(session)
    mailer.queue_many(session, effects.mails)
    return effects.applied


@dataclass
class FiredEffects:
    """What SLA timers that fired in a step change: read first, written later with the
    step's other writes (see `write`; the mails go with the step's other mails)."""
    applied: list = field(default_factory=list)  # "stage:task", in due order
    marks: dict = field(default_factory=dict)    # task id -> {mark column: now}
    notices: list = field(default_factory=list)
    mails: list = field(default_factory=list)

    def write(self, session: Session) -> None:
        write_all(session, [self])


def write_all(session: Session, effects: list[FiredEffects]) -> None:
    """The effects of one step or several (a timer worker's group): the marks in one
    statement run for each task, the notices in one insert (no id is read back, so both
    can go in a batch)."""
    marks = [{"task_id": task_id, **{f"fired_{mark}": values.get(mark) for mark in _MARKS}}
             for each in effects for task_id, values in each.marks.items()]
    notices = [notice for each in effects for notice in each.notices]
    connection = session.connection()
    _MARK_FIRED.run_many(connection, marks)
    insert_rows(connection, Notification.__table__, notices)


def fired_timers(finished: list, now: dt.datetime) -> list[tuple]:
    """The SLA timers among the tasks a step finished, as (due, stage, timer task, the
    task it is attached to), in the order the step finished them."""
    fired = []
    for task in finished:
        stage = task_property(task.task_spec, "slaEvent")
        if stage not in SLA_STAGES:
            continue
        attached = _attached_task(task)
        if attached is None:
            continue
        fired.append((timer_due(task) or now, stage, task, attached))
    return fired


def attached_ids(fired: list) -> set[str]:
    """The task rows the effects of these fired timers read (see `fired_rows`)."""
    return {str(attached.id) for _due, _stage, _task, attached in fired}


def fired_rows(session: Session, ids) -> dict:
    """The task rows of these ids, by id, as `effects_of` reads them."""
    if not ids:
        return {}
    return {r.id: r for r in session.connection().execute(_FIRED_ROWS, {"ids": sorted(ids)})}


def fired_effects(session: Session, instance_id: int, ticket: str, finished: list,
                  now: dt.datetime, people=None) -> FiredEffects:
    """The marks, notices and mails of the SLA timers among the tasks a step finished.
    `people(notice)` gives a notice's recipients (a timer worker caches them per group)."""
    fired = fired_timers(finished, now)
    if not fired:
        return FiredEffects()
    rows = fired_rows(session, attached_ids(fired))
    return effects_of(session, instance_id, ticket, fired, rows, now, people)


def effects_of(session: Session, instance_id: int, ticket: str, fired: list, rows: dict,
               now: dt.datetime, people=None) -> FiredEffects:
    """The effects of `fired` (from `fired_timers`), given their task rows (`fired_rows`,
    which may hold other cases' rows too: a timer worker reads a group's rows at once)."""
    effects = FiredEffects()
    for due, stage, task, attached in sorted(fired, key=lambda f: f[0]):
        row = rows.get(str(attached.id))
        if row is None:
            continue
        effects.marks.setdefault(row.id, {})[SLA_STAGES[stage]] = now
        role = task_property(task.task_spec, "notifyRole") or ""
        recipient = {"recipient_role": role, "recipient_user_id": None,
                     "recipient_department": None}
        if role == "@assignee":
            recipient.update(recipient_role=None if row.assignee_id else row.role,
                             recipient_user_id=row.assignee_id,
                             recipient_department=None if row.assignee_id else row.department_code)
        elif role in ("dept_head", "dept_handler"):
            recipient["recipient_department"] = row.department_code
        message_id, values = notice_message(stage, row, ticket)
        subject = notice_subject(session, message_id, values, row.due_at,
                                 recipient["recipient_user_id"])
        notice = {"instance_id": instance_id, "subject": subject[:255], "body": subject,
                  "created_at": now, "kind": f"sla_{stage}", "message_id": message_id,
                  "message_values": values, **recipient}
        effects.notices.append(notice)
        # One mail per stage and task, even if the stage's timer were to fire again.
        if getattr(row, SLA_STAGES[stage]) is None:
            effects.mails += sla_mail.mails_for(session, notice, row.id, row.due_at, now,
                                                people)
        effects.applied.append(f"{stage}:{row.name}")
    return effects

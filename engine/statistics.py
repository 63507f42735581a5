"""Supervision statistics: the monthly and quarterly figures the procedure asks for (000,
003), for any period, overall and per department.

Every figure is about the complaints registered in the period (the days run midnight to
midnight in the company's zone, as on the case list): how many, of which type, channel,
urgency and path; how their steps kept their deadlines; how long they took to close in
business hours; what the customers said at the follow-up visit; which came from a
customer who had complained within the 90 days before; how often customers rejected a
solution and how often a step was escalated. Improvement projects count by the day they
started.

`compute` is a pure function of the database rows, the period, the department and the
moment it is asked (`as_of`: a step still open past its deadline is late from then on).
engine/statistics_cases.py gives the cases behind a figure to the case search, computed
the same way, so that a figure and its list of cases always agree.

Everything reads columns of the case and task tables (the period's cases found by their
index), aggregated in SQL: what a task's form recorded (urgency, satisfaction, the
customer's rejections) and whether a complaint is a repeat are columns of the case that
each step keeps (engine/case_facts.py), never the serialized workflows or the audit
trail's JSON.
"""
from __future__ import annotations

import bisect
import datetime as dt
import functools
import statistics as pystats
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Iterable, Optional

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from . import case_facts
from .calendars import BusinessCalendar
from .closing import IMPROVEMENT_PROCESS
from .errors import Forbidden, ServiceError
from .form_values import EARLIEST_DAY, LATEST_DAY
from .i18n import COMPANY_ZONE, Message, N_
from .models import HumanTask, ProcessInstance, ProcessVersion
from .services import COMPLAINT_PROCESS

# Who reads the statistics and exports: the supervision roles of the procedure (the
# supervision department and compliance), customer service's heads, who answer for the
# on-time rates, the general manager's office, which reviews last month's cases, and
# admins.
STATISTICS_ROLES = frozenset({"compliance", "supervisor", "cs_supervisor", "cs_director",
                              "gm_office", "admin"})

REPEAT_WINDOW = case_facts.REPEAT_WINDOW
MAX_PERIOD_DAYS = 3700  # ten years: longer asks are mistakes, and slow
# The step a case reaches when the customer rejected the solution three times.
REJECTION_ESCALATION_STEP = "handle_rejections"

SATISFACTION_LEVELS = ("satisfied", "fairly_satisfied", "not_satisfied")
URGENCIES = ("urgent", "normal", "minor")
NOT_CLASSIFIED = ""

# The team a task without a department belongs to, by the role that works it.
ROLE_TEAM = {"cs_agent": "customer_service", "cs_supervisor": "customer_service",
             "cs_director": "customer_service", "gm_office": "gm_office",
             "leadership": "leadership", "supervisor": "supervisor"}


def team_of(role: Optional[str], department: Optional[str]) -> str:
    return department or ROLE_TEAM.get(role or "", role or "")


# --------------------------------------------------------------------------- periods

@dataclass(frozen=True)
class Period:
    """Whole days, `first` to `last` inclusive, in the company's zone."""

    first: dt.date
    last: dt.date

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls(first, following - dt.timedelta(days=1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> "Period":
        if quarter not in (1, 2, 3, 4):
            raise ServiceError(N_("A quarter is 1, 2, 3 or 4."))
        first = cls.month(year, 3 * quarter - 2)
        return cls(first.first, cls.month(year, 3 * quarter).last)

    @classmethod
    def containing(cls, moment: dt.datetime, kind: str = "month") -> "Period":
        day = moment.astimezone(COMPANY_ZONE).date()
        if kind == "quarter":
            return cls.quarter(day.year, (day.month - 1) // 3 + 1)
        return cls.month(day.year, day.month)

    @classmethod
    def parse(cls, first: Optional[str], last: Optional[str]) -> "Period":
        """From two YYYY-MM-DD texts; a clear error for anything else."""
        days = []
        for name, text in (("from", first), ("to", last)):
            if not text:
                raise ServiceError(Message(N_("Give the period as %(name)s=YYYY-MM-DD."),
                                           name=name))
            try:
                day = dt.date.fromisoformat(text.strip())
            except ValueError:
                raise ServiceError(Message(N_("%(name)s is not a date (YYYY-MM-DD): "
                                              "%(value)s"), name=name,
                                           value=text[:40])) from None
            if not EARLIEST_DAY <= day <= LATEST_DAY:
                raise ServiceError(Message(N_("%(name)s must be between %(first)s and "
                                              "%(last)s."), name=name, first=EARLIEST_DAY,
                                           last=LATEST_DAY))
            days.append(day)
        period = cls(*days)
        if period.last < period.first:
            raise ServiceError(N_("The period ends before it starts."))
        if period.days > MAX_PERIOD_DAYS:
            raise ServiceError(N_("Ask for at most ten years at a time."))
        return period

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as a half-open range of UTC times."""
        return (_midnight(self.first), _midnight(self.last + dt.timedelta(days=1)))

    def as_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), COMPANY_ZONE).astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class Scope:
    """The complaints a figure is about: registered from `start` (inclusive) to `end`
    (exclusive), either open-ended, of one department or all."""

    start: Optional[dt.datetime] = None
    end: Optional[dt.datetime] = None
    department: Optional[str] = None

    @classmethod
    def of(cls, period: Optional[Period], department: Optional[str] = None) -> "Scope":
        start, end = period.bounds() if period else (None, None)
        return cls(start, end, department or None)

    @classmethod
    def of_days(cls, since: Optional[dt.date], until: Optional[dt.date],
                department: Optional[str] = None) -> "Scope":
        """The case list's date filters: either day may be missing."""
        clamp = lambda day: min(max(day, EARLIEST_DAY), LATEST_DAY)  # noqa: E731
        return cls(_midnight(clamp(since)) if since else None,
                   _midnight(clamp(until) + dt.timedelta(days=1)) if until else None,
                   department or None)

    def conditions(self, cases=ProcessInstance) -> list:
        found = []
        if self.start is not None:
            found.append(cases.created_at >= self.start)
        if self.end is not None:
            found.append(cases.created_at < self.end)
        if self.department:
            found.append(cases.department_code == self.department)
        return found


def _cases_of(process_id: str):
    return ProcessInstance.version_id.in_(
        select(ProcessVersion.id).where(ProcessVersion.process_id == process_id)
        .scalar_subquery())


def complaints():
    """Cases of the complaint process: not the overseas inquiries and technical problems,
    whose customers have a status link too, nor petitions or monthly reviews."""
    return _cases_of(COMPLAINT_PROCESS)


def improvements():
    return _cases_of(IMPROVEMENT_PROCESS)


# --------------------------------------------------------------------------- figures

@dataclass(frozen=True)
class OnTime:
    """Steps with a deadline that were done, or are overdue: how many kept it."""

    key: str
    title: str
    decided: int = 0
    on_time: int = 0

    @property
    def late(self) -> int:
        return self.decided - self.on_time

    @property
    def rate(self) -> Optional[float]:
        return self.on_time / self.decided if self.decided else None

    def as_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "decided": self.decided,
                "on_time": self.on_time, "late": self.late, "rate": self.rate}


@dataclass(frozen=True)
class Durations:
    """Business hours from receipt to close of the closed complaints."""

    count: int = 0
    median_hours: Optional[float] = None
    p90_hours: Optional[float] = None

    @classmethod
    def of(cls, hours: list[float]) -> "Durations":
        if not hours:
            return cls()
        ordered = sorted(hours)
        return cls(len(ordered), pystats.median(ordered), percentile(ordered, 0.9))


def percentile(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (what spreadsheets and numpy call
    the inclusive percentile)."""
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Satisfaction:
    """What customers said at the follow-up visit (the last visit of each complaint)."""

    visits: int = 0
    levels: dict = field(default_factory=dict)  # level -> complaints
    scored: int = 0
    mean_score: Optional[float] = None

    @property
    def satisfied_rate(self) -> Optional[float]:
        """Satisfied or fairly satisfied, of all visits (the procedure's 满意率)."""
        if not self.visits:
            return None
        return (self.levels.get("satisfied", 0)
                + self.levels.get("fairly_satisfied", 0)) / self.visits

    def as_dict(self) -> dict:
        return {"visits": self.visits, "levels": dict(self.levels), "scored": self.scored,
                "mean_score": self.mean_score, "satisfied_rate": self.satisfied_rate}


@dataclass(frozen=True)
class DepartmentFigures:
    """One department's complaints ("" for those not dispatched yet)."""

    department: str
    received: int = 0
    closed: int = 0
    handling: Durations = field(default_factory=Durations)
    on_time: OnTime = field(default_factory=lambda: OnTime("", ""))
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    repeats: int = 0
    rejections: int = 0
    escalated_steps: int = 0

    def as_dict(self) -> dict:
        return {"department": self.department, "received": self.received,
                "closed": self.closed, "handling": asdict(self.handling),
                "on_time": self.on_time.as_dict(),
                "satisfaction": self.satisfaction.as_dict(), "repeats": self.repeats,
                "rejections": self.rejections, "escalated_steps": self.escalated_steps}


@dataclass(frozen=True)
class Statistics:
    period: Period
    department: Optional[str]
    as_of: dt.datetime
    received: int
    by_status: dict
    by_type: dict
    by_channel: dict
    by_urgency: dict      # NOT_CLASSIFIED for complaints not classified yet
    by_path: dict         # "" for complaints whose path is not decided yet
    on_time: OnTime
    on_time_by_step: list[OnTime]
    on_time_by_team: list[OnTime]
    handling: Durations
    satisfaction: Satisfaction
    repeat_complaints: int
    improvements_open: int
    improvements_done: int
    rejections: int            # times a customer rejected a solution or a CAPA plan
    rejected_complaints: int   # complaints with at least one rejection
    escalated_steps: int       # steps whose deadline ladder reached its last stage
    escalated_complaints: int
    breached_steps: int        # steps whose breach notice went out
    rejection_escalations: int  # complaints escalated after the third rejection
    by_department: list[DepartmentFigures]

    def as_dict(self) -> dict:
        return {
            "period": self.period.as_dict(), "department": self.department,
            "as_of": self.as_of.isoformat(), "received": self.received,
            "by_status": self.by_status, "by_type": self.by_type,
            "by_channel": self.by_channel, "by_urgency": self.by_urgency,
            "by_path": self.by_path, "on_time": self.on_time.as_dict(),
            "on_time_by_step": [s.as_dict() for s in self.on_time_by_step],
            "on_time_by_team": [t.as_dict() for t in self.on_time_by_team],
            "handling": asdict(self.handling), "satisfaction": self.satisfaction.as_dict(),
            "repeat_complaints": self.repeat_complaints,
            "improvements": {"open": self.improvements_open, "done": self.improvements_done},
            "rejections": self.rejections, "rejected_complaints": self.rejected_complaints,
            "escalations": {"steps": self.escalated_steps,
                            "complaints": self.escalated_complaints,
                            "breached_steps": self.breached_steps,
                            "after_rejections": self.rejection_escalations},
            "by_department": [d.as_dict() for d in self.by_department],
        }


# --------------------------------------------------------------------------- business time

class BusinessClock:
    """Working seconds between two moments on one calendar, in constant time per pair:
    a running total of working seconds at each day's opening, built once for the days
    asked about (a month's thousands of closed complaints would otherwise walk their
    days one by one)."""

    def __init__(self, calendar: BusinessCalendar, first: dt.date, last: dt.date):
        self.calendar = calendar
        self.first = first - dt.timedelta(days=1)
        self._openings: list[dt.datetime] = []
        self._windows: list[tuple[dt.datetime, dt.datetime, float]] = []
        total = 0.0
        day = self.first
        while day <= last + dt.timedelta(days=1):
            if calendar.is_working_day(day):
                opening, closing = calendar.working_window(day)
                self._openings.append(opening)
                self._windows.append((opening, closing, total))
                total += (closing - opening).total_seconds()
            day += dt.timedelta(days=1)
        self._low = self._windows[0][0] if self._windows else None
        self._high = self._windows[-1][1] if self._windows else None

    def _worked(self, moment: dt.datetime) -> float:
        index = bisect.bisect_right(self._openings, moment) - 1
        if index < 0:
            return 0.0
        opening, closing, before = self._windows[index]
        return before + (min(moment, closing) - opening).total_seconds()

    def hours(self, start: dt.datetime, end: dt.datetime) -> float:
        if end <= start:
            return 0.0
        if self._low is None or start < self._low or end > self._high:
            return self.calendar.elapsed(start, end).total_seconds() / 3600
        return (self._worked(end) - self._worked(start)) / 3600


# --------------------------------------------------------------------------- reading

def tasks_exist(*conditions):
    """Cases with a task meeting the conditions (a condition on the case table)."""
    return (select(HumanTask.id).where(HumanTask.instance_id == ProcessInstance.id,
                                       *conditions).exists())


def late_condition(now: dt.datetime, tasks=HumanTask):
    """A step with a deadline done after it, or still open past it."""
    return and_(tasks.due_at.is_not(None), or_(
        and_(tasks.state == "completed", tasks.completed_at > tasks.due_at),
        and_(tasks.state == "ready", tasks.due_at < now)))


def _decided(now: dt.datetime, tasks=HumanTask):
    return and_(tasks.due_at.is_not(None), or_(
        tasks.state == "completed", and_(tasks.state == "ready", tasks.due_at < now)))


def _on_time(tasks=HumanTask):
    return and_(tasks.due_at.is_not(None), tasks.state == "completed",
                tasks.completed_at <= tasks.due_at)


def compute(session: Session, period: Period, department: Optional[str] = None, *,
            calendar: BusinessCalendar, as_of: dt.datetime) -> Statistics:
    """Every figure for the complaints registered in `period` (of one department, or
    all), as of `as_of`; handling times count in `calendar`'s business hours."""
    scope = Scope.of(period, department)
    in_scope = [complaints(), *scope.conditions()]

    # Counts by category, per department: one grouped read of the case table.
    by = {name: defaultdict(Counter) for name in ("status", "type", "channel", "path")}
    received: Counter = Counter()
    columns = (ProcessInstance.department_code, ProcessInstance.status,
               ProcessInstance.complaint_type, ProcessInstance.channel, ProcessInstance.path)
    for dept, status, ctype, channel, path, count in session.execute(
            select(*columns, func.count()).where(*in_scope).group_by(*columns)):
        dept = dept or ""
        received[dept] += count
        for name, value in (("status", status), ("type", ctype), ("channel", channel),
                            ("path", path)):
            by[name][dept][value or ""] += count

    # Handling time of the closed ones, in business hours from receipt to close.
    closed_rows = session.execute(
        select(ProcessInstance.department_code, ProcessInstance.received_at,
               ProcessInstance.created_at, ProcessInstance.closed_at)
        .where(*in_scope, ProcessInstance.status == "closed",
               ProcessInstance.closed_at.is_not(None))).all()
    hours: dict[str, list[float]] = defaultdict(list)
    if closed_rows:
        starts = [r.received_at or r.created_at for r in closed_rows]
        clock = BusinessClock(calendar, min(starts).astimezone(calendar.zone).date(),
                              max(r.closed_at for r in closed_rows)
                              .astimezone(calendar.zone).date())
        for row, start in zip(closed_rows, starts):
            hours[row.department_code or ""].append(clock.hours(start, row.closed_at))

    # Deadlines kept, per step and team, and escalations: one grouped read of the tasks.
    # A cancelled step neither kept nor missed its deadline; its escalations happened.
    task_columns = (ProcessInstance.department_code, HumanTask.name, HumanTask.role,
                    HumanTask.department_code)
    steps: dict[str, list] = {}
    teams: dict[str, list] = {}
    dept_on_time: dict[str, list] = defaultdict(lambda: [0, 0])
    escalated: Counter = Counter()
    breached = rejection_escalations = 0
    for (dept, name, role, task_dept, title, first_seen, n_decided, n_on_time, n_escalated,
         n_breached, n_tasks) in session.execute(
            select(*task_columns, func.max(HumanTask.title), func.min(HumanTask.created_at),
                   func.count(case((_decided(as_of), 1))), func.count(case((_on_time(), 1))),
                   func.count(HumanTask.escalated_at), func.count(HumanTask.breached_at),
                   func.count())
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(*in_scope).group_by(*task_columns)):
        dept = dept or ""
        step = steps.setdefault(name, [title, first_seen, 0, 0])
        step[1] = min(step[1], first_seen)
        step[2] += n_decided
        step[3] += n_on_time
        team = teams.setdefault(team_of(role, task_dept), [0, 0])
        team[0] += n_decided
        team[1] += n_on_time
        dept_on_time[dept][0] += n_decided
        dept_on_time[dept][1] += n_on_time
        escalated[dept] += n_escalated
        breached += n_breached
        if name == REJECTION_ESCALATION_STEP:
            rejection_escalations += n_tasks
    escalated_complaints = session.execute(
        select(func.count()).select_from(ProcessInstance)
        .where(*in_scope, tasks_exist(HumanTask.escalated_at.is_not(None)))).scalar_one()

    # What the forms recorded and the repeat complaints, kept on the case rows.
    urgencies: Counter = Counter()
    visits: dict[str, _Visits] = defaultdict(_Visits)
    rejections: Counter = Counter()
    repeat_departments: Counter = Counter()
    rejected_complaints = 0
    fact_columns = (ProcessInstance.department_code, ProcessInstance.urgency,
                    ProcessInstance.satisfaction, ProcessInstance.satisfaction_score)
    for dept, urgency, level, score, count, n_rejections, n_rejected, n_repeats in \
            session.execute(select(*fact_columns, func.count(),
                                   func.sum(ProcessInstance.rejections),
                                   func.count(case((ProcessInstance.rejections > 0, 1))),
                                   func.count(case((ProcessInstance.repeat_complaint, 1))))
                            .where(*in_scope).group_by(*fact_columns)):
        dept = dept or ""
        if urgency:
            urgencies[urgency] += count
        if level:
            visits[dept].add(level, score, count)
        rejections[dept] += int(n_rejections or 0)
        rejected_complaints += n_rejected
        repeat_departments[dept] += n_repeats
    total = sum(received.values())
    urgencies[NOT_CLASSIFIED] += total - sum(urgencies.values())

    improvement_counts = dict(session.execute(
        select(ProcessInstance.status, func.count())
        .where(improvements(), *scope.conditions()).group_by(ProcessInstance.status)).all())

    def merged(name: str) -> dict:
        counter: Counter = Counter()
        for per_department in by[name].values():
            counter.update(per_department)
        return _ordered(counter)

    return Statistics(
        period=period, department=department or None, as_of=as_of, received=total,
        by_status=merged("status"), by_type=merged("type"), by_channel=merged("channel"),
        by_urgency=_ordered(urgencies, URGENCIES), by_path=merged("path"),
        on_time=OnTime("", "", sum(c[0] for c in dept_on_time.values()),
                       sum(c[1] for c in dept_on_time.values())),
        # Steps in the order cases first reached them.
        on_time_by_step=[OnTime(key, title, n, ok) for key, (title, _first, n, ok)
                         in sorted(steps.items(), key=lambda item: (item[1][1], item[0]))
                         if n],
        on_time_by_team=[OnTime(key, "", n, ok) for key, (n, ok) in sorted(teams.items())
                         if n],
        handling=Durations.of([h for per_department in hours.values()
                               for h in per_department]),
        satisfaction=_satisfaction(functools.reduce(_Visits.merge, visits.values(),
                                                    _Visits())),
        repeat_complaints=sum(repeat_departments.values()),
        improvements_open=improvement_counts.get("open", 0),
        improvements_done=improvement_counts.get("closed", 0),
        rejections=sum(rejections.values()), rejected_complaints=rejected_complaints,
        escalated_steps=sum(escalated.values()),
        escalated_complaints=escalated_complaints, breached_steps=breached,
        rejection_escalations=rejection_escalations,
        by_department=[DepartmentFigures(
            department=dept, received=received[dept],
            closed=by["status"][dept].get("closed", 0),
            handling=Durations.of(hours.get(dept, [])),
            on_time=OnTime(dept, "", *dept_on_time.get(dept, (0, 0))),
            satisfaction=_satisfaction(visits.get(dept)),
            repeats=repeat_departments.get(dept, 0), rejections=rejections.get(dept, 0),
            escalated_steps=escalated.get(dept, 0)) for dept in sorted(received)],
    )


def _ordered(counter: Counter, first: Iterable[str] = ()) -> dict:
    """Known values in their own order, then the rest by count; nothing with zero."""
    known = [v for v in first if counter.get(v)]
    rest = sorted((v for v in counter if v not in known and counter[v]),
                  key=lambda v: (-counter[v], v))
    return {v: counter[v] for v in known + rest}


@dataclass
class _Visits:
    """The follow-up visits of some complaints, as counts."""

    levels: Counter = field(default_factory=Counter)
    scored: int = 0
    score_sum: int = 0

    def add(self, level: str, score: Optional[int], count: int) -> None:
        self.levels[level] += count
        if score is not None:
            self.scored += count
            self.score_sum += score * count

    def merge(self, other: "_Visits") -> "_Visits":
        self.levels.update(other.levels)
        self.scored += other.scored
        self.score_sum += other.score_sum
        return self


def _satisfaction(visits: Optional[_Visits]) -> Satisfaction:
    if visits is None or not visits.levels:
        return Satisfaction()
    return Satisfaction(visits=sum(visits.levels.values()),
                        levels=_ordered(visits.levels, SATISFACTION_LEVELS),
                        scored=visits.scored,
                        mean_score=visits.score_sum / visits.scored if visits.scored else None)


# --------------------------------------------------------------------------- service

def may_read(actor) -> bool:
    return bool(actor is not None and actor.roles & STATISTICS_ROLES)


def require_reader(actor) -> None:
    if not may_read(actor):
        raise Forbidden(N_("Statistics and exports are for supervision, compliance, "
                           "customer service's heads, the general manager's office and "
                           "admins."))


def for_period(services, period: Period, department: Optional[str] = None) -> Statistics:
    """The figures as of now, handling times in the company's working calendar (the
    departments' effective working hours, 002), whichever calendar a team counts in."""
    with services.db.read() as session:
        return compute(session, period, department,
                       calendar=services.calendars.company(), as_of=services.now())

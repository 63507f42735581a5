"""The overseas support manager's monthly figures (004, supervision and rewards): for each
agent and for the whole support team, how fast customers got their first response, how
many cases were answered or solved, what customers said of the answers, how many cases
each agent took; and the month's proposed "customer service star" (客户服务之星).

The cases are the inquiries and technical problems registered in the month (its days in
the company's zone, as on the statistics page). A case is the agent's who gave its first
response (confirmed receipt of an inquiry, or helped remotely with a technical problem):
004 has the agent who received a question answer it and ask whether the answer satisfies.

- First response: business hours of the support team's calendar from receipt to the end
  of that step (the median), and the share given by the step's deadline (the SLA recorded
  on the task row). For the team, a first response still open past its deadline is late.
- Resolution rate: the cases answered (the final answer sent) or solved (the cause and
  solution explained), of the cases received (the team) or taken (an agent).
- Satisfaction: the customers' ratings of the answer (the rate_answer form), of the cases
  counted; satisfied means satisfied or fairly satisfied, as at the follow-up visit.

Like engine/statistics.py everything reads the case and task tables (the month's cases by
their index); only the ratings come from the audit trail's record of the customer's own
task completions, the one place the rating form's answer is kept.

The star (`star_of`): among agents who took at least STAR_MIN_CASES cases in the month,
the highest satisfied share; on a tie the higher share of first responses on time, then
more cases, then the shorter median first response, then the name. An agent without a
rating ranks below those with one. It is a proposal for the manager, who decides.
"""
from __future__ import annotations

import datetime as dt
import statistics as pystats
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from .calendars import BusinessCalendar
from .customers import CUSTOMER
from .errors import Forbidden
from .i18n import N_
from .models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion, User
from .statistics import (
    SATISFACTION_LEVELS, BusinessClock, OnTime, Period, Satisfaction, Scope,
)

METRICS_ROLES = frozenset({"support_manager", "admin"})
SUPPORT_TEAM = "overseas_support"
# Per support process: its first-response step and the step that answers or solves it.
STEPS = {"inquiry": ("first_response", "send_final_answer"),
         "technical_support": ("remote_help", "explain_solution")}
RATING_STEP = "rate_answer"
RATING_FIELD = "inquiry_satisfaction"
STAR_MIN_CASES = 5


@dataclass(frozen=True)
class Figures:
    """One agent's cases, or the whole team's."""

    cases: int = 0                  # received (team) or taken (agent)
    responses: int = 0              # first responses given
    median_response_hours: Optional[float] = None
    first_response: OnTime = field(default_factory=lambda: OnTime("", ""))
    resolved: int = 0
    satisfaction: Satisfaction = field(default_factory=Satisfaction)

    @property
    def resolution_rate(self) -> Optional[float]:
        return self.resolved / self.cases if self.cases else None


@dataclass(frozen=True)
class AgentFigures:
    username: str
    name: str
    figures: Figures


@dataclass(frozen=True)
class SupportMetrics:
    period: Period
    as_of: dt.datetime
    team: Figures
    agents: list[AgentFigures]   # by name
    star: Optional[AgentFigures]


@dataclass
class _Case:
    received: dt.datetime
    agent: Optional[tuple[str, str]] = None   # (username, name) of the first response
    hours: Optional[float] = None
    decided: bool = False                     # the first response's deadline is decided
    on_time: bool = False
    resolved: bool = False
    rating: Optional[str] = None


def may_read(actor) -> bool:
    return bool(actor is not None and actor.roles & METRICS_ROLES)


def require_reader(actor) -> None:
    if not may_read(actor):
        raise Forbidden(N_("The support metrics are for the overseas support manager and "
                           "admins."))


def _support_cases(period: Period):
    return [ProcessVersion.process_id.in_(STEPS), *Scope.of(period).conditions()]


def _read_cases(session: Session, period: Period, calendar: BusinessCalendar,
                as_of: dt.datetime) -> dict[int, _Case]:
    in_scope = _support_cases(period)
    cases = {row.id: _Case(received=row.received_at or row.created_at)
             for row in session.execute(
                 select(ProcessInstance.id, ProcessInstance.received_at,
                        ProcessInstance.created_at)
                 .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
                 .where(*in_scope))}
    if not cases:
        return cases
    first_steps = {first for first, _answer in STEPS.values()}
    answer_steps = {answer for _first, answer in STEPS.values()}
    worker = aliased(User)
    rows = session.execute(
        select(HumanTask.instance_id, HumanTask.name, HumanTask.state, HumanTask.due_at,
               HumanTask.completed_at, worker.username, worker.display_name)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
        .outerjoin(worker, worker.id == HumanTask.completed_by_id)
        .where(*in_scope, HumanTask.name.in_(first_steps | answer_steps),
               HumanTask.state != "cancelled")).all()
    done = [r.completed_at for r in rows if r.state == "completed" and r.completed_at]
    clock = BusinessClock(
        calendar, min(c.received for c in cases.values()).astimezone(calendar.zone).date(),
        max(done).astimezone(calendar.zone).date()) if done else None
    for row in rows:
        case = cases[row.instance_id]
        completed = row.state == "completed" and row.completed_at is not None
        if row.name in answer_steps:
            case.resolved = case.resolved or completed
            continue
        if completed:
            case.agent = (row.username, row.display_name) if row.username else None
            case.hours = clock.hours(case.received, row.completed_at)
        if row.due_at is not None and (completed or row.due_at < as_of):
            case.decided = True
            case.on_time = completed and row.completed_at <= row.due_at
    ratings = session.execute(
        select(AuditEvent.instance_id, AuditEvent.detail)
        .join(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
        .where(*in_scope, AuditEvent.kind == "task_completed",
               AuditEvent.actor == CUSTOMER.username)
        .order_by(AuditEvent.id))
    for instance_id, detail in ratings:
        detail = detail if isinstance(detail, dict) else {}
        data = detail.get("data")
        if detail.get("task") == RATING_STEP and isinstance(data, dict) \
                and data.get(RATING_FIELD) in SATISFACTION_LEVELS:
            cases[instance_id].rating = data[RATING_FIELD]
    return cases


def _figures(cases: list[_Case]) -> Figures:
    hours = [c.hours for c in cases if c.hours is not None]
    ratings = Counter(c.rating for c in cases if c.rating)
    return Figures(
        cases=len(cases), responses=len(hours),
        median_response_hours=pystats.median(hours) if hours else None,
        first_response=OnTime("", "", sum(c.decided for c in cases),
                              sum(c.on_time for c in cases)),
        resolved=sum(c.resolved for c in cases),
        satisfaction=Satisfaction(
            visits=sum(ratings.values()),
            levels={level: ratings[level] for level in SATISFACTION_LEVELS if ratings[level]}))


def star_of(agents: list[AgentFigures]) -> Optional[AgentFigures]:
    """The proposed customer service star (the rule is in the module's docstring)."""
    def rank(agent: AgentFigures):
        f = agent.figures
        satisfied, on_time = f.satisfaction.satisfied_rate, f.first_response.rate
        median = f.median_response_hours
        return (satisfied is None, -(satisfied or 0), on_time is None, -(on_time or 0),
                -f.cases, median if median is not None else float("inf"), agent.name)
    eligible = [a for a in agents if a.figures.cases >= STAR_MIN_CASES]
    return min(eligible, key=rank) if eligible else None


def compute(session: Session, period: Period, *, calendar: BusinessCalendar,
            as_of: dt.datetime) -> SupportMetrics:
    """The figures of the support cases registered in `period`, as of `as_of`; first
    responses count in `calendar`'s business hours."""
    cases = _read_cases(session, period, calendar, as_of)
    by_agent: dict[tuple[str, str], list[_Case]] = defaultdict(list)
    for case in cases.values():
        if case.agent:
            by_agent[case.agent].append(case)
    agents = sorted((AgentFigures(username, name, _figures(taken))
                     for (username, name), taken in by_agent.items()),
                    key=lambda a: (a.name, a.username))
    return SupportMetrics(period=period, as_of=as_of, team=_figures(list(cases.values())),
                          agents=agents, star=star_of(agents))


def for_month(services, period: Period) -> SupportMetrics:
    """The month's figures as of now, in the support team's calendar."""
    with services.db.read() as session:
        return compute(session, period, calendar=services.calendars.for_team(SUPPORT_TEAM),
                       as_of=services.now())

"""The rewards and penalties ledger (seeds 000 and 003).

Entries are proposed against a person or a team (department) and, except a best-team
award, a complaint: in the case's responsibility step, in the general manager's office's
monthly review, or by supervision. The general manager's office approves or rejects them;
nobody decides their own proposal. Points and money carry their sign (a fine is money the
person pays, a reward money they get), so that a person's month adds up.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Mapping, Optional

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from . import audit, periods
from .directory import Actor, departments, find_user
from .errors import AlreadyCompleted, Forbidden, NotFound
from .forms import FormInvalid
from .i18n import Message, N_
from .models import (
    Department, HumanTask, LedgerEntry, ProcessInstance, ProcessVersion, User,
)
from .services import COMPLAINT_PROCESS, Services
from .visibility import NO_SUCH_COMPLAINT, can_see


@dataclass(frozen=True)
class Kind:
    label: str
    reward: bool
    points: bool = False   # asks for performance points
    amount: bool = False   # asks for a sum of money
    team_only: bool = False
    person_only: bool = False


KINDS: dict[str, Kind] = {
    "warning": Kind(N_("Warning"), reward=False),
    "performance_points": Kind(N_("Performance points deducted"), reward=False, points=True),
    "fine": Kind(N_("Fine"), reward=False, amount=True),
    "job_change": Kind(N_("Job change"), reward=False, person_only=True),
    "reward_on_time": Kind(N_("Reward for on-time handling"), reward=True),
    "reward_innovation": Kind(N_("Reward for an innovative solution"), reward=True),
    "reward_satisfaction": Kind(N_("Reward for a satisfaction gain"), reward=True),
    "reward_best_team": Kind(N_("Best complaint-handling team"), reward=True, team_only=True),
}
SOURCES = {
    "responsibility": N_("Responsibility step"),
    "monthly_review": N_("Monthly review"),
    "supervision": N_("Supervision"),
}
STATUSES = {"proposed": N_("Proposed"), "approved": N_("Approved"), "rejected": N_("Rejected")}

PROPOSER_ROLES = frozenset({"gm_office", "supervisor", "cs_director", "dept_head"})
APPROVER_ROLES = frozenset({"gm_office"})
# Read every entry; a department head reads their department's.
READER_ROLES = frozenset({"gm_office", "supervisor", "compliance", "leadership",
                          "cs_director", "admin"})
DEPARTMENT_READER = "dept_head"
MAX_POINTS = 1000
MAX_AMOUNT = Decimal("1000000")
MAX_TEXT = 5000
_MONEY = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def may_read(actor: Actor) -> bool:
    return bool(actor.roles & READER_ROLES) or (
        DEPARTMENT_READER in actor.roles and bool(actor.department))


def may_propose(actor: Actor) -> bool:
    return bool(actor.roles & PROPOSER_ROLES)


def may_decide(actor: Actor) -> bool:
    return bool(actor.roles & APPROVER_ROLES)


def _only_own_department(actor: Actor) -> Optional[str]:
    """The department an actor is limited to (a department head), or None for all."""
    if actor.roles & READER_ROLES or actor.roles & (PROPOSER_ROLES - {DEPARTMENT_READER}):
        return None
    return actor.department or "-"


def require_reader(actor: Actor) -> None:
    if not may_read(actor):
        raise Forbidden(N_("The ledger is kept by the general manager's office and "
                           "supervision."))


# --------------------------------------------------------------------------- views

@dataclass(frozen=True)
class EntryView:
    id: int
    kind: str
    kind_label: str
    reward: bool
    ticket: Optional[str]
    person: Optional[str]          # username
    person_name: Optional[str]
    department: Optional[str]
    period: str
    points: Optional[int]
    amount: Optional[Decimal]      # yuan, signed
    reason: str
    source: str
    source_ticket: Optional[str]
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: Optional[str]
    decided_at: Optional[dt.datetime]
    decision_note: Optional[str]

    @property
    def who(self) -> str:
        return self.person_name or self.department or ""

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "reward": self.reward,
                "ticket": self.ticket, "person": self.person, "department": self.department,
                "period": self.period, "points": self.points,
                "amount": str(self.amount) if self.amount is not None else None,
                "reason": self.reason, "source": self.source,
                "source_ticket": self.source_ticket, "status": self.status,
                "proposed_by": self.proposed_by, "proposed_at": self.proposed_at.isoformat(),
                "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None,
                "decision_note": self.decision_note}


def _yuan(fen: Optional[int]) -> Optional[Decimal]:
    return None if fen is None else (Decimal(fen) / 100).quantize(Decimal("0.01"))


def view_of(row: LedgerEntry) -> EntryView:
    kind = KINDS.get(row.kind)
    return EntryView(
        id=row.id, kind=row.kind, kind_label=kind.label if kind else row.kind,
        reward=bool(kind and kind.reward), ticket=row.instance.ticket if row.instance else None,
        person=row.person.username if row.person else None,
        person_name=row.person.display_name if row.person else None,
        department=row.department_code, period=row.period, points=row.points,
        amount=_yuan(row.amount_fen), reason=row.reason, source=row.source,
        source_ticket=row.source_ticket, status=row.status,
        proposed_by=row.proposed_by.username, proposed_at=row.proposed_at,
        decided_by=row.decided_by.username if row.decided_by else None,
        decided_at=row.decided_at, decision_note=row.decision_note)


# --------------------------------------------------------------------------- proposing

def _text(values: Mapping, name: str, limit: int = 200) -> str:
    return str(values.get(name) or "").strip()[:limit + 1]


def _whole(text: str) -> Optional[int]:
    return int(text) if re.fullmatch(r"\d{1,7}", text) else None


def propose(services: Services, actor: Actor, values: Mapping) -> EntryView:
    """Record a proposal from form values (strings): kind, ticket, person (username),
    department (code), points, amount (yuan), reason, period (YYYY-MM), source,
    source_ticket. Raises FormInvalid naming each field to correct, Forbidden."""
    if not may_propose(actor):
        raise Forbidden(N_("Only the general manager's office, supervision, the "
                           "customer-service director and department heads propose "
                           "rewards and penalties."))
    errors: dict[str, Message] = {}
    kind_name = _text(values, "kind")
    kind = KINDS.get(kind_name)
    if kind is None:
        errors["kind"] = Message(N_("Choose what kind of entry this is."))
    source = _text(values, "source") or "supervision"
    if source not in SOURCES:
        errors["source"] = Message(N_("Choose where the proposal comes from."))
    period = periods.parse(_text(values, "period")) if _text(values, "period") else \
        periods.of(services.now())
    if period is None:
        errors["period"] = Message(N_("Give the month as YYYY-MM, e.g. 2026-11."))
    reason = str(values.get("reason") or "").strip()
    if not reason:
        errors["reason"] = Message(N_("Say why."))
    elif len(reason) > MAX_TEXT:
        errors["reason"] = Message(N_("Keep it under 5000 characters."))
    points = amount_fen = None
    points_text, amount_text = _text(values, "points"), _text(values, "amount")
    if points_text:
        points = _whole(points_text)
        if points is None or not 1 <= points <= MAX_POINTS:
            errors["points"] = Message(N_("Give the points as a whole number from 1 to "
                                          "%(most)s."), most=MAX_POINTS)
    elif kind is not None and kind.points:
        errors["points"] = Message(N_("Give the points deducted."))
    if amount_text:
        try:
            amount = Decimal(amount_text) if _MONEY.match(amount_text) else None
        except InvalidOperation:
            amount = None
        if amount is None or not Decimal("0.01") <= amount <= MAX_AMOUNT:
            errors["amount"] = Message(N_("Give the amount in yuan, at most 1,000,000, "
                                          "e.g. 200 or 49.50."))
        else:
            amount_fen = int(amount * 100)
    elif kind is not None and kind.amount:
        errors["amount"] = Message(N_("Give the amount of the fine."))
    if kind is not None and not kind.reward:
        points = -points if points else points
        amount_fen = -amount_fen if amount_fen else amount_fen

    with services.db.write() as session:
        instance = None
        ticket = _text(values, "ticket", 16)
        if ticket:
            instance = _complaint(session, actor, ticket)
            if instance is None:
                errors["ticket"] = Message(NO_SUCH_COMPLAINT)
        elif kind is not None and not kind.team_only:
            errors["ticket"] = Message(N_("Give the ticket of the complaint this is about."))
        person = None
        username = _text(values, "person", 64)
        if username:
            person = find_user(session, username)
            if person is None or not person.active:
                errors["person"] = Message(N_("Choose a person from the list."))
        department = _text(values, "department", 64) or None
        if department and session.execute(
                select(Department.id).where(Department.code == department)).first() is None:
            errors["department"] = Message(N_("Choose a department from the list."))
        if kind is not None:
            if kind.team_only and person is not None:
                errors["person"] = Message(N_("This award goes to a team, not a person."))
            if kind.team_only and not department:
                errors["department"] = Message(N_("Choose the team."))
            if kind.person_only and person is None and "person" not in errors:
                errors["person"] = Message(N_("A job change is for a person: choose one."))
            if not (person or department) and "person" not in errors and \
                    "department" not in errors:
                errors["person"] = Message(N_("Choose a person or a team."))
        if person is not None and not department and person.department is not None:
            department = person.department.code
        limited = _only_own_department(actor)
        if limited and not errors and department != limited:
            errors["department"] = Message(N_("A department head proposes for their own "
                                              "department only."))
        source_ticket = _text(values, "source_ticket", 16) or None
        if errors:
            raise FormInvalid(errors)
        row = LedgerEntry(
            kind=kind_name, instance_id=instance.id if instance is not None else None,
            user_id=person.id if person is not None else None, department_code=department,
            period=period, points=points, amount_fen=amount_fen, reason=reason,
            source=source, source_ticket=source_ticket, status="proposed",
            proposed_by_id=actor.id, proposed_at=services.now())
        session.add(row)
        session.flush()
        audit.record(session, "ledger_proposed", actor.username,
                     instance.id if instance is not None else None, entry=row.id,
                     entry_kind=kind_name, person=username or None, department=department,
                     period=period, points=points, amount_fen=amount_fen, source=source)
        return view_of(row)


def _complaint(session: Session, actor: Actor, ticket: str) -> Optional[ProcessInstance]:
    """A complaint (not an improvement project or a review) the actor may see."""
    instance = session.execute(
        select(ProcessInstance).join(ProcessVersion,
                                     ProcessInstance.version_id == ProcessVersion.id)
        .where(ProcessInstance.ticket == ticket,
               ProcessVersion.process_id == COMPLAINT_PROCESS)).scalar_one_or_none()
    if instance is None or not can_see(actor, instance, session):
        return None
    return instance


# --------------------------------------------------------------------------- deciding

def decide(services: Services, actor: Actor, entry_id: int, approve: bool,
           note: str = "") -> EntryView:
    """The general manager's office approves or rejects a proposal (a rejection says
    why). Raises Forbidden, NotFound, AlreadyCompleted, FormInvalid."""
    if not may_decide(actor):
        raise Forbidden(N_("Only the general manager's office approves rewards and "
                           "penalties."))
    note = (note or "").strip()
    if len(note) > MAX_TEXT:
        raise FormInvalid({"note": Message(N_("Keep it under 5000 characters."))})
    if not approve and not note:
        raise FormInvalid({"note": Message(N_("Say why the proposal is rejected."))})
    with services.db.write() as session:
        row = session.execute(select(LedgerEntry).where(LedgerEntry.id == entry_id)
                              .with_for_update(of=LedgerEntry)).unique().scalar_one_or_none()
        if row is None:
            raise NotFound(N_("No such ledger entry."))
        if row.status != "proposed":
            raise AlreadyCompleted(N_("This proposal has already been decided."))
        if row.proposed_by_id == actor.id:
            raise Forbidden(N_("Separation of duties: someone else must decide your own "
                               "proposal."))
        row.status = "approved" if approve else "rejected"
        row.decided_by_id = actor.id
        row.decided_at = services.now()
        row.decision_note = note or None
        session.flush()
        session.expire(row, ["decided_by"])
        audit.record(session, f"ledger_{row.status}", actor.username, row.instance_id,
                     entry=row.id, note=note or None)
        return view_of(row)


# --------------------------------------------------------------------------- reading

@dataclass(frozen=True)
class LedgerFilter:
    person: str = ""
    department: str = ""
    period: str = ""
    status: str = ""

    @classmethod
    def from_params(cls, params) -> "LedgerFilter":
        status = (params.get("status") or "").strip()
        return cls(person=(params.get("person") or "").strip()[:64],
                   department=(params.get("department") or "").strip()[:64],
                   period=periods.parse(params.get("period")) or "",
                   status=status if status in STATUSES else "")

    def params(self) -> dict[str, str]:
        return {k: v for k, v in (("person", self.person), ("department", self.department),
                                  ("period", self.period), ("status", self.status)) if v}


def entries(session: Session, actor: Actor, filters: LedgerFilter = LedgerFilter(),
            limit: int = 500) -> list[EntryView]:
    """Entries the actor may read, newest month first, then by person or team."""
    require_reader(actor)
    query = select(LedgerEntry).outerjoin(User, LedgerEntry.user_id == User.id)
    conditions = []
    limited = _only_own_department(actor)
    if limited:
        conditions.append(LedgerEntry.department_code == limited)
    if filters.person:
        conditions.append(User.username == filters.person)
    if filters.department:
        conditions.append(LedgerEntry.department_code == filters.department)
    if filters.period:
        conditions.append(LedgerEntry.period == filters.period)
    if filters.status:
        conditions.append(LedgerEntry.status == filters.status)
    rows = session.execute(
        query.where(*conditions)
        .order_by(LedgerEntry.period.desc(), LedgerEntry.department_code,
                  User.display_name, LedgerEntry.id).limit(limit)).unique().scalars()
    return [view_of(row) for row in rows]


@dataclass(frozen=True)
class Tally:
    """A person's (or a team's) approved entries in one month."""
    period: str
    person: Optional[str]
    person_name: Optional[str]
    department: Optional[str]
    rewards: int
    penalties: int
    points: int
    amount: Decimal

    @property
    def who(self) -> str:
        return self.person_name or self.department or ""


def tallies(views: list[EntryView]) -> list[Tally]:
    """Approved entries added up per month and person (or team, for a team's own)."""
    sums: dict[tuple, list] = {}
    for entry in views:
        if entry.status != "approved":
            continue
        key = (entry.period, entry.person, entry.person_name,
               None if entry.person else entry.department)
        total = sums.setdefault(key, [0, 0, 0, Decimal("0.00")])
        total[0 if entry.reward else 1] += 1
        total[2] += entry.points or 0
        total[3] += entry.amount or Decimal("0.00")
    return [Tally(period, person, name, department, *total)
            for (period, person, name, department), total in
            sorted(sums.items(), key=lambda item: (item[0][0], item[0][2] or item[0][3] or ""))]


def proposal_count(session: Session) -> int:
    return session.execute(select(func.count(LedgerEntry.id)).where(
        LedgerEntry.status == "proposed")).scalar_one()


def people(session: Session) -> list[tuple[str, str]]:
    """(username, name) of active staff with a department, for the proposal form."""
    return [(u.username, u.display_name) for u in session.execute(
        select(User).where(User.active.is_(True), User.department_id.is_not(None))
        .order_by(User.display_name)).scalars()]


def teams(session: Session) -> list[tuple[str, str]]:
    return [(d.code, d.name) for d in departments(session)]


# --------------------------------------------------------------------------- the review

RESPONSIBILITY_STEP = "assign_responsibility"


@dataclass(frozen=True)
class ClosedCase:
    ticket: str
    path: Optional[str]
    department: Optional[str]
    closed_at: dt.datetime
    decided: bool  # a responsibility decision or a ledger proposal exists


def closed_cases(session: Session, start: dt.datetime, end: dt.datetime) -> list[ClosedCase]:
    """The complaints closed in [start, end), each with whether its responsibility and
    penalty decision was taken: the responsibility step done (major path) or a ledger
    entry proposed for it that was not rejected."""
    decided_step = select(HumanTask.id).where(
        HumanTask.instance_id == ProcessInstance.id, HumanTask.name == RESPONSIBILITY_STEP,
        HumanTask.state == "completed").exists()
    in_ledger = select(LedgerEntry.id).where(
        LedgerEntry.instance_id == ProcessInstance.id,
        LedgerEntry.status != "rejected").exists()
    rows = session.execute(
        select(ProcessInstance.ticket, ProcessInstance.path, ProcessInstance.department_code,
               ProcessInstance.closed_at, or_(decided_step, in_ledger))
        .join(ProcessVersion, ProcessInstance.version_id == ProcessVersion.id)
        .where(ProcessVersion.process_id == COMPLAINT_PROCESS,
               ProcessInstance.status == "closed",
               and_(ProcessInstance.closed_at >= start, ProcessInstance.closed_at < end))
        .order_by(ProcessInstance.closed_at, ProcessInstance.ticket))
    return [ClosedCase(t, p, d, c, bool(decided)) for t, p, d, c, decided in rows]


# Steps whose task page offers to propose an entry for the case, and as what source.
PROPOSING_STEPS = {RESPONSIBILITY_STEP: "responsibility", "review_month": "monthly_review"}

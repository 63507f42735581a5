"""Reading the audit trail: events listed and filtered (a case's, or everyone's), and the
hash chains verified on demand with the first broken link named and explained.

Who may read it: compliance (reviews executed cases and their trails), the supervision
department (inspects any record, PROCEDURE.md) and administrators (sign-ins and admin
changes are theirs to watch). Not the customer-service supervisor: the trail lists their
own work and who looked at what; they keep the case history on the case page.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .directory import Actor
from .errors import Forbidden
from .form_values import EARLIEST_DAY, LATEST_DAY, storable_part
from .i18n import COMPANY_ZONE, N_, Message
from .models import AuditEvent, ProcessInstance
from .visibility import case_by_ticket

READER_ROLES = frozenset({"compliance", "supervisor", "admin"})

# Every kind of event the application records, by group, with its title.
KIND_GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "case": (N_("Case events"), {
        "complaint_filed": N_("Complaint registered"),
        "task_completed": N_("Task completed"),
        "task_claimed": N_("Task claimed"),
        "task_released": N_("Task released"),
        "task_reassigned": N_("Task reassigned"),
        "timers_fired": N_("Timers fired"),
        "case_closed": N_("Case closed"),
        "case_cancelled": N_("Case cancelled"),
        "case_withdrawn": N_("Withdrawn by the customer"),
        "improvement_started": N_("Improvement project started"),
        "petition_filed": N_("Petition filed"),
        "instance_restored": N_("Case restored"),
        "step_failed": N_("A step failed"),
        "scenario_started": N_("Scenario started"),
        "attachment_added": N_("Evidence added"),
        "attachments_purged": N_("Evidence deleted after retention"),
        "customer_message": N_("Message from the customer"),
        "customer_replied": N_("Reply to the customer"),
        "comment_added": N_("Internal comment"),
        "acknowledgement_skipped": N_("Acknowledgement not sent"),
    }),
    "views": (N_("Views of records"), {
        "case_viewed": N_("Case viewed"),
        "outbox_message_viewed": N_("E-mail viewed"),
        "outbox_attachment_downloaded": N_("E-mail attachment downloaded"),
    }),
    "deploys": (N_("Deployments"), {
        "process_deployed": N_("Process deployed"),
    }),
    "sign_in": (N_("Sign-ins"), {
        "login": N_("Signed in"),
        "login_failed": N_("Sign-in failed"),
        "sign_in_paused": N_("Sign-in paused after failures"),
    }),
    "admin": (N_("Administration"), {
        "user_created": N_("User created"),
        "user_updated": N_("User changed"),
        "password_changed": N_("Password changed"),
        "password_change_refused": N_("Password change refused"),
        "password_reset": N_("Password reset by an administrator"),
        "password_reset_requested": N_("Password reset link asked for"),
        "password_reset_link_sent": N_("Password reset link sent by an administrator"),
        "password_reset_by_link": N_("Password set through a reset link"),
        "accounts_imported": N_("Users or departments imported"),
        "user_deactivated": N_("User deactivated"),
        "calendar_day_set": N_("Calendar day set"),
        "department_calendar_set": N_("Department calendar set"),
        "department_created": N_("Department created"),
        "department_updated": N_("Department renamed"),
        "department_head_set": N_("Department head set"),
        "api_token_created": N_("API token created"),
        "api_token_revoked": N_("API token revoked"),
        "lookup_imported": N_("Lookup data imported"),
    }),
}
KIND_TITLES = {kind: title for _group, kinds in KIND_GROUPS.values() for kind, title in
               kinds.items()}
GROUP_PREFIX = "group:"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def may_read(actor: Optional[Actor]) -> bool:
    return actor is not None and bool(actor.roles & READER_ROLES)


def require_reader(actor: Optional[Actor]) -> None:
    if not may_read(actor):
        raise Forbidden(N_("Only compliance, the supervision department and administrators "
                           "read the audit trail."))


@dataclass
class AuditQuery:
    """Filters of the trail; empty ones do not filter. `kind` is a kind or
    "group:<name>"; `before`/`after` page by event id (newest first)."""

    kind: str = ""
    actor: str = ""
    ticket: str = ""
    since: Optional[dt.date] = None
    until: Optional[dt.date] = None  # inclusive
    before: Optional[int] = None
    after: Optional[int] = None

    @classmethod
    def from_params(cls, params) -> "AuditQuery":
        def day(name):
            try:
                return min(max(dt.date.fromisoformat(params.get(name, "")), EARLIEST_DAY),
                           LATEST_DAY)
            except ValueError:
                return None

        def event_id(name):
            value = params.get(name, "")
            return int(value) if value.isascii() and value.isdigit() and len(value) < 16 \
                else None
        return cls(kind=storable_part(params.get("kind", ""))[:80].strip(),
                   actor=storable_part(params.get("actor", ""))[:64].strip(),
                   ticket=storable_part(params.get("ticket", ""))[:16].strip(),
                   since=day("since"), until=day("until"),
                   before=event_id("before"), after=event_id("after"))

    def params(self) -> dict:
        """The filters as a page's query string has them (without the paging)."""
        values = {"kind": self.kind, "actor": self.actor, "ticket": self.ticket,
                  "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class EventRow:
    id: int
    at: dt.datetime
    kind: str
    title: str
    actor: Optional[str]
    ticket: Optional[str]
    chain: str
    detail: dict
    hash: str


@dataclass
class EventPage:
    rows: list[EventRow]
    newer: Optional[int]   # `after` for the page of newer events, if any
    older: Optional[int]   # `before` for the page of older events, if any


def _conditions(session: Session, query: AuditQuery) -> Optional[tuple[list, list[str]]]:
    """SQL conditions of the query besides its kinds, and the kinds it asks for (empty:
    any); None when it cannot match anything."""
    conditions, kinds = [], []
    if query.kind.startswith(GROUP_PREFIX):
        group = KIND_GROUPS.get(query.kind[len(GROUP_PREFIX):])
        if group is None:
            return None
        kinds = sorted(group[1])
    elif query.kind:
        kinds = [query.kind]
    if query.actor:
        conditions.append(AuditEvent.actor == query.actor)
    if query.ticket:
        instance_id = session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket == query.ticket)).scalar_one_or_none()
        if instance_id is None:
            return None
        conditions.append(AuditEvent.instance_id == instance_id)
    if query.since:
        conditions.append(AuditEvent.at >= dt.datetime.combine(query.since, dt.time(),
                                                               COMPANY_ZONE))
    if query.until:
        conditions.append(AuditEvent.at < dt.datetime.combine(
            query.until + dt.timedelta(days=1), dt.time(), COMPANY_ZONE))
    return conditions, kinds


def _page_ids(session: Session, conditions: list, kinds: list[str], newer_than: bool,
              count: int) -> list[int]:
    """The ids of the page's events, nearest the paging point first. Each kind is read
    through its own (kind, id) index and the lists merged: one query over several kinds
    would sort every event of them."""
    order = AuditEvent.id if newer_than else AuditEvent.id.desc()
    ids: list[int] = []
    for kind in kinds or [None]:
        where = conditions + ([AuditEvent.kind == kind] if kind is not None else [])
        ids += session.execute(select(AuditEvent.id).where(*where).order_by(order)
                               .limit(count)).scalars()
    return sorted(ids, reverse=not newer_than)[:count]


def events(session: Session, actor: Actor, query: AuditQuery,
           limit: int = PAGE_SIZE) -> EventPage:
    """Events matching the query, newest first, a page at a time (keyset paging on the
    event id: deep pages cost what the first one does)."""
    require_reader(actor)
    limit = min(max(1, limit), MAX_PAGE_SIZE)
    found_conditions = _conditions(session, query)
    if found_conditions is None:
        return EventPage([], None, None)
    conditions, kinds = found_conditions
    newer_than = query.after is not None
    if newer_than:
        conditions.append(AuditEvent.id > query.after)
    elif query.before is not None:
        conditions.append(AuditEvent.id < query.before)
    ids = _page_ids(session, conditions, kinds, newer_than, limit + 1)
    more = len(ids) > limit
    ids = sorted(ids[:limit], reverse=True)
    found = session.execute(
        select(AuditEvent, ProcessInstance.ticket)
        .outerjoin(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
        .where(AuditEvent.id.in_(ids)).order_by(AuditEvent.id.desc())).all() if ids else []
    rows = [EventRow(id=e.id, at=e.at, kind=e.kind, title=KIND_TITLES.get(e.kind, e.kind),
                     actor=e.actor, ticket=ticket, chain=e.chain, detail=e.detail or {},
                     hash=e.hash) for e, ticket in found]
    if not rows:
        return EventPage([], None, None)
    more_newer = more if newer_than else query.before is not None
    more_older = True if newer_than else more
    return EventPage(rows, newer=rows[0].id if more_newer else None,
                     older=rows[-1].id if more_older else None)


def actors(session: Session, limit: int = 500) -> list[str]:
    """Names that appear as actors, for the filter's suggestions."""
    return sorted(session.execute(select(AuditEvent.actor).where(
        AuditEvent.actor.is_not(None)).distinct().limit(limit)).scalars())


# --------------------------------------------------------------------------- verifying

@dataclass(frozen=True)
class BrokenLink:
    """The first broken link, as a person reads it."""

    chain: str
    problem: str
    event_id: Optional[int]
    previous_id: Optional[int]
    follows_id: Optional[int]
    ticket: Optional[str]
    kind: Optional[str]
    at: Optional[dt.datetime]
    explanation: Message

    def as_dict(self) -> dict:
        return {"chain": self.chain, "ticket": self.ticket, "event_id": self.event_id,
                "kind": self.kind, "at": self.at.isoformat() if self.at else None,
                "problem": self.problem, "previous_event_id": self.previous_id,
                "follows_event_id": self.follows_id, "explanation": str(self.explanation)}


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    chains: int
    events: int
    broken_chains: int
    first: Optional[BrokenLink]
    checked_at: dt.datetime

    def as_dict(self) -> dict:
        return {"intact": self.intact, "chains_checked": self.chains,
                "events_checked": self.events, "broken_chains": self.broken_chains,
                "first_broken": self.first.as_dict() if self.first else None,
                "checked_at": self.checked_at.isoformat()}


def explain(broken: audit.ChainBreak) -> Message:
    values = {"event": broken.event_id, "previous": broken.previous_id,
              "follows": broken.follows_id}
    if broken.problem == audit.ALTERED:
        return Message(N_("Event %(event)s was changed after it was written: its hash no "
                          "longer matches what it records."), **values)
    if broken.problem == audit.BROKEN_LINK:
        if broken.previous_id is None:
            return Message(N_("Event %(event)s should open its chain but links to an earlier "
                              "event: the events before it were deleted."), **values)
        if broken.follows_id is not None:
            return Message(N_("Event %(event)s does not follow event %(previous)s before it "
                              "but the earlier event %(follows)s: the events between them "
                              "were inserted behind the application's back, or this one "
                              "was."), **values)
        return Message(N_("Event %(event)s does not follow event %(previous)s before it: "
                          "events between them were deleted, or event %(previous)s was "
                          "changed and its hash recomputed."), **values)
    if broken.problem == audit.NO_HEAD:
        return Message(N_("The chain's head is missing: it was deleted behind the "
                          "application's back."))
    if broken.previous_id is None:
        return Message(N_("Every event of this chain was deleted."))
    return Message(N_("The chain ends at event %(previous)s, but its head records a later "
                      "event: the last events were deleted."), **values)


def _link(session: Session, broken: audit.ChainBreak) -> BrokenLink:
    event = session.get(AuditEvent, broken.event_id) if broken.event_id else None
    ticket = session.execute(select(ProcessInstance.ticket).where(
        ProcessInstance.id == broken.instance_id)).scalar_one_or_none() \
        if broken.instance_id is not None else None
    return BrokenLink(chain=broken.chain, problem=broken.problem, event_id=broken.event_id,
                      previous_id=broken.previous_id, follows_id=broken.follows_id,
                      ticket=ticket, kind=event.kind if event else None,
                      at=event.at if event else None, explanation=explain(broken))


def verify(session: Session, actor: Actor, now: dt.datetime,
           ticket: Optional[str] = None) -> ChainReport:
    """Every chain (or one case's), each up to its first broken link; the report names
    the first of those (lowest event id)."""
    require_reader(actor)
    if ticket is not None:
        instance = case_by_ticket(session, ticket)
        chain = audit.chain_for(instance.id)
        broken = audit.check_chain(session, chain)
        count = session.execute(select(func.count(AuditEvent.id)).where(
            AuditEvent.chain == chain)).scalar_one()
        return ChainReport(intact=broken is None, chains=1, events=count,
                           broken_chains=int(broken is not None),
                           first=_link(session, broken) if broken else None, checked_at=now)
    result = audit.check_all(session)
    first = result.first
    return ChainReport(intact=result.intact, chains=result.chains, events=result.events,
                       broken_chains=len(result.breaks),
                       first=_link(session, first) if first else None, checked_at=now)

"""The case search: every filter the staff list, compliance and the API offer, over the
indexed columns of the case table (never the serialized state), among the cases the
searcher may see. Pages go by number (offset) or, for the API, by an opaque cursor that
continues after the last case of the previous page (keyset: deep pages cost nothing more).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from . import statistics, statistics_cases
from .directory import Actor
from .errors import ServiceError
from .form_values import EARLIEST_DAY, LATEST_DAY, storable_part
from .intake import match_key
from .i18n import COMPANY_ZONE, N_, Message
from .models import HumanTask, ProcessInstance, ProcessVersion
from .visibility import visible_to

# Beyond this the offset would outgrow the database's integers; no search has so many pages.
MAX_PAGE = 100_000
MAX_OFFSET = 10_000_000
MAX_LIMIT = 200
STATUSES = ("open", "closed", "cancelled", "error")
PATHS = ("general", "major")
KINDS = ("complaint", "improvement", "all")
BREACHED = ("yes", "no")
# The date ranges: the parameter pairs and the case column each one bounds.
RANGES = {"since": ("created_at", "from"), "until": ("created_at", "to"),
          "closed_since": ("closed_at", "from"), "closed_until": ("closed_at", "to")}


class BadQuery(ServiceError):
    status = 400


@dataclass
class CaseQuery:
    """Filters of the case search; empty ones do not filter."""

    text: str = ""          # ticket or phone prefix, or part of the customer's name
    ticket: str = ""        # the ticket or its first digits (e.g. "2611": November 2026)
    customer: str = ""      # part of the name, a phone prefix, or the e-mail address
    complaint_type: str = ""
    channel: str = ""
    department: str = ""
    status: str = ""        # open | closed | cancelled | error
    path: str = ""          # general | major
    kind: str = "complaint"  # complaint | improvement | all
    breached: str = ""      # yes: a step missed its deadline | no: none did
    process: str = ""       # the process id
    version: Optional[int] = None  # its version number
    since: Optional[dt.date] = None         # registered, from (company time)
    until: Optional[dt.date] = None         # registered, to (inclusive)
    closed_since: Optional[dt.date] = None
    closed_until: Optional[dt.date] = None
    page: int = 1
    figure: str = ""        # the cases behind a statistics figure (engine/statistics_cases.py)

    # The query string names of the filters (the page's form and the API share them).
    PARAMS = ("q", "ticket", "customer", "type", "channel", "department", "status", "path", "kind", "breached",
              "process", "version", "since", "until", "closed_since", "closed_until", "figure")

    @classmethod
    def from_params(cls, params, strict: bool = False) -> "CaseQuery":
        """From a query string. Lenient (the pages): a value that makes no sense is left
        out. Strict (the API): it is refused with BadQuery naming the parameter."""
        def text(name: str, length: int) -> str:
            value = storable_part(params.get(name, "") or "").strip()
            if strict and len(value) > length:
                raise BadQuery(Message(N_("%(name)s is longer than %(length)s characters."),
                                       name=name, length=length))
            return value[:length]

        def choice(name: str, allowed: tuple, default: str = "") -> str:
            value = text(name, 32)
            if value and value not in allowed:
                if strict:
                    raise BadQuery(Message(N_("%(name)s must be one of: %(allowed)s."),
                                           name=name, allowed=", ".join(allowed)))
                return default
            return value or default

        def day(name: str) -> Optional[dt.date]:
            value = text(name, 32)
            if not value:
                return None
            try:
                return min(max(dt.date.fromisoformat(value), EARLIEST_DAY), LATEST_DAY)
            except ValueError:
                if strict:
                    raise BadQuery(Message(N_("%(name)s must be a date (YYYY-MM-DD)."),
                                           name=name)) from None
                return None

        version_text = text("version", 9)
        if version_text and not (version_text.isascii() and version_text.isdigit()):
            if strict:
                raise BadQuery(Message(N_("%(name)s must be a whole number."), name="version"))
            version_text = ""
        page_text = text("page", 9)
        page = min(max(1, int(page_text)), MAX_PAGE) \
            if page_text.isascii() and page_text.isdigit() else 1
        return cls(text=text("q", 100), ticket=text("ticket", 16),
                   customer=text("customer", 254), complaint_type=text("type", 64),
                   channel=text("channel", 32), department=text("department", 64),
                   status=choice("status", STATUSES), path=choice("path", PATHS),
                   kind=choice("kind", KINDS, "complaint"),
                   breached=choice("breached", BREACHED), process=text("process", 128),
                   version=int(version_text) if version_text else None,
                   since=day("since"), until=day("until"),
                   closed_since=day("closed_since"), closed_until=day("closed_until"),
                   page=page, figure=text("figure", 100))

    def params(self) -> dict:
        """The filters as a query string has them, the empty ones left out (and the
        default kind)."""
        values = {"q": self.text, "ticket": self.ticket, "customer": self.customer,
                  "type": self.complaint_type, "channel": self.channel,
                  "department": self.department, "status": self.status, "path": self.path,
                  "kind": "" if self.kind == "complaint" else self.kind,
                  "breached": self.breached, "process": self.process,
                  "version": "" if self.version is None else str(self.version),
                  "figure": self.figure}
        for name in RANGES:
            day = getattr(self, name)
            values[name] = day.isoformat() if day else ""
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class CaseHit:
    ticket: str
    status: str
    path: Optional[str]
    outcome: Optional[str]
    complaint_type: Optional[str]
    channel: Optional[str]
    department_code: Optional[str]
    customer_name: Optional[str]
    process_id: str
    version: int
    breached: bool
    created_at: dt.datetime
    received_at: Optional[dt.datetime]
    closed_at: Optional[dt.datetime]

    def as_dict(self) -> dict:
        def iso(value):
            return value.isoformat() if value else None
        return {"ticket": self.ticket, "status": self.status, "path": self.path,
                "outcome": self.outcome, "complaint_type": self.complaint_type,
                "channel": self.channel, "department": self.department_code,
                "customer_name": self.customer_name, "process_id": self.process_id,
                "version": self.version, "breached": self.breached,
                "created_at": iso(self.created_at), "received_at": iso(self.received_at),
                "closed_at": iso(self.closed_at)}


@dataclass
class SearchPage:
    rows: list[CaseHit]
    page: int
    has_next: bool
    total: int
    next_cursor: Optional[str] = None


def _breached():
    return select(HumanTask.id).where(HumanTask.instance_id == ProcessInstance.id,
                                      HumanTask.breached_at.is_not(None)).exists()


def _bound(day: dt.date, end: bool) -> dt.datetime:
    """The start of the day (or of the next one, for an inclusive end) in company time."""
    return dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time(),
                               COMPANY_ZONE)


def _prefix(column, digits: str):
    """An index range scan: "2611" covers 2611000000-2611999999."""
    return and_(column >= digits, column < digits + ":")  # ":" is the character after "9"


def _name_part(text: str):
    like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ProcessInstance.customer_name.like(f"%{like}%", escape="\\")


def conditions(session: Session, actor: Actor, query: CaseQuery,
               now: Optional[dt.datetime] = None) -> list:
    """The SQL conditions of a query for this searcher (`now` for filters that depend
    on the time, such as a step being overdue)."""
    found = [visible_to(actor)]
    text = storable_part(query.text).strip()
    if text.isascii() and text.isdigit():
        found.append(or_(_prefix(ProcessInstance.ticket, text),
                         _prefix(ProcessInstance.customer_phone, text)))
    elif text:
        found.append(_name_part(text))
    if query.ticket:
        found.append(_prefix(ProcessInstance.ticket, query.ticket)
                     if query.ticket.isascii() and query.ticket.isdigit()
                     else ProcessInstance.ticket == query.ticket)
    customer = query.customer
    if customer.isascii() and customer.isdigit():
        found.append(_prefix(ProcessInstance.customer_phone, customer))
    elif "@" in customer:
        found.append(ProcessInstance.customer_email == match_key(customer))
    elif customer:
        found.append(_name_part(customer))
    for column, value in ((ProcessInstance.complaint_type, query.complaint_type),
                          (ProcessInstance.channel, query.channel),
                          (ProcessInstance.department_code, query.department),
                          (ProcessInstance.status, query.status),
                          (ProcessInstance.path, query.path)):
        if value:
            found.append(column == value)
    if query.kind == "complaint":
        found.append(statistics.complaints())
    elif query.kind == "improvement":
        found.append(statistics.improvements())
    if query.breached == "yes":
        found.append(_breached())
    elif query.breached == "no":
        found.append(~_breached())
    if query.process or query.version is not None:
        versions = select(ProcessVersion.id)
        if query.process:
            versions = versions.where(ProcessVersion.process_id == query.process)
        if query.version is not None:
            versions = versions.where(ProcessVersion.version == query.version)
        found.append(ProcessInstance.version_id.in_(versions))
    for name, (column, side) in RANGES.items():
        day = getattr(query, name)
        if day is None:
            continue
        # No case is older or newer than the days a form may name; a day beyond them
        # (the year 1 or 9999) would not even convert to UTC.
        day = min(max(day, EARLIEST_DAY), LATEST_DAY)
        col = getattr(ProcessInstance, column)
        found.append(col >= _bound(day, False) if side == "from" else col < _bound(day, True))
    if query.figure:
        found.append(statistics_cases.cases_condition(
            session, query.figure,
            statistics.Scope.of_days(query.since, query.until, query.department),
            now or dt.datetime.now(dt.timezone.utc)))
    return found


def encode_cursor(created_at: dt.datetime, instance_id: int) -> str:
    raw = json.dumps([created_at.isoformat(), instance_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, instance_id = json.loads(raw)
        at = dt.datetime.fromisoformat(moment)
        if at.tzinfo is None or not isinstance(instance_id, int) or \
                isinstance(instance_id, bool) or not 0 < instance_id < 2 ** 62:
            raise ValueError
        return at, instance_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise BadQuery(N_("The cursor is not one this search gave out.")) from None


def search(session: Session, actor: Actor, query: CaseQuery, limit: int = 50, *,
           offset: Optional[int] = None, cursor: Optional[str] = None,
           count: bool = True, now: Optional[dt.datetime] = None) -> SearchPage:
    """Cases the actor may see matching the query, newest first: the query's page, or
    `limit` cases from `offset`, or after `cursor`; with the total that match."""
    limit = min(max(1, limit), MAX_LIMIT)
    where = conditions(session, actor, query, now)
    total = session.execute(select(func.count(ProcessInstance.id)).where(*where)
                            ).scalar_one() if count else -1
    statement = (select(ProcessInstance, ProcessVersion.process_id, ProcessVersion.version)
                 .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
                 .where(*where)
                 .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc()))
    page = min(max(1, query.page), MAX_PAGE)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        statement = statement.where(or_(
            ProcessInstance.created_at < at,
            and_(ProcessInstance.created_at == at, ProcessInstance.id < last_id)))
    else:
        start = (page - 1) * limit if offset is None else min(max(0, offset), MAX_OFFSET)
        statement = statement.offset(start)
    found = list(session.execute(statement.limit(limit + 1)))
    has_next = len(found) > limit
    found = found[:limit]
    ids = [instance.id for instance, _p, _v in found]
    breached = set(session.execute(select(HumanTask.instance_id).where(
        HumanTask.instance_id.in_(ids), HumanTask.breached_at.is_not(None))).scalars()) \
        if ids else set()
    rows = [CaseHit(ticket=i.ticket, status=i.status, path=i.path, outcome=i.outcome,
                    complaint_type=i.complaint_type, channel=i.channel,
                    department_code=i.department_code, customer_name=i.customer_name,
                    process_id=process_id, version=version, breached=i.id in breached,
                    created_at=i.created_at, received_at=i.received_at, closed_at=i.closed_at)
            for i, process_id, version in found]
    last = found[-1][0] if found else None
    return SearchPage(rows=rows, page=page, has_next=has_next, total=total,
                      next_cursor=encode_cursor(last.created_at, last.id)
                      if has_next and last is not None else None)


def versions(session: Session) -> list[tuple[str, int]]:
    """Every (process id, version number) deployed, for the search's choices."""
    return [tuple(row) for row in session.execute(
        select(ProcessVersion.process_id, ProcessVersion.version)
        .order_by(ProcessVersion.process_id, ProcessVersion.version.desc()))]

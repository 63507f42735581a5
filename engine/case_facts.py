"""What the statistics count about a complaint beyond its registration, kept on the case
row: the urgency its last classification gave, what the customer said at the last
follow-up visit (level and score), how often the customer rejected a solution or a CAPA
plan, and whether the customer had complained within the 90 days before.

The case run folds each completed task's form into these columns in the step that
completes it (the same data the audit trail's task completion holds), and sets the repeat
flag when it registers a complaint, so the statistics read indexed columns instead of
extracting JSON from the audit trail and scanning months of cases. `refill` computes them
again from the audit trail and the case table: for rows written outside the case run (an
import, a generated data set) and as the migration that introduced the columns did.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from .models import AuditEvent, ProcessInstance

# The fields of task forms the figures read (the shipped forms' names).
URGENCY_FIELD = "urgency"
SATISFACTION_FIELD = "satisfaction"
SCORE_FIELD = "satisfaction_score"
# The customer's answer to a proposed solution (general path) and to a CAPA plan (major).
REJECTION_FIELDS = ("customer_response", "customer_plan_response")
REJECTED = "reject"

REPEAT_WINDOW = dt.timedelta(days=90)
# The customer's keys a repeat complaint is recognised by (as the case page matches them).
MATCH_COLUMNS = ("customer_phone", "customer_email", "order_number")
FACT_COLUMNS = ("urgency", "satisfaction", "satisfaction_score", "rejections")
TEXT_LENGTH = 64  # the columns' width; the shipped forms allow no longer values


def _text(value) -> Optional[str]:
    """A form value as the column keeps it: non-empty text, else None."""
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    return str(value)[:TEXT_LENGTH]


def score_of(value) -> Optional[int]:
    """A satisfaction score as a whole number, else None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def fold(facts: dict, data: dict) -> dict:
    """The facts after one more completed task whose form submitted `data`: a later
    classification replaces the urgency, a later visit the satisfaction (with its score,
    or none), and each rejection counts."""
    facts = dict(facts)
    urgency = _text(data.get(URGENCY_FIELD))
    if urgency:
        facts["urgency"] = urgency
    satisfaction = _text(data.get(SATISFACTION_FIELD))
    if satisfaction:
        facts["satisfaction"] = satisfaction
        facts["satisfaction_score"] = score_of(data.get(SCORE_FIELD))
    rejected = sum(1 for name in REJECTION_FIELDS if data.get(name) == REJECTED)
    if rejected:
        facts["rejections"] = (facts.get("rejections") or 0) + rejected
    return facts


def empty() -> dict:
    return {"urgency": None, "satisfaction": None, "satisfaction_score": None,
            "rejections": 0}


# --------------------------------------------------------------------------- repeats

def is_repeat(connection: Connection, keys: dict, created_at: dt.datetime) -> bool:
    """Whether a complaint registered at `created_at` by a customer with these keys
    (phone, e-mail, order number; None where unknown) follows another complaint of the
    same customer registered within the 90 days before (by the key columns' indexes).
    Complaints are registered in time order, so the flag never changes afterwards; two
    complaints of one customer registered at once by concurrent requests do not see each
    other (`refill` puts that right)."""
    cases = ProcessInstance.__table__
    matches = [cases.c[name] == keys[name] for name in MATCH_COLUMNS if keys.get(name)]
    if not matches:
        return False
    return connection.execute(
        select(cases.c.id).where(or_(*matches), cases.c.status_token_hash.is_not(None),
                                 cases.c.created_at >= created_at - REPEAT_WINDOW,
                                 cases.c.created_at <= created_at).limit(1)).first() is not None


def repeat_ids(connection: Connection, since: Optional[dt.datetime] = None) -> set[int]:
    """The complaints registered from `since` on (all when None) that are repeats: one
    walk through the complaints in registration order from 90 days before."""
    cases = ProcessInstance.__table__
    columns = [cases.c[name] for name in MATCH_COLUMNS]
    statement = (select(cases.c.id, cases.c.created_at, *columns)
                 .where(cases.c.status_token_hash.is_not(None))
                 .order_by(cases.c.created_at, cases.c.id))
    if since is not None:
        statement = statement.where(cases.c.created_at >= since - REPEAT_WINDOW)
    last_seen: dict[tuple[int, str], dt.datetime] = {}
    repeats = set()
    for row in connection.execute(statement):
        keys = [(i, value) for i, value in enumerate(row[2:]) if value]
        if (since is None or row.created_at >= since) and any(
                key in last_seen and row.created_at - last_seen[key] <= REPEAT_WINDOW
                for key in keys):
            repeats.add(row.id)
        for key in keys:
            last_seen[key] = row.created_at
    return repeats


# --------------------------------------------------------------------------- refilling

def _chunks(ids: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def refill(connection: Connection, instance_ids: Optional[Iterable[int]] = None) -> int:
    """Compute the facts and the repeat flag of the given cases (all when None) again
    from their audit trail's task completions and the complaints before them; returns
    how many cases were written."""
    cases = ProcessInstance.__table__
    events = AuditEvent.__table__
    if instance_ids is None:
        targets = connection.execute(select(cases.c.id).order_by(cases.c.id)).scalars().all()
    else:
        targets = sorted(set(instance_ids))
    facts: dict[int, dict] = {}
    for group in _chunks(targets):
        for instance_id, detail in connection.execute(
                select(events.c.instance_id, events.c.detail)
                .where(events.c.kind == "task_completed", events.c.instance_id.in_(group))
                .order_by(events.c.instance_id, events.c.id)):
            data = detail.get("data") if isinstance(detail, dict) else None
            if isinstance(data, dict):
                facts[instance_id] = fold(facts.get(instance_id) or empty(), data)
    since = None
    if instance_ids is not None and targets:
        since = min(connection.execute(
            select(func.min(cases.c.created_at)).where(cases.c.id.in_(group))).scalar_one()
            for group in _chunks(targets))
    repeats = repeat_ids(connection, since) if targets else set()
    setting = (update(cases).where(cases.c.id == bindparam("case_id"))
               .values(repeat_complaint=bindparam("new_repeat"),
                       **{name: bindparam(f"new_{name}") for name in FACT_COLUMNS}))
    rows = [{"case_id": case_id, "new_repeat": case_id in repeats,
             **{f"new_{k}": v for k, v in (facts.get(case_id) or empty()).items()}}
            for case_id in targets]
    for group in _chunks(rows, 2000):
        connection.execute(setting, group)
    return len(rows)

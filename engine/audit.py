"""Hash-chained audit events, written in the caller's transaction."""
from __future__ import annotations

import hashlib
import json
from typing import Optional

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .models import AuditEvent, AuditHead, utcnow

GENESIS = "0" * 64


def chain_for(instance_id: Optional[int]) -> str:
    return f"case:{instance_id}" if instance_id is not None else "global"


def _digest(prev_hash: str, chain: str, instance_id, actor, kind, detail, at) -> str:
    payload = json.dumps(
        {"prev": prev_hash, "chain": chain, "instance": instance_id, "actor": actor,
         "kind": kind, "detail": detail, "at": at.isoformat()},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _event_digest(prev_hash: str, event: AuditEvent) -> str:
    return _digest(prev_hash, event.chain, event.instance_id, event.actor, event.kind,
                   event.detail, event.at)


_HEADS = AuditHead.__table__
_EVENTS = AuditEvent.__table__
# Built once: this runs on every state change, and rebuilding statements costs more than
# executing them.
_SELECT_HEAD = (select(_HEADS.c.last_hash).where(_HEADS.c.chain == bindparam("chain"))
                .with_for_update())
_INSERT_EVENT = _EVENTS.insert()


def record(
    session: Session,
    kind: str,
    actor: Optional[str],
    instance_id: Optional[int] = None,
    **detail,
) -> str:
    """Append an event to its chain in the caller's transaction; returns its hash."""
    session.flush()  # the case row (and its id) must exist before its chain does
    return record_many(session, instance_id, [(kind, actor, detail)])


def record_many(session: Session, instance_id: Optional[int],
                events: list[tuple[str, Optional[str], dict]]) -> Optional[str]:
    """Append (kind, actor, detail) events to one chain in order, in the caller's
    transaction: one read of the chain's head and one insert (the database moves the
    head, see migration 0010); returns the last hash."""
    if not events:
        return None
    chain = chain_for(instance_id)
    connection = session.connection()
    prev = connection.execute(_SELECT_HEAD, {"chain": chain}).scalar_one_or_none()
    head = prev or GENESIS
    at = utcnow()
    rows = []
    for kind, actor, detail in events:
        detail = json.loads(json.dumps(detail, default=str))  # exactly what the column keeps
        digest = _digest(head, chain, instance_id, actor, kind, detail, at)
        rows.append({"chain": chain, "instance_id": instance_id, "actor": actor, "kind": kind,
                     "detail": detail, "at": at, "prev_hash": head, "hash": digest})
        head = digest
    connection.execute(_INSERT_EVENT, rows)
    return head


def verify_chain(session: Session, chain: str) -> Optional[int]:
    """Return the id of the first event that breaks the chain, or None if intact."""
    prev = GENESIS
    events = session.execute(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.id)
    ).scalars()
    for event in events:
        if event.prev_hash != prev or _event_digest(prev, event) != event.hash:
            return event.id
        prev = event.hash
    head = session.get(AuditHead, chain)
    if head is not None and head.last_hash != prev:
        return -1
    return None


def verify_all(session: Session) -> dict[str, Optional[int]]:
    chains = session.execute(select(AuditHead.chain)).scalars().all()
    return {chain: verify_chain(session, chain) for chain in chains}

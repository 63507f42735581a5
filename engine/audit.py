"""Hash-chained audit events, written in the caller's transaction."""
from __future__ import annotations

import hashlib
import json
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEvent, AuditHead, utcnow

GENESIS = "0" * 64


def chain_for(instance_id: Optional[int]) -> str:
    return f"case:{instance_id}" if instance_id is not None else "global"


def _digest(prev_hash: str, event: AuditEvent) -> str:
    payload = json.dumps(
        {
            "prev": prev_hash,
            "chain": event.chain,
            "instance": event.instance_id,
            "actor": event.actor,
            "kind": event.kind,
            "detail": event.detail,
            "at": event.at.isoformat(),
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    kind: str,
    actor: Optional[str],
    instance_id: Optional[int] = None,
    **detail,
) -> AuditEvent:
    chain = chain_for(instance_id)
    head = session.execute(
        select(AuditHead).where(AuditHead.chain == chain).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(chain=chain, last_hash=GENESIS)
        session.add(head)
    event = AuditEvent(
        chain=chain,
        instance_id=instance_id,
        actor=actor,
        kind=kind,
        detail=detail,
        at=utcnow(),
        prev_hash=head.last_hash,
    )
    event.hash = _digest(head.last_hash, event)
    head.last_hash = event.hash
    session.add(event)
    return event


def verify_chain(session: Session, chain: str) -> Optional[int]:
    """Return the id of the first event that breaks the chain, or None if intact."""
    prev = GENESIS
    events = session.execute(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.id)
    ).scalars()
    for event in events:
        if event.prev_hash != prev or _digest(prev, event) != event.hash:
            return event.id
        prev = event.hash
    head = session.get(AuditHead, chain)
    if head is not None and head.last_hash != prev:
        return -1
    return None


def verify_all(session: Session) -> dict[str, Optional[int]]:
    chains = session.execute(select(AuditHead.chain)).scalars().all()
    return {chain: verify_chain(session, chain) for chain in chains}

"""Hash-chained audit events, written in the caller's transaction."""
from __future__ import annotations

import functools
import hashlib
import json
from typing import Optional

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from .models import AuditEvent, AuditHead, utcnow

GENESIS = "0" * 64


def chain_for(instance_id: Optional[int]) -> str:
    return f"case:{instance_id}" if instance_id is not None else "global"


def _digest(prev_hash: str, chain: str, instance_id, actor, kind, detail, at) -> str:
    payload = _payload_before_prev(chain, instance_id, actor, kind, detail, at) + \
        prev_hash + _PAYLOAD_END
    return hashlib.sha256(payload.encode()).hexdigest()


_PAYLOAD_END = '"}'


def _payload_before_prev(chain: str, instance_id, actor, kind, detail, at) -> str:
    """The hashed text up to the previous hash: the event as JSON with sorted keys, whose
    last key is "prev" (a hex string, written as is). PostgreSQL completes and hashes the
    same text when it links an event to its chain's head itself (see `append_linked`)."""
    rest = json.dumps(
        {"chain": chain, "instance": instance_id, "actor": actor, "kind": kind,
         "detail": detail, "at": at.isoformat()},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return rest[:-1] + ', "prev": "'


def _event_digest(prev_hash: str, event: AuditEvent) -> str:
    return _digest(prev_hash, event.chain, event.instance_id, event.actor, event.kind,
                   event.detail, event.at)


_HEADS = AuditHead.__table__
_EVENTS = AuditEvent.__table__
# Built once: this runs on every state change, and rebuilding statements costs more than
# executing them.
_SELECT_HEAD = (select(_HEADS.c.last_hash).where(_HEADS.c.chain == bindparam("chain"))
                .with_for_update())
# Inline: no id is read back, so the insert can go in a batch (engine.db.batched).
_INSERT_EVENT = _EVENTS.insert().inline()


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
    return append(session, instance_id, events, lock_head(session, instance_id))


@functools.lru_cache(maxsize=16)
def _linked_insert(count: int):
    """PostgreSQL: lock the chain's head and insert `count` events after it in one
    statement; each event's hash is sha256 over its text up to "prev" (a parameter) and
    the previous hash, so it is the hash Python computes (`_digest`). The trigger of
    migration 0010 then moves the head."""
    links = ["head AS (SELECT last_hash FROM audit_head WHERE chain = :chain FOR UPDATE)",
             "e0 AS (SELECT h AS prev, encode(sha256(convert_to(:text0 || h || '\"}', 'UTF8')),"
             " 'hex') AS hash FROM (SELECT coalesce((SELECT last_hash FROM head), :genesis)"
             " AS h) AS start)"]
    for n in range(1, count):
        links.append(f"e{n} AS (SELECT e{n - 1}.hash AS prev, encode(sha256(convert_to("
                     f":text{n} || e{n - 1}.hash || '\"}}', 'UTF8')), 'hex') AS hash "
                     f"FROM e{n - 1})")
    rows = " UNION ALL ".join(
        f"SELECT {n} AS position, :actor{n} AS actor, :kind{n} AS kind, "
        f"CAST(:detail{n} AS JSON) AS detail, e{n}.prev, e{n}.hash FROM e{n}"
        for n in range(count))
    statement = text(
        f"WITH {', '.join(links)} "
        "INSERT INTO audit_event (chain, instance_id, actor, kind, detail, at, prev_hash, hash) "
        f"SELECT :chain, :instance_id, actor, kind, detail, :at, prev, hash FROM ({rows}) "
        "AS linked ORDER BY position")
    return statement.bindparams(
        bindparam("at", type_=_EVENTS.c.at.type),
        *(bindparam(f"detail{n}", type_=_EVENTS.c.detail.type) for n in range(count)))


def append_linked(session: Session, instance_id: Optional[int],
                  events: list[tuple[str, Optional[str], dict]]) -> None:
    """Append events to their chain in one statement on PostgreSQL (lock_head and append
    together, one round trip instead of two), elsewhere in two."""
    if not events:
        return
    if session.get_bind().dialect.name != "postgresql":
        append(session, instance_id, events, lock_head(session, instance_id))
        return
    chain = chain_for(instance_id)
    at = utcnow()
    parameters = {"chain": chain, "instance_id": instance_id, "at": at, "genesis": GENESIS}
    for n, (kind, actor, detail) in enumerate(events):
        detail = json.loads(json.dumps(detail, default=str))  # exactly what the column keeps
        parameters.update({f"actor{n}": actor, f"kind{n}": kind, f"detail{n}": detail,
                           f"text{n}": _payload_before_prev(chain, instance_id, actor, kind,
                                                            detail, at)})
    session.connection().execute(_linked_insert(len(events)), parameters)


def lock_head(session: Session, instance_id: Optional[int]) -> str:
    """The hash of the chain's last event, its head row locked until the transaction ends
    (GENESIS for a chain yet to start): what the next event of the chain links to."""
    return session.connection().execute(
        _SELECT_HEAD, {"chain": chain_for(instance_id)}).scalar_one_or_none() or GENESIS


def append(session: Session, instance_id: Optional[int],
           events: list[tuple[str, Optional[str], dict]], head: str) -> str:
    """Insert events after `head` (from lock_head, in this transaction): one statement,
    which needs no result, so it can go in a batch. Returns the last hash."""
    chain = chain_for(instance_id)
    at = utcnow()
    rows = []
    for kind, actor, detail in events:
        detail = json.loads(json.dumps(detail, default=str))  # exactly what the column keeps
        digest = _digest(head, chain, instance_id, actor, kind, detail, at)
        rows.append({"chain": chain, "instance_id": instance_id, "actor": actor, "kind": kind,
                     "detail": detail, "at": at, "prev_hash": head, "hash": digest})
        head = digest
    session.connection().execute(_INSERT_EVENT, rows)
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

"""Hash-chained audit events, written in the caller's transaction."""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import bindparam, literal, select, text, tuple_
from sqlalchemy.orm import Session

from .models import AuditEvent, AuditHead, utcnow
from .prepared import Prepared, insert_rows

GENESIS = "0" * 64


def chain_for(instance_id: Optional[int]) -> str:
    return f"case:{instance_id}" if instance_id is not None else "global"


def instance_of(chain: str) -> Optional[int]:
    """The case a chain belongs to (None for the global chain)."""
    prefix, _sep, number = chain.partition(":")
    return int(number) if prefix == "case" and number.isdigit() else None


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


_HEADS = AuditHead.__table__
_EVENTS = AuditEvent.__table__
# Built once: this runs on every state change, and rebuilding statements costs more than
# executing them.
_SELECT_HEAD = Prepared(select(_HEADS.c.last_hash).where(_HEADS.c.chain == bindparam("chain"))
                        .with_for_update())


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
    return Prepared(text(
        f"WITH {', '.join(links)} "
        "INSERT INTO audit_event (chain, instance_id, actor, kind, detail, at, prev_hash, hash) "
        f"SELECT :chain, :instance_id, actor, kind, detail, :at, prev, hash FROM ({rows}) "
        "AS linked ORDER BY position").bindparams(
        bindparam("at", type_=_EVENTS.c.at.type),
        *(bindparam(f"detail{n}", type_=_EVENTS.c.detail.type) for n in range(count))))


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
    _linked_insert(len(events)).run(session.connection(), parameters)


def lock_head(session: Session, instance_id: Optional[int]) -> str:
    """The hash of the chain's last event, its head row locked until the transaction ends
    (GENESIS for a chain yet to start): what the next event of the chain links to."""
    head = _SELECT_HEAD.first(session.connection(), {"chain": chain_for(instance_id)})
    return head[0] if head is not None else GENESIS


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
    insert_rows(session.connection(), _EVENTS, rows)  # no id read back: it can be batched
    return head


# What is wrong at the first broken link of a chain.
ALTERED = "altered"        # the event's hash does not match its content
BROKEN_LINK = "broken_link"  # the event does not hold the hash of the event before it
TRUNCATED = "truncated"    # the chain's head names a later event: its last events are gone
NO_HEAD = "no_head"        # events without the head that every chain has


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link of a chain: `event_id` is the first event that does not
    verify (None when what is missing is the chain's end), `previous_id` the event before
    it, and `follows_id` the earlier event whose hash a broken link holds instead (the
    events between that one and this were inserted, or this one was)."""

    chain: str
    problem: str
    event_id: Optional[int]
    previous_id: Optional[int]
    instance_id: Optional[int] = None
    follows_id: Optional[int] = None


@dataclass
class Verification:
    chains: int = 0
    events: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def first(self) -> Optional[ChainBreak]:
        """The break with the lowest event id (a missing end counts after every event)."""
        if not self.breaks:
            return None
        return min(self.breaks, key=lambda b: (b.event_id is None, b.event_id or 0, b.chain))


class _ChainCheck:
    """Follows one chain event by event (in id order) up to its first break.

    The chain's head is read before its events: every event up to the head was then
    committed, so the head's event must come along. Events appended meanwhile follow it
    and verify like the others; a chain begun meanwhile has its head read at the end.
    """

    def __init__(self, chain: str, head: Optional[str]):
        self.chain, self.head = chain, head
        self.instance_id = instance_of(chain)
        self.prev, self.prev_id = GENESIS, None
        self.saw_head = False
        self.broken: Optional[ChainBreak] = None
        self.linked_to: Optional[str] = None  # the hash a broken link holds instead
        self.count = 0

    def _break(self, problem: str, event_id) -> None:
        self.broken = ChainBreak(self.chain, problem, event_id, self.prev_id, self.instance_id)

    def feed(self, row) -> None:
        event_id, chain, instance_id, actor, kind, detail, at, prev_hash, digest = row
        self.count += 1
        if self.broken is not None:
            return  # past the first break the rest tells nothing new
        if prev_hash != self.prev:
            self._break(BROKEN_LINK, event_id)
            self.linked_to = prev_hash
        elif _digest(prev_hash, chain, instance_id, actor, kind, detail, at) != digest:
            self._break(ALTERED, event_id)
        else:
            self.prev, self.prev_id = digest, event_id
            self.saw_head = self.saw_head or digest == self.head

    def finish(self, session: Session) -> Optional[ChainBreak]:
        if self.broken is None and not self.saw_head:
            head = session.execute(select(AuditHead.last_hash).where(
                AuditHead.chain == self.chain)).scalar_one_or_none()
            if head is None:
                self._break(NO_HEAD, None)
            elif head != self.prev:
                self._break(TRUNCATED, None)
        return self._resolve(session)

    def _resolve(self, session: Session) -> Optional[ChainBreak]:
        """The earlier event a broken link points to, looked up once the break is known
        (remembering every hash of a long chain on the way would cost its size in memory)."""
        broken = self.broken
        if broken is None or self.linked_to is None or self.linked_to == GENESIS:
            return broken
        follows = session.execute(select(AuditEvent.id).where(
            AuditEvent.chain == self.chain, AuditEvent.hash == self.linked_to,
            AuditEvent.id < broken.event_id).order_by(AuditEvent.id.desc()).limit(1)
        ).scalar_one_or_none()
        self.broken = ChainBreak(broken.chain, broken.problem, broken.event_id,
                                 broken.previous_id, broken.instance_id, follows)
        return self.broken


_VERIFY_COLUMNS = (AuditEvent.id, AuditEvent.chain, AuditEvent.instance_id, AuditEvent.actor,
                   AuditEvent.kind, AuditEvent.detail, AuditEvent.at, AuditEvent.prev_hash,
                   AuditEvent.hash)
BATCH = 5000


def _events(session: Session, chain: Optional[str] = None, batch: int = BATCH):
    """Events in (chain, id) order, a batch at a time from where the last one ended: each
    batch is one indexed range read, so memory stays bounded without holding a cursor
    (reads on PostgreSQL run outside transactions)."""
    last = None
    while True:
        statement = select(*_VERIFY_COLUMNS)
        if chain is not None:
            statement = statement.where(AuditEvent.chain == chain)
            if last is not None:
                statement = statement.where(AuditEvent.id > last[1])
        elif last is not None:
            statement = statement.where(tuple_(AuditEvent.chain, AuditEvent.id) > tuple_(
                literal(last[0]), literal(last[1])))
        rows = session.execute(statement.order_by(AuditEvent.chain, AuditEvent.id)
                               .limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        last = (rows[-1].chain, rows[-1].id)


def _heads(session: Session, chain: Optional[str] = None) -> dict[str, str]:
    statement = select(AuditHead.chain, AuditHead.last_hash)
    if chain is not None:
        statement = statement.where(AuditHead.chain == chain)
    return dict(session.execute(statement).all())


def check_chain(session: Session, chain: str) -> Optional[ChainBreak]:
    """The first broken link of one chain, or None if it is intact (or does not exist)."""
    head = _heads(session, chain).get(chain)
    check = _ChainCheck(chain, head)
    for row in _events(session, chain):
        check.feed(row)
    if check.count == 0:
        return None if head is None else ChainBreak(chain, TRUNCATED, None, None,
                                                    check.instance_id)
    return check.finish(session)


def check_all(session: Session, batch: int = BATCH) -> Verification:
    """Every chain, in one pass over the events, each checked up to its first broken
    link; a head without events is a chain whose events were all deleted."""
    heads = _heads(session)
    result = Verification()
    check: Optional[_ChainCheck] = None

    def close(current: Optional[_ChainCheck]) -> None:
        if current is None:
            return
        heads.pop(current.chain, None)
        result.chains += 1
        result.events += current.count
        broken = current.finish(session)
        if broken is not None:
            result.breaks.append(broken)

    for row in _events(session, batch=batch):
        if check is None or row.chain != check.chain:
            close(check)
            check = _ChainCheck(row.chain, heads.get(row.chain))
        check.feed(row)
    close(check)
    for chain in sorted(heads):  # heads whose chain has no event left
        result.chains += 1
        result.breaks.append(ChainBreak(chain, TRUNCATED, None, None, instance_of(chain)))
    return result


def verify_chain(session: Session, chain: str) -> Optional[int]:
    """Return the id of the first event that breaks the chain, -1 if its last events are
    missing, or None if intact."""
    broken = check_chain(session, chain)
    if broken is None:
        return None
    return broken.event_id if broken.event_id is not None else -1


def verify_all(session: Session) -> dict[str, Optional[int]]:
    result = check_all(session)
    chains = {b.chain: (b.event_id if b.event_id is not None else -1) for b in result.breaks}
    for chain in session.execute(select(AuditHead.chain)).scalars():
        chains.setdefault(chain, None)
    return chains

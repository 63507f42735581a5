"""Firing due timers exactly once, from any number of worker processes.

A worker claims due instances by writing a lease on their rows (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so workers never wait on each other), then fires each claimed
instance in its own transaction: the timer's effects, the new state, the next due time
and the release of the lease commit together. A worker that dies keeps nothing: its
leases expire and another worker takes the instances over.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from typing import Optional

from sqlalchemy import case, func, or_, select, update

from . import runtime, sla_mail
from .case_run import CaseRun
from .errors import AlreadyCompleted, ProcessError
from .models import ProcessInstance
from .services import Services

log = logging.getLogger("engine.timers")

LEASE = dt.timedelta(seconds=60)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim(services: Services, worker: str, now: dt.datetime, limit: int = 100,
          lease: Optional[dt.timedelta] = None) -> list[int]:
    """Lease up to `limit` instances whose earliest timer is due, earliest first."""
    lease = lease or LEASE
    table = ProcessInstance.__table__
    # Strictly before now: SpiffWorkflow fires a timer once its time has passed, so a
    # case claimed at its exact due time would be leased and left unfired.
    due = (
        select(table.c.id)
        .where(table.c.status == "open", table.c.next_due_at < now,
               or_(table.c.lease_until.is_(None), table.c.lease_until < now))
        .order_by(table.c.next_due_at, table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with services.db.write() as session:
        connection = session.connection()
        ids = list(connection.execute(due).scalars())
        if ids:
            connection.execute(update(table).where(table.c.id.in_(ids))
                               .values(lease_owner=worker, lease_until=now + lease))
    return ids


def fire(services: Services, instance_id: int, worker: str) -> list[str]:
    """Advance one leased instance past its due timers; returns what fired.

    Nothing happens unless this worker still holds the lease and the timer is still due:
    so a timer fires once even if a slow worker's lease was taken over meanwhile.
    """
    now = services.now()
    try:
        with services.db.write() as session:
            run = CaseRun.for_instance(services, session, instance_id, now)
            if not _still_due(run, worker, now):
                return []
            run.fire_timers(worker)
            result = run.commit()
        services.due_changed(result.next_due_at)
        return result.fired
    except AlreadyCompleted:
        # Someone completed a task at the same moment: release and let the next round
        # look at the instance's new state.
        _release(services, instance_id, worker)
        return []
    except ProcessError as exc:
        # A broken timer expression must not be retried in a tight loop: keep the lease
        # until it expires and tell the operator.
        log.error("timer on instance %s failed: %s", instance_id, exc)
        runtime.record_incident(services, exc, None, instance_id=instance_id)
        return []


# Due instances fired per transaction: one commit (and, on PostgreSQL, one wait for the
# disk) for several instances, and their mail recipients looked up once per group. 25
# fired a backlog a sixteenth faster than 10; a staff step on one of the group's cases
# waits for the group (about 25 x 3 ms) at most.
GROUP = 25


def fire_group(services: Services, instance_ids: list[int], worker: str) -> int:
    """Fire several leased instances in one transaction, as `fire` fires one; returns how
    many fired. The group is read in one statement and written in one batch
    (`CaseRun.commit_group`). Should one of them fail or meet a concurrent step, the
    transaction is rolled back and each instance is fired on its own, so that the others
    still fire and the one is handled as `fire` handles it."""
    now = services.now()
    try:
        with services.db.write() as session:
            people = sla_mail.cached_people(session)
            runs = [run for run in CaseRun.for_instances(services, session, instance_ids, now)
                    if _still_due(run, worker, now)]
            for run in runs:
                run.fire_timers(worker)
            results = CaseRun.commit_group(runs, people=people)
    except (AlreadyCompleted, ProcessError):
        return sum(bool(fire(services, instance_id, worker)) for instance_id in instance_ids)
    for result in results:
        services.due_changed(result.next_due_at)
    return sum(bool(result.fired) for result in results)


def _still_due(run: CaseRun, worker: str, now: dt.datetime) -> bool:
    """Whether this worker still holds the case's lease and its timer is still due (not
    so when the lease was taken over, or a step moved the timer on)."""
    due = run.case.next_due_at
    return run.case.lease_owner == worker and run.case.status == "open" and \
        due is not None and due <= now


def _release(services: Services, instance_id: int, worker: str) -> None:
    table = ProcessInstance.__table__
    with services.db.write() as session:
        session.connection().execute(
            update(table).where(table.c.id == instance_id, table.c.lease_owner == worker)
            .values(lease_owner=None, lease_until=None))


def fire_due(services: Services, worker: str, batch: int = 100) -> int:
    """Claim and fire everything due now, in due order; returns how many instances fired."""
    fired = 0
    while True:
        ids = claim(services, worker, services.now(), batch)
        if not ids:
            return fired
        for start in range(0, len(ids), GROUP):
            fired += fire_group(services, ids[start:start + GROUP], worker)
        if len(ids) < batch:
            return fired


def earliest_due(services: Services) -> Optional[dt.datetime]:
    """When the next claim can succeed: the earliest due time, or for an instance another
    worker holds, the end of its lease."""
    table = ProcessInstance.__table__
    now = services.now()
    ready_at = case((table.c.lease_until > now, table.c.lease_until), else_=table.c.next_due_at)
    with services.db.read() as session:
        value = session.connection().execute(
            select(func.min(ready_at)).where(table.c.status == "open",
                                             table.c.next_due_at.is_not(None))
        ).scalar()
    return ProcessInstance.__table__.c.next_due_at.type.process_result_value(
        value, session.get_bind().dialect) if isinstance(value, str) else value

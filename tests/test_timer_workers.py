"""Timer workers as separate processes on a real PostgreSQL database: many due timers
split between two workers fire exactly once, and a worker killed while holding claims
loses nothing (its claims fire once, after its lease ran out, in another worker).

The timers are made due before any worker starts (cases created with the test clock moved
back); the workers run on real time, and the tests wait by polling the database.
Run: `COMPLAINTS_TEST_DATABASE=postgresql pytest tests/test_timer_workers.py`.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import func, select

from engine.models import AuditEvent, HumanTask, Notification, ProcessInstance
from support.workers import (
    check_copy, clone_instances, past_working_moment, real_now, start_worker, stop_worker,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("COMPLAINTS_TEST_DATABASE") != "postgresql",
                       reason="needs real PostgreSQL timer workers "
                              "(set COMPLAINTS_TEST_DATABASE=postgresql)"),
]

SLA_KINDS = {"sla_reminder", "sla_breach", "sla_escalation"}
DISPATCH_FIRED = ["reminder:dispatch", "breach:dispatch", "escalation:dispatch"]
DEADLINE = 120.0  # seconds the workers get to finish what the tests expect


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE,
             logs: tuple[Path, ...] = (), interval: float = 0.1) -> float:
    """Poll until `condition()` holds; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            tails = "\n".join(f"--- {p.name} ---\n" + "\n".join(
                p.read_text(errors="replace").splitlines()[-30:]) for p in logs if p.exists())
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")
        time.sleep(interval)
    return time.monotonic() - started


def count_due(services, ids: list[int]) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count()).where(
            ProcessInstance.id.in_(ids), ProcessInstance.next_due_at.is_not(None))).scalar_one()


def sla_notifications(services) -> Counter:
    """(instance id, kind) -> how many SLA notifications."""
    with services.db.read() as session:
        return Counter({(i, k): n for i, k, n in session.execute(
            select(Notification.instance_id, Notification.kind, func.count())
            .where(Notification.kind.like("sla_%"))
            .group_by(Notification.instance_id, Notification.kind))})


def fired_events(services) -> list[tuple[int, list[str], str, dt.datetime]]:
    """(instance id, fired, worker, at) of every timers_fired audit event."""
    with services.db.read() as session:
        return [(e.instance_id, e.detail["fired"], e.detail["worker"], e.at)
                for e in session.execute(select(AuditEvent).where(
                    AuditEvent.kind == "timers_fired").order_by(AuditEvent.id)).scalars()]


def make_due_dispatch_cases(services, actors, clock, count: int, real: int) -> list[int]:
    """`count` open cases waiting at dispatch whose three SLA timers are all due: `real`
    filed and worked through the services at a past working moment, the rest copies."""
    from support.desk import Desk
    now = real_now()
    clock.now = past_working_moment(services, now)
    desk = Desk(services, actors, clock)
    tickets = []
    for _ in range(real):
        ticket = desk.file()
        desk.run_until(ticket, "dispatch")
        tickets.append(ticket)
    with services.db.read() as session:
        ids = list(session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket.in_(tickets)).order_by(ProcessInstance.id)).scalars())
        latest = session.execute(select(func.max(ProcessInstance.next_due_at))).scalar_one()
    ids += clone_instances(services, ids, count - real)
    check_copy(services, ids[-1])
    clock.now = now  # the workers run on real time
    assert latest is not None and latest < now, "the timers must be due before workers start"
    return ids


# --------------------------------------------------------------------------- tests


def test_two_workers_fire_2000_instances_exactly_once(database_url, services, actors, clock,
                                                      tmp_path):
    started = time.monotonic()
    ids = make_due_dispatch_cases(services, actors, clock, count=2000, real=40)
    setup = time.monotonic() - started
    assert len(set(ids)) == 2000 and count_due(services, ids) == 2000
    assert not sla_notifications(services)

    names = [f"worker-a-{uuid.uuid4().hex[:6]}", f"worker-b-{uuid.uuid4().hex[:6]}"]
    logs = tuple(tmp_path / f"{name}.log" for name in names)
    # Only the first is asked to log the engine's own task state changes.
    workers = [start_worker(database_url, name, log, "--sweep-seconds", "600", *extra)
               for name, log, extra in zip(names, logs, (["--log-engine-steps"], []))]
    try:
        took = wait_for(lambda: count_due(services, ids) == 0,
                        "all 2,000 instances to fire", logs=logs)
    finally:
        codes = [stop_worker(w) for w in workers]
    print(f"\nsetup {setup:.1f} s; 2 workers fired 2,000 instances in {took:.1f} s")
    assert codes == [0, 0], f"workers exited with {codes}"

    notices = sla_notifications(services)
    assert sum(notices.values()) == 2000 * 3
    assert set(notices) == {(i, kind) for i in ids for kind in SLA_KINDS}
    assert set(notices.values()) == {1}, "some timer fired twice"

    with services.db.read() as session:
        dispatch = session.execute(select(HumanTask).where(
            HumanTask.instance_id.in_(ids), HumanTask.name == "dispatch")).scalars().all()
        leftovers = session.execute(select(func.count()).where(
            ProcessInstance.id.in_(ids),
            (ProcessInstance.next_due_at.is_not(None)) | (ProcessInstance.lease_owner.is_not(None))
        )).scalar_one()
    assert len(dispatch) == 2000 and {t.instance_id for t in dispatch} == set(ids)
    assert all(t.state == "ready" and t.reminded_at and t.breached_at and t.escalated_at
               for t in dispatch)
    assert leftovers == 0

    events = fired_events(services)
    per_instance = Counter(i for i, *_ in events)
    assert set(per_instance) == set(ids) and set(per_instance.values()) == {1}
    assert all(fired == DISPATCH_FIRED for _i, fired, _w, _at in events)
    by_worker = Counter(worker for _i, _f, worker, _at in events)
    print(f"instances fired per worker: {dict(by_worker)}")
    assert set(by_worker) == set(names), f"both workers should take part: {dict(by_worker)}"
    asked, quiet = (log.read_text(errors="replace") for log in logs)
    assert "spiff.task State changed to COMPLETED" in asked
    assert "spiff" not in quiet and "Traceback" not in quiet
    assert len(quiet.splitlines()) < by_worker[names[1]], "a line per fired case or more"


def _other_sessions(conninfo: str) -> int:
    import psycopg
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()").fetchone()[0]


def test_a_killed_workers_claims_fire_once_after_its_lease(database_url, services, actors,
                                                            clock, tmp_path):
    from sqlalchemy.engine import make_url
    ids = make_due_dispatch_cases(services, actors, clock, count=400, real=10)
    services.db.dispose()  # no idle sessions of ours: the dead worker's must be seen to go
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    lease = 5.0
    doomed, heir = f"doomed-{uuid.uuid4().hex[:6]}", f"heir-{uuid.uuid4().hex[:6]}"
    doomed_log, heir_log = tmp_path / "doomed.log", tmp_path / "heir.log"

    def claimed_by_doomed() -> dict[int, dt.datetime]:
        with services.db.read() as session:
            return dict(session.execute(select(ProcessInstance.id, ProcessInstance.lease_until)
                                        .where(ProcessInstance.lease_owner == doomed)).all())

    first = start_worker(database_url, doomed, doomed_log, "--lease-seconds", str(lease),
                         "--sweep-seconds", "600")
    try:
        wait_for(lambda: bool(claimed_by_doomed()), "the first worker to claim",
                 logs=(doomed_log,), interval=0.005)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    services.db.dispose()
    # A COMMIT the worker sent just before dying may still land: wait until its sessions
    # are gone before looking at what it left behind.
    wait_for(lambda: _other_sessions(conninfo) == 0, "the killed worker's sessions to end",
             timeout=30)
    orphaned = {i: until for i, until in claimed_by_doomed().items()
                if count_due(services, [i])}
    assert orphaned, "the worker was killed after finishing its claims; nothing to take over"
    fired_by_doomed = {i for i, *_ in fired_events(services)}
    assert not fired_by_doomed & set(orphaned)

    second = start_worker(database_url, heir, heir_log, "--lease-seconds", str(lease),
                          "--sweep-seconds", "600")
    try:
        took = wait_for(lambda: count_due(services, ids) == 0, "the second worker to fire all",
                        logs=(doomed_log, heir_log))
    finally:
        code = stop_worker(second)
    assert code == 0

    notices = sla_notifications(services)
    assert set(notices) == {(i, kind) for i in ids for kind in SLA_KINDS}
    assert set(notices.values()) == {1}, "some timer fired twice"
    events = fired_events(services)
    assert Counter(i for i, *_ in events) == Counter(ids), "an instance fired twice or never"
    at = {i: (worker, when) for i, _f, worker, when in events}
    assert {at[i][0] for i in orphaned} == {heir}
    early = {i: (at[i][1], until) for i, until in orphaned.items() if at[i][1] < until}
    assert not early, f"fired while the dead worker's lease still held: {early}"
    # The heir was already firing the rest while those leases held: the wait was real.
    heir_first = min(when for i, (worker, when) in at.items() if worker == heir)
    assert heir_first < min(orphaned.values()), (heir_first, min(orphaned.values()))
    lag = max(at[i][1] - until for i, until in orphaned.items())
    print(f"\n{len(orphaned)} orphaned claims fired by {heir} at most {lag.total_seconds():.2f} s "
          f"after their lease ended; {len(fired_by_doomed)} fired before the kill; "
          f"all {len(ids)} done {took:.1f} s after the second worker started")

"""Audit trail figures with a large trail: verifying every hash chain (time, events per
second, peak memory of the process) and one case's chain, and listing the trail page
(newest, by kind, by actor, a date range, a deep page).

Stores BENCH_CASES cases of BENCH_EVENTS events each plus BENCH_GLOBAL events outside
cases (sign-ins), each chain correctly hashed, straight into the tables.
Run: `.venv/bin/python bench/audit_bench.py` (COMPLAINTS_BENCH_DATABASE_URL for PostgreSQL).
"""
from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from engine import audit, audit_trail, bootstrap, migrate, versions  # noqa: E402
from engine.directory import actor_of, find_user  # noqa: E402
from engine.models import AuditEvent, AuditHead, InstanceState, ProcessInstance  # noqa: E402
from engine.services import Services  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", 20_000))
EVENTS = int(os.environ.get("BENCH_EVENTS", 20))
GLOBAL = int(os.environ.get("BENCH_GLOBAL", 50_000))
ROUNDS = 50
KINDS = ["complaint_filed", "task_completed", "case_viewed", "task_claimed"]
ACTORS = ["agent", "handler", "head", "director", "auditor"]


def chain_rows(chain: str, instance_id, start: dt.datetime, count: int, kinds,
               prev: str = audit.GENESIS) -> list[dict]:
    rows = []
    for n in range(count):
        at = start + dt.timedelta(minutes=n)
        kind, actor = kinds(n)
        detail = {"task": f"step_{n}", "data": {"note": "x" * 40}}
        digest = audit._digest(prev, chain, instance_id, actor, kind, detail, at)
        rows.append({"chain": chain, "instance_id": instance_id, "actor": actor, "kind": kind,
                     "detail": detail, "at": at, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def timed(call, rounds: int = ROUNDS) -> tuple[float, float]:
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings), max(timings)


def main() -> None:
    url = os.environ.get("COMPLAINTS_BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='complaints-audit-')) / 'bench.db'}"
    migrate.upgrade(url)
    services = Services.create(url)
    versions.deploy_shipped(services)
    bootstrap.create_demo_directory(services)
    with services.db.read() as session:
        auditor = actor_of(find_user(session, "auditor"))
        version_id = session.execute(select(ProcessInstance.version_id).limit(1)).scalar() or 1
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    began = time.perf_counter()
    with services.db.write() as session:
        instance_table = ProcessInstance.__table__
        for first in range(0, CASES, 1000):
            cases = [dict(version_id=version_id, ticket=f"A{n:09d}", status="open",
                          revision=1, created_at=start, updated_at=start)
                     for n in range(first, min(CASES, first + 1000))]
            ids = session.execute(insert(instance_table).returning(
                instance_table.c.id, sort_by_parameter_order=True), cases).scalars().all()
            session.execute(insert(InstanceState), [{"instance_id": i, "state": "{}"}
                                                    for i in ids])
            rows = []
            for offset, instance_id in enumerate(ids):
                day = start + dt.timedelta(hours=first + offset)
                rows += chain_rows(audit.chain_for(instance_id), instance_id, day, EVENTS,
                                   lambda n: (KINDS[n % len(KINDS)], ACTORS[n % len(ACTORS)]))
            session.execute(insert(AuditEvent), rows)
        head = session.execute(select(AuditHead.last_hash).where(
            AuditHead.chain == "global")).scalar_one()  # the deployments' events
        session.execute(insert(AuditEvent), chain_rows(
            "global", None, start, GLOBAL, lambda n: ("login", ACTORS[n % len(ACTORS)]),
            prev=head))
    total = CASES * EVENTS + GLOBAL
    print(f"stored {CASES:,} cases with {EVENTS} events each and {GLOBAL:,} global events "
          f"({total:,} events) in {time.perf_counter() - began:.1f} s")

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    with services.db.read() as session:
        report = audit_trail.verify(session, auditor, start)
    took = time.perf_counter() - began
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert report.intact and report.events >= total, report
    print(f"verify every chain ({report.chains:,} chains, {report.events:,} events): "
          f"{took:.1f} s, {report.events / took:,.0f} events/s, "
          f"peak RSS {rss_after / 1024:.0f} MiB (grew {(rss_after - rss_before) / 1024:.0f} MiB)")

    with services.db.read() as session:
        ticket = session.execute(select(ProcessInstance.ticket).where(
            ProcessInstance.ticket == f"A{CASES // 2:09d}")).scalar_one()
        median, worst = timed(lambda: audit_trail.verify(session, auditor, start,
                                                         ticket=ticket))
        print(f"verify one case's chain               median {median:6.1f} ms   max {worst:6.1f} ms")
        listings = {
            "newest page": audit_trail.AuditQuery(),
            "by kind (sign-ins)": audit_trail.AuditQuery(kind="group:sign_in"),
            "by kind (case viewed)": audit_trail.AuditQuery(kind="case_viewed"),
            "by actor": audit_trail.AuditQuery(actor="director"),
            "one day": audit_trail.AuditQuery(since=dt.date(2026, 3, 1),
                                              until=dt.date(2026, 3, 1)),
            "one case": audit_trail.AuditQuery(ticket=ticket),
            "deep page (before the middle)": audit_trail.AuditQuery(before=total // 2),
        }
        for label, query in listings.items():
            median, worst = timed(lambda: audit_trail.events(session, auditor, query))
            print(f"list: {label:<32} median {median:6.1f} ms   max {worst:6.1f} ms",
                  flush=True)


if __name__ == "__main__":
    main()

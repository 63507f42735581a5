"""Timer workers on PostgreSQL: throughput on a backlog of due timers, and how late timers
fire that fall due while the system runs.

(a) 10,000 open cases waiting at dispatch whose three SLA timers (reminder, breach,
    escalation) are all due; `python -m engine.worker` processes (one, then two, each on a
    fresh copy of the database) fire them. Reported: wall-clock from starting the workers
    until no instance is due any more, and the rate. A worker fires all due timers of an
    instance in one step, so the unit of work is the instance (3 timers each).
(b) One worker running; the bench completes "Report the verification to customer service"
    (step A3 of a major complaint) on prepared cases so that their next timer (the
    reminder of A4, one hour on customer service's 7x24 clock) falls due a few seconds later,
    spread over ~20 s (and again with the same number due within 1 s). Reported: audit
    `at` of the worker's timers_fired event minus the instance's due time (next_due_at). A customer-service step is used because departments'
    timers count working hours: outside office hours none of theirs falls due seconds from now.

It starts its own throwaway PostgreSQL server (tests/support/pg_server.py; needs the Debian
`postgresql` server binaries). Run: `.venv/bin/python bench/timer_bench.py`.
Sizes: BENCH_TIMER_INSTANCES (10000), BENCH_LIVE_TIMERS (200), BENCH_LIVE_SPREAD (20 s),
BENCH_LIVE_DENSE_SPREAD (1 s).
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import psycopg  # noqa: E402
import time_machine  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine import bootstrap, migrate, runtime, versions  # noqa: E402
from engine.directory import actor_of, find_user  # noqa: E402
from engine.models import AuditEvent, HumanTask, Notification, ProcessInstance, utcnow  # noqa: E402
from engine.services import Services  # noqa: E402
from support.desk import GOOD, WORKER, Desk  # noqa: E402
from support.major_path import file_major, work  # noqa: E402
from support.pg_server import throwaway_postgres  # noqa: E402
# Shared with the worker tests: consistent bulk copies of real instances, worker processes.
from support.workers import (  # noqa: E402
    check_copy, clone_instances, past_working_moment, start_worker, stop_worker,
)

INSTANCES = int(os.environ.get("BENCH_TIMER_INSTANCES", 10_000))
REAL_CASES = 50  # filed and worked through the services; the rest are copies of these
LIVE = int(os.environ.get("BENCH_LIVE_TIMERS", 200))
SPREAD = float(os.environ.get("BENCH_LIVE_SPREAD", 20.0))
DENSE_SPREAD = float(os.environ.get("BENCH_LIVE_DENSE_SPREAD", 1.0))
LEAD = 3.0  # seconds between a timer being set and falling due
SWEEP = 30  # the worker's safety sweep (its default): the latency ceiling
TIMEOUT = 900.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def clone_database(admin_url: str, template: str, name: str) -> str:
    u = make_url(admin_url)
    with psycopg.connect(host=u.host, port=u.port, user=u.username, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return u.set(database=name).render_as_string(hide_password=False)


def actors(services: Services) -> dict:
    with services.db.read() as session:
        return {name: actor_of(find_user(session, name)) for name, *_ in bootstrap.DEMO_USERS}


def due_count(services: Services) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count()).where(
            ProcessInstance.status == "open", ProcessInstance.next_due_at.is_not(None))).scalar_one()


def wait_until(condition, what: str, interval: float = 0.1) -> None:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > TIMEOUT:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)


def log_findings(logs: list[Path]) -> str:
    """Anything unusual the workers logged (skipped runs, failures)."""
    skipped = failures = 0
    for log in logs:
        text = log.read_text(errors="replace")
        skipped += text.count("maximum number of running instances reached")
        failures += text.count("Traceback") + text.count("failed")
    return f"worker logs: {skipped} skipped scheduler runs, {failures} failures/tracebacks"


# --------------------------------------------------------------------------- (a) backlog


def prepare_backlog(url: str) -> None:
    services = Services.create(url)
    started = time.perf_counter()
    received = past_working_moment(services, utcnow())
    # The cases are created at a past working moment (SpiffWorkflow too must see that time,
    # or it would fire the timers during the steps): all their dispatch timers are due now.
    with time_machine.travel(received, tick=False):
        desk = Desk(services, actors(services))
        tickets = []
        for _ in range(REAL_CASES):
            ticket = desk.file()
            desk.run_until(ticket, "dispatch")
            tickets.append(ticket)
    filed = time.perf_counter() - started
    with services.db.read() as session:
        ids = list(session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket.in_(tickets))).scalars())
    started = time.perf_counter()
    copies = clone_instances(services, ids, INSTANCES - REAL_CASES)
    check_copy(services, copies[0])
    check_copy(services, copies[-1])
    print(f"setup: {REAL_CASES} cases filed and worked to dispatch in {filed:.1f} s, "
          f"{len(copies):,} copies stored in {time.perf_counter() - started:.1f} s; "
          f"{due_count(services):,} instances due", flush=True)
    services.db.dispose()


def run_backlog(admin_url: str, workers: int, workdir: Path) -> None:
    url = clone_database(admin_url, "bench_due", f"bench_due_{workers}")
    services = Services.create(url)
    assert due_count(services) == INSTANCES
    names = [f"bench-{workers}-{n}" for n in range(workers)]
    logs = [workdir / f"{name}.log" for name in names]
    started = time.perf_counter()
    processes = [start_worker(url, name, log, "--sweep-seconds", "600")
                 for name, log in zip(names, logs)]
    try:
        wait_until(lambda: due_count(services) == 0, "the backlog to fire")
        took = time.perf_counter() - started
    finally:
        codes = [stop_worker(p) for p in processes]
    with services.db.read() as session:
        events = session.execute(select(AuditEvent.instance_id, AuditEvent.detail, AuditEvent.at)
                                 .where(AuditEvent.kind == "timers_fired")).all()
        sla = Notification.kind.like("sla_%")
        notices = (session.execute(select(func.count()).where(sla)).scalar_one(),
                   session.execute(select(func.count()).select_from(
                       select(Notification.instance_id, Notification.kind).where(sla)
                       .distinct().subquery())).scalar_one())
        marked = session.execute(select(func.count()).where(
            HumanTask.name == "dispatch", HumanTask.escalated_at.is_not(None))).scalar_one()
    services.db.dispose()
    timers = sum(len(detail["fired"]) for _i, detail, _at in events)
    per_worker = {name: sum(1 for _i, d, _at in events if d["worker"] == name) for name in names}
    span = (max(at for *_x, at in events) - min(at for *_x, at in events)).total_seconds()
    once = len(events) == len({i for i, *_x in events}) == INSTANCES
    label = f"{workers} worker{'s' if workers > 1 else ''}"
    print(f"{INSTANCES:,} due instances ({timers:,} SLA timers), {label}: {took:.1f} s "
          f"({INSTANCES / took:.0f} instances/s, {timers / took:.0f} timers/s); "
          f"first to last fire {span:.1f} s", flush=True)
    print(f"  check: each instance fired once: {once}; SLA notifications {notices[0]:,} "
          f"({notices[1]:,} distinct instance+kind); dispatch tasks escalated {marked:,}; "
          f"per worker {per_worker}; exit codes {codes}", flush=True)
    print(f"  {log_findings(logs)}", flush=True)


# --------------------------------------------------------------------------- (b) latency


def prepare_live(url: str) -> list[int]:
    """LIVE major cases waiting at step A3 (its timers far off: none fires early)."""
    services = Services.create(url)
    desk = Desk(services, actors(services))
    tickets = []
    for _ in range(5):
        ticket = file_major(desk)
        work(desk, ticket, "pass_to_department")
        work(desk, ticket, "check_major_complaint")
        tickets.append(ticket)
    with services.db.read() as session:
        ids = list(session.execute(select(ProcessInstance.id).where(
            ProcessInstance.ticket.in_(tickets))).scalars())
    ids += clone_instances(services, ids, LIVE - len(ids))
    check_copy(services, ids[-1])
    services.db.dispose()
    return ids


def run_live(admin_url: str, workdir: Path, spread: float, name: str) -> None:
    url = clone_database(admin_url, "bench_base", name)
    ids = prepare_live(url)
    shift = [dt.timedelta(0)]
    services = Services.create(url)
    services.clock = lambda: utcnow() + shift[0]  # due_in() counts from this
    people = actors(services)
    with services.db.read() as session:
        execute = dict(session.execute(select(HumanTask.instance_id, HumanTask.id).where(
            HumanTask.instance_id.in_(ids), HumanTask.name == "report_check",
            HumanTask.state == "ready")).all())
        # The reminder of A4 at 75 % of its hours, counted 7x24 from completing A3.
        wait_hours = 0.75 * float(runtime.case_data(
            services, session.get(ProcessInstance, ids[0]))["sla_inform_gm_hours"])
    assert len(execute) == LIVE
    log = workdir / f"{name}-worker.log"
    worker = start_worker(url, name, log, "--sweep-seconds", str(SWEEP))
    try:
        wait_until(lambda: "running" in log.read_text(errors="replace"), "the worker to start")
        t0 = time.time() + LEAD
        due: dict[int, dt.datetime] = {}
        for n, instance_id in enumerate(ids):
            wanted = t0 + n * spread / LIVE
            pause = wanted - LEAD - time.time()
            if pause > 0:
                time.sleep(pause)
            target = dt.datetime.fromtimestamp(wanted, dt.timezone.utc)
            shift[0] = target - utcnow() - dt.timedelta(hours=float(wait_hours))
            runtime.complete_task(services, people[WORKER["report_check"]],
                                  execute[instance_id], GOOD["report_check"])
            with services.db.read() as session:
                due[instance_id] = session.execute(select(ProcessInstance.next_due_at).where(
                    ProcessInstance.id == instance_id)).scalar_one()
        shift[0] = dt.timedelta(0)

        def fired() -> dict[int, dt.datetime]:
            with services.db.read() as session:
                return dict(session.execute(
                    select(AuditEvent.instance_id, func.min(AuditEvent.at))
                    .where(AuditEvent.kind == "timers_fired", AuditEvent.instance_id.in_(ids))
                    .group_by(AuditEvent.instance_id)).all())
        wait_until(lambda: len(fired()) == LIVE, "the live timers to fire", interval=0.25)
        fired_at = fired()
    finally:
        code = stop_worker(worker)
    with services.db.read() as session:
        follow_ups = session.execute(select(func.count()).where(
            HumanTask.instance_id.in_(ids), HumanTask.name == "inform_gm_office",
            HumanTask.reminded_at.is_not(None))).scalar_one()
    services.db.dispose()
    delays = [(fired_at[i] - due[i]).total_seconds() * 1000 for i in ids]
    early = sum(1 for d in delays if d < 0)
    print(f"{LIVE} timers falling due while running (over {spread:g} s, set {LEAD:.0f} s "
          f"ahead, 1 worker): delay due -> fired median {statistics.median(delays):.0f} ms, "
          f"p99 {pct(delays, 99):.0f} ms, max {max(delays):.0f} ms, min {min(delays):.0f} ms",
          flush=True)
    print(f"  check: {early} fired early; A4 reminders marked {follow_ups}/{LIVE}; "
          f"worker exit code {code}", flush=True)
    print(f"  {log_findings([log])}", flush=True)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="timer-bench-"))
    print(f"timer bench: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
          f"worker logs in {workdir}", flush=True)
    with throwaway_postgres("bench_base") as base_url:
        migrate.upgrade(base_url)
        services = Services.create(base_url)
        versions.deploy_shipped(services)
        bootstrap.create_demo_directory(services)
        services.db.dispose()
        prepare_backlog(clone_database(base_url, "bench_base", "bench_due"))
        for workers in (1, 2):
            run_backlog(base_url, workers, workdir)
        run_live(base_url, workdir, SPREAD, "bench_live")
        # The same number due within one second: each run of the armed job ends with
        # timers already due again, which is where a lost re-arm would show (delays up to
        # the safety sweep).
        run_live(base_url, workdir, DENSE_SPREAD, "bench_live_dense")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other processes share the CPUs)")


if __name__ == "__main__":
    main()

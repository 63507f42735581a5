"""Supervision statistics and exports with 100,000 stored complaints.

Prints: the time to compute one month's statistics (about a tenth of the complaints), to
render the statistics page for that month, and to export the event log of all complaints
as XES (and the task events as CSV), each export in a process of its own whose peak
memory (maximum resident set size) is printed with it.

The complaints are spread over ten months, each with six tasks (deadlines, completions,
some late, breached or escalated) and the audit trail of three task forms
(classification, the customer's answer, the follow-up visit), written straight into the
tables; the case columns the steps keep for the statistics are then filled from them.

Run: `python bench/statistics_bench.py` (SQLite), `--postgresql` (a throwaway PostgreSQL
server for the run), or COMPLAINTS_BENCH_DATABASE_URL=... for a server of your own.
Sizes: BENCH_STORED (100000).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import secrets
import statistics as pystats
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sqlalchemy import func, insert, select  # noqa: E402

from engine import case_facts, statistics  # noqa: E402
from engine.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion  # noqa: E402
from engine.services import Services  # noqa: E402

STORED = int(os.environ.get("BENCH_STORED", 100_000))
MONTHS = 10
FIRST_MONTH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
STEPS = (("check_record", "Check the record is complete", "cs_agent"),
         ("classify", "Classify the complaint", "cs_agent"),
         ("dispatch", "Dispatch to the responsible department", "cs_agent"),
         ("verify", "Preliminary verification", "dept_handler"),
         ("propose_solution", "Propose a solution", "dept_handler"),
         ("follow_up", "Follow-up visit", "cs_agent"))
RUNS = 5


def database_url(stack: ExitStack) -> str:
    if os.environ.get("COMPLAINTS_BENCH_DATABASE_URL"):
        return os.environ["COMPLAINTS_BENCH_DATABASE_URL"]
    if "--postgresql" in sys.argv[1:]:
        from support.pg_server import throwaway_postgres
        return stack.enter_context(throwaway_postgres("statsbench"))
    workdir = Path(tempfile.mkdtemp(prefix="complaints-statsbench-"))
    return f"sqlite:///{workdir / 'bench.db'}"


def seed(services: Services) -> None:
    rng = random.Random(1849)
    started = time.perf_counter()
    with services.db.write() as session:
        version_id = session.execute(select(ProcessVersion.id).where(
            ProcessVersion.process_id == "complaint")).scalars().first()
        users = list(range(1, 12))
        span = MONTHS * 30 * 86400
        for base in range(0, STORED, 5000):
            rows = []
            for n in range(base, min(base + 5000, STORED)):
                created = FIRST_MONTH + dt.timedelta(seconds=span * n // STORED)
                status = ("open", "closed", "closed", "cancelled")[n % 4]
                rows.append({
                    "version_id": version_id, "ticket": f"B{n:09d}", "status": status,
                    "path": ("general", "major")[n % 7 == 0], "revision": 1,
                    "customer_name": f"Customer {n}",
                    "customer_phone": f"139{rng.randrange(STORED // 3):08d}",
                    "complaint_type": ("product_quality", "logistics", "service_attitude",
                                       "after_sales", "other")[n % 5],
                    "department_code": ("quality", "logistics", "sales")[n % 3],
                    "channel": ("hotline", "web", "counter", "social", "email")[n % 5],
                    "received_at": created - dt.timedelta(minutes=n % 90),
                    "status_token_hash": secrets.token_hex(32),
                    "created_at": created, "updated_at": created,
                    "closed_at": created + dt.timedelta(hours=2 + n % 300)
                    if status != "open" else None})
            table = ProcessInstance.__table__
            ids = session.execute(insert(table).returning(table.c.id,
                                                          sort_by_parameter_order=True),
                                  rows).scalars().all()
            tasks, events = [], []
            for case_id, row in zip(ids, rows):
                at = row["created_at"]
                for index, (name, title, role) in enumerate(STEPS):
                    opened = at + dt.timedelta(hours=index * 3)
                    done = opened + dt.timedelta(hours=rng.choice((1, 2, 3, 5)))
                    due = opened + dt.timedelta(hours=4)
                    finished = row["status"] != "open" or index < 3
                    tasks.append({
                        "id": str(uuid.uuid4()), "instance_id": case_id, "name": name,
                        "title": title, "lane": role, "role": role,
                        "department_code": row["department_code"]
                        if role == "dept_handler" else None,
                        "state": "completed" if finished else "ready", "created_at": opened,
                        "due_at": due, "completed_at": done if finished else None,
                        "completed_by_id": rng.choice(users) if finished else None,
                        "breached_at": due if done > due else None,
                        "escalated_at": due if done > due + dt.timedelta(hours=1) else None})
                for task, data in (("classify", {"urgency": rng.choice(("urgent", "normal",
                                                                        "minor"))}),
                                   ("customer_decision",
                                    {"customer_response": rng.choice(("accept", "reject"))}),
                                   ("follow_up", {"satisfaction": rng.choice(
                                       ("satisfied", "fairly_satisfied", "not_satisfied")),
                                       "satisfaction_score": rng.randrange(1, 6)})):
                    events.append({"chain": f"case:{case_id}", "instance_id": case_id,
                                   "actor": "agent", "kind": "task_completed",
                                   "detail": {"task": task, "task_id": "", "data": data},
                                   "at": at, "prev_hash": "0" * 64,
                                   "hash": secrets.token_hex(32)})
            session.execute(insert(HumanTask), tasks)
            session.execute(insert(AuditEvent), events)
    print(f"stored {STORED:,} complaints with {STORED * len(STEPS):,} tasks and "
          f"{STORED * 3:,} form answers in {time.perf_counter() - started:.1f} s", flush=True)
    # The case columns each step keeps, from the rows written (as the migration fills them).
    started = time.perf_counter()
    with services.db.write() as session:
        count = case_facts.refill(session.connection())
    print(f"filled the statistics columns of {count:,} cases from their audit trail in "
          f"{time.perf_counter() - started:.1f} s", flush=True)


def timed(label: str, action, runs: int = RUNS) -> None:
    action()  # warm: first reads fill the database's cache
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    ms = [s * 1000 for s in seconds]
    print(f"{label:<58} n={runs}  median {pystats.median(ms):8.1f} ms  max {max(ms):8.1f} ms",
          flush=True)


def export_in_child(url: str, name: str, cases: int) -> None:
    """Run one export in a process of its own, to see its own peak memory."""
    answer = subprocess.run([sys.executable, __file__, "--export", url, name],
                            capture_output=True, text=True, check=True)
    result = json.loads(answer.stdout.strip().splitlines()[-1])
    print(f"export {name:<16} {cases:>7,} cases  {result['seconds']:6.1f} s  "
          f"{result['megabytes']:7.1f} MB written  peak memory {result['peak_mb']:6.1f} MB "
          f"(+{result['peak_mb'] - result['before_mb']:.1f} MB over the process before it; "
          f"its own memory, SQLite's page cache included, peaked at "
          f"{result['own_mb']:.1f} MB)", flush=True)


def high_water_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: that keeps the
    peak of the parent it was forked from across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def anonymous_mb() -> float:
    """Resident memory that is not a mapped file: the process's own heap (SQLite maps the
    database file into memory, up to its mmap_size; those pages are the file's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def export_only(url: str, name: str) -> None:
    from engine import exports
    from engine.statistics import Scope
    services = Services.create(url)
    before = high_water_mb()
    produce, _type = exports.EXPORTS[name]
    started = time.perf_counter()
    written, own = 0, anonymous_mb()
    with services.db.read() as session, open(os.devnull, "wb") as sink:
        for count, piece in enumerate(produce(session, Scope(), "complaint")):
            data = piece.encode("utf-8")
            written += len(data)
            sink.write(data)
            if count % 20 == 0:
                own = max(own, anonymous_mb())
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "megabytes": written / 1e6,
                      "peak_mb": high_water_mb(),
                      "before_mb": before, "own_mb": own}))


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        return
    if "--export" in sys.argv:
        index = sys.argv.index("--export")
        export_only(sys.argv[index + 1], sys.argv[index + 2])
        return
    # Imported here: the export's own process loads only what an export needs.
    from engine import bootstrap, migrate, versions
    with ExitStack() as stack:
        url = database_url(stack)
        migrate.upgrade(url)
        services = Services.create(url)
        versions.deploy_shipped(services)
        bootstrap.create_demo_directory(services)
        seed(services)
        month = statistics.Period.month(2026, 5)
        calendar = services.calendars.for_team(None)
        now = dt.datetime.now(dt.timezone.utc)
        with services.db.read() as session:
            figures = statistics.compute(session, month, calendar=calendar, as_of=now)
        print(f"May 2026: {figures.received:,} complaints, {figures.on_time.decided:,} steps "
              f"with a deadline, {figures.handling.count:,} closed", flush=True)

        def compute():
            with services.db.read() as session:
                statistics.compute(session, month, calendar=calendar, as_of=now)
        timed("a month's statistics (engine.statistics.compute)", compute)
        timed("the same for one department", lambda: statistics.for_period(
            services, month, "quality"))

        from web import create_app
        app = create_app({"SERVICES": services, "DATABASE_URL": url, "TESTING": True,
                          "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
        client = app.test_client()
        response = client.post("/login", data={"username": "auditor", "password": "demo"})
        assert response.status_code == 302, response.status_code

        def page():
            answer = client.get("/statistics?period=month&month=2026-05")
            assert answer.status_code == 200
        timed("the statistics page for the month (GET /statistics)", page)
        with services.db.read() as session:
            cases = session.execute(select(func.count()).where(
                ProcessInstance.status_token_hash.is_not(None))).scalar_one()
        services.db.dispose()
        export_in_child(url, "events.xes", cases)
        export_in_child(url, "task-events.csv", cases)


if __name__ == "__main__":
    main()

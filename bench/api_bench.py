"""Task completion and inbox latency with 100,000 stored instances.

Prints median and p95 for: completing one human task through POST /api/v1/tasks/<id>,
the same completion as a service call in the process (no HTTP), the inbox
(GET /api/v1/tasks) of a user with 1,000 open tasks, and the raw in-memory SpiffWorkflow
time for the same step, with the service call's multiple of it and the statements a
completion sends to the database.

Run: `make bench` (SQLite), `make bench-postgresql` (a throwaway PostgreSQL server started
for the run; needs the Debian `postgresql` server binaries), or
`COMPLAINTS_BENCH_DATABASE_URL=postgresql+psycopg://... make bench` against a server of
your own. Sizes: BENCH_STORED (100000), BENCH_COMPLETIONS (1000).
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sqlalchemy import event, insert, select  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import bootstrap, collector, intake, migrate, runtime, specs, versions  # noqa: E402
from engine.directory import actor_of, create_user, find_user  # noqa: E402
from engine.models import HumanTask, InstanceState, ProcessInstance  # noqa: E402
from engine.case_run import CaseRun  # noqa: E402
from engine.serialization import dump_state, load_state  # noqa: E402
from engine.services import COMPLAINT_PROCESS, Services  # noqa: E402
from web import create_app  # noqa: E402

STORED = int(os.environ.get("BENCH_STORED", 100_000))
COMPLETIONS = int(os.environ.get("BENCH_COMPLETIONS", 1_000))
WARM_UP = 50
INBOX_TASKS = 1_000
INBOX_CALLS = 300
RECORD = {
    "customer_name": "Bench Customer", "customer_phone": "13800000000",
    "product": "Kettle K-1", "description": "Leaks at the base.", "demand": "Refund",
}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(label: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"{label:<58} n={len(ms):>5}  median {statistics.median(ms):7.2f} ms"
          f"  p95 {pct(ms, 95):7.2f} ms  max {max(ms):7.2f} ms", flush=True)


def store_rows(session, rows: list[dict], state: str) -> None:
    table = ProcessInstance.__table__
    ids = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                          rows).scalars().all()
    session.execute(insert(InstanceState), [{"instance_id": i, "state": state} for i in ids])


def store_bulk(services: Services, actor, busy_user_id: int) -> None:
    """Copy one real running and one real finished state into STORED rows."""
    running_ticket = runtime.file_complaint(services, RECORD, staff=actor).ticket
    with services.db.read() as session:
        state, version_id = session.execute(
            select(InstanceState.state, ProcessInstance.version_id)
            .join(InstanceState, InstanceState.instance_id == ProcessInstance.id)
            .where(ProcessInstance.ticket == running_ticket)).one()
    now = dt.datetime.now(dt.timezone.utc)
    started = time.perf_counter()
    batch, tasks_batch = [], []
    with services.db.write() as session:
        for n in range(STORED):
            finished = n % 2 == 0
            batch.append(dict(
                version_id=version_id, ticket=f"B{n:09d}", status="closed" if finished else "open",
                path="general", revision=1, customer_name=f"Customer {n}",
                customer_phone=f"139{n:08d}", complaint_type="product_quality",
                created_at=now, updated_at=now, channel="web", received_at=now,
            ))
            if len(batch) == 5000:
                store_rows(session, batch, state)
                batch = []
        if batch:
            store_rows(session, batch, state)
        open_ids = session.execute(select(ProcessInstance.id).where(
            ProcessInstance.status == "open", ProcessInstance.ticket.like("B%"))
            .limit(INBOX_TASKS)).scalars().all()
        for instance_id in open_ids:
            tasks_batch.append(dict(
                id=str(uuid.uuid4()), instance_id=instance_id, name="verify",
                title="Preliminary verification", lane="dept_handler", role="dept_handler",
                department_code="quality", assignee_id=busy_user_id, state="ready",
                created_at=now))
        session.execute(insert(HumanTask), tasks_batch)
    print(f"stored {STORED:,} instances and {len(tasks_batch):,} open tasks for the inbox user "
          f"in {time.perf_counter() - started:.1f} s", flush=True)


def raw_engine(services: Services) -> list[float]:
    with services.db.read() as session:
        loaded = services.specs.get(session, specs.latest_version(session, COMPLAINT_PROCESS).id)
    data = {**{k: None for k in intake.intake_schema(services)["properties"]}, **RECORD,
            "ticket": "x", "parent_ticket": None}
    timings = []
    for _ in range(COMPLETIONS):
        workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs,
                                script_engine=services.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        workflow.do_engine_steps()
        [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
        started = time.perf_counter()
        task.set_data(record_complete=True)
        task.run()
        workflow.do_engine_steps()
        timings.append(time.perf_counter() - started)
    return timings


def state_round_trip(services: Services, task_id: str) -> tuple[list[float], list[float]]:
    """Deserializing and serializing the state of a case waiting at its first task, as
    every step does once each: the floor under a step that loads and saves whole states."""
    with services.db.read() as session:
        run, _row = CaseRun.for_task(services, session, task_id)
        state = session.execute(select(InstanceState.state).where(
            InstanceState.instance_id == run.case.id)).scalar_one()
        loaded = services.specs.get(session, run.case.version_id)
    loads, dumps = [], []
    for _ in range(COMPLETIONS):
        started = time.perf_counter()
        workflow = load_state(state, loaded.spec, loaded.subprocess_specs,
                              services.script_engine)
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        dump_state(workflow)
        dumps.append(time.perf_counter() - started)
    return loads, dumps


def database_url(stack: ExitStack) -> str:
    if os.environ.get("COMPLAINTS_BENCH_DATABASE_URL"):
        return os.environ["COMPLAINTS_BENCH_DATABASE_URL"]
    if "--postgresql" in sys.argv[1:]:
        from support.pg_server import throwaway_postgres
        return stack.enter_context(throwaway_postgres("bench"))
    workdir = Path(tempfile.mkdtemp(prefix="complaints-bench-"))
    return f"sqlite:///{workdir / 'bench.db'}"


def file_tasks(services: Services, actor, count: int) -> list[str]:
    """`count` fresh complaints, each waiting at its first task; returns the task ids."""
    task_ids = []
    for _ in range(count):
        ticket = runtime.file_complaint(services, RECORD, staff=actor).ticket
        with services.db.read() as session:
            task_ids.append(session.execute(select(HumanTask.id).join(ProcessInstance).where(
                ProcessInstance.ticket == ticket)).scalar_one())
    return task_ids


def main() -> None:
    with ExitStack() as stack:
        run(database_url(stack))


def run(url: str) -> None:
    print(f"database: {url.split('@')[-1]}")
    migrate.upgrade(url)
    services = Services.create(url)
    versions.deploy_shipped(services)
    bootstrap.create_demo_directory(services)
    with services.db.write() as session:
        busy = create_user(session, "busy", "bench-password", ["dept_handler"],
                           department="quality")
        busy_id = busy.id
    with services.db.read() as session:
        agent = actor_of(find_user(session, "agent"))
    store_bulk(services, agent, busy_id)
    if not services.db.is_sqlite:
        # What autovacuum would have done after a bulk load: plans for tables of this size.
        with services.db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")

    app = create_app({"SERVICES": services, "DATABASE_URL": url, "SECRET_KEY": "bench",
                      "LOGIN_ATTEMPTS_PER_MINUTE": 10_000})
    client = app.test_client()
    collector.tune_after_start_up()  # as the server does once started (web/serve.py)

    def bearer(username, password="demo"):
        token = client.post("/api/v1/token", json={"username": username, "password": password})
        return {"Authorization": f"Bearer {token.get_json()['token']}"}

    agent_headers = bearer("agent")
    for task_id in file_tasks(services, agent, WARM_UP):  # caches, prepared statements
        client.post(f"/api/v1/tasks/{task_id}", json={"record_complete": True},
                    headers=agent_headers)
    timings = []
    for task_id in file_tasks(services, agent, COMPLETIONS):
        started = time.perf_counter()
        response = client.post(f"/api/v1/tasks/{task_id}", json={"record_complete": True},
                               headers=agent_headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_json()
    report("complete a task, POST /api/v1/tasks/<id>", timings)

    statements = [0]
    event.listen(services.db.engine, "before_cursor_execute",
                 lambda *_args: statements.__setitem__(0, statements[0] + 1))
    in_process = []
    for task_id in file_tasks(services, agent, COMPLETIONS):
        before = statements[0]
        started = time.perf_counter()
        runtime.complete_task(services, agent, task_id, {"record_complete": True})
        in_process.append(time.perf_counter() - started)
        per_step = statements[0] - before
    report("complete a task, service call in the process (no HTTP)", in_process)

    busy_headers = bearer("busy", "bench-password")
    timings = []
    for _ in range(INBOX_CALLS):
        started = time.perf_counter()
        response = client.get("/api/v1/tasks", headers=busy_headers)
        timings.append(time.perf_counter() - started)
    assert len(response.get_json()["tasks"]) == INBOX_TASKS
    report(f"inbox of a user with {INBOX_TASKS:,} open tasks, GET /api/v1/tasks", timings)
    raw = raw_engine(services)
    report("raw SpiffWorkflow in memory, same step (no storage)", raw)
    loads, dumps = state_round_trip(services, file_tasks(services, agent, 1)[0])
    report("  deserialize the case's state (once per step)", loads)
    report("  serialize the case's state (once per step)", dumps)
    print(f"service call / raw step (medians): {statistics.median(in_process) / statistics.median(raw):.1f}x;"
          f" statements per completion: {per_step}", flush=True)


if __name__ == "__main__":
    main()

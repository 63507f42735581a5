"""Timer workers as separate processes, and due cases to give them: bulk copies of real
instances (consistent: every copy's waiting tasks are its own human-task rows), and a
moment in the past from which the dispatch SLA ladder has run out. Shared by
tests/test_timer_workers.py and bench/timer_bench.py."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Optional

import time_machine
from sqlalchemy import insert, select
from SpiffWorkflow.util.task import TaskState

from engine.case_run import CaseRun
from engine.models import HumanTask, InstanceState, ProcessInstance
from support.paths import PROJECT_ROOT


def real_now() -> dt.datetime:
    """The wall-clock time the worker processes see, even while the test clock travels."""
    return time_machine.escape_hatch.datetime.datetime.now(dt.timezone.utc)


def past_working_moment(services, before: dt.datetime, hours: float = 2.0) -> dt.datetime:
    """10:00 on a working day of customer service's calendar, early enough that `hours`
    of business time from it (the dispatch escalation) ended before `before`."""
    calendar = services.calendars.for_team("customer_service")
    day = (before - dt.timedelta(days=1)).astimezone(calendar.zone).date()
    while True:
        moment = dt.datetime.combine(day, dt.time(10, 0), calendar.zone)
        if calendar.is_working_day(day) and \
                calendar.add(moment, dt.timedelta(hours=hours)) < before - dt.timedelta(minutes=5):
            return moment.astimezone(dt.timezone.utc)
        day -= dt.timedelta(days=1)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def clone_instances(services, template_ids: list[int], copies: int,
                    first_serial: int = 900_000, chunk: int = 500) -> list[int]:
    """Bulk-copy open instances (with their ready human tasks) into `copies` new ones.

    Each copy is a genuine instance: every UUID in the serialized state (task ids, and so
    the ids of the human-task rows, which are the SpiffWorkflow task ids) is replaced by
    a fresh one, consistently, and the ticket in the case data by the copy's own.
    Returns the new instance ids.
    """
    table, task_table = ProcessInstance.__table__, HumanTask.__table__
    skip = {"id", "ticket", "state", "status_token_hash", "revision", "lease_owner",
            "lease_until"}
    with services.db.read() as session:
        connection = session.connection()
        states = InstanceState.__table__
        templates = [dict(r._mapping) for r in connection.execute(
            select(table, states.c.state).join(states, states.c.instance_id == table.c.id)
            .where(table.c.id.in_(template_ids)).order_by(table.c.id))]
        ready = {t["id"]: [dict(r._mapping) for r in connection.execute(
            select(task_table).where(task_table.c.instance_id == t["id"],
                                     task_table.c.state == "ready"))] for t in templates}
    assert len(templates) == len(template_ids), "template instances missing"
    new_ids: list[int] = []
    with services.db.write() as session:
        connection = session.connection()
        for start in range(0, copies, chunk):
            rows, tasks_of_row, states_of_row = [], [], []
            for n in range(start, min(start + chunk, copies)):
                template = templates[n % len(templates)]
                ticket = f"{template['ticket'][:4]}{first_serial + n:06d}"
                mapping: dict[str, str] = {}
                state = _UUID.sub(lambda m: mapping.setdefault(m.group(), str(uuid.uuid4())),
                                  template["state"])
                state = state.replace(f'"{template["ticket"]}"', f'"{ticket}"')
                row = {k: v for k, v in template.items() if k not in skip}
                row.update(ticket=ticket, revision=1,
                           status_token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest())
                rows.append(row)
                states_of_row.append(state)
                copied_tasks = []
                for task in ready[template["id"]]:
                    assert task["id"] in mapping, "a human task id missing from the state"
                    copied_tasks.append({**task, "id": mapping[task["id"]]})
                tasks_of_row.append(copied_tasks)
            ids = list(connection.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
            ).scalars())
            connection.execute(insert(InstanceState.__table__), [
                {"instance_id": i, "state": st} for i, st in zip(ids, states_of_row)])
            task_rows = [{**task, "instance_id": instance_id}
                         for instance_id, copied in zip(ids, tasks_of_row) for task in copied]
            if task_rows:
                connection.execute(insert(task_table), task_rows)
            new_ids.extend(ids)
    return new_ids


def check_copy(services, instance_id: int) -> None:
    """A copy loads, and its waiting user tasks are exactly its own human-task rows."""
    with services.db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        run = CaseRun.read(services, session, instance_id)
        workflow = run.workflow
        rows = set(session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "ready")).scalars())
        ticket = instance.ticket
    ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    assert rows and ready == rows, (ready, rows)
    assert run.data["ticket"] == ticket


def start_worker(database_url: str, name: str, log: Path, *extra: str,
                 at: Optional[dt.datetime] = None) -> subprocess.Popen:
    """A worker process; with `at`, its clock starts at that moment and runs on from
    there at the normal pace (the whole process travels: its scheduler too)."""
    env = {k: v for k, v in os.environ.items() if k != "COMPLAINTS_DATABASE_URL"}
    start = ["-m", "engine.worker"]
    if at is not None:
        start = ["-c", "import datetime, sys, time_machine; "
                 f"time_machine.travel(datetime.datetime.fromisoformat({at.isoformat()!r}), "
                 "tick=True).start(); from engine.worker import main; main(sys.argv[1:])"]
    return subprocess.Popen(
        [sys.executable, *start, "--database-url", database_url, "--name", name, *extra],
        cwd=PROJECT_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def stop_worker(process: subprocess.Popen, timeout: float = 30) -> Optional[int]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None
    return process.returncode

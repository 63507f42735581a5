"""A task's deadline stays its deadline after its reminder, breach or escalation fired:
a complaint registered late (the call came in yesterday) has overdue tasks that show
their due time everywhere, sort first and are counted and filtered as overdue."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from engine import tasks, timers
from engine.calendars import get_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = get_calendar("cn-standard")


def file_late(desk, clock) -> tuple[str, dt.datetime]:
    """A phone complaint received yesterday at 10:00, registered now."""
    received = clock.now - dt.timedelta(days=1)
    ticket = desk.file(received_at=received.isoformat())
    return ticket, received


def test_a_late_registered_case_keeps_its_deadlines(desk, clock):
    ticket, received = file_late(desk, clock)
    desk.run_until(ticket, "dispatch")
    dispatch = desk.task(ticket, "dispatch")
    assert dispatch.due_at == CN.add(received, dt.timedelta(hours=1))
    assert dispatch.is_overdue(clock.now)


def test_a_deadline_survives_its_breach_and_escalation_firing(desk, services, clock):
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    due = desk.task(ticket, "dispatch").due_at
    clock.advance(days=3)
    timers.fire_due(services, "test-worker")
    task = desk.task(ticket, "dispatch")
    assert task.breached_at is not None
    assert task.due_at == due


def test_overdue_late_tasks_sort_first_and_are_counted(desk, services, actors, clock,
                                                      client):
    on_time = desk.file()
    desk.run_until(on_time, "dispatch")
    late, _received = file_late(desk, clock)
    desk.run_until(late, "dispatch")
    agent = actors["agent"]
    with services.db.read() as session:
        rows = tasks.worklist(session, agent, now=clock.now)
        summary = tasks.worklist_summary(session, agent, clock.now)
        overdue = tasks.worklist(session, agent, filters=tasks.WorklistFilter(overdue=True),
                                 now=clock.now)
    order = [r.ticket for r in rows if r.name == "dispatch"]
    assert order.index(late) < order.index(on_time)
    assert summary.overdue >= 1
    assert late in {r.ticket for r in overdue} and on_time not in {r.ticket for r in overdue}
    token = client.post("/api/v1/token", json={"username": "agent", "password": "demo"})
    listed = client.get("/api/v1/tasks", headers={
        "Authorization": f"Bearer {token.get_json()['token']}"}).get_json()["tasks"]
    late_dispatch = next(t for t in listed if t["ticket"] == late and t["name"] == "dispatch")
    assert late_dispatch["due_at"] is not None

"""What an inbox row tells at a glance: what the case is about and whose it is, how long
until the deadline in words, and whether it is due soon, overdue or breached, in words as
well as colour; queues and people by their names, in both languages."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from alembic import command
from sqlalchemy import select, update

from engine import migrate, tasks, timers
from engine.models import ProcessInstance
from support.pages import signed_in

CHINESE = "zh-CN,zh;q=0.9"


def local(hour: int, minute: int = 0) -> dt.datetime:
    """A time on the test day (a Wednesday), given in Shanghai time."""
    return dt.datetime(2026, 11, 25, hour - 8, minute, tzinfo=dt.timezone.utc)


def row_of(page: str, ticket: str) -> str:
    """The text of the task row of this ticket, tags removed."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", page, re.S):
        if f">{ticket}<" in row:
            return " ".join(re.sub(r"<[^>]+>", " ", row).split())
    raise AssertionError(f"no row for {ticket}")


def row_class(page: str, ticket: str) -> str:
    for match in re.finditer(r'<tr class="([^"]*)">(.*?)</tr>', page, re.S):
        if f">{ticket}<" in match.group(2):
            return match.group(1)
    raise AssertionError(f"no row for {ticket}")


def inbox(app, username: str, language: str | None = None, path: str = "/") -> str:
    client = signed_in(app, username)
    headers = {"Accept-Language": language} if language else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def dispatching(desk, clock):
    """One complaint waiting to be dispatched (due an hour after it came in, 11:00), one
    waiting for its record to be checked (no deadline)."""
    clock.now = local(10, 0)
    due = desk.file(customer_name="Zhou Xun", product="Kettle K-1")
    desk.run_until(due, "dispatch")
    undated = desk.file(customer_name="Wang Lei", product="Air purifier AP-300")
    return {"due": due, "undated": undated}


def test_every_row_shows_subject_customer_queue_and_the_deadline_in_words(
        dispatching, clock, app):
    clock.now = local(10, 15)
    page = inbox(app, "agent")
    row = row_of(page, dispatching["due"])
    assert "Kettle K-1" in row and "Zhou Xun" in row
    assert "Customer service agent" in row  # the queue by the role's name
    assert "due in 45 min" in row and "Due soon" in row and "2026-11-25 11:00" in row
    assert "is-due_soon" in row_class(page, dispatching["due"])
    undated = row_of(page, dispatching["undated"])
    assert "Air purifier AP-300" in undated and "Wang Lei" in undated and "due in" not in undated
    assert ">Lane<" not in page and ">Queue<" in page

    clock.now = local(11, 20)
    page = inbox(app, "agent")
    row = row_of(page, dispatching["due"])
    assert "overdue by 20 min" in row and "Overdue" in row
    assert "is-overdue" in row_class(page, dispatching["due"])


def test_a_breached_step_says_so_and_the_overdue_time_grows_in_hours(dispatching, clock, app,
                                                                     services):
    clock.now = local(13, 30)
    timers.fire_due(services, "test")  # the breach is recorded and escalated
    page = inbox(app, "agent")
    row = row_of(page, dispatching["due"])
    assert "overdue by 2 h" in row and "SLA breached" in row
    assert "is-breached" in row_class(page, dispatching["due"])


def test_the_chinese_inbox_says_the_same_in_chinese(dispatching, clock, app, services):
    clock.now = local(10, 30)
    row = row_of(inbox(app, "agent", CHINESE), dispatching["due"])
    assert "30 分钟后到期" in row and "即将到期" in row and "客服专员" in row
    clock.now = local(14, 0)
    timers.fire_due(services, "test")
    row = row_of(inbox(app, "agent", CHINESE), dispatching["due"])
    assert "已逾期 3 小时" in row and "已超时限" in row


def test_assignees_appear_by_name_and_the_text_filter_finds_the_subject(
        dispatching, desk, clock, app, actors, services):
    clock.now = local(10, 5)
    with services.db.write() as db:
        tasks.claim(db, actors["agent"], desk.task(dispatching["due"], "dispatch").id, clock.now)
    mine = inbox(app, "agent")
    assert "Li Na (agent)" in row_of(mine, dispatching["due"])
    assert ">agent<" not in mine
    found = inbox(app, "agent", path="/?q=purifier")
    assert dispatching["undated"] in found and dispatching["due"] not in found


def test_the_task_and_case_pages_name_the_queue_and_the_deadline_in_words(
        dispatching, desk, clock, app):
    clock.now = local(10, 20)
    task = desk.task(dispatching["due"], "dispatch")
    agent = signed_in(app, "agent")
    page = agent.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Queue: Customer service agent" in page and "Lane:" not in page
    assert "due in 40 min" in page and "Due soon" in page
    case = agent.get(f"/cases/{dispatching['due']}").get_data(as_text=True)
    assert "Customer service agent" in case and "due in 40 min" in case


def test_the_api_lists_subject_customer_and_the_assignees_name(dispatching, desk, clock,
                                                                client, actors, services):
    with services.db.write() as db:
        tasks.claim(db, actors["agent"], desk.task(dispatching["due"], "dispatch").id, clock.now)
    token = client.post("/api/v1/token", json={"username": "agent", "password": "demo"})
    listed = client.get("/api/v1/tasks", headers={
        "Authorization": f"Bearer {token.get_json()['token']}"}).get_json()["tasks"]
    row = next(t for t in listed if t["ticket"] == dispatching["due"])
    assert row["subject"] == "Kettle K-1" and row["customer"] == "Zhou Xun"
    assert row["assignee"] == "agent" and row["assignee_name"] == "Li Na (agent)"
    assert row["breached"] is False


def test_cases_filed_before_the_subject_column_get_it_from_their_record(desk, services,
                                                                       database_url):
    complaint = desk.file(product="Kettle K-1")
    with services.db.write() as db:
        db.execute(update(ProcessInstance).values(subject=None))
    services.db.dispose()
    config = migrate.alembic_config(database_url)
    command.downgrade(config, "0015")
    command.upgrade(config, "head")
    with services.db.read() as db:
        subject = db.execute(select(ProcessInstance.subject).where(
            ProcessInstance.ticket == complaint)).scalar_one()
    assert subject == "Kettle K-1"


def test_an_improvement_project_carries_its_complaints_subject(desk, services):
    ticket = desk.file(product="Kettle K-1")
    desk.run_until(ticket, "execute_solution")
    desk.do(ticket, "execute_solution", improvement_requested=True)
    desk.wait_for_timers(ticket)
    desk.do(ticket, "follow_up")
    [project] = desk.case(ticket).linked_tickets
    with services.db.read() as db:
        subject = db.execute(select(ProcessInstance.subject).where(
            ProcessInstance.ticket == project)).scalar_one()
    assert subject == "Kettle K-1"


"""Safeguards that no other test guarded: each test here fails when its safeguard is
taken out of the code."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from engine import audit, calendars_admin, reassignment, runtime, specs, timers
from engine.directory import actor_of, find_user, issue_token
from engine.errors import AlreadyCompleted
from engine.forms import FormInvalid
from engine.models import AuditEvent, HumanTask, User
from engine.services import COMPLAINT_PROCESS
from support.pages import csrf
from support.people import add_user


def test_changing_the_submitted_data_of_an_event_breaks_its_chain(desk, services):
    """The hash covers what was submitted, not only who did it."""
    ticket = desk.file()
    desk.do(ticket, "check_record", record_complete=True)
    with services.db.write() as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.kind == "task_completed")).scalars().one()
        assert event.detail["data"] == {"record_complete": True}
        event.detail = {**event.detail, "data": {"record_complete": False}}
    with services.db.read() as session:
        assert audit.verify_chain(session, event.chain) == event.id


def test_a_worker_whose_lease_was_taken_over_fires_nothing(desk, services, clock):
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    clock.advance(days=3)
    [claimed] = timers.claim(services, "slow-worker", services.now(),
                             lease=dt.timedelta(seconds=5))
    clock.advance(seconds=10)  # the slow worker's lease ran out
    assert timers.claim(services, "heir", services.now()) == [claimed]
    assert timers.fire(services, claimed, "slow-worker") == []
    assert timers.fire(services, claimed, "heir") == [
        "reminder:dispatch", "breach:dispatch", "escalation:dispatch"]
    with services.db.read() as session:
        fired = session.execute(select(AuditEvent.actor, AuditEvent.detail).where(
            AuditEvent.kind == "timers_fired")).all()
    assert [detail["worker"] for _actor, detail in fired] == ["heir"]


def test_an_expired_api_token_is_refused(client, services, clock):
    with services.db.write() as session:
        token, expires = issue_token(session, find_user(session, "agent"))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    clock.now = expires + dt.timedelta(seconds=1)
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401


def test_a_deactivated_user_cannot_sign_in_on_the_pages_or_the_api(client, services):
    with services.db.write() as session:
        session.execute(update(User).where(User.username == "agent").values(active=False))
    response = client.post("/api/v1/token", json={"username": "agent", "password": "demo"})
    assert response.status_code == 401
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "agent", "password": "demo",
                                           "csrf_token": csrf(page)})
    assert response.status_code != 302
    assert client.get("/").status_code in (302, 401)


def test_a_head_cannot_hand_an_approval_to_the_author_it_is_separated_from(
        desk, services, actors):
    """A variant in which the head's approval must not be done by the solution's handler;
    the handler here is the head 'head' (who also handles), and another head of the team
    tries to give the approval back to them."""
    sources = dict(specs.read_directory(services.processes_dir))
    text = sources["complaint.bpmn"].decode()
    form = '<spiffworkflow:property name="formJsonSchemaFilename" value="approve_solution.schema.json"/>'
    assert form in text
    sources["complaint.bpmn"] = text.replace(
        form, form + '\n<spiffworkflow:property name="separateFrom" value="handler"/>', 1).encode()
    with services.db.write() as session:
        specs.deploy(session, sources, COMPLAINT_PROCESS, "owner")
    add_user(services, "head2", ["dept_head"], "quality")
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")
    desk.do(ticket, "confirm_receipt", handler="head")
    desk.do(ticket, "verify", user="head")
    desk.do(ticket, "propose_solution", user="head")
    approval = desk.task(ticket, "approve_solution")
    with services.db.read() as session:
        head2 = actor_of(find_user(session, "head2"))
    with services.db.write() as session:
        with pytest.raises(FormInvalid) as refused:
            reassignment.reassign(session, head2, approval.id, "head", "Away tomorrow", services.now())
    assert "assignee" in refused.value.fields
    with services.db.write() as session:
        reassignment.reassign(session, head2, approval.id, "head2", "I take it", services.now())
    assert desk.task(ticket, "approve_solution").assignee == "head2"


def test_a_completed_task_records_who_completed_it(desk, services, actors):
    ticket = desk.file()
    task_id = desk.task(ticket, "check_record").id
    runtime.complete_task(services, actors["agent"], task_id, {"record_complete": True})
    with services.db.read() as session:
        row = session.get(HumanTask, task_id)
        assert (row.state, row.completed_by_id, row.assignee_id) == (
            "completed", actors["agent"].id, actors["agent"].id)
        assert row.completed_at == services.now()
    with pytest.raises(AlreadyCompleted):
        runtime.complete_task(services, actors["agent"], task_id, {"record_complete": True})


def test_a_closed_day_counts_at_once_in_new_deadlines(desk, services, clock):
    """Closing tomorrow moves a deadline that would end tomorrow to the next working day,
    immediately, not when the calendar cache next expires."""
    book = services.calendars
    before = book.for_team("quality").add(clock.now, dt.timedelta(hours=9))  # loads the cache
    tomorrow = before.astimezone(book.for_team("quality").zone).date()
    calendars_admin.set_day(services, "cn-standard", tomorrow, False, "Company outing")
    after = book.for_team("quality").add(clock.now, dt.timedelta(hours=9))
    assert after.astimezone(book.for_team("quality").zone).date() > tomorrow
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    assert desk.task(ticket, "dispatch").due_at is not None


def test_ticket_serials_run_through_the_month_and_restart_in_the_next(desk, clock):
    clock.now = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.timezone.utc)
    first = desk.file()
    clock.now = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)
    second = desk.file()
    clock.now = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
    third = desk.file()
    assert (first, second, third) == ("2611000001", "2611000002", "2612000001")

"""SLA clocks on the general path, with a moved clock: reminder before, breach at due,
leadership after; urgency; pauses while waiting on the customer; restarts."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import timers
from engine.calendars import get_calendar
from engine.models import AuditEvent, HumanTask, Notification, ProcessInstance
from support.desk import Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = get_calendar("cn-standard")


def local(value: dt.datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%a %d %H:%M")


def sla_notices(services, ticket=None) -> list[tuple[str, str, str]]:
    """(kind, recipient role or user id, subject) of the SLA notices so far, oldest first."""
    with services.db.read() as session:
        query = (select(Notification.kind, Notification.recipient_role,
                        Notification.recipient_user_id, Notification.recipient_department,
                        Notification.subject)
                 .join(ProcessInstance, Notification.instance_id == ProcessInstance.id)
                 .where(Notification.kind.like("sla_%")).order_by(Notification.id))
        if ticket:
            query = query.where(ProcessInstance.ticket == ticket)
        return [(k, r or f"user:{u}", d, s) for k, r, u, d, s in session.execute(query)]


def row(services, task_id) -> HumanTask:
    with services.db.read() as session:
        return session.get(HumanTask, task_id)


def fire(services) -> int:
    return timers.fire_due(services, "test-worker")


STEPS = [  # step, hours from receipt (normal urgency), who hears of a breach
    ("dispatch", 1, "cs_supervisor"),
    ("confirm_receipt", 2, "dept_head"),
    ("verify", 4, "dept_head"),
    ("propose_solution", 8, "dept_head"),
    ("approve_solution", 8, "cs_supervisor"),
    ("execute_solution", 24, "dept_head"),
]


@pytest.mark.parametrize("step, hours, breach_to", STEPS, ids=[s[0] for s in STEPS])
def test_reminder_then_breach_then_leadership(desk, services, clock, step, hours, breach_to):
    received = clock.now
    ticket = desk.file()
    desk.run_until(ticket, step)  # every earlier step done at once, in time
    task = desk.task(ticket, step)
    due = CN.add(received, dt.timedelta(hours=hours))
    assert task.due_at == due
    ladder = [("sla_reminder", CN.add(received, dt.timedelta(hours=hours * 0.75))),
              ("sla_breach", due), ("sla_escalation", CN.add(received, dt.timedelta(hours=2 * hours)))]
    seen = []
    for kind, at in ladder:
        clock.now = at - dt.timedelta(minutes=1)
        fire(services)
        assert [n[0] for n in sla_notices(services, ticket)] == seen, f"early {kind} at {local(at)}"
        clock.now = at + dt.timedelta(seconds=1)
        fire(services)
        seen.append(kind)
        assert [n[0] for n in sla_notices(services, ticket)] == seen
    notices = sla_notices(services, ticket)
    assert notices[1][1] == breach_to and notices[2][1] == "leadership"
    if breach_to == "dept_head":
        assert notices[1][2] == "quality"  # the head of the department concerned
    marked = row(services, task.id)
    assert marked.reminded_at and marked.breached_at and marked.escalated_at
    assert desk.task(ticket, step).breached_at == marked.breached_at  # counted on the case
    fire(services)
    assert len(sla_notices(services, ticket)) == 3  # nothing fires twice
    with services.db.read() as session:
        others = session.execute(
            select(Notification.subject).join(ProcessInstance).where(
                ProcessInstance.ticket == ticket, Notification.kind.not_like("sla_%"))).scalars()
        assert all(subject.startswith(f"Complaint {ticket}") for subject in others)
    assert desk.task(ticket, step).id == task.id  # the late task is still there to do


def test_deadlines_in_local_business_hours(desk, services, clock):
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    assert local(desk.task(ticket, "verify").due_at) == "Wed 25 14:00"
    clock.now = dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)
    fire(services)
    [reminder, breach] = sla_notices(services, ticket)
    assert reminder[1] == "user:" + str(row(services, desk.task(ticket, "verify").id).assignee_id)
    assert "Preliminary verification" in breach[3] and ticket in breach[3]


def test_urgent_complaints_get_the_shorter_deadlines(desk, services, clock):
    normal = desk.file()
    urgent = desk.file(urgency="urgent")
    desk.run_until(normal, "verify")
    desk.do(urgent, "check_record")
    desk.do(urgent, "classify", urgency="urgent")
    desk.run_until(urgent, "verify")
    assert local(desk.task(urgent, "verify").due_at) == "Wed 25 12:00"
    assert local(desk.task(normal, "verify").due_at) == "Wed 25 14:00"
    clock.now = dt.datetime(2026, 11, 25, 12, 1, tzinfo=SHANGHAI)
    fire(services)
    assert [n[0] for n in sla_notices(services, urgent)] == ["sla_reminder", "sla_breach"]
    assert [n[0] for n in sla_notices(services, normal)] == []


def test_a_step_done_in_time_sends_nothing(desk, services, clock):
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    clock.advance(minutes=30)
    desk.do(ticket, "dispatch")
    clock.advance(days=5)
    fire(services)
    kinds = {(n[0], n[3].split(":")[1].strip().split(" on ")[0]) for n in sla_notices(services, ticket)}
    assert not any(step == "Dispatch to the responsible department" for _k, step in kinds)
    with services.db.read() as session:
        dispatch = session.execute(select(HumanTask).where(HumanTask.name == "dispatch")).scalar_one()
        assert dispatch.breached_at is None and dispatch.reminded_at is None


def test_waiting_on_the_customer_moves_later_deadlines(desk, services, clock):
    received = clock.now
    ticket = desk.file()
    desk.run_until(ticket, "customer_decision")
    presented = clock.now
    clock.now = dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)  # 5 business hours later
    assert CN.elapsed(presented, clock.now) == dt.timedelta(hours=5)
    desk.do(ticket, "customer_decision")
    execute = desk.task(ticket, "execute_solution")
    assert execute.due_at == CN.add(received, dt.timedelta(hours=24 + 5))
    assert desk.case(ticket).data["sla_paused_seconds"] == 5 * 3600
    fire(services)
    assert sla_notices(services, ticket) == []  # the wait itself breached nothing


def test_the_case_shows_the_clock_paused_while_waiting(desk, services, clock):
    ticket = desk.file()
    desk.do(ticket, "check_record", record_complete=False, missing_facts="Order number")
    case = desk.case(ticket)
    assert case.clock_paused_since == clock.now


CS = get_calendar("cn-24x7")
CUSTOMER_SERVICE_STEPS = [  # step, urgency, clock hours from receipt (001)
    ("present_solution", "normal", 12),
    ("present_solution", "urgent", 6),
    ("follow_up", "normal", 48),
    ("follow_up", "urgent", 48),
]


def reach(desk, ticket, step, urgency):
    if urgency != "normal":
        desk.do(ticket, "check_record")
        desk.do(ticket, "classify", urgency=urgency)
    desk.run_until(ticket, step)


def walk_the_ladder(services, clock, ticket, reminder_at, due, escalation_at):
    """Nothing before each stage's moment, the stage a second after it."""
    seen = []
    for kind, at in (("sla_reminder", reminder_at), ("sla_breach", due),
                     ("sla_escalation", escalation_at)):
        clock.now = at - dt.timedelta(minutes=1)
        fire(services)
        assert [n[0] for n in sla_notices(services, ticket)] == seen, f"early {kind} at {local(at)}"
        clock.now = at + dt.timedelta(seconds=1)
        fire(services)
        seen.append(kind)
        assert [n[0] for n in sla_notices(services, ticket)] == seen
    return sla_notices(services, ticket)


@pytest.mark.parametrize("step, urgency, hours", CUSTOMER_SERVICE_STEPS,
                         ids=[f"{s}-{u}" for s, u, _h in CUSTOMER_SERVICE_STEPS])
def test_customer_service_steps_count_clock_hours_from_receipt(desk, services, clock, step,
                                                                urgency, hours):
    """Presenting the solution (12 h, urgent 6 h) and the follow-up visit (48 h) are
    customer service's: counted from receipt on its 7x24 calendar, breach to the
    customer-service supervisor, then the leadership group."""
    received = clock.now
    ticket = desk.file(urgency=urgency)
    reach(desk, ticket, step, urgency)
    task = desk.task(ticket, step)
    assert task.lane == "cs_agent"
    due = CS.add(received, dt.timedelta(hours=hours))
    assert task.due_at == due
    notices = walk_the_ladder(services, clock, ticket,
                              CS.add(received, dt.timedelta(hours=hours * 0.75)), due,
                              CS.add(received, dt.timedelta(hours=2 * hours)))
    assert [n[1] for n in notices[1:]] == ["cs_supervisor", "leadership"]
    marked = row(services, task.id)
    assert marked.reminded_at and marked.breached_at and marked.escalated_at
    assert desk.task(ticket, step).id == task.id  # still there to do


def test_presenting_the_solution_meets_the_step_and_waits_for_the_customers_answer(
        desk, services, clock):
    ticket = desk.file()
    desk.run_until(ticket, "present_solution")
    assert local(desk.task(ticket, "present_solution").due_at) == "Wed 25 22:00"
    clock.advance(hours=2)
    desk.do(ticket, "present_solution")
    assert desk.open_task_names(ticket) == ["customer_decision"]
    assert desk.case(ticket).data["presented_channel"] == "phone"
    clock.advance(days=3)
    fire(services)
    assert [n for n in sla_notices(services, ticket)] == []  # met, and the wait is paused
    desk.do(ticket, "customer_decision")
    assert desk.open_task_names(ticket) == ["execute_solution"]


def test_follow_up_visit_opens_at_execution_due_48_hours_from_receipt(desk, services, clock):
    clock.now = dt.datetime(2026, 11, 28, 20, 0, tzinfo=SHANGHAI)  # Saturday evening
    ticket = desk.file()
    desk.run_until(ticket, "execute_solution")
    desk.do(ticket, "execute_solution")
    assert desk.open_task_names(ticket) == ["follow_up"]
    # 48 clock hours in customer service's 7x24 calendar, whatever the weekend.
    assert local(desk.task(ticket, "follow_up").due_at) == "Mon 30 20:00"


def test_timers_due_while_down_fire_once_in_due_order_at_start(services, actors, clock):
    from engine.scheduler import TimerScheduler
    from engine.services import Services
    desk = Desk(services, actors, clock)
    tickets = []
    for step in ("execute_solution", "verify", "dispatch"):
        ticket = desk.file()
        desk.run_until(ticket, step)
        tickets.append(ticket)
        clock.advance(minutes=10)
    services.db.dispose()  # the application stops
    clock.advance(days=10)
    restarted = Services.create(services.db.url)
    restarted.clock = clock
    scheduler = TimerScheduler(restarted, sweep_seconds=3600)
    scheduler.start()
    try:
        with restarted.db.read() as session:
            fired = [(e.instance_id, e.detail["fired"]) for e in session.execute(
                select(AuditEvent).where(AuditEvent.kind == "timers_fired")
                .order_by(AuditEvent.id)).scalars()]
            order = {i: t for i, t in session.execute(
                select(ProcessInstance.id, ProcessInstance.ticket))}
    finally:
        scheduler.shutdown()
        restarted.db.dispose()
    by_ticket = {order[i]: stages for i, stages in fired}
    assert [order[i] for i, _ in fired][:3] == [tickets[2], tickets[1], tickets[0]]  # due order
    assert by_ticket[tickets[2]] == ["reminder:dispatch", "breach:dispatch", "escalation:dispatch"]
    assert len([t for t in (order[i] for i, _ in fired) if t in tickets]) == 3  # once each


def test_each_department_counts_in_its_own_calendar(desk, services, clock):
    from engine import calendars_admin
    calendars_admin.set_department_calendar(services, "logistics", "eu-central")
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify")
    desk.do(ticket, "dispatch", department="logistics")
    # Received Wed 10:00 Shanghai = 03:00 Berlin: Berlin opens at 09:00, two hours later.
    due = desk.task(ticket, "confirm_receipt").due_at
    assert due.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %H:%M") == "Wed 11:00"
    with pytest.raises(ValueError):
        calendars_admin.set_department_calendar(services, "logistics", "mars-base")


def test_an_admin_closed_day_stops_the_clock(desk, services, clock):
    from engine import calendars_admin
    calendars_admin.set_day(services, "cn-standard", dt.date(2026, 11, 26), False,
                            "Company anniversary")
    clock.now = dt.datetime(2026, 11, 25, 17, 0, tzinfo=SHANGHAI)
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    # 1 hour on Wednesday, Thursday closed, 3 hours on Friday.
    assert local(desk.task(ticket, "verify").due_at) == "Fri 27 12:00"


BROKEN_NOTICE = ('<bpmn:endEvent id="dispatch_breach_end">',
                 '<bpmn:endEvent id="dispatch_breach_end"><bpmn:extensionElements>'
                 '<spiffworkflow:properties>'
                 '<spiffworkflow:property name="notifyRole" value="cs_supervisor"/>'
                 '<spiffworkflow:property name="notifySubject" value="missing_variable + 1"/>'
                 '</spiffworkflow:properties></bpmn:extensionElements>')


def test_a_case_whose_timer_fails_does_not_hold_back_the_cases_fired_with_it(
        desk, services, clock):
    """Due cases fire in groups, one transaction per group: when one case's timer fails,
    the others of its group still fire, and the failure is noted on its own case."""
    from engine import specs
    from engine.services import COMPLAINT_PROCESS
    good = [desk.file() for _ in range(3)]
    sources = dict(specs.read_directory(services.processes_dir))
    sources["complaint.bpmn"] = sources["complaint.bpmn"].decode().replace(
        *BROKEN_NOTICE).encode()
    with services.db.write() as session:
        specs.deploy(session, sources, COMPLAINT_PROCESS, "owner")
    broken = desk.file()  # a new case runs on the new, broken version
    for ticket in [*good, broken]:
        desk.run_until(ticket, "dispatch")
    with services.db.read() as session:
        ids = dict(session.execute(select(ProcessInstance.ticket, ProcessInstance.id)).all())
        latest = max(session.execute(select(ProcessInstance.next_due_at)).scalars())
    clock.now = latest + dt.timedelta(days=30)  # every SLA timer of dispatch is due
    assert timers.fire_due(services, "worker-1") == len(good)
    with services.db.read() as session:
        events = session.execute(select(AuditEvent.instance_id, AuditEvent.kind, AuditEvent.detail)
                                 .where(AuditEvent.kind.in_(["timers_fired", "step_failed"]))
                                 ).all()
    fired = {i for i, kind, _d in events if kind == "timers_fired"}
    assert fired == {ids[t] for t in good}
    failed = [d for i, kind, d in events if kind == "step_failed"]
    assert [i for i, kind, _d in events if kind == "step_failed"] == [ids[broken]]
    assert "missing_variable" in failed[0]["problem"]
    for ticket in good:
        assert {kind for kind, *_ in sla_notices(services, ticket)} == {
            "sla_reminder", "sla_breach", "sla_escalation"}
    assert sla_notices(services, broken) == []


def test_each_step_counts_in_the_calendar_of_the_team_that_does_it(desk, services, clock):
    # 001: the hotline works 7x24, so customer service's hour runs on a Saturday evening;
    # 002: the department counts effective working hours, from Monday's opening.
    clock.now = dt.datetime(2026, 11, 28, 20, 0, tzinfo=SHANGHAI)  # a Saturday
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    assert local(desk.task(ticket, "dispatch").due_at) == "Sat 28 21:00"
    clock.now = dt.datetime(2026, 11, 28, 21, 1, tzinfo=SHANGHAI)
    fire(services)
    assert [n[0] for n in sla_notices(services, ticket)] == ["sla_reminder", "sla_breach"]
    desk.do(ticket, "dispatch")
    assert local(desk.task(ticket, "confirm_receipt").due_at) == "Mon 30 11:00"


def test_customer_service_calendar_stays_configurable(desk, services, clock):
    from engine import calendars_admin
    calendars_admin.set_department_calendar(services, "customer_service", "cn-standard")
    clock.now = dt.datetime(2026, 11, 28, 20, 0, tzinfo=SHANGHAI)
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    assert local(desk.task(ticket, "dispatch").due_at) == "Mon 30 10:00"

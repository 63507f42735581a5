"""The steps and deadlines of the procedure beyond the general path's table, with a moved
clock: the major path's A1-A4 (002, one hour each), seed 003's report to the general
manager within 3 days and the GM office's opinion within 1 day."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import timers
from engine.models import Notification, ProcessInstance
from support.major_path import (
    approve_plan, file_major, open_names, row, to_plan, work,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(value: dt.datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%a %d %H:%M")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def sla_notices(services, ticket) -> list[tuple[str, str, str]]:
    with services.db.read() as session:
        return [(kind, role, subject) for kind, role, subject in session.execute(
            select(Notification.kind, Notification.recipient_role, Notification.subject)
            .join(ProcessInstance, Notification.instance_id == ProcessInstance.id)
            .where(ProcessInstance.ticket == ticket, Notification.kind.like("sla_%"))
            .order_by(Notification.id))]


def test_a1_to_a4_each_within_one_working_hour(desk, services, clock):
    """A1 counts from receipt in customer service's clock hours; A2 and A3 from the
    department's receipt of the complaint in its working hours; A4 from the report."""
    clock.now = at(27, 17, 0)  # Friday 17:00, received
    ticket = file_major(desk)
    assert open_names(desk, ticket) == ["pass_to_department"]
    assert local(row(desk, ticket, "pass_to_department").due_at) == "Fri 27 18:00"
    clock.now = at(27, 17, 30)
    work(desk, ticket, "pass_to_department")
    # The department works 09:00-18:00: half an hour on Friday, half on Monday.
    assert local(row(desk, ticket, "check_major_complaint").due_at) == "Mon 30 09:30"
    clock.now = at(30, 9, 10)
    work(desk, ticket, "check_major_complaint")
    report = row(desk, ticket, "report_check")
    assert report.lane == "dept_head" and report.department == "quality"
    assert local(report.due_at) == "Mon 30 09:30"  # one hour from receiving the complaint
    clock.now = at(30, 9, 25)
    work(desk, ticket, "report_check")
    inform = row(desk, ticket, "inform_gm_office")
    assert inform.lane == "cs_agent" and local(inform.due_at) == "Mon 30 10:25"
    clock.now = at(30, 10, 0)
    work(desk, ticket, "inform_gm_office")
    assert open_names(desk, ticket) == ["confirm_major"]
    assert sla_notices(services, ticket) == []  # all in time
    data = desk.case(ticket).data
    assert data["check_result"] == "true" and data["department"] == "quality"
    assert data["gm_briefing"].startswith("Verified by quality")


def test_a_late_a1_to_a4_step_is_reminded_breached_and_escalated(desk, services, clock):
    received = clock.now  # Wednesday 10:00
    ticket = file_major(desk)
    for minutes, stage in ((46, "sla_reminder"), (61, "sla_breach"), (121, "sla_escalation")):
        clock.now = received + dt.timedelta(minutes=minutes)
        timers.fire_due(services, "test-worker")
        assert sla_notices(services, ticket)[-1][0] == stage
    notices = sla_notices(services, ticket)
    assert [n[1] for n in notices[1:]] == ["cs_supervisor", "leadership"]
    assert "Pass the complaint to the department concerned" in notices[1][2]
    work(desk, ticket, "pass_to_department")
    handed_over = clock.now  # Wednesday 12:01
    clock.now = handed_over + dt.timedelta(hours=2, minutes=1)
    timers.fire_due(services, "test-worker")
    late = [n for n in sla_notices(services, ticket)[3:]]
    assert [n[0] for n in late] == ["sla_reminder", "sla_breach", "sla_escalation"]
    assert all("Verify the complaint" in n[2] for n in late)


def test_the_report_to_the_general_manager_is_due_three_days_after_the_investigation(
        desk, services, clock):
    ticket = file_major(desk)
    for name in ("confirm_major", "call_back_customer", "name_departments"):
        work(desk, ticket, name, **({"support_departments": []}
                                    if name == "name_departments" else {}))
    work(desk, ticket, "lead_investigation", department="quality")
    clock.now = at(27, 16, 0)  # the investigation ends on Friday 16:00
    work(desk, ticket, "consolidate_report")
    report = row(desk, ticket, "report_to_gm")
    assert report.lane == "cs_agent"
    assert local(report.due_at) == "Mon 30 16:00"  # 3 days on customer service's 7x24 clock
    clock.now = at(30, 16, 1)
    timers.fire_due(services, "test-worker")
    kinds = [(n[0], n[1]) for n in sla_notices(services, ticket) if "general manager" in n[2]]
    assert kinds == [("sla_reminder", "cs_agent"), ("sla_breach", "cs_supervisor")]
    work(desk, ticket, "report_to_gm")
    assert open_names(desk, ticket) == ["capa_plan@quality"]


def test_the_gm_offices_opinion_is_due_one_working_day_after_the_result(
        desk, services, clock):
    ticket = file_major(desk)
    to_plan(desk, ticket)
    work(desk, ticket, "capa_plan")
    approve_plan(desk, ticket)
    work(desk, ticket, "customer_confirm_plan")
    for name in ("execute_capa", "inspect_capa", "compile_final_report",
                 "approve_report_director"):
        work(desk, ticket, name)
    clock.now = at(27, 15, 0)  # Friday 15:00: the handling report is approved and sent
    work(desk, ticket, "approve_report_gm")
    opinion = row(desk, ticket, "gm_opinion")
    assert opinion.lane == "gm_office"
    # One working day of the GM office (09:00-18:00): 3 hours on Friday, 6 on Monday.
    assert local(opinion.due_at) == "Mon 30 15:00"
    clock.now = at(30, 15, 1)
    timers.fire_due(services, "test-worker")
    kinds = [(n[0], n[1]) for n in sla_notices(services, ticket) if "opinion" in n[2]]
    assert kinds == [("sla_reminder", "gm_office"), ("sla_breach", "leadership")]
    work(desk, ticket, "gm_opinion", sales_opinion="Customer is a key account.")
    assert open_names(desk, ticket) == ["assign_responsibility"]
    assert desk.case(ticket).data["gm_consolidated_opinion"].startswith("Supplier lot failure")


def test_every_improvement_step_has_a_deadline_and_the_measures_are_due_on_theirs(
        desk, services, clock):
    ticket = desk.file()
    desk.run_until(ticket, "execute_solution")
    desk.do(ticket, "execute_solution", improvement_requested=True)
    clock.now = at(27, 11, 0)  # Friday 11:00 the case closes and the project starts
    desk.do(ticket, "follow_up")
    [project] = desk.case(ticket).linked_tickets
    summary = row(desk, project, "summarise_improvement")
    assert local(summary.due_at) == "Fri 04 11:00"  # 5 working days of the department
    work(desk, project, "summarise_improvement", improvement_deadline="2026-12-10")
    assert local(row(desk, project, "approve_improvement").due_at) == "Tue 01 11:00"
    work(desk, project, "approve_improvement")
    execute = row(desk, project, "execute_improvement")
    assert local(execute.due_at) == "Thu 10 18:00"  # the close of the deadline's day
    clock.now = dt.datetime(2026, 12, 10, 18, 1, tzinfo=SHANGHAI)
    timers.fire_due(services, "test-worker")
    notices = [(n[0], n[1]) for n in sla_notices(services, project)]
    assert notices == [("sla_reminder", "dept_handler"), ("sla_breach", "dept_head")]
    work(desk, project, "execute_improvement")
    effect = row(desk, project, "confirm_improvement_effect")
    assert effect.lane == "supervisor" and effect.due_at is not None

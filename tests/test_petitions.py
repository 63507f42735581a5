"""Petitions (签呈, seed 003): any department that disagrees with a decision about a
complaint petitions the general manager's office, on any case, with a deadline."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import runtime, timers
from engine.errors import Forbidden, NotFound
from engine.models import Notification, ProcessInstance
from support.major_path import file_major, open_names, row, to_plan, work
from support.people import add_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
PETITION = {"decision_disputed": "responsibility",
            "petition_reason": "The shipments of batch 42 were handled as the carrier asked."}


def petition(services, actor, ticket, **data):
    return runtime.start_case(services, actor, "petition", {**PETITION, "ticket": ticket, **data})


def test_a_supporting_departments_petition_is_decided_by_the_gm_office_in_a_day(
        desk, services, clock):
    logistics_head = add_user(services, "lhead", ["dept_head"], "logistics")
    ticket = file_major(desk)
    to_plan(desk, ticket)  # logistics supported the investigation
    clock.now = dt.datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI)  # Friday 16:00
    started = petition(services, logistics_head, ticket)
    assert started.ticket == f"P{ticket}-1"
    decide = row(desk, started.ticket, "decide_petition")
    assert decide.lane == "gm_office"
    assert decide.due_at.astimezone(SHANGHAI).strftime("%a %H:%M") == "Mon 16:00"
    case = desk.case(started.ticket)
    assert case.data["petition_department"] == "logistics"
    assert case.data["complaint_ticket"] == ticket and case.data["petitioner"] == "lhead"
    clock.now = dt.datetime(2026, 11, 30, 16, 1, tzinfo=SHANGHAI)
    timers.fire_due(services, "test-worker")
    with services.db.read() as session:
        kinds = session.execute(select(Notification.kind, Notification.recipient_role).join(
            ProcessInstance).where(ProcessInstance.ticket == started.ticket,
                                   Notification.kind.like("sla_%"))).all()
    assert [tuple(k) for k in kinds] == [("sla_reminder", "gm_office"),
                                         ("sla_breach", "leadership")]
    result = work(desk, started.ticket, "decide_petition", petition_decision="revise",
                  petition_decision_note="Logistics is not responsible.")
    assert result["status"] == "closed" and result["outcome"] == "petition_revised"
    assert started.ticket in desk.case(ticket).linked_tickets


def test_any_case_may_be_petitioned_and_each_petition_is_its_own_case(desk, services, actors):
    ticket = desk.file()  # a general complaint
    desk.run_until(ticket, "verify")  # dispatched to quality
    first = petition(services, actors["head"], ticket, decision_disputed="handling")
    second = petition(services, actors["head"], ticket, decision_disputed="penalty")
    assert (first.ticket, second.ticket) == (f"P{ticket}-1", f"P{ticket}-2")
    assert open_names(desk, first.ticket) == ["decide_petition"]
    assert desk.open_task_names(ticket) == ["verify"]  # the complaint goes on meanwhile


def test_a_department_the_case_does_not_concern_cannot_petition(desk, services, actors):
    sales_head = add_user(services, "shead", ["dept_head"], "sales")
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    with pytest.raises(NotFound):
        petition(services, sales_head, ticket)
    with pytest.raises(NotFound):
        petition(services, actors["head"], "2611999999")
    with pytest.raises(Forbidden):
        petition(services, actors["agent"], ticket)  # customer service has no petition

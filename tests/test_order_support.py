"""Overseas order support (004) through the services: the order confirmed with the customer
within 24 working hours of the hand-over in the support team's calendar (across
Thanksgiving, or Christmas once the team works from Berlin), shown in the customer's own
zone; a missed confirmation reminded, breached to the support manager and escalated to the
director; production and logistics followed up every 3 working days, a delay decided by
the support manager on the agent's proposal; the visit due 48 working hours after
delivery. The clock is moved, never slept on."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import calendars_admin, cases, customers, order_support, timers
from engine.errors import Forbidden
from engine.forms import FormInvalid
from engine.models import Notification, ProcessInstance
from support.support_cases import do, local, open_names, open_task

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")

ORDER = {
    "channel": "sales", "customer_name": "Jane Miller", "company": "Miller Supplies Inc.",
    "country": "United States", "customer_email": "jane.miller@example.com",
    "order_number": "SO-2611-0042", "specification": "Air purifier AP-300, 230 V, EU plug",
    "quantity": 120, "delivery_date": "2026-12-18",
}


def hand_over(services, actors, **changes):
    return order_support.file_order(services, {**ORDER, **changes}, staff=actors["support"])


def confirm(services, actors, ticket):
    do(services, actors, ticket, "confirm_order", order_confirmed="yes",
       specification=ORDER["specification"], quantity=ORDER["quantity"],
       delivery_date=ORDER["delivery_date"])


def follow_up(services, actors, ticket, state="in_production", **more):
    do(services, actors, ticket, "follow_up_order", order_state=state,
       production_status="Assembly line 2, 80 of 120 units done.",
       logistics_status="Container booked for 10 December.", customer_informed=True, **more)


def notified(services, ticket: str) -> list[str]:
    with services.db.read() as session:
        return list(session.execute(select(Notification.recipient_role).join(
            ProcessInstance, Notification.instance_id == ProcessInstance.id).where(
            ProcessInstance.ticket == ticket).order_by(Notification.id)).scalars())


# --- the confirmation within 24 working hours -------------------------------------------

def test_an_order_is_confirmed_in_time_across_thanksgiving_and_the_customer_sees_it_in_their_zone(
        services, actors, clock):
    # Tuesday 10:00 in New York: 8 working hours on Tuesday, 9 on Wednesday, Thanksgiving
    # closed, so the 24 hours end on Friday at 16:00.
    clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
    filed = hand_over(services, actors)
    assert filed.ticket.startswith("D")
    row = open_task(services, filed.ticket, "confirm_order")
    assert row.role == "support_agent"
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 11, 27, 16, 0)

    # The customer asks about an order on the public site, reading in Shanghai.
    asked = order_support.file_order(services, {k: v for k, v in ORDER.items()
                                                if k != "channel"},
                                     customer_locale="zh-CN", customer_timezone="Asia/Shanghai")
    view = customers.status(services, asked.status_token)
    assert view.kind == "order" and view.timezone == "Asia/Shanghai"
    assert local(view.due_at, SHANGHAI) == dt.datetime(2026, 11, 28, 5, 0)
    assert view.delivery_date == dt.date(2026, 12, 18)
    assert view.filed["order_number"] == "SO-2611-0042"
    assert [(s.title, s.state) for s in view.stepper][:2] == [
        ("Order confirmed", "current"), ("In production and on its way", "todo")]

    clock.now = dt.datetime(2026, 11, 27, 15, 0, tzinfo=NEW_YORK)
    confirm(services, actors, filed.ticket)
    clock.now = dt.datetime(2026, 11, 27, 16, 1, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    assert "support_manager" not in notified(services, filed.ticket)
    # The first follow-up is due 3 working days (27 hours) after the confirmation.
    row = open_task(services, filed.ticket, "follow_up_order")
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 12, 2, 15, 0)


def test_a_missed_confirmation_is_reminded_breached_and_escalated(services, actors, clock):
    clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
    filed = hand_over(services, actors)
    clock.now = dt.datetime(2026, 11, 27, 10, 1, tzinfo=NEW_YORK)  # 18 working hours
    timers.fire_due(services, "test")
    row = open_task(services, filed.ticket, "confirm_order")
    assert row.reminded_at is not None and row.breached_at is None
    clock.now = dt.datetime(2026, 11, 27, 16, 1, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "confirm_order").breached_at is not None
    assert notified(services, filed.ticket)[-1] == "support_manager"
    # Twice the time, 48 working hours: Wednesday 2 December at 13:00.
    clock.now = dt.datetime(2026, 12, 2, 12, 59, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "confirm_order").escalated_at is None
    clock.now = dt.datetime(2026, 12, 2, 13, 1, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "confirm_order").escalated_at is not None
    assert notified(services, filed.ticket)[-1] == "cs_director"


def test_in_berlin_christmas_moves_the_confirmation_and_a_new_york_customer_reads_it_there(
        services, actors, clock):
    calendars_admin.set_department_calendar(services, "overseas_support", "eu-central")
    # Thursday 24 December 10:00 in Berlin: 8 hours, then 25 and 26 December and the
    # weekend are closed, 9 on Monday, 7 on Tuesday: due Tuesday 29 December at 16:00.
    clock.now = dt.datetime(2026, 12, 24, 10, 0, tzinfo=BERLIN)
    filed = order_support.file_order(services, {k: v for k, v in ORDER.items()
                                                if k != "channel"},
                                     customer_timezone="America/New_York")
    view = customers.status(services, filed.status_token)
    assert local(view.due_at, BERLIN) == dt.datetime(2026, 12, 29, 16, 0)
    assert local(view.due_at, NEW_YORK) == dt.datetime(2026, 12, 29, 10, 0)


# --- production and logistics followed up until delivery --------------------------------

def test_follow_ups_come_every_three_working_days_and_a_delay_goes_to_the_manager(
        services, actors, clock):
    clock.now = dt.datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK)  # a Monday
    filed = hand_over(services, actors)
    confirm(services, actors, filed.ticket)
    row = open_task(services, filed.ticket, "follow_up_order")
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 12, 3, 10, 0)

    clock.now = dt.datetime(2026, 12, 2, 11, 0, tzinfo=NEW_YORK)
    follow_up(services, actors, filed.ticket)
    row = open_task(services, filed.ticket, "follow_up_order")
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 12, 7, 11, 0)
    # Missed: the support manager hears of it, and the follow-up stays open.
    clock.now = dt.datetime(2026, 12, 7, 11, 1, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "follow_up_order").breached_at is not None
    assert notified(services, filed.ticket)[-1] == "support_manager"

    # A delay needs the agent's proposal, then the support manager decides on it.
    with pytest.raises(FormInvalid) as refused:
        follow_up(services, actors, filed.ticket, state="delayed")
    assert "delay_proposal" in refused.value.fields
    follow_up(services, actors, filed.ticket, state="delayed",
              delay_proposal="Ship 80 units now by sea and 40 by air next week at our cost.")
    assert open_names(services, filed.ticket) == ["decide_delay"]
    row = open_task(services, filed.ticket, "decide_delay")
    assert row.role == "support_manager"
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 12, 8, 11, 1)
    view = customers.status(services, filed.status_token)
    assert view.order_state == "Delayed: we are agreeing a solution with you"
    with pytest.raises(Forbidden):
        do(services, actors, filed.ticket, "decide_delay", "support", delay_decision="accept",
           delay_decision_note="Agreed.")
    do(services, actors, filed.ticket, "decide_delay", "supportlead", delay_decision="accept",
       delay_decision_note="Split the shipment; tell the customer the air part lands on 22nd.",
       delivery_date="2026-12-22")
    # Back to the follow-ups, the new date on the customer's page.
    row = open_task(services, filed.ticket, "follow_up_order")
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 12, 10, 11, 1)
    assert customers.status(services, filed.status_token).delivery_date == dt.date(2026, 12, 22)


def test_the_visit_is_due_48_working_hours_after_delivery_then_the_case_closes(
        services, actors, clock):
    clock.now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)
    filed = hand_over(services, actors)
    confirm(services, actors, filed.ticket)
    follow_up(services, actors, filed.ticket, state="shipped")
    clock.now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=NEW_YORK)
    with pytest.raises(FormInvalid) as refused:
        follow_up(services, actors, filed.ticket, state="delivered")
    assert "delivered_at" in refused.value.fields
    # Delivered Monday 7 December at 10:00: 8 + 9 + 9 + 9 + 9 hours to Friday, 4 more on
    # Monday: the visit is due on 14 December at 13:00.
    follow_up(services, actors, filed.ticket, state="delivered",
              delivered_at=dt.datetime(2026, 12, 7, 10, 0, tzinfo=NEW_YORK).isoformat())
    row = open_task(services, filed.ticket, "visit_after_delivery")
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 12, 14, 13, 0)
    view = customers.status(services, filed.status_token)
    assert view.order_state == "Delivered"
    assert [s.state for s in view.stepper] == ["done", "done", "current", "todo"]
    clock.now = dt.datetime(2026, 12, 14, 13, 1, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "visit_after_delivery").breached_at is not None

    result = do(services, actors, filed.ticket, "visit_after_delivery", "support",
                goods_received="yes", goods_intact="yes",
                first_impressions="Quiet, and the air smells fresher already.")
    assert result["status"] == "closed" and result["outcome"] == "delivered"
    view = customers.status(services, filed.status_token)
    assert view.stage == "Your order is delivered and the case closed"
    assert "We asked you about the delivery" in [text for _at, text in view.history]


def test_department_staff_do_not_register_orders_and_bad_records_are_refused(services, actors):
    with pytest.raises(Forbidden):
        hand_over(services, actors | {"support": actors["handler"]})
    with pytest.raises(FormInvalid) as refused:
        order_support.file_order(services, {**ORDER, "quantity": 0, "order_number": ""})
    assert {"quantity", "order_number"} <= set(refused.value.fields)
    with pytest.raises(FormInvalid):
        order_support.file_order(services, ["not", "an", "order"])


def test_goods_that_arrived_damaged_start_a_complaint_linked_to_the_order(
        services, actors, clock):
    clock.now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)
    filed = hand_over(services, actors)
    confirm(services, actors, filed.ticket)
    follow_up(services, actors, filed.ticket, state="delivered",
              delivered_at=dt.datetime(2026, 12, 1, 9, 0, tzinfo=NEW_YORK).isoformat())
    with pytest.raises(FormInvalid) as refused:  # damaged, but not said what
        do(services, actors, filed.ticket, "visit_after_delivery", "support",
           goods_received="yes", goods_intact="no", first_impressions="Two boxes crushed.")
    assert "new_problem_description" in refused.value.fields
    result = do(services, actors, filed.ticket, "visit_after_delivery", "support",
                goods_received="yes", goods_intact="no", first_impressions="Two boxes crushed.",
                new_problem_description="Two of the 120 units arrived with cracked housings.")
    assert result["status"] == "closed"
    with services.db.read() as session:
        complaint = session.execute(select(ProcessInstance).where(
            ProcessInstance.parent_ticket == filed.ticket)).scalar_one()
    assert complaint.ticket[0].isdigit() and complaint.status == "open"
    assert complaint.subject == ORDER["specification"]
    assert complaint.customer_name == "Jane Miller"
    with services.db.read() as session:
        order = cases.load_case(services, session, actors["supportlead"], filed.ticket)
    assert complaint.ticket in order.linked_tickets
    assert order.data["linked_ticket"] == complaint.ticket

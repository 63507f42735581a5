"""Times around a complaint's receipt: the automatic receipt a complainant gets (000) with
the expected handling time from the SLA table and, outside the departments' working hours,
when they take the complaint up, in the customer's zone and language; and the hour every
channel has to enter a complaint (001)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import runtime
from engine.models import OutboxMessage
from support.desk import RECORD
from support.pages import log_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


def acknowledgement(services, ticket: str) -> str:
    with services.db.read() as session:
        [mail] = session.execute(select(OutboxMessage).where(
            OutboxMessage.to_address == RECORD["customer_email"],
            OutboxMessage.subject.contains(ticket))).scalars()
    return mail.body_text


def test_a_complaint_on_a_working_morning_is_promised_a_solution_within_12_hours(
        desk, services, clock):
    clock.now = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday
    body = acknowledgement(services, desk.file())
    assert "We will present a solution to you by 2026-11-25 22:00" in body
    assert "outside our departments' working hours" not in body


def test_a_saturday_evening_complaint_says_when_the_departments_take_it_up(
        desk, services, clock):
    clock.now = dt.datetime(2026, 11, 28, 20, 0, tzinfo=SHANGHAI)
    ticket = desk.file()
    body = acknowledgement(services, ticket)
    # Customer service's 7x24 clock: twelve hours on; the departments open on Monday.
    assert "We will present a solution to you by 2026-11-29 08:00" in body
    assert "the departments take it up from 2026-11-30 09:00" in body


def test_the_promise_is_in_the_customers_zone_and_language(desk, services, clock):
    clock.now = dt.datetime(2026, 11, 28, 20, 0, tzinfo=SHANGHAI)
    ticket = runtime.file_complaint(services, dict(RECORD), staff=desk.actors["agent"],
                                    customer_locale="zh",
                                    customer_timezone="Europe/Berlin").ticket
    body = acknowledgement(services, ticket)
    assert "我们最迟将于 2026-11-29 01:00" in body  # 08:00 in Shanghai is 01:00 in Berlin
    assert "相关部门将自 2026-11-30 02:00" in body


def test_a_complaint_entered_more_than_an_hour_after_receipt_says_so(desk, client, clock):
    received = clock.now - dt.timedelta(hours=2, minutes=10)
    late = desk.file(received_at=received.isoformat())
    in_time = desk.file(received_at=(clock.now - dt.timedelta(minutes=50)).isoformat())
    log_in(client, "agent")
    page = client.get(f"/cases/{late}").get_data(as_text=True)
    assert "Registered late" in page
    assert "130 min of the receiving team&#39;s working time after receipt" in page
    assert "Registered late" not in client.get(f"/cases/{in_time}").get_data(as_text=True)

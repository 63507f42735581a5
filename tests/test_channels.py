"""The channels of 001 with hours of their own, with a moved clock: a private message on
social media is answered within 30 minutes of the social-media desk's working time
(working days 09:00-18:00), and every channel's complaint is entered within an hour of the
receiving team's working time (the store counters work 09:00-21:00 every day, the hotline
7x24)."""
from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import customers, runtime, timers
from engine.forms import FormInvalid
from engine.models import Notification, ProcessInstance
from support.desk import RECORD
from support.pages import log_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def local(value: dt.datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%a %d %H:%M")


def sla_notices(services, ticket) -> list[tuple[str, str]]:
    with services.db.read() as session:
        return [tuple(row) for row in session.execute(
            select(Notification.kind, Notification.recipient_role)
            .join(ProcessInstance, Notification.instance_id == ProcessInstance.id)
            .where(ProcessInstance.ticket == ticket, Notification.kind.like("sla_%"))
            .order_by(Notification.id))]


def test_a_saturday_evening_message_is_answered_by_monday_0930_or_chased(
        desk, services, clock):
    clock.now = at(28, 20)  # Saturday 20:00: the desk works again on Monday at 09:00
    filed = runtime.file_complaint(services, {**RECORD, "channel": "social",
                                              "received_at": clock.now.isoformat()},
                                   staff=desk.actors["agent"])
    ticket, token = filed.ticket, filed.status_token
    assert desk.open_task_names(ticket) == ["reply_on_social_media"]
    reply = desk.task(ticket, "reply_on_social_media")
    assert reply.lane == "cs_agent" and local(reply.due_at) == "Mon 30 09:30"
    for moment, stage in ((at(30, 9, 23), "sla_reminder"), (at(30, 9, 31), "sla_breach"),
                          (at(30, 10, 1), "sla_escalation")):
        clock.now = moment
        timers.fire_due(services, "test-worker")
        assert sla_notices(services, ticket)[-1][0] == stage
    assert [role for _kind, role in sla_notices(services, ticket)[1:]] == [
        "cs_supervisor", "leadership"]
    status = customers.status(services, token)
    assert status.stage == "We have received your message and will reply to you there"
    desk.do(ticket, "reply_on_social_media")
    assert desk.open_task_names(ticket) == ["check_record"]
    status = customers.status(services, token)
    assert "We answered your message on social media" in [text for _at, text in status.history]
    data = desk.case(ticket).data
    assert data["social_platform"] == "weibo" and "registered" in data["social_reply"]


def test_a_reply_in_time_is_not_chased_and_other_channels_have_no_reply_step(
        desk, services, clock):
    clock.now = at(25, 10)  # Wednesday 10:00
    social = desk.file(channel="social", received_at=clock.now.isoformat())
    hotline = desk.file(channel="hotline", received_at=clock.now.isoformat())
    assert desk.open_task_names(hotline) == ["check_record"]
    clock.now = at(25, 10, 20)
    desk.do(social, "reply_on_social_media")
    clock.now = at(25, 12)
    timers.fire_due(services, "test-worker")
    assert sla_notices(services, social) == []
    assert desk.open_task_names(social) == ["check_record"]


def test_the_entry_hour_counts_in_the_receiving_teams_hours(desk, client, clock):
    clock.now = at(26, 9, 30)  # Thursday
    counter_evening = at(25, 20, 50)  # ten minutes before the counter closes
    on_time = desk.file(channel="counter", received_at=counter_evening.isoformat())
    hotline_late = desk.file(channel="hotline", received_at=counter_evening.isoformat())
    clock.now = at(26, 10, 30)
    counter_late = desk.file(channel="counter", received_at=counter_evening.isoformat())
    clock.now = at(30, 9, 45)  # Monday: the desk has worked 45 minutes since Saturday
    social_on_time = desk.file(channel="social", received_at=at(28, 10).isoformat())
    log_in(client, "agent")

    def lateness(ticket: str) -> str | None:
        page = html.unescape(client.get(f"/cases/{ticket}").get_data(as_text=True))
        if "Registered late" not in page:
            return None
        return re.search(r"Registered late\D*(\d+) min of", page).group(1)

    assert lateness(on_time) is None
    assert lateness(social_on_time) is None
    assert lateness(counter_late) == "100"  # 10 minutes on Wednesday, 90 on Thursday
    assert lateness(hotline_late) == "760"  # the hotline's clock never stops


def test_the_channel_teams_are_never_offered_as_a_department_to_dispatch_to(
        desk, services, client):
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    task = desk.task(ticket, "dispatch")
    log_in(client, "agent")
    page = html.unescape(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    assert "Quality" in page and "Logistics" in page
    assert "Social-media desk" not in page and "Store counters" not in page
    with pytest.raises(FormInvalid):
        desk.do(ticket, "dispatch", department="social_media")
    assert desk.open_task_names(ticket) == ["dispatch"]

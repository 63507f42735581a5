"""SLA reminders, breaches and escalations reach their recipients by mail (a real SMTP
server), once each, in the recipient's language, with the task's link."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from engine import timers
from engine.calendars import get_calendar
from engine.mailer import MailSettings, deliver_due
from engine.models import User
from support.smtp import SmtpServer, free_port

CN = get_calendar("cn-standard")


def test_reminder_breach_and_escalation_each_reach_the_smtp_server_once(
        desk, services, clock):
    sink = SmtpServer(free_port()).start()
    try:
        with services.db.write() as db:  # the department head reads Chinese
            db.execute(update(User).where(User.username == "head").values(locale="zh"))
        settings = MailSettings(host="127.0.0.1", port=sink.port, timeout=5,
                                sender="Complaint Desk <desk@example.com>")
        received = clock.now
        ticket = desk.file()
        desk.run_until(ticket, "verify")  # due 4 working hours after receipt
        task = desk.task(ticket, "verify")
        deliver_due(services, settings)
        sink.messages.clear()  # the mails of the steps so far
        ladder = [("Reminder: ", CN.add(received, dt.timedelta(hours=3))),
                  ("已超时：", CN.add(received, dt.timedelta(hours=4))),
                  ("Escalated: ", CN.add(received, dt.timedelta(hours=8)))]
        for _prefix, at in ladder:
            clock.now = at + dt.timedelta(seconds=1)
            timers.fire_due(services, "test-worker")
        timers.fire_due(services, "test-worker")
        deliver_due(services, settings)
        deliver_due(services, settings)
        sla = [(to, m["Subject"], m.get_content()) for _f, [to], m in sink.messages
               if ticket in m["Subject"]]
        assert [to for to, _s, _b in sla] == ["handler@example.com", "head@example.com",
                                              "leader@example.com"]
        assert all(subject.startswith(prefix)
                   for (_to, subject, _b), (prefix, _at) in zip(sla, ladder))
        assert all(f"/tasks/{task.id}" in body for _to, _s, body in sla)
    finally:
        sink.stop()

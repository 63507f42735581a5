"""E-mail delivery from the outbox against a real SMTP server (aiosmtpd) started here."""
from __future__ import annotations

import datetime as dt
import smtplib
import threading

import pytest
from sqlalchemy import select

from engine import mailer
from engine.mailer import Attachment, MailSettings, deliver_due
from engine.models import OutboxMessage
from support.smtp import SmtpServer, free_port

SUBJECT = "您的投诉 2611-0042 已受理"
BODY = "王先生您好：\n您的投诉已经受理，我们会在三个工作日内答复。\n"
REPORT = ("<!doctype html><meta charset=utf-8><title>投诉报告</title>"
          "<h1>投诉处理报告</h1><p>净化器风扇异响 — 已更换。</p>")


@pytest.fixture
def smtp_server():
    """A server on a free port, not yet started (tests start it when they want it up)."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


def settings_for(server: SmtpServer) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=server.port,
                        sender="Complaint Desk <desk@example.com>", timeout=5)


def queue_one(services, to="wang.lei@example.com", subject=SUBJECT, attachment=None) -> int:
    with services.db.write() as session:
        return mailer.queue(session, to, subject, BODY, attachment=attachment).id


def row(services, message_id: int) -> OutboxMessage:
    with services.db.read() as session:
        return session.get(OutboxMessage, message_id)


def test_chinese_subject_and_html_attachment_arrive_once(services, smtp_server, clock):
    smtp_server.start()
    message_id = queue_one(services, attachment=Attachment("投诉报告.html", "text/html", REPORT))
    settings = settings_for(smtp_server)

    assert deliver_due(services, settings) == {"sent": 1, "failed": 0, "retried": 0, "kept": 0}
    assert deliver_due(services, settings)["sent"] == 0  # nothing sent twice

    [(mail_from, rcpt_tos, received)] = smtp_server.messages
    assert mail_from == "desk@example.com" and rcpt_tos == ["wang.lei@example.com"]
    assert received["Subject"] == SUBJECT
    assert received["To"] == "wang.lei@example.com"
    assert received["Message-ID"].startswith(f"<outbox-{message_id}.")
    body = received.get_body(preferencelist=("plain",))
    assert body.get_content().replace("\r\n", "\n") == BODY
    [attachment] = list(received.iter_attachments())
    assert attachment.get_content_type() == "text/html"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "投诉报告.html"
    assert attachment.get_content() == REPORT  # byte for byte
    assert attachment.get_content_charset() == "utf-8"

    sent = row(services, message_id)
    assert sent.status == "sent" and sent.sent_at == clock.now
    assert sent.attempts == 1 and sent.last_error is None and sent.claimed_until is None


def test_server_down_at_first_is_retried_then_sent_once(services, smtp_server, clock):
    message_id = queue_one(services)
    settings = settings_for(smtp_server)  # nothing listens on the port yet
    started = clock.now

    assert deliver_due(services, settings) == {"sent": 0, "failed": 0, "retried": 1, "kept": 0}
    waiting = row(services, message_id)
    assert waiting.status == "queued" and waiting.attempts == 1
    assert waiting.last_error and "Connection" in waiting.last_error
    assert waiting.next_attempt_at == started + dt.timedelta(seconds=30) > clock.now
    assert waiting.claimed_until is None

    smtp_server.start()
    # Up now, but the backoff has not passed: no attempt yet.
    assert deliver_due(services, settings) == {"sent": 0, "failed": 0, "retried": 0, "kept": 0}
    assert smtp_server.messages == []

    clock.advance(minutes=1)
    assert deliver_due(services, settings)["sent"] == 1
    assert deliver_due(services, settings)["sent"] == 0
    assert [m["Subject"] for _f, _t, m in smtp_server.messages] == [SUBJECT]
    sent = row(services, message_id)
    assert sent.status == "sent" and sent.attempts == 2 and sent.sent_at == clock.now
    assert sent.last_error is None and sent.next_attempt_at is None


def test_backoff_grows_and_gives_up_after_the_maximum_attempts(services, smtp_server, clock):
    message_id = queue_one(services)
    settings = settings_for(smtp_server)  # never started
    waits = []
    for attempt in range(1, mailer.MAX_ATTEMPTS + 1):
        counts = deliver_due(services, settings)
        current = row(services, message_id)
        assert current.attempts == attempt
        if attempt < mailer.MAX_ATTEMPTS:
            assert counts["retried"] == 1 and current.status == "queued"
            waits.append(current.next_attempt_at - clock.now)
            assert deliver_due(services, settings)["retried"] == 0  # not due again yet
            clock.now = current.next_attempt_at
        else:
            assert counts == {"sent": 0, "failed": 1, "retried": 0, "kept": 0}
    assert waits == [dt.timedelta(seconds=s) for s in (30, 120, 480, 1920, 3600, 3600, 3600)]

    failed = row(services, message_id)
    assert failed.status == "failed" and failed.last_error and failed.next_attempt_at is None
    smtp_server.start()
    clock.advance(hours=2)
    assert deliver_due(services, settings)["sent"] == 0  # given up for good
    assert smtp_server.messages == []


def test_a_refused_recipient_fails_at_once_and_the_rest_is_sent(services, smtp_server):
    smtp_server.start()
    refused = queue_one(services, to="nobody@example.com")
    good = queue_one(services)
    counts = deliver_due(services, settings_for(smtp_server))
    assert counts == {"sent": 1, "failed": 1, "retried": 0, "kept": 0}
    failed = row(services, refused)
    assert failed.status == "failed" and failed.attempts == 1 and "550" in failed.last_error
    assert row(services, good).status == "sent"
    assert [t for _f, t, _m in smtp_server.messages] == [["wang.lei@example.com"]]


def test_a_temporary_refusal_is_retried_not_given_up(services, smtp_server, clock):
    """A 4xx answer (mailbox full, greylisting) is tried again after the backoff; only a
    5xx answer ends a message's delivery."""
    smtp_server.start()
    smtp_server.handler.busy.add("wang.lei@example.com")
    message_id = queue_one(services)
    settings = settings_for(smtp_server)
    assert deliver_due(services, settings) == {"sent": 0, "failed": 0, "retried": 1, "kept": 0}
    waiting = row(services, message_id)
    assert waiting.status == "queued" and waiting.attempts == 1 and "452" in waiting.last_error
    smtp_server.handler.busy.clear()
    clock.now = waiting.next_attempt_at
    assert deliver_due(services, settings)["sent"] == 1
    assert row(services, message_id).status == "sent"
    assert [t for _f, t, _m in smtp_server.messages] == [["wang.lei@example.com"]]


def test_development_mode_keeps_messages_without_network(services, monkeypatch, clock):
    def no_network(*_args, **_kwargs):
        raise AssertionError("development mode must not connect")

    monkeypatch.setattr(smtplib, "SMTP", no_network)
    monkeypatch.setattr(smtplib, "SMTP_SSL", no_network)
    message_id = queue_one(services, attachment=Attachment("r.html", "text/html", REPORT))
    settings = MailSettings.from_env({})
    assert settings.development
    assert deliver_due(services, settings) == {"sent": 0, "failed": 0, "retried": 0, "kept": 1}
    kept = row(services, message_id)
    assert kept.status == "kept" and kept.sent_at is None and kept.attempts == 0
    assert deliver_due(services, settings)["kept"] == 0


def test_two_senders_at_once_send_each_message_once(services, smtp_server):
    smtp_server.start()
    ids = [queue_one(services, to=f"customer{n}@example.com", subject=f"通知 {n}")
           for n in range(24)]
    settings = settings_for(smtp_server)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sender():
        try:
            barrier.wait(timeout=10)
            results.append(deliver_due(services, settings, batch=4))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(results) == 2
    assert sum(r["sent"] for r in results) == len(ids)
    assert all(r["retried"] == r["failed"] == 0 for r in results)
    recipients = sorted(t[0] for _f, t, _m in smtp_server.messages)
    assert recipients == sorted(f"customer{n}@example.com" for n in range(24))
    with services.db.read() as session:
        statuses = session.execute(select(OutboxMessage.status)).scalars().all()
    assert statuses == ["sent"] * len(ids)


def test_queue_writes_in_the_callers_transaction(services):
    with pytest.raises(RuntimeError):
        with services.db.write() as session:
            mailer.queue(session, "wang.lei@example.com", "x", "y")
            raise RuntimeError("the step failed")
    with services.db.read() as session:
        assert session.execute(select(OutboxMessage)).scalars().all() == []
    with services.db.write() as session:
        with pytest.raises(ValueError):
            mailer.queue(session, "a@example.com, b@example.com", "x", "y")
        message = mailer.queue(session, " wang.lei@example.com ", "line\r\nBcc: evil@x", "y")
    assert message.subject == "line Bcc: evil@x" and message.to_address == "wang.lei@example.com"


def test_settings_from_environment():
    assert MailSettings.from_env({}).development
    settings = MailSettings.from_env({
        "COMPLAINTS_SMTP_HOST": "smtp.example.com", "COMPLAINTS_SMTP_USER": "desk",
        "COMPLAINTS_SMTP_PASSWORD": "secret", "COMPLAINTS_SMTP_STARTTLS": "yes",
        "COMPLAINTS_SMTP_SENDER": "desk@example.com"})
    assert not settings.development
    assert (settings.host, settings.port, settings.starttls, settings.username,
            settings.sender) == ("smtp.example.com", 587, True, "desk", "desk@example.com")
    assert "secret" not in repr(settings)
    assert MailSettings.from_env({"COMPLAINTS_SMTP_HOST": "h",
                                  "COMPLAINTS_SMTP_PORT": "2525"}).port == 2525


def test_scheduler_job_and_cli_send_with_settings_from_the_environment(
        services, smtp_server, monkeypatch, app):
    from engine.scheduler import MAIL_JOB, TimerScheduler

    smtp_server.start()
    monkeypatch.setenv("COMPLAINTS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COMPLAINTS_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("COMPLAINTS_SMTP_SENDER", "desk@example.com")
    queue_one(services)
    assert TimerScheduler(services).send_mail()["sent"] == 1

    queue_one(services, subject="第二封")
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "SMTP 127.0.0.1" in result.output and "sent 1, retried 0, failed 0" in result.output
    assert [m["Subject"] for _f, _t, m in smtp_server.messages] == [SUBJECT, "第二封"]

    scheduler = TimerScheduler(services)
    scheduler.start()
    try:
        job = scheduler._scheduler.get_job(MAIL_JOB)
        assert job is not None and job.trigger.interval == dt.timedelta(seconds=15)
    finally:
        scheduler.shutdown()

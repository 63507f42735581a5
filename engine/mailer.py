"""E-mail delivery from the outbox (`outbox_message`).

A mail is queued in the transaction of the step that causes it (`queue`), so it exists
exactly when that step committed. A sender (`deliver_due`: the scheduler's job every 15 s,
or `flask --app web send-mail`) claims due messages, sends each by SMTP and records the
result on the row itself: the row is the record of what was sent to whom (status,
sent_at, attempts, last_error).

- Claims: a sender writes `claimed_until` on the rows it takes (on PostgreSQL selected
  with `FOR UPDATE SKIP LOCKED`, so any number of senders never take the same message;
  on SQLite the writers' `BEGIN IMMEDIATE` serializes the claims). The claim expires, so
  a dead sender's messages return. Each result is written only while the claim still
  holds (its `claimed_until` value is the sender's fencing token).
- Failures are retried with exponential backoff (30 s, 2 min, 8 min, 32 min, then hourly);
  the 8th failed attempt, or a permanent refusal (5xx for the recipient or the content),
  gives up with status "failed".
- Development mode (no COMPLAINTS_SMTP_HOST, as in `make run`): nothing goes over the
  network; due messages are marked "kept" and stay readable on the admin outbox page.

Delivery is at most once while senders live; a sender that dies after the server took a
message but before its commit leaves it to be sent again when the claim expires (the
Message-ID is stable per outbox row, so mail clients can drop the duplicate).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Mapping, NamedTuple, Optional, Union

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, undefer

from .models import OutboxMessage, utcnow
from .prepared import insert_rows

log = logging.getLogger("engine.mailer")

MAX_ATTEMPTS = 8
BACKOFF_FIRST = dt.timedelta(seconds=30)
BACKOFF_FACTOR = 4
BACKOFF_CAP = dt.timedelta(hours=1)
# Headers RFC 2047-encoded, bodies base64/quoted-printable: any server (no 8BITMIME or
# SMTPUTF8 needed) carries Chinese subjects, bodies and attachments intact.
MAIL_POLICY = policy.SMTP.clone(cte_type="7bit")

_TABLE = OutboxMessage.__table__


class Attachment(NamedTuple):
    name: str
    content_type: str
    content: str  # text, e.g. an HTML report


def queue(session: Session, to: str, subject: str, body_text: str,
          instance_id: Optional[int] = None,
          attachment: Union[Attachment, tuple, None] = None,
          now: Optional[dt.datetime] = None) -> OutboxMessage:
    """Add a mail to the outbox in the caller's transaction; returns the (flushed) row."""
    address = checked_address(to)
    name = content_type = content = None
    if attachment is not None:
        name, content_type, content = Attachment(*attachment)
        name = " ".join(str(name).split())[:255] or "attachment"
        content_type = (content_type or "application/octet-stream")[:100]
    message = OutboxMessage(
        **plain_mail(address, subject, body_text, instance_id, now),
        attachment_name=name, attachment_type=content_type, attachment=content)
    session.add(message)
    session.flush()
    return message


def checked_address(to: Optional[str]) -> str:
    address = (to or "").strip()
    if not address or "@" not in address or any(c in address for c in "\r\n,;<>"):
        raise ValueError(f"not a single e-mail address: {to!r}")
    return address[:254]


def plain_mail(address: str, subject: str, body_text: str, instance_id: Optional[int],
               now: Optional[dt.datetime]) -> dict:
    """The outbox columns of a mail without attachment, for an address already checked."""
    return {"instance_id": instance_id, "to_address": address,
            "subject": " ".join(str(subject).split())[:255],  # one line: no header injection
            "body_text": str(body_text), "status": "queued", "attempts": 0,
            "created_at": now or utcnow()}




def queue_many(session: Session, mails: list[dict]) -> None:
    """Several plain mails (see plain_mail) in one statement: a step announcing a task to a
    whole team queue should not pay a round trip per person."""
    if mails:
        # No id is read back, so it can go in a batch (engine.db.batched).
        insert_rows(session.connection(), OutboxMessage.__table__, mails)


# --------------------------------------------------------------------------- settings

def _flag(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class MailSettings:
    host: Optional[str] = None  # None: development mode, nothing is sent
    port: int = 25
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    starttls: bool = False  # upgrade a plain connection (port 587)
    use_tls: bool = False  # TLS from the first byte (SMTPS, port 465)
    sender: str = "Complaint Desk <complaints@localhost>"
    timeout: float = 30.0

    @property
    def development(self) -> bool:
        return not self.host

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "MailSettings":
        """COMPLAINTS_SMTP_HOST, _PORT, _USER, _PASSWORD, _STARTTLS, _TLS, _SENDER,
        _TIMEOUT; without a host, development mode."""
        env = os.environ if environ is None else environ
        get = lambda name: (env.get(f"COMPLAINTS_SMTP_{name}") or "").strip() or None  # noqa: E731
        use_tls, starttls = _flag(get("TLS")), _flag(get("STARTTLS"))
        default_port = 465 if use_tls else 587 if starttls else 25
        return cls(
            host=get("HOST"), port=int(get("PORT") or default_port),
            username=get("USER"), password=env.get("COMPLAINTS_SMTP_PASSWORD") or None,
            starttls=starttls and not use_tls, use_tls=use_tls,
            sender=get("SENDER") or cls.sender,
            timeout=float(get("TIMEOUT") or cls.timeout))

    def describe(self) -> str:
        if self.development:
            return "development mode (COMPLAINTS_SMTP_HOST not set): mails are kept, not sent"
        security = " with TLS" if self.use_tls else " with STARTTLS" if self.starttls else ""
        return f"SMTP {self.host}:{self.port}{security}"


# --------------------------------------------------------------------------- messages

def backoff(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s, 2 min, 8 min … at most 1 h."""
    return min(BACKOFF_FIRST * BACKOFF_FACTOR ** max(attempts - 1, 0), BACKOFF_CAP)


def build_message(row: OutboxMessage, settings: MailSettings) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = settings.sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    domain = parseaddr(settings.sender)[1].rpartition("@")[2] or "localhost"
    # Stable per row: a copy sent again after a crash is recognisable as the same mail.
    message["Message-ID"] = f"<outbox-{row.id}.{int(row.created_at.timestamp())}@{domain}>"
    message.set_content(row.body_text or "")
    if row.attachment is not None:
        content_type = (row.attachment_type or "").split(";")[0].strip().lower()
        maintype, _, subtype = content_type.partition("/")
        if not (maintype and subtype):
            maintype, subtype = "application", "octet-stream"
        # As bytes in base64: the file arrives exactly as stored (text is not re-wrapped).
        params = {"charset": "utf-8"} if maintype == "text" else {}
        message.add_attachment(row.attachment.encode("utf-8"), maintype=maintype,
                               subtype=subtype, filename=row.attachment_name or "attachment",
                               params=params)
    return message


def _connect(settings: MailSettings) -> smtplib.SMTP:
    if settings.use_tls:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                              timeout=settings.timeout,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{address}: {code} {_text(reply)}"
                 for address, (code, reply) in exc.recipients.items()]
        return "recipient refused: " + ("; ".join(parts) or "no recipient")
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"[:1000]


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _permanent(exc: BaseException) -> bool:
    """A refusal that will not change by trying again: the recipient or the content.

    Connection, login and sender problems are the installation's and are retried."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return isinstance(exc, (smtplib.SMTPNotSupportedError, ValueError, UnicodeError))


def _broken_connection(exc: BaseException) -> bool:
    return isinstance(exc, smtplib.SMTPServerDisconnected) or (
        isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException))


# --------------------------------------------------------------------------- delivery

def claim(services, now: dt.datetime, limit: int,
          lease: dt.timedelta) -> tuple[list[int], Optional[dt.datetime]]:
    """Take up to `limit` due messages, oldest first; returns their ids and the claim's
    token (its `claimed_until`)."""
    due = (
        select(_TABLE.c.id)
        .where(_TABLE.c.status == "queued",
               or_(_TABLE.c.next_attempt_at.is_(None), _TABLE.c.next_attempt_at <= now),
               or_(_TABLE.c.claimed_until.is_(None), _TABLE.c.claimed_until < now))
        .order_by(_TABLE.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    until = now + lease
    with services.db.write() as session:
        connection = session.connection()
        ids = list(connection.execute(due).scalars())
        if ids:
            connection.execute(update(_TABLE).where(_TABLE.c.id.in_(ids))
                               .values(claimed_until=until))
    return ids, until


def _finish(services, message_id: int, token: dt.datetime, **values) -> bool:
    """Record a result if this sender still holds the message (its own transaction)."""
    with services.db.write() as session:
        done = session.connection().execute(
            update(_TABLE).where(_TABLE.c.id == message_id, _TABLE.c.status == "queued",
                                 _TABLE.c.claimed_until == token)
            .values(claimed_until=None, **values)).rowcount
    if not done:
        log.warning("outbox message %s: claim lost before its result was recorded",
                    message_id)
    return bool(done)


def _record_failure(services, row: OutboxMessage, token: dt.datetime, exc: BaseException,
                    now: dt.datetime, counts: dict) -> None:
    attempts = row.attempts + 1
    error = _describe(exc)
    if _permanent(exc) or attempts >= MAX_ATTEMPTS:
        if _finish(services, row.id, token, status="failed", attempts=attempts,
                   last_error=error, next_attempt_at=None):
            counts["failed"] += 1
            log.error("outbox message %s to %s failed for good after %s attempt(s): %s",
                      row.id, row.to_address, attempts, error)
    else:
        if _finish(services, row.id, token, attempts=attempts, last_error=error,
                   next_attempt_at=now + backoff(attempts)):
            counts["retried"] += 1
            log.warning("outbox message %s to %s: attempt %s failed (%s); retrying in %s",
                        row.id, row.to_address, attempts, error, backoff(attempts))


def _keep(services, now: dt.datetime) -> int:
    """Development mode: mark every due message kept (readable on the admin page)."""
    with services.db.write() as session:
        return session.connection().execute(
            update(_TABLE).where(
                _TABLE.c.status == "queued",
                or_(_TABLE.c.next_attempt_at.is_(None), _TABLE.c.next_attempt_at <= now),
                or_(_TABLE.c.claimed_until.is_(None), _TABLE.c.claimed_until < now))
            .values(status="kept", claimed_until=None, next_attempt_at=None)).rowcount


def _send_claimed(services, settings: MailSettings, ids: list[int], token: dt.datetime,
                  now: Optional[dt.datetime], counts: dict) -> None:
    with services.db.read() as session:
        rows = session.execute(
            select(OutboxMessage).options(undefer(OutboxMessage.attachment))
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_until == token)
            .order_by(OutboxMessage.id)).scalars().all()
    envelope_from = parseaddr(settings.sender)[1] or settings.sender
    smtp: Optional[smtplib.SMTP] = None
    unreachable: Optional[BaseException] = None
    try:
        for row in rows:
            moment = now or services.now()
            try:
                message = build_message(row, settings)
            except (ValueError, TypeError, UnicodeError) as exc:
                _record_failure(services, row, token, ValueError(f"cannot build: {exc}"),
                                moment, counts)
                continue
            if unreachable is None and smtp is None:
                try:
                    smtp = _connect(settings)
                except Exception as exc:  # noqa: BLE001 - every failure is recorded
                    unreachable = exc
            if unreachable is not None:
                # The server is not there: this round's messages all wait for the next try.
                _record_failure(services, row, token, unreachable, moment, counts)
                continue
            try:
                smtp.send_message(message, from_addr=envelope_from, to_addrs=[row.to_address])
            except Exception as exc:  # noqa: BLE001 - every failure is recorded
                _record_failure(services, row, token, exc, moment, counts)
                if _broken_connection(exc):
                    _close(smtp)
                    smtp = None
                continue
            if _finish(services, row.id, token, status="sent", sent_at=now or services.now(),
                       attempts=row.attempts + 1, last_error=None, next_attempt_at=None):
                counts["sent"] += 1
                log.info("outbox message %s sent to %s", row.id, row.to_address)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except Exception:  # noqa: BLE001 - the messages are sent; only goodbye failed
                _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except Exception:  # noqa: BLE001
        pass


def deliver_due(services, settings: Optional[MailSettings] = None,
                now: Optional[dt.datetime] = None, batch: int = 50) -> dict:
    """Send every message whose attempt is due; returns counts of this run.

    `sent`, `retried` (failed, will try again), `failed` (given up) and `kept`
    (development mode)."""
    settings = settings or MailSettings.from_env()
    counts = {"sent": 0, "failed": 0, "retried": 0, "kept": 0}
    if settings.development:
        counts["kept"] = _keep(services, now or services.now())
        if counts["kept"]:
            log.info("%s mail(s) kept in development mode; read them at /admin/outbox",
                     counts["kept"])
        return counts
    while True:
        moment = now or services.now()
        # Long enough for every claimed message to hit the timeout twice (connect, send).
        lease = dt.timedelta(seconds=60 + 2 * settings.timeout * batch)
        ids, token = claim(services, moment, batch, lease)
        if not ids:
            return counts
        _send_claimed(services, settings, ids, token, now, counts)
        if len(ids) < batch:
            return counts

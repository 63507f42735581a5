"""SQLAlchemy models: the tables the services read and write.

Worklists, search and reports read these rows; only the runtime deserializes the
engine state (`InstanceState.state`).
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import (
    JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's SQLite DateTime writes


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database.

    SQLite has no datetime type: values are kept as naive-UTC text in SQLAlchemy's own
    format (so they sort and compare correctly) and parsed with the C `fromisoformat`,
    which makes lists of a thousand tasks several times faster than the generic parser.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC times only")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return value.strftime(_SQLITE_FORMAT)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            # SQLite hands back the naive UTC text written above: read it as UTC at once
            # (an inbox reads three of these per row).
            if len(value) in (19, 26) and value[19:20] in ("", "."):
                return dt.datetime.fromisoformat(value + "+00:00")
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class Department(Base):
    __tablename__ = "department"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The business calendar its SLA clocks count in (overseas teams work other hours).
    calendar: Mapped[str] = mapped_column(String(64), default="cn-standard",
                                          server_default="cn-standard")


class ClosedDay(Base):
    """A day an admin closed (or opened) on a calendar beyond the public-holiday rules."""

    __tablename__ = "closed_day"
    calendar: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))
    # The user's own setting; NULL: follow the browser (language) or the company (zone).
    locale: Mapped[Optional[str]] = mapped_column(String(16))
    timezone: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Carried in each session cookie; raising it (sign-out, new password, deactivation)
    # ends every session the account has anywhere.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    department: Mapped[Optional[Department]] = relationship(lazy="select")
    roles: Mapped[list["UserRole"]] = relationship(lazy="select", cascade="all, delete-orphan")

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class UserRole(Base):
    __tablename__ = "user_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_token"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PasswordResetLink(Base):
    """A link that lets an account's owner set a new password: only the digest of its
    random token is kept, so a copy of the database opens no account."""

    __tablename__ = "password_reset_link"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)


class RateLimitCounter(Base):
    """A rate limit's count in its current window, shared by every web process
    (engine/limit_storage.py). Rows whose window ended are deleted."""

    __tablename__ = "rate_limit_counter"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    # Seconds since the epoch: the limits library counts windows in those.
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class ProcessVersion(Base):
    """One deployment of a process: the files it uses (BPMN, DMN, its forms and
    scenarios) and the serialized spec."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Large columns load only when asked for: worklists must never drag them along.
    sources: Mapped[dict] = mapped_column(JSON, deferred=True)  # file name -> text
    spec_state: Mapped[str] = mapped_column(Text, deferred=True)  # spec + subprocess specs
    deployed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    deployed_by: Mapped[Optional[str]] = mapped_column(String(64))
    # Why the process owner changed it (NULL for versions deployed before notes existed).
    note: Mapped[Optional[str]] = mapped_column(Text)


class TicketCounter(Base):
    __tablename__ = "ticket_counter"
    month: Mapped[str] = mapped_column(String(4), primary_key=True)  # YYMM
    last_serial: Mapped[int] = mapped_column(Integer)


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_instance_status_created", "status", "created_at"),
        Index("ix_instance_created", "created_at", "id"),
        # A department's cases, and those of a period (its statistics, its case list).
        Index("ix_instance_department_created", "department_code", "created_at"),
        Index("ix_instance_customer", "customer_name"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    ticket: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|closed|cancelled|error
    path: Mapped[Optional[str]] = mapped_column(String(16))  # general|major
    outcome: Mapped[Optional[str]] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    next_due_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime, index=True)
    # A timer worker's claim on the instance; expires so that a dead worker's claims return.
    lease_owner: Mapped[Optional[str]] = mapped_column(String(64))
    lease_until: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    customer_name: Mapped[Optional[str]] = mapped_column(String(200))
    # What the case is about (the product), shown on every row of an inbox.
    subject: Mapped[Optional[str]] = mapped_column(String(200))
    customer_phone: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    # Copied from the record so that a customer's other complaints are found by index.
    customer_email: Mapped[Optional[str]] = mapped_column(String(254), index=True)
    order_number: Mapped[Optional[str]] = mapped_column(String(128), index=True)
    complaint_type: Mapped[Optional[str]] = mapped_column(String(64))
    department_code: Mapped[Optional[str]] = mapped_column(String(64))
    channel: Mapped[Optional[str]] = mapped_column(String(32))
    received_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    status_token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    parent_ticket: Mapped[Optional[str]] = mapped_column(String(16), index=True)
    # The customer's language and zone, for their e-mails and status page.
    customer_locale: Mapped[Optional[str]] = mapped_column(String(16))
    customer_timezone: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    # What the statistics count, kept up to date by each step (engine/case_facts.py):
    # the last classification's urgency, the last follow-up visit's answer, the
    # customer's rejections, and whether the customer complained within 90 days before.
    urgency: Mapped[Optional[str]] = mapped_column(String(64))
    satisfaction: Mapped[Optional[str]] = mapped_column(String(64))
    satisfaction_score: Mapped[Optional[int]] = mapped_column(Integer)
    rejections: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    repeat_complaint: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=text("false"))
    version: Mapped[ProcessVersion] = relationship(lazy="select")


class InstanceState(Base):
    """The serialized workflow of a case, without its spec, in a table of its own: case
    rows stay small, so searching and listing cases never reads the large state. TEXT,
    never JSONB (JSONB reorders keys and the deserializer loses task data)."""

    __tablename__ = "instance_state"
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"),
                                             primary_key=True)
    state: Mapped[str] = mapped_column(Text)


class HumanTask(Base):
    """One row per user task the engine is waiting on (and kept after completion)."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_task_queue", "state", "role", "department_code"),
        Index("ix_task_assignee", "state", "assignee_id"),
        # The few cases with an escalated or overdue step, for the statistics and their
        # lists of cases, without reading every task of the period.
        Index("ix_task_escalated", "instance_id", sqlite_where=text("escalated_at IS NOT NULL"),
              postgresql_where=text("escalated_at IS NOT NULL")),
        Index("ix_task_breached", "instance_id", sqlite_where=text("breached_at IS NOT NULL"),
              postgresql_where=text("breached_at IS NOT NULL")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))  # BPMN element id
    title: Mapped[str] = mapped_column(String(255))
    lane: Mapped[Optional[str]] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(64))  # role allowed to work it
    department_code: Mapped[Optional[str]] = mapped_column(String(64))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    form: Mapped[Optional[str]] = mapped_column(String(128))
    ui_form: Mapped[Optional[str]] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="ready")  # ready|completed|cancelled
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    completed_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    reminded_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    breached_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    escalated_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    # Separation of duties: this user (e.g. the plan's author) may never work the task.
    excluded_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    # Waiting on the customer: the company's SLA clock stands still meanwhile.
    pauses_sla: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    completed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    on_behalf_of: Mapped[Optional[str]] = mapped_column(String(32))
    instance: Mapped[ProcessInstance] = relationship(lazy="joined")
    assignee: Mapped[Optional[User]] = relationship(foreign_keys=[assignee_id], lazy="select")
    completed_by: Mapped[Optional[User]] = relationship(
        foreign_keys=[completed_by_id], lazy="select"
    )


class AuditEvent(Base):
    """Hash-chained: each event holds the hash of the one before it."""

    __tablename__ = "audit_event"
    # The audit trail pages list events newest first, filtered by kind, by actor or by
    # date: each reads its own index.
    __table_args__ = (
        Index("ix_audit_event_chain_id", "chain", "id"),  # a chain in order, for verifying
        Index("ix_audit_event_kind_id", "kind", "id"),
        Index("ix_audit_event_actor_id", "actor", "id"),
        Index("ix_audit_event_at", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("process_instance.id"), index=True
    )
    actor: Mapped[Optional[str]] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The latest hash of each chain (one chain per case, one for everything else).

    Locking the head row serializes appends to a chain without a global lock.
    """

    __tablename__ = "audit_head"
    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))


class Notification(Base):
    """Minimal outbox: who is told what (delivery comes with the notifications issue)."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_instance.id"))
    recipient_role: Mapped[Optional[str]] = mapped_column(String(64))
    recipient_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    recipient_department: Mapped[Optional[str]] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), default="notice", server_default="notice")
    subject: Mapped[str] = mapped_column(String(255))
    # The subject as a catalog message and its values, so each reader sees it in their own
    # language and zone (NULL for notices stored before: their subject is shown as is).
    message_id: Mapped[Optional[str]] = mapped_column(String(255))
    message_values: Mapped[Optional[dict]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class LookupRecord(Base):
    """Rows the built-in connector answers from (orders, shipments), imported from CSV
    by an admin until a company plugs in its ERP."""

    __tablename__ = "lookup_record"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # order | shipment
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)
    imported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class OutboxMessage(Base):
    """E-mail waiting to be sent (or sent): written in the transaction that caused it."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_instance.id"),
                                                       index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[Optional[str]] = mapped_column(String(255))
    attachment_type: Mapped[Optional[str]] = mapped_column(String(100))
    attachment: Mapped[Optional[str]] = mapped_column(Text, deferred=True)
    # queued | sent | failed | kept (development mode: stored, never sent)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    # Delivery (engine/mailer.py): when the next attempt is due (NULL: at once), and until
    # when a sender holds the message (its claim; expires so a dead sender's claims return).
    next_attempt_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime, index=True)
    claimed_until: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)


class Attachment(Base):
    """Evidence linked to a case. The bytes live outside the database, in a directory
    keyed by their SHA-256 (the same file uploaded twice is stored once)."""

    __tablename__ = "attachment"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # random, not guessable
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    # customer | staff; staff uploads are internal unless shared with the customer
    source: Mapped[str] = mapped_column(String(16))
    visible_to_customer: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    uploaded_by: Mapped[Optional[User]] = relationship(lazy="select")


class CaseNote(Base):
    """What people write about a case outside the task forms: the customer's messages,
    staff replies to the customer, and internal comments the customer never sees."""

    __tablename__ = "case_note"
    __table_args__ = (Index("ix_note_instance_created", "instance_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    kind: Mapped[str] = mapped_column(String(16))  # customer_message | reply | comment
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))  # NULL: customer
    attachment_id: Mapped[Optional[str]] = mapped_column(ForeignKey("attachment.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    author: Mapped[Optional[User]] = relationship(lazy="select")


class LedgerEntry(Base):
    """A reward or penalty for a person or a team (department), linked to the case it is
    about, proposed by someone and approved or rejected by the general manager's office
    (seeds 000 and 003: warnings, performance points, fines, job changes; rewards for
    on-time handling, innovative solutions, satisfaction gains, the best team)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_period_status", "period", "status"),
        Index("ix_ledger_person", "user_id", "period"),
        Index("ix_ledger_department", "department_code", "period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("process_instance.id"),
                                                       index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    department_code: Mapped[Optional[str]] = mapped_column(String(64))
    # The month the entry counts in (YYYY-MM, the company's month).
    period: Mapped[str] = mapped_column(String(7))
    points: Mapped[Optional[int]] = mapped_column(Integer)
    # Money in fen (hundredths of a yuan): whole numbers add up exactly.
    amount_fen: Mapped[Optional[int]] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # Where it was proposed: responsibility (the case's responsibility step),
    # monthly_review, or supervision (anyone else allowed to propose).
    source: Mapped[str] = mapped_column(String(32))
    source_ticket: Mapped[Optional[str]] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # |approved|rejected
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime)
    decision_note: Mapped[Optional[str]] = mapped_column(Text)
    instance: Mapped[Optional[ProcessInstance]] = relationship(lazy="joined")
    person: Mapped[Optional[User]] = relationship(foreign_keys=[user_id], lazy="joined")
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id], lazy="joined")
    decided_by: Mapped[Optional[User]] = relationship(foreign_keys=[decided_by_id],
                                                      lazy="joined")


class MonthlyReport(Base):
    """The supervision report of one month, generated once on the 1st of the next."""

    __tablename__ = "monthly_report"
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    generated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    generated_by: Mapped[Optional[str]] = mapped_column(String(64))  # the worker
    figures: Mapped[dict] = mapped_column(JSON)
    csv: Mapped[str] = mapped_column(Text, deferred=True)


class ScheduledRun(Base):
    """A periodic job done for a period: the primary key makes it happen once, whichever
    of several workers gets there first (the others' inserts fail and they skip it)."""

    __tablename__ = "scheduled_run"
    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    worker: Mapped[Optional[str]] = mapped_column(String(64))
    ran_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class SavedSearch(Base):
    """A search a user named to run again (the query string of its page), their own."""

    __tablename__ = "saved_search"
    __table_args__ = (UniqueConstraint("user_id", "scope", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    scope: Mapped[str] = mapped_column(String(16))  # cases | audit
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class KnowledgeRecord(Base):
    """A solved technical problem (004): what the customer's model did, why and how it was
    fixed, kept for the agents who meet the same problem next."""

    __tablename__ = "knowledge_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    ticket: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(200), index=True)
    problem: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    solved_on_site: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[Optional[str]] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

"""What people write about a case outside the task forms.

Three kinds of note:
- the customer's messages, sent from the status page (also after the case closed, so a
  customer can react to the closing); the customer-service team is notified;
- staff replies to the customer (customer service only), shown on the status page and
  e-mailed to the customer in their language;
- internal comments between staff, never shown to the customer. Anyone who may see the
  case writes them, except compliance, which reads cases but does not act on them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, customers, mailer, notifications, runtime
from .directory import Actor
from .errors import Forbidden, ServiceError
from .form_values import storable_part
from .forms import FormInvalid
from .i18n import N_, translator
from .models import CaseNote, ProcessInstance, User
from .services import Services
from .visibility import STAFF_ROLES, can_see, visible_case

CUSTOMER_MESSAGE = "customer_message"
REPLY = "reply"
COMMENT = "comment"
STAFF_KINDS = (REPLY, COMMENT)
CUSTOMER_KINDS = (CUSTOMER_MESSAGE, REPLY)

MAX_BODY = 5000
REPLY_ROLES = frozenset({"cs_agent", "cs_supervisor", "cs_director"})
# Roles that read cases without acting on them.
READ_ONLY_ROLES = frozenset({"compliance"})
# Who hears about a new message from the customer.
CS_TEAM_ROLE = "cs_agent"

EMPTY_BODY = N_("Write something before sending.")
LONG_BODY = N_("Keep it under 5000 characters.")


@dataclass(frozen=True)
class NoteView:
    id: int
    kind: str
    body: str
    author: Optional[str]  # the staff member's name; None for the customer
    created_at: dt.datetime

    @property
    def internal(self) -> bool:
        return self.kind == COMMENT


@dataclass(frozen=True)
class StaffThread:
    """A case's notes as staff see them, and what the viewer may add."""

    ticket: str
    notes: list[NoteView]
    can_reply: bool
    can_comment: bool
    has_customer: bool  # improvement cases have no customer to reply to
    customer_locale: Optional[str]


def clean_body(body: Optional[str]) -> str:
    # Browsers send a line break as CR LF but count it as one character: so do we. A NUL
    # (which no text column of PostgreSQL holds) carries nothing a reader would miss.
    text = storable_part(body or "").replace("\r\n", "\n").strip()
    if not text:
        raise FormInvalid({"body": EMPTY_BODY})
    if len(text) > MAX_BODY:
        raise FormInvalid({"body": LONG_BODY})
    return text


def may_reply(actor: Actor) -> bool:
    return bool(actor.roles & REPLY_ROLES)


def may_comment(session: Session, actor: Actor, instance: ProcessInstance) -> bool:
    # Judged on the roles that may act: compliance alone lets a person see every case,
    # but not write on one.
    acting = dataclasses.replace(actor, roles=actor.roles - READ_ONLY_ROLES)
    return bool(acting.roles & STAFF_ROLES) and can_see(acting, instance, session)


def _views(session: Session, instance_id: int, kinds: tuple[str, ...]) -> list[NoteView]:
    rows = session.execute(
        select(CaseNote.id, CaseNote.kind, CaseNote.body, User.display_name,
               CaseNote.created_at)
        .outerjoin(User, User.id == CaseNote.author_id)
        .where(CaseNote.instance_id == instance_id, CaseNote.kind.in_(kinds))
        .order_by(CaseNote.created_at, CaseNote.id))
    return [NoteView(id=i, kind=k, body=b, author=a, created_at=c) for i, k, b, a, c in rows]


def staff_thread(session: Session, actor: Actor, ticket: str) -> StaffThread:
    instance = visible_case(session, actor, ticket)
    has_customer = instance.status_token_hash is not None
    return StaffThread(
        ticket=instance.ticket,
        notes=_views(session, instance.id, (CUSTOMER_MESSAGE, REPLY, COMMENT)),
        can_reply=has_customer and may_reply(actor),
        can_comment=may_comment(session, actor, instance),
        has_customer=has_customer, customer_locale=instance.customer_locale)


@dataclass(frozen=True)
class CustomerThread:
    """The customer's messages and our replies (internal comments never), with the
    customer's language and zone to show them in."""

    notes: list[NoteView]
    locale: Optional[str]
    timezone: Optional[str]


def customer_thread(services: Services, token: str) -> CustomerThread:
    with services.db.read() as session:
        instance = customers.instance_for_token(session, token)
        return CustomerThread(notes=_views(session, instance.id, CUSTOMER_KINDS),
                              locale=instance.customer_locale,
                              timezone=instance.customer_timezone)


def _add(session: Session, instance_id: int, kind: str, body: str,
         author: Optional[Actor], now: dt.datetime) -> NoteView:
    note = CaseNote(instance_id=instance_id, kind=kind, body=body,
                    author_id=author.id if author else None, created_at=now)
    session.add(note)
    session.flush()
    return NoteView(id=note.id, kind=kind, body=body,
                    author=author.display_name if author else None, created_at=now)


# Messages one status link may send over a complaint's life: whoever holds the link must
# not be able to flood the team's notices and the database.
MAX_CUSTOMER_MESSAGES = 200
TOO_MANY_MESSAGES = N_("This complaint has reached its limit of messages. Please call "
                       "customer service if you need to tell us more.")
NEW_MESSAGE_NOTICE = N_("Complaint %(ticket)s: a new message from the customer")


def send_customer_message(services: Services, token: str, body: Optional[str]) -> NoteView:
    text = clean_body(body)
    now = services.now()
    with services.db.write() as session:
        instance = customers.instance_for_token(session, token)
        sent = session.execute(select(func.count()).select_from(CaseNote).where(
            CaseNote.instance_id == instance.id, CaseNote.kind == CUSTOMER_MESSAGE)).scalar_one()
        if sent >= MAX_CUSTOMER_MESSAGES:
            raise FormInvalid({"body": TOO_MANY_MESSAGES})
        view = _add(session, instance.id, CUSTOMER_MESSAGE, text, None, now)
        message, values = NEW_MESSAGE_NOTICE, {"ticket": instance.ticket}
        notifications.store(session, instance.id, [notifications.Outgoing(
            CS_TEAM_ROLE, notifications.render(message, values), message, values)], now)
        audit.record(session, "customer_message", customers.CUSTOMER.username, instance.id,
                     note=view.id, body=text)
    return view


def add_staff_note(services: Services, actor: Actor, ticket: str, kind: str,
                   body: Optional[str]) -> NoteView:
    if kind == REPLY:
        return reply(services, actor, ticket, body)
    if kind == COMMENT:
        return comment(services, actor, ticket, body)
    raise ServiceError(N_("Choose a reply or a comment."))


def reply(services: Services, actor: Actor, ticket: str, body: Optional[str]) -> NoteView:
    """A reply to the customer: on their status page, and by e-mail if we have an address."""
    if not may_reply(actor):
        raise Forbidden(N_("Only customer service replies to the customer."))
    now = services.now()
    with services.db.write() as session:
        instance = visible_case(session, actor, ticket)
        if instance.status_token_hash is None:
            raise Forbidden(N_("This case has no customer to reply to."))
        text = clean_body(body)
        view = _add(session, instance.id, REPLY, text, actor, now)
        mailed = _mail_reply(services, session, instance, text, now)
        audit.record(session, "customer_replied", actor.username, instance.id,
                     note=view.id, body=text, mailed=mailed)
    return view


def _mail_reply(services: Services, session: Session, instance: ProcessInstance, text: str,
                now: dt.datetime) -> bool:
    data = runtime.case_data(services, instance)
    address = data.get("customer_email")
    if not address:
        return False
    _ = translator(instance.customer_locale)
    # The reply goes out as written (greeting and signature are part of it, as on the
    # status page). Only the hash of the status link is kept, so the mail cannot carry
    # the link itself.
    body = "\n\n".join([
        text, "--",
        _("You can read all our messages and write back to us on your status page. "
          "The link is in our first e-mail."),
    ])
    subject = _("Our reply about your complaint %(ticket)s", ticket=instance.ticket)
    try:
        mailer.queue(session, address, subject, body, instance_id=instance.id, now=now)
    except ValueError:
        return False  # an unusable address on file must not lose the reply itself
    return True


def comment(services: Services, actor: Actor, ticket: str, body: Optional[str]) -> NoteView:
    """An internal comment: staff only, never shown to the customer."""
    now = services.now()
    with services.db.write() as session:
        instance = visible_case(session, actor, ticket)
        if not may_comment(session, actor, instance):
            raise Forbidden(N_("Compliance reads cases but does not write on them."))
        text = clean_body(body)
        view = _add(session, instance.id, COMMENT, text, actor, now)
        audit.record(session, "comment_added", actor.username, instance.id,
                     note=view.id, body=text)
    return view

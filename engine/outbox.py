"""Reading the e-mail outbox: what was sent (or kept in development mode), to whom, and
why a mail failed. Administrators only; mails carry customers' data, so opening one is
audited like reading the case."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from . import audit
from .directory import Actor
from .errors import Forbidden, NotFound
from .i18n import N_
from .models import OutboxMessage, ProcessInstance
from .services import Services

READER_ROLES = frozenset({"admin"})
# Ids are integers of the database; longer text is no id and never reaches a query.
MAX_ID_DIGITS = 18


def require_reader(actor: Actor) -> None:
    if not actor.roles & READER_ROLES:
        raise Forbidden(N_("Administrators only."))


def _with_ticket():
    return (select(OutboxMessage, ProcessInstance.ticket)
            .outerjoin(ProcessInstance, OutboxMessage.instance_id == ProcessInstance.id))


def newest(session: Session, actor: Actor,
           limit: int) -> list[tuple[OutboxMessage, Optional[str]]]:
    """The newest messages with the ticket of their case (None for a mail of no case)."""
    require_reader(actor)
    return [tuple(row) for row in session.execute(
        _with_ticket().order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit))]


def status_totals(session: Session, actor: Actor) -> dict[str, int]:
    """How many messages are queued, sent, failed or kept."""
    require_reader(actor)
    return dict(session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())


def open_message(services: Services, actor: Actor, raw_id: str,
                 with_attachment: bool = False) -> tuple[OutboxMessage, Optional[str]]:
    """One message (and its attachment, if asked for) with the ticket of its case; the
    look is audited. `raw_id` is the id as given in the address."""
    require_reader(actor)
    if not raw_id.isdigit() or len(raw_id) > MAX_ID_DIGITS:
        raise NotFound(N_("No such message."))
    message_id = int(raw_id)
    query = _with_ticket().where(OutboxMessage.id == message_id)
    if with_attachment:
        query = query.options(undefer(OutboxMessage.attachment))
    with services.db.write() as session:
        found = session.execute(query).first()
        if found is None:
            raise NotFound(N_("No such message."))
        audit.record(session, "outbox_message_viewed" if not with_attachment
                     else "outbox_attachment_downloaded",
                     actor.username, found[0].instance_id, message_id=message_id)
    return found[0], found[1]

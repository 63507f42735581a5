"""Ticket numbers: YYMM + serial within the month, e.g. 2611000123."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .i18n import COMPANY_ZONE
from .models import TicketCounter

SERIAL_DIGITS = 6


@dataclass(frozen=True)
class Filed:
    """A case just filed: its ticket, the customer's key to its status page, the path it
    took and its next deadline."""
    ticket: str
    status_token: str
    path: Optional[str]
    next_due_at: Optional[dt.datetime] = None


def month_key(when: dt.datetime) -> str:
    """The month a ticket belongs to: the company's month, not UTC's."""
    return when.astimezone(COMPANY_ZONE).strftime("%y%m")


def next_ticket(session: Session, when: dt.datetime) -> str:
    """Allocate the next number atomically (one upsert; safe under concurrent intake)."""
    month = month_key(when)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(TicketCounter)
        .values(month=month, last_serial=1)
        .on_conflict_do_update(
            index_elements=[TicketCounter.month],
            set_={"last_serial": TicketCounter.last_serial + 1},
        )
        .returning(TicketCounter.last_serial)
    )
    serial = session.execute(stmt).scalar_one()
    return f"{month}{serial:0{SERIAL_DIGITS}d}"

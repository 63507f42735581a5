"""Months of work for the ledger and the monthly jobs: closed general cases, ledger
proposals, and the moment the 1st of the next month begins (company time)."""
from __future__ import annotations

import datetime as dt

from engine import ledger
from engine.i18n import COMPANY_ZONE


def close_general_case(desk, **record) -> str:
    """File a general complaint and work it to its close (the follow-up visit)."""
    ticket = desk.file(**record)
    desk.run_until(ticket, "follow_up")
    result = desk.do(ticket, "follow_up")
    assert result["status"] == "closed", result
    return ticket


def first_of_next_month(moment: dt.datetime, hour: int = 0, minute: int = 1) -> dt.datetime:
    local = moment.astimezone(COMPANY_ZONE)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return dt.datetime(year, month, 1, hour, minute, tzinfo=COMPANY_ZONE).astimezone(
        dt.timezone.utc)


def propose(services, actor, **values) -> ledger.EntryView:
    return ledger.propose(services, actor, {k: str(v) for k, v in values.items()})

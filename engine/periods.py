"""Months as the company counts them (its own time zone, not UTC): the period a ledger
entry counts in, the month a report covers."""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from .i18n import COMPANY_ZONE

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def parse(value: Optional[str]) -> Optional[str]:
    """'2026-11' as given, or None for anything that is no month (year 2000-2999)."""
    match = _PERIOD.match((value or "").strip())
    if not match or not 2000 <= int(match.group(1)) <= 2999 or \
            not 1 <= int(match.group(2)) <= 12:
        return None
    return match.group(0)


def of(moment: dt.datetime) -> str:
    """The company's month of a moment."""
    return moment.astimezone(COMPANY_ZONE).strftime("%Y-%m")


def previous(period: str) -> str:
    year, month = (int(p) for p in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def following(period: str) -> str:
    year, month = (int(p) for p in period.split("-"))
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


def start_of(period: str) -> dt.datetime:
    """The first moment of the month, in UTC."""
    year, month = (int(p) for p in period.split("-"))
    return dt.datetime(year, month, 1, tzinfo=COMPANY_ZONE).astimezone(dt.timezone.utc)


def bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the month in UTC."""
    return start_of(period), start_of(following(period))


def day_of_following(period: str, day: int, hour: int = 0) -> dt.datetime:
    """A day and hour of the month after `period`, company time, in UTC (the review of
    November is due by 10 December)."""
    year, month = (int(p) for p in following(period).split("-"))
    return dt.datetime(year, month, day, hour, tzinfo=COMPANY_ZONE).astimezone(dt.timezone.utc)

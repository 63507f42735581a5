"""The channels a complaint arrives by (001) and the team that receives each.

Every channel's complaint is to be in the system within an hour of its receipt (001); the
hour is counted in the receiving team's calendar, as every other deadline is: the hotline,
the web site and the mailbox are customer service's (7x24), the store counters work the
stores' opening hours (09:00-21:00) and the social-media desk working days 09:00-18:00. A
complaint written in a store's register at 20:50 is therefore on time when it is entered
by 09:50 the next morning, and one sent by private message on Saturday by 10:00 on Monday.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from .calendars import BusinessCalendar
from .sla import CUSTOMER_SERVICE

CHANNEL_TEAMS = {"counter": "store_counters", "social": "social_media"}
# They are departments only so that their hours can be set like any team's: they receive
# complaints and pass them on, and no complaint, inquiry or finding is ever sent to them.
RECEIVING_ONLY_TEAMS = frozenset(CHANNEL_TEAMS.values())
# 001: "所有渠道接收的投诉需在1小时内完成系统录入".
ENTRY_LIMIT = dt.timedelta(hours=1)


def receiving_team(channel: Optional[str]) -> str:
    """The team whose hours count a complaint's time from receipt to entry."""
    return CHANNEL_TEAMS.get(channel or "", CUSTOMER_SERVICE)


def entered_late(calendar: BusinessCalendar, received_at: dt.datetime,
                 entered_at: dt.datetime) -> Optional[int]:
    """Minutes of the team's working time between receipt and entry when over the hour,
    else None."""
    delay = calendar.elapsed(received_at, entered_at)
    return int(delay.total_seconds() // 60) if delay > ENTRY_LIMIT else None

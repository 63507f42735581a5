"""How pressing a task is, for the lists staff work from: its state against the clock
(on time, due soon, overdue, SLA breached) and its deadline in words relative to now
("due in 3 h", "overdue by 2 h") in the reader's language."""
from __future__ import annotations

import datetime as dt
from typing import Callable, Optional

from .i18n import N_

# A deadline this close counts as due soon, whether or not the reminder went out yet: the
# shortest SLA steps (2 h and 4 h) are inside it from the start.
DUE_SOON = dt.timedelta(hours=4)

ON_TIME, DUE_SOON_STATE, OVERDUE, BREACHED = "on_time", "due_soon", "overdue", "breached"

# Shown next to the relative time, so that the state never rests on colour alone.
STATE_LABELS = {
    DUE_SOON_STATE: N_("Due soon"),
    OVERDUE: N_("Overdue"),
    BREACHED: N_("SLA breached"),
}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def state(due_at: Optional[dt.datetime], now: dt.datetime,
          reminded: bool = False,
          breached_at: Optional[dt.datetime] = None) -> Optional[str]:
    """None without a deadline; else breached (the SLA breach was recorded), overdue,
    due soon (within DUE_SOON, or the reminder went out) or on time."""
    if breached_at is not None:
        return BREACHED
    if due_at is None:
        return None
    left = _aware(due_at) - _aware(now)
    if left < dt.timedelta(0):
        return OVERDUE
    if reminded or left <= DUE_SOON:
        return DUE_SOON_STATE
    return ON_TIME


# Seconds per unit, the distance up to which the unit is used, and the wording ahead of
# and past the deadline.
_UNITS = (
    (60, 3600, N_("due in %(count)s min"), N_("overdue by %(count)s min")),
    (3600, 48 * 3600, N_("due in %(count)s h"), N_("overdue by %(count)s h")),
    (86400, None, N_("due in %(count)s days"), N_("overdue by %(count)s days")),
)


def phrase(due_at: Optional[dt.datetime], now: dt.datetime,
           gettext: Callable[..., str]) -> str:
    """The deadline relative to now: "due in 3 h", "overdue by 2 days", "due now";
    '' without a deadline. Whole units, rounded down."""
    if due_at is None:
        return ""
    seconds = (_aware(due_at) - _aware(now)).total_seconds()
    ahead = seconds >= 0
    seconds = abs(seconds)
    if seconds < 60:
        return gettext(N_("due now"))
    for unit, limit, future, past in _UNITS:
        if limit is None or seconds < limit:
            return gettext(future if ahead else past, count=int(seconds // unit))
    return ""  # not reached: the last unit has no limit

"""Telling timer workers in other processes that a case has a new due time.

On PostgreSQL a NOTIFY on one channel, sent with the commit and dropped with a rollback;
workers LISTEN and re-arm (engine/scheduler.py). In-process listeners hear it through
Services.due_changed instead.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy.orm import Session

CHANNEL = "complaint_timers"


def announce(session: Session, due: Optional[dt.datetime]) -> None:
    if due is not None and session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql("SELECT pg_notify(%s, %s)",
                                             (CHANNEL, due.isoformat()))

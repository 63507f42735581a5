"""Admin changes to business calendars: closed/open days and department calendars."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from . import audit
from .calendars import CALENDARS
from .models import ClosedDay, Department
from .services import Services


def _check(name: str) -> None:
    if name not in CALENDARS:
        raise ValueError(f"unknown calendar {name!r}; known: {', '.join(sorted(CALENDARS))}")


def set_day(services: Services, calendar: str, day: dt.date, is_open: bool, reason: str,
            actor: str = "admin") -> None:
    _check(calendar)
    with services.db.write() as session:
        row = session.get(ClosedDay, (calendar, day))
        if row is None:
            session.add(ClosedDay(calendar=calendar, day=day, is_open=is_open, reason=reason))
        else:
            row.is_open, row.reason = is_open, reason
        audit.record(session, "calendar_day_set", actor, calendar=calendar, day=day.isoformat(),
                     is_open=is_open, reason=reason)
    services.calendars.invalidate()


def set_department_calendar(services: Services, department: str, calendar: str,
                            actor: str = "admin") -> None:
    _check(calendar)
    with services.db.write() as session:
        dept = session.execute(select(Department).where(Department.code == department)
                               ).scalar_one_or_none()
        if dept is None:
            raise ValueError(f"unknown department {department!r}")
        dept.calendar = calendar
        audit.record(session, "department_calendar_set", actor, department=department,
                     calendar=calendar)
    services.calendars.invalidate()

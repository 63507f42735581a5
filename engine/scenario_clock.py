"""A clock of its own for a dry run, seen by SpiffWorkflow's timers in that thread only.

SpiffWorkflow decides whether a timer has fired by comparing its due time with
`datetime.now(timezone.utc)`, read from its timer module. A dry run moves its own time
(`{"wait": {"hours": 30}}`) while the application keeps serving real cases in other
threads, so the global clock must not move: the timer module's `datetime` is replaced,
once, by a subclass whose `now()` answers the dry run's time in a thread running one and
the real time everywhere else. Everything else the engine reads time from goes through
`Services.clock`, which a dry run sets to the same clock.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import threading
from typing import Callable, Iterator, Optional

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

_current: contextvars.ContextVar[Optional[Callable[[], dt.datetime]]] = \
    contextvars.ContextVar("scenario_clock", default=None)
_installed = threading.Lock()


class _AnyDatetime(type):
    """SpiffWorkflow's isinstance checks keep accepting every datetime."""

    def __instancecheck__(cls, value) -> bool:
        return isinstance(value, dt.datetime)


class _TimerDatetime(dt.datetime, metaclass=_AnyDatetime):
    @classmethod
    def now(cls, tz=None):
        clock = _current.get()
        if clock is None:
            return dt.datetime.now(tz)
        moment = clock()
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    # Values the timer module builds stay plain datetimes.
    @classmethod
    def fromisoformat(cls, text):
        return dt.datetime.fromisoformat(text)

    @classmethod
    def combine(cls, date, time, tzinfo=True):
        return dt.datetime.combine(date, time, time.tzinfo if tzinfo is True else tzinfo)

    @classmethod
    def fromisocalendar(cls, year, week, day):
        return dt.datetime.fromisocalendar(year, week, day)


def _install() -> None:
    with _installed:
        if spiff_timer.datetime is not _TimerDatetime:
            spiff_timer.datetime = _TimerDatetime


class ScenarioClock:
    """A settable, aware UTC clock: `Services.clock` of a dry run."""

    def __init__(self, start: dt.datetime):
        if start.tzinfo is None:
            raise ValueError("a scenario starts at a time with its time zone")
        self._now = start.astimezone(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self._now += delta
        return self._now


@contextlib.contextmanager
def running_on(clock: Callable[[], dt.datetime]) -> Iterator[None]:
    """SpiffWorkflow's timers in this thread read `clock` until the block ends."""
    _install()
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)

"""The movable clock every test sees instead of the wall clock."""
from __future__ import annotations

import datetime as dt

import time_machine

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai


class Clock:
    """The time everything sees (our services, SpiffWorkflow's timers): tests move it
    instead of sleeping. Monotonic clocks keep running, so timeouts still work."""

    def __init__(self, start: dt.datetime = START):
        self._travel = time_machine.travel(start, tick=False)
        self._coordinates = self._travel.start()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    @property
    def now(self) -> dt.datetime:
        return self()

    @now.setter
    def now(self, value: dt.datetime) -> None:
        self._coordinates.move_to(value)

    def advance(self, **delta) -> dt.datetime:
        self._coordinates.shift(dt.timedelta(**delta))
        return self()

    def stop(self) -> None:
        self._travel.stop()

"""APScheduler around the timer service: one date job armed at the earliest due time,
re-armed when a save brings an earlier one, a slow safety sweep, and a catch-up run at
start-up for everything that fell due while the system was down."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Optional

from apscheduler.schedulers.background import BackgroundScheduler

from . import timers
from .services import Services

log = logging.getLogger("engine.scheduler")

FIRE_JOB = "fire-due-timers"
SWEEP_JOB = "safety-sweep"


class TimerScheduler:
    def __init__(self, services: Services, sweep_seconds: int = 60,
                 worker: Optional[str] = None):
        self.services = services
        self.worker = worker or timers.worker_name()
        self.sweep_seconds = sweep_seconds
        self._scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
        self._armed_at: Optional[dt.datetime] = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Fire what fell due while nothing ran (before returning), then keep watch."""
        self._scheduler.start()
        self.services.due_listener = self.arm
        self.run_due()
        self._scheduler.add_job(self.run_due, "interval", seconds=self.sweep_seconds,
                                id=SWEEP_JOB, max_instances=1, coalesce=True)
        log.info("timer scheduler %s started", self.worker)

    def shutdown(self) -> None:
        self.services.due_listener = None
        self._scheduler.shutdown(wait=True)

    def arm(self, due: dt.datetime) -> None:
        """Make sure a run is scheduled no later than `due`."""
        with self._lock:
            if self._armed_at is not None and self._armed_at <= due:
                return
            self._armed_at = due
        self._scheduler.add_job(self.run_due, "date", run_date=due, id=FIRE_JOB,
                                replace_existing=True, max_instances=1, misfire_grace_time=None)

    def run_due(self) -> int:
        with self._lock:
            self._armed_at = None
        try:
            fired = timers.fire_due(self.services, self.worker)
        except Exception:  # noqa: BLE001 - the sweep must survive a failing round
            log.exception("firing due timers failed")
            fired = 0
        following = timers.earliest_due(self.services)
        if following is not None:
            self.arm(max(following, self.services.now()))
        return fired

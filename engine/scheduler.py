"""APScheduler around the timer service: one date job armed at the earliest due time,
re-armed when a save brings an earlier one, a slow safety sweep, and a catch-up run at
start-up for everything that fell due while the system was down."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Optional

import psycopg
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import make_url

from apscheduler.triggers.cron import CronTrigger

from . import due_signal, mailer, monthly_work, timers
from .i18n import COMPANY_ZONE
from .services import Services

log = logging.getLogger("engine.scheduler")

FIRE_JOB = "fire-due-timers"
RETRY_DELAY = dt.timedelta(milliseconds=500)
SWEEP_JOB = "safety-sweep"
MAIL_JOB = "send-mail"
MAIL_SECONDS = 15
MONTHLY_JOB = "monthly-work"


class DueTimeListener(threading.Thread):
    """Hears due times announced by other processes (PostgreSQL LISTEN) and re-arms, so a
    timer set by a web process fires on time in a separate worker."""

    def __init__(self, database_url: str, on_due):
        super().__init__(name="due-time-listener", daemon=True)
        self.conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.on_due = on_due
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {due_signal.CHANNEL}")
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.on_due(dt.datetime.fromisoformat(note.payload))
            except Exception:  # noqa: BLE001 - reconnect after a lost connection
                log.exception("due-time listener lost its connection; reconnecting")
                self._stopping.wait(2.0)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)


class TimerScheduler:
    def __init__(self, services: Services, sweep_seconds: int = 60,
                 worker: Optional[str] = None):
        self.services = services
        self.worker = worker or timers.worker_name()
        self.sweep_seconds = sweep_seconds
        self._scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
        self._armed_at: Optional[dt.datetime] = None
        # While a run is firing, due times are only noted: the run looks up the earliest
        # one when it ends, and arming per fired case would cost a job change each.
        self._running = 0
        self._noted: Optional[dt.datetime] = None
        self._lock = threading.Lock()
        self._listener: Optional[DueTimeListener] = None

    def start(self) -> None:
        """Fire what fell due while nothing ran (before returning), then keep watch."""
        self._scheduler.add_listener(self._on_skipped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self._scheduler.start()
        self.services.due_listener = self.arm
        if not self.services.db.is_sqlite:
            self._listener = DueTimeListener(self.services.db.url, self.arm)
            self._listener.start()
        self.run_due()
        self.run_monthly()  # a 1st missed while nothing ran is made up until the 10th
        self._scheduler.add_job(self.sweep, "interval", seconds=self.sweep_seconds,
                                id=SWEEP_JOB, max_instances=1, coalesce=True)
        # Just after midnight on the 1st, company time; every worker runs it, one does it.
        self._scheduler.add_job(self.run_monthly,
                                CronTrigger(day=1, hour=0, minute=0, timezone=COMPANY_ZONE),
                                id=MONTHLY_JOB, max_instances=1, coalesce=True,
                                misfire_grace_time=None)
        self._scheduler.add_job(self.send_mail, "interval", seconds=MAIL_SECONDS, id=MAIL_JOB,
                                max_instances=1, coalesce=True)
        log.info("timer scheduler %s started", self.worker)

    def shutdown(self) -> None:
        self.services.due_listener = None
        if self._listener is not None:
            self._listener.stop()
        self._scheduler.shutdown(wait=True)

    def arm(self, due: dt.datetime) -> None:
        """Make sure a run is scheduled no later than `due`."""
        with self._lock:
            if self._running:
                self._noted = due if self._noted is None else min(self._noted, due)
                return
            if self._armed_at is not None and self._armed_at <= due:
                return
            self._armed_at = due
        self._scheduler.add_job(self.run_due, "date", run_date=due, id=FIRE_JOB,
                                replace_existing=True, max_instances=1, misfire_grace_time=None)

    def run_due(self) -> int:
        """Fire everything due, until what is left falls due later; then arm for that.

        Looping here rather than re-arming for "now" matters: a job that re-arms itself
        while still running is skipped by APScheduler (one instance at a time), and the
        timer would wait for the safety sweep."""
        with self._lock:
            self._running += 1
        try:
            return self._run_until_nothing_is_due()
        finally:
            with self._lock:
                self._running -= 1
                noted = None
                if not self._running:
                    noted, self._noted = self._noted, None
            if noted is not None:
                self.arm(noted)

    def _run_until_nothing_is_due(self) -> int:
        total = 0
        while True:
            with self._lock:
                self._armed_at = None
            try:
                fired = timers.fire_due(self.services, self.worker)
            except Exception:  # noqa: BLE001 - the sweep must survive a failing round
                log.exception("firing due timers failed")
                fired = 0
            total += fired
            following = timers.earliest_due(self.services)
            now = self.services.now()
            if following is None:
                return total
            if following > now:
                self.arm(following)
                return total
            if not fired:  # due but not ours to claim right now: look again shortly
                self.arm(now + RETRY_DELAY)
                return total

    def sweep(self) -> None:
        self.run_due()
        self.run_monthly()

    def run_monthly(self) -> list[str]:
        """Last month's report and review, if due and not done (by any worker) yet."""
        try:
            return monthly_work.run_due(self.services, self.worker)
        except Exception:  # noqa: BLE001 - the job must survive a failing round
            log.exception("the monthly work failed")
            return []

    def _on_skipped(self, event) -> None:
        """An armed run that APScheduler skipped (the previous one still running) must not
        be forgotten: arm it again just after."""
        if event.job_id == FIRE_JOB:
            with self._lock:
                self._armed_at = None
            self.arm(self.services.now() + RETRY_DELAY)

    def send_mail(self) -> dict:
        """Deliver the outbox messages that are due (SMTP settings read each round)."""
        try:
            return mailer.deliver_due(self.services, mailer.MailSettings.from_env())
        except Exception:  # noqa: BLE001 - the job must survive a failing round
            log.exception("sending mail failed")
            return {}

"""The work timer workers do once a month, on the 1st (company time): last month's
supervision report, and the general manager's office's review of last month's closed
cases, due by the 10th (003).

Each job is done once per month however many workers run: a worker first inserts the
job's row for the month in `scheduled_run` (its primary key is the job and the month) and
does the work in the same transaction; a second worker's insert fails on the key (on
PostgreSQL it waits for the first to commit) and it skips the job. A month missed while
every worker was down is made up at start-up (and by the safety sweep) until the 10th;
a month that ended before the installation's first case is skipped.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import ledger, monthly_report, periods, runtime, specs
from .i18n import COMPANY_ZONE, N_
from .models import ProcessInstance, ScheduledRun
from .services import Services

log = logging.getLogger("engine.monthly_work")

REPORT_JOB = "monthly_report"
REVIEW_JOB = "monthly_review"
REVIEW_PROCESS = "monthly_review"
REVIEW_PROCESS_NAME = N_("Monthly review of closed cases")  # as its diagram names it
CATCH_UP_UNTIL_DAY = 10
REVIEW_DUE = (10, 18)      # by the 10th, end of the working day
REVIEW_REMINDER = (8, 9)   # two days before, at the start of the day
MAX_LISTED = monthly_report.MAX_LISTED


def due_period(now: dt.datetime) -> Optional[str]:
    """The month whose work is due now: last month, from the 1st to the 10th."""
    if now.astimezone(COMPANY_ZONE).day > CATCH_UP_UNTIL_DAY:
        return None
    return periods.previous(periods.of(now))


def review_ticket(period: str) -> str:
    return f"MR-{period}"


def run_due(services: Services, worker: Optional[str] = None) -> list[str]:
    """Do the monthly jobs that are due and not yet done; returns the jobs this worker
    did (the others were done already, or by another worker)."""
    period = due_period(services.now())
    if period is None or not _had_cases_by_end_of(services, period):
        return []
    return run_period(services, period, worker)


def run_period(services: Services, period: str, worker: Optional[str] = None) -> list[str]:
    """Do a month's jobs not done yet (an operator makes up a month missed past the 10th
    with `flask --app web monthly-work --period YYYY-MM`)."""
    done = []
    if _once(services, REPORT_JOB, period, worker,
             lambda session: monthly_report.generate(services, session, period, worker)):
        done.append(REPORT_JOB)
    with services.db.read() as session:
        deployed = specs.latest_version(session, REVIEW_PROCESS) is not None
    if deployed and _once(services, REVIEW_JOB, period, worker,
                          lambda session: start_review(services, session, period)):
        done.append(REVIEW_JOB)
    return done


def _had_cases_by_end_of(services: Services, period: str) -> bool:
    """A month before the first case of an installation has nothing to report or review
    (a new installation does not open a review of the month before it existed)."""
    _start, end = periods.bounds(period)
    with services.db.read() as session:
        return session.execute(select(ProcessInstance.id).where(
            ProcessInstance.created_at < end).limit(1)).first() is not None


def _once(services: Services, job: str, period: str, worker: Optional[str],
          work: Callable[[Session], object]) -> bool:
    with services.db.read() as session:
        if session.get(ScheduledRun, (job, period)) is not None:
            return False
    try:
        with services.db.write() as session:
            session.add(ScheduledRun(job=job, period=period, worker=worker,
                                     ran_at=services.now()))
            session.flush()  # the key is taken here, or the insert fails
            result = work(session)
    except IntegrityError:
        with services.db.read() as session:
            taken = session.get(ScheduledRun, (job, period)) is not None
        if not taken:  # the work itself broke a constraint: not another worker's doing
            raise
        log.info("%s of %s was done by another worker", job, period)
        return False
    log.info("%s of %s done by %s", job, period, worker)
    services.due_changed(getattr(result, "next_due_at", None))
    return True


def review_data(session: Session, period: str) -> dict:
    """What the review task shows: the month's closed complaints and those still without
    a responsibility and penalty decision, and its deadlines."""
    start, end = periods.bounds(period)
    closed = ledger.closed_cases(session, start, end)
    missing = [c.ticket for c in closed if not c.decided]
    lines = [" · ".join(filter(None, (
        c.ticket, c.path, c.department, c.closed_at.astimezone(COMPANY_ZONE).date().isoformat(),
        None if c.decided else "✗"))) for c in closed[:MAX_LISTED]]
    if len(closed) > MAX_LISTED:
        lines.append(f"… +{len(closed) - MAX_LISTED}")
    due_day, due_hour = REVIEW_DUE
    remind_day, remind_hour = REVIEW_REMINDER
    return {
        "period": period,
        "closed_count": len(closed),
        "missing_count": len(missing),
        "closed_summary": "\n".join(lines) or "-",
        "missing_summary": ", ".join(missing[:MAX_LISTED]) + (
            f" … +{len(missing) - MAX_LISTED}" if len(missing) > MAX_LISTED else "") or "-",
        "review_due_at": periods.day_of_following(period, due_day, due_hour).isoformat(),
        "review_remind_at": periods.day_of_following(period, remind_day,
                                                     remind_hour).isoformat(),
    }


def start_review(services: Services, session: Session, period: str):
    ticket = review_ticket(period)
    return runtime.start_by_engine(services, session, REVIEW_PROCESS, ticket,
                                   review_data(session, period), "monthly_review_started",
                                   period=period)


def done(session: Session, period: str) -> dict[str, ScheduledRun]:
    return {row.job: row for row in session.execute(
        select(ScheduledRun).where(ScheduledRun.period == period)).scalars()}

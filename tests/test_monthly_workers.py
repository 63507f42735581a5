"""The monthly work with two timer workers running as separate processes on a real
PostgreSQL database, their clocks moved to just before midnight on 30 November (company
time): on the 1st, last month's report and the review task are made once, by one of them.

Run: `COMPLAINTS_TEST_DATABASE=postgresql pytest tests/test_monthly_workers.py`.
"""
from __future__ import annotations

import datetime as dt
import os
import time
import uuid

import pytest
from sqlalchemy import func, select

from engine.i18n import COMPANY_ZONE
from engine.models import HumanTask, MonthlyReport, OutboxMessage, ProcessInstance, ScheduledRun
from support.monthly import close_general_case
from support.workers import start_worker, stop_worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("COMPLAINTS_TEST_DATABASE") != "postgresql",
                       reason="needs real PostgreSQL timer workers "
                              "(set COMPLAINTS_TEST_DATABASE=postgresql)"),
]

MIDNIGHT = dt.datetime(2026, 12, 1, tzinfo=COMPANY_ZONE)


def counts(services) -> dict[str, int]:
    with services.db.read() as session:
        def count(query) -> int:
            return session.execute(query).scalar_one()
        return {
            "reports": count(select(func.count()).select_from(MonthlyReport)),
            "runs": count(select(func.count()).select_from(ScheduledRun)),
            "reviews": count(select(func.count()).where(
                ProcessInstance.ticket == "MR-2026-11")),
            "review_tasks": count(select(func.count()).where(HumanTask.name == "review_month")),
            "report_mails": count(select(func.count()).where(
                OutboxMessage.subject.like("Monthly complaint report 2026-11%"))),
        }


def test_two_workers_make_the_report_and_review_once_on_the_first(database_url, services,
                                                                  desk, tmp_path):
    close_general_case(desk)  # November has a closed case to review
    names = [f"monthly-a-{uuid.uuid4().hex[:6]}", f"monthly-b-{uuid.uuid4().hex[:6]}"]
    logs = [tmp_path / f"{name}.log" for name in names]
    at = (MIDNIGHT - dt.timedelta(seconds=4)).astimezone(dt.timezone.utc)
    workers = [start_worker(database_url, name, log, "--sweep-seconds", "600", at=at)
               for name, log in zip(names, logs)]
    try:
        deadline = time.monotonic() + 90
        while counts(services)["runs"] < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # the other worker's attempt ends meanwhile
    finally:
        codes = [stop_worker(w) for w in workers]
    output = "\n".join(f"--- {log.name}\n{log.read_text()}" for log in logs)
    assert codes == [0, 0], output
    assert counts(services) == {"reports": 1, "runs": 2, "reviews": 1, "review_tasks": 1,
                                "report_mails": 1}, output
    with services.db.read() as session:
        runs = session.execute(select(ScheduledRun)).scalars().all()
        report = session.execute(select(MonthlyReport)).scalar_one()
    assert {run.worker for run in runs} <= set(names)
    assert report.period == "2026-11" and report.figures["figures"]["complaints_closed"] == 1
    # Made on the 1st, by the cron job (the workers started on the 30th, nothing was due).
    assert MIDNIGHT <= report.generated_at < MIDNIGHT + dt.timedelta(minutes=1)
    assert "monthly work failed" not in output
    # Both ran the job on the 1st; each part was done by one of them.
    assert all('Running job "TimerScheduler.run_monthly' in log.read_text() for log in logs)
    for job in ("monthly_report", "monthly_review"):
        assert output.count(f"{job} of 2026-11 done by") == 1, output

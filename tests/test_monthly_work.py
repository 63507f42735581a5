"""On the 1st of each month: last month's supervision report (stored, CSV and PDF, mailed to
supervision) and the general manager's office's review of last month's closed cases, due
by the 10th and escalated like any other deadline. Done once however often, or from how
many threads, the job is run."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
import zlib

from sqlalchemy import select

from engine import ledger, monthly_report, monthly_work, statistics, tasks, timers
from engine.i18n import COMPANY_ZONE
from engine.mailer import MailSettings, deliver_due
from engine.models import HumanTask, MonthlyReport, Notification, ProcessInstance, ScheduledRun
from support.monthly import close_general_case, first_of_next_month, propose
from support.smtp import SmtpServer, free_port


def november_with_ledger(desk, services, actors) -> tuple[str, str]:
    """Two general cases closed in November 2026; a fine approved for the first."""
    first, second = close_general_case(desk), close_general_case(desk)
    fine = propose(services, actors["director"], kind="fine", ticket=first, person="handler",
                   amount="150", reason="Verification a day late.")
    ledger.decide(services, actors["gm"], fine.id, approve=True)
    return first, second


def review_tasks(services) -> list[HumanTask]:
    with services.db.read() as session:
        return list(session.execute(select(HumanTask).where(
            HumanTask.name == "review_month")).scalars())


def test_the_first_brings_last_months_report_and_review_once(desk, services, actors, clock):
    first, second = november_with_ledger(desk, services, actors)
    assert monthly_work.run_due(services, "early") == []  # still November

    clock.now = first_of_next_month(clock.now)
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda n=n: results.append(
        monthly_work.run_due(services, f"thread-{n}"))) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.append(monthly_work.run_due(services, "late"))
    assert sorted(job for done in results for job in done) == ["monthly_report",
                                                               "monthly_review"]

    with services.db.read() as session:
        [report] = session.execute(select(MonthlyReport)).scalars().all()
        runs = session.execute(select(ScheduledRun)).scalars().all()
        review = session.execute(select(ProcessInstance).where(
            ProcessInstance.ticket == "MR-2026-11")).scalar_one()
    assert report.period == "2026-11" and {r.job for r in runs} == {"monthly_report",
                                                                  "monthly_review"}
    figures = report.figures
    assert figures["figures"]["complaints_closed"] == 2
    assert figures["figures"]["complaints_received"] == 2
    assert figures["decisions"] == {"closed": 2, "missing": 1, "missing_tickets": [second]}
    [entry] = figures["ledger"]["approved"]
    assert (entry["person"], entry["kind"], entry["ticket"], entry["amount"]) == (
        "handler", "fine", first, "-150.00")

    [task] = review_tasks(services)
    assert (task.role, task.state, task.instance_id) == ("gm_office", "ready", review.id)
    assert task.due_at.astimezone(COMPANY_ZONE) == dt.datetime(2026, 12, 10, 18,
                                                                tzinfo=COMPANY_ZONE)
    with services.db.read() as session:
        inbox = tasks.worklist(session, actors["gm"])
    assert [t.ticket for t in inbox if t.name == "review_month"] == ["MR-2026-11"]
    data = desk.case("MR-2026-11", as_user="gm").data
    assert first in data["closed_summary"] and second in data["closed_summary"]
    assert data["missing_summary"] == second


def test_the_report_downloads_as_csv_and_pdf(desk, services, actors, clock):
    first, _second = november_with_ledger(desk, services, actors)
    clock.now = first_of_next_month(clock.now)
    monthly_work.run_due(services, "worker")
    with services.db.read() as session:
        report = monthly_report.report(session, actors["auditor"], "2026-11")
    rows = list(csv.DictReader(io.StringIO(report.csv)))
    figures = {r["name"]: r["value"] for r in rows if r["section"] == "figure"}
    assert figures["complaints_closed"] == "2" and figures["closed_without_decision"] == "1"
    [fine] = [r for r in rows if r["section"] == "ledger"]
    assert (fine["ticket"], fine["kind"], fine["amount_yuan"]) == (first, "fine", "-150.00")

    # `make test` installs fonts-noto-cjk: the Chinese PDF embeds its Simplified face.
    assert monthly_report.cjk_font() is not None, "no Chinese font: install fonts-noto-cjk"
    pdf = monthly_report.to_pdf(report.figures, "zh")
    assert pdf.startswith(b"%PDF-") and b"NotoSansCJKSC" in pdf
    # Without it the PDF still comes, in English with the built-in font, and says so.
    bare = monthly_report.to_pdf(report.figures, "zh", find_font=lambda: None)
    assert bare.startswith(b"%PDF-") and b"Helvetica" in bare and b"NotoSans" not in bare
    assert "No font with Chinese characters was found" in page_text(bare)
    assert "Monthly complaint report 2026-11" in page_text(bare)


def test_the_reports_figures_are_the_statistics_page_figures_of_the_month(
        desk, services, actors, clock):
    first, _second = november_with_ledger(desk, services, actors)
    late = desk.file()  # still open on the 1st, its verification overdue
    desk.run_until(late, "verify")
    clock.now = first_of_next_month(clock.now)
    monthly_work.run_due(services, "worker")
    with services.db.read() as session:
        report = monthly_report.report(session, actors["auditor"], "2026-11")
        month = statistics.compute(session, statistics.Period.month(2026, 11),
                                   calendar=services.calendars.for_team(None),
                                   as_of=clock.now)
    figures = report.figures["figures"]
    assert (figures["complaints_received"], figures["complaints_closed"]) == (
        month.received, month.by_status["closed"]) == (3, 2)
    assert (figures["steps_with_deadline"], figures["steps_on_time"]) == (
        month.on_time.decided, month.on_time.on_time)
    assert month.on_time.late >= 1  # the open verification counts, late
    assert figures["on_time_rate"] == round(month.on_time.rate, 4)
    assert figures["handling_median_hours"] == round(month.handling.median_hours, 2)
    assert (figures["follow_up_visits"], figures["repeat_complaints"]) == (
        month.satisfaction.visits, month.repeat_complaints)
    rows = {r["name"]: r["value"] for r in csv.DictReader(io.StringIO(report.csv))
            if r["section"] == "figure"}
    assert rows["steps_with_deadline"] == str(month.on_time.decided)
    assert rows["repeat_complaints"] == str(month.repeat_complaints)
    text = page_text(monthly_report.to_pdf(report.figures, "en", find_font=lambda: None))
    assert "Complaints registered from 2026-11-01 to 2026-11-30" in text
    assert "Steps with a deadline, done or overdue" in text
    assert "Repeat complaints (same customer within 90 days)" in text


def page_text(pdf: bytes) -> str:
    """The text drawn with the built-in fonts: the page streams, inflated."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    return "".join(zlib.decompress(s).decode("latin-1") for s in streams
                   if s[:1] == b"x").replace("\\", "")


def test_the_report_is_mailed_to_supervision(desk, services, actors, clock):
    november_with_ledger(desk, services, actors)
    clock.now = first_of_next_month(clock.now)
    sink = SmtpServer(free_port()).start()
    try:
        monthly_work.run_due(services, "worker")
        settings = MailSettings(host="127.0.0.1", port=sink.port, timeout=5)
        deliver_due(services, settings)
        reports = [(to, m) for _f, [to], m in sink.messages
                   if "Monthly complaint report 2026-11" in m["Subject"]]
    finally:
        sink.stop()
    assert [to for to, _m in reports] == ["auditor@example.com"]
    [(_to, message)] = reports
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "complaints-2026-11.csv"
    assert "complaints_closed" in attachment.get_content()
    assert "Complaints closed: 2" in message.get_body(("plain",)).get_content()


def test_a_review_not_done_by_the_tenth_is_escalated(desk, services, actors, clock):
    close_general_case(desk)
    clock.now = first_of_next_month(clock.now)
    monthly_work.run_due(services, "worker")
    [task] = review_tasks(services)

    def notices() -> list[tuple[str, str]]:
        with services.db.read() as session:
            return [(n.kind, n.recipient_role or n.recipient_user_id) for n in session.execute(
                select(Notification).join(ProcessInstance,
                                          Notification.instance_id == ProcessInstance.id)
                .where(ProcessInstance.ticket == "MR-2026-11",
                       Notification.kind.like("sla_%")).order_by(Notification.id)).scalars()]

    clock.now = dt.datetime(2026, 12, 9, 12, tzinfo=COMPANY_ZONE)
    timers.fire_due(services, "worker")
    assert notices() == [("sla_reminder", "gm_office")]
    clock.now = dt.datetime(2026, 12, 10, 18, 1, tzinfo=COMPANY_ZONE)
    timers.fire_due(services, "worker")
    assert notices()[1:] == [("sla_breach", "gm_office")]
    clock.now = dt.datetime(2026, 12, 15, 9, tzinfo=COMPANY_ZONE)
    timers.fire_due(services, "worker")
    assert notices()[2:] == [("sla_escalation", "leadership")]
    [task] = review_tasks(services)
    assert task.breached_at and task.escalated_at and task.state == "ready"

    desk_result = desk.do("MR-2026-11", "review_month", user="gm",
                          review_outcome="follow_up", review_note="Two cases still open.")
    assert (desk_result["status"], desk_result["outcome"]) == ("closed", "review_follow_up")


def test_after_the_tenth_a_missed_month_is_not_made_up(desk, services, clock):
    desk.file()
    clock.now = dt.datetime(2026, 12, 11, 9, tzinfo=COMPANY_ZONE)
    assert monthly_work.run_due(services, "late-start") == []
    clock.now = dt.datetime(2026, 12, 10, 23, tzinfo=COMPANY_ZONE)
    assert monthly_work.run_due(services, "catching-up") == ["monthly_report",
                                                             "monthly_review"]


def test_a_new_installation_reviews_no_month_before_its_first_case(desk, services, clock):
    clock.now = dt.datetime(2026, 12, 2, 9, tzinfo=COMPANY_ZONE)
    desk.file()  # the first case comes in December
    assert monthly_work.run_due(services, "worker") == []


def test_an_operator_makes_up_a_missed_month_from_the_command_line(app, desk, services):
    desk.file()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["monthly-work", "--period", "2026-10"])
    assert first.exit_code == 0 and "monthly_report, monthly_review" in first.output
    again = runner.invoke(args=["monthly-work", "--period", "2026-10"])
    assert "already done" in again.output
    assert runner.invoke(args=["monthly-work", "--period", "October"]).exit_code != 0
    with services.db.read() as session:
        assert session.get(MonthlyReport, "2026-10") is not None

"""Supervision statistics: every figure, for months, a quarter and any dates, overall and
per department, checked against figures the test computes itself from the plain rows of
a generated data set (complaints worked through the engine, and hundreds more written
straight into the tables); each figure's list of cases; the page and the API."""
from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from engine import case_facts, inquiries, runtime, statistics, statistics_cases
from engine.calendars import get_calendar
from engine.cases import CaseQuery, search
from engine.i18n import COMPANY_ZONE
from engine.models import ProcessInstance
from engine.statistics import Period, Scope
from support.api import matches, openapi_document, token as bearer
from support.statistics_data import expected, generate, read_rows

CHINESE = "zh-CN,zh;q=0.9"
UTC = dt.timezone.utc


def approx(value):
    return pytest.approx(value, abs=1e-6) if value is not None else None


@pytest.fixture
def data_set(services, desk, clock, actors):
    """Four complaints worked through the engine from 25 November 2026, and 400 generated
    ones (with 40 improvement projects) from September to 20 November and in December."""
    first = desk.file(channel="hotline")  # Wang Lei: closed after the follow-up visit
    desk.run_until(first, "follow_up")
    clock.advance(hours=3)
    desk.do(first, "follow_up", satisfaction="fairly_satisfied", satisfaction_score=3)
    second = desk.file()  # Wang Lei again: a repeat, who rejects the first solution
    desk.run_until(second, "customer_decision")
    desk.do(second, "customer_decision", customer_response="reject",
            customer_comment="Not enough")
    desk.run_until(second, "customer_decision")
    third = desk.file(customer_name="Li Ming", customer_phone="13700000003",
                      customer_email="li.ming@example.com", order_number="SO-3")
    desk.run_until(third, "classify")
    desk.do(third, "classify", urgency="urgent")
    desk.run_until(third, "verify")
    clock.advance(days=3)  # the verification is now overdue
    fourth = desk.file(customer_name="Zhou Qi", customer_phone="13700000004",
                       customer_email=None, order_number=None)
    runtime.cancel(services, actors["supervisor"], fourth, "Filed twice by mistake")
    generate(services, 300, dt.datetime(2026, 9, 1, tzinfo=UTC),
             dt.datetime(2026, 11, 20, tzinfo=UTC), improvements=30)
    generate(services, 100, dt.datetime(2026, 12, 1, tzinfo=UTC),
             dt.datetime(2026, 12, 31, tzinfo=UTC), seed=15, improvements=10, prefix="T")
    return {"closed": first, "repeat": second, "late": third, "cancelled": fourth}


def check(services, clock, first: dt.date, last: dt.date, department=None) -> dict:
    """compute() for the period equals what the test computes from the rows."""
    calendar = get_calendar("cn-standard")
    with services.db.read() as session:
        got = statistics.compute(session, Period(first, last), department,
                                 calendar=calendar, as_of=clock.now)
    want = expected(read_rows(services), first, last, department, calendar, clock.now,
                    COMPANY_ZONE)
    assert got.received == want["received"]
    assert got.by_type == want["by_type"]
    assert got.by_channel == want["by_channel"]
    assert got.by_path == want["by_path"]
    assert got.by_status == want["by_status"]
    assert got.by_urgency == want["by_urgency"]
    assert got.satisfaction.levels == want["satisfaction_levels"]
    assert got.satisfaction.visits == sum(want["satisfaction_levels"].values())
    assert got.satisfaction.scored == want["scored"]
    assert got.satisfaction.mean_score == approx(want["mean_score"])
    assert {s.key: (s.decided, s.on_time) for s in got.on_time_by_step} == want["steps"]
    assert {t.key: (t.decided, t.on_time) for t in got.on_time_by_team} == want["teams"]
    assert (got.on_time.decided, got.on_time.on_time) == want["on_time"]
    count, median, p90 = want["handling"]
    assert got.handling.count == count
    assert got.handling.median_hours == approx(median)
    assert got.handling.p90_hours == approx(p90)
    assert got.repeat_complaints == len(want["repeat_ids"])
    assert (got.improvements_open, got.improvements_done) == want["improvements"]
    assert got.rejections == want["rejections"]
    assert got.rejected_complaints == len(want["rejected"])
    assert got.escalated_steps == want["escalated_steps"]
    assert got.escalated_complaints == len(want["escalated_ids"])
    assert got.breached_steps == want["breached_steps"]
    assert got.rejection_escalations == want["rejection_escalations"]
    for row in got.by_department:
        assert (row.on_time.decided, row.on_time.on_time) == \
            want["dept_on_time"].get(row.department, (0, 0))
        count, median, p90 = want["dept_handling"].get(row.department, (0, None, None))
        assert (row.handling.count, row.handling.median_hours, row.handling.p90_hours) == \
            (count, approx(median), approx(p90))
    assert sum(row.received for row in got.by_department) == got.received
    assert sum(row.repeats for row in got.by_department) == got.repeat_complaints
    return want


PERIODS = [
    (dt.date(2026, 9, 1), dt.date(2026, 9, 30)),
    (dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
    (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),    # the fourth quarter
    (dt.date(2026, 11, 20), dt.date(2026, 12, 5)),    # any dates
]


def test_every_figure_matches_the_rows_for_months_a_quarter_and_any_dates(
        services, clock, data_set):
    for first, last in PERIODS:
        want = check(services, clock, first, last)
        assert want["received"] > 20
    # The quarter is Period.quarter's.
    assert Period.quarter(2026, 4) == Period(*PERIODS[2])
    assert Period.month(2026, 2) == Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def test_figures_of_one_department(services, clock, data_set):
    for first, last in PERIODS[1:3]:
        want = check(services, clock, first, last, department="quality")
        assert want["received"] > 10


def test_what_the_engine_worked_shows_in_the_figures(services, clock, data_set):
    """Hand-checked facts about the four complaints worked through the engine, alone in
    their days."""
    with services.db.read() as session:
        figures = statistics.compute(session, Period(dt.date(2026, 11, 21),
                                                     dt.date(2026, 11, 30)),
                                     calendar=get_calendar("cn-standard"), as_of=clock.now)
    assert figures.received == 4
    assert figures.by_status == {"open": 2, "closed": 1, "cancelled": 1}
    assert figures.by_urgency == {"urgent": 1, "normal": 2, "": 1}
    assert figures.by_channel == {"hotline": 4}
    assert figures.satisfaction.levels == {"fairly_satisfied": 1}
    assert figures.satisfaction.mean_score == 3
    assert figures.repeat_complaints == 1          # Wang Lei's second complaint
    assert figures.rejections == 1 and figures.rejected_complaints == 1
    assert figures.handling.count == 1
    assert figures.handling.median_hours == figures.handling.p90_hours > 0
    verify = next(s for s in figures.on_time_by_step if s.key == "verify")
    assert verify.late == 1                        # Li Ming's, open past its deadline
    assert [d.department for d in figures.by_department] == ["", "quality"]


def test_overseas_support_cases_are_not_counted_as_complaints(services, clock, data_set):
    period = Period(dt.date(2026, 11, 21), dt.date(2026, 11, 30))

    def received() -> tuple[int, int]:
        with services.db.read() as session:
            figures = statistics.compute(session, period, calendar=get_calendar("cn-standard"),
                                         as_of=clock.now)
        return figures.received, figures.improvements_open + figures.improvements_done
    before = received()
    clock.now = dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.timezone.utc)
    inquiries.file_inquiry(services, {
        "customer_name": "Jane Miller", "customer_email": "jane.miller@example.com",
        "product": "Air purifier AP-300", "question": "Which filter fits the AP-300?"})
    assert received() == before


FACTS = (ProcessInstance.ticket, ProcessInstance.urgency, ProcessInstance.satisfaction,
         ProcessInstance.satisfaction_score, ProcessInstance.rejections,
         ProcessInstance.repeat_complaint)


def test_the_columns_the_steps_keep_are_what_the_audit_trail_and_the_cases_before_say(
        services, data_set):
    """What each step wrote on the case equals what the audit trail and the complaints
    registered before give, computed afresh as the migration computed it."""
    def facts() -> dict:
        with services.db.read() as session:
            return {row[0]: tuple(row[1:]) for row in session.execute(select(*FACTS))}
    kept = facts()
    assert kept[data_set["closed"]] == ("normal", "fairly_satisfied", 3, 0, False)
    assert kept[data_set["repeat"]][3:] == (1, True)
    assert kept[data_set["late"]][:1] == ("urgent",)
    with services.db.write() as session:
        case_facts.refill(session.connection())
    assert facts() == kept


def cases_behind(services, clock, figure: str, first, last, department=None) -> set[int]:
    with services.db.read() as session:
        condition = statistics_cases.cases_condition(
            session, figure, Scope.of_days(first, last, department), clock.now)
        return set(session.execute(select(ProcessInstance.id).where(
            condition, ProcessInstance.status_token_hash.is_not(None),
            *Scope.of_days(first, last, department).conditions())).scalars())


def test_each_figure_lists_exactly_the_cases_it_counts(services, clock, data_set):
    first, last = PERIODS[2]
    want = expected(read_rows(services), first, last, None, get_calendar("cn-standard"),
                    clock.now, COMPANY_ZONE)
    assert cases_behind(services, clock, "repeat", first, last) == want["repeat_ids"]
    assert cases_behind(services, clock, "rejected", first, last) == want["rejected"]
    assert cases_behind(services, clock, "escalated", first, last) == want["escalated_ids"]
    assert cases_behind(services, clock, "late", first, last) == want["late_ids"]
    for name, ids in want["late_step_ids"].items():
        assert cases_behind(services, clock, f"late_step:{name}", first, last) == ids
    for value, ids in want["urgency_ids"].items():
        assert cases_behind(services, clock, f"urgency:{value}", first, last) == ids
    for value, ids in want["satisfaction_ids"].items():
        assert cases_behind(services, clock, f"satisfaction:{value}", first, last) == ids
    with services.db.read() as session:
        with pytest.raises(statistics.ServiceError):
            statistics_cases.cases_condition(session, "nonsense:1", Scope(), clock.now)


def test_the_case_list_shows_the_cases_behind_a_figure(services, clock, data_set, actors,
                                                       visitor):
    ticket = data_set["repeat"]
    first, last = dt.date(2026, 11, 21), dt.date(2026, 11, 30)
    query = CaseQuery(since=first, until=last, figure="repeat")
    with services.db.read() as session:
        shown = [r.ticket for r in search(session, actors["auditor"], query, now=clock.now).rows]
    assert ticket in shown and data_set["closed"] not in shown
    page = visitor().sign_in("auditor").get(
        f"/cases?since={first}&until={last}&figure=repeat").get_data(as_text=True)
    assert ticket in page and data_set["closed"] not in page
    assert "Repeat complaints" in page  # the page says which figure it lists


# --------------------------------------------------------------------------- the page

def links_of(page: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(r'href="(/cases\?[^"]*)"', page)]


def test_the_page_shows_the_figures_with_charts_and_links(services, clock, data_set,
                                                          visitor):
    director = visitor().sign_in("director")
    response = director.get("/statistics?period=month&month=2026-11")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    with services.db.read() as session:
        figures = statistics.compute(session, Period.month(2026, 11),
                                     calendar=services.calendars.company(),
                                     as_of=clock.now)
    assert 'id="figure-received"><a href="' in page
    assert re.search(rf'id="figure-received"><a [^>]*>{figures.received}</a>', page)
    assert 'id="chart-data"' in page and "charts/charts.js" in page
    for canvas in ("chart-type", "chart-channel", "chart-urgency", "chart-steps"):
        assert f'id="{canvas}"' in page
    # Every figure's link opens the case list, listing cases.
    links = links_of(page)
    assert any("figure=repeat" in link for link in links)
    assert any("figure=late_step:verify" in link for link in links)
    for link in links[:12]:
        listed = director.get(link)
        assert listed.status_code == 200, link
    # The received count's list holds that many complaints (one page of 50).
    received = next(link for link in links if link.endswith("kind=complaint"))
    assert received.startswith("/cases?since=2026-11-01&until=2026-11-30")


def test_the_page_in_chinese_and_its_period_pickers(visitor, data_set):
    page = visitor(accept_language=CHINESE).sign_in("auditor").get(
        "/statistics?period=quarter&quarter=2026-Q4").get_data(as_text=True)
    assert "统计" in page and "环节按时率" in page and "2026-10-01" in page
    assert "Steps on time" not in page
    auditor = visitor().sign_in("auditor")
    ranged = auditor.get("/statistics?period=range&from=2026-11-20&to=2026-12-05")
    assert ranged.status_code == 200 and "2026-11-20" in ranged.get_data(as_text=True)
    for bad in ("period=range&from=2026-12-05&to=2026-11-20", "period=month&month=2026-13",
                "period=quarter&quarter=2026-Q5", "period=range&from=yesterday&to=2026-11-01"):
        refused = auditor.get(f"/statistics?{bad}")
        assert refused.status_code == 400, bad
        assert 'role="alert"' in refused.get_data(as_text=True)


def test_the_api_gives_the_same_figures(services, clock, data_set, client):
    token = bearer(client, "auditor")
    response = client.get("/api/v1/statistics?from=2026-11-01&to=2026-11-30",
                          headers=token)
    assert response.status_code == 200
    with services.db.read() as session:
        figures = statistics.compute(session, Period.month(2026, 11),
                                     calendar=services.calendars.company(),
                                     as_of=clock.now)
    assert response.get_json() == json.loads(json.dumps(figures.as_dict()))
    matches(openapi_document(client), "Statistics", response.get_json())
    quality = client.get("/api/v1/statistics?from=2026-11-01&to=2026-11-30&department=quality",
                         headers=token).get_json()
    assert quality["department"] == "quality" and quality["received"] < figures.received
    for bad in ("", "?from=2026-11-01", "?from=2026-11-31&to=2026-12-01",
                "?from=2026-12-01&to=2026-11-01", "?from=1990-01-01&to=2026-01-01",
                "?from=2026-11-01&to=2026-11-30&department=nowhere"):
        refused = client.get(f"/api/v1/statistics{bad}", headers=token)
        assert refused.status_code == 400, bad
        assert refused.get_json()["error"]
    handler = client.get("/api/v1/statistics?from=2026-11-01&to=2026-11-30",
                         headers=bearer(client, "handler"))
    assert handler.status_code == 403

"""The overseas support manager's figures (004): two months of inquiries and technical
problems worked by four agents through the real processes under a moved clock, and the
first responses, resolution, satisfaction, cases per agent and the proposed customer
service star checked against figures computed here from what was generated; and the page,
for the support manager only."""
from __future__ import annotations

import datetime as dt
import statistics as pystats
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest

from engine import support_metrics
from engine.statistics import Period
from support.people import add_user
from support.support_data import DEADLINE_MINUTES, NEW_YORK, generate

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the company's months
DAYS = [dt.date(2026, 10, d) for d in (13, 14, 15, 16, 19, 20, 21, 22)] + \
       [dt.date(2026, 11, d) for d in (10, 12, 13, 16, 17, 18, 19, 20)]


def rounded(value):
    return None if value is None else round(value, 9)


def expected(done, month: str, names: dict) -> dict:
    """The figures of the month, from the generated records alone."""
    cases = [d for d in done if d.received.astimezone(SHANGHAI).strftime("%Y-%m") == month]

    def figures(group) -> dict:
        responded = [d for d in group if d.agent]
        ratings = Counter(d.rating for d in group if d.rating)
        satisfied = ratings["satisfied"] + ratings["fairly_satisfied"]
        return {
            "cases": len(group), "responses": len(responded),
            "median": rounded(pystats.median(d.delay_minutes / 60 for d in responded)
                              if responded else None),
            # Everything waiting for its first response is long past its deadline now.
            "due": len(group),
            "on_time": sum(1 for d in responded
                           if d.delay_minutes <= DEADLINE_MINUTES[d.kind]),
            "resolved": sum(d.resolved for d in group),
            "ratings": dict(ratings),
            "satisfied": rounded(satisfied / sum(ratings.values()) if ratings else None)}

    by_agent = defaultdict(list)
    for d in cases:
        if d.agent:
            by_agent[d.agent].append(d)
    agents = {name: figures(group) for name, group in by_agent.items()}
    eligible = [a for a in agents if agents[a]["cases"] >= 5]

    def rank(agent):
        f = agents[agent]
        return (f["satisfied"] is None, -(f["satisfied"] or 0),
                -(f["on_time"] / f["due"]), -f["cases"], f["median"], names[agent])
    return {"team": figures(cases), "agents": agents,
            "star": min(eligible, key=rank) if eligible else None}


def shown(figures: support_metrics.Figures) -> dict:
    return {"cases": figures.cases, "responses": figures.responses,
            "median": rounded(figures.median_response_hours),
            "due": figures.first_response.decided, "on_time": figures.first_response.on_time,
            "resolved": figures.resolved, "ratings": dict(figures.satisfaction.levels),
            "satisfied": rounded(figures.satisfaction.satisfied_rate)}


@pytest.fixture
def agents(services, actors):
    return [actors["support"], actors["supportlead"],
            add_user(services, "kim.park", ["support_agent"], "overseas_support"),
            add_user(services, "ola.berg", ["support_agent"], "overseas_support")]


def test_the_months_figures_per_agent_and_team_and_the_star(services, clock, agents):
    done = generate(services, clock, agents, DAYS, weights=(4, 3, 3, 1))
    clock.now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=NEW_YORK)
    names = {a.username: a.display_name for a in agents}
    stars = []
    for month in ("2026-10", "2026-11"):
        want = expected(done, month, names)
        got = support_metrics.for_month(services, Period.month(2026, int(month[-2:])))
        assert shown(got.team) == want["team"], month
        assert {a.username: shown(a.figures) for a in got.agents} == want["agents"], month
        assert [a.name for a in got.agents] == sorted(a.name for a in got.agents)
        assert (got.star.username if got.star else None) == want["star"], month
        stars.append(want["star"])
    # The data set is worth its salt: late and timely responses, ratings, a star.
    assert {d.delay_minutes <= DEADLINE_MINUTES[d.kind] for d in done if d.agent} == {
        True, False}
    assert {d.rating for d in done} >= {"satisfied", "not_satisfied"}
    assert any(stars)


def test_an_empty_month_has_no_figures_and_no_star(services):
    got = support_metrics.for_month(services, Period.month(2026, 1))
    assert got.team.cases == 0 and got.agents == [] and got.star is None
    assert got.team.resolution_rate is None and got.team.median_response_hours is None


def test_only_the_support_manager_and_admins_see_the_page(services, clock, agents, visitor):
    generate(services, clock, agents[:1], DAYS[-3:], seed=7)
    clock.now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=NEW_YORK)
    page = visitor("supportlead").get("/support/metrics?month=2026-11")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Customer service star: proposal" in text
    assert 'id="star-name">Emma Weber (overseas support agent)<' in text
    assert 'href="/support/metrics"' in text  # in the navigation
    chinese = visitor("supportlead", accept_language="zh-CN").get(
        "/support/metrics?month=2026-11").get_data(as_text=True)
    assert "客户服务之星：推荐人选" in chinese and "客户支持指标" in chinese
    assert visitor("admin").get("/support/metrics").status_code == 200
    assert visitor("support").get("/support/metrics").status_code == 403
    assert visitor("auditor").get("/support/metrics").status_code == 403
    anonymous = visitor().get("/support/metrics")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert visitor("supportlead").get("/support/metrics?month=13-2026").status_code == 400

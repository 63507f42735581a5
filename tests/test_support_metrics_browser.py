"""In real Chromium: the support manager's metrics page for a month of generated support
work, in English and Chinese, on a desktop and at phone width (375 px), where the agents'
table becomes cards; nothing overflows, nothing fails to load, no serious accessibility
violation, and a screenshot of each is kept for review."""
from __future__ import annotations

import datetime as dt

import pytest

from support.accessibility import assert_accessible
from support.browser import shot, sign_in, watch_for_trouble
from support.clock import Clock
from support.people import demo_actors
from support.server import desk_for
from support.support_data import generate

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

DAYS = [dt.date(2026, 11, d) for d in (10, 12, 13, 16, 17, 18, 19, 20)]
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def stocked(server):
    """November 2026 of the support team in the served database."""
    services, _desk = desk_for(server)
    actors = demo_actors(services)
    clock = Clock()
    try:
        generate(services, clock, [actors["support"], actors["supportlead"]], DAYS,
                 weights=(2, 1))
    finally:
        clock.stop()
        services.db.dispose()


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_the_support_metrics_page_on_desktop_and_phone(browser, server, stocked, locale):
    page = sign_in(browser, server, "supportlead", locale=locale)
    trouble = watch_for_trouble(page)
    for width, size in (("desktop", {"width": 1280, "height": 900}), ("375", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{server.url}/support/metrics?month=2026-11")
        assert page.locator("main h1").inner_text() == (
            "客户支持指标" if locale == "zh-CN" else "Support metrics")
        assert page.locator("#star-name").count() == 1
        assert page.locator("#table-agents tbody tr[data-agent]").count() == 2
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than a {width} screen"
        if size is PHONE:
            # A row of the agents' table is a card: its cells stacked, each with its label.
            cell = page.locator("#table-agents tbody tr[data-agent] td").first
            assert cell.evaluate("td => getComputedStyle(td).display") == "grid"
        assert_accessible(page, f"support metrics, {locale}, {width}")
        shot(page, f"support-metrics-{locale[:2]}-{width}")
    assert not trouble, trouble

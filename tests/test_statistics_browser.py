"""In real Chromium: the statistics page draws its charts with the bundled Chart.js under
the page's CSP, a click on a bar opens the cases behind it, and screenshots in English
and Chinese."""
from __future__ import annotations

import datetime as dt

import pytest

from engine.i18n import COMPANY_ZONE
from support.browser import shot, sign_in, watch_for_trouble
from support.server import desk_for
from support.statistics_data import generate

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

CANVASES = ("chart-type", "chart-channel", "chart-urgency", "chart-path", "chart-satisfaction",
            "chart-steps", "chart-teams", "chart-departments")


def _this_quarter() -> tuple[dt.datetime, str]:
    today = dt.datetime.now(COMPANY_ZONE)
    quarter = (today.month - 1) // 3 + 1
    first = dt.datetime(today.year, 3 * quarter - 2, 1, tzinfo=COMPANY_ZONE)
    return first, f"{today.year}-Q{quarter}"


@pytest.fixture
def stocked(server):
    """200 complaints of this quarter in the served database."""
    services, _desk = desk_for(server)
    first, quarter = _this_quarter()
    generate(services, 200, first.astimezone(dt.timezone.utc),
             dt.datetime.now(dt.timezone.utc), improvements=10)
    services.db.dispose()
    return quarter


def open_statistics(page, server, quarter: str) -> list[str]:
    problems = watch_for_trouble(page)
    page.goto(f"{server.url}/statistics?period=quarter&quarter={quarter}")
    for canvas in CANVASES:
        page.wait_for_selector(f"#{canvas}[data-rendered='true']")
    return problems


def test_the_charts_draw_under_the_csp_and_a_bar_opens_its_cases(browser, server, stocked):
    page = sign_in(browser, server, "auditor")
    problems = open_statistics(page, server, stocked)
    assert page.evaluate("window.StatisticsCharts.length") == len(CANVASES)
    assert problems == []
    # A bar of "by type" opens the cases of that type.
    page.locator("#chart-type").scroll_into_view_if_needed()
    box = page.locator("#chart-type").bounding_box()
    target = page.evaluate("""() => {
        const spec = JSON.parse(document.getElementById('chart-data').textContent)
            .find((s) => s.canvas === 'chart-type');
        const index = spec.links.findIndex((link) => link);
        const chart = window.StatisticsCharts.find((c) => c.canvas.id === 'chart-type');
        const bar = chart.getDatasetMeta(0).data[index];
        return {x: bar.x, y: (bar.y + bar.base) / 2};
    }""")
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.wait_for_url("**/cases?**type=**")
    assert page.locator("a.ticket").count() > 0
    assert problems == []


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_screenshots_of_the_statistics_page(browser, server, stocked, locale):
    page = sign_in(browser, server, "director", locale=locale)
    open_statistics(page, server, stocked)
    heading = page.locator("h1").inner_text()
    assert heading == ("统计" if locale == "zh-CN" else "Statistics")
    shot(page, f"statistics-{locale[:2]}")

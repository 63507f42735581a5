"""In real Chromium, in English and Chinese, at desktop and phone (375 px) width: the
pages customers and staff use all day pass axe-core's WCAG 2.1 A/AA checks with nothing
serious or critical, and each is kept as a screenshot. Along the way: the inbox shows
urgency in words, the phone case page leads with the current step, the register form's
time control shows the reader's zone, and the private link is copied with a visible
confirmation."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import runtime
from support.accessibility import assert_accessible
from support.browser import new_page, shot, sign_in
from support.desk import RECORD
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

LOCALES = ("en-GB", "zh-CN")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}


def check(page, name: str, locale: str) -> None:
    """The page as it stands, at both widths: no serious or critical finding, and a
    screenshot of each."""
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        assert_accessible(page, f"{name} ({locale}, {width})")
        shot(page, f"a11y-{name}-{locale}-{width}")
    page.set_viewport_size(WIDTHS["desktop"])


@pytest.fixture
def cases(server):
    """A complaint waiting to be dispatched whose dispatch is overdue, one waiting for its
    record to be checked, one at the head's approval, and the status link of one."""
    services, desk = desk_for(server)
    try:
        earlier = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)).isoformat()
        overdue = desk.file(customer_name="Zhou Xun", product="Kettle K-1 with a long model "
                            "name that has to wrap on a phone", channel="counter",
                            received_at=earlier)
        desk.run_until(overdue, "dispatch")
        approve = desk.file(customer_name="Chen Jie", product="Rice cooker RC-5")
        desk.run_until(approve, "approve_solution")
        own_words = {k: RECORD[k] for k in ("customer_name", "customer_email", "product",
                                             "description", "demand")}
        filed = runtime.file_complaint(services, own_words, staff=None)
        yield {"overdue": overdue, "approve": approve, "online": filed.ticket,
               "token": filed.status_token, "desk": desk}
    finally:
        services.db.dispose()


@pytest.mark.parametrize("locale", LOCALES)
def test_customer_pages_pass_the_accessibility_checks(browser, server, cases, locale):
    customer = new_page(browser, locale)
    customer.context.grant_permissions(["clipboard-read", "clipboard-write"])
    customer.goto(f"{server.url}/complaint")
    check(customer, "intake", locale)

    customer.fill("#f-customer_name", "Wang Lei")
    customer.fill("#f-customer_email", "wang.lei@example.com")
    customer.fill("#f-product", "Air purifier AP-300")
    customer.fill("#f-demand", "Replace the unit")
    customer.fill("#f-description", "The fan grinds and stops after three days.")
    customer.click("form.form button[type=submit]")
    customer.wait_for_selector("#status-link")
    link = customer.get_attribute("#status-link", "href")
    button = customer.locator("button[data-copy=status-link]")
    button.click()
    confirmation = "Copied" if locale == "en-GB" else "已复制"
    customer.locator("#status-link-status", has_text=confirmation).wait_for()
    assert customer.evaluate("navigator.clipboard.readText()") == link
    # The long link stays inside its card on a phone.
    customer.set_viewport_size(WIDTHS["phone"])
    card = customer.locator(".card").bounding_box()
    anchor = customer.locator("#status-link").bounding_box()
    assert anchor["x"] + anchor["width"] <= card["x"] + card["width"] + 0.5
    check(customer, "filed", locale)

    customer.goto(f"{server.url}/status/{cases['token']}")
    check(customer, "status", locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_staff_pages_pass_the_accessibility_checks(browser, server, cases, locale):
    desk = cases["desk"]
    agent = sign_in(browser, server, "agent", locale)
    row = agent.locator("#inbox-results tr", has_text=cases["overdue"])
    words = "overdue by" if locale == "en-GB" else "已逾期"
    assert words in row.inner_text()
    assert "Zhou Xun" in row.inner_text() and "Kettle K-1" in row.inner_text()
    check(agent, "inbox-agent", locale)

    task = desk.task(cases["overdue"], "dispatch")
    agent.goto(f"{server.url}/tasks/{task.id}")
    check(agent, "task-dispatch", locale)

    agent.goto(f"{server.url}/cases/{cases['overdue']}")
    agent.set_viewport_size(WIDTHS["phone"])
    # On a phone the current step and its button come before the record and history.
    now = agent.locator("#steps-heading").bounding_box()
    assert now["y"] < agent.locator("#record-heading").bounding_box()["y"]
    assert now["y"] < agent.locator("#history-heading").bounding_box()["y"]
    check(agent, "case", locale)

    agent.goto(f"{server.url}/register")
    zone = agent.locator("#f-received_at-help").inner_text()
    assert "Asia/Shanghai (UTC+08:00)" in zone
    assert agent.get_attribute("#f-received_at", "type") == "datetime-local"
    check(agent, "register", locale)

    head = sign_in(browser, server, "head", locale)
    check(head, "inbox-head", locale)
    approval = desk.task(cases["approve"], "approve_solution")
    head.goto(f"{server.url}/tasks/{approval.id}")
    check(head, "task-approve-solution", locale)

    # A petition about the case the head's department handles, started from its form.
    head.goto(f"{server.url}/cases/{cases['approve']}")
    head.click("a[href*='/start/petition']")
    assert head.input_value("#f-ticket") == cases["approve"]
    check(head, "start-petition", locale)
    head.goto(f"{server.url}/start")
    check(head, "start", locale)

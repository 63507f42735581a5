"""A customer abroad asks about their order on the public site in a real Chromium and
follows it on their private status page: the confirmation deadline in their browser's
zone, then where the order stands and its delivery date once the support team has
followed it up; the support agent opens the confirmation from the inbox. Each page passes
the accessibility checks and is kept as a screenshot in both languages, on a desktop and
on a phone (375 px)."""
from __future__ import annotations

import re

import pytest

from engine import runtime
from support.accessibility import assert_accessible
from support.browser import shot, sign_in, watch_for_trouble
from support.server import desk_for

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
CUSTOMERS = {
    "en-GB": {"zone": "America/New_York", "title": "Ask about your order",
              "received": "We have received your order question", "state": "Shipped",
              "confirm": "Confirm the order with the customer", "order": "Order"},
    "zh-CN": {"zone": "Asia/Shanghai", "title": "咨询您的订单",
              "received": "我们已收到您的订单咨询", "state": "已发货",
              "confirm": "与客户确认订单", "order": "订单"},
}


def check(page, name: str) -> None:
    """Accessible and shot at both widths."""
    for suffix, size in (("", DESKTOP), ("-375", PHONE)):
        page.set_viewport_size(size)
        assert_accessible(page, f"{name}{suffix}")
        shot(page, f"{name}{suffix}")
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("locale", sorted(CUSTOMERS))
def test_a_customer_asks_about_an_order_and_follows_it_in_their_zone(browser, server, locale):
    words = CUSTOMERS[locale]
    lang = locale.split("-")[0]
    context = browser.new_context(viewport=DESKTOP, locale=locale, timezone_id=words["zone"])
    page = context.new_page()
    trouble = watch_for_trouble(page)
    page.goto(f"{server.url}/order-question")
    assert page.locator("h1").inner_text() == words["title"]
    check(page, f"{lang}-order-form")
    page.fill("[name=customer_name]", "Jane Miller")
    page.fill("[name=customer_email]", "jane.miller@example.com")
    page.fill("[name=order_number]", "SO-2611-0042")
    page.fill("[name=specification]", "Air purifier AP-300, 230 V, EU plug")
    page.fill("[name=quantity]", "120")
    page.fill("[name=delivery_date]", "2026-12-18")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#ticket")
    assert words["received"] in page.inner_text("h1")
    ticket = page.inner_text("#ticket")
    assert re.fullmatch(r"D\d{10}", ticket)
    page.click("#status-link")
    page.wait_for_selector("#stage-heading")
    # Before the confirmation: its deadline, in the customer's zone.
    assert words["zone"] in page.inner_text(".next-deadline")
    assert "2026-12-18" in page.inner_text(".order-progress")

    # The agent finds the confirmation in the inbox with the order's facts.
    agent = sign_in(browser, server, "support", locale)
    agent.click(f"a:has-text('{words['confirm']}')")
    assert agent.inner_text("h1") == words["confirm"]
    assert "SO-2611-0042" in agent.inner_text("main")
    # An order, not a complaint, wherever the page names the case.
    assert agent.inner_text("#case-heading") == f"{words['order']} {ticket}"
    check(agent, f"{lang}-order-confirm-task")
    agent.context.close()

    services, desk = desk_for(server)
    try:
        for name, data in [
                ("confirm_order", {"order_confirmed": "yes", "quantity": 120,
                                   "specification": "Air purifier AP-300, 230 V, EU plug",
                                   "delivery_date": "2026-12-22"}),
                ("follow_up_order", {"order_state": "shipped", "customer_informed": True,
                                     "production_status": "All 120 units packed."})]:
            runtime.complete_task(services, desk.actors["support"], desk.task(ticket, name).id,
                                  data)
    finally:
        services.db.dispose()
    page.reload()
    assert page.inner_text(".order-progress__state") == words["state"]
    assert page.inner_text(".order-progress__date") == "2026-12-22"
    check(page, f"{lang}-order-status")
    assert trouble == []
    context.close()

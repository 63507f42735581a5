"""A customer abroad asks a question on the public site in a real Chromium and follows it:
the promised answer time is shown in their browser's zone and language, on a desktop and
on a phone; the support agent opens the first response from the inbox."""
from __future__ import annotations

import re

import pytest

from engine import runtime
from support.browser import shot, sign_in, watch_for_trouble
from support.server import desk_for

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
CUSTOMERS = {
    "en-GB": {"zone": "America/New_York", "title": "Ask us a question",
              "promise": "We will answer by", "received": "We have received your question",
              "task": "Confirm receipt to the customer", "inquiry": "Inquiry"},
    "zh-CN": {"zone": "Asia/Shanghai", "title": "向我们咨询", "promise": "我们将在",
              "received": "我们已收到您的咨询", "task": "向客户确认收到咨询", "inquiry": "咨询"},
}


def both_widths(page, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    shot(page, name)
    page.set_viewport_size(PHONE)
    shot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("locale", sorted(CUSTOMERS))
def test_a_customer_abroad_asks_and_sees_when_we_answer_in_their_zone(browser, server, locale):
    words = CUSTOMERS[locale]
    context = browser.new_context(viewport=DESKTOP, locale=locale, timezone_id=words["zone"])
    page = context.new_page()
    trouble = watch_for_trouble(page)
    page.goto(f"{server.url}/inquiry")
    assert page.locator("h1").inner_text() == words["title"]
    both_widths(page, f"{locale.split('-')[0]}-inquiry-form")
    page.fill("[name=customer_name]", "Jane Miller")
    page.fill("[name=customer_email]", "jane.miller@example.com")
    page.fill("[name=question]", "Which replacement filter fits the AP-300?")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#ticket")
    assert words["received"] in page.inner_text("h1")
    ticket = page.inner_text("#ticket")
    assert re.fullmatch(r"Q\d{10}", ticket)
    page.click("#status-link")
    page.wait_for_selector("#stage-heading")
    # Before the first response: its deadline, in the customer's zone.
    assert words["zone"] in page.inner_text(".next-deadline")

    agent = sign_in(browser, server, "support", locale)
    agent.click(f"a:has-text('{words['task']}')")
    assert agent.inner_text("h1") == words["task"]
    assert "Which replacement filter fits the AP-300?" in agent.inner_text("main")
    assert agent.inner_text("#case-heading") == f"{words['inquiry']} {ticket}"
    both_widths(agent, f"{locale.split('-')[0]}-inquiry-first-response-task")
    agent.context.close()

    services, desk = desk_for(server)
    try:
        task = desk.task(ticket, "first_response")
        runtime.complete_task(services, desk.actors["support"], task.id, {
            "acknowledgement": "Thank you, we have your question.", "promised_hours": 24})
    finally:
        services.db.dispose()
    page.reload()
    promise = page.inner_text(".promised-answer")
    assert promise.startswith(words["promise"]) and words["zone"] in promise
    assert "Thank you, we have your question." in page.inner_text(".inquiry-answer")
    both_widths(page, f"{locale.split('-')[0]}-inquiry-status")
    assert trouble == []
    context.close()

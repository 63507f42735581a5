"""A customer abroad reports a technical problem in a real Chromium and follows it in
their own zone and language; the agent's remote-help page shows the earlier solution of
the same model. Screenshots of the public form, the status page and the staff page in
both languages."""
from __future__ import annotations

import re

import pytest

from engine import runtime
from support.browser import shot, sign_in, watch_for_trouble
from support.server import desk_for

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
CUSTOMERS = {
    "en-GB": {"zone": "America/New_York", "title": "Report a technical problem",
              "received": "We have received your technical problem",
              "knowledge": "Earlier solutions of similar problems"},
    "zh-CN": {"zone": "Asia/Shanghai", "title": "报告技术问题",
              "received": "我们已收到您的技术问题", "knowledge": "类似问题的既往解决方案"},
}


def report(page, server, model: str) -> str:
    page.goto(f"{server.url}/technical-problem")
    page.fill("[name=customer_name]", "Jane Miller")
    page.fill("[name=customer_email]", "jane.miller@example.com")
    page.fill("[name=model]", model)
    page.fill("[name=description]", "The fan stops after ten minutes.")
    page.check("[name=region][value=metro]")
    page.check("[name=urgency][value=critical]")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#ticket")
    return page.inner_text("#ticket")


@pytest.mark.parametrize("locale", sorted(CUSTOMERS))
def test_a_customer_reports_a_problem_and_the_agent_sees_the_earlier_solution(
        browser, server, locale):
    words = CUSTOMERS[locale]
    lang = locale.split("-")[0]
    context = browser.new_context(viewport=DESKTOP, locale=locale, timezone_id=words["zone"])
    page = context.new_page()
    trouble = watch_for_trouble(page)
    page.goto(f"{server.url}/technical-problem")
    assert page.locator("h1").inner_text() == words["title"]
    shot(page, f"{lang}-technical-form")
    model = f"Air purifier AP-300 {lang}"
    first = report(page, server, model)
    assert words["received"] in page.inner_text("h1")
    assert re.fullmatch(r"T\d{10}", first)
    page.click("#status-link")
    page.wait_for_selector("#stage-heading")
    assert words["zone"] in page.inner_text(".next-deadline")

    services, desk = desk_for(server)
    try:
        for name, data in [
                ("remote_help", {"remote_notes": "Cleaned the inlet by video call.",
                                 "remote_result": "solved"}),
                ("explain_solution", {"cause": "Dust in the fan bearing.",
                                      "solution": "Cleaned the bearing; fitted a pre-filter."})]:
            runtime.complete_task(services, desk.actors["support"],
                                  desk.task(first, name).id, data)
    finally:
        services.db.dispose()
    page.reload()
    assert "Dust in the fan bearing." in page.inner_text(".technical-solution")
    shot(page, f"{lang}-technical-status")

    second = report(page, server, model)
    services, desk = desk_for(server)
    try:
        task_id = desk.task(second, "remote_help").id
    finally:
        services.db.dispose()
    staff = sign_in(browser, server, "support", locale)
    staff.goto(f"{server.url}/tasks/{task_id}")
    assert words["knowledge"] in staff.inner_text("#knowledge-heading")
    assert "Cleaned the bearing; fitted a pre-filter." in staff.inner_text(".knowledge")
    shot(staff, f"{lang}-technical-remote-help")
    assert trouble == []
    staff.context.close()
    context.close()

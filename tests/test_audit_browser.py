"""In real Chromium, in English and Chinese: compliance verifies the audit trail after an
event was altered behind the application's back and follows the link to it, then
searches all cases with several filters and saves the search."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from support.browser import shot, sign_in, watch_for_trouble
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

ZH = "zh-CN"


@pytest.mark.parametrize("locale", ["en-GB", ZH])
def test_compliance_verifies_the_trail_and_searches_all_cases(browser, server, locale):
    services, desk = desk_for(server)
    try:
        worked = desk.file(customer_name="Wang Lei")
        desk.run_until(worked, "verify")
        counter = desk.file(customer_name="Zhao Li", channel="counter",
                            complaint_type="logistics")
        desk.file(customer_name="Sun Li")
        with services.db.engine.begin() as conn:
            target = conn.execute(text(
                "SELECT e.id FROM audit_event e JOIN process_instance i "
                "ON i.id = e.instance_id WHERE i.ticket = :t AND e.kind = 'task_completed' "
                "ORDER BY e.id LIMIT 1"), {"t": worked}).scalar_one()
            conn.execute(text("UPDATE audit_event SET actor = 'intruder' WHERE id = :id"),
                         {"id": target})
    finally:
        services.db.dispose()

    page = sign_in(browser, server, "auditor", locale=locale)
    trouble = watch_for_trouble(page)
    page.click("nav.mainnav a[href='/audit']")
    page.click("#verify-chains")
    page.wait_for_selector("#chain-result")
    explanation = page.inner_text("#broken-explanation")
    assert str(target) in explanation
    assert ("写入后被修改" in explanation) if locale == ZH else \
        "was changed after it was written" in explanation
    page.click("#first-broken-event")
    page.wait_for_selector(f"#event-{target}")
    assert "intruder" in page.inner_text(f"#event-{target}")
    page.goto(f"{server.url}/audit/verify")
    shot(page, f"audit-{locale[:2]}")

    page.goto(f"{server.url}/cases")
    page.select_option("#channel", "counter")
    page.select_option("#status", "open")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url("**/cases?*channel=counter*")
    listed = page.locator("a.ticket").all_inner_texts()
    assert listed == [counter]
    total = page.inner_text("#case-total")
    assert total.endswith("1")
    page.fill("#search-name", "柜台投诉" if locale == ZH else "Counter complaints")
    page.click(".saved-searches__save button[type=submit]")
    page.wait_for_selector(".saved-searches__list")
    page.goto(f"{server.url}/cases")
    page.click(".saved-searches__list a")
    page.wait_for_url("**/cases?*channel=counter*")
    assert page.locator("a.ticket").all_inner_texts() == [counter]
    shot(page, f"search-{locale[:2]}")
    assert not trouble, trouble

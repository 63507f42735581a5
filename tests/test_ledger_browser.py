"""In real Chromium: the ledger as the general manager's office and a director use it. A
director proposes a reward on the form; the office approves it with one click on the list,
sees each person's month added up and last month's report, in English and in Chinese."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import ledger, monthly_report, periods
from support.browser import shot, sign_in, watch_for_trouble
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def test_the_gm_office_decides_proposals_on_the_ledger_page(browser, server):
    services, desk = desk_for(server)
    try:
        first, second = desk.file(), desk.file(customer_name="Zhao Li",
                                               customer_phone="13900001111")
        director, gm = desk.actors["director"], desk.actors["gm"]
        fine = ledger.propose(services, director, {
            "kind": "fine", "ticket": first, "person": "handler", "amount": "200",
            "reason": "Confirmed receipt a day late."})
        ledger.decide(services, gm, fine.id, approve=True)
        ledger.propose(services, gm, {
            "kind": "reward_best_team", "department": "logistics",
            "reason": "Every delivery complaint closed on time this month."})
        with services.db.write() as session:
            monthly_report.generate(services, session, periods.previous(
                periods.of(services.now())))
        month = periods.of(services.now())
    finally:
        services.db.dispose()

    page = sign_in(browser, server, "director")
    trouble = watch_for_trouble(page)
    page.goto(f"{server.url}/ledger/new?ticket={second}")
    page.select_option("#kind", "reward_satisfaction")
    page.select_option("#person", "agent")
    page.fill("#points", "5")
    page.fill("#reason", "The customer wrote to thank Li Na for the call.")
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash--success")).to_contain_text("Proposed")
    expect(page.locator("#ledger-entries")).to_contain_text("The customer wrote to thank")
    assert not trouble, trouble

    page = sign_in(browser, server, "gm")
    trouble = watch_for_trouble(page)
    page.click("nav.mainnav >> text=Ledger")
    row = page.locator("#ledger-entries tr", has_text="The customer wrote to thank")
    row.locator("button[value=approve]").click()
    expect(page.locator(".flash--success")).to_have_text("Approved.")
    # The office's own best-team proposal waits for someone else of the office.
    own = page.locator("#ledger-entries tr", has_text="Every delivery complaint")
    expect(own.locator("button")).to_have_count(0)
    page.goto(f"{server.url}/ledger?period={month}")
    expect(page.locator("#ledger-tallies")).to_contain_text("Zhang Wei (quality handler)")
    expect(page.locator("#ledger-tallies")).to_contain_text("-200.00")
    expect(page.locator("#monthly-reports")).to_contain_text("PDF")
    shot(page, "ledger-en")
    assert not trouble, trouble

    page = sign_in(browser, server, "gm", locale="zh-CN")
    trouble = watch_for_trouble(page)
    page.goto(f"{server.url}/ledger?period={month}")
    expect(page.locator("h1")).to_have_text("奖惩")
    expect(page.locator("#ledger-entries")).to_contain_text("经济处罚")
    shot(page, "ledger-zh")
    with page.expect_download() as download:
        page.click("#monthly-reports >> text=PDF")
    assert download.value.suggested_filename.endswith(".pdf")
    assert not trouble, trouble

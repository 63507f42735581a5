"""Real-browser journeys: headless Debian Chromium driven by Playwright against the served
application. Screenshots of each key page land in test-artifacts/ for review."""
from __future__ import annotations

import re

import pytest

from support.browser import shot, sign_in
from support.major_path import file_major, to_plan, work
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def approve_in_browser(page, base_url: str, ticket: str, title: str, field: str,
                       artefact: str) -> None:
    page.goto(f"{base_url}/")
    row = page.locator("tr", has_text=ticket).filter(has_text=title)
    row.get_by_role("link", name=re.compile("^Open")).click()
    page.wait_for_selector(f"input[name={field}][value=approve]")
    shot(page, artefact)
    page.check(f"input[name={field}][value=approve]")
    page.click("form.form button[type=submit]")
    page.wait_for_selector(".flash")
    assert "Done: " in page.inner_text("main")


def test_dual_approval_of_a_capa_plan_by_two_people(browser, server):
    services, desk = desk_for(server)
    try:
        ticket = file_major(desk)
        to_plan(desk, ticket)
        work(desk, ticket, "capa_plan")
        director = sign_in(browser, server, "director")
        shot(director, "inbox-director")
        approve_in_browser(director, server.url, ticket, "Approve the CAPA plan", "director_plan_decision",
                           "task-approve-plan-director")
        assert sorted(t.name for t in desk.case(ticket).open_tasks) == ["approve_plan_gm"]
        gm = sign_in(browser, server, "gm")
        approve_in_browser(gm, server.url, ticket, "Approve the CAPA plan", "gm_plan_decision",
                           "task-approve-plan-gm")
        assert [t.name for t in desk.case(ticket).open_tasks] == ["present_capa_plan"]
        gm.goto(f"{server.url}/cases/{ticket}")
        assert "Present the CAPA plan to the customer" in gm.inner_text("main")
        shot(gm, "case-major-after-approvals")
    finally:
        services.db.dispose()


def test_a_customer_files_online_and_answers_staff_questions(browser, server):
    customer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    customer.goto(f"{server.url}/complaint")
    customer.fill("#f-customer_name", "Wang Lei")
    customer.fill("#f-customer_email", "wang.lei@example.com")
    customer.fill("#f-product", "Air purifier AP-300")
    customer.fill("#f-demand", "Replace the unit")
    shot(customer, "public-intake")
    customer.click("form.form button[type=submit]")  # the description is missing
    assert "This field is required." in customer.inner_text("main")
    assert customer.input_value("#f-customer_name") == "Wang Lei"  # input kept
    customer.fill("#f-description", "The fan grinds and stops after three days.")
    customer.click("form.form button[type=submit]")
    ticket = customer.inner_text("#ticket")
    customer.click("#status-link")
    assert "reviewing it" in customer.inner_text("main")
    shot(customer, "status-page")

    agent = sign_in(browser, server, "agent")
    assert ticket in agent.inner_text("main")
    shot(agent, "inbox-agent")
    row = agent.locator("tr", has_text=ticket).filter(has_text="Check the record is complete")
    row.get_by_role("link", name=re.compile("^Open")).click()
    agent.check("input[name=record_complete][value=false]")
    agent.fill("textarea[name=missing_facts]", "Your order number, please.")
    shot(agent, "task-check-record")
    agent.click("form.form button[type=submit]")
    agent.wait_for_selector(".flash")

    customer.reload()
    assert "We need a few more facts from you" in customer.inner_text("main")
    customer.check("input[name=supply_decision][value=supplied]")
    customer.fill("textarea[name=supplied_facts]", "SO-2611-0042")
    customer.click("form.form button[type=submit]")
    assert "Thank you, we have your answer." in customer.inner_text("main")
    agent.goto(f"{server.url}/cases/{ticket}")
    assert "You supplied more facts" not in agent.inner_text("main")  # staff words, not the customer's
    assert "Check the record is complete" in agent.inner_text("main")
    shot(agent, "case-page")

"""In real Chromium: the customer and an agent write to each other, and htmx swaps only the
conversation (no page reload) under our Content-Security-Policy."""
from __future__ import annotations

import re

import pytest

from engine import runtime
from support.desk import RECORD
from support.browser import shot, sign_in, watch_for_trouble
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def mark_page(page) -> None:
    page.evaluate("window.notReloaded = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.notReloaded === true")


def test_customer_and_agent_write_to_each_other_without_page_reloads(browser, server):
    services, _desk = desk_for(server)
    try:
        filed = runtime.file_complaint(services, {**RECORD, "channel": "hotline"},
                                       staff=_desk.actors["agent"])
    finally:
        services.db.dispose()
    ticket = filed.ticket

    customer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    customer_problems = watch_for_trouble(customer)
    customer.goto(f"{server.url}/status/{filed.status_token}")
    mark_page(customer)
    customer.fill("#message-body", "Is there any news?")
    customer.click("#customer-messages button[type=submit]")
    customer.wait_for_selector("#customer-messages .note--customer_message")
    assert "we have your message" in customer.inner_text("#customer-messages")
    assert still_same_page(customer)

    agent = sign_in(browser, server, "agent")
    agent_problems = watch_for_trouble(agent)
    agent.goto(f"{server.url}/cases/{ticket}")
    mark_page(agent)
    assert "Is there any news?" in agent.inner_text("#case-notes")
    agent.select_option("#reply-template", "solution_in_progress")
    # A function, not an expression: Playwright polls an expression by evaluating a string
    # in the page, which the page's content security policy refuses.
    agent.wait_for_function(
        "() => document.querySelector('#reply-body').value.startsWith('Dear Wang Lei,')")
    assert ticket in agent.input_value("#reply-body")
    agent.click("#case-notes form:has(input[value=reply]) button[type=submit]")
    agent.wait_for_selector("#case-notes .note--reply")
    agent.fill("#comment-body", "Customer asked twice; keep an eye on it.")
    agent.click("#case-notes form:has(input[value=comment]) button[type=submit]")
    agent.wait_for_selector("#case-notes .note--comment")
    assert "Internal comment added." in agent.inner_text("#case-notes")
    assert still_same_page(agent)
    shot(agent, "case-notes")

    customer.reload()
    conversation = customer.inner_text("#customer-messages")
    assert "the department responsible is now preparing a solution" in conversation
    assert "keep an eye on it" not in customer.content()
    shot(customer, "status-messages")
    assert customer_problems == [] and agent_problems == []


def test_a_refused_update_in_place_says_so_and_keeps_the_text(browser, server):
    services, _desk = desk_for(server)
    try:
        ticket = runtime.file_complaint(services, {**RECORD, "channel": "hotline"},
                                        staff=_desk.actors["agent"]).ticket
    finally:
        services.db.dispose()
    agent = sign_in(browser, server, "agent")
    agent.goto(f"{server.url}/cases/{ticket}")
    mark_page(agent)
    # The form's CSRF token has gone stale (e.g. the server's key changed overnight).
    agent.evaluate("document.querySelectorAll('#case-notes input[name=csrf_token]')"
                   ".forEach(input => { input.value = 'stale'; })")
    agent.fill("#comment-body", "Customer asked twice.")
    agent.click("#case-notes form:has(input[value=comment]) button[type=submit]")
    agent.wait_for_selector("#update-failed")
    assert "could not be updated" in agent.inner_text("#update-failed")
    assert agent.input_value("#comment-body") == "Customer asked twice."
    assert still_same_page(agent)


def test_an_expired_session_leads_to_the_sign_in_page_not_into_a_section(browser, server):
    agent = sign_in(browser, server, "agent")
    agent.goto(f"{server.url}/")
    agent.context.clear_cookies()  # signed out elsewhere, or the session expired
    agent.locator("#queue-summary a").first.click()  # an in-place update of the inbox
    agent.wait_for_url(re.compile(r"/login\?next="))
    assert agent.locator("#username").count() == 1
    assert agent.locator("#inbox-content").count() == 0

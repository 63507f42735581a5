"""In real Chromium: the replay page draws the version's diagram with the path the case
took, the step where it is now and the loop counts, and choosing a step on the diagram
finds its passes in the table. The case page shows the same diagram, smaller."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from support.browser import shot, sign_in, watch_for_trouble
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def element(element_id: str, marker: str = "") -> str:
    return f'.replay-canvas .djs-element{"." + marker if marker else ""}[data-element-id="{element_id}"]'


@pytest.fixture
def looped(server):
    """A case whose customer rejected the solution twice, now deciding a third time."""
    services, desk = desk_for(server)
    try:
        ticket = desk.file()
        desk.run_until(ticket, "customer_decision")
        for round_ in (1, 2):
            desk.do(ticket, "customer_decision", customer_response="reject",
                    customer_comment=f"Not enough, round {round_}")
            desk.do(ticket, "propose_solution")
            desk.do(ticket, "approve_solution")
            desk.do(ticket, "present_solution")
    finally:
        services.db.dispose()
    return ticket


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_the_replay_page_draws_the_path_with_loops_and_the_current_step(
        browser, server, looped, locale):
    page = sign_in(browser, server, "auditor", locale)
    trouble = watch_for_trouble(page)
    page.goto(f"{server.url}/cases/{looped}/replay")
    page.wait_for_selector('.replay-canvas[data-drawn="true"]')

    # The path taken is marked, its flows too; the branch not taken is not.
    for done in ("check_record", "dispatch", "verify", "propose_solution", "gw_customer",
                 "flow_rejected", "flow_retry"):
        expect(page.locator(element(done, "wb-completed"))).to_have_count(1)
    for untaken in ("inform_not_true", "execute_solution", "handle_rejections"):
        expect(page.locator(element(untaken, "wb-completed"))).to_have_count(0)
    # Where the case is now, and how often it has been round the loop.
    expect(page.locator(element("customer_decision", "wb-active"))).to_have_count(1)
    for looped_step in ("propose_solution", "approve_solution", "customer_decision"):
        expect(page.locator(f'{element(looped_step)} .rp-loop')).to_have_attribute(
            "data-loops", "3")
    expect(page.locator(f'{element("check_record")} .rp-loop')).to_have_count(0)

    # Choosing a step on the diagram picks out its passes in the table.
    page.locator(element("propose_solution")).click()
    expect(page.locator("#replay-steps tr.is-selected")).to_have_count(3)
    shot(page, "replay-" + locale.split("-")[0])
    assert trouble == []


def test_the_case_page_shows_where_the_case_is_on_the_diagram(browser, server, looped):
    page = sign_in(browser, server, "handler")
    trouble = watch_for_trouble(page)
    page.goto(f"{server.url}/cases/{looped}")
    page.wait_for_selector('#case-position .replay-canvas[data-drawn="true"]')
    expect(page.locator(f'#case-position {element("customer_decision", "wb-active")}')
           ).to_have_count(1)
    page.click("text=Replay: path, times and deadlines")
    page.wait_for_selector('.replay-canvas[data-drawn="true"]')
    assert trouble == []

"""The inbox in a real Chromium with htmx: the filter bar, the queue summary and claim /
release change the list in place, without loading the page again."""
from __future__ import annotations

import pytest

from support.browser import shot, sign_in
from support.server import desk_for

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]


def test_filter_claim_and_release_without_reloading_the_page(browser, server):
    services, desk = desk_for(server)
    try:
        zhou = desk.file(customer_name="Zhou Xun")
        wang = desk.file(customer_name="Wang Lei")
        page = sign_in(browser, server, "agent")
        page.wait_for_function("() => window.htmx !== undefined")
        # Survives only as long as the page is not loaded again.
        page.evaluate("window.sameDocument = true")

        page.fill("#inbox-q", "zhou")
        page.press("#inbox-q", "Enter")
        page.wait_for_url(f"{server.url}/?q=zhou")
        results = page.locator("#inbox-results")
        results.locator("tr", has_text=zhou).wait_for()
        assert results.locator("tr", has_text=wang).count() == 0

        page.locator("tr", has_text=zhou).get_by_role("button", name="Claim").click()
        page.locator("#mine-heading + .table-wrap tr", has_text=zhou).wait_for()
        assert "Claimed: " in page.inner_text("#inbox-content")
        assert page.url == f"{server.url}/?q=zhou"
        shot(page, "inbox-claimed-with-htmx")

        page.locator("tr", has_text=zhou).get_by_role("button", name="Release").click()
        page.wait_for_selector("#inbox-content .flash >> text=Released to the team queue")
        assert desk.task(zhou, "check_record").assignee is None

        page.get_by_role("link", name="Customer service agent").click()
        page.wait_for_url(f"{server.url}/?queue=cs_agent")
        page.locator("#inbox-results tr", has_text=wang).wait_for()
        assert page.evaluate("window.sameDocument") is True
    finally:
        services.db.dispose()

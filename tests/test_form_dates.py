"""Dates entered in forms: the browser's own date-time control, filled and read in the
reader's zone, with a hint that names that zone and agrees with the value shown; the
filed page's private link wraps and has a copy button that needs no JavaScript to be
harmless."""
from __future__ import annotations

import re

from support.pages import CUSTOMER_FORM


def received_at_input(page: str) -> str:
    return re.search(r'<input[^>]*id="f-received_at"[^>]*>', page).group(0)


def hint_of(page: str) -> str:
    return re.search(r'<p class="help" id="f-received_at-help">(.*?)</p>', page, re.S).group(1)


def test_the_receipt_time_is_a_date_time_control_in_the_readers_zone(visitor, desk):
    agent = visitor("agent")
    page = agent.get("/register").get_data(as_text=True)
    field = received_at_input(page)
    # The clock stands at 02:00 UTC: 10:00 in Shanghai, the company's zone.
    assert 'type="datetime-local"' in field and 'value="2026-11-25T10:00"' in field
    assert "Date and time in your time zone, Asia/Shanghai (UTC+08:00)." in hint_of(page)

    agent.client.set_cookie("tz", "Europe/Berlin")
    page = agent.get("/register").get_data(as_text=True)
    assert 'value="2026-11-25T03:00"' in received_at_input(page)
    assert "Europe/Berlin (UTC+01:00)" in hint_of(page)

    done = agent.post("/register", {
        "customer_name": "Zhao Li", "customer_phone": "13900001111", "product": "Fridge F-2",
        "description": "Door seal torn on delivery.", "demand": "Send a new seal",
        "channel": "counter", "received_at": "2026-11-25T02:30",  # as the control posts it
    }, token_from="/register")
    assert done.status_code == 302
    ticket = done.headers["Location"].rstrip("/").split("/")[-1]
    assert desk.case(ticket).record["received_at"] == "2026-11-25T02:30:00+01:00"


def test_a_refused_form_shows_the_time_as_typed(visitor):
    agent = visitor("agent")
    refused = agent.post("/register", {"customer_name": "Zhao Li", "channel": "counter",
                                       "received_at": "2026-11-25T09:30"},
                         token_from="/register")
    assert refused.status_code == 422
    assert 'value="2026-11-25T09:30"' in received_at_input(refused.get_data(as_text=True))


def test_the_filed_page_offers_to_copy_the_private_link(visitor):
    customer = visitor()
    page = customer.post("/complaint", CUSTOMER_FORM, "/complaint")
    page = customer.get(page.headers["Location"]).get_data(as_text=True) \
        if page.status_code == 302 else page.get_data(as_text=True)
    assert re.search(r'<a id="status-link" href="[^"]+" class="long-link">', page)
    # Hidden until the script can make it work; a result is announced beside it.
    button = re.search(r'<button[^>]*data-copy="status-link"[^>]*>', page).group(0)
    assert " hidden" in button and 'data-copied="Copied"' in button
    assert 'id="status-link-status"' in page and 'role="status"' in page

"""In real Chromium, in English and Chinese: someone who forgot their password asks for a
link on the sign-in page, follows it from the mail, sets a new password and signs in
with it; the pages at desktop and phone (375 px) width."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select

from engine.models import OutboxMessage
from support.browser import new_page, shot, watch_for_trouble

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

NEW = "Blue-Kettle-Morning-42"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
CASES = {
    "en-GB": ("handler", "handler@example.com", "Forgot your password?", "Your password is set"),
    "zh-CN": ("head", "head@example.com", "忘记密码？", "您的密码已设置"),
}


def mailed_link(server, address: str) -> str:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            body = connection.execute(select(OutboxMessage.body_text).where(
                OutboxMessage.to_address == address)).scalar_one()
    finally:
        engine.dispose()
    return re.search(r"https?://\S+/password-reset/\S+", body).group(0)


def both_widths(page, name: str) -> None:
    shot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    shot(page, f"{name}-375")
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("locale", list(CASES))
def test_a_forgotten_password_is_set_through_the_mailed_link(browser, server, locale):
    username, address, forgot, done = CASES[locale]
    tag = locale.split("-")[0]
    page = new_page(browser, locale)
    problems = watch_for_trouble(page)
    page.goto(f"{server.url}/login")
    page.click(f"text={forgot}")
    page.wait_for_url(f"{server.url}/password-reset")
    page.fill("#identifier", address if tag == "zh" else username)
    page.click("button[type=submit]")
    # The form posts back to the same address, so wait for the answer rather than the URL.
    expect(page.locator("#forgot-sent")).to_be_visible()
    both_widths(page, f"password-forgot-{tag}")

    link = mailed_link(server, address)
    assert link.startswith(server.url)
    page.goto(link)
    assert username in page.inner_text("main")
    both_widths(page, f"password-reset-{tag}")
    page.fill("#new", NEW)
    page.fill("#confirm", NEW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/login")
    assert done in page.inner_text("main")

    page.fill("#username", username)
    page.fill("#password", NEW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")

    again = new_page(browser, locale)
    again.goto(link)
    expect(again.locator("#link-error")).to_be_visible()
    both_widths(again, f"password-link-used-{tag}")
    assert problems == []

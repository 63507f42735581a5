"""A real browser for journeys through the served application: headless Debian Chromium
driven by Playwright, windows with their own cookies and language, staff signed in
through the login page, screenshots of key pages kept in test-artifacts/ for review."""
from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from support.paths import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# Chromium as root in a sandbox-less container, without the network chatter that a closed
# network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


@contextlib.contextmanager
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield launched
        launched.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def new_page(browser, locale: str = "en-GB"):
    """A fresh browser window (its own cookies) whose language is `locale`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale,
                                  timezone_id="Asia/Shanghai")
    return context.new_page()


def sign_in(browser, server, username: str, locale: str = "en-GB"):
    page = new_page(browser, locale)
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")
    return page


def watch_for_trouble(page) -> list[str]:
    """Script errors and CSP refusals (console errors), and failed requests, collected
    while the page is used. The browser's own favicon probe does not count."""
    problems: list[str] = []

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", on_response)
    return problems

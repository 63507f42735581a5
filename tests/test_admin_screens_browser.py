"""The administration pages and one's own settings as an administrator sees them, in English and Chinese, on a
desktop and at phone width (375 px): nothing overflows the page, nothing fails to load,
and a screenshot of each is kept for review."""
from __future__ import annotations

import pytest

from support.browser import shot, sign_in, watch_for_trouble

pytestmark = pytest.mark.browser

PAGES = {"users": "/admin/users", "user": "/admin/users/handler",
         "departments": "/admin/departments", "calendars": "/admin/calendars",
         "import": "/admin/import", "settings": "/settings",
         "settings-password": "/settings/password"}
PHONE = {"width": 375, "height": 812}


@pytest.mark.parametrize("locale", ["en-GB", "zh-CN"])
def test_the_administration_pages_fit_a_phone_in_both_languages(browser, server, locale):
    page = sign_in(browser, server, "admin", locale=locale)
    trouble = watch_for_trouble(page)
    for name, path in PAGES.items():
        for width, size in (("desktop", None), ("375", PHONE)):
            if size:
                page.set_viewport_size(size)
            else:
                page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{server.url}{path}")
            assert page.locator("main h1").count() == 1, path
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow} px wider than a {width} screen"
            shot(page, f"admin-{name}-{locale[:2]}-{width}")
    assert not trouble, trouble

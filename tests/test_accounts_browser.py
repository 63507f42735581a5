"""In real Chromium: an administrator creates a user, who signs in, changes the password
and is refused the old one; an API token created on the user's page works until it is
revoked. The users page in English and Chinese."""
from __future__ import annotations

import re

import pytest

from support.browser import new_page, shot, sign_in, watch_for_trouble

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser]

FIRST = "Blue-Kettle-Morning-42"
SECOND = "Green-Teapot-Evening-7"


def sign_in_as(browser, server, username: str, password: str):
    page = new_page(browser)
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    return page


def test_an_admin_creates_a_user_who_changes_the_password(browser, server):
    admin = sign_in(browser, server, "admin")
    problems = watch_for_trouble(admin)
    admin.click("nav >> text=Users")
    admin.fill("#username", "meng.qi")
    admin.fill("#display_name", "Meng Qi")
    admin.fill("#email", "meng.qi@example.com")
    admin.check("input[name=roles][value=dept_handler]")
    admin.select_option("#department", "logistics")
    admin.fill("#password", "short")
    admin.fill("#confirm", "short")
    admin.click("button:has-text('Create user')")
    assert "at least 10 characters" in admin.inner_text("#password-error")
    admin.fill("#password", FIRST)
    admin.fill("#confirm", FIRST)
    admin.click("button:has-text('Create user')")
    admin.wait_for_url(f"{server.url}/admin/users/meng.qi")
    assert "User meng.qi created." in admin.inner_text("main")

    admin.fill("#days", "7")
    admin.click("button:has-text('Create API token')")
    token = admin.inner_text("#new-token").strip()
    bearer = {"Authorization": f"Bearer {token}"}
    assert admin.request.get(f"{server.url}/api/v1/tasks", headers=bearer).status == 200
    admin.click("button:has-text('Revoke')")
    assert "The API token is revoked." in admin.inner_text("main")
    assert admin.request.get(f"{server.url}/api/v1/tasks", headers=bearer).status == 401

    admin.goto(f"{server.url}/admin/users")
    assert "Meng Qi" in admin.inner_text("table")
    shot(admin, "admin-users-en")
    assert [p for p in problems if not p.startswith("422 ")] == []  # the short password

    meng = sign_in_as(browser, server, "meng.qi", FIRST)
    meng.wait_for_url(f"{server.url}/")
    meng.click("text=Settings")
    meng.click("text=Change your password")
    meng.fill("#current", FIRST)
    meng.fill("#new", SECOND)
    meng.fill("#confirm", SECOND)
    meng.click("button:has-text('Change password')")
    meng.wait_for_url(f"{server.url}/settings")
    assert "Your password is changed." in meng.inner_text("main")

    refused = sign_in_as(browser, server, "meng.qi", FIRST)
    refused.wait_for_load_state()
    assert re.search(r"/login", refused.url)
    again = sign_in_as(browser, server, "meng.qi", SECOND)
    again.wait_for_url(f"{server.url}/")


def test_the_users_and_departments_pages_in_chinese(browser, server):
    admin = sign_in(browser, server, "admin", locale="zh-CN")
    problems = watch_for_trouble(admin)
    admin.goto(f"{server.url}/admin/users")
    assert "新建用户" in admin.inner_text("main")
    shot(admin, "admin-users-zh")
    admin.goto(f"{server.url}/admin/departments")
    assert "新建部门" in admin.inner_text("main")
    admin.goto(f"{server.url}/admin/calendars")
    admin.fill("#day", "2026-12-24")
    admin.fill("#reason", "公司活动日")
    admin.click("button:has-text('保存'):below(#reason)")
    assert "公司活动日" in admin.inner_text("table >> nth=1")
    shot(admin, "admin-calendars-zh")
    assert problems == []

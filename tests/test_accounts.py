"""Accounts in the browser: one's own password in Settings; users, departments and API
tokens kept by administrators, each change in the audit trail."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine import accounts
from engine.errors import Forbidden, NotFound
from engine.models import AuditEvent
from support.pages import log_in, post, signed_in

NEW = "Blue-Kettle-Morning-42"


def audit_kinds(services, actor: str) -> list[str]:
    with services.db.read() as db:
        return list(db.execute(select(AuditEvent.kind).where(AuditEvent.actor == actor)
                               .order_by(AuditEvent.id)).scalars())


def audit_text(services) -> str:
    with services.db.read() as db:
        return " ".join(str(d) for d in db.execute(select(AuditEvent.detail)).scalars())


def change(client, current: str, new: str, confirm: str | None = None):
    return post(client, "/settings/password", {"current": current, "new": new,
                                               "confirm": new if confirm is None else confirm},
                "/settings/password")


def test_anyone_changes_their_password_and_the_old_one_stops_working(app, services):
    handler = signed_in(app, "handler")
    elsewhere = signed_in(app, "handler")
    assert 'href="/settings/password"' in handler.get("/settings").get_data(as_text=True)
    response = change(handler, "demo", NEW)
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings")
    assert "Your password is changed" in handler.get("/settings").get_data(as_text=True)
    assert handler.get("/").status_code == 200          # this session goes on
    assert elsewhere.get("/").status_code == 302        # the others end
    assert log_in(app.test_client(), "handler", "demo").status_code != 302
    assert log_in(app.test_client(), "handler", NEW).status_code == 302
    assert "password_changed" in audit_kinds(services, "handler")
    assert NEW not in audit_text(services)


@pytest.mark.parametrize(("current", "new", "confirm", "field", "message"), [
    ("wrong", NEW, NEW, "current", "Your current password is not right."),
    ("demo", "short", "short", "new", "at least 10 characters"),
    ("demo", "password1", "password1", "new", "at least 10 characters"),
    ("demo", "administrator", "administrator", "new", "too easy to guess"),
    ("demo", "aaaaaaaaaaaa", "aaaaaaaaaaaa", "new", "too easy to guess"),
    ("demo", "my-handler-pass", "my-handler-pass", "new", "must not contain the user name"),
    ("demo", NEW, NEW + "x", "confirm", "The two passwords differ"),
])
def test_a_weak_or_mistyped_password_is_refused_with_a_reason(
        app, services, current, new, confirm, field, message):
    handler = signed_in(app, "handler")
    response = change(handler, current, new, confirm)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}-error"' in page
    assert log_in(app.test_client(), "handler", "demo").status_code == 302


def test_the_password_page_speaks_chinese(app):
    handler = signed_in(app, "handler")
    post(handler, "/language", {"lang": "zh"}, "/settings")
    page = change(handler, "demo", "short").get_data(as_text=True)
    assert "修改密码" in page and "至少 10 个字符" in page

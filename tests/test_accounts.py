"""Accounts in the browser: one's own password in Settings; users, departments and API
tokens kept by administrators, each change in the audit trail."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

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


# --------------------------------------------------------------------- administrators

def create_form(**changes) -> dict:
    return {"username": "meng.qi", "display_name": "Meng Qi", "email": "meng.qi@example.com",
            "roles": ["dept_handler"], "department": "logistics", "password": NEW,
            "confirm": NEW, **changes}


def test_an_admin_creates_a_user_who_signs_in_and_changes_the_password(app, services):
    admin = signed_in(app, "admin")
    response = post(admin, "/admin/users", create_form(), "/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/users/meng.qi")
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Meng Qi" in listing and "meng.qi@example.com" in listing
    meng = signed_in(app, "meng.qi", NEW)
    assert "Meng Qi" in meng.get("/").get_data(as_text=True)
    assert change(meng, NEW, "Green-Teapot-Evening-7").status_code == 302
    assert log_in(app.test_client(), "meng.qi", NEW).status_code != 302
    assert log_in(app.test_client(), "meng.qi", "Green-Teapot-Evening-7").status_code == 302
    assert audit_kinds(services, "admin")[-1] == "user_created"
    assert NEW not in audit_text(services)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"username": "handler"}, "username", "The user name handler is taken."),
    ({"username": "Bad Name!"}, "username", "Use lower-case letters"),
    ({"roles": ["wizard"]}, "roles", "Unknown role: wizard."),
    ({"roles": []}, "roles", "Give the user at least one role."),
    ({"department": "moon_base"}, "department", "Unknown department: moon_base."),
    ({"email": "not-an-address"}, "email", "Enter an e-mail address"),
    ({"display_name": "  "}, "display_name", "This field is required."),
    ({"password": "demo", "confirm": "demo"}, "password", "at least 10 characters"),
    ({"password": "meng.qi-2026-pw", "confirm": "meng.qi-2026-pw"}, "password",
     "must not contain the user name"),
])
def test_creating_a_user_with_bad_input_says_what_to_fix(app, services, changes, field,
                                                          message):
    admin = signed_in(app, "admin")
    response = post(admin, "/admin/users", create_form(**changes), "/admin/users")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}-error"' in page
    assert "user_created" not in audit_kinds(services, "admin")


def test_an_admin_edits_resets_and_deactivates_a_user(app, services):
    admin = signed_in(app, "admin")
    chen = signed_in(app, "handler2")
    page = "/admin/users/handler2"
    assert "Chen Jie" in admin.get(page).get_data(as_text=True)
    edited = post(admin, page, {"display_name": "Chen Jie", "email": "chen.jie@example.com",
                                "roles": ["dept_handler", "dept_head"],
                                "department": "logistics"}, page)
    assert edited.status_code == 302
    shown = admin.get(page).get_data(as_text=True)
    assert "chen.jie@example.com" in shown and "The changes to handler2 are saved." in shown
    assert "Liu Yang" in admin.get("/admin/departments").get_data(as_text=True)
    assert "Chen Jie" in admin.get("/admin/departments").get_data(as_text=True)
    assert "Department head" in chen.get("/").get_data(as_text=True)  # from the next click

    weak = post(admin, f"{page}/password", {"password": "short", "confirm": "short"}, page)
    assert weak.status_code == 422 and "at least 10 characters" in weak.get_data(as_text=True)
    assert post(admin, f"{page}/password", {"password": NEW, "confirm": NEW},
                page).status_code == 302
    assert log_in(app.test_client(), "handler2", "demo").status_code != 302
    assert log_in(app.test_client(), "handler2", NEW).status_code == 302

    assert post(admin, f"{page}/deactivate", {}, page).status_code == 302
    assert log_in(app.test_client(), "handler2", NEW).status_code != 302
    assert "Deactivated" in admin.get("/admin/users").get_data(as_text=True)
    kinds = audit_kinds(services, "admin")
    assert [k for k in kinds if k in ("user_updated", "password_reset", "user_deactivated")] \
        == ["user_updated", "password_reset", "user_deactivated"]


def test_an_admin_keeps_their_own_admin_role_and_account(app):
    admin = signed_in(app, "admin")
    page = "/admin/users/admin"
    dropped = post(admin, page, {"display_name": "Administrator", "roles": ["compliance"]},
                   page)
    assert dropped.status_code == 422
    assert "cannot take the administrator role" in dropped.get_data(as_text=True)
    itself = post(admin, f"{page}/deactivate", {}, page)
    assert itself.status_code == 422
    assert "cannot deactivate your own account" in itself.get_data(as_text=True)
    assert admin.get("/admin/users/nobody").status_code == 404


def test_departments_are_created_renamed_and_given_a_head(app, services):
    admin = signed_in(app, "admin")
    page = "/admin/departments"
    assert post(admin, page, {"code": "after_sales", "name": "After-sales service"},
                page).status_code == 302
    twice = post(admin, page, {"code": "after_sales", "name": "Again"}, page)
    assert twice.status_code == 422 and "exists already" in twice.get_data(as_text=True)
    bad = post(admin, page, {"code": "After Sales", "name": "x"}, page)
    assert bad.status_code == 422
    assert post(admin, f"{page}/after_sales", {"name": "After-sales", "head": "handler2"},
                page).status_code == 302
    shown = admin.get(page).get_data(as_text=True)
    assert "After-sales" in shown and "Heads: Chen Jie (logistics handler)" in shown
    unknown = post(admin, f"{page}/after_sales", {"name": "After-sales", "head": "ghost"}, page)
    assert unknown.status_code == 422 and "Unknown user: ghost." in unknown.get_data(as_text=True)
    assert post(admin, f"{page}/nowhere", {"name": "x"}, page).status_code == 404
    kinds = audit_kinds(services, "admin")
    assert {"department_created", "department_updated", "department_head_set"} <= set(kinds)


TOKEN = re.compile(r'<code class="token" id="new-token">([^<]+)</code>')


def test_api_tokens_are_created_with_an_expiry_listed_and_revoked(app, services):
    admin = signed_in(app, "admin")
    page = "/admin/users/agent"
    bad = post(admin, f"{page}/tokens", {"days": "9999"}, page)
    assert bad.status_code == 422 and "from 1 to 365" in bad.get_data(as_text=True)
    created = post(admin, f"{page}/tokens", {"days": "7"}, page)
    assert created.status_code == 200
    token = TOKEN.search(created.get_data(as_text=True)).group(1)
    bearer = {"Authorization": f"Bearer {token}"}
    api = app.test_client()
    assert api.get("/api/v1/tasks", headers=bearer).status_code == 200
    key = accounts.token_key(token)
    listing = admin.get(page).get_data(as_text=True)
    assert key in listing and token not in listing
    assert post(admin, f"{page}/tokens/{key}/revoke", {}, page).status_code == 302
    assert api.get("/api/v1/tasks", headers=bearer).status_code == 401
    assert key not in admin.get(page).get_data(as_text=True)
    assert post(admin, f"{page}/tokens/{key}/revoke", {}, page).status_code == 404
    kinds = audit_kinds(services, "admin")
    assert kinds[-2:] == ["api_token_created", "api_token_revoked"]
    assert token not in audit_text(services)


def test_only_the_owner_or_an_admin_revokes_a_token(services, actors):
    admin, agent, handler = actors["admin"], actors["agent"], actors["handler"]
    token, _expires = accounts.create_token(services, admin, "agent", "3")
    key = accounts.token_key(token)
    with pytest.raises(Forbidden, match="only your own"):
        accounts.revoke_token(services, handler, "agent", key)
    with pytest.raises(Forbidden):
        accounts.create_token(services, agent, "agent", "3")
    with pytest.raises(NotFound):
        accounts.revoke_token(services, agent, "agent", "not-a-key")
    accounts.revoke_token(services, agent, "agent", key)   # the owner may
    with services.db.read() as db:
        assert accounts.tokens(db, "agent") == []


def test_everyone_sees_and_revokes_their_own_tokens_in_settings(app, services, actors):
    mine, _expires = accounts.create_token(services, actors["admin"], "agent", "30")
    theirs, _expires = accounts.create_token(services, actors["admin"], "handler", "30")
    agent = signed_in(app, "agent")
    settings = agent.get("/settings").get_data(as_text=True)
    assert accounts.token_key(mine) in settings and accounts.token_key(theirs) not in settings
    other = post(agent, f"/settings/tokens/{accounts.token_key(theirs)}/revoke", {}, "/settings")
    assert other.status_code == 404
    own = post(agent, f"/settings/tokens/{accounts.token_key(mine)}/revoke", {}, "/settings")
    assert own.status_code == 302
    api = app.test_client()
    assert api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {mine}"}).status_code == 401
    assert api.get("/api/v1/tasks",
                   headers={"Authorization": f"Bearer {theirs}"}).status_code == 200
    assert audit_kinds(services, "agent")[-1] == "api_token_revoked"


def test_an_admin_closes_and_opens_days_and_sets_a_department_calendar(app, services):
    admin = signed_in(app, "admin")
    page = "/admin/calendars"
    closed = post(admin, f"{page}/days", {"calendar": "cn-standard", "day": "2026-12-24",
                                          "is_open": "closed", "reason": "Company day"}, page)
    assert closed.status_code == 302
    shown = admin.get(page).get_data(as_text=True)
    assert "2026-12-24" in shown and "Company day" in shown
    assert not services.calendars.for_team("quality").is_working_day(dt.date(2026, 12, 24))
    for form, field, message in [
        ({"calendar": "moon", "day": "2026-12-24", "is_open": "closed"}, "calendar",
         "Choose one of the offered calendars."),
        ({"calendar": "cn-standard", "day": "24.12.2026", "is_open": "closed"}, "day",
         "Choose a date."),
        ({"calendar": "cn-standard", "day": "2026-12-24", "is_open": "maybe"}, "is_open",
         "Choose whether the day is closed or open."),
    ]:
        refused = post(admin, f"{page}/days", form, page)
        assert refused.status_code == 422
        assert message in refused.get_data(as_text=True), field
    assert post(admin, f"{page}/departments/sales", {"calendar": "eu-central"},
                page).status_code == 302
    bad = post(admin, f"{page}/departments/sales", {"calendar": "moon"}, page)
    assert bad.status_code == 422 and "Choose one of the offered" in bad.get_data(as_text=True)
    assert post(admin, f"{page}/departments/nowhere", {"calendar": "eu-central"},
                page).status_code == 404
    assert services.calendars.for_team("sales").name == "eu-central"
    kinds = audit_kinds(services, "admin")
    assert {"calendar_day_set", "department_calendar_set"} <= set(kinds)


def test_a_password_hashed_at_either_cost_signs_in_under_the_other(app, services):
    """The test run hashes at argon2's cheapest; a password stored by an installation at
    full cost still signs in, and the other way round, because a hash carries its own
    parameters. A fresh process hashes at full cost."""
    import subprocess
    import sys

    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST, RFC_9106_LOW_MEMORY

    from engine import directory
    from engine.models import User

    full_cost = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash(NEW)
    with services.db.write() as db:
        db.execute(User.__table__.update().where(User.username == "handler")
                   .values(password_hash=full_cost))
    assert log_in(app.test_client(), "handler", NEW).status_code == 302
    assert log_in(app.test_client(), "handler", "demo").status_code != 302
    try:
        directory.use_password_parameters(RFC_9106_LOW_MEMORY)
        with services.db.read() as db:
            assert directory.authenticate(db, "agent", "demo") is not None  # cheap hash
    finally:
        directory.use_password_parameters(CHEAPEST)
    installed = subprocess.run(
        [sys.executable, "-c", "from engine.directory import hash_password; "
                               "print(hash_password('x'))"],
        capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parent.parent).stdout
    assert installed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")

"""Sessions end when they should: signing out, a new password or deactivation ends
every session of the account, and pages that show a case are never cached."""
from __future__ import annotations

from engine import runtime, sign_in
from engine.directory import find_user
from support.desk import RECORD
from support.pages import post, signed_in


def _saved_cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, cookie: str):
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    return replay


def test_a_cookie_saved_before_signing_out_no_longer_opens_staff_pages(app):
    agent = signed_in(app, "agent")
    saved = _saved_cookie(agent)
    assert _with_cookie(app, saved).get("/").status_code == 200
    assert post(agent, "/logout", {}, "/").status_code == 302
    assert _with_cookie(app, saved).get("/").status_code == 302


def test_signing_out_ends_the_sessions_on_other_devices_too(app):
    laptop, phone = signed_in(app, "agent"), signed_in(app, "agent")
    post(laptop, "/logout", {}, "/")
    assert phone.get("/").status_code == 302


def test_another_account_stays_signed_in(app):
    agent, head = signed_in(app, "agent"), signed_in(app, "head")
    post(agent, "/logout", {}, "/")
    assert head.get("/").status_code == 200


def test_deactivation_ends_the_accounts_sessions_and_tokens(app, services):
    saved = _saved_cookie(signed_in(app, "agent"))
    token = app.test_client().post("/api/v1/token", json={
        "username": "agent", "password": "demo"}).get_json()["token"]
    with services.db.write() as db:
        sign_in.deactivate(db, find_user(db, "agent"))
    assert _with_cookie(app, saved).get("/").status_code == 302
    assert app.test_client().get("/api/v1/tasks", headers={
        "Authorization": f"Bearer {token}"}).status_code == 401


def test_a_new_password_ends_the_accounts_sessions(app, services):
    saved = _saved_cookie(signed_in(app, "agent"))
    client = app.test_client()
    token = client.post("/api/v1/token", json={"username": "agent", "password": "demo"})
    bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}
    assert client.get("/api/v1/tasks", headers=bearer).status_code == 200
    with services.db.write() as db:
        sign_in.change_password(db, find_user(db, "agent"), "a new secret")
    assert _with_cookie(app, saved).get("/").status_code == 302
    assert client.get("/api/v1/tasks", headers=bearer).status_code == 401
    assert signed_in(app, "agent", "a new secret").get("/").status_code == 200


def test_the_operator_commands_change_a_password_and_deactivate(app, services):
    saved = _saved_cookie(signed_in(app, "agent"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["set-password", "agent", "--password", "Changed-by-2026"])
    assert result.exit_code == 0, result.output
    assert _with_cookie(app, saved).get("/").status_code == 302
    assert runner.invoke(args=["deactivate-user", "agent"]).exit_code == 0
    with services.db.read() as db:
        assert not find_user(db, "agent").active


def test_case_status_and_task_pages_are_never_cached(app, services, actors, desk):
    filed = runtime.file_complaint(services, RECORD, staff=actors["agent"])
    agent = signed_in(app, "agent")
    task_id = desk.task(filed.ticket, "check_record").id
    for page in (f"/cases/{filed.ticket}", f"/tasks/{task_id}"):
        response = agent.get(page)
        assert response.status_code == 200, page
        assert response.headers["Cache-Control"] == "no-store", page
    status = app.test_client().get(f"/status/{filed.status_token}")
    assert status.status_code == 200 and status.headers["Cache-Control"] == "no-store"
    assert "no-store" not in app.test_client().get("/complaint").headers.get(
        "Cache-Control", "")
    # Figures counted from the cases are kept out of caches like the cases.
    for reader, page in (("supervisor", "/statistics"), ("supportlead", "/support/metrics")):
        response = signed_in(app, reader).get(page)
        assert response.status_code == 200, page
        assert response.headers["Cache-Control"] == "no-store", page


def test_a_user_name_or_password_no_database_holds_is_a_wrong_sign_in(app, client):
    """A NUL in the name or password is refused like any wrong password, on the page and
    the API, before the database is asked (PostgreSQL would refuse the query)."""
    for username, password in (("agent\x00", "demo"), ("agent", "de\x00mo"),
                               ("\ud800", "demo")):
        response = client.post("/api/v1/token", json={"username": username,
                                                        "password": password})
        assert response.status_code == 401
        if "\ud800" in username:
            continue  # a form post cannot carry a lone surrogate; JSON can
        page = post(client, "/login", {"username": username, "password": password},
                    "/login")
        assert page.status_code != 302 and page.status_code < 500

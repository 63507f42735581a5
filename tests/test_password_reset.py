"""A forgotten password: "Forgot your password?" on the sign-in page mails a link that
sets a new one, once, within an hour; nobody learns from the answer whether an account
exists; an administrator sends a link from the user's page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine import password_reset
from engine.mailer import MailSettings, deliver_due
from engine.models import AuditEvent, OutboxMessage, PasswordResetLink
from support.pages import log_in, post, signed_in
from support.smtp import SmtpServer, free_port

NEW = "Blue-Kettle-Morning-42"
LINK = re.compile(r"https?://\S+/password-reset/([A-Za-z0-9_-]+)")


def ask(client, identifier: str):
    return post(client, "/password-reset", {"identifier": identifier}, "/password-reset")


def mails_to(services, address: str) -> list[OutboxMessage]:
    with services.db.read() as db:
        return list(db.execute(select(OutboxMessage).where(
            OutboxMessage.to_address == address).order_by(OutboxMessage.id)).scalars())


def link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(0)


def path_of(link: str) -> str:
    return "/password-reset/" + LINK.search(link).group(1)


def set_password(client, path: str, new: str = NEW, confirm: str | None = None):
    return post(client, path, {"new": new, "confirm": new if confirm is None else confirm},
                path)


def audit_kinds(services) -> list[str]:
    with services.db.read() as db:
        return list(db.execute(select(AuditEvent.kind).order_by(AuditEvent.id)).scalars())


def test_the_sign_in_page_offers_a_reset(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password-reset"' in page and "Forgot your password?" in page


@pytest.mark.parametrize("identifier", ["handler", "HANDLER@example.com"])
def test_a_link_arrives_by_real_smtp_and_sets_the_password(app, services, identifier):
    smtp = SmtpServer(free_port()).start()
    try:
        response = ask(app.test_client(), identifier)
        assert response.status_code == 200
        assert "a link to set a new password is on its way" in response.get_data(as_text=True)
        settings = MailSettings(host="127.0.0.1", port=smtp.port,
                                sender="Complaint Desk <desk@example.com>", timeout=5)
        assert deliver_due(services, settings)["sent"] == 1
    finally:
        smtp.stop()
    (_sender, recipients, mail), = smtp.messages
    assert recipients == ["handler@example.com"]
    assert mail["Subject"] == "Set your password"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    link = link_in(body)
    assert "one hour" in body and "Zhang Wei" in body

    visitor = app.test_client()
    page = visitor.get(path_of(link))
    assert page.status_code == 200 and "handler" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    done = set_password(visitor, path_of(link))
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert "Your password is set" in visitor.get("/login").get_data(as_text=True)
    assert log_in(app.test_client(), "handler", NEW).status_code == 302
    assert log_in(app.test_client(), "handler", "demo").status_code != 302
    assert "password_reset_by_link" in audit_kinds(services)
    # only the digest is kept
    token = LINK.search(link).group(1)
    with services.db.read() as db:
        stored = db.execute(select(PasswordResetLink.token_hash)).scalars().all()
    assert stored and token not in stored


def test_the_answer_is_the_same_whether_the_account_exists_or_not(app, services):
    answers = [ask(app.test_client(), name) for name in
               ("handler", "nobody-here", "ghost@example.com", "x" * 300)]
    texts = {re.sub(r'name="csrf_token" value="[^"]+"', "", a.get_data(as_text=True))
             for a in answers}
    assert {a.status_code for a in answers} == {200}
    assert len(texts) == 1
    assert len(mails_to(services, "handler@example.com")) == 1
    with services.db.read() as db:
        assert db.execute(select(OutboxMessage.to_address)).scalars().all() == \
            ["handler@example.com"]


def test_the_link_works_once(app, services):
    ask(app.test_client(), "handler")
    path = path_of(link_in(mails_to(services, "handler@example.com")[0].body_text))
    assert set_password(app.test_client(), path).status_code == 302
    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "This link has been used already" in again.get_data(as_text=True)
    refused = app.test_client().post(path, data={"new": "Other-Kettle-Noon-77",
                                                 "confirm": "Other-Kettle-Noon-77"})
    assert refused.status_code in (400, 410)
    assert log_in(app.test_client(), "handler", NEW).status_code == 302


def test_the_link_expires_after_an_hour(app, services, clock):
    ask(app.test_client(), "handler")
    path = path_of(link_in(mails_to(services, "handler@example.com")[0].body_text))
    clock.advance(minutes=59)
    assert app.test_client().get(path).status_code == 200
    clock.advance(minutes=2)
    expired = app.test_client().get(path)
    assert expired.status_code == 410
    page = expired.get_data(as_text=True)
    assert "This link has expired" in page and 'href="/password-reset"' in page
    assert log_in(app.test_client(), "handler", "demo").status_code == 302


def test_a_newer_link_replaces_the_older(app, services, clock):
    ask(app.test_client(), "handler")
    clock.advance(minutes=5)
    ask(app.test_client(), "handler")
    first, second = (path_of(link_in(m.body_text))
                     for m in mails_to(services, "handler@example.com"))
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200


def test_a_guessed_link_is_refused(app):
    response = app.test_client().get("/password-reset/" + "A" * 43)
    assert response.status_code == 404
    assert "This link is not valid" in response.get_data(as_text=True)
    assert app.test_client().get("/password-reset/" + "A" * 5000).status_code in (404, 414)


@pytest.mark.parametrize(("new", "confirm", "field", "message"), [
    ("short", "short", "new", "at least 10 characters"),
    ("administrator", "administrator", "new", "too easy to guess"),
    ("my-handler-pass", "my-handler-pass", "new", "must not contain the user name"),
    (NEW, NEW + "x", "confirm", "The two passwords differ"),
])
def test_the_new_password_meets_the_rules_of_creation(app, services, new, confirm, field,
                                                       message):
    ask(app.test_client(), "handler")
    path = path_of(link_in(mails_to(services, "handler@example.com")[0].body_text))
    visitor = app.test_client()
    response = set_password(visitor, path, new, confirm)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}-error"' in page
    assert visitor.get(path).status_code == 200  # a refused password uses nothing up


def test_asking_is_limited_per_account(app, services):
    statuses = [ask(app.test_client(), "handler").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(mails_to(services, "handler@example.com")) == 3


def test_the_mail_speaks_the_language_of_the_request(app, services):
    client = app.test_client()
    post(client, "/language", {"lang": "zh"}, "/login")
    page = ask(client, "handler").get_data(as_text=True)
    assert "忘记密码" in page
    mail, = mails_to(services, "handler@example.com")
    assert mail.subject == "设置您的密码"


def test_an_admin_sends_a_link_from_the_users_page(app, services):
    admin = signed_in(app, "admin")
    assert "Send a reset link" in admin.get("/admin/users/handler2").get_data(as_text=True)
    response = post(admin, "/admin/users/handler2/reset-link", {}, "/admin/users/handler2")
    assert response.status_code == 302
    assert "handler2@example.com" in admin.get("/admin/users/handler2").get_data(as_text=True)
    mail, = mails_to(services, "handler2@example.com")
    assert set_password(app.test_client(), path_of(link_in(mail.body_text))).status_code == 302
    assert log_in(app.test_client(), "handler2", NEW).status_code == 302
    assert "password_reset_link_sent" in audit_kinds(services)


def test_an_admin_cannot_send_a_link_to_an_account_without_mail(app, services, actors):
    admin = signed_in(app, "admin")
    post(admin, "/admin/users/handler2", {"display_name": "Chen Jie", "email": "",
                                          "roles": ["dept_handler"],
                                          "department": "logistics"}, "/admin/users/handler2")
    response = post(admin, "/admin/users/handler2/reset-link", {}, "/admin/users/handler2")
    assert response.status_code == 422
    assert "no e-mail address" in response.get_data(as_text=True)


def test_a_deactivated_account_gets_no_link(app, services):
    admin = signed_in(app, "admin")
    post(admin, "/admin/users/handler2/deactivate", {}, "/admin/users/handler2")
    ask(app.test_client(), "handler2")
    assert mails_to(services, "handler2@example.com") == []


def test_links_are_kept_only_as_digests_in_the_engine(services, clock):
    assert password_reset.request_link(services, "head", "10.0.0.1").retry_after is None
    with services.db.read() as db:
        link = db.execute(select(PasswordResetLink)).scalar_one()
    assert len(link.token_hash) == 64
    assert link.expires_at == clock.now + password_reset.VALID_FOR

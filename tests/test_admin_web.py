"""The admin outbox pages: administrators only, attachments only as downloads."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from engine import mailer
from engine.mailer import Attachment
from engine.models import AuditEvent
from support.pages import signed_in

REPORT = "<!doctype html><title>报告</title><script>alert('x')</script><p>已更换</p>"


@pytest.fixture
def message_id(services):
    with services.db.write() as session:
        plain = mailer.queue(session, "li.si@example.com", "No attachment", "Plain text.")
        message = mailer.queue(session, "wang.lei@example.com", "投诉已受理 <b>bold</b>",
                               "王先生您好：\n报告见附件。",
                               attachment=Attachment("投诉报告.html", "text/html", REPORT))
    assert plain.id != message.id
    return message.id


def pages(message_id: int) -> list[str]:
    return ["/admin/outbox", f"/admin/outbox/{message_id}",
            f"/admin/outbox/{message_id}/attachment"]


def test_admin_sees_the_outbox(app, message_id):
    admin = signed_in(app, "admin")
    response = admin.get("/admin/outbox")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "wang.lei@example.com" in page and "li.si@example.com" in page
    assert "投诉已受理 &lt;b&gt;bold&lt;/b&gt;" in page  # escaped, never markup
    assert "<b>bold</b>" not in page
    assert "Queued" in page and "development mode" in page
    assert f'href="/admin/outbox/{message_id}"' in page
    assert 'href="/admin/outbox"' in page  # the nav link for admins
    assert page.index("wang.lei@example.com") < page.index("li.si@example.com")  # newest first


def test_admin_reads_one_message_and_the_view_is_audited(app, services, message_id):
    admin = signed_in(app, "admin")
    response = admin.get(f"/admin/outbox/{message_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "王先生您好：\n报告见附件。" in page
    assert f'href="/admin/outbox/{message_id}/attachment"' in page
    assert "<script>" not in page  # the attachment is not shown inline
    with services.db.read() as session:
        kinds = session.execute(select(AuditEvent.kind).where(
            AuditEvent.actor == "admin")).scalars().all()
    assert "outbox_message_viewed" in kinds
    assert admin.get("/admin/outbox/999999").status_code == 404
    assert admin.get("/admin/outbox/abc").status_code == 404


def test_attachment_is_a_download_with_its_type(app, message_id):
    response = signed_in(app, "admin").get(f"/admin/outbox/{message_id}/attachment")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%8A%95%E8%AF%89%E6%8A%A5%E5%91%8A.html" in disposition
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == REPORT.encode("utf-8")


def test_a_message_without_attachment_has_no_download(app, services):
    with services.db.write() as session:
        plain = mailer.queue(session, "li.si@example.com", "No attachment", "Plain text.")
    admin = signed_in(app, "admin")
    assert admin.get(f"/admin/outbox/{plain.id}/attachment").status_code == 404


@pytest.mark.parametrize("username", ["agent", "supervisor", "head", "auditor", "owner"])
def test_other_roles_are_refused(app, message_id, username):
    client = signed_in(app, username)
    for path in pages(message_id):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "wang.lei@example.com" not in response.get_data(as_text=True)
    assert 'href="/admin/outbox"' not in client.get("/").get_data(as_text=True)


def test_anonymous_is_sent_to_login(app, message_id):
    client = signed_in(app, None)
    for path in pages(message_id):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]

"""Customer messages, staff replies, internal comments, reply templates, and the same
customer's other complaints on the case page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine import notes
from engine.errors import Forbidden, NotFound
from engine.forms import FormInvalid
from engine.models import CaseNote, OutboxMessage
from support.desk import RECORD, customer_reads


def stored_notes(services) -> list[CaseNote]:
    with services.db.read() as session:
        return list(session.execute(select(CaseNote).order_by(CaseNote.id)).scalars())


def test_a_customer_message_reaches_staff_and_the_team_is_told(visitor, desk):
    ticket, token = visitor().file_online()
    customer = visitor()
    status = f"/status/{token}"
    sent = customer.post(f"{status}/messages", {"body": "  The fan is now smoking.  "},
                         token_from=status)
    assert sent.status_code == 302
    page = customer.get(status).get_data(as_text=True)
    assert "The fan is now smoking." in page and "we have your message" in page

    agent = visitor("agent")
    case = agent.get(f"/cases/{ticket}").get_data(as_text=True)
    assert "From the customer" in case and "The fan is now smoking." in case
    inbox = agent.get("/").get_data(as_text=True)
    assert f"Complaint {ticket}: a new message from the customer" in inbox
    assert "a new message from the customer" not in visitor("handler").get("/").get_data(
        as_text=True)


def test_a_customer_message_is_checked_and_kept_on_error(visitor, desk, services):
    _ticket, token = visitor().file_online()
    customer = visitor()
    status = f"/status/{token}"
    empty = customer.post(f"{status}/messages", {"body": "   "}, token_from=status)
    assert empty.status_code == 422
    assert "Write something before sending." in empty.get_data(as_text=True)
    long_text = "x" * 5001
    too_long = customer.post(f"{status}/messages", {"body": long_text}, token_from=status)
    assert too_long.status_code == 422
    html = too_long.get_data(as_text=True)
    assert "Keep it under 5000 characters." in html and long_text in html
    assert stored_notes(services) == []
    assert customer.post("/status/not-a-real-link/messages", {"body": "Hello"},
                         token_from=status).status_code == 404


def test_a_status_link_cannot_flood_the_team(visitor, desk, services, monkeypatch):
    monkeypatch.setattr(notes, "MAX_CUSTOMER_MESSAGES", 2)
    _ticket, token = visitor().file_online()
    customer = visitor()
    status = f"/status/{token}"
    for text in ("First", "Second"):
        assert customer.post(f"{status}/messages", {"body": text},
                             token_from=status).status_code in (200, 302)
    third = customer.post(f"{status}/messages", {"body": "Third"}, token_from=status)
    assert third.status_code == 422
    html = third.get_data(as_text=True)
    assert "reached its limit of messages" in html and "Third" in html  # the text is kept
    assert [n.body for n in stored_notes(services)] == ["First", "Second"]


def test_a_customer_can_still_write_after_the_case_is_closed(visitor, desk):
    ticket, token = visitor().file_online()
    status = f"/status/{token}"
    customer = visitor()
    customer.post(f"{status}/withdraw", {"reason": "Solved it myself"}, token_from=status)
    assert desk.case(ticket).status == "cancelled"
    sent = customer.post(f"{status}/messages", {"body": "Actually it broke again."},
                         token_from=status)
    assert sent.status_code == 302
    assert "Actually it broke again." in visitor("agent").get(f"/cases/{ticket}").get_data(
        as_text=True)


def test_a_reply_is_on_the_status_page_and_mailed_in_the_customers_language(
        visitor, desk, services):
    ticket, token = visitor().file_online()
    customer_reads(services, ticket, "zh")
    agent = visitor("agent")
    case_path = f"/cases/{ticket}"
    sent = agent.post(f"{case_path}/notes", {"kind": "reply", "body": "We are on it."},
                      token_from=case_path)
    assert sent.status_code == 302

    page = visitor().get(f"/status/{token}").get_data(as_text=True)
    assert "We are on it." in page
    assert "Li Na" not in page  # the customer sees "customer service", not staff names
    staff_page = agent.get(case_path).get_data(as_text=True)
    assert "Reply to the customer" in staff_page and "Li Na (agent)" in staff_page

    with services.db.read() as session:
        mail = session.execute(select(OutboxMessage).where(
            OutboxMessage.subject.contains("回复"))).scalar_one()
    assert mail.to_address == RECORD["customer_email"]
    assert ticket in mail.subject
    assert "We are on it." in mail.body_text and "投诉进度页面" in mail.body_text


def test_an_internal_comment_never_reaches_the_customer(visitor, desk, services):
    ticket, token = visitor().file_online()
    agent = visitor("agent")
    case_path = f"/cases/{ticket}"
    agent.post(f"{case_path}/notes", {"kind": "comment", "body": "Customer sounds angry."},
               token_from=case_path)
    agent.post(f"{case_path}/notes", {"kind": "reply", "body": "Thank you for waiting."},
               token_from=case_path)
    staff_page = agent.get(case_path).get_data(as_text=True)
    assert "Customer sounds angry." in staff_page and "Internal" in staff_page

    status_page = visitor().get(f"/status/{token}").get_data(as_text=True)
    assert "Thank you for waiting." in status_page
    assert "Customer sounds angry." not in status_page
    assert [n.body for n in notes.customer_thread(services, token).notes] == [
        "Thank you for waiting."]
    with services.db.read() as session:
        mails = session.execute(select(OutboxMessage.body_text)).scalars().all()
    assert not any("Customer sounds angry." in body for body in mails)


def test_only_customer_service_replies_and_compliance_does_not_write(visitor, desk, services):
    ticket, _token = visitor().file_online()
    case_path = f"/cases/{ticket}"
    for username in ("auditor", "gm", "leader"):
        staff = visitor(username)
        refused = staff.post(f"{case_path}/notes", {"kind": "reply", "body": "Hello"},
                             token_from=case_path)
        assert refused.status_code == 403, username
        assert 'value="reply"' not in staff.get(case_path).get_data(as_text=True)
    auditor = visitor("auditor")
    refused = auditor.post(f"{case_path}/notes", {"kind": "comment", "body": "Noted"},
                           token_from=case_path)
    assert refused.status_code == 403
    assert 'value="comment"' not in auditor.get(case_path).get_data(as_text=True)
    gm = visitor("gm")
    added = gm.post(f"{case_path}/notes", {"kind": "comment", "body": "Watch this one."},
                    token_from=case_path)
    assert added.status_code == 302
    assert [(n.kind, n.body) for n in stored_notes(services)] == [
        ("comment", "Watch this one.")]


def test_a_handler_of_another_department_can_neither_see_nor_comment(
        visitor, desk, services, actors):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")  # dispatched to quality
    insider, outsider = visitor("handler"), visitor("handler2")
    case_path = f"/cases/{ticket}"
    assert insider.post(f"{case_path}/notes", {"kind": "comment", "body": "Checking."},
                        token_from=case_path).status_code == 302
    assert outsider.post(f"{case_path}/notes", {"kind": "comment", "body": "Hi"},
                         token_from="/").status_code == 404
    assert outsider.get(f"{case_path}/notes?reply_template=received").status_code == 404
    with pytest.raises(NotFound):
        notes.comment(desk.services, actors["handler2"], ticket, "Hi")
    with services.db.read() as session, pytest.raises(NotFound):
        notes.staff_thread(session, actors["handler2"], ticket)
    with pytest.raises(Forbidden):
        notes.reply(desk.services, actors["handler"], ticket, "Hello")
    assert [n.body for n in stored_notes(services)] == ["Checking."]


def test_an_empty_or_long_note_is_refused_with_the_text_kept(visitor, desk, services, actors):
    ticket = desk.file()
    agent = visitor("agent")
    case_path = f"/cases/{ticket}"
    empty = agent.post(f"{case_path}/notes", {"kind": "comment", "body": " "},
                       token_from=case_path)
    assert empty.status_code == 422
    assert "Write something before sending." in empty.get_data(as_text=True)
    too_long = agent.post(f"{case_path}/notes", {"kind": "reply", "body": "y" * 5001},
                          token_from=case_path)
    assert too_long.status_code == 422
    assert "Keep it under 5000 characters." in too_long.get_data(as_text=True)
    assert "y" * 5001 in too_long.get_data(as_text=True)
    with pytest.raises(FormInvalid):
        notes.reply(services, actors["agent"], ticket, "")
    assert stored_notes(services) == []
    # The browser counted 5000 characters: its line breaks arrive as two.
    full = agent.post(f"{case_path}/notes",
                      {"kind": "comment", "body": ("z" * 99 + "\r\n") * 50},
                      token_from=case_path)
    assert full.status_code in (200, 302) and len(stored_notes(services)) == 1


def test_a_reply_template_is_filled_in_the_customers_language(visitor, desk, services):
    ticket = desk.file()
    customer_reads(services, ticket, "zh")
    agent = visitor("agent")
    page = agent.get(f"/cases/{ticket}/notes?reply_template=received").get_data(as_text=True)
    box = re.search(r'<textarea id="reply-body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert box.startswith("尊敬的Wang Lei：") and ticket in box
    assert "{customer_name}" not in box and "{ticket}" not in box
    assert "<html" in page  # without JavaScript: the whole case page, box filled in

    swapped = agent.get(f"/cases/{ticket}/notes?reply_template=delay_apology", htmx=True)
    html = swapped.get_data(as_text=True)
    assert html.lstrip().startswith('<textarea id="reply-body"') and "<html" not in html
    assert "很抱歉" in html and ticket in html

    customer_reads(services, ticket, "en")
    english = agent.get(f"/cases/{ticket}/notes?reply_template=received", htmx=True)
    assert "Dear Wang Lei," in english.get_data(as_text=True)
    assert agent.get(f"/cases/{ticket}/notes?reply_template=nonsense").status_code == 404
    assert visitor("handler").get(
        f"/cases/{ticket}/notes?reply_template=received").status_code in (403, 404)


def test_htmx_posts_get_just_the_section_and_plain_posts_the_page(visitor, desk):
    ticket, token = visitor().file_online()
    agent = visitor("agent")
    case_path = f"/cases/{ticket}"
    partial = agent.post(f"{case_path}/notes", {"kind": "comment", "body": "First look."},
                         token_from=case_path, htmx=True)
    assert partial.status_code == 200
    html = partial.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<section class="card" id="case-notes"')
    assert "First look." in html and "Internal comment added." in html
    refused = agent.post(f"{case_path}/notes", {"kind": "comment", "body": ""},
                         token_from=case_path, htmx=True)
    assert refused.status_code == 422 and "<html" not in refused.get_data(as_text=True)

    plain = agent.post(f"{case_path}/notes", {"kind": "comment", "body": "Second look."},
                       token_from=case_path)
    assert plain.status_code == 302 and plain.headers["Location"].endswith("#case-notes")
    page = agent.get(case_path).get_data(as_text=True)
    assert "<html" in page and 'id="case-notes"' in page and "Second look." in page

    status = f"/status/{token}"
    customer = visitor()
    answer = customer.post(f"{status}/messages", {"body": "Thanks!"}, token_from=status,
                           htmx=True)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section class="card" id="customer-messages"')
    assert "Thanks!" in html and "First look." not in html


def test_pages_load_htmx_from_our_own_server(visitor, desk, app):
    page = visitor("agent").get("/").get_data(as_text=True)
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page
    assert '"includeIndicatorStyles": false' in page
    script = app.test_client().get("/static/vendor/htmx.min.js")
    assert script.status_code == 200 and b'version:"2.0.11"' in script.data
    policy = script.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe" not in policy


def test_linked_complaints_list_the_same_customers_cases_the_viewer_may_see(visitor, desk):
    quality_case = desk.file()
    desk.run_until(quality_case, "confirm_receipt")  # dispatched to quality
    logistics_case = desk.file(description="The box arrived crushed.")
    desk.run_until(logistics_case, "dispatch")
    desk.do(logistics_case, "dispatch", department="logistics")
    stranger = desk.file(customer_phone="13911112222", customer_name="Zhao Li",
                         customer_email="zhao.li@example.com", order_number="SO-2611-0999")
    # The same customer writing from another phone, or only quoting the order number.
    by_email = desk.file(customer_phone="13700000001", order_number="SO-1",
                         customer_email=" Wang.Lei@Example.com ")
    by_order = desk.file(customer_phone="13700000002", customer_email="other@example.com")

    page = visitor("agent").get(f"/cases/{quality_case}").get_data(as_text=True)
    assert "Same customer" in page
    assert f">{logistics_case}</a>" in page and f">{stranger}</a>" not in page
    assert f">{by_email}</a>" in page and f">{by_order}</a>" in page

    handler_page = visitor("handler").get(f"/cases/{quality_case}").get_data(as_text=True)
    assert f">{logistics_case}</a>" not in handler_page
    assert "Same customer" not in handler_page
    other_side = visitor("handler2").get(f"/cases/{logistics_case}").get_data(as_text=True)
    assert f">{quality_case}</a>" not in other_side

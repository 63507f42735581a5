"""The customer's inquiry pages: asking a question on the public site, following it behind
the private link in their own language and zone, rating the answer; staff work it in the
same inbox."""
from __future__ import annotations

import re

from engine import runtime
from support.pages import post

QUESTION = {"customer_name": "Jane Miller", "customer_email": "jane.miller@example.com",
            "country": "United States", "product": "Air purifier AP-300",
            "question": "Which replacement filter fits the AP-300, and can it ship to New York?"}


def ask(customer, **fields) -> tuple[str, str]:
    response = customer.post("/inquiry", {**QUESTION, **fields}, "/inquiry")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    page = customer.get(response.headers["Location"]).get_data(as_text=True)
    ticket = re.search(r'id="ticket">(Q\d{10})<', page).group(1)
    link = re.search(r'id="status-link" href="([^"]+)"', page).group(1)
    return ticket, link.split("/status/", 1)[1]


def work(desk, ticket, name, user, **data):
    task = next(t for t in desk.case(ticket).open_tasks if t.name == name)
    return runtime.complete_task(desk.services, desk.actors[user], task.id, data)


def test_a_customer_in_new_york_asks_and_sees_the_promised_time_in_their_zone(visitor, desk):
    customer = visitor(accept_language="en-US,en;q=0.9")
    form = customer.get("/inquiry").get_data(as_text=True)
    assert "Ask us a question" in form and 'name="question"' in form
    assert 'name="channel"' not in form and 'name="received_at"' not in form
    # Tuesday 24 November, 21:00 in New York: after hours for the support team there.
    ticket, token = ask(customer, tz="America/New_York")
    assert desk.case(ticket).record["channel"] == "web"
    page = customer.get(f"/status/{token}").get_data(as_text=True)
    assert f"Your inquiry {ticket}" in page and "We have received your inquiry" in page
    assert "Withdraw your complaint" not in page
    # The first response is due at 10:00 on Wednesday in the team's calendar.
    assert "2026-11-25 10:00 (America/New_York)" in page.replace("</time>", "").replace(
        '<time datetime="2026-11-25T15:00:00+00:00">', "")

    # The agent answers from the same inbox; 24 working hours skip Thanksgiving.
    inbox = visitor("support").get("/").get_data(as_text=True)
    assert ticket in inbox
    work(desk, ticket, "first_response", "support",
         acknowledgement="Thank you, we have your question.", promised_hours=24)
    page = customer.get(f"/status/{token}").get_data(as_text=True)
    assert "Thank you, we have your question." in page
    assert re.search(r"We will answer by <time [^>]*>2026-11-30 15:00</time> "
                     r"\(America/New_York\)", page), page
    work(desk, ticket, "classify_inquiry", "support", category="product", handling="simple")
    work(desk, ticket, "send_final_answer", "support",
         final_answer="The F-300 filter fits; we ship to New York in 5 days.")
    page = customer.get(f"/status/{token}").get_data(as_text=True)
    assert "The F-300 filter fits" in page and "How satisfied are you with our answer?" in page
    rating = desk.task(ticket, "rate_answer")
    response = post(customer.client, f"/status/{token}/tasks/{rating.id}",
                    {"inquiry_satisfaction": "satisfied"}, f"/status/{token}")
    assert response.status_code == 302
    page = customer.get(f"/status/{token}").get_data(as_text=True)
    assert "Your inquiry is closed" in page and "You rated our answer" in page


def test_a_chinese_customer_reads_the_promise_in_chinese_and_their_zone(visitor, desk):
    customer = visitor(accept_language="zh-CN,zh;q=0.9")
    form = customer.get("/inquiry").get_data(as_text=True)
    assert "向我们咨询" in form and "您的问题" in form
    ticket, token = ask(customer, tz="Asia/Shanghai")
    work(desk, ticket, "first_response", "support",
         acknowledgement="Thank you, we have your question.", promised_hours=24)
    page = visitor().get(f"/status/{token}").get_data(as_text=True)
    assert f"您的咨询 {ticket}" in page
    # Monday 30 November 15:00 in New York is 04:00 on Tuesday in Shanghai.
    assert re.search(r"我们将在 <time [^>]*>2026-12-01 04:00</time>（Asia/Shanghai）前答复", page), page


def test_a_bad_question_keeps_the_input_and_bots_are_refused(visitor, desk):
    customer = visitor()
    response = customer.post("/inquiry", {**QUESTION, "question": "",
                                          "customer_name": "<b>Jane</b>"}, "/inquiry")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "&lt;b&gt;Jane&lt;/b&gt;" in html and "<b>Jane</b>" not in html
    bot = customer.post("/inquiry", {**QUESTION, "fax_number": "123"}, "/inquiry")
    assert bot.status_code == 400
    assert customer.get("/inquiry/filed").status_code == 302  # nothing to show

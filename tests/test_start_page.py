"""Starting a case of another process from the browser: a department head petitions the
GM office from the complaint's page (003), the overseas support team registers an order
handed over by sales; a bad form keeps what was typed and starts nothing."""
from __future__ import annotations

import html

from sqlalchemy import func, select

from engine.models import ProcessInstance
from support.pages import log_in, post


def case_count(services) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessInstance.id))).scalar_one()


def test_a_head_petitions_from_the_complaint_page(desk, client, services):
    ticket = desk.file()
    desk.run_until(ticket, "verify")  # dispatched to quality
    log_in(client, "head")
    case_page = html.unescape(client.get(f"/cases/{ticket}").get_data(as_text=True))
    assert f"/start/petition?ticket={ticket}" in case_page
    form = client.get(f"/start/petition?ticket={ticket}").get_data(as_text=True)
    assert "Petition the GM office" in form and f'value="{ticket}"' in form
    response = post(client, "/start/petition",
                    {"ticket": ticket, "decision_disputed": "responsibility",
                     "petition_reason": "The seal was torn by the carrier, not by us."},
                    f"/start/petition?ticket={ticket}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/P{ticket}-1")
    petition = desk.case(f"P{ticket}-1")
    assert [t.name for t in petition.open_tasks] == ["decide_petition"]
    assert petition.data["petition_department"] == "quality"


def test_a_petition_without_its_reason_is_shown_again_and_starts_nothing(
        desk, client, services):
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    log_in(client, "head")
    before = case_count(services)
    response = post(client, "/start/petition",
                    {"ticket": ticket, "decision_disputed": "penalty", "petition_reason": ""},
                    f"/start/petition?ticket={ticket}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "Why the department disagrees" in summary
    assert f'value="{ticket}"' in page  # what was typed stays
    assert case_count(services) == before


def test_who_sees_what_they_may_start(desk, client):
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    log_in(client, "handler")  # a handler of the department: no petition, an improvement
    page = client.get("/start").get_data(as_text=True)
    assert "/start/improvement" in page and "/start/petition" not in page
    assert "/start/petition" not in client.get(f"/cases/{ticket}").get_data(as_text=True)
    assert client.get(f"/start/petition?ticket={ticket}").status_code == 403
    client.post("/logout")
    log_in(client, "agent")
    assert "None of the processes is started by your role." in \
        client.get("/start").get_data(as_text=True)


def test_the_support_team_registers_an_order_handed_over_by_sales(client, services):
    log_in(client, "support")
    assert "/start/order_support" in client.get("/start").get_data(as_text=True)
    form = client.get("/start/order_support").get_data(as_text=True)
    assert "order_number" in form
    response = post(client, "/start/order_support", {
        "customer_name": "Jane Miller", "customer_email": "jane@example.com",
        "order_number": "SO-2611-0042", "specification": "Air purifier AP-300",
        "quantity": "120", "delivery_date": "2026-12-18"}, "/start/order_support")
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    ticket = response.headers["Location"].rsplit("/", 1)[1]
    assert ticket.startswith("D")
    assert "Order" in client.get(f"/cases/{ticket}").get_data(as_text=True)

"""The record and classification rules of the logistics centre's procedure (003) and the
customer's region (000): the goods' facts on the record, human negligence without a loss
closed with an exception form instead of being tracked, and the payment a customer held
back for a complaint that is not upheld collected by sales."""
from __future__ import annotations

import datetime as dt
import html

import pytest

from engine import tasks
from engine.forms import FormInvalid
from support.pages import file_online, post
from support.people import add_user

GOODS = {"style_number": "AP-300-W", "ship_date": "2026-11-20", "quantity": 10,
         "defective_quantity": 3, "region": "Guangdong"}
NEGLIGENCE = {"cause_category": "human_negligence", "complaint_type": "logistics"}
NOT_TRUE = {"verification_result": "not_true",
            "verification_notes": "The delivery photo shows the parcel intact."}
INFORMED = {"explanation": "The damage occurred after delivery.", "informed_via": "phone"}


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def steps_done(case) -> list[str]:
    return [h.detail.get("task") for h in case.history if h.kind == "task_completed"]


def worklist(services, actor) -> list[tuple[str, str]]:
    with services.db.read() as session:
        return [(t.ticket, t.name) for t in tasks.worklist(session, actor)]


def test_the_goods_facts_are_kept_shown_and_refused_when_they_cannot_be(desk, visitor, clock):
    ticket = desk.file(**GOODS)
    assert {k: desk.case(ticket).record[k] for k in GOODS} == GOODS
    page = page_text(visitor("agent").get(f"/cases/{ticket}"))
    for label, value in (("Style number", "AP-300-W"), ("Ship date", "2026"), ("Quantity", "10"),
                         ("Defective quantity", "3"), ("Region", "Guangdong")):
        assert label in page and value in page, label

    with pytest.raises(FormInvalid) as refused:
        desk.file(**{**GOODS, "defective_quantity": 11})
    assert set(refused.value.fields) == {"defective_quantity"}
    tomorrow_here = (clock.now + dt.timedelta(days=2)).date().isoformat()
    with pytest.raises(FormInvalid) as refused:
        desk.file(**{**GOODS, "ship_date": tomorrow_here})
    assert set(refused.value.fields) == {"ship_date"}
    clock.advance(days=2)  # the day has come: shipped today
    assert desk.case(desk.file(**{**GOODS, "ship_date": tomorrow_here})).record[
        "ship_date"] == tomorrow_here


def test_a_customer_gives_the_goods_facts_in_their_own_words(client, services):
    form = client.get("/complaint").get_data(as_text=True)
    assert "How many of them are faulty?" in form and 'name="ship_date"' not in form
    response = post(client, "/complaint", {"customer_name": "Wang Lei",
                                           "customer_phone": "13800138000",
                                           "product": "Air purifier", "description": "Broken",
                                           "demand": "Replace", "quantity": "2",
                                           "defective_quantity": "5"}, "/complaint")
    assert response.status_code == 422
    assert "More units are defective than were delivered." in page_text(response)

    ticket, token = file_online(client, style_number="AP-300-W", quantity="4",
                                defective_quantity="1", region="Shanghai")
    status = page_text(client.get(f"/status/{token}"))
    assert "AP-300-W" in status and "Shanghai" in status
    assert "How many did you receive?" in status


def test_human_negligence_without_a_loss_is_closed_with_an_exception_form(desk, client,
                                                                          visitor, clock):
    ticket, token = file_online(client)
    desk.do(ticket, "check_record")
    with pytest.raises(FormInvalid) as refused:  # whether it cost anything decides
        desk.do(ticket, "classify", **NEGLIGENCE)
    assert set(refused.value.fields) == {"loss_caused"}
    desk.do(ticket, "classify", **NEGLIGENCE, loss_caused=False)
    exception = desk.task(ticket, "record_exception")
    assert exception.lane == "cs_agent" and desk.open_task_names(ticket) == ["record_exception"]

    clock.advance(hours=3)
    result = desk.do(ticket, "record_exception", user="agent",
                     exception_what="Wrong colour picked for the order.",
                     exception_who="Picker at warehouse line 2",
                     exception_correction="Right colour sent; the customer was told.",
                     exception_corrected_on=clock.now.date().isoformat(),
                     exception_department="logistics")
    assert result["status"] == "closed" and result["outcome"] == "exception_form"
    case = desk.case(ticket)
    assert steps_done(case) == ["check_record", "classify", "record_exception"]  # no dispatch
    assert case.data["exception_who"] == "Picker at warehouse line 2"
    staff_page = page_text(visitor("agent").get(f"/cases/{ticket}"))
    assert "Closed with an exception form: human negligence without a loss" in staff_page
    assert "Picker at warehouse line 2" in staff_page
    status = page_text(client.get(f"/status/{token}"))
    assert "We corrected our mistake and recorded it" in status
    assert "Complaint closed" in status


def test_human_negligence_with_a_loss_is_tracked_like_any_complaint(desk, clock):
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify", **NEGLIGENCE, loss_caused=True)
    assert desk.open_task_names(ticket) == ["dispatch"]
    desk.run_until(ticket, "follow_up")
    clock.advance(hours=1)
    result = desk.do(ticket, "follow_up")
    assert result["status"] == "closed" and result["outcome"] == "resolved"
    assert "record_exception" not in steps_done(desk.case(ticket))


def test_payment_held_back_for_a_complaint_not_upheld_is_collected_by_sales(
        desk, services, actors, clock):
    sales = actors["sales.rep"] = add_user(services, "sales.rep", ["dept_handler"], "sales")
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    desk.do(ticket, "verify", **NOT_TRUE)
    with pytest.raises(FormInvalid) as refused:
        desk.do(ticket, "inform_not_true", **INFORMED, receivables_held=True)
    assert set(refused.value.fields) == {"receivables_amount"}
    desk.do(ticket, "inform_not_true", **INFORMED, receivables_held=True,
            receivables_amount=899)

    collect = desk.task(ticket, "collect_receivables")
    assert (collect.lane, collect.department) == ("dept_handler", "sales")
    assert (ticket, "collect_receivables") in worklist(services, sales)
    assert (ticket, "collect_receivables") not in worklist(services, actors["handler"])
    assert desk.case(ticket).status == "open"

    clock.advance(days=30)  # the agreed collection date
    result = desk.do(ticket, "collect_receivables", user="sales.rep", collected_amount=899,
                     collected_on=clock.now.date().isoformat())
    assert result["status"] == "closed" and result["outcome"] == "not_true"
    case = desk.case(ticket)
    assert [h.actor for h in case.history if h.detail.get("task") == "collect_receivables"] \
        == ["sales.rep"]
    assert case.data["collected_on"] == clock.now.date().isoformat()

"""Overseas inquiries (004) through the services: the first response counted in the support
team's calendar across its country's public holidays, the owner's 24 working hours in the
owner's calendar, a complaint started from an inquiry and linked both ways, the answer
and rating on the customer's status page, and the promised answer time shown in the
customer's own zone. The clock is moved, never slept on."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import calendars_admin, customers, inquiries, runtime, timers
from engine.errors import Forbidden
from engine.forms import FormInvalid
from engine.models import ProcessInstance
from support.support_cases import do, local, open_names, open_task

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")

QUESTION = {
    "customer_name": "Jane Miller", "company": "Miller Supplies Inc.", "country": "United States",
    "customer_email": "jane.miller@example.com", "customer_phone": "+1 212 555 0142",
    "product": "Air purifier AP-300",
    "question": "Which replacement filter fits the AP-300, and can it ship to New York?",
}


def case(services, ticket: str) -> ProcessInstance:
    with services.db.read() as session:
        row = session.execute(select(ProcessInstance).where(
            ProcessInstance.ticket == ticket)).scalar_one()
        session.expunge(row)
        return row


def respond(services, actors, ticket, hours=8):
    do(services, actors, ticket, "first_response", "support",
       acknowledgement="Thank you, we have your question.", promised_hours=hours)


# --- the first response in the support team's calendar ---------------------------------

def test_first_response_is_due_in_one_working_hour_skipping_thanksgiving(services, actors, clock):
    # Wednesday before Thanksgiving, 17:30 in New York: half an hour left today, then
    # Thursday (Thanksgiving) is closed, so the hour ends on Friday at 09:30.
    clock.now = dt.datetime(2026, 11, 25, 17, 30, tzinfo=NEW_YORK)
    filed = inquiries.file_inquiry(services, {**QUESTION, "channel": "phone"},
                                   staff=actors["support"])
    assert filed.ticket.startswith("Q")
    row = open_task(services, filed.ticket, "first_response")
    assert row.role == "support_agent"
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 11, 27, 9, 30)
    assert case(services, filed.ticket).channel == "phone"

    clock.now = dt.datetime(2026, 11, 26, 15, 0, tzinfo=NEW_YORK)  # Thanksgiving afternoon
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "first_response").breached_at is None

    clock.now = dt.datetime(2026, 11, 27, 9, 31, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "first_response").breached_at is not None


def test_an_admin_moves_the_team_to_berlin_and_christmas_closes_it(services, actors, clock):
    calendars_admin.set_department_calendar(services, "overseas_support", "eu-central")
    # Thursday 24 December, 17:30 in Berlin; 25 and 26 December and the weekend are closed.
    clock.now = dt.datetime(2026, 12, 24, 17, 30, tzinfo=BERLIN)
    filed = inquiries.file_inquiry(services, QUESTION, staff=actors["support"])
    row = open_task(services, filed.ticket, "first_response")
    assert local(row.due_at, BERLIN) == dt.datetime(2026, 12, 28, 9, 30)


def test_the_promised_answer_time_counts_in_the_team_calendar_and_shows_in_the_customers_zone(
        services, actors, clock):
    # Friday 3 July 2026 is the observed Independence Day: a question filed on Thursday
    # afternoon with 4 working hours promised is answered on Monday.
    clock.now = dt.datetime(2026, 7, 2, 16, 0, tzinfo=NEW_YORK)
    filed = inquiries.file_inquiry(services, QUESTION, customer_locale="zh-CN",
                                   customer_timezone="Asia/Shanghai")
    respond(services, actors, filed.ticket, hours=4)
    view = customers.status(services, filed.status_token)
    assert view.kind == "inquiry" and view.timezone == "Asia/Shanghai"
    assert local(view.promised_at, NEW_YORK) == dt.datetime(2026, 7, 6, 11, 0)
    # ...which is 23:00 on Monday in Shanghai, where the customer reads it.
    assert local(view.promised_at, SHANGHAI) == dt.datetime(2026, 7, 6, 23, 0)
    assert view.acknowledgement == "Thank you, we have your question."


# --- the paths -------------------------------------------------------------------------

def test_a_simple_question_is_answered_and_rated_on_the_status_page(services, actors, clock):
    filed = inquiries.file_inquiry(services, QUESTION)
    assert case(services, filed.ticket).channel == "web"
    respond(services, actors, filed.ticket)
    do(services, actors, filed.ticket, "classify_inquiry", "support", category="product",
       handling="simple")
    do(services, actors, filed.ticket, "send_final_answer", "support",
       final_answer="The F-300 filter fits; we ship to New York in 5 days.")
    view = customers.status(services, filed.status_token)
    assert view.answer == "The F-300 filter fits; we ship to New York in 5 days."
    [question] = view.tasks
    assert question.task.name == "rate_answer"
    customers.complete(services, filed.status_token, question.task.id,
                       {"inquiry_satisfaction": "satisfied"})
    done = case(services, filed.ticket)
    assert (done.status, done.outcome) == ("closed", "answered")
    view = customers.status(services, filed.status_token)
    assert view.stage == "Your inquiry is closed"
    assert "You rated our answer" in [text for _at, text in view.history]


def test_a_transfer_waits_24_working_hours_of_the_owner_who_may_report_progress(
        services, actors, clock):
    clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    filed = inquiries.file_inquiry(services, QUESTION)
    respond(services, actors, filed.ticket)
    do(services, actors, filed.ticket, "classify_inquiry", "supportlead", category="technical",
       handling="transfer", owner_department="quality")
    row = open_task(services, filed.ticket, "owner_answer")
    assert (row.role, row.department_code) == ("dept_handler", "quality")
    # 24 working hours of the quality department (09:00-18:00 in Shanghai).
    assert local(row.due_at, SHANGHAI) == dt.datetime(2026, 11, 26, 16, 0)
    clock.now = dt.datetime(2026, 11, 26, 12, 0, tzinfo=SHANGHAI)
    do(services, actors, filed.ticket, "owner_answer", "handler", owner_response="progress",
       owner_answer="Testing the filter on a unit like yours.")
    again = open_task(services, filed.ticket, "owner_answer")
    assert local(again.due_at, SHANGHAI) == dt.datetime(2026, 11, 30, 18, 0)
    do(services, actors, filed.ticket, "owner_answer", "handler", owner_response="solution",
       owner_answer="Use the F-300 filter.")
    assert open_names(services, filed.ticket) == ["send_final_answer"]
    assert case(services, filed.ticket).department_code == "quality"


def test_a_cross_department_question_gets_a_coordination_meeting(services, actors, clock):
    filed = inquiries.file_inquiry(services, QUESTION)
    respond(services, actors, filed.ticket)
    do(services, actors, filed.ticket, "classify_inquiry", "support", category="order",
       handling="cross_department")
    row = open_task(services, filed.ticket, "coordination_meeting")
    assert row.role == "support_manager"
    with pytest.raises(Forbidden):
        do(services, actors, filed.ticket, "coordination_meeting", "support",
           meeting_on="2026-11-26", attendees="Sales", decisions="Ship from Rotterdam.")
    do(services, actors, filed.ticket, "coordination_meeting", "supportlead",
       meeting_on="2026-11-26", attendees="Sales, logistics", decisions="Ship from Rotterdam.")
    assert open_names(services, filed.ticket) == ["send_final_answer"]


def test_a_complaint_starts_the_complaint_process_linked_both_ways(services, actors, clock):
    filed = inquiries.file_inquiry(services, QUESTION, customer_locale="en-GB",
                                   customer_timezone="America/New_York")
    respond(services, actors, filed.ticket)
    result = do(services, actors, filed.ticket, "classify_inquiry", "support",
                category="complaint", handling="simple", product="Air purifier AP-300")
    complaint = case(services, result["linked_ticket"])
    assert complaint.parent_ticket == filed.ticket
    assert complaint.customer_timezone == "America/New_York"
    assert complaint.status == "open" and not complaint.ticket.startswith("Q")
    inquiry = case(services, filed.ticket)
    assert (inquiry.status, inquiry.outcome) == ("closed", "complaint_started")
    assert customers.status(services, filed.status_token).linked_ticket == complaint.ticket
    with services.db.read() as session:
        again = session.get(ProcessInstance, complaint.id)
        assert runtime.case_data(services, again)["description"] == QUESTION["question"]


def test_a_complaint_needs_its_product(services, actors):
    filed = inquiries.file_inquiry(services, {k: v for k, v in QUESTION.items() if k != "product"})
    respond(services, actors, filed.ticket)
    with pytest.raises(FormInvalid) as caught:
        do(services, actors, filed.ticket, "classify_inquiry", "support",
           category="complaint", handling="simple")
    assert "product" in caught.value.fields


# --- filing ----------------------------------------------------------------------------

def test_a_customer_cannot_choose_the_channel_or_receipt_time(services, clock):
    filed = inquiries.file_inquiry(services, {**QUESTION, "channel": "phone",
                                              "received_at": "2026-01-01T00:00:00+00:00"})
    row = case(services, filed.ticket)
    assert row.channel == "web" and row.received_at == clock.now


def test_only_the_support_team_registers_inquiries(services, actors):
    with pytest.raises(Forbidden):
        inquiries.file_inquiry(services, QUESTION, staff=actors["handler"])


def test_a_bad_inquiry_names_its_fields(services):
    with pytest.raises(FormInvalid) as caught:
        inquiries.file_inquiry(services, {"customer_name": "", "customer_email": "not mail"})
    assert {"customer_name", "question"} <= set(caught.value.fields)

"""Overseas technical support (004) through the services: remote help within 2 working
hours of the support team's calendar across a US holiday, the on-site window from the
decision table by region and urgency, a later visit only with a reason and the customer's
agreement, and the cause and solution kept as a knowledge record that the agent sees on
the next similar problem. The clock is moved, never slept on."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import customers, runtime, technical_support, timers
from engine.errors import Forbidden
from engine.forms import FormInvalid
from engine.models import KnowledgeRecord
from support.support_cases import do, local, open_names, open_task

NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.timezone.utc

PROBLEM = {
    "customer_name": "Jane Miller", "company": "Miller Supplies Inc.", "country": "United States",
    "customer_email": "jane.miller@example.com", "customer_phone": "+1 212 555 0142",
    "model": "Air purifier AP-300",
    "description": "The fan stops after ten minutes and the filter light blinks red.",
    "environment": "Warehouse office, dusty air, running around the clock.",
    "region": "metro", "urgency": "critical",
}


def go_on_site(services, actors, ticket):
    do(services, actors, ticket, "remote_help", remote_notes="Reset by video call; no change.",
       remote_result="onsite")


def explain(services, actors, ticket, cause="The fan bearing is clogged with dust.",
            solution="Cleaned the bearing and fitted the dust pre-filter."):
    return do(services, actors, ticket, "explain_solution", cause=cause, solution=solution)


# --- remote help in the support team's calendar ----------------------------------------

def test_remote_help_is_due_in_two_working_hours_skipping_thanksgiving(services, actors, clock):
    # Wednesday before Thanksgiving, 17:00 in New York: one working hour left today, then
    # Thursday (Thanksgiving) is closed, so the two hours end on Friday at 10:00.
    clock.now = dt.datetime(2026, 11, 25, 17, 0, tzinfo=NEW_YORK)
    filed = technical_support.file_problem(services, {**PROBLEM, "channel": "phone"},
                                           staff=actors["support"])
    assert filed.ticket.startswith("T")
    row = open_task(services, filed.ticket, "remote_help")
    assert row.role == "support_agent"
    assert local(row.due_at, NEW_YORK) == dt.datetime(2026, 11, 27, 10, 0)

    clock.now = dt.datetime(2026, 11, 26, 15, 0, tzinfo=NEW_YORK)  # Thanksgiving afternoon
    timers.fire_due(services, "test")
    row = open_task(services, filed.ticket, "remote_help")
    assert row.reminded_at is None and row.breached_at is None

    clock.now = dt.datetime(2026, 11, 27, 10, 1, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    row = open_task(services, filed.ticket, "remote_help")
    assert row.reminded_at is not None and row.breached_at is not None
    assert row.escalated_at is None
    # Escalated after twice the time: 4 working hours, Friday at 12:00.
    clock.now = dt.datetime(2026, 11, 27, 12, 1, tzinfo=NEW_YORK)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "remote_help").escalated_at is not None


def test_department_staff_do_not_register_technical_problems_and_bad_records_are_refused(
        services, actors):
    with pytest.raises(Forbidden):
        technical_support.file_problem(services, PROBLEM, staff=actors["handler"])
    with pytest.raises(FormInvalid) as refused:
        technical_support.file_problem(services, {**PROBLEM, "region": "moon", "model": ""})
    assert {"region", "model"} <= set(refused.value.fields)


# --- the on-site window from the decision table ----------------------------------------

@pytest.mark.parametrize("region,urgency,hours", [
    ("metro", "critical", 24), ("regional", "critical", 48), ("metro", "high", 48),
    ("remote", "critical", 72), ("metro", "normal", 72), ("regional", "normal", 72)])
def test_the_on_site_window_comes_from_the_decision_table(services, actors, clock, region,
                                                           urgency, hours):
    clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
    filed = technical_support.file_problem(services, {**PROBLEM, "region": region,
                                                      "urgency": urgency})
    clock.now = dt.datetime(2026, 11, 24, 11, 0, tzinfo=NEW_YORK)
    go_on_site(services, actors, filed.ticket)
    window_ends = clock.now + dt.timedelta(hours=hours)
    schedule = open_task(services, filed.ticket, "schedule_onsite")
    detail = runtime.task_detail(services, actors["support"], schedule.id)
    assert dt.datetime.fromisoformat(detail.values["onsite_due_at"]) == window_ends
    do(services, actors, filed.ticket, "schedule_onsite", engineer="Tom Becker",
       planned_visit_at=(window_ends - dt.timedelta(hours=2)).isoformat())
    # Within the window: straight to the visit, due when the window ends.
    row = open_task(services, filed.ticket, "onsite_service")
    assert row.due_at == window_ends
    clock.now = window_ends - dt.timedelta(minutes=1)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "onsite_service").breached_at is None
    clock.now = window_ends + dt.timedelta(minutes=1)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "onsite_service").breached_at is not None


def test_a_later_visit_needs_a_reason_and_the_customers_agreement(services, actors, clock):
    clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
    filed = technical_support.file_problem(services, {**PROBLEM, "region": "remote",
                                                      "urgency": "normal"},
                                           customer_timezone="America/New_York")
    go_on_site(services, actors, filed.ticket)
    window_ends = clock.now + dt.timedelta(hours=72)
    later = window_ends + dt.timedelta(days=2)
    do(services, actors, filed.ticket, "schedule_onsite", engineer="Tom Becker",
       planned_visit_at=later.isoformat())
    assert open_names(services, filed.ticket) == ["record_late_reason"]
    with pytest.raises(FormInvalid):
        do(services, actors, filed.ticket, "record_late_reason", late_reason="")
    do(services, actors, filed.ticket, "record_late_reason",
       late_reason="The spare bearing ships from Singapore.")

    # The customer is asked on their status page, with the reason and the time.
    view = customers.status(services, filed.status_token)
    [question] = view.tasks
    assert question.task.name == "agree_later_visit"
    assert question.values["late_reason"] == "The spare bearing ships from Singapore."
    assert view.visit_by == later
    assert [(s.title, s.state) for s in view.stepper] == [
        ("Received", "done"), ("Engineer on site", "current"), ("Solved", "todo"),
        ("Closed", "todo")]
    customers.complete(services, filed.status_token, question.task.id,
                       {"later_visit_agreed": "no", "later_visit_comment": "Sooner, please."})
    assert open_names(services, filed.ticket) == ["schedule_onsite"]

    sooner = window_ends + dt.timedelta(hours=12)
    do(services, actors, filed.ticket, "schedule_onsite", engineer="Tom Becker",
       planned_visit_at=sooner.isoformat())
    do(services, actors, filed.ticket, "record_late_reason",
       late_reason="The earliest flight with the spare bearing lands then.")
    [question] = customers.status(services, filed.status_token).tasks
    customers.complete(services, filed.status_token, question.task.id,
                       {"later_visit_agreed": "yes"})
    # The visit is now due at the agreed time, not at the end of the table's window.
    row = open_task(services, filed.ticket, "onsite_service")
    assert row.due_at == sooner
    clock.now = window_ends + dt.timedelta(hours=1)
    timers.fire_due(services, "test")
    assert open_task(services, filed.ticket, "onsite_service").breached_at is None
    do(services, actors, filed.ticket, "onsite_service", onsite_report="Replaced the bearing.")
    result = explain(services, actors, filed.ticket)
    assert result["status"] == "closed" and result["outcome"] == "solved_on_site"
    view = customers.status(services, filed.status_token)
    assert view.stage == "Your technical problem is solved"
    assert view.cause == "The fan bearing is clogged with dust."
    assert "You answered about the later visit" in [text for _at, text in view.history]


# --- the knowledge record ---------------------------------------------------------------

def similar_for(services, actors, ticket):
    detail = runtime.task_detail(services, actors["support"],
                                 open_task(services, ticket, "remote_help").id)
    return detail.similar


def test_the_cause_and_solution_are_found_from_the_next_similar_problem(services, actors, clock):
    clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
    first = technical_support.file_problem(services, PROBLEM)
    assert similar_for(services, actors, first.ticket) == []
    do(services, actors, first.ticket, "remote_help", remote_notes="Cleaned it by video call.",
       remote_result="solved")
    result = explain(services, actors, first.ticket)
    assert result["outcome"] == "solved_remotely"
    with services.db.read() as session:
        [kept] = session.execute(select(KnowledgeRecord)).scalars()
        assert (kept.ticket, kept.model, kept.recorded_by) == (
            first.ticket, "Air purifier AP-300", "support")
        assert kept.problem == PROBLEM["description"] and not kept.solved_on_site

    # The same model, other words: found.
    same_model = technical_support.file_problem(services, {
        **PROBLEM, "customer_name": "Ann Lee", "model": "air purifier  AP-300",
        "description": "Makes a loud noise at night."})
    [found] = similar_for(services, actors, same_model.ticket)
    assert found.ticket == first.ticket and found.solution.startswith("Cleaned the bearing")
    # Another model with the same symptom in other words: found by the words.
    same_words = technical_support.file_problem(services, {
        **PROBLEM, "model": "Air purifier AP-500",
        "description": "Our FAN STOPS and the light blinks."})
    assert [r.ticket for r in similar_for(services, actors, same_words.ticket)] == [first.ticket]
    # Unrelated: nothing.
    unrelated = technical_support.file_problem(services, {
        **PROBLEM, "model": "Dehumidifier D-20", "description": "The tank leaks water."})
    assert similar_for(services, actors, unrelated.ticket) == []


def test_the_best_match_comes_first(services, actors, clock):
    clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    for model, description, cause in [
            ("Dehumidifier D-20", "The fan stops after an hour.", "Worn motor"),
            ("Air purifier AP-300", "The display flickers.", "Loose cable")]:
        filed = technical_support.file_problem(services, {**PROBLEM, "model": model,
                                                          "description": description})
        do(services, actors, filed.ticket, "remote_help", remote_notes="Checked.",
           remote_result="solved")
        explain(services, actors, filed.ticket, cause=cause, solution="Fixed.")
    new = technical_support.file_problem(services, PROBLEM)
    # The same model outranks a shared word.
    assert [r.cause for r in similar_for(services, actors, new.ticket)] == [
        "Loose cable", "Worn motor"]


def test_a_record_that_is_not_an_object_is_refused_with_a_clear_message(services):
    with pytest.raises(FormInvalid) as refused:
        technical_support.file_problem(services, ["not", "a", "record"])
    assert "JSON object" in str(refused.value.fields[""])

"""The rewards and penalties ledger: proposed against a person or team and a case,
approved or rejected by the general manager's office (never by the proposer), listed per
person and month."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from engine import ledger, periods
from engine.errors import AlreadyCompleted, Forbidden
from engine.forms import FormInvalid
from engine.models import AuditEvent
from support.monthly import close_general_case, propose
from support.people import add_user


@pytest.fixture
def inspector(services):
    return add_user(services, "inspector", ["supervisor"])


def listed(services, actor, **filters):
    with services.db.read() as session:
        return ledger.entries(session, actor, ledger.LedgerFilter(**filters))


def test_a_fine_proposed_by_supervision_is_approved_by_the_gm_office_and_listed_per_person(
        desk, services, actors, inspector):
    ticket = desk.file()
    fine = propose(services, inspector, kind="fine", ticket=ticket, person="handler",
                   amount="200", reason="Dispatch acknowledged a day late.")
    assert (fine.status, fine.amount, fine.department, fine.period) == (
        "proposed", Decimal("-200.00"), "quality", "2026-11")
    reward = propose(services, actors["director"], kind="reward_satisfaction", ticket=ticket,
                     person="agent", points=5, amount="300", reason="Customer praised the call.")
    assert (reward.points, reward.amount) == (5, Decimal("300.00"))

    approved = ledger.decide(services, actors["gm"], fine.id, approve=True)
    assert (approved.status, approved.decided_by) == ("approved", "gm")
    rejected = ledger.decide(services, actors["gm"], reward.id, approve=False,
                             note="Praise alone is no satisfaction gain.")
    assert rejected.status == "rejected"

    for_handler = listed(services, actors["gm"], person="handler", period="2026-11")
    assert [e.id for e in for_handler] == [fine.id]
    assert listed(services, actors["gm"], period="2026-10") == []
    assert [e.id for e in listed(services, actors["gm"], status="rejected")] == [reward.id]
    [tally] = ledger.tallies(listed(services, actors["gm"], period="2026-11"))
    assert (tally.person, tally.penalties, tally.amount) == ("handler", 1, Decimal("-200.00"))

    with services.db.read() as session:
        kinds = list(session.execute(select(AuditEvent.kind).where(
            AuditEvent.kind.like("ledger_%")).order_by(AuditEvent.id)).scalars())
    assert kinds == ["ledger_proposed", "ledger_proposed", "ledger_approved", "ledger_rejected"]


def test_nobody_decides_their_own_proposal_and_a_decision_is_final(desk, services, actors):
    ticket = desk.file()
    warning = propose(services, actors["gm"], kind="warning", ticket=ticket,
                      department="logistics", reason="Parcel left in the rain.")
    with pytest.raises(Forbidden):
        ledger.decide(services, actors["gm"], warning.id, approve=True)
    second_gm = add_user(services, "gm2", ["gm_office"], "gm_office")
    ledger.decide(services, second_gm, warning.id, approve=True)
    with pytest.raises(AlreadyCompleted):
        ledger.decide(services, second_gm, warning.id, approve=False, note="Changed my mind")


def test_only_the_gm_office_decides_and_a_rejection_says_why(desk, services, actors):
    entry = propose(services, actors["director"], kind="warning", ticket=desk.file(),
                    person="handler", reason="Late.")
    for name in ("director", "auditor", "head", "admin"):
        with pytest.raises(Forbidden):
            ledger.decide(services, actors[name], entry.id, approve=True)
    with pytest.raises(FormInvalid) as refused:
        ledger.decide(services, actors["gm"], entry.id, approve=False, note=" ")
    assert "note" in refused.value.fields


@pytest.mark.parametrize(("values", "fields"), [
    ({"kind": "bonus", "reason": "x"}, {"kind"}),
    ({"kind": "fine", "person": "handler", "reason": "x"}, {"amount", "ticket"}),
    ({"kind": "performance_points", "person": "nobody-here", "reason": "x", "points": "0"},
     {"person", "points", "ticket"}),
    ({"kind": "reward_best_team", "person": "agent", "reason": "x"}, {"person", "department"}),
    ({"kind": "job_change", "department": "quality", "reason": "x"}, {"person", "ticket"}),
    ({"kind": "warning", "reason": "x", "period": "2026-13"}, {"period", "ticket", "person"}),
    ({"kind": "fine", "person": "handler", "reason": "", "amount": "-5"},
     {"amount", "reason", "ticket"}),
])
def test_a_proposal_names_each_field_to_correct(services, actors, values, fields):
    with pytest.raises(FormInvalid) as refused:
        ledger.propose(services, actors["gm"], values)
    assert set(refused.value.fields) == fields


def test_a_case_one_may_not_see_is_no_case_to_propose_for(desk, services, actors):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")  # dispatched to quality
    with pytest.raises(FormInvalid) as refused:
        propose(services, actors["head"], kind="warning", ticket="2611999999",
                person="handler", reason="x")
    assert set(refused.value.fields) == {"ticket"}
    entry = propose(services, actors["head"], kind="reward_on_time", ticket=ticket,
                    person="handler", reason="Confirmed within minutes.")
    assert entry.department == "quality"
    with pytest.raises(FormInvalid) as refused:  # a head proposes for their own team only
        propose(services, actors["head"], kind="reward_on_time", ticket=ticket,
                person="handler2", reason="x")
    assert set(refused.value.fields) == {"department"}


def test_who_reads_and_who_proposes(desk, services, actors):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")  # dispatched to quality
    for name in ("agent", "handler", "owner", "auditor", "leader", "admin"):
        with pytest.raises(Forbidden):
            propose(services, actors[name], kind="warning", ticket=ticket, person="handler",
                    reason="x")
    propose(services, actors["director"], kind="warning", ticket=ticket, person="handler2",
            reason="Late pickup.")
    propose(services, actors["head"], kind="reward_on_time", ticket=ticket, person="handler",
            reason="Fast.")
    for name in ("agent", "handler", "handler2", "owner"):
        with pytest.raises(Forbidden):
            listed(services, actors[name])
    assert len(listed(services, actors["auditor"])) == 2
    assert [e.person for e in listed(services, actors["head"])] == ["handler"]


def test_closed_cases_without_a_decision_until_one_is_proposed(desk, services, actors, clock):
    first, second = close_general_case(desk), close_general_case(desk)
    start, end = periods.bounds("2026-11")
    with services.db.read() as session:
        closed = ledger.closed_cases(session, start, end)
    assert [(c.ticket, c.decided) for c in closed] == [(first, False), (second, False)]
    propose(services, actors["gm"], kind="reward_on_time", ticket=second, person="handler",
            reason="Every step on time.")
    with services.db.read() as session:
        closed = ledger.closed_cases(session, start, end)
    assert [(c.ticket, c.decided) for c in closed] == [(first, False), (second, True)]

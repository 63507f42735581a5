"""Process scenarios: each branch of the general path, driven through the service layer."""
from __future__ import annotations

from engine import tasks


def worklist_names(services, actor):
    with services.db.read() as session:
        return [(t.ticket, t.name) for t in tasks.worklist(session, actor)]


def test_happy_path_closes_resolved_with_full_history(desk, services, actors):
    ticket = desk.file()
    assert len(ticket) == 10 and ticket.startswith("2611")
    assert desk.open_task_names(ticket) == ["check_record"]
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify")
    desk.do(ticket, "dispatch")

    confirm = desk.task(ticket, "confirm_receipt")
    assert confirm.lane == "dept_handler" and confirm.department == "quality"
    assert confirm.assignee is None
    assert (ticket, "confirm_receipt") in worklist_names(services, actors["handler"])
    assert (ticket, "confirm_receipt") not in worklist_names(services, actors["handler2"])
    case = desk.case(ticket)
    assert case.data["supervisor_copied"] is True

    desk.do(ticket, "confirm_receipt")
    verify = desk.task(ticket, "verify")
    assert verify.assignee == "handler"  # the named handler, not the whole team
    assert (ticket, "verify") not in worklist_names(services, actors["head"])
    desk.do(ticket, "verify")
    desk.do(ticket, "propose_solution")
    assert desk.task(ticket, "approve_solution").lane == "dept_head"
    desk.do(ticket, "approve_solution")
    present = desk.task(ticket, "present_solution")
    assert present.lane == "cs_agent" and present.title == "Present the solution to the customer"
    desk.do(ticket, "present_solution")
    desk.do(ticket, "customer_decision")
    desk.do(ticket, "execute_solution")
    assert desk.open_task_names(ticket) == ["follow_up"]  # the visit opens at once
    result = desk.do(ticket, "follow_up")

    assert result["status"] == "closed" and result["outcome"] == "resolved"
    case = desk.case(ticket)
    assert case.status == "closed" and case.path == "general" and case.open_tasks == []
    assert case.data["measures"] == "Replace the unit and refund shipping."
    assert case.data["satisfaction"] == "satisfied"
    done = [(h.title, h.actor) for h in case.history if h.kind == "task_completed"]
    assert [a for _t, a in done] == ["agent", "agent", "agent", "handler", "handler",
                                     "handler", "head", "agent", "agent", "handler", "agent"]
    assert done[0][0] == "Check the record is complete"
    assert case.history[0].kind == "complaint_filed"
    assert case.history[-1].kind == "case_closed"


def test_missing_facts_supplied_returns_to_the_record_check(desk):
    ticket = desk.file()
    desk.do(ticket, "check_record", record_complete=False,
            missing_facts="Order number and date of purchase")
    supply = desk.task(ticket, "supply_missing_facts")
    assert supply.lane == "customer"
    desk.do(ticket, "supply_missing_facts", supply_decision="supplied",
            supplied_facts="Bought on 2026-11-01, order SO-2611-0042")
    assert desk.open_task_names(ticket) == ["check_record"]
    desk.do(ticket, "check_record")
    assert desk.open_task_names(ticket) == ["classify"]
    history = desk.case(ticket).history
    on_behalf = [h for h in history if h.detail.get("on_behalf_of") == "customer"]
    assert len(on_behalf) == 1  # customer service answered for the customer, recorded as such


def test_missing_facts_refused_ends_the_case_with_the_reason(desk):
    ticket = desk.file()
    desk.do(ticket, "check_record", record_complete=False, missing_facts="Proof of purchase")
    result = desk.do(ticket, "supply_missing_facts", supply_decision="refused",
                     refusal_reason="Customer will not share the receipt")
    assert result["status"] == "closed" and result["outcome"] == "refused_missing_facts"
    case = desk.case(ticket)
    assert case.data["refusal_reason"] == "Customer will not share the receipt"
    assert case.open_tasks == []


def test_not_true_informs_the_customer_and_closes(desk):
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    desk.do(ticket, "verify", verification_result="not_true",
            verification_notes="Delivery photo shows the parcel intact; damage after receipt.")
    inform = desk.task(ticket, "inform_not_true")
    assert inform.lane == "cs_agent"
    result = desk.do(ticket, "inform_not_true", explanation="Damage occurred after delivery.",
                     informed_via="phone")
    assert result["outcome"] == "not_true"
    assert desk.case(ticket).status == "closed"


def test_head_sends_the_solution_back_once(desk):
    ticket = desk.file()
    desk.run_until(ticket, "approve_solution")
    desk.do(ticket, "approve_solution", head_decision="send_back",
            head_comment="Offer a refund option too.")
    task = desk.task(ticket, "propose_solution")
    assert task.assignee == "handler"
    desk.do(ticket, "propose_solution", measures="Replace or refund, customer's choice.")
    desk.do(ticket, "approve_solution")
    assert desk.open_task_names(ticket) == ["present_solution"]
    assert desk.case(ticket).data["measures"] == "Replace or refund, customer's choice."


def test_customer_rejects_twice_then_accepts(desk):
    ticket = desk.file()
    desk.run_until(ticket, "customer_decision")
    for round_ in (1, 2):
        desk.do(ticket, "customer_decision", customer_response="reject",
                customer_comment=f"Not enough, round {round_}")
        assert desk.open_task_names(ticket) == ["propose_solution"]
        desk.do(ticket, "propose_solution")
        desk.do(ticket, "approve_solution")
    desk.do(ticket, "customer_decision", customer_response="partly_accept",
            customer_comment="Fine, but I want it faster")
    assert desk.open_task_names(ticket) == ["execute_solution"]
    assert desk.case(ticket).data["rejection_count"] == 2


def test_three_rejections_escalate_to_the_supervisor(desk, services, actors):
    ticket = desk.file()
    desk.run_until(ticket, "customer_decision")
    for round_ in range(3):
        desk.do(ticket, "customer_decision", customer_response="reject",
                customer_comment="No")
        if round_ < 2:
            desk.do(ticket, "propose_solution")
            desk.do(ticket, "approve_solution")
    escalation = desk.task(ticket, "handle_rejections")
    assert escalation.lane == "cs_supervisor"
    assert (ticket, "handle_rejections") in worklist_names(services, actors["supervisor"])
    assert (ticket, "handle_rejections") not in worklist_names(services, actors["agent"])
    result = desk.do(ticket, "handle_rejections", supervisor_decision="close",
                     supervisor_note="Goodwill voucher offered; customer still refuses.")
    assert result["outcome"] == "closed_after_escalation"


def test_escalation_can_send_the_case_back_to_renegotiate(desk):
    ticket = desk.file()
    desk.run_until(ticket, "customer_decision")
    for round_ in range(3):
        desk.do(ticket, "customer_decision", customer_response="reject", customer_comment="No")
        if round_ < 2:
            desk.do(ticket, "propose_solution")
            desk.do(ticket, "approve_solution")
    desk.do(ticket, "handle_rejections", supervisor_decision="renegotiate",
            supervisor_note="Try a full refund.")
    assert desk.open_task_names(ticket) == ["propose_solution"]


def test_follow_up_new_problem_starts_a_linked_complaint(desk):
    ticket = desk.file()
    desk.run_until(ticket, "follow_up")
    result = desk.do(ticket, "follow_up", satisfaction="fairly_satisfied", new_problem=True,
                     new_problem_description="The replacement's remote control is missing.")
    child = result["linked_ticket"]
    assert child and child != ticket
    parent_case = desk.case(ticket)
    assert parent_case.status == "closed" and parent_case.linked_tickets == [child]
    child_case = desk.case(child)
    assert child_case.parent_ticket == ticket
    assert child_case.record["description"] == "The replacement's remote control is missing."
    assert child_case.record["customer_phone"] == "13800138000"
    assert [t.name for t in child_case.open_tasks] == ["check_record"]


def test_forms_prefill_facts_but_not_the_last_rounds_decisions(desk, services, actors):
    from engine import runtime
    ticket = desk.file()
    desk.run_until(ticket, "approve_solution")
    desk.do(ticket, "approve_solution", head_decision="send_back", head_comment="Cheaper")
    proposal = runtime.task_detail(services, actors["handler"],
                                   desk.task(ticket, "propose_solution").id)
    assert proposal.values["measures"] == "Replace the unit and refund shipping."
    desk.do(ticket, "propose_solution")
    approval = runtime.task_detail(services, actors["head"],
                                   desk.task(ticket, "approve_solution").id)
    assert "head_decision" not in approval.values and "head_comment" not in approval.values


def test_the_supervisor_is_copied_on_dispatch(desk, services, actors):
    from engine import notifications
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify")
    with services.db.read() as session:
        assert notifications.for_actor(session, actors["supervisor"]) == []
    desk.do(ticket, "dispatch")
    with services.db.read() as session:
        [notice] = notifications.for_actor(session, actors["supervisor"])
        assert notice.ticket == ticket
        assert notice.subject == f"Complaint {ticket} was dispatched to quality"
        assert notifications.for_actor(session, actors["handler"]) == []


def test_a_media_attention_emergency_on_the_general_path_alerts_the_leadership_group(
        desk, services, actors):
    from engine import notifications
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify", media_attention=True)
    case = desk.case(ticket)
    assert case.path == "general" and case.data["emergency"] is True
    assert desk.open_task_names(ticket) == ["dispatch"]
    with services.db.read() as session:
        [notice] = notifications.for_actor(session, actors["leader"])
    assert notice.ticket == ticket and notice.subject.startswith(
        f"Emergency: complaint {ticket} needs the leadership group now")
    assert "possible media attention" in notice.subject


def test_an_ordinary_general_complaint_alerts_nobody_in_leadership(desk, services, actors):
    from engine import notifications
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    assert desk.case(ticket).data["emergency"] is False
    with services.db.read() as session:
        assert notifications.for_actor(session, actors["leader"]) == []

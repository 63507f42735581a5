"""The customer's own pages: public intake, the private status page, answering, withdrawing."""
from __future__ import annotations

from support.desk import RECORD
from support.pages import CUSTOMER_FORM, file_online, post


def test_a_customer_files_online_and_follows_the_complaint(client, desk):
    page = client.get("/complaint").get_data(as_text=True)
    assert 'name="customer_name"' in page and 'name="channel"' not in page
    assert 'name="grade"' not in page
    ticket, token = file_online(client)
    assert ticket not in token and len(token) >= 40
    case = desk.case(ticket)
    assert case.record["channel"] == "web" and case.record["customer_name"] == "Wang Lei"
    status = client.get(f"/status/{token}").get_data(as_text=True)
    assert "We have received your complaint and are reviewing it" in status
    assert "Complaint received" in status
    assert client.get("/complaint/filed").status_code == 302  # the link is shown only once


def test_bad_intake_keeps_the_input_and_bots_are_refused(client, desk):
    bad = {**CUSTOMER_FORM, "customer_name": "<script>alert(1)</script>", "amount": "lots",
           "description": ""}
    response = post(client, "/complaint", bad, "/complaint")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "Enter a number." in html
    bot = post(client, "/complaint", {**CUSTOMER_FORM, "fax_number": "123"}, "/complaint")
    assert bot.status_code == 400 and 'value="Wang Lei"' in bot.get_data(as_text=True)
    assert client.post("/complaint", data=CUSTOMER_FORM).status_code == 400  # no CSRF token


def test_wrong_or_guessed_links_reveal_nothing(client, desk):
    ticket, token = file_online(client)
    for guess in (ticket, token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 43, "0"):
        response = client.get(f"/status/{guess}")
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert ticket not in body and "Wang Lei" not in body


def test_the_customer_supplies_missing_facts_on_the_status_page(client, desk, services):
    ticket, token = file_online(client)
    desk.do(ticket, "check_record", record_complete=False, missing_facts="Your order number")
    page = client.get(f"/status/{token}").get_data(as_text=True)
    assert "We need a few more facts from you" in page
    task = desk.task(ticket, "supply_missing_facts")
    response = post(client, f"/status/{token}/tasks/{task.id}",
                    {"supply_decision": "supplied", "supplied_facts": "SO-2611-0042"},
                    f"/status/{token}")
    assert response.status_code == 302
    assert desk.open_task_names(ticket) == ["check_record"]
    answered = [h for h in desk.case(ticket).history if h.kind == "task_completed"][-1]
    assert answered.actor == "customer" and answered.detail["on_behalf_of"] == "self"
    # Staff-side tasks cannot be answered through the customer's link.
    staff_task = desk.task(ticket, "check_record")
    response = post(client, f"/status/{token}/tasks/{staff_task.id}",
                    {"record_complete": "true"}, f"/status/{token}")
    assert response.status_code == 404
    assert desk.open_task_names(ticket) == ["check_record"]


def test_the_customer_rejects_a_solution_with_a_reason(client, desk):
    ticket, token = file_online(client)
    desk.run_until(ticket, "customer_decision")
    task = desk.task(ticket, "customer_decision")
    page = client.get(f"/status/{token}").get_data(as_text=True)
    assert "Our proposed solution" in page and "Replace the unit and refund shipping." in page
    assert "urgent: 6 hours" not in page  # the staff's instructions stay with the staff
    missing = post(client, f"/status/{token}/tasks/{task.id}",
                   {"customer_response": "reject"}, f"/status/{token}")
    assert missing.status_code == 422 and "This field is required." in missing.get_data(as_text=True)
    done = post(client, f"/status/{token}/tasks/{task.id}",
                {"customer_response": "reject", "customer_comment": "I want a refund",
                 "measures": "A free car"},  # a shown-only field sent back altered
                f"/status/{token}")
    assert done.status_code == 302
    assert desk.open_task_names(ticket) == ["propose_solution"]
    data = desk.case(ticket).data
    assert data["customer_comment"] == "I want a refund"
    assert data["measures"] == "Replace the unit and refund shipping."


def test_the_customer_withdraws(client, desk):
    ticket, token = file_online(client)
    refused = post(client, f"/status/{token}/withdraw", {"reason": " "}, f"/status/{token}")
    assert refused.status_code == 422
    post(client, f"/status/{token}/withdraw", {"reason": "Solved it myself"}, f"/status/{token}")
    case = desk.case(ticket)
    assert case.status == "cancelled" and case.outcome == "withdrawn" and case.open_tasks == []
    page = client.get(f"/status/{token}").get_data(as_text=True)
    assert "You withdrew the complaint" in page and "Withdraw your complaint" not in page


def test_an_acknowledgement_with_the_private_link_is_mailed(client, desk, services):
    from sqlalchemy import select
    from engine.models import OutboxMessage
    ticket, token = file_online(client)
    with services.db.read() as session:
        # The customer gets exactly one mail; the agents are told of the new task apart.
        [mail] = session.execute(select(OutboxMessage).where(
            OutboxMessage.to_address == RECORD["customer_email"])).scalars()
    assert mail.subject == f"Complaint {ticket} received"
    assert f"/status/{token}" in mail.body_text
    assert client.get(mail.body_text.split("http://127.0.0.1:5000", 1)[1].split()[0]).status_code == 200


def test_the_customer_answers_the_follow_up_visit_online(client, desk):
    ticket, token = file_online(client)
    desk.run_until(ticket, "follow_up")
    page = client.get(f"/status/{token}").get_data(as_text=True)
    assert "How satisfied are you with how we handled your complaint?" in page
    task = desk.task(ticket, "follow_up")
    unclear = post(client, f"/status/{token}/tasks/{task.id}",
                   {"satisfaction_score": "2", "problem_solved": "false"}, f"/status/{token}")
    assert unclear.status_code == 422  # not solved: say what is still wrong
    assert "This field is required." in unclear.get_data(as_text=True)
    done = post(client, f"/status/{token}/tasks/{task.id}",
                {"satisfaction_score": "2", "problem_solved": "false",
                 "follow_up_comment": "The new unit rattles too."}, f"/status/{token}")
    assert done.status_code == 302
    case = desk.case(ticket)
    assert case.status == "closed"
    assert case.data["satisfaction"] == "not_satisfied" and case.data["satisfaction_score"] == 2
    assert case.data["follow_up_channel"] == "web"
    linked = case.data["linked_ticket"]  # the unsolved problem is a new complaint
    assert desk.case(linked).data["description"] == "The new unit rattles too."
    completed = [h for h in case.history if h.kind == "task_completed"]
    assert completed[-1].actor == "customer"


def test_a_satisfied_customer_closes_the_case_online(client, desk):
    ticket, token = file_online(client)
    desk.run_until(ticket, "follow_up")
    task = desk.task(ticket, "follow_up")
    done = post(client, f"/status/{token}/tasks/{task.id}",
                {"satisfaction_score": "5", "problem_solved": "true"}, f"/status/{token}")
    assert done.status_code == 302
    case = desk.case(ticket)
    assert case.status == "closed" and case.data["satisfaction"] == "satisfied"
    assert "linked_ticket" not in case.data or not case.data["linked_ticket"]

"""The e-mails people get as a case moves: new tasks, a proposed solution, the closing."""
from __future__ import annotations

from sqlalchemy import select, update

from engine.models import OutboxMessage, ProcessInstance

CUSTOMER = "wang.lei@example.com"


def mails(services, ticket: str) -> list[OutboxMessage]:
    with services.db.read() as session:
        return list(session.execute(
            select(OutboxMessage).join(ProcessInstance,
                                       ProcessInstance.id == OutboxMessage.instance_id)
            .where(ProcessInstance.ticket == ticket).order_by(OutboxMessage.id)).scalars())


def new_mails(services, ticket: str, seen: int) -> list[OutboxMessage]:
    return mails(services, ticket)[seen:]


def test_a_team_queue_task_is_mailed_to_that_team_only(desk, services):
    ticket = desk.file()
    desk.do(ticket, "check_record")
    desk.do(ticket, "classify")
    before = len(mails(services, ticket))
    desk.do(ticket, "dispatch")
    sent = new_mails(services, ticket, before)
    to = {m.to_address for m in sent if m.subject.startswith("New task")}
    # The quality department's queue: the handler and the head (who also handles);
    # the logistics handler is not told about another department's case.
    assert to == {"handler@example.com", "head@example.com"}
    mail = next(m for m in sent if m.to_address == "handler@example.com")
    assert ticket in mail.subject and "Confirm" in mail.subject
    assert "claim it" in mail.body_text and "/tasks/" in mail.body_text
    assert "Due: " in mail.body_text


def test_an_assigned_task_is_mailed_to_its_person_alone(desk, services):
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")
    before = len(mails(services, ticket))
    desk.do(ticket, "confirm_receipt")  # names the handler who verifies
    sent = [m for m in new_mails(services, ticket, before) if m.subject.startswith("New task")]
    assert [m.to_address for m in sent] == ["handler@example.com"]
    assert "assigned to you" in sent[0].body_text


def test_the_customer_gets_the_proposed_solution_and_the_closing(desk, services):
    ticket = desk.file()
    desk.run_until(ticket, "present_solution")
    before = len(mails(services, ticket))
    desk.do(ticket, "present_solution")  # customer service presents it, the mail confirms it
    to_customer = [m for m in new_mails(services, ticket, before) if m.to_address == CUSTOMER]
    assert len(to_customer) == 1
    assert to_customer[0].subject == f"Our proposed solution for complaint {ticket}"
    assert "Replace the unit and refund shipping." in to_customer[0].body_text

    desk.run_until(ticket, "follow_up")
    before = len(mails(services, ticket))
    desk.do(ticket, "follow_up")
    closing = [m for m in new_mails(services, ticket, before) if m.to_address == CUSTOMER]
    assert [m.subject for m in closing] == [f"Complaint {ticket} is closed"]


def test_customer_mails_are_in_the_customer_language(desk, services):
    ticket = desk.file()
    with services.db.write() as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.ticket == ticket)
                        .values(customer_locale="zh"))
    desk.run_until(ticket, "present_solution")
    before = len(mails(services, ticket))
    desk.do(ticket, "present_solution")  # customer service presents it, the mail confirms it
    to_customer = [m for m in new_mails(services, ticket, before) if m.to_address == CUSTOMER]
    assert to_customer[0].subject == f"关于投诉 {ticket} 的解决方案"
    assert "尊敬的 Wang Lei" in to_customer[0].body_text


def test_staff_mails_follow_the_user_language_and_zone(desk, services):
    from engine.directory import find_user, set_preferences
    with services.db.write() as session:
        set_preferences(session, find_user(session, "handler").id, locale="zh",
                        timezone="Europe/Berlin")
    ticket = desk.file()
    desk.run_until(ticket, "dispatch")
    before = len(mails(services, ticket))
    desk.do(ticket, "dispatch")
    mail = next(m for m in new_mails(services, ticket, before)
                if m.to_address == "handler@example.com")
    assert mail.subject.startswith("新任务")
    assert "Europe/Berlin" in mail.body_text

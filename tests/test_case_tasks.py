"""Which of a case's tasks a person may work, as the engine answers it for one case and
the case page offers it."""
from __future__ import annotations


from engine import tasks
from support.pages import Visitor


def workable(desk, username: str, ticket: str) -> set[str]:
    with desk.services.db.read() as session:
        return tasks.workable_on_case(session, desk.actors[username], ticket)


def test_the_queue_works_an_unclaimed_task_and_only_its_holder_a_claimed_one(desk):
    ticket = desk.file()
    task = desk.task(ticket, "check_record")
    assert workable(desk, "agent", ticket) == {task.id}
    assert workable(desk, "supervisor", ticket) == {task.id}  # also a customer-service agent
    for outsider in ("director", "auditor", "handler"):
        assert workable(desk, outsider, ticket) == set()
    with desk.services.db.write() as session:
        tasks.claim(session, desk.actors["agent"], task.id, desk.services.now())
    assert workable(desk, "agent", ticket) == {task.id}
    assert workable(desk, "supervisor", ticket) == set()


def test_only_this_cases_tasks_are_answered(desk):
    first, second = desk.file(), desk.file(customer_name="Zhao Li")
    assert workable(desk, "agent", first) == {desk.task(first, "check_record").id}
    assert workable(desk, "agent", second) == {desk.task(second, "check_record").id}
    assert workable(desk, "agent", "2611999999") == set()


def test_the_case_page_offers_work_on_the_tasks_the_reader_may_work(app, desk):
    ticket = desk.file()
    link = f'href="/tasks/{desk.task(ticket, "check_record").id}"'
    assert link in Visitor(app, "agent").get(f"/cases/{ticket}").get_data(as_text=True)
    director_page = Visitor(app, "director").get(f"/cases/{ticket}")
    assert director_page.status_code == 200
    assert link not in director_page.get_data(as_text=True)

"""The author of a CAPA plan cannot approve it: through the web pages and the API too
(the service-call case is in test_major_path)."""
from __future__ import annotations

import pytest

from support.desk import GOOD
from support.major_path import file_major, row, to_plan, work
from support.pages import csrf, signed_in
from support.people import add_user


@pytest.fixture
def authored(desk, services):
    """A plan written by 'wei', who also holds both approving roles."""
    add_user(services, "wei", ["dept_handler", "cs_director", "gm_office"], "quality")
    ticket = file_major(desk)
    to_plan(desk, ticket)
    with services.db.read() as session:
        from engine.directory import actor_of, find_user
        wei = actor_of(find_user(session, "wei"))
    work(desk, ticket, "capa_plan", wei)
    return ticket


def test_the_author_is_refused_on_the_web_pages(app, desk, authored):
    client = signed_in(app, "wei", password="secret-pw")
    inbox = client.get("/").get_data(as_text=True)
    assert "Approve the CAPA plan" not in inbox
    token = csrf(inbox)
    for name in ("approve_plan_director", "approve_plan_gm"):
        task = row(desk, authored, name)
        page = client.get(f"/tasks/{task.id}")
        assert page.status_code == 403
        assert "Separation of duties" in page.get_data(as_text=True)
        refused = client.post(f"/tasks/{task.id}", data={**GOOD[name], "csrf_token": token})
        assert refused.status_code == 403
    assert sorted(t.name for t in desk.case(authored).open_tasks) == [
        "approve_plan_director", "approve_plan_gm"]


def test_the_author_is_refused_by_the_api(client, desk, authored):
    response = client.post("/api/v1/token", json={"username": "wei", "password": "secret-pw"})
    headers = {"Authorization": f"Bearer {response.get_json()['token']}"}
    listed = client.get("/api/v1/tasks", headers=headers).get_json()["tasks"]
    assert not [t for t in listed if t["name"].startswith("approve_plan")]
    for name in ("approve_plan_director", "approve_plan_gm"):
        task = row(desk, authored, name)
        refused = client.post(f"/api/v1/tasks/{task.id}", json=GOOD[name], headers=headers)
        assert refused.status_code == 403
        assert "Separation of duties" in refused.get_json()["error"]
    director = client.post("/api/v1/token", json={"username": "director", "password": "demo"})
    allowed = client.post(f"/api/v1/tasks/{row(desk, authored, 'approve_plan_director').id}",
                          json=GOOD["approve_plan_director"],
                          headers={"Authorization": f"Bearer {director.get_json()['token']}"})
    assert allowed.status_code == 200


def test_a_head_who_proposed_the_solution_cannot_approve_it_and_the_director_does(
        desk, services, actors):
    from engine.errors import Forbidden
    ticket = desk.file()
    desk.run_until(ticket, "confirm_receipt")
    desk.do(ticket, "confirm_receipt", handler="head")
    desk.do(ticket, "verify", user="head")
    desk.do(ticket, "propose_solution", user="head")
    approval = desk.task(ticket, "approve_solution")
    # The head is the quality department's only head: the approval goes one level up.
    assert (approval.role, approval.department) == ("cs_director", None)
    with pytest.raises(Forbidden):
        desk.do(ticket, "approve_solution", user="head")
    case = desk.case(ticket)
    [moved] = [h for h in case.history if h.kind == "approval_moved_up"]
    assert moved.detail["author"] == "head" and moved.detail["to_role"] == "cs_director"
    assert moved.title == "Approval moved one level up: its author may not approve it"
    desk.do(ticket, "approve_solution", user="director")
    assert desk.open_task_names(ticket) == ["present_solution"]


def test_a_solution_proposed_by_the_handler_stays_with_the_head(desk):
    ticket = desk.file()
    desk.run_until(ticket, "approve_solution")
    approval = desk.task(ticket, "approve_solution")
    assert (approval.role, approval.department) == ("dept_head", "quality")
    assert [h for h in desk.case(ticket).history if h.kind == "approval_moved_up"] == []


def test_acceptance_of_work_its_only_director_did_goes_to_the_gm_office(desk, services):
    from sqlalchemy import update
    from engine.directory import actor_of, find_user
    from engine.errors import Forbidden
    from engine.models import User
    from support.major_path import to_execution
    add_user(services, "wei", ["dept_handler", "cs_director"], "quality")
    with services.db.write() as session:
        session.execute(update(User).where(User.username == "director").values(active=False))
        wei = actor_of(find_user(session, "wei"))
    ticket = file_major(desk)
    to_execution(desk, ticket)
    work(desk, ticket, "execute_capa", wei)
    acceptance = row(desk, ticket, "inspect_capa")
    assert (acceptance.role, acceptance.department) == ("gm_office", None)
    with pytest.raises(Forbidden):
        work(desk, ticket, "inspect_capa", wei)
    [moved] = [h for h in desk.case(ticket).history if h.kind == "approval_moved_up"]
    assert (moved.detail["author"], moved.detail["from_role"]) == ("wei", "cs_director")
    work(desk, ticket, "inspect_capa", desk.actors["gm"])
    assert row(desk, ticket, "compile_final_report")

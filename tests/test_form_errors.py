"""A form or API body with several errors names every one of them, per field, in one
answer (and on a page in the reader's language): nobody fixes a form one field a try."""
from __future__ import annotations

import re

FIELD_ERROR = re.compile(r'id="f-([A-Za-z0-9_-]+)-error"')
INTAKE_REQUIRED = {"customer_name", "product", "description", "demand"}
PROPOSAL_REQUIRED = {"measures", "solution_deadline", "responsible_person"}


def fields_in_error(page: str) -> set[str]:
    return set(FIELD_ERROR.findall(page))


def staff_token(client, username: str) -> dict:
    response = client.post("/api/v1/token", json={"username": username, "password": "demo"})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_an_empty_registration_names_every_missing_field(visitor):
    agent = visitor("agent")
    response = agent.post("/register", {"channel": "hotline"}, token_from="/register")
    assert response.status_code == 422
    assert fields_in_error(response.get_data(as_text=True)) >= INTAKE_REQUIRED


def test_an_empty_public_form_names_every_missing_field_in_chinese(visitor):
    customer = visitor(accept_language="zh-CN")
    response = customer.post("/complaint", {}, token_from="/complaint")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert fields_in_error(page) >= INTAKE_REQUIRED
    assert page.count("此项为必填项。") >= len(INTAKE_REQUIRED)


def test_a_task_form_names_every_missing_field(visitor, desk):
    ticket = desk.file()
    desk.run_until(ticket, "propose_solution")
    task = desk.task(ticket, "propose_solution")
    response = visitor("handler").post(f"/tasks/{task.id}", {"root_cause": "Worn bearing"},
                                       token_from=f"/tasks/{task.id}")
    assert response.status_code == 422
    assert fields_in_error(response.get_data(as_text=True)) == PROPOSAL_REQUIRED


def test_the_api_names_every_missing_field_of_a_record(client):
    response = client.post("/api/v1/complaints", json={"amount": -1})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) >= INTAKE_REQUIRED | {"amount"}


def test_the_api_names_every_missing_field_of_a_task(client, desk):
    ticket = desk.file()
    desk.run_until(ticket, "propose_solution")
    task = desk.task(ticket, "propose_solution")
    response = client.post(f"/api/v1/tasks/{task.id}", json={},
                           headers=staff_token(client, "handler"))
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == PROPOSAL_REQUIRED



def test_a_receipt_time_in_the_future_is_named_beside_the_records_other_errors(client):
    from support.desk import RECORD
    record = {**RECORD, "received_at": "2026-11-26T10:00:00+08:00"}
    del record["product"]
    response = client.post("/api/v1/complaints", json=record,
                           headers=staff_token(client, "agent"))
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"product", "received_at"}

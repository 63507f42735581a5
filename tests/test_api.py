"""JSON API: every status code, the documented shapes, concurrent completion."""
from __future__ import annotations

import threading

import pytest
from engine.intake import customer_may_set
from support.api import matches, openapi_document, token
from support.desk import GOOD, RECORD

# What a customer (no registering token) may send: staff-only fields are refused.
CUSTOMER_RECORD = {k: v for k, v in RECORD.items() if customer_may_set(k)}


@pytest.fixture
def openapi(client):
    return openapi_document(client)


def file(client, headers=None, **overrides) -> str:
    record = RECORD if headers else CUSTOMER_RECORD
    response = client.post("/api/v1/complaints", json={**record, **overrides}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["ticket"]


def open_task(client, headers, ticket, name) -> dict:
    case = client.get(f"/api/v1/complaints/{ticket}", headers=headers).get_json()
    [task] = [t for t in case["open_tasks"] if t["name"] == name]
    return task


def advance(client, ticket, steps):
    """Complete the named tasks in order with their usual data, each by its worker."""
    from support.desk import WORKER
    for name in steps:
        headers = token(client, WORKER[name])
        task = open_task(client, headers, ticket, name)
        response = client.post(f"/api/v1/tasks/{task['id']}", json=GOOD[name], headers=headers)
        assert response.status_code == 200, response.get_json()


def test_openapi_documents_every_api_route(app, openapi):
    documented = set(openapi["paths"])
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") or rule.rule == "/healthz":
            routed.add(rule.rule.replace("<", "{").replace(">", "}"))
            methods = {m.lower() for m in rule.methods} - {"head", "options"}
            path = rule.rule.replace("<", "{").replace(">", "}")
            assert methods <= set(openapi["paths"].get(path, {})), (path, methods)
    assert routed == documented
    record = openapi["components"]["schemas"]["ComplaintRecord"]
    for field in ("amount", "urgency", "grade", "spread_risk", "legal_threat",
                  "routine_solvable", "customer_name", "description"):
        assert field in record["properties"]


def test_token_issued_for_good_credentials_and_refused_otherwise(client, openapi):
    response = client.post("/api/v1/token", json={"username": "agent", "password": "demo"})
    assert response.status_code == 200
    matches(openapi, "Token", response.get_json())
    for body in ({"username": "agent", "password": "wrong"},
                 {"username": "nobody", "password": "demo"}, {}, None):
        response = client.post("/api/v1/token", json=body)
        assert response.status_code == 401
        matches(openapi, "Error", response.get_json())


def test_public_intake_files_a_web_complaint(client, openapi):
    response = client.post("/api/v1/complaints",
                           json={**CUSTOMER_RECORD, "channel": "hotline",
                                 "received_at": "2020-01-01T00:00:00+08:00"})
    assert response.status_code == 201
    body = response.get_json()
    matches(openapi, "Filed", body)
    assert body["status_token"] not in body["ticket"]
    case = client.get(f"/api/v1/complaints/{body['ticket']}",
                      headers=token(client, "agent")).get_json()
    # The public channel cannot choose its channel or back-date the receipt.
    assert case["record"]["channel"] == "web"
    assert not case["record"]["received_at"].startswith("2020")
    matches(openapi, "Complaint", case)


def test_staff_intake_sets_channel_and_receipt_time(client):
    headers = token(client, "agent")
    ticket = file(client, headers, channel="counter", received_at="2026-11-25T09:15:00+08:00")
    case = client.get(f"/api/v1/complaints/{ticket}", headers=headers).get_json()
    assert case["record"]["channel"] == "counter"
    assert case["record"]["received_at"] == "2026-11-25T09:15:00+08:00"


def test_intake_errors_are_listed_per_field(client, openapi):
    bad = {**RECORD, "amount": "lots", "urgency": "extreme"}
    del bad["customer_name"]
    response = client.post("/api/v1/complaints", json=bad)
    assert response.status_code == 422
    body = response.get_json()
    matches(openapi, "Error", body)
    assert set(body["fields"]) >= {"customer_name", "amount", "urgency"}
    response = client.post("/api/v1/complaints", data="not json",
                           content_type="application/json")
    assert response.status_code == 422
    response = client.post("/api/v1/complaints", json=["a", "list"])
    assert response.status_code == 422


def test_staff_calls_need_a_valid_token(client):
    ticket = file(client)
    for path in (f"/api/v1/complaints/{ticket}", "/api/v1/tasks", "/api/v1/tasks/x"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.post("/api/v1/tasks/x", json={}).status_code == 401


def test_complaint_view_and_unknown_ticket(client, openapi):
    headers = token(client, "agent")
    ticket = file(client)
    response = client.get(f"/api/v1/complaints/{ticket}", headers=headers)
    assert response.status_code == 200
    case = response.get_json()
    matches(openapi, "Complaint", case)
    assert case["status"] == "open" and case["path"] is None
    assert [t["name"] for t in case["open_tasks"]] == ["check_record"]
    assert case["open_tasks"][0]["due_at"] is None
    assert client.get("/api/v1/complaints/2611999999", headers=headers).status_code == 404


def test_department_staff_see_only_their_departments_cases(client):
    ticket = file(client)
    advance(client, ticket, ["check_record", "classify", "dispatch"])
    assert client.get(f"/api/v1/complaints/{ticket}",
                      headers=token(client, "handler")).status_code == 200
    response = client.get(f"/api/v1/complaints/{ticket}", headers=token(client, "handler2"))
    assert response.status_code == 404
    assert ticket not in response.get_data(as_text=True)


def test_task_list_detail_and_completion(client, openapi):
    ticket = file(client)
    headers = token(client, "agent")
    listing = client.get("/api/v1/tasks", headers=headers).get_json()
    matches(openapi, "TaskList", listing)
    [task] = [t for t in listing["tasks"] if t["ticket"] == ticket]
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=headers)
    assert detail.status_code == 200
    matches(openapi, "TaskWithSchema", detail.get_json())
    assert "record_complete" in detail.get_json()["schema"]["properties"]
    done = client.post(f"/api/v1/tasks/{task['id']}", json={"record_complete": True},
                       headers=headers)
    assert done.status_code == 200
    matches(openapi, "Completion", done.get_json())
    again = client.post(f"/api/v1/tasks/{task['id']}", json={"record_complete": True},
                        headers=headers)
    assert again.status_code == 409
    matches(openapi, "Error", again.get_json())
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=headers).status_code == 409
    # Completing an unassigned queue task claims it for the person who did it.
    case = client.get(f"/api/v1/complaints/{ticket}", headers=headers).get_json()
    assert case["history"][-1]["actor"] == "agent"


def test_completion_errors(client, openapi):
    ticket = file(client)
    advance(client, ticket, ["check_record", "classify"])
    agent = token(client, "agent")
    task = open_task(client, agent, ticket, "dispatch")
    assert task["due_at"].startswith("2026-11-25T03:00")  # 1 business hour after receipt
    wrong = client.post(f"/api/v1/tasks/{task['id']}",
                        json={"department": "no_such_department", "dispatch_note": 5},
                        headers=agent)
    assert wrong.status_code == 422
    assert set(wrong.get_json()["fields"]) >= {"department", "dispatch_note"}
    not_mine = client.post(f"/api/v1/tasks/{task['id']}", json=GOOD["dispatch"],
                           headers=token(client, "handler"))
    assert not_mine.status_code == 403
    assert client.get(f"/api/v1/tasks/{task['id']}",
                      headers=token(client, "handler")).status_code == 403
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "1"):
        response = client.post(f"/api/v1/tasks/{unknown}", json={}, headers=agent)
        assert response.status_code == 404
        matches(openapi, "Error", response.get_json())
    # Nothing changed: the task is still there, still unassigned.
    assert open_task(client, agent, ticket, "dispatch")["assignee"] is None


def test_other_department_cannot_complete_a_department_task(client):
    ticket = file(client)
    advance(client, ticket, ["check_record", "classify", "dispatch"])
    handler = token(client, "handler")
    task = open_task(client, handler, ticket, "confirm_receipt")
    outsider = token(client, "handler2")
    assert task["id"] not in [t["id"] for t in
                              client.get("/api/v1/tasks", headers=outsider).get_json()["tasks"]]
    response = client.post(f"/api/v1/tasks/{task['id']}", json=GOOD["confirm_receipt"],
                           headers=outsider)
    assert response.status_code == 403


def test_two_concurrent_completions_one_wins(app):
    client = app.test_client()
    ticket = file(client)
    headers = token(client, "agent")
    task = open_task(client, headers, ticket, "check_record")
    barrier = threading.Barrier(2)
    statuses = []

    def complete():
        own = app.test_client()
        barrier.wait()
        response = own.post(f"/api/v1/tasks/{task['id']}", json={"record_complete": True},
                            headers=headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    case = client.get(f"/api/v1/complaints/{ticket}", headers=headers).get_json()
    assert [t["name"] for t in case["open_tasks"]] == ["classify"]
    completions = [h for h in case["history"] if h["kind"] == "task_completed"]
    assert len(completions) == 1


def test_healthz(client, openapi):
    response = client.get("/healthz")
    assert response.status_code == 200
    matches(openapi, "Health", response.get_json())

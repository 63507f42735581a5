"""The intake rules the engine owns, seen through both channels (the pages and the API):
who registers complaints for customers, and which fields a customer may set."""
from __future__ import annotations

import pytest

from engine.directory import create_user
from support.desk import RECORD
from support.pages import Visitor

# A phone complaint as customer service types it in.
PHONE_RECORD = {**RECORD, "channel": "counter", "received_at": "2026-11-25T09:15:00+08:00"}


def api_token(client, username: str) -> dict:
    response = client.post("/api/v1/token", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def filed_record(client, ticket: str) -> dict:
    case = client.get(f"/api/v1/complaints/{ticket}", headers=api_token(client, "auditor"))
    assert case.status_code == 200
    return case.get_json()["record"]


@pytest.fixture
def lead(services):
    """A customer-service supervisor who is not also an agent."""
    with services.db.write() as session:
        create_user(session, "lead", "demo", ["cs_supervisor"], department="customer_service")
    return "lead"


# --------------------------------------------------------------------------- registering

@pytest.mark.parametrize("username", ["agent", "lead", "admin"])
def test_customer_service_registers_through_the_api(client, lead, username):
    response = client.post("/api/v1/complaints", json=PHONE_RECORD,
                           headers=api_token(client, username))
    assert response.status_code == 201, response.get_json()
    record = filed_record(client, response.get_json()["ticket"])
    assert record["channel"] == "counter"
    assert record["received_at"] == "2026-11-25T09:15:00+08:00"


@pytest.mark.parametrize("username", ["agent", "lead", "admin"])
def test_customer_service_registers_on_the_page(app, lead, username):
    visitor = Visitor(app, username)
    assert visitor.get("/register").status_code == 200
    page = visitor.get("/").get_data(as_text=True)
    assert 'href="/register"' in page


@pytest.mark.parametrize("username", ["handler", "head", "director"])
def test_other_staff_do_not_register(app, client, username):
    visitor = Visitor(app, username)
    assert visitor.get("/register").status_code == 403
    assert 'href="/register"' not in visitor.get("/").get_data(as_text=True)
    # Through the API their complaint is a customer's: channel and time set on receipt.
    customer_part = {k: v for k, v in PHONE_RECORD.items()
                     if k not in {"urgency", "spread_risk", "legal_threat", "routine_solvable"}}
    response = client.post("/api/v1/complaints", json=customer_part,
                           headers=api_token(client, username))
    assert response.status_code == 201, response.get_json()
    record = filed_record(client, response.get_json()["ticket"])
    assert record["channel"] == "web"
    assert record["received_at"] != "2026-11-25T09:15:00+08:00"

"""The intake rules the engine owns, seen through both channels (the pages and the API):
who registers complaints for customers, and which fields a customer may set."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import intake
from engine.directory import create_user
from engine.models import ProcessInstance
from support.desk import RECORD
from support.pages import Visitor, filed

# A phone complaint as customer service types it in.
PHONE_RECORD = {**RECORD, "channel": "counter", "received_at": "2026-11-25T09:15:00+08:00"}
# What a customer sends: everything they may set, nothing else.
CUSTOMER_RECORD = {k: v for k, v in RECORD.items() if intake.customer_may_set(k)}


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
    response = client.post("/api/v1/complaints", json={**CUSTOMER_RECORD, **{
        k: PHONE_RECORD[k] for k in ("channel", "received_at")}},
                           headers=api_token(client, username))
    assert response.status_code == 201, response.get_json()
    record = filed_record(client, response.get_json()["ticket"])
    assert record["channel"] == "web"
    assert record["received_at"] != "2026-11-25T09:15:00+08:00"


# --------------------------------------------------------------------------- customer fields

def case_count(services) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count(ProcessInstance.id))).scalar_one()


def test_a_customer_cannot_grade_their_own_complaint_through_the_api(client, services):
    before = case_count(services)
    response = client.post("/api/v1/complaints",
                           json={**CUSTOMER_RECORD, "grade": "A", "urgency": "urgent"})
    assert response.status_code == 422
    body = response.get_json()
    assert set(body) == {"error", "fields"}
    assert set(body["fields"]) == {"grade", "urgency"}
    assert body["fields"]["grade"] == "Only customer service sets this field."
    assert case_count(services) == before  # nothing was filed


def test_every_problem_is_named_in_one_answer(client):
    record = {**CUSTOMER_RECORD, "spread_risk": True, "employee_number": "E-7",
              "amount": "lots"}
    del record["customer_name"]
    response = client.post("/api/v1/complaints", json=record)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {
        "spread_risk", "employee_number", "amount", "customer_name"}


def test_a_customer_may_leave_staff_fields_empty(client):
    response = client.post("/api/v1/complaints",
                           json={**CUSTOMER_RECORD, "grade": None, "urgency": None})
    assert response.status_code == 201, response.get_json()


def test_staff_who_do_not_register_send_what_a_customer_may(client):
    response = client.post("/api/v1/complaints", json={**CUSTOMER_RECORD, "grade": "A"},
                           headers=api_token(client, "handler"))
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"grade"}


def test_customer_service_sets_the_staff_fields(client):
    response = client.post("/api/v1/complaints", json={**RECORD, "grade": "A"},
                           headers=api_token(client, "agent"))
    assert response.status_code == 201, response.get_json()
    record = filed_record(client, response.get_json()["ticket"])
    assert record["grade"] == "A" and record["urgency"] == RECORD["urgency"]


def test_the_public_page_offers_exactly_what_a_customer_may_set(app, services):
    page = Visitor(app).get("/complaint").get_data(as_text=True)
    fields = services.forms.schema(intake.INTAKE_FORM)["properties"]
    # Fields staff classify or look up on the order anyway are left off the page for the
    # customer's sake.
    left_off = set(services.forms.ui_schema(intake.INTAKE_UI)["ui:customer"]["ui:omit"])
    assert left_off == {"complaint_type", "ship_date"}
    for name in fields:
        offered = f'name="{name}"' in page
        assert offered == (intake.customer_may_set(name) and name not in left_off), name


def test_a_staff_field_slipped_into_the_public_form_is_not_kept(app, client):
    customer = Visitor(app)
    form = {k: str(v) for k, v in CUSTOMER_RECORD.items()}
    response = customer.post("/complaint", {**form, "grade": "A", "urgency": "urgent"},
                             "/complaint")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    ticket, _token = filed(customer.get(response.headers["Location"]).get_data(as_text=True))
    record = filed_record(client, ticket)
    assert record["grade"] is None and record["urgency"] is None
    assert record["channel"] == "web"

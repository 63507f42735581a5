"""Bad input never breaks a case: what the API and the pages accept is what the database
and every reader of a case can hold, and what they refuse is refused with a clear 4xx."""
from __future__ import annotations

import json

import pytest

from engine import customers, notes, runtime
from engine.intake import customer_may_set
from support.desk import RECORD
from support.pages import CUSTOMER_FORM, post

CUSTOMER_RECORD = {k: v for k, v in RECORD.items() if customer_may_set(k)}
CRLF_EMAIL = "wang.lei@example.com\r\nBcc: everyone@example.com"


def staff_token(client, username: str = "agent") -> dict:
    response = client.post("/api/v1/token", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def post_raw(client, path: str, text: str, headers=None):
    return client.post(path, data=text, content_type="application/json", headers=headers)


def cases_still_read(client, visitor, headers, ticket: str) -> None:
    assert visitor("agent").get("/cases").status_code == 200
    assert client.get(f"/api/v1/complaints/{ticket}", headers=headers).status_code == 200
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200


# --------------------------------------------------------------------------- dates

@pytest.mark.parametrize("received_at", [
    "0694-05-01T10:00:00+08:00",   # what was once stored and broke every read of the case
    "1999-12-31T23:59:59+08:00",   # before the documented earliest date
    "2026-11-25T10:00:00",         # without a time zone
    "2026-11-25T11:00:00+08:00",   # an hour ahead of the clock
    "2026-11-25T10:00:60+08:00",   # a leap second: RFC 3339, but no reader parses it
])
def test_a_receipt_time_out_of_bounds_is_refused_and_the_cases_still_read(
        client, visitor, received_at):
    headers = staff_token(client)
    ticket = client.post("/api/v1/complaints", json=RECORD, headers=headers).get_json()["ticket"]
    response = client.post("/api/v1/complaints", json={**RECORD, "received_at": received_at},
                           headers=headers)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["fields"]) == {"received_at"}
    cases_still_read(client, visitor, headers, ticket)


def test_a_receipt_time_within_bounds_is_kept(client):
    headers = staff_token(client)
    for received_at in ("2000-01-01T00:00:00+08:00", "2026-11-25T10:04:00+08:00"):
        response = client.post("/api/v1/complaints",
                               json={**RECORD, "received_at": received_at}, headers=headers)
        assert response.status_code == 201, (received_at, response.get_json())


@pytest.mark.parametrize("day", ["1999-12-31", "2101-01-01", "0001-01-01", "9999-12-31"])
def test_dates_on_task_forms_stay_within_the_documented_years(desk, day):
    from engine.forms import FormInvalid
    ticket = desk.file()
    desk.run_until(ticket, "propose_solution")
    with pytest.raises(FormInvalid) as refused:
        desk.do(ticket, "propose_solution", solution_deadline=day)
    assert set(refused.value.fields) == {"solution_deadline"}
    desk.do(ticket, "propose_solution", solution_deadline="2100-12-31")


def test_every_date_field_documents_its_years(services):
    for path in sorted(services.forms.directory.glob("*.schema.json")):
        for name, prop in services.forms.schema(path.name)["properties"].items():
            if prop.get("format") in ("date", "date-time"):
                assert prop.get("pattern", "").startswith("^(20[0-9]{2}|2100)-"), (path.name, name)


# --------------------------------------------------------------------------- numbers

@pytest.mark.parametrize("amount", ["1e999", "-1e999", "NaN", "Infinity"])
def test_non_finite_numbers_are_refused_in_api_bodies(client, amount):
    headers = staff_token(client)
    body = json.dumps(RECORD)[:-1] + f', "amount": {amount}' + "}"
    body = body.replace('"amount": 899, ', "")
    response = post_raw(client, "/api/v1/complaints", body, headers)
    assert response.status_code == 422
    assert "Infinity" not in response.get_data(as_text=True)
    assert "NaN" not in response.get_data(as_text=True)


@pytest.mark.parametrize("amount", ["1e999", "inf", "nan", "-Infinity"])
def test_non_finite_numbers_are_refused_on_the_page(visitor, amount):
    agent = visitor("agent")
    response = agent.post("/register", {**CUSTOMER_FORM, "amount": amount},
                          token_from="/register")
    assert response.status_code == 422
    assert "Enter a number." in response.get_data(as_text=True)


def test_non_finite_numbers_are_refused_by_the_engine(desk):
    from engine.forms import FormInvalid
    ticket = desk.file()
    desk.do(ticket, "check_record")
    for amount in (float("nan"), float("inf")):
        with pytest.raises(FormInvalid) as refused:
            desk.do(ticket, "classify", amount=amount)
        assert set(refused.value.fields) == {"amount"}
    with pytest.raises(FormInvalid):
        desk.file(amount=float("nan"))


def test_every_number_has_a_documented_range(services):
    for path in sorted(services.forms.directory.glob("*.schema.json")):
        for name, prop in services.forms.schema(path.name)["properties"].items():
            types = prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")]
            if {"number", "integer"} & set(types):
                assert "minimum" in prop and "maximum" in prop, (path.name, name)


def test_an_amount_beyond_the_range_is_refused(client):
    headers = staff_token(client)
    response = client.post("/api/v1/complaints", json={**RECORD, "amount": 10 ** 400},
                           headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"amount"}


# --------------------------------------------------------------------------- e-mail

def test_an_address_with_a_line_break_is_refused_by_the_api(client):
    response = client.post("/api/v1/complaints",
                           json={**CUSTOMER_RECORD, "customer_email": CRLF_EMAIL})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"customer_email"}


def test_an_address_with_a_line_break_is_refused_on_the_pages(client, visitor):
    for who, path in ((client, "/complaint"), (visitor("agent").client, "/register")):
        response = post(who, path, {**CUSTOMER_FORM, "customer_email": CRLF_EMAIL}, path)
        assert response.status_code == 422, path
        assert "Enter a valid e-mail address." in response.get_data(as_text=True)


def test_a_plain_address_is_still_taken(client):
    response = client.post("/api/v1/complaints",
                           json={**CUSTOMER_RECORD, "customer_email": "li.na+shop@example.com"})
    assert response.status_code == 201, response.get_json()


# --------------------------------------------------------------------------- lengths

def _strings(node, where=""):
    if isinstance(node, dict):
        types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        if "string" in types:
            yield where, node
        for key, value in node.items():
            yield from _strings(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{where}/{index}")


def test_every_string_in_the_forms_has_a_maximum_length(services):
    for path in sorted(services.forms.directory.glob("*.schema.json")):
        schema = services.forms.schema(path.name)
        for where, prop in _strings(schema.get("properties", {})):
            assert "maxLength" in prop, (path.name, where)


def test_the_database_holds_what_the_intake_form_allows(services):
    from engine.models import ProcessInstance
    properties = services.forms.schema("intake.schema.json")["properties"]
    for column in ProcessInstance.__table__.columns:
        if column.name in properties and getattr(column.type, "length", None):
            assert properties[column.name]["maxLength"] <= column.type.length, column.name


# --------------------------------------------------------------------------- bodies

@pytest.mark.parametrize("path", ["/api/v1/complaints", "/api/v1/token", "/api/v1/tasks/x"])
def test_deeply_nested_json_is_refused(client, path):
    headers = staff_token(client)
    deep = "[" * 100_000 + "]" * 100_000
    response = post_raw(client, path, deep, headers)
    assert response.status_code in (400, 413, 422)
    assert set(response.get_json()) == {"error", "fields"}
    response = post_raw(client, path, '{"a": ' * 50 + "1" + "}" * 50, headers)
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("body", ["[]", '["agent", "demo"]', "42", '"agent"'])
def test_a_token_request_that_is_not_an_object_is_refused(client, body):
    response = post_raw(client, "/api/v1/token", body)
    assert response.status_code == 422
    assert set(response.get_json()) == {"error", "fields"}


def test_a_very_long_number_is_refused(client):
    response = post_raw(client, "/api/v1/complaints",
                        json.dumps(CUSTOMER_RECORD)[:-1] + ', "amount": ' + "9" * 5000 + "}")
    assert response.status_code == 422


# --------------------------------------------------------------------------- queries

@pytest.mark.parametrize("query", ["page=99999999999999999999", "page=-5", "until=9999-12-31",
                                   "since=0001-01-01", "since=9999-12-31",
                                   "until=0001-01-01", "q=" + "x" * 5000])
def test_the_case_list_answers_any_query(visitor, desk, query):
    desk.file()
    response = visitor("agent").get(f"/cases?{query}")
    assert response.status_code < 500


# --------------------------------------------------------------------------- characters

@pytest.mark.parametrize("text", ["Wang\x00Lei", "Wang\ud800Lei"])
def test_text_the_database_cannot_hold_is_refused(client, text):
    response = client.post("/api/v1/complaints", json={**CUSTOMER_RECORD, "customer_name": text})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"customer_name"}


def test_searches_with_characters_the_database_cannot_hold_answer(client, visitor, desk):
    desk.file()
    headers = staff_token(client)
    assert visitor("agent").get("/cases?q=Wang%00&type=x%00&status=%00").status_code == 200
    assert visitor("agent").get("/?q=Wang%00").status_code == 200
    assert client.get("/api/v1/tasks?q=Wang%00&task=x%00&queue=y%00",
                      headers=headers).status_code == 200


def test_credentials_the_database_cannot_hold_are_simply_wrong(client):
    response = client.post("/api/v1/token", json={"username": "agent\x00", "password": "demo"})
    assert response.status_code == 401


def test_free_text_with_characters_no_database_holds_is_kept_without_them(
        desk, services, actors):
    """Notes, messages and reasons are free text: a NUL (which PostgreSQL refuses) is
    dropped and the rest is kept, instead of the request failing."""
    ticket = desk.file()
    note = notes.add_staff_note(services, actors["agent"], ticket, notes.COMMENT,
                                "Called back\x00 twice")
    assert note.body == "Called back twice"
    runtime.cancel(services, actors["supervisor"], ticket, "Dup\x00licate")
    assert desk.case(ticket).history[-1].detail["reason"] == "Duplicate"
    other = runtime.file_complaint(services, {**CUSTOMER_RECORD,
                                              "customer_email": "w@example.com"})
    customers.withdraw(services, other.status_token, "No longer\x00 needed")
    assert desk.case(other.ticket).status == "cancelled"

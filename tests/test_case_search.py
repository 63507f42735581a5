"""Searching all cases (compliance sees every case; others the ones they may see): by
ticket, customer, type, channel, department, path, status, missed deadlines, process
version and date ranges, with the total, page by page; saved searches per user; and the
same search as `GET /api/v1/complaints` with `limit` and `offset` or `cursor`."""
from __future__ import annotations

import re

import pytest

from engine import specs, timers
from engine.services import PROJECT_ROOT
from support.api import matches, openapi_document
from support.major_path import file_major

NOT_TRUE = {"verification_result": "not_true", "verification_notes": "Damage after delivery."}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def tickets_on(page: str) -> list[str]:
    return re.findall(r'<a class="ticket" href="/cases/(\d{10})"', page)


def bearer(client, username: str) -> dict:
    token = client.post("/api/v1/token", json={"username": username, "password": "demo"})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


def closed_not_true(desk, ticket: str) -> None:
    desk.run_until(ticket, "verify")
    desk.do(ticket, "verify", **NOT_TRUE)
    desk.do(ticket, "inform_not_true", explanation="Damage after delivery.",
            informed_via="phone")


@pytest.fixture
def world(desk, services, clock):
    """Five cases: one closed as not true on 25 Nov, one past its dispatch deadline, one
    filed at the counter on 27 Nov, one major, and one on a second process version."""
    closed = desk.file(customer_name="Closed Chen")
    closed_not_true(desk, closed)
    breached = desk.file(customer_name="Late Li", customer_phone="13911112222")
    desk.run_until(breached, "dispatch")
    clock.advance(days=2)
    timers.fire_due(services, "test")
    counter = desk.file(customer_name="Counter Zhou", channel="counter",
                        complaint_type="logistics")
    major = file_major(desk, customer_name="Major Ma")
    sources = specs.read_directory(PROJECT_ROOT / "processes")
    sources["complaint.bpmn"] = sources["complaint.bpmn"].replace(
        b'name="Check the record is complete"', b'name="Check the record"')
    with services.db.write() as session:
        specs.deploy(session, sources, "complaint", "owner")
    second = desk.file(customer_name="Second Song")
    return {"closed": closed, "breached": breached, "counter": counter, "major": major,
            "second": second}


def test_each_filter_finds_its_cases(world, visitor):
    auditor = visitor("auditor")

    def found(query: str) -> set[str]:
        return set(tickets_on(text_of(auditor.get(f"/cases?{query}"))))
    assert found("") == set(world.values())
    assert found("status=closed") == {world["closed"]}
    assert found("breached=yes") == {world["breached"]}
    assert world["breached"] not in found("breached=no") and len(found("breached=no")) == 4
    assert found("channel=counter") == {world["counter"]}
    assert found("type=logistics") == {world["counter"]}
    assert found("path=major") == {world["major"]}
    assert found("process=complaint&version=2") == {world["second"]}
    assert world["second"] not in found("version=1")
    assert found("department=quality") == {world["closed"]}
    assert found("q=Major") == {world["major"]} and found("q=1391111") == {world["breached"]}
    assert found(f"q={world['counter']}") == {world["counter"]}
    assert found("since=2026-11-27") == {world["counter"], world["major"], world["second"]}
    assert found("until=2026-11-25") == {world["closed"], world["breached"]}
    assert found("closed_since=2026-11-25&closed_until=2026-11-25") == {world["closed"]}
    assert found("closed_until=2026-11-24") == set()
    page = text_of(auditor.get("/cases?breached=yes"))
    assert "Matching cases: 1" in page and ">Missed<" in page and "complaint v1" in page


def test_nonsense_filters_are_left_out_on_the_page(world, visitor):
    agent = visitor("agent")
    for query in ("status=bogus", "breached=maybe", "version=abc", "version=%C2%B2",
                  "page=%C2%B2", "closed_since=soon", "path=%00"):
        response = agent.get(f"/cases?{query}")
        assert response.status_code == 200, query
        assert len(tickets_on(text_of(response))) == 5, query


def test_a_department_handler_searches_only_their_departments_cases(world, visitor, client):
    outsider = text_of(visitor("handler2").get("/cases?kind=all"))
    assert tickets_on(outsider) == [] and "Matching cases: 0" in outsider
    body = client.get("/api/v1/complaints", headers=bearer(client, "handler2")).get_json()
    assert body["total"] == 0 and body["complaints"] == []
    handler = client.get("/api/v1/complaints", headers=bearer(client, "handler")).get_json()
    assert [c["ticket"] for c in handler["complaints"]] == [world["closed"]]
    assert handler["total"] == 1


def test_pages_go_back_in_time_with_the_total(world, visitor, services, desk, monkeypatch):
    from web import cases as case_pages
    monkeypatch.setattr(case_pages, "RECENT", 2)
    auditor = visitor("auditor")
    first = text_of(auditor.get("/cases?kind=complaint"))
    assert "Matching cases: 5" in first and len(tickets_on(first)) == 2
    assert 'href="/cases?page=2"' in first
    seen = tickets_on(first) + tickets_on(text_of(auditor.get("/cases?page=2"))) + \
        tickets_on(text_of(auditor.get("/cases?page=3")))
    assert sorted(seen) == sorted(world.values())


def test_saved_searches_are_each_users_own(world, visitor):
    auditor = visitor("auditor")
    response = auditor.post("/cases/saved", {"name": "Late ones", "breached": "yes",
                                             "status": "open"}, token_from="/cases")
    assert response.status_code == 302
    page = text_of(auditor.get("/cases"))
    link = re.search(r'<a href="(/cases\?[^"]+)">Late ones</a>', page).group(1)
    assert tickets_on(text_of(auditor.get(link.replace("&amp;", "&")))) == [world["breached"]]
    # Saving under the same name replaces it.
    auditor.post("/cases/saved", {"name": "Late ones", "path": "major"}, token_from="/cases")
    page = text_of(auditor.get("/cases"))
    assert page.count(">Late ones</a>") == 1 and 'href="/cases?path=major">Late ones' in page
    assert "Late ones" not in text_of(visitor("agent").get("/cases"))
    saved_id = re.search(r'action="/cases/saved/(\d+)/delete"', page).group(1)
    agent = visitor("agent")
    assert agent.post(f"/cases/saved/{saved_id}/delete", {}, token_from="/cases"
                      ).status_code == 404
    assert auditor.post(f"/cases/saved/{saved_id}/delete", {}, token_from="/cases"
                        ).status_code == 302
    assert "Late ones" not in text_of(auditor.get("/cases"))
    refused = auditor.post("/cases/saved", {"name": "  ", "status": "open"}, token_from="/cases")
    assert refused.status_code == 302
    assert "Give the search a name." in text_of(auditor.get(refused.headers["Location"]))


def test_the_api_searches_with_the_same_filters_and_a_total(world, client):
    headers = bearer(client, "auditor")

    def get(query: str):
        return client.get(f"/api/v1/complaints?{query}", headers=headers)
    body = get("breached=yes").get_json()
    matches(openapi_document(client), "ComplaintPage", body)
    assert body["total"] == 1 and body["next_cursor"] is None
    [case] = body["complaints"]
    assert case["ticket"] == world["breached"] and case["breached"] is True
    assert (case["process_id"], case["version"], case["status"]) == ("complaint", 1, "open")
    closed = get("status=closed&closed_since=2026-11-25").get_json()["complaints"][0]
    assert closed["ticket"] == world["closed"] and closed["closed_at"].startswith("2026-11-25")
    assert get("channel=counter").get_json()["complaints"][0]["ticket"] == world["counter"]
    assert get("process=complaint&version=2").get_json()["total"] == 1
    assert get("path=major&since=2026-11-27").get_json()["total"] == 1
    assert get(f"ticket={world['counter']}").get_json()["complaints"][0]["customer_name"] == \
        "Counter Zhou"
    assert get("ticket=2611").get_json()["total"] == 5 and get("ticket=2612").get_json()[
        "total"] == 0
    assert get("customer=Late").get_json()["complaints"][0]["ticket"] == world["breached"]
    assert get("customer=13911").get_json()["complaints"][0]["ticket"] == world["breached"]
    assert get("customer=Wang.Lei@Example.com").get_json()["total"] == 5
    assert get("customer=nobody@example.com").get_json()["total"] == 0


def test_the_api_pages_by_cursor_and_by_offset(world, client):
    headers = bearer(client, "auditor")
    seen, cursor = [], None
    for _ in range(5):
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(f"/api/v1/complaints?{query}", headers=headers).get_json()
        assert body["total"] == 5 and len(body["complaints"]) <= 2
        seen += [c["ticket"] for c in body["complaints"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(world.values()) and len(seen) == 5
    newest_first = [c["ticket"] for c in client.get(
        "/api/v1/complaints?limit=5", headers=headers).get_json()["complaints"]]
    assert seen == newest_first
    by_offset = client.get("/api/v1/complaints?limit=2&offset=2", headers=headers).get_json()
    matches(openapi_document(client), "ComplaintPage", by_offset)
    assert [c["ticket"] for c in by_offset["complaints"]] == newest_first[2:4]
    assert by_offset["offset"] == 2 and by_offset["next_offset"] == 4
    last = client.get("/api/v1/complaints?limit=2&offset=4", headers=headers).get_json()
    assert last["next_offset"] is None and last["next_cursor"] is None


@pytest.mark.parametrize(("query", "words"), [
    ("since=yesterday", "since must be a date"),
    ("closed_until=2026-13-01", "closed_until must be a date"),
    ("status=bogus", "status must be one of"),
    ("breached=maybe", "breached must be one of"),
    ("version=two", "version must be a whole number"),
    ("version=%C2%B2", "version must be a whole number"),
    ("limit=0", "limit must be a whole number from 1 to 200"),
    ("limit=1000", "limit must be a whole number from 1 to 200"),
    ("limit=%C2%B2", "limit must be a whole number"),
    ("offset=-1", "offset must be a whole number"),
    ("cursor=bm90LWEtY3Vyc29y", "The cursor is not one this search gave out."),
    ("cursor=%%%", "The cursor is not one this search gave out."),
    ("cursor=WyIyMDI2LTExLTI1VDAyOjAwOjAwIiwgMV0&offset=0", "either cursor or offset"),
    ("q=" + "x" * 101, "q is longer than 100 characters"),
])
def test_the_api_refuses_a_bad_query_with_a_reason(query, words, client, services):
    response = client.get(f"/api/v1/complaints?{query}", headers=bearer(client, "auditor"))
    assert response.status_code == 400, query
    matches(openapi_document(client), "Error", response.get_json())
    assert words in response.get_json()["error"], response.get_json()

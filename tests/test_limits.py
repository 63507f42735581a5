"""Limits that hold: floods of anonymous filings, sign-in failures counted per account
on the pages and the API together, acknowledgements per mailbox, the client address
behind a trusted proxy, counters shared by several web processes and kept bounded."""
from __future__ import annotations

from sqlalchemy import func, select

from engine import runtime
from engine.intake import customer_may_set
from engine.limit_storage import SqlStorage
from engine.models import OutboxMessage, RateLimitCounter
from engine.rate_limits import FILING, RateLimits
from support.desk import RECORD
from support.evidence import png
from support.pages import CUSTOMER_FORM, file_online, log_in, post, send_form
from support.server import Server, exchange

FLOOD = 15
# What an anonymous caller may send.
CUSTOMER_RECORD = {k: v for k, v in RECORD.items() if customer_may_set(k)}


def _file_by_api(client, **headers):
    return client.post("/api/v1/complaints", json=CUSTOMER_RECORD, headers=headers)


def test_a_flood_of_anonymous_filings_is_refused_with_retry_after(client, services):
    answers = [_file_by_api(client) for _ in range(FLOOD)]
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 10 and statuses[10:] == [429] * (FLOOD - 10)
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    with services.db.read() as db:
        mails = db.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.to_address == RECORD["customer_email"]))
    assert mails <= 5  # acknowledgements to one mailbox are bounded too


def test_the_page_and_the_api_count_filings_together(client, visitor):
    for _ in range(10):
        assert _file_by_api(client).status_code == 201
    customer = visitor()
    response = customer.post("/complaint", CUSTOMER_FORM, token_from="/complaint")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_staff_with_a_token_are_not_held_to_the_anonymous_limit(client):
    token = client.post("/api/v1/token", json={"username": "agent", "password": "demo"}
                        ).get_json()["token"]
    for _ in range(FLOOD):
        assert _file_by_api(client, Authorization=f"Bearer {token}").status_code == 201


def test_acknowledgements_to_one_address_are_bounded_per_hour(services, actors):
    for _ in range(8):
        runtime.file_complaint(services, {**RECORD, "customer_email": "Victim@Example.com"},
                               staff=actors["agent"])
    with services.db.read() as db:
        acknowledgements = db.scalar(select(func.count()).select_from(OutboxMessage).where(
            func.lower(OutboxMessage.to_address) == "victim@example.com"))
    assert acknowledgements == 5


def test_a_web_lockout_also_refuses_the_api_token(app, client, services):
    for _ in range(5):
        assert log_in(client, "agent", "wrong").status_code == 401
    assert log_in(client, "agent", "demo").status_code == 429
    answer = client.post("/api/v1/token", json={"username": "agent", "password": "demo"})
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
    # Another account is not held up by it.
    assert app.test_client().post("/api/v1/token", json={
        "username": "head", "password": "demo"}).status_code == 200


def test_the_owner_is_told_once_when_their_account_is_paused(client, services):
    for _ in range(7):
        client.post("/api/v1/token", json={"username": "agent", "password": "wrong"})
    with services.db.read() as db:
        notices = db.scalars(select(OutboxMessage.subject).where(
            OutboxMessage.to_address == "agent@example.com")).all()
    assert notices == ["Sign-in to your account is paused"]


def test_the_waits_grow_with_each_tier_of_failures(services):
    limits = services.limits
    from engine.rate_limits import SIGN_IN_FAILURES
    waits = []
    for _ in range(20):
        verdict = limits.hit(SIGN_IN_FAILURES, "agent")
        waits.append(0 if verdict.allowed else verdict.retry_after)
    assert waits[:5] == [0] * 5
    assert max(waits[5:9]) <= 60 < waits[9] <= 15 * 60 < waits[19] <= 3600


def test_overlong_user_names_are_neither_counted_nor_stored(client, services):
    name = "x" * 200_000
    for _ in range(3):
        page = post(client, "/login", {"username": name, "password": "p"}, "/login")
        assert page.status_code == 401 and name not in page.get_data(as_text=True)
        assert client.post("/api/v1/token", json={"username": name, "password": "p"}
                           ).status_code == 401
    with services.db.read() as db:
        keys = db.scalars(select(RateLimitCounter.key)).all()
    assert not any("xxxx" in key for key in keys)
    assert all(len(key) <= 255 for key in keys)


def test_ended_windows_are_removed_from_the_counters(services):
    now = [1_000_000.0]
    storage = SqlStorage(services.db.engine, clock=lambda: now[0], sweep_seconds=60)
    limits = RateLimits(storage, {})
    for n in range(50):
        limits.hit(FILING, f"198.51.100.{n}")
    now[0] += 3601  # the longest window of the rule has ended
    limits.hit(FILING, "203.0.113.1")
    with services.db.read() as db:
        assert db.scalars(select(RateLimitCounter.key)).all() == [
            key for key in db.scalars(select(RateLimitCounter.key)) if "203.0.113.1" in key]
        assert db.scalar(select(func.count()).select_from(RateLimitCounter)) == 2


def test_the_real_client_address_is_taken_from_a_trusted_proxy_only(services):
    from web import create_app
    behind_proxy = create_app({"SERVICES": services, "DATABASE_URL": services.db.url,
                               "TESTING": True, "SECRET_KEY": "x", "TRUSTED_PROXIES": 1,
                               "FILING_LIMIT": "2/minute"}).test_client()
    for customer in ("198.51.100.7", "198.51.100.8"):
        for _ in range(2):
            assert _file_by_api(behind_proxy, **{"X-Forwarded-For": customer}
                                ).status_code == 201
    assert _file_by_api(behind_proxy, **{"X-Forwarded-For": "198.51.100.7"}
                        ).status_code == 429


def test_a_forwarded_address_is_not_believed_without_a_trusted_proxy(services):
    from web import create_app
    direct = create_app({"SERVICES": services, "DATABASE_URL": services.db.url,
                         "TESTING": True, "SECRET_KEY": "x", "FILING_LIMIT": "2/minute"}
                        ).test_client()
    statuses = [_file_by_api(direct, **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code
                for n in range(3)]
    assert statuses == [201, 201, 429]


def test_two_web_processes_on_one_database_share_their_limits(tmp_path, database_url):
    settings = {"COMPLAINTS_FILING_LIMIT": "4/minute"}
    first = Server(tmp_path / "one", database_url, settings)
    try:
        second = Server(tmp_path / "two", database_url, settings)
        try:
            statuses = [exchange(f"{server.url}/api/v1/complaints", CUSTOMER_RECORD)[0]
                        for server in (first, second) * 3]
            assert statuses == [201] * 4 + [429] * 2
            for _ in range(5):
                assert exchange(f"{first.url}/api/v1/token",
                                {"username": "agent", "password": "wrong"})[0] == 401
            status, headers, _answer = exchange(f"{second.url}/api/v1/token",
                                                {"username": "agent", "password": "demo"})
            assert status == 429 and int(headers["Retry-After"]) > 0
        finally:
            second.stop()
    finally:
        first.stop()


def test_a_flood_of_customer_messages_and_uploads_says_when_to_try_again(services):
    from web import create_app
    client = create_app({"SERVICES": services, "DATABASE_URL": services.db.url,
                         "TESTING": True, "SECRET_KEY": "x", "LOGIN_ATTEMPTS_PER_MINUTE": 2}
                        ).test_client()
    _ticket, token = file_online(client)
    status = f"/status/{token}"
    answers = [send_form(client, f"{status}/messages", {"body": f"Any news? ({n})"}, status)
               for n in range(3)]
    assert [a.status_code for a in answers] == [302, 302, 429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    assert "Too many messages" in answers[-1].get_data(as_text=True)
    uploads = [send_form(client, f"{status}/attachments", {}, status,
                         [(f"photo{n}.png", png(shade=n))]) for n in range(3)]
    assert [u.status_code for u in uploads] == [302, 302, 429]
    assert 0 < int(uploads[-1].headers["Retry-After"]) <= 60

"""The audit trail: every kind of event recorded (case events, views, deployments,
sign-ins, administration), listed with filters for compliance, and the hash chains
verified on demand, naming the first broken link when a row of `audit_event` was altered,
deleted or inserted behind the application's back (raw SQL, on SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import select, text

from engine import audit, audit_trail, calendars_admin, cases
from engine.models import AuditEvent, ProcessInstance
from support.api import matches, openapi_document
from support.people import add_user

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def listed(page: str) -> list[str]:
    """What each listed event is, as the table says."""
    return re.findall(r'<td data-label="What">([^<]*)</td>', page)


def event_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="event-(\d+)"', page)]


def chain_of(services, ticket: str) -> list[AuditEvent]:
    with services.db.read() as session:
        return session.execute(select(AuditEvent).join(
            ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
            .where(ProcessInstance.ticket == ticket).order_by(AuditEvent.id)).scalars().all()


def bearer(client, username: str) -> dict:
    token = client.post("/api/v1/token", json={"username": username, "password": "demo"})
    return {"Authorization": f"Bearer {token.get_json()['token']}"}


# --------------------------------------------------------------------------- recording

def test_sign_ins_and_failed_sign_ins_on_the_pages_and_the_api_are_recorded(
        visitor, client, services):
    assert visitor().log_in("agent", "wrong").status_code == 401
    visitor("agent")
    client.post("/api/v1/token", json={"username": "handler", "password": "nope"})
    bearer(client, "handler")
    with services.db.read() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.chain == "global",
                                 AuditEvent.kind.in_(["login", "login_failed"]))
                                 .order_by(AuditEvent.id)).scalars().all()
    assert [(e.kind, e.actor, e.detail["via"]) for e in events] == [
        ("login_failed", "agent", "page"), ("login", "agent", "page"),
        ("login_failed", "handler", "api"), ("login", "handler", "api")]
    assert all(e.detail["address"] for e in events)


def test_a_paused_account_is_recorded_once_and_refused_attempts_not_at_all(client, services):
    for _ in range(8):
        client.post("/api/v1/token", json={"username": "head", "password": "guess"})
    with services.db.read() as session:
        kinds = session.execute(select(AuditEvent.kind).where(AuditEvent.actor == "head")
                                .order_by(AuditEvent.id)).scalars().all()
    assert kinds == ["login_failed"] * 5 + ["sign_in_paused"]


def test_the_trail_lists_case_events_views_deploys_sign_ins_and_admin_changes(
        desk, services, visitor, actors, clock):
    ticket = desk.file()
    desk.do(ticket, "check_record")
    cases.record_view(services, actors["handler"], ticket)
    calendars_admin.set_day(services, "cn-standard", dt.date(2026, 12, 31), False, "Year end")
    auditor = visitor("auditor")
    page = text_of(auditor.get("/audit"))
    assert {"Complaint registered", "Task completed", "Case viewed", "Process deployed",
            "Signed in", "Calendar day set"} <= set(listed(page))
    assert f'href="/cases/{ticket}/audit"' in page

    views = text_of(auditor.get(f"/audit?kind=case_viewed&ticket={ticket}"))
    assert listed(views) == ["Case viewed"] and ">handler<" in views
    assert set(listed(text_of(auditor.get("/audit?kind=group:sign_in")))) == {"Signed in"}
    by_agent = set(listed(text_of(auditor.get("/audit?actor=agent"))))
    assert {"Task completed", "Complaint registered"} <= by_agent
    assert "Calendar day set" not in by_agent
    admin_changes = text_of(auditor.get("/audit?kind=group:admin"))
    assert listed(admin_changes) == ["Calendar day set"] and "Year end" in admin_changes
    today = clock.now.astimezone(SHANGHAI).date()
    assert "Case viewed" in listed(text_of(auditor.get(f"/audit?since={today}&until={today}")))
    yesterday = today - dt.timedelta(days=1)
    assert "No events match" in text_of(auditor.get(f"/audit?until={yesterday}"))
    assert "No events match" in text_of(auditor.get("/audit?ticket=2699999999"))
    # Nonsense in the filters is left out, never an error.
    assert auditor.get("/audit?since=soon&before=x&after=%C2%B2&kind=group:nope"
                       ).status_code == 200


def test_the_trail_pages_back_through_older_events(desk, services, visitor, actors):
    ticket = desk.file()
    for _ in range(60):
        cases.record_view(services, actors["agent"], ticket)
    auditor = visitor("auditor")
    first = text_of(auditor.get("/audit?kind=case_viewed"))
    newest = event_ids(first)
    assert len(newest) == audit_trail.PAGE_SIZE and newest == sorted(newest, reverse=True)
    older_link = re.search(r'href="(/audit\?[^"]*before=\d+)"', first).group(1)
    second = text_of(auditor.get(older_link.replace("&amp;", "&")))
    older = event_ids(second)
    assert len(older) == 10 and max(older) < min(newest)
    newer_link = re.search(r'href="(/audit\?[^"]*after=\d+)"', second).group(1)
    assert event_ids(text_of(auditor.get(newer_link.replace("&amp;", "&")))) == newest


def test_a_cases_trail_shows_who_viewed_it_and_its_intact_chain(desk, services, visitor,
                                                                   actors):
    ticket = desk.file()
    cases.record_view(services, actors["director"], ticket)
    auditor = visitor("auditor")
    case_page = text_of(auditor.get(f"/cases/{ticket}"))
    assert f'href="/cases/{ticket}/audit"' in case_page
    page = text_of(auditor.get(f"/cases/{ticket}/audit"))
    assert "Audit trail of " + ticket in page and ">director<" in page
    assert 'id="chain-result"' in page and "Intact" in page
    # The look at the trail is itself recorded.
    assert chain_of(services, ticket)[-1].kind == "case_viewed"
    assert chain_of(services, ticket)[-1].actor == "auditor"
    assert auditor.get("/cases/2699999999/audit").status_code == 404


def test_staff_outside_compliance_supervision_and_administration_see_no_trail(
        desk, visitor, services):
    ticket = desk.file()
    add_user(services, "inspector", ["supervisor"])  # the supervision department
    inspector = visitor().sign_in("inspector", "secret-pw")
    assert inspector.get("/audit").status_code == 200
    assert "Intact" in text_of(inspector.get(f"/cases/{ticket}/audit"))
    for name in ("agent", "supervisor", "handler", "owner"):
        staff = visitor(name)
        assert staff.get("/audit").status_code == 403
        assert staff.get(f"/cases/{ticket}/audit").status_code == 403
        assert 'href="/audit"' not in text_of(staff.get("/cases"))
    for name in ("auditor", "admin"):
        assert 'href="/audit"' in text_of(visitor(name).get("/cases"))


# --------------------------------------------------------------------------- tampering

def _forge(services, like: AuditEvent, prev_hash: str, digest: str | None = None) -> int:
    """Insert an event into `like`'s chain with raw SQL, as someone with database access
    would: with the hash the algorithm gives (they can read the code) unless `digest`."""
    at = like.at + dt.timedelta(seconds=1)
    detail = {"task": "approve_solution", "data": {"head_decision": "approve"}}
    digest = digest or audit._digest(prev_hash, like.chain, like.instance_id, "head",
                                     "task_completed", detail, at)
    postgres = services.db.url.startswith("postgresql")
    with services.db.engine.begin() as conn:
        return conn.execute(text(
            "INSERT INTO audit_event (chain, instance_id, actor, kind, detail, at, prev_hash, "
            "hash) VALUES (:chain, :instance, 'head', 'task_completed', "
            + ("CAST(:detail AS json)" if postgres else ":detail")
            + ", :at, :prev, :hash) RETURNING id"),
            {"chain": like.chain, "instance": like.instance_id, "detail": json.dumps(detail),
             "at": at if postgres else at.strftime("%Y-%m-%d %H:%M:%S.%f"),
             "prev": prev_hash, "hash": digest}).scalar_one()


def _sql(services, statement: str, **values) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(text(statement), values)


def _worked_case(desk) -> str:
    ticket = desk.file()
    desk.run_until(ticket, "verify")
    return ticket


def _verify(services, actors):
    with services.db.read() as session:
        return audit_trail.verify(session, actors["auditor"], services.now())


def test_an_untouched_trail_verifies(desk, services, actors):
    _worked_case(desk)
    report = _verify(services, actors)
    assert report.intact and report.first is None
    assert report.chains >= 2 and report.events >= 6


def test_an_altered_event_is_named(desk, services, actors):
    ticket = _worked_case(desk)
    events = chain_of(services, ticket)
    target = events[2]
    postgres = services.db.url.startswith("postgresql")
    _sql(services, "UPDATE audit_event SET detail = "
         + ("CAST(:detail AS json)" if postgres else ":detail") + " WHERE id = :id",
         detail=json.dumps({**target.detail, "data": {"department": "sales"}}), id=target.id)
    report = _verify(services, actors)
    assert not report.intact
    first = report.first
    assert (first.event_id, first.problem, first.ticket) == (target.id, audit.ALTERED, ticket)
    assert first.kind == target.kind
    assert f"Event {target.id} was changed after it was written" in first.explanation


def test_a_changed_actor_is_named_even_with_a_recomputed_hash(desk, services, actors):
    """Whoever re-hashes the changed event breaks the link of the one after it."""
    ticket = _worked_case(desk)
    events = chain_of(services, ticket)
    target, after = events[1], events[2]
    digest = audit._digest(target.prev_hash, target.chain, target.instance_id, "director",
                           target.kind, target.detail, target.at)
    _sql(services, "UPDATE audit_event SET actor = 'director', hash = :hash WHERE id = :id",
         hash=digest, id=target.id)
    first = _verify(services, actors).first
    assert (first.event_id, first.problem, first.previous_id) == (
        after.id, audit.BROKEN_LINK, target.id)
    assert "was changed and its hash recomputed" in first.explanation


def test_a_deleted_event_is_named_by_the_event_after_the_gap(desk, services, actors):
    ticket = _worked_case(desk)
    events = chain_of(services, ticket)
    gone, before, after = events[3], events[2], events[4]
    _sql(services, "DELETE FROM audit_event WHERE id = :id", id=gone.id)
    first = _verify(services, actors).first
    assert (first.event_id, first.problem, first.previous_id, first.follows_id) == (
        after.id, audit.BROKEN_LINK, before.id, None)
    assert f"does not follow event {before.id}" in first.explanation


def test_deleting_the_newest_events_is_seen_at_the_head(desk, services, actors):
    ticket = _worked_case(desk)
    events = chain_of(services, ticket)
    _sql(services, "DELETE FROM audit_event WHERE id >= :id AND chain = :chain",
         id=events[-2].id, chain=events[0].chain)
    first = _verify(services, actors).first
    assert (first.event_id, first.problem, first.previous_id, first.ticket) == (
        None, audit.TRUNCATED, events[-3].id, ticket)


def test_an_inserted_event_with_a_made_up_hash_is_named(desk, services, actors):
    ticket = _worked_case(desk)
    last = chain_of(services, ticket)[-1]
    forged = _forge(services, last, last.hash, digest="f" * 64)
    first = _verify(services, actors).first
    assert (first.event_id, first.problem) == (forged, audit.ALTERED)


def test_an_inserted_event_claiming_an_earlier_place_is_named(desk, services, actors):
    """A forged approval slipped in after an earlier event, with the hash the algorithm
    gives: it does not follow the newest event, and the report says which one it does."""
    ticket = _worked_case(desk)
    events = chain_of(services, ticket)
    forged = _forge(services, events[-1], events[2].hash)
    first = _verify(services, actors).first
    assert (first.event_id, first.problem, first.previous_id, first.follows_id) == (
        forged, audit.BROKEN_LINK, events[-1].id, events[2].id)
    assert "were inserted behind the application's back, or this one was" in \
        first.explanation


def test_the_first_broken_link_across_chains_is_the_oldest(desk, services, actors):
    older, newer = _worked_case(desk), _worked_case(desk)
    _sql(services, "UPDATE audit_event SET actor = 'x' WHERE id = :id",
         id=chain_of(services, newer)[1].id)
    _sql(services, "UPDATE audit_event SET actor = 'x' WHERE id = :id",
         id=chain_of(services, older)[3].id)
    report = _verify(services, actors)
    assert report.broken_chains == 2 and report.first.ticket == older
    with services.db.read() as session:  # the command line's answer agrees
        broken = {c: e for c, e in audit.verify_all(session).items() if e is not None}
    assert len(broken) == 2


def test_the_page_and_the_api_point_at_the_first_broken_event(desk, services, visitor,
                                                               client, actors):
    ticket = _worked_case(desk)
    headers = bearer(client, "auditor")
    intact = client.get("/api/v1/audit/verify", headers=headers).get_json()
    document = openapi_document(client)
    matches(document, "AuditVerification", intact)
    assert intact["intact"] is True and intact["first_broken"] is None
    assert intact["events_checked"] >= 6

    target = chain_of(services, ticket)[2]
    _sql(services, "UPDATE audit_event SET actor = 'someone_else' WHERE id = :id",
         id=target.id)
    body = client.get("/api/v1/audit/verify", headers=headers).get_json()
    matches(document, "AuditVerification", body)
    assert body["intact"] is False and body["broken_chains"] == 1
    assert {k: body["first_broken"][k] for k in ("event_id", "ticket", "problem", "kind")} == {
        "event_id": target.id, "ticket": ticket, "problem": "altered", "kind": target.kind}
    assert body["first_broken"]["explanation"].startswith(f"Event {target.id} was changed")
    one = client.get(f"/api/v1/audit/verify?ticket={ticket}", headers=headers).get_json()
    assert one["chains_checked"] == 1 and one["first_broken"]["event_id"] == target.id
    assert client.get("/api/v1/audit/verify?ticket=2699999999",
                      headers=headers).status_code == 404
    assert client.get("/api/v1/audit/verify",
                      headers=bearer(client, "agent")).status_code == 403

    auditor = visitor("auditor")
    page = text_of(auditor.get("/audit/verify"))
    assert "Broken" in page and f'id="first-broken-event">#{target.id}<' in page
    assert f"Event {target.id} was changed after it was written" in page
    assert 'class="audit-table__broken"' in text_of(auditor.get(
        f"/audit/verify?before={target.id + 1}"))
    case_page = text_of(auditor.get(f"/cases/{ticket}/audit"))
    assert "Broken" in case_page and f"#{target.id}" in case_page


def test_verifying_in_small_batches_finds_the_same_break(desk, services, actors):
    """Chains are read a batch at a time; a batch ending inside a chain changes nothing."""
    tickets = [_worked_case(desk) for _ in range(2)]
    target = chain_of(services, tickets[1])[4]
    _sql(services, "UPDATE audit_event SET kind = 'case_viewed' WHERE id = :id", id=target.id)
    with services.db.read() as session:
        whole = audit.check_all(session)
        for batch in (1, 2, 3, 7):
            small = audit.check_all(session, batch=batch)
            assert (small.chains, small.events, small.breaks) == (
                whole.chains, whole.events, whole.breaks), batch
    assert [b.event_id for b in whole.breaks] == [target.id]


def test_user_changes_on_the_command_line_are_recorded_and_the_command_verifies(
        app, desk, services, visitor):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["create-user", "temp", "--role", "cs_agent", "--department",
                                  "customer_service", "--password", "long-enough-pw"])
    assert created.exit_code == 0, created.output
    runner.invoke(args=["set-password", "temp", "--password", "another-pw"])
    runner.invoke(args=["deactivate-user", "temp"])
    admin_changes = text_of(visitor("admin").get("/audit?kind=group:admin"))
    assert listed(admin_changes) == ["User deactivated", "Password changed", "User created"]
    assert "another-pw" not in admin_changes and "temp" in admin_changes

    intact = runner.invoke(args=["verify-audit"])
    assert intact.exit_code == 0 and "all audit chains intact" in intact.output
    ticket = _worked_case(desk)
    gone = chain_of(services, ticket)[2]
    _sql(services, "DELETE FROM audit_event WHERE id = :id", id=gone.id)
    broken = runner.invoke(args=["verify-audit"])
    assert broken.exit_code == 1
    assert f"at event {chain_of(services, ticket)[2].id} (broken_link)" in broken.output

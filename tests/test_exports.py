"""Exports for process mining: the XES event log read back by pm4py (every event found)
and valid by the XES schema of IEEE 1849-2016; the CSV exports read back by the csv
module as the same rows; the answers streamed, in batches that join up exactly."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from engine import exports, runtime
from engine.i18n import COMPANY_ZONE
from support.api import token as bearer
from support.statistics_data import generate, read_rows

XSD = Path(__file__).parent / "fixtures" / "xes" / "xes-ieee-1849-2016.xsd"
UTC = dt.timezone.utc
FIRST, LAST = dt.date(2026, 10, 1), dt.date(2026, 11, 30)


@pytest.fixture
def cases(services, desk, clock, actors):
    """Three complaints worked through the engine (closed, cancelled, open) and 80
    generated ones from September to December, some with awkward step names."""
    closed = desk.file()
    for _step in range(20):  # ten minutes between steps, so each event has its own time
        names = desk.open_task_names(closed)
        if names == ["follow_up"]:
            break
        if not names:
            desk.wait_for_timers(closed)
            continue
        clock.advance(minutes=10)
        desk.do(closed, names[0])
    clock.advance(minutes=10)
    desk.do(closed, "follow_up")
    cancelled = desk.file(customer_phone="13700000002")
    runtime.cancel(services, actors["supervisor"], cancelled, "Filed twice")
    open_case = desk.file(customer_phone="13700000003")
    desk.run_until(open_case, "verify")
    generate(services, 80, dt.datetime(2026, 9, 1, tzinfo=UTC),
             dt.datetime(2026, 12, 31, tzinfo=UTC), seed=7, improvements=5)
    return {"closed": closed, "cancelled": cancelled, "open": open_case}


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def expected_events(services, first=FIRST, last=LAST) -> dict[str, list[tuple]]:
    """Per ticket, the events the log must hold, from the rows: registered, each task's
    opening and its completion (by whom) or withdrawal, and the close."""
    all_cases, tasks, _answers = read_rows(services)
    with services.db.read() as session:
        from engine.models import User
        from sqlalchemy import select
        users = dict(session.execute(select(User.id, User.username)).all())
    start = dt.datetime.combine(first, dt.time(), COMPANY_ZONE)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), COMPANY_ZONE)
    chosen = {c["id"]: c for c in all_cases
              if c["status_token_hash"] and start <= c["created_at"] < end}
    events = {c["ticket"]: [(c["ticket"], "Case registered", "", "complete",
                             _utc(c["created_at"]), "")] for c in chosen.values()}
    for t in tasks:
        case = chosen.get(t["instance_id"])
        if case is None:
            continue
        ticket = case["ticket"]
        events[ticket].append((ticket, t["title"], t["name"], "schedule", _utc(t["created_at"]),
                               ""))
        if t["completed_at"] is not None and t["state"] == "completed":
            events[ticket].append((ticket, t["title"], t["name"], "complete",
                                   _utc(t["completed_at"]),
                                   users.get(t["completed_by_id"], "") or ""))
        elif t["completed_at"] is not None and t["state"] == "cancelled":
            events[ticket].append((ticket, t["title"], t["name"], "withdraw",
                                   _utc(t["completed_at"]), ""))
    for c in chosen.values():
        if c["status"] in ("closed", "cancelled") and c["closed_at"] is not None:
            events[c["ticket"]].append((c["ticket"], "Case closed" if c["status"] == "closed"
                                        else "Case cancelled", "", "complete",
                                        _utc(c["closed_at"]), ""))
    return events


def _text(value) -> str:
    """A cell of pm4py's table: missing attributes are NaN there."""
    return "" if value is None or value != value else value


def download(client, path: str, who: str = "auditor"):
    response = client.get(path, headers=bearer(client, who))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.is_streamed
    return response.get_data()


def test_pm4py_reads_every_event_of_the_xes_log(client, services, cases, tmp_path):
    import pm4py
    body = download(client, f"/api/v1/exports/events.xes?from={FIRST}&to={LAST}")
    path = tmp_path / "events.xes"
    path.write_bytes(body)
    log = pm4py.read_xes(str(path))
    want = expected_events(services)
    assert set(log["case:concept:name"]) == set(want)
    assert cases["closed"] in want and cases["open"] in want
    found: dict[str, Counter] = {}
    records = log.to_dict("records")
    for record in records:
        resource = _text(record.get("org:resource"))
        found.setdefault(record["case:concept:name"], Counter())[(
            record["case:concept:name"], record["concept:name"], _text(record.get("element")),
            record["lifecycle:transition"],
            _utc(record["time:timestamp"].to_pydatetime()), resource)] += 1
    assert len(records) == sum(len(events) for events in want.values())
    for ticket, events in want.items():
        assert found[ticket] == Counter(events), ticket
    # The engine's closed case, in order: who did what.
    closed = [r for r in records if r["case:concept:name"] == cases["closed"]]
    assert closed[0]["concept:name"] == "Case registered"
    assert closed[-1]["concept:name"] == "Case closed"
    done = [(r["concept:name"], r["org:resource"]) for r in closed
            if r["lifecycle:transition"] == "complete"][1:-1]
    assert done[:3] == [("Check the record is complete", "agent"),
                        ("Classify the complaint", "agent"),
                        ("Dispatch to the responsible department", "agent")]
    assert ("Preliminary verification", "handler") in done
    times = [r["time:timestamp"] for r in closed]
    assert times == sorted(times)


def test_the_xes_log_is_valid_by_the_standard_schema(client, services, cases):
    body = download(client, "/api/v1/exports/events.xes")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.fromstring(body)
    schema.assertValid(document)
    traces = document.findall("trace")
    names = [t.find("string[@key='concept:name']").get("value") for t in traces]
    assert len(names) == len(set(names)) == sum(1 for _ in expected_events(
        services, dt.date(2000, 1, 1), dt.date(2100, 12, 31)))
    # Awkward step names survive intact.
    odd = [e.get("value") for e in document.iter("string")
           if e.get("key") == "concept:name" and e.get("value").startswith("Check \"quoted\"")]
    assert odd and odd[0] == 'Check "quoted", <tagged> & listed, with comma\nand a new line 检查'


def test_the_csv_exports_read_back_as_the_same_rows(client, services, cases, visitor):
    body = download(client, f"/api/v1/exports/task-events.csv?from={FIRST}&to={LAST}")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == exports.EVENT_FIELDS
    want = expected_events(services)
    got: dict[str, Counter] = {}
    for row in rows[1:]:
        case, activity, element, lifecycle, timestamp, resource, *_rest = row
        got.setdefault(case, Counter())[(case, activity, element, lifecycle, timestamp,
                                         resource)] += 1
    assert got == {ticket: Counter(events) for ticket, events in want.items()}
    assert any("\n" in row[1] and '"quoted"' in row[1] for row in rows[1:])

    # The cases, downloaded from the statistics page.
    page = visitor().sign_in("auditor").get(f"/statistics/export/cases.csv?from={FIRST}&to={LAST}")
    assert page.status_code == 200 and page.is_streamed
    assert "attachment" in page.headers["Content-Disposition"]
    listed = list(csv.DictReader(io.StringIO(page.get_data(as_text=True), newline="")))
    all_cases, _tasks, _answers = read_rows(services)
    start = dt.datetime.combine(FIRST, dt.time(), COMPANY_ZONE)
    end = dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time(), COMPANY_ZONE)
    chosen = sorted((c for c in all_cases if c["status_token_hash"]
                     and start <= c["created_at"] < end),
                    key=lambda c: (c["created_at"], c["id"]))
    assert [r["ticket"] for r in listed] == [c["ticket"] for c in chosen]
    for row, case in zip(listed, chosen):
        assert row["status"] == case["status"]
        assert row["department"] == (case["department_code"] or "")
        assert row["channel"] == (case["channel"] or "")
        assert row["registered_at"] == _utc(case["created_at"])
        assert row["closed_at"] == (_utc(case["closed_at"]) if case["closed_at"] else "")
        assert "customer" not in " ".join(row)  # no customer data leaves
    assert cases["cancelled"] in {r["ticket"] for r in listed}


def test_batches_join_up_exactly(services, cases, monkeypatch):
    """Small batches and pieces give the same export as one big read."""
    from engine.statistics import Scope
    with services.db.read() as session:
        whole = {name: "".join(produce(session, Scope(), "all"))
                 for name, (produce, _type) in exports.EXPORTS.items()}
    monkeypatch.setattr(exports, "BATCH", 7)
    monkeypatch.setattr(exports, "CHUNK", 300)
    with services.db.read() as session:
        for name, (produce, _type) in exports.EXPORTS.items():
            pieces = list(produce(session, Scope(), "all"))
            assert len(pieces) > 10, name
            assert "".join(pieces) == whole[name], name


def test_bad_export_requests_are_refused_clearly(client):
    headers = bearer(client, "auditor")
    for path, status in (("/api/v1/exports/events.xes?from=yesterday", 400),
                         ("/api/v1/exports/events.xes?from=2026-12-01&to=2026-11-01", 400),
                         ("/api/v1/exports/events.xes?kind=everything", 400),
                         ("/api/v1/exports/secrets.txt", 404)):
        response = client.get(path, headers=headers)
        assert response.status_code == status, path
        assert response.get_json()["error"]
    assert client.get("/api/v1/exports/cases.csv",
                      headers=bearer(client, "handler")).status_code == 403


@pytest.mark.sqlite_only
def test_an_export_reads_sqlite_through_its_page_cache_and_maps_the_file_again(
        services, cases, monkeypatch):
    """An export touches most of the database once: mapped, every page would count as the
    process's memory. During it the file is not mapped; after it, or when the download
    stops early, it is mapped as before."""
    from engine.statistics import Scope
    monkeypatch.setattr(exports, "BATCH", 7)
    monkeypatch.setattr(exports, "CHUNK", 300)

    def mapped(session) -> int:
        return session.connection().exec_driver_sql("PRAGMA mmap_size").scalar()
    with services.db.read() as session:
        before = mapped(session)
        assert before > 0
        pieces = exports.events_xes(session, Scope(), "all")
        next(pieces)
        assert mapped(session) == 0
        assert list(pieces)[-1].endswith("</log>\n")
        assert mapped(session) == before
        stopped = exports.events_csv(session, Scope(), "all")
        next(stopped)
        stopped.close()
        assert mapped(session) == before

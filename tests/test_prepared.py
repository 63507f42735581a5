"""Statements sent on the driver's cursor (engine.prepared) store and read exactly what
SQLAlchemy's own execution would, fail as SQLAlchemy errors, and stay visible to
listeners that count or trace statements."""
from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError

from engine.db import Database
from engine.models import AuditEvent, OutboxMessage
from engine.prepared import Prepared

_EVENTS = AuditEvent.__table__
_EVENT_COLUMNS = ("chain", "instance_id", "actor", "kind", "detail", "at", "prev_hash", "hash")
INSERT_EVENT = Prepared(insert(_EVENTS).values({
    name: bindparam(name, type_=_EVENTS.c[name].type) for name in _EVENT_COLUMNS}))
READ_EVENTS = Prepared(select(_EVENTS.c.id, _EVENTS.c.kind, _EVENTS.c.detail, _EVENTS.c.at)
                       .where(_EVENTS.c.chain == bindparam("chain")).order_by(_EVENTS.c.id))
# Eight in the evening in Beijing: stored and read back as noon UTC.
BEIJING_EVENING = dt.datetime(2026, 12, 4, 20, 0, 5, 123456,
                              tzinfo=dt.timezone(dt.timedelta(hours=8)))


def event_row(n: int, **overrides) -> dict:
    return {"chain": "test-prepared", "instance_id": None, "actor": "li.na",
            "kind": f"kind_{n}", "detail": {"note": "退货", "n": n, "list": [1, None]},
            "at": BEIJING_EVENING, "prev_hash": f"{n:064x}", "hash": f"{n + 1:064x}",
            **overrides}


def test_rows_written_on_the_cursor_read_back_through_sqlalchemy_unchanged(services):
    with services.db.write() as session:
        INSERT_EVENT.run_many(session.connection(), [event_row(1), event_row(2)])
        session.connection().execute(insert(_EVENTS), [event_row(3)])
    with services.db.read() as session:
        through_sqlalchemy = session.execute(
            select(_EVENTS.c.kind, _EVENTS.c.detail, _EVENTS.c.at)
            .where(_EVENTS.c.chain == "test-prepared").order_by(_EVENTS.c.id)).all()
        through_cursor = READ_EVENTS.rows(session.connection(), {"chain": "test-prepared"})
    noon_utc = dt.datetime(2026, 12, 4, 12, 0, 5, 123456, tzinfo=dt.timezone.utc)
    assert [tuple(row) for row in through_sqlalchemy] == [
        (f"kind_{n}", {"note": "退货", "n": n, "list": [1, None]}, noon_utc) for n in (1, 2, 3)]
    # Read on the cursor: the same values, by position and by column name.
    assert [row[1:] for row in through_cursor] == [tuple(row) for row in through_sqlalchemy]
    assert through_cursor[0].detail == {"note": "退货", "n": 1, "list": [1, None]}
    assert through_cursor[2].at == noon_utc and through_cursor[2].at.tzinfo is not None


def test_a_changed_row_count_is_on_the_returned_cursor(services):
    statement = Prepared(_EVENTS.update().where(_EVENTS.c.chain == bindparam("chain"))
                         .values(actor=bindparam("actor")))
    with services.db.write() as session:
        INSERT_EVENT.run_many(session.connection(), [event_row(1), event_row(2)])
        assert statement.run(session.connection(), {"chain": "test-prepared",
                                                    "actor": "wang.fang"}).rowcount == 2
        assert statement.run(session.connection(), {"chain": "no-such-chain",
                                                    "actor": "wang.fang"}).rowcount == 0


def test_a_driver_error_is_the_sqlalchemy_error_and_the_unit_of_work_keeps_nothing(services):
    with pytest.raises(IntegrityError):
        with services.db.write() as session:
            INSERT_EVENT.run(session.connection(), event_row(1))
            INSERT_EVENT.run(session.connection(), event_row(2, kind=None))  # NOT NULL
    with services.db.read() as session:
        assert READ_EVENTS.rows(session.connection(), {"chain": "test-prepared"}) == []


def test_statement_listeners_see_every_statement_sent_on_the_cursor(services):
    seen = []

    def listen(_conn, _cursor, statement, _parameters, _context, executemany):
        seen.append((statement.split()[0], executemany))

    event.listen(services.db.engine, "before_cursor_execute", listen)
    try:
        with services.db.write() as session:
            INSERT_EVENT.run_many(session.connection(), [event_row(1), event_row(2)])
            READ_EVENTS.rows(session.connection(), {"chain": "test-prepared"})
    finally:
        event.remove(services.db.engine, "before_cursor_execute", listen)
    assert ("INSERT", True) in seen and ("SELECT", False) in seen


def test_an_engine_that_echoes_logs_prepared_statements_too(database_url, caplog):
    database = Database(database_url, echo=True)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            with database.write() as session:
                INSERT_EVENT.run(session.connection(), event_row(1))
                assert len(READ_EVENTS.rows(session.connection(),
                                            {"chain": "test-prepared"})) == 1
    finally:
        database.dispose()
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "INSERT INTO audit_event" in logged and "SELECT audit_event.id" in logged


def test_statements_it_cannot_send_as_asked_are_refused_before_anything_runs(services):
    # OutboxMessage.created_at defaults to the time of insert, computed by SQLAlchemy.
    missing_default = Prepared(insert(OutboxMessage.__table__).values(
        to_address=bindparam("to"), subject=bindparam("subject"),
        body_text=bindparam("body")))
    with services.db.write() as session:
        with pytest.raises(ValueError, match="column defaults"):
            missing_default.run(session.connection(), {"to": "a@example.com",
                                                       "subject": "s", "body": "b"})
    expanding = Prepared(select(_EVENTS.c.id).where(
        _EVENTS.c.chain.in_(bindparam("chains", expanding=True))))
    with services.db.read() as session:
        with pytest.raises(ValueError, match="plain binds"):
            expanding.rows(session.connection(), {"chains": ["a"]})
        with pytest.raises(TypeError, match="SELECT"):
            INSERT_EVENT.rows(session.connection(), event_row(1))

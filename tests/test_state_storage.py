"""On PostgreSQL the workflow states are compressed with lz4, and states stored before
(compressed with pglz) still load and go on: a case saved on either side of migration
0019 keeps running."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.skipif(os.environ.get("COMPLAINTS_TEST_DATABASE") != "postgresql",
                                reason="column compression exists on PostgreSQL only")


def _compression_of(services, ticket: str) -> str:
    with services.db.engine.connect() as conn:
        return conn.execute(text(
            "SELECT pg_column_compression(s.state) FROM instance_state s "
            "JOIN process_instance p ON p.id = s.instance_id WHERE p.ticket = :ticket"),
            {"ticket": ticket}).scalar_one()


def _set_compression(services, method: str) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE instance_state ALTER COLUMN state "
                          f"SET COMPRESSION {method}"))


def test_states_are_stored_with_lz4_and_those_stored_with_pglz_still_run(desk, services):
    ticket = desk.file()
    assert _compression_of(services, ticket) == "lz4"

    _set_compression(services, "pglz")  # as a database before migration 0019 stored it
    desk.do(ticket, "check_record", record_complete=True)
    assert _compression_of(services, ticket) == "pglz"

    _set_compression(services, "lz4")
    desk.run_until(ticket, "dispatch")
    assert "dispatch" in desk.open_task_names(ticket)
    assert _compression_of(services, ticket) == "lz4"

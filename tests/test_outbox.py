"""Reading the outbox through the engine: administrators only, and every look audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import mailer, outbox
from engine.errors import Forbidden, NotFound
from engine.models import AuditEvent


@pytest.fixture
def message_id(services):
    with services.db.write() as session:
        mailer.queue(session, "li.si@example.com", "First", "Plain text.")
        return mailer.queue(session, "wang.lei@example.com", "Second", "Report attached.",
                            attachment=("report.txt", "text/plain", "The report.")).id


def test_the_newest_messages_and_their_totals(services, actors, message_id):
    with services.db.read() as session:
        rows = outbox.newest(session, actors["admin"], limit=1)
        totals = outbox.status_totals(session, actors["admin"])
    assert [(row.id, ticket) for row, ticket in rows] == [(message_id, None)]
    assert totals == {"queued": 2}


def test_opening_a_message_is_audited(services, actors, message_id):
    row, ticket = outbox.open_message(services, actors["admin"], str(message_id),
                                      with_attachment=True)
    assert row.attachment == "The report." and ticket is None
    with services.db.read() as session:
        kinds = session.execute(select(AuditEvent.kind).where(
            AuditEvent.actor == "admin")).scalars().all()
    assert "outbox_attachment_downloaded" in kinds


@pytest.mark.parametrize("raw_id", ["0", "x1", "1" * 19, "-1", ""])
def test_what_is_no_message_id_is_not_found(services, actors, raw_id):
    with pytest.raises(NotFound):
        outbox.open_message(services, actors["admin"], raw_id)


@pytest.mark.parametrize("username", ["agent", "supervisor", "auditor", "owner"])
def test_only_administrators_read_the_outbox(services, actors, message_id, username):
    with services.db.read() as session:
        with pytest.raises(Forbidden):
            outbox.newest(session, actors[username], limit=10)
        with pytest.raises(Forbidden):
            outbox.status_totals(session, actors[username])
    with pytest.raises(Forbidden):
        outbox.open_message(services, actors[username], str(message_id))

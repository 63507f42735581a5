"""The head of each audit chain follows its last event by a trigger, so that appending
an event is one statement instead of three (read, insert, move the head).

A chain's first event inserts its head; a second transaction racing to start the same
chain fails on the head's primary key rather than forking the chain, as before.
SQLite drops a table's triggers when `batch_alter_table` rebuilds it: a later migration
that alters `audit_event` on SQLite must create this trigger again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SQLITE_TRIGGER = """
CREATE TRIGGER audit_event_moves_head AFTER INSERT ON audit_event
BEGIN
    UPDATE audit_head SET last_hash = NEW.hash WHERE chain = NEW.chain;
    INSERT INTO audit_head (chain, last_hash)
        SELECT NEW.chain, NEW.hash
        WHERE NOT EXISTS (SELECT 1 FROM audit_head WHERE chain = NEW.chain);
END
"""

POSTGRESQL_FUNCTION = """
CREATE FUNCTION audit_event_moves_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head SET last_hash = NEW.hash WHERE chain = NEW.chain;
    IF NOT FOUND THEN
        INSERT INTO audit_head (chain, last_hash) VALUES (NEW.chain, NEW.hash);
    END IF;
    RETURN NEW;
END
$$
"""

POSTGRESQL_TRIGGER = """
CREATE TRIGGER audit_event_moves_head AFTER INSERT ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_moves_head()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_event_moves_head"
               + (" ON audit_event" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_event_moves_head()")

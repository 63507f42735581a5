"""PostgreSQL compresses workflow states with lz4 instead of pglz.

Every step rewrites its case's whole state (about 30 kB of JSON for a complaint at
dispatch); pglz spent about half of that update's time compressing it, lz4 a quarter,
and lz4 also stores it smaller. States written before keep pglz and read as before: the
setting applies to values written from now on. Servers built without lz4 keep pglz, and
SQLite has nothing to change.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def _lz4_available(bind) -> bool:
    return bool(bind.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'")).scalar())


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _lz4_available(bind):
        op.execute("ALTER TABLE instance_state ALTER COLUMN state SET COMPRESSION lz4")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _lz4_available(bind):
        op.execute("ALTER TABLE instance_state ALTER COLUMN state SET COMPRESSION pglz")

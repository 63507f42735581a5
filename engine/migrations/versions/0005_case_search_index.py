"""Case search: newest-first lists and date ranges read an index, not the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_instance_created', 'process_instance', ['created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_instance_created', 'process_instance')

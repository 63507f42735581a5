"""Notices keep their subject as a catalog message with values, so that the inbox shows
each reader the notice in their own language and time zone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification') as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('message_values', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification') as batch_op:
        batch_op.drop_column('message_values')
        batch_op.drop_column('message_id')

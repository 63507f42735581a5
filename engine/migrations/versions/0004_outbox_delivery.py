"""Outbox delivery: when a message's next attempt is due, and a sender's claim on it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True),
                                      nullable=True))
    op.create_index('ix_outbox_message_next_attempt_at', 'outbox_message',
                    ['next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_outbox_message_next_attempt_at', 'outbox_message')
    with op.batch_alter_table('outbox_message') as batch_op:
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('next_attempt_at')

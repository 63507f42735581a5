"""Saved searches per user; indexes for listing the audit trail by kind, actor and date,
and for verifying a chain in order (chain, id) in batches, which replaces the index on
the chain alone.

Only indexes are added to `audit_event`: the table is not rebuilt, so the trigger that
moves each chain's head (0010) stays in place on SQLite.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-22
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'saved_search',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'scope', 'name'),
    )
    op.create_index('ix_saved_search_user_id', 'saved_search', ['user_id'])
    op.create_index('ix_audit_event_chain_id', 'audit_event', ['chain', 'id'])
    op.drop_index('ix_audit_event_chain', table_name='audit_event')
    op.create_index('ix_audit_event_kind_id', 'audit_event', ['kind', 'id'])
    op.create_index('ix_audit_event_actor_id', 'audit_event', ['actor', 'id'])
    op.create_index('ix_audit_event_at', 'audit_event', ['at'])


def downgrade() -> None:
    op.drop_index('ix_audit_event_at', table_name='audit_event')
    op.drop_index('ix_audit_event_actor_id', table_name='audit_event')
    op.drop_index('ix_audit_event_kind_id', table_name='audit_event')
    op.create_index('ix_audit_event_chain', 'audit_event', ['chain'])
    op.drop_index('ix_audit_event_chain_id', table_name='audit_event')
    op.drop_index('ix_saved_search_user_id', table_name='saved_search')
    op.drop_table('saved_search')

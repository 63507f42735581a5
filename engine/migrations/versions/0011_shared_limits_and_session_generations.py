"""Rate-limit counters kept in the database, so that every web process counts against
the same limits, and a session generation per user, so that signing out, a new password
or deactivation ends every session of the account.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-11
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_limit_counter',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_rate_limit_counter_expires_at', 'rate_limit_counter', ['expires_at'])
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.drop_column('session_generation')
    op.drop_index('ix_rate_limit_counter_expires_at', table_name='rate_limit_counter')
    op.drop_table('rate_limit_counter')

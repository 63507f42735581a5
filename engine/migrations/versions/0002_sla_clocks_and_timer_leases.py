"""SLA clocks and timer leases: department calendars, closed days, task SLA marks,
instance leases for timer workers, notification scope.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'closed_day',
        sa.Column('calendar', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('is_open', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('reason', sa.String(length=200), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('calendar', 'day'),
    )
    with op.batch_alter_table('department') as batch_op:
        batch_op.add_column(sa.Column('calendar', sa.String(length=64),
                                      server_default='cn-standard', nullable=False))
    with op.batch_alter_table('human_task') as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('breached_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('pauses_sla', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))
    with op.batch_alter_table('notification') as batch_op:
        batch_op.add_column(sa.Column('recipient_department', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.String(length=32), server_default='notice',
                                      nullable=False))
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
    with op.batch_alter_table('notification') as batch_op:
        batch_op.drop_column('kind')
        batch_op.drop_column('recipient_department')
    with op.batch_alter_table('human_task') as batch_op:
        batch_op.drop_column('pauses_sla')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('breached_at')
        batch_op.drop_column('reminded_at')
    with op.batch_alter_table('department') as batch_op:
        batch_op.drop_column('calendar')
    op.drop_table('closed_day')

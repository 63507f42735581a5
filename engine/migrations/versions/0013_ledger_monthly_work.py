"""The rewards and penalties ledger, the monthly supervision reports, and the record of
scheduled monthly work done (one row per job and period, so it runs once).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-20
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ledger_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('department_code', sa.String(length=64), nullable=True),
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('points', sa.Integer(), nullable=True),
        sa.Column('amount_fen', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('source_ticket', sa.String(length=16), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(), nullable=False),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.ForeignKeyConstraint(['proposed_by_id'], ['app_user.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ledger_entry_instance_id', 'ledger_entry', ['instance_id'])
    op.create_index('ix_ledger_period_status', 'ledger_entry', ['period', 'status'])
    op.create_index('ix_ledger_person', 'ledger_entry', ['user_id', 'period'])
    op.create_index('ix_ledger_department', 'ledger_entry', ['department_code', 'period'])
    op.create_table(
        'monthly_report',
        sa.Column('period', sa.String(length=7), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('generated_by', sa.String(length=64), nullable=True),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('csv', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('period'),
    )
    op.create_table(
        'scheduled_run',
        sa.Column('job', sa.String(length=64), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('worker', sa.String(length=64), nullable=True),
        sa.Column('ran_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('job', 'period'),
    )

def downgrade() -> None:
    op.drop_table('scheduled_run')
    op.drop_table('monthly_report')
    op.drop_index('ix_ledger_department', table_name='ledger_entry')
    op.drop_index('ix_ledger_person', table_name='ledger_entry')
    op.drop_index('ix_ledger_period_status', table_name='ledger_entry')
    op.drop_index('ix_ledger_entry_instance_id', table_name='ledger_entry')
    op.drop_table('ledger_entry')

"""Knowledge records of solved technical problems: model, problem, cause and solution,
found by the agents from the next similar request.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'knowledge_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('ticket', sa.String(length=16), nullable=False),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('problem', sa.Text(), nullable=False),
        sa.Column('cause', sa.Text(), nullable=False),
        sa.Column('solution', sa.Text(), nullable=False),
        sa.Column('solved_on_site', sa.Boolean(), nullable=False),
        sa.Column('recorded_by', sa.String(length=64), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('instance_id'),
    )
    op.create_index('ix_knowledge_record_model', 'knowledge_record', ['model'])


def downgrade() -> None:
    op.drop_index('ix_knowledge_record_model', table_name='knowledge_record')
    op.drop_table('knowledge_record')

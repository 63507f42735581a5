"""A change note on each process version: what the process owner changed and why.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-18
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_version') as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_version') as batch_op:
        batch_op.drop_column('note')

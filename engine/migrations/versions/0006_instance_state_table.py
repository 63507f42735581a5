"""The serialized workflow moves to a table of its own, so that scanning cases (search,
lists, timer claims) reads small rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'instance_state',
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('instance_id'),
    )
    op.execute("INSERT INTO instance_state (instance_id, state) "
               "SELECT id, state FROM process_instance")
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.drop_column('state')


def downgrade() -> None:
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.add_column(sa.Column('state', sa.Text(), nullable=False, server_default=''))
    op.execute("UPDATE process_instance SET state = (SELECT state FROM instance_state "
               "WHERE instance_state.instance_id = process_instance.id)")
    op.drop_table('instance_state')

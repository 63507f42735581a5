"""Major path support: separation of duties on tasks, lookup records for connectors,
the e-mail outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('human_task') as batch_op:
        batch_op.add_column(sa.Column('excluded_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_human_task_excluded_user', 'app_user',
                                    ['excluded_user_id'], ['id'])
    op.create_table(
        'lookup_record',
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'key'),
    )
    op.create_table(
        'outbox_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('to_address', sa.String(length=254), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('attachment_name', sa.String(length=255), nullable=True),
        sa.Column('attachment_type', sa.String(length=100), nullable=True),
        sa.Column('attachment', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outbox_message_instance_id', 'outbox_message', ['instance_id'])
    op.create_index('ix_outbox_message_status', 'outbox_message', ['status'])


def downgrade() -> None:
    op.drop_index('ix_outbox_message_status', 'outbox_message')
    op.drop_index('ix_outbox_message_instance_id', 'outbox_message')
    op.drop_table('outbox_message')
    op.drop_table('lookup_record')
    with op.batch_alter_table('human_task') as batch_op:
        batch_op.drop_constraint('fk_human_task_excluded_user', type_='foreignkey')
        batch_op.drop_column('excluded_user_id')

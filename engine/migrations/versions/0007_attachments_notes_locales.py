"""Attachments, case notes (customer messages, replies, internal comments), and the
language and time zone of users and customers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.add_column(sa.Column('customer_locale', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('customer_timezone', sa.String(length=64),
                                      nullable=True))
    op.create_table(
        'attachment',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('visible_to_customer', sa.Boolean(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_attachment_instance_id', 'attachment', ['instance_id'])
    op.create_index('ix_attachment_sha256', 'attachment', ['sha256'])
    op.create_table(
        'case_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('attachment_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['author_id'], ['app_user.id']),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_note_instance_created', 'case_note', ['instance_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_note_instance_created', table_name='case_note')
    op.drop_table('case_note')
    op.drop_index('ix_attachment_sha256', table_name='attachment')
    op.drop_index('ix_attachment_instance_id', table_name='attachment')
    op.drop_table('attachment')
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.drop_column('customer_timezone')
        batch_op.drop_column('customer_locale')
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('locale')

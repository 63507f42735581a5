"""The customer's e-mail address and order number as indexed columns, so that a case page
lists the same customer's other complaints by any of phone, e-mail or order number.

Cases filed before this revision keep NULL here (their record stays in the serialized
state); they are still matched by phone number.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.add_column(sa.Column('customer_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('order_number', sa.String(length=128), nullable=True))
    op.create_index('ix_process_instance_customer_email', 'process_instance',
                    ['customer_email'])
    op.create_index('ix_process_instance_order_number', 'process_instance', ['order_number'])


def downgrade() -> None:
    op.drop_index('ix_process_instance_order_number', table_name='process_instance')
    op.drop_index('ix_process_instance_customer_email', table_name='process_instance')
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.drop_column('order_number')
        batch_op.drop_column('customer_email')

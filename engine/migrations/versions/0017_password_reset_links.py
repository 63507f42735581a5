"""Password reset links sent by e-mail: the digest of each link's token, whose account it
opens, until when, and when it was used.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'password_reset_link',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_password_reset_link_user_id', 'password_reset_link', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_password_reset_link_user_id', table_name='password_reset_link')
    op.drop_table('password_reset_link')

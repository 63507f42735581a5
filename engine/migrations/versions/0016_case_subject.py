"""The case's subject (the product complained about) as a column of the case, so that an
inbox of a thousand tasks shows it from the one statement that lists them.

Existing cases take it from the record their workflow started with; an improvement
project takes its complaint's.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""
import json

from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 500
SUBJECT_LENGTH = 200

cases = sa.table('process_instance', sa.column('id', sa.Integer),
                 sa.column('ticket', sa.String), sa.column('parent_ticket', sa.String),
                 sa.column('subject', sa.String))
states = sa.table('instance_state', sa.column('instance_id', sa.Integer),
                  sa.column('state', sa.Text))


def upgrade() -> None:
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=SUBJECT_LENGTH),
                                      nullable=True))
    connection = op.get_bind()
    _fill_from_records(connection)
    _fill_from_complaints(connection)


def downgrade() -> None:
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.drop_column('subject')


def subject_of(state_text):
    """The product of the record the serialized workflow started with (its root task's
    data), or None."""
    try:
        state = json.loads(state_text)
        data = state['tasks'][state['root']]['data']
    except (ValueError, KeyError, TypeError):
        return None
    product = data.get('product') if isinstance(data, dict) else None
    if not isinstance(product, str) or not product.strip():
        return None
    return ' '.join(product.split())[:SUBJECT_LENGTH]


def _fill_from_records(connection) -> None:
    setting = (sa.update(cases).where(cases.c.id == sa.bindparam('case_id'))
               .values(subject=sa.bindparam('new_subject')))
    highest = connection.execute(sa.select(sa.func.max(states.c.instance_id))).scalar() or 0
    for low in range(0, highest + 1, BATCH):
        rows = connection.execute(
            sa.select(states.c.instance_id, states.c.state)
            .where(states.c.instance_id >= low, states.c.instance_id < low + BATCH)).fetchall()
        found = [{'case_id': instance_id, 'new_subject': subject}
                 for instance_id, subject in ((r[0], subject_of(r[1])) for r in rows)
                 if subject]
        if found:
            connection.execute(setting, found)


def _fill_from_complaints(connection) -> None:
    parent = sa.alias(cases, 'parent')
    connection.execute(
        sa.update(cases)
        .where(cases.c.subject.is_(None), cases.c.parent_ticket.is_not(None))
        .values(subject=sa.select(parent.c.subject)
                .where(parent.c.ticket == cases.c.parent_ticket)
                .scalar_subquery()))

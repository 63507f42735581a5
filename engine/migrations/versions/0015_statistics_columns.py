"""What the statistics count as columns of the case: the last classification's urgency,
the last follow-up visit's satisfaction and score, the customer's rejections and whether
the complaint is a repeat (the same customer within 90 days before), so the statistics
page reads columns of the case instead of the audit trail's JSON and months of cases; and
indexes of the few steps escalated or overdue, and of a department's cases by time.

Existing cases are filled from their audit trail's task completions (in the order they
happened) and from the complaints registered before them, as each step fills them from
now on.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-22
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

REJECTION_FIELDS = ('customer_response', 'customer_plan_response')
MATCH_COLUMNS = ('customer_phone', 'customer_email', 'order_number')
REPEAT_WINDOW = dt.timedelta(days=90)
BATCH = 2000

cases = sa.table(
    'process_instance', sa.column('id', sa.Integer), sa.column('created_at'),
    sa.column('status_token_hash', sa.String), sa.column('customer_phone', sa.String),
    sa.column('customer_email', sa.String), sa.column('order_number', sa.String),
    sa.column('urgency', sa.String), sa.column('satisfaction', sa.String),
    sa.column('satisfaction_score', sa.Integer), sa.column('rejections', sa.Integer),
    sa.column('repeat_complaint', sa.Boolean))
events = sa.table('audit_event', sa.column('id', sa.Integer),
                  sa.column('instance_id', sa.Integer), sa.column('kind', sa.String),
                  sa.column('detail', sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.add_column(sa.Column('urgency', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('satisfaction', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('satisfaction_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rejections', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))
        batch_op.add_column(sa.Column('repeat_complaint', sa.Boolean(), nullable=False,
                                      server_default=sa.text('false')))
    for name, column in (('ix_task_escalated', 'escalated_at'),
                         ('ix_task_breached', 'breached_at')):
        where = sa.text(f'{column} IS NOT NULL')
        op.create_index(name, 'human_task', ['instance_id'], sqlite_where=where,
                        postgresql_where=where)
    # A department's statistics read its cases of the period by one index.
    op.drop_index('ix_process_instance_department_code', table_name='process_instance')
    op.create_index('ix_instance_department_created', 'process_instance',
                    ['department_code', 'created_at'])
    connection = op.get_bind()
    _fill_facts(connection)
    _fill_repeats(connection)


def _text(value):
    if value is None or value == '' or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    return str(value)[:64]


def _score(value):
    if value is None or value == '' or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _fill_facts(connection) -> None:
    """One pass over the task completions in case and event order, folding each form
    the way a step does, written a batch of cases at a time."""
    setting = (sa.update(cases).where(cases.c.id == sa.bindparam('case_id'))
               .values(urgency=sa.bindparam('new_urgency'),
                       satisfaction=sa.bindparam('new_satisfaction'),
                       satisfaction_score=sa.bindparam('new_score'),
                       rejections=sa.bindparam('new_rejections')))
    pending, current = [], None
    for instance_id, detail in _completions(connection):
        if current is None or current['case_id'] != instance_id:
            current = {'case_id': instance_id, 'new_urgency': None, 'new_satisfaction': None,
                       'new_score': None, 'new_rejections': 0}
            pending.append(current)
            if len(pending) > BATCH:
                connection.execute(setting, pending[:-1])
                del pending[:-1]
        data = detail.get('data') if isinstance(detail, dict) else None
        if not isinstance(data, dict):
            continue
        urgency = _text(data.get('urgency'))
        if urgency:
            current['new_urgency'] = urgency
        satisfaction = _text(data.get('satisfaction'))
        if satisfaction:
            current['new_satisfaction'] = satisfaction
            current['new_score'] = _score(data.get('satisfaction_score'))
        current['new_rejections'] += sum(1 for name in REJECTION_FIELDS
                                         if data.get(name) == 'reject')
    if pending:
        connection.execute(setting, pending)


def _completions(connection):
    """The task completions by case and order, read a range of cases at a time."""
    highest = connection.execute(sa.select(sa.func.max(cases.c.id))).scalar() or 0
    for low in range(0, highest + 1, BATCH):
        yield from connection.execute(
            sa.select(events.c.instance_id, events.c.detail)
            .where(events.c.kind == 'task_completed', events.c.instance_id >= low,
                   events.c.instance_id < low + BATCH)
            .order_by(events.c.instance_id, events.c.id)).fetchall()


def _moment(value):
    """A stored time as an aware UTC datetime (SQLite keeps naive UTC text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def _fill_repeats(connection) -> None:
    """Complaints whose customer (by phone, e-mail or order number) had complained within
    the 90 days before: one walk in registration order."""
    last_seen, repeats = {}, []
    for row in _complaints(connection):
        at = _moment(row[1])
        keys = [(i, value) for i, value in enumerate(row[2:]) if value]
        if any(key in last_seen and at - last_seen[key] <= REPEAT_WINDOW for key in keys):
            repeats.append({'case_id': row[0]})
        for key in keys:
            last_seen[key] = at
    flagging = (sa.update(cases).where(cases.c.id == sa.bindparam('case_id'))
                .values(repeat_complaint=True))
    for start in range(0, len(repeats), BATCH):
        connection.execute(flagging, repeats[start:start + BATCH])


def _complaints(connection):
    """The complaints in registration order, a page at a time (keyset by time and id)."""
    after = None
    while True:
        statement = (sa.select(cases.c.id, cases.c.created_at,
                               *(cases.c[n] for n in MATCH_COLUMNS))
                     .where(cases.c.status_token_hash.is_not(None))
                     .order_by(cases.c.created_at, cases.c.id).limit(10 * BATCH))
        if after is not None:
            statement = statement.where(  # the first bounds the index range
                cases.c.created_at >= after[1],
                sa.or_(cases.c.created_at > after[1], cases.c.id > after[0]))
        rows = connection.execute(statement).fetchall()
        if not rows:
            return
        yield from rows
        after = rows[-1]


def downgrade() -> None:
    op.drop_index('ix_task_breached', table_name='human_task')
    op.drop_index('ix_task_escalated', table_name='human_task')
    op.drop_index('ix_instance_department_created', table_name='process_instance')
    op.create_index('ix_process_instance_department_code', 'process_instance',
                    ['department_code'])
    with op.batch_alter_table('process_instance') as batch_op:
        batch_op.drop_column('repeat_complaint')
        batch_op.drop_column('rejections')
        batch_op.drop_column('satisfaction_score')
        batch_op.drop_column('satisfaction')
        batch_op.drop_column('urgency')

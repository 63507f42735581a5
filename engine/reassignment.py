"""Handing an open task to a named person of its team: the team's head does it, with the
reason, and the audit trail keeps who had it before."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .directory import Actor, actor_of, find_user
from .errors import AlreadyCompleted, Forbidden
from .forms import FormInvalid
from .i18n import Message, N_
from .models import User
from .tasks import TaskView, in_queue_of, load_row, view_of

# Who may hand a task to someone else: the head of the team whose queue it is in.
REASSIGNING_ROLE = {"dept_handler": "dept_head", "dept_head": "dept_head",
                    "cs_agent": "cs_supervisor", "cs_supervisor": "cs_supervisor"}


def reassign(session: Session, actor: Actor, task_id: str, to_username: str, reason: str,
             now: dt.datetime) -> TaskView:
    """A head gives an open task to a named person of the same team, with the reason."""
    row = load_row(session, task_id, for_update=True)
    if row.state != "ready":
        raise AlreadyCompleted()
    head_role = REASSIGNING_ROLE.get(row.role)
    if head_role is None or head_role not in actor.roles or (
            row.department_code and row.department_code != actor.department):
        raise Forbidden(N_("Only the head of this team can reassign its tasks."))
    if not (reason or "").strip():
        raise FormInvalid({"reason": Message(N_("Say why the task is reassigned."))})
    target = find_user(session, (to_username or "").strip())
    if target is None or not target.active or not in_queue_of(actor_of(target), row) or \
            row.excluded_user_id == target.id:
        raise FormInvalid({"assignee": Message(
            N_("Choose someone of this team who may do the task."))})
    previous = row.assignee.username if row.assignee else None
    row.assignee_id = target.id
    session.flush()
    session.expire(row, ["assignee"])
    audit.record(session, "task_reassigned", actor.username, row.instance_id, task=row.name,
                 task_id=row.id, previous=previous, to=target.username, reason=reason.strip())
    return view_of(row)


def can_reassign(actor: Actor, view: TaskView) -> bool:
    head_role = REASSIGNING_ROLE.get(view.role)
    return bool(head_role and head_role in actor.roles and (
        not view.department or view.department == actor.department))


def reassign_candidates(session: Session, view: TaskView) -> list[tuple[str, str]]:
    """(username, name) of the people whose queue holds the task."""
    users = session.execute(select(User).where(User.active.is_(True))
                            .order_by(User.display_name)).scalars()
    return [(u.username, u.display_name) for u in users
            if view.role in u.role_names and (
                not view.department or (u.department and u.department.code == view.department))]

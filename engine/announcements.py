"""E-mails the procedure promises people as a case moves: a new task to the person it is
assigned to (or to everyone in the team queue that may take it), the customer asked for
an answer (most importantly: a proposed solution), and the customer told the case is
closed. The acknowledgement on intake is sent by the runtime itself.

Mails are queued in the step's own transaction (engine.mailer), in the recipient's
language and time zone, so a rolled-back step never announces anything.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import mailer
from .i18n import COMPANY_ZONE, local_time, translator, zone_or_none
from .models import Department, HumanTask, ProcessInstance, User, UserRole

CUSTOMER_LANE = "customer"


def one_line(text: str) -> str:
    """A task title as the catalog has it (diagram names may wrap)."""
    return " ".join(text.split())


def _queue_mail(session: Session, to: Optional[str], subject: str, body: str,
                instance_id: int, now: dt.datetime) -> None:
    if not to:
        return
    try:
        mailer.queue(session, to, subject, body, instance_id=instance_id, now=now)
    except ValueError:
        pass  # an unusable address on file must not stop the case


def _recipients(session: Session, row: HumanTask) -> list[User]:
    """The assignee, or else every active member of the task's queue."""
    if row.assignee_id is not None:
        user = session.get(User, row.assignee_id)
        return [user] if user is not None and user.active else []
    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(UserRole.role == row.role, User.active.is_(True)))
    if row.department_code:
        query = query.join(Department, Department.id == User.department_id) \
            .where(Department.code == row.department_code)
    return [u for u in session.execute(query).scalars().unique()
            if u.id != row.excluded_user_id]


def _staff_mail(services, session: Session, row: HumanTask, instance: ProcessInstance,
                now: dt.datetime) -> None:
    for user in _recipients(session, row):
        _ = translator(user.locale)
        zone = zone_or_none(user.timezone) or COMPANY_ZONE
        title = _(one_line(row.title))
        who = (_("It is assigned to you.") if row.assignee_id == user.id
               else _("It is waiting in your team's queue; claim it to make it yours."))
        due = (_("Due: %(when)s", when=f"{local_time(row.due_at, zone)} ({zone.key})")
               if row.due_at else _("No deadline is set for this step."))
        body = "\n\n".join([
            _("Hello %(name)s,", name=user.display_name),
            _("a new task is waiting: %(title)s, complaint %(ticket)s.",
              title=title, ticket=instance.ticket),
            who, due,
            _("Open it here: %(link)s", link=f"{services.public_url}/tasks/{row.id}"),
            _("Complaint Desk"),
        ])
        _queue_mail(session, user.email,
                    _("New task: %(title)s (%(ticket)s)", title=title, ticket=instance.ticket),
                    body, instance.id, now)


def _customer_mail(session: Session, row: HumanTask, instance: ProcessInstance,
                   data: dict, now: dt.datetime) -> None:
    _ = translator(instance.customer_locale)
    name = data.get("customer_name") or _("customer")
    if row.name == "customer_decision":
        subject = _("Our proposed solution for complaint %(ticket)s", ticket=instance.ticket)
        lines = [_("we have worked out a solution for your complaint %(ticket)s:",
                   ticket=instance.ticket)]
        if data.get("measures"):
            lines.append(str(data["measures"]))
        lines.append(_("Please tell us on your status page whether you accept it, accept "
                       "part of it or reject it. The link is in our first e-mail."))
    else:
        subject = _("We need your answer on complaint %(ticket)s", ticket=instance.ticket)
        lines = [_("to continue with your complaint %(ticket)s we need your answer: %(title)s.",
                   ticket=instance.ticket, title=_(one_line(row.title))),
                 _("Please answer on your status page. The link is in our first e-mail.")]
    body = "\n\n".join([_("Dear %(name)s,", name=name), *lines, _("Customer service")])
    _queue_mail(session, data.get("customer_email"), subject, body, instance.id, now)


def new_tasks(services, session: Session, instance: ProcessInstance, workflow,
              task_ids: Iterable[str], now: dt.datetime) -> None:
    """Announce the task rows a step just created."""
    task_ids = list(task_ids)
    if not task_ids:
        return
    rows = session.execute(select(HumanTask).where(HumanTask.id.in_(task_ids))).scalars().all()
    for row in rows:
        if row.lane == CUSTOMER_LANE:
            task = workflow.get_task_from_id(UUID(row.id))
            data = task.data if task is not None else workflow.data
            _customer_mail(session, row, instance, data, now)
        else:
            _staff_mail(services, session, row, instance, now)


def case_closed(session: Session, instance: ProcessInstance, data: dict,
                now: dt.datetime) -> None:
    _ = translator(instance.customer_locale)
    body = "\n\n".join([
        _("Dear %(name)s,", name=data.get("customer_name") or _("customer")),
        _("your complaint %(ticket)s is now closed. Thank you for telling us about the "
          "problem and for your patience.", ticket=instance.ticket),
        _("Your status page stays available if you want to look back at what was done or "
          "send us a message."),
        _("Customer service"),
    ])
    _queue_mail(session, data.get("customer_email"),
                _("Complaint %(ticket)s is closed", ticket=instance.ticket), body,
                instance.id, now)

"""E-mails the procedure promises people as a case moves: a new task to the person it is
assigned to (or to everyone in the team queue that may take it), the customer asked for
an answer (most importantly: a proposed solution), and the customer told the case is
closed, and the acknowledgement of a new complaint with its private status link.

Mails are queued in the step's own transaction (engine.mailer), in the recipient's
language and time zone, so a rolled-back step never announces anything.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Optional
from uuid import UUID

from sqlalchemy import String, bindparam, or_, select
from sqlalchemy.orm import Session

from . import audit, mailer
from .handling_promise import Promise
from .i18n import COMPANY_ZONE, local_time, one_line, translator, zone_label, zone_or_none
from .models import Department, ProcessInstance, User, UserRole
from .prepared import Prepared
from .rate_limits import ACKNOWLEDGEMENTS

CUSTOMER_LANE = "customer"


def _mail(mails: list[dict], to: Optional[str], subject: str, body: str, instance_id: int,
          now: dt.datetime) -> None:
    """Add a mail to the step's batch; an unusable address on file must not stop the case."""
    if not to:
        return
    try:
        mails.append(mailer.plain_mail(mailer.checked_address(to), subject, body,
                                       instance_id, now))
    except ValueError:
        pass


# Built once: they run on every step that opens a task.
_PEOPLE = select(User.id, User.email, User.display_name, User.locale, User.timezone) \
    .where(User.active.is_(True), User.email.is_not(None))
_ASSIGNEE = Prepared(_PEOPLE.where(User.id == bindparam("user_id")))
_QUEUE = Prepared(_PEOPLE.join(UserRole, UserRole.user_id == User.id)
                  .outerjoin(Department, Department.id == User.department_id)
                  .where(UserRole.role == bindparam("role"),
                         or_(bindparam("department", type_=String).is_(None),
                             Department.code == bindparam("department", type_=String))))


def members(session: Session, role: str, department: Optional[str]) -> list:
    """Active people with an address who hold the role (in the department, if given)."""
    return _QUEUE.rows(session.connection(), {"role": role, "department": department})


def person(session: Session, user_id: int) -> list:
    """The user, if active and with an address on file (an empty list otherwise)."""
    return _ASSIGNEE.rows(session.connection(), {"user_id": user_id})


def _recipients(session: Session, row) -> list:
    """The assignee, or else every active member of the task's queue."""
    if row.assignee_id is not None:
        return person(session, row.assignee_id)
    people = members(session, row.role, row.department_code)
    return [u for u in people if u.id != row.excluded_user_id]


def _staff_mail(services, session: Session, mails: list[dict], row,
                instance: ProcessInstance, now: dt.datetime) -> None:
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
        _mail(mails, user.email,
              _("New task: %(title)s (%(ticket)s)", title=title, ticket=instance.ticket),
              body, instance.id, now)


def _customer_mail(mails: list[dict], row, instance: ProcessInstance, data: dict,
                   now: dt.datetime) -> None:
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
    _mail(mails, data.get("customer_email"), subject, body, instance.id, now)


def new_task_mails(services, session: Session, instance: ProcessInstance, workflow,
                   rows: list[dict], now: dt.datetime) -> list[dict]:
    """The mails announcing new task rows, for the caller to queue with the step's others."""
    mails: list[dict] = []
    for row in (SimpleNamespace(**values) for values in rows):
        if row.lane == CUSTOMER_LANE:
            task = workflow.get_task_from_id(UUID(row.id))
            data = task.data if task is not None else workflow.data
            _customer_mail(mails, row, instance, data, now)
        else:
            _staff_mail(services, session, mails, row, instance, now)
    return mails


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
    mails: list[dict] = []
    _mail(mails, data.get("customer_email"),
          _("Complaint %(ticket)s is closed", ticket=instance.ticket), body, instance.id, now)
    mailer.queue_many(session, mails)


def acknowledgement(services, session: Session, instance, data: dict, status_token: str,
                    promise: Optional[Promise] = None) -> None:
    """The automatic receipt the procedure promises every complainant with an address,
    in the customer's language, with the time of receipt, the expected handling time and,
    outside the departments' hours, when they take it up, all in the customer's zone."""
    _ = translator(instance.customer_locale)
    zone = zone_or_none(instance.customer_timezone) or COMPANY_ZONE
    link = f"{services.public_url}/status/{status_token}"

    def when(moment) -> str:
        return f"{local_time(moment, zone)} {zone_label(zone, moment)}"
    expectations = []
    if promise is not None:
        expectations.append(_("We will present a solution to you by %(time)s at the latest.",
                              time=when(promise.solution_by)))
        if promise.departments_from is not None:
            expectations.append(_(
                "It reached us outside our departments' working hours: customer service "
                "has it now, and the departments take it up from %(time)s.",
                time=when(promise.departments_from)))
    body = "\n\n".join([
        _("Dear %(name)s,", name=data.get("customer_name") or _("customer")),
        _("we have received your complaint about %(subject)s and registered it as ticket "
          "%(ticket)s on %(time)s %(zone)s.",
          subject=data.get("product") or _("our service"), ticket=instance.ticket,
          time=local_time(instance.created_at, zone), zone=zone_label(zone, instance.created_at)),
        *expectations,
        _("You can follow it, answer our questions and see what happens next here:")
        + "\n" + link,
        _("Keep this link to yourself: anyone who has it can see your complaint."),
        _("Customer service"),
    ])
    try:
        address = mailer.checked_address(data["customer_email"])
    except ValueError:
        audit.record(session, "acknowledgement_skipped", None, instance.id,
                     reason="unusable e-mail address")
        return
    # Anyone may file in anyone's name: a mailbox gets only so many receipts an hour.
    if not services.limits.within(session.connection()).hit(ACKNOWLEDGEMENTS, address.lower()).allowed:
        audit.record(session, "acknowledgement_skipped", None, instance.id,
                     reason="too many acknowledgements to this address")
        return
    mailer.queue_many(session, [mailer.plain_mail(
        address, _("Complaint %(ticket)s received", ticket=instance.ticket), body,
        instance.id, None)])

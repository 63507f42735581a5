"""SLA reminders, breaches and escalations by mail as well as in the inbox: to the
notice's recipient (the assignee, the team queue's members, the department head, the
leadership group), each in their own language and zone, with the task's link."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from . import announcements, mailer, public_address
from .i18n import COMPANY_ZONE, local_time, translator, zone_or_none


def _people(session: Session, notice: dict) -> list:
    if notice["recipient_user_id"] is not None:
        return announcements.person(session, notice["recipient_user_id"])
    if not notice["recipient_role"]:
        return []
    return announcements.members(session, notice["recipient_role"],
                                 notice["recipient_department"])


def cached_people(session: Session):
    """`people(notice)` for mails_for that reads each recipient set once per session: a
    timer worker firing a group of cases mails the same teams and heads again and again."""
    known: dict = {}

    def people(notice: dict) -> list:
        key = (notice["recipient_user_id"], notice["recipient_role"],
               notice["recipient_department"])
        if key not in known:
            known[key] = _people(session, notice)
        return known[key]
    return people


def _subject(user, message_id: str, values: dict, due_at) -> str:
    translate = translator(user.locale)
    shown = {**values, "task": translate(values["task"])}
    if due_at is not None:
        zone = zone_or_none(user.timezone) or COMPANY_ZONE
        shown["due"] = f"{local_time(due_at, zone)} {zone.key}"
    return translate(message_id, **shown)


def mails_for(session: Session, notice: dict, task_id: str, due_at,
              now: dt.datetime, people=None) -> list[dict]:
    """The mails of one SLA notice (as engine.sla.apply_fired stores it), one for each of
    its recipients, for the caller to queue with the step's other mails in one insert.
    `people(notice)` gives the recipients when the caller keeps them (default: read)."""
    mails: list[dict] = []
    link = f"{public_address.public_url()}/tasks/{task_id}"
    for user in (people or (lambda n: _people(session, n)))(notice):
        _ = translator(user.locale)
        subject = _subject(user, notice["message_id"], notice["message_values"], due_at)
        body = "\n\n".join([_("Hello %(name)s,", name=user.display_name), subject,
                            _("Open it here: %(link)s", link=link), _("Complaint Desk")])
        try:
            mails.append(mailer.plain_mail(mailer.checked_address(user.email), subject, body,
                                           notice["instance_id"], now))
        except ValueError:
            continue  # an unusable address on file must not stop the timers
    return mails

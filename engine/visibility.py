"""Who may see which case, and finding a case by its ticket for one person.

Kept apart from engine/cases.py (which reads whole cases through the runtime) so that
every module, the runtime too, can ask it without importing in a circle.
"""
from __future__ import annotations

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from .directory import Actor
from .errors import Forbidden, NotFound
from .i18n import N_
from .models import HumanTask, ProcessInstance
from .tasks import DEPARTMENT_ROLES

# Roles that see every case; department roles see only cases dispatched to them.
# Overseas support shares customer service's view: an inquiry may turn into a complaint.
SEE_ALL_ROLES = {"cs_agent", "cs_supervisor", "cs_director", "gm_office", "leadership",
                 "supervisor", "compliance", "admin", "support_agent", "support_manager"}
STAFF_ROLES = SEE_ALL_ROLES | DEPARTMENT_ROLES | {"process_owner"}

NO_SUCH_COMPLAINT = N_("No such complaint.")


def require_staff(actor: Actor) -> None:
    if not actor.roles & STAFF_ROLES:
        raise Forbidden(N_("Staff only."))


def can_see(actor: Actor, instance: ProcessInstance, session: Session) -> bool:
    if actor.roles & SEE_ALL_ROLES:
        return True
    if actor.roles & DEPARTMENT_ROLES and actor.department:
        if instance.department_code == actor.department:
            return True
        # A task of theirs on the case (e.g. assigned) also lets them in.
        return session.execute(
            select(HumanTask.id).where(
                HumanTask.instance_id == instance.id,
                (HumanTask.assignee_id == actor.id) | (HumanTask.completed_by_id == actor.id),
            ).limit(1)
        ).first() is not None
    return False


def visible_to(actor: Actor):
    """The SQL condition for cases the actor may see (mirrors `can_see`)."""
    if actor.roles & SEE_ALL_ROLES:
        return true()
    if actor.roles & DEPARTMENT_ROLES and actor.department:
        involved = select(HumanTask.id).where(
            HumanTask.instance_id == ProcessInstance.id,
            (HumanTask.assignee_id == actor.id) | (HumanTask.completed_by_id == actor.id),
        ).exists()
        return or_(ProcessInstance.department_code == actor.department, involved)
    return false()


def case_by_ticket(session: Session, ticket: str) -> ProcessInstance:
    """The case with this ticket, whoever asks; NotFound if there is none."""
    instance = session.execute(
        select(ProcessInstance).where(ProcessInstance.ticket == ticket)).scalar_one_or_none()
    if instance is None:
        raise NotFound(NO_SUCH_COMPLAINT)
    return instance


def visible_case(session: Session, actor: Actor, ticket: str) -> ProcessInstance:
    """The case with this ticket if the actor may see it. A case they may not see gets
    the same NotFound as a ticket that does not exist, so nothing leaks."""
    instance = case_by_ticket(session, ticket)
    if not can_see(actor, instance, session):
        raise NotFound(NO_SUCH_COMPLAINT)
    return instance

"""Petitions (签呈, seed 003): any department that disagrees with a decision about a
complaint petitions the general manager's office, on any case, as a case of its own
(`processes/petition.bpmn`) linked to the complaint."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import start_forms
from .closing import FollowOn
from .directory import Actor
from .errors import Forbidden, NotFound
from .i18n import N_
from .models import ProcessInstance
from .services import COMPLAINT_PROCESS
from .visibility import NO_SUCH_COMPLAINT, can_see, case_by_ticket

PETITION_PROCESS = "petition"
# Where a case names departments: dispatched to, lead, supporting, held responsible.
DEPARTMENT_FIELDS = ("department", "lead_department", "support_departments",
                     "responsible_departments", "returns_department")


def departments_named(data: dict) -> set[str]:
    named = set()
    for field in DEPARTMENT_FIELDS:
        value = data.get(field)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                named.add(item)
    return named


def petitioned_case(session: Session, actor: Actor, ticket: str, data_of) -> ProcessInstance:
    """The complaint a department petitions about: one its petitioner may see, or one that
    names the petitioner's department (a supporting department, one held responsible).
    `data_of(instance)` reads the case's data."""
    if not actor.department:
        raise Forbidden(N_("Only a department may petition."))
    try:
        instance = case_by_ticket(session, ticket)
    except NotFound:
        raise NotFound(NO_SUCH_COMPLAINT) from None
    if instance.status_token_hash is None:
        raise NotFound(NO_SUCH_COMPLAINT)  # petitions are about complaints
    if not can_see(actor, instance, session) and \
            actor.department not in departments_named(data_of(instance)):
        raise NotFound(NO_SUCH_COMPLAINT)
    return instance


def may_petition_about(services, session: Session, actor: Actor, process_id: str) -> bool:
    """Whether a case page offers `actor` a petition: about complaints, to a member of a
    department whose role starts the petition process."""
    if process_id != COMPLAINT_PROCESS or not actor.department:
        return False
    try:
        start_forms.form_for(services, session, actor, PETITION_PROCESS)
    except (NotFound, Forbidden):
        return False
    return True


def petition_for(session: Session, actor: Actor, complaint: ProcessInstance,
                 form: dict) -> FollowOn:
    """The petition case: numbered after its complaint (P + ticket + its number there)."""
    count = session.execute(select(func.count()).where(
        ProcessInstance.parent_ticket == complaint.ticket,
        ProcessInstance.ticket.like(f"P{complaint.ticket}-%"))).scalar_one()
    data = {**form, "complaint_ticket": complaint.ticket,
            "petition_department": actor.department, "petitioner": actor.username}
    return FollowOn(process_id=PETITION_PROCESS, ticket=f"P{complaint.ticket}-{count + 1}",
                    data=data, columns={"parent_ticket": complaint.ticket,
                                        "department_code": actor.department,
                                        "complaint_type": complaint.complaint_type})

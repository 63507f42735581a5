"""The cases behind a statistics figure, for the case search: the same conditions the
figures are counted with (engine/statistics.py), so that a figure and its list of cases
always agree."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_
from sqlalchemy.orm import Session

from .errors import ServiceError
from .i18n import Message, N_
from .models import HumanTask, ProcessInstance
from .statistics import (
    NOT_CLASSIFIED, REJECTION_ESCALATION_STEP, ROLE_TEAM, Scope, late_condition,
    tasks_exist,
)

# Figures the case list cannot ask for with its own filters (type, department, status,
# path, dates): a kind, and for most a value, e.g. "urgency:urgent" or "late_step:verify".
FIGURES = {
    "channel": N_("Channel"),
    "urgency": N_("Urgency"),
    "satisfaction": N_("Satisfaction"),
    "repeat": N_("Repeat complaints"),
    "rejected": N_("Rejected by the customer"),
    "escalated": N_("Escalated steps"),
    "breached": N_("Overdue notices"),
    "rejection_escalated": N_("Escalated after three rejections"),
    "late": N_("Late steps"),
    "late_step": N_("Late at the step"),
    "late_team": N_("Late steps of the team"),
}
_NEEDS_VALUE = {"urgency", "satisfaction", "late_step", "late_team"}


def parse_figure(figure: str) -> tuple[str, str]:
    kind, _sep, value = figure.partition(":")
    if kind not in FIGURES or (kind in _NEEDS_VALUE and not value and kind != "urgency"):
        raise ServiceError(Message(N_("Unknown statistics figure: %(figure)s"),
                                   figure=figure[:80]))
    return kind, value


def cases_condition(session: Session, figure: str, scope: Scope, as_of: dt.datetime):
    """A condition on the case table selecting the complaints in `scope` behind `figure`
    (for the case search, which applies the scope's dates and department itself)."""
    kind, value = parse_figure(figure)
    if kind == "channel":
        return ProcessInstance.channel == value if value else ProcessInstance.channel.is_(None)
    if kind == "urgency":
        if value == NOT_CLASSIFIED:
            return ProcessInstance.urgency.is_(None)
        return ProcessInstance.urgency == value
    if kind == "satisfaction":
        return ProcessInstance.satisfaction == value
    if kind == "rejected":
        return ProcessInstance.rejections > 0
    if kind == "repeat":
        return ProcessInstance.repeat_complaint.is_(True)
    if kind == "escalated":
        return tasks_exist(HumanTask.escalated_at.is_not(None))
    if kind == "breached":
        return tasks_exist(HumanTask.breached_at.is_not(None))
    if kind == "rejection_escalated":
        return tasks_exist(HumanTask.name == REJECTION_ESCALATION_STEP)
    late = late_condition(as_of)
    if kind == "late":
        return tasks_exist(late)
    if kind == "late_step":
        return tasks_exist(late, HumanTask.name == value)
    roles = sorted({role for role, team in ROLE_TEAM.items() if team == value} | {value})
    return tasks_exist(late, or_(HumanTask.department_code == value,
                                  and_(HumanTask.department_code.is_(None),
                                       HumanTask.role.in_(roles))))

"""What an approval (or a customer's confirmation) decides on: the earlier step it reviews,
as that step's form declared it and as it was last submitted, with the round before.

The link is declared by the approving form, not guessed from task names: its UI schema
names the reviewed step (the BPMN task id) and, where not every field is for the reader
(a customer), the fields to show:

    "ui:reviews": {"step": "propose_solution", "fields": ["measures", "solution_deadline"]}

The values come from the audit trail's record of each completion of that step, so a
send-back loop leaves the previous round to compare with."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import forms
from .models import AuditEvent, HumanTask, User
from .services import Services
from .task_forms import choice_source

REVIEWS = "ui:reviews"


@dataclass(frozen=True)
class Submission:
    at: dt.datetime
    actor: Optional[str]
    actor_name: Optional[str]  # as the directory names the person
    data: dict


@dataclass(frozen=True)
class ReviewedItem:
    step: str
    title: str  # the reviewed step's task title (an English catalog id)
    schema: dict  # the reviewed step's form, choices filled in
    ui: dict
    fields: tuple[str, ...]  # shown, in the form's order
    current: Submission
    previous: Optional[Submission]
    rounds: int

    def changed(self) -> list[str]:
        """The shown fields whose value differs from the previous round's."""
        if self.previous is None:
            return []
        return [name for name in self.fields
                if self.previous.data.get(name) != self.current.data.get(name)]


def declaration(ui: Optional[dict]) -> Optional[tuple[str, Optional[tuple[str, ...]]]]:
    """(reviewed step, fields or None for all) as the form declares it, else None."""
    declared = (ui or {}).get(REVIEWS)
    if isinstance(declared, str) and declared:
        return declared, None
    if not isinstance(declared, dict) or not isinstance(declared.get("step"), str):
        return None
    fields = declared.get("fields")
    if isinstance(fields, list) and all(isinstance(f, str) for f in fields):
        return declared["step"], tuple(fields)
    return declared["step"], None


def shown_only(schema: dict) -> set[str]:
    """The fields a form only shows (read-only copies of what is reviewed)."""
    return {name for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, dict) and prop.get("readOnly")}


def _order(schema: dict, ui: dict) -> list[str]:
    names = list((schema.get("properties") or {}).keys())
    order = [n for n in (ui.get("ui:order") or []) if n in names]
    return order + [n for n in names if n not in order]


def reviewed_item(services: Services, session: Session, row: HumanTask,
                  ui: dict) -> Optional[ReviewedItem]:
    """What the task `row` (with UI schema `ui`) reviews, or None when its form declares
    nothing or the reviewed step was never completed in this case."""
    declared = declaration(ui)
    if declared is None:
        return None
    step, wanted = declared
    source = session.execute(
        select(HumanTask).where(HumanTask.instance_id == row.instance_id,
                                HumanTask.name == step, HumanTask.form.is_not(None))
        .order_by(HumanTask.created_at.desc())).scalars().first()
    if source is None:
        return None
    events = [event for event in session.execute(
        select(AuditEvent).where(AuditEvent.instance_id == row.instance_id,
                                 AuditEvent.kind == "task_completed")
        .order_by(AuditEvent.id)).scalars()
        if event.detail.get("task") == step and isinstance(event.detail.get("data"), dict)]
    if not events:
        return None
    version_forms = services.forms.of_version(session, row.instance.version_id)
    try:
        schema = version_forms.schema(source.form)
        reviewed_ui = version_forms.ui_schema(source.ui_form)
    except (OSError, ValueError):
        return None
    schema = forms.resolve_choices(schema, reviewed_ui, choice_source(
        session, source.department_code or row.instance.department_code))
    hidden = shown_only(schema)
    names = [n for n in _order(schema, reviewed_ui) if n not in hidden]
    fields = tuple(n for n in names if wanted is None or n in wanted)

    names = dict(session.execute(select(User.username, User.display_name).where(
        User.username.in_({e.actor for e in events[-2:] if e.actor}))).all())

    def submission(event: AuditEvent) -> Submission:
        return Submission(at=event.at, actor=event.actor,
                          actor_name=names.get(event.actor, event.actor),
                          data=dict(event.detail["data"]))

    return ReviewedItem(step=step, title=source.title, schema=schema, ui=reviewed_ui,
                        fields=fields, current=submission(events[-1]),
                        previous=submission(events[-2]) if len(events) > 1 else None,
                        rounds=len(events))

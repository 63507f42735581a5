"""The form a task is worked with: its JSON Schema with the choice lists filled in from
the directory, and the rule that fields a form only shows are never taken back."""
from __future__ import annotations

import functools
from typing import Any, Optional

from sqlalchemy.orm import Session

from . import forms
from .channels import RECEIVING_ONLY_TEAMS
from .directory import department_users, departments
from .models import HumanTask
from .services import Services


def choice_source(session: Session, department: Optional[str]):
    def source(name: str) -> list[tuple[str, str]]:
        if name == "departments":
            return [(d.code, d.name) for d in departments(session)
                    if d.code not in RECEIVING_ONLY_TEAMS]
        if name == "department_users":
            if not department:
                return []
            return [(u.username, u.display_name) for u in department_users(session, department)]
        raise ValueError(f"unknown choice source {name!r}")
    return source


def department_names(session: Session) -> dict[str, str]:
    """Department code -> name, as the forms offer the departments."""
    return dict(choice_source(session, None)("departments"))


def field_properties(services: Services, session: Session,
                     version_id: Optional[int] = None) -> dict[str, dict]:
    """Field name -> schema property across all forms of a version (the first form to
    name a field gives it; without a version, the forms on disk), with the choice lists
    filled in as on the forms: what a stored value of any step is shown with, e.g. in a
    case's history."""
    source = functools.cache(choice_source(session, None))  # one query per list
    registry = services.forms.of_version(session, version_id)
    props: dict[str, dict] = {}
    for name in registry.names():
        if not name.endswith(".schema.json"):
            continue
        try:
            schema = registry.schema(name)
            ui = registry.ui_schema(name.replace(".schema.json", ".uischema.json"))
        except (OSError, ValueError):
            continue
        for name, prop in (forms.resolve_choices(schema, ui, source).get("properties")
                           or {}).items():
            if isinstance(prop, dict):
                props.setdefault(name, prop)
    return props


def form_for(services: Services, session: Session, row: HumanTask) -> tuple[dict, dict]:
    """The task's schema, as deployed with its case's version, with database choices
    filled in, and its UI hints."""
    if not row.form:
        return {"type": "object", "properties": {}}, {}
    version_forms = services.forms.of_version(session, row.instance.version_id)
    schema = version_forms.schema(row.form)
    ui = version_forms.ui_schema(row.ui_form)
    return forms.resolve_choices(schema, ui, choice_source(session, row.department_code
                                                           or row.instance.department_code)), ui


def without_read_only(schema: dict, data: Any) -> Any:
    """Fields a form only shows (the proposal a customer answers, the plan under approval)
    come back from the browser as hidden inputs; what the case holds stays authoritative."""
    if not isinstance(data, dict):
        return data
    shown_only = {name for name, prop in (schema.get("properties") or {}).items()
                  if isinstance(prop, dict) and prop.get("readOnly")}
    return {k: v for k, v in data.items() if k not in shown_only}

"""How a case of a process is started by hand: the form its start event names (the
complaint's is the intake record) and who may fill it in (the role of the start event's
lane, and administrators)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import forms, intake, specs
from .directory import Actor
from .errors import Forbidden, NotFound
from .i18n import N_
from .models import ProcessVersion
from .services import COMPLAINT_PROCESS, Services
from .task_forms import choice_source
from .tasks import LANE_ROLE

SCHEMA_PROPERTY = "formJsonSchemaFilename"
UI_PROPERTY = "formUiSchemaFilename"
ALWAYS = frozenset({"admin"})


@dataclass(frozen=True)
class StartForm:
    schema: dict
    ui: dict
    roles: frozenset[str]


def _start_event(sources: dict[str, str], process_id: str):
    """The start event of the process and the role of its lane."""
    for name, text in sources.items():
        if not name.endswith(".bpmn"):
            continue
        root = specs.parse_xml(text.encode("utf-8"), name)
        for process in root.iter(f"{{{specs.BPMN_NS}}}process"):
            if process.get("id") != process_id:
                continue
            start = next(process.iter(f"{{{specs.BPMN_NS}}}startEvent"), None)
            if start is None:
                return None, None
            lane = next((lane.get("name") for lane in process.iter(f"{{{specs.BPMN_NS}}}lane")
                         if start.get("id") in [(r.text or "").strip() for r in lane]), None)
            return start, LANE_ROLE.get(lane, lane) if lane else None
    return None, None


def _property(start, name: str) -> Optional[str]:
    for prop in start.iter(f"{{{specs.SPIFF_NS}}}property"):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def record_form(services: Services, session: Session, process_id: str,
                version_id: int) -> Optional[tuple[dict, dict]]:
    """The form another process's case was started with, as its version has it (an
    inquiry's question, a technical problem, an order, an improvement project's start):
    what its record is. None for a complaint, whose record is the intake form
    (engine/intake.py), and for a process started without a form."""
    if process_id == COMPLAINT_PROCESS:
        return None
    version = session.get(ProcessVersion, version_id)
    start, _role = _start_event(version.sources, process_id) if version else (None, None)
    form = _property(start, SCHEMA_PROPERTY) if start is not None else None
    if not form:
        return None
    deployed = services.forms.of_version(session, version_id)
    return deployed.schema(form), deployed.ui_schema(_property(start, UI_PROPERTY))


def start_form(services: Services, session: Session, process_id: str) -> Optional[StartForm]:
    """The newest version's start form with its choice lists filled in; None when the
    process is only ever started by the engine. Raises NotFound for a process that
    cannot be started or is not deployed."""
    # Only processes that can be started are deployed as versions of their own (called
    # processes travel inside their callers).
    version = specs.latest_version(session, process_id)
    if version is None:
        raise NotFound(N_("No such process."))
    if process_id == COMPLAINT_PROCESS:
        schema, ui = intake.intake_form(services, session)
        return StartForm(schema, ui, intake.REGISTER_ROLES)
    sources = version.sources
    start, role = _start_event(sources, process_id)
    form = _property(start, SCHEMA_PROPERTY) if start is not None else None
    if not form:
        return None
    ui_name = _property(start, UI_PROPERTY)
    deployed = services.forms.of_version(session, version.id)
    ui = deployed.ui_schema(ui_name)
    schema = forms.resolve_choices(deployed.schema(form), ui, choice_source(session, None))
    return StartForm(schema, ui, ALWAYS | ({role} if role else set()))


def form_for(services: Services, session: Session, actor: Actor,
             process_id: str) -> StartForm:
    """The start form `actor` fills in to start a case of `process_id` by hand. Raises
    NotFound for a process started only by the engine (or not deployed) and Forbidden for
    a role that does not start it."""
    form = start_form(services, session, process_id)
    if form is None:
        raise NotFound(N_("This process is only started by the engine."))
    if not actor.roles & form.roles:
        raise Forbidden(N_("Your role does not start this process."))
    return form


@dataclass(frozen=True)
class Startable:
    process_id: str
    title: str        # the start form's title ("Petition the GM office")
    description: str


def startable_by(services: Services, session: Session, actor: Actor) -> list[Startable]:
    """The processes `actor` may start by hand from their start form, the complaint aside
    (it has its own register page)."""
    found = []
    for process_id in session.execute(select(ProcessVersion.process_id).distinct()
                                      .order_by(ProcessVersion.process_id)).scalars():
        if process_id == COMPLAINT_PROCESS:
            continue
        form = start_form(services, session, process_id)
        if form is not None and actor.roles & form.roles:
            found.append(Startable(process_id, form.schema.get("title") or process_id,
                                   form.schema.get("description") or ""))
    return found

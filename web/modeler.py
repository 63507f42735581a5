"""The process owners' modeler: a process's newest files in the browser (BPMN with a
properties panel, DMN as tables, task forms with a live preview), checked, tried against
the scenarios and deployed. Process owners and administrators only.

The diagrams are edited by the workbench bundle (static/workbench/, page script
static/modeler.js); this module serves the page and answers its requests in JSON, except
the form preview, which is HTML for htmx."""
from __future__ import annotations

import functools
import json

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from engine import diagram_checks, process_access, specs, task_forms, versions
from engine import scenarios as scenario_runner
from engine import forms as engine_forms
from engine.directory import ROLES, departments
from engine.i18n import N_
from engine.problems import DeployRefused, Problem
from engine.schema_check import SchemaError, check_schema
from engine.tasks import LANE_ROLE, LANE_TITLES

from . import formrender
from .htmx import partial
from .i18n import _, translate
from .identity import current_actor, login_required
from .services import services

bp = Blueprint("modeler", __name__, url_prefix="/processes")

# The page's diagram tools draw with style attributes (positions of overlays, the
# properties panel's layout), which `style-src 'self'` would drop: these pages, and only
# they, allow inline styles. Scripts stay 'self' only.
PAGE_CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; frame-ancestors 'none'")

# Texts of the properties panel and the page script, translated on the server and handed
# to the browser with the page's data.
PANEL_LABELS = (
    N_("(none)"), N_("(unknown)"), N_("Role"), N_("Who works the tasks of this lane"),
    N_("Form"), N_("Form (JSON Schema)"), N_("Form layout (UI schema)"), N_("Assignment"),
    N_("Assign to the user named in field"), N_("Never the user named in field"),
    N_("Separation of duties: the person in this field may not work the task"),
    N_("Department from field"), N_("The task data field holding the department code"),
    N_("Record who completed it in field"), N_("Pauses the SLA clock"), N_("Yes"),
    N_("Starts a linked complaint when"), N_("A Python expression over the task data"),
    N_("SLA and notices"), N_("SLA event"), N_("reminder"), N_("breach"), N_("escalation"),
    N_("Notify"), N_("The person working the task"), N_("Notice subject (expression)"),
    N_("Notice text"), N_("Values for the notice text (expression)"), N_("Scripts"),
    N_("Script (Python)"), N_("Before the task (Python)"), N_("After the task (Python)"),
    N_("Condition"), N_("Condition (Python expression)"),
    N_("Leave empty on the default flow"), N_("Called process"), N_("Process id"),
    N_("Decision"), N_("Decision id"),
    # the page script
    N_("No problems found."), N_("Checking…"), N_("Running the scenarios…"),
    N_("Deploying…"), N_("passed"), N_("failed"), N_("Deployed:"), N_("version"),
    N_("Nothing changed: no new version."), N_("The server did not answer."),
    N_("Write a change note first."), N_("The diagram could not be shown:"),
    N_("Lint findings on this diagram:"), N_("This diagram lints clean."),
    N_("A form name starts with a lower-case letter and holds only lower-case letters, "
       "digits and underscores."),
    N_("A form of that name exists already."), N_("New form:"),
    N_("Describe what staff do in this step."), N_("Note"),
)


def editor_page(view):
    """Signed in (else to the login page) and a process owner or administrator (else 403)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        process_access.require_editor(current_actor())
        return view(*args, **kwargs)
    return login_required(wrapped)


@bp.after_request
def page_policy(response):
    if request.endpoint == "modeler.edit" and response.status_code == 200:
        response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _kind(name: str) -> str:
    for suffix, kind in ((".bpmn", "bpmn"), (".dmn", "dmn"), (".uischema.json", "uischema"),
                         (".schema.json", "schema"), (".scenario.json", "scenario")):
        if name.endswith(suffix):
            return kind
    return "other"


def _lane_roles() -> list[dict]:
    """What a lane may be named: the lanes the engine routes, with their people's names."""
    return [{"code": lane, "name": translate(title)
             + (f" ({translate(ROLES[LANE_ROLE[lane]])})" if lane in LANE_ROLE else "")}
            for lane, title in LANE_TITLES.items()]


def _notified_roles() -> list[dict]:
    return [{"code": code, "name": translate(title)} for code, title in ROLES.items()]


def _defines(text: str, process_id: str) -> bool:
    try:
        root = specs.parse_xml(text.encode("utf-8"), "")
    except specs.SpecError:
        return False
    return any(element.get("id") == process_id
               for element in root.iter(f"{{{specs.BPMN_NS}}}process"))


def _tab_order(files: dict[str, str], process_id: str) -> list[str]:
    """The diagram of the process first, then the other diagrams, the decision tables
    and the rest, each by name."""
    rank = {"bpmn": 1, "dmn": 2}
    return sorted(files, key=lambda name: (
        0 if _kind(name) == "bpmn" and _defines(files[name], process_id)
        else rank.get(_kind(name), 3), name))


@bp.get("/<process_id>/edit")
@editor_page
def edit(process_id: str):
    with services().db.read() as db:
        try:
            files = versions.editable_files(services(), db, process_id)
        except LookupError:
            abort(404)
        dept_list = [{"code": d.code, "name": d.name} for d in departments(db)]
    kinds = {name: _kind(name) for name in _tab_order(files, process_id)}
    data = {
        "process": process_id,
        "files": files,
        "kinds": kinds,
        "roles": _lane_roles(),
        "notifyRoles": _notified_roles(),
        "departments": dept_list,
        "forms": [n for n, k in kinds.items() if k in ("schema", "uischema")],
        "labels": {text: _(text) for text in PANEL_LABELS},
        "urls": {name: url_for(f"modeler.{name}", process_id=process_id)
                 for name in ("validate", "scenarios", "deploy", "preview")},
    }
    schemas = [n for n, k in kinds.items() if k == "schema"]
    scenarios = [n for n, k in kinds.items() if k == "scenario"]
    return render_template("modeler.html", process_id=process_id, kinds=kinds,
                           schemas=schemas, scenarios=scenarios, data=data)


# --------------------------------------------------------------------------- requests

def _posted_files() -> dict[str, bytes]:
    """The files of the request (field `files`), by their plain names."""
    files = {}
    for upload in request.files.getlist("files"):
        name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        if name:
            files[name] = upload.read()
    return files


def _refused(error: str, problems: list[Problem], status: int = 422):
    return jsonify(error=error, problems=[p.as_dict() for p in problems]), status


def _no_files():
    return _refused(_("Send the process's files."), [])


@bp.post("/<process_id>/edit/validate")
@editor_page
def validate(process_id: str):
    files = _posted_files()
    if not files:
        return _no_files()
    problems = diagram_checks.check_bundle(files)
    return jsonify(problems=[p.as_dict() for p in problems])


@bp.post("/<process_id>/edit/scenarios")
@editor_page
def scenarios(process_id: str):
    files = _posted_files()
    if not files:
        return _no_files()
    return jsonify(scenarios=[_scenario_dict(r) for r in scenario_runner.run_all(files)])


@bp.post("/<process_id>/edit/deploy")
@editor_page
def deploy(process_id: str):
    files = _posted_files()
    note = request.form.get("note", "").strip()
    if not files:
        return _no_files()
    if not note:
        return _refused(_("Write a change note: it says what changed and why."), [])
    try:
        outcome = versions.deploy_bundle(services(), files, note=note[:2000],
                                         actor=current_actor().username)
    except DeployRefused as exc:
        return _refused(translate(exc.error), exc.problems)
    return jsonify(versions=[{"process_id": v.process_id, "version": v.version, "note": v.note}
                             for v in outcome.versions],
                   scenarios=[_scenario_dict(r) for r in outcome.scenarios]), 201


def _scenario_dict(result) -> dict:
    return {"file": result.file, "name": result.name, "passed": bool(result.passed),
            "path": list(result.path or []),
            "failure": result.failure.as_dict() if result.failure is not None else None}


@bp.post("/<process_id>/edit/preview")
@editor_page
def preview(process_id: str):
    """A task form as staff will see it, from the schema being edited (htmx swaps it in)."""
    try:
        schema = json.loads(request.form.get("schema") or "{}")
        ui = json.loads(request.form.get("uischema") or "{}")
        if not isinstance(schema, dict) or not isinstance(ui, dict):
            raise ValueError(_("A form and its layout are each one JSON object."))
        check_schema(schema)
    except (ValueError, SchemaError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return partial("_form_preview.html", 422, fields=None, error=message)
    with services().db.read() as db:
        try:
            schema = engine_forms.resolve_choices(schema, ui,
                                                  task_forms.choice_source(db, None))
        except ValueError as exc:
            return partial("_form_preview.html", 422, fields=None, error=str(exc))
        try:
            fields = formrender.render_fields(schema, ui)
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            return partial("_form_preview.html", 422, fields=None,
                           error=_("This form cannot be shown: %(reason)s", reason=str(exc)))
    return partial("_form_preview.html", fields=fields, error=None)

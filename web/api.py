"""JSON API under /api/v1: other systems file complaints and work tasks here."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from flask import Blueprint, g, jsonify, request

from engine import (
    audit_trail, case_search, cases, intake, process_access, process_uploads, replay, runtime,
    sign_in, start_forms, statistics, task_forms, tasks, versions, visibility,
)
from engine.directory import actor_for_token, issue_token
from engine.models import User
from engine.rate_limits import FILING
from engine.errors import ServiceError
from engine.form_values import storable, storable_params, storable_part
from engine.forms import FormInvalid
from engine.problems import DeployRefused

from . import json_bodies
from .statistics import export_response
from .rate_limit import client_address, refused, with_retry_after
from .services import services

bp = Blueprint("api", __name__, url_prefix="/api/v1")

OPENAPI_FILE = Path(__file__).parent / "openapi.json"


def error(status: int, message: str, fields: dict | None = None):
    return jsonify(error=message, fields=fields or {}), status


def _bearer_token():
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[7:].strip()


def _bearer_actor():
    token = _bearer_token()
    if token is None:
        return None
    with services().db.read() as db:
        return actor_for_token(db, token)


def _unauthorized():
    response = error(401, "A valid bearer token is required.")
    response[0].headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _refusal(actor):
    """The response for a request without a usable staff token, or None."""
    if actor is None:
        return _unauthorized()
    if not actor.roles & visibility.STAFF_ROLES:
        return error(403, "Staff only.")
    return None


def token_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        g.api_actor = _bearer_actor()
        refusal = _refusal(g.api_actor)
        if refusal is not None:
            return refusal
        return view(*args, **kwargs)
    return wrapped


class _Refused(Exception):
    def __init__(self, response):
        super().__init__("refused")
        self.response = response


def too_many(retry_after: int):
    response, status = error(429, "Too many requests. Wait and try again.")
    return with_retry_after(response, retry_after), status


@bp.errorhandler(FormInvalid)
def _form_invalid(exc: FormInvalid):
    return error(422, str(exc), exc.fields)


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    return error(exc.status, str(exc))


@bp.errorhandler(DeployRefused)
def _deploy_refused(exc: DeployRefused):
    return jsonify(error=exc.error, fields={},
                   problems=[{"file": p.file, "element": p.element, "line": p.line,
                              "message": p.message} for p in exc.problems]), 422


@bp.errorhandler(404)
def _not_found(_exc):
    return error(404, "Not found.")


@bp.errorhandler(405)
def _not_allowed(_exc):
    return error(405, "Method not allowed.")


@bp.errorhandler(413)
def _too_large(_exc):
    return error(413, "The request body is too large.")


@bp.get("/openapi.json")
def openapi():
    document = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    # The intake record's schema is the form file itself, so the two never drift apart.
    document["components"]["schemas"]["ComplaintRecord"] = intake.intake_schema(services())
    return jsonify(document)


@bp.post("/token")
def token():
    body = json_bodies.optional_object()
    username, password = body.get("username"), body.get("password")
    if not (isinstance(username, str) and isinstance(password, str)
            and storable(username) and storable(password)):
        return error(401, "Unknown user name or wrong password.")
    outcome = sign_in.sign_in(services(), username, password, client_address(), via="api")
    if outcome.retry_after:
        return too_many(outcome.retry_after)
    if outcome.actor is None:
        return error(401, "Unknown user name or wrong password.")
    with services().db.write() as db:
        value, expires = issue_token(db, db.get(User, outcome.actor.id))
    return jsonify(token=value, token_type="Bearer", expires_at=expires.isoformat())


@bp.post("/complaints")
def file_complaint():
    staff = _bearer_actor() if request.headers.get("Authorization") else None
    if request.headers.get("Authorization") and staff is None:
        return error(401, "The bearer token is not valid.")
    if not intake.may_register(staff):
        staff = None  # files it as a customer would
    if staff is None:
        wait = refused(FILING)
        if wait:
            return too_many(wait)
    filed = runtime.file_complaint(services(), json_bodies.body(), staff=staff)
    return jsonify(ticket=filed.ticket, status_token=filed.status_token), 201


DEFAULT_LIMIT = 50


def _whole(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name, "")
    if value == "":
        return default
    if not (value.isascii() and value.isdigit()) or not low <= int(value[:12]) <= high:
        raise case_search.BadQuery(f"{name} must be a whole number from {low} to {high}.")
    return int(value)


@bp.get("/complaints")
@token_required
def list_complaints():
    """The case search with the staff list's filters, newest first, a page at a time."""
    params = storable_params(request.args)
    query = case_search.CaseQuery.from_params(params, strict=True)
    limit = _whole("limit", DEFAULT_LIMIT, 1, case_search.MAX_LIMIT)
    cursor = params.get("cursor") or None
    if cursor is not None and "offset" in request.args:
        raise case_search.BadQuery("Give either cursor or offset, not both.")
    offset = _whole("offset", 0, 0, case_search.MAX_OFFSET)
    if cursor is not None and len(cursor) > 200:
        raise case_search.BadQuery("The cursor is not one this search gave out.")
    with services().db.read() as db:
        found = case_search.search(db, g.api_actor, query, limit,
                                   offset=None if cursor else offset, cursor=cursor,
                                   now=services().now())
    body = {"total": found.total, "limit": limit, "complaints": [r.as_dict() for r in found.rows],
            "next_cursor": found.next_cursor}
    if cursor is None:
        body["offset"] = offset
        body["next_offset"] = offset + len(found.rows) if found.has_next else None
    return jsonify(body)


@bp.get("/audit/verify")
@token_required
def verify_audit():
    """Whether the audit hash chains hold (every chain, or one case's with ?ticket=)."""
    ticket = storable_part(request.args.get("ticket", "")).strip() or None
    if ticket is not None and len(ticket) > 16:
        return error(404, "No such complaint.")
    with services().db.read() as db:
        report = audit_trail.verify(db, g.api_actor, services().now(), ticket=ticket)
    return jsonify(report.as_dict())


@bp.get("/complaints/<ticket>")
@token_required
def get_complaint(ticket: str):
    with services().db.read() as db:
        case = cases.load_case(services(), db, g.api_actor, ticket)
    cases.record_view(services(), g.api_actor, ticket)
    return jsonify(case.as_dict())


@bp.get("/complaints/<ticket>/replay")
@token_required
def get_replay(ticket: str):
    with services().db.read() as db:
        found = replay.replay(services(), db, g.api_actor, ticket)
    cases.record_view(services(), g.api_actor, ticket)
    return jsonify(found.as_dict())


@bp.get("/tasks")
@token_required
def list_tasks():
    filters = tasks.WorklistFilter.from_params(storable_params(request.args))
    with services().db.read() as db:
        views = tasks.worklist(db, g.api_actor, filters=filters, now=services().now())
    return jsonify(tasks=[v.as_dict() for v in views])


@bp.get("/tasks/<task_id>")
@token_required
def get_task(task_id: str):
    detail = runtime.task_detail(services(), g.api_actor, task_id)
    return jsonify({**detail.task.as_dict(), "schema": detail.schema})


@bp.post("/tasks/<task_id>")
def complete_task(task_id: str):
    token = _bearer_token()
    if token is None:
        return _unauthorized()
    body = {}

    def authenticate(db):
        # The token is read in the completion's own transaction: one unit of work per
        # request instead of two. The body is read once the token is good, as elsewhere.
        g.api_actor = actor_for_token(db, token)
        refusal = _refusal(g.api_actor)
        if refusal is not None:
            raise _Refused(refusal)
        body["data"] = json_bodies.body()
        return g.api_actor

    try:
        result = runtime.complete_task(services(), None, task_id,
                                       read_form=lambda _schema, _ui: body["data"],
                                       authenticate=authenticate)
    except _Refused as refused:
        return refused.response
    return jsonify(result)


# --------------------------------------------------------------------------- processes

def _version_dict(v) -> dict:
    return {"version": v.version, "deployed_at": v.deployed_at.isoformat(),
            "author": v.author, "content_hash": v.content_hash, "note": v.note,
            "open_cases": v.open_cases, "closed_cases": v.closed_cases}


def _startable(db) -> dict:
    return {p.process_id: p for p in versions.library(db) if p.startable}


@bp.get("/processes")
@token_required
def list_processes():
    with services().db.read() as db:
        processes = _startable(db).values()
    return jsonify(processes=[{"id": p.process_id, "name": p.name,
                               "version": p.versions[0].version,
                               "versions": [_version_dict(v) for v in p.versions]}
                              for p in processes])


MAX_NOTE = 500


def _checkbox(name: str) -> bool:
    return request.form.get(name, "").strip().lower() in ("true", "1", "yes", "on")


@bp.post("/processes")
@token_required
def deploy_processes():
    process_access.require_editor(g.api_actor)
    if not request.mimetype == "multipart/form-data":
        return error(415, "Send the documents as multipart/form-data in the field 'files'.")
    uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files")]
    bundle = process_uploads.read_bundle(uploads)
    outcome = versions.deploy_bundle(
        services(), bundle, note=storable_part(request.form.get("note", "")).strip()[:MAX_NOTE],
        actor=g.api_actor.username, dry_run=_checkbox("dry_run"))
    named = [{"id": v.process_id, "version": v.version} for v in outcome.versions]
    body = {"dry_run": outcome.dry_run, "deployed": [] if outcome.dry_run else named,
            "scenarios": [{"file": s.file, "name": s.name, "passed": s.passed}
                          for s in outcome.scenarios]}
    if outcome.dry_run:
        body["would_deploy"] = named
        return jsonify(body), 200
    return jsonify(body), 201 if outcome.versions else 200


def _process_body(process_id: str, number: int | None):
    with services().db.read() as db:
        process = _startable(db).get(process_id)
        numbers = [v.version for v in process.versions] if process else []
        number = numbers[0] if number is None and numbers else number
        if number not in numbers:
            return error(404, "No such process or version.")
        summary = next(v for v in process.versions if v.version == number)
        form = start_forms.start_form(services(), db, process_id)
        body = {"id": process_id, "name": process.name, "newest_version": numbers[0],
                **_version_dict(summary),
                "start_form": {"schema": form.schema, "ui": form.ui} if form else None}
        if process_access.may_read(g.api_actor):
            body["files"] = versions.version_files(db, process_id, number)
    return jsonify(body)


@bp.get("/processes/<process_id>")
@token_required
def get_process(process_id: str):
    return _process_body(process_id, None)


@bp.get("/processes/<process_id>/versions/<number>")
@token_required
def get_process_version(process_id: str, number: str):
    if not number.isdigit() or len(number) > 9:
        return error(404, "No such process or version.")
    return _process_body(process_id, int(number))


@bp.post("/processes/<process_id>/instances")
@token_required
def start_instance(process_id: str):
    started = runtime.start_case(services(), g.api_actor, process_id, json_bodies.body())
    body = {"ticket": started.ticket, "process_id": started.process_id,
            "version": started.version}
    if started.status_token:
        body["status_token"] = started.status_token
    return jsonify(body), 201


# --------------------------------------------------------------------------- supervision

@bp.get("/statistics")
@token_required
def get_statistics():
    statistics.require_reader(g.api_actor)
    args = storable_params(request.args)
    period = statistics.Period.parse(args.get("from"), args.get("to"))
    department = (args.get("department") or "").strip() or None
    if department:
        with services().db.read() as db:
            if department not in task_forms.department_names(db):
                return error(400, f"No such department: {department[:64]}")
    return jsonify(statistics.for_period(services(), period, department).as_dict())


@bp.get("/exports/<name>")
@token_required
def export(name: str):
    """cases.csv, task-events.csv or events.xes, streamed."""
    statistics.require_reader(g.api_actor)
    return export_response(name, storable_params(request.args))

"""The staff inbox: my tasks, my team's queue, claim/release, and working a task.

Also home of what every staff page shares: the staff-only decorator, the app-wide HTML
error pages (JSON under /api/), and the template helpers (times, nav permissions, forms).
"""
from __future__ import annotations

import functools

from flask import (
    Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for,
)
from flask_wtf.csrf import CSRFError

from engine import cases as case_service
from engine import forms, notifications, runtime, tasks
from engine.directory import ROLES, departments
from engine.errors import (
    AlreadyClaimed, AlreadyCompleted, Forbidden, NotFound, ProcessError, ServiceError,
)
from engine.forms import FormInvalid

from . import formrender
from .auth import current_actor, login_required

bp = Blueprint("inbox", __name__)
from .i18n import _, translate

REGISTER_ROLES = {"cs_agent", "cs_supervisor", "admin"}
CANCEL_ROLES = runtime.CANCEL_ROLES


def services():
    return current_app.extensions["services"]


def staff_page(view):
    """Signed in (else to the login page) and a staff role (else 403)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        case_service.require_staff(current_actor())
        return view(*args, **kwargs)
    return login_required(wrapped)


def require_any_role(roles: set[str], message: str) -> None:
    if not current_actor().roles & roles:
        raise Forbidden(message)


# --------------------------------------------------------------------------- inbox

@bp.get("/")
@staff_page
def index():
    actor = current_actor()
    with services().db.read() as db:
        views = tasks.worklist(db, actor)
        notices = notifications.for_actor(db, actor)
    mine = [v for v in views if v.assignee == actor.username]
    queue = [v for v in views if v.assignee != actor.username]
    return render_template("inbox.html", mine=mine, queue=queue, notices=notices,
                           now=services().now())


@bp.post("/tasks/<task_id>/claim")
@staff_page
def claim(task_id: str):
    try:
        with services().db.write() as db:
            view = tasks.claim(db, current_actor(), task_id, services().now())
    except (AlreadyCompleted, AlreadyClaimed) as exc:
        flash(str(exc), "warning")
        return redirect(url_for("inbox.index"))
    flash(f"Claimed: {view.title} ({view.ticket})", "success")
    if request.form.get("then") == "open":
        return redirect(url_for("inbox.task", task_id=task_id))
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<task_id>/release")
@staff_page
def release(task_id: str):
    try:
        with services().db.write() as db:
            view = tasks.release(db, current_actor(), task_id)
    except (AlreadyCompleted, AlreadyClaimed) as exc:
        flash(str(exc), "warning")
        return redirect(url_for("inbox.index"))
    flash(f"Released to the team queue: {view.title} ({view.ticket})", "success")
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<task_id>/reassign")
@staff_page
def reassign(task_id: str):
    ticket = request.form.get("ticket", "")
    try:
        with services().db.write() as db:
            view = tasks.reassign(db, current_actor(), task_id, request.form.get("assignee", ""),
                                  request.form.get("reason", ""), services().now())
    except FormInvalid as exc:
        flash("Not reassigned: " + " ".join(exc.fields.values()), "warning")
        return redirect(url_for("cases.view", ticket=ticket) if ticket else url_for("inbox.index"))
    except AlreadyCompleted as exc:
        flash(str(exc), "warning")
        return redirect(url_for("inbox.index"))
    flash(f"Reassigned to {view.assignee}: {view.title} ({view.ticket})", "success")
    return redirect(url_for("cases.view", ticket=view.ticket))


# --------------------------------------------------------------------------- a task

def _case_summary(ticket: str):
    """The case record and earlier steps for the side panel (None if not visible)."""
    from .cases import history_rows  # the case pages import this module

    with services().db.read() as db:
        try:
            case = case_service.load_case(services(), db, current_actor(), ticket)
        except NotFound:
            return None, [], []
        schema, ui = runtime.intake_form(services(), db)
        dept_names = {d.code: d.name for d in departments(db)}
    steps = [h for h in history_rows(case, schema, dept_names) if h["kind"] == "task_completed"]
    return case, formrender.record_rows(schema, ui, case.record), steps


def _task_page(detail, values, errors=None, status=200):
    case, record, steps = _case_summary(detail.task.ticket)
    return render_template(
        "task.html", detail=detail, task=detail.task, values=values, errors=errors or {},
        case=case, record=record, steps=steps, now=services().now(),
        lane_title=tasks.LANE_TITLES.get(detail.task.lane, detail.task.lane),
    ), status


@bp.get("/tasks/<task_id>")
@staff_page
def task(task_id: str):
    try:
        detail = runtime.task_detail(services(), current_actor(), task_id)
    except (AlreadyCompleted, AlreadyClaimed) as exc:
        flash(str(exc), "warning")
        return redirect(url_for("inbox.index"))
    return _task_page(detail, detail.values)


@bp.post("/tasks/<task_id>")
@staff_page
def complete(task_id: str):
    actor = current_actor()
    try:
        detail = runtime.task_detail(services(), actor, task_id)
        data = forms.coerce_submission(
            detail.schema, formrender.posted(detail.schema, detail.ui, request.form))
        result = runtime.complete_task(services(), actor, task_id, data)
    except (AlreadyCompleted, AlreadyClaimed) as exc:
        flash(str(exc), "warning")
        return redirect(url_for("inbox.index"))
    except FormInvalid as exc:
        return _task_page(detail, request.form, exc.fields or {"": str(exc)}, status=422)
    except ProcessError as exc:
        # Nothing was changed: keep the input and say what failed.
        current_app.logger.error("task %s failed: %s", task_id, exc)
        return _task_page(detail, request.form, {
            "": f"The process could not continue: {exc} Nothing was saved; "
                "tell the process owner."}, status=exc.status)
    flash(f"Done: {detail.task.title} ({result['ticket']})", "success")
    if result.get("linked_ticket"):
        flash(f"A linked complaint was registered: {result['linked_ticket']}", "info")
    if result.get("status") == "closed":
        flash(f"Case {result['ticket']} is closed.", "info")
    return redirect(url_for("inbox.index"))


# --------------------------------------------------------------------------- app-wide

def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(status: int, message: str):
    return jsonify(error=message, fields={}), status


@bp.app_errorhandler(404)
def not_found(_exc):
    if _wants_json():
        return _json_error(404, "Not found.")
    return render_template("404.html", message=None), 404


@bp.app_errorhandler(403)
def forbidden(_exc):
    if _wants_json():
        return _json_error(403, "Forbidden.")
    return render_template("403.html", message=None), 403


@bp.app_errorhandler(405)
def not_allowed(_exc):
    if _wants_json():
        return _json_error(405, "Method not allowed.")
    return render_template("error.html", status=405, heading=_("Not possible here"),
                           message=_("This page does not accept that kind of request.")), 405


@bp.app_errorhandler(413)
def too_large(_exc):
    if _wants_json():
        return _json_error(413, "The request body is too large.")
    return render_template("error.html", status=413, heading="Too large",
                           message="What you sent is larger than the 2 MiB limit."), 413


@bp.app_errorhandler(CSRFError)
def csrf_failed(_exc):
    if _wants_json():
        return _json_error(400, "The CSRF token is missing or invalid.")
    return render_template(
        "error.html", status=400, heading=_("The form has expired"),
        message=_("Your session changed since the page was loaded. Go back, reload the page "
                  "and send the form again.")), 400


@bp.app_errorhandler(ServiceError)
def service_error(exc: ServiceError):
    if _wants_json():
        return _json_error(exc.status, str(exc))
    if isinstance(exc, NotFound):
        return render_template("404.html", message=translate(exc)), 404
    if isinstance(exc, Forbidden):
        return render_template("403.html", message=translate(exc)), 403
    if isinstance(exc, AlreadyCompleted):
        return render_template("error.html", status=409, heading=_("Already done"),
                               message=translate(exc)), 409
    current_app.logger.error("service error on %s: %s", request.path, exc)
    return render_template(
        "error.html", status=exc.status, heading=_("The process could not continue"),
        message=_("%(problem)s Nothing was changed; tell the process owner.",
                  problem=translate(exc))), exc.status


@bp.app_errorhandler(FormInvalid)
def form_invalid(exc: FormInvalid):
    if _wants_json():
        return jsonify(error=str(exc), fields=exc.fields), 422
    details = "; ".join(f"{formrender.humanize(k) + ': ' if k else ''}{translate(v)}"
                        for k, v in exc.fields.items())
    return render_template("error.html", status=422, heading=_("Some input needs attention"),
                           message=f"{translate(exc)} {details}"), 422


@bp.app_errorhandler(500)
def server_error(_exc):
    if _wants_json():
        return _json_error(500, "Internal server error.")
    return render_template("error.html", status=500, heading=_("Something went wrong"),
                           message=_("The error was logged. Try again in a moment.")), 500


@bp.app_context_processor
def page_helpers():
    actor = current_actor()
    roles = actor.roles if actor else frozenset()
    return {
        "nav": {
            "staff": bool(roles & case_service.STAFF_ROLES),
            "register": bool(roles & REGISTER_ROLES),
        },
        "lane_titles": tasks.LANE_TITLES,
        "role_titles": ROLES,
        "render_fields": formrender.render_fields,
        "render_error_summary": formrender.render_error_summary,
    }


@bp.app_template_filter("localtime")
def localtime_filter(value):
    return formrender.local_time(value)


@bp.app_template_filter("ago")
def ago_filter(value, now):
    return formrender.relative_time(value, now)


@bp.app_template_filter("shown")
def shown_filter(value):
    return formrender.display_value(None, value)


@bp.app_template_filter("humanize")
def humanize_filter(value):
    return formrender.humanize(str(value))

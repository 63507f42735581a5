"""The app-wide error answers: an HTML page in the reader's language, or the API's JSON
shape (`{"error": ..., "fields": {...}}`) under /api/."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from engine import upload_checks
from engine.errors import AlreadyCompleted, Forbidden, NotFound, ServiceError
from engine.forms import FormInvalid

from .formrender import humanize
from .i18n import _, translate
from .request_limits import SMALL_BODY, carries_evidence
from .services import services


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _json_error(status: int, message: str):
    return jsonify(error=message, fields={}), status


def not_found(_exc):
    if _wants_json():
        return _json_error(404, "Not found.")
    return render_template("404.html", message=None), 404


def forbidden(_exc):
    if _wants_json():
        return _json_error(403, "Forbidden.")
    return render_template("403.html", message=None), 403


def not_allowed(_exc):
    if _wants_json():
        return _json_error(405, "Method not allowed.")
    return render_template("error.html", status=405, heading=_("Not possible here"),
                           message=_("This page does not accept that kind of request.")), 405


def too_large(_exc):
    if _wants_json():
        return _json_error(413, "The request body is too large.")
    if not carries_evidence():
        return render_template("error.html", status=413, heading=_("Too large"), message=_(
            "What you sent is larger than %(total)s. Go back, shorten it and send it again.",
            total=upload_checks.human_size(SMALL_BODY))), 413
    limits = upload_checks.limits_of(services())
    return render_template("error.html", status=413, heading=_("Too large"), message=_(
        "What you sent is larger than %(total)s in all. Attach at most %(count)s files of up "
        "to %(size)s each: go back, choose fewer or smaller files and send the form again.",
        total=upload_checks.human_size(current_app.config["MAX_CONTENT_LENGTH"]),
        count=limits.max_files, size=upload_checks.human_size(limits.max_file_bytes))), 413


def csrf_failed(_exc):
    if _wants_json():
        return _json_error(400, "The CSRF token is missing or invalid.")
    return render_template(
        "error.html", status=400, heading=_("The form has expired"),
        message=_("Your session changed since the page was loaded. Go back, reload the page "
                  "and send the form again.")), 400


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


def form_invalid(exc: FormInvalid):
    if _wants_json():
        return jsonify(error=str(exc), fields=exc.fields), 422
    details = "; ".join(f"{humanize(k) + ': ' if k else ''}{translate(v)}"
                        for k, v in exc.fields.items())
    return render_template("error.html", status=422, heading=_("Some input needs attention"),
                           message=f"{translate(exc)} {details}"), 422


def server_error(_exc):
    if _wants_json():
        return _json_error(500, "Internal server error.")
    return render_template("error.html", status=500, heading=_("Something went wrong"),
                           message=_("The error was logged. Try again in a moment.")), 500


def init_app(app: Flask) -> None:
    for error, handler in ((404, not_found), (403, forbidden), (405, not_allowed),
                           (413, too_large), (CSRFError, csrf_failed),
                           (ServiceError, service_error), (FormInvalid, form_invalid),
                           (500, server_error)):
        app.register_error_handler(error, handler)

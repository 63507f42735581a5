"""The process library: every process with its versions, a version's diagram and files,
the differences between two versions, and rollback to an earlier version.

Process owners and administrators change the procedure; compliance reads it.
"""
from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for,
)

from engine import process_access, versions
from engine.form_values import storable_part
from engine.i18n import N_

from .i18n import _
from .identity import current_actor, login_required
from .presenters import process_library
from .services import services

bp = Blueprint("processes", __name__, url_prefix="/processes")

MAX_NOTE = 500
# The shipped processes' names as their diagrams give them, so the pages can translate them.
SHIPPED_NAMES = (N_("Customer complaint"), N_("Improvement project"))
# What each kind of file in a version is, by the end of its name (the bundle convention).
FILE_KINDS = (
    (".bpmn", "diagram"), (".dmn", "decision"), (".uischema.json", "form_ui"),
    (".schema.json", "form"), (".scenario.json", "scenario"),
)
DOWNLOAD_TYPES = {"diagram": "application/xml", "decision": "application/xml"}


WORKBENCH_FOLDER = "workbench"


@bp.context_processor
def workbench_assets() -> dict:
    """The viewer bundle's scripts and style sheets, when it is built into the static
    folder (`make assets`)."""
    folder = Path(current_app.static_folder) / WORKBENCH_FOLDER

    def urls(pattern: str) -> list[str]:
        return [url_for("static", filename=f"{WORKBENCH_FOLDER}/{path.name}")
                for path in sorted(folder.glob(pattern))]
    return {"workbench_assets": {"scripts": urls("*.js"), "styles": urls("*.css")}}


def file_kind(name: str) -> str:
    return next((kind for suffix, kind in FILE_KINDS if name.endswith(suffix)), "other")


def library_page(view):
    """Signed in (else to the login page) and a reader of the library (else 403)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        process_access.require_reader(current_actor())
        return view(*args, **kwargs)
    return login_required(wrapped)


def _version_number(text: str) -> int:
    """A version number from the address; anything else is a page that does not exist."""
    if not text.isdigit() or len(text) > 9:
        abort(404)
    return int(text)


def _files(process_id: str, number: int) -> dict[str, str]:
    with services().db.read() as db:
        try:
            return versions.version_files(db, process_id, number)
        except LookupError:
            abort(404)


def _diagrams(files: dict[str, str], process_id: str) -> list[dict]:
    """The diagrams and decision tables of a version, the process's own diagram first."""
    shown = []
    for name in sorted(files):
        kind = file_kind(name)
        if kind not in ("diagram", "decision"):
            continue
        own = kind == "diagram" and f'id="{process_id}"' in files[name]
        shown.append({"name": name, "kind": kind, "xml": files[name], "own": own})
    return sorted(shown, key=lambda d: (not d["own"], d["kind"] != "diagram", d["name"]))


@bp.get("")
@library_page
def index():
    with services().db.read() as db:
        processes = versions.library(db)
    return render_template("processes.html", processes=processes, now=services().now(),
                           may_edit=process_access.may_edit(current_actor()))


def _version_page(process_id: str, number: int, note: str = "", note_error: str = "",
                  status: int = 200):
    files = _files(process_id, number)
    with services().db.read() as db:
        summary = process_library.version_summary(db, process_id, number)
        processes = {p.process_id: p for p in versions.library(db)}
    process = processes[process_id]
    newest = process.versions[0].version
    return render_template(
        "process_version.html", process=process, version=summary, newest=newest,
        files=[{"name": n, "kind": file_kind(n), "size": len(files[n].encode("utf-8"))}
               for n in sorted(files)],
        diagrams=_diagrams(files, process_id), now=services().now(),
        may_edit=process_access.may_edit(current_actor()), note=note,
        note_error=note_error), status


@bp.get("/<process_id>/versions/<number>")
@library_page
def version(process_id: str, number: str):
    number = _version_number(number)
    return _version_page(process_id, number)


def _download(data: bytes, name: str, mimetype: str):
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                         download_name=name, max_age=0)
    # A diagram is never rendered as a page of this site, even if opened directly.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<process_id>/versions/<number>/files/<name>")
@library_page
def download(process_id: str, number: str, name: str):
    number = _version_number(number)
    files = _files(process_id, number)
    if name not in files:
        abort(404)
    mimetype = DOWNLOAD_TYPES.get(file_kind(name), "application/json")
    return _download(files[name].encode("utf-8"), name, mimetype)


@bp.get("/<process_id>/versions/<number>/files.zip")
@library_page
def download_all(process_id: str, number: str):
    number = _version_number(number)
    files = _files(process_id, number)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return _download(buffer.getvalue(), f"{process_id}-v{number}.zip", "application/zip")


def _number(name: str, default: int) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else default


@bp.get("/<process_id>/diff")
@library_page
def diff(process_id: str):
    with services().db.read() as db:
        processes = {p.process_id: p for p in versions.library(db)}
        process = processes.get(process_id)
        if process is None:
            abort(404)
        numbers = [v.version for v in process.versions]
        newest = numbers[0]
        to = _number("to", newest)
        start = _number("from", numbers[1] if len(numbers) > 1 else newest)
        if start not in numbers or to not in numbers:
            abort(404)
        changes = process_library.diff(db, process_id, start, to)
        old = versions.version_files(db, process_id, start)
        new = versions.version_files(db, process_id, to)
    sides = []
    for name, entries in changes.files.items():
        if file_kind(name) != "diagram" or not any(entries.values()):
            continue
        changed = [e["id"] for e in entries["changed"]]
        sides.append({
            "name": name,
            "before": {"xml": old[name], "marks": {"removed": [e["id"] for e in entries["removed"]],
                                                   "changed": changed}},
            "after": {"xml": new[name], "marks": {"added": [e["id"] for e in entries["added"]],
                                                  "changed": changed}},
        })
    return render_template("process_diff.html", process=process, diff=changes, sides=sides,
                           numbers=numbers, start=start, to=to)


@bp.post("/<process_id>/versions/<number>/rollback")
@library_page
def rollback(process_id: str, number: str):
    number = _version_number(number)
    actor = current_actor()
    process_access.require_editor(actor)
    _files(process_id, number)  # an unknown version is a 404 before anything else
    with services().db.read() as db:
        newest_before = max(v.version for p in versions.library(db)
                            if p.process_id == process_id for v in p.versions)
    note = storable_part(request.form.get("note", "")).strip()
    if not note:
        return _version_page(process_id, number, note_error=_(
            "Say why the procedure goes back to this version: the note stays with the new "
            "version."), status=422)
    if len(note) > MAX_NOTE:
        return _version_page(process_id, number, note=note, note_error=_(
            "Keep the note under %(count)s characters.", count=MAX_NOTE), status=422)
    created = versions.rollback(services(), process_id, number, actor=actor.username,
                                note=note)
    if created.version <= newest_before:
        flash(_("Version %(number)s is already what new cases follow.",
                number=created.version), "info")
        return redirect(url_for("processes.version", process_id=process_id,
                                number=created.version))
    flash(_("Version %(new)s restores the content of version %(old)s; new cases follow it.",
            new=created.version, old=number), "success")
    return redirect(url_for("processes.version", process_id=process_id,
                            number=created.version))

"""Evidence files on the pages: the customer adds them on the status page, staff on the
case page; both download them. Files go back with the type we sniffed at upload, never
guessed by the browser, and in a sandbox, so nothing a file contains can run here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flask import (
    Blueprint, abort, current_app, flash, redirect, request, send_file, url_for,
)
from werkzeug.datastructures import MultiDict

from engine import attachments, customers, intake, runtime, upload_checks
from engine.upload_checks import CheckedUpload, UploadRefused
from engine.directory import Actor
from engine.errors import AlreadyCompleted, NotFound
from engine.forms import FormInvalid

from .auth import current_actor, too_many_attempts
from .i18n import _, use_customer_preferences
from .inbox import staff_page

bp = Blueprint("attachments", __name__)

FIELD = "evidence"  # the name of the file input on every form


def services():
    return current_app.extensions["services"]


def chosen_files(files: MultiDict) -> list:
    """The files of the evidence input; a browser sends one empty part when none is chosen."""
    return [(item.filename, item.stream) for item in files.getlist(FIELD) if item.filename]


def checked_files() -> list[CheckedUpload]:
    """This request's evidence, checked; raises UploadRefused for a file we do not keep."""
    return upload_checks.check_uploads(chosen_files(request.files),
                                     upload_checks.limits_of(services()))


@dataclass(frozen=True)
class EvidenceProblem:
    """What the page says beside the file field after a form came back."""

    text: str
    refused: bool  # a file was refused (an error), or only lost with the form (a notice)


def refusal(exc: UploadRefused, filing: bool = False) -> EvidenceProblem:
    """Why the files were refused, and what to do: the browser has forgotten them."""
    if filing:
        return EvidenceProblem(_("%(reason)s Nothing was sent yet: choose the files again, "
                                 "then send the form.", reason=exc.localized(_)), True)
    return EvidenceProblem(_("%(reason)s Nothing was added: choose the files again.",
                             reason=exc.localized(_)), True)


def intake_problems(record: dict, staff: Optional[Actor]) -> dict:
    """The form's own errors, shown next to a refused file so that one round fixes all."""
    try:
        intake.normalise_record(services(), record, services().now(), staff)
    except FormInvalid as exc:
        return exc.fields or {"": str(exc)}
    return {}


def files_to_choose_again() -> Optional[EvidenceProblem]:
    """After a form error the chosen files are gone too; say so beside the file field."""
    if chosen_files(request.files):
        return EvidenceProblem(_("The form was not sent, so your files were not kept: "
                                 "choose them again."), False)
    return None


def file_complaint(record: dict, staff: Optional[Actor], **preferences) -> runtime.Filed:
    """Check the evidence, then register the complaint with it; a refused file stops
    everything (UploadRefused), so no case exists without the evidence it came with."""
    return attachments.file_with_evidence(services(), record, staff, checked_files(),
                                          **preferences)


def customer_listing(token: str) -> attachments.Listing:
    return attachments.customer_listing(services(), token)


def staff_listing(session, actor: Actor, ticket: str) -> attachments.Listing:
    return attachments.staff_listing(session, actor, ticket)


@bp.app_context_processor
def evidence_rules():
    limits = upload_checks.limits_of(services())
    return {"evidence_rules": {
        "field": FIELD,
        "accept": upload_checks.ACCEPT,
        "max_files": limits.max_files,
        "max_size": upload_checks.human_size(limits.max_file_bytes),
    }}


def send(download: attachments.Download):
    response = send_file(
        download.path, mimetype=download.content_type, as_attachment=not download.inline,
        download_name=download.filename, conditional=True, etag=download.sha256,
        max_age=None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.cache_control.private = True
    return response


# --------------------------------------------------------------------------- the customer

@bp.get("/status/<token>/attachments/<attachment_id>")
def customer_download(token: str, attachment_id: str):
    try:
        return send(attachments.open_for_customer(services(), token, attachment_id))
    except NotFound:
        abort(404)


@bp.post("/status/<token>/attachments")
def customer_upload(token: str):
    from .public import _status_page  # the page the form is on, shown again with the reason
    try:
        # Every answer below speaks the language the status page is shown in.
        use_customer_preferences(*customers.preferences(services(), token))
    except NotFound:
        abort(404)
    if too_many_attempts(f"upload:{request.remote_addr}"):
        return _status_page(token, {FIELD: EvidenceProblem(
            _("Too many uploads from your address in a short time. Please wait a minute."),
            True)}, status=429)
    try:
        uploads = checked_files()
        if not uploads:
            return _status_page(token, {FIELD: EvidenceProblem(
                _("Choose at least one file to add."), True)}, status=422)
        attachments.add_for_customer(services(), token, uploads)
    except UploadRefused as exc:
        return _status_page(token, {FIELD: refusal(exc)}, status=422)
    except NotFound:
        abort(404)
    except AlreadyCompleted:
        flash(_("The complaint is closed; evidence can no longer be added."), "warning")
        return redirect(url_for("public.status", token=token))
    flash(_("Thank you. Files added: %(count)s.", count=len(uploads)), "success")
    return redirect(url_for("public.status", token=token, _anchor="attachments"))


# --------------------------------------------------------------------------- staff

@bp.get("/cases/<ticket>/attachments/<attachment_id>")
@staff_page
def staff_download(ticket: str, attachment_id: str):
    return send(attachments.open_for_staff(services(), current_actor(), ticket, attachment_id))


@bp.post("/cases/<ticket>/attachments")
@staff_page
def staff_upload(ticket: str):
    from .cases import _case_page  # the page the form is on, shown again with the reason
    share = request.form.get("share") == "1"
    try:
        uploads = checked_files()
        if not uploads:
            return _case_page(ticket, evidence_form={"problem": EvidenceProblem(
                _("Choose at least one file to add."), True), "share": share}, status=422)
        attachments.add_for_staff(services(), current_actor(), ticket, uploads, share)
    except UploadRefused as exc:
        return _case_page(ticket, evidence_form={"problem": refusal(exc), "share": share},
                          status=422)
    flash(_("Files added: %(count)s, shared with the customer.", count=len(uploads)) if share
          else _("Files added: %(count)s, for staff only.", count=len(uploads)), "success")
    return redirect(url_for("cases.view", ticket=ticket, _anchor="attachments"))

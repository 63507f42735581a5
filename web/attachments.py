"""Evidence files on the pages: the customer adds them on the status page, staff on the
case page; both download them. Files go back with the type we sniffed at upload, never
guessed by the browser, and in a sandbox, so nothing a file contains can run here."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for

from engine import attachments, customers
from engine.errors import AlreadyCompleted, NotFound
from engine.upload_checks import UploadRefused

from .evidence import FIELD, EvidenceProblem, checked_files, refusal
from .i18n import _, use_customer_preferences
from .identity import current_actor, staff_page
from .presenters.case_page import case_page
from .presenters.status_page import status_page
from .rate_limit import customer_wait, with_retry_after
from .services import services

bp = Blueprint("attachments", __name__)


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
    try:
        # Every answer below speaks the language the status page is shown in.
        use_customer_preferences(*customers.preferences(services(), token))
    except NotFound:
        abort(404)
    wait = customer_wait(f"upload:{request.remote_addr}")
    if wait:
        return with_retry_after(status_page(token, {FIELD: EvidenceProblem(
            _("Too many uploads from your address in a short time. Please wait a minute."),
            True)}, status=429), wait)
    try:
        uploads = checked_files()
        if not uploads:
            return status_page(token, {FIELD: EvidenceProblem(
                _("Choose at least one file to add."), True)}, status=422)
        attachments.add_for_customer(services(), token, uploads)
    except UploadRefused as exc:
        return status_page(token, {FIELD: refusal(exc)}, status=422)
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
    share = request.form.get("share") == "1"
    try:
        uploads = checked_files()
        if not uploads:
            return case_page(ticket, evidence_form={"problem": EvidenceProblem(
                _("Choose at least one file to add."), True), "share": share}, status=422)
        attachments.add_for_staff(services(), current_actor(), ticket, uploads, share)
    except UploadRefused as exc:
        return case_page(ticket, evidence_form={"problem": refusal(exc), "share": share},
                          status=422)
    flash(_("Files added: %(count)s, shared with the customer.", count=len(uploads)) if share
          else _("Files added: %(count)s, for staff only.", count=len(uploads)), "success")
    return redirect(url_for("cases.view", ticket=ticket, _anchor="attachments"))

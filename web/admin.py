"""Administration pages: the e-mail outbox (what was sent, or kept in development mode,
to whom, and why a mail failed)."""
from __future__ import annotations

import functools
import io
import re

from flask import Blueprint, render_template, send_file

from engine import outbox as outbox_messages
from engine.errors import NotFound
from engine.i18n import N_
from engine.mailer import MailSettings

from .identity import current_actor, login_required
from .services import services

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 100
# Status -> (badge class from the shared style sheet, label).
STATUS_BADGES = {
    "queued": ("open", N_("Queued")),
    "sent": ("closed", N_("Sent")),
    "failed": ("error", N_("Failed")),
    "kept": ("muted", N_("Kept (development)")),
}
_SIMPLE_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def admin_page(view):
    """Signed in (else to the login page) and an administrator (else 403)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        outbox_messages.require_reader(current_actor())
        return view(*args, **kwargs)
    return login_required(wrapped)


@bp.get("/outbox")
@admin_page
def outbox():
    actor = current_actor()
    with services().db.read() as db:
        rows = outbox_messages.newest(db, actor, PAGE_SIZE)
        totals = outbox_messages.status_totals(db, actor)
    return render_template("admin_outbox.html", rows=rows, totals=totals,
                           badges=STATUS_BADGES, settings=MailSettings.from_env(),
                           page_size=PAGE_SIZE, now=services().now())


@bp.get("/outbox/<message_id>")
@admin_page
def message(message_id: str):
    row, ticket = outbox_messages.open_message(services(), current_actor(), message_id)
    return render_template("admin_message.html", m=row, ticket=ticket, badges=STATUS_BADGES,
                           now=services().now())


@bp.get("/outbox/<message_id>/attachment")
@admin_page
def attachment(message_id: str):
    row, _ticket = outbox_messages.open_message(services(), current_actor(), message_id,
                                                with_attachment=True)
    if row.attachment is None:
        raise NotFound(N_("This message has no attachment."))
    content_type = (row.attachment_type or "").split(";")[0].strip().lower()
    if not _SIMPLE_TYPE.match(content_type):
        content_type = "application/octet-stream"
    # Werkzeug adds "; charset=utf-8" to text types (the attachment is stored as text).
    response = send_file(io.BytesIO(row.attachment.encode("utf-8")), mimetype=content_type,
                         as_attachment=True,
                         download_name=row.attachment_name or f"attachment-{row.id}",
                         max_age=0)
    # Never rendered as a page of this site, even if opened directly.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response

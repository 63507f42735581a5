"""The customer's pages (no account): file a complaint, follow it behind a private link,
answer our questions there, withdraw it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import (
    Blueprint, abort, flash, redirect, render_template, request, session,
    url_for,
)

from engine import customers, forms, inquiries, notes, order_support, technical_support
from engine import intake as intake_records
from engine.errors import AlreadyCompleted, NotFound
from engine.upload_checks import UploadRefused
from engine.forms import FormInvalid
from engine.i18n import N_, zone_or_none
from engine.rate_limits import FILING

from . import conversation, evidence, formrender
from .htmx import is_htmx, partial
from .i18n import _, current_locale, translate, use_customer_preferences
from .presenters.status_page import status_page
from .rate_limit import customer_wait, refused, with_retry_after
from .services import services

bp = Blueprint("public", __name__)

# A field people never see; bots fill every field they find.
HONEYPOT = "fax_number"


def public_form() -> tuple[dict, dict]:
    with services().db.read() as db:
        return intake_records.customer_form(services(), db)


def _intake_page(values, errors=None, status=200, evidence_problem=None):
    schema, ui = public_form()
    return render_template("public_intake.html", schema=schema, ui=ui, values=values,
                           errors=errors or {}, honeypot=HONEYPOT,
                           evidence_problem=evidence_problem), status


@bp.get("/complaint")
def intake():
    return _intake_page({})


@bp.post("/complaint")
def file():
    if request.form.get(HONEYPOT):
        return _intake_page(request.form, {"": _("Your complaint could not be sent. Please "
                                                  "try again.")}, status=400)
    wait = refused(FILING)
    if wait:
        page, status = _intake_page(request.form, {"": _(
            "Too many complaints from your address in a short time. Please wait a minute.")},
            status=429)
        return with_retry_after((page, status), wait)
    schema, ui = public_form()
    data = forms.coerce_submission(schema, formrender.posted(schema, ui, request.form))
    try:
        # The customer reads in the language of this page and in their browser's zone.
        filed = evidence.file_complaint(
            data, staff=None, customer_locale=current_locale(),
            customer_timezone=request.form.get("tz") if zone_or_none(request.form.get("tz"))
            else None)
    except UploadRefused as exc:
        return _intake_page(request.form, evidence.intake_problems(data, None), status=422,
                            evidence_problem=evidence.refusal(exc, filing=True))
    except FormInvalid as exc:
        return _intake_page(request.form, exc.fields or {"": str(exc)}, status=422,
                            evidence_problem=evidence.files_to_choose_again())
    # Shown once on the next page; the link is the customer's key to their complaint.
    session["filed"] = {"ticket": filed.ticket, "token": filed.status_token}
    return redirect(url_for("public.filed"))


@bp.get("/complaint/filed")
def filed():
    receipt = session.pop("filed", None)
    if receipt is None:
        return redirect(url_for("public.intake"))
    link = url_for("public.status", token=receipt["token"], _external=True)
    return render_template("public_filed.html", ticket=receipt["ticket"], link=link)


@dataclass(frozen=True)
class _Request:
    """A kind of request a customer files on the public site besides a complaint: its
    form, how it is filed, its pages and what it says when refused."""
    endpoint: str
    customer_form: Callable
    file: Callable
    template: str
    filed_template: str
    not_sent: str
    too_many: str


_INQUIRY = _Request(
    "inquiry", inquiries.customer_form, inquiries.file_inquiry, "public_inquiry.html",
    "public_inquiry_filed.html",
    N_("Your question could not be sent. Please try again."),
    N_("Too many questions from your address in a short time. Please wait a minute."))
_TECHNICAL = _Request(
    "technical", technical_support.customer_form, technical_support.file_problem,
    "public_technical.html", "public_technical_filed.html",
    N_("Your problem could not be sent. Please try again."),
    N_("Too many reports from your address in a short time. Please wait a minute."))
_ORDER = _Request(
    "order", order_support.customer_form, order_support.file_order, "public_order.html",
    "public_order_filed.html",
    N_("Your order question could not be sent. Please try again."),
    N_("Too many questions from your address in a short time. Please wait a minute."))


def _request_page(kind: _Request, values, errors=None, status=200):
    with services().db.read() as db:
        schema, ui = kind.customer_form(services(), db)
    return render_template(kind.template, schema=schema, ui=ui, values=values,
                           errors=errors or {}, honeypot=HONEYPOT), status


def _file_request(kind: _Request):
    if request.form.get(HONEYPOT):
        return _request_page(kind, request.form, {"": translate(kind.not_sent)}, status=400)
    wait = refused(FILING)
    if wait:
        page, status = _request_page(kind, request.form, {"": translate(kind.too_many)},
                                     status=429)
        return with_retry_after((page, status), wait)
    with services().db.read() as db:
        schema, ui = kind.customer_form(services(), db)
    data = forms.coerce_submission(schema, formrender.posted(schema, ui, request.form))
    zone = request.form.get("tz")
    try:
        filed = kind.file(services(), data, customer_locale=current_locale(),
                          customer_timezone=zone if zone_or_none(zone) else None)
    except FormInvalid as exc:
        return _request_page(kind, request.form, exc.fields or {"": str(exc)}, status=422)
    session[f"{kind.endpoint}_filed"] = {"ticket": filed.ticket, "token": filed.status_token}
    return redirect(url_for(f"public.{kind.endpoint}_filed"))


def _request_filed(kind: _Request):
    receipt = session.pop(f"{kind.endpoint}_filed", None)
    if receipt is None:
        return redirect(url_for(f"public.{kind.endpoint}"))
    link = url_for("public.status", token=receipt["token"], _external=True)
    return render_template(kind.filed_template, ticket=receipt["ticket"], link=link)


@bp.get("/inquiry")
def inquiry():
    return _request_page(_INQUIRY, {})


@bp.post("/inquiry")
def file_inquiry():
    return _file_request(_INQUIRY)


@bp.get("/inquiry/filed")
def inquiry_filed():
    return _request_filed(_INQUIRY)


@bp.get("/technical-problem")
def technical():
    return _request_page(_TECHNICAL, {})


@bp.post("/technical-problem")
def file_technical():
    return _file_request(_TECHNICAL)


@bp.get("/technical-problem/filed")
def technical_filed():
    return _request_filed(_TECHNICAL)


@bp.get("/order-question")
def order():
    return _request_page(_ORDER, {})


@bp.post("/order-question")
def file_order():
    return _file_request(_ORDER)


@bp.get("/order-question/filed")
def order_filed():
    return _request_filed(_ORDER)


@bp.get("/status/<token>")
def status(token: str):
    return status_page(token)


@bp.post("/status/<token>/tasks/<task_id>")
def answer(token: str, task_id: str):
    try:
        view = customers.status(services(), token)
    except NotFound:
        abort(404)
    use_customer_preferences(view.locale, view.timezone)
    own = {t.task.id: t for t in view.tasks}
    if task_id not in own:
        abort(404)
    item = own[task_id]
    data = forms.coerce_submission(item.schema, formrender.posted(item.schema, item.ui,
                                                                  request.form))
    try:
        customers.complete(services(), token, task_id, data)
    except FormInvalid as exc:
        return status_page(token, {task_id: exc.fields or {"": str(exc)}},
                            {task_id: request.form}, status=422)
    except AlreadyCompleted as exc:
        flash(translate(exc), "warning")
        return redirect(url_for("public.status", token=token))
    except NotFound:
        abort(404)
    flash(_("Thank you, we have your answer."), "success")
    return redirect(url_for("public.status", token=token))


@bp.post("/status/<token>/withdraw")
def withdraw(token: str):
    try:
        use_customer_preferences(*customers.preferences(services(), token))
        customers.withdraw(services(), token, request.form.get("reason", ""))
    except NotFound:
        abort(404)
    except FormInvalid as exc:
        return status_page(token, {"withdraw": exc.fields}, status=422)
    except AlreadyCompleted as exc:
        flash(translate(exc), "warning")
        return redirect(url_for("public.status", token=token))
    flash(_("Your complaint is withdrawn. Thank you for letting us know."), "success")
    return redirect(url_for("public.status", token=token))


@bp.post("/status/<token>/messages")
def send_message(token: str):
    """The customer writes to us; also after the case closed, to react to the closing."""
    body = request.form.get("body", "")
    try:
        thread = notes.customer_thread(services(), token)
    except NotFound:
        abort(404)
    # Answers in the language the status page is shown in.
    use_customer_preferences(thread.locale, thread.timezone)
    wait = customer_wait(f"message:{request.remote_addr}")
    if wait:
        return with_retry_after(_messages_answer(token, {"body": body, "error": _(
            "Too many messages from your address in a short time. Please wait a minute.")},
            status=429), wait)
    try:
        notes.send_customer_message(services(), token, body)
    except NotFound:
        abort(404)
    except FormInvalid as exc:
        return _messages_answer(token, {"body": body, "error": conversation.error_text(exc)},
                                status=422)
    notice = _("Thank you, we have your message. We will answer here.")
    if is_htmx():
        return _messages_answer(token, {"notice": notice})
    flash(notice, "success")
    return redirect(url_for("public.status", token=token, _anchor="customer-messages"))


def _messages_answer(token: str, state: dict, status: int = 200):
    """The messages section alone for htmx, the whole status page otherwise."""
    if not is_htmx():
        return status_page(token, status=status, conversation_state=state)
    try:
        panel = conversation.customer_panel(services(), token, **state)
    except NotFound:
        abort(404)
    return partial("_customer_messages.html", status, conversation=panel)

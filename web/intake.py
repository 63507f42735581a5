"""Registering a complaint received by phone or at the counter (staff side of intake)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine import forms, intake
from engine.upload_checks import UploadRefused
from engine.forms import FormInvalid
from engine.i18n import COMPANY_ZONE, normalize_locale

from . import evidence, formrender
from .i18n import _
from .identity import current_actor, staff_page
from .services import services

bp = Blueprint("intake", __name__, url_prefix="/register")

DEFAULT_CHANNEL = intake.STAFF_CHANNELS_DEFAULT
# Customers who phone or come to the counter are mostly Chinese-speaking.
DEFAULT_CUSTOMER_LOCALE = "zh"


def _defaults() -> dict:
    # To the minute: the form's date-time control then shows it as its hint describes.
    now = services().now().astimezone(COMPANY_ZONE).replace(second=0, microsecond=0)
    return {"channel": DEFAULT_CHANNEL, "received_at": now.isoformat()}


def _form_page(values, errors=None, status=200, evidence_problem=None):
    with services().db.read() as db:
        schema, ui = intake.intake_form(services(), db)
    return render_template("register.html", schema=schema, ui=ui, values=values,
                           errors=errors or {}, evidence_problem=evidence_problem), status


@bp.get("")
@staff_page
def form():
    intake.require_registrar(current_actor())
    return _form_page(_defaults())


@bp.post("")
@staff_page
def submit():
    intake.require_registrar(current_actor())
    with services().db.read() as db:
        schema, ui = intake.intake_form(services(), db)
    data = forms.coerce_submission(schema, formrender.posted(schema, ui, request.form))
    try:
        filed = evidence.file_complaint(
            data, staff=current_actor(),
            customer_locale=normalize_locale(request.form.get("customer_language"))
            or DEFAULT_CUSTOMER_LOCALE)
    except UploadRefused as exc:
        return _form_page(request.form, evidence.intake_problems(data, current_actor()),
                          status=422, evidence_problem=evidence.refusal(exc, filing=True))
    except FormInvalid as exc:
        return _form_page(request.form, exc.fields or {"": str(exc)}, status=422,
                          evidence_problem=evidence.files_to_choose_again())
    flash(_("Complaint registered as ticket %(ticket)s.", ticket=filed.ticket), "success")
    return redirect(url_for("cases.view", ticket=filed.ticket))

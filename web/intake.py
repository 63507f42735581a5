"""Registering a complaint received by phone or at the counter (staff side of intake)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine import forms, runtime
from engine.forms import FormInvalid

from . import formrender
from .auth import current_actor
from .inbox import REGISTER_ROLES, require_any_role, services, staff_page

bp = Blueprint("intake", __name__, url_prefix="/register")

DEFAULT_CHANNEL = runtime.STAFF_CHANNELS_DEFAULT


def _defaults() -> dict:
    now = services().now().astimezone(formrender.COMPANY_ZONE).replace(microsecond=0)
    return {"channel": DEFAULT_CHANNEL, "received_at": now.isoformat()}


def _form_page(values, errors=None, status=200):
    with services().db.read() as db:
        schema, ui = runtime.intake_form(services(), db)
    return render_template("register.html", schema=schema, ui=ui, values=values,
                           errors=errors or {}), status


@bp.get("")
@staff_page
def form():
    require_any_role(REGISTER_ROLES, "Only customer service registers complaints.")
    return _form_page(_defaults())


@bp.post("")
@staff_page
def submit():
    require_any_role(REGISTER_ROLES, "Only customer service registers complaints.")
    with services().db.read() as db:
        schema, ui = runtime.intake_form(services(), db)
    data = forms.coerce_submission(schema, formrender.posted(schema, ui, request.form))
    try:
        filed = runtime.file_complaint(services(), data, staff=current_actor())
    except FormInvalid as exc:
        return _form_page(request.form, exc.fields or {"": str(exc)}, status=422)
    flash(f"Complaint registered as ticket {filed.ticket}.", "success")
    return redirect(url_for("cases.view", ticket=filed.ticket))

"""Starting a case of a process other than the complaint from its start form: a
department's petition to the GM office (003), an improvement project, an order handed
over by sales. Which processes an actor may start, and how, is decided in engine/."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine import forms, runtime, start_forms
from engine.forms import FormInvalid

from . import formrender
from .i18n import _
from .identity import current_actor, staff_page
from .services import services

bp = Blueprint("start", __name__, url_prefix="/start")


@bp.get("")
@staff_page
def index():
    with services().db.read() as db:
        startable = start_forms.startable_by(services(), db, current_actor())
    return render_template("start_index.html", startable=startable)


def _form_page(process_id: str, form, values, errors=None, status=200):
    return render_template("start.html", process_id=process_id, schema=form.schema,
                           ui=form.ui, values=values, errors=errors or {}), status


@bp.get("/<process_id>")
@staff_page
def form(process_id: str):
    with services().db.read() as db:
        start_form = start_forms.form_for(services(), db, current_actor(), process_id)
    # A link may name fields to fill in (the case page's petition names its ticket).
    values = {name: request.args[name][:200] for name in start_form.schema["properties"]
              if name in request.args}
    return _form_page(process_id, start_form, values)


@bp.post("/<process_id>")
@staff_page
def submit(process_id: str):
    with services().db.read() as db:
        start_form = start_forms.form_for(services(), db, current_actor(), process_id)
    data = forms.coerce_submission(
        start_form.schema, formrender.posted(start_form.schema, start_form.ui, request.form))
    try:
        started = runtime.start_case(services(), current_actor(), process_id, data)
    except FormInvalid as exc:
        return _form_page(process_id, start_form, request.form, exc.fields or {"": str(exc)},
                          status=422)
    flash(_("Started as %(ticket)s.", ticket=started.ticket), "success")
    return redirect(url_for("cases.view", ticket=started.ticket))

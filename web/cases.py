"""Complaint pages for staff: the recent list, one case with its history, cancelling."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine import cases as case_service
from engine import (
    case_search, intake, notes, reply_templates, runtime, saved_searches, statistics,
    statistics_cases, task_forms,
)
from engine.case_search import CaseQuery
from engine.errors import AlreadyCompleted, NotFound, ServiceError
from engine.form_values import storable_params
from engine.forms import FormInvalid
from engine.i18n import N_

from . import conversation, formrender
from .htmx import is_htmx, partial
from .i18n import _, translate
from .identity import current_actor, require_any_role, staff_page
from .presenters.case_page import case_page
from .presenters.replay_page import replay_page_data
from .services import services

bp = Blueprint("cases", __name__, url_prefix="/cases")

RECENT = 50


@bp.get("")
@staff_page
def index():
    actor = current_actor()
    query = CaseQuery.from_params(storable_params(request.args))
    try:
        figure = figure_label(query.figure)
    except ServiceError as exc:
        flash(translate(exc), "warning")
        query.figure, figure = "", ""
    with services().db.read() as db:
        result = case_search.search(db, actor, query, RECENT, now=services().now())
        schema, _ui = intake.intake_form(services(), db)
        dept_names = task_forms.department_names(db)
        versions = case_search.versions(db)
        saved = saved_searches.listed(db, actor, "cases")
    props = schema.get("properties") or {}
    type_prop, channel_prop = props.get("complaint_type"), props.get("channel")
    rows = [{
        "ticket": i.ticket,
        "customer": i.customer_name,
        "type": formrender.display_value(type_prop, i.complaint_type) if i.complaint_type
        else "",
        "channel": formrender.display_value(channel_prop, i.channel) if i.channel else "",
        "department": dept_names.get(i.department_code, i.department_code or ""),
        "status": i.status,
        "path": i.path,
        "breached": i.breached,
        "version": f"{i.process_id} v{i.version}",
        "created_at": i.created_at,
    } for i in result.rows]
    return render_template(
        "cases.html", rows=rows, now=services().now(), query=query, result=result,
        types=formrender.choices(type_prop or {}) or [],
        channels=formrender.choices(channel_prop or {}) or [], departments=dept_names,
        versions=versions, processes=sorted({p for p, _v in versions}), saved=saved,
        args=query.params(), save_error=None, figure=figure,
        without_figure={k: v for k, v in query.params().items() if k != "figure"})


def figure_label(figure: str) -> str:
    """The statistics figure the list shows the cases of, as the reader reads it."""
    if not figure:
        return ""
    kind, value = statistics_cases.parse_figure(figure)
    if kind == "urgency" and value == statistics.NOT_CLASSIFIED:
        return f"{_(statistics_cases.FIGURES[kind])}: {_('Not classified yet')}"
    return f"{_(statistics_cases.FIGURES[kind])}: {value}" if value else _(statistics_cases.FIGURES[kind])


@bp.post("/saved")
@staff_page
def save_search():
    """Save the filters of the list under a name, to run them again later."""
    query = CaseQuery.from_params(storable_params(request.form))
    try:
        with services().db.write() as db:
            saved_searches.save(db, current_actor(), "cases", request.form.get("name", ""),
                                query.params())
    except FormInvalid as exc:
        flash(translate(exc.fields.get("name") or str(exc)), "warning")
        return redirect(url_for("cases.index", **query.params()))
    flash(_("Search saved."), "success")
    return redirect(url_for("cases.index", **query.params()))


@bp.post("/saved/<saved_id>/delete")
@staff_page
def delete_search(saved_id: str):
    if not (saved_id.isascii() and saved_id.isdigit() and len(saved_id) < 16):
        raise NotFound(N_("No such saved search."))
    with services().db.write() as db:
        saved_searches.remove(db, current_actor(), int(saved_id))
    flash(_("Saved search deleted."), "success")
    return redirect(url_for("cases.index"))


@bp.get("/<ticket>")
@staff_page
def view(ticket: str):
    page = case_page(ticket)
    case_service.record_view(services(), current_actor(), ticket)
    return page


@bp.get("/<ticket>/replay")
@staff_page
def replay(ticket: str):
    """The path the case took on its version's diagram, with times and deadlines."""
    page = render_template("replay.html", now=services().now(), **replay_page_data(ticket))
    case_service.record_view(services(), current_actor(), ticket)
    return page


@bp.post("/<ticket>/cancel")
@staff_page
def cancel(ticket: str):
    require_any_role(runtime.CANCEL_ROLES, N_("Only a customer-service supervisor can cancel a case."))
    reason = request.form.get("reason", "")
    try:
        runtime.cancel(services(), current_actor(), ticket, reason)
    except FormInvalid as exc:
        return case_page(ticket, cancel_error=exc.fields.get("reason") or str(exc),
                          reason=reason, status=422)
    except AlreadyCompleted as exc:
        flash(str(exc), "warning")
        return redirect(url_for("cases.view", ticket=ticket))
    flash(_("Case %(ticket)s was cancelled.", ticket=ticket), "success")
    return redirect(url_for("cases.view", ticket=ticket))


# --------------------------------------------------------------------------- notes

@bp.get("/<ticket>/notes")
@staff_page
def reply_template(ticket: str):
    """A reply template filled in for this case: the reply box alone for htmx, otherwise
    the case page with the box filled in (so the picker works without JavaScript)."""
    template_id = request.args.get("reply_template", "")
    if not template_id:
        if is_htmx():
            return "", 204  # nothing chosen: leave the box as it is
        return redirect(url_for("cases.view", ticket=ticket))
    with services().db.read() as db:
        text = reply_templates.prefill(services(), db, current_actor(), ticket, template_id)
    if is_htmx():
        return partial("_reply_body.html", text=text, error=None)
    page, status = case_page(ticket, notes_state={"reply_text": text,
                                                   "chosen_template": template_id})
    case_service.record_view(services(), current_actor(), ticket)
    return page, status, {"Vary": "HX-Request"}


@bp.post("/<ticket>/notes")
@staff_page
def add_note(ticket: str):
    """A reply to the customer or an internal comment (the form's `kind`)."""
    actor = current_actor()
    kind, body = request.form.get("kind", ""), request.form.get("body", "")
    try:
        notes.add_staff_note(services(), actor, ticket, kind, body)
    except FormInvalid as exc:
        state = {"errors": {kind: conversation.error_text(exc)}, f"{kind}_text": body}
        if is_htmx():
            return _notes_section(ticket, state, status=422)
        return case_page(ticket, notes_state=state, status=422)
    notice = (_("Reply sent. The customer sees it on their status page, and by e-mail if "
                "we have their address.") if kind == notes.REPLY
              else _("Internal comment added."))
    if is_htmx():
        return _notes_section(ticket, {"notice": notice})
    flash(notice, "success")
    return redirect(url_for("cases.view", ticket=ticket, _anchor="case-notes"))


def _notes_section(ticket: str, state: dict, status: int = 200):
    with services().db.read() as db:
        panel = conversation.staff_panel(services(), db, current_actor(), ticket, **state)
    return partial("_case_notes.html", status, notes=panel)

"""Complaint pages for staff: the recent list, one case with its history, cancelling."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine import cases as case_service
from engine import intake, notes, reply_templates, runtime, tasks
from engine.customers import CUSTOMER
from engine.directory import departments
from engine.errors import AlreadyCompleted
from engine.forms import FormInvalid
from engine.i18n import N_

from . import conversation, formrender
from . import attachments as evidence
from .auth import current_actor
from .i18n import _, translate
from .inbox import CANCEL_ROLES, require_any_role, services, staff_page

bp = Blueprint("cases", __name__, url_prefix="/cases")

RECENT = 50
# How a case ended and for whom a task was done, as the history says it.
OUTCOME_NAMES = {
    "resolved": N_("Resolved"),
    "resolved_major": N_("Resolved (major complaint)"),
    "not_true": N_("Not upheld"),
    "refused_missing_facts": N_("Ended: the customer refused to supply facts"),
    "closed_after_escalation": N_("Closed after escalation"),
    "improvement_completed": N_("Improvement completed"),
    "cancelled": N_("Cancelled"),
    "withdrawn": N_("Withdrawn by the customer"),
}
ON_BEHALF_NAMES = {"customer": N_("Customer"), "self": N_("The customer themself")}


def _query_from(args) -> case_service.CaseQuery:
    def day(name):
        try:
            return dt.date.fromisoformat(args.get(name, ""))
        except ValueError:
            return None
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    return case_service.CaseQuery(
        text=args.get("q", "")[:100], complaint_type=args.get("type", ""),
        department=args.get("department", ""), status=args.get("status", ""),
        path=args.get("path", ""), kind=args.get("kind", "complaint"),
        since=day("since"), until=day("until"), page=page)


@bp.get("")
@staff_page
def index():
    actor = current_actor()
    query = _query_from(request.args)
    with services().db.read() as db:
        result = case_service.search(db, actor, query, RECENT)
        schema, ui = intake.intake_form(services(), db)
        dept_names = {d.code: d.name for d in departments(db)}
        type_prop = (schema.get("properties") or {}).get("complaint_type")
        rows = [{
            "ticket": i.ticket,
            "customer": i.customer_name,
            "type": formrender.display_value(type_prop, i.complaint_type)
            if i.complaint_type else "",
            "department": dept_names.get(i.department_code, i.department_code or ""),
            "status": i.status,
            "path": i.path,
            "created_at": i.created_at,
        } for i in result.rows]
    types = formrender.choices(type_prop or {}) or []
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("cases.html", rows=rows, now=services().now(), query=query,
                           result=result, types=types, departments=dept_names, args=args)


def field_props(dept_names: dict[str, str]) -> dict[str, dict]:
    """Field name -> schema property across all forms (labels and choices for the history).

    Department choices come from the database, as on the forms themselves.
    """
    registry = services().forms
    props: dict[str, dict] = {}
    for path in sorted(registry.directory.glob("*.schema.json")):
        try:
            schema = registry.schema(path.name)
            ui = registry.ui_schema(path.name.replace(".schema.json", ".uischema.json"))
        except (OSError, ValueError):
            continue
        for name, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict) or name in props:
                continue
            hints = ui.get(name) if isinstance(ui.get(name), dict) else {}
            if (hints.get("ui:options") or {}).get("source") == "departments":
                prop = {**prop, "oneOf": [{"const": code, "title": title}
                                          for code, title in dept_names.items()]}
            props[name] = prop
    return props


def history_rows(case, intake_schema: dict, dept_names: dict[str, str]) -> list[dict]:
    props = {**field_props(dept_names), **(intake_schema.get("properties") or {})}
    rows = []
    for entry in reversed(case.history):
        detail = dict(entry.detail)
        data = detail.pop("data", None) if entry.kind == "task_completed" else None
        facts = []
        if entry.kind == "task_completed" and detail.get("on_behalf_of"):
            facts.append((_("On behalf of"), translate(
                ON_BEHALF_NAMES.get(detail["on_behalf_of"],
                                    formrender.humanize(str(detail["on_behalf_of"]))))))
        elif entry.kind == "complaint_filed":
            if detail.get("channel"):
                facts.append((_("Channel"), formrender.display_value(
                    props.get("channel"), detail["channel"])))
            if detail.get("parent_ticket"):
                facts.append((_("Raised at the follow-up of"), detail["parent_ticket"]))
        elif entry.kind == "case_cancelled" and detail.get("reason"):
            facts.append((_("Reason"), detail["reason"]))
        elif entry.kind == "case_closed" and detail.get("outcome"):
            facts.append((_("Outcome"), translate(OUTCOME_NAMES.get(
                detail["outcome"], formrender.humanize(str(detail["outcome"]))))))
        submitted = []
        for name, value in (data or {}).items():
            prop = props.get(name) or {}
            submitted.append((translate(prop.get("title") or formrender.humanize(name)),
                              formrender.display_value(prop, value)))
        actor = _("customer") if entry.actor == CUSTOMER.username else entry.actor
        rows.append({"at": entry.at, "actor": actor, "title": entry.title,
                     "kind": entry.kind, "facts": facts, "data": submitted})
    return rows


def _case_page(ticket: str, cancel_error: str | None = None, reason: str = "", status=200,
               notes_state: dict | None = None, evidence_form: dict | None = None):
    actor = current_actor()
    with services().db.read() as db:
        case = case_service.load_case(services(), db, actor, ticket)
        notes_panel = conversation.staff_panel(services(), db, actor, ticket,
                                               **(notes_state or {}))
        same_customer = case_service.same_customer(db, actor, ticket)
        files = evidence.staff_listing(db, actor, ticket)
        schema, ui = intake.intake_form(services(), db)
        workable = {v.id for v in tasks.worklist(db, actor)}
        reassignable = {t.id: tasks.reassign_candidates(db, t) for t in case.open_tasks
                        if tasks.can_reassign(actor, t)}
        dept_names = {d.code: d.name for d in departments(db)}
    record = formrender.record_rows(schema, ui, case.record)
    return render_template(
        "case.html", case=case, record=record, workable=workable, reassignable=reassignable,
        history=history_rows(case, schema, dept_names), now=services().now(),
        department=dept_names.get(case.department, case.department),
        can_cancel=case.status == "open" and bool(actor.roles & CANCEL_ROLES),
        cancel_error=cancel_error, reason=reason, notes=notes_panel, same_customer=same_customer,
        status_words=runtime.STATUS_WORDS, outcome_names=OUTCOME_NAMES,
        evidence=files, evidence_form=evidence_form or {},
    ), status


@bp.get("/<ticket>")
@staff_page
def view(ticket: str):
    page = _case_page(ticket)
    case_service.record_view(services(), current_actor(), ticket)
    return page


@bp.post("/<ticket>/cancel")
@staff_page
def cancel(ticket: str):
    require_any_role(CANCEL_ROLES, N_("Only a customer-service supervisor can cancel a case."))
    reason = request.form.get("reason", "")
    try:
        runtime.cancel(services(), current_actor(), ticket, reason)
    except FormInvalid as exc:
        return _case_page(ticket, cancel_error=exc.fields.get("reason") or str(exc),
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
        if conversation.is_htmx():
            return "", 204  # nothing chosen: leave the box as it is
        return redirect(url_for("cases.view", ticket=ticket))
    with services().db.read() as db:
        text = reply_templates.prefill(services(), db, current_actor(), ticket, template_id)
    if conversation.is_htmx():
        return conversation.partial("_reply_body.html", text=text, error=None)
    page, status = _case_page(ticket, notes_state={"reply_text": text,
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
        if conversation.is_htmx():
            return _notes_section(ticket, state, status=422)
        return _case_page(ticket, notes_state=state, status=422)
    notice = (_("Reply sent. The customer sees it on their status page, and by e-mail if "
                "we have their address.") if kind == notes.REPLY
              else _("Internal comment added."))
    if conversation.is_htmx():
        return _notes_section(ticket, {"notice": notice})
    flash(notice, "success")
    return redirect(url_for("cases.view", ticket=ticket, _anchor="case-notes"))


def _notes_section(ticket: str, state: dict, status: int = 200):
    with services().db.read() as db:
        panel = conversation.staff_panel(services(), db, current_actor(), ticket, **state)
    return conversation.partial("_case_notes.html", status, notes=panel)

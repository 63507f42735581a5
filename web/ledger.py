"""The rewards and penalties ledger: the list with its filters and each person's month,
the proposal form, the general manager's office's decisions, and the monthly reports."""
from __future__ import annotations

import functools
import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for

from engine import ledger, monthly_report, periods
from engine.forms import FormInvalid

from .i18n import _, current_locale
from .identity import current_actor, login_required
from .services import services

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

FORM_FIELDS = ("kind", "ticket", "person", "department", "points", "amount", "period",
               "reason", "source", "source_ticket")
STATUS_BADGES = {"proposed": "open", "approved": "closed", "rejected": "error"}


def ledger_page(view):
    """Signed in (else to the login page) and a reader of the ledger (else 403)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        ledger.require_reader(current_actor())
        return view(*args, **kwargs)
    return login_required(wrapped)


def report_page(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        monthly_report.require_reader(current_actor())
        return view(*args, **kwargs)
    return login_required(wrapped)


@bp.get("")
@ledger_page
def index():
    actor = current_actor()
    filters = ledger.LedgerFilter.from_params(request.args)
    with services().db.read() as db:
        entries = ledger.entries(db, actor, filters)
        closed = []
        if filters.period and ledger.may_propose(actor):
            start, end = periods.bounds(filters.period)
            closed = [c for c in ledger.closed_cases(db, start, end) if not c.decided]
        reports = monthly_report.reports(db, actor) if \
            actor.roles & monthly_report.READER_ROLES else []
        context = {"people": ledger.people(db), "teams": ledger.teams(db),
                   "pending": ledger.proposal_count(db)}
    return render_template(
        "ledger.html", entries=entries, tallies=ledger.tallies(entries), filters=filters,
        closed_without_decision=closed, reports=reports, kinds=ledger.KINDS,
        sources=ledger.SOURCES, statuses=ledger.STATUSES, badges=STATUS_BADGES,
        may_propose=ledger.may_propose(actor), may_decide=ledger.may_decide(actor),
        now=services().now(), **context)


def _form_page(values: dict, errors: dict, status: int = 200):
    with services().db.read() as db:
        people, teams = ledger.people(db), ledger.teams(db)
    return render_template("ledger_propose.html", values=values, errors=errors,
                           kinds=ledger.KINDS, sources=ledger.SOURCES, people=people,
                           teams=teams), status


@bp.get("/new")
@login_required
def propose_form():
    actor = current_actor()
    if not ledger.may_propose(actor):
        abort(403)
    values = {name: request.args.get(name, "").strip()[:200] for name in FORM_FIELDS}
    values["source"] = values["source"] if values["source"] in ledger.SOURCES else "supervision"
    values["period"] = periods.parse(values["period"]) or periods.of(services().now())
    return _form_page(values, {})


@bp.post("/new")
@login_required
def propose():
    actor = current_actor()
    if not ledger.may_propose(actor):
        abort(403)
    values = {name: request.form.get(name, "") for name in FORM_FIELDS}
    try:
        entry = ledger.propose(services(), actor, values)
    except FormInvalid as exc:
        return _form_page(values, exc.fields, 422)
    flash(_("Proposed: %(kind)s for %(who)s. The general manager's office decides it.",
            kind=_(entry.kind_label), who=entry.who), "success")
    return redirect(url_for("ledger.index", period=entry.period))


@bp.post("/<entry_id>/decision")
@login_required
def decide(entry_id: str):
    if not entry_id.isdigit() or len(entry_id) > 18:
        abort(404)
    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        entry = ledger.decide(services(), current_actor(), int(entry_id), decision == "approve",
                              request.form.get("note", ""))
    except FormInvalid:
        flash(_("Say why the proposal is rejected."), "error")
        return redirect(url_for("ledger.index", status="proposed"))
    flash(_("Approved.") if entry.status == "approved" else _("Rejected."), "success")
    return redirect(url_for("ledger.index", status="proposed"))


@bp.get("/reports/<period>.csv")
@report_page
def report_csv(period: str):
    with services().db.read() as db:
        row = monthly_report.report(db, current_actor(), period)
    return _download(row.csv.encode("utf-8-sig"), "text/csv", f"complaints-{row.period}.csv")


@bp.get("/reports/<period>.pdf")
@report_page
def report_pdf(period: str):
    with services().db.read() as db:
        row = monthly_report.report(db, current_actor(), period)
    pdf = monthly_report.to_pdf(row.figures, current_locale())
    return _download(pdf, "application/pdf", f"complaints-{row.period}.pdf")


def _download(content: bytes, mimetype: str, name: str):
    response = send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True,
                         download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response

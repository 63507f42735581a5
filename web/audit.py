"""The audit trail pages: every event (case events, views of records, deployments,
sign-ins, administration) with filters, one case's trail, and the hash chains verified
on demand (engine/audit_trail.py says who may read them)."""
from __future__ import annotations

import functools
import json

from flask import Blueprint, render_template, request

from engine import audit_trail
from engine import cases as case_service
from engine.form_values import storable_params
from engine.visibility import case_by_ticket

from .identity import current_actor, login_required
from .services import services

bp = Blueprint("audit", __name__)

DETAIL_TEXT = 300  # characters of one detail value shown in the list


def reader_page(view):
    """Signed in (else to the login page) and an audit trail reader (else 403)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        audit_trail.require_reader(current_actor())
        return view(*args, **kwargs)
    return login_required(wrapped)


def _shown(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= DETAIL_TEXT else text[:DETAIL_TEXT - 1] + "…"


def _rows(page: audit_trail.EventPage) -> list[dict]:
    return [{"id": e.id, "at": e.at, "kind": e.kind, "title": e.title, "actor": e.actor,
             "ticket": e.ticket, "hash": e.hash,
             "detail": [(name, _shown(value)) for name, value in e.detail.items()
                        if value not in (None, "", [], {})]}
            for e in page.rows]


def _trail(query: audit_trail.AuditQuery, **page_values):
    actor = current_actor()
    with services().db.read() as db:
        page = audit_trail.events(db, actor, query)
        known_actors = audit_trail.actors(db)
    args = query.params()
    if page_values.get("case_ticket"):
        args.pop("ticket", None)  # the page's own address names the case
    return render_template("audit.html", rows=_rows(page), page=page, query=query,
                           args=args, groups=audit_trail.KIND_GROUPS,
                           kind_titles=audit_trail.KIND_TITLES,
                           group_prefix=audit_trail.GROUP_PREFIX, known_actors=known_actors,
                           **page_values)


@bp.get("/audit")
@reader_page
def index():
    return _trail(audit_trail.AuditQuery.from_params(storable_params(request.args)),
                  report=None, case_ticket=None)


@bp.get("/audit/verify")
@reader_page
def verify():
    """Every chain checked now: intact, or where the first broken link is and why."""
    with services().db.read() as db:
        report = audit_trail.verify(db, current_actor(), services().now())
    return _trail(audit_trail.AuditQuery.from_params(storable_params(request.args)),
                  report=report, case_ticket=None)


@bp.get("/cases/<ticket>/audit")
@reader_page
def case(ticket: str):
    """One case's trail, its chain verified on every look (a case's chain is short)."""
    with services().db.read() as db:
        case_by_ticket(db, ticket)  # 404 before anything else
        report = audit_trail.verify(db, current_actor(), services().now(), ticket=ticket)
    query = audit_trail.AuditQuery.from_params(storable_params(request.args))
    query.ticket = ticket
    response = _trail(query, report=report, case_ticket=ticket)
    case_service.record_view(services(), current_actor(), ticket)
    return response

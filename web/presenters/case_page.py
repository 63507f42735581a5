"""The staff case page: the record, open tasks, history, conversation and evidence of one
case. The case pages show it, and so do the forms on it that come back with a reason
(cancelling, a note, evidence files)."""
from __future__ import annotations

from flask import render_template

from engine import attachments, petitions, reassignment, runtime, task_forms, tasks
from engine import cases as case_service

from .. import conversation, formrender
from ..identity import current_actor
from ..services import services
from .history import OUTCOME_NAMES, history_fields, history_rows
from .queues import queue_label
from .replay_page import position_data


def case_page(ticket: str, cancel_error: str | None = None, reason: str = "", status=200,
              notes_state: dict | None = None, evidence_form: dict | None = None):
    actor = current_actor()
    with services().db.read() as db:
        case = case_service.load_case(services(), db, actor, ticket)
        notes_panel = conversation.staff_panel(services(), db, actor, ticket,
                                               **(notes_state or {}))
        same_customer = case_service.same_customer(db, actor, ticket)
        files = attachments.staff_listing(db, actor, ticket)
        schema, ui = case_service.record_form(services(), db, case)
        workable = tasks.workable_on_case(db, actor, ticket)
        reassignable = {t.id: reassignment.reassign_candidates(db, t) for t in case.open_tasks
                        if reassignment.can_reassign(actor, t)}
        dept_names = task_forms.department_names(db)
        history_props = history_fields(db, schema, case)
        may_petition = petitions.may_petition_about(services(), db, actor, case.process_id)
    record = formrender.record_rows(schema, ui, case.record)
    return render_template(
        "case.html", case=case, record=record, workable=workable, reassignable=reassignable,
        history=history_rows(case, history_props), now=services().now(),
        department=dept_names.get(case.department, case.department),
        queue_names={t.id: queue_label(t.queue, dept_names) for t in case.open_tasks},
        can_cancel=case.status == "open" and bool(actor.roles & runtime.CANCEL_ROLES),
        cancel_error=cancel_error, reason=reason, notes=notes_panel, same_customer=same_customer,
        status_words=runtime.STATUS_WORDS, outcome_names=OUTCOME_NAMES,
        evidence=files, evidence_form=evidence_form or {}, position=position_data(ticket),
        may_petition=may_petition,
    ), status

"""A case's history as the pages list it: who did what when, with the values they gave
shown as people read them."""
from __future__ import annotations

from engine import task_forms
from engine.cases import CaseView
from engine.customers import CUSTOMER
from engine.i18n import N_

from .. import formrender
from ..i18n import _, translate
from ..services import services

# How a case ended and for whom a task was done, as the history says it.
OUTCOME_NAMES = {
    "resolved": N_("Resolved"),
    "resolved_major": N_("Resolved (major complaint)"),
    "not_true": N_("Not upheld"),
    "exception_form": N_("Closed with an exception form: human negligence without a loss"),
    "refused_missing_facts": N_("Ended: the customer refused to supply facts"),
    "closed_after_escalation": N_("Closed after escalation"),
    "improvement_completed": N_("Improvement completed"),
    "petition_revised": N_("Petition accepted: the decision is revised"),
    "petition_rejected": N_("Petition rejected: the decision stands"),
    "cancelled": N_("Cancelled"),
    "withdrawn": N_("Withdrawn by the customer"),
}
ON_BEHALF_NAMES = {"customer": N_("Customer"), "self": N_("The customer themself")}


def history_fields(session, intake_schema: dict, case: CaseView) -> dict[str, dict]:
    """The properties the history shows values with: every form's of the version the case
    runs on, the intake record's own where both name a field."""
    return {**task_forms.field_properties(services(), session, case.version_id),
            **(intake_schema.get("properties") or {})}


def history_rows(case: CaseView, props: dict[str, dict]) -> list[dict]:
    """Newest first; `props` from `history_fields`."""
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
            if detail.get("entered_after_minutes"):
                facts.append((_("Registered late"), _(
                    "%(count)s min of the receiving team's working time after receipt; "
                    "every channel's complaint is to be in the system within 60 min (001)", count=detail["entered_after_minutes"])))
        elif entry.kind.startswith("sla_"):
            facts.append((_("Step"), translate(detail.get("step") or detail.get("task", ""))))
            if detail.get("due_at"):
                facts.append((_("Due"), formrender.display_value(
                    {"type": "string", "format": "date-time"}, detail["due_at"])))
        elif entry.kind == "step_failed":
            facts.append((_("What failed"), detail.get("problem") or ""))
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
